//! A task's body read statement by statement: each `self.client` call a request (with its
//! captures and `catch_response` statuses), `self.interrupt()` noted, anything else a warning.

use std::collections::HashMap;

use rustpython_ruff_python_ast::{self as ast, Expr, Stmt};

use super::Request;
use super::expand::is_request;
use super::read::Reader;
use super::value::{self, number, self_attr, string};

const VERBS: [&str; 7] = ["get", "post", "put", "patch", "delete", "head", "options"];

/// The requests of a method body, in order, with what they capture. `interrupts` is set when
/// the body ends its TaskSet's visit with `self.interrupt()`.
pub(super) fn read_body(
    r: &mut Reader,
    body: &[Stmt],
    weight: u32,
    client_headers: &mut Vec<(String, String)>,
    class: &str,
    interrupts: &mut bool,
) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    // Local names bound to a response: which request they came from.
    let mut responses: HashMap<String, usize> = HashMap::new();
    for stmt in body {
        match stmt {
            Stmt::Expr(e) if is_interrupt(&e.value) => *interrupts = true,
            Stmt::Expr(e) if is_sleep(&e.value) => r.warn(
                e,
                format!("{class}: a sleep inside a task is not converted (users think between tasks only): use the class's think time"),
            ),
            Stmt::Expr(e) => {
                if client_header(r, &e.value, client_headers) {
                    continue;
                }
                if let Some(q) = request(r, &e.value, weight) {
                    out.push(q);
                } else if !is_request(&e.value) {
                    // (A request that did not convert has said why.)
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
                } else if !is_request(&a.value) {
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
    let (ok, check) = super::catch::caught(var.id.as_str(), &w.body)?;
    let mut q = request(r, &Expr::Call(call), weight).ok_or("not a request")?;
    let default: Vec<u16> = (200..400).collect();
    if ok != default {
        q.expect = Some(ok);
    }
    q.check = (!check.is_empty()).then_some(check);
    Ok(q)
}

/// `time.sleep(...)`, `gevent.sleep(...)`, `sleep(...)`.
fn is_sleep(e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if matches!(
        super::value::dotted(&c.func).as_deref(),
        Some("time.sleep" | "gevent.sleep" | "sleep")
    ))
}

/// `self.interrupt()` (with or without `reschedule=`): the TaskSet's visit ends here.
fn is_interrupt(e: &Expr) -> bool {
    matches!(e, Expr::Call(c) if matches!(&*c.func, Expr::Attribute(a)
        if a.attr.as_str() == "interrupt" && self_attr(&c.func).is_some()))
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
pub(super) fn request(r: &mut Reader, e: &Expr, weight: u32) -> Option<Request> {
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
        // requests joins "" to the host's URL: its root.
        Some(Ok(p)) if p.is_empty() => q.path = "/".into(),
        Some(Ok(p)) => match p
            .strip_prefix("http://")
            .or_else(|| p.strip_prefix("https://"))
        {
            // An absolute URL: its path; the reader compares its origin with the host.
            Some(rest) => {
                let at = rest.find('/').unwrap_or(rest.len());
                q.origin = Some(p[..p.len() - rest.len() + at].to_string());
                q.path = if at == rest.len() {
                    "/".into()
                } else {
                    rest[at..].to_string()
                };
            }
            None => q.path = p,
        },
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
    // Content-Type from json=/data=, which an explicit header of the call overrides.
    let mut implied: Option<&str> = None;
    let mut left_out = false;
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
                implied = Some("application/json");
            }),
            "data" => match &k.value {
                Expr::Dict(_) => value::pairs(&k.value).map(|p| {
                    q.body = Some(value::urlencoded(&p));
                    implied = Some("application/x-www-form-urlencoded");
                }),
                other => value::template(other).map(|b| q.body = Some(b)),
            },
            "params" => value::pairs(&k.value).map(|p| query = p),
            "allow_redirects" => Ok(()),
            // Sent as a Cookie header beside the user's jar, as requests merges them.
            "cookies" => value::pairs(&k.value).map(|p| {
                let pairs: Vec<String> = p.iter().map(|(k, v)| format!("{k}={v}")).collect();
                q.headers.push(("Cookie".into(), pairs.join("; ")));
            }),
            "catch_response" => Err("catch_response is not converted yet: its success and failure conditions are left out, the status decides".into()),
            other => Err(format!("{other}= is not converted")),
        };
        if let Err(why) = result {
            // A request without its body, headers or name would be another test.
            let essential = matches!(
                arg,
                "name" | "headers" | "json" | "data" | "params" | "cookies"
            );
            if essential {
                r.warn(k, format!("{arg}= is {why}: the request is left out"));
                left_out = true;
            } else {
                r.warn(k, why);
            }
        }
    }
    if left_out {
        return None;
    }
    if let Some(ct) = implied
        && !q
            .headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        q.headers.push(("Content-Type".into(), ct.into()));
    }
    // One field per name: a later value replaces an earlier one, as a dict update does.
    let mut unique: Vec<(String, String)> = Vec::new();
    for (k, v) in q.headers.drain(..) {
        match unique.iter_mut().find(|(u, _)| u.eq_ignore_ascii_case(&k)) {
            Some(slot) => *slot = (k, v),
            None => unique.push((k, v)),
        }
    }
    q.headers = unique;
    q.path = value::requote(&q.path);
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
