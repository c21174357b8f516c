//! Calling core-svc on behalf of a client: what goes into the call (credentials, request id,
//! client address) and what comes back when it fails (a decoded [`CoreError`]).
//!
//! Every edge builds its calls with [`CallContext::request`] and turns failures into its own
//! protocol from one [`CoreError`], so the three edges agree on what each core error means.

use proto::reason::Reason;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::RequestId;

/// The longest credential an edge forwards. Access tokens are ~400 bytes and API tokens ~50;
/// anything near core-svc's 16 KiB header limit would be refused by its HTTP/2 layer without a
/// gRPC status, so it is refused here first as the client input it is.
pub const MAX_CREDENTIAL_BYTES: usize = 4096;

/// Refuses a credential no issuer of ours could have produced (too long to be a token) as
/// UNAUTHENTICATED `INVALID_TOKEN`, before it is sent to core-svc.
pub fn check_credential(token: &str) -> Result<(), CoreError> {
    if token.len() <= MAX_CREDENTIAL_BYTES {
        return Ok(());
    }
    Err(CoreError {
        code: Code::Unauthenticated,
        reason: Reason::InvalidToken.to_string(),
        message: format!("the credential is {} bytes long; tokens are at most {MAX_CREDENTIAL_BYTES}", token.len()),
        violations: Vec::new(),
        retry_after: None,
        metadata: Default::default(),
    })
}

/// Who is calling and which request this is; forwarded on every call to core-svc.
#[derive(Debug, Clone)]
pub struct CallContext {
    /// The raw credential after `Bearer ` (JWT or API token), forwarded unchanged: core-svc
    /// decides what it is worth.
    /// The credential; its `Debug` prints nothing.
    pub bearer: Option<SecretString>,
    pub request_id: RequestId,
    /// The end client's address, for core-svc's per-address rate limits.
    pub client_addr: Option<String>,
    /// Sent as `grpc-timeout`, so core-svc gives up on work whose answer nobody awaits
    /// ([`crate::CoreClient::call_timeout`]).
    pub deadline: Option<Duration>,
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
        if let Some(deadline) = self.deadline {
            r.set_timeout(deadline);
        }
        if let Some(token) = &self.bearer
            && let Ok(v) = format!("Bearer {}", token.expose_secret()).parse()
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
    /// `ErrorInfo.metadata`: e.g. `oldest_seq` of EVENTS_EXPIRED, `current_version` of a
    /// version mismatch.
    pub metadata: Vec<(String, String)>,
}

impl CoreError {
    /// core-svc answered, but not with what its contract promises (e.g. a response without the
    /// resource): a bug on one side or the other, never the client's doing.
    pub fn bug(message: impl Into<String>) -> Self {
        Self {
            code: Code::Internal,
            reason: Reason::Internal.to_string(),
            message: message.into(),
            violations: Vec::new(),
            retry_after: None,
            metadata: Default::default(),
        }
    }

    /// `oldest_seq` of an EVENTS_EXPIRED answer (a resume point older than the log holds).
    pub fn oldest_seq(&self) -> Option<i64> {
        self.metadata.iter().find(|(k, _)| k == "oldest_seq").and_then(|(_, v)| v.parse().ok())
    }

    /// True when the error means the caller's access is gone (a subscription cannot continue
    /// with these credentials), as opposed to a transient failure.
    pub fn is_access_denied_code(code: Code) -> bool {
        matches!(code, Code::PermissionDenied | Code::NotFound | Code::Unauthenticated | Code::InvalidArgument)
    }

    /// True for errors that are the edge's or core's fault, not the client's.
    pub fn is_server_side(&self) -> bool {
        matches!(self.code, Code::Internal | Code::Unknown | Code::DataLoss | Code::Unimplemented)
    }
}

/// What a client should know about a call that never got an answer from core-svc.
const UNAVAILABLE_MESSAGE: &str = "the core service is unavailable; a write may or may not have been applied, \
                                   so read it back before retrying";
const DEADLINE_MESSAGE: &str = "the core service did not answer in time; a write may or may not have been applied, \
                                so read it back before retrying";

impl From<Status> for CoreError {
    fn from(status: Status) -> Self {
        let details = status.get_error_details();
        // Every status core-svc itself answers carries ErrorInfo. One without it was made on this
        // side of the connection: tonic reports a connection that dropped mid-call as UNKNOWN
        // ("transport error") or INTERNAL (an h2 reset), a refused connection as UNAVAILABLE and
        // our own deadline as DEADLINE_EXCEEDED. All of them mean "no answer": the call may or
        // may not have run, which is UNAVAILABLE (or DEADLINE_EXCEEDED), never a server bug.
        if details.error_info().is_none() {
            let code = match status.code() {
                // tonic reports its own timeout (ours, or core-svc's) as CANCELLED "Timeout expired".
                Code::Cancelled if status.message() == tonic::TimeoutExpired(()).to_string() => {
                    Some(Code::DeadlineExceeded)
                }
                Code::Unknown | Code::Internal | Code::Unavailable | Code::Cancelled => Some(Code::Unavailable),
                Code::DeadlineExceeded => Some(Code::DeadlineExceeded),
                _ => None,
            };
            if let Some(code) = code {
                tracing::warn!(code = ?status.code(), message = %status.message(), "no answer from core-svc");
                let (reason, message) = match code {
                    Code::DeadlineExceeded => (Reason::DeadlineExceeded, DEADLINE_MESSAGE),
                    _ => (Reason::Unavailable, UNAVAILABLE_MESSAGE),
                };
                let (reason, message) = (reason.to_string(), message.to_string());
                return Self {
                    code,
                    reason,
                    message,
                    violations: Vec::new(),
                    retry_after: None,
                    metadata: Default::default(),
                };
            }
        }
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
        let metadata = details.error_info().map(|i| i.metadata.clone().into_iter().collect()).unwrap_or_default();
        Self { code: status.code(), reason, message: status.message().to_string(), violations, retry_after, metadata }
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
            deadline: Some(Duration::from_millis(1500)),
        };
        let r = ctx.request(());
        assert_eq!(r.metadata().get("authorization").unwrap(), "Bearer tok");
        assert_eq!(r.metadata().get("x-request-id").unwrap(), "rid-1");
        assert_eq!(r.metadata().get("x-forwarded-for").unwrap(), "203.0.113.9");
        assert_eq!(r.metadata().get("grpc-timeout").unwrap(), "1500000u");
        assert!(!format!("{ctx:?}").contains("tok"), "{ctx:?}");
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
        assert_eq!(e.message, UNAVAILABLE_MESSAGE);
    }

    #[test]
    fn a_call_without_an_answer_is_unavailable_not_a_bug() {
        // What tonic reports when core-svc dies mid-call, or its HTTP/2 layer resets the stream.
        for status in [
            Status::unknown("transport error"),
            Status::internal("h2 protocol error: stream reset"),
            Status::cancelled("operation was canceled"),
            Status::unknown("grpc-status header missing, mapped from HTTP status code 431"),
        ] {
            let e = CoreError::from(status);
            assert_eq!((e.code, e.reason.as_str()), (Code::Unavailable, "UNAVAILABLE"));
            assert!(!e.is_server_side());
        }
        for status in [Status::deadline_exceeded("deadline"), Status::cancelled("Timeout expired")] {
            let e = CoreError::from(status);
            assert_eq!((e.code, e.reason.as_str()), (Code::DeadlineExceeded, "DEADLINE_EXCEEDED"));
        }
        // core-svc's own INTERNAL (with ErrorInfo) stays a server bug.
        let mut d = tonic_types::ErrorDetails::new();
        d.set_error_info("INTERNAL", "platform.v1", std::collections::HashMap::<String, String>::new());
        let e = CoreError::from(Status::with_error_details(Code::Internal, "internal error", d));
        assert!(e.is_server_side());
    }

    #[test]
    fn oversized_credentials_are_refused_as_invalid_tokens() {
        assert!(check_credential(&"a".repeat(MAX_CREDENTIAL_BYTES)).is_ok());
        let e = check_credential(&"a".repeat(MAX_CREDENTIAL_BYTES + 1)).unwrap_err();
        assert_eq!((e.code, e.reason.as_str()), (Code::Unauthenticated, "INVALID_TOKEN"));
    }
}
