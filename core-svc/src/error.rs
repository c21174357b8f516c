//! The one domain error of core-svc, and its one mapping to a gRPC status.
//!
//! Every fallible use case returns [`Error`]. The gRPC layer converts it with `Status::from`,
//! which attaches `google.rpc.ErrorInfo` (reason in UPPER_SNAKE, domain `platform.v1`) and, for
//! invalid input, `google.rpc.BadRequest` field violations. Edges map the status to their own
//! protocol, so this table is the single source of every client-visible error code.

use std::time::Duration;

pub use proto::reason::Reason;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `ErrorInfo.domain` of every error core-svc returns.
pub const ERROR_DOMAIN: &str = proto::reason::DOMAIN;

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self { field: field.into(), description: description.into() }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed or breaks a validation rule.
    #[error("{message}")]
    InvalidArgument { message: String, violations: Vec<FieldViolation> },
    /// The resource does not exist, or the caller may not know that it does.
    #[error("{resource} not found")]
    NotFound { resource: &'static str },
    /// The expected version (etag) does not match the current one; nothing was written.
    #[error("{resource} version mismatch: expected {expected}, current {current}")]
    VersionMismatch { resource: &'static str, expected: i64, current: i64 },
    /// A unique property is taken.
    #[error("{message}")]
    AlreadyExists { reason: Reason, message: String },
    /// The request is valid but the resource's state forbids it (e.g. archived project).
    #[error("{message}")]
    FailedPrecondition { reason: Reason, message: String },
    /// No credentials, or credentials that are not (or no longer) valid.
    #[error("{message}")]
    Unauthenticated { reason: Reason, message: String },
    /// The caller can see the resource but may not do this to it.
    #[error("{message}")]
    PermissionDenied { message: String },
    /// A resume point older than what the event log still holds: the client must reload.
    #[error(
        "the events after seq {after} are no longer retained; the oldest is {oldest_seq}: reload instead of resuming"
    )]
    EventsExpired { after: i64, oldest_seq: i64 },
    /// Too many attempts; try again after the given delay.
    #[error("too many requests, retry in {}s", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// A dependency (PostgreSQL) cannot be reached.
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A bug. The cause is logged, never sent to the client.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        let v = FieldViolation::new(field, description);
        Self::InvalidArgument { message: format!("invalid {}: {}", v.field, v.description), violations: vec![v] }
    }

    /// Several invalid fields at once, so a client can show them all.
    pub fn invalid_fields(violations: Vec<FieldViolation>) -> Self {
        let message = match violations.as_slice() {
            [one] => format!("invalid {}: {}", one.field, one.description),
            many => format!("{} invalid fields", many.len()),
        };
        Self::InvalidArgument { message, violations }
    }

    pub fn not_found(resource: &'static str) -> Self {
        Self::NotFound { resource }
    }

    pub fn unauthenticated(reason: Reason, message: impl Into<String>) -> Self {
        Self::Unauthenticated { reason, message: message.into() }
    }

    pub fn permission_denied(message: impl Into<String>) -> Self {
        Self::PermissionDenied { message: message.into() }
    }

    pub fn failed_precondition(reason: Reason, message: impl Into<String>) -> Self {
        Self::FailedPrecondition { reason, message: message.into() }
    }

    pub fn already_exists(reason: Reason, message: impl Into<String>) -> Self {
        Self::AlreadyExists { reason, message: message.into() }
    }

    /// The `ErrorInfo.reason`.
    pub fn reason(&self) -> Reason {
        match self {
            Error::InvalidArgument { .. } => Reason::InvalidArgument,
            Error::NotFound { .. } => Reason::NotFound,
            Error::VersionMismatch { .. } => Reason::VersionMismatch,
            Error::AlreadyExists { reason, .. }
            | Error::FailedPrecondition { reason, .. }
            | Error::Unauthenticated { reason, .. } => *reason,
            Error::PermissionDenied { .. } => Reason::PermissionDenied,
            Error::EventsExpired { .. } => Reason::EventsExpired,
            Error::RateLimited { .. } => Reason::RateLimited,
            Error::Unavailable(_) => Reason::Unavailable,
            Error::Internal(_) => Reason::Internal,
        }
    }

    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::NotFound { .. } => Code::NotFound,
            Error::VersionMismatch { .. } => Code::Aborted,
            Error::AlreadyExists { .. } => Code::AlreadyExists,
            Error::FailedPrecondition { .. } => Code::FailedPrecondition,
            Error::Unauthenticated { .. } => Code::Unauthenticated,
            Error::PermissionDenied { .. } => Code::PermissionDenied,
            Error::EventsExpired { .. } => Code::OutOfRange,
            Error::RateLimited { .. } => Code::ResourceExhausted,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // Pool exhaustion or a lost connection: the database is (temporarily) unreachable.
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::Unavailable("database unavailable".into())
            }
            // Text PostgreSQL cannot store: NUL in a string (22021) or `\u0000` in JSON (22P05).
            // Whatever field carried it, it is the client's input, not our bug.
            sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("22021" | "22P05")) => {
                Error::invalid("request", "contains a NUL character (U+0000), which cannot be stored")
            }
            // statement_timeout (or a lock wait past it): the database did not answer in time.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("57014") => {
                Error::Unavailable("the database did not answer in time".into())
            }
            _ => Error::Internal(e.into()),
        }
    }
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        let code = e.code();
        let message = match &e {
            Error::Internal(cause) => {
                // The cause may hold SQL or other internals: log it, send a generic message.
                tracing::error!(error = ?cause, "internal error");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        let mut details = ErrorDetails::new();
        let mut metadata = std::collections::HashMap::new();
        match &e {
            Error::NotFound { resource } => {
                metadata.insert("resource".to_string(), (*resource).to_string());
            }
            Error::VersionMismatch { resource, current, .. } => {
                metadata.insert("resource".to_string(), (*resource).to_string());
                metadata.insert("current_version".to_string(), current.to_string());
            }
            Error::EventsExpired { oldest_seq, .. } => {
                metadata.insert("oldest_seq".to_string(), oldest_seq.to_string());
            }
            _ => {}
        }
        details.set_error_info(e.reason().as_str(), ERROR_DOMAIN, metadata);
        match &e {
            Error::InvalidArgument { violations, .. } if !violations.is_empty() => {
                for v in violations {
                    details.add_bad_request_violation(v.field.clone(), v.description.clone());
                }
            }
            Error::RateLimited { retry_after } => {
                details.set_retry_info(Some(*retry_after));
            }
            _ => {}
        }
        Status::with_error_details(code, message, details)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_carries_field_violations() {
        let status = Status::from(Error::invalid("slug", "must match ^[a-z0-9]…"));
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let br = details.bad_request().expect("bad request details");
        assert_eq!(br.field_violations[0].field, "slug");
        assert_eq!(details.error_info().unwrap().reason, "INVALID_ARGUMENT");
    }

    #[test]
    fn internal_errors_are_redacted() {
        let status = Status::from(Error::Internal(anyhow::anyhow!("relation users does not exist")));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn rate_limit_carries_retry_info() {
        let status = Status::from(Error::RateLimited { retry_after: Duration::from_secs(42) });
        assert_eq!(status.code(), Code::ResourceExhausted);
        let d = status.get_error_details();
        assert_eq!(d.retry_info().unwrap().retry_delay, Some(Duration::from_secs(42)));
    }
}
