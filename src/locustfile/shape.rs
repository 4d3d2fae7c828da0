//! A LoadTestShape whose `tick()` walks a literal table of rows as the scenario's stages: each
//! row a ramp at its spawn rate, then a hold to its cumulative duration; any other shape warns.

use rustpython_ruff_python_ast::visitor::{self, Visitor};
use rustpython_ruff_python_ast::{self as ast, Expr, Stmt};

use super::read::Reader;
use super::value::{number, string};

/// A LoadTestShape whose `tick()` walks a literal table of `{"duration", "users",
/// "spawn_rate"}` (durations cumulative, in seconds): the stages that ramp and hold the same.
pub(super) fn shape(r: &mut Reader, c: &ast::StmtClassDef) -> Option<String> {
    let tick = c.body.iter().find_map(|s| match s {
        Stmt::FunctionDef(f) if f.name.as_str() == "tick" => Some(f),
        _ => None,
    });
    let table = c.body.iter().find_map(|s| match s {
        Stmt::Assign(a) => match (&a.targets[..], &*a.value) {
            ([Expr::Name(n)], Expr::List(l)) => Some((n.id.to_string(), l)),
            _ => None,
        },
        _ => None,
    });
    let walks = |name: &str| {
        tick.is_some_and(|f| {
            let mut v = Names {
                attr: name,
                found: false,
            };
            v.visit_body(&f.body);
            v.found
        })
    };
    let Some((name, list)) = table.filter(|(n, _)| walks(n)) else {
        r.warn(
            c,
            format!(
                "LoadTestShape {}: its tick() computes in Python rather than walking a literal table: not converted, use --stages",
                c.name
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    let (mut t, mut users) = (0.0f64, 0.0f64);
    for row in &list.elts {
        let Expr::Dict(d) = row else {
            r.warn(
                row,
                format!("{name}: a row that is not a dict literal: the shape is not converted"),
            );
            return None;
        };
        let get = |k: &str| {
            d.items
                .iter()
                .find(|i| i.key.as_ref().and_then(string).as_deref() == Some(k))
                .and_then(|i| number(&i.value))
        };
        let (Some(end), Some(target)) = (get("duration"), get("users")) else {
            r.warn(
                row,
                format!(
                    "{name}: a row without numeric duration and users: the shape is not converted"
                ),
            );
            return None;
        };
        let rate = get("spawn_rate").filter(|r| *r > 0.0);
        let len = end - t;
        if len <= 0.0 {
            continue;
        }
        let ramp = rate.map_or(0.0, |s| (target - users).abs() / s);
        if ramp >= len {
            let reached = users + (target - users).signum() * rate.unwrap_or(0.0) * len;
            out.push(format!("{}:{}u", secs(len), reached.round()));
            users = reached;
        } else {
            if ramp > 0.0 {
                out.push(format!("{}:{}u", secs(ramp), target));
            } else if target != users {
                // At once: a step is a ramp over no time, then the hold.
                out.push(format!("0s:{target}u"));
            }
            out.push(format!("{}:{target}u", secs(len - ramp)));
            users = target;
        }
        t = end;
    }
    if out.is_empty() {
        r.warn(
            c,
            format!("LoadTestShape {}: an empty table: not converted", c.name),
        );
        return None;
    }
    Some(out.join(","))
}

/// Whether a body reads `self.<attr>`.
struct Names<'n> {
    attr: &'n str,
    found: bool,
}

impl<'a> Visitor<'a> for Names<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Attribute(a) = expr
            && a.attr.as_str() == self.attr
        {
            self.found = true;
        }
        visitor::walk_expr(self, expr);
    }
}

/// Seconds as a duration the stages read: whole seconds, else milliseconds.
fn secs(s: f64) -> String {
    if s.fract() == 0.0 {
        format!("{}s", s as u64)
    } else {
        format!("{}ms", (s * 1000.0).round() as u64)
    }
}
