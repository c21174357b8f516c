//! JSON ↔ `google.protobuf.Value`: the one translation of config and setting values, event
//! payloads and task results, for core-svc and every edge.
//!
//! # Whole numbers
//!
//! `google.protobuf.Value` has one number type, a double. A number that is whole and whose
//! magnitude is at most [`MAX_SAFE_INTEGER`] (2^53 − 1) becomes a JSON integer (`3`, not `3.0`):
//! every such double is exactly that integer, and every client reads it back exactly —
//! JavaScript's `Number.isSafeInteger` draws the same line. A whole number beyond it stays a JSON
//! float (`9007199254740992.0`, `1e20`): a double that large stands for a range of integers, and
//! writing one as an integer would claim a precision it does not have (and a browser client would
//! round it anyway). Every other finite number is a JSON float. Client text never holds NaN or
//! infinity (JSON has no such literals); a gRPC caller can send them, and [`try_from_value`]
//! refuses them.

use prost_types::{ListValue, Struct, Value, value::Kind};
use serde_json::{Map, Number, Value as Json};

/// The largest magnitude a whole number may have to be written as a JSON integer: 2^53 − 1,
/// JavaScript's `Number.MAX_SAFE_INTEGER`.
pub const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// How many levels of arrays and objects [`try_from_value`] reads before it refuses a value
/// (protobuf decoders stop at 100 message levels, two per JSON level). The rule clients see is
/// the stricter [`crate::JSON_MAX_DEPTH`], checked where values are validated.
pub const MAX_READ_DEPTH: usize = 64;

/// JSON → `google.protobuf.Value`.
pub fn to_value(j: Json) -> Value {
    let kind = match j {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(b),
        // Always Some without serde_json's arbitrary_precision.
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Kind::StringValue(s),
        Json::Array(a) => Kind::ListValue(ListValue { values: a.into_iter().map(to_value).collect() }),
        Json::Object(o) => Kind::StructValue(to_struct(o)),
    };
    Value { kind: Some(kind) }
}

/// A JSON object → `google.protobuf.Struct`.
pub fn to_struct(o: Map<String, Json>) -> Struct {
    Struct { fields: o.into_iter().map(|(k, v)| (k, to_value(v))).collect() }
}

/// A JSON number of a double, by the rule of this module; None for NaN and infinities.
pub fn number(n: f64) -> Option<Number> {
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        #[allow(clippy::cast_possible_truncation)] // whole and within ±2^53: exact
        return Some(Number::from(n as i64));
    }
    Number::from_f64(n)
}

/// `google.protobuf.Value` → JSON, for values core-svc has already accepted: an unset value is
/// `null`, and so is a non-finite number (which core-svc never stores).
pub fn from_value(v: &Value) -> Json {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(*b),
        Some(Kind::NumberValue(n)) => number(*n).map_or(Json::Null, Json::Number),
        Some(Kind::StringValue(s)) => Json::String(s.clone()),
        Some(Kind::ListValue(l)) => Json::Array(l.values.iter().map(from_value).collect()),
        Some(Kind::StructValue(s)) => from_struct(s),
    }
}

/// `google.protobuf.Struct` → a JSON object.
pub fn from_struct(s: &Struct) -> Json {
    Json::Object(s.fields.iter().map(|(k, v)| (k.clone(), from_value(v))).collect())
}

/// Why [`try_from_value`] refused a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueError {
    /// NaN or an infinity: JSON cannot carry it.
    NotFinite,
    /// Nested more than [`MAX_READ_DEPTH`] levels.
    TooDeep,
}

impl ValueError {
    /// What is wrong, as a field violation's description says it.
    pub fn describe(self) -> String {
        match self {
            ValueError::NotFinite => "numbers must be finite".to_string(),
            ValueError::TooDeep => format!("is nested more than {MAX_READ_DEPTH} levels deep"),
        }
    }
}

/// `google.protobuf.Value` → JSON for a value a client sent: refuses what JSON cannot carry.
pub fn try_from_value(v: Value) -> Result<Json, ValueError> {
    read(v, 0)
}

fn read(v: Value, depth: usize) -> Result<Json, ValueError> {
    // serde_json and PostgreSQL both limit nesting; refuse before they do.
    if depth > MAX_READ_DEPTH {
        return Err(ValueError::TooDeep);
    }
    Ok(match v.kind {
        None | Some(Kind::NullValue(_)) => Json::Null,
        Some(Kind::BoolValue(b)) => Json::Bool(b),
        Some(Kind::NumberValue(n)) => Json::Number(number(n).ok_or(ValueError::NotFinite)?),
        Some(Kind::StringValue(s)) => Json::String(s),
        Some(Kind::ListValue(l)) => {
            Json::Array(l.values.into_iter().map(|v| read(v, depth + 1)).collect::<Result<_, _>>()?)
        }
        Some(Kind::StructValue(s)) => {
            Json::Object(s.fields.into_iter().map(|(k, v)| Ok((k, read(v, depth + 1)?))).collect::<Result<_, _>>()?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn num(n: f64) -> Value {
        Value { kind: Some(Kind::NumberValue(n)) }
    }

    /// The text a number is written as, through both readers.
    fn text(n: f64) -> String {
        let lenient = from_value(&num(n)).to_string();
        let strict = try_from_value(num(n)).map(|j| j.to_string()).unwrap_or_else(|e| format!("{e:?}"));
        assert_eq!(lenient, strict, "{n}");
        lenient
    }

    #[test]
    fn whole_numbers_are_integers_up_to_two_to_the_53_minus_one() {
        assert_eq!(text(0.0), "0");
        assert_eq!(text(-0.0), "0");
        assert_eq!(text(3.0), "3");
        assert_eq!(text(-3.0), "-3");
        // The old core-svc bound (9.0e15) and just past it are integers now.
        assert_eq!(text(9.0e15), "9000000000000000");
        assert_eq!(text(9.0e15 + 1.0), "9000000000000001");
        assert_eq!(text(MAX_SAFE_INTEGER - 1.0), "9007199254740990");
        assert_eq!(text(MAX_SAFE_INTEGER), "9007199254740991");
        assert_eq!(text(-MAX_SAFE_INTEGER), "-9007199254740991");
    }

    #[test]
    fn whole_numbers_from_two_to_the_53_on_stay_floats() {
        assert_eq!(text(MAX_SAFE_INTEGER + 1.0), "9007199254740992.0");
        assert_eq!(text(-(MAX_SAFE_INTEGER + 1.0)), "-9007199254740992.0");
        assert_eq!(text(2f64.powi(63)), "9.223372036854776e+18");
        assert_eq!(text(1e300), "1e+300");
    }

    #[test]
    fn fractions_stay_floats() {
        assert_eq!(text(0.5), "0.5");
        assert_eq!(text(-2.25), "-2.25");
        assert_eq!(text(4_503_599_627_370_495.5), "4503599627370495.5"); // 2^52 − 0.5
        assert_eq!(text(f64::MIN_POSITIVE), "2.2250738585072014e-308");
    }

    #[test]
    fn non_finite_numbers_are_refused_or_null() {
        for n in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            assert_eq!(from_value(&num(n)), Json::Null);
            assert_eq!(try_from_value(num(n)), Err(ValueError::NotFinite));
        }
    }

    #[test]
    fn values_round_trip() {
        let j = json!({"a": [1, 2.5, "x", null, true, {"b": -7}], "big": 9007199254740991_i64, "e": {}});
        assert_eq!(from_value(&to_value(j.clone())), j);
        assert_eq!(try_from_value(to_value(j.clone())), Ok(j.clone()));
        let Json::Object(o) = j.clone() else { unreachable!() };
        assert_eq!(from_struct(&to_struct(o)), j);
        assert_eq!(from_value(&Value { kind: None }), Json::Null);
    }

    #[test]
    fn nesting_is_bounded() {
        let mut deep = json!(1);
        for _ in 0..=MAX_READ_DEPTH {
            deep = json!([deep]);
        }
        assert_eq!(try_from_value(to_value(deep.clone())), Err(ValueError::TooDeep));
        let Json::Array(mut inner) = deep else { unreachable!() };
        assert!(try_from_value(to_value(inner.pop().unwrap())).is_ok());
    }
}
