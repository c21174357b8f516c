//! Domain types ⇄ `platform.v1` messages. The only place that knows both.

use chrono::{DateTime, Utc};
use prost_types::{Struct, Timestamp, Value};
use proto::v1 as pb;
use secrecy::ExposeSecret;
use serde_json::{Map, Value as Json};

use crate::{
    domain::{self, ConfigOp, MemberRole, ProjectStatus, UserRole, UserStatus},
    error::{Error, Result},
};

pub fn ts(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(proto::time::timestamp(t))
}

pub fn opt_ts(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.and_then(ts)
}

pub fn from_ts(field: &str, t: Option<Timestamp>) -> Result<Option<DateTime<Utc>>> {
    t.map(|t| proto::time::datetime(&t).ok_or_else(|| Error::invalid(field, "is out of range"))).transpose()
}

fn opt_id(id: Option<uuid::Uuid>) -> String {
    id.map(|i| i.to_string()).unwrap_or_default()
}

/// JSON ↔ `google.protobuf.Value` (whole numbers: `proto::json`).
pub use proto::json::{to_struct, to_value};

/// `google.protobuf.Value` → JSON. None when the value is absent (unset field); a value JSON
/// cannot carry (NaN, infinities, absurd nesting) is invalid input in `field`.
pub fn from_value(field: &str, v: Option<Value>) -> Result<Option<Json>> {
    v.map(|v| proto::json::try_from_value(v).map_err(|e| Error::invalid(field, e.describe()))).transpose()
}

pub fn user_role(r: UserRole) -> pb::UserRole {
    match r {
        UserRole::Admin => pb::UserRole::Admin,
        UserRole::User => pb::UserRole::User,
    }
}

pub fn parse_user_role(field: &str, r: i32) -> Result<Option<UserRole>> {
    match pb::UserRole::try_from(r) {
        Ok(pb::UserRole::Unspecified) => Ok(None),
        Ok(pb::UserRole::Admin) => Ok(Some(UserRole::Admin)),
        Ok(pb::UserRole::User) => Ok(Some(UserRole::User)),
        Err(_) => Err(Error::invalid(field, "unknown role")),
    }
}

pub fn parse_user_status(field: &str, s: i32) -> Result<Option<UserStatus>> {
    match pb::UserStatus::try_from(s) {
        Ok(pb::UserStatus::Unspecified) => Ok(None),
        Ok(pb::UserStatus::Active) => Ok(Some(UserStatus::Active)),
        Ok(pb::UserStatus::Disabled) => Ok(Some(UserStatus::Disabled)),
        Err(_) => Err(Error::invalid(field, "unknown status")),
    }
}

pub fn member_role(r: MemberRole) -> pb::MemberRole {
    match r {
        MemberRole::Viewer => pb::MemberRole::Viewer,
        MemberRole::Editor => pb::MemberRole::Editor,
        MemberRole::Owner => pb::MemberRole::Owner,
    }
}

pub fn parse_member_role(field: &str, r: i32) -> Result<Option<MemberRole>> {
    match pb::MemberRole::try_from(r) {
        Ok(pb::MemberRole::Unspecified) => Ok(None),
        Ok(pb::MemberRole::Viewer) => Ok(Some(MemberRole::Viewer)),
        Ok(pb::MemberRole::Editor) => Ok(Some(MemberRole::Editor)),
        Ok(pb::MemberRole::Owner) => Ok(Some(MemberRole::Owner)),
        Err(_) => Err(Error::invalid(field, "unknown role")),
    }
}

pub fn user(u: domain::User) -> pb::User {
    pb::User {
        id: u.id.to_string(),
        email: u.email,
        name: u.name,
        role: user_role(u.role) as i32,
        status: match u.status {
            UserStatus::Active => pb::UserStatus::Active,
            UserStatus::Disabled => pb::UserStatus::Disabled,
        } as i32,
        create_time: ts(u.created_at),
        update_time: ts(u.updated_at),
        last_login_time: opt_ts(u.last_login_at),
        version: u.version,
        etag: proto::etag::format(u.version),
    }
}

pub fn project(v: domain::ProjectView) -> pb::Project {
    let p = v.project;
    pb::Project {
        id: p.id.to_string(),
        slug: p.slug,
        name: p.name,
        description: p.description,
        status: match p.status {
            ProjectStatus::Active => pb::ProjectStatus::Active,
            ProjectStatus::Archived => pb::ProjectStatus::Archived,
        } as i32,
        owner_id: p.owner_id.to_string(),
        create_time: ts(p.created_at),
        update_time: ts(p.updated_at),
        version: p.version,
        etag: proto::etag::format(p.version),
        caller_role: member_role(v.caller_role) as i32,
    }
}

pub fn member(m: domain::Member) -> pb::Member {
    pb::Member {
        id: m.id.to_string(),
        project_id: m.project_id.to_string(),
        user_id: m.user_id.to_string(),
        role: member_role(m.role) as i32,
        create_time: ts(m.created_at),
        update_time: ts(m.updated_at),
        version: m.version,
        etag: proto::etag::format(m.version),
    }
}

pub fn config(c: domain::Config) -> pb::Config {
    pb::Config {
        id: c.id.to_string(),
        project_id: opt_id(c.project_id),
        key: c.key,
        value: Some(to_value(c.value)),
        description: c.description,
        version: c.version,
        etag: proto::etag::format(c.version),
        create_time: ts(c.created_at),
        update_time: ts(c.updated_at),
        updated_by: opt_id(c.updated_by),
        delete_time: opt_ts(c.deleted_at),
    }
}

pub fn setting(c: domain::Config) -> pb::Setting {
    pb::Setting {
        id: c.id.to_string(),
        key: c.key,
        value: Some(to_value(c.value)),
        description: c.description,
        version: c.version,
        etag: proto::etag::format(c.version),
        create_time: ts(c.created_at),
        update_time: ts(c.updated_at),
        updated_by: opt_id(c.updated_by),
    }
}

pub fn revision(r: domain::ConfigRevision) -> pb::ConfigRevision {
    pb::ConfigRevision {
        id: r.id.to_string(),
        config_id: r.config_id.to_string(),
        project_id: opt_id(r.project_id),
        key: r.key,
        version: r.version,
        value: Some(to_value(r.value)),
        description: r.description,
        op: match r.op {
            ConfigOp::Set => pb::ConfigOp::Set,
            ConfigOp::Delete => pb::ConfigOp::Delete,
            ConfigOp::Rollback => pb::ConfigOp::Rollback,
        } as i32,
        author_id: opt_id(r.author_id),
        create_time: ts(r.created_at),
    }
}

pub fn api_token(t: domain::ApiToken) -> pb::ApiToken {
    pb::ApiToken {
        id: t.id.to_string(),
        user_id: t.user_id.to_string(),
        name: t.name,
        prefix: t.prefix,
        create_time: ts(t.created_at),
        expire_time: opt_ts(t.expires_at),
        revoke_time: opt_ts(t.revoked_at),
        last_use_time: opt_ts(t.last_used_at),
    }
}

pub fn event(e: domain::Event) -> pb::Event {
    let payload = match e.payload {
        Json::Object(o) => to_struct(o),
        other => to_struct(Map::from_iter([("value".to_string(), other)])),
    };
    pb::Event {
        seq: e.seq.unwrap_or_default(),
        id: e.id.to_string(),
        r#type: e.event_type,
        channel: e.channels.first().cloned().unwrap_or_default(),
        channels: e.channels,
        actor_id: opt_id(e.actor_id),
        resource: Some(pb::ResourceRef { r#type: e.resource_type, id: e.resource_id }),
        payload: Some(payload),
        occur_time: ts(e.occurred_at),
        request_id: e.request_id.unwrap_or_default(),
    }
}

fn json_struct(j: Option<Json>) -> Option<Struct> {
    match j {
        None | Some(Json::Null) => None,
        Some(Json::Object(o)) => Some(to_struct(o)),
        Some(other) => Some(to_struct(Map::from_iter([("value".to_string(), other)]))),
    }
}

pub fn task(t: domain::Task) -> pb::Task {
    let status = match t.status {
        domain::TaskStatus::Queued => pb::TaskStatus::Queued,
        domain::TaskStatus::Running => pb::TaskStatus::Running,
        domain::TaskStatus::Succeeded => pb::TaskStatus::Succeeded,
        domain::TaskStatus::Failed => pb::TaskStatus::Failed,
        domain::TaskStatus::Dead => pb::TaskStatus::Dead,
        domain::TaskStatus::Cancelled => pb::TaskStatus::Cancelled,
    };
    pb::Task {
        id: t.id.to_string(),
        kind: t.kind,
        status: status as i32,
        attempts: t.attempts,
        max_attempts: t.max_attempts,
        run_time: ts(t.run_at),
        progress: t.progress,
        result: json_struct(t.result),
        last_error: t.last_error.unwrap_or_default(),
        created_by: opt_id(t.created_by),
        project_id: opt_id(t.project_id),
        create_time: ts(t.created_at),
        update_time: ts(t.updated_at),
        version: t.version,
    }
}

/// A webhook; its secret only when `with_secret` (the create answer, or a secret change).
pub fn webhook(w: domain::Webhook, with_secret: bool) -> pb::Webhook {
    pb::Webhook {
        id: w.id.to_string(),
        project_id: w.project_id.to_string(),
        url: w.url,
        event_types: w.event_types,
        active: w.active,
        description: w.description,
        secret: if with_secret { w.secret.expose_secret().to_string() } else { String::new() },
        create_time: ts(w.created_at),
        update_time: ts(w.updated_at),
        version: w.version,
        etag: proto::etag::format(w.version),
        created_by: opt_id(w.created_by),
    }
}

pub fn delivery(d: domain::WebhookDelivery) -> pb::WebhookDelivery {
    let status = match d.status {
        domain::DeliveryStatus::Pending => pb::DeliveryStatus::Pending,
        domain::DeliveryStatus::Delivered => pb::DeliveryStatus::Delivered,
        domain::DeliveryStatus::Dead => pb::DeliveryStatus::Dead,
    };
    pb::WebhookDelivery {
        id: d.id.to_string(),
        webhook_id: d.webhook_id.to_string(),
        project_id: d.project_id.to_string(),
        event_id: d.event_id.to_string(),
        event_seq: d.event_seq,
        event_type: d.event_type,
        status: status as i32,
        attempts: d.attempts,
        response_status: d.response_status,
        response_body: d.response_body,
        last_error: d.last_error,
        duration_ms: d.duration_ms,
        task_id: d.task_id.to_string(),
        create_time: ts(d.created_at),
        update_time: ts(d.updated_at),
        deliver_time: opt_ts(d.delivered_at),
    }
}

/// The export document as a Struct.
pub fn document(j: Json) -> Option<Struct> {
    json_struct(Some(j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_protobuf_value() {
        let j = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": -3}});
        assert_eq!(from_value("v", Some(to_value(j.clone()))).unwrap(), Some(j));
    }

    #[test]
    fn deep_values_and_non_finite_numbers_are_invalid_input() {
        use prost_types::value::Kind;
        let mut v = to_value(Json::Null);
        for _ in 0..70 {
            v = Value { kind: Some(Kind::ListValue(prost_types::ListValue { values: vec![v] })) };
        }
        assert!(matches!(from_value("value", Some(v)), Err(Error::InvalidArgument { .. })));
        let nan = Value { kind: Some(Kind::NumberValue(f64::NAN)) };
        assert!(matches!(from_value("value", Some(nan)), Err(Error::InvalidArgument { .. })));
        assert_eq!(from_value("value", None).unwrap(), None);
    }
}
