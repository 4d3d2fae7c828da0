//! A task's Python made plain before it is read: locals and constants substituted where they are
//! used, `self.helper()` calls inlined, loops over literal ranges unrolled, docstrings dropped.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use rustpython_ruff_python_ast::visitor::transformer::{Transformer, walk_expr};
use rustpython_ruff_python_ast::visitor::{self, Visitor};
use rustpython_ruff_python_ast::{Expr, Stmt};

use super::read::Reader;
use super::value::{dotted, number, self_attr};

/// Iterations a loop may have to be unrolled.
const MAX_UNROLL: usize = 100;
/// Helpers calling helpers deeper than this are left alone.
const MAX_INLINE: usize = 4;

/// What the names of a task's body may stand for: the module's constants, the user's constant
/// attributes (`self.x`), and its helper methods.
#[derive(Default)]
pub struct Scope {
    pub constants: HashMap<String, Expr>,
    pub attributes: HashMap<String, Expr>,
    /// Helper methods' bodies, receivers already read as `self`.
    pub helpers: HashMap<String, Vec<Stmt>>,
    /// `self.x` that on_start draws once per user: variables the class sets (`set`).
    pub user_sets: Vec<(String, Expr)>,
}

/// A task's statements made plain, and the locals it draws once and uses more than once: the
/// variables its first request sets (`set`), for all of its requests to see the same value.
pub struct Expanded {
    pub body: Vec<Stmt>,
    pub sets: Vec<(String, Expr)>,
}

/// The body with what `scope` and its own assignments define substituted, helpers inlined and
/// literal loops unrolled. A value drawn at random and used twice warns: each use draws anew.
pub fn expand(r: &mut Reader, scope: &Scope, body: &[Stmt]) -> Expanded {
    let mut locals = scope.constants.clone();
    let mut out = Vec::new();
    let uses = RefCell::new(HashMap::new());
    let mut responses = HashSet::new();
    let mut sets = Vec::new();
    let mut names = Names::default();
    for s in body {
        names.visit_stmt(s);
    }
    let mut ctx = Walk {
        scope,
        locals: &mut locals,
        responses: &mut responses,
        uses: &uses,
        sets: &mut sets,
        mentions: &names.0,
    };
    ctx.walk(body, &mut out, 0);
    let mut twice: Vec<String> = uses
        .into_inner()
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, _)| name)
        .collect();
    twice.sort();
    if let (Some(first), false) = (body.first(), twice.is_empty()) {
        r.warn(
            first,
            format!(
                "{} is drawn once in Python but anew at each of its uses here",
                twice.join(", ")
            ),
        );
    }
    Expanded { body: out, sets }
}

/// How often each name is read in a body, as written.
#[derive(Default)]
struct Names(HashMap<String, usize>);

impl<'a> Visitor<'a> for Names {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr
            && n.ctx.is_load()
        {
            *self.0.entry(n.id.to_string()).or_insert(0) += 1;
        }
        visitor::walk_expr(self, expr);
    }
}

/// The walk's state: what names stand for, and which name a response.
struct Walk<'w> {
    scope: &'w Scope,
    locals: &'w mut HashMap<String, Expr>,
    responses: &'w mut HashSet<String>,
    uses: &'w RefCell<HashMap<String, usize>>,
    /// Locals drawn once and read more than once: set as variables.
    sets: &'w mut Vec<(String, Expr)>,
    mentions: &'w HashMap<String, usize>,
}

impl Walk<'_> {
    fn walk(&mut self, body: &[Stmt], out: &mut Vec<Stmt>, depth: usize) {
        for stmt in body {
            let mut stmt = stmt.clone();
            let sub = Substitute {
                locals: self.locals,
                attributes: &self.scope.attributes,
                uses: self.uses,
            };
            match &mut stmt {
                // Docstrings, and output that only the Python process sees.
                Stmt::Expr(e) if matches!(&*e.value, Expr::StringLiteral(_)) => continue,
                Stmt::Expr(e) if is_output(&e.value) => continue,
                Stmt::Expr(e) => {
                    if let Some(helper) = helper_call(self.scope, &e.value)
                        && depth < MAX_INLINE
                    {
                        self.walk(helper, out, depth + 1);
                        continue;
                    }
                    sub.visit_expr(&mut e.value);
                }
                // A constant attribute is substituted where it is used.
                Stmt::Assign(a)
                    if a.targets.len() == 1
                        && self_attr(&a.targets[0]).is_some_and(|x| {
                            self.scope.attributes.contains_key(x)
                                || self.scope.user_sets.iter().any(|(n, _)| n == x)
                        }) =>
                {
                    continue;
                }
                Stmt::Assign(a) if a.targets.len() == 1 => {
                    sub.visit_expr(&mut a.value);
                    if let Expr::Name(n) = &a.targets[0] {
                        let name = n.id.to_string();
                        if is_request(&a.value) || reads(&a.value, self.responses) {
                            // A response, or a value read from one: the reader's to handle.
                            self.locals.remove(&name);
                            self.responses.insert(name);
                        } else {
                            self.responses.remove(&name);
                            let reads = self.mentions.get(&name).copied().unwrap_or(0);
                            if draws(&a.value)
                                && reads > 1
                                && super::value::template(&a.value).is_ok()
                            {
                                // Drawn once, read twice: a variable, the same at each read.
                                if let Ok(p) = rustpython_ruff_python_parser::parse_expression(
                                    &format!("self.{name}"),
                                ) {
                                    self.sets.retain(|(n, _)| *n != name);
                                    self.sets.push((name.clone(), (*a.value).clone()));
                                    self.locals.insert(name, *p.into_syntax().body);
                                    continue;
                                }
                            }
                            self.locals.insert(name, (*a.value).clone());
                            continue;
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(v)) = (&*a.target, &mut a.value) {
                        sub.visit_expr(v);
                        if !is_request(v) {
                            self.locals.insert(n.id.to_string(), (**v).clone());
                            continue;
                        }
                    }
                }
                Stmt::For(f) if f.orelse.is_empty() => {
                    if let (Expr::Name(n), Some(values)) = (&*f.target, literal_items(&f.iter)) {
                        let name = n.id.to_string();
                        for v in values {
                            self.locals.insert(name.clone(), v);
                            self.walk(&f.body, out, depth);
                        }
                        self.locals.remove(&name);
                        continue;
                    }
                }
                Stmt::With(w) => {
                    for item in w.items.iter_mut() {
                        sub.visit_expr(&mut item.context_expr);
                    }
                    for item in &w.items {
                        if let Some(Expr::Name(n)) = item.optional_vars.as_deref() {
                            self.responses.insert(n.id.to_string());
                            self.locals.remove(n.id.as_str());
                        }
                    }
                    // The block's own statements (its checks) are read with the request.
                    let mut inner = Vec::new();
                    self.walk(&w.body, &mut inner, depth);
                    w.body = inner;
                }
                _ => {}
            }
            out.push(stmt);
        }
    }
}

/// `print(...)`, `logging.x(...)`, `logger.x(...)`, `log.x(...)`.
fn is_output(e: &Expr) -> bool {
    let Expr::Call(c) = e else { return false };
    dotted(&c.func).is_some_and(|d| {
        d == "print"
            || ["logging.", "logger.", "log.", "self.logger.", "self.log."]
                .iter()
                .any(|p| d.starts_with(p))
    })
}

/// `self.client.VERB(...)` (or `.request`), possibly under `with`.
pub fn is_request(e: &Expr) -> bool {
    let Expr::Call(c) = e else { return false };
    dotted(&c.func).is_some_and(|d| d.starts_with("self.client."))
}

/// Whether an expression reads one of `names` (a response, or a value read from one).
pub(super) fn reads(e: &Expr, names: &HashSet<String>) -> bool {
    any_expr(
        e,
        |x| matches!(x, Expr::Name(n) if names.contains(n.id.as_str())),
    )
}

/// Whether `e` or any expression within it satisfies `pred`.
fn any_expr(e: &Expr, pred: impl Fn(&Expr) -> bool) -> bool {
    struct Any<F> {
        pred: F,
        found: bool,
    }
    impl<'a, F: Fn(&Expr) -> bool> Visitor<'a> for Any<F> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if !self.found {
                self.found = (self.pred)(expr);
                visitor::walk_expr(self, expr);
            }
        }
    }
    let mut v = Any { pred, found: false };
    v.visit_expr(e);
    v.found
}

/// `self.name()` of a helper method of the class: the body to inline.
fn helper_call<'s>(scope: &'s Scope, e: &Expr) -> Option<&'s Vec<Stmt>> {
    let Expr::Call(c) = e else { return None };
    if !c.arguments.args.is_empty() || !c.arguments.keywords.is_empty() {
        return None;
    }
    let name = self_attr(&c.func)?;
    scope.helpers.get(name)
}

/// The values a loop walks: `range(n)`, `range(a, b)` or a literal list or tuple, when small.
fn literal_items(e: &Expr) -> Option<Vec<Expr>> {
    let items = match e {
        Expr::List(l) => l.elts.clone(),
        Expr::Tuple(t) => t.elts.clone(),
        Expr::Call(c) if dotted(&c.func).as_deref() == Some("range") => {
            let args: Vec<i64> = c
                .arguments
                .args
                .iter()
                .map(|a| number(a).filter(|n| n.fract() == 0.0).map(|n| n as i64))
                .collect::<Option<_>>()?;
            let (lo, hi) = match args[..] {
                [hi] => (0, hi),
                [lo, hi] => (lo, hi),
                _ => return None,
            };
            if hi - lo > MAX_UNROLL as i64 {
                return None;
            }
            (lo..hi)
                .map(|i| {
                    rustpython_ruff_python_parser::parse_expression(&i.to_string())
                        .ok()
                        .map(|p| *p.into_syntax().body)
                })
                .collect::<Option<_>>()?
        }
        _ => return None,
    };
    (items.len() <= MAX_UNROLL).then_some(items)
}

/// Replaces names bound in the task (and the module's constants) and constant `self.x` by
/// their values, counting the uses of values drawn at random.
struct Substitute<'s> {
    locals: &'s HashMap<String, Expr>,
    attributes: &'s HashMap<String, Expr>,
    uses: &'s RefCell<HashMap<String, usize>>,
}

impl Transformer for Substitute<'_> {
    fn visit_expr(&self, expr: &mut Expr) {
        let found = match &*expr {
            Expr::Name(n) => self
                .locals
                .get(n.id.as_str())
                .map(|v| (n.id.to_string(), v)),
            e => {
                self_attr(e).and_then(|a| self.attributes.get(a).map(|v| (format!("self.{a}"), v)))
            }
        };
        if let Some((name, value)) = found {
            if draws(value) {
                *self.uses.borrow_mut().entry(name).or_insert(0) += 1;
            }
            *expr = value.clone();
            return;
        }
        walk_expr(self, expr);
    }
}

/// Whether an expression calls something (a generator, most often).
pub fn draws(e: &Expr) -> bool {
    any_expr(e, |x| matches!(x, Expr::Call(_)))
}
