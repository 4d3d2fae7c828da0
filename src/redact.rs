//! What must never be shown: credentials in a URL's userinfo, secrets in its query (`api_key=`,
//! `token=`, …) and the values of credential headers. Every message, report and page goes through here.

/// Headers whose values are secrets.
pub fn is_sensitive_header(name: &str) -> bool {
    ["authorization", "proxy-authorization", "cookie"]
        .iter()
        .any(|s| name.trim().eq_ignore_ascii_case(s))
}

/// Query parameters whose values are secrets (compared without case, `-` and `_`).
const SECRET_PARAMS: &[&str] = &[
    "apikey",
    "key",
    "token",
    "accesstoken",
    "refreshtoken",
    "idtoken",
    "authtoken",
    "signature",
    "sig",
    "password",
    "passwd",
    "pwd",
    "secret",
    "clientsecret",
    "auth",
    "session",
    "sessionid",
    "xamzsignature",
    "xamzsecuritytoken",
];

/// Whether a query parameter's value is a secret.
pub fn is_secret_param(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    SECRET_PARAMS.contains(&folded.as_str())
}

/// A path (or anything with a `?query`) with the values of secret parameters replaced by `***`.
pub fn query(path: &str) -> String {
    let Some((before, q)) = path.split_once('?') else {
        return path.to_string();
    };
    let (q, fragment) = match q.split_once('#') {
        Some((q, f)) => (q, Some(f)),
        None => (q, None),
    };
    let params: Vec<String> = q
        .split('&')
        .map(|p| match p.split_once('=') {
            Some((k, _)) if is_secret_param(k) => format!("{k}=***"),
            _ => p.to_string(),
        })
        .collect();
    let mut out = format!("{before}?{}", params.join("&"));
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// A URL with any `user:password@` replaced by `***@` and secret query values by `***`.
pub fn url(url: &str) -> String {
    query(&userinfo(url))
}

/// A URL with any `user:password@` replaced by `***@` (its query as it is: what is requested).
pub fn userinfo(url: &str) -> String {
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

/// A URL whose userinfo is ambiguous (see `target::parse_url`) shown with everything from the
/// scheme to its last `@` hidden: which part is the password cannot be told.
pub fn ambiguous_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    match url[scheme_end..].rfind('@') {
        Some(at) => query(&format!(
            "{}***{}",
            &url[..scheme_end],
            &url[scheme_end + at..]
        )),
        None => self::url(url),
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

    #[test]
    fn hides_secret_query_values() {
        assert_eq!(
            url("https://h/x?api_key=abc&page=2&Access-Token=t#top"),
            "https://h/x?api_key=***&page=2&Access-Token=***#top"
        );
        assert_eq!(query("/s?q=rust&sig=zz"), "/s?q=rust&sig=***");
        assert_eq!(query("/plain"), "/plain");
        assert_eq!(query("/k?monkey=1&key=2"), "/k?monkey=1&key=***");
        assert_eq!(ambiguous_url("http://u:pa#ss@h/x"), "http://***@h/x");
    }
}
