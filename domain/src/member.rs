//! Members: email and login rules, profile shapes.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A member as Switchboard keeps it (the password hash lives only in the store item).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Member {
    pub user_id: i64,
    pub email: String,
    pub login: String,
    #[serde(default)]
    pub first_name: String,
    #[serde(default)]
    pub last_name: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub status: MemberStatus,
    /// Profile meta set through a webhook's `field_map`.
    #[serde(default)]
    pub meta: Map<String, Value>,
    #[serde(with = "crate::time::wire")]
    pub created_at: jiff::Timestamp,
    /// `by_admin`, or `incoming_webhook:{id}`.
    #[serde(default)]
    pub origin: String,
}

/// A member's status. Switchboard creates members `active` (as FluentCommunity's REST API
/// shows them); a stored member without a status reads as active.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MemberStatus {
    #[default]
    Active,
}

impl Member {
    /// The public profile, as the admin API and events show it. Never the password hash.
    pub fn public(&self) -> Value {
        json!({
            "user_id": self.user_id,
            "email": self.email,
            "username": self.login,
            "display_name": self.display_name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "role": self.role,
            "status": self.status,
            "meta": self.meta,
            "created_at": crate::time::rfc3339(self.created_at),
        })
    }

    /// The seed's `xprofile` block for outgoing deliveries.
    pub fn xprofile(&self) -> Value {
        json!({
            "user_id": self.user_id,
            "total_points": 0,
            "is_verified": 0,
            "status": self.status,
            "display_name": self.display_name,
            "username": self.login,
            "avatar": Value::Null,
            "created_at": crate::time::rfc3339(self.created_at),
            "short_description": "",
            "meta": self.meta,
            "badge": Value::Null,
        })
    }
}

/// Normalizes and validates an email: trimmed, lower-cased, RFC-valid, with a dotted domain.
pub fn normalize_email(raw: &str) -> Option<String> {
    let email = raw.trim().to_lowercase();
    if email.len() > 254 || !email_address::EmailAddress::is_valid(&email) {
        return None;
    }
    let (local, domain) = email.rsplit_once('@')?;
    let dotted = domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.starts_with('[');
    (dotted && !local.is_empty()).then_some(email)
}

/// A name field: tags and control characters removed, white space collapsed, bounded length.
pub fn sanitize_text(raw: &str, max: usize) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag && !c.is_control() => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(max)
        .collect()
}

/// WordPress `sanitize_user` (non-strict): strips tags and entities, folds common accents,
/// keeps `[A-Za-z0-9 _.@-]`, collapses white space, at most 60 characters.
pub fn sanitize_login(raw: &str) -> String {
    let mut no_tags = String::with_capacity(raw.len());
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => no_tags.push(c),
            _ => {}
        }
    }
    let kept: String = no_tags
        .chars()
        .map(fold_accent)
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '.' | '-' | '@'))
        .collect();
    let collapsed = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed
        .chars()
        .take(60)
        .collect::<String>()
        .trim()
        .to_string()
}

/// Common Latin accents folded to ASCII (as WordPress `remove_accents` does for these).
pub fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' => 'a',
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => 'O',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ñ' => 'n',
        'Ñ' => 'N',
        'ç' => 'c',
        'Ç' => 'C',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}

/// Login candidates in the order they are tried: the sanitized requested login, then the
/// sanitized local part of the email, then that with a number appended.
pub fn login_candidates(requested: Option<&str>, email: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(r) = requested.map(sanitize_login).filter(|r| !r.is_empty()) {
        out.push(r);
    }
    let local = email.split('@').next().unwrap_or_default();
    let base = match sanitize_login(local) {
        b if b.is_empty() => "member".to_string(),
        b => b,
    };
    out.push(base.clone());
    out.extend((1..=3).map(|n| format!("{base}{n}")));
    out.dedup();
    out
}

/// A last-resort login when every candidate is taken: base plus a random suffix.
pub fn random_login(email: &str) -> String {
    let local = sanitize_login(email.split('@').next().unwrap_or_default());
    let base = if local.is_empty() {
        "member".into()
    } else {
        local
    };
    format!("{base}{}", rand::random_range(1000..1_000_000))
}

/// The display name WordPress would give: "First Last", else the login.
pub fn display_name(first: &str, last: &str, login: &str) -> String {
    let full = format!("{} {}", first.trim(), last.trim())
        .trim()
        .to_string();
    if full.is_empty() {
        login.to_string()
    } else {
        full
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" User@Example.COM "),
            Some("user@example.com".into())
        );
        for bad in [
            "",
            "user",
            "user@",
            "@example.com",
            "user@localhost",
            "a b@example.com",
            "user@example.",
        ] {
            assert_eq!(normalize_email(bad), None, "{bad}");
        }
    }

    #[test]
    fn logins() {
        assert_eq!(sanitize_login("<b>John</b>  Doe!"), "John Doe");
        assert_eq!(sanitize_login("jösé"), "jose");
        assert_eq!(
            login_candidates(Some("johndoe"), "john@example.com"),
            vec!["johndoe", "john", "john1", "john2", "john3"]
        );
        assert_eq!(login_candidates(Some("<>"), "++@example.com")[0], "member");
    }

    #[test]
    fn display_names() {
        assert_eq!(display_name("John", "Doe", "jd"), "John Doe");
        assert_eq!(display_name("", " ", "jd"), "jd");
    }
}
