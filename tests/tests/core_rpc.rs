//! Behaviour of the platform.v1 RPCs of core-svc (users, projects, members, configs, settings,
//! events): success with the returned fields, validation (BadRequest field violations), not
//! found, conflicts, credentials, and the domain rules of docs/PRODUCT.md §2–§7. Every mutation
//! is checked to write exactly one event row (and every failed write none). Who may do what by
//! role is authz_matrix.rs's job, not this file's.

use proto::Services as _;
use std::collections::HashSet;

use serde_json::json;
use sqlx::PgConnection;
use tests::{TestCore, api as pb, authed, expect_code, spawn_core, value, violation_fields};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

// ---------------------------------------------------------------------------------------------
// helpers

/// 12 random hex characters, for unique slugs, keys and emails.
fn uniq() -> String {
    uuid::Uuid::now_v7().simple().to_string()[20..].to_string()
}

fn random_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn is_uuid_v7(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok_and(|u| u.get_version_num() == 7)
}

// protobuf Value → JSON (whole numbers as integers: `proto::json`).
use proto::json::{from_struct as struct_json, from_value as to_json};

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| p.to_string()).collect() })
}

/// Asserts INVALID_ARGUMENT whose BadRequest violations name exactly `fields` (in any order).
#[track_caller]
fn expect_invalid<T: std::fmt::Debug>(r: Result<T, Status>, fields: &[&str]) -> Status {
    let status = expect_code(r, Code::InvalidArgument, Some("INVALID_ARGUMENT"));
    let mut got = violation_fields(&status);
    got.sort();
    let mut want: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
    want.sort();
    assert_eq!(got, want, "field violations of {status:?}");
    status
}

/// Asserts ABORTED / VERSION_MISMATCH.
#[track_caller]
fn expect_stale<T: std::fmt::Debug>(r: Result<T, Status>) -> Status {
    expect_code(r, Code::Aborted, Some("VERSION_MISMATCH"))
}

#[track_caller]
fn expect_not_found<T: std::fmt::Debug>(r: Result<T, Status>) -> Status {
    expect_code(r, Code::NotFound, Some("NOT_FOUND"))
}

/// The rows of the `events` table, read directly, to check that a mutation wrote exactly one
/// event (and a failed one none).
struct EventLog {
    db: PgConnection,
    pos: i64,
}

impl EventLog {
    async fn new(core: &TestCore) -> Self {
        let mut db = core.db().await;
        let pos = sqlx::query_scalar::<_, i64>("SELECT coalesce(max(pos), 0)::bigint FROM events")
            .fetch_one(&mut db)
            .await
            .unwrap();
        Self { db, pos }
    }

    /// (type, channels, payload) of the events written since the last call, in insertion order.
    async fn take(&mut self) -> Vec<(String, Vec<String>, serde_json::Value)> {
        let rows: Vec<(i64, String, Vec<String>, serde_json::Value)> =
            sqlx::query_as("SELECT pos, type, channels, payload FROM events WHERE pos > $1 ORDER BY pos")
                .bind(self.pos)
                .fetch_all(&mut self.db)
                .await
                .unwrap();
        if let Some(last) = rows.last() {
            self.pos = last.0;
        }
        rows.into_iter().map(|(_, t, c, p)| (t, c, p)).collect()
    }

    /// Asserts that exactly these event types were written since the last call.
    async fn expect(&mut self, context: &str, types: &[&str]) -> Vec<(String, Vec<String>, serde_json::Value)> {
        let rows = self.take().await;
        let got: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        assert_eq!(got, types, "events written by {context}");
        rows
    }

    async fn none(&mut self, context: &str) {
        self.expect(context, &[]).await;
    }

    async fn count(&mut self, sql: &'static str, id: &str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql)
            .bind(uuid::Uuid::parse_str(id).unwrap())
            .fetch_one(&mut self.db)
            .await
            .unwrap()
    }
}

fn set_req(project_id: &str, key: &str, v: serde_json::Value, etag: &str) -> pb::SetConfigRequest {
    pb::SetConfigRequest {
        project_id: project_id.into(),
        key: key.into(),
        value: Some(value(v)),
        etag: etag.into(),
        ..Default::default()
    }
}

async fn get_project(core: &TestCore, token: &str, id: &str) -> pb::Project {
    core.projects()
        .get_project(authed(pb::GetProjectRequest { id: id.into(), slug: String::new() }, token))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// UserService

#[tokio::test]
async fn users_create_get_update_list() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let mut log = EventLog::new(&core).await;
    let u = uniq();
    let email = format!("Alice-{u}@Platform.Test");

    // Create: fields, defaults, one event.
    let alice = core
        .users()
        .create_user(authed(
            pb::CreateUserRequest {
                email: email.clone(),
                name: "  Alice  ".into(),
                password: "alice-password-1".into(),
                role: 0,
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert!(is_uuid_v7(&alice.id), "{}", alice.id);
    assert_eq!(alice.email, email);
    assert_eq!(alice.name, "Alice", "names are trimmed");
    assert_eq!(alice.role, pb::UserRole::User as i32, "role defaults to USER");
    assert_eq!(alice.status, pb::UserStatus::Active as i32);
    assert_eq!((alice.version, alice.etag.as_str()), (1, "\"1\""));
    assert!(alice.create_time.is_some() && alice.update_time.is_some());
    assert!(alice.last_login_time.is_none());
    let rows = log.expect("CreateUser", &["user.created"]).await;
    assert_eq!(rows[0].1[0], format!("user:{}", alice.id));
    assert!(rows[0].2.get("password_hash").is_none() && !rows[0].2.to_string().contains("argon2"));

    // Emails are unique case-insensitively.
    let dup = core
        .users()
        .create_user(authed(
            pb::CreateUserRequest {
                email: email.to_lowercase(),
                name: "Other".into(),
                password: "other-password-1".into(),
                role: 0,
            },
            &admin,
        ))
        .await;
    expect_code(dup, Code::AlreadyExists, Some("EMAIL_TAKEN"));
    log.none("CreateUser with a taken email").await;

    // Every invalid field at once.
    let bad = core
        .users()
        .create_user(authed(
            pb::CreateUserRequest { email: "not-an-email".into(), name: " ".into(), password: "short".into(), role: 0 },
            &admin,
        ))
        .await;
    expect_invalid(bad, &["email", "name", "password"]);
    let bad_role = core
        .users()
        .create_user(authed(
            pb::CreateUserRequest {
                email: format!("r-{u}@platform.test"),
                name: "R".into(),
                password: "role-password-1".into(),
                role: 42,
            },
            &admin,
        ))
        .await;
    expect_invalid(bad_role, &["role"]);
    log.none("invalid CreateUser").await;

    // An admin-role user.
    let root = core
        .users()
        .create_user(authed(
            pb::CreateUserRequest {
                email: format!("root-{u}@platform.test"),
                name: "Root".into(),
                password: "root-password-12".into(),
                role: pb::UserRole::Admin as i32,
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!(root.role, pb::UserRole::Admin as i32);
    log.expect("CreateUser(admin)", &["user.created"]).await;

    // Get and BatchGet.
    let got = core.users().get_user(authed(pb::GetUserRequest { id: alice.id.clone() }, &admin)).await.unwrap();
    assert_eq!(got.into_inner().user.unwrap(), alice);
    expect_invalid(core.users().get_user(authed(pb::GetUserRequest { id: "nope".into() }, &admin)).await, &["id"]);
    expect_invalid(core.users().get_user(authed(pb::GetUserRequest { id: String::new() }, &admin)).await, &["id"]);
    expect_not_found(core.users().get_user(authed(pb::GetUserRequest { id: random_id() }, &admin)).await);
    let batch = core
        .users()
        .batch_get_users(authed(pb::BatchGetUsersRequest { ids: vec![alice.id.clone(), random_id()] }, &admin))
        .await
        .unwrap()
        .into_inner()
        .users;
    assert_eq!(batch.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), [alice.id.as_str()], "missing ids left out");
    expect_invalid(
        core.users()
            .batch_get_users(authed(pb::BatchGetUsersRequest { ids: vec![alice.id.clone(), "x".into()] }, &admin))
            .await,
        &["ids[1]"],
    );

    // Update with mask and etag.
    let update = |user: pb::User, paths: &[&str], etag: &str| {
        authed(
            pb::UpdateUserRequest {
                user: Some(user),
                update_mask: mask(paths),
                password: String::new(),
                etag: etag.into(),
            },
            &admin,
        )
    };
    let renamed = core
        .users()
        .update_user(update(
            pb::User { id: alice.id.clone(), name: "Alice B".into(), ..Default::default() },
            &["name"],
            "\"1\"",
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!((renamed.name.as_str(), renamed.version, renamed.etag.as_str()), ("Alice B", 2, "\"2\""));
    assert_eq!(renamed.email, alice.email, "fields outside the mask are kept");
    assert_eq!(renamed.create_time, alice.create_time);
    let rows = log.expect("UpdateUser", &["user.updated"]).await;
    assert_eq!(rows[0].2["name"], "Alice B");

    let stale = core
        .users()
        .update_user(update(
            pb::User { id: alice.id.clone(), name: "Stale".into(), ..Default::default() },
            &["name"],
            "\"1\"",
        ))
        .await;
    let status = expect_stale(stale);
    let info = status.get_error_details().error_info().cloned().unwrap();
    assert_eq!(info.metadata.get("current_version").map(String::as_str), Some("2"));
    expect_invalid(
        core.users()
            .update_user(update(
                pb::User { id: alice.id.clone(), name: "X".into(), ..Default::default() },
                &["name"],
                "one",
            ))
            .await,
        &["etag"],
    );
    expect_invalid(
        core.users()
            .update_user(update(pb::User { id: alice.id.clone(), ..Default::default() }, &["nickname"], ""))
            .await,
        &["update_mask"],
    );
    expect_invalid(
        core.users().update_user(update(pb::User { id: alice.id.clone(), ..Default::default() }, &["name"], "")).await,
        &["user.name"],
    );
    expect_invalid(
        core.users()
            .update_user(update(pb::User { id: "bad".into(), name: "N".into(), ..Default::default() }, &["name"], ""))
            .await,
        &["user.id"],
    );
    expect_invalid(
        core.users()
            .update_user(authed(
                pb::UpdateUserRequest { user: None, update_mask: mask(&["name"]), ..Default::default() },
                &admin,
            ))
            .await,
        &["user"],
    );
    expect_not_found(
        core.users()
            .update_user(update(pb::User { id: random_id(), name: "N".into(), ..Default::default() }, &["name"], ""))
            .await,
    );
    let taken = core
        .users()
        .update_user(update(
            pb::User { id: alice.id.clone(), email: core.admin_email.to_uppercase(), ..Default::default() },
            &["email"],
            "",
        ))
        .await;
    expect_code(taken, Code::AlreadyExists, Some("EMAIL_TAKEN"));
    log.none("failed UpdateUser calls").await;

    // Disabling is its own event type.
    let disabled = core
        .users()
        .update_user(update(
            pb::User { id: alice.id.clone(), status: pb::UserStatus::Disabled as i32, ..Default::default() },
            &["status"],
            "\"2\"",
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap();
    assert_eq!((disabled.status, disabled.version), (pb::UserStatus::Disabled as i32, 3));
    log.expect("UpdateUser(status=disabled)", &["user.disabled"]).await;

    // List with filters.
    let list = |filter: String, order_by: &str, page_size: i32| {
        authed(pb::ListUsersRequest { filter, order_by: order_by.into(), page_size, ..Default::default() }, &admin)
    };
    let found = core.users().list_users(list(format!("\"alice-{u}\""), "", 0)).await.unwrap().into_inner();
    assert_eq!((found.users.len(), found.total_size), (1, 1), "free text matches the email");
    assert_eq!(found.users[0].id, alice.id);
    let disabled = core.users().list_users(list("status = disabled".into(), "", 0)).await.unwrap().into_inner();
    assert_eq!(disabled.users.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(), [alice.id.as_str()]);
    let admins = core.users().list_users(list("role = admin".into(), "email desc", 0)).await.unwrap().into_inner();
    assert_eq!(admins.total_size, 2);
    assert!(admins.users[0].email > admins.users[1].email, "ordered by email desc");
    expect_invalid(core.users().list_users(list("nickname = x".into(), "", 0)).await, &["filter"]);
    expect_invalid(core.users().list_users(list("role = root".into(), "", 0)).await, &["filter"]);
    expect_invalid(core.users().list_users(list(String::new(), "password", 0)).await, &["order_by"]);
    expect_invalid(core.users().list_users(list(String::new(), "", -1)).await, &["page_size"]);
    log.none("reads").await;
    core.stop().await;
}

// ---------------------------------------------------------------------------------------------
// ProjectService

#[tokio::test]
async fn projects_create_get_update() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (alice, alice_token) = core.user(&admin, "alice").await;
    let mut log = EventLog::new(&core).await;
    let slug = format!("proj-{}", uniq());

    let create = |slug: &str, name: &str| {
        authed(
            pb::CreateProjectRequest { slug: slug.into(), name: name.into(), description: "first".into() },
            &alice_token,
        )
    };
    let p = core.projects().create_project(create(&slug, "Project")).await.unwrap().into_inner().project.unwrap();
    assert!(is_uuid_v7(&p.id));
    assert_eq!((p.slug.as_str(), p.name.as_str(), p.description.as_str()), (slug.as_str(), "Project", "first"));
    assert_eq!(p.status, pb::ProjectStatus::Active as i32);
    assert_eq!(p.owner_id, alice.id, "the creator owns the project");
    assert_eq!(p.caller_role, pb::MemberRole::Owner as i32);
    assert_eq!((p.version, p.etag.as_str()), (1, "\"1\""));
    assert!(p.create_time.is_some() && p.update_time.is_some());
    let rows = log.expect("CreateProject", &["project.created"]).await;
    assert_eq!(rows[0].1[0], format!("project:{}", p.id));
    assert!(rows[0].1.contains(&format!("user:{}", alice.id)));
    // The creator became an owner member.
    let members = core
        .members()
        .list_members(authed(pb::ListMembersRequest { project_id: p.id.clone(), ..Default::default() }, &alice_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(members.members.len(), 1);
    assert_eq!(members.members[0].user_id, alice.id);
    assert_eq!(members.members[0].role, pb::MemberRole::Owner as i32);

    // Validation and conflicts.
    expect_invalid(core.projects().create_project(create("Bad_Slug", " ")).await, &["slug", "name"]);
    for bad in ["ab", "-abc", "abc-", "ABC", &"a".repeat(64)] {
        expect_invalid(core.projects().create_project(create(bad, "N")).await, &["slug"]);
    }
    expect_code(core.projects().create_project(create(&slug, "Again")).await, Code::AlreadyExists, Some("SLUG_TAKEN"));
    log.none("failed CreateProject calls").await;

    // Get by id / slug.
    let by_id = get_project(&core, &alice_token, &p.id).await;
    assert_eq!(by_id, p);
    let by_slug = core
        .projects()
        .get_project(authed(pb::GetProjectRequest { id: String::new(), slug: slug.clone() }, &alice_token))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!(by_slug.id, p.id);
    let get = |id: &str, slug: &str| authed(pb::GetProjectRequest { id: id.into(), slug: slug.into() }, &alice_token);
    expect_invalid(core.projects().get_project(get("", "")).await, &["id"]);
    expect_invalid(core.projects().get_project(get(&p.id, &slug)).await, &["id"]);
    expect_invalid(core.projects().get_project(get("nope", "")).await, &["id"]);
    expect_not_found(core.projects().get_project(get(&random_id(), "")).await);
    expect_not_found(core.projects().get_project(get("", "no-such-slug-here")).await);
    let batch = core
        .projects()
        .batch_get_projects(authed(pb::BatchGetProjectsRequest { ids: vec![random_id(), p.id.clone()] }, &alice_token))
        .await
        .unwrap()
        .into_inner()
        .projects;
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].id, p.id);
    expect_invalid(
        core.projects()
            .batch_get_projects(authed(pb::BatchGetProjectsRequest { ids: vec!["x".into()] }, &alice_token))
            .await,
        &["ids[0]"],
    );

    // Update.
    let update = |project: pb::Project, paths: &[&str], etag: &str| {
        authed(
            pb::UpdateProjectRequest { project: Some(project), update_mask: mask(paths), etag: etag.into() },
            &alice_token,
        )
    };
    let updated = core
        .projects()
        .update_project(update(
            pb::Project {
                id: p.id.clone(),
                name: "Renamed".into(),
                description: "second".into(),
                ..Default::default()
            },
            &["name", "description"],
            "\"1\"",
        ))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((updated.name.as_str(), updated.description.as_str()), ("Renamed", "second"));
    assert_eq!((updated.slug.as_str(), updated.version, updated.etag.as_str()), (slug.as_str(), 2, "\"2\""));
    assert_eq!(updated.owner_id, alice.id);
    let rows = log.expect("UpdateProject", &["project.updated"]).await;
    assert_eq!(rows[0].2["name"], "Renamed");
    assert_eq!(rows[0].2["before"]["name"], "Project", "the event carries the before-state");
    assert_eq!(rows[0].2["before"]["version"], 1);

    let other = core.project(&alice_token, "other").await;
    log.expect("CreateProject", &["project.created"]).await;
    expect_stale(
        core.projects()
            .update_project(update(
                pb::Project { id: p.id.clone(), name: "X".into(), ..Default::default() },
                &["name"],
                "\"1\"",
            ))
            .await,
    );
    expect_invalid(
        core.projects()
            .update_project(update(pb::Project { id: p.id.clone(), ..Default::default() }, &["status"], ""))
            .await,
        &["update_mask"],
    );
    expect_invalid(
        core.projects()
            .update_project(update(
                pb::Project { id: p.id.clone(), slug: "NO".into(), ..Default::default() },
                &["slug"],
                "",
            ))
            .await,
        &["project.slug"],
    );
    expect_invalid(
        core.projects()
            .update_project(update(
                pb::Project { id: "x".into(), name: "N".into(), ..Default::default() },
                &["name"],
                "",
            ))
            .await,
        &["project.id"],
    );
    expect_invalid(
        core.projects()
            .update_project(authed(pb::UpdateProjectRequest { project: None, ..Default::default() }, &alice_token))
            .await,
        &["project"],
    );
    expect_code(
        core.projects()
            .update_project(update(
                pb::Project { id: p.id.clone(), slug: other.slug.clone(), ..Default::default() },
                &["slug"],
                "",
            ))
            .await,
        Code::AlreadyExists,
        Some("SLUG_TAKEN"),
    );
    let (bob, _) = core.user(&admin, "bob").await;
    log.take().await;
    expect_invalid(
        core.projects()
            .update_project(update(
                pb::Project { id: p.id.clone(), owner_id: bob.id.clone(), ..Default::default() },
                &["owner_id"],
                "",
            ))
            .await,
        &["project.owner_id"],
    );
    expect_not_found(
        core.projects()
            .update_project(update(
                pb::Project { id: random_id(), name: "N".into(), ..Default::default() },
                &["name"],
                "",
            ))
            .await,
    );
    log.none("failed UpdateProject calls").await;

    // owner_id may point at another owner.
    let m = core.add_member(&alice_token, &p.id, &bob.id, pb::MemberRole::Owner).await;
    assert_eq!(m.role, pb::MemberRole::Owner as i32);
    log.expect("AddMember", &["member.added"]).await;
    let moved = core
        .projects()
        .update_project(update(
            pb::Project { id: p.id.clone(), owner_id: bob.id.clone(), ..Default::default() },
            &["owner_id"],
            "\"2\"",
        ))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((moved.owner_id.as_str(), moved.version), (bob.id.as_str(), 3));
    log.expect("UpdateProject(owner_id)", &["project.updated"]).await;
    core.stop().await;
}

#[tokio::test]
async fn archived_project_is_read_only_until_unarchived() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (bob, bob_token) = core.user(&admin, "bob").await;
    let (carol, _) = core.user(&admin, "carol").await;
    let p = core.project(&bob_token, "arch").await;
    let cfg = core.set_config(&bob_token, &p.id, "k", json!(1)).await;
    core.set_config(&bob_token, &p.id, "k", json!(2)).await;
    let (dave, _) = core.user(&admin, "dave").await;
    let member = core.add_member(&bob_token, &p.id, &dave.id, pb::MemberRole::Viewer).await;
    let mut log = EventLog::new(&core).await;

    let archived = core
        .projects()
        .archive_project(authed(pb::ArchiveProjectRequest { id: p.id.clone(), etag: "\"1\"".into() }, &bob_token))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((archived.status, archived.version), (pb::ProjectStatus::Archived as i32, 2));
    log.expect("ArchiveProject", &["project.archived"]).await;
    // Archiving again is a no-op: same version, no event.
    let again = core
        .projects()
        .archive_project(authed(pb::ArchiveProjectRequest { id: p.id.clone(), etag: String::new() }, &bob_token))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((again.status, again.version), (pb::ProjectStatus::Archived as i32, 2));
    log.none("ArchiveProject on an archived project").await;

    macro_rules! refused {
        ($call:expr) => {
            expect_code($call.await, Code::FailedPrecondition, Some("PROJECT_ARCHIVED"))
        };
    }
    refused!(core.projects().update_project(authed(
        pb::UpdateProjectRequest {
            project: Some(pb::Project { id: p.id.clone(), name: "N".into(), ..Default::default() }),
            update_mask: mask(&["name"]),
            etag: String::new(),
        },
        &bob_token,
    )));
    refused!(core.configs().set_config(authed(set_req(&p.id, "k", json!(3), ""), &bob_token)));
    refused!(core.configs().set_config(authed(set_req(&p.id, "new-key", json!(3), ""), &admin)));
    refused!(
        core.configs()
            .delete_config(authed(pb::DeleteConfigRequest { id: cfg.id.clone(), etag: String::new() }, &bob_token))
    );
    refused!(core.configs().rollback_config(authed(
        pb::RollbackConfigRequest { id: cfg.id.clone(), version: 1, etag: String::new() },
        &bob_token
    )));
    refused!(core.configs().import_configs(authed(
        pb::ImportConfigsRequest {
            project_id: p.id.clone(),
            entries: vec![pb::import_configs_request::Entry {
                key: "x".into(),
                value: Some(value(json!(1))),
                description: String::new(),
            }],
        },
        &bob_token,
    )));
    refused!(core.members().add_member(authed(
        pb::AddMemberRequest {
            project_id: p.id.clone(),
            user_id: carol.id.clone(),
            email: String::new(),
            role: pb::MemberRole::Viewer as i32,
        },
        &bob_token,
    )));
    refused!(core.members().update_member(authed(
        pb::UpdateMemberRequest { id: member.id.clone(), role: pb::MemberRole::Editor as i32, etag: String::new() },
        &bob_token,
    )));
    refused!(
        core.members()
            .remove_member(authed(pb::RemoveMemberRequest { id: member.id.clone(), etag: String::new() }, &bob_token))
    );
    log.none("writes to an archived project").await;

    // Reads still work.
    assert_eq!(get_project(&core, &bob_token, &p.id).await.status, pb::ProjectStatus::Archived as i32);
    let eff = core
        .configs()
        .get_effective_config(authed(pb::GetEffectiveConfigRequest { project_id: p.id.clone() }, &bob_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(struct_json(&eff.values.unwrap()), json!({"k": 2}));
    let configs = core
        .configs()
        .list_configs(authed(pb::ListConfigsRequest { project_id: p.id.clone(), ..Default::default() }, &bob_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(configs.total_size, 1);
    let _ = bob;

    // Unarchive (stale etag first), then writes work again.
    expect_stale(
        core.projects()
            .unarchive_project(authed(
                pb::UnarchiveProjectRequest { id: p.id.clone(), etag: "\"1\"".into() },
                &bob_token,
            ))
            .await,
    );
    log.none("stale UnarchiveProject").await;
    let active = core
        .projects()
        .unarchive_project(authed(pb::UnarchiveProjectRequest { id: p.id.clone(), etag: "\"2\"".into() }, &bob_token))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!((active.status, active.version), (pb::ProjectStatus::Active as i32, 3));
    log.expect("UnarchiveProject", &["project.unarchived"]).await;
    let c = core.set_config(&bob_token, &p.id, "k", json!(3)).await;
    assert_eq!(c.version, 3);
    log.expect("SetConfig after unarchive", &["config.set"]).await;

    expect_not_found(
        core.projects()
            .archive_project(authed(pb::ArchiveProjectRequest { id: random_id(), etag: String::new() }, &bob_token))
            .await,
    );
    expect_invalid(
        core.projects()
            .archive_project(authed(pb::ArchiveProjectRequest { id: "x".into(), etag: String::new() }, &bob_token))
            .await,
        &["id"],
    );
    core.stop().await;
}

#[tokio::test]
async fn delete_project_returns_before_state_and_removes_its_data() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (owner, token) = core.user(&admin, "owner").await;
    let (viewer, _) = core.user(&admin, "viewer").await;
    let p = core.project(&token, "del").await;
    let c1 = core.set_config(&token, &p.id, "a", json!("x")).await;
    core.set_config(&token, &p.id, "b", json!([1, 2])).await;
    core.add_member(&token, &p.id, &viewer.id, pb::MemberRole::Viewer).await;
    let p = core
        .projects()
        .update_project(authed(
            pb::UpdateProjectRequest {
                project: Some(pb::Project {
                    id: p.id.clone(),
                    description: "before delete".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["description"]),
                etag: String::new(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    let mut log = EventLog::new(&core).await;

    expect_stale(
        core.projects()
            .delete_project(authed(pb::DeleteProjectRequest { id: p.id.clone(), etag: "\"1\"".into() }, &token))
            .await,
    );
    log.none("stale DeleteProject").await;
    assert_eq!(get_project(&core, &token, &p.id).await.version, 2, "a stale delete deletes nothing");

    let deleted = core
        .projects()
        .delete_project(authed(pb::DeleteProjectRequest { id: p.id.clone(), etag: p.etag.clone() }, &token))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_eq!(deleted, p, "DeleteProject returns the project as it was");
    let rows = log.expect("DeleteProject", &["project.deleted"]).await;
    assert_eq!(rows[0].2["description"], "before delete");
    assert!(rows[0].1.contains(&format!("user:{}", viewer.id)), "members hear about it: {:?}", rows[0].1);
    assert!(rows[0].1.contains(&format!("user:{}", owner.id)));

    expect_not_found(
        core.projects()
            .get_project(authed(pb::GetProjectRequest { id: p.id.clone(), slug: String::new() }, &token))
            .await,
    );
    expect_not_found(
        core.configs()
            .get_config(authed(pb::GetConfigRequest { id: c1.id.clone(), ..Default::default() }, &admin))
            .await,
    );
    assert_eq!(log.count("SELECT count(*) FROM configs WHERE project_id = $1", &p.id).await, 0);
    assert_eq!(log.count("SELECT count(*) FROM members WHERE project_id = $1", &p.id).await, 0);
    assert_eq!(log.count("SELECT count(*) FROM config_revisions WHERE config_id = $1", &c1.id).await, 0);
    // Its events stay in the log.
    assert_eq!(
        log.count("SELECT count(*) FROM events WHERE ('project:' || $1::text) = ANY(channels)", &p.id).await,
        6,
        "created, 2 config.set, member.added, updated, deleted"
    );
    expect_not_found(
        core.projects()
            .delete_project(authed(pb::DeleteProjectRequest { id: p.id.clone(), etag: String::new() }, &token))
            .await,
    );
    log.none("DeleteProject of a deleted project").await;

    // The slug is free again.
    let again = core
        .projects()
        .create_project(authed(
            pb::CreateProjectRequest { slug: p.slug.clone(), name: "Again".into(), description: String::new() },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .project
        .unwrap();
    assert_ne!(again.id, p.id);
    core.stop().await;
}

// ---------------------------------------------------------------------------------------------
// MemberService

#[tokio::test]
async fn members_add_get_list_update_remove() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (alice, alice_token) = core.user(&admin, "alice").await;
    let (bob, _) = core.user(&admin, "bob").await;
    let (carol, _) = core.user(&admin, "carol").await;
    let p = core.project(&alice_token, "mem").await;
    let mut log = EventLog::new(&core).await;
    let add = |user_id: &str, email: &str, role: pb::MemberRole| {
        authed(
            pb::AddMemberRequest {
                project_id: p.id.clone(),
                user_id: user_id.into(),
                email: email.into(),
                role: role as i32,
            },
            &alice_token,
        )
    };

    let mb =
        core.members().add_member(add(&bob.id, "", pb::MemberRole::Editor)).await.unwrap().into_inner().member.unwrap();
    assert!(is_uuid_v7(&mb.id));
    assert_eq!((mb.project_id.as_str(), mb.user_id.as_str()), (p.id.as_str(), bob.id.as_str()));
    assert_eq!((mb.role, mb.version, mb.etag.as_str()), (pb::MemberRole::Editor as i32, 1, "\"1\""));
    assert!(mb.create_time.is_some());
    let rows = log.expect("AddMember", &["member.added"]).await;
    assert_eq!(rows[0].1[..2], [format!("project:{}", p.id), format!("user:{}", bob.id)]);

    // By email, case-insensitively.
    let mc = core
        .members()
        .add_member(add("", &carol.email.to_uppercase(), pb::MemberRole::Viewer))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!((mc.user_id.as_str(), mc.role), (carol.id.as_str(), pb::MemberRole::Viewer as i32));
    log.expect("AddMember by email", &["member.added"]).await;

    expect_code(
        core.members().add_member(add(&bob.id, "", pb::MemberRole::Viewer)).await,
        Code::AlreadyExists,
        Some("ALREADY_MEMBER"),
    );
    expect_invalid(core.members().add_member(add(&bob.id, "", pb::MemberRole::Unspecified)).await, &["role"]);
    expect_invalid(core.members().add_member(add(&random_id(), "", pb::MemberRole::Viewer)).await, &["user_id"]);
    expect_invalid(core.members().add_member(add("not-a-uuid", "", pb::MemberRole::Viewer)).await, &["user_id"]);
    expect_invalid(core.members().add_member(add("", "nobody@nowhere.test", pb::MemberRole::Viewer)).await, &["email"]);
    expect_invalid(core.members().add_member(add("", "", pb::MemberRole::Viewer)).await, &["user_id"]);
    let bad_project = |project_id: &str| {
        authed(
            pb::AddMemberRequest {
                project_id: project_id.into(),
                user_id: bob.id.clone(),
                email: String::new(),
                role: pb::MemberRole::Viewer as i32,
            },
            &alice_token,
        )
    };
    expect_invalid(core.members().add_member(bad_project("x")).await, &["project_id"]);
    expect_not_found(core.members().add_member(bad_project(&random_id())).await);
    log.none("failed AddMember calls").await;

    // Get / List.
    let got =
        core.members().get_member(authed(pb::GetMemberRequest { id: mb.id.clone() }, &alice_token)).await.unwrap();
    assert_eq!(got.into_inner().member.unwrap(), mb);
    expect_not_found(core.members().get_member(authed(pb::GetMemberRequest { id: random_id() }, &alice_token)).await);
    expect_invalid(
        core.members().get_member(authed(pb::GetMemberRequest { id: "x".into() }, &alice_token)).await,
        &["id"],
    );
    let list = |filter: &str, order_by: &str| {
        authed(
            pb::ListMembersRequest {
                project_id: p.id.clone(),
                filter: filter.into(),
                order_by: order_by.into(),
                ..Default::default()
            },
            &alice_token,
        )
    };
    let all = core.members().list_members(list("", "")).await.unwrap().into_inner();
    assert_eq!(all.total_size, 3);
    assert_eq!(
        all.members.iter().map(|m| m.user_id.as_str()).collect::<Vec<_>>(),
        [alice.id.as_str(), bob.id.as_str(), carol.id.as_str()],
        "oldest first by default"
    );
    let editors = core.members().list_members(list("role = editor", "")).await.unwrap().into_inner();
    assert_eq!(editors.members.iter().map(|m| m.id.as_str()).collect::<Vec<_>>(), [mb.id.as_str()]);
    let by_user =
        core.members().list_members(list(&format!("user_id = \"{}\"", carol.id), "")).await.unwrap().into_inner();
    assert_eq!(by_user.members.len(), 1);
    expect_invalid(core.members().list_members(list("role = boss", "")).await, &["filter"]);
    expect_invalid(core.members().list_members(list("", "user_id")).await, &["order_by"]);
    expect_invalid(
        core.members()
            .list_members(authed(pb::ListMembersRequest { project_id: "x".into(), ..Default::default() }, &alice_token))
            .await,
        &["project_id"],
    );
    expect_not_found(
        core.members()
            .list_members(authed(
                pb::ListMembersRequest { project_id: random_id(), ..Default::default() },
                &alice_token,
            ))
            .await,
    );

    // Update.
    let update = |id: &str, role: pb::MemberRole, etag: &str| {
        authed(pb::UpdateMemberRequest { id: id.into(), role: role as i32, etag: etag.into() }, &alice_token)
    };
    let mb2 = core
        .members()
        .update_member(update(&mb.id, pb::MemberRole::Viewer, "\"1\""))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!((mb2.role, mb2.version, mb2.etag.as_str()), (pb::MemberRole::Viewer as i32, 2, "\"2\""));
    let rows = log.expect("UpdateMember", &["member.updated"]).await;
    assert_eq!(rows[0].2["before"]["role"], "editor");
    expect_stale(core.members().update_member(update(&mb.id, pb::MemberRole::Editor, "\"1\"")).await);
    expect_invalid(core.members().update_member(update(&mb.id, pb::MemberRole::Unspecified, "")).await, &["role"]);
    expect_not_found(core.members().update_member(update(&random_id(), pb::MemberRole::Editor, "")).await);
    let same = core
        .members()
        .update_member(update(&mb.id, pb::MemberRole::Viewer, ""))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!(same.version, 2, "setting the same role is a no-op");
    log.none("failed or no-op UpdateMember calls").await;

    // Remove returns the before-state.
    let removed = core
        .members()
        .remove_member(authed(pb::RemoveMemberRequest { id: mc.id.clone(), etag: "\"1\"".into() }, &alice_token))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!(removed, mc);
    log.expect("RemoveMember", &["member.removed"]).await;
    expect_not_found(core.members().get_member(authed(pb::GetMemberRequest { id: mc.id.clone() }, &alice_token)).await);
    expect_not_found(
        core.members()
            .remove_member(authed(pb::RemoveMemberRequest { id: mc.id.clone(), etag: String::new() }, &alice_token))
            .await,
    );
    expect_stale(
        core.members()
            .remove_member(authed(pb::RemoveMemberRequest { id: mb.id.clone(), etag: "\"1\"".into() }, &alice_token))
            .await,
    );
    log.none("failed RemoveMember calls").await;
    core.stop().await;
}

#[tokio::test]
async fn projects_keep_an_owner_and_owner_id_follows_ownership() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (alice, alice_token) = core.user(&admin, "alice").await;
    let (bob, bob_token) = core.user(&admin, "bob").await;
    let (carol, _) = core.user(&admin, "carol").await;
    let p = core.project(&alice_token, "own").await;
    let own_membership = core
        .members()
        .list_members(authed(pb::ListMembersRequest { project_id: p.id.clone(), ..Default::default() }, &alice_token))
        .await
        .unwrap()
        .into_inner()
        .members
        .remove(0);
    let mut log = EventLog::new(&core).await;

    // The only owner can neither be demoted nor leave nor be removed, not even by an admin.
    let demote = |id: &str, token: &str| {
        authed(
            pb::UpdateMemberRequest { id: id.into(), role: pb::MemberRole::Editor as i32, etag: String::new() },
            token,
        )
    };
    let remove = |id: &str, token: &str| authed(pb::RemoveMemberRequest { id: id.into(), etag: String::new() }, token);
    expect_code(
        core.members().update_member(demote(&own_membership.id, &alice_token)).await,
        Code::FailedPrecondition,
        Some("LAST_OWNER"),
    );
    expect_code(
        core.members().remove_member(remove(&own_membership.id, &alice_token)).await,
        Code::FailedPrecondition,
        Some("LAST_OWNER"),
    );
    expect_code(
        core.members().remove_member(remove(&own_membership.id, &admin)).await,
        Code::FailedPrecondition,
        Some("LAST_OWNER"),
    );
    expect_code(
        core.members().update_member(demote(&own_membership.id, &admin)).await,
        Code::FailedPrecondition,
        Some("LAST_OWNER"),
    );
    log.none("refused owner changes").await;

    // With a second owner, the first may step down; owner_id moves to the other owner.
    let mb = core.add_member(&alice_token, &p.id, &bob.id, pb::MemberRole::Owner).await;
    let mc = core.add_member(&alice_token, &p.id, &carol.id, pb::MemberRole::Editor).await;
    log.expect("two AddMember calls", &["member.added", "member.added"]).await;
    assert_eq!(get_project(&core, &alice_token, &p.id).await.owner_id, alice.id);
    let stepped = core
        .members()
        .update_member(demote(&own_membership.id, &alice_token))
        .await
        .unwrap()
        .into_inner()
        .member
        .unwrap();
    assert_eq!(stepped.role, pb::MemberRole::Editor as i32);
    // owner_id pointed at Alice: it moves to Bob, a change of the project with its own event.
    log.expect("owner demotes themself", &["project.updated", "member.updated"]).await;
    let after = get_project(&core, &alice_token, &p.id).await;
    assert_eq!(after.owner_id, bob.id, "owner_id moved to the remaining owner");
    assert_eq!(after.version, p.version + 1, "moving owner_id is a new version of the project");
    assert_eq!(after.caller_role, pb::MemberRole::Editor as i32);

    // Bob is now the last owner; he cannot leave until someone else is owner.
    expect_code(
        core.members().remove_member(remove(&mb.id, &bob_token)).await,
        Code::FailedPrecondition,
        Some("LAST_OWNER"),
    );
    core.members()
        .update_member(authed(
            pb::UpdateMemberRequest { id: mc.id.clone(), role: pb::MemberRole::Owner as i32, etag: String::new() },
            &bob_token,
        ))
        .await
        .unwrap();
    let left = core.members().remove_member(remove(&mb.id, &bob_token)).await.unwrap().into_inner().member.unwrap();
    assert_eq!((left.user_id.as_str(), left.role), (bob.id.as_str(), pb::MemberRole::Owner as i32));
    log.expect("promote + leave", &["member.updated", "project.updated", "member.removed"]).await;
    assert_eq!(get_project(&core, &admin, &p.id).await.owner_id, carol.id, "owner_id moved when the owner left");
    expect_not_found(
        core.projects()
            .get_project(authed(pb::GetProjectRequest { id: p.id.clone(), slug: String::new() }, &bob_token))
            .await,
    );
    core.stop().await;
}

// ---------------------------------------------------------------------------------------------
// ConfigService

#[tokio::test]
async fn config_versions_revisions_and_rollback() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (editor, token) = core.user(&admin, "editor").await;
    let p = core.project(&admin, "cfg").await;
    core.add_member(&admin, &p.id, &editor.id, pb::MemberRole::Editor).await;
    let mut log = EventLog::new(&core).await;

    // set → v1
    let v1 = core
        .configs()
        .set_config(authed(
            pb::SetConfigRequest {
                project_id: p.id.clone(),
                key: "feature.flag_x".into(),
                value: Some(value(json!({"on": true, "n": 3}))),
                description: "the flag".into(),
                etag: String::new(),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .config
        .unwrap();
    assert!(is_uuid_v7(&v1.id));
    assert_eq!(
        (v1.project_id.as_str(), v1.key.as_str(), v1.description.as_str()),
        (p.id.as_str(), "feature.flag_x", "the flag")
    );
    assert_eq!(to_json(v1.value.as_ref().unwrap()), json!({"on": true, "n": 3}));
    assert_eq!((v1.version, v1.etag.as_str(), v1.updated_by.as_str()), (1, "\"1\"", editor.id.as_str()));
    assert!(v1.create_time.is_some() && v1.delete_time.is_none());
    let rows = log.expect("SetConfig (new)", &["config.set"]).await;
    assert_eq!(rows[0].1[0], format!("project:{}", p.id));
    assert!(rows[0].2.get("before").is_none());

    // set → v2 (empty description keeps the old one), with the right etag.
    let v2 = core
        .configs()
        .set_config(authed(set_req(&p.id, "feature.flag_x", json!("two"), "\"1\""), &token))
        .await
        .unwrap();
    let v2 = v2.into_inner().config.unwrap();
    assert_eq!((v2.id.as_str(), v2.version, v2.etag.as_str()), (v1.id.as_str(), 2, "\"2\""));
    assert_eq!(v2.description, "the flag");
    assert_eq!(to_json(v2.value.as_ref().unwrap()), json!("two"));
    let rows = log.expect("SetConfig (update)", &["config.set"]).await;
    assert_eq!(rows[0].2["before"]["version"], 1);
    assert_eq!(rows[0].2["before"]["value"], json!({"on": true, "n": 3}));

    // Get by id and by project + key.
    let by_id = core
        .configs()
        .get_config(authed(pb::GetConfigRequest { id: v1.id.clone(), ..Default::default() }, &token))
        .await;
    assert_eq!(by_id.unwrap().into_inner().config.unwrap(), v2);
    let by_key = core
        .configs()
        .get_config(authed(
            pb::GetConfigRequest { id: String::new(), project_id: p.id.clone(), key: "feature.flag_x".into() },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .config
        .unwrap();
    assert_eq!(by_key, v2);

    // delete → v3, history kept, entry reachable with delete_time.
    let v3 = core
        .configs()
        .delete_config(authed(pb::DeleteConfigRequest { id: v1.id.clone(), etag: "\"2\"".into() }, &token))
        .await
        .unwrap()
        .into_inner()
        .config
        .unwrap();
    assert_eq!(v3.version, 3);
    assert!(v3.delete_time.is_some());
    log.expect("DeleteConfig", &["config.deleted"]).await;
    let got = core
        .configs()
        .get_config(authed(pb::GetConfigRequest { id: v1.id.clone(), ..Default::default() }, &token))
        .await;
    assert!(got.unwrap().into_inner().config.unwrap().delete_time.is_some());
    expect_not_found(
        core.configs()
            .delete_config(authed(pb::DeleteConfigRequest { id: v1.id.clone(), etag: String::new() }, &token))
            .await,
    );
    log.none("DeleteConfig of a deleted key").await;

    // set again → v4: the count continues, the entry is live again.
    let v4 = core.set_config(&token, &p.id, "feature.flag_x", json!(4)).await;
    assert_eq!((v4.id.as_str(), v4.version), (v1.id.as_str(), 4));
    assert!(v4.delete_time.is_none());
    log.expect("SetConfig on a deleted key", &["config.set"]).await;

    // rollback to 1 → v5 with v1's value (and description).
    let v5 = core
        .configs()
        .rollback_config(authed(
            pb::RollbackConfigRequest { id: v1.id.clone(), version: 1, etag: "\"4\"".into() },
            &token,
        ))
        .await
        .unwrap()
        .into_inner()
        .config
        .unwrap();
    assert_eq!(v5.version, 5);
    assert_eq!(to_json(v5.value.as_ref().unwrap()), json!({"on": true, "n": 3}));
    let rows = log.expect("RollbackConfig", &["config.rolled_back"]).await;
    assert_eq!(rows[0].2["before"]["version"], 4);

    // Rolling back to a deletion, or to a version that never was, is refused.
    let rollback = |version: i64, etag: &str| {
        authed(pb::RollbackConfigRequest { id: v1.id.clone(), version, etag: etag.into() }, &token)
    };
    expect_invalid(core.configs().rollback_config(rollback(3, "")).await, &["version"]);
    expect_invalid(core.configs().rollback_config(rollback(99, "")).await, &["version"]);
    expect_invalid(core.configs().rollback_config(rollback(0, "")).await, &["version"]);
    expect_invalid(core.configs().rollback_config(rollback(-1, "")).await, &["version"]);
    expect_stale(core.configs().rollback_config(rollback(2, "\"4\"")).await);
    expect_not_found(
        core.configs()
            .rollback_config(authed(
                pb::RollbackConfigRequest { id: random_id(), version: 1, etag: String::new() },
                &token,
            ))
            .await,
    );
    log.none("refused rollbacks").await;

    // The history: one revision per write, ops and values as written.
    let revs = core
        .configs()
        .list_config_revisions(authed(
            pb::ListConfigRevisionsRequest {
                config_id: v1.id.clone(),
                order_by: "version".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revs.total_size, 5);
    let summary: Vec<_> = revs.revisions.iter().map(|r| (r.version, r.op)).collect();
    use pb::ConfigOp as Op;
    assert_eq!(
        summary,
        [
            (1, Op::Set as i32),
            (2, Op::Set as i32),
            (3, Op::Delete as i32),
            (4, Op::Set as i32),
            (5, Op::Rollback as i32)
        ]
    );
    assert_eq!(to_json(revs.revisions[4].value.as_ref().unwrap()), json!({"on": true, "n": 3}));
    assert_eq!(to_json(revs.revisions[3].value.as_ref().unwrap()), json!(4));
    for r in &revs.revisions {
        assert_eq!(
            (r.config_id.as_str(), r.project_id.as_str(), r.key.as_str()),
            (v1.id.as_str(), p.id.as_str(), "feature.flag_x")
        );
        assert_eq!(r.author_id, editor.id);
        assert!(r.create_time.is_some());
    }
    // Default order: newest first.
    let newest = core
        .configs()
        .list_config_revisions(authed(
            pb::ListConfigRevisionsRequest { config_id: v1.id.clone(), page_size: 1, ..Default::default() },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(newest.revisions[0].version, 5);
    assert!(!newest.next_page_token.is_empty());
    // By project, filtered by op.
    let deletes = core
        .configs()
        .list_config_revisions(authed(
            pb::ListConfigRevisionsRequest {
                project_id: p.id.clone(),
                filter: "op = delete".into(),
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(deletes.revisions.iter().map(|r| r.version).collect::<Vec<_>>(), [3]);
    let one = core
        .configs()
        .get_config_revision(authed(pb::GetConfigRevisionRequest { id: revs.revisions[2].id.clone() }, &token))
        .await
        .unwrap()
        .into_inner()
        .revision
        .unwrap();
    assert_eq!(one, revs.revisions[2]);
    expect_not_found(
        core.configs().get_config_revision(authed(pb::GetConfigRevisionRequest { id: random_id() }, &token)).await,
    );
    expect_invalid(
        core.configs().get_config_revision(authed(pb::GetConfigRevisionRequest { id: "r".into() }, &token)).await,
        &["id"],
    );
    let bad_list = |config_id: &str, project_id: &str, filter: &str, order_by: &str| {
        authed(
            pb::ListConfigRevisionsRequest {
                config_id: config_id.into(),
                project_id: project_id.into(),
                filter: filter.into(),
                order_by: order_by.into(),
                ..Default::default()
            },
            &token,
        )
    };
    expect_invalid(core.configs().list_config_revisions(bad_list("x", "", "", "")).await, &["config_id"]);
    expect_invalid(core.configs().list_config_revisions(bad_list("", "x", "", "")).await, &["project_id"]);
    expect_invalid(core.configs().list_config_revisions(bad_list("", &p.id, "op = undo", "")).await, &["filter"]);
    expect_invalid(core.configs().list_config_revisions(bad_list("", &p.id, "", "op")).await, &["order_by"]);
    expect_not_found(core.configs().list_config_revisions(bad_list(&random_id(), "", "", "")).await);

    // In the database: exactly the five revisions and five events.
    assert_eq!(log.count("SELECT count(*) FROM config_revisions WHERE config_id = $1", &v1.id).await, 5);
    assert_eq!(log.count("SELECT count(*) FROM events WHERE resource_id = $1::text", &v1.id).await, 5);
    core.stop().await;
}

#[tokio::test]
async fn config_validation_and_conflicts() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let p = core.project(&admin, "cval").await;
    let existing = core.set_config(&admin, &p.id, "existing", json!(1)).await;
    let mut log = EventLog::new(&core).await;
    let set = async |req: pb::SetConfigRequest| core.configs().set_config(authed(req, &admin)).await;

    for bad in ["", "Bad", ".a", "_a", "a b", "a/b", &"k".repeat(129)] {
        expect_invalid(set(set_req(&p.id, bad, json!(1), "")).await, &["key"]);
    }
    assert_eq!(
        set(set_req(&p.id, &"k".repeat(128), json!(1), "")).await.unwrap().into_inner().config.unwrap().version,
        1
    );
    log.expect("SetConfig with a 128-character key", &["config.set"]).await;

    // 64 KiB encoded: a string of n characters encodes to n + 2 bytes.
    let at_limit = "x".repeat(64 * 1024 - 2);
    let c = set(set_req(&p.id, "big", json!(at_limit), "")).await.unwrap().into_inner().config.unwrap();
    assert_eq!(c.version, 1);
    log.expect("SetConfig of exactly 64 KiB", &["config.set"]).await;
    let over = "x".repeat(64 * 1024 - 1);
    expect_invalid(set(set_req(&p.id, "big", json!(over), "")).await, &["value"]);
    expect_invalid(
        set(pb::SetConfigRequest { project_id: p.id.clone(), key: "novalue".into(), ..Default::default() }).await,
        &["value"],
    );
    expect_invalid(
        set(pb::SetConfigRequest {
            project_id: p.id.clone(),
            key: "desc".into(),
            value: Some(value(json!(1))),
            description: "d".repeat(4001),
            etag: String::new(),
        })
        .await,
        &["description"],
    );
    // Every bad field at once.
    expect_invalid(
        set(pb::SetConfigRequest { project_id: "nope".into(), key: "Nope".into(), ..Default::default() }).await,
        &["project_id", "key", "value"],
    );
    expect_invalid(set(set_req(&p.id, "existing", json!(1), "one")).await, &["etag"]);
    expect_not_found(set(set_req(&random_id(), "k", json!(1), "")).await);
    // JSON null is a value.
    let null = set(set_req(&p.id, "nothing", json!(null), "")).await.unwrap().into_inner().config.unwrap();
    assert_eq!(to_json(null.value.as_ref().unwrap()), json!(null));
    log.expect("SetConfig of null", &["config.set"]).await;
    log.none("invalid SetConfig calls").await;

    // Optimistic concurrency.
    expect_stale(set(set_req(&p.id, "existing", json!(2), "\"5\"")).await);
    expect_stale(set(set_req(&p.id, "brand-new", json!(2), "\"3\"")).await);
    expect_code(set(set_req(&p.id, "existing", json!(2), "0")).await, Code::AlreadyExists, Some("KEY_EXISTS"));
    log.none("refused SetConfig calls").await;
    let current = core
        .configs()
        .get_config(authed(pb::GetConfigRequest { id: existing.id.clone(), ..Default::default() }, &admin))
        .await;
    assert_eq!(current.unwrap().into_inner().config.unwrap().version, 1, "nothing written");
    assert_eq!(log.count("SELECT count(*) FROM config_revisions WHERE config_id = $1", &existing.id).await, 1);
    let created = set(set_req(&p.id, "brand-new", json!(2), "0")).await.unwrap().into_inner().config.unwrap();
    assert_eq!(created.version, 1, "etag \"0\" creates a key that does not exist");
    log.expect("SetConfig with etag 0", &["config.set"]).await;
    expect_stale(
        core.configs()
            .delete_config(authed(pb::DeleteConfigRequest { id: existing.id.clone(), etag: "\"7\"".into() }, &admin))
            .await,
    );
    log.none("stale DeleteConfig").await;

    // Not found / bad ids on reads.
    let get = |id: &str, project_id: &str, key: &str| {
        authed(pb::GetConfigRequest { id: id.into(), project_id: project_id.into(), key: key.into() }, &admin)
    };
    expect_not_found(core.configs().get_config(get(&random_id(), "", "")).await);
    expect_not_found(core.configs().get_config(get("", &p.id, "missing")).await);
    expect_not_found(core.configs().get_config(get("", &random_id(), "existing")).await);
    expect_invalid(core.configs().get_config(get("x", "", "")).await, &["id"]);
    expect_invalid(core.configs().get_config(get("", "", "")).await, &["project_id"]);
    expect_invalid(core.configs().get_config(get("", &p.id, "Bad Key")).await, &["key"]);
    expect_invalid(
        core.configs()
            .delete_config(authed(pb::DeleteConfigRequest { id: "x".into(), etag: String::new() }, &admin))
            .await,
        &["id"],
    );
    expect_not_found(
        core.configs()
            .delete_config(authed(pb::DeleteConfigRequest { id: random_id(), etag: String::new() }, &admin))
            .await,
    );
    expect_invalid(
        core.configs()
            .list_configs(authed(pb::ListConfigsRequest { project_id: "x".into(), ..Default::default() }, &admin))
            .await,
        &["project_id"],
    );
    expect_not_found(
        core.configs()
            .list_configs(authed(pb::ListConfigsRequest { project_id: random_id(), ..Default::default() }, &admin))
            .await,
    );
    log.none("reads").await;
    core.stop().await;
}

#[tokio::test]
async fn import_is_all_or_nothing() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let p = core.project(&admin, "imp").await;
    let old = core.set_config(&admin, &p.id, "old", json!("v1")).await;
    let mut log = EventLog::new(&core).await;
    let entry = |key: &str, v: Option<serde_json::Value>| pb::import_configs_request::Entry {
        key: key.into(),
        value: v.map(value),
        description: format!("imported {key}"),
    };
    let import = |entries: Vec<pb::import_configs_request::Entry>| {
        authed(pb::ImportConfigsRequest { project_id: p.id.clone(), entries }, &admin)
    };

    // Everything valid: one transaction, one event, a revision per key.
    let out = core
        .configs()
        .import_configs(import(vec![
            entry("a", Some(json!(1))),
            entry("b", Some(json!({"x": [true]}))),
            entry("old", Some(json!("v2"))),
        ]))
        .await
        .unwrap()
        .into_inner()
        .configs;
    let summary: Vec<_> = out.iter().map(|c| (c.key.as_str(), c.version)).collect();
    assert_eq!(summary, [("a", 1), ("b", 1), ("old", 2)]);
    assert_eq!(out[2].id, old.id);
    assert_eq!(out[0].description, "imported a");
    assert_eq!(to_json(out[1].value.as_ref().unwrap()), json!({"x": [true]}));
    let rows = log.expect("ImportConfigs", &["config.imported"]).await;
    assert_eq!(rows[0].1[0], format!("project:{}", p.id));
    assert_eq!(log.count("SELECT count(*) FROM config_revisions WHERE config_id = $1", &old.id).await, 2);

    // One bad entry → nothing written; every bad entry is named.
    let configs_before = log.count("SELECT count(*) FROM configs WHERE project_id = $1", &p.id).await;
    let revisions_before = log
        .count(
            "SELECT count(*) FROM config_revisions r JOIN configs c ON c.id = r.config_id WHERE c.project_id = $1",
            &p.id,
        )
        .await;
    let bad = core
        .configs()
        .import_configs(import(vec![
            entry("fresh", Some(json!(1))),
            entry("Bad Key!", Some(json!(1))),
            entry("huge", Some(json!("x".repeat(70_000)))),
            entry("fresh", Some(json!(2))),
            entry("novalue", None),
            entry("a", Some(json!(99))),
        ]))
        .await;
    expect_invalid(bad, &["entries[1].key", "entries[2].value", "entries[3].key", "entries[4].value"]);
    log.none("invalid ImportConfigs").await;
    assert_eq!(log.count("SELECT count(*) FROM configs WHERE project_id = $1", &p.id).await, configs_before);
    assert_eq!(
        log.count(
            "SELECT count(*) FROM config_revisions r JOIN configs c ON c.id = r.config_id WHERE c.project_id = $1",
            &p.id
        )
        .await,
        revisions_before
    );
    let a = core
        .configs()
        .get_config(authed(
            pb::GetConfigRequest { id: String::new(), project_id: p.id.clone(), key: "a".into() },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .config
        .unwrap();
    assert_eq!(
        (a.version, to_json(a.value.as_ref().unwrap())),
        (1, json!(1)),
        "valid entries of a failed import are not written"
    );

    expect_invalid(core.configs().import_configs(import(vec![])).await, &["entries"]);
    expect_invalid(
        core.configs()
            .import_configs(authed(
                pb::ImportConfigsRequest { project_id: "x".into(), entries: vec![entry("a", Some(json!(1)))] },
                &admin,
            ))
            .await,
        &["project_id"],
    );
    expect_not_found(
        core.configs()
            .import_configs(authed(
                pb::ImportConfigsRequest { project_id: random_id(), entries: vec![entry("a", Some(json!(1)))] },
                &admin,
            ))
            .await,
    );
    log.none("refused ImportConfigs").await;
    core.stop().await;
}

#[tokio::test]
async fn effective_config_and_its_etag_follow_writes() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (viewer, viewer_token) = core.user(&admin, "viewer").await;
    let p = core.project(&admin, "eff").await;
    core.add_member(&admin, &p.id, &viewer.id, pb::MemberRole::Viewer).await;
    let effective = || async {
        let r = core
            .configs()
            .get_effective_config(authed(pb::GetEffectiveConfigRequest { project_id: p.id.clone() }, &viewer_token))
            .await
            .unwrap()
            .into_inner();
        assert!(r.etag.starts_with('"') && r.etag.ends_with('"') && r.etag.len() > 2, "strong, quoted: {}", r.etag);
        (struct_json(&r.values.unwrap_or_default()), r.etag)
    };

    let (v0, e0) = effective().await;
    assert_eq!(v0, json!({}));
    core.set_config(&admin, &p.id, "a", json!(1)).await;
    let b = core.set_config(&admin, &p.id, "b", json!({"x": [1, "two", null]})).await;
    let (v1, e1) = effective().await;
    assert_eq!(v1, json!({"a": 1, "b": {"x": [1, "two", null]}}));
    assert_ne!(e1, e0);
    assert_eq!(effective().await.1, e1, "the etag is stable while nothing changes");

    core.set_config(&admin, &p.id, "a", json!(2)).await;
    let (v2, e2) = effective().await;
    assert_eq!(v2["a"], 2);
    assert_ne!(e2, e1);
    // Writing the same value again is still a new version, hence a new etag.
    core.set_config(&admin, &p.id, "a", json!(2)).await;
    let (_, e3) = effective().await;
    assert_ne!(e3, e2);

    core.configs()
        .delete_config(authed(pb::DeleteConfigRequest { id: b.id.clone(), etag: String::new() }, &admin))
        .await
        .unwrap();
    let (v4, e4) = effective().await;
    assert_eq!(v4, json!({"a": 2}), "deleted keys are not part of the effective config");
    assert_ne!(e4, e3);
    core.configs()
        .rollback_config(authed(
            pb::RollbackConfigRequest { id: b.id.clone(), version: 1, etag: String::new() },
            &admin,
        ))
        .await
        .unwrap();
    let (v5, e5) = effective().await;
    assert_eq!(v5["b"], json!({"x": [1, "two", null]}), "rollback restores a deleted key");
    assert_ne!(e5, e4);

    // Another project's config does not change this etag.
    let other = core.project(&admin, "eff2").await;
    core.set_config(&admin, &other.id, "a", json!(1)).await;
    assert_eq!(effective().await.1, e5);

    let get = |id: &str| authed(pb::GetEffectiveConfigRequest { project_id: id.into() }, &viewer_token);
    expect_invalid(core.configs().get_effective_config(get("x")).await, &["project_id"]);
    expect_not_found(core.configs().get_effective_config(get(&random_id())).await);
    expect_not_found(core.configs().get_effective_config(get(&other.id)).await);
    core.stop().await;
}

// ---------------------------------------------------------------------------------------------
// SettingService

#[tokio::test]
async fn settings_set_get_list_delete_and_known_keys() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (admin_user, _) = {
        let me = core.auth().get_me(authed(pb::GetMeRequest {}, &admin)).await.unwrap().into_inner().user.unwrap();
        (me, ())
    };
    let (_, user_token) = core.user(&admin, "reader").await;
    let mut log = EventLog::new(&core).await;
    let set = |key: &str, v: Option<serde_json::Value>, etag: &str| {
        authed(
            pb::SetSettingRequest {
                key: key.into(),
                value: v.map(value),
                description: String::new(),
                etag: etag.into(),
            },
            &admin,
        )
    };

    let s = core
        .settings()
        .set_setting(authed(
            pb::SetSettingRequest {
                key: "auth.signup_enabled".into(),
                value: Some(value(json!(true))),
                description: "open sign-up".into(),
                etag: String::new(),
            },
            &admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .setting
        .unwrap();
    assert!(is_uuid_v7(&s.id));
    assert_eq!((s.key.as_str(), s.description.as_str()), ("auth.signup_enabled", "open sign-up"));
    assert_eq!(to_json(s.value.as_ref().unwrap()), json!(true));
    assert_eq!((s.version, s.etag.as_str(), s.updated_by.as_str()), (1, "\"1\"", admin_user.id.as_str()));
    let rows = log.expect("SetSetting", &["setting.changed"]).await;
    assert_eq!(rows[0].1[0], "system");

    // Known keys are validated.
    for bad in [json!("yes"), json!(1), json!(null)] {
        expect_invalid(core.settings().set_setting(set("auth.signup_enabled", Some(bad), "")).await, &["value"]);
    }
    for bad in [json!(0), json!(3651), json!(-5), json!(30.5), json!("30"), json!(true)] {
        expect_invalid(
            core.settings().set_setting(set("events.retention_days", Some(bad.clone()), "")).await,
            &["value"],
        );
    }
    expect_invalid(core.settings().set_setting(set("Bad Key", Some(json!(1)), "")).await, &["key"]);
    expect_invalid(core.settings().set_setting(set("ui.theme", None, "")).await, &["value"]);
    expect_stale(core.settings().set_setting(set("auth.signup_enabled", Some(json!(false)), "\"9\"")).await);
    log.none("refused SetSetting calls").await;
    for (days, version) in [(1, 1), (3650, 2), (30, 3)] {
        let r = core.settings().set_setting(set("events.retention_days", Some(json!(days)), "")).await.unwrap();
        assert_eq!(r.into_inner().setting.unwrap().version, version);
    }
    log.expect("3 × SetSetting", &["setting.changed"; 3]).await;
    // Unknown keys take any value.
    let theme =
        core.settings().set_setting(set("ui.theme", Some(json!({"dark": true})), "")).await.unwrap().into_inner();
    let theme = theme.setting.unwrap();
    log.expect("SetSetting(ui.theme)", &["setting.changed"]).await;

    // Any authenticated user reads, by key or id.
    let get = |key: &str| authed(pb::GetSettingRequest { key: key.into() }, &user_token);
    let by_key = core.settings().get_setting(get("ui.theme")).await.unwrap().into_inner().setting.unwrap();
    assert_eq!(by_key, theme);
    let by_id = core.settings().get_setting(get(&theme.id)).await.unwrap().into_inner().setting.unwrap();
    assert_eq!(by_id, theme);
    expect_not_found(core.settings().get_setting(get("no.such.key")).await);
    expect_not_found(core.settings().get_setting(get(&random_id())).await);
    expect_invalid(core.settings().get_setting(get("Not A Key")).await, &["key"]);
    let list = |filter: &str, order_by: &str| {
        authed(
            pb::ListSettingsRequest { filter: filter.into(), order_by: order_by.into(), ..Default::default() },
            &user_token,
        )
    };
    let all = core.settings().list_settings(list("", "")).await.unwrap().into_inner();
    assert_eq!(
        all.settings.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
        ["auth.signup_enabled", "events.retention_days", "ui.theme"]
    );
    assert_eq!(all.total_size, 3);
    let one = core.settings().list_settings(list("key = \"ui.theme\"", "")).await.unwrap().into_inner();
    assert_eq!(one.settings.len(), 1);
    let desc = core.settings().list_settings(list("", "key desc")).await.unwrap().into_inner();
    assert_eq!(desc.settings[0].key, "ui.theme");
    expect_invalid(
        core.settings().list_settings(list(&format!("project_id = \"{}\"", random_id()), "")).await,
        &["filter"],
    );
    expect_invalid(core.settings().list_settings(list("", "value")).await, &["order_by"]);

    // A project config is not a setting and vice versa.
    let p = core.project(&admin, "notset").await;
    let c = core.set_config(&admin, &p.id, "ui.theme", json!("project")).await;
    log.take().await;
    expect_not_found(core.settings().get_setting(get(&c.id)).await);
    expect_not_found(
        core.configs()
            .get_config(authed(pb::GetConfigRequest { id: theme.id.clone(), ..Default::default() }, &admin))
            .await,
    );
    assert_eq!(core.settings().list_settings(list("", "")).await.unwrap().into_inner().total_size, 3);

    // Delete: stale etag refused; then gone, history kept, setting it again continues the count.
    let del = |key: &str, etag: &str| authed(pb::DeleteSettingRequest { key: key.into(), etag: etag.into() }, &admin);
    expect_stale(core.settings().delete_setting(del("ui.theme", "\"5\"")).await);
    log.none("stale DeleteSetting").await;
    let gone = core.settings().delete_setting(del("ui.theme", "\"1\"")).await.unwrap().into_inner().setting.unwrap();
    assert_eq!((gone.key.as_str(), gone.version), ("ui.theme", 2));
    log.expect("DeleteSetting", &["setting.changed"]).await;
    expect_not_found(core.settings().get_setting(get("ui.theme")).await);
    expect_not_found(core.settings().delete_setting(del("ui.theme", "")).await);
    assert_eq!(core.settings().list_settings(list("", "")).await.unwrap().into_inner().total_size, 2);
    let back = core
        .settings()
        .set_setting(set("ui.theme", Some(json!("light")), ""))
        .await
        .unwrap()
        .into_inner()
        .setting
        .unwrap();
    assert_eq!((back.id.as_str(), back.version), (theme.id.as_str(), 3));
    log.expect("SetSetting after delete", &["setting.changed"]).await;
    core.stop().await;
}

// ---------------------------------------------------------------------------------------------
// EventService

#[tokio::test]
async fn events_list_get_and_filter() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let admin_id = core.auth().get_me(authed(pb::GetMeRequest {}, &admin)).await.unwrap().into_inner().user.unwrap().id;
    let p = core.project(&admin, "evt").await;
    let a = core.set_config(&admin, &p.id, "a", json!(1)).await;
    let b = core.set_config(&admin, &p.id, "b", json!(1)).await;
    // A client-chosen request id is recorded with the event.
    let mut req = authed(set_req(&p.id, "a", json!(2), ""), &admin);
    req.metadata_mut().insert("x-request-id", "req-evt-test-1".parse().unwrap());
    core.configs().set_config(req).await.unwrap();
    core.configs()
        .delete_config(authed(pb::DeleteConfigRequest { id: b.id.clone(), etag: String::new() }, &admin))
        .await
        .unwrap();

    let channel = format!("project:{}", p.id);
    let events = core.wait_events(&admin, &format!("channel = \"{channel}\""), 5).await;
    let types: Vec<_> = events.iter().map(|e| e.r#type.as_str()).collect();
    assert_eq!(types, ["project.created", "config.set", "config.set", "config.set", "config.deleted"]);
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq), "ascending seq by default");
    for e in &events {
        assert!(is_uuid_v7(&e.id));
        assert_eq!(e.channel, channel);
        assert_eq!(e.channels[0], channel);
        assert!(e.channels.contains(&"admin".to_string()));
        assert_eq!(e.actor_id, admin_id);
        assert!(e.occur_time.is_some());
        assert!(!e.request_id.is_empty(), "every request has an id: {e:?}");
    }
    assert_eq!(events[3].request_id, "req-evt-test-1");
    assert_eq!(events[1].resource.as_ref().unwrap(), &pb::ResourceRef { r#type: "config".into(), id: a.id.clone() });
    let payload = struct_json(events[3].payload.as_ref().unwrap());
    assert_eq!((payload["version"].clone(), payload["before"]["version"].clone()), (json!(2), json!(1)));
    assert_eq!(payload["value"], 2);
    let deleted = struct_json(events[4].payload.as_ref().unwrap());
    assert_eq!(deleted["before"]["value"], 1, "a delete carries the before-state");

    let list = |filter: String, order_by: &str| {
        authed(
            pb::ListEventsRequest { filter, order_by: order_by.into(), page_size: 100, ..Default::default() },
            &admin,
        )
    };
    let configs = core
        .events()
        .list_events(list(format!("channel = \"{channel}\" AND type = \"config.*\""), ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((configs.events.len(), configs.total_size), (4, 4));
    let of_a = core
        .events()
        .list_events(list(format!("type = config.set AND resource_id = \"{}\"", a.id), ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(of_a.events.len(), 2);
    let after = core
        .events()
        .list_events(list(format!("channel = \"{channel}\" AND seq > {}", events[2].seq), ""))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(after.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [events[3].seq, events[4].seq]);
    let desc =
        core.events().list_events(list(format!("channel = \"{channel}\""), "seq desc")).await.unwrap().into_inner();
    assert_eq!(
        desc.events.iter().map(|e| e.seq).rev().collect::<Vec<_>>(),
        events.iter().map(|e| e.seq).collect::<Vec<_>>()
    );
    let by_actor = core
        .events()
        .list_events(list(format!("actor_id = \"{admin_id}\" AND resource_type = project"), ""))
        .await
        .unwrap();
    assert_eq!(by_actor.into_inner().events.len(), 1);

    expect_invalid(core.events().list_events(list("foo = 1".into(), "")).await, &["filter"]);
    expect_invalid(core.events().list_events(list("seq > x".into(), "")).await, &["filter"]);
    expect_invalid(core.events().list_events(list("type > config".into(), "")).await, &["filter"]);
    expect_invalid(core.events().list_events(list(String::new(), "type")).await, &["order_by"]);
    expect_invalid(
        core.events()
            .list_events(authed(pb::ListEventsRequest { page_token: "garbage".into(), ..Default::default() }, &admin))
            .await,
        &["page_token"],
    );

    let one = core.events().get_event(authed(pb::GetEventRequest { id: events[2].id.clone() }, &admin)).await.unwrap();
    assert_eq!(one.into_inner().event.unwrap(), events[2]);
    expect_not_found(core.events().get_event(authed(pb::GetEventRequest { id: random_id() }, &admin)).await);
    expect_invalid(core.events().get_event(authed(pb::GetEventRequest { id: "e".into() }, &admin)).await, &["id"]);
    core.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Lists: pagination and filters

#[tokio::test]
async fn pagination_walks_to_the_end() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let tag = uniq();
    let mut ids = HashSet::new();
    for i in 0..7 {
        let p = core
            .projects()
            .create_project(authed(
                pb::CreateProjectRequest {
                    slug: format!("page-{tag}-{i}"),
                    name: format!("Page {i}"),
                    description: String::new(),
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner()
            .project
            .unwrap();
        ids.insert(p.id);
    }
    core.project(&admin, "unrelated").await;
    let filter = format!("\"page-{tag}\"");
    let page = |token: String, size: i32, skip: i32| {
        authed(
            pb::ListProjectsRequest {
                page_size: size,
                page_token: token,
                filter: filter.clone(),
                order_by: "slug".into(),
                skip,
            },
            &admin,
        )
    };

    let pages = walk_pages(|page_token| {
        let mut client = core.projects();
        let req = page(page_token, 3, 0);
        async move {
            let r = client.list_projects(req).await.unwrap().into_inner();
            (r.projects, r.total_size, r.next_page_token)
        }
    })
    .await;
    assert!(pages.iter().all(|(_, total)| *total == 7), "every page carries the total");
    let sizes: Vec<usize> = pages.iter().map(|(items, _)| items.len()).collect();
    let seen: Vec<String> = pages.into_iter().flat_map(|(items, _)| items).map(|p| p.slug).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let expected: Vec<String> = (0..7).map(|i| format!("page-{tag}-{i}")).collect();
    assert_eq!(seen, expected, "every project once, in order");

    // An exact multiple of the page size ends with an empty token, not an empty page.
    let first = core.projects().list_projects(page(String::new(), 7, 0)).await.unwrap().into_inner();
    assert_eq!((first.projects.len(), first.next_page_token.as_str()), (7, ""));
    let skipped = core.projects().list_projects(page(String::new(), 0, 5)).await.unwrap().into_inner();
    assert_eq!(skipped.projects.iter().map(|p| p.slug.as_str()).collect::<Vec<_>>(), [&expected[5], &expected[6]]);

    // Tokens are bound to their query.
    let r = core.projects().list_projects(page(String::new(), 3, 0)).await.unwrap().into_inner();
    let other_filter = core
        .projects()
        .list_projects(authed(
            pb::ListProjectsRequest { page_size: 3, page_token: r.next_page_token.clone(), ..Default::default() },
            &admin,
        ))
        .await;
    expect_invalid(other_filter, &["page_token"]);
    expect_invalid(core.projects().list_projects(page("not-a-token".into(), 3, 0)).await, &["page_token"]);
    expect_invalid(core.projects().list_projects(page(String::new(), -1, 0)).await, &["page_size"]);
    expect_invalid(core.projects().list_projects(page(String::new(), 3, -1)).await, &["skip"]);

    // The same walk over configs, users and members.
    let p = core.project(&admin, "pagecfg").await;
    for i in 0..5 {
        core.set_config(&admin, &p.id, &format!("k{i}"), json!(i)).await;
    }
    let pages = walk_pages(|page_token| {
        let mut client = core.configs();
        let req = authed(
            pb::ListConfigsRequest { project_id: p.id.clone(), page_size: 2, page_token, ..Default::default() },
            &admin,
        );
        async move {
            let r = client.list_configs(req).await.unwrap().into_inner();
            (r.configs, r.total_size, r.next_page_token)
        }
    })
    .await;
    assert!(pages.iter().all(|(_, total)| *total == 5));
    let keys: Vec<String> = pages.into_iter().flat_map(|(items, _)| items).map(|c| c.key).collect();
    assert_eq!(keys, ["k0", "k1", "k2", "k3", "k4"]);

    for i in 0..4 {
        let (u, _) = core.user(&admin, &format!("pager{i}")).await;
        core.add_member(&admin, &p.id, &u.id, pb::MemberRole::Viewer).await;
    }
    let pages = walk_pages(|page_token| {
        let mut client = core.members();
        let req = authed(
            pb::ListMembersRequest { project_id: p.id.clone(), page_size: 2, page_token, ..Default::default() },
            &admin,
        );
        async move {
            let r = client.list_members(req).await.unwrap().into_inner();
            (r.members, r.total_size, r.next_page_token)
        }
    })
    .await;
    assert!(pages.iter().all(|(_, total)| *total == 5));
    let members: HashSet<String> = pages.into_iter().flat_map(|(items, _)| items).map(|m| m.id).collect();
    assert_eq!(members.len(), 5);

    let pages = walk_pages(|page_token| {
        let mut client = core.users();
        let req = authed(pb::ListUsersRequest { page_size: 2, page_token, ..Default::default() }, &admin);
        async move {
            let r = client.list_users(req).await.unwrap().into_inner();
            (r.users, r.total_size, r.next_page_token)
        }
    })
    .await;
    assert!(pages.iter().all(|(_, total)| *total == 5));
    let users: HashSet<String> = pages.into_iter().flat_map(|(items, _)| items).map(|u| u.id).collect();
    assert_eq!(users.len(), 5, "admin + 4");
    let _ = ids;
    core.stop().await;
}

#[tokio::test]
async fn list_filters() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let tag = uniq();
    let mk = |name: &str| {
        authed(
            pb::CreateProjectRequest {
                slug: format!("{name}-{tag}"),
                name: format!("{name} project"),
                description: format!("about {name}"),
            },
            &admin,
        )
    };
    let alpha = core.projects().create_project(mk("alpha")).await.unwrap().into_inner().project.unwrap();
    let beta = core.projects().create_project(mk("beta")).await.unwrap().into_inner().project.unwrap();
    let gamma = core.projects().create_project(mk("gamma")).await.unwrap().into_inner().project.unwrap();
    core.projects()
        .archive_project(authed(pb::ArchiveProjectRequest { id: gamma.id.clone(), etag: String::new() }, &admin))
        .await
        .unwrap();
    let list = |filter: String, order_by: &str| {
        authed(pb::ListProjectsRequest { filter, order_by: order_by.into(), ..Default::default() }, &admin)
    };
    let slugs = |r: pb::ListProjectsResponse| {
        let mut s: Vec<String> = r.projects.into_iter().map(|p| p.slug).collect();
        s.sort();
        s
    };

    let active = slugs(core.projects().list_projects(list("status = active".into(), "")).await.unwrap().into_inner());
    assert_eq!(active, [alpha.slug.as_str(), beta.slug.as_str()]);
    let archived =
        slugs(core.projects().list_projects(list("status = ARCHIVED".into(), "")).await.unwrap().into_inner());
    assert_eq!(archived, [gamma.slug.as_str()]);
    let text = slugs(core.projects().list_projects(list(format!("\"beta-{tag}\""), "")).await.unwrap().into_inner());
    assert_eq!(text, [beta.slug.as_str()]);
    let by_description =
        slugs(core.projects().list_projects(list("\"ABOUT GAMMA\"".into(), "")).await.unwrap().into_inner());
    assert_eq!(by_description, [gamma.slug.as_str()], "free text is case-insensitive and covers the description");
    let either = slugs(
        core.projects()
            .list_projects(list(format!("(id = \"{}\" OR id = \"{}\")", alpha.id, gamma.id), ""))
            .await
            .unwrap()
            .into_inner(),
    );
    assert_eq!(either, [alpha.slug.as_str(), gamma.slug.as_str()]);
    let both = slugs(
        core.projects()
            .list_projects(list(format!("status = active AND (id = \"{}\" OR id = \"{}\")", alpha.id, gamma.id), ""))
            .await
            .unwrap()
            .into_inner(),
    );
    assert_eq!(both, [alpha.slug.as_str()]);
    let has = slugs(core.projects().list_projects(list("name:ETA".into(), "")).await.unwrap().into_inner());
    assert_eq!(has, [beta.slug.as_str()]);
    let not = slugs(
        core.projects().list_projects(list(format!("slug != \"{}\"", alpha.slug), "")).await.unwrap().into_inner(),
    );
    assert_eq!(not, [beta.slug.as_str(), gamma.slug.as_str()]);
    let ordered = core.projects().list_projects(list(String::new(), "name desc")).await.unwrap().into_inner();
    assert_eq!(
        ordered.projects.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
        [gamma.id.as_str(), beta.id.as_str(), alpha.id.as_str()]
    );
    let none =
        core.projects().list_projects(list("\"no-such-project-anywhere\"".into(), "")).await.unwrap().into_inner();
    assert_eq!((none.projects.len(), none.total_size, none.next_page_token.as_str()), (0, 0, ""));
    // Characters special to LIKE are matched literally.
    let pct = core.projects().list_projects(list("\"%\"".into(), "")).await.unwrap().into_inner();
    assert_eq!(pct.total_size, 0);

    for (bad_filter, bad_order) in [
        ("status = deleted", ""),
        ("nope = 1", ""),
        ("id = 12", ""),
        ("(status = active", ""),
        ("name = \"unterminated", ""),
        ("status =", ""),
        ("AND", ""),
        ("create_time > yesterday", ""),
        ("", "nope"),
        ("", "name sideways"),
        ("", "description"),
        ("", "name; drop table projects"),
    ] {
        let field = if bad_order.is_empty() { "filter" } else { "order_by" };
        expect_invalid(core.projects().list_projects(list(bad_filter.into(), bad_order)).await, &[field]);
    }

    // Configs: deleted entries only when the filter asks about `deleted`.
    let p = core.project(&admin, "cfilter").await;
    core.set_config(&admin, &p.id, "live", json!(1)).await;
    let gone = core.set_config(&admin, &p.id, "was-deleted", json!(1)).await;
    core.configs()
        .delete_config(authed(pb::DeleteConfigRequest { id: gone.id.clone(), etag: String::new() }, &admin))
        .await
        .unwrap();
    let keys = |filter: &str| {
        let filter = filter.to_string();
        let core = &core;
        let admin = &admin;
        let project_id = p.id.clone();
        async move {
            let r = core
                .configs()
                .list_configs(authed(pb::ListConfigsRequest { project_id, filter, ..Default::default() }, admin))
                .await
                .unwrap()
                .into_inner();
            r.configs.into_iter().map(|c| c.key).collect::<Vec<_>>()
        }
    };
    assert_eq!(keys("").await, ["live"]);
    assert_eq!(keys("deleted = true").await, ["was-deleted"]);
    assert_eq!(keys("deleted = false").await, ["live"]);
    assert_eq!(
        keys("key = \"was-deleted\"").await,
        Vec::<String>::new(),
        "a filter that merely mentions the word does not un-hide"
    );
    assert_eq!(keys("\"deleted\"").await, Vec::<String>::new());
    assert_eq!(keys("key = \"was-deleted\" AND deleted = true").await, ["was-deleted"]);
    expect_invalid(
        core.configs()
            .list_configs(authed(
                pb::ListConfigsRequest {
                    project_id: p.id.clone(),
                    filter: "deleted = maybe".into(),
                    ..Default::default()
                },
                &admin,
            ))
            .await,
        &["filter"],
    );
    core.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Credentials

/// Wraps a message with the given authorization metadata value (None: no metadata).
fn with_auth<T>(msg: T, authorization: Option<&str>) -> Request<T> {
    let mut r = Request::new(msg);
    if let Some(a) = authorization {
        r.metadata_mut().insert("authorization", a.parse().unwrap());
    }
    r
}

#[tokio::test]
async fn every_rpc_requires_valid_credentials() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let p = core.project(&admin, "unauth").await;
    let c = core.set_config(&admin, &p.id, "k", json!(1)).await;
    let mut log = EventLog::new(&core).await;
    let id = random_id();
    let (mut u, mut s, mut pr) = (core.users(), core.settings(), core.projects());
    let (mut m, mut cf, mut ev) = (core.members(), core.configs(), core.events());
    let forged_jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIwIn0.invalid";

    for (auth, reason) in [
        (None, "MISSING_CREDENTIALS"),
        (Some("Bearer garbage".to_string()), "INVALID_TOKEN"),
        (Some(format!("Bearer {forged_jwt}")), "INVALID_TOKEN"),
        (
            Some("Bearer psm_0000000000000000000000000000000000000000000000000000000000000000".to_string()),
            "INVALID_TOKEN",
        ),
        (Some(format!("Basic {admin}")), "INVALID_CREDENTIALS"),
        (Some("Bearer ".to_string()), "INVALID_CREDENTIALS"),
    ] {
        let a = auth.as_deref();
        macro_rules! check {
            ($call:expr) => {{
                let r = $call.await;
                let st = expect_code(r, Code::Unauthenticated, Some(reason));
                assert!(!st.message().contains("SELECT"), "{st:?}");
            }};
        }
        check!(u.create_user(with_auth(pb::CreateUserRequest::default(), a)));
        check!(u.get_user(with_auth(pb::GetUserRequest { id: id.clone() }, a)));
        check!(u.batch_get_users(with_auth(pb::BatchGetUsersRequest::default(), a)));
        check!(u.list_users(with_auth(pb::ListUsersRequest::default(), a)));
        check!(u.update_user(with_auth(pb::UpdateUserRequest::default(), a)));
        check!(pr.create_project(with_auth(
            pb::CreateProjectRequest { slug: "unauth-x".into(), name: "x".into(), description: String::new() },
            a
        )));
        check!(pr.get_project(with_auth(pb::GetProjectRequest { id: p.id.clone(), slug: String::new() }, a)));
        check!(pr.batch_get_projects(with_auth(pb::BatchGetProjectsRequest { ids: vec![p.id.clone()] }, a)));
        check!(pr.list_projects(with_auth(pb::ListProjectsRequest::default(), a)));
        check!(pr.update_project(with_auth(pb::UpdateProjectRequest::default(), a)));
        check!(pr.archive_project(with_auth(pb::ArchiveProjectRequest { id: p.id.clone(), etag: String::new() }, a)));
        check!(
            pr.unarchive_project(with_auth(pb::UnarchiveProjectRequest { id: p.id.clone(), etag: String::new() }, a))
        );
        check!(pr.delete_project(with_auth(pb::DeleteProjectRequest { id: p.id.clone(), etag: String::new() }, a)));
        check!(m.add_member(with_auth(pb::AddMemberRequest { project_id: p.id.clone(), ..Default::default() }, a)));
        check!(m.get_member(with_auth(pb::GetMemberRequest { id: id.clone() }, a)));
        check!(m.list_members(with_auth(pb::ListMembersRequest::default(), a)));
        check!(m.update_member(with_auth(pb::UpdateMemberRequest::default(), a)));
        check!(m.remove_member(with_auth(pb::RemoveMemberRequest::default(), a)));
        check!(cf.set_config(with_auth(set_req(&p.id, "k", json!(2), ""), a)));
        check!(cf.get_config(with_auth(pb::GetConfigRequest { id: c.id.clone(), ..Default::default() }, a)));
        check!(cf.list_configs(with_auth(pb::ListConfigsRequest::default(), a)));
        check!(cf.delete_config(with_auth(pb::DeleteConfigRequest { id: c.id.clone(), etag: String::new() }, a)));
        check!(cf.rollback_config(with_auth(
            pb::RollbackConfigRequest { id: c.id.clone(), version: 1, etag: String::new() },
            a
        )));
        check!(cf.import_configs(with_auth(pb::ImportConfigsRequest { project_id: p.id.clone(), entries: vec![] }, a)));
        check!(cf.get_effective_config(with_auth(pb::GetEffectiveConfigRequest { project_id: p.id.clone() }, a)));
        check!(cf.list_config_revisions(with_auth(pb::ListConfigRevisionsRequest::default(), a)));
        check!(cf.get_config_revision(with_auth(pb::GetConfigRevisionRequest { id: id.clone() }, a)));
        check!(s.get_setting(with_auth(pb::GetSettingRequest { key: "auth.signup_enabled".into() }, a)));
        check!(s.list_settings(with_auth(pb::ListSettingsRequest::default(), a)));
        check!(s.set_setting(with_auth(
            pb::SetSettingRequest { key: "x".into(), value: Some(value(json!(1))), ..Default::default() },
            a
        )));
        check!(s.delete_setting(with_auth(pb::DeleteSettingRequest { key: "x".into(), etag: String::new() }, a)));
        check!(ev.list_events(with_auth(pb::ListEventsRequest::default(), a)));
        check!(ev.get_event(with_auth(pb::GetEventRequest { id: id.clone() }, a)));
    }
    log.none("unauthenticated calls").await;
    assert_eq!(get_project(&core, &admin, &p.id).await.version, 1);
    core.stop().await;
}

/// Follows `next_page_token` from the first page to the last; `fetch` gets the token and returns
/// (items, total_size, next_page_token). Returns each page's items with its total_size.
async fn walk_pages<T, F, Fut>(mut fetch: F) -> Vec<(Vec<T>, i32)>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = (Vec<T>, i32, String)>,
{
    let mut pages = Vec::new();
    let mut token = String::new();
    loop {
        let (items, total, next) = fetch(token).await;
        pages.push((items, total));
        if next.is_empty() {
            return pages;
        }
        assert!(pages.len() < 1000, "the page tokens never end");
        token = next;
    }
}
