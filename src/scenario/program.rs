//! The runtime form of a scenario: user classes, tasks (request templates with their expected
//! statuses and captures) and the endpoints stats are kept for. Rendering happens here.

use regex::bytes::Regex;

use super::generators::{Generators, push_decimal};
use super::template::{Gen, Part, Template};
use crate::http::cookie::Jar;
use crate::load::Think;

/// Where a captured value comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A JSON pointer into the response body, e.g. `/access` (strings unquoted).
    Json(String),
    /// A response header's value, or the first group of a regex over it.
    Header(String, Option<Regex>),
    /// The first group of a regex over the body (or the whole match if it has no group).
    Body(Regex),
}

#[derive(Debug, Clone)]
pub struct Capture {
    pub var: usize,
    pub source: Source,
}

/// A request whose bytes are built once per connection (or once for all, when it uses no
/// variables) with fixed-width slots patched per send.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    pub method: String,
    pub path: Template,
    /// Host header value.
    pub host: String,
    pub headers: Vec<(String, Template)>,
    pub body: Template,
}

/// A rendered request: its bytes and where its generated values go.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    /// The request with fixed-width slots zero-filled (a sample, when `layout` is set).
    pub bytes: Vec<u8>,
    /// Offsets of the fixed-width slots, patched in place on every send.
    pub slots: Vec<(usize, Gen)>,
    /// Set when some generated value varies in width: the request is then written per send
    /// from this, with its Content-Length computed per send.
    pub layout: Option<Box<Layout>>,
}

/// A piece of a request written per send.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(Vec<u8>),
    Gen(Gen),
}

/// A request whose generated values vary in width: its head and body as literal pieces and
/// generators, and whether it carries a Content-Length that ringblast computes.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    head: Vec<Piece>,
    content_length: bool,
    body: Vec<Piece>,
}

impl Layout {
    /// Writes one request with fresh values at the end of `out`, measuring its body in the
    /// generators' scratch buffer; returns its size.
    pub fn write_with(&self, gens: &mut Generators, out: &mut Vec<u8>) -> u64 {
        let mut scratch = gens.take_scratch();
        let n = self.write(gens, out, &mut scratch);
        gens.put_scratch(scratch);
        n
    }

    /// Writes one request with fresh values at the end of `out`; returns its size. `scratch`
    /// holds the body while its length is measured.
    pub fn write(&self, gens: &mut Generators, out: &mut Vec<u8>, scratch: &mut Vec<u8>) -> u64 {
        let start = out.len();
        let put = |pieces: &[Piece], gens: &mut Generators, out: &mut Vec<u8>| {
            for p in pieces {
                match p {
                    Piece::Text(t) => out.extend_from_slice(t),
                    Piece::Gen(g) => gens.append(g, out),
                }
            }
        };
        put(&self.head, gens, out);
        scratch.clear();
        put(&self.body, gens, scratch);
        if self.content_length {
            out.extend_from_slice(b"Content-Length: ");
            push_decimal(scratch.len() as u64, out);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(scratch);
        (out.len() - start) as u64
    }
}

/// Builds a request's bytes and slots, or its pieces when a value varies in width.
#[derive(Default)]
struct Builder {
    bytes: Vec<u8>,
    slots: Vec<(usize, Gen)>,
    pieces: Vec<Piece>,
}

impl Builder {
    fn text(&mut self, t: &[u8]) {
        self.bytes.extend_from_slice(t);
        match self.pieces.last_mut() {
            Some(Piece::Text(last)) => last.extend_from_slice(t),
            _ => self.pieces.push(Piece::Text(t.to_vec())),
        }
    }

    fn template(&mut self, t: &Template, vars: &[Option<Vec<u8>>]) {
        for part in &t.parts {
            match part {
                Part::Text(b) => self.text(b),
                Part::Var(v) => self.text(vars.get(*v).and_then(|x| x.as_deref()).unwrap_or(b"")),
                Part::Gen(g) => {
                    let width = g.fixed_width().unwrap_or(0);
                    self.slots.push((self.bytes.len(), g.clone()));
                    self.bytes.extend(std::iter::repeat_n(b'0', width));
                    self.pieces.push(Piece::Gen(g.clone()));
                }
            }
        }
    }
}

impl RequestTemplate {
    /// Serializes with the given variable values (missing ones are empty); fixed-width slots get
    /// placeholders, and a value that varies in width makes the result a `Layout`.
    pub fn render(&self, vars: &[Option<Vec<u8>>]) -> Rendered {
        self.render_inner(vars, &[])
    }

    /// As `render`, for a user with cookies: those of `jar` that go to this path (`secure`:
    /// over TLS), in a Cookie header of their own or after the request's own Cookie values.
    pub fn render_for(&self, vars: &[Option<Vec<u8>>], jar: &Jar, secure: bool) -> Rendered {
        if jar.is_empty() {
            return self.render_inner(vars, &[]);
        }
        self.render_inner(vars, &jar.header(&self.cookie_path(vars), secure))
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// The path cookies are matched against: the template's text and variables up to its first
    /// generated value (which never decides a cookie's path in practice).
    pub fn cookie_path(&self, vars: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut out = Vec::new();
        for part in &self.path.parts {
            match part {
                Part::Text(t) => out.extend_from_slice(t),
                Part::Var(v) => {
                    out.extend_from_slice(vars.get(*v).and_then(|x| x.as_deref()).unwrap_or(b""))
                }
                Part::Gen(_) => break,
            }
        }
        out
    }

    /// The host cookies are kept for: the Host header's name, without a port.
    pub fn cookie_host(&self) -> &str {
        let h = self.host.as_str();
        match h.strip_prefix('[') {
            Some(v6) => v6.split(']').next().unwrap_or(v6),
            None => h.rsplit_once(':').map_or(h, |(name, _)| name),
        }
    }

    fn render_inner(&self, vars: &[Option<Vec<u8>>], cookie: &[u8]) -> Rendered {
        let has = |name: &str| self.has_header(name);
        let mut head = Builder::default();
        head.text(self.method.as_bytes());
        head.text(b" ");
        head.template(&self.path, vars);
        head.text(b" HTTP/1.1\r\n");
        if !has("host") {
            head.text(format!("Host: {}\r\n", self.host).as_bytes());
        }
        if !has("user-agent") {
            head.text(
                concat!("User-Agent: ringblast/", env!("CARGO_PKG_VERSION"), "\r\n").as_bytes(),
            );
        }
        // A task's own Cookie header takes the jar's cookies too: one field, as RFC 6265 §5.4
        // asks and as requests merges a call's `cookies=` with the session's.
        let mut jar = cookie;
        for (k, v) in &self.headers {
            head.text(k.as_bytes());
            head.text(b": ");
            head.template(v, vars);
            if k.eq_ignore_ascii_case("cookie") && !jar.is_empty() {
                head.text(b"; ");
                head.text(jar);
                jar = &[];
            }
            head.text(b"\r\n");
        }
        if !jar.is_empty() {
            head.text(b"Cookie: ");
            head.text(jar);
            head.text(b"\r\n");
        }
        let mut body = Builder::default();
        body.template(&self.body, vars);
        let body_method = matches!(
            self.method.to_ascii_uppercase().as_str(),
            "POST" | "PUT" | "PATCH"
        );
        let content_length = !has("content-length")
            && !has("transfer-encoding")
            && (body_method || !body.pieces.is_empty());
        let varying = head
            .slots
            .iter()
            .chain(&body.slots)
            .any(|(_, g)| g.fixed_width().is_none());
        let layout = varying.then(|| {
            Box::new(Layout {
                head: std::mem::take(&mut head.pieces),
                content_length,
                body: std::mem::take(&mut body.pieces),
            })
        });
        let mut out = Rendered {
            bytes: head.bytes,
            slots: head.slots,
            layout,
        };
        // With fixed-width slots the body's length is known once rendered.
        if content_length {
            out.bytes
                .extend_from_slice(format!("Content-Length: {}\r\n", body.bytes.len()).as_bytes());
        }
        out.bytes.extend_from_slice(b"\r\n");
        let base = out.bytes.len();
        out.bytes.extend_from_slice(&body.bytes);
        out.slots
            .extend(body.slots.into_iter().map(|(off, g)| (base + off, g)));
        out
    }

    /// The captured variables it uses, each once.
    pub fn needs(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .path
            .vars()
            .chain(self.body.vars())
            .chain(self.headers.iter().flat_map(|(_, t)| t.vars()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// True when rendering depends on captured variables (so it is done per connection).
    pub fn uses_vars(&self) -> bool {
        self.path.vars().next().is_some()
            || self.body.vars().next().is_some()
            || self.headers.iter().any(|(_, v)| v.vars().next().is_some())
    }
}

#[derive(Debug, Clone)]
pub struct Task {
    pub endpoint: usize,
    pub request: RequestTemplate,
    /// Rendered once for every connection when the request uses no variables.
    pub shared: Option<Rendered>,
    pub head: bool,
    /// The method is idempotent: unanswered, the request may be sent again on a new connection.
    pub idempotent: bool,
    /// The captured variables its request uses: it is sent only once all of them are set.
    pub needs: Vec<usize>,
    /// Statuses that count as success; None means 2xx and 3xx.
    pub expect: Option<Statuses>,
    pub captures: Vec<Capture>,
    /// Tasks sent after it, in order and without thinking between them (a `then` group).
    pub then: Vec<usize>,
    /// Variables drawn when the task is picked (`set`), for it and its group to use alike.
    pub sets: Vec<(usize, Template)>,
    /// What the body must hold besides the status (None: nothing).
    pub checks: Option<Box<super::check::Checks>>,
    pub weight: u32,
}

impl Task {
    pub fn is_ok(&self, status: u16) -> bool {
        match &self.expect {
            Some(set) => set.contains(status),
            None => (200..400).contains(&status),
        }
    }

    /// Its responses are kept whole: for its captures, or for its checks.
    pub fn keeps_response(&self) -> bool {
        !self.captures.is_empty() || self.checks.is_some()
    }
}

/// A set of HTTP statuses (100 to 999), one bit each: a lookup per response whatever its size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statuses(Box<[u64; 16]>);

impl Statuses {
    pub fn new(codes: impl IntoIterator<Item = u16>) -> Self {
        let mut bits = Box::new([0u64; 16]);
        for c in codes.into_iter().filter(|c| *c < 1000) {
            bits[usize::from(c / 64)] |= 1 << (c % 64);
        }
        Self(bits)
    }

    #[inline]
    pub fn contains(&self, status: u16) -> bool {
        status < 1000 && self.0[usize::from(status / 64)] >> (status % 64) & 1 == 1
    }
}

#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    pub weight: u32,
    /// Exactly this many users play it, before the weights share the rest.
    pub fixed_count: Option<u64>,
    /// Variables each of its users draws once, when it starts.
    pub sets: Vec<(usize, Template)>,
    pub think: Think,
    /// Task ids run once per user, in order, before the others.
    pub on_start: Vec<usize>,
    /// Task ids picked by weight (or in order when `sequence`).
    pub tasks: Vec<usize>,
    pub sequence: bool,
    /// Cumulative weights of `tasks`, for picking.
    pub cumulative: Vec<u32>,
}

/// A stats key: Locust's name + method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub name: String,
    pub method: String,
}

#[derive(Debug, Clone)]
pub struct Program {
    pub classes: Vec<Class>,
    pub tasks: Vec<Task>,
    pub endpoints: Vec<Endpoint>,
    pub variables: Vec<String>,
    /// Class of user (or connection) i is `class_cycle[i % len]`: weights spread evenly.
    pub class_cycle: Vec<usize>,
    /// The first users, by global index, play the classes with a `fixed_count`: class and
    /// count, in order.
    pub fixed: Vec<(usize, u64)>,
    /// Each user keeps the cookies servers set and sends them back (RFC 6265).
    pub cookies: bool,
    /// The variables that read a cookie (`{{cookie NAME}}`): variable index and cookie name.
    pub cookie_vars: Vec<(usize, Vec<u8>)>,
}

impl Program {
    /// The program of a plain `run URL`: one class, one task, one endpoint.
    pub fn single(request: RequestTemplate, name: String, think: Think) -> Self {
        let head = request.method == "HEAD";
        let endpoint = Endpoint {
            name: crate::redact::query(&name),
            method: request.method.clone(),
        };
        let shared = Some(request.render(&[]));
        Self {
            classes: vec![Class {
                name: "default".into(),
                weight: 1,
                fixed_count: None,
                sets: vec![],
                think,
                on_start: vec![],
                tasks: vec![0],
                sequence: false,
                cumulative: vec![1],
            }],
            tasks: vec![Task {
                endpoint: 0,
                request,
                shared,
                head,
                idempotent: crate::http::is_idempotent(&endpoint.method),
                needs: vec![],
                expect: None,
                captures: vec![],
                then: vec![],
                sets: vec![],
                checks: None,
                weight: 1,
            }],
            endpoints: vec![endpoint],
            variables: vec![],
            class_cycle: vec![0],
            fixed: vec![],
            cookies: false,
            cookie_vars: vec![],
        }
    }

    /// The class user `global` plays (its index across every worker): the fixed counts first,
    /// then the weighted cycle.
    pub fn class_of(&self, global: u64) -> usize {
        let mut g = global;
        for &(class, n) in &self.fixed {
            if g < n {
                return class;
            }
            g -= n;
        }
        self.class_cycle[(g as usize) % self.class_cycle.len()]
    }

    /// Fills in what is derived: cumulative weights, the class cycle, shared renderings.
    pub fn finish(mut self) -> Self {
        for c in &mut self.classes {
            let mut sum = 0;
            c.cumulative = c
                .tasks
                .iter()
                .map(|&t| {
                    sum += self.tasks[t].weight;
                    sum
                })
                .collect();
        }
        self.fixed = (self.classes.iter().enumerate())
            .filter_map(|(i, c)| c.fixed_count.map(|n| (i, n)))
            .collect();
        // The rest share by weight the classes without a fixed count (all, when every class
        // has one: users beyond the fixed ones then cycle through them all).
        let all_fixed = self.classes.iter().all(|c| c.fixed_count.is_some());
        let weight = |c: &Class| {
            if c.fixed_count.is_none() || all_fixed {
                i64::from(c.weight)
            } else {
                0
            }
        };
        // Smooth weighted round robin: each class appears `weight` times, spread out.
        let total: i64 = self.classes.iter().map(weight).sum();
        let mut current = vec![0i64; self.classes.len()];
        self.class_cycle = (0..total)
            .map(|_| {
                for (cur, c) in current.iter_mut().zip(&self.classes) {
                    *cur += weight(c);
                }
                let best = (0..current.len())
                    .max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
                    .unwrap_or(0);
                current[best] -= total;
                best
            })
            .collect();
        for t in &mut self.tasks {
            t.shared = (!t.request.uses_vars()).then(|| t.request.render(&[]));
        }
        self
    }

    /// (name, method) of each endpoint, in endpoint order: the rows of every per-endpoint output.
    pub fn endpoint_names(&self) -> Vec<(String, String)> {
        self.endpoints
            .iter()
            .map(|e| (e.name.clone(), e.method.clone()))
            .collect()
    }

    /// True for the plain single-request program with no generated values: the engine then
    /// sends pre-built pipelined batches.
    pub fn is_static(&self) -> bool {
        self.tasks.len() == 1
            && self.tasks[0]
                .shared
                .as_ref()
                .is_some_and(|r| r.slots.is_empty())
            && self.tasks[0].captures.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(
        method: &str,
        path: Template,
        headers: Vec<(String, Template)>,
        body: Template,
    ) -> RequestTemplate {
        RequestTemplate {
            method: method.into(),
            path,
            host: "h:1".into(),
            headers,
            body,
        }
    }

    #[test]
    fn renders_with_slots_and_fixed_content_length() {
        let path = Template {
            parts: vec![Part::Text(b"/x/".to_vec()), Part::Gen(Gen::Uuid)],
        };
        let body = Template {
            parts: vec![
                Part::Text(b"{\"n\":".to_vec()),
                Part::Gen(Gen::Seq { width: Some(6) }),
                Part::Text(b"}".to_vec()),
            ],
        };
        let r = template(
            "POST",
            path,
            vec![(
                "X-Token".into(),
                Template {
                    parts: vec![Part::Var(0)],
                },
            )],
            body,
        )
        .render(&[Some(b"tok".to_vec())]);
        let text = String::from_utf8(r.bytes.clone()).unwrap();
        assert!(
            text.starts_with(
                "POST /x/000000000000000000000000000000000000 HTTP/1.1\r\nHost: h:1\r\n"
            ),
            "{text}"
        );
        assert!(text.contains("X-Token: tok\r\n"));
        assert!(text.contains("Content-Length: 12\r\n"), "{text}");
        assert!(text.ends_with("{\"n\":000000}"));
        assert_eq!(r.slots.len(), 2);
        assert_eq!(r.slots[0].0, 8);
        assert_eq!(&r.bytes[r.slots[1].0..r.slots[1].0 + 6], b"000000");
    }

    fn literal(method: &str, headers: &[(&str, &str)], body: &[u8]) -> String {
        let headers = headers
            .iter()
            .map(|(k, v)| (k.to_string(), Template::literal(v)))
            .collect();
        let r = RequestTemplate {
            method: method.into(),
            path: Template::literal("/a?b=1"),
            host: "127.0.0.1:8080".into(),
            headers,
            body: Template::bytes(body.to_vec()),
        }
        .render(&[]);
        assert!(r.slots.is_empty() && r.layout.is_none());
        String::from_utf8(r.bytes).unwrap()
    }

    #[test]
    fn a_plain_request_has_host_and_length_only_when_it_needs_one() {
        let s = literal("GET", &[("X-Test", "1")], b"");
        assert!(
            s.starts_with("GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"),
            "{s}"
        );
        assert!(s.contains("X-Test: 1\r\n") && s.contains("User-Agent: ringblast/"));
        assert!(!s.contains("Content-Length") && s.ends_with("\r\n\r\n"));
        let s = literal("POST", &[], b"{\"a\":1}");
        assert!(s.ends_with("Content-Length: 7\r\n\r\n{\"a\":1}"), "{s}");
        // Any case of the method: a body method always says its length.
        assert!(literal("post", &[], b"").contains("Content-Length: 0\r\n"));
        // The user's own headers win.
        let s = literal("GET", &[("host", "example"), ("User-Agent", "me")], b"");
        assert!(!s.contains("127.0.0.1") && s.contains("host: example\r\n"));
        assert_eq!(s.matches("User-Agent").count(), 1);
    }

    #[test]
    fn values_of_any_width_get_the_right_content_length() {
        let planes = std::sync::Arc::new(vec![
            b"intune".to_vec(),
            b"jamf".to_vec(),
            b"landscape".to_vec(),
        ]);
        let pick = Gen::Pick {
            values: planes,
            random: false,
            width: None,
            cursor: 0,
        };
        let path = Template {
            parts: vec![Part::Text(b"/p/".to_vec()), Part::Gen(pick.clone())],
        };
        let body = Template {
            parts: vec![
                Part::Text(b"{\"plane\":\"".to_vec()),
                Part::Gen(pick),
                Part::Text(b"\",\"n\":".to_vec()),
                Part::Gen(Gen::Seq { width: None }),
                Part::Text(b"}".to_vec()),
            ],
        };
        let r = template("post", path, vec![], body).render(&[]);
        let layout = r.layout.as_ref().expect("varying values need a layout");
        let mut gens = Generators::new(7, 0, 1);
        let mut out = Vec::new();
        let mut seen = Vec::new();
        for _ in 0..12 {
            let start = out.len();
            let n = layout.write_with(&mut gens, &mut out);
            let req = &out[start..];
            assert_eq!(n as usize, req.len());
            let mut headers = [httparse::EMPTY_HEADER; 8];
            let mut parsed = httparse::Request::new(&mut headers);
            let head = match parsed.parse(req).unwrap() {
                httparse::Status::Complete(h) => h,
                httparse::Status::Partial => panic!("incomplete"),
            };
            let cl: usize = parsed
                .headers
                .iter()
                .find(|h| h.name == "Content-Length")
                .map(|h| std::str::from_utf8(h.value).unwrap().parse().unwrap())
                .unwrap();
            assert_eq!(cl, req.len() - head, "{}", String::from_utf8_lossy(req));
            seen.push(parsed.path.unwrap().to_string());
        }
        assert!(
            seen.contains(&"/p/intune".to_string()) && seen.contains(&"/p/landscape".to_string())
        );
    }

    #[test]
    fn statuses_are_a_set_of_codes() {
        let s = Statuses::new([200, 404, 999, 1000]);
        assert!(s.contains(200) && s.contains(404) && s.contains(999));
        assert!(!s.contains(201) && !s.contains(1000) && !s.contains(u16::MAX));
    }

    #[test]
    fn class_cycle_spreads_weights() {
        let class = |w, fixed| Class {
            name: String::new(),
            weight: w,
            fixed_count: fixed,
            sets: vec![],
            think: Think::None,
            on_start: vec![],
            tasks: vec![],
            sequence: false,
            cumulative: vec![],
        };
        let program = |classes| {
            Program {
                classes,
                tasks: vec![],
                endpoints: vec![],
                variables: vec![],
                class_cycle: vec![],
                fixed: vec![],
                cookies: false,
                cookie_vars: vec![],
            }
            .finish()
        };
        let p = program(vec![class(3, None), class(1, None)]);
        assert_eq!(p.class_cycle, vec![0, 0, 1, 0]);
        // Two fixed users of class 2 come first; the weights share the rest.
        let p = program(vec![class(3, None), class(1, None), class(5, Some(2))]);
        let first: Vec<usize> = (0..7).map(|g| p.class_of(g)).collect();
        assert_eq!(first, vec![2, 2, 0, 0, 1, 0, 0]);
        // Every class fixed: past the fixed users, all classes cycle.
        let p = program(vec![class(1, Some(1)), class(1, Some(0))]);
        assert_eq!(
            (0..3).map(|g| p.class_of(g)).collect::<Vec<_>>(),
            vec![0, 0, 1]
        );
    }
}
