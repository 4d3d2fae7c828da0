//! The request a plain `run URL` describes, and header validation. Its bytes are made by the one
//! serializer production uses, `scenario::program::RequestTemplate::render`.

use crate::error::InvalidValue;

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
}

/// Checks a header name and value typed by the user (no CR/LF injection, a token name).
pub fn validate_header(name: &str, value: &str) -> Result<(), InvalidValue> {
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    if name.is_empty() || !name.chars().all(token) {
        return Err(InvalidValue::from(format!(
            "header name '{}' is not a valid HTTP token",
            name.escape_debug()
        )));
    }
    if value.chars().any(|c| c == '\r' || c == '\n' || c == '\0') {
        return Err(InvalidValue::from(format!(
            "header '{}' has a line break or NUL in its value",
            name.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_validation() {
        assert!(validate_header("X-A", "b").is_ok());
        assert!(validate_header("X A", "b").is_err());
        assert!(validate_header("X", "a\r\nInjected: 1").is_err());
    }
}
