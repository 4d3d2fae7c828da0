//! The names a set's tasks may use (module constants, class attributes, constant or drawn
//! `self.x` of on_start, helper methods) and a task's receiver read as `self`.

use std::collections::{HashMap, HashSet};

use rustpython_ruff_python_ast::visitor::transformer::{Transformer, walk_expr};
use rustpython_ruff_python_ast::{self as ast, Expr, Stmt};

use super::expand::{Scope, draws, is_request, reads};
use super::value::{self, dotted, number};

/// The names a set's tasks may use: the module's constants, the class's attributes and the
/// constant `self.x` that `on_start` sets, and the helper methods (receivers read as `self`).
pub(super) fn scope(constants: &HashMap<String, Expr>, chain: &[&ast::StmtClassDef]) -> Scope {
    const KNOWN: [&str; 11] = [
        "host",
        "weight",
        "fixed_count",
        "wait_time",
        "min_wait",
        "max_wait",
        "tasks",
        "task_set",
        "abstract",
        "network_timeout",
        "connection_timeout",
    ];
    let mut s = Scope {
        constants: constants.clone(),
        ..Scope::default()
    };
    for def in chain {
        for stmt in &def.body {
            match stmt {
                Stmt::Assign(a) if a.targets.len() == 1 => {
                    if let Expr::Name(n) = &a.targets[0]
                        && !KNOWN.contains(&n.id.as_str())
                    {
                        s.attributes.insert(n.id.to_string(), (*a.value).clone());
                    }
                }
                Stmt::FunctionDef(f) if f.name.as_str() == "on_start" => {
                    let bound = bound_names(&f.body);
                    for stmt in &f.body {
                        let Stmt::Assign(a) = stmt else { continue };
                        let ([target], value) = (&a.targets[..], &*a.value) else {
                            continue;
                        };
                        let Some(x) = value::self_attr(target) else {
                            continue;
                        };
                        if is_request(value) || reads(value, &bound) {
                            continue;
                        }
                        if draws(value) && value::template(value).is_ok() {
                            // Drawn once per user: a variable the user sets when it starts.
                            s.user_sets.push((x.to_string(), value.clone()));
                        } else {
                            s.attributes.insert(x.to_string(), value.clone());
                        }
                    }
                }
                Stmt::FunctionDef(f)
                    if f.name.as_str() != "on_stop"
                        && task_weight(f).is_none()
                        && f.parameters.args.len() == 1 =>
                {
                    s.helpers.insert(f.name.to_string(), receiver(f, false));
                }
                _ => {}
            }
        }
    }
    s
}

/// Names a body binds (`x = ...`, `with ... as x`): values that are the body's own.
fn bound_names(body: &[Stmt]) -> HashSet<String> {
    let mut out = HashSet::new();
    for stmt in body {
        match stmt {
            Stmt::Assign(a) => out.extend(a.targets.iter().filter_map(|t| match t {
                Expr::Name(n) => Some(n.id.to_string()),
                _ => None,
            })),
            Stmt::With(w) => {
                out.extend(
                    w.items
                        .iter()
                        .filter_map(|i| match i.optional_vars.as_deref() {
                            Some(Expr::Name(n)) => Some(n.id.to_string()),
                            _ => None,
                        }),
                )
            }
            _ => {}
        }
    }
    out
}

/// A task's body with its receiver read as the user: a module function's first parameter, and
/// a TaskSet's `self.user`, `self.parent` and (pre-1.0) `self.locust`, all become `self`.
pub(super) fn receiver(f: &ast::StmtFunctionDef, module_level: bool) -> Vec<Stmt> {
    let name = if module_level {
        f.parameters
            .args
            .first()
            .map(|p| p.parameter.name.to_string())
            .unwrap_or_else(|| "self".into())
    } else {
        "self".into()
    };
    let t = Receiver { name };
    let mut body = f.body.clone();
    for s in body.iter_mut() {
        t.visit_stmt(s);
    }
    body
}

struct Receiver {
    name: String,
}

impl Transformer for Receiver {
    fn visit_expr(&self, expr: &mut Expr) {
        walk_expr(self, expr);
        match expr {
            Expr::Name(n) if n.id.as_str() == self.name => n.id = "self".into(),
            Expr::Attribute(a)
                if matches!(a.attr.as_str(), "user" | "parent" | "locust")
                    && matches!(&*a.value, Expr::Name(n) if n.id.as_str() == "self") =>
            {
                *expr = (*a.value).clone();
            }
            _ => {}
        }
    }
}

/// `@task` → 1, `@task(N)` → N; None when the method is not a task.
pub(super) fn task_weight(f: &ast::StmtFunctionDef) -> Option<u32> {
    f.decorator_list.iter().find_map(|d| match &d.expression {
        Expr::Name(n) if n.id.as_str() == "task" => Some(1),
        Expr::Attribute(a) if a.attr.as_str() == "task" => Some(1),
        Expr::Call(c) if matches!(dotted(&c.func).as_deref(), Some("task" | "locust.task")) => {
            Some(
                c.arguments
                    .args
                    .first()
                    .and_then(number)
                    .unwrap_or(1.0)
                    .max(1.0) as u32,
            )
        }
        _ => None,
    })
}
