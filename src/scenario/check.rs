//! Checks of a response's body beyond its status (Locust's `catch_response` on `r.text` and
//! `r.json()`): text it must have, lack or be, and JSON values. Runs only for tasks that check.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::capture;
use super::program::Source;

/// A task's `check` table, as the scenario file writes it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckFile {
    /// Text the body must contain, each.
    #[serde(default)]
    pub body_has: Vec<String>,
    /// Text the body must not contain, any.
    #[serde(default)]
    pub body_lacks: Vec<String>,
    /// The whole body, exactly.
    pub body_is: Option<String>,
    /// JSON pointer → the value it must hold (strings unquoted; numbers and booleans as
    /// written in JSON).
    #[serde(default)]
    pub json: BTreeMap<String, String>,
    /// JSON pointer → a value it must not hold.
    #[serde(default)]
    pub json_not: BTreeMap<String, String>,
}

/// The checks a response must pass to count as a success.
#[derive(Debug, Clone, PartialEq)]
pub struct Checks {
    has: Vec<Vec<u8>>,
    lacks: Vec<Vec<u8>>,
    is: Option<Vec<u8>>,
    json: Vec<(String, Vec<u8>)>,
    json_not: Vec<(String, Vec<u8>)>,
}

impl Checks {
    /// The checks of a file's table; None when it checks nothing. A pointer must start with `/`.
    pub fn new(f: &CheckFile) -> Result<Option<Self>, String> {
        for p in f.json.keys().chain(f.json_not.keys()) {
            if !p.starts_with('/') {
                return Err(format!(
                    "check: '{p}' is not a JSON pointer (write it as \"/{p}\")"
                ));
            }
        }
        let c = Self {
            has: f.body_has.iter().map(|s| s.as_bytes().to_vec()).collect(),
            lacks: f.body_lacks.iter().map(|s| s.as_bytes().to_vec()).collect(),
            is: f.body_is.as_ref().map(|s| s.as_bytes().to_vec()),
            json: pairs(&f.json),
            json_not: pairs(&f.json_not),
        };
        let empty = c.has.is_empty()
            && c.lacks.is_empty()
            && c.is.is_none()
            && c.json.is_empty()
            && c.json_not.is_empty();
        Ok((!empty).then_some(c))
    }

    /// Whether a whole response (head and body, as received; None: not kept, being larger
    /// than the capture limit) passes every check.
    pub fn pass(&self, raw: Option<&[u8]>) -> bool {
        let Some(raw) = raw else { return false };
        let Some(body) = capture::body(raw) else {
            return false;
        };
        let found =
            |needle: &[u8]| needle.is_empty() || body.windows(needle.len()).any(|w| w == needle);
        if !self.has.iter().all(|n| found(n)) || self.lacks.iter().any(|n| found(n)) {
            return false;
        }
        if self.is.as_ref().is_some_and(|is| *is != body) {
            return false;
        }
        let value = |p: &str| capture::extract(raw, &Source::Json(p.to_string()));
        self.json.iter().all(|(p, v)| value(p).as_ref() == Some(v))
            && self
                .json_not
                .iter()
                .all(|(p, v)| value(p).as_ref() != Some(v))
    }
}

fn pairs(m: &BTreeMap<String, String>) -> Vec<(String, Vec<u8>)> {
    m.iter()
        .map(|(k, v)| (k.clone(), v.as_bytes().to_vec()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks(toml_text: &str) -> Checks {
        let f: CheckFile = toml::from_str(toml_text).unwrap();
        Checks::new(&f).unwrap().unwrap()
    }

    #[test]
    fn body_text_and_json_values_decide() {
        let ok =
            b"HTTP/1.1 200 OK\r\nContent-Length: 29\r\n\r\n{\"status\":\"ok\",\"count\":3,\"x\":1}";
        let bad = b"HTTP/1.1 200 OK\r\nContent-Length: 17\r\n\r\n{\"status\":\"error\"}";
        let c = checks(
            r#"body_has = ["status"]
body_lacks = ["error"]
json = { "/status" = "ok", "/count" = "3" }"#,
        );
        assert!(c.pass(Some(ok)));
        assert!(!c.pass(Some(bad)));
        assert!(
            !c.pass(None),
            "a response too large to keep fails its checks"
        );
        let not = checks(r#"json_not = { "/status" = "error" }"#);
        assert!(not.pass(Some(ok)) && !not.pass(Some(bad)));
        let is = checks(r#"body_is = "Success""#);
        assert!(is.pass(Some(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nSuccess")));
        assert!(!is.pass(Some(
            b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nSuccess!"
        )));
        let chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nSuc\r\n4\r\ncess\r\n0\r\n\r\n";
        assert!(is.pass(Some(chunked)));
    }

    #[test]
    fn empty_tables_and_bad_pointers() {
        assert_eq!(Checks::new(&CheckFile::default()), Ok(None));
        let f = CheckFile {
            json: [("status".to_string(), "ok".to_string())].into(),
            ..CheckFile::default()
        };
        assert!(Checks::new(&f).unwrap_err().contains("\"/status\""));
    }
}
