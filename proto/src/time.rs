//! `google.protobuf.Timestamp` ↔ `chrono` and RFC 3339 text: every timestamp on every protocol
//! is RFC 3339 UTC (docs/PRODUCT.md §2).

use chrono::{DateTime, SecondsFormat, Utc};
use prost_types::Timestamp;

/// A point in time → `google.protobuf.Timestamp`.
pub fn timestamp(t: DateTime<Utc>) -> Timestamp {
    // subsec nanos are below 2·10^9 (a leap second), within i32.
    Timestamp { seconds: t.timestamp(), nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0) }
}

/// `google.protobuf.Timestamp` → a point in time; None when it is out of chrono's range or its
/// nanos are not below 10^9. Negative nanos (invalid in the proto's own rules) count as 0.
pub fn datetime(t: &Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
}

/// RFC 3339 UTC with microseconds (`2026-01-02T03:04:05.123456Z`), as the edges write times.
pub fn rfc3339(t: &Timestamp) -> Option<String> {
    datetime(t).map(|d| d.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// Parses RFC 3339 text with any offset; None when it is not RFC 3339.
pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
    DateTime::parse_from_rfc3339(text).ok().map(|d| timestamp(d.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_formats() {
        let t = parse_rfc3339("2026-01-02T04:04:05.123456789+01:00").unwrap();
        assert_eq!(t, Timestamp { seconds: 1_767_323_045, nanos: 123_456_789 });
        assert_eq!(rfc3339(&t).as_deref(), Some("2026-01-02T03:04:05.123456Z"));
        assert_eq!(timestamp(datetime(&t).unwrap()), t);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(datetime(&Timestamp { seconds: 0, nanos: -5 }), DateTime::from_timestamp(0, 0));
        assert_eq!(datetime(&Timestamp { seconds: 0, nanos: 1_000_000_000 }), None);
        assert_eq!(datetime(&Timestamp { seconds: i64::MAX, nanos: 0 }), None);
    }
}
