//! MessagePack, as Locust's master/worker protocol uses it: nil, booleans, integers, floats,
//! UTF-8 strings, binaries, arrays and maps (any key type). Bounded decoding; no ext types.

/// One MessagePack value. Maps keep their order and may have keys of any type (Locust's
/// response-time maps have integer keys).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bin(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
}

impl Value {
    pub fn str(s: &str) -> Self {
        Self::Str(s.to_string())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// The value of string key `key` in a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Self::Map(pairs) => pairs
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Appends `v`'s encoding to `out`, in the smallest form for each value.
pub fn encode(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Int(i) => encode_int(*i, out),
        Value::Float(f) => {
            out.push(0xcb);
            out.extend_from_slice(&f.to_be_bytes());
        }
        Value::Str(s) => {
            let n = s.len();
            match n {
                0..=31 => out.push(0xa0 | n as u8),
                32..=0xff => out.extend_from_slice(&[0xd9, n as u8]),
                0x100..=0xffff => {
                    out.push(0xda);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                }
                _ => {
                    out.push(0xdb);
                    out.extend_from_slice(&(n as u32).to_be_bytes());
                }
            }
            out.extend_from_slice(s.as_bytes());
        }
        Value::Bin(b) => {
            let n = b.len();
            match n {
                0..=0xff => out.extend_from_slice(&[0xc4, n as u8]),
                0x100..=0xffff => {
                    out.push(0xc5);
                    out.extend_from_slice(&(n as u16).to_be_bytes());
                }
                _ => {
                    out.push(0xc6);
                    out.extend_from_slice(&(n as u32).to_be_bytes());
                }
            }
            out.extend_from_slice(b);
        }
        Value::Array(items) => {
            header(items.len(), 0x90, 0xdc, out);
            for i in items {
                encode(i, out);
            }
        }
        Value::Map(pairs) => {
            header(pairs.len(), 0x80, 0xde, out);
            for (k, v) in pairs {
                encode(k, out);
                encode(v, out);
            }
        }
    }
}

/// An array or map header: fix form under 16 entries, else 16- or 32-bit lengths.
fn header(n: usize, fix: u8, wide: u8, out: &mut Vec<u8>) {
    if n < 16 {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(wide);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(wide + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn encode_int(i: i64, out: &mut Vec<u8>) {
    match i {
        0..=0x7f => out.push(i as u8),
        -32..=-1 => out.push(i as i8 as u8),
        0x80..=0xff => out.extend_from_slice(&[0xcc, i as u8]),
        0x100..=0xffff => {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        }
        i if i > 0 => {
            out.push(0xcf);
            out.extend_from_slice(&(i as u64).to_be_bytes());
        }
        -128..=-33 => out.extend_from_slice(&[0xd0, i as i8 as u8]),
        -32768..=-129 => {
            out.push(0xd1);
            out.extend_from_slice(&(i as i16).to_be_bytes());
        }
        -2_147_483_648..=-32769 => {
            out.push(0xd2);
            out.extend_from_slice(&(i as i32).to_be_bytes());
        }
        _ => {
            out.push(0xd3);
            out.extend_from_slice(&i.to_be_bytes());
        }
    }
}

/// Nesting deeper than this is refused (a hostile peer cannot exhaust the stack).
const MAX_DEPTH: usize = 64;

/// Why bytes are not one MessagePack value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("{0} bytes after the value")]
    Trailing(usize),
    #[error("truncated")]
    Truncated,
    #[error("a length beyond the message")]
    LengthBeyondMessage,
    #[error("a string that is not UTF-8")]
    NotUtf8,
    #[error("an integer beyond i64")]
    IntegerBeyondI64,
    #[error("more values than a message of its size may hold")]
    TooLarge,
    #[error("nested too deeply")]
    TooDeep,
    #[error("unsupported MessagePack type 0x{0:02x}")]
    Unsupported(u8),
}

/// Decodes exactly one value that fills `bytes`.
pub fn decode(bytes: &[u8]) -> Result<Value, DecodeError> {
    let mut r = Reader {
        b: bytes,
        at: 0,
        budget: bytes.len() / 2 + 1024,
    };
    let v = r.value(0)?;
    if r.at != bytes.len() {
        return Err(DecodeError::Trailing(bytes.len() - r.at));
    }
    Ok(v)
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    /// Values still allowed: one per two bytes of the message (and a little), so that what is
    /// decoded takes at most about 16× the message's size (a `Value` is 32 bytes); a message of
    /// a million one-byte nils once took 35×. A master's spawn of 80,000 short class names
    /// (about 4 bytes a value) fits.
    budget: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], DecodeError> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.b.len());
        let end = end.ok_or(DecodeError::Truncated)?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> Result<u64, DecodeError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |a, b| (a << 8) | u64::from(*b)))
    }

    fn len(&mut self, n: usize) -> Result<usize, DecodeError> {
        let len = self.uint(n)? as usize;
        // Each element takes at least one byte: a longer length is a lie.
        if len > self.b.len() - self.at {
            return Err(DecodeError::LengthBeyondMessage);
        }
        Ok(len)
    }

    fn string(&mut self, n: usize) -> Result<Value, DecodeError> {
        let s = self.take(n)?;
        String::from_utf8(s.to_vec())
            .map(Value::Str)
            .map_err(|_| DecodeError::NotUtf8)
    }

    /// Takes `n` values from the budget, before anything is allocated for them.
    fn spend(&mut self, n: usize) -> Result<(), DecodeError> {
        self.budget = self.budget.checked_sub(n).ok_or(DecodeError::TooLarge)?;
        Ok(())
    }

    fn array(&mut self, n: usize, depth: usize) -> Result<Value, DecodeError> {
        self.spend(n)?;
        (0..n)
            .map(|_| self.value(depth + 1))
            .collect::<Result<_, _>>()
            .map(Value::Array)
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Value, DecodeError> {
        self.spend(n.saturating_mul(2))?;
        (0..n)
            .map(|_| Ok((self.value(depth + 1)?, self.value(depth + 1)?)))
            .collect::<Result<_, DecodeError>>()
            .map(Value::Map)
    }

    fn value(&mut self, depth: usize) -> Result<Value, DecodeError> {
        if depth > MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        let tag = self.take(1)?[0];
        Ok(match tag {
            0x00..=0x7f => Value::Int(i64::from(tag)),
            0x80..=0x8f => return self.map(usize::from(tag & 0x0f), depth),
            0x90..=0x9f => return self.array(usize::from(tag & 0x0f), depth),
            0xa0..=0xbf => return self.string(usize::from(tag & 0x1f)),
            0xc0 => Value::Nil,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (tag - 0xc4))?;
                Value::Bin(self.take(n)?.to_vec())
            }
            0xca => Value::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            0xcb => Value::Float(f64::from_bits(self.uint(8)?)),
            0xcc..=0xcf => {
                let v = self.uint(1 << (tag - 0xcc))?;
                Value::Int(i64::try_from(v).map_err(|_| DecodeError::IntegerBeyondI64)?)
            }
            0xd0 => Value::Int(i64::from(self.uint(1)? as u8 as i8)),
            0xd1 => Value::Int(i64::from(self.uint(2)? as u16 as i16)),
            0xd2 => Value::Int(i64::from(self.uint(4)? as u32 as i32)),
            0xd3 => Value::Int(self.uint(8)? as i64),
            0xd9..=0xdb => {
                let n = self.len(1 << (tag - 0xd9))?;
                return self.string(n);
            }
            0xdc | 0xdd => {
                let n = self.len(2 << (tag - 0xdc))?;
                return self.array(n, depth);
            }
            0xde | 0xdf => {
                let n = self.len(2 << (tag - 0xde))?;
                return self.map(n, depth);
            }
            0xe0..=0xff => Value::Int(i64::from(tag as i8)),
            other => return Err(DecodeError::Unsupported(other)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round(v: Value) {
        let mut b = Vec::new();
        encode(&v, &mut b);
        assert_eq!(decode(&b), Ok(v));
    }

    #[test]
    fn every_kind_round_trips() {
        for i in [
            0,
            1,
            127,
            128,
            255,
            256,
            65535,
            65536,
            1 << 40,
            -1,
            -32,
            -33,
            -129,
            -40000,
            i64::MIN,
            i64::MAX,
        ] {
            round(Value::Int(i));
        }
        round(Value::Float(1.5));
        round(Value::Nil);
        round(Value::Bool(true));
        round(Value::str(&"x".repeat(300)));
        round(Value::Bin(vec![1, 2, 3]));
        round(Value::Array((0..20).map(Value::Int).collect()));
        round(Value::Map(vec![
            (Value::Int(100), Value::Int(3)),
            (Value::str("name"), Value::Array(vec![Value::Nil])),
        ]));
    }

    #[test]
    fn known_encodings_from_the_spec() {
        let mut b = Vec::new();
        encode(
            &Value::Array(vec![Value::str("ack"), Value::Nil, Value::Int(-1)]),
            &mut b,
        );
        assert_eq!(b, [0x93, 0xa3, b'a', b'c', b'k', 0xc0, 0xff]);
        assert_eq!(decode(&[0xca, 0x3f, 0xc0, 0, 0]), Ok(Value::Float(1.5)));
    }

    #[test]
    fn what_a_message_decodes_to_is_bounded_by_its_size() {
        // A million nils in one array: 1 MB that would decode to 32 MB.
        let mut b = vec![0xdd];
        b.extend(1_000_000u32.to_be_bytes());
        b.extend(std::iter::repeat_n(0xc0, 1_000_000));
        assert_eq!(decode(&b), Err(DecodeError::TooLarge));
        // A map of 80,000 short class names to zero, as a master's spawn may have, decodes.
        let map = Value::Map(
            (0..80_000)
                .map(|i| (Value::str(&format!("C{i}")), Value::Int(0)))
                .collect(),
        );
        let mut b = Vec::new();
        encode(&map, &mut b);
        assert_eq!(decode(&b), Ok(map));
    }

    #[test]
    fn hostile_input_is_an_error_not_a_panic() {
        for bad in [
            &[0xdd, 0xff, 0xff, 0xff, 0xff][..],
            &[0xa5, b'a'][..],
            &[0xc1][..],
            &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..],
            &[0x91, 0x91][..],
            &[0xc0, 0xc0][..],
        ] {
            assert!(decode(bad).is_err(), "{bad:?}");
        }
        let deep = vec![0x91u8; 1000];
        assert!(decode(&deep).is_err());
    }
}
