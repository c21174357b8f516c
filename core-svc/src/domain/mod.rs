//! Domain types and rules: no IO, no async.
//!
//! Types here are what the store reads and the services return; `grpc::convert` maps them to
//! the `platform.v1` messages. Validation parses client input into these types
//! ("parse, don't validate") and reports every offending field at once.

mod address;
mod validate;

pub use address::is_public;
pub use validate::*;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sqlx::FromRow;
use uuid::Uuid;

/// Generates the UUIDv7 ids of every resource (time-ordered, so b-tree friendly).
pub fn new_id() -> Uuid {
    Uuid::now_v7()
}

macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [&'static str] = &[$($text),+];

            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        // Lets `#[sqlx(try_from = "String")]` read the text columns.
        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s).ok_or_else(|| format!("unknown {} {s:?}", stringify!($name)))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// Platform-wide role.
    UserRole { Admin = "admin", User = "user" }
);
string_enum!(UserStatus { Active = "active", Disabled = "disabled" });
string_enum!(ProjectStatus { Active = "active", Archived = "archived" });
string_enum!(
    /// Role within a project; ordered by power.
    MemberRole { Viewer = "viewer", Editor = "editor", Owner = "owner" }
);
string_enum!(ConfigOp { Set = "set", Delete = "delete", Rollback = "rollback" });
string_enum!(TaskStatus {
    Queued = "queued",
    Running = "running",
    Succeeded = "succeeded",
    Failed = "failed",
    Dead = "dead",
    Cancelled = "cancelled",
});
string_enum!(DeliveryStatus { Pending = "pending", Delivered = "delivered", Dead = "dead" });

impl MemberRole {
    fn rank(self) -> u8 {
        match self {
            MemberRole::Viewer => 1,
            MemberRole::Editor => 2,
            MemberRole::Owner => 3,
        }
    }

    /// Whether this role includes the powers of `needed`.
    pub fn at_least(self, needed: MemberRole) -> bool {
        self.rank() >= needed.rank()
    }
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: UserRole,
    #[sqlx(try_from = "String")]
    pub status: UserStatus,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, Deserialize, FromRow)]
pub struct Project {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub status: ProjectStatus,
    pub owner_id: Uuid,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A project as one caller sees it.
#[derive(Debug, Clone)]
pub struct ProjectView {
    pub project: Project,
    /// Owner for admins who are not members.
    pub caller_role: MemberRole,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Member {
    pub id: Uuid,
    pub project_id: Uuid,
    pub user_id: Uuid,
    #[sqlx(try_from = "String")]
    pub role: MemberRole,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A config entry of a project, or a system setting (`project_id` is None).
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Config {
    pub id: Uuid,
    pub project_id: Option<Uuid>,
    pub key: String,
    pub value: Json,
    pub description: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<Uuid>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct ConfigRevision {
    pub id: Uuid,
    pub config_id: Uuid,
    pub project_id: Option<Uuid>,
    pub key: String,
    pub version: i64,
    pub value: Json,
    pub description: String,
    #[sqlx(try_from = "String")]
    pub op: ConfigOp,
    pub author_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct ApiToken {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Event {
    pub seq: Option<i64>,
    pub id: Uuid,
    #[sqlx(rename = "type")]
    pub event_type: String,
    pub channels: Vec<String>,
    pub actor_id: Option<Uuid>,
    pub resource_type: String,
    pub resource_id: String,
    pub payload: Json,
    pub occurred_at: DateTime<Utc>,
    pub request_id: Option<String>,
}

/// A background task (docs/PRODUCT.md §7 "Tasks and webhooks").
#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Task {
    pub id: Uuid,
    pub kind: String,
    #[sqlx(try_from = "String")]
    pub status: TaskStatus,
    pub project_id: Option<Uuid>,
    #[serde(skip)]
    pub payload: Json,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: DateTime<Utc>,
    pub progress: i32,
    pub result: Option<Json>,
    pub last_error: Option<String>,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct Webhook {
    pub id: Uuid,
    pub project_id: Uuid,
    pub url: String,
    /// Signs deliveries. Never serialized into events; its `Debug` prints nothing.
    #[serde(skip)]
    #[sqlx(try_from = "String")]
    pub secret: secrecy::SecretString,
    pub event_types: Vec<String>,
    pub active: bool,
    pub description: String,
    pub created_by: Option<Uuid>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, FromRow)]
pub struct WebhookDelivery {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub project_id: Uuid,
    pub event_id: Uuid,
    pub event_seq: i64,
    pub event_type: String,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub response_status: i32,
    pub response_body: String,
    pub last_error: String,
    pub duration_ms: i64,
    pub task_id: Uuid,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// Who is calling, established by `service::auth::authenticate` from the bearer credential.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: Uuid,
    pub role: UserRole,
    /// The session of an access token (None for API tokens).
    pub session_id: Option<Uuid>,
    /// When the credential of this call expires (access token `exp`, API token expiry).
    pub expires_at: Option<DateTime<Utc>>,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == UserRole::Admin
    }
}

/// Facts about the request that events and rate limits record.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    pub request_id: Option<String>,
    /// The end client's address as the edge saw it (or the peer address for direct calls).
    pub client_addr: Option<String>,
}

/// Channel names of the event feed.
pub mod channel {
    use uuid::Uuid;

    pub const SYSTEM: &str = "system";
    pub const ADMIN: &str = "admin";

    pub fn project(id: Uuid) -> String {
        format!("project:{id}")
    }

    pub fn user(id: Uuid) -> String {
        format!("user:{id}")
    }
}
