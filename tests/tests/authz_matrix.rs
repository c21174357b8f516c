//! The authorization matrix (docs/PRODUCT.md §4 "Permissions": the table, "tested as a
//! matrix"): every RPC of every `platform.v1` service × every caller in {anonymous, non_member,
//! viewer, editor, owner, admin}, generated from ONE table ([`table`]).
//!
//! - [`every_rpc_has_a_row`] derives the RPC list from `proto::FILE_DESCRIPTOR_SET` and compares
//!   it with the table both ways, so an RPC added to the contract without a row fails.
//! - [`authorization_matrix`] runs every row for every caller against one core-svc and one
//!   fixture world, collects every mismatch and fails once with a table of them.
//!
//! A row may appear several times for one RPC with different targets (`case`): "own" vs
//! "someone else's" are different authorization questions. Destructive calls (archive, delete,
//! remove, revoke, ...) act on a fixture built fresh for that one call, so no caller's call
//! changes another's outcome and the order of rows does not matter.
//!
//! Outcomes: `OK`; `HIDDEN` (OK, but the fixture item is left out of the list/batch answer:
//! the caller may not see it); an error code with, where it matters, its ErrorInfo reason; `-`
//! (not applicable: the call makes no sense for that caller, e.g. leaving a project one is not a
//! member of).

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::{self, Write as _},
    time::Instant,
};

use futures::future::BoxFuture;
use prost::Message as _;
use proto::Services as _;
use tests::{ADMIN_PASSWORD, TestCore, USER_PASSWORD, api as pb, authed, spawn_core, value};
use tonic::{Code, Request, Response, Status};
use tonic_types::StatusExt;

// ------------------------------------------------------------------------------------------------
// Callers and outcomes
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Who {
    Anonymous,
    NonMember,
    Viewer,
    Editor,
    Owner,
    Admin,
}

/// Column order of every row's expectations.
const CALLERS: [Who; 6] = [Who::Anonymous, Who::NonMember, Who::Viewer, Who::Editor, Who::Owner, Who::Admin];

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Anonymous => "anonymous",
            Who::NonMember => "non_member",
            Who::Viewer => "viewer",
            Who::Editor => "editor",
            Who::Owner => "owner",
            Who::Admin => "admin",
        }
    }
}

/// What a row expects of one caller.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    Ok,
    /// OK, but the fixture item is not in the answer.
    Hidden,
    /// Not called for this caller.
    NotApplicable,
    /// Fails with this code (and this ErrorInfo reason, when given).
    Fails(Code, Option<&'static str>),
}

const OK: Outcome = Outcome::Ok;
const HIDDEN: Outcome = Outcome::Hidden;
const NA: Outcome = Outcome::NotApplicable;
const UNAUTH: Outcome = Outcome::Fails(Code::Unauthenticated, None);
const NOT_FOUND: Outcome = Outcome::Fails(Code::NotFound, None);
const DENIED: Outcome = Outcome::Fails(Code::PermissionDenied, None);

const fn precondition(reason: &'static str) -> Outcome {
    Outcome::Fails(Code::FailedPrecondition, Some(reason))
}

/// Readers of a project: members read, outsiders get NOT_FOUND.
const PROJECT_READ: [Outcome; 6] = [UNAUTH, NOT_FOUND, OK, OK, OK, OK];
/// Config writes: editors and owners.
const CONFIG_WRITE: [Outcome; 6] = [UNAUTH, NOT_FOUND, DENIED, OK, OK, OK];
/// Project management: owners only.
const MANAGE: [Outcome; 6] = [UNAUTH, NOT_FOUND, DENIED, DENIED, OK, OK];
/// Lists and batches without a project filter: outsiders get OK without the item.
const LIST_VISIBLE_TO_MEMBERS: [Outcome; 6] = [UNAUTH, HIDDEN, OK, OK, OK, OK];
/// Anything an authenticated user may do.
const ANY_USER: [Outcome; 6] = [UNAUTH, OK, OK, OK, OK, OK];
/// Admin only, and the resource is not hidden from non-admins.
const ADMIN_ONLY: [Outcome; 6] = [UNAUTH, DENIED, DENIED, DENIED, DENIED, OK];
/// Admin or the resource's owner (the `owner` caller); hidden from anyone else.
const OWNER_OR_ADMIN_ELSE_NOT_FOUND: [Outcome; 6] = [UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK, OK];

/// What one call returned.
#[derive(Debug)]
enum Got {
    Ok,
    Hidden,
    Fails { code: Code, reason: String, message: String },
}

impl Outcome {
    fn matches(self, got: &Got) -> bool {
        match (self, got) {
            (Outcome::Ok, Got::Ok) | (Outcome::Hidden, Got::Hidden) => true,
            (Outcome::Fails(code, reason), Got::Fails { code: c, reason: r, .. }) => {
                code == *c && reason.is_none_or(|reason| reason == r)
            }
            _ => false,
        }
    }
}

/// The canonical gRPC name of a code (`NOT_FOUND`), as grpcurl and the spec write it.
fn code_name(code: Code) -> String {
    let debug = format!("{code:?}");
    let mut out = String::new();
    for (i, ch) in debug.chars().enumerate() {
        if ch.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(ch.to_ascii_uppercase());
    }
    out
}

/// `CODE` or `CODE/REASON`; the reason is left out when it only repeats the code.
fn code_and_reason(code: Code, reason: &str) -> String {
    let name = code_name(code);
    if reason.is_empty() || reason == name { name } else { format!("{name}/{reason}") }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok => f.write_str("OK"),
            Outcome::Hidden => f.write_str("HIDDEN"),
            Outcome::NotApplicable => f.write_str("-"),
            Outcome::Fails(code, reason) => f.write_str(&code_and_reason(*code, reason.unwrap_or_default())),
        }
    }
}

impl fmt::Display for Got {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Got::Ok => f.write_str("OK"),
            Got::Hidden => f.write_str("HIDDEN"),
            Got::Fails { code, reason, .. } => f.write_str(&code_and_reason(*code, reason)),
        }
    }
}

fn failed(s: Status) -> Got {
    let reason = s.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default();
    Got::Fails { code: s.code(), reason, message: s.message().to_string() }
}

fn got<T>(r: Result<Response<T>, Status>) -> Got {
    match r {
        Ok(_) => Got::Ok,
        Err(s) => failed(s),
    }
}

/// OK when the answer includes the fixture item, HIDDEN when it leaves it out.
fn seen<T>(r: Result<Response<T>, Status>, includes: impl FnOnce(&T) -> bool) -> Got {
    match r {
        Ok(resp) if includes(resp.get_ref()) => Got::Ok,
        Ok(_) => Got::Hidden,
        Err(s) => failed(s),
    }
}

// ------------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------------

/// One caller: a user with an access token (none for anonymous) and an API token of their own.
struct Caller {
    who: Who,
    user: Option<pb::User>,
    token: Option<String>,
    password: &'static str,
    api_token_id: Option<String>,
}

impl Caller {
    /// The message with this caller's credentials (none for anonymous).
    fn req<T>(&self, msg: T) -> Request<T> {
        match &self.token {
            Some(t) => authed(msg, t),
            None => Request::new(msg),
        }
    }

    fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(|u| u.id.as_str())
    }
}

/// Everything the rows act on. Shared state is only changed in ways that leave every outcome
/// the same (renames to the same name, rollbacks, setting other keys); destructive calls get a
/// fresh fixture through the `fresh_*` helpers.
struct World {
    core: TestCore,
    callers: Vec<Caller>,
    /// A viewer of `project` (and of every fresh project) who is not a caller: the target of
    /// "someone else in my project" rows.
    colleague: pb::User,
    /// Shares no project with anyone, ever: the target of "invisible user" rows and the
    /// account whose sessions the Login/RefreshToken/Logout rows use.
    stranger: pb::User,
    /// Added to fresh projects by the AddMember row.
    recruit: pb::User,
    /// Owned by `owner`, with `editor`, `viewer` and `colleague` as members.
    project: pb::Project,
    viewer_member: pb::Member,
    /// A config of `project` with two versions.
    config: pb::Config,
    /// Revision 1 of `config`.
    revision: pb::ConfigRevision,
    setting_key: String,
    setting_id: String,
    /// `project.created` of `project`.
    project_event: String,
    /// `user.created` of `stranger` (channel `user:<stranger>` only).
    stranger_event: String,
    /// A webhook of `project` (to an address that refuses connections) and one of its deliveries.
    webhook: pb::Webhook,
    delivery: pb::WebhookDelivery,
    /// A succeeded export of `project`, queued by `owner`.
    export_task: pb::Task,
}

/// A project built for one destructive call: `owner` owns it; `editor`, `viewer` and
/// `colleague` are members.
struct Fresh {
    project: pb::Project,
    members: Vec<pb::Member>,
}

impl Fresh {
    fn member_of(&self, user_id: &str) -> &pb::Member {
        self.members.iter().find(|m| m.user_id == user_id).expect("member of the fresh project")
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::now_v7().simple().to_string()[16..])
}

impl World {
    fn caller(&self, who: Who) -> &Caller {
        &self.callers[CALLERS.iter().position(|w| *w == who).unwrap()]
    }

    fn token(&self, who: Who) -> &str {
        self.caller(who).token.as_deref().unwrap()
    }

    fn user(&self, who: Who) -> &pb::User {
        self.caller(who).user.as_ref().unwrap()
    }

    async fn build() -> World {
        let core = spawn_core().await;
        let admin = core.admin_token().await;
        let (
            (owner, owner_token),
            (editor, editor_token),
            (viewer, viewer_token),
            (non_member, non_member_token),
            (colleague, _),
            (stranger, _),
            (recruit, _),
        ) = tokio::join!(
            core.user(&admin, "owner"),
            core.user(&admin, "editor"),
            core.user(&admin, "viewer"),
            core.user(&admin, "non-member"),
            core.user(&admin, "colleague"),
            core.user(&admin, "stranger"),
            core.user(&admin, "recruit"),
        );
        let admin_user = core.auth().get_me(authed(pb::GetMeRequest {}, &admin)).await.unwrap().into_inner().user;

        let project = core.project(&owner_token, "matrix").await;
        core.add_member(&owner_token, &project.id, &editor.id, pb::MemberRole::Editor).await;
        let viewer_member = core.add_member(&owner_token, &project.id, &viewer.id, pb::MemberRole::Viewer).await;
        core.add_member(&owner_token, &project.id, &colleague.id, pb::MemberRole::Viewer).await;

        let mut config = None;
        for v in [1, 2] {
            config = core
                .configs()
                .set_config(authed(
                    pb::SetConfigRequest {
                        project_id: project.id.clone(),
                        key: "matrix.shared".into(),
                        value: Some(value(serde_json::json!({ "v": v }))),
                        ..Default::default()
                    },
                    &owner_token,
                ))
                .await
                .unwrap()
                .into_inner()
                .config;
        }
        let config = config.unwrap();
        let revision = core
            .configs()
            .list_config_revisions(authed(
                pb::ListConfigRevisionsRequest { config_id: config.id.clone(), ..Default::default() },
                &owner_token,
            ))
            .await
            .unwrap()
            .into_inner()
            .revisions
            .into_iter()
            .find(|r| r.version == 1)
            .expect("revision 1");

        let setting_key = "matrix.flag".to_string();
        let setting_id = core
            .settings()
            .set_setting(authed(
                pb::SetSettingRequest {
                    key: setting_key.clone(),
                    value: Some(value(serde_json::json!(true))),
                    ..Default::default()
                },
                &admin,
            ))
            .await
            .unwrap()
            .into_inner()
            .setting
            .unwrap()
            .id;

        let webhook = core
            .webhooks()
            .create_webhook(authed(
                pb::CreateWebhookRequest {
                    project_id: project.id.clone(),
                    webhook: Some(pb::Webhook {
                        url: "http://127.0.0.1:9/matrix".into(),
                        event_types: vec!["config.*".into()],
                        ..Default::default()
                    }),
                },
                &owner_token,
            ))
            .await
            .unwrap()
            .into_inner()
            .webhook
            .unwrap();
        core.configs()
            .set_config(authed(
                pb::SetConfigRequest {
                    project_id: project.id.clone(),
                    key: "matrix.hooked".into(),
                    value: Some(value(serde_json::json!(1))),
                    ..Default::default()
                },
                &owner_token,
            ))
            .await
            .unwrap();
        let export_task = core
            .projects()
            .export_project(authed(pb::ExportProjectRequest { id: project.id.clone() }, &owner_token))
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap();
        let (delivery, export_task) = tokio::join!(
            wait_for_delivery(&core, &owner_token, &webhook.id),
            wait_for_task(&core, &owner_token, &export_task.id, pb::TaskStatus::Succeeded),
        );

        let project_event = core
            .wait_events(&admin, &format!("channel = \"project:{}\" AND type = \"project.created\"", project.id), 1)
            .await;
        let stranger_event = core
            .wait_events(&admin, &format!("resource_id = \"{}\" AND type = \"user.created\"", stranger.id), 1)
            .await;

        let mut callers = Vec::new();
        for (who, user, token) in [
            (Who::Anonymous, None, None),
            (Who::NonMember, Some(non_member), Some(non_member_token)),
            (Who::Viewer, Some(viewer), Some(viewer_token)),
            (Who::Editor, Some(editor), Some(editor_token)),
            (Who::Owner, Some(owner), Some(owner_token)),
            (Who::Admin, admin_user, Some(admin)),
        ] {
            let api_token_id = match &token {
                Some(t) => Some(create_api_token(&core, t).await),
                None => None,
            };
            let password = if who == Who::Admin { ADMIN_PASSWORD } else { USER_PASSWORD };
            callers.push(Caller { who, user, token, password, api_token_id });
        }

        World {
            core,
            callers,
            colleague,
            stranger,
            recruit,
            project,
            viewer_member,
            config,
            revision,
            setting_key,
            setting_id,
            project_event: project_event.first().expect("project.created event").id.clone(),
            stranger_event: stranger_event.first().expect("user.created event").id.clone(),
            webhook,
            delivery,
            export_task,
        }
    }

    /// A webhook of `project` made for one destructive call.
    async fn fresh_webhook(&self) -> pb::Webhook {
        self.core
            .webhooks()
            .create_webhook(authed(
                pb::CreateWebhookRequest {
                    project_id: self.project.id.clone(),
                    webhook: Some(pb::Webhook {
                        url: "http://127.0.0.1:9/fresh".into(),
                        event_types: vec!["member.*".into()],
                        ..Default::default()
                    }),
                },
                self.token(Who::Owner),
            ))
            .await
            .unwrap()
            .into_inner()
            .webhook
            .unwrap()
    }

    /// A fresh login session (argon2: use sparingly).
    async fn session(&self, email: &str, password: &str) -> pb::TokenPair {
        self.core.login(email, password).await.expect("login").tokens.unwrap()
    }

    async fn fresh_project(&self) -> Fresh {
        let owner = self.token(Who::Owner);
        let project = self.core.project(owner, "fresh").await;
        for (user_id, role) in [
            (&self.user(Who::Editor).id, pb::MemberRole::Editor),
            (&self.user(Who::Viewer).id, pb::MemberRole::Viewer),
            (&self.colleague.id, pb::MemberRole::Viewer),
        ] {
            self.core.add_member(owner, &project.id, user_id, role).await;
        }
        let members = self
            .core
            .members()
            .list_members(authed(
                pb::ListMembersRequest { project_id: project.id.clone(), ..Default::default() },
                owner,
            ))
            .await
            .unwrap()
            .into_inner()
            .members;
        assert_eq!(members.len(), 4);
        Fresh { project, members }
    }

    async fn fresh_archived_project(&self) -> Fresh {
        let f = self.fresh_project().await;
        self.core
            .projects()
            .archive_project(authed(
                pb::ArchiveProjectRequest { id: f.project.id.clone(), ..Default::default() },
                self.token(Who::Owner),
            ))
            .await
            .unwrap();
        f
    }

    async fn fresh_config(&self) -> pb::Config {
        self.core
            .configs()
            .set_config(authed(
                pb::SetConfigRequest {
                    project_id: self.project.id.clone(),
                    key: unique("matrix.doomed"),
                    value: Some(value(serde_json::json!(1))),
                    ..Default::default()
                },
                self.token(Who::Owner),
            ))
            .await
            .unwrap()
            .into_inner()
            .config
            .unwrap()
    }

    async fn fresh_setting(&self) -> String {
        let key = unique("matrix.doomed");
        self.core
            .settings()
            .set_setting(authed(
                pb::SetSettingRequest {
                    key: key.clone(),
                    value: Some(value(serde_json::json!(1))),
                    ..Default::default()
                },
                self.token(Who::Admin),
            ))
            .await
            .unwrap();
        key
    }

    /// A fresh API token of the caller (of the owner for anonymous).
    async fn fresh_api_token(&self, c: &Caller) -> String {
        create_api_token(&self.core, c.token.as_deref().unwrap_or(self.token(Who::Owner))).await
    }

    async fn set_signup(&self, enabled: bool) {
        self.core
            .settings()
            .set_setting(authed(
                pb::SetSettingRequest {
                    key: "auth.signup_enabled".into(),
                    value: Some(value(serde_json::json!(enabled))),
                    ..Default::default()
                },
                self.token(Who::Admin),
            ))
            .await
            .unwrap();
    }

    async fn sign_up(&self, c: &Caller) -> Got {
        got(self
            .core
            .auth()
            .sign_up(c.req(pb::SignUpRequest {
                email: format!("{}@platform.test", unique("signup")),
                name: "Signed Up".into(),
                password: USER_PASSWORD.into(),
            }))
            .await)
    }
}

/// Opens a subscription and reads its first message, which must be `ready`.
async fn subscribed(w: &World, c: &Caller, channel: String) -> Got {
    let r = w.core.events().subscribe(c.req(pb::SubscribeRequest { channels: vec![channel], after_seq: None })).await;
    match r {
        Err(s) => failed(s),
        Ok(stream) => match stream.into_inner().message().await {
            Ok(Some(pb::SubscribeResponse { message: Some(pb::subscribe_response::Message::Ready(_)) })) => Got::Ok,
            other => panic!("a granted subscription must start with `ready`, got {other:?}"),
        },
    }
}

/// Waits for the first delivery of a webhook (the leader creates it within about a second).
async fn wait_for_delivery(core: &TestCore, token: &str, webhook_id: &str) -> pb::WebhookDelivery {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let page = core
            .webhooks()
            .list_webhook_deliveries(authed(
                pb::ListWebhookDeliveriesRequest { webhook_id: webhook_id.into(), ..Default::default() },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        if let Some(d) = page.deliveries.into_iter().next() {
            return d;
        }
        assert!(tokio::time::Instant::now() < deadline, "no delivery was created");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Waits until a task reaches `status`.
async fn wait_for_task(core: &TestCore, token: &str, id: &str, status: pb::TaskStatus) -> pb::Task {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let t = core
            .tasks()
            .get_task(authed(pb::GetTaskRequest { id: id.into() }, token))
            .await
            .unwrap()
            .into_inner()
            .task
            .unwrap();
        if t.status == status as i32 {
            return t;
        }
        assert!(tokio::time::Instant::now() < deadline, "task {id} stayed {:?}", t.status);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

async fn create_api_token(core: &TestCore, token: &str) -> String {
    core.auth()
        .create_api_token(authed(pb::CreateApiTokenRequest { name: "matrix".into(), expire_time: None }, token))
        .await
        .expect("create api token")
        .into_inner()
        .api_token
        .unwrap()
        .id
}

fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask { paths: paths.iter().map(|p| p.to_string()).collect() })
}

fn id_filter(id: &str) -> String {
    format!("id = \"{id}\"")
}

// ------------------------------------------------------------------------------------------------
// The table
// ------------------------------------------------------------------------------------------------

type Call = for<'a> fn(&'a World, &'a Caller) -> BoxFuture<'a, Got>;

struct Row {
    /// `Service/Method`, as in the descriptor set.
    rpc: &'static str,
    /// What the call targets, when an RPC has several rows.
    case: &'static str,
    /// Per caller, in [`CALLERS`] order.
    expect: [Outcome; 6],
    call: Call,
}

fn row(rpc: &'static str, case: &'static str, expect: [Outcome; 6], call: Call) -> Row {
    Row { rpc, case, expect, call }
}

/// `call!(|w, c| body)`: a row's call, `w` the world and `c` the caller.
macro_rules! call {
    (|$w:ident, $c:ident| $body:expr) => {
        |$w, $c| Box::pin(async move { $body })
    };
}

/// The whole authorization policy of `platform.v1`, one line of expectations per RPC and target.
/// Columns: anonymous, non_member, viewer, editor, owner, admin.
#[rustfmt::skip]
fn table() -> Vec<Row> {
    vec![
        // --- AuthService: Login, RefreshToken and SignUp are public; a bearer sent along is ignored.
        row("AuthService/Login", "the stranger's password", [OK; 6], call!(|w, c| {
            got(w.core.auth().login(c.req(pb::LoginRequest {
                email: w.stranger.email.clone(), password: USER_PASSWORD.into(),
            })).await)
        })),
        row("AuthService/RefreshToken", "a fresh refresh token of the stranger", [OK; 6], call!(|w, c| {
            let t = w.session(&w.stranger.email, USER_PASSWORD).await;
            got(w.core.auth().refresh_token(c.req(pb::RefreshTokenRequest { refresh_token: t.refresh_token })).await)
        })),
        // The refresh token is itself the credential: anonymous may present it; an authenticated
        // caller may only present their own (admins anyone's).
        row("AuthService/Logout", "the stranger's refresh token", [OK, UNAUTH, UNAUTH, UNAUTH, UNAUTH, OK], call!(|w, c| {
            let t = w.session(&w.stranger.email, USER_PASSWORD).await;
            got(w.core.auth().logout(c.req(pb::LogoutRequest { refresh_token: t.refresh_token })).await)
        })),
        row("AuthService/Logout", "own session, by bearer", ANY_USER, call!(|w, c| {
            let req = match &c.user {
                Some(u) => authed(pb::LogoutRequest::default(), &w.session(&u.email, c.password).await.access_token),
                None => Request::new(pb::LogoutRequest::default()),
            };
            got(w.core.auth().logout(req).await)
        })),
        row("AuthService/SignUp", "auth.signup_enabled unset", [precondition("SIGNUP_DISABLED"); 6], call!(|w, c| {
            w.sign_up(c).await
        })),
        row("AuthService/SignUp", "auth.signup_enabled = true", [OK; 6], call!(|w, c| {
            w.set_signup(true).await;
            let outcome = w.sign_up(c).await;
            w.set_signup(false).await;
            outcome
        })),
        row("AuthService/GetMe", "", ANY_USER, call!(|w, c| {
            got(w.core.auth().get_me(c.req(pb::GetMeRequest {})).await)
        })),
        row("AuthService/ChangePassword", "own, to the same password", ANY_USER, call!(|w, c| {
            got(w.core.auth().change_password(c.req(pb::ChangePasswordRequest {
                current_password: c.password.into(), new_password: c.password.into(),
            })).await)
        })),
        row("AuthService/CreateApiToken", "", ANY_USER, call!(|w, c| {
            got(w.core.auth().create_api_token(c.req(pb::CreateApiTokenRequest {
                name: "matrix".into(), expire_time: None,
            })).await)
        })),
        row("AuthService/ListApiTokens", "includes the owner's token", [UNAUTH, HIDDEN, HIDDEN, HIDDEN, OK, OK], call!(|w, c| {
            let owner_token = w.caller(Who::Owner).api_token_id.clone().unwrap();
            seen(w.core.auth().list_api_tokens(c.req(pb::ListApiTokensRequest {
                filter: format!("user_id = \"{}\"", w.user(Who::Owner).id), page_size: 1000, ..Default::default()
            })).await, |r| r.api_tokens.iter().any(|t| t.id == owner_token))
        })),
        row("AuthService/GetApiToken", "own", ANY_USER, call!(|w, c| {
            let id = c.api_token_id.clone().or_else(|| w.caller(Who::Owner).api_token_id.clone()).unwrap();
            got(w.core.auth().get_api_token(c.req(pb::GetApiTokenRequest { id })).await)
        })),
        row("AuthService/GetApiToken", "the owner's", OWNER_OR_ADMIN_ELSE_NOT_FOUND, call!(|w, c| {
            let id = w.caller(Who::Owner).api_token_id.clone().unwrap();
            got(w.core.auth().get_api_token(c.req(pb::GetApiTokenRequest { id })).await)
        })),
        row("AuthService/RevokeApiToken", "own (fresh)", ANY_USER, call!(|w, c| {
            let id = w.fresh_api_token(c).await;
            got(w.core.auth().revoke_api_token(c.req(pb::RevokeApiTokenRequest { id })).await)
        })),
        row("AuthService/RevokeApiToken", "the owner's (fresh)", OWNER_OR_ADMIN_ELSE_NOT_FOUND, call!(|w, c| {
            let id = w.fresh_api_token(w.caller(Who::Owner)).await;
            got(w.core.auth().revoke_api_token(c.req(pb::RevokeApiTokenRequest { id })).await)
        })),

        // --- UserService: a user sees themself and co-members; admins manage everyone.
        row("UserService/CreateUser", "", ADMIN_ONLY, call!(|w, c| {
            got(w.core.users().create_user(c.req(pb::CreateUserRequest {
                email: format!("{}@platform.test", unique("created")), name: "Created".into(),
                password: USER_PASSWORD.into(), role: 0,
            })).await)
        })),
        row("UserService/GetUser", "self", ANY_USER, call!(|w, c| {
            let id = c.user_id().unwrap_or(w.user(Who::Owner).id.as_str()).to_string();
            got(w.core.users().get_user(c.req(pb::GetUserRequest { id })).await)
        })),
        row("UserService/GetUser", "a co-member (colleague)", PROJECT_READ, call!(|w, c| {
            got(w.core.users().get_user(c.req(pb::GetUserRequest { id: w.colleague.id.clone() })).await)
        })),
        row("UserService/GetUser", "an unrelated user (stranger)", [UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK], call!(|w, c| {
            got(w.core.users().get_user(c.req(pb::GetUserRequest { id: w.stranger.id.clone() })).await)
        })),
        row("UserService/BatchGetUsers", "a co-member (colleague)", LIST_VISIBLE_TO_MEMBERS, call!(|w, c| {
            let id = w.colleague.id.clone();
            seen(w.core.users().batch_get_users(c.req(pb::BatchGetUsersRequest { ids: vec![id.clone()] })).await,
                |r| r.users.iter().any(|u| u.id == id))
        })),
        row("UserService/BatchGetUsers", "an unrelated user (stranger)", [UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, OK], call!(|w, c| {
            let id = w.stranger.id.clone();
            seen(w.core.users().batch_get_users(c.req(pb::BatchGetUsersRequest { ids: vec![id.clone()] })).await,
                |r| r.users.iter().any(|u| u.id == id))
        })),
        row("UserService/ListUsers", "includes a co-member (colleague)", LIST_VISIBLE_TO_MEMBERS, call!(|w, c| {
            let id = w.colleague.id.clone();
            seen(w.core.users().list_users(c.req(pb::ListUsersRequest { filter: id_filter(&id), ..Default::default() })).await,
                |r| r.users.iter().any(|u| u.id == id))
        })),
        row("UserService/UpdateUser", "own name", ANY_USER, call!(|w, c| {
            let user = c.user.clone().unwrap_or_else(|| w.user(Who::Owner).clone());
            got(w.core.users().update_user(c.req(pb::UpdateUserRequest {
                user: Some(user), update_mask: mask(&["name"]), ..Default::default()
            })).await)
        })),
        row("UserService/UpdateUser", "own role -> admin", ADMIN_ONLY, call!(|w, c| {
            let mut user = c.user.clone().unwrap_or_else(|| w.user(Who::Owner).clone());
            user.role = pb::UserRole::Admin as i32;
            got(w.core.users().update_user(c.req(pb::UpdateUserRequest {
                user: Some(user), update_mask: mask(&["role"]), ..Default::default()
            })).await)
        })),
        row("UserService/UpdateUser", "a co-member's name (colleague)", [UNAUTH, NOT_FOUND, DENIED, DENIED, DENIED, OK], call!(|w, c| {
            got(w.core.users().update_user(c.req(pb::UpdateUserRequest {
                user: Some(w.colleague.clone()), update_mask: mask(&["name"]), ..Default::default()
            })).await)
        })),

        // --- ProjectService: members read, owners manage, outsiders get NOT_FOUND.
        row("ProjectService/CreateProject", "", ANY_USER, call!(|w, c| {
            got(w.core.projects().create_project(c.req(pb::CreateProjectRequest {
                slug: unique("created"), name: "Created".into(), description: String::new(),
            })).await)
        })),
        row("ProjectService/GetProject", "by id", PROJECT_READ, call!(|w, c| {
            got(w.core.projects().get_project(c.req(pb::GetProjectRequest {
                id: w.project.id.clone(), slug: String::new(),
            })).await)
        })),
        row("ProjectService/GetProject", "by slug", PROJECT_READ, call!(|w, c| {
            got(w.core.projects().get_project(c.req(pb::GetProjectRequest {
                id: String::new(), slug: w.project.slug.clone(),
            })).await)
        })),
        row("ProjectService/BatchGetProjects", "", LIST_VISIBLE_TO_MEMBERS, call!(|w, c| {
            let id = w.project.id.clone();
            seen(w.core.projects().batch_get_projects(c.req(pb::BatchGetProjectsRequest { ids: vec![id.clone()] })).await,
                |r| r.projects.iter().any(|p| p.id == id))
        })),
        row("ProjectService/ListProjects", "", LIST_VISIBLE_TO_MEMBERS, call!(|w, c| {
            let id = w.project.id.clone();
            seen(w.core.projects().list_projects(c.req(pb::ListProjectsRequest { filter: id_filter(&id), ..Default::default() })).await,
                |r| r.projects.iter().any(|p| p.id == id))
        })),
        row("ProjectService/UpdateProject", "name (unchanged)", MANAGE, call!(|w, c| {
            got(w.core.projects().update_project(c.req(pb::UpdateProjectRequest {
                project: Some(w.project.clone()), update_mask: mask(&["name"]), etag: String::new(),
            })).await)
        })),
        row("ProjectService/ArchiveProject", "fresh project", MANAGE, call!(|w, c| {
            let f = w.fresh_project().await;
            got(w.core.projects().archive_project(c.req(pb::ArchiveProjectRequest {
                id: f.project.id.clone(), etag: String::new(),
            })).await)
        })),
        row("ProjectService/UnarchiveProject", "fresh archived project", MANAGE, call!(|w, c| {
            let f = w.fresh_archived_project().await;
            got(w.core.projects().unarchive_project(c.req(pb::UnarchiveProjectRequest {
                id: f.project.id.clone(), etag: String::new(),
            })).await)
        })),
        row("ProjectService/DeleteProject", "fresh project", MANAGE, call!(|w, c| {
            let f = w.fresh_project().await;
            got(w.core.projects().delete_project(c.req(pb::DeleteProjectRequest {
                id: f.project.id.clone(), etag: String::new(),
            })).await)
        })),

        // --- MemberService: members read, owners manage, anyone may leave.
        row("MemberService/AddMember", "the recruit, to a fresh project", MANAGE, call!(|w, c| {
            let f = w.fresh_project().await;
            got(w.core.members().add_member(c.req(pb::AddMemberRequest {
                project_id: f.project.id.clone(), user_id: w.recruit.id.clone(), email: String::new(),
                role: pb::MemberRole::Viewer as i32,
            })).await)
        })),
        row("MemberService/GetMember", "the viewer's membership", PROJECT_READ, call!(|w, c| {
            got(w.core.members().get_member(c.req(pb::GetMemberRequest { id: w.viewer_member.id.clone() })).await)
        })),
        row("MemberService/ListMembers", "of the project", PROJECT_READ, call!(|w, c| {
            let id = w.viewer_member.id.clone();
            seen(w.core.members().list_members(c.req(pb::ListMembersRequest {
                project_id: w.project.id.clone(), page_size: 1000, ..Default::default()
            })).await, |r| r.members.iter().any(|m| m.id == id))
        })),
        row("MemberService/ListMembers", "all visible", LIST_VISIBLE_TO_MEMBERS, call!(|w, c| {
            let id = w.viewer_member.id.clone();
            seen(w.core.members().list_members(c.req(pb::ListMembersRequest {
                filter: id_filter(&id), ..Default::default()
            })).await, |r| r.members.iter().any(|m| m.id == id))
        })),
        row("MemberService/UpdateMember", "the colleague -> editor, fresh project", MANAGE, call!(|w, c| {
            let f = w.fresh_project().await;
            let id = f.member_of(&w.colleague.id).id.clone();
            got(w.core.members().update_member(c.req(pb::UpdateMemberRequest {
                id, role: pb::MemberRole::Editor as i32, etag: String::new(),
            })).await)
        })),
        // Self-promotion needs the owner role like any other role change (owner: a no-op).
        row("MemberService/UpdateMember", "own role -> owner, fresh project", [UNAUTH, NA, DENIED, DENIED, OK, NA], call!(|w, c| {
            let f = w.fresh_project().await;
            let id = f.member_of(c.user_id().unwrap_or(w.user(Who::Viewer).id.as_str())).id.clone();
            got(w.core.members().update_member(c.req(pb::UpdateMemberRequest {
                id, role: pb::MemberRole::Owner as i32, etag: String::new(),
            })).await)
        })),
        row("MemberService/RemoveMember", "the colleague, fresh project", MANAGE, call!(|w, c| {
            let f = w.fresh_project().await;
            let id = f.member_of(&w.colleague.id).id.clone();
            got(w.core.members().remove_member(c.req(pb::RemoveMemberRequest { id, etag: String::new() })).await)
        })),
        // Any member may leave, but the last owner may not.
        row("MemberService/RemoveMember", "own membership (leave), fresh project",
            [UNAUTH, NA, OK, OK, precondition("LAST_OWNER"), NA], call!(|w, c| {
            let f = w.fresh_project().await;
            let id = f.member_of(c.user_id().unwrap_or(w.user(Who::Viewer).id.as_str())).id.clone();
            got(w.core.members().remove_member(c.req(pb::RemoveMemberRequest { id, etag: String::new() })).await)
        })),

        // --- ConfigService: members read, editors and owners write.
        row("ConfigService/SetConfig", "", CONFIG_WRITE, call!(|w, c| {
            got(w.core.configs().set_config(c.req(pb::SetConfigRequest {
                project_id: w.project.id.clone(), key: "matrix.set".into(),
                value: Some(value(serde_json::json!(c.who.name()))), ..Default::default()
            })).await)
        })),
        row("ConfigService/GetConfig", "by id", PROJECT_READ, call!(|w, c| {
            got(w.core.configs().get_config(c.req(pb::GetConfigRequest {
                id: w.config.id.clone(), ..Default::default()
            })).await)
        })),
        row("ConfigService/GetConfig", "by project and key", PROJECT_READ, call!(|w, c| {
            got(w.core.configs().get_config(c.req(pb::GetConfigRequest {
                id: String::new(), project_id: w.project.id.clone(), key: w.config.key.clone(),
            })).await)
        })),
        // Settings are configs without a project: the config API must not reach them.
        row("ConfigService/GetConfig", "a setting's id", [UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND], call!(|w, c| {
            got(w.core.configs().get_config(c.req(pb::GetConfigRequest {
                id: w.setting_id.clone(), ..Default::default()
            })).await)
        })),
        row("ConfigService/ListConfigs", "of the project", PROJECT_READ, call!(|w, c| {
            let id = w.config.id.clone();
            seen(w.core.configs().list_configs(c.req(pb::ListConfigsRequest {
                project_id: w.project.id.clone(), filter: id_filter(&id), ..Default::default()
            })).await, |r| r.configs.iter().any(|x| x.id == id))
        })),
        row("ConfigService/ListConfigs", "all visible", LIST_VISIBLE_TO_MEMBERS, call!(|w, c| {
            let id = w.config.id.clone();
            seen(w.core.configs().list_configs(c.req(pb::ListConfigsRequest {
                filter: id_filter(&id), ..Default::default()
            })).await, |r| r.configs.iter().any(|x| x.id == id))
        })),
        row("ConfigService/DeleteConfig", "fresh config", CONFIG_WRITE, call!(|w, c| {
            let config = w.fresh_config().await;
            got(w.core.configs().delete_config(c.req(pb::DeleteConfigRequest { id: config.id, etag: String::new() })).await)
        })),
        row("ConfigService/RollbackConfig", "to version 1", CONFIG_WRITE, call!(|w, c| {
            got(w.core.configs().rollback_config(c.req(pb::RollbackConfigRequest {
                id: w.config.id.clone(), version: 1, etag: String::new(),
            })).await)
        })),
        row("ConfigService/ImportConfigs", "", CONFIG_WRITE, call!(|w, c| {
            got(w.core.configs().import_configs(c.req(pb::ImportConfigsRequest {
                project_id: w.project.id.clone(),
                entries: vec![pb::import_configs_request::Entry {
                    key: "matrix.imported".into(), value: Some(value(serde_json::json!(1))), description: String::new(),
                }],
            })).await)
        })),
        row("ConfigService/GetEffectiveConfig", "", PROJECT_READ, call!(|w, c| {
            got(w.core.configs().get_effective_config(c.req(pb::GetEffectiveConfigRequest {
                project_id: w.project.id.clone(),
            })).await)
        })),
        row("ConfigService/ListConfigRevisions", "of the config", PROJECT_READ, call!(|w, c| {
            let id = w.revision.id.clone();
            seen(w.core.configs().list_config_revisions(c.req(pb::ListConfigRevisionsRequest {
                config_id: w.config.id.clone(), page_size: 1000, ..Default::default()
            })).await, |r| r.revisions.iter().any(|x| x.id == id))
        })),
        row("ConfigService/ListConfigRevisions", "of the project", PROJECT_READ, call!(|w, c| {
            let id = w.revision.id.clone();
            seen(w.core.configs().list_config_revisions(c.req(pb::ListConfigRevisionsRequest {
                project_id: w.project.id.clone(), filter: id_filter(&id), ..Default::default()
            })).await, |r| r.revisions.iter().any(|x| x.id == id))
        })),
        row("ConfigService/ListConfigRevisions", "all visible", LIST_VISIBLE_TO_MEMBERS, call!(|w, c| {
            let id = w.revision.id.clone();
            seen(w.core.configs().list_config_revisions(c.req(pb::ListConfigRevisionsRequest {
                filter: id_filter(&id), ..Default::default()
            })).await, |r| r.revisions.iter().any(|x| x.id == id))
        })),
        row("ConfigService/GetConfigRevision", "", PROJECT_READ, call!(|w, c| {
            got(w.core.configs().get_config_revision(c.req(pb::GetConfigRevisionRequest {
                id: w.revision.id.clone(),
            })).await)
        })),

        // --- SettingService: any authenticated user reads, admins write.
        row("SettingService/GetSetting", "", ANY_USER, call!(|w, c| {
            got(w.core.settings().get_setting(c.req(pb::GetSettingRequest { key: w.setting_key.clone() })).await)
        })),
        // ... and the settings API must not reach project configs.
        row("SettingService/GetSetting", "a project config's id", [UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND], call!(|w, c| {
            got(w.core.settings().get_setting(c.req(pb::GetSettingRequest { key: w.config.id.clone() })).await)
        })),
        row("SettingService/ListSettings", "", ANY_USER, call!(|w, c| {
            let key = w.setting_key.clone();
            seen(w.core.settings().list_settings(c.req(pb::ListSettingsRequest {
                filter: format!("key = \"{key}\""), ..Default::default()
            })).await, |r| r.settings.iter().any(|s| s.key == key))
        })),
        row("SettingService/SetSetting", "", ADMIN_ONLY, call!(|w, c| {
            got(w.core.settings().set_setting(c.req(pb::SetSettingRequest {
                key: w.setting_key.clone(), value: Some(value(serde_json::json!(true))), ..Default::default()
            })).await)
        })),
        row("SettingService/DeleteSetting", "fresh setting", ADMIN_ONLY, call!(|w, c| {
            let key = w.fresh_setting().await;
            got(w.core.settings().delete_setting(c.req(pb::DeleteSettingRequest { key, etag: String::new() })).await)
        })),
        row("SettingService/DeleteSetting", "a project config's id", [UNAUTH, DENIED, DENIED, DENIED, DENIED, NOT_FOUND], call!(|w, c| {
            got(w.core.settings().delete_setting(c.req(pb::DeleteSettingRequest {
                key: w.config.id.clone(), etag: String::new(),
            })).await)
        })),

        // --- EventService: a project's events are read like the project; user channels are private.
        row("EventService/ListEvents", "the project's channel", LIST_VISIBLE_TO_MEMBERS, call!(|w, c| {
            let id = w.project_event.clone();
            seen(w.core.events().list_events(c.req(pb::ListEventsRequest {
                filter: format!("channel = \"project:{}\"", w.project.id), page_size: 1000, ..Default::default()
            })).await, |r| r.events.iter().any(|e| e.id == id))
        })),
        row("EventService/GetEvent", "project.created of the project", PROJECT_READ, call!(|w, c| {
            got(w.core.events().get_event(c.req(pb::GetEventRequest { id: w.project_event.clone() })).await)
        })),
        row("EventService/GetEvent", "user.created of the stranger", [UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, NOT_FOUND, OK], call!(|w, c| {
            got(w.core.events().get_event(c.req(pb::GetEventRequest { id: w.stranger_event.clone() })).await)
        })),
        // Subscribe answers the access check before streaming; a granted stream starts with `ready`.
        row("EventService/Subscribe", "the project's channel", PROJECT_READ, call!(|w, c| {
            subscribed(w, c, format!("project:{}", w.project.id)).await
        })),
        row("EventService/Subscribe", "the admin channel", ADMIN_ONLY, call!(|w, c| {
            subscribed(w, c, "admin".into()).await
        })),
        row("EventService/Subscribe", "the stranger's user channel", [UNAUTH, DENIED, DENIED, DENIED, DENIED, OK], call!(|w, c| {
            subscribed(w, c, format!("user:{}", w.stranger.id)).await
        })),
        row("EventService/Subscribe", "the system channel", ANY_USER, call!(|w, c| {
            subscribed(w, c, "system".into()).await
        })),
        row("EventService/CheckSubscription", "the project's channel", PROJECT_READ, call!(|w, c| {
            got(w.core.events().check_subscription(c.req(pb::CheckSubscriptionRequest {
                channels: vec![format!("project:{}", w.project.id)],
                after_seq: None,
            })).await)
        })),
        row("EventService/CheckSubscription", "the admin channel", ADMIN_ONLY, call!(|w, c| {
            got(w.core.events().check_subscription(c.req(pb::CheckSubscriptionRequest { channels: vec!["admin".into()], after_seq: None })).await)
        })),

        // --- Exports and tasks: exporting is an owner's job; a task is seen by its creator, the
        // project's owners and admins, and is NOT_FOUND for everyone else.
        row("ProjectService/ExportProject", "the project", MANAGE, call!(|w, c| {
            got(w.core.projects().export_project(c.req(pb::ExportProjectRequest { id: w.project.id.clone() })).await)
        })),
        row("ProjectService/GetProjectExport", "the owner's export", OWNER_OR_ADMIN_ELSE_NOT_FOUND, call!(|w, c| {
            got(w.core.projects().get_project_export(c.req(pb::GetProjectExportRequest { task_id: w.export_task.id.clone() })).await)
        })),
        row("TaskService/GetTask", "the owner's export", OWNER_OR_ADMIN_ELSE_NOT_FOUND, call!(|w, c| {
            got(w.core.tasks().get_task(c.req(pb::GetTaskRequest { id: w.export_task.id.clone() })).await)
        })),
        row("TaskService/ListTasks", "the owner's export", [UNAUTH, HIDDEN, HIDDEN, HIDDEN, OK, OK], call!(|w, c| {
            let id = w.export_task.id.clone();
            seen(w.core.tasks().list_tasks(c.req(pb::ListTasksRequest { page_size: 1000, ..Default::default() })).await,
                |r| r.tasks.iter().any(|t| t.id == id))
        })),
        // The export succeeded: those who see it may ask, and are told it cannot be retried/cancelled.
        row("TaskService/RetryTask", "the owner's succeeded export",
            [UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, precondition("TASK_NOT_RETRYABLE"), precondition("TASK_NOT_RETRYABLE")],
            call!(|w, c| got(w.core.tasks().retry_task(c.req(pb::RetryTaskRequest { id: w.export_task.id.clone() })).await))),
        row("TaskService/CancelTask", "the owner's succeeded export",
            [UNAUTH, NOT_FOUND, NOT_FOUND, NOT_FOUND, precondition("TASK_NOT_CANCELLABLE"), precondition("TASK_NOT_CANCELLABLE")],
            call!(|w, c| got(w.core.tasks().cancel_task(c.req(pb::CancelTaskRequest { id: w.export_task.id.clone() })).await))),

        // --- Webhooks: owners only; non-members get NOT_FOUND.
        row("WebhookService/CreateWebhook", "on the project", MANAGE, call!(|w, c| {
            got(w.core.webhooks().create_webhook(c.req(pb::CreateWebhookRequest {
                project_id: w.project.id.clone(),
                webhook: Some(pb::Webhook { url: "http://127.0.0.1:9/x".into(), event_types: vec!["*".into()], ..Default::default() }),
            })).await)
        })),
        row("WebhookService/GetWebhook", "the project's", MANAGE, call!(|w, c| {
            got(w.core.webhooks().get_webhook(c.req(pb::GetWebhookRequest { id: w.webhook.id.clone() })).await)
        })),
        row("WebhookService/ListWebhooks", "of the project", MANAGE, call!(|w, c| {
            let id = w.webhook.id.clone();
            seen(w.core.webhooks().list_webhooks(c.req(pb::ListWebhooksRequest { project_id: w.project.id.clone(), ..Default::default() })).await,
                |r| r.webhooks.iter().any(|h| h.id == id))
        })),
        row("WebhookService/ListWebhooks", "without a project", [UNAUTH, HIDDEN, HIDDEN, HIDDEN, OK, OK], call!(|w, c| {
            let id = w.webhook.id.clone();
            seen(w.core.webhooks().list_webhooks(c.req(pb::ListWebhooksRequest { page_size: 1000, ..Default::default() })).await,
                |r| r.webhooks.iter().any(|h| h.id == id))
        })),
        row("WebhookService/UpdateWebhook", "the project's (same description)", MANAGE, call!(|w, c| {
            got(w.core.webhooks().update_webhook(c.req(pb::UpdateWebhookRequest {
                webhook: Some(pb::Webhook { id: w.webhook.id.clone(), ..Default::default() }),
                update_mask: mask(&["description"]),
                etag: String::new(),
            })).await)
        })),
        row("WebhookService/DeleteWebhook", "fresh webhook", MANAGE, call!(|w, c| {
            let hook = w.fresh_webhook().await;
            got(w.core.webhooks().delete_webhook(c.req(pb::DeleteWebhookRequest { id: hook.id, etag: String::new() })).await)
        })),
        row("WebhookService/ListWebhookDeliveries", "of the project's webhook", MANAGE, call!(|w, c| {
            got(w.core.webhooks().list_webhook_deliveries(c.req(pb::ListWebhookDeliveriesRequest {
                webhook_id: w.webhook.id.clone(), ..Default::default()
            })).await)
        })),
        row("WebhookService/GetWebhookDelivery", "of the project's webhook", MANAGE, call!(|w, c| {
            got(w.core.webhooks().get_webhook_delivery(c.req(pb::GetWebhookDeliveryRequest { id: w.delivery.id.clone() })).await)
        })),
    ]
}

// ------------------------------------------------------------------------------------------------
// The tests
// ------------------------------------------------------------------------------------------------

/// Every `Service/Method` of package `platform.v1`, from the compiled descriptor set.
fn contract_rpcs() -> BTreeSet<String> {
    let set = prost_types::FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
    set.file
        .iter()
        .filter(|f| f.package() == "platform.v1")
        .flat_map(|f| f.service.iter())
        .flat_map(|s| s.method.iter().map(move |m| format!("{}/{}", s.name(), m.name())))
        .collect()
}

#[test]
fn every_rpc_has_a_row() {
    let contract = contract_rpcs();
    assert!(contract.contains("AuthService/Login"), "the descriptor set lacks platform.v1: {contract:?}");
    let rows = table();
    let covered: BTreeSet<String> = rows.iter().map(|r| r.rpc.to_string()).collect();
    let missing: Vec<_> = contract.difference(&covered).collect();
    let extra: Vec<_> = covered.difference(&contract).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "the authorization table must have a row for every platform.v1 RPC and nothing else\n\
         missing rows (add them to table() in tests/tests/authz_matrix.rs): {missing:#?}\n\
         rows for RPCs not in the contract: {extra:#?}"
    );
    let mut seen = BTreeSet::new();
    for r in &rows {
        assert!(seen.insert((r.rpc, r.case)), "duplicate row {} ({})", r.rpc, r.case);
    }
}

struct Cell {
    rpc: &'static str,
    case: &'static str,
    who: Who,
    expect: Outcome,
    got: Got,
}

#[tokio::test]
async fn authorization_matrix() {
    let started = Instant::now();
    let world = World::build().await;
    let setup = started.elapsed();

    let rows = table();
    let mut cells = Vec::new();
    for row in &rows {
        for (who, expect) in CALLERS.into_iter().zip(row.expect) {
            if matches!(expect, Outcome::NotApplicable) {
                continue;
            }
            let got = (row.call)(&world, world.caller(who)).await;
            cells.push(Cell { rpc: row.rpc, case: row.case, who, expect, got });
        }
    }
    let elapsed = started.elapsed();

    let mismatches: Vec<&Cell> = cells.iter().filter(|c| !c.expect.matches(&c.got)).collect();
    println!("{}", render(&rows, &cells));
    println!(
        "{} rows, {} calls, {} mismatches; setup {setup:.1?}, total {elapsed:.1?}",
        rows.len(),
        cells.len(),
        mismatches.len()
    );
    if !mismatches.is_empty() {
        let mut out = String::new();
        let w = mismatches.iter().map(|c| label(c.rpc, c.case).len()).max().unwrap_or(0);
        writeln!(out, "{} of {} authorization outcomes differ from the table:\n", mismatches.len(), cells.len())
            .unwrap();
        writeln!(out, "{:w$}  {:10}  {:28}  {:28}  message", "rpc", "caller", "expected", "got").unwrap();
        for c in &mismatches {
            let message = match &c.got {
                Got::Fails { message, .. } => message.as_str(),
                _ => "",
            };
            writeln!(
                out,
                "{:w$}  {:10}  {:28}  {:28}  {message}",
                label(c.rpc, c.case),
                c.who.name(),
                c.expect.to_string(),
                c.got.to_string()
            )
            .unwrap();
        }
        panic!("{out}");
    }
    world.core.stop().await;
}

fn label(rpc: &str, case: &str) -> String {
    if case.is_empty() { rpc.to_string() } else { format!("{rpc} [{case}]") }
}

/// The whole matrix: one line per row, the outcome per caller, `!got (want expected)` marking a
/// mismatch.
fn render(rows: &[Row], cells: &[Cell]) -> String {
    let mut by_row: BTreeMap<(&str, &str), Vec<&Cell>> = BTreeMap::new();
    for c in cells {
        by_row.entry((c.rpc, c.case)).or_default().push(c);
    }
    let w = rows.iter().map(|r| label(r.rpc, r.case).len()).max().unwrap_or(0);
    let mut out = String::new();
    write!(out, "{:w$}", "rpc [case]").unwrap();
    for who in CALLERS {
        write!(out, "  {:18}", who.name()).unwrap();
    }
    out.push('\n');
    for r in rows {
        write!(out, "{:w$}", label(r.rpc, r.case)).unwrap();
        let row_cells = by_row.get(&(r.rpc, r.case)).map(Vec::as_slice).unwrap_or_default();
        for who in CALLERS {
            let cell = match row_cells.iter().find(|c| c.who == who) {
                None => "-".to_string(),
                Some(c) if c.expect.matches(&c.got) => c.expect.to_string(),
                Some(c) => format!("!{} (want {})", c.got, c.expect),
            };
            write!(out, "  {cell:18}").unwrap();
        }
        out.push('\n');
    }
    out
}
