//! `with self.client.get(..., catch_response=True) as r:` blocks whose `r.success()` and
//! `r.failure()` depend on `r.status_code` and the body: success statuses and body checks.

use rustpython_ruff_python_ast::{self as ast, CmpOp, Expr, Stmt};

use super::catch_body::{self, Check};
use super::value::{dotted, number};

/// What a branch does to the statuses it matches.
#[derive(Clone, Copy)]
enum Mark {
    Success,
    Failure,
}

/// The statuses that count as success and what the body must hold, or why it does not map.
pub fn caught(var: &str, body: &[Stmt]) -> Result<(Vec<u16>, Check), String> {
    // Start from Locust's rule: 2xx and 3xx succeed.
    let mut ok: Vec<bool> = (0..1000u16).map(|s| (200..400).contains(&s)).collect();
    let mut check = Check::default();
    for stmt in body {
        match stmt {
            Stmt::If(i)
                if catch_body::reads_body(var, &i.test)
                    || i.elif_else_clauses.iter().any(|c| {
                        c.test
                            .as_ref()
                            .is_some_and(|t| catch_body::reads_body(var, t))
                    }) =>
            {
                body_if(var, i, &mut ok, &mut check)?;
            }
            Stmt::If(i) => {
                let mut taken = vec![false; 1000];
                let mut branches = vec![(Some(&*i.test), &i.body)];
                branches.extend(
                    i.elif_else_clauses
                        .iter()
                        .map(|c| (c.test.as_ref(), &c.body)),
                );
                for (test, body) in branches {
                    let mark = action(var, body)?;
                    for s in 100..1000u16 {
                        let hit = match test {
                            Some(t) => matches(var, t, s)?,
                            None => true,
                        };
                        if hit && !taken[usize::from(s)] {
                            taken[usize::from(s)] = true;
                            if let Some(m) = mark {
                                ok[usize::from(s)] = matches!(m, Mark::Success);
                            }
                        }
                    }
                }
            }
            other => {
                if let Some(m) = action(var, std::slice::from_ref(other))? {
                    let success = matches!(m, Mark::Success);
                    ok.iter_mut().skip(100).for_each(|o| *o = success);
                }
            }
        }
    }
    Ok((
        (100..1000u16).filter(|&s| ok[usize::from(s)]).collect(),
        check,
    ))
}

/// An `if` on the body, in the three forms that map:
/// - `if A or B: r.failure()`: each status test fails its statuses, each body test must not hold;
/// - `if A and B: r.success() else: r.failure()`: the statuses tested, and the body tests, hold;
/// - `if A or B: r.failure() else: r.success()`: none of them holds, whatever the status.
fn body_if(var: &str, i: &ast::StmtIf, ok: &mut [bool], check: &mut Check) -> Result<(), String> {
    let form = match &i.elif_else_clauses[..] {
        [] => (action(var, &i.body)?, None),
        [e] if e.test.is_none() => (action(var, &i.body)?, action(var, &e.body)?),
        _ => return Err("an elif on the body".into()),
    };
    let parts = |op: ast::BoolOp| -> Vec<&Expr> {
        match &*i.test {
            Expr::BoolOp(b) if b.op == op => b.values.iter().collect(),
            t => vec![t],
        }
    };
    match form {
        (Some(Mark::Failure), None) | (Some(Mark::Failure), Some(Mark::Success)) => {
            let overrides = form.1.is_some();
            if overrides {
                // The else makes any status a success: only the tests decide.
                ok.iter_mut().skip(100).for_each(|o| *o = true);
            }
            for t in parts(ast::BoolOp::Or) {
                if catch_body::reads_body(var, t) {
                    check.require(catch_body::cond(var, t)?, false)?;
                } else {
                    for s in 100..1000u16 {
                        if matches(var, t, s)? {
                            ok[usize::from(s)] = false;
                        }
                    }
                }
            }
        }
        (Some(Mark::Success), Some(Mark::Failure)) => {
            let mut statuses: Vec<bool> = vec![true; 1000];
            for t in parts(ast::BoolOp::And) {
                if catch_body::reads_body(var, t) {
                    check.require(catch_body::cond(var, t)?, true)?;
                } else {
                    for s in 100..1000u16 {
                        statuses[usize::from(s)] &= matches(var, t, s)?;
                    }
                }
            }
            ok.copy_from_slice(&statuses);
        }
        _ => return Err("a test on the body whose branches are not r.failure() (else r.success()) or r.success() else r.failure()".into()),
    }
    Ok(())
}

/// A branch's body: `r.success()`, `r.failure(...)` (optionally with `pass`/`return`), or nothing.
fn action(var: &str, body: &[Stmt]) -> Result<Option<Mark>, String> {
    let mut mark = None;
    for stmt in body {
        match stmt {
            Stmt::Pass(_) | Stmt::Return(_) => {}
            Stmt::Expr(e) => {
                let Expr::Call(c) = &*e.value else {
                    return Err("a statement other than r.success()/r.failure()".into());
                };
                mark = Some(match dotted(&c.func).as_deref() {
                    Some(f) if f == format!("{var}.success") => Mark::Success,
                    Some(f) if f == format!("{var}.failure") => Mark::Failure,
                    _ => return Err("a call other than r.success()/r.failure()".into()),
                });
            }
            _ => return Err("logic other than a check of r.status_code".into()),
        }
    }
    Ok(mark)
}

/// Whether a test on `var.status_code` holds for status `s`.
fn matches(var: &str, test: &Expr, s: u16) -> Result<bool, String> {
    match test {
        Expr::Compare(c) if c.ops.len() == 1 => {
            if dotted(&c.left).as_deref() != Some(&format!("{var}.status_code")) {
                return Err("a condition on something other than r.status_code".into());
            }
            let right = &c.comparators[0];
            let codes: Vec<f64> = match right {
                Expr::Tuple(t) => t.elts.iter().filter_map(number).collect(),
                Expr::List(l) => l.elts.iter().filter_map(number).collect(),
                Expr::Set(l) => l.elts.iter().filter_map(number).collect(),
                e => number(e).into_iter().collect(),
            };
            if codes.is_empty() {
                return Err("a status compared with something other than numbers".into());
            }
            let v = f64::from(s);
            Ok(match c.ops[0] {
                CmpOp::Eq | CmpOp::In => codes.contains(&v),
                CmpOp::NotEq | CmpOp::NotIn => !codes.contains(&v),
                CmpOp::Lt => v < codes[0],
                CmpOp::LtE => v <= codes[0],
                CmpOp::Gt => v > codes[0],
                CmpOp::GtE => v >= codes[0],
                _ => return Err("a comparison other than ==, !=, in, <, >".into()),
            })
        }
        Expr::BoolOp(b) => {
            let mut results = Vec::new();
            for v in &b.values {
                results.push(matches(var, v, s)?);
            }
            Ok(match b.op {
                ast::BoolOp::And => results.iter().all(|x| *x),
                ast::BoolOp::Or => results.iter().any(|x| *x),
            })
        }
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::Not) => Ok(!matches(var, &u.operand, s)?),
        _ => Err("a condition other than a check of r.status_code".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(src: &str) -> Vec<Stmt> {
        rustpython_ruff_python_parser::parse_module(src)
            .unwrap()
            .into_syntax()
            .body
    }

    #[test]
    fn first_matching_branch_decides_and_later_ifs_override() {
        let ok = |src: &str| caught("r", &body(src)).unwrap().0;
        let default: Vec<u16> = (200..400).collect();
        assert_eq!(ok("pass"), default);
        let with_404 = ok("if r.status_code == 404:\n    r.success()\n");
        assert!(with_404.contains(&404) && with_404.contains(&200) && !with_404.contains(&500));
        assert_eq!(
            ok("if r.status_code != 200:\n    r.failure('x')\n"),
            vec![200]
        );
        assert_eq!(
            ok("if r.status_code in (200, 201):\n    r.success()\nelse:\n    r.failure('x')\n"),
            vec![200, 201]
        );
        let ranged = ok(
            "if r.status_code >= 500 or r.status_code == 429:\n    r.failure('x')\nelif r.status_code == 404:\n    r.success()\n",
        );
        assert!(
            ranged.contains(&404)
                && !ranged.contains(&429)
                && !ranged.contains(&503)
                && ranged.contains(&204)
        );
        assert!(caught("r", &body("if r.elapsed > 1:\n    r.failure('slow')\n")).is_err());
        assert!(caught("r", &body("print(r.text)\n")).is_err());
    }

    #[test]
    fn tests_on_the_body_become_checks() {
        let c = |src: &str| caught("r", &body(src));
        let (ok, check) =
            c("if r.status_code != 200 or 'error' in r.text:\n    r.failure('x')\n").unwrap();
        assert_eq!(ok, vec![200]);
        assert_eq!(check.lacks, vec!["error".to_string()]);
        let (ok, check) =
            c("if r.json()['status'] == 'ok':\n    r.success()\nelse:\n    r.failure('x')\n")
                .unwrap();
        assert_eq!(
            ok.len(),
            900,
            "success whatever the status, when the body says so"
        );
        assert_eq!(check.json, vec![("/status".into(), "ok".into())]);
        let (ok, check) = c("if r.text != 'Success':\n    r.failure('x')\n").unwrap();
        assert_eq!(ok, (200..400).collect::<Vec<u16>>());
        assert_eq!(check.is.as_deref(), Some("Success"));
        assert!(c("if 'a' in r.text and 'b' in r.text:\n    r.failure('x')\n").is_err());
        assert!(c("if 'a' in r.text:\n    r.success()\n").is_err());
    }
}
