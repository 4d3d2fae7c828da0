//! HPACK (RFC 7541): a decoder with the dynamic table, Huffman strings and size updates, for
//! responses; a stateless encoder for requests, whose blocks can be built once and reused.

use std::collections::VecDeque;

use super::huffman;
use super::tables::STATIC;

/// A decoding error: the connection must end with COMPRESSION_ERROR (RFC 9113 §4.3).
pub type Error = &'static str;

/// Integers larger than this are refused (no field or table needs more).
const MAX_INT: u64 = 1 << 28;

/// Appends `value` with an `n`-bit prefix whose other bits are `flags` (§5.1).
pub fn put_int(value: usize, n: u8, flags: u8, out: &mut Vec<u8>) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push((rest % 128) as u8 | 0x80);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// Reads an `n`-bit-prefix integer at `input[*at]`, advancing `at`.
pub fn get_int(input: &[u8], at: &mut usize, n: u8) -> Result<usize, Error> {
    let max = (1u64 << n) - 1;
    let first = *input.get(*at).ok_or("HPACK: truncated integer")?;
    *at += 1;
    let mut value = u64::from(first) & max;
    if value < max {
        return Ok(value as usize);
    }
    let mut shift = 0;
    loop {
        let b = *input.get(*at).ok_or("HPACK: truncated integer")?;
        *at += 1;
        value += u64::from(b & 0x7f) << shift;
        if value > MAX_INT {
            return Err("HPACK: integer too large");
        }
        if b & 0x80 == 0 {
            return Ok(value as usize);
        }
        shift += 7;
    }
}

/// Appends a string literal (§5.2): Huffman-coded when that is shorter, unless `raw` (raw
/// bytes can be patched in place later).
pub fn put_str(s: &[u8], raw: bool, out: &mut Vec<u8>) {
    let h = huffman::encoded_len(s);
    if !raw && h < s.len() {
        put_int(h, 7, 0x80, out);
        huffman::encode(s, out);
    } else {
        put_int(s.len(), 7, 0, out);
        out.extend_from_slice(s);
    }
}

fn get_str(input: &[u8], at: &mut usize) -> Result<Vec<u8>, Error> {
    let huff = input.get(*at).ok_or("HPACK: truncated string")? & 0x80 != 0;
    let len = get_int(input, at, 7)?;
    let end = at.checked_add(len).filter(|&e| e <= input.len());
    let bytes = &input[*at..end.ok_or("HPACK: truncated string")?];
    *at += len;
    if huff {
        let mut out = Vec::with_capacity(len * 8 / 5);
        huffman::decode(bytes, &mut out)?;
        Ok(out)
    } else {
        Ok(bytes.to_vec())
    }
}

/// The dynamic table (§2.3.2, §4): newest first, sized as the RFC counts (32 bytes an entry
/// beyond its name and value).
#[derive(Debug, Default)]
pub struct Table {
    entries: VecDeque<(Vec<u8>, Vec<u8>)>,
    size: usize,
    max: usize,
}

impl Table {
    pub fn new(max: usize) -> Self {
        Self {
            max,
            ..Self::default()
        }
    }

    /// Entry `index` of the static table, then the dynamic one (1-based).
    pub fn get(&self, index: usize) -> Option<(&[u8], &[u8])> {
        match index {
            0 => None,
            i if i <= STATIC.len() => Some(STATIC[i - 1]),
            i => self
                .entries
                .get(i - STATIC.len() - 1)
                .map(|(n, v)| (n.as_slice(), v.as_slice())),
        }
    }

    pub fn size(&self) -> usize {
        self.size
    }

    fn insert(&mut self, name: Vec<u8>, value: Vec<u8>) {
        let size = name.len() + value.len() + 32;
        self.size += size;
        self.entries.push_front((name, value));
        self.evict();
    }

    fn set_max(&mut self, max: usize) {
        self.max = max;
        self.evict();
    }

    fn evict(&mut self) {
        while self.size > self.max {
            let Some((n, v)) = self.entries.pop_back() else {
                break;
            };
            self.size -= n.len() + v.len() + 32;
        }
    }
}

/// Decodes header blocks of one connection, in order, keeping the dynamic table.
#[derive(Debug)]
pub struct Decoder {
    table: Table,
    /// The most the peer may size the table to: our SETTINGS_HEADER_TABLE_SIZE.
    limit: usize,
}

impl Decoder {
    /// A decoder that lets the encoder use up to `limit` bytes of table (4,096 by default).
    pub fn new(limit: usize) -> Self {
        Self {
            table: Table::new(limit),
            limit,
        }
    }

    pub fn table(&self) -> &Table {
        &self.table
    }

    /// Decodes one whole header block, handing each field to `field` in order.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut field: impl FnMut(&[u8], &[u8]),
    ) -> Result<(), Error> {
        let mut at = 0;
        let mut fields = 0;
        while at < block.len() {
            let b = block[at];
            if b & 0x80 != 0 {
                let i = get_int(block, &mut at, 7)?;
                let (n, v) = self.table.get(i).ok_or("HPACK: index out of the table")?;
                field(n, v);
            } else if b & 0xe0 == 0x20 {
                // A size update may only open a block (§4.2).
                if fields > 0 {
                    return Err("HPACK: table size update after a field");
                }
                let max = get_int(block, &mut at, 5)?;
                if max > self.limit {
                    return Err("HPACK: table size update above the limit");
                }
                self.table.set_max(max);
                continue;
            } else {
                let (prefix, index) = if b & 0x40 != 0 { (6, true) } else { (4, false) };
                let i = get_int(block, &mut at, prefix)?;
                let name = if i == 0 {
                    get_str(block, &mut at)?
                } else {
                    self.table
                        .get(i)
                        .ok_or("HPACK: index out of the table")?
                        .0
                        .to_vec()
                };
                let value = get_str(block, &mut at)?;
                field(&name, &value);
                if index {
                    self.table.insert(name, value);
                }
            }
            fields += 1;
        }
        Ok(())
    }
}

/// Appends one field as the stateless encoder does (it never adds to the peer's table, so a
/// block means the same on any connection): a static entry by index, else a literal without
/// indexing, with the name by index when the static table has it. `raw` keeps the value's
/// bytes as they are (for patching); `sensitive` marks it never-indexed (§6.2.3).
pub fn put_field(name: &[u8], value: &[u8], raw: bool, sensitive: bool, out: &mut Vec<u8>) {
    if !sensitive && let Some(i) = STATIC.iter().position(|&(n, v)| n == name && v == value) {
        put_int(i + 1, 7, 0x80, out);
        return;
    }
    let flags = if sensitive { 0x10 } else { 0 };
    match STATIC.iter().position(|&(n, _)| n == name) {
        Some(i) => put_int(i + 1, 4, flags, out),
        None => {
            out.push(flags);
            put_str(name, false, out);
        }
    }
    put_str(value, raw, out);
}

/// Appends one field as a literal with incremental indexing (§6.2.1): the peer's decoder adds
/// it to its table, where later blocks may refer to it by index. Only for an encoder that
/// tracks the peer's table (the built-in target's fixed response, once per connection).
pub fn put_indexing_field(name: &[u8], value: &[u8], out: &mut Vec<u8>) {
    match STATIC.iter().position(|&(n, _)| n == name) {
        Some(i) => put_int(i + 1, 6, 0x40, out),
        None => {
            out.push(0x40);
            put_str(name, false, out);
        }
    }
    put_str(value, false, out);
}

/// Appends a reference to entry `index` of the static or dynamic table (§6.1).
pub fn put_index(index: usize, out: &mut Vec<u8>) {
    put_int(index, 7, 0x80, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(d: &mut Decoder, block: &[u8]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        d.decode(block, |n, v| {
            out.push((
                String::from_utf8_lossy(n).into_owned(),
                String::from_utf8_lossy(v).into_owned(),
            ))
        })
        .unwrap();
        out
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn integers_as_in_rfc_7541_c1() {
        let mut out = Vec::new();
        put_int(10, 5, 0, &mut out);
        put_int(1337, 5, 0, &mut out);
        put_int(42, 8, 0, &mut out);
        assert_eq!(out, [0x0a, 0x1f, 0x9a, 0x0a, 0x2a]);
        let mut at = 0;
        assert_eq!(get_int(&out, &mut at, 5), Ok(10));
        assert_eq!(get_int(&out, &mut at, 5), Ok(1337));
        assert_eq!(get_int(&out, &mut at, 8), Ok(42));
        assert!(get_int(&[0x1f, 0xff, 0xff, 0xff, 0xff, 0x7f], &mut 0, 5).is_err());
        assert!(get_int(&[0x1f, 0x9a], &mut 0, 5).is_err());
    }

    #[test]
    fn requests_with_huffman_as_in_rfc_7541_c4() {
        let mut d = Decoder::new(4096);
        let first = fields(&mut d, &hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"));
        assert_eq!(
            first,
            [
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com")
            ]
            .map(|(n, v)| (n.to_string(), v.to_string()))
        );
        assert_eq!(d.table().size(), 57);
        // The second refers to the first's authority in the dynamic table (index 62).
        let second = fields(&mut d, &hex("8286 84be 5886 a8eb 1064 9cbf"));
        assert_eq!(second[3], (":authority".into(), "www.example.com".into()));
        assert_eq!(second[4], ("cache-control".into(), "no-cache".into()));
        assert_eq!(d.table().size(), 110);
    }

    #[test]
    fn the_encoder_round_trips_and_uses_the_static_table() {
        let mut block = Vec::new();
        put_field(b":method", b"GET", false, false, &mut block);
        put_field(b":path", b"/api/v1/items/000042", true, false, &mut block);
        put_field(b"authorization", b"Bearer tok", false, true, &mut block);
        put_field(b"x-custom", b"value", false, false, &mut block);
        assert_eq!(block[0], 0x82);
        // The raw path keeps its bytes, to be patched in place.
        let at = block.windows(6).position(|w| w == b"000042");
        assert!(at.is_some());
        let mut d = Decoder::new(4096);
        let got = fields(&mut d, &block);
        assert_eq!(got[1], (":path".into(), "/api/v1/items/000042".into()));
        assert_eq!(got[2], ("authorization".into(), "Bearer tok".into()));
        assert_eq!(got[3], ("x-custom".into(), "value".into()));
        assert_eq!(d.table().size(), 0, "nothing is added to the peer's table");
    }

    #[test]
    fn eviction_size_updates_and_bad_blocks() {
        let mut d = Decoder::new(64);
        // Literal with indexing, new name "a", value 30 bytes: 31 + 32 = 63 bytes.
        let mut block = vec![0x40];
        put_str(b"a", true, &mut block);
        put_str(&[b'x'; 30], true, &mut block);
        fields(&mut d, &block);
        assert_eq!(d.table().size(), 63);
        // Another evicts it.
        fields(&mut d, &block);
        assert_eq!(d.table().size(), 63);
        // A size update to 0 empties the table; above the limit, or after a field, it is an error.
        fields(&mut d, &[0x20]);
        assert_eq!(d.table().size(), 0);
        assert!(d.decode(&[0x3f, 0xe1, 0x1f], |_, _| {}).is_err());
        assert!(d.decode(&[0x82, 0x20], |_, _| {}).is_err());
        // Index 0, an index past the table, a truncated string.
        assert!(d.decode(&[0x80], |_, _| {}).is_err());
        assert!(d.decode(&[0xbe], |_, _| {}).is_err());
        assert!(d.decode(&[0x04, 0x05, b'a'], |_, _| {}).is_err());
    }
}
