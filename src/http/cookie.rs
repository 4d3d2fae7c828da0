//! One user's cookie jar for one target host (RFC 6265): Set-Cookie fields stored with their
//! path, expiry and Secure flag, and the Cookie header a request to a path carries. Pure; no I/O.

/// The most cookies one user keeps, and the longest name plus value: RFC 6265 §6.1's minimums,
/// so a hostile server cannot grow a user's memory.
const MAX_COOKIES: usize = 50;
const MAX_COOKIE_BYTES: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Cookie {
    name: Vec<u8>,
    value: Vec<u8>,
    path: Vec<u8>,
    /// When it expires, on the worker's clock (µs); None lasts the session (the run).
    expires_us: Option<u64>,
    secure: bool,
}

/// The time a Set-Cookie is applied: the worker's clock, for storing expiries, and the wall
/// clock's Unix seconds, for reading `Expires` dates.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub us: u64,
    pub unix_s: i64,
}

/// A user's cookies, in the order they were created.
#[derive(Debug, Clone, Default)]
pub struct Jar {
    cookies: Vec<Cookie>,
}

impl Jar {
    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }

    /// Applies every Set-Cookie field of a response head (status line and fields, as received)
    /// to a request for `request_path` on `host`; true when the jar changed.
    pub fn apply_head(&mut self, head: &[u8], request_path: &[u8], host: &str, now: Now) -> bool {
        let mut changed = false;
        for line in head.split(|&b| b == b'\n').skip(1) {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                continue;
            };
            if line[..colon]
                .trim_ascii()
                .eq_ignore_ascii_case(b"set-cookie")
            {
                changed |= self.apply(line[colon + 1..].trim_ascii(), request_path, host, now);
            }
        }
        changed
    }

    /// Applies one Set-Cookie value (RFC 6265 §5.2 and §5.3); true when the jar changed.
    pub fn apply(&mut self, value: &[u8], request_path: &[u8], host: &str, now: Now) -> bool {
        let mut parts = value.split(|&b| b == b';');
        let pair = parts.next().unwrap_or_default();
        let Some(eq) = pair.iter().position(|&b| b == b'=') else {
            return false;
        };
        let (name, val) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
        if name.is_empty() || name.len() + val.len() > MAX_COOKIE_BYTES {
            return false;
        }
        let (mut max_age, mut expires, mut path, mut secure) = (None, None, None, false);
        for attr in parts {
            let (key, v) = match attr.iter().position(|&b| b == b'=') {
                Some(i) => (attr[..i].trim_ascii(), attr[i + 1..].trim_ascii()),
                None => (attr.trim_ascii(), &b""[..]),
            };
            if key.eq_ignore_ascii_case(b"max-age") {
                max_age = parse_max_age(v).or(max_age);
            } else if key.eq_ignore_ascii_case(b"expires") {
                expires = parse_date(v).or(expires);
            } else if key.eq_ignore_ascii_case(b"domain") {
                let domain = v.strip_prefix(b".").unwrap_or(v);
                if !domain.is_empty() && !domain_matches(host.as_bytes(), domain) {
                    return false; // For another host: refused (§5.3 step 6).
                }
            } else if key.eq_ignore_ascii_case(b"path") {
                path = v.starts_with(b"/").then(|| v.to_vec());
            } else if key.eq_ignore_ascii_case(b"secure") {
                secure = true;
            }
        }
        // Max-Age wins over Expires (§5.3 step 3); zero or less, or a past date, deletes.
        let expires_us = match (max_age, expires) {
            (Some(s), _) if s <= 0 => Some(0),
            (Some(s), _) => Some(now.us.saturating_add((s as u64).saturating_mul(1_000_000))),
            (None, Some(t)) if t <= now.unix_s => Some(0),
            (None, Some(t)) => Some(now.us.saturating_add((t - now.unix_s) as u64 * 1_000_000)),
            (None, None) => None,
        };
        let cookie = Cookie {
            name: name.to_vec(),
            value: val.to_vec(),
            path: path.unwrap_or_else(|| default_path(request_path)),
            expires_us,
            secure,
        };
        let old = self
            .cookies
            .iter()
            .position(|c| c.name == cookie.name && c.path == cookie.path);
        let expired = expires_us.is_some_and(|t| t <= now.us);
        match old {
            Some(i) if expired => {
                self.cookies.remove(i);
                true
            }
            None if expired => false,
            // Replacing keeps the old one's place (its creation time, §5.3 step 11).
            Some(i) if self.cookies[i] == cookie => false,
            Some(i) => {
                self.cookies[i] = cookie;
                true
            }
            None if self.cookies.len() >= MAX_COOKIES => false,
            None => {
                self.cookies.push(cookie);
                true
            }
        }
    }

    /// Drops the cookies that have expired by `now_us`; true when any did.
    pub fn expire(&mut self, now_us: u64) -> bool {
        let before = self.cookies.len();
        self.cookies
            .retain(|c| c.expires_us.is_none_or(|t| t > now_us));
        self.cookies.len() != before
    }

    /// The earliest time a cookie expires (when `expire` has work), if any does.
    pub fn next_expiry(&self) -> Option<u64> {
        self.cookies.iter().filter_map(|c| c.expires_us).min()
    }

    /// The value of a Cookie header for a request to `path` (`secure`: over TLS): the cookies
    /// whose path matches, longest path first, then oldest first (§5.4). Empty when none.
    pub fn header(&self, path: &[u8], secure: bool) -> Vec<u8> {
        let path = path.split(|&b| b == b'?').next().unwrap_or_default();
        let mut matching: Vec<&Cookie> = self
            .cookies
            .iter()
            .filter(|c| (secure || !c.secure) && path_matches(path, &c.path))
            .collect();
        matching.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let mut out = Vec::new();
        for c in matching {
            if !out.is_empty() {
                out.extend_from_slice(b"; ");
            }
            out.extend_from_slice(&c.name);
            out.push(b'=');
            out.extend_from_slice(&c.value);
        }
        out
    }

    /// The value of the cookie `name` (the longest path's, when several share the name).
    pub fn get(&self, name: &[u8]) -> Option<&[u8]> {
        self.cookies
            .iter()
            .filter(|c| c.name == name)
            .max_by_key(|c| c.path.len())
            .map(|c| c.value.as_slice())
    }
}

/// §5.1.4: the request path up to its last `/`, or `/`.
fn default_path(request_path: &[u8]) -> Vec<u8> {
    let path = request_path
        .split(|&b| b == b'?')
        .next()
        .unwrap_or_default();
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) if i > 0 && path.starts_with(b"/") => path[..i].to_vec(),
        _ => b"/".to_vec(),
    }
}

/// §5.1.4: the cookie's path is the request's, or a prefix of it ending at a `/`.
fn path_matches(request: &[u8], cookie: &[u8]) -> bool {
    request == cookie
        || (request.starts_with(cookie)
            && (cookie.ends_with(b"/") || request.get(cookie.len()) == Some(&b'/')))
}

/// §5.1.3, for the one host of a run: the host itself, or a name below the domain.
fn domain_matches(host: &[u8], domain: &[u8]) -> bool {
    let host = host.to_ascii_lowercase();
    let domain = domain.to_ascii_lowercase();
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(&domain)
            && host[host.len() - domain.len() - 1] == b'.'
            && !host.iter().all(|b| b.is_ascii_digit() || *b == b'.'))
}

/// §5.2.2: an optional `-` and digits; anything else ignores the attribute.
fn parse_max_age(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.strip_prefix(b"-") {
        Some(rest) => (true, rest),
        None => (false, v),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits.iter().try_fold(0i64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(i64::from(d - b'0'))
    });
    // Beyond i64: as good as forever (or, negative, as good as now).
    let n = n.unwrap_or(i64::MAX / 2_000_000);
    Some(if neg { -n } else { n.min(i64::MAX / 2_000_000) })
}

/// §5.1.1's lenient cookie date: a time, a day of month, a month name and a year in any order,
/// among delimiters. Returns Unix seconds, or None when the date is not valid.
pub fn parse_date(v: &[u8]) -> Option<i64> {
    let delimiter = |b: u8| {
        b == 0x09
            || (0x20..=0x2f).contains(&b)
            || (0x3b..=0x40).contains(&b)
            || (0x5b..=0x60).contains(&b)
            || (0x7b..=0x7e).contains(&b)
    };
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in v.split(|&b| delimiter(b)).filter(|t| !t.is_empty()) {
        if time.is_none()
            && let Some(t) = parse_time(token)
        {
            time = Some(t);
        } else if day.is_none()
            && let Some(d) = leading_number(token, 1, 2)
        {
            day = Some(d);
        } else if month.is_none()
            && let Some(m) = month_of(token)
        {
            month = Some(m);
        } else if year.is_none()
            && let Some(y) = leading_number(token, 2, 4)
        {
            year = Some(y);
        }
    }
    let (h, mi, s) = time?;
    let (day, month, mut year) = (day?, month?, year?);
    if (70..=99).contains(&year) {
        year += 1900;
    } else if year <= 69 {
        year += 2000;
    }
    if !(1..=31).contains(&day) || year < 1601 || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = days_from_civil(year as i64, month, day as i64);
    Some(days * 86_400 + (h * 3_600 + mi * 60 + s) as i64)
}

/// 1–2 digits `:` 1–2 digits `:` 1–2 digits, then anything that is not a digit.
fn parse_time(token: &[u8]) -> Option<(u32, u32, u32)> {
    let mut fields = token.splitn(3, |&b| b == b':');
    let h = leading_number(fields.next()?, 1, 2)?;
    let m = leading_number(fields.next()?, 1, 2)?;
    let rest = fields.next()?;
    let s = leading_number(rest, 1, 2)?;
    // Only the seconds may be followed by other characters.
    let exact = |t: &[u8]| t.iter().all(u8::is_ascii_digit);
    let mut parts = token.splitn(3, |&b| b == b':');
    (exact(parts.next()?) && exact(parts.next()?)).then_some((h, m, s))
}

/// `min..=max` leading digits, then nothing or a non-digit.
fn leading_number(token: &[u8], min: usize, max: usize) -> Option<u32> {
    let n = token.iter().take_while(|b| b.is_ascii_digit()).count();
    if n < min || n > max {
        return None;
    }
    Some(
        token[..n]
            .iter()
            .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0')),
    )
}

fn month_of(token: &[u8]) -> Option<u32> {
    const MONTHS: [&[u8; 3]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let head = token.get(..3)?.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|m| m[..] == head[..])
        .map(|i| i as u32 + 1)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Now = Now {
        us: 10_000_000,
        unix_s: 1_700_000_000,
    };

    fn jar(fields: &[&str], path: &str) -> Jar {
        let mut j = Jar::default();
        for f in fields {
            j.apply(f.as_bytes(), path.as_bytes(), "api.example.test", NOW);
        }
        j
    }

    #[test]
    fn dates_in_the_forms_servers_send() {
        let t = 784_111_777; // Sun, 06 Nov 1994 08:49:37 GMT
        for d in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "06 nov 1994 08:49:37",
        ] {
            assert_eq!(parse_date(d.as_bytes()), Some(t), "{d}");
        }
        assert_eq!(parse_date(b"Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_date(b"Wed, 29 Feb 2040 23:59:59 GMT"),
            Some(2_214_172_799)
        );
        for bad in [
            "",
            "tomorrow",
            "Sun, 06 Nov 1994",
            "Sun, 32 Nov 1994 08:49:37",
            "06 Nov 1994 25:00:00",
        ] {
            assert_eq!(parse_date(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn stores_replaces_and_sends_by_path() {
        let mut j = jar(
            &["sessionid=abc; Path=/; HttpOnly", "csrftoken=t1; Path=/"],
            "/login/",
        );
        assert_eq!(
            j.header(b"/api/items?x=1", false),
            b"sessionid=abc; csrftoken=t1"
        );
        assert_eq!(j.get(b"csrftoken"), Some(&b"t1"[..]));
        // The same name and path replaces the value, in its old place; an equal one changes nothing.
        assert!(j.apply(b"sessionid=def; Path=/", b"/", "api.example.test", NOW));
        assert!(!j.apply(b"sessionid=def; Path=/", b"/", "api.example.test", NOW));
        assert_eq!(j.header(b"/", false), b"sessionid=def; csrftoken=t1");
        // The default path is the request's directory; a longer path goes first.
        j.apply(b"cart=9", b"/shop/basket", "api.example.test", NOW);
        assert_eq!(
            j.header(b"/shop/items", false),
            b"cart=9; sessionid=def; csrftoken=t1"
        );
        assert_eq!(
            j.header(b"/shopping", false),
            b"sessionid=def; csrftoken=t1"
        );
        assert_eq!(
            j.header(b"/shop", false),
            b"cart=9; sessionid=def; csrftoken=t1"
        );
    }

    #[test]
    fn expiry_deletion_and_max_age_over_expires() {
        let mut j = jar(
            &[
                "a=1; Max-Age=5",
                "b=2; Expires=Wed, 01 Jan 2070 00:00:00 GMT",
            ],
            "/",
        );
        assert_eq!(j.next_expiry(), Some(15_000_000));
        assert!(!j.expire(14_999_999));
        assert!(j.expire(15_000_000));
        assert_eq!(j.header(b"/", false), b"b=2");
        // Max-Age wins over a past Expires; a zero Max-Age or a past date deletes.
        j.apply(
            b"c=3; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60",
            b"/",
            "h",
            NOW,
        );
        assert_eq!(j.get(b"c"), Some(&b"3"[..]));
        assert!(j.apply(b"c=; Max-Age=0", b"/", "h", NOW));
        assert!(j.apply(
            b"b=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
            b"/",
            "h",
            NOW
        ));
        assert!(j.is_empty());
        // Deleting what is not there changes nothing.
        assert!(!j.apply(b"z=1; Max-Age=-1", b"/", "h", NOW));
    }

    #[test]
    fn refuses_other_domains_bad_pairs_and_unbounded_growth() {
        let mut j = Jar::default();
        let host = "api.example.test";
        assert!(!j.apply(b"a=1; Domain=other.test", b"/", host, NOW));
        assert!(j.apply(b"b=1; Domain=.example.test", b"/", host, NOW));
        assert!(j.apply(b"c=1; Domain=API.example.test", b"/", host, NOW));
        assert!(!j.apply(b"no-equals-sign", b"/", host, NOW));
        assert!(!j.apply(b"=1", b"/", host, NOW));
        assert!(!j.apply(b"d=1; Domain=0.0.1", b"/", "127.0.0.1", NOW));
        let big = format!("e={}", "x".repeat(MAX_COOKIE_BYTES));
        assert!(!j.apply(big.as_bytes(), b"/", host, NOW));
        for i in 0..100 {
            j.apply(format!("n{i}=v").as_bytes(), b"/", host, NOW);
        }
        assert_eq!(j.cookies.len(), MAX_COOKIES);
        // Secure cookies go only over TLS.
        let mut s = Jar::default();
        s.apply(b"s=1; Secure", b"/", host, NOW);
        assert_eq!(s.header(b"/", false), b"");
        assert_eq!(s.header(b"/", true), b"s=1");
    }

    #[test]
    fn reads_every_set_cookie_field_of_a_head() {
        let head = b"HTTP/1.1 302 Found\r\nLocation: /\r\nset-cookie: a=1; Path=/\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n";
        let mut j = Jar::default();
        assert!(j.apply_head(head, b"/login", "h", NOW));
        assert_eq!(j.header(b"/x", false), b"a=1; b=2");
        assert!(!j.apply_head(head, b"/login", "h", NOW));
    }
}
