//! Admin API access rules (docs/reference/security.md): credentials, application password scopes
//! and names, sign-in back-off, and what a browser request must look like to change anything.

use std::fmt;
use std::net::IpAddr;

use base64::Engine;

/// `user:password` from an `Authorization: Basic` header.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub user: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Well-formed Basic credentials, or `None` (no header, another scheme, bad base64 or UTF-8,
/// no colon): only well-formed credentials are sign-in attempts.
pub fn parse_basic(header: Option<&str>) -> Option<Credentials> {
    let h = header?.trim();
    let (scheme, encoded) = h.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some(Credentials {
        user: user.to_string(),
        password: password.to_string(),
    })
}

crate::wire_enum! {
    #[wire = "lowercase"]
    /// What an application password may do.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Scope {
        /// Everything the operator can do.
        Admin,
        /// `GET` and `HEAD` only.
        Read,
        /// `POST /admin/events` only (the community platform publishing events).
        Publish,
    }
}

impl Scope {
    /// Whether this scope covers what a request needs.
    pub fn allows(self, need: Need) -> bool {
        matches!(
            (self, need),
            (Scope::Admin, _) | (Scope::Read, Need::Read) | (Scope::Publish, Need::Publish)
        )
    }
}

/// What a request needs from its caller's scope. The admin transport names it from the method
/// and route (`transport::admin::guard`); the domain only says which scope covers which need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Reading only (`GET`, `HEAD`).
    Read,
    /// Publishing events (`POST /admin/events`).
    Publish,
    /// Any other request.
    Change,
}

/// Who a request is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Operator,
    AppPassword { id: i64, name: String, scope: Scope },
}

impl Principal {
    pub fn scope(&self) -> Scope {
        match self {
            Principal::Operator => Scope::Admin,
            Principal::AppPassword { scope, .. } => *scope,
        }
    }

    /// What this caller may see of stored secrets (docs/reference/security.md#secrets-by-scope
    /// "secrets by scope").
    pub fn disclosure(&self) -> Disclosure {
        match self.scope() {
            Scope::Admin => Disclosure::Secrets,
            Scope::Read | Scope::Publish => Disclosure::Redacted,
        }
    }
}

/// Whether a view shows secrets: only the operator and `admin` application passwords see them;
/// to anyone else every secret field is `null` and custom header values `"<redacted>"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disclosure {
    Secrets,
    Redacted,
}

impl Disclosure {
    /// The value itself, or `None` when this caller may not see it.
    pub fn secret<T>(self, value: T) -> Option<T> {
        match self {
            Disclosure::Secrets => Some(value),
            Disclosure::Redacted => None,
        }
    }
}

/// Prefix of every application password: `sbp_<id>_<43 random URL-safe characters>`. The id
/// finds the stored hash with one GetItem; the random part (256 bits) is the secret.
pub const APP_PASSWORD_PREFIX: &str = "sbp_";

pub fn app_password(id: i64, random: &str) -> String {
    format!("{APP_PASSWORD_PREFIX}{id}_{random}")
}

/// The id inside an application password, if it has that shape.
pub fn app_password_id(password: &str) -> Option<i64> {
    let rest = password.strip_prefix(APP_PASSWORD_PREFIX)?;
    let (id, random) = rest.split_once('_')?;
    if random.len() < 32 {
        return None;
    }
    id.parse::<i64>().ok().filter(|id| *id > 0)
}

/// An application password's name: 1–60 characters of letters, digits, space, `.`, `_`, `-`
/// (it is the Basic user name, so never a colon), not the operator's user name.
pub fn check_app_password_name(name: &str, operator: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err("must be 1 to 60 characters");
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '_' | '-'))
    {
        return Err("may contain only letters, digits, spaces, '.', '_' and '-'");
    }
    if name.eq_ignore_ascii_case(operator) {
        return Err("must differ from the operator's user name");
    }
    Ok(name.to_string())
}

// --- sign-in back-off ---------------------------------------------------------------------------

/// Failed sign-ins from one source that cost nothing.
pub const FREE_FAILURES: u32 = 10;
/// The longest back-off after one failure.
pub const MAX_BACKOFF_SECONDS: i64 = 900;
/// Failures are forgotten this long after the last one (the item's TTL).
pub const FAILURE_MEMORY_SECONDS: i64 = 24 * 3600;

/// Seconds a source must wait after its `failures`-th failure: none for the first
/// [`FREE_FAILURES`], then 4 s, 8 s, 16 s, … up to [`MAX_BACKOFF_SECONDS`].
pub fn backoff_seconds(failures: u32) -> i64 {
    if failures <= FREE_FAILURES {
        return 0;
    }
    let exp = (failures - FREE_FAILURES + 1).min(20);
    (1i64 << exp).min(MAX_BACKOFF_SECONDS)
}

/// Seconds left before a source may try again (`None` when it may now).
pub fn retry_after(failures: u32, last_failure_at: i64, now: i64) -> Option<i64> {
    let until = last_failure_at.saturating_add(backoff_seconds(failures));
    (until > now).then(|| until - now)
}

/// The back-off key of a source address: IPv4 as is, IPv6 by its /64 (one subscriber's
/// allocation, so rotating addresses inside it does not reset the count).
pub fn source_key(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "unknown".into(),
    }
}

/// The back-off key of a sign-in (docs/reference/security.md#sign-in-back-off): the source address
/// and the user name, so a success clears only that name's failures and locking one name never
/// locks another. The name is hashed (any length and characters fit one key, and no name is
/// stored).
pub fn signin_key(ip: Option<IpAddr>, user: &str) -> String {
    let name = crate::secret::sha256_hex(user);
    format!("{}#{}", source_key(ip), &name[..32])
}

// --- browser requests ---------------------------------------------------------------------------

/// Whether a request comes from a browser context that is not this origin: `Sec-Fetch-Site`
/// `cross-site`/`same-site`, or an `Origin` other than the request's own (`scheme://host`,
/// where the host is the `Host` header and the scheme `X-Forwarded-Proto` when present).
pub fn foreign_browser_context(
    sec_fetch_site: Option<&str>,
    origin: Option<&str>,
    host: Option<&str>,
    forwarded_proto: Option<&str>,
) -> bool {
    if let Some(site) = sec_fetch_site {
        let site = site.trim().to_ascii_lowercase();
        if site == "cross-site" || site == "same-site" {
            return true;
        }
    }
    let Some(origin) = origin.map(str::trim) else {
        return false;
    };
    let Ok(url) = url::Url::parse(origin) else {
        return true; // `null` (sandboxed frames, some redirects) or garbage
    };
    let Some(host) = host.map(|h| h.trim().to_ascii_lowercase()) else {
        return true;
    };
    let scheme_ok = forwarded_proto
        .map(|p| p.split(',').next().unwrap_or_default().trim())
        .is_none_or(|p| p.eq_ignore_ascii_case(url.scheme()));
    let origin_host = match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        (None, _) => return true,
    };
    let default_port = match url.scheme() {
        "https" => ":443",
        "http" => ":80",
        _ => "",
    };
    let same_host = host == origin_host
        || (!default_port.is_empty() && host.strip_suffix(default_port) == Some(&origin_host));
    !(scheme_ok && same_host)
}

/// `application/json`, with or without parameters (`; charset=utf-8`).
pub fn is_json_content_type(value: Option<&str>) -> bool {
    value
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(s)
        )
    }

    #[test]
    fn basic_credentials() {
        let c = parse_basic(Some(&b64("admin:pa:ss"))).unwrap();
        assert_eq!((c.user.as_str(), c.password.as_str()), ("admin", "pa:ss"));
        assert!(parse_basic(Some(&b64("admin:x").replace("Basic", "basic"))).is_some());
        for bad in ["", "Bearer x", "Basic !!!", "Basic YWRtaW4="] {
            assert_eq!(parse_basic(Some(bad)), None, "{bad}");
        }
        assert_eq!(parse_basic(None), None);
        assert!(!format!("{c:?}").contains("pa:ss"));
    }

    #[test]
    fn scopes() {
        for need in [Need::Read, Need::Publish, Need::Change] {
            assert!(Scope::Admin.allows(need), "{need:?}");
            assert_eq!(Scope::Read.allows(need), need == Need::Read, "{need:?}");
            assert_eq!(
                Scope::Publish.allows(need),
                need == Need::Publish,
                "{need:?}"
            );
        }
        assert_eq!("read".parse(), Ok(Scope::Read));
        assert!("Admin".parse::<Scope>().is_err());
        crate::wire::assert_names::<Scope>(&["admin", "read", "publish"]);
        assert_eq!(
            serde_json::to_string(&Scope::Publish).unwrap(),
            "\"publish\""
        );
    }

    #[test]
    fn app_password_shape() {
        let random = "a".repeat(43);
        let p = app_password(42, &random);
        assert_eq!(app_password_id(&p), Some(42));
        for bad in ["sbp_x_aaaa", "sbp_0_aaaa", "admin", "sbp_5_short"] {
            assert_eq!(app_password_id(bad), None, "{bad}");
        }
        assert_eq!(
            check_app_password_name(" platform-1 ", "admin"),
            Ok("platform-1".into())
        );
        for bad in ["", "a:b", "ADMIN", &"x".repeat(61), "tab\there"] {
            assert!(check_app_password_name(bad, "admin").is_err(), "{bad}");
        }
    }

    #[test]
    fn backoff_grows_exponentially_after_the_free_failures() {
        let table: Vec<i64> = (1..=FREE_FAILURES + 12).map(backoff_seconds).collect();
        assert!(table[..FREE_FAILURES as usize].iter().all(|s| *s == 0));
        assert_eq!(
            &table[FREE_FAILURES as usize..],
            &[4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]
        );
        assert_eq!(backoff_seconds(u32::MAX), MAX_BACKOFF_SECONDS);
        assert_eq!(retry_after(FREE_FAILURES, 100, 100), None);
        assert_eq!(retry_after(FREE_FAILURES + 1, 100, 101), Some(3));
        assert_eq!(retry_after(FREE_FAILURES + 1, 100, 104), None);
    }

    #[test]
    fn source_keys() {
        assert_eq!(source_key("203.0.113.9".parse().ok()), "203.0.113.9");
        assert_eq!(
            source_key("2001:db8:1:2:3:4:5:6".parse().ok()),
            "2001:db8:1:2::/64"
        );
        assert_eq!(source_key("::ffff:10.1.1.1".parse().ok()), "10.1.1.1");
        assert_eq!(source_key(None), "unknown");
    }

    #[test]
    fn browser_contexts() {
        let host = Some("api.example.com");
        let f = foreign_browser_context;
        assert!(!f(None, None, host, None), "curl, servers");
        assert!(!f(Some("same-origin"), None, host, None));
        assert!(
            !f(Some("none"), None, host, None),
            "typed in the address bar"
        );
        assert!(f(Some("cross-site"), None, host, None));
        assert!(f(Some("same-site"), None, host, None));
        assert!(!f(
            None,
            Some("https://api.example.com"),
            host,
            Some("https")
        ));
        assert!(!f(
            None,
            Some("https://api.example.com"),
            Some("api.example.com:443"),
            None
        ));
        assert!(!f(
            None,
            Some("http://127.0.0.1:9000"),
            Some("127.0.0.1:9000"),
            None
        ));
        assert!(f(
            None,
            Some("http://127.0.0.1:9001"),
            Some("127.0.0.1:9000"),
            None
        ));
        assert!(f(None, Some("https://evil.example"), host, None));
        assert!(f(None, Some("http://api.example.com"), host, Some("https")));
        assert!(f(None, Some("null"), host, None));
        assert!(f(None, Some("https://api.example.com"), None, None));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json_content_type(Some("application/json")));
        assert!(is_json_content_type(Some(
            "Application/JSON; charset=utf-8"
        )));
        for bad in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
            "",
        ] {
            assert!(!is_json_content_type(Some(bad)), "{bad}");
        }
        assert!(!is_json_content_type(None));
    }

    #[test]
    fn sign_in_keys_are_per_source_and_name() {
        let a: Option<IpAddr> = "198.51.100.7".parse().ok();
        let b: Option<IpAddr> = "198.51.100.8".parse().ok();
        assert_eq!(signin_key(a, "admin"), signin_key(a, "admin"));
        assert_ne!(signin_key(a, "admin"), signin_key(a, "dashboard"));
        assert_ne!(signin_key(a, "admin"), signin_key(b, "admin"));
        let long = "n".repeat(10_000);
        assert!(signin_key(a, &long).len() < 64);
        assert!(!signin_key(a, "dashboard").contains("dashboard"));
    }
}
