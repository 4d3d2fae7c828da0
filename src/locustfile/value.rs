//! Python expressions of a locustfile as scenario text: string literals and f-strings as
//! templates (`self.x` → `{{x}}`, `uuid4()` → `{{uuid}}`, `random.randint` → `{{rand_int}}`), and
//! dict literals as JSON, form or query text. An expression that does not map says why.

use rustpython_ruff_python_ast::{self as ast, Expr, InterpolatedStringElement, Number};

/// Why an expression was not converted.
pub type Why = String;

/// `self.NAME`: the attribute's name.
pub fn self_attr(e: &Expr) -> Option<&str> {
    match e {
        Expr::Attribute(a) if matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self") => {
            Some(a.attr.as_str())
        }
        _ => None,
    }
}

/// The dotted name of a callee: `uuid.uuid4`, `random.randint`, `between`.
pub fn dotted(e: &Expr) -> Option<String> {
    match e {
        Expr::Name(n) => Some(n.id.to_string()),
        Expr::Attribute(a) => Some(format!("{}.{}", dotted(&a.value)?, a.attr.as_str())),
        _ => None,
    }
}

pub fn number(e: &Expr) -> Option<f64> {
    match e {
        Expr::NumberLiteral(n) => match &n.value {
            Number::Int(i) => i.as_i64().map(|v| v as f64),
            Number::Float(f) => Some(*f),
            Number::Complex { .. } => None,
        },
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub) => number(&u.operand).map(|v| -v),
        _ => None,
    }
}

pub fn string(e: &Expr) -> Option<String> {
    match e {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
        _ => None,
    }
}

/// A value placed into a template: a variable kept on `self`, or a generator.
fn placeholder(e: &Expr) -> Result<String, Why> {
    if let Some(attr) = self_attr(e) {
        return Ok(format!("{{{{{attr}}}}}"));
    }
    // uuid.uuid4().hex: 32 hex digits.
    if let Expr::Attribute(a) = e
        && a.attr.as_str() == "hex"
        && let Expr::Call(c) = &*a.value
        && matches!(dotted(&c.func).as_deref(), Some("uuid.uuid4" | "uuid4"))
    {
        return Ok("{{rand_hex 32}}".into());
    }
    if let Expr::Call(c) = e {
        let callee = dotted(&c.func).unwrap_or_default();
        let args = &c.arguments.args;
        match callee.as_str() {
            "uuid.uuid4" | "uuid4" => return Ok("{{uuid}}".into()),
            "secrets.token_hex" | "token_hex" if args.len() == 1 => {
                if let Some(n) = number(&args[0]).filter(|n| *n >= 1.0 && *n <= 512.0) {
                    return Ok(format!("{{{{rand_hex {}}}}}", n as u64 * 2));
                }
            }
            "str" if args.len() == 1 => return placeholder(&args[0]),
            "random.randint" | "randint" if args.len() == 2 => {
                let (lo, hi) = (number(&args[0]), number(&args[1]));
                if let (Some(lo), Some(hi)) = (lo, hi)
                    && lo >= 0.0
                    && lo <= hi
                {
                    return Ok(format!("{{{{rand_int {} {}}}}}", lo as u64, hi as u64));
                }
            }
            _ => {}
        }
    }
    if let Some(s) = string(e) {
        return Ok(s);
    }
    if let Some(n) = number(e) {
        return Ok(fmt_number(n));
    }
    Err(
        "a value computed in Python (only self.x, uuid4(), random.randint(a, b) and literals map)"
            .into(),
    )
}

/// `{random.randint(1, 99999):05d}`: a zero-padded integer, the one format spec that maps.
fn padded(e: &Expr, spec: &ast::InterpolatedStringFormatSpec) -> Result<String, Why> {
    let mut text = String::new();
    for el in spec.elements.iter() {
        match el {
            InterpolatedStringElement::Literal(l) => text.push_str(&l.value),
            InterpolatedStringElement::Interpolation(_) => {
                return Err("an f-string format spec computed in Python".into());
            }
        }
    }
    let width = text
        .strip_prefix('0')
        .and_then(|w| w.strip_suffix('d'))
        .and_then(|w| w.parse::<u32>().ok())
        .filter(|w| (1..=19).contains(w))
        .ok_or_else(|| format!("an f-string format spec ':{text}' (only :0Nd maps)"))?;
    let value = placeholder(e)?;
    match value
        .strip_prefix("{{rand_int ")
        .and_then(|v| v.strip_suffix("}}"))
    {
        Some(bounds) => Ok(format!("{{{{rand_int {bounds} {width}}}}}")),
        None => Err(format!("':{text}' on a value other than random.randint")),
    }
}

fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A string expression as a template: a literal, an f-string, `%`/`+`/`.format` are not
/// mapped here but a plain `self.x` is.
pub fn template(e: &Expr) -> Result<String, Why> {
    match e {
        Expr::StringLiteral(s) => Ok(s.value.to_str().to_string()),
        Expr::FString(f) => {
            let mut out = String::new();
            for part in f.value.iter() {
                match part {
                    ast::FStringPart::Literal(l) => out.push_str(&l.value),
                    ast::FStringPart::FString(fs) => {
                        for el in fs.elements.iter() {
                            match el {
                                InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                                InterpolatedStringElement::Interpolation(i) => {
                                    match &i.format_spec {
                                        None => out.push_str(&placeholder(&i.expression)?),
                                        Some(spec) => out.push_str(&padded(&i.expression, spec)?),
                                    }
                                }
                            }
                        }
                    }
                }
            }
            Ok(out)
        }
        Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) => {
            Ok(format!("{}{}", template(&b.left)?, template(&b.right)?))
        }
        _ => placeholder(e),
    }
}

/// A dict literal's items with string keys and template values.
pub fn pairs(e: &Expr) -> Result<Vec<(String, String)>, Why> {
    let Expr::Dict(d) = e else {
        return Err("not a dict literal".into());
    };
    d.items
        .iter()
        .map(|item| {
            let key = item
                .key
                .as_ref()
                .and_then(string)
                .ok_or_else(|| "a dict key that is not a string literal".to_string())?;
            Ok((key, template(&item.value)?))
        })
        .collect()
}

/// A JSON value: dicts, lists, strings (templates), numbers, booleans and None.
pub fn json(e: &Expr) -> Result<String, Why> {
    match e {
        Expr::Dict(d) => {
            let mut parts = Vec::new();
            for item in &d.items {
                let key = item
                    .key
                    .as_ref()
                    .and_then(string)
                    .ok_or_else(|| "a JSON key that is not a string literal".to_string())?;
                parts.push(format!("{}: {}", quote_json(&key), json(&item.value)?));
            }
            // Python's json.dumps separators, as requests sends them.
            Ok(format!("{{{}}}", parts.join(", ")))
        }
        Expr::List(l) => {
            let items: Result<Vec<String>, Why> = l.elts.iter().map(json).collect();
            Ok(format!("[{}]", items?.join(", ")))
        }
        Expr::BooleanLiteral(b) => Ok(if b.value { "true" } else { "false" }.into()),
        Expr::NoneLiteral(_) => Ok("null".into()),
        _ if number(e).is_some() => Ok(fmt_number(number(e).unwrap_or_default())),
        Expr::Call(c)
            if matches!(
                dotted(&c.func).as_deref(),
                Some("random.randint" | "randint")
            ) =>
        {
            placeholder(e)
        }
        _ => Ok(quote_json(&template(e)?)),
    }
}

fn quote_json(s: &str) -> String {
    // ensure_ascii, as json.dumps does by default.
    quoted(s, |c| {
        ((c as u32) < 0x20 || !c.is_ascii()).then(|| {
            let mut units = [0u16; 2];
            c.encode_utf16(&mut units)
                .iter()
                .map(|u| format!("\\u{u:04x}"))
                .collect()
        })
    })
}

/// `s` in double quotes with `"`, backslashes and newlines escaped, and whatever `other` escapes: the
/// strings of JSON and of TOML differ only there.
pub fn quoted(s: &str, other: impl Fn(char) -> Option<String>) -> String {
    let mut out = String::from("\"");
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => match other(c) {
                Some(e) => out.push_str(&e),
                None => out.push(c),
            },
        }
    }
    out.push('"');
    out
}

/// `k=v&k2=v2`, percent-encoding what is literal (placeholders are left as they are).
pub fn urlencoded(pairs: &[(String, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while !rest.is_empty() {
        if rest.starts_with("{{")
            && let Some(end) = rest.find("}}")
        {
            out.push_str(&rest[..end + 2]);
            rest = &rest[end + 2..];
            continue;
        }
        let ch = rest.chars().next().unwrap_or_default();
        if ch.is_ascii_alphanumeric() || "-._~".contains(ch) {
            out.push(ch);
        } else if ch == ' ' {
            out.push('+');
        } else {
            let mut buf = [0u8; 4];
            for b in ch.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        rest = &rest[ch.len_utf8()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expr(src: &str) -> Expr {
        *rustpython_ruff_python_parser::parse_expression(src)
            .unwrap()
            .into_syntax()
            .body
    }

    #[test]
    fn f_strings_and_generators_become_templates() {
        let t = |src: &str| template(&expr(src));
        assert_eq!(
            t(r#"f"/d/{random.randint(1, 99999):05d}/""#).unwrap(),
            "/d/{{rand_int 1 99999 5}}/"
        );
        assert_eq!(
            t(r#"f"/x/{self.id}?t={secrets.token_hex(6)}""#).unwrap(),
            "/x/{{id}}?t={{rand_hex 12}}"
        );
        assert_eq!(
            t(r#""/u/" + uuid.uuid4().hex"#).unwrap(),
            "/u/{{rand_hex 32}}"
        );
        assert!(t(r#"f"/{x:>8}""#).is_err());
        assert!(t(r#"f"/{random.randint(1, 9):.2f}""#).is_err());
        assert!(t("compute()").is_err());
        assert_eq!(
            json(&expr(r#"{"a": [1, "é"], "b": None, "c": True}"#)).unwrap(),
            r#"{"a": [1, "\u00e9"], "b": null, "c": true}"#
        );
        assert_eq!(
            urlencoded(&[("q".into(), "a b&c".into()), ("n".into(), "{{seq}}".into())]),
            "q=a+b%26c&n={{seq}}"
        );
    }
}
