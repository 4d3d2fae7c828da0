//! The locustfile's AST walked into user classes: class attributes (host, weight, wait_time,
//! tasks), their task sets and module functions, and a LoadTestShape's table; the rest warns.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rustpython_ruff_python_ast::{self as ast, Expr, Stmt};
use rustpython_ruff_text_size::Ranged;

use super::body::read_body;
use super::entries::{Ctx, attach_sets, method_entry, tags_of, task_list};
use super::expand::{Scope, expand};
use super::scope::{receiver, scope, task_weight};
use super::shape::shape;
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
    let scope = scope(&m.constants, &chain);
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

/// `NAME = ...` for one of `names`.
fn assigns(a: &ast::StmtAssign, names: &[&str]) -> bool {
    matches!(&a.targets[..], [Expr::Name(n)] if names.contains(&n.id.as_str()))
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
