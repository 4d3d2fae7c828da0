//! The runtime form of a scenario: user classes, tasks (request templates with their expected
//! statuses and captures) and the endpoints stats are kept for. Rendering happens here.

use regex::bytes::Regex;

use super::template::{Gen, Part, Template};
use crate::engine::client::Think;

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
    pub bytes: Vec<u8>,
    pub slots: Vec<(usize, Gen)>,
}

impl RequestTemplate {
    /// Serializes with the given variable values (missing ones are empty); slots get placeholders.
    pub fn render(&self, vars: &[Option<Vec<u8>>]) -> Rendered {
        let mut out = Rendered {
            bytes: Vec::with_capacity(256),
            slots: Vec::new(),
        };
        let put = |out: &mut Rendered, t: &Template| {
            for part in &t.parts {
                match part {
                    Part::Text(b) => out.bytes.extend_from_slice(b),
                    Part::Var(v) => out
                        .bytes
                        .extend_from_slice(vars.get(*v).and_then(|x| x.as_deref()).unwrap_or(b"")),
                    Part::Gen(g) => {
                        out.slots.push((out.bytes.len(), g.clone()));
                        out.bytes.extend(std::iter::repeat_n(b'0', g.width()));
                    }
                }
            }
        };
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        out.bytes.extend_from_slice(self.method.as_bytes());
        out.bytes.push(b' ');
        put(&mut out, &self.path);
        out.bytes.extend_from_slice(b" HTTP/1.1\r\n");
        if !has("host") {
            out.bytes
                .extend_from_slice(format!("Host: {}\r\n", self.host).as_bytes());
        }
        if !has("user-agent") {
            out.bytes.extend_from_slice(
                concat!("User-Agent: ringblast/", env!("CARGO_PKG_VERSION"), "\r\n").as_bytes(),
            );
        }
        for (k, v) in &self.headers {
            out.bytes.extend_from_slice(k.as_bytes());
            out.bytes.extend_from_slice(b": ");
            put(&mut out, v);
            out.bytes.extend_from_slice(b"\r\n");
        }
        // The body's length is fixed once rendered: slots are fixed-width, variables are set.
        let mut body = Rendered {
            bytes: Vec::new(),
            slots: Vec::new(),
        };
        put(&mut body, &self.body);
        let body_method = matches!(self.method.as_str(), "POST" | "PUT" | "PATCH");
        if !has("content-length")
            && !has("transfer-encoding")
            && (body_method || !body.bytes.is_empty())
        {
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
    /// Statuses that count as success; None means 2xx and 3xx.
    pub expect: Option<Vec<u16>>,
    pub captures: Vec<Capture>,
    pub weight: u32,
}

impl Task {
    pub fn is_ok(&self, status: u16) -> bool {
        match &self.expect {
            Some(list) => list.contains(&status),
            None => (200..400).contains(&status),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Class {
    pub name: String,
    pub weight: u32,
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
}

impl Program {
    /// The program of a plain `run URL`: one class, one task, one endpoint.
    pub fn single(request: RequestTemplate, name: String, think: Think) -> Self {
        let head = request.method == "HEAD";
        let endpoint = Endpoint {
            name,
            method: request.method.clone(),
        };
        let shared = Some(request.render(&[]));
        Self {
            classes: vec![Class {
                name: "default".into(),
                weight: 1,
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
                expect: None,
                captures: vec![],
                weight: 1,
            }],
            endpoints: vec![endpoint],
            variables: vec![],
            class_cycle: vec![0],
        }
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
        // Smooth weighted round robin: each class appears `weight` times, spread out.
        let total: u32 = self.classes.iter().map(|c| c.weight).sum();
        let mut current = vec![0i64; self.classes.len()];
        self.class_cycle = (0..total)
            .map(|_| {
                for (cur, c) in current.iter_mut().zip(&self.classes) {
                    *cur += i64::from(c.weight);
                }
                let best = (0..current.len())
                    .max_by_key(|&i| (current[i], std::cmp::Reverse(i)))
                    .unwrap_or(0);
                current[best] -= i64::from(total);
                best
            })
            .collect();
        for t in &mut self.tasks {
            t.shared = (!t.request.uses_vars()).then(|| t.request.render(&[]));
        }
        self
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
                Part::Gen(Gen::Seq { width: 6 }),
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

    #[test]
    fn class_cycle_spreads_weights() {
        let class = |w| Class {
            name: String::new(),
            weight: w,
            think: Think::None,
            on_start: vec![],
            tasks: vec![],
            sequence: false,
            cumulative: vec![],
        };
        let p = Program {
            classes: vec![class(3), class(1)],
            tasks: vec![],
            endpoints: vec![],
            variables: vec![],
            class_cycle: vec![],
        }
        .finish();
        assert_eq!(p.class_cycle, vec![0, 0, 1, 0]);
    }
}
