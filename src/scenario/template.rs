//! Request templates: text with `{{...}}` placeholders split into literals, generated slots (uuid,
//! seq, rand_int, rand_hex, pick, choice; fixed-width or not) and captured variables. Pure; no I/O.

use crate::error::InvalidValue;

use std::sync::Arc;

/// A value generated per request. Values of a fixed width are patched in place into a request
/// rendered once; the others (an unpinned number, a data column of mixed widths) are written per
/// request, with Content-Length computed per request.
#[derive(Debug, Clone, PartialEq)]
pub enum Gen {
    /// A random version-4 UUID (36 bytes).
    Uuid,
    /// A sequence number unique across workers: plain decimal, or zero-padded to a pinned width
    /// (wrapping at 10^width).
    Seq { width: Option<usize> },
    /// A uniform integer in `lo..=hi`: plain decimal, or zero-padded to a pinned width.
    RandInt {
        lo: u64,
        hi: u64,
        width: Option<usize>,
    },
    /// `len` random lowercase hex digits.
    RandHex { len: usize },
    /// A value from a data-file column, cycled or random; `width` when all values share one.
    /// Each placeholder cycles through its column on its own `cursor`.
    Pick {
        values: Arc<Vec<Vec<u8>>>,
        random: bool,
        width: Option<usize>,
        cursor: usize,
    },
}

impl Gen {
    /// The width of every value, or None when values differ in width.
    pub fn fixed_width(&self) -> Option<usize> {
        match self {
            Self::Uuid => Some(36),
            Self::Seq { width } | Self::RandInt { width, .. } | Self::Pick { width, .. } => *width,
            Self::RandHex { len } => Some(*len),
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
pub type ColumnLoader<'a> = dyn Fn(&str, &str) -> Result<Vec<Vec<u8>>, InvalidValue> + 'a;

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

/// A run of `{{…}}` text: a literal, or the trimmed inside of a placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

/// Splits text into literals and placeholders: the one `{{…}}` syntax, shared by scenarios and
/// the mock API's routes.
pub fn segments(text: &str) -> Result<Vec<Segment<'_>>, InvalidValue> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            out.push(Segment::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let close = after
            .find("}}")
            .ok_or_else(|| InvalidValue(format!("unclosed '{{{{' in '{text}'")))?;
        out.push(Segment::Placeholder(after[..close].trim()));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    Ok(out)
}

impl Template {
    /// Parses `text`, resolving names through `ctx`.
    pub fn parse(text: &str, ctx: &Context) -> Result<Self, InvalidValue> {
        let mut parts = Vec::new();
        for segment in segments(text)? {
            parts.push(match segment {
                Segment::Text(t) => Part::Text(t.as_bytes().to_vec()),
                Segment::Placeholder(inner) => parse_placeholder(inner, ctx)?,
            });
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

    /// What would let the template inject into a request, if anything: a line break or NUL in a literal
    /// (as an `{{env}}` value expands) or in a data-file value; in a path (`path` true), also
    /// spaces and control characters, which would split the request line.
    pub fn injection_risk(&self, path: bool) -> Option<String> {
        let bad = |b: &u8| matches!(b, b'\r' | b'\n' | 0) || (path && (*b <= b' ' || *b == 0x7f));
        for part in &self.parts {
            match part {
                Part::Text(t) if t.iter().any(bad) => {
                    return Some(
                        "a value (perhaps from {{env}}) has a line break, NUL or space".into(),
                    );
                }
                Part::Gen(Gen::Pick { values, .. }) => {
                    if let Some(v) = values.iter().find(|v| v.iter().any(bad)) {
                        let shown = String::from_utf8_lossy(v).escape_debug().to_string();
                        return Some(format!(
                            "a data value ('{shown}') has a line break, NUL or space"
                        ));
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// The variables it refers to.
    pub fn vars(&self) -> impl Iterator<Item = usize> + '_ {
        self.parts
            .iter()
            .filter_map(|p| if let Part::Var(v) = p { Some(*v) } else { None })
    }
}

fn parse_placeholder(inner: &str, ctx: &Context) -> Result<Part, InvalidValue> {
    let words: Vec<&str> = inner.split_whitespace().collect();
    let num = |s: &str, what: &str| {
        s.parse::<u64>()
            .map_err(|_| format!("{{{{{inner}}}}}: {what} '{s}' is not a whole number"))
    };
    let gen_ = match words.as_slice() {
        ["cookie", name] => {
            let var = super::cookie_variable(name);
            return ctx
                .variables
                .iter()
                .position(|v| *v == var)
                .map(Part::Var)
                .ok_or_else(|| {
                    InvalidValue(format!(
                        "{{{{{inner}}}}}: cookies are read only in scenario files"
                    ))
                });
        }
        ["uuid"] => Gen::Uuid,
        ["seq"] => Gen::Seq { width: None },
        ["seq", w] => {
            let width = num(w, "width")? as usize;
            if !(1..=19).contains(&width) {
                return Err(InvalidValue::from(format!(
                    "{{{{{inner}}}}}: seq width must be 1 to 19"
                )));
            }
            Gen::Seq { width: Some(width) }
        }
        ["rand_int", lo, hi, rest @ ..] => {
            let (lo, hi) = (num(lo, "bound")?, num(hi, "bound")?);
            if lo > hi {
                return Err(InvalidValue::from(format!(
                    "{{{{{inner}}}}}: the lower bound is above the upper"
                )));
            }
            let need = digits(hi);
            let width = match rest {
                // Unpinned: plain decimal, of one width only when every value has it.
                [] => (digits(lo) == need).then_some(need),
                [w] => Some(num(w, "width")? as usize),
                _ => {
                    return Err(InvalidValue::from(format!(
                        "{{{{{inner}}}}}: expected rand_int LO HI [WIDTH]"
                    )));
                }
            };
            if let Some(width) = width
                && width < need
            {
                return Err(InvalidValue::from(format!(
                    "{{{{{inner}}}}}: a value up to {hi} is {need} digits, wider than its {width}-byte slot"
                )));
            }
            Gen::RandInt { lo, hi, width }
        }
        ["rand_hex", n] => {
            let len = num(n, "length")? as usize;
            if !(1..=64).contains(&len) {
                return Err(InvalidValue::from(format!(
                    "{{{{{inner}}}}}: rand_hex length must be 1 to 64"
                )));
            }
            Gen::RandHex { len }
        }
        ["pick", column, "from", file, rest @ ..] => {
            let random = match rest {
                [] | ["cycle"] => false,
                ["random"] => true,
                _ => {
                    return Err(InvalidValue::from(format!(
                        "{{{{{inner}}}}}: expected pick COLUMN from FILE [cycle|random]"
                    )));
                }
            };
            let values = (ctx.column)(file, column)?;
            if values.is_empty() {
                return Err(InvalidValue::from(format!(
                    "{{{{{inner}}}}}: column '{column}' of {file} has no values"
                )));
            }
            let first = values[0].len();
            let width = values.iter().all(|v| v.len() == first).then_some(first);
            // Each placeholder gets its own cursor, so two picks of a request cycle apart.
            static CURSORS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
            Gen::Pick {
                values: Arc::new(values),
                random,
                width,
                cursor: CURSORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            }
        }
        ["choice", values @ ..] if !values.is_empty() => {
            // One of the listed values at random (Locust's random.choice over a literal list).
            let values: Vec<Vec<u8>> = values.iter().map(|v| v.as_bytes().to_vec()).collect();
            let first = values[0].len();
            let width = values.iter().all(|v| v.len() == first).then_some(first);
            Gen::Pick {
                values: Arc::new(values),
                random: true,
                width,
                cursor: 0,
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
                None => Err(InvalidValue::from(format!(
                    "{{{{{inner}}}}}: unknown variable '{name}' (no task captures it; generators are uuid, seq, rand_int, rand_hex, pick, choice, env)"
                ))),
            };
        }
        _ => {
            return Err(InvalidValue::from(format!(
                "{{{{{inner}}}}}: not a placeholder ringblast knows"
            )));
        }
    };
    Ok(Part::Gen(gen_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::generators::Generators;

    fn ctx_with<'a>(vars: &'a [String]) -> Context<'a> {
        Context {
            variables: vars,
            env: &|name| (name == "TOKEN").then(|| "abc".to_string()),
            column: &|file, col| match (file, col) {
                ("ids.csv", "id") => Ok(vec![b"0001".to_vec(), b"0002".to_vec(), b"0003".to_vec()]),
                ("ids.csv", "ragged") => Ok(vec![b"intune".to_vec(), b"jamf".to_vec()]),
                _ => Err(InvalidValue::from(format!("{file}: no column {col}"))),
            },
        }
    }

    #[test]
    fn parses_every_placeholder() {
        let vars = vec!["token".to_string()];
        let t = Template::parse("/a/{{uuid}}/{{seq}}?n={{rand_int 1 1000}}&h={{rand_hex 8}}&id={{pick id from ids.csv}}&t={{token}}&e={{env TOKEN}}", &ctx_with(&vars)).unwrap();
        let widths: Vec<Option<usize>> = t
            .parts
            .iter()
            .filter_map(|p| {
                if let Part::Gen(g) = p {
                    Some(g.fixed_width())
                } else {
                    None
                }
            })
            .collect();
        // seq and rand_int 1..1000 are unpinned plain numbers; the ids all have 4 bytes.
        assert_eq!(widths, vec![Some(36), None, None, Some(8), Some(4)]);
        let choice = Template::parse("{{choice red green blue}}", &ctx_with(&vars)).unwrap();
        assert!(
            matches!(&choice.parts[0], Part::Gen(Gen::Pick { values, random: true, .. }) if values.len() == 3)
        );
        assert!(Template::parse("{{choice}}", &ctx_with(&vars)).is_err());
        let ragged = Template::parse("{{pick ragged from ids.csv}}", &ctx_with(&vars)).unwrap();
        assert!(matches!(&ragged.parts[0], Part::Gen(g) if g.fixed_width().is_none()));
        let same = Template::parse("{{rand_int 1000 9999}}", &ctx_with(&vars)).unwrap();
        assert!(matches!(&same.parts[0], Part::Gen(g) if g.fixed_width() == Some(4)));
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
            "{{env UNSET_VAR}}",
            "{{frob 1 2}}",
        ] {
            let err = Template::parse(bad, &ctx_with(&vars)).unwrap_err();
            assert!(!err.0.is_empty(), "{bad}");
        }
        let wide = Template::parse("{{rand_int 1 99999 3}}", &ctx_with(&vars)).unwrap_err();
        assert!(wide.0.contains("wider than its 3-byte slot"), "{wide}");
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
        g.fill(&Gen::Seq { width: Some(6) }, &mut seq);
        assert_eq!(&seq, b"000001");
        g.fill(&Gen::Seq { width: Some(6) }, &mut seq);
        assert_eq!(&seq, b"000003");
        let mut out = Vec::new();
        g.append(&Gen::Seq { width: None }, &mut out);
        assert_eq!(out, b"5", "unpinned: plain decimal");
        let mut n = [0u8; 4];
        for _ in 0..1000 {
            g.fill(
                &Gen::RandInt {
                    lo: 1,
                    hi: 1000,
                    width: Some(4),
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
                    width: Some(1),
                    cursor: 0,
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
