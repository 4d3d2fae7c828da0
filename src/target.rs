//! Parses and resolves the target URL (`http[s]://host[:port]/path?query`) into a socket address,
//! the Host header and whether the transport is TLS.

use crate::error::InvalidValue;

use std::net::{SocketAddr, ToSocketAddrs};

/// A parsed, resolved HTTP target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host as written in the URL (brackets removed from IPv6).
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
    /// The value for the Host header.
    pub authority: String,
    pub addr: SocketAddr,
    /// `Basic …` from the URL's `user:password@`, sent as Authorization unless one is given.
    pub authorization: Option<String>,
    /// `https://`: the transport is TLS.
    pub tls: bool,
}

/// A URL split into its parts, before resolving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

/// Splits a URL into its parts without resolving it. Credentials (`user:pass@`) are set aside
/// (see `basic_auth`) and never appear in a message.
pub fn parse_url(full: &str) -> Result<Url, InvalidValue> {
    check_userinfo(full)?;
    // Parsed without its credentials; messages show it without its query's secrets too.
    let parsed = crate::redact::userinfo(full);
    let shown = crate::redact::url(full);
    let url = shown.as_str();
    let (tls, rest) = if let Some(r) = parsed.strip_prefix("http://") {
        (false, r)
    } else if let Some(r) = parsed.strip_prefix("https://") {
        (true, r)
    } else if parsed.contains("://") {
        return Err(InvalidValue::from(format!(
            "'{url}': only http:// and https:// URLs are supported"
        )));
    } else {
        return Err(InvalidValue::from(format!(
            "'{url}' is not a URL (expected http[s]://host[:port]/path)"
        )));
    };
    let default_port = if tls { 443 } else { 80 };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let path = path.split('#').next().unwrap_or("/").to_string();
    let authority = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("'{url}': unclosed '[' in IPv6 host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p, url)?,
            None if after.is_empty() => default_port,
            None => {
                return Err(InvalidValue::from(format!(
                    "'{url}': unexpected text after IPv6 host"
                )));
            }
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), parse_port(p, url)?),
            None => (authority.to_string(), default_port),
        }
    };
    if host.is_empty() {
        return Err(InvalidValue::from(format!("'{url}' has no host")));
    }
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(InvalidValue::from(format!(
            "'{url}': the path has spaces or control characters; percent-encode them"
        )));
    }
    Ok(Url {
        tls,
        host,
        port,
        path,
    })
}

/// Refuses a URL whose `user:password@` holds a `/`, `?` or `#`: each ends the authority (RFC
/// 3986), so the URL would be split differently than its writer meant, and the password could
/// end up in the host, the port or the path, and on the screen.
fn check_userinfo(url: &str) -> Result<(), InvalidValue> {
    let Some(rest) = url.find("://").map(|i| &url[i + 3..]) else {
        return Ok(());
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') || !authority.contains(':') {
        return Ok(());
    }
    let port = authority.rsplit_once(':').map_or("", |(_, p)| p);
    let port_is_text =
        !port.is_empty() && !authority.starts_with('[') && port.parse::<u16>().is_err();
    let tail = &rest[end..];
    let at_before_path = tail
        .get(1..)
        .map(|t| &t[..t.find('/').unwrap_or(t.len())])
        .is_some_and(|seg| seg.contains('@'));
    let delimiter = tail.as_bytes().first().copied();
    if (port_is_text && tail.contains('@')) || (delimiter != Some(b'/') && at_before_path) {
        return Err(InvalidValue::from(format!(
            "'{}': the user:password seems to hold a '/', '?' or '#'; percent-encode them (%2F, %3F, %23)",
            crate::redact::ambiguous_url(url)
        )));
    }
    Ok(())
}

fn parse_port(p: &str, url: &str) -> Result<u16, InvalidValue> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(InvalidValue::from(format!(
            "'{url}': '{p}' is not a valid port"
        ))),
        Ok(n) => Ok(n),
    }
}

/// The `Authorization: Basic` value for a URL's `user:password@`, percent-decoded, if it has one.
pub fn basic_auth(url: &str) -> Option<String> {
    let rest = &url[url.find("://")? + 3..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let (userinfo, _) = authority.rsplit_once('@')?;
    Some(format!("Basic {}", base64(&percent_decode(userinfo))))
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Target {
    /// Parses and resolves (DNS or literal) a URL; the first address returned is used.
    pub fn resolve(url: &str) -> Result<Self, InvalidValue> {
        let Url {
            tls,
            host,
            port,
            path,
        } = parse_url(url)?;
        let authorization = basic_auth(url);
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve '{host}': {e}"))?
            .next()
            .ok_or_else(|| format!("'{host}' resolved to no address"))?;
        let host_part = if host.contains(':') {
            format!("[{host}]")
        } else {
            host.clone()
        };
        let authority = if port == if tls { 443 } else { 80 } {
            host_part
        } else {
            format!("{host_part}:{port}")
        };
        Ok(Self {
            host,
            port,
            path,
            authority,
            addr,
            authorization,
            tls,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_become_basic_auth_and_never_show() {
        assert_eq!(
            basic_auth("http://Aladdin:open%20sesame@h/").as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(basic_auth("http://h/a@b"), None);
        assert_eq!(
            parse_url("http://u:pw@h:81/x").unwrap(),
            Url {
                tls: false,
                host: "h".into(),
                port: 81,
                path: "/x".into()
            }
        );
        let err = parse_url("http://user:hunter2@h:0/").unwrap_err();
        assert!(!err.0.contains("hunter2"), "{err}");
        // A '#', '?' or '/' in the password: refused, shown redacted, never half-parsed.
        for (bad, secret) in [
            ("http://u:hun#ter2@h/", "hun"),
            ("http://u:hun/ter2@h/", "hun"),
            ("http://u:hun?ter2@h:81/x", "hun"),
            ("http://u:123#45@h/", "123#45"),
        ] {
            let err = parse_url(bad).unwrap_err();
            assert!(err.0.contains("percent-encode"), "{bad}: {err}");
            assert!(!err.0.contains(secret), "{bad}: {err}");
        }
        // What is not ambiguous still parses.
        assert!(parse_url("http://h/a@b").is_ok());
        assert!(parse_url("http://h:80/a@b").is_ok());
        assert!(parse_url("http://u:p%23ss@h/").is_ok());
        assert!(parse_url("http://[::1]:81/a@b").is_ok());
    }

    #[test]
    fn parses_forms() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/a/b?x=1").unwrap(),
            Url {
                tls: false,
                host: "127.0.0.1".into(),
                port: 8080,
                path: "/a/b?x=1".into()
            }
        );
        assert_eq!(
            parse_url("http://localhost").unwrap(),
            Url {
                tls: false,
                host: "localhost".into(),
                port: 80,
                path: "/".into()
            }
        );
        assert_eq!(
            parse_url("http://[::1]:9/x").unwrap(),
            Url {
                tls: false,
                host: "::1".into(),
                port: 9,
                path: "/x".into()
            }
        );
        assert_eq!(
            parse_url("http://h?q=1").unwrap(),
            Url {
                tls: false,
                host: "h".into(),
                port: 80,
                path: "/?q=1".into()
            }
        );
        assert_eq!(
            parse_url("http://h/p#frag").unwrap(),
            Url {
                tls: false,
                host: "h".into(),
                port: 80,
                path: "/p".into()
            }
        );
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "ftp://h",
            "h:80",
            "http://:80/",
            "http://h:0/",
            "http://h:99999/",
            "http://[::1/",
            "http://h/a b",
        ] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolves_loopback() {
        let t = Target::resolve("http://127.0.0.1:8080/x").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.authority, "127.0.0.1:8080");
        let v6 = Target::resolve("http://[::1]:81/").unwrap();
        assert_eq!(v6.authority, "[::1]:81");
        let s = Target::resolve("https://127.0.0.1/x").unwrap();
        assert!(s.tls && !v6.tls);
        assert_eq!((s.port, s.authority.as_str()), (443, "127.0.0.1"));
        let s = Target::resolve("https://127.0.0.1:8443/").unwrap();
        assert_eq!(s.authority, "127.0.0.1:8443");
    }
}
