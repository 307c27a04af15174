//! How long a response may be kept by the Workers Cache API, as Cloudflare reads a response's headers: the
//! `Cache-Control` directives (`s-maxage` over `max-age`; `no-store`, `no-cache` and `private` keep nothing), then
//! `Expires`, then Cloudflare's edge TTL for the status. A response with `Set-Cookie` is never kept, unless
//! `Cache-Control: private=Set-Cookie` says to keep it without that header.

/// What the cache may do with a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Keep {
    /// Keep it this many seconds, with these headers (`Set-Cookie` dropped when `private=Set-Cookie` allows it).
    For(u64, Vec<(String, String)>),
    /// Keep nothing; the reason, for logs and tests.
    Not(&'static str),
}

/// Cloudflare's edge TTL for a status when no header sets one (seconds; 0: not cached).
fn edge_ttl(status: u16) -> u64 {
    match status {
        200 | 206 | 301 => 120 * 60,
        302 | 303 => 20 * 60,
        404 | 410 => 3 * 60,
        _ => 0,
    }
}

/// One `Cache-Control` directive's name (lower-cased) and value, if any.
fn directives(value: &str) -> impl Iterator<Item = (String, Option<String>)> + '_ {
    value.split(',').filter_map(|d| {
        let d = d.trim();
        if d.is_empty() {
            return None;
        }
        Some(match d.split_once('=') {
            Some((k, v)) => (
                k.trim().to_ascii_lowercase(),
                Some(v.trim().trim_matches('"').to_string()),
            ),
            None => (d.to_ascii_lowercase(), None),
        })
    })
}

/// Whether and how long `status` with `headers` may be kept, at `now_unix` (seconds since the epoch).
pub fn keep(status: u16, headers: &[(String, String)], now_unix: i64) -> Keep {
    fn values<'h>(
        headers: &'h [(String, String)],
        name: &'static str,
    ) -> impl Iterator<Item = &'h str> {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    let header = |name: &'static str| values(headers, name);
    let mut max_age = None;
    let mut s_maxage = None;
    let mut drop_cookie = false;
    for value in header("cache-control") {
        for (name, arg) in directives(value) {
            match (name.as_str(), arg) {
                ("no-store", _) => return Keep::Not("Cache-Control: no-store"),
                ("no-cache", None) => return Keep::Not("Cache-Control: no-cache"),
                ("private", None) => return Keep::Not("Cache-Control: private"),
                ("private", Some(fields)) => {
                    drop_cookie |= fields
                        .split(',')
                        .any(|f| f.trim().eq_ignore_ascii_case("set-cookie"));
                }
                ("max-age", Some(v)) => max_age = v.parse::<u64>().ok().or(Some(0)),
                ("s-maxage", Some(v)) => s_maxage = v.parse::<u64>().ok().or(Some(0)),
                _ => {}
            }
        }
    }
    let has_cookie = header("set-cookie").next().is_some();
    if has_cookie && !drop_cookie {
        return Keep::Not("Set-Cookie");
    }
    let ttl = match s_maxage.or(max_age) {
        Some(ttl) => ttl,
        None => match header("expires").next() {
            Some(at) => httpdate_secs(at)
                .map(|at| (at - now_unix).max(0) as u64)
                .unwrap_or(0),
            None => edge_ttl(status),
        },
    };
    if ttl == 0 {
        return Keep::Not("expired or not cacheable for its status");
    }
    let kept = headers
        .iter()
        .filter(|(k, _)| !(drop_cookie && k.eq_ignore_ascii_case("set-cookie")))
        .cloned()
        .collect();
    Keep::For(ttl, kept)
}

/// An HTTP date (`Sun, 06 Nov 1994 08:49:37 GMT`) as seconds since the epoch.
fn httpdate_secs(s: &str) -> Option<i64> {
    let mut it = s.split_whitespace();
    let _weekday = it.next()?;
    let day: i64 = it.next()?.parse().ok()?;
    let month = match it.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = it.next()?.parse().ok()?;
    let mut hms = it.next()?.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    // Days since the epoch of a civil date (Howard Hinnant's algorithm).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3_600 + m * 60 + sec)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn cache_control_sets_the_ttl_and_s_maxage_wins() {
        assert_eq!(
            keep(200, &h(&[("Cache-Control", "public, max-age=60")]), 0),
            Keep::For(60, h(&[("Cache-Control", "public, max-age=60")]))
        );
        let both = h(&[("cache-control", "max-age=60, s-maxage=10")]);
        assert_eq!(keep(200, &both, 0), Keep::For(10, both.clone()));
        assert!(matches!(
            keep(200, &h(&[("cache-control", "max-age=0")]), 0),
            Keep::Not(_)
        ));
        for refused in ["no-store", "no-cache", "private"] {
            assert!(matches!(
                keep(200, &h(&[("cache-control", refused)]), 0),
                Keep::Not(_)
            ));
        }
    }

    #[test]
    fn without_directives_expires_then_the_status_decide() {
        let at = httpdate_secs("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(at, 784_111_777);
        let expires = h(&[("expires", "Sun, 06 Nov 1994 08:49:37 GMT")]);
        assert_eq!(keep(200, &expires, at - 30), Keep::For(30, expires.clone()));
        assert!(matches!(keep(200, &expires, at + 1), Keep::Not(_)));
        assert_eq!(keep(200, &[], 0), Keep::For(7_200, vec![]));
        assert_eq!(keep(404, &[], 0), Keep::For(180, vec![]));
        assert!(matches!(keep(500, &[], 0), Keep::Not(_)));
    }

    #[test]
    fn set_cookie_is_never_kept_unless_private_names_it() {
        let cookie = h(&[("set-cookie", "a=1"), ("cache-control", "max-age=9")]);
        assert_eq!(keep(200, &cookie, 0), Keep::Not("Set-Cookie"));
        let named = h(&[
            ("set-cookie", "a=1"),
            ("cache-control", "max-age=9, private=\"Set-Cookie\""),
        ]);
        assert_eq!(
            keep(200, &named, 0),
            Keep::For(
                9,
                h(&[("cache-control", "max-age=9, private=\"Set-Cookie\"")])
            )
        );
    }
}
