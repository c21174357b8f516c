//! `google.rpc.ErrorInfo.reason`: the one set of machine-readable error reasons (UPPER_SNAKE,
//! domain [`DOMAIN`]) that core-svc attaches to its errors and the edges pass on to clients (REST
//! `reason`, GraphQL `extensions.reason`). Clients branch on these, so a reason is never renamed;
//! ARCHITECTURE.md "Errors" lists every one (a test keeps the table and this enum equal).

/// The `ErrorInfo.domain` of every platform error.
pub const DOMAIN: &str = "platform.v1";

macro_rules! reasons {
    ($($(#[doc = $doc:literal])* $variant:ident = $text:literal,)*) => {
        /// An `ErrorInfo.reason`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Reason {
            /// Every reason, in the order of the table in ARCHITECTURE.md.
            pub const ALL: &[Reason] = &[$(Reason::$variant,)*];

            /// The wire text (`"VERSION_MISMATCH"`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Reason::$variant => $text,)*
                }
            }

            /// The reason of a wire text; None for a text this build does not know.
            pub fn parse(text: &str) -> Option<Reason> {
                match text {
                    $($text => Some(Reason::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

reasons! {
    // Set by core-svc.
    /// Invalid input; `BadRequest` lists the fields.
    InvalidArgument = "INVALID_ARGUMENT",
    /// Missing, or not visible to the caller.
    NotFound = "NOT_FOUND",
    /// The expected version (etag, `If-Match`, `expectedVersion`) is not the current one.
    VersionMismatch = "VERSION_MISMATCH",
    SlugTaken = "SLUG_TAKEN",
    EmailTaken = "EMAIL_TAKEN",
    AlreadyMember = "ALREADY_MEMBER",
    KeyExists = "KEY_EXISTS",
    /// First-admin creation found an admin already there.
    AdminExists = "ADMIN_EXISTS",
    ProjectArchived = "PROJECT_ARCHIVED",
    /// A project always keeps an owner.
    LastOwner = "LAST_OWNER",
    /// The platform always keeps an active admin.
    LastAdmin = "LAST_ADMIN",
    SignupDisabled = "SIGNUP_DISABLED",
    /// Only dead, failed or cancelled tasks can be retried.
    TaskNotRetryable = "TASK_NOT_RETRYABLE",
    /// Only queued tasks can be cancelled.
    TaskNotCancellable = "TASK_NOT_CANCELLABLE",
    /// The export task has not succeeded (yet).
    ExportNotReady = "EXPORT_NOT_READY",
    MissingCredentials = "MISSING_CREDENTIALS",
    /// Wrong email or password.
    InvalidCredentials = "INVALID_CREDENTIALS",
    InvalidToken = "INVALID_TOKEN",
    TokenExpired = "TOKEN_EXPIRED",
    InvalidRefreshToken = "INVALID_REFRESH_TOKEN",
    /// A used refresh token was presented again: its whole session is revoked.
    RefreshTokenReused = "REFRESH_TOKEN_REUSED",
    SessionRevoked = "SESSION_REVOKED",
    UserDisabled = "USER_DISABLED",
    /// A member lacks the role.
    PermissionDenied = "PERMISSION_DENIED",
    /// A resume point older than the retained event log (`oldest_seq` in the metadata).
    EventsExpired = "EVENTS_EXPIRED",
    RateLimited = "RATE_LIMITED",
    /// A dependency (the database) is unreachable, or, made by an edge, core-svc did not answer.
    Unavailable = "UNAVAILABLE",
    /// A bug; the message is redacted and the cause logged.
    Internal = "INTERNAL",
    // Made by the edges.
    /// Core-svc did not answer within the call's deadline: the call may or may not have run.
    DeadlineExceeded = "DEADLINE_EXCEEDED",
    /// A subscription's client read too slowly and was dropped (GraphQL subscriptions).
    TooSlow = "TOO_SLOW",
    /// A request the REST edge could not parse.
    BadRequest = "BAD_REQUEST",
    /// REST: a 403 the edge itself answered.
    Forbidden = "FORBIDDEN",
    MethodNotAllowed = "METHOD_NOT_ALLOWED",
    /// A request body over the 1 MiB limit.
    PayloadTooLarge = "PAYLOAD_TOO_LARGE",
    UnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE",
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<Reason> for str {
    fn eq(&self, other: &Reason) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Reason> for String {
    fn eq(&self, other: &Reason) -> bool {
        self == other.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::Reason;
    use std::collections::BTreeSet;

    #[test]
    fn texts_are_unique_upper_snake_and_parse_back() {
        let mut seen = BTreeSet::new();
        for r in Reason::ALL {
            let t = r.as_str();
            assert!(t.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{t}");
            assert!(seen.insert(t), "{t} twice");
            assert_eq!(Reason::parse(t), Some(*r));
        }
        assert_eq!(Reason::parse("NO_SUCH_REASON"), None);
    }

    /// ARCHITECTURE.md's "Errors" table lists exactly these reasons.
    #[test]
    fn architecture_table_lists_every_reason() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../ARCHITECTURE.md")).unwrap();
        let section = doc.split("### Errors").nth(1).expect("ARCHITECTURE.md has an Errors section");
        let section = section.split("\n#").next().unwrap();
        let mut listed = BTreeSet::new();
        for row in section.lines().filter(|l| l.starts_with('|')) {
            let last = row.trim_end_matches('|').rsplit('|').next().unwrap();
            for piece in last.split('`').skip(1).step_by(2) {
                if !piece.is_empty() && piece.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    listed.insert(piece.to_string());
                }
            }
        }
        let all: BTreeSet<String> = Reason::ALL.iter().map(|r| r.as_str().to_string()).collect();
        let missing: Vec<_> = all.difference(&listed).collect();
        let unknown: Vec<_> = listed.difference(&all).collect();
        assert!(missing.is_empty() && unknown.is_empty(), "not in the table: {missing:?}; not a Reason: {unknown:?}");
    }
}
