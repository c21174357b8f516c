//! Input types whose parsing accepts exactly what their OpenAPI schema says.
//!
//! poem-openapi's `String` also takes JSON numbers and booleans (`false` becomes `"false"`), which
//! a `type: string` schema does not allow; [`Text`] takes strings only. [`Id`] is a record id:
//! a hyphenated UUID (`format: uuid`), the only id form core-svc knows, checked here as a type
//! (like an integer), not as a business rule. Optional input fields are `Option<…>` with
//! `#[oai(nullable)]`: `null` (React Admin's cleared input) means "not given", and the schema says so.
//! [`Secret`] is a [`Text`] that holds a password, a token or a webhook secret: its `Debug`
//! prints nothing, so a logged request or response cannot leak one.

use std::{borrow::Cow, ops::Deref};

use poem_openapi::{
    registry::{MetaSchema, MetaSchemaRef},
    types::{ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type},
};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

/// A JSON string (never a number or a boolean).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Text(pub String);

impl Text {
    pub fn into_string(self) -> String {
        self.0
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Text> for String {
    fn from(t: Text) -> Self {
        t.0
    }
}

impl Type for Text {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => Ok(Self(s)),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Text {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// A JSON string that is a password, a token or a secret; `Debug` shows `[REDACTED]`.
#[derive(Debug, Clone)]
pub struct Secret(pub SecretString);

impl Secret {
    /// The value, for the one place it is meant to go (a core-svc request, a JSON answer).
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}

impl Type for Secret {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }

    fn is_empty(&self) -> bool {
        self.expose().is_empty()
    }
}

impl ParseFromJSON for Secret {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => Ok(s.into()),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Secret {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.expose().to_string()))
    }
}

/// A record id: a UUID in its hyphenated form (`format: uuid`), kept as text for core-svc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Id(pub String);

impl Id {
    pub fn into_string(self) -> String {
        self.0
    }

    fn parse(s: &str) -> Result<Self, &'static str> {
        // `Uuid::try_parse` also takes the simple, braced and URN forms, which `format: uuid` does not.
        if s.len() != 36 {
            return Err("must be a UUID (8-4-4-4-12 hex digits)");
        }
        uuid::Uuid::try_parse(s).map(|u| Self(u.to_string())).map_err(|_| "must be a UUID (8-4-4-4-12 hex digits)")
    }
}

impl Deref for Id {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<Id> for String {
    fn from(id: Id) -> Self {
        id.0
    }
}

impl Type for Id {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_uuid".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "uuid")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Id {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => Self::parse(&s).map_err(ParseError::custom),
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ParseFromParameter for Id {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Self::parse(value).map_err(ParseError::custom)
    }
}

impl ToJSON for Id {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

/// An RFC 3339 timestamp (`format: date-time`), kept as text; [`crate::api::parse_time`] converts it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timestamp(pub String);

impl Deref for Timestamp {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date-time")))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value.unwrap_or_default() {
            Value::String(s) => match chrono::DateTime::parse_from_rfc3339(&s) {
                Ok(_) => Ok(Self(s)),
                Err(_) => Err(ParseError::custom("must be an RFC 3339 timestamp")),
            },
            other => Err(ParseError::expected_type(other)),
        }
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_takes_strings_only() {
        assert_eq!(Text::parse_from_json(Some(Value::from("a"))).unwrap().0, "a");
        for v in [Value::Bool(false), Value::from(1), Value::Null, serde_json::json!([]), serde_json::json!({})] {
            assert!(Text::parse_from_json(Some(v.clone())).is_err(), "{v} was accepted");
        }
        assert!(Option::<Text>::parse_from_json(Some(Value::Null)).unwrap().is_none());
    }

    #[test]
    fn id_is_a_hyphenated_uuid() {
        let u = "0192F3A4-1B2C-7D8E-9F00-112233445566";
        assert_eq!(Id::parse_from_parameter(u).unwrap().0, u.to_ascii_lowercase());
        for bad in ["", "x", "0192f3a41b2c7d8e9f00112233445566", "{0192f3a4-1b2c-7d8e-9f00-112233445566}"] {
            assert!(Id::parse_from_parameter(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Id::parse_from_json(Some(Value::from(5))).is_err());
    }

    #[test]
    fn timestamp_is_rfc3339() {
        assert!(Timestamp::parse_from_json(Some(Value::from("2030-01-02T03:04:05Z"))).is_ok());
        for v in [Value::from(""), Value::from("tomorrow"), Value::from(1), Value::Bool(true)] {
            assert!(Timestamp::parse_from_json(Some(v.clone())).is_err(), "{v} was accepted");
        }
    }
}
