//! Calling core-svc on behalf of a client: what goes into the call (credentials, request id,
//! client address) and what comes back when it fails (a decoded [`CoreError`]).
//!
//! Every edge builds its calls with [`CallContext::request`] and turns failures into its own
//! protocol from one [`CoreError`], so the three edges agree on what each core error means.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::RequestId;

/// Who is calling and which request this is; forwarded on every call to core-svc.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The raw credential after `Bearer ` (JWT or API token), forwarded unchanged: core-svc
    /// decides what it is worth.
    pub bearer: Option<String>,
    pub request_id: RequestId,
    /// The end client's address, for core-svc's per-address rate limits.
    pub client_addr: Option<String>,
}

impl CallContext {
    /// Reads `Authorization: Bearer <token>` from a header value (None when absent or another
    /// scheme; core-svc then answers UNAUTHENTICATED).
    pub fn bearer_from_header(value: Option<&str>) -> Option<String> {
        let v = value?.trim();
        let (scheme, token) = v.split_once(' ')?;
        (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim().to_string())
    }

    /// Wraps a message with this context's metadata.
    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(message);
        self.request_id.attach_to(&mut r);
        if let Some(token) = &self.bearer
            && let Ok(v) = format!("Bearer {token}").parse()
        {
            r.metadata_mut().insert(proto::metadata::AUTHORIZATION, v);
        }
        if let Some(addr) = &self.client_addr
            && let Ok(v) = addr.parse()
        {
            r.metadata_mut().insert(proto::metadata::FORWARDED_FOR, v);
        }
        r
    }
}

/// One invalid field, as core-svc reported it (`google.rpc.BadRequest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// A failed core-svc call, decoded from `google.rpc.Status` details.
#[derive(Debug, Clone)]
pub struct CoreError {
    pub code: Code,
    /// `ErrorInfo.reason` (UPPER_SNAKE), or the code's name when core-svc sent none (transport
    /// errors).
    pub reason: String,
    pub message: String,
    pub violations: Vec<FieldViolation>,
    /// From `RetryInfo` (rate limits).
    pub retry_after: Option<Duration>,
}

impl CoreError {
    /// True for errors that are the edge's or core's fault, not the client's.
    pub fn is_server_side(&self) -> bool {
        matches!(self.code, Code::Internal | Code::Unknown | Code::DataLoss | Code::Unimplemented)
    }
}

impl From<Status> for CoreError {
    fn from(status: Status) -> Self {
        let details = status.get_error_details();
        let reason = details
            .error_info()
            .map(|i| i.reason.clone())
            .unwrap_or_else(|| format!("{:?}", status.code()).to_uppercase());
        let violations = details
            .bad_request()
            .map(|b| {
                b.field_violations
                    .iter()
                    .map(|v| FieldViolation { field: v.field.clone(), description: v.description.clone() })
                    .collect()
            })
            .unwrap_or_default();
        let retry_after = details.retry_info().and_then(|r| r.retry_delay);
        let message = match status.code() {
            // The channel could not reach core-svc: say so plainly rather than echo h2 errors.
            Code::Unavailable if details.error_info().is_none() => "the core service is unavailable".to_string(),
            _ => status.message().to_string(),
        };
        Self { code: status.code(), reason, message, violations, retry_after }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing() {
        assert_eq!(CallContext::bearer_from_header(Some("Bearer abc")), Some("abc".into()));
        assert_eq!(CallContext::bearer_from_header(Some("bearer  abc ")), Some("abc".into()));
        assert_eq!(CallContext::bearer_from_header(Some("Basic abc")), None);
        assert_eq!(CallContext::bearer_from_header(Some("Bearer ")), None);
        assert_eq!(CallContext::bearer_from_header(None), None);
    }

    #[test]
    fn metadata_is_attached() {
        let ctx = CallContext {
            bearer: Some("tok".into()),
            request_id: RequestId::parse("rid-1").unwrap(),
            client_addr: Some("203.0.113.9".into()),
        };
        let r = ctx.request(());
        assert_eq!(r.metadata().get("authorization").unwrap(), "Bearer tok");
        assert_eq!(r.metadata().get("x-request-id").unwrap(), "rid-1");
        assert_eq!(r.metadata().get("x-forwarded-for").unwrap(), "203.0.113.9");
    }

    #[test]
    fn status_details_are_decoded() {
        let mut d = tonic_types::ErrorDetails::new();
        d.set_error_info("VERSION_MISMATCH", "platform.v1", std::collections::HashMap::<String, String>::new());
        d.add_bad_request_violation("slug", "bad");
        let e = CoreError::from(Status::with_error_details(Code::Aborted, "stale", d));
        assert_eq!((e.code, e.reason.as_str()), (Code::Aborted, "VERSION_MISMATCH"));
        assert_eq!(e.violations, vec![FieldViolation { field: "slug".into(), description: "bad".into() }]);
        let e = CoreError::from(Status::unavailable("tcp connect error"));
        assert_eq!(e.reason, "UNAVAILABLE");
        assert_eq!(e.message, "the core service is unavailable");
    }
}
