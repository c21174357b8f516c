//! Input rules from docs/PRODUCT.md §3–§7, each a function that either returns the parsed value
//! or says which field is wrong and why.

use std::sync::LazyLock;

use regex::Regex;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value as Json;
use uuid::Uuid;

use crate::error::{Error, FieldViolation, Result};

pub const PASSWORD_MIN_CHARS: usize = 10;
/// Long enough for any passphrase, short enough that argon2 cannot be abused with huge inputs.
pub const PASSWORD_MAX_CHARS: usize = 1024;
pub const CONFIG_VALUE_MAX_BYTES: usize = 64 * 1024;
pub const NAME_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 4000;

static SLUG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$").unwrap());
static KEY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9_.-]{0,127}$").unwrap());
// Deliberately loose: one @, something on each side, a dot in the domain, no spaces. Whether
// the mailbox exists is not ours to decide.
static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[^\s@]+@[^\s@]+\.[^\s@]+$").unwrap());

/// Collects violations so that one response lists every bad field.
#[derive(Default)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records the error of `r` (if any) and returns its value.
    pub fn check<T>(&mut self, r: Result<T>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(Error::InvalidArgument { violations, .. }) => {
                self.0.extend(violations);
                None
            }
            Err(other) => {
                // Rules only produce InvalidArgument; anything else is a programming error.
                self.0.push(FieldViolation::new("request", other.to_string()));
                None
            }
        }
    }

    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() { Ok(()) } else { Err(Error::invalid_fields(self.0)) }
    }
}

pub fn parse_id(field: &str, s: &str) -> Result<Uuid> {
    if s.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    Uuid::parse_str(s).map_err(|_| Error::invalid(field, "must be a UUID"))
}

pub fn parse_optional_id(field: &str, s: &str) -> Result<Option<Uuid>> {
    if s.is_empty() { Ok(None) } else { parse_id(field, s).map(Some) }
}

pub fn slug(field: &str, s: &str) -> Result<String> {
    if SLUG.is_match(s) {
        Ok(s.to_string())
    } else {
        Err(Error::invalid(
            field,
            "must be 3-63 characters of a-z, 0-9 and '-', starting and ending with a letter or digit",
        ))
    }
}

pub fn config_key(field: &str, s: &str) -> Result<String> {
    if KEY.is_match(s) {
        Ok(s.to_string())
    } else {
        Err(Error::invalid(
            field,
            "must be 1-128 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit",
        ))
    }
}

pub fn email(field: &str, s: &str) -> Result<String> {
    let s = s.trim();
    if s.len() <= 254 && EMAIL.is_match(s) {
        Ok(s.to_string())
    } else {
        Err(Error::invalid(field, "must be an email address"))
    }
}

pub fn password(field: &str, password: &SecretString) -> Result<SecretString> {
    let n = password.expose_secret().chars().count();
    if n < PASSWORD_MIN_CHARS {
        Err(Error::invalid(field, format!("must be at least {PASSWORD_MIN_CHARS} characters")))
    } else if n > PASSWORD_MAX_CHARS {
        Err(Error::invalid(field, format!("must be at most {PASSWORD_MAX_CHARS} characters")))
    } else {
        Ok(password.clone())
    }
}

/// A required, trimmed display name.
pub fn name(field: &str, s: &str) -> Result<String> {
    let t = s.trim();
    if t.is_empty() {
        Err(Error::invalid(field, "is required"))
    } else if t.chars().count() > NAME_MAX_CHARS {
        Err(Error::invalid(field, format!("must be at most {NAME_MAX_CHARS} characters")))
    } else if t.chars().any(char::is_control) {
        Err(Error::invalid(field, "must not contain control characters"))
    } else {
        Ok(t.to_string())
    }
}

pub fn description(field: &str, s: &str) -> Result<String> {
    if s.chars().count() > DESCRIPTION_MAX_CHARS {
        Err(Error::invalid(field, format!("must be at most {DESCRIPTION_MAX_CHARS} characters")))
    } else {
        Ok(s.to_string())
    }
}

/// A webhook target: an absolute http(s) URL with a host, no credentials, at most 2,048 bytes.
/// (Where it points is checked at delivery time, against the address it resolves to.)
/// A webhook's target: http(s), a host, no credentials; and unless `allow_private`, not an IP
/// literal of a private, loopback or link-local address (names are checked at each delivery,
/// against every address they resolve to then).
pub fn webhook_url(field: &str, s: &str, allow_private: bool) -> Result<String> {
    let s = s.trim();
    if s.is_empty() || s.len() > 2048 {
        return Err(Error::invalid(field, "must be an http(s) URL of at most 2048 characters"));
    }
    let url = url::Url::parse(s).map_err(|e| Error::invalid(field, format!("is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::invalid(field, "must use http or https"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(field, "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid(field, "must not carry credentials; sign with the secret instead"));
    }
    let literal = match url.host() {
        Some(url::Host::Ipv4(ip)) => Some(std::net::IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Some(std::net::IpAddr::V6(ip)),
        _ => None,
    };
    if let Some(ip) = literal.filter(|ip| !allow_private && !super::is_public(*ip)) {
        return Err(Error::invalid(
            field,
            format!("targets {ip}, a private, loopback or link-local address, which webhooks may not reach"),
        ));
    }
    Ok(url.to_string())
}

/// Event-type globs of a webhook: 1 to 20 of e.g. `config.*`, `member.added`, `*`.
pub fn event_type_globs(field: &str, globs: &[String]) -> Result<Vec<String>> {
    static GLOB: std::sync::LazyLock<regex::Regex> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"^[a-z*][a-z_.*]{0,63}$").expect("valid regex"));
    if globs.is_empty() || globs.len() > 20 {
        return Err(Error::invalid(field, "give 1 to 20 event types (globs such as config.* or *)"));
    }
    let mut v = Violations::new();
    for (i, g) in globs.iter().enumerate() {
        if !GLOB.is_match(g) {
            v.push(format!("{field}[{i}]"), "must be an event type or a glob such as config.* or *");
        }
    }
    v.finish()?;
    let mut out: Vec<String> = globs.to_vec();
    out.sort();
    out.dedup();
    Ok(out)
}

/// A webhook signing secret: 16 to 256 printable ASCII characters.
pub fn webhook_secret(field: &str, s: &str) -> Result<String> {
    if !(16..=256).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(field, "must be 16 to 256 printable ASCII characters without spaces"));
    }
    Ok(s.to_string())
}

/// Whether `glob` (with `*` matching any run of characters) matches `s` entirely.
pub fn glob_matches(glob: &str, s: &str) -> bool {
    let mut parts = glob.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = s.strip_prefix(first) else { return false };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else { return rest.is_empty() };
    for p in middle {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

pub fn config_value(field: &str, v: Option<Json>) -> Result<Json> {
    let v = v.ok_or_else(|| Error::invalid(field, "is required (any JSON value, null included)"))?;
    let size = serde_json::to_vec(&v).map_err(|e| Error::Internal(e.into()))?.len();
    if size > CONFIG_VALUE_MAX_BYTES {
        return Err(Error::invalid(field, format!("is {size} bytes encoded; the limit is {CONFIG_VALUE_MAX_BYTES}")));
    }
    if depth(&v) > proto::JSON_MAX_DEPTH {
        return Err(Error::invalid(
            field,
            format!("nests arrays and objects more than {} levels deep", proto::JSON_MAX_DEPTH),
        ));
    }
    Ok(v)
}

/// Levels of arrays and objects: 0 for a scalar, 1 for `[1]`.
fn depth(v: &Json) -> usize {
    match v {
        Json::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Json::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// An expected version from an etag field; empty means "no check".
pub fn expected_version(field: &str, etag: &str) -> Result<Option<i64>> {
    if etag.trim().is_empty() {
        return Ok(None);
    }
    proto::etag::parse(etag).map(Some).ok_or_else(|| Error::invalid(field, "must be an entity tag such as \"3\""))
}

/// Fails with VERSION_MISMATCH when an expected version was given and differs.
pub fn check_version(resource: &'static str, expected: Option<i64>, current: i64) -> Result<()> {
    match expected {
        Some(expected) if expected != current => Err(Error::VersionMismatch { resource, expected, current }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["abc", "my-project-1", "a1b"] {
            assert!(slug("slug", ok).is_ok(), "{ok}");
        }
        for bad in ["", "ab", "-abc", "abc-", "ABC", "a_b", &"a".repeat(64)] {
            assert!(slug("slug", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys() {
        for ok in ["a", "feature.flag_x", "db-url", &"k".repeat(128)] {
            assert!(config_key("key", ok).is_ok(), "{ok}");
        }
        for bad in ["", ".a", "A", "a b", &"k".repeat(129)] {
            assert!(config_key("key", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn values_are_limited_to_64_kib() {
        let big = Json::String("x".repeat(CONFIG_VALUE_MAX_BYTES));
        assert!(config_value("value", Some(big)).is_err());
        assert!(config_value("value", Some(Json::Null)).is_ok());
        let nested = |levels: usize| (0..levels).fold(serde_json::json!(1), |v, _| serde_json::json!({ "a": [v] }));
        assert!(config_value("value", Some(nested(16))).is_ok()); // 32 levels: the limit
        assert!(config_value("value", Some(nested(17))).is_err());
        assert!(config_value("value", None).is_err());
    }

    #[test]
    fn violations_collect_every_field() {
        let mut v = Violations::new();
        v.check(slug("slug", "X"));
        v.check(name("name", " "));
        match v.finish() {
            Err(Error::InvalidArgument { violations, .. }) => assert_eq!(violations.len(), 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn version_check() {
        assert!(check_version("config", None, 3).is_ok());
        assert!(check_version("config", Some(3), 3).is_ok());
        assert!(matches!(check_version("config", Some(2), 3), Err(Error::VersionMismatch { .. })));
    }
}

#[cfg(test)]
mod glob_tests {
    use super::glob_matches;

    #[test]
    fn globs_match_whole_event_types() {
        for (g, s, m) in [
            ("*", "config.set", true),
            ("config.*", "config.set", true),
            ("config.*", "configs.set", false),
            ("config.set", "config.set", true),
            ("config.set", "config.settled", false),
            ("*.deleted", "project.deleted", true),
            ("*.deleted", "project.updated", false),
            ("member.*ed", "member.added", true),
            ("a*a", "a", false),
        ] {
            assert_eq!(glob_matches(g, s), m, "{g} ~ {s}");
        }
    }
}
