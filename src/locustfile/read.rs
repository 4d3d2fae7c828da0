//! The locustfile's AST walked into user classes: class attributes (host, weight, wait_time,
//! tasks), their task sets and module functions, and a LoadTestShape's table; the rest warns.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rustpython_ruff_python_ast::visitor::transformer::{Transformer, walk_expr};
use rustpython_ruff_python_ast::visitor::{self, Visitor};
use rustpython_ruff_python_ast::{self as ast, Expr, Stmt};
use rustpython_ruff_text_size::Ranged;

use super::body::read_body;
use super::expand::{Scope, draws, expand, is_request};
use super::tasks::{self, Content, Entry, Flat};
use super::thresholds;
use super::value::{self, dotted, number, string};
use super::{Class, Warning};
use crate::error::FileError;

const USER_BASES: [&str; 3] = ["HttpUser", "FastHttpUser", "HttpLocust"];
/// Deeper nesting than this is taken for a cycle of sets naming each other.
const MAX_DEPTH: usize = 8;

/// Byte offsets of line starts, for 1-based line numbers.
pub(super) struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let mut v = vec![0];
        v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self(v)
    }

    pub(super) fn of(&self, node: &impl Ranged) -> usize {
        let at = node.range().start().to_usize();
        self.0.partition_point(|&s| s <= at)
    }
}

pub(super) struct Reader {
    pub(super) lines: Lines,
    warnings: Vec<Warning>,
    /// The TaskSets some user class runs.
    used: HashSet<String>,
}

impl Reader {
    pub(super) fn warn(&mut self, node: &impl Ranged, text: impl Into<String>) {
        let line = self.lines.of(node);
        self.warnings.push(Warning {
            line,
            text: text.into(),
        });
    }
}

/// The module's classes and functions, which `tasks = [...]` and base classes name.
struct Module<'a> {
    classes: HashMap<&'a str, &'a ast::StmtClassDef>,
    functions: HashMap<&'a str, &'a ast::StmtFunctionDef>,
    /// Names bound at module level (`PAYLOAD = {...}`), substituted where tasks use them.
    constants: HashMap<String, Expr>,
}

impl<'a> Module<'a> {
    /// The class and its bases defined in this file, the furthest base first.
    fn chain(&self, c: &'a ast::StmtClassDef) -> Vec<&'a ast::StmtClassDef> {
        let mut out = vec![c];
        let mut cur = c;
        while out.len() < MAX_DEPTH {
            let Some(base) = bases(cur).iter().find_map(|b| self.classes.get(b.as_str())) else {
                break;
            };
            if out.iter().any(|c| std::ptr::eq(*c, *base)) {
                break;
            }
            out.push(base);
            cur = base;
        }
        out.reverse();
        out
    }

    /// The Locust base the class derives from (`HttpUser`, `SequentialTaskSet`, ...), through
    /// the file's own classes.
    fn root(&self, c: &'a ast::StmtClassDef) -> Option<String> {
        self.chain(c).iter().flat_map(|c| bases(c)).find_map(|b| {
            let last = b.rsplit('.').next().unwrap_or(&b).to_string();
            (USER_BASES.contains(&last.as_str())
                || last.ends_with("TaskSet")
                || last == "LoadTestShape"
                || last == "User")
                .then_some(last)
        })
    }
}

fn bases(c: &ast::StmtClassDef) -> Vec<String> {
    c.arguments
        .iter()
        .flat_map(|a| a.args.iter())
        .filter_map(dotted)
        .collect()
}

/// A set-or-user's converted tasks, what runs first, and its think time.
struct Set {
    flat: Flat,
    on_start: Vec<super::Request>,
    think: Option<String>,
    /// `self.x` drawn once per user in an on_start.
    user_sets: Vec<(String, Expr)>,
}

/// What a locustfile holds: its user classes, a LoadTestShape's stages, the targets of an
/// exit-code listener, and the warnings.
pub struct Read {
    pub classes: Vec<Class>,
    pub stages: Option<String>,
    pub asserts: Vec<String>,
    pub warnings: Vec<Warning>,
}

pub fn classes(text: &str, path: &Path) -> Result<Read, FileError> {
    let lines = Lines::new(text);
    let parsed = rustpython_ruff_python_parser::parse_module(text).map_err(|e| {
        let line = lines
            .0
            .partition_point(|&s| s <= e.location.start().to_usize());
        FileError::new(path, Some(line), format!("not valid Python: {}", e.error))
    })?;
    let mut r = Reader {
        lines,
        warnings: Vec::new(),
        used: HashSet::new(),
    };
    let body = &parsed.syntax().body;
    let mut m = Module {
        classes: HashMap::new(),
        functions: HashMap::new(),
        constants: HashMap::new(),
    };
    for stmt in body {
        match stmt {
            Stmt::Assign(a) if a.targets.len() == 1 => {
                if let Expr::Name(n) = &a.targets[0] {
                    m.constants.insert(n.id.to_string(), (*a.value).clone());
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(v)) = (&*a.target, &a.value) {
                    m.constants.insert(n.id.to_string(), (**v).clone());
                }
            }
            Stmt::ClassDef(c) => {
                m.classes.insert(c.name.as_str(), c);
            }
            Stmt::FunctionDef(f) => {
                m.functions.insert(f.name.as_str(), f);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    let mut stages = None;
    let mut asserts = Vec::new();
    for stmt in body {
        match stmt {
            Stmt::ClassDef(c) => match m.root(c).as_deref() {
                Some(b) if USER_BASES.contains(&b) => {
                    if is_abstract(c) {
                        continue;
                    }
                    if let Some(class) = read_class(&mut r, &m, c, b) {
                        out.push(class);
                    }
                }
                Some("User") => r.warn(
                    c,
                    format!(
                        "{}: a User that is not an HttpUser or FastHttpUser (another client) is not converted",
                        c.name
                    ),
                ),
                Some("LoadTestShape") => stages = shape(&mut r, c),
                _ => {}
            },
            Stmt::FunctionDef(f) if thresholds::is_listener(f) => match thresholds::asserts(f) {
                Ok(a) => asserts.extend(a),
                Err(why) => r.warn(
                    f,
                    format!("{}: {why}: not converted (write the targets with --assert)", f.name),
                ),
            },
            Stmt::FunctionDef(f) if !f.decorator_list.is_empty() => r.warn(
                f,
                format!(
                    "{}: event hooks are not converted (they run Python at run time)",
                    f.name
                ),
            ),
            Stmt::Expr(e) if matches!(&*e.value, Expr::Call(_)) => r.warn(
                e,
                "a call at module level is not converted (event listeners, setup code)",
            ),
            _ => {}
        }
    }
    for c in m.classes.values() {
        let set = m.root(c).is_some_and(|b| b.ends_with("TaskSet"));
        if set && !r.used.contains(c.name.as_str()) && !is_abstract(c) {
            r.warn(
                *c,
                format!(
                    "TaskSet {} is used by no user class: its tasks are not converted",
                    c.name
                ),
            );
        }
    }
    Ok(Read {
        classes: out,
        stages,
        asserts,
        warnings: r.warnings,
    })
}

fn is_abstract(c: &ast::StmtClassDef) -> bool {
    c.body.iter().any(|s| {
        matches!(s, Stmt::Assign(a) if matches!(&a.targets[..], [Expr::Name(n)] if n.id.as_str() == "abstract")
            && matches!(&*a.value, Expr::BooleanLiteral(b) if b.value))
    })
}

fn read_class(r: &mut Reader, m: &Module, c: &ast::StmtClassDef, base: &str) -> Option<Class> {
    let mut class = Class {
        name: c.name.to_string(),
        line: r.lines.of(c),
        weight: 1,
        ..Class::default()
    };
    if base == "HttpLocust" {
        r.warn(
            c,
            format!(
                "{}: HttpLocust is the pre-1.0 API (Locust itself no longer accepts it); converted as HttpUser",
                c.name
            ),
        );
    }
    let (mut min_wait, mut max_wait) = (None, None);
    for def in m.chain(c) {
        for stmt in &def.body {
            let Stmt::Assign(a) = stmt else { continue };
            let [Expr::Name(target)] = &a.targets[..] else {
                continue;
            };
            match target.id.as_str() {
                "host" => class.host = string(&a.value),
                "weight" => match number(&a.value) {
                    Some(w) if w >= 1.0 => class.weight = w as u32,
                    _ => r.warn(a, "weight is not a whole number: 1 is used"),
                },
                "fixed_count" => match number(&a.value) {
                    Some(n) if n >= 0.0 && n.fract() == 0.0 => class.fixed_count = Some(n as u64),
                    _ => r.warn(a, "fixed_count is not a whole number: left out"),
                },
                "wait_time" => class.think = wait_time(r, &a.value),
                "min_wait" => min_wait = number(&a.value),
                "max_wait" => max_wait = number(&a.value),
                "task_set" => r.warn(
                    a,
                    "task_set = is the pre-1.0 API (Locust itself no longer accepts it); converted as tasks = [...]",
                ),
                "network_timeout" | "connection_timeout" => {
                    r.warn(a, format!("{} is not converted", target.id.as_str()))
                }
                _ => {}
            }
        }
    }
    if let (Some(lo), Some(hi)) = (min_wait, max_wait) {
        class.think = Some(format!("{}ms..{}ms", lo as u64, hi.max(lo) as u64));
        r.warn(
            c,
            "min_wait/max_wait (ms) are the pre-1.0 API (Locust itself no longer accepts them); converted as between()",
        );
    }
    let mut client_headers = Vec::new();
    let set = read_set(r, m, c, false, 0, &mut client_headers, &[]);
    if class.think.is_none() {
        class.think = set.think;
    }
    class.on_start = set.on_start;
    for (name, e) in set.user_sets {
        match value::template(&e) {
            Ok(t) => class.sets.push((name, t)),
            Err(why) => r.warn(c, format!("self.{name} is {why}: left out")),
        }
    }
    let flat = set.flat;
    if flat.items.is_empty() {
        r.warn(
            c,
            format!(
                "user {}: no task could be converted, so the class is left out",
                c.name
            ),
        );
        return None;
    }
    class.sequence = flat.ordered && flat.items.len() > 1;
    let weights: Vec<f64> = flat.items.iter().map(|(_, n)| *n).collect();
    let whole = tasks::whole(&weights);
    class.tasks = flat
        .items
        .into_iter()
        .zip(whole)
        .map(|((mut q, _), w)| {
            q.weight = if class.sequence { 1 } else { w };
            q
        })
        .collect();
    // Absolute URLs go to the run's host: the same, when it is theirs.
    for q in class.tasks.iter().chain(&class.on_start) {
        if let Some(o) = &q.origin
            && class.host.as_deref().map(|h| h.trim_end_matches('/')) != Some(o.as_str())
        {
            r.warnings.push(Warning {
                line: q.line,
                text: format!(
                    "an absolute URL to {o}: its path is sent to the run's host ({})",
                    class.host.as_deref().unwrap_or("--host")
                ),
            });
        }
    }
    // Set on the client in on_start, after what on_start sends: on every task.
    for q in class.tasks.iter_mut() {
        for h in &client_headers {
            if !q.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(&h.0)) {
                q.headers.push(h.clone());
            }
        }
    }
    Some(class)
}

/// A user class or TaskSet (and its bases in this file) as a flattened set: `tasks = [...]`
/// or `{...}` first, then `@task` methods, as Locust's metaclass orders them.
fn read_set(
    r: &mut Reader,
    m: &Module,
    c: &ast::StmtClassDef,
    sequential: bool,
    depth: usize,
    client_headers: &mut Vec<(String, String)>,
    inherited_tags: &[String],
) -> Set {
    let chain = m.chain(c);
    let scope = scope(m, &chain);
    let mut tags = inherited_tags.to_vec();
    tags.extend(tags_of(&c.decorator_list));
    let mut entries = Vec::new();
    let mut on_start = Vec::new();
    let mut think = None;
    let mut user_sets = Vec::new();
    let methods: HashMap<&str, &ast::StmtFunctionDef> = chain
        .iter()
        .flat_map(|d| d.body.iter())
        .filter_map(|s| match s {
            Stmt::FunctionDef(f) => Some((f.name.as_str(), f)),
            _ => None,
        })
        .collect();
    for def in &chain {
        for stmt in &def.body {
            match stmt {
                Stmt::Assign(a) if assigns(a, &["tasks", "task_set"]) => {
                    for (item, weight) in task_list(r, &a.value) {
                        let label = dotted(item).unwrap_or_else(|| "?".into());
                        if let Some(f) = methods.get(label.as_str()) {
                            let ctx = Ctx {
                                scope: &scope,
                                client_headers,
                                tags: &tags,
                            };
                            entries.push(method_entry(r, &ctx, f, weight, Some(&c.name)));
                        } else if let Some(f) = m.functions.get(label.as_str()) {
                            let module = Scope {
                                constants: m.constants.clone(),
                                ..Scope::default()
                            };
                            let ctx = Ctx {
                                scope: &module,
                                client_headers,
                                tags: &tags,
                            };
                            entries.push(method_entry(r, &ctx, f, weight, None));
                        } else if let Some(sub) = m.classes.get(label.as_str())
                            && let Some(root) = m.root(sub).filter(|b| b.ends_with("TaskSet"))
                        {
                            if depth >= MAX_DEPTH {
                                r.warn(
                                    item,
                                    format!(
                                        "{label}: task sets nested too deep (a cycle?): left out"
                                    ),
                                );
                                continue;
                            }
                            r.used.insert(label.clone());
                            let seq = root == "SequentialTaskSet";
                            let set = read_set(r, m, sub, seq, depth + 1, client_headers, &tags);
                            if think.is_none() {
                                think = set.think;
                            }
                            on_start.extend(set.on_start);
                            user_sets.extend(set.user_sets);
                            entries.push(Entry {
                                content: Content::Set(set.flat),
                                weight,
                                interrupts: false,
                                label: format!("set {label}"),
                                line: r.lines.of(item),
                            });
                        } else {
                            r.warn(
                                item,
                                format!("tasks: {label} is not a method, function or TaskSet of this file: left out"),
                            );
                        }
                    }
                }
                Stmt::Assign(a) if depth > 0 && assigns(a, &["wait_time"]) => {
                    think = wait_time(r, &a.value);
                }
                _ => {}
            }
        }
    }
    let mut own_on_start = Vec::new();
    // As Python binds them: a name defined again (here or in a subclass) keeps its first
    // place and takes its last body.
    let mut defs: Vec<&ast::StmtFunctionDef> = Vec::new();
    for def in &chain {
        for stmt in &def.body {
            let Stmt::FunctionDef(f) = stmt else { continue };
            match defs.iter_mut().find(|d| d.name.as_str() == f.name.as_str()) {
                Some(d) => *d = f,
                None => defs.push(f),
            }
        }
    }
    {
        for f in defs {
            match f.name.as_str() {
                "on_start" => {
                    let x = expand(r, &scope, &receiver(f, false));
                    let mut stop = false;
                    own_on_start = read_body(r, &x.body, 1, client_headers, &c.name, &mut stop);
                    attach_sets(r, f, &mut own_on_start, x.sets);
                }
                "on_stop" => {
                    if !f.body.iter().all(|s| matches!(s, Stmt::Pass(_))) {
                        r.warn(f, "on_stop is not converted (it runs when a user stops)");
                    }
                }
                _ => {
                    if let Some(w) = task_weight(f) {
                        let ctx = Ctx {
                            scope: &scope,
                            client_headers,
                            tags: &tags,
                        };
                        entries.push(method_entry(r, &ctx, f, w, Some(&c.name)));
                    }
                }
            }
        }
    }
    let mut notes = Vec::new();
    let mut flat = if sequential {
        tasks::sequential(entries, &mut notes)
    } else {
        tasks::weighted(entries, &mut notes)
    };
    for (line, text) in notes {
        r.warnings.push(Warning { line, text });
    }
    if depth > 0 && !flat.absorbing {
        // Left and entered again: its on_start runs on every visit.
        let mut items: Vec<_> = own_on_start.into_iter().map(|q| (q, 1.0)).collect();
        items.append(&mut flat.items);
        flat.items = items;
    } else {
        own_on_start.append(&mut on_start);
        on_start = own_on_start;
    }
    user_sets.extend(scope.user_sets);
    Set {
        flat,
        on_start,
        think,
        user_sets,
    }
}

/// Values a task draws once and reads more than once, set by its first request (and seen by
/// all of them); one that does not convert warns.
fn attach_sets(
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

/// `NAME = ...` for one of `names`.
fn assigns(a: &ast::StmtAssign, names: &[&str]) -> bool {
    matches!(&a.targets[..], [Expr::Name(n)] if names.contains(&n.id.as_str()))
}

/// What a task of a set is read with: the names it may use, the headers set on the client so
/// far, and the set's tags.
struct Ctx<'c> {
    scope: &'c Scope,
    client_headers: &'c [(String, String)],
    tags: &'c [String],
}

/// The names a set's tasks may use: the module's constants, the class's attributes and the
/// constant `self.x` that `on_start` sets, and the helper methods (receivers read as `self`).
fn scope(m: &Module, chain: &[&ast::StmtClassDef]) -> Scope {
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
        constants: m.constants.clone(),
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
                        if is_request(value) || mentions(value, &bound) {
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

/// Whether an expression reads one of `names`.
fn mentions(e: &Expr, names: &HashSet<String>) -> bool {
    let mut v = Mentions {
        names,
        found: false,
    };
    v.visit_expr(e);
    v.found
}

struct Mentions<'n> {
    names: &'n HashSet<String>,
    found: bool,
}

impl<'a> Visitor<'a> for Mentions<'_> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr
            && self.names.contains(n.id.as_str())
        {
            self.found = true;
        }
        visitor::walk_expr(self, expr);
    }
}

/// A task method of `owner` (None: a module function) as an entry: its requests, and whether
/// it interrupts.
fn method_entry(
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
fn task_list<'e>(r: &mut Reader, e: &'e Expr) -> Vec<(&'e Expr, u32)> {
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
fn tags_of(decorators: &[ast::Decorator]) -> Vec<String> {
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

/// A task's body with its receiver read as the user: a module function's first parameter, and
/// a TaskSet's `self.user`, `self.parent` and (pre-1.0) `self.locust`, all become `self`.
fn receiver(f: &ast::StmtFunctionDef, module_level: bool) -> Vec<Stmt> {
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

/// A LoadTestShape whose `tick()` walks a literal table of `{"duration", "users",
/// "spawn_rate"}` (durations cumulative, in seconds): the stages that ramp and hold the same.
fn shape(r: &mut Reader, c: &ast::StmtClassDef) -> Option<String> {
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

/// `@task` → 1, `@task(N)` → N; None when the method is not a task.
fn task_weight(f: &ast::StmtFunctionDef) -> Option<u32> {
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

fn wait_time(r: &mut Reader, e: &Expr) -> Option<String> {
    let Expr::Call(c) = e else {
        r.warn(
            e,
            "wait_time is not a call of between(), constant() or their kin: left out",
        );
        return None;
    };
    let args: Vec<Option<f64>> = c.arguments.args.iter().map(number).collect();
    let ms = |s: f64| (s * 1000.0).round() as u64;
    match (dotted(&c.func).as_deref(), args.as_slice()) {
        (Some("between"), [Some(a), Some(b)]) => Some(format!("{}ms..{}ms", ms(*a), ms(*b))),
        (Some("constant"), [Some(a)]) => Some(format!("{}ms", ms(*a))),
        (Some("constant_pacing"), [Some(a)]) => Some(format!("pacing {}ms", ms(*a))),
        (Some("constant_throughput"), [Some(n)]) if *n > 0.0 => {
            Some(format!("pacing {}ms", ms(1.0 / n)))
        }
        _ => {
            r.warn(
                e,
                "wait_time is not between(), constant(), constant_pacing() or constant_throughput() of numbers: left out",
            );
            None
        }
    }
}
