//! The only contract between Platform SM services: `platform.v1`.
//!
//! - [`v1`]: messages, clients and servers generated from `proto/platform/v1/*.proto`.
//! - [`FILE_DESCRIPTOR_SET`]: the encoded descriptors, for gRPC server reflection.
//! - [`metadata`]: gRPC metadata keys that edges and core-svc agree on.
//! - [`etag`]: the `"<version>"` entity tag format shared by every protocol.
//! - [`codec`]: the protobuf codec of every service (malformed requests are INVALID_ARGUMENT).
//! - `redact`: the `Debug` of messages that carry secrets, which never prints them.
//! - [`JSON_MAX_DEPTH`]: how deeply a JSON value (config, setting) may nest.
//!
//! And the translations every side shares, written once:
//! - [`json`]: JSON ↔ `google.protobuf.Value` (and the rule for whole numbers).
//! - [`time`]: `google.protobuf.Timestamp` ↔ `chrono` and RFC 3339 text.
//! - [`filter`]: quoting client text into the list-filter language.
//! - [`reason`]: the `ErrorInfo.reason` values.
//! - [`Services`]: a client of each service over one channel.

mod clients;
pub mod codec;
pub mod filter;
pub mod json;
pub mod reason;
mod redact;
pub mod time;

pub use clients::Services;

/// Generated code of package `platform.v1`.
pub mod v1 {
    #![allow(clippy::all, clippy::pedantic, missing_docs)]
    tonic::include_proto!("platform.v1");
}

/// Encoded `FileDescriptorSet` of every `platform.v1` file (and its imports).
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("platform_v1_descriptor");

/// How many levels of arrays and objects a JSON value (a config or setting value) may nest.
///
/// A JSON value travels as `google.protobuf.Value`, two message levels per JSON level, and
/// protobuf decoders stop at 100 message levels; 32 leaves room for the request around it and
/// is deeper than any configuration needs.
pub const JSON_MAX_DEPTH: usize = 32;

/// Metadata keys carried on every call from an edge to core-svc.
pub mod metadata {
    /// `Bearer <access token or API token>`, forwarded unchanged from the client.
    pub const AUTHORIZATION: &str = "authorization";
    /// Correlates logs across edge and core; echoed back in responses.
    pub const REQUEST_ID: &str = "x-request-id";
    /// The end client's address, set by edges so that per-address rate limits see the client,
    /// not the edge.
    pub const FORWARDED_FOR: &str = "x-forwarded-for";
}

/// Entity tags: `"<version>"`, quoted, on every mutable resource.
pub mod etag {
    /// Formats a version as an entity tag.
    pub fn format(version: i64) -> String {
        format!("\"{version}\"")
    }

    /// Parses an entity tag (quoted or not, with or without a weak `W/` prefix) into a version.
    pub fn parse(etag: &str) -> Option<i64> {
        let t = etag.trim();
        let t = t.strip_prefix("W/").unwrap_or(t);
        let t = t.strip_prefix('"').and_then(|t| t.strip_suffix('"')).unwrap_or(t);
        t.parse().ok().filter(|v: &i64| *v >= 0)
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn round_trips() {
            assert_eq!(super::parse(&super::format(7)), Some(7));
            assert_eq!(super::parse("W/\"3\""), Some(3));
            assert_eq!(super::parse("12"), Some(12));
            assert_eq!(super::parse("\"x\""), None);
            assert_eq!(super::parse("\"-1\""), None);
        }
    }
}
