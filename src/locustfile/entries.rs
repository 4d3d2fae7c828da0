//! A set's task entries: a task method or module function read into its requests (one ordered
//! group, with the values it draws), and the `tasks = [...]`/`{...}` and `@tag` it is listed by.

use rustpython_ruff_python_ast::{self as ast, Expr};

use super::body::read_body;
use super::expand::{Scope, expand};
use super::read::Reader;
use super::scope::receiver;
use super::tasks::{Content, Entry};
use super::value::{self, dotted, number, string};

/// What a task of a set is read with: the names it may use, the headers set on the client so
/// far, and the set's tags.
pub(super) struct Ctx<'c> {
    pub(super) scope: &'c Scope,
    pub(super) client_headers: &'c [(String, String)],
    pub(super) tags: &'c [String],
}

/// A task method of `owner` (None: a module function) as an entry: its requests, and whether
/// it interrupts.
pub(super) fn method_entry(
    r: &mut Reader,
    ctx: &Ctx,
    f: &ast::StmtFunctionDef,
    weight: u32,
    owner: Option<&str>,
) -> Entry {
    let x = expand(r, ctx.scope, &receiver(f, owner.is_none()));
    let mut interrupts = false;
    let mut ignored = ctx.client_headers.to_vec();
    let label = owner.map_or_else(|| f.name.to_string(), |o| format!("{o}.{}", f.name));
    let mut reqs = read_body(r, &x.body, weight, &mut ignored, &label, &mut interrupts);
    attach_sets(r, f, &mut reqs, x.sets);
    let mut own = ctx.tags.to_vec();
    own.extend(tags_of(&f.decorator_list));
    // A task that sends several requests sends them in order, one group picked by its weight.
    if reqs.len() > 1 {
        let rest = reqs.split_off(1);
        reqs[0].then = rest;
    }
    for q in reqs.iter_mut() {
        q.tags = own.clone();
    }
    if reqs.is_empty() && !interrupts {
        r.warn(
            f,
            format!(
                "task {} sends no request ringblast can convert: it is missing, its weight is not given to others",
                f.name
            ),
        );
    }
    Entry {
        content: Content::Requests(reqs),
        weight,
        interrupts,
        label: f.name.to_string(),
        line: r.lines.of(f),
    }
}

/// `tasks = [a, b]`, `[(a, 2)]` or `{a: 2, b: 1}`: each item with its count.
pub(super) fn task_list<'e>(r: &mut Reader, e: &'e Expr) -> Vec<(&'e Expr, u32)> {
    let count = |r: &mut Reader, n: &Expr| match number(n) {
        Some(v) if v >= 1.0 => v as u32,
        _ => {
            r.warn(n, "a task count that is not a whole number: 1 is used");
            1
        }
    };
    match e {
        Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => elts
            .iter()
            .map(|x| match x {
                Expr::Tuple(t) if t.elts.len() == 2 => (&t.elts[0], count(r, &t.elts[1])),
                other => (other, 1),
            })
            .collect(),
        Expr::Dict(d) => d
            .items
            .iter()
            .filter_map(|i| Some((i.key.as_ref()?, count(r, &i.value))))
            .collect(),
        Expr::Name(_) | Expr::Attribute(_) => vec![(e, 1)],
        other => {
            r.warn(other, "tasks is not a list or dict literal: left out");
            Vec::new()
        }
    }
}

/// `@tag("a", "b")`: the names given.
pub(super) fn tags_of(decorators: &[ast::Decorator]) -> Vec<String> {
    decorators
        .iter()
        .filter_map(|d| match &d.expression {
            Expr::Call(c) if matches!(dotted(&c.func).as_deref(), Some("tag" | "locust.tag")) => {
                Some(
                    c.arguments
                        .args
                        .iter()
                        .filter_map(string)
                        .collect::<Vec<_>>(),
                )
            }
            _ => None,
        })
        .flatten()
        .collect()
}

/// Values a task draws once and reads more than once, set by its first request (and seen by
/// all of them); one that does not convert warns.
pub(super) fn attach_sets(
    r: &mut Reader,
    f: &ast::StmtFunctionDef,
    reqs: &mut [super::Request],
    sets: Vec<(String, Expr)>,
) {
    for (name, e) in sets {
        match (value::template(&e), reqs.first_mut()) {
            (Ok(t), Some(q)) => q.sets.push((name, t)),
            (Ok(_), None) => {}
            (Err(why), _) => r.warn(f, format!("{name} is {why}: left out")),
        }
    }
}
