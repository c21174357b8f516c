//! The Redis read cache and the per-token budget, against real PostgreSQL and Redis: never a
//! stale read after an acknowledged write (also across replicas), one database read for many
//! concurrent cold reads, Redis down is only slower, and the budget counts on every replica.

use proto::Services as _;
use std::time::Duration;

use proto::v1 as pb;
use tests::{CoreOptions, TestCore, authed, expect_code, spawn_core, spawn_core_with, value};
use tonic::Code;
use tonic_types::StatusExt;

async fn set(core: &TestCore, token: &str, project_id: &str, key: &str, v: serde_json::Value) {
    core.configs()
        .set_config(authed(
            pb::SetConfigRequest {
                project_id: project_id.into(),
                key: key.into(),
                value: Some(value(v)),
                ..Default::default()
            },
            token,
        ))
        .await
        .expect("set config");
}

async fn effective(core: &TestCore, token: &str, project_id: &str) -> Result<serde_json::Value, tonic::Status> {
    let r = core
        .configs()
        .get_effective_config(authed(pb::GetEffectiveConfigRequest { project_id: project_id.into() }, token))
        .await?
        .into_inner();
    Ok(serde_json::to_value(
        r.values
            .map(|s| s.fields)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, json(v)))
            .collect::<serde_json::Map<_, _>>(),
    )
    .unwrap())
}

fn json(v: prost_types::Value) -> serde_json::Value {
    use prost_types::value::Kind;
    match v.kind {
        Some(Kind::NumberValue(n)) => serde_json::json!(n),
        Some(Kind::StringValue(s)) => serde_json::json!(s),
        Some(Kind::BoolValue(b)) => serde_json::json!(b),
        _ => serde_json::Value::Null,
    }
}

async fn get_project(core: &TestCore, token: &str, id: &str) -> Result<pb::Project, tonic::Status> {
    Ok(core
        .projects()
        .get_project(authed(pb::GetProjectRequest { id: id.into(), ..Default::default() }, token))
        .await?
        .into_inner()
        .project
        .unwrap())
}

/// A counter of core-svc's `/metrics`, summed over the series whose labels include `labels`.
async fn metric(core: &TestCore, name: &str, labels: &str) -> f64 {
    let text = reqwest::get(format!("http://{}/metrics", core.metrics_addr)).await.unwrap().text().await.unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(labels))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn reads_after_acknowledged_writes_are_never_stale_on_any_replica() {
    let a = spawn_core().await;
    let b = spawn_core_with(CoreOptions { database_url: Some(a.database_url.clone()), ..Default::default() }).await;
    let admin = a.admin_token().await;
    let (viewer, viewer_token) = a.user(&admin, "viewer").await;
    let project = a.project(&admin, "cached").await;
    let member = a.add_member(&admin, &project.id, &viewer.id, pb::MemberRole::Viewer).await;

    for i in 0..30 {
        // Read through B first, so B's view is cached; then write through A and read through B.
        let before = effective(&b, &viewer_token, &project.id).await.unwrap();
        let expected = if i == 0 { None } else { Some(serde_json::json!((i - 1) as f64)) };
        assert_eq!(before.get("counter").cloned(), expected, "round {i}, before the write");
        set(&a, &admin, &project.id, "counter", serde_json::json!(i)).await;
        let after = effective(&b, &viewer_token, &project.id).await.unwrap();
        assert_eq!(after["counter"], serde_json::json!(i as f64), "round {i}");
    }

    // Project changes.
    assert_eq!(get_project(&b, &viewer_token, &project.id).await.unwrap().name, "cached");
    a.projects()
        .update_project(authed(
            pb::UpdateProjectRequest {
                project: Some(pb::Project { id: project.id.clone(), name: "renamed".into(), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap();
    assert_eq!(get_project(&b, &viewer_token, &project.id).await.unwrap().name, "renamed");

    // Membership changes: removed → not found at once, on the other replica too.
    a.members()
        .remove_member(authed(pb::RemoveMemberRequest { id: member.id.clone(), ..Default::default() }, &admin))
        .await
        .unwrap();
    expect_code(get_project(&b, &viewer_token, &project.id).await, Code::NotFound, None);
    expect_code(effective(&b, &viewer_token, &project.id).await, Code::NotFound, None);
    a.add_member(&admin, &project.id, &viewer.id, pb::MemberRole::Viewer).await;
    assert_eq!(get_project(&b, &viewer_token, &project.id).await.unwrap().id, project.id);

    // The user behind a token: disabled → refused at once; an API token revoked → refused.
    let api = b
        .auth()
        .create_api_token(authed(pb::CreateApiTokenRequest { name: "tool".into(), expire_time: None }, &viewer_token))
        .await
        .unwrap()
        .into_inner();
    let me = |core: &TestCore, token: String| {
        let mut auth = core.auth();
        async move { auth.get_me(authed(pb::GetMeRequest {}, &token)).await }
    };
    me(&b, api.token.clone()).await.unwrap();
    a.auth()
        .revoke_api_token(authed(pb::RevokeApiTokenRequest { id: api.api_token.unwrap().id }, &viewer_token))
        .await
        .unwrap();
    expect_code(me(&b, api.token.clone()).await, Code::Unauthenticated, Some("INVALID_TOKEN"));
    me(&b, viewer_token.clone()).await.unwrap();
    a.users()
        .update_user(authed(
            pb::UpdateUserRequest {
                user: Some(pb::User {
                    id: viewer.id.clone(),
                    status: pb::UserStatus::Disabled as i32,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["status".into()] }),
                ..Default::default()
            },
            &admin,
        ))
        .await
        .unwrap();
    expect_code(me(&b, viewer_token.clone()).await, Code::Unauthenticated, Some("USER_DISABLED"));

    assert!(metric(&b, "core_cache_requests_total", "result=\"hit\"").await > 0.0, "the cache was used");
    b.stop().await;
}

#[tokio::test]
async fn concurrent_cold_reads_cost_one_database_read() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "stampede").await;
    for i in 0..20 {
        set(&core, &admin, &project.id, &format!("k{i}"), serde_json::json!(i)).await;
    }
    // Warm the caller's credential and project view, so that only the effective config is cold.
    get_project(&core, &admin, &project.id).await.unwrap();
    let loads_before = metric(&core, "core_cache_loads_total", "kind=\"effective_config\"").await;
    let reads: Vec<_> = (0..64)
        .map(|_| {
            let (core_url, admin, pid) = (core.url(), admin.clone(), project.id.clone());
            tokio::spawn(async move {
                let channel = tonic::transport::Channel::from_shared(core_url).unwrap().connect_lazy();
                let mut configs = pb::config_service_client::ConfigServiceClient::new(channel);
                configs
                    .get_effective_config(authed(pb::GetEffectiveConfigRequest { project_id: pid }, &admin))
                    .await
                    .unwrap()
                    .into_inner()
                    .values
                    .unwrap()
                    .fields
                    .len()
            })
        })
        .collect();
    for r in reads {
        assert_eq!(r.await.unwrap(), 20);
    }
    let loads = metric(&core, "core_cache_loads_total", "kind=\"effective_config\"").await - loads_before;
    assert_eq!(loads, 1.0, "64 concurrent cold reads, one database read");
}

#[tokio::test]
async fn with_redis_down_reads_and_writes_go_to_postgres() {
    let core =
        spawn_core_with(CoreOptions { redis_url: Some("redis://127.0.0.1:1".into()), ..Default::default() }).await;
    let admin = core.admin_token().await;
    let project = core.project(&admin, "no-redis").await;
    for i in 0..5 {
        set(&core, &admin, &project.id, "k", serde_json::json!(i)).await;
        assert_eq!(effective(&core, &admin, &project.id).await.unwrap()["k"], serde_json::json!(i as f64));
    }
    assert!(metric(&core, "core_cache_requests_total", "result=\"error\"").await > 0.0);
    let ready: serde_json::Value =
        reqwest::get(format!("http://{}/readyz", core.metrics_addr)).await.unwrap().json().await.unwrap();
    assert_eq!(ready["status"], "degraded");
}

#[tokio::test]
async fn the_per_token_budget_counts_on_every_replica() {
    let limit = core_svc::redis::TokenLimit { requests: 6, window: Duration::from_secs(60) };
    let a = spawn_core_with(CoreOptions { token_limit: Some(limit), ..Default::default() }).await;
    let b = spawn_core_with(CoreOptions {
        database_url: Some(a.database_url.clone()),
        token_limit: Some(limit),
        ..Default::default()
    })
    .await;
    let admin = a.admin_token().await;
    let (_, user_token) = a.user(&admin, "budget").await; // the admin's 1st call
    let me = |core: &TestCore, token: &str| {
        let (mut auth, token) = (core.auth(), token.to_string());
        async move { auth.get_me(authed(pb::GetMeRequest {}, &token)).await }
    };
    for i in 0..6 {
        let via = if i % 2 == 0 { &a } else { &b };
        me(via, &user_token).await.unwrap_or_else(|e| panic!("call {} within the budget: {e:?}", i + 1));
    }
    for via in [&a, &b] {
        let status = expect_code(me(via, &user_token).await, Code::ResourceExhausted, Some("RATE_LIMITED"));
        let retry = status.get_error_details().retry_info().cloned().expect("RetryInfo");
        assert!(retry.retry_delay.is_some_and(|d| d > Duration::ZERO && d <= Duration::from_secs(60)));
    }
    // Another credential has its own budget.
    me(&a, &admin).await.unwrap();
    b.stop().await;
}
