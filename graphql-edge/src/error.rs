//! The one mapping from core-svc's errors (and the edge's own input checks) to GraphQL errors.
//!
//! Every error in a response carries `extensions.code` (docs/PRODUCT.md §9 "GraphQL": `BAD_USER_INPUT`,
//! `UNAUTHENTICATED`, `FORBIDDEN`, `NOT_FOUND`, `CONFLICT`, `RATE_LIMITED`, `UNAVAILABLE`,
//! `INTERNAL`; and `OUT_OF_RANGE` for a resume point older than the retained log, with
//! `extensions.oldestSeq`) and `extensions.requestId`; errors from core-svc also carry
//! `extensions.reason` (core's `ErrorInfo.reason`) and, for invalid input,
//! `extensions.fieldViolations`.

use async_graphql::{ErrorExtensionValues, Value};
use edge_kit::{CoreError, forward::FieldViolation};
use tonic::Code;

pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const CONFLICT: &str = "CONFLICT";
pub const RATE_LIMITED: &str = "RATE_LIMITED";
pub const UNAVAILABLE: &str = "UNAVAILABLE";
pub const INTERNAL: &str = "INTERNAL";
pub const OUT_OF_RANGE: &str = "OUT_OF_RANGE";

/// The GraphQL `code` of a core-svc status code.
pub fn code_of(code: Code) -> &'static str {
    match code {
        Code::InvalidArgument => BAD_USER_INPUT,
        Code::OutOfRange => OUT_OF_RANGE,
        Code::Unauthenticated => UNAUTHENTICATED,
        Code::PermissionDenied => FORBIDDEN,
        Code::NotFound => NOT_FOUND,
        // Version mismatch, duplicates and states that forbid the change: the client can fix it by
        // re-reading; `extensions.reason` says which.
        Code::Aborted | Code::AlreadyExists | Code::FailedPrecondition => CONFLICT,
        Code::ResourceExhausted => RATE_LIMITED,
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => UNAVAILABLE,
        _ => INTERNAL,
    }
}

/// A failed core-svc call as a GraphQL error.
pub fn core(status: tonic::Status) -> async_graphql::Error {
    from_core_error(CoreError::from(status))
}

/// core-svc answered without what its contract promises (`what`): INTERNAL, a bug.
pub fn missing(what: &str) -> async_graphql::Error {
    from_core_error(CoreError::bug(format!("core-svc answered without {what}")))
}

pub fn from_core_error(e: CoreError) -> async_graphql::Error {
    let code = code_of(e.code);
    let message = if code == INTERNAL {
        tracing::error!(code = ?e.code, reason = %e.reason, message = %e.message, "core-svc call failed");
        "internal error".to_string()
    } else {
        e.message.clone()
    };
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", code);
    ext.set("reason", e.reason.as_str());
    if !e.violations.is_empty() {
        ext.set("fieldViolations", violations(&e.violations));
    }
    if let Some(retry) = e.retry_after {
        ext.set("retryAfterSeconds", retry.as_secs().max(1));
    }
    if let Some(oldest) = e.oldest_seq() {
        ext.set("oldestSeq", oldest.to_string());
    }
    async_graphql::Error { message, source: None, extensions: Some(ext) }
}

/// Invalid input caught by the edge itself (page size, cursors, argument combinations).
pub fn bad_input(field: &str, description: impl Into<String>) -> async_graphql::Error {
    let description = description.into();
    let mut ext = ErrorExtensionValues::default();
    ext.set("code", BAD_USER_INPUT);
    ext.set("reason", proto::reason::Reason::InvalidArgument.as_str());
    ext.set(
        "fieldViolations",
        violations(&[FieldViolation { field: field.to_string(), description: description.clone() }]),
    );
    async_graphql::Error { message: format!("{field}: {description}"), source: None, extensions: Some(ext) }
}

fn violations(vs: &[FieldViolation]) -> Value {
    Value::List(
        vs.iter()
            .map(|v| {
                let mut m = async_graphql::indexmap::IndexMap::new();
                m.insert(async_graphql::Name::new("field"), Value::from(v.field.as_str()));
                m.insert(async_graphql::Name::new("description"), Value::from(v.description.as_str()));
                Value::Object(m)
            })
            .collect(),
    )
}

/// Completes every error of a response: the request id everywhere, and `BAD_USER_INPUT` for
/// errors async-graphql raised itself before any resolver ran (syntax, validation, unknown
/// fields, variable types, depth and complexity limits), which carry no code.
pub fn finish(response: &mut async_graphql::Response, request_id: &str) {
    for error in &mut response.errors {
        let ext = error.extensions.get_or_insert_with(ErrorExtensionValues::default);
        if ext.get("code").is_none() {
            ext.set("code", BAD_USER_INPUT);
        }
        ext.set("requestId", request_id);
    }
}

/// A response body for a request that never reached the schema (too large, not JSON).
pub fn request_error_body(message: &str, request_id: &str) -> serde_json::Value {
    serde_json::json!({
        "errors": [{
            "message": message,
            "extensions": { "code": BAD_USER_INPUT, "requestId": request_id },
        }]
    })
}

/// A response body for a request refused before the schema ran, for a reason core-svc's table
/// names (e.g. an oversized credential: UNAUTHENTICATED).
pub fn refused_body(e: CoreError, request_id: &str) -> serde_json::Value {
    serde_json::json!({
        "errors": [{
            "message": e.message,
            "extensions": { "code": code_of(e.code), "reason": e.reason, "requestId": request_id },
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_table() {
        for (code, expected) in [
            (Code::InvalidArgument, BAD_USER_INPUT),
            (Code::Unauthenticated, UNAUTHENTICATED),
            (Code::PermissionDenied, FORBIDDEN),
            (Code::NotFound, NOT_FOUND),
            (Code::Aborted, CONFLICT),
            (Code::AlreadyExists, CONFLICT),
            (Code::FailedPrecondition, CONFLICT),
            (Code::ResourceExhausted, RATE_LIMITED),
            (Code::Unavailable, UNAVAILABLE),
            (Code::Internal, INTERNAL),
            (Code::Unknown, INTERNAL),
        ] {
            assert_eq!(code_of(code), expected, "{code:?}");
        }
    }

    #[test]
    fn finish_adds_request_id_and_a_code_to_framework_errors() {
        let mut r = async_graphql::Response::from_errors(vec![
            async_graphql::ServerError::new("Unknown field", None),
            bad_input("first", "too big").into_server_error(async_graphql::Pos::default()),
        ]);
        finish(&mut r, "rid-9");
        for e in &r.errors {
            let ext = e.extensions.as_ref().unwrap();
            assert_eq!(ext.get("code"), Some(&Value::from(BAD_USER_INPUT)));
            assert_eq!(ext.get("requestId"), Some(&Value::from("rid-9")));
        }
        let violations = r.errors[1].extensions.as_ref().unwrap().get("fieldViolations").cloned().unwrap();
        assert_eq!(violations.into_json().unwrap(), serde_json::json!([{"field": "first", "description": "too big"}]));
    }

    #[test]
    fn conflicts_keep_cores_reason() {
        use tonic_types::StatusExt;
        let mut d = tonic_types::ErrorDetails::new();
        d.set_error_info("VERSION_MISMATCH", "platform.v1", std::collections::HashMap::<String, String>::new());
        let e = core(tonic::Status::with_error_details(Code::Aborted, "stale", d));
        let ext = e.extensions.unwrap();
        assert_eq!(ext.get("code"), Some(&Value::from(CONFLICT)));
        assert_eq!(ext.get("reason"), Some(&Value::from("VERSION_MISMATCH")));
    }

    #[test]
    fn internal_messages_are_redacted() {
        let e = from_core_error(CoreError::bug("secret sql detail"));
        assert_eq!(e.message, "internal error");
    }
}
