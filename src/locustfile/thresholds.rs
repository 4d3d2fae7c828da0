//! A quitting listener that sets `environment.process_exit_code` when the run's totals miss
//! their targets (Locust's documented pattern), as the scenario's `assert` lines.

use rustpython_ruff_python_ast::{self as ast, CmpOp, Expr, Stmt};

use super::value::{dotted, number};

/// Whether a module function is a listener this reads: `@events.quitting.add_listener` or
/// `@events.test_stop.add_listener`.
pub fn is_listener(f: &ast::StmtFunctionDef) -> bool {
    f.decorator_list.iter().any(|d| {
        dotted(&d.expression).is_some_and(|n| {
            n.ends_with("quitting.add_listener") || n.ends_with("test_stop.add_listener")
        })
    })
}

/// The assertions a listener's if/elif chain encodes: each branch that sets a non-zero exit
/// code on `stats.total.<metric> <op> <number>` fails the run, so its opposite must hold.
pub fn asserts(f: &ast::StmtFunctionDef) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for stmt in &f.body {
        match stmt {
            Stmt::If(i) => {
                let mut branches = vec![(Some(&*i.test), &i.body)];
                branches.extend(
                    i.elif_else_clauses
                        .iter()
                        .map(|c| (c.test.as_ref(), &c.body)),
                );
                for (test, body) in branches {
                    match (test, exit_code(body)) {
                        (Some(t), Some(code)) if code != 0 => {
                            for part in disjuncts(t) {
                                out.push(opposite(part)?);
                            }
                        }
                        (_, Some(_)) | (_, None) => {}
                    }
                }
            }
            Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_)) => {}
            _ => return Err("a listener with logic other than if/elif on the totals".into()),
        }
    }
    if out.is_empty() {
        return Err("a listener that sets no exit code on the totals".into());
    }
    Ok(out)
}

/// `a or b`: its parts; anything else: itself.
fn disjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::BoolOp(b) if b.op == ast::BoolOp::Or => b.values.iter().flat_map(disjuncts).collect(),
        other => vec![other],
    }
}

/// The exit code a branch sets (`environment.process_exit_code = N`), if it sets one.
fn exit_code(body: &[Stmt]) -> Option<i64> {
    body.iter().find_map(|s| match s {
        Stmt::Assign(a)
            if a.targets.len() == 1
                && dotted(&a.targets[0]).is_some_and(|t| t.ends_with(".process_exit_code")) =>
        {
            number(&a.value).map(|n| n as i64)
        }
        _ => None,
    })
}

/// The assertion that holds when `stats.total.<metric> <op> <number>` does not.
fn opposite(test: &Expr) -> Result<String, String> {
    let Expr::Compare(c) = test else {
        return Err("a condition other than a comparison of a total".into());
    };
    let [op] = &c.ops[..] else {
        return Err("a chained comparison".into());
    };
    let value = number(&c.comparators[0]).ok_or("a total compared with something not a number")?;
    let metric = metric(&c.left)?;
    let not = match op {
        CmpOp::Gt => "<=",
        CmpOp::GtE => "<",
        CmpOp::Lt => ">=",
        CmpOp::LtE => ">",
        _ => return Err("a comparison other than <, <=, > and >=".into()),
    };
    Ok(match metric {
        Total::FailRatio => {
            // Fails above a ratio: the successes must stay at or above its complement.
            let pct = (1.0 - value) * 100.0;
            let op = match not {
                "<=" => ">=",
                "<" => ">",
                other => return Err(format!("a fail ratio that must stay {other} a value")),
            };
            format!("success{op}{}%", trim(pct))
        }
        Total::Latency(name) => format!("{name}{not}{}ms", trim(value)),
        Total::Rps => format!("rps{not}{}", trim(value)),
    })
}

enum Total {
    FailRatio,
    /// An assertion metric in milliseconds: mean, max, p50, p95, ...
    Latency(String),
    Rps,
}

/// `environment.stats.total.<x>` (or `.get_response_time_percentile(q)`): the metric.
fn metric(e: &Expr) -> Result<Total, String> {
    let total = |x: &Expr| dotted(x).is_some_and(|d| d.ends_with("stats.total"));
    match e {
        Expr::Attribute(a) if total(&a.value) => match a.attr.as_str() {
            "fail_ratio" => Ok(Total::FailRatio),
            "avg_response_time" => Ok(Total::Latency("mean".into())),
            "median_response_time" => Ok(Total::Latency("p50".into())),
            "max_response_time" => Ok(Total::Latency("max".into())),
            "total_rps" => Ok(Total::Rps),
            other => Err(format!("stats.total.{other} has no ringblast assertion")),
        },
        Expr::Call(c) => {
            let Expr::Attribute(a) = &*c.func else {
                return Err("a call other than get_response_time_percentile".into());
            };
            let q = c.arguments.args.first().and_then(number);
            match (a.attr.as_str(), q) {
                ("get_response_time_percentile", Some(q))
                    if total(&a.value) && q > 0.0 && q <= 1.0 =>
                {
                    Ok(Total::Latency(format!("p{}", trim(q * 100.0))))
                }
                _ => Err("a call other than stats.total.get_response_time_percentile(q)".into()),
            }
        }
        _ => Err("a condition on something other than environment.stats.total".into()),
    }
}

/// A number without a needless fraction (`99`, `99.5`).
fn trim(v: f64) -> String {
    let r = (v * 1000.0).round() / 1000.0;
    if r.fract() == 0.0 {
        format!("{}", r as i64)
    } else {
        format!("{r}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listener(src: &str) -> ast::StmtFunctionDef {
        let m = rustpython_ruff_python_parser::parse_module(src)
            .unwrap()
            .into_syntax();
        match m.body.into_iter().next().unwrap() {
            Stmt::FunctionDef(f) => f,
            _ => panic!("not a function"),
        }
    }

    #[test]
    fn the_documented_exit_code_listener_becomes_assertions() {
        let f = listener(
            r#"
@events.quitting.add_listener
def _(environment, **kw):
    if environment.stats.total.fail_ratio > 0.01:
        logging.error("Test failed due to failure ratio > 1%")
        environment.process_exit_code = 1
    elif environment.stats.total.avg_response_time > 200:
        environment.process_exit_code = 1
    elif environment.stats.total.get_response_time_percentile(0.95) > 800 or environment.stats.total.total_rps < 50:
        environment.process_exit_code = 1
    else:
        environment.process_exit_code = 0
"#,
        );
        assert!(is_listener(&f));
        assert_eq!(
            asserts(&f).unwrap(),
            vec!["success>=99%", "mean<=200ms", "p95<=800ms", "rps>=50"]
        );
        for s in asserts(&f).unwrap() {
            crate::assertions::parse(&s).unwrap();
        }
        let other =
            listener("@events.quitting.add_listener\ndef _(environment, **kw):\n    print(1)\n");
        assert!(asserts(&other).is_err());
    }
}
