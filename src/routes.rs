//! The built-in mock API (`serve --routes FILE`): routes with `{param}` path segments, status,
//! body (text with `{{id}}`/`{{uuid}}`/`{{seq}}`/`{{token}}`, or a size), headers, delays, an
//! error rate and a per-token rate limit answering 429. Pure: it builds bytes, never sends them.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::error::FileError;
use crate::units::parse_duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RateLimitFile {
    /// Requests allowed per token (the Authorization header's value) per `per`.
    requests: u32,
    per: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    #[serde(default = "get")]
    method: String,
    path: String,
    #[serde(default = "ok")]
    status: u16,
    body: Option<String>,
    body_size: Option<usize>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    /// `5ms`, or a uniform range `2ms..20ms`.
    delay: Option<String>,
    /// Share of requests answered 500 instead (0.0 to 1.0).
    #[serde(default)]
    error_rate: f64,
    rate_limit: Option<RateLimitFile>,
}

fn get() -> String {
    "GET".into()
}
fn ok() -> u16 {
    200
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoutesFile {
    #[serde(rename = "route", default)]
    routes: Vec<RouteFile>,
}

#[derive(Debug, Clone, PartialEq)]
enum Segment {
    Literal(String),
    Param(String),
}

#[derive(Debug, Clone, PartialEq)]
enum BodyPart {
    Text(String),
    Param(usize),
    Uuid,
    Seq,
    Token,
}

#[derive(Debug, Clone)]
struct Route {
    method: String,
    segments: Vec<Segment>,
    status: u16,
    headers: String,
    body: Vec<BodyPart>,
    delay: (Duration, Duration),
    error_rate: f64,
    limit: Option<(u32, Duration)>,
}

/// All routes, ready to answer.
#[derive(Debug, Clone)]
pub struct Routes {
    routes: Vec<Route>,
}

/// What to send for one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    pub bytes: Vec<u8>,
    pub delay: Duration,
}

/// Per-worker state: randomness, a sequence, and token buckets.
#[derive(Debug)]
pub struct RouteState {
    rng: u64,
    seq: u64,
    buckets: HashMap<(usize, Vec<u8>), (Instant, u32)>,
}

impl RouteState {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: seed | 1,
            seq: 0,
            buckets: HashMap::new(),
        }
    }

    fn next(&mut self) -> u64 {
        crate::rng::xorshift64(&mut self.rng)
    }

    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(n);
        s
    }
}

fn response(status: u16, headers: &str, body: &[u8], head_only: bool) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} {}\r\n{headers}Content-Length: {}\r\n\r\n",
        crate::http::reason_phrase(status),
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

impl Routes {
    pub fn load(path: &Path) -> Result<Self, FileError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| FileError::new(path, None, format!("cannot read the routes: {e}")))?;
        Self::parse(&text, path)
    }

    /// Parses a routes file; `path` names it in errors (with the line when one is known).
    pub fn parse(text: &str, path: &Path) -> Result<Self, FileError> {
        let file: RoutesFile = toml::from_str(text).map_err(|e| {
            let line = crate::units::toml_error_line(text, &e);
            FileError::new(path, line, e.message().lines().next().unwrap_or(""))
        })?;
        if file.routes.is_empty() {
            return Err(FileError::new(path, None, "no [[route]]"));
        }
        let routes = file
            .routes
            .iter()
            .map(build)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|what| {
                // The route's own line: the first that names its path.
                let line = file
                    .routes
                    .iter()
                    .find(|r| what.contains(&r.path))
                    .and_then(|r| text.lines().position(|l| l.contains(&r.path)))
                    .map(|i| i + 1);
                FileError::new(path, line, what)
            })?;
        Ok(Self { routes })
    }

    /// Answers one request.
    pub fn answer(
        &self,
        state: &mut RouteState,
        method: &str,
        target: &str,
        auth: &[u8],
        head: bool,
    ) -> Reply {
        let path = target.split(['?', '#']).next().unwrap_or("/");
        let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let mut path_matched = false;
        for (index, r) in self.routes.iter().enumerate() {
            let Some(params) = matches(&r.segments, &parts) else {
                continue;
            };
            path_matched = true;
            let allowed = r.method.eq_ignore_ascii_case(method) || (head && r.method == "GET");
            if !allowed {
                continue;
            }
            let delay = if r.delay.1 > r.delay.0 {
                let span = (r.delay.1 - r.delay.0).as_micros() as u64;
                r.delay.0 + Duration::from_micros(state.next() % (span + 1))
            } else {
                r.delay.0
            };
            if let Some((limit, per)) = r.limit {
                let now = Instant::now();
                let bucket = state
                    .buckets
                    .entry((index, auth.to_vec()))
                    .or_insert((now, 0));
                if now.duration_since(bucket.0) >= per {
                    *bucket = (now, 0);
                }
                bucket.1 += 1;
                if bucket.1 > limit {
                    let body = b"{\"detail\":\"Request was throttled.\"}";
                    return Reply {
                        bytes: response(
                            429,
                            "Content-Type: application/json\r\nRetry-After: 1\r\n",
                            body,
                            head,
                        ),
                        delay,
                    };
                }
            }
            if r.error_rate > 0.0 && (state.next() % 1_000_000) as f64 / 1e6 < r.error_rate {
                let body = b"{\"detail\":\"Internal error.\"}";
                return Reply {
                    bytes: response(500, "Content-Type: application/json\r\n", body, head),
                    delay,
                };
            }
            let mut body = String::new();
            for p in &r.body {
                match p {
                    BodyPart::Text(t) => body.push_str(t),
                    BodyPart::Param(i) => body.push_str(params[*i]),
                    BodyPart::Uuid => {
                        let h = state.hex(32);
                        body.push_str(&format!(
                            "{}-{}-4{}-a{}-{}",
                            &h[..8],
                            &h[8..12],
                            &h[13..16],
                            &h[17..20],
                            &h[20..32]
                        ));
                    }
                    BodyPart::Seq => {
                        state.seq += 1;
                        body.push_str(&state.seq.to_string());
                    }
                    BodyPart::Token => {
                        let t = format!("tok-{}", state.hex(32));
                        body.push_str(&t);
                    }
                }
            }
            return Reply {
                bytes: response(r.status, &r.headers, body.as_bytes(), head),
                delay,
            };
        }
        let (status, body): (u16, &[u8]) = if path_matched {
            (405, b"{\"detail\":\"Method not allowed.\"}")
        } else {
            (404, b"{\"detail\":\"Not found.\"}")
        };
        Reply {
            bytes: response(status, "Content-Type: application/json\r\n", body, head),
            delay: Duration::ZERO,
        }
    }
}

fn matches<'a>(segments: &[Segment], parts: &[&'a str]) -> Option<Vec<&'a str>> {
    if segments.len() != parts.len() {
        return None;
    }
    let mut params = Vec::new();
    for (s, p) in segments.iter().zip(parts) {
        match s {
            Segment::Literal(l) if l == p => {}
            Segment::Literal(_) => return None,
            Segment::Param(_) => params.push(*p),
        }
    }
    Some(params)
}

fn build(r: &RouteFile) -> Result<Route, String> {
    let at = |e: &dyn std::fmt::Display| format!("route {} {}: {e}", r.method, r.path);
    if !r.path.starts_with('/') {
        return Err(at(&"the path must start with /"));
    }
    let segments: Vec<Segment> = r
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect();
    let names: Vec<&str> = segments
        .iter()
        .filter_map(|s| {
            if let Segment::Param(n) = s {
                Some(n.as_str())
            } else {
                None
            }
        })
        .collect();
    let body = match (&r.body, r.body_size) {
        (Some(_), Some(_)) => return Err(at(&"give body or body_size, not both")),
        (Some(text), None) => parse_body(text, &names).map_err(|e| at(&e))?,
        (None, Some(n)) => vec![BodyPart::Text("x".repeat(n))],
        (None, None) => vec![],
    };
    if !(100..=599).contains(&r.status) || (100..200).contains(&r.status) {
        return Err(at(&format!("status {} is not a final status", r.status)));
    }
    if !(0.0..=1.0).contains(&r.error_rate) {
        return Err(at(&"error_rate is a share between 0 and 1"));
    }
    let delay = match &r.delay {
        None => (Duration::ZERO, Duration::ZERO),
        Some(d) => match d.split_once("..") {
            Some((a, b)) => (
                parse_duration(a).map_err(|e| at(&e))?,
                parse_duration(b).map_err(|e| at(&e))?,
            ),
            None => {
                let d = parse_duration(d).map_err(|e| at(&e))?;
                (d, d)
            }
        },
    };
    let limit = match &r.rate_limit {
        None => None,
        Some(l) => Some((l.requests, parse_duration(&l.per).map_err(|e| at(&e))?)),
    };
    let mut headers = String::new();
    for (k, v) in &r.headers {
        crate::http::request::validate_header(k, v).map_err(|e| at(&e))?;
        if k.eq_ignore_ascii_case("content-length") {
            return Err(at(&"Content-Length is computed; do not set it"));
        }
        headers.push_str(&format!("{k}: {v}\r\n"));
    }
    Ok(Route {
        method: r.method.to_ascii_uppercase(),
        segments,
        status: r.status,
        headers,
        body,
        delay,
        error_rate: r.error_rate,
        limit,
    })
}

fn parse_body(text: &str, params: &[&str]) -> Result<Vec<BodyPart>, String> {
    use crate::scenario::template::{Segment, segments};
    segments(text)?
        .into_iter()
        .map(|segment| match segment {
            Segment::Text(t) => Ok(BodyPart::Text(t.to_string())),
            Segment::Placeholder("uuid") => Ok(BodyPart::Uuid),
            Segment::Placeholder("seq") => Ok(BodyPart::Seq),
            Segment::Placeholder("token") => Ok(BodyPart::Token),
            Segment::Placeholder(p) => params
                .iter()
                .position(|n| *n == p)
                .map(BodyPart::Param)
                .ok_or_else(|| {
                    format!(
                        "body uses {{{{{p}}}}}, which is no path parameter (nor uuid, seq, token)"
                    )
                }),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTES: &str = r#"
[[route]]
method = "POST"
path = "/auth/login/"
body = '{"access":"{{token}}"}'
headers = { "Content-Type" = "application/json" }

[[route]]
path = "/items/{id}/"
body = '{"id":"{{id}}","n":{{seq}}}'

[[route]]
method = "POST"
path = "/cab/{id}/approve/"
status = 404
body = '{"detail":"not found"}'

[[route]]
path = "/limited"
rate_limit = { requests = 2, per = "1h" }

[[route]]
path = "/slow"
delay = "10ms..20ms"
body_size = 5
"#;

    fn text(r: &Reply) -> String {
        String::from_utf8(r.bytes.clone()).unwrap()
    }

    #[test]
    fn routes_answer_by_method_and_pattern() {
        let routes = Routes::parse(ROUTES, Path::new("routes.toml")).unwrap();
        let mut st = RouteState::new(7);
        let login = text(&routes.answer(&mut st, "POST", "/auth/login/", b"", false));
        assert!(
            login.starts_with("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"),
            "{login}"
        );
        assert!(login.contains("{\"access\":\"tok-"), "{login}");
        let a = text(&routes.answer(&mut st, "POST", "/auth/login/", b"", false));
        assert_ne!(login, a, "every login gets a new token");
        let item = text(&routes.answer(&mut st, "GET", "/items/42/?x=1", b"", false));
        assert!(item.ends_with("{\"id\":\"42\",\"n\":1}"), "{item}");
        assert!(
            text(&routes.answer(&mut st, "POST", "/cab/abc/approve/", b"", false))
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            text(&routes.answer(&mut st, "DELETE", "/items/1/", b"", false))
                .starts_with("HTTP/1.1 405")
        );
        assert!(
            text(&routes.answer(&mut st, "GET", "/nope", b"", false)).starts_with("HTTP/1.1 404")
        );
        let head = text(&routes.answer(&mut st, "HEAD", "/items/1/", b"", true));
        assert!(
            head.ends_with("\r\n\r\n") && head.contains("Content-Length: 16"),
            "{head}"
        );
        let slow = routes.answer(&mut st, "GET", "/slow", b"", false);
        assert!(slow.delay >= Duration::from_millis(10) && slow.delay <= Duration::from_millis(20));
    }

    #[test]
    fn rate_limit_is_per_token() {
        let routes = Routes::parse(ROUTES, Path::new("routes.toml")).unwrap();
        let mut st = RouteState::new(1);
        let codes: Vec<String> = (0..3)
            .map(|_| {
                text(&routes.answer(&mut st, "GET", "/limited", b"Bearer a", false))[9..12]
                    .to_string()
            })
            .collect();
        assert_eq!(codes, vec!["200", "200", "429"]);
        assert!(
            text(&routes.answer(&mut st, "GET", "/limited", b"Bearer b", false))
                .starts_with("HTTP/1.1 200")
        );
    }

    #[test]
    fn bad_routes() {
        for (bad, want) in [
            (
                "[[route]]\npath = \"/\"\nstatsu = 200\n",
                ":3: unknown field `statsu`",
            ),
            (
                "[[route]]\npath = \"/x/{id}\"\nbody = '{{name}}'\n",
                "no path parameter",
            ),
            ("[[route]]\npath = \"/\"\nerror_rate = 2.0\n", "error_rate"),
            (
                "[[route]]\npath = \"/\"\ndelay = \"fast\"\n",
                "not a duration",
            ),
            ("", "no [[route]]"),
        ] {
            let err = Routes::parse(bad, Path::new("r.toml"))
                .unwrap_err()
                .to_string();
            assert!(err.contains(want), "{err}");
        }
    }
}
