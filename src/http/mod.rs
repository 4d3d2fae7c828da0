//! HTTP/1.1 codec: requests serialized once, responses and requests parsed incrementally.
//! Pure byte-level code with no I/O; the engine feeds it whatever the transport delivered.

pub mod chunked;
pub mod request;
pub mod request_parser;
pub mod response;

/// Largest response or request head accepted before the peer is declared malformed.
pub const MAX_HEAD: usize = 64 * 1024;

/// Whether a `Connection` header value carries the given token (case-insensitive, comma list).
pub(crate) fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Parses a Content-Length value: ASCII digits only, no sign, no overflow.
pub(crate) fn parse_content_length(value: &[u8]) -> Option<u64> {
    let v = value.trim_ascii();
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// Whether the last transfer coding in a Transfer-Encoding value is `chunked`.
pub(crate) fn is_chunked(value: &[u8]) -> bool {
    value
        .rsplit(|&b| b == b',')
        .next()
        .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
}
