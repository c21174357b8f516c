//! Input rules from SPEC §3, each a function that either returns the parsed value or says which
//! field is wrong and why.

use std::sync::LazyLock;

use regex::Regex;
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

pub fn password(field: &str, s: &str) -> Result<String> {
    let n = s.chars().count();
    if n < PASSWORD_MIN_CHARS {
        Err(Error::invalid(field, format!("must be at least {PASSWORD_MIN_CHARS} characters")))
    } else if n > PASSWORD_MAX_CHARS {
        Err(Error::invalid(field, format!("must be at most {PASSWORD_MAX_CHARS} characters")))
    } else {
        Ok(s.to_string())
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

pub fn config_value(field: &str, v: Option<Json>) -> Result<Json> {
    let v = v.ok_or_else(|| Error::invalid(field, "is required (any JSON value, null included)"))?;
    let size = serde_json::to_vec(&v).map_err(|e| Error::Internal(e.into()))?.len();
    if size > CONFIG_VALUE_MAX_BYTES {
        return Err(Error::invalid(field, format!("is {size} bytes encoded; the limit is {CONFIG_VALUE_MAX_BYTES}")));
    }
    Ok(v)
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
