//! Authentication behaviour of core-svc: login, refresh rotation and reuse detection, logout,
//! API tokens, disabled users, the last admin, password changes, sign-up and the login rate
//! limits (per email, per client address, shared by replicas).

use proto::Services as _;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use core_svc::redis::LoginLimits;
use serde_json::json;
use tests::{CoreOptions, TestCore, USER_PASSWORD, api as pb, authed, expect_code, spawn_core, spawn_core_with, value};
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

fn uniq() -> String {
    uuid::Uuid::now_v7().simple().to_string()[20..].to_string()
}

fn unique_email(name: &str) -> String {
    format!("{name}-{}@platform.test", uniq())
}

/// A client address no other test (or earlier run) uses.
fn unique_addr() -> String {
    std::net::Ipv6Addr::from(uuid::Uuid::now_v7().as_u128()).to_string()
}

fn secs_from_now(t: &prost_types::Timestamp) -> i64 {
    t.seconds - SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

fn tokens(r: &pb::LoginResponse) -> (String, String) {
    let t = r.tokens.as_ref().unwrap();
    (t.access_token.clone(), t.refresh_token.clone())
}

async fn me(core: &TestCore, token: &str) -> Result<pb::User, Status> {
    core.auth().get_me(authed(pb::GetMeRequest {}, token)).await.map(|r| r.into_inner().user.unwrap())
}

#[track_caller]
fn expect_unauth<T: std::fmt::Debug>(r: Result<T, Status>, reason: &str) -> Status {
    expect_code(r, Code::Unauthenticated, Some(reason))
}

/// Creates a user without logging in (a login would count against its rate limit).
async fn create_user(core: &TestCore, admin: &str, email: &str, role: pb::UserRole) -> pb::User {
    core.users()
        .create_user(authed(
            pb::CreateUserRequest {
                email: email.into(),
                name: "Someone".into(),
                password: USER_PASSWORD.into(),
                role: role as i32,
            },
            admin,
        ))
        .await
        .unwrap()
        .into_inner()
        .user
        .unwrap()
}

async fn login_from(core: &TestCore, email: &str, password: &str, addr: &str) -> Result<pb::LoginResponse, Status> {
    let mut req = Request::new(pb::LoginRequest { email: email.into(), password: password.into() });
    req.metadata_mut().insert("x-forwarded-for", addr.parse().unwrap());
    core.auth().login(req).await.map(|r| r.into_inner())
}

async fn refresh(core: &TestCore, refresh_token: &str) -> Result<pb::RefreshTokenResponse, Status> {
    core.auth()
        .refresh_token(pb::RefreshTokenRequest { refresh_token: refresh_token.into() })
        .await
        .map(|r| r.into_inner())
}

async fn set_status(core: &TestCore, admin: &str, user_id: &str, status: pb::UserStatus) -> Result<pb::User, Status> {
    core.users()
        .update_user(authed(
            pb::UpdateUserRequest {
                user: Some(pb::User { id: user_id.into(), status: status as i32, ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["status".into()] }),
                ..Default::default()
            },
            admin,
        ))
        .await
        .map(|r| r.into_inner().user.unwrap())
}

// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn login_success_and_uniform_failure() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let email = unique_email("login");
    let user = create_user(&core, &admin, &email, pb::UserRole::User).await;

    // Emails match case-insensitively and around whitespace.
    let r = core.login(&format!("  {}  ", email.to_uppercase()), USER_PASSWORD).await.unwrap();
    let t = r.tokens.as_ref().unwrap();
    assert_eq!(t.token_type, "Bearer");
    assert!(!t.access_token.is_empty() && !t.refresh_token.is_empty() && t.access_token != t.refresh_token);
    let access_ttl = secs_from_now(t.access_token_expire_time.as_ref().unwrap());
    assert!((14 * 60..=15 * 60).contains(&access_ttl), "access token lives 15 min: {access_ttl}s");
    let refresh_ttl = secs_from_now(t.refresh_token_expire_time.as_ref().unwrap());
    assert!((30 * 86400 - 60..=30 * 86400).contains(&refresh_ttl), "refresh token lives 30 days: {refresh_ttl}s");
    let logged_in = r.user.clone().unwrap();
    assert_eq!((logged_in.id.as_str(), logged_in.email.as_str()), (user.id.as_str(), email.as_str()));
    assert!(logged_in.last_login_time.is_some(), "the login is recorded on the returned user");

    let (access, _) = tokens(&r);
    let whoami = me(&core, &access).await.unwrap();
    assert_eq!(whoami.id, user.id);
    assert!(whoami.last_login_time.is_some());

    // Unknown email and wrong password are indistinguishable.
    let unknown = expect_unauth(core.login(&unique_email("nobody"), USER_PASSWORD).await, "INVALID_CREDENTIALS");
    let wrong = expect_unauth(core.login(&email, "wrong-password-123").await, "INVALID_CREDENTIALS");
    assert_eq!(unknown.message(), wrong.message());
    assert_eq!(
        unknown.get_error_details().error_info().unwrap().metadata,
        wrong.get_error_details().error_info().unwrap().metadata
    );
    expect_unauth(core.login(&email, &"x".repeat(10_000)).await, "INVALID_CREDENTIALS");

    let empty = expect_code(core.login("", "").await, Code::InvalidArgument, Some("INVALID_ARGUMENT"));
    let mut fields = tests::violation_fields(&empty);
    fields.sort();
    assert_eq!(fields, ["email", "password"]);

    // A bad bearer on GetMe.
    expect_unauth(me(&core, "not-a-token").await, "INVALID_TOKEN");
    expect_unauth(core.auth().get_me(pb::GetMeRequest {}).await, "MISSING_CREDENTIALS");
    core.stop().await;
}

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let email = unique_email("refresh");
    let user = create_user(&core, &admin, &email, pb::UserRole::User).await;
    let (a1, r1) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());
    // A second, independent session of the same user.
    let (other_access, other_refresh) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());

    // Rotation: new tokens, both work.
    let rotated = refresh(&core, &r1).await.unwrap();
    let t = rotated.tokens.as_ref().unwrap();
    let (a2, r2) = (t.access_token.clone(), t.refresh_token.clone());
    assert_ne!(r2, r1);
    assert_eq!(t.token_type, "Bearer");
    assert_eq!(rotated.user.unwrap().id, user.id);
    assert_eq!(me(&core, &a2).await.unwrap().id, user.id);
    assert_eq!(me(&core, &a1).await.unwrap().id, user.id, "rotation keeps the session's access tokens");

    // The rotated-out token used again: refused, and the whole family dies.
    expect_unauth(refresh(&core, &r1).await, "REFRESH_TOKEN_REUSED");
    expect_unauth(refresh(&core, &r2).await, "INVALID_REFRESH_TOKEN");
    expect_unauth(me(&core, &a2).await, "SESSION_REVOKED");
    expect_unauth(me(&core, &a1).await, "SESSION_REVOKED");
    expect_unauth(refresh(&core, &r1).await, "INVALID_REFRESH_TOKEN");

    // Other sessions are untouched.
    assert_eq!(me(&core, &other_access).await.unwrap().id, user.id);
    let other = refresh(&core, &other_refresh).await.unwrap();
    assert_eq!(me(&core, &other.tokens.unwrap().access_token).await.unwrap().id, user.id);

    // Garbage and empty tokens.
    expect_unauth(refresh(&core, "psr_0000").await, "INVALID_REFRESH_TOKEN");
    expect_unauth(refresh(&core, &a2).await, "INVALID_REFRESH_TOKEN");
    expect_code(refresh(&core, "").await, Code::InvalidArgument, Some("INVALID_ARGUMENT"));

    // Refresh is not available to a disabled user.
    let (_, r3) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());
    set_status(&core, &admin, &user.id, pb::UserStatus::Disabled).await.unwrap();
    expect_unauth(refresh(&core, &r3).await, "USER_DISABLED");
    core.stop().await;
}

#[tokio::test]
async fn logout_revokes_the_session() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let email = unique_email("logout");
    let user = create_user(&core, &admin, &email, pb::UserRole::User).await;
    let (a1, r1) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());
    let (a2, r2) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());
    let (a3, _) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());

    // With the access token only: that session ends.
    core.auth().logout(authed(pb::LogoutRequest { refresh_token: String::new() }, &a1)).await.unwrap();
    expect_unauth(me(&core, &a1).await, "SESSION_REVOKED");
    expect_unauth(refresh(&core, &r1).await, "INVALID_REFRESH_TOKEN");
    assert_eq!(me(&core, &a2).await.unwrap().id, user.id, "other sessions go on");

    // Anonymously, with the refresh token: that session ends.
    core.auth().logout(pb::LogoutRequest { refresh_token: r2.clone() }).await.unwrap();
    expect_unauth(me(&core, &a2).await, "SESSION_REVOKED");
    expect_unauth(refresh(&core, &r2).await, "INVALID_REFRESH_TOKEN");
    assert_eq!(me(&core, &a3).await.unwrap().id, user.id);

    // Neither credential; an unknown refresh token; someone else's refresh token.
    expect_unauth(core.auth().logout(pb::LogoutRequest { refresh_token: String::new() }).await, "MISSING_CREDENTIALS");
    expect_unauth(
        core.auth().logout(pb::LogoutRequest { refresh_token: "psr_nope".into() }).await,
        "INVALID_REFRESH_TOKEN",
    );
    let (_, other_refresh) = tokens(&core.login(&core.admin_email, tests::ADMIN_PASSWORD).await.unwrap());
    expect_unauth(
        core.auth().logout(authed(pb::LogoutRequest { refresh_token: other_refresh.clone() }, &a3)).await,
        "INVALID_REFRESH_TOKEN",
    );
    assert!(refresh(&core, &other_refresh).await.is_ok(), "a user cannot end someone else's session");
    core.stop().await;
}

#[tokio::test]
async fn api_tokens_act_as_their_user_until_revoked_or_expired() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (user, user_token) = core.user(&admin, "tooling").await;
    let (_, stranger_token) = core.user(&admin, "stranger").await;

    let created = core
        .auth()
        .create_api_token(authed(pb::CreateApiTokenRequest { name: "ci".into(), expire_time: None }, &user_token))
        .await
        .unwrap()
        .into_inner();
    let secret = created.token.clone();
    let t = created.api_token.unwrap();
    assert_eq!((t.user_id.as_str(), t.name.as_str()), (user.id.as_str(), "ci"));
    assert!(secret.starts_with(&t.prefix) && t.prefix.len() < secret.len() / 2, "{} / {secret}", t.prefix);
    assert!(t.create_time.is_some() && t.expire_time.is_none() && t.revoke_time.is_none());

    // It works as a bearer, as its user.
    assert_eq!(me(&core, &secret).await.unwrap().id, user.id);
    let p = core.project(&secret, "apitok").await;
    assert_eq!(p.owner_id, user.id);

    // Listing and getting never shows the secret.
    let list = core
        .auth()
        .list_api_tokens(authed(pb::ListApiTokensRequest::default(), &user_token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.api_tokens.len(), 1);
    assert_eq!(list.api_tokens[0].id, t.id);
    assert!(list.api_tokens[0].last_use_time.is_some(), "use is recorded");
    assert!(!format!("{list:?}").contains(&secret[t.prefix.len()..]), "the secret is never listed");
    let got =
        core.auth().get_api_token(authed(pb::GetApiTokenRequest { id: t.id.clone() }, &user_token)).await.unwrap();
    assert!(!format!("{got:?}").contains(&secret[t.prefix.len()..]));
    let theirs = core
        .auth()
        .list_api_tokens(authed(pb::ListApiTokensRequest::default(), &stranger_token))
        .await
        .unwrap()
        .into_inner();
    assert!(theirs.api_tokens.is_empty(), "users see only their own tokens");
    expect_code(
        core.auth().get_api_token(authed(pb::GetApiTokenRequest { id: t.id.clone() }, &stranger_token)).await,
        Code::NotFound,
        Some("NOT_FOUND"),
    );
    expect_code(
        core.auth().revoke_api_token(authed(pb::RevokeApiTokenRequest { id: t.id.clone() }, &stranger_token)).await,
        Code::NotFound,
        Some("NOT_FOUND"),
    );
    let all =
        core.auth().list_api_tokens(authed(pb::ListApiTokensRequest::default(), &admin)).await.unwrap().into_inner();
    assert_eq!(all.total_size, 1, "admins see everyone's");

    // An API token has no session to log out of.
    expect_code(
        core.auth().logout(authed(pb::LogoutRequest::default(), &secret)).await,
        Code::InvalidArgument,
        Some("INVALID_ARGUMENT"),
    );

    // Revoked: stops working at once.
    let revoked = core
        .auth()
        .revoke_api_token(authed(pb::RevokeApiTokenRequest { id: t.id.clone() }, &user_token))
        .await
        .unwrap()
        .into_inner()
        .api_token
        .unwrap();
    assert!(revoked.revoke_time.is_some());
    expect_unauth(me(&core, &secret).await, "INVALID_TOKEN");
    let filtered = core
        .auth()
        .list_api_tokens(authed(
            pb::ListApiTokensRequest { filter: "revoked = true".into(), ..Default::default() },
            &user_token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(filtered.api_tokens.len(), 1);

    // Expiry: a past expiry is refused at creation; a token whose expiry passes stops working.
    let past = prost_types::Timestamp { seconds: 1_000_000_000, nanos: 0 };
    let bad = core
        .auth()
        .create_api_token(authed(
            pb::CreateApiTokenRequest { name: "old".into(), expire_time: Some(past) },
            &user_token,
        ))
        .await;
    assert_eq!(tests::violation_fields(&expect_code(bad, Code::InvalidArgument, None)), ["expire_time"]);
    let bad = core
        .auth()
        .create_api_token(authed(pb::CreateApiTokenRequest { name: " ".into(), expire_time: None }, &user_token))
        .await;
    assert_eq!(tests::violation_fields(&expect_code(bad, Code::InvalidArgument, None)), ["name"]);
    // Expires in two seconds; used (and so cached) before, refused after: the cache keeps the
    // expiry and checks it.
    let soon = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 + 2;
    let soon = prost_types::Timestamp { seconds: soon, nanos: 0 };
    let expiring = core
        .auth()
        .create_api_token(authed(
            pb::CreateApiTokenRequest { name: "short".into(), expire_time: Some(soon) },
            &user_token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(expiring.api_token.as_ref().unwrap().expire_time.as_ref().unwrap().seconds, soon.seconds);
    assert_eq!(me(&core, &expiring.token).await.unwrap().id, user.id);
    while SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64 <= soon.seconds {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    expect_unauth(me(&core, &expiring.token).await, "INVALID_TOKEN");

    // Unknown ids.
    let missing = uuid::Uuid::now_v7().to_string();
    expect_code(
        core.auth().get_api_token(authed(pb::GetApiTokenRequest { id: missing }, &user_token)).await,
        Code::NotFound,
        None,
    );
    expect_code(
        core.auth().revoke_api_token(authed(pb::RevokeApiTokenRequest { id: "x".into() }, &user_token)).await,
        Code::InvalidArgument,
        None,
    );
    core.stop().await;
}

#[tokio::test]
async fn a_disabled_user_is_locked_out_at_the_next_request() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let email = unique_email("disabled");
    let user = create_user(&core, &admin, &email, pb::UserRole::User).await;
    let (access, _) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());
    let api = core
        .auth()
        .create_api_token(authed(pb::CreateApiTokenRequest { name: "t".into(), expire_time: None }, &access))
        .await
        .unwrap()
        .into_inner()
        .token;
    assert!(me(&core, &access).await.is_ok() && me(&core, &api).await.is_ok());

    let disabled = set_status(&core, &admin, &user.id, pb::UserStatus::Disabled).await.unwrap();
    assert_eq!(disabled.status, pb::UserStatus::Disabled as i32);
    expect_unauth(me(&core, &access).await, "USER_DISABLED");
    expect_unauth(me(&core, &api).await, "USER_DISABLED");
    expect_unauth(
        core.projects().list_projects(authed(pb::ListProjectsRequest::default(), &api)).await,
        "USER_DISABLED",
    );
    expect_unauth(core.login(&email, USER_PASSWORD).await, "USER_DISABLED");

    // Enabled again: the same credentials work again.
    set_status(&core, &admin, &user.id, pb::UserStatus::Active).await.unwrap();
    assert_eq!(me(&core, &access).await.unwrap().id, user.id);
    assert_eq!(me(&core, &api).await.unwrap().id, user.id);
    assert!(core.login(&email, USER_PASSWORD).await.is_ok());
    core.stop().await;
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_disabled_or_demoted() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let me_admin = me(&core, &admin).await.unwrap();
    let demote = |id: &str, token: &str| {
        authed(
            pb::UpdateUserRequest {
                user: Some(pb::User { id: id.into(), role: pb::UserRole::User as i32, ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["role".into()] }),
                ..Default::default()
            },
            token,
        )
    };

    expect_code(
        set_status(&core, &admin, &me_admin.id, pb::UserStatus::Disabled).await,
        Code::FailedPrecondition,
        Some("LAST_ADMIN"),
    );
    expect_code(
        core.users().update_user(demote(&me_admin.id, &admin)).await,
        Code::FailedPrecondition,
        Some("LAST_ADMIN"),
    );
    assert_eq!(me(&core, &admin).await.unwrap().role, pb::UserRole::Admin as i32);

    // A second admin, disabled, does not count.
    let email = unique_email("admin2");
    let second = create_user(&core, &admin, &email, pb::UserRole::Admin).await;
    set_status(&core, &admin, &second.id, pb::UserStatus::Disabled).await.unwrap();
    expect_code(
        core.users().update_user(demote(&me_admin.id, &admin)).await,
        Code::FailedPrecondition,
        Some("LAST_ADMIN"),
    );

    // Active, it does: the first admin may step down, and then the second is the last one.
    set_status(&core, &admin, &second.id, pb::UserStatus::Active).await.unwrap();
    let demoted = core.users().update_user(demote(&me_admin.id, &admin)).await.unwrap().into_inner().user.unwrap();
    assert_eq!(demoted.role, pb::UserRole::User as i32);
    let second_token = tests::access_token(&core.login(&email, USER_PASSWORD).await.unwrap());
    expect_code(
        set_status(&core, &second_token, &second.id, pb::UserStatus::Disabled).await,
        Code::FailedPrecondition,
        Some("LAST_ADMIN"),
    );
    // The demoted admin lost admin rights at once, with the same token (the role is read on
    // every call, not trusted from the JWT).
    expect_code(
        core.settings()
            .set_setting(authed(
                pb::SetSettingRequest { key: "ui.theme".into(), value: Some(value(json!("x"))), ..Default::default() },
                &admin,
            ))
            .await,
        Code::PermissionDenied,
        None,
    );
    core.stop().await;
}

#[tokio::test]
async fn changing_the_password_revokes_other_sessions() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let email = unique_email("pw");
    let user = create_user(&core, &admin, &email, pb::UserRole::User).await;
    let (a1, _) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());
    let (a2, r2) = tokens(&core.login(&email, USER_PASSWORD).await.unwrap());
    let change = |current: &str, new: &str| {
        authed(pb::ChangePasswordRequest { current_password: current.into(), new_password: new.into() }, &a1)
    };

    let wrong = expect_code(
        core.auth().change_password(change("not-my-password", "new-password-123")).await,
        Code::InvalidArgument,
        None,
    );
    assert_eq!(tests::violation_fields(&wrong), ["current_password"]);
    let short =
        expect_code(core.auth().change_password(change(USER_PASSWORD, "short")).await, Code::InvalidArgument, None);
    assert_eq!(tests::violation_fields(&short), ["new_password"]);
    assert!(me(&core, &a2).await.is_ok(), "failed changes revoke nothing");

    core.auth().change_password(change(USER_PASSWORD, "new-password-123")).await.unwrap();
    assert_eq!(me(&core, &a1).await.unwrap().id, user.id, "the calling session goes on");
    expect_unauth(me(&core, &a2).await, "SESSION_REVOKED");
    expect_unauth(refresh(&core, &r2).await, "INVALID_REFRESH_TOKEN");
    expect_unauth(core.login(&email, USER_PASSWORD).await, "INVALID_CREDENTIALS");
    let (a3, _) = tokens(&core.login(&email, "new-password-123").await.unwrap());

    // An admin reset revokes every session of the user.
    core.users()
        .update_user(authed(
            pb::UpdateUserRequest {
                user: Some(pb::User { id: user.id.clone(), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["password".into()] }),
                password: "reset-password-123".into(),
                etag: String::new(),
            },
            &admin,
        ))
        .await
        .unwrap();
    expect_unauth(me(&core, &a1).await, "SESSION_REVOKED");
    expect_unauth(me(&core, &a3).await, "SESSION_REVOKED");
    assert!(core.login(&email, "reset-password-123").await.is_ok());
    core.stop().await;
}

#[tokio::test]
async fn sign_up_is_off_until_the_setting_turns_it_on() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let email = unique_email("signup");
    let sign_up = async |email: &str, password: &str| {
        core.auth()
            .sign_up(pb::SignUpRequest { email: email.into(), name: "New".into(), password: password.into() })
            .await
    };

    expect_code(sign_up(&email, USER_PASSWORD).await, Code::FailedPrecondition, Some("SIGNUP_DISABLED"));
    let set = |on: bool| {
        authed(
            pb::SetSettingRequest {
                key: "auth.signup_enabled".into(),
                value: Some(value(json!(on))),
                ..Default::default()
            },
            &admin,
        )
    };
    core.settings().set_setting(set(false)).await.unwrap();
    expect_code(sign_up(&email, USER_PASSWORD).await, Code::FailedPrecondition, Some("SIGNUP_DISABLED"));

    core.settings().set_setting(set(true)).await.unwrap();
    let user = sign_up(&email, USER_PASSWORD).await.unwrap().into_inner().user.unwrap();
    assert_eq!((user.email.as_str(), user.name.as_str()), (email.as_str(), "New"));
    assert_eq!((user.role, user.status), (pb::UserRole::User as i32, pb::UserStatus::Active as i32), "never an admin");
    let token = tests::access_token(&core.login(&email, USER_PASSWORD).await.unwrap());
    assert_eq!(me(&core, &token).await.unwrap().id, user.id);
    let mut db = core.db().await;
    let events: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE type = 'user.created' AND resource_id = $1")
            .bind(&user.id)
            .fetch_one(&mut db)
            .await
            .unwrap();
    assert_eq!(events, 1);

    expect_code(sign_up(&email.to_uppercase(), USER_PASSWORD).await, Code::AlreadyExists, Some("EMAIL_TAKEN"));
    let bad = expect_code(sign_up("nope", "short").await, Code::InvalidArgument, None);
    let mut fields = tests::violation_fields(&bad);
    fields.sort();
    assert_eq!(fields, ["email", "password"]);

    // Deleting the setting falls back to the default: off.
    core.settings()
        .delete_setting(authed(
            pb::DeleteSettingRequest { key: "auth.signup_enabled".into(), etag: String::new() },
            &admin,
        ))
        .await
        .unwrap();
    expect_code(sign_up(&unique_email("late"), USER_PASSWORD).await, Code::FailedPrecondition, Some("SIGNUP_DISABLED"));
    core.stop().await;
}

// ---------------------------------------------------------------------------------------------
// Login rate limits (Redis, shared by every replica)

fn limits(per_email: u32, per_addr: u32) -> LoginLimits {
    LoginLimits { per_email, per_addr, window: Duration::from_secs(60) }
}

#[track_caller]
fn expect_rate_limited<T: std::fmt::Debug>(r: Result<T, Status>) {
    let status = expect_code(r, Code::ResourceExhausted, Some("RATE_LIMITED"));
    let delay = status.get_error_details().retry_info().and_then(|r| r.retry_delay).expect("RetryInfo with a delay");
    assert!(delay > Duration::ZERO && delay <= Duration::from_secs(60), "retry after {delay:?}");
}

#[tokio::test]
async fn login_is_rate_limited_per_email() {
    // The admin logs in through a core with the default (lax) limits; the limited core serves
    // the same database.
    let setup = spawn_core().await;
    let admin = setup.admin_token().await;
    let email = unique_email("limited");
    create_user(&setup, &admin, &email, pb::UserRole::User).await;
    let core = spawn_core_with(CoreOptions {
        login_limits: limits(3, 1000),
        database_url: Some(setup.database_url.clone()),
        ..Default::default()
    })
    .await;
    let addr = unique_addr();

    for _ in 0..3 {
        expect_unauth(login_from(&core, &email, "wrong-password-1", &addr).await, "INVALID_CREDENTIALS");
    }
    // The 4th attempt is refused before the password is checked, even the right one, and
    // whatever the case of the email.
    expect_rate_limited(login_from(&core, &email, USER_PASSWORD, &addr).await);
    expect_rate_limited(login_from(&core, &email.to_uppercase(), USER_PASSWORD, &unique_addr()).await);

    // Another email from the same address is not affected.
    let other = unique_email("unaffected");
    expect_unauth(login_from(&core, &other, USER_PASSWORD, &addr).await, "INVALID_CREDENTIALS");
    core.stop().await;
    setup.stop().await;
}

#[tokio::test]
async fn login_is_rate_limited_per_client_address() {
    let setup = spawn_core().await;
    let admin = setup.admin_token().await;
    let email = unique_email("addr");
    create_user(&setup, &admin, &email, pb::UserRole::User).await;
    let core = spawn_core_with(CoreOptions {
        login_limits: limits(1000, 3),
        database_url: Some(setup.database_url.clone()),
        ..Default::default()
    })
    .await;
    let addr = unique_addr();

    // Three different emails from one address use up its budget.
    for _ in 0..3 {
        expect_unauth(login_from(&core, &unique_email("spray"), "some-password-1", &addr).await, "INVALID_CREDENTIALS");
    }
    expect_rate_limited(login_from(&core, &email, USER_PASSWORD, &addr).await);
    // The first address of a forwarded-for list is the client.
    let listed = format!("{addr}, 10.0.0.1");
    let mut req = Request::new(pb::LoginRequest { email: email.clone(), password: USER_PASSWORD.into() });
    req.metadata_mut().insert("x-forwarded-for", listed.parse().unwrap());
    expect_rate_limited(core.auth().login(req).await);
    // The same user from another address logs in.
    assert!(login_from(&core, &email, USER_PASSWORD, &unique_addr()).await.is_ok());
    core.stop().await;
    setup.stop().await;
}

/// A caller that reaches the gRPC port directly (not a trusted edge) cannot choose the address
/// its attempts count against: its `x-forwarded-for` is ignored and its socket's peer counts.
#[tokio::test]
async fn forwarded_addresses_count_only_from_trusted_peers() {
    // Every test logs in from 127.0.0.1; a Redis database of its own keeps this test's count of
    // that address apart from theirs.
    let redis_url = format!("{}/9", std::env::var("REDIS_URL").unwrap().trim_end_matches('/'));
    let client = ::redis::Client::open(redis_url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = ::redis::cmd("FLUSHDB").query_async(&mut conn).await.unwrap();
    let setup = spawn_core().await;
    let core = spawn_core_with(CoreOptions {
        login_limits: limits(1000, 3),
        database_url: Some(setup.database_url.clone()),
        redis_url: Some(redis_url),
        trusted_proxies: Vec::new(),
        ..Default::default()
    })
    .await;
    // The peer is 127.0.0.1 whatever the header says: three attempts use its budget up...
    for _ in 0..3 {
        let r = login_from(&core, &unique_email("direct"), "some-password-1", &unique_addr()).await;
        expect_unauth(r, "INVALID_CREDENTIALS");
    }
    // ...and rotating the header does not escape it.
    for addr in ["203.0.113.10", "198.51.100.7", &unique_addr()] {
        expect_rate_limited(login_from(&core, &unique_email("direct"), "some-password-1", addr).await);
    }
    core.stop().await;
    setup.stop().await;
}

#[tokio::test]
async fn replicas_share_the_login_count() {
    let first = spawn_core_with(CoreOptions { login_limits: limits(3, 1000), ..Default::default() }).await;
    let second = spawn_core_with(CoreOptions {
        login_limits: limits(3, 1000),
        database_url: Some(first.database_url.clone()),
        ..Default::default()
    })
    .await;
    let email = unique_email("replicas");
    let addr = unique_addr();

    expect_unauth(login_from(&first, &email, "wrong-password-1", &addr).await, "INVALID_CREDENTIALS");
    expect_unauth(login_from(&second, &email, "wrong-password-1", &addr).await, "INVALID_CREDENTIALS");
    expect_unauth(login_from(&first, &email, "wrong-password-1", &addr).await, "INVALID_CREDENTIALS");
    expect_rate_limited(login_from(&second, &email, "wrong-password-1", &addr).await);
    expect_rate_limited(login_from(&first, &email, "wrong-password-1", &addr).await);
    second.stop().await;
    first.stop().await;
}
