//! Request templates: text with `{{...}}` placeholders split into literals, fixed-width generated
//! slots (uuid, seq, rand_int, rand_hex, pick) and captured variables. Pure; no I/O.

use std::sync::Arc;

/// A value generated per request, always exactly `width()` bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum Gen {
    /// A random version-4 UUID (36 bytes).
    Uuid,
    /// A sequence number unique across workers, zero-padded to `width` (wraps at 10^width).
    Seq { width: usize },
    /// A uniform integer in `lo..=hi`, zero-padded to `width`.
    RandInt { lo: u64, hi: u64, width: usize },
    /// `len` random lowercase hex digits.
    RandHex { len: usize },
    /// A value from a data-file column (all the same width), cycled or random.
    Pick {
        values: Arc<Vec<Vec<u8>>>,
        random: bool,
    },
}

impl Gen {
    pub fn width(&self) -> usize {
        match self {
            Self::Uuid => 36,
            Self::Seq { width } | Self::RandInt { width, .. } => *width,
            Self::RandHex { len } => *len,
            Self::Pick { values, .. } => values.first().map_or(0, Vec::len),
        }
    }
}

/// A piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(Vec<u8>),
    Gen(Gen),
    /// A variable captured from an earlier response (index into the scenario's variables).
    Var(usize),
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// Loads a column (`file`, `column`) of a data file as its values.
pub type ColumnLoader<'a> = dyn Fn(&str, &str) -> Result<Vec<Vec<u8>>, String> + 'a;

/// What a template may refer to, for resolving names while parsing.
pub struct Context<'a> {
    /// Names of variables some task captures.
    pub variables: &'a [String],
    /// Reads `{{env NAME}}`.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// Loads a column of a data file for `{{pick COLUMN from FILE}}`.
    pub column: &'a ColumnLoader<'a>,
}

fn digits(mut n: u64) -> usize {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

impl Template {
    /// Parses `text`, resolving names through `ctx`.
    pub fn parse(text: &str, ctx: &Context) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(open) = rest.find("{{") {
            if open > 0 {
                parts.push(Part::Text(rest.as_bytes()[..open].to_vec()));
            }
            let after = &rest[open + 2..];
            let close = after
                .find("}}")
                .ok_or_else(|| format!("unclosed '{{{{' in '{text}'"))?;
            parts.push(parse_placeholder(after[..close].trim(), ctx)?);
            rest = &after[close + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.as_bytes().to_vec()));
        }
        // Merge neighbouring literals (an env value next to text).
        let mut merged: Vec<Part> = Vec::with_capacity(parts.len());
        for p in parts {
            match (merged.last_mut(), p) {
                (Some(Part::Text(a)), Part::Text(b)) => a.extend_from_slice(&b),
                (_, p) => merged.push(p),
            }
        }
        Ok(Self { parts: merged })
    }

    /// A template with no placeholders.
    pub fn literal(text: &str) -> Self {
        Self {
            parts: if text.is_empty() {
                vec![]
            } else {
                vec![Part::Text(text.as_bytes().to_vec())]
            },
        }
    }

    /// A template of raw bytes (a request body read from a file may not be UTF-8).
    pub fn bytes(bytes: Vec<u8>) -> Self {
        Self {
            parts: if bytes.is_empty() {
                vec![]
            } else {
                vec![Part::Text(bytes)]
            },
        }
    }

    /// True when the template varies per request or per connection.
    pub fn is_dynamic(&self) -> bool {
        self.parts.iter().any(|p| !matches!(p, Part::Text(_)))
    }

    /// The variables it refers to.
    pub fn vars(&self) -> impl Iterator<Item = usize> + '_ {
        self.parts
            .iter()
            .filter_map(|p| if let Part::Var(v) = p { Some(*v) } else { None })
    }
}

fn parse_placeholder(inner: &str, ctx: &Context) -> Result<Part, String> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    let num = |s: &str, what: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{{{{{inner}}}}}: {what} '{s}' is not a whole number"))
    };
    let gen_ = match words.as_slice() {
        ["uuid"] => Gen::Uuid,
        ["seq"] => Gen::Seq { width: 10 },
        ["seq", w] => {
            let width = num(w, "width")? as usize;
            if !(1..=19).contains(&width) {
                return Err(format!("{{{{{inner}}}}}: seq width must be 1 to 19"));
            }
            Gen::Seq { width }
        }
        ["rand_int", lo, hi, rest @ ..] => {
            let (lo, hi) = (num(lo, "bound")?, num(hi, "bound")?);
            if lo > hi {
                return Err(format!(
                    "{{{{{inner}}}}}: the lower bound is above the upper"
                ));
            }
            let need = digits(hi);
            let width = match rest {
                [] => need,
                [w] => num(w, "width")? as usize,
                _ => return Err(format!("{{{{{inner}}}}}: expected rand_int LO HI [WIDTH]")),
            };
            if width < need {
                return Err(format!(
                    "{{{{{inner}}}}}: a value up to {hi} is {need} digits, wider than its {width}-byte slot"
                ));
            }
            Gen::RandInt { lo, hi, width }
        }
        ["rand_hex", n] => {
            let len = num(n, "length")? as usize;
            if !(1..=64).contains(&len) {
                return Err(format!("{{{{{inner}}}}}: rand_hex length must be 1 to 64"));
            }
            Gen::RandHex { len }
        }
        ["pick", column, "from", file, rest @ ..] => {
            let random = match rest {
                [] | ["cycle"] => false,
                ["random"] => true,
                _ => {
                    return Err(format!(
                        "{{{{{inner}}}}}: expected pick COLUMN from FILE [cycle|random]"
                    ));
                }
            };
            let values = (ctx.column)(file, column)?;
            if values.is_empty() {
                return Err(format!(
                    "{{{{{inner}}}}}: column '{column}' of {file} has no values"
                ));
            }
            let width = values[0].len();
            if let Some(bad) = values.iter().find(|v| v.len() != width) {
                return Err(format!(
                    "{{{{{inner}}}}}: values of '{column}' in {file} differ in width ({} and {} bytes); ringblast patches values in place at a fixed width, so make them one width (e.g. zero-pad ids)",
                    width,
                    bad.len()
                ));
            }
            Gen::Pick {
                values: Arc::new(values),
                random,
            }
        }
        ["env", name] => {
            let value = (ctx.env)(name).ok_or_else(|| {
                format!("{{{{{inner}}}}}: environment variable {name} is not set")
            })?;
            return Ok(Part::Text(value.into_bytes()));
        }
        [name] => {
            return match ctx.variables.iter().position(|v| v == name) {
                Some(i) => Ok(Part::Var(i)),
                None => Err(format!(
                    "{{{{{inner}}}}}: unknown variable '{name}' (no task captures it; generators are uuid, seq, rand_int, rand_hex, pick, env)"
                )),
            };
        }
        _ => {
            return Err(format!(
                "{{{{{inner}}}}}: not a placeholder ringblast knows"
            ));
        }
    };
    Ok(Part::Gen(gen_))
}

/// Per-worker generator state: a fast PRNG, the sequence, and pick cursors.
#[derive(Debug, Clone)]
pub struct Generators {
    rng: u64,
    seq: u64,
    worker: u64,
    workers: u64,
    pick_cursor: u64,
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Generators {
    pub fn new(seed: u64, worker: u64, workers: u64) -> Self {
        Self {
            rng: seed | 1,
            seq: 0,
            worker,
            workers: workers.max(1),
            pick_cursor: worker,
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        // splitmix64: good enough for test data, two multiplies per value.
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Writes a fresh value into `slot` (exactly `gen.width()` bytes).
    pub fn fill(&mut self, generator: &Gen, slot: &mut [u8]) {
        match generator {
            Gen::Uuid => {
                let (a, b) = (self.next_u64(), self.next_u64());
                let mut bytes = [0u8; 16];
                bytes[..8].copy_from_slice(&a.to_le_bytes());
                bytes[8..].copy_from_slice(&b.to_le_bytes());
                bytes[6] = (bytes[6] & 0x0f) | 0x40;
                bytes[8] = (bytes[8] & 0x3f) | 0x80;
                let mut j = 0;
                for (i, byte) in bytes.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        slot[j] = b'-';
                        j += 1;
                    }
                    slot[j] = HEX[(byte >> 4) as usize];
                    slot[j + 1] = HEX[(byte & 0xf) as usize];
                    j += 2;
                }
            }
            Gen::Seq { width } => {
                let value = self.seq * self.workers + self.worker;
                self.seq += 1;
                write_padded(value, *width, slot);
            }
            Gen::RandInt { lo, hi, width } => {
                let span = hi - lo + 1;
                let value = if span == 0 {
                    self.next_u64()
                } else {
                    lo + self.next_u64() % span
                };
                write_padded(value, *width, slot);
            }
            Gen::RandHex { .. } => {
                let mut bits = 0u64;
                for (i, b) in slot.iter_mut().enumerate() {
                    if i % 16 == 0 {
                        bits = self.next_u64();
                    }
                    *b = HEX[(bits & 0xf) as usize];
                    bits >>= 4;
                }
            }
            Gen::Pick { values, random } => {
                let i = if *random {
                    self.next_u64() % values.len() as u64
                } else {
                    let i = self.pick_cursor % values.len() as u64;
                    self.pick_cursor += self.workers;
                    i
                };
                slot.copy_from_slice(&values[i as usize]);
            }
        }
    }
}

/// Writes `value` as decimal, zero-padded to `width` (keeping the low digits if it is wider).
fn write_padded(mut value: u64, width: usize, slot: &mut [u8]) {
    for b in slot[..width].iter_mut().rev() {
        *b = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx_with<'a>(vars: &'a [String]) -> Context<'a> {
        Context {
            variables: vars,
            env: &|name| (name == "TOKEN").then(|| "abc".to_string()),
            column: &|file, col| match (file, col) {
                ("ids.csv", "id") => Ok(vec![b"0001".to_vec(), b"0002".to_vec(), b"0003".to_vec()]),
                ("ids.csv", "ragged") => Ok(vec![b"1".to_vec(), b"22".to_vec()]),
                _ => Err(format!("{file}: no column {col}")),
            },
        }
    }

    #[test]
    fn parses_every_placeholder() {
        let vars = vec!["token".to_string()];
        let t = Template::parse("/a/{{uuid}}/{{seq}}?n={{rand_int 1 1000}}&h={{rand_hex 8}}&id={{pick id from ids.csv}}&t={{token}}&e={{env TOKEN}}", &ctx_with(&vars)).unwrap();
        let widths: Vec<usize> = t
            .parts
            .iter()
            .filter_map(|p| {
                if let Part::Gen(g) = p {
                    Some(g.width())
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(widths, vec![36, 10, 4, 8, 4]);
        assert_eq!(t.vars().collect::<Vec<_>>(), vec![0]);
        assert_eq!(t.parts.last(), Some(&Part::Text(b"&e=abc".to_vec())));
        assert!(t.is_dynamic());
        assert!(
            !Template::parse("/static", &ctx_with(&vars))
                .unwrap()
                .is_dynamic()
        );
    }

    #[test]
    fn rejects_bad_placeholders() {
        let vars = vec![];
        for bad in [
            "{{uuid",
            "{{nope}}",
            "{{rand_int 5 1}}",
            "{{rand_int 1 99999 3}}",
            "{{rand_hex 0}}",
            "{{seq 0}}",
            "{{pick id from missing.csv}}",
            "{{pick ragged from ids.csv}}",
            "{{env UNSET_VAR}}",
            "{{frob 1 2}}",
        ] {
            let err = Template::parse(bad, &ctx_with(&vars)).unwrap_err();
            assert!(!err.is_empty(), "{bad}");
        }
        let wide = Template::parse("{{rand_int 1 99999 3}}", &ctx_with(&vars)).unwrap_err();
        assert!(wide.contains("wider than its 3-byte slot"), "{wide}");
    }

    #[test]
    fn generated_values_fill_their_slots() {
        let mut g = Generators::new(42, 1, 2);
        let mut uuid = [0u8; 36];
        g.fill(&Gen::Uuid, &mut uuid);
        let s = std::str::from_utf8(&uuid).unwrap();
        assert_eq!(s.matches('-').count(), 4);
        assert_eq!(&s[14..15], "4", "version 4: {s}");
        let mut other = [0u8; 36];
        g.fill(&Gen::Uuid, &mut other);
        assert_ne!(uuid, other);
        // Worker 1 of 2 takes the odd sequence numbers.
        let mut seq = [0u8; 6];
        g.fill(&Gen::Seq { width: 6 }, &mut seq);
        assert_eq!(&seq, b"000001");
        g.fill(&Gen::Seq { width: 6 }, &mut seq);
        assert_eq!(&seq, b"000003");
        let mut n = [0u8; 4];
        for _ in 0..1000 {
            g.fill(
                &Gen::RandInt {
                    lo: 1,
                    hi: 1000,
                    width: 4,
                },
                &mut n,
            );
            let v: u64 = std::str::from_utf8(&n).unwrap().parse().unwrap();
            assert!((1..=1000).contains(&v));
        }
        let values = Arc::new(vec![b"a".to_vec(), b"b".to_vec(), b"c".to_vec()]);
        let mut picked = Vec::new();
        let mut one = [0u8; 1];
        for _ in 0..3 {
            g.fill(
                &Gen::Pick {
                    values: values.clone(),
                    random: false,
                },
                &mut one,
            );
            picked.push(one[0]);
        }
        assert_eq!(
            picked,
            b"bac".to_vec(),
            "worker 1 of 2 cycles from index 1 in steps of 2"
        );
    }
}
