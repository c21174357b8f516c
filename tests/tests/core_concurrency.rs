//! core-svc under concurrent writers: optimistic concurrency picks exactly one winner, unique
//! rules hold without leaking unique-violation errors, the first admin is created once however
//! many replicas start together, and the event `seq` is gapless and follows commit order while a
//! reader tails the log.

use proto::Services as _;
use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::future::join_all;
use serde_json::json;
use tests::{CoreOptions, TestCore, api as pb, authed, spawn_core, spawn_core_with, value};
use tokio::sync::Barrier;
use tonic::Code;

fn set_req(project_id: &str, key: &str, v: serde_json::Value, etag: &str) -> pb::SetConfigRequest {
    pb::SetConfigRequest {
        project_id: project_id.into(),
        key: key.into(),
        value: Some(value(v)),
        etag: etag.into(),
        ..Default::default()
    }
}

async fn count(core: &TestCore, sql: &'static str, id: &str) -> i64 {
    let mut db = core.db().await;
    sqlx::query_scalar::<_, i64>(sql).bind(id).fetch_one(&mut db).await.unwrap()
}

/// Runs `n` copies of `f(i)` at once (released together by a barrier) and returns their results.
async fn race<T, F, Fut>(n: usize, f: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let fut = f(i);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    join_all(tasks).await.into_iter().map(|r| r.expect("task")).collect()
}

/// Splits results into the successes and the error codes/reasons.
fn tally<T>(results: Vec<Result<T, tonic::Status>>) -> (Vec<T>, Vec<(Code, String)>) {
    let mut ok = Vec::new();
    let mut err = Vec::new();
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(s) => {
                use tonic_types::StatusExt;
                let reason = s.get_error_details().error_info().map(|i| i.reason.clone()).unwrap_or_default();
                err.push((s.code(), reason));
            }
        }
    }
    (ok, err)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_etag_writers_one_wins() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let p = core.project(&admin, "race").await;

    // Ten keys at version 1, two writers each presenting etag "1", all released together.
    const KEYS: usize = 10;
    let mut ids = Vec::new();
    for k in 0..KEYS {
        let c =
            core.configs().set_config(authed(set_req(&p.id, &format!("k{k}"), json!(0), ""), &admin)).await.unwrap();
        ids.push(c.into_inner().config.unwrap().id);
    }
    let results = race(KEYS * 2, |i| {
        let mut client = core.configs();
        let req = authed(set_req(&p.id, &format!("k{}", i / 2), json!(i), "\"1\""), &admin);
        async move { client.set_config(req).await.map(|r| r.into_inner().config.unwrap()) }
    })
    .await;
    for (k, pair) in results.chunks(2).enumerate() {
        let (ok, err) = tally(pair.to_vec());
        assert_eq!(ok.len(), 1, "k{k}: exactly one writer wins: {err:?}");
        assert_eq!(ok[0].version, 2);
        assert_eq!(err, [(Code::Aborted, "VERSION_MISMATCH".to_string())], "k{k}");
        let id = &ids[k];
        assert_eq!(
            count(&core, "SELECT count(*) FROM config_revisions WHERE config_id = $1::uuid", id).await,
            2,
            "k{k}"
        );
        assert_eq!(count(&core, "SELECT count(*) FROM events WHERE resource_id = $1", id).await, 2, "k{k}");
        let current = core
            .configs()
            .get_config(authed(pb::GetConfigRequest { id: id.clone(), ..Default::default() }, &admin))
            .await
            .unwrap()
            .into_inner()
            .config
            .unwrap();
        assert_eq!(current.value, ok[0].value, "k{k}: the winner's value is stored");
    }

    // The same for a project update.
    let results = race(2, |i| {
        let mut client = core.projects();
        let req = authed(
            pb::UpdateProjectRequest {
                project: Some(pb::Project { id: p.id.clone(), name: format!("writer {i}"), ..Default::default() }),
                update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
                etag: "\"1\"".into(),
            },
            &admin,
        );
        async move { client.update_project(req).await.map(|r| r.into_inner().project.unwrap()) }
    })
    .await;
    let (ok, err) = tally(results);
    assert_eq!((ok.len(), ok[0].version), (1, 2));
    assert_eq!(err, [(Code::Aborted, "VERSION_MISMATCH".to_string())]);
    assert_eq!(
        count(&core, "SELECT count(*) FROM events WHERE type = 'project.updated' AND resource_id = $1", &p.id).await,
        1
    );
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_writes_of_one_key() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let p = core.project(&admin, "firstw").await;

    // Without an etag: every writer succeeds, one after the other.
    let results = race(8, |i| {
        let mut client = core.configs();
        let req = authed(set_req(&p.id, "fresh", json!(i), ""), &admin);
        async move { client.set_config(req).await.map(|r| r.into_inner().config.unwrap()) }
    })
    .await;
    let (ok, err) = tally(results);
    assert!(err.is_empty(), "no writer fails (no unique violation leaks): {err:?}");
    let mut versions: Vec<i64> = ok.iter().map(|c| c.version).collect();
    versions.sort();
    assert_eq!(versions, (1..=8).collect::<Vec<_>>());
    let id = &ok[0].id;
    assert!(ok.iter().all(|c| &c.id == id), "one entry");
    assert_eq!(count(&core, "SELECT count(*) FROM configs WHERE project_id = $1::uuid", &p.id).await, 1);
    assert_eq!(count(&core, "SELECT count(*) FROM config_revisions WHERE config_id = $1::uuid", id).await, 8);
    assert_eq!(count(&core, "SELECT count(*) FROM events WHERE resource_id = $1", id).await, 8);

    // With etag "0" (must not exist): exactly one creates it.
    let results = race(8, |i| {
        let mut client = core.configs();
        let req = authed(set_req(&p.id, "once", json!(i), "0"), &admin);
        async move { client.set_config(req).await.map(|r| r.into_inner().config.unwrap()) }
    })
    .await;
    let (ok, err) = tally(results);
    assert_eq!(ok.len(), 1, "{err:?}");
    assert_eq!(ok[0].version, 1);
    assert!(err.iter().all(|e| *e == (Code::AlreadyExists, "KEY_EXISTS".to_string())), "{err:?}");
    assert_eq!(count(&core, "SELECT count(*) FROM events WHERE resource_id = $1", &ok[0].id).await, 1);

    // Unique names: one project per slug, one membership per user.
    let slug = format!("same-{}", &uuid::Uuid::now_v7().simple().to_string()[20..]);
    let results = race(6, |_| {
        let mut client = core.projects();
        let req = authed(
            pb::CreateProjectRequest { slug: slug.clone(), name: "Same".into(), description: String::new() },
            &admin,
        );
        async move { client.create_project(req).await.map(|r| r.into_inner().project.unwrap()) }
    })
    .await;
    let (ok, err) = tally(results);
    assert_eq!(ok.len(), 1, "{err:?}");
    assert!(err.iter().all(|e| *e == (Code::AlreadyExists, "SLUG_TAKEN".to_string())), "{err:?}");

    let (user, _) = core.user(&admin, "joiner").await;
    let results = race(6, |i| {
        let mut client = core.members();
        let role = [pb::MemberRole::Viewer, pb::MemberRole::Editor][i % 2] as i32;
        let req = authed(
            pb::AddMemberRequest { project_id: p.id.clone(), user_id: user.id.clone(), email: String::new(), role },
            &admin,
        );
        async move { client.add_member(req).await.map(|r| r.into_inner().member.unwrap()) }
    })
    .await;
    let (ok, err) = tally(results);
    assert_eq!(ok.len(), 1, "{err:?}");
    assert!(err.iter().all(|e| *e == (Code::AlreadyExists, "ALREADY_MEMBER".to_string())), "{err:?}");
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_owners_stepping_down_at_once_leave_one_owner() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (alice, alice_token) = core.user(&admin, "alice").await;
    let (bob, bob_token) = core.user(&admin, "bob").await;
    for round in 0..5 {
        let p = core.project(&alice_token, "owners").await;
        let mb = core.add_member(&alice_token, &p.id, &bob.id, pb::MemberRole::Owner).await;
        let ma = core
            .members()
            .list_members(authed(
                pb::ListMembersRequest {
                    project_id: p.id.clone(),
                    filter: format!("user_id = \"{}\"", alice.id),
                    ..Default::default()
                },
                &alice_token,
            ))
            .await
            .unwrap()
            .into_inner()
            .members
            .remove(0);
        let steps = [(ma.id.clone(), alice_token.clone()), (mb.id.clone(), bob_token.clone())];
        let results = race(2, |i| {
            let mut client = core.members();
            let (id, token) = steps[i].clone();
            let req = authed(
                pb::UpdateMemberRequest { id, role: pb::MemberRole::Viewer as i32, etag: String::new() },
                &token,
            );
            async move { client.update_member(req).await.map(|r| r.into_inner().member.unwrap()) }
        })
        .await;
        let (ok, err) = tally(results);
        assert_eq!(ok.len(), 1, "round {round}: {err:?}");
        assert_eq!(err, [(Code::FailedPrecondition, "LAST_OWNER".to_string())], "round {round}");
        let owners: i64 =
            count(&core, "SELECT count(*) FROM members WHERE project_id = $1::uuid AND role = 'owner'", &p.id).await;
        assert_eq!(owners, 1, "round {round}");
        let project = core
            .projects()
            .get_project(authed(pb::GetProjectRequest { id: p.id.clone(), slug: String::new() }, &admin))
            .await
            .unwrap()
            .into_inner()
            .project
            .unwrap();
        let remaining = if ok[0].user_id == alice.id { &bob.id } else { &alice.id };
        assert_eq!(&project.owner_id, remaining, "round {round}: owner_id names the remaining owner");
    }
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_refreshes_of_one_token_yield_one_rotation() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let (user, _) = core.user(&admin, "racer").await;
    let login = core.login(&user.email, tests::USER_PASSWORD).await.unwrap();
    let refresh_token = login.tokens.unwrap().refresh_token;
    let results = race(4, |_| {
        let mut client = core.auth();
        let req = pb::RefreshTokenRequest { refresh_token: refresh_token.clone() };
        async move { client.refresh_token(req).await.map(|r| r.into_inner()) }
    })
    .await;
    let (ok, err) = tally(results);
    assert_eq!(ok.len(), 1, "{err:?}");
    assert!(err.iter().all(|e| e.0 == Code::Unauthenticated), "{err:?}");
    assert!(err.iter().any(|e| e.1 == "REFRESH_TOKEN_REUSED"), "{err:?}");
    core.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn replicas_starting_together_create_one_admin() {
    let database_url = tests::fresh_database().await;
    let cores = join_all(
        (0..4).map(|_| spawn_core_with(CoreOptions { database_url: Some(database_url.clone()), ..Default::default() })),
    )
    .await;
    let mut db = cores[0].db().await;
    let admins: i64 =
        sqlx::query_scalar("SELECT count(*) FROM users WHERE role = 'admin'").fetch_one(&mut db).await.unwrap();
    assert_eq!(admins, 1);
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut db).await.unwrap();
    assert_eq!(users, 1);
    let created: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE type = 'user.created'").fetch_one(&mut db).await.unwrap();
    assert_eq!(created, 1, "one user.created event");
    for core in &cores {
        let token = core.admin_token().await;
        let me = core.auth().get_me(authed(pb::GetMeRequest {}, &token)).await.unwrap().into_inner().user.unwrap();
        assert_eq!(me.role, pb::UserRole::Admin as i32);
    }
    // A restart finds the admin and creates nothing.
    let again = spawn_core_with(CoreOptions { database_url: Some(database_url.clone()), ..Default::default() }).await;
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&mut db).await.unwrap();
    assert_eq!(users, 1);
    again.stop().await;
    for core in cores {
        core.stop().await;
    }
}

/// Reads every event after `cursor` (admin), in seq order, across pages.
async fn events_after(core: &TestCore, token: &str, cursor: i64) -> Vec<pb::Event> {
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let r = core
            .events()
            .list_events(authed(
                pb::ListEventsRequest {
                    filter: format!("seq > {cursor}"),
                    order_by: "seq".into(),
                    page_size: 1000,
                    page_token,
                    ..Default::default()
                },
                token,
            ))
            .await
            .unwrap()
            .into_inner();
        out.extend(r.events);
        if r.next_page_token.is_empty() {
            return out;
        }
        page_token = r.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_seq_is_gapless_and_in_commit_order_under_concurrent_writers() {
    const WRITERS: usize = 8;
    const WRITES: usize = 50;
    let core = Arc::new(spawn_core().await);
    let admin = core.admin_token().await;
    let p = core.project(&admin, "seq").await;

    // A reader tails the log with "seq > cursor" while the writers run: every batch must
    // continue exactly where the previous one ended.
    let finished = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let tailer = {
        let (core, admin, finished) = (core.clone(), admin.clone(), finished.clone());
        tokio::spawn(async move {
            let mut seen: Vec<pb::Event> = Vec::new();
            let mut idle_after_finish = 0;
            loop {
                let cursor = seen.last().map_or(0, |e| e.seq);
                let batch = events_after(&core, &admin, cursor).await;
                for (i, e) in batch.iter().enumerate() {
                    assert_eq!(e.seq, cursor + 1 + i as i64, "the tail after {cursor} skipped or repeated a seq");
                }
                let empty = batch.is_empty();
                seen.extend(batch);
                if finished.load(std::sync::atomic::Ordering::SeqCst) {
                    // After the writers finish, stop once the log is quiet for a while.
                    idle_after_finish = if empty { idle_after_finish + 1 } else { 0 };
                    if idle_after_finish >= 10 {
                        return seen;
                    }
                }
                tokio::time::sleep(Duration::from_millis(if empty { 30 } else { 5 })).await;
            }
        })
    };

    let writers = race(WRITERS, |w| {
        let core = core.clone();
        let admin = admin.clone();
        let project_id = p.id.clone();
        async move {
            let mut client = core.configs();
            for n in 0..WRITES {
                // Half the writers share one key (row-lock contention), half write their own.
                let key = if w % 2 == 0 { "shared".to_string() } else { format!("own-{w}") };
                client
                    .set_config(authed(set_req(&project_id, &key, json!({"w": w, "n": n}), ""), &admin))
                    .await
                    .unwrap_or_else(|e| panic!("writer {w} write {n}: {e:?}"));
            }
        }
    })
    .await;
    assert_eq!(writers.len(), WRITERS);
    finished.store(true, std::sync::atomic::Ordering::SeqCst);

    // Wait for the relay to number everything that committed.
    let mut db = core.db().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let unsequenced: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events WHERE seq IS NULL").fetch_one(&mut db).await.unwrap();
        if unsequenced == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{unsequenced} events never got a seq");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&mut db).await.unwrap();
    let expected_rows = (2 + WRITERS * WRITES) as i64; // user.created (admin), project.created, writes
    assert_eq!(rows, expected_rows);

    // ListEvents returns 1..=N, no gap, no duplicate, N = rows.
    let all = events_after(&core, &admin, 0).await;
    let seqs: Vec<i64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=rows).collect::<Vec<_>>());
    let ids: std::collections::HashSet<&str> = all.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len() as i64, rows, "no event twice");

    // The tailer saw exactly the same sequence.
    let tailed = tailer.await.expect("tailer");
    assert_eq!(tailed.iter().map(|e| e.seq).collect::<Vec<_>>(), seqs);
    assert_eq!(
        tailed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        all.iter().map(|e| e.id.as_str()).collect::<Vec<_>>()
    );

    // Commit order: a writer's own writes are sequential (each commits before the next starts),
    // so their seqs must increase in write order; and the versions of each key must increase
    // with seq, since a key's writes are serialised by its row lock.
    let mut last_n: HashMap<i64, i64> = HashMap::new();
    let mut last_version: HashMap<String, i64> = HashMap::new();
    let mut writes = 0;
    for e in &all {
        if e.r#type != "config.set" {
            continue;
        }
        writes += 1;
        let payload = e.payload.as_ref().unwrap();
        let field = |name: &str| payload.fields.get(name).cloned().unwrap();
        let version = match field("version").kind {
            Some(prost_types::value::Kind::NumberValue(v)) => v as i64,
            other => panic!("version: {other:?}"),
        };
        let (w, n) = match field("value").kind {
            Some(prost_types::value::Kind::StructValue(s)) => {
                let num = |k: &str| match s.fields[k].kind {
                    Some(prost_types::value::Kind::NumberValue(v)) => v as i64,
                    _ => panic!("{k}"),
                };
                (num("w"), num("n"))
            }
            other => panic!("value: {other:?}"),
        };
        let prev_n = last_n.insert(w, n);
        assert_eq!(prev_n.map_or(0, |p| p + 1), n, "writer {w}: its writes appear in the order they committed");
        let key = e.resource.as_ref().unwrap().id.clone();
        let prev_v = last_version.insert(key.clone(), version);
        assert_eq!(prev_v.map_or(1, |v| v + 1), version, "config {key}: versions follow seq order");
    }
    assert_eq!(writes, WRITERS * WRITES);
    let core = Arc::try_unwrap(core).ok().expect("only reference");
    core.stop().await;
}
