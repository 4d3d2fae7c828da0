//! Parses and resolves the target URL (`http://host[:port]/path?query`) into a socket address.
//! TLS is not implemented yet; `https://` is rejected with a clear message.

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
}

/// Splits a URL into (host, port, path) without resolving it.
pub fn parse_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = if let Some(r) = url.strip_prefix("http://") {
        r
    } else if url.starts_with("https://") {
        return Err(format!(
            "'{url}': https is not supported yet (TLS is planned); use http://"
        ));
    } else if url.contains("://") {
        return Err(format!("'{url}': only http:// URLs are supported"));
    } else {
        return Err(format!(
            "'{url}' is not a URL (expected http://host[:port]/path)"
        ));
    };
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) if rest.as_bytes()[i] == b'/' => (&rest[..i], rest[i..].to_string()),
        Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
        None => (rest, "/".to_string()),
    };
    let path = path.split('#').next().unwrap_or("/").to_string();
    if authority.contains('@') {
        return Err(format!(
            "'{url}': credentials in URLs are not supported; use -H 'Authorization: ...'"
        ));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("'{url}': unclosed '[' in IPv6 host"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => parse_port(p, url)?,
            None if after.is_empty() => 80,
            None => return Err(format!("'{url}': unexpected text after IPv6 host")),
        };
        (h.to_string(), port)
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), parse_port(p, url)?),
            None => (authority.to_string(), 80),
        }
    };
    if host.is_empty() {
        return Err(format!("'{url}' has no host"));
    }
    if path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(format!(
            "'{url}': the path has spaces or control characters; percent-encode them"
        ));
    }
    Ok((host, port, path))
}

fn parse_port(p: &str, url: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("'{url}': '{p}' is not a valid port")),
        Ok(n) => Ok(n),
    }
}

impl Target {
    /// Parses and resolves (DNS or literal) a URL; the first address returned is used.
    pub fn resolve(url: &str) -> Result<Self, String> {
        let (host, port, path) = parse_url(url)?;
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
        let authority = if port == 80 {
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
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        assert_eq!(
            parse_url("http://127.0.0.1:8080/a/b?x=1").unwrap(),
            ("127.0.0.1".into(), 8080, "/a/b?x=1".into())
        );
        assert_eq!(
            parse_url("http://localhost").unwrap(),
            ("localhost".into(), 80, "/".into())
        );
        assert_eq!(
            parse_url("http://[::1]:9/x").unwrap(),
            ("::1".into(), 9, "/x".into())
        );
        assert_eq!(
            parse_url("http://h?q=1").unwrap(),
            ("h".into(), 80, "/?q=1".into())
        );
        assert_eq!(
            parse_url("http://h/p#frag").unwrap(),
            ("h".into(), 80, "/p".into())
        );
    }

    #[test]
    fn rejects_bad_urls() {
        for bad in [
            "https://h/",
            "ftp://h",
            "h:80",
            "http://:80/",
            "http://h:0/",
            "http://h:99999/",
            "http://[::1/",
            "http://u@h/",
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
    }
}
