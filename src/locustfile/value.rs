//! Python expressions of a locustfile as scenario text: literals, f-strings, `+`, `%` and
//! `.format()` as templates (`self.x`, generators), dicts as JSON, form or query; or why not.

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

/// An expression that builds a string: an f-string, `+`, `%` or a literal's `.format()`.
fn builds_string(e: &Expr) -> bool {
    match e {
        Expr::FString(_) => true,
        Expr::BinOp(b) => matches!(b.op, ast::Operator::Add | ast::Operator::Mod),
        Expr::Call(c) => {
            c.arguments
                .args
                .iter()
                .all(|a| !matches!(a, Expr::Starred(_)))
                && matches!(&*c.func, Expr::Attribute(a)
                    if a.attr.as_str() == "format" && string(&a.value).is_some())
        }
        _ => false,
    }
}

/// A value placed into a template: a variable kept on `self`, or a generator.
fn placeholder(e: &Expr) -> Result<String, Why> {
    if builds_string(e) {
        return template(e);
    }
    // os.urandom(n).hex(): 2n hex digits.
    if let Expr::Call(c) = e
        && c.arguments.args.is_empty()
        && let Expr::Attribute(a) = &*c.func
        && a.attr.as_str() == "hex"
        && let Expr::Call(u) = &*a.value
        && matches!(dotted(&u.func).as_deref(), Some("os.urandom"))
        && let [n] = &u.arguments.args[..]
        && let Some(n) = number(n).filter(|n| (1.0..=32.0).contains(n))
    {
        return Ok(format!("{{{{rand_hex {}}}}}", n as u64 * 2));
    }
    // uuid.uuid4().hex[:8] or str(uuid.uuid4())[:8]: that many hex digits (a uuid's first
    // dash is its 9th character).
    if let Expr::Subscript(s) = e
        && let Expr::Slice(sl) = &*s.slice
        && sl.lower.is_none()
        && sl.step.is_none()
        && let Some(n) = sl.upper.as_deref().and_then(number)
        && n >= 1.0
        && let Ok(whole) = placeholder(&s.value)
        && (whole == "{{rand_hex 32}}" && n <= 32.0 || whole == "{{uuid}}" && n <= 8.0)
    {
        return Ok(format!("{{{{rand_hex {}}}}}", n as u64));
    }
    // self.client.cookies["csrftoken"] or .get("csrftoken"): the user's cookie, as it is then.
    let cookie = match e {
        Expr::Subscript(s) if dotted(&s.value).as_deref() == Some("self.client.cookies") => {
            string(&s.slice)
        }
        Expr::Call(c)
            if c.arguments.args.len() == 1
                && dotted(&c.func).as_deref() == Some("self.client.cookies.get") =>
        {
            string(&c.arguments.args[0])
        }
        _ => None,
    };
    if let Some(name) = cookie {
        return Ok(format!("{{{{cookie {name}}}}}"));
    }
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
            // next(counter) of an itertools.count(): a sequence number.
            "next"
                if args.len() == 1
                    && matches!(&args[0], Expr::Call(n) if matches!(
                    dotted(&n.func).as_deref(),
                    Some("itertools.count" | "count")
                ) && n.arguments.args.is_empty()) =>
            {
                return Ok("{{seq}}".into());
            }
            "random.random" if args.is_empty() => return Ok("0.{{rand_int 0 999999 6}}".into()),
            "random.choice" | "choice" if args.len() == 1 => {
                if let Expr::List(_) | Expr::Tuple(_) = &args[0] {
                    return choice(&args[0]);
                }
            }
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
        "a value computed in Python (only self.x, uuid4(), random.randint(a, b), random.choice([...]), random.random() and literals map)"
            .into(),
    )
}

/// `random.choice(["a", "b"])` over literal words as `{{choice a b}}`.
fn choice(list: &Expr) -> Result<String, Why> {
    let elts = match list {
        Expr::List(l) => &l.elts,
        Expr::Tuple(t) => &t.elts,
        _ => return Err("random.choice over something other than a literal list".into()),
    };
    let mut words = Vec::new();
    for e in elts {
        let w = string(e)
            .or_else(|| number(e).map(fmt_number))
            .ok_or("random.choice over a list with a value computed in Python")?;
        if w.is_empty() || w.contains(char::is_whitespace) || w.contains("{{") || w.contains("}}") {
            return Err(format!(
                "random.choice over '{w}' (the choices must be words without spaces or braces)"
            ));
        }
        words.push(w);
    }
    if words.is_empty() {
        return Err("random.choice over an empty list".into());
    }
    Ok(format!("{{{{choice {}}}}}", words.join(" ")))
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
    formatted(e, &text)
}

/// A value under a format spec (`05d` of f-strings and `.format`, `d`/`s`): plain specs keep
/// the value, and `0Nd` pins `random.randint`'s width.
fn formatted(e: &Expr, spec: &str) -> Result<String, Why> {
    if matches!(spec, "" | "s" | "d" | "i") {
        return placeholder(e);
    }
    let width = spec
        .strip_prefix('0')
        .and_then(|w| w.strip_suffix('d'))
        .and_then(|w| w.parse::<u32>().ok())
        .filter(|w| (1..=19).contains(w))
        .ok_or_else(|| format!("a format spec ':{spec}' (only :0Nd maps)"))?;
    let value = placeholder(e)?;
    match value
        .strip_prefix("{{rand_int ")
        .and_then(|v| v.strip_suffix("}}"))
    {
        Some(bounds) => Ok(format!("{{{{rand_int {bounds} {width}}}}}")),
        None => Err(format!("':{spec}' on a value other than random.randint")),
    }
}

/// `"/a/%s/%05d" % (x, y)`: printf-style conversions `%s`, `%d`, `%i`, `%0Nd` and `%%`.
fn percent(format: &str, args: &Expr) -> Result<String, Why> {
    let values: Vec<&Expr> = match args {
        Expr::Tuple(t) => t.elts.iter().collect(),
        one => vec![one],
    };
    let mut values = values.into_iter();
    let mut out = String::new();
    let mut rest = format;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            out.push('%');
            rest = after;
            continue;
        }
        let end = rest
            .find(|c: char| c.is_ascii_alphabetic())
            .ok_or("a % format without a conversion")?;
        let spec = &rest[..=end];
        let value = values.next().ok_or("fewer values than % conversions")?;
        out.push_str(&formatted(value, spec)?);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    if values.next().is_some() {
        return Err("more values than % conversions".into());
    }
    Ok(out)
}

/// `"/a/{}/{name:05d}".format(x, name=y)`: positional, numbered and named fields.
fn format_call(format: &str, c: &ast::ExprCall) -> Result<String, Why> {
    let mut out = String::new();
    let mut next = 0;
    let mut rest = format;
    while let Some(at) = rest.find(['{', '}']) {
        out.push_str(&rest[..at]);
        let (brace, after) = rest[at..].split_at(1);
        if let Some(after) = after.strip_prefix(brace) {
            out.push_str(brace);
            rest = after;
            continue;
        }
        if brace == "}" {
            return Err("a lone '}' in a .format() string".into());
        }
        let close = after
            .find('}')
            .ok_or("an unclosed '{' in a .format() string")?;
        let (field, spec) = after[..close]
            .split_once(':')
            .unwrap_or((&after[..close], ""));
        let value = if field.is_empty() {
            next += 1;
            c.arguments.args.get(next - 1)
        } else if let Ok(i) = field.parse::<usize>() {
            c.arguments.args.get(i)
        } else {
            c.arguments
                .keywords
                .iter()
                .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == field))
                .map(|k| &k.value)
        }
        .ok_or_else(|| format!("a .format() field {{{field}}} without its value"))?;
        out.push_str(&formatted(value, spec)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// A string expression as a template: a literal, an f-string, `+`, `%` and `.format()` over
/// values that map (`self.x`, generators, literals).
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
        Expr::BinOp(b) if matches!(b.op, ast::Operator::Mod) => match string(&b.left) {
            Some(f) => percent(&f, &b.right),
            None => Err("a % format whose format is not a string literal".into()),
        },
        Expr::Call(c) if builds_string(e) => {
            let Expr::Attribute(a) = &*c.func else {
                unreachable!("a .format() call")
            };
            format_call(&string(&a.value).unwrap_or_default(), c)
        }
        // json.dumps(value): its text, as the JSON body writer makes it.
        Expr::Call(c)
            if matches!(dotted(&c.func).as_deref(), Some("json.dumps"))
                && c.arguments.args.len() == 1
                && c.arguments.keywords.is_empty() =>
        {
            json(&c.arguments.args[0])
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
        // A number drawn at run time is a JSON number, unquoted.
        Expr::Call(_)
            if placeholder(e).is_ok_and(|p| p == "{{seq}}" || p.starts_with("{{rand_int ")) =>
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

/// A path as requests sends it (`requote_uri`): characters a URL may not hold percent-encoded,
/// `%` escapes and placeholders kept.
pub fn requote(path: &str) -> String {
    const SAFE: &str = "!#$%&'()*+,/:;=?@[]~-._";
    let mut out = String::new();
    let mut rest = path;
    while !rest.is_empty() {
        if rest.starts_with("{{")
            && let Some(end) = rest.find("}}")
        {
            out.push_str(&rest[..end + 2]);
            rest = &rest[end + 2..];
            continue;
        }
        let ch = rest.chars().next().unwrap_or_default();
        if ch.is_ascii_alphanumeric() || SAFE.contains(ch) {
            out.push(ch);
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
            t(r#""/o/%s/i/%05d?p=%d%%" % (self.order, random.randint(1, 9999), 3)"#).unwrap(),
            "/o/{{order}}/i/{{rand_int 1 9999 5}}?p=3%"
        );
        assert_eq!(t(r#""/o/%s" % self.order"#).unwrap(), "/o/{{order}}");
        assert!(t(r#""/o/%s/%s" % (self.order,)"#).is_err());
        assert!(t(r#""/o/%.2f" % random.random()"#).is_err());
        assert_eq!(
            t(r#""/a/{}/{k}/{0}/{{x}}".format(self.a, k=random.choice(["x", "y"]))"#).unwrap(),
            "/a/{{a}}/{{choice x y}}/{{a}}/{x}"
        );
        assert_eq!(
            t("str(random.random())").unwrap(),
            "0.{{rand_int 0 999999 6}}"
        );
        assert!(t(r#"random.choice(["a b", "c"])"#).is_err());
        assert!(t("random.choice(items)").is_err());
        assert_eq!(
            t(r#"f"user_{uuid.uuid4().hex[:8]}/{f'{self.a}-x'}""#).unwrap(),
            "user_{{rand_hex 8}}/{{a}}-x"
        );
        assert_eq!(t(r#"str(uuid.uuid4())[:8]"#).unwrap(), "{{rand_hex 8}}");
        assert!(t(r#"str(uuid.uuid4())[:12]"#).is_err(), "a dash at 9");
        assert_eq!(t(r#"json.dumps({"a": 1})"#).unwrap(), r#"{"a": 1}"#);
        assert!(t("1 - 2").is_err());
        assert_eq!(t("next(itertools.count())").unwrap(), "{{seq}}");
        assert_eq!(
            t(r#"self.client.cookies["csrftoken"] + self.client.cookies.get("s")"#).unwrap(),
            "{{cookie csrftoken}}{{cookie s}}"
        );
        assert_eq!(t("os.urandom(16).hex()").unwrap(), "{{rand_hex 32}}");
        assert_eq!(
            requote("/book/Competition {{rand_int 1 10}}/é?q=a b&x=%41"),
            "/book/Competition%20{{rand_int 1 10}}/%C3%A9?q=a%20b&x=%41"
        );
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
