//! Conditions on a caught response's body (`"x" in r.text`, `r.text == "x"`,
//! `r.json()["a"] == v`) as the scenario's `check` table: what the body must have, lack or be.

use rustpython_ruff_python_ast::{self as ast, CmpOp, Expr};

use super::value::{dotted, number, string};

/// What a response's body must hold, as the scenario's `check` writes it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Check {
    pub has: Vec<String>,
    pub lacks: Vec<String>,
    pub is: Option<String>,
    pub json: Vec<(String, String)>,
    pub json_not: Vec<(String, String)>,
}

impl Check {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// Requires `cond` to hold (`holds`), or not to.
    pub fn require(&mut self, cond: Cond, holds: bool) -> Result<(), String> {
        match (cond, holds) {
            (Cond::Has(s), true) => self.has.push(s),
            (Cond::Has(s), false) => self.lacks.push(s),
            (Cond::Is(s), true) => self.is = Some(s),
            (Cond::Is(_), false) => {
                return Err(
                    "a body required to differ from a text (only has, lacks and equals map)".into(),
                );
            }
            (Cond::Json(p, v), true) => self.json.push((p, v)),
            (Cond::Json(p, v), false) => self.json_not.push((p, v)),
            (Cond::Not(c), h) => return self.require(*c, !h),
        }
        Ok(())
    }
}

/// One condition on the body.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Has(String),
    Is(String),
    Json(String, String),
    Not(Box<Cond>),
}

/// Whether an expression reads the response's body (`r.text`, `r.content`, `r.json()`).
pub fn reads_body(var: &str, e: &Expr) -> bool {
    match e {
        Expr::Attribute(a) => {
            (matches!(a.attr.as_str(), "text" | "content" | "json")
                && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == var))
                || reads_body(var, &a.value)
        }
        Expr::Call(c) => reads_body(var, &c.func),
        Expr::Subscript(s) => reads_body(var, &s.value),
        Expr::Compare(c) => {
            reads_body(var, &c.left) || c.comparators.iter().any(|x| reads_body(var, x))
        }
        Expr::BoolOp(b) => b.values.iter().any(|x| reads_body(var, x)),
        Expr::UnaryOp(u) => reads_body(var, &u.operand),
        _ => false,
    }
}

/// A comparison on the body as a condition.
pub fn cond(var: &str, test: &Expr) -> Result<Cond, String> {
    match test {
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => {
            Ok(Cond::Not(Box::new(cond(var, &u.operand)?)))
        }
        Expr::Compare(c) if c.ops.len() == 1 => {
            let (left, right) = (&*c.left, &c.comparators[0]);
            let text = |e: &Expr| {
                dotted(e)
                    .is_some_and(|d| d == format!("{var}.text") || d == format!("{var}.content"))
            };
            let positive = |c: Cond, op: CmpOp, yes: CmpOp, no: CmpOp| {
                if op == yes {
                    Ok(c)
                } else if op == no {
                    Ok(Cond::Not(Box::new(c)))
                } else {
                    Err("a comparison of the body other than in, not in, == and !=".to_string())
                }
            };
            if text(right) {
                let needle = literal(left).ok_or("text searched for that is not a literal")?;
                return positive(Cond::Has(needle), c.ops[0], CmpOp::In, CmpOp::NotIn);
            }
            if text(left) {
                let whole = literal(right).ok_or("a body compared with something not a literal")?;
                return positive(Cond::Is(whole), c.ops[0], CmpOp::Eq, CmpOp::NotEq);
            }
            if let Some(pointer) = json_pointer(var, left) {
                let value = json_literal(right)
                    .ok_or("a JSON value compared with something not a literal")?;
                return positive(
                    Cond::Json(pointer, value),
                    c.ops[0],
                    CmpOp::Eq,
                    CmpOp::NotEq,
                );
            }
            Err("a condition on the body other than text in r.text, r.text == text or r.json()[key] == value".into())
        }
        _ => Err("a condition on the body other than one comparison".into()),
    }
}

/// A string or bytes literal.
fn literal(e: &Expr) -> Option<String> {
    match e {
        Expr::BytesLiteral(b) => {
            let bytes: Vec<u8> = b.value.bytes().collect();
            String::from_utf8(bytes).ok()
        }
        _ => string(e),
    }
}

/// A literal as the JSON value a pointer reads: strings unquoted, numbers, booleans, null.
fn json_literal(e: &Expr) -> Option<String> {
    match e {
        Expr::BooleanLiteral(b) => Some(if b.value { "true" } else { "false" }.into()),
        Expr::NumberLiteral(_) | Expr::UnaryOp(_) => {
            let n = number(e)?;
            Some(if n.fract() == 0.0 {
                format!("{}", n as i64)
            } else {
                format!("{n}")
            })
        }
        _ => string(e),
    }
}

/// `r.json()["a"][0]` or `r.json().get("a")`: the JSON pointer it reads.
fn json_pointer(var: &str, e: &Expr) -> Option<String> {
    let mut keys = Vec::new();
    let mut cur = e;
    loop {
        match cur {
            Expr::Subscript(s) => {
                keys.push(match &*s.slice {
                    Expr::NumberLiteral(_) => format!("{}", number(&s.slice)? as i64),
                    other => string(other)?,
                });
                cur = &s.value;
            }
            Expr::Call(c)
                if c.arguments.args.len() == 1
                    && matches!(&*c.func, Expr::Attribute(a) if a.attr.as_str() == "get") =>
            {
                keys.push(string(&c.arguments.args[0])?);
                let Expr::Attribute(a) = &*c.func else {
                    return None;
                };
                cur = &a.value;
            }
            Expr::Call(c) if c.arguments.args.is_empty() => {
                let ok = dotted(&c.func).is_some_and(|d| d == format!("{var}.json"));
                if !ok || keys.is_empty() {
                    return None;
                }
                keys.reverse();
                let escaped: Vec<String> = keys
                    .iter()
                    .map(|k| k.replace('~', "~0").replace('/', "~1"))
                    .collect();
                return Some(format!("/{}", escaped.join("/")));
            }
            _ => return None,
        }
    }
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
    fn body_conditions_read_as_checks() {
        let c = |s: &str| cond("r", &expr(s));
        assert_eq!(c(r#""ok" in r.text"#), Ok(Cond::Has("ok".into())));
        assert_eq!(
            c(r#"b"err" not in r.content"#),
            Ok(Cond::Not(Box::new(Cond::Has("err".into()))))
        );
        assert_eq!(c(r#"r.text == "Success""#), Ok(Cond::Is("Success".into())));
        assert_eq!(
            c(r#"r.json()["data"][0].get("state") != "done""#),
            Ok(Cond::Not(Box::new(Cond::Json(
                "/data/0/state".into(),
                "done".into()
            ))))
        );
        assert_eq!(
            c(r#"r.json()["count"] == 3"#),
            Ok(Cond::Json("/count".into(), "3".into()))
        );
        assert!(c("len(r.text) > 3").is_err());
        assert!(c("r.text.startswith('x')").is_err());
        assert!(reads_body(
            "r",
            &expr(r#"r.status_code == 200 and "x" in r.text"#)
        ));
        assert!(!reads_body("r", &expr("r.status_code == 200")));
        let mut check = Check::default();
        check
            .require(c(r#""error" in r.text"#).unwrap(), false)
            .unwrap();
        check
            .require(c(r#"r.json()["ok"] == True"#).unwrap(), true)
            .unwrap();
        assert_eq!(check.lacks, vec!["error".to_string()]);
        assert_eq!(check.json, vec![("/ok".to_string(), "true".to_string())]);
        assert!(
            check
                .require(c(r#"r.text == "x""#).unwrap(), false)
                .is_err()
        );
    }
}
