//! Serializes a request once into bytes that every send reuses (or repeats for a pipelined batch).
//! Adds Host, Content-Length and User-Agent unless the user supplied them.

/// Everything needed to build the bytes of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestSpec {
    pub method: String,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Value of the Host header (host, plus `:port` when not 80).
    pub host: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RequestSpec {
    /// True for HEAD, whose responses carry no body.
    pub fn is_head(&self) -> bool {
        self.method.eq_ignore_ascii_case("HEAD")
    }

    /// The request as it goes on the wire.
    pub fn serialize(&self) -> Vec<u8> {
        let has = |name: &str| {
            self.headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        let mut out = Vec::with_capacity(128 + self.body.len());
        out.extend_from_slice(self.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        if !has("host") {
            push_header(&mut out, "Host", &self.host);
        }
        if !has("user-agent") {
            push_header(
                &mut out,
                "User-Agent",
                concat!("ringblast/", env!("CARGO_PKG_VERSION")),
            );
        }
        for (k, v) in &self.headers {
            push_header(&mut out, k, v);
        }
        let body_method = matches!(
            self.method.to_ascii_uppercase().as_str(),
            "POST" | "PUT" | "PATCH"
        );
        if !has("content-length")
            && !has("transfer-encoding")
            && (body_method || !self.body.is_empty())
        {
            push_header(&mut out, "Content-Length", &self.body.len().to_string());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Checks a header name and value typed by the user (no CR/LF injection, a token name).
pub fn validate_header(name: &str, value: &str) -> Result<(), String> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(format!(
            "header name '{}' is not a valid HTTP token",
            name.escape_debug()
        ));
    }
    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(format!(
            "header '{}' has a line break or NUL in its value",
            name.escape_debug()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(method: &str, body: &[u8]) -> RequestSpec {
        RequestSpec {
            method: method.into(),
            path: "/a?b=1".into(),
            host: "127.0.0.1:8080".into(),
            headers: vec![("X-Test".into(), "1".into())],
            body: body.to_vec(),
        }
    }

    #[test]
    fn get_has_host_and_no_length() {
        let s = String::from_utf8(spec("GET", b"").serialize()).unwrap();
        assert!(s.starts_with("GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"));
        assert!(s.contains("X-Test: 1\r\n"));
        assert!(!s.contains("Content-Length"));
        assert!(s.ends_with("\r\n\r\n"));
    }

    #[test]
    fn post_has_length_and_body() {
        let s = String::from_utf8(spec("POST", b"{\"a\":1}").serialize()).unwrap();
        assert!(s.ends_with("Content-Length: 7\r\n\r\n{\"a\":1}"));
        let empty = String::from_utf8(spec("POST", b"").serialize()).unwrap();
        assert!(empty.contains("Content-Length: 0\r\n"));
    }

    #[test]
    fn user_headers_win() {
        let mut s = spec("GET", b"");
        s.headers.push(("host".into(), "example".into()));
        let text = String::from_utf8(s.serialize()).unwrap();
        assert!(!text.contains("127.0.0.1"));
        assert!(text.contains("host: example\r\n"));
    }

    #[test]
    fn header_validation() {
        assert!(validate_header("X-A", "b").is_ok());
        assert!(validate_header("X A", "b").is_err());
        assert!(validate_header("X", "a\r\nInjected: 1").is_err());
    }
}
