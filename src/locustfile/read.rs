//! The locustfile's AST walked into user classes: class attributes (host, weight, wait_time),
//! `@task` methods and `on_start`, each `self.client` call a request; the rest is a warning.

use std::collections::HashMap;
use std::path::Path;

use rustpython_ruff_python_ast::{self as ast, Expr, Stmt};
use rustpython_ruff_text_size::Ranged;

use super::value::{self, dotted, number, self_attr, string};
use super::{Class, Request, Warning};
use crate::error::FileError;

const USER_BASES: [&str; 3] = ["HttpUser", "FastHttpUser", "HttpLocust"];
const VERBS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// Byte offsets of line starts, for 1-based line numbers.
struct Lines(Vec<usize>);

impl Lines {
    fn new(text: &str) -> Self {
        let mut v = vec![0];
        v.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self(v)
    }

    fn of(&self, node: &impl Ranged) -> usize {
        let at = node.range().start().to_usize();
        self.0.partition_point(|&s| s <= at)
    }
}

struct Reader {
    lines: Lines,
    warnings: Vec<Warning>,
}

impl Reader {
    fn warn(&mut self, node: &impl Ranged, text: impl Into<String>) {
        let line = self.lines.of(node);
        self.warnings.push(Warning {
            line,
            text: text.into(),
        });
    }
}

pub fn classes(text: &str, path: &Path) -> Result<(Vec<Class>, Vec<Warning>), FileError> {
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
    };
    let mut out = Vec::new();
    for stmt in &parsed.syntax().body {
        match stmt {
            Stmt::ClassDef(c) => {
                let bases: Vec<String> = c
                    .arguments
                    .iter()
                    .flat_map(|a| a.args.iter())
                    .filter_map(dotted)
                    .collect();
                let base = bases
                    .iter()
                    .map(|b| b.rsplit('.').next().unwrap_or(b))
                    .find(|b| USER_BASES.contains(b));
                match base {
                    Some(b) => out.push(read_class(&mut r, c, b)),
                    None if bases.iter().any(|b| b.ends_with("TaskSet")) => r.warn(
                        c,
                        format!(
                            "TaskSet {} is not converted yet: write its tasks on the user class",
                            c.name
                        ),
                    ),
                    None if bases.iter().any(|b| b.ends_with("LoadTestShape")) => r.warn(
                        c,
                        format!(
                            "LoadTestShape {} is not converted yet: use --stages",
                            c.name
                        ),
                    ),
                    None => {}
                }
            }
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
    Ok((out, r.warnings))
}

fn read_class(r: &mut Reader, c: &ast::StmtClassDef, base: &str) -> Class {
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
    // Headers set on self.client in on_start go on every request of the class.
    let mut client_headers: Vec<(String, String)> = Vec::new();
    let (mut min_wait, mut max_wait) = (None, None);
    for stmt in &c.body {
        match stmt {
            Stmt::Assign(a) if a.targets.len() == 1 => {
                let Expr::Name(target) = &a.targets[0] else {
                    continue;
                };
                match target.id.as_str() {
                    "host" => class.host = string(&a.value),
                    "weight" => match number(&a.value) {
                        Some(w) if w >= 1.0 => class.weight = w as u32,
                        _ => r.warn(a, "weight is not a whole number: 1 is used"),
                    },
                    "wait_time" => class.think = wait_time(r, &a.value),
                    "min_wait" => min_wait = number(&a.value),
                    "max_wait" => max_wait = number(&a.value),
                    "tasks" | "task_set" => r.warn(
                        a,
                        "tasks given as a list, dict or TaskSet are not converted yet: use @task methods",
                    ),
                    "abstract" | "network_timeout" | "connection_timeout" | "fixed_count" => r
                        .warn(
                            a,
                            format!("{} is not converted", target.id.as_str()),
                        ),
                    _ => {}
                }
            }
            Stmt::FunctionDef(f) => {
                let weight = task_weight(f);
                let name = f.name.as_str();
                if name == "on_start" {
                    class.on_start = read_body(r, &f.body, 1, &mut client_headers, &class.name);
                } else if name == "on_stop" {
                    if !f.body.iter().all(|s| matches!(s, Stmt::Pass(_))) {
                        r.warn(f, "on_stop is not converted (it runs when a user stops)");
                    }
                } else if let Some(w) = weight {
                    let mut ignored = Vec::new();
                    let reqs = read_body(r, &f.body, w, &mut ignored, &class.name);
                    if reqs.len() > 1 {
                        r.warn(
                            f,
                            format!(
                                "task {name} sends {} requests: each becomes a task of weight {w}, so the mix is kept but not their order",
                                reqs.len()
                            ),
                        );
                    }
                    if reqs.is_empty() {
                        r.warn(f, format!("task {name} sends no request ringblast can convert: it is missing, its weight is not given to others"));
                    }
                    class.tasks.extend(reqs);
                }
            }
            _ => {}
        }
    }
    if let (Some(lo), Some(hi)) = (min_wait, max_wait) {
        class.think = Some(format!("{}ms..{}ms", lo as u64, hi.max(lo) as u64));
    }
    for q in class.tasks.iter_mut() {
        for h in &client_headers {
            if !q.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(&h.0)) {
                q.headers.push(h.clone());
            }
        }
    }
    class
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
        r.warn(e, "wait_time is not between(), constant(): left out");
        return None;
    };
    let args: Vec<Option<f64>> = c.arguments.args.iter().map(number).collect();
    let ms = |s: f64| (s * 1000.0).round() as u64;
    match (dotted(&c.func).as_deref(), args.as_slice()) {
        (Some("between"), [Some(a), Some(b)]) => Some(format!("{}ms..{}ms", ms(*a), ms(*b))),
        (Some("constant"), [Some(a)]) => Some(format!("{}ms", ms(*a))),
        (Some(f @ ("constant_pacing" | "constant_throughput")), _) => {
            r.warn(
                e,
                format!("wait_time = {f}(…) is not converted yet: no think time is used"),
            );
            None
        }
        _ => {
            r.warn(
                e,
                "wait_time is not between() or constant() of numbers: left out",
            );
            None
        }
    }
}

/// The requests of a method body, in order, with what they capture.
fn read_body(
    r: &mut Reader,
    body: &[Stmt],
    weight: u32,
    client_headers: &mut Vec<(String, String)>,
    class: &str,
) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    // Local names bound to a response: which request they came from.
    let mut responses: HashMap<String, usize> = HashMap::new();
    for stmt in body {
        match stmt {
            Stmt::Expr(e) => {
                if let Some(q) = request(r, &e.value, weight) {
                    out.push(q);
                } else if !client_header(r, &e.value, client_headers) {
                    r.warn(
                        e,
                        format!("{class}: a statement that is not a request is not converted"),
                    );
                }
            }
            Stmt::Assign(a) if a.targets.len() == 1 => {
                let target = &a.targets[0];
                if let Some(q) = request(r, &a.value, weight) {
                    if let Expr::Name(n) = target {
                        responses.insert(n.id.to_string(), out.len());
                    }
                    out.push(q);
                } else if let (Some(var), Some((resp, source))) =
                    (self_attr(target), capture(&a.value))
                {
                    match responses.get(&resp) {
                        Some(&i) => out[i].captures.push((var.to_string(), source)),
                        None => r.warn(
                            a,
                            format!("self.{var}: its response is not a request converted here"),
                        ),
                    }
                } else if let Expr::Subscript(s) = target
                    && is_client_headers(&s.value)
                    && let (Some(k), Ok(v)) = (string(&s.slice), value::template(&a.value))
                {
                    client_headers.push((k, v));
                } else {
                    r.warn(
                        a,
                        format!("{class}: an assignment that is not a capture is not converted"),
                    );
                }
            }
            Stmt::Pass(_) => {}
            Stmt::With(w) => match caught(r, w, weight) {
                Ok(q) => out.push(q),
                Err(why) => r.warn(
                    w,
                    format!("{class}: a with block: {why}: its request is left out"),
                ),
            },
            other => r.warn(
                other,
                format!("{class}: Python logic (a loop, a branch, a helper) is not converted"),
            ),
        }
    }
    out
}

/// `with self.client.VERB(..., catch_response=True) as r:` whose body decides success by
/// `r.status_code`: the request, expecting those statuses.
fn caught(r: &mut Reader, w: &ast::StmtWith, weight: u32) -> Result<Request, String> {
    let [item] = &w.items[..] else {
        return Err("more than one context".into());
    };
    let Some(Expr::Name(var)) = item.optional_vars.as_deref() else {
        return Err("no `as r`".into());
    };
    let Expr::Call(call) = &item.context_expr else {
        return Err("not a request".into());
    };
    let mut call = call.clone();
    let before = call.arguments.keywords.len();
    call.arguments.keywords = call
        .arguments
        .keywords
        .iter()
        .filter(|k| {
            k.arg
                .as_ref()
                .is_none_or(|a| a.as_str() != "catch_response")
        })
        .cloned()
        .collect();
    if call.arguments.keywords.len() == before {
        return Err("a request without catch_response=True".into());
    }
    let ok = super::catch::statuses(var.id.as_str(), &w.body)?;
    let mut q = request(r, &Expr::Call(call), weight).ok_or("not a request")?;
    let default: Vec<u16> = (200..400).collect();
    if ok != default {
        q.expect = Some(ok);
    }
    Ok(q)
}

/// `self.client.headers`
fn is_client_headers(e: &Expr) -> bool {
    matches!(e, Expr::Attribute(a) if a.attr.as_str() == "headers" && is_client(&a.value))
}

fn is_client(e: &Expr) -> bool {
    matches!(e, Expr::Attribute(a) if a.attr.as_str() == "client" && self_attr(e).is_some())
}

/// `self.client.headers.update({...})`: headers on every later request of the class.
fn client_header(r: &mut Reader, e: &Expr, into: &mut Vec<(String, String)>) -> bool {
    let Expr::Call(c) = e else { return false };
    let Expr::Attribute(f) = &*c.func else {
        return false;
    };
    if f.attr.as_str() != "update" || !is_client_headers(&f.value) {
        return false;
    }
    match c.arguments.args.first().map(value::pairs) {
        Some(Ok(p)) => into.extend(p),
        Some(Err(why)) => r.warn(e, format!("self.client.headers.update: {why}")),
        None => r.warn(e, "self.client.headers.update without a dict"),
    }
    true
}

/// `NAME.json()["a"][0]`, `NAME.headers["X"]`: the response variable and the capture source.
fn capture(e: &Expr) -> Option<(String, String)> {
    let mut keys = Vec::new();
    let mut cur = e;
    while let Expr::Subscript(s) = cur {
        keys.push(match &*s.slice {
            Expr::NumberLiteral(_) => format!("{}", number(&s.slice)? as i64),
            other => string(other)?,
        });
        cur = &s.value;
    }
    keys.reverse();
    match cur {
        Expr::Call(c) if c.arguments.args.is_empty() => {
            let Expr::Attribute(a) = &*c.func else {
                return None;
            };
            let Expr::Name(n) = &*a.value else {
                return None;
            };
            (a.attr.as_str() == "json")
                .then(|| (n.id.to_string(), format!("json:/{}", keys.join("/"))))
        }
        Expr::Attribute(a) if a.attr.as_str() == "headers" && keys.len() == 1 => {
            let Expr::Name(n) = &*a.value else {
                return None;
            };
            Some((n.id.to_string(), format!("header:{}", keys[0])))
        }
        _ => None,
    }
}

/// `self.client.VERB(path, ...)` or `self.client.request(METHOD, path, ...)` as a request.
fn request(r: &mut Reader, e: &Expr, weight: u32) -> Option<Request> {
    let Expr::Call(c) = e else { return None };
    let Expr::Attribute(f) = &*c.func else {
        return None;
    };
    if !is_client(&f.value) {
        return None;
    }
    let verb = f.attr.as_str();
    let mut args = c.arguments.args.iter();
    let method = if verb == "request" {
        string(args.next()?)?.to_ascii_uppercase()
    } else if VERBS.contains(&verb) {
        verb.to_ascii_uppercase()
    } else {
        return None;
    };
    let mut q = Request {
        method,
        weight,
        line: r.lines.of(e),
        ..Request::default()
    };
    let path_expr = args.next().or_else(|| {
        c.arguments
            .keywords
            .iter()
            .find(|k| k.arg.as_ref().is_some_and(|a| a.as_str() == "url"))
            .map(|k| &k.value)
    });
    match path_expr.map(value::template) {
        Some(Ok(p)) => q.path = p,
        Some(Err(why)) => {
            r.warn(e, format!("a request whose path is {why}: left out"));
            return None;
        }
        None => {
            r.warn(e, "a request without a path: left out");
            return None;
        }
    }
    let mut query = Vec::new();
    for k in c.arguments.keywords.iter() {
        let Some(arg) = k.arg.as_ref().map(|a| a.as_str()) else {
            r.warn(k, "**kwargs in a request are not converted");
            continue;
        };
        let result = match arg {
            "url" => Ok(()),
            "name" => value::template(&k.value).map(|n| q.name = Some(n)),
            "headers" => value::pairs(&k.value).map(|h| q.headers.extend(h)),
            "json" => value::json(&k.value).map(|b| {
                q.body = Some(b);
                q.headers.push(("Content-Type".into(), "application/json".into()));
            }),
            "data" => match &k.value {
                Expr::Dict(_) => value::pairs(&k.value).map(|p| {
                    q.body = Some(value::urlencoded(&p));
                    q.headers.push((
                        "Content-Type".into(),
                        "application/x-www-form-urlencoded".into(),
                    ));
                }),
                other => value::template(other).map(|b| q.body = Some(b)),
            },
            "params" => value::pairs(&k.value).map(|p| query = p),
            "allow_redirects" => Ok(()),
            "catch_response" => Err("catch_response is not converted yet: its success and failure conditions are left out, the status decides".into()),
            other => Err(format!("{other}= is not converted")),
        };
        if let Err(why) = result {
            r.warn(k, why);
        }
    }
    if !query.is_empty() {
        let sep = if q.path.contains('?') { '&' } else { '?' };
        q.path = format!("{}{sep}{}", q.path, value::urlencoded(&query));
    }
    if !q.path.starts_with('/') {
        r.warn(
            e,
            format!("path {} is not relative to the host: left out", q.path),
        );
        return None;
    }
    Some(q)
}
