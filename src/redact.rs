//! What must never be shown: credentials in a URL's userinfo and the values of credential headers
//! (Authorization, Cookie, Proxy-Authorization). Every message, report and page goes through here.

/// Headers whose values are secrets.
pub fn is_sensitive_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie"]
        .iter()
        .any(|s| name.trim().eq_ignore_ascii_case(s))
}

/// A URL with any `user:password@` replaced by `***@`.
pub fn url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &url[..scheme_end], &rest[at..]),
        None => url.to_string(),
    }
}

/// A `Name: value` line (as given to `-H`) with the value hidden when the header is sensitive.
pub fn header_line(line: &str) -> String {
    let name = line.split([':', ' ']).next().unwrap_or("");
    if is_sensitive_header(name) {
        format!("{name}: ***")
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_userinfo_and_credential_headers() {
        assert_eq!(url("http://u:p%40ss@h:80/x?y@z"), "http://***@h:80/x?y@z");
        assert_eq!(url("http://h/a@b"), "http://h/a@b");
        assert_eq!(url("not a url"), "not a url");
        assert_eq!(
            header_line("Authorization: Bearer s3cret"),
            "Authorization: ***"
        );
        assert_eq!(header_line("cookie sid=1"), "cookie: ***");
        assert_eq!(header_line("Accept: */*"), "Accept: */*");
        assert!(is_sensitive_header("Proxy-Authorization"));
    }
}
