//! Translating values between GraphQL and platform.v1: timestamps, JSON ↔ `google.protobuf.Value`,
//! AIP filter literals, and the pagination arguments (`first`, `after`) ↔ `page_size`/`skip`.

use chrono::{DateTime, Utc};
use prost_types::{Struct, Timestamp, Value as PbValue};
use serde_json::Value as Json;

use crate::error::bad_input;

/// Default page size when `first` is omitted.
pub const DEFAULT_FIRST: i32 = 20;
/// Largest `first` accepted: larger is `BAD_USER_INPUT` (not clamped), so a client never
/// mistakes a short page for the end.
pub const MAX_FIRST: i32 = 100;

pub fn time(ts: Option<Timestamp>) -> Option<DateTime<Utc>> {
    proto::time::datetime(&ts?)
}

pub use proto::time::timestamp;

/// protobuf `Value` → JSON (whole numbers: `proto::json`); unset is `null`.
pub fn to_json(v: Option<PbValue>) -> Json {
    v.as_ref().map_or(Json::Null, proto::json::from_value)
}

pub fn struct_to_json(s: Struct) -> Json {
    proto::json::from_struct(&s)
}

pub use proto::json::to_value as from_json;

/// The config entries a `config.*` event carries (its payload is the entry after the change;
/// `config.imported`'s carries every imported entry), as platform.v1 configs. Any other event:
/// none.
pub fn config_changes(e: &proto::v1::Event) -> Vec<proto::v1::Config> {
    if !e.r#type.starts_with("config.") {
        return Vec::new();
    }
    let payload = e.payload.clone().map_or(Json::Null, struct_to_json);
    match payload.get("configs") {
        Some(Json::Array(configs)) => configs.iter().filter_map(config_from_payload).collect(),
        _ => config_from_payload(&payload).into_iter().collect(),
    }
}

/// A config as core-svc writes it into events (`id, project_id, key, value, description,
/// version, created_at, updated_at, updated_by, deleted_at`).
fn config_from_payload(p: &Json) -> Option<proto::v1::Config> {
    let text = |k: &str| p.get(k).and_then(Json::as_str).unwrap_or_default().to_string();
    let time = |k: &str| {
        p.get(k)
            .and_then(Json::as_str)
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .map(|t| timestamp(t.to_utc()))
    };
    let version = p.get("version")?.as_i64()?;
    Some(proto::v1::Config {
        id: p.get("id")?.as_str()?.to_string(),
        project_id: text("project_id"),
        key: p.get("key")?.as_str()?.to_string(),
        value: Some(from_json(p.get("value").cloned().unwrap_or(Json::Null))),
        description: text("description"),
        version,
        etag: proto::etag::format(version),
        create_time: time("created_at"),
        update_time: time("updated_at"),
        updated_by: text("updated_by"),
        delete_time: time("deleted_at"),
    })
}

/// A string literal of core's filter language: quoted, with `\` and `"` escaped, so client text
/// never changes the filter's structure.
pub use proto::filter::literal as quote;

/// Builds `a AND b AND …` from restrictions.
#[derive(Debug, Default)]
pub struct Filter(Vec<String>);

impl Filter {
    /// `field = "value"` when the value is present.
    pub fn eq(mut self, field: &str, value: Option<&str>) -> Self {
        if let Some(v) = value {
            self.0.push(format!("{field} = {}", quote(v)));
        }
        self
    }

    /// `(field = "a" OR field = "b")`: any of the values (none: no restriction).
    pub fn any<'a>(mut self, field: &str, values: impl IntoIterator<Item = &'a str>) -> Self {
        let terms: Vec<String> = values.into_iter().map(|v| format!("{field} = {}", quote(v))).collect();
        match terms.len() {
            0 => {}
            1 => self.0.extend(terms),
            _ => self.0.push(format!("({})", terms.join(" OR "))),
        }
        self
    }

    /// Free text over the resource's text fields.
    pub fn text(mut self, text: Option<&str>) -> Self {
        if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
            self.0.push(quote(t));
        }
        self
    }

    pub fn raw(mut self, term: String) -> Self {
        self.0.push(term);
        self
    }

    pub fn build(self) -> String {
        self.0.join(" AND ")
    }
}

/// `first`/`after` as core's `page_size`/`skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub size: i32,
    pub offset: i32,
}

impl Page {
    pub fn new(first: Option<i32>, after: Option<&str>) -> async_graphql::Result<Self> {
        let size = first.unwrap_or(DEFAULT_FIRST);
        if !(0..=MAX_FIRST).contains(&size) {
            return Err(bad_input("first", format!("must be between 0 and {MAX_FIRST}")));
        }
        let offset = match after {
            None => 0,
            Some(c) => decode_cursor(c).ok_or_else(|| bad_input("after", "is not a cursor of this list"))? + 1,
        };
        Ok(Self { size, offset })
    }
}

/// Cursors are positions in the list (with the filter and order the client asked for), opaque
/// to clients.
pub fn encode_cursor(offset: i32) -> String {
    hex::encode(format!("o:{offset}"))
}

pub fn decode_cursor(cursor: &str) -> Option<i32> {
    let raw = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    raw.strip_prefix("o:")?.parse().ok().filter(|o: &i32| *o >= 0 && *o < i32::MAX)
}

/// Complexity of a list field: its page size times what each item costs. The page size is
/// capped here as in [`Page::new`], which reports an oversized `first` with a clear message.
pub fn list_complexity(first: Option<i32>, child: usize) -> usize {
    let n = usize::try_from(first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST)).unwrap_or(1);
    n.saturating_mul(child.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_escapes_quotes_and_backslashes() {
        assert_eq!(quote(r#"a"b\c"#), r#""a\"b\\c""#);
        let f = Filter::default().eq("slug", Some("x\" OR id = \"y")).text(Some(" hi ")).build();
        assert_eq!(f, r#"slug = "x\" OR id = \"y" AND "hi""#);
        let f = Filter::default().any("status", ["a", "b"]).any("kind", ["k"]).any("x", []).build();
        assert_eq!(f, r#"(status = "a" OR status = "b") AND kind = "k""#);
    }

    #[test]
    fn json_round_trips_and_keeps_integers() {
        let j = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": -3}});
        assert_eq!(to_json(Some(from_json(j.clone()))), j);
    }

    #[test]
    fn cursors_and_pages() {
        assert_eq!(decode_cursor(&encode_cursor(41)), Some(41));
        assert_eq!(decode_cursor("zz"), None);
        assert_eq!(Page::new(None, Some(&encode_cursor(9))).unwrap(), Page { size: DEFAULT_FIRST, offset: 10 });
        assert!(Page::new(Some(101), None).is_err());
        assert!(Page::new(Some(-1), None).is_err());
        assert!(Page::new(Some(5), Some("nope")).is_err());
    }
}
