//! The fields of the last request head a connection encoded, each with its HPACK bytes: a field
//! whose name and value repeat the same field of the previous head is copied, not encoded again.

use super::client::put;

/// The last head's fields (names and values, and where each one's bytes sit in its block),
/// and the fields of the head being encoded, kept apart until it is whole.
#[derive(Debug, Default)]
pub struct FieldMemo {
    bytes: Vec<u8>,
    /// Per field: where its name ends and its value ends in `bytes` (each starts where the one
    /// before ends), and its bytes' start and end in `block`.
    fields: Vec<[usize; 5]>,
    block: Vec<u8>,
    next_bytes: Vec<u8>,
    next_fields: Vec<[usize; 5]>,
}

impl FieldMemo {
    /// Starts a new head.
    pub fn begin(&mut self) {
        self.next_bytes.clear();
        self.next_fields.clear();
    }

    /// Appends field `i` of the head to `block`: the previous head's bytes for it when its name
    /// and value are the same, else newly encoded.
    pub fn put(&mut self, i: usize, name: &[u8], value: &[u8], block: &mut Vec<u8>) {
        let start = block.len();
        match self.fields.get(i) {
            Some(&[ns, ne, ve, bs, be])
                if &self.bytes[ns..ne] == name && &self.bytes[ne..ve] == value =>
            {
                block.extend_from_slice(&self.block[bs..be]);
            }
            _ => put(name, value, block),
        }
        let ns = self.next_bytes.len();
        self.next_bytes.extend_from_slice(name);
        let ne = self.next_bytes.len();
        self.next_bytes.extend_from_slice(value);
        let ve = self.next_bytes.len();
        self.next_fields.push([ns, ne, ve, start, block.len()]);
    }

    /// The head is whole, encoded in `block`: the next head is compared with it.
    pub fn end(&mut self, block: &[u8]) {
        std::mem::swap(&mut self.bytes, &mut self.next_bytes);
        std::mem::swap(&mut self.fields, &mut self.next_fields);
        self.block.clear();
        self.block.extend_from_slice(block);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::h2::hpack::Decoder;

    fn encode(m: &mut FieldMemo, fields: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut block = Vec::new();
        m.begin();
        for (i, (n, v)) in fields.iter().enumerate() {
            m.put(i, n, v, &mut block);
        }
        m.end(&block);
        block
    }

    #[test]
    fn a_head_reads_the_same_whatever_it_shares_with_the_last() {
        let heads: [&[(&[u8], &[u8])]; 4] = [
            &[
                (b":method", b"GET"),
                (b":path", b"/a/00001"),
                (b"authorization", b"Bearer t"),
            ],
            &[
                (b":method", b"GET"),
                (b":path", b"/a/00002"),
                (b"authorization", b"Bearer t"),
            ],
            &[
                (b":method", b"POST"),
                (b":path", b"/a/00002"),
                (b"x-extra", b"1"),
                (b"authorization", b"Bearer t"),
            ],
            &[(b":method", b"GET")],
        ];
        let mut m = FieldMemo::default();
        for head in heads {
            let got = encode(&mut m, head);
            // The same as encoding it afresh, byte for byte.
            let mut fresh = Vec::new();
            for (n, v) in head {
                put(n, v, &mut fresh);
            }
            assert_eq!(got, fresh);
            let mut read = Vec::new();
            Decoder::new(4096)
                .decode(&got, |n, v| read.push((n.to_vec(), v.to_vec())))
                .unwrap();
            let want: Vec<_> = head.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect();
            assert_eq!(read, want);
        }
    }
}
