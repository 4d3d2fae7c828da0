//! Pulls a captured value (a token, an id) out of one whole response: a JSON pointer into the
//! body, a header, or a regex over the body. Runs only for responses to tasks that capture.

use std::mem::MaybeUninit;

use super::program::Source;

/// The body of a complete response, de-chunked if needed, and the raw head.
/// Lower-cased header names with their values.
type Headers = Vec<(String, Vec<u8>)>;

fn split(raw: &[u8]) -> Option<(Headers, Vec<u8>)> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; 64];
    let mut resp = httparse::Response::new(&mut []);
    let n = match httparse::ParserConfig::default()
        .parse_response_with_uninit_headers(&mut resp, raw, &mut slots)
    {
        Ok(httparse::Status::Complete(n)) => n,
        _ => return None,
    };
    let headers: Vec<(String, Vec<u8>)> = resp
        .headers
        .iter()
        .map(|h| (h.name.to_ascii_lowercase(), h.value.to_vec()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && crate::http::is_chunked(v));
    let body = &raw[n..];
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Some((headers, body))
}

/// Decodes a complete chunked body (extensions and trailers ignored).
fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.iter().position(|&b| b == b'\n')?;
        let line = std::str::from_utf8(&data[..line_end]).ok()?.trim();
        let size = usize::from_str_radix(line.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 1..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size..)?;
        data = data
            .strip_prefix(b"\r\n")
            .or_else(|| data.strip_prefix(b"\n"))?;
    }
}

/// The body of a whole response (de-chunked), or None when its head does not parse.
pub fn body(raw: &[u8]) -> Option<Vec<u8>> {
    split(raw).map(|(_, body)| body)
}

/// The captured value, or None if the response does not have it. Values that could break a
/// request (control characters) are refused.
pub fn extract(raw: &[u8], source: &Source) -> Option<Vec<u8>> {
    let (headers, body) = split(raw)?;
    let value = match source {
        Source::Json(pointer) => {
            let doc: serde_json::Value = serde_json::from_slice(&body).ok()?;
            match doc.pointer(pointer)? {
                serde_json::Value::String(s) => s.as_bytes().to_vec(),
                serde_json::Value::Null => return None,
                other => other.to_string().into_bytes(),
            }
        }
        Source::Header(name, re) => {
            let name = name.to_ascii_lowercase();
            let value = headers.into_iter().find(|(k, _)| *k == name)?.1;
            match re {
                None => value,
                Some(re) => {
                    let caps = re.captures(&value)?;
                    caps.get(1).or_else(|| caps.get(0))?.as_bytes().to_vec()
                }
            }
        }
        Source::Body(re) => {
            let caps = re.captures(&body)?;
            caps.get(1).or_else(|| caps.get(0))?.as_bytes().to_vec()
        }
    };
    (!value.iter().any(|b| b.is_ascii_control())).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_header_and_regex() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Length: 33\r\nX-Session: s-42\r\n\r\n{\"access\":\"tok-1\",\"user\":{\"id\":7}}";
        assert_eq!(
            extract(raw, &Source::Json("/access".into())),
            Some(b"tok-1".to_vec())
        );
        assert_eq!(
            extract(raw, &Source::Json("/user/id".into())),
            Some(b"7".to_vec())
        );
        assert_eq!(extract(raw, &Source::Json("/missing".into())), None);
        assert_eq!(
            extract(raw, &Source::Header("x-session".into(), None)),
            Some(b"s-42".to_vec())
        );
        let re = regex::bytes::Regex::new(r"s-(\d+)").unwrap();
        assert_eq!(
            extract(raw, &Source::Header("X-Session".into(), Some(re))),
            Some(b"42".to_vec())
        );
        let re = regex::bytes::Regex::new(r#""access":"([^"]+)""#).unwrap();
        assert_eq!(extract(raw, &Source::Body(re)), Some(b"tok-1".to_vec()));
    }

    #[test]
    fn chunked_bodies_and_unsafe_values() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n{\"a\":\"b\r\n3;x=1\r\nc\"}\r\n0\r\n\r\n";
        assert_eq!(
            extract(raw, &Source::Json("/a".into())),
            Some(b"bc".to_vec())
        );
        let evil = b"HTTP/1.1 200 OK\r\nContent-Length: 16\r\n\r\n{\"a\":\"x\\r\\ny\"}";
        assert_eq!(
            extract(evil, &Source::Json("/a".into())),
            None,
            "CR/LF would inject headers"
        );
    }
}
