//! rest-edge end to end for tasks, project exports and webhooks: the real core-svc and the REST
//! edge on loopback. core-svc's own behaviour (signing, retries, SSRF) is tested against core;
//! these tests check the REST translation: shapes, statuses, problem+json, React Admin lists.

mod rest_support;
mod webhook_receiver;

use proto::Services as _;
use std::time::{Duration, Instant};

use reqwest::Method;
use rest_support::{Answer, Rest, ra_list, spawn_rest};
use serde_json::{Value, json};
use tests::{api as pb, api::MemberRole, authed, value};

const NIL: &str = "00000000-0000-0000-0000-000000000000";

/// Polls `GET /tasks/{id}` until the task has finished (bounded), and returns it.
async fn finished_task(rest: &Rest, token: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let a = rest.get(&format!("/tasks/{id}"), token).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let status = a.body["status"].as_str().unwrap_or_default().to_string();
        if !matches!(status.as_str(), "queued" | "running") {
            return a.body;
        }
        assert!(Instant::now() < deadline, "task still {status} after 30 s: {}", a.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn set_config(rest: &Rest, token: &str, project_id: &str, key: &str, v: Value) {
    rest.core
        .configs()
        .set_config(authed(
            pb::SetConfigRequest {
                project_id: project_id.into(),
                key: key.into(),
                value: Some(value(v)),
                description: String::new(),
                etag: String::new(),
            },
            token,
        ))
        .await
        .expect("set config");
}

#[track_caller]
fn assert_task_shape(t: &Value) {
    for field in [
        "id",
        "kind",
        "status",
        "attempts",
        "max_attempts",
        "run_at",
        "progress",
        "result",
        "last_error",
        "created_by",
        "project_id",
        "created_at",
        "updated_at",
        "version",
    ] {
        assert!(t.get(field).is_some(), "task without {field}: {t}");
    }
}

#[tokio::test]
async fn export_a_project_follow_the_task_and_download_the_document() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let (owner, owner_token) = rest.core.user(&admin, "owner").await;
    let (viewer, viewer_token) = rest.core.user(&admin, "viewer").await;
    let (_, stranger_token) = rest.core.user(&admin, "stranger").await;
    let project = rest.core.project(&owner_token, "export").await;
    let pid = project.id.as_str();
    rest.core.add_member(&owner_token, pid, &viewer.id, MemberRole::Viewer).await;
    set_config(&rest, &owner_token, pid, "checkout.enabled", json!(true)).await;
    set_config(&rest, &owner_token, pid, "checkout.enabled", json!(false)).await;
    set_config(&rest, &owner_token, pid, "limits", json!({"max": 5})).await;

    // Only owners export; a non-member does not even see the project.
    rest.call(Method::POST, &format!("/projects/{pid}/export"), Some(&viewer_token), None).await.problem(403);
    rest.call(Method::POST, &format!("/projects/{pid}/export"), Some(&stranger_token), None).await.problem(404);
    rest.call(Method::POST, &format!("/projects/{NIL}/export"), Some(&owner_token), None).await.problem(404);
    rest.call(Method::POST, "/projects/not-a-uuid/export", Some(&owner_token), None).await.problem(400);
    rest.call(Method::POST, &format!("/projects/{pid}/export"), None, None).await.problem(401);

    // 202 + the queued task, with where to follow it.
    let a = rest.call(Method::POST, &format!("/projects/{pid}/export"), Some(&owner_token), None).await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert_task_shape(&a.body);
    assert_eq!(a.body["kind"], "project.export");
    assert_eq!(a.body["project_id"], pid);
    assert_eq!(a.body["created_by"], owner.id.as_str());
    assert!(matches!(a.body["status"].as_str(), Some("queued" | "running" | "succeeded")), "{}", a.body);
    let tid = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(a.header("location"), format!("/api/v1/tasks/{tid}"));

    let task = finished_task(&rest, &owner_token, &tid).await;
    assert_task_shape(&task);
    assert_eq!(task["status"], "succeeded", "{task}");
    assert_eq!(task["progress"], 100, "{task}");
    assert!(task["result"].is_object(), "{task}");
    assert!(task["version"].as_i64().unwrap() > 1, "{task}");

    // The document: project, members, configs with their history, as an attachment.
    let a = rest.get(&format!("/tasks/{tid}/export"), &owner_token).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.header("content-type").starts_with("application/json"), "{:?}", a.headers);
    let disposition = a.header("content-disposition");
    assert!(disposition.starts_with("attachment") && disposition.contains(".json"), "{disposition}");
    let doc = &a.body;
    assert_eq!(doc["format"], "platform-sm.export/v1", "{doc}");
    assert_eq!(doc["project"]["id"], pid, "{doc}");
    let members: Vec<_> = doc["members"].as_array().unwrap().iter().map(|m| m["user_id"].clone()).collect();
    assert!(members.contains(&json!(owner.id)) && members.contains(&json!(viewer.id)), "{doc}");
    let configs = doc["configs"].as_array().unwrap();
    assert_eq!(configs.len(), 2, "{doc}");
    let checkout = configs.iter().find(|c| c["key"] == "checkout.enabled").unwrap();
    assert_eq!(checkout["value"], false);
    assert_eq!(checkout["revisions"].as_array().unwrap().len(), 2, "{checkout}");

    // Lists: React Admin semantics, filters, and visibility.
    let q = ra_list(json!({"kind": "project.export", "project_id": pid}), Some((0, 9)), Some(("created_at", "DESC")));
    let a = rest.get(&format!("/tasks?{q}"), &owner_token).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("content-range"), "tasks 0-0/1");
    assert_eq!(a.header("x-total-count"), "1");
    assert_eq!(a.body[0]["id"], tid.as_str());
    let a = rest.get(&format!("/tasks?{}", ra_list(json!({"id": [tid, NIL]}), None, None)), &owner_token).await;
    assert_eq!((a.status.as_u16(), a.body.as_array().map(Vec::len)), (200, Some(1)), "{}", a.body);
    let a = rest.get("/tasks?status=succeeded&_start=0&_end=10&_sort=run_at&_order=asc", &admin).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.as_array().unwrap().iter().any(|t| t["id"] == tid.as_str()), "{}", a.body);
    let a = rest.get("/tasks", &stranger_token).await;
    assert_eq!((a.status.as_u16(), a.header("x-total-count")), (200, "0"), "{}", a.body);
    rest.get(&format!("/tasks/{tid}"), &stranger_token).await.problem(404);
    rest.get(&format!("/tasks/{tid}/export"), &stranger_token).await.problem(404);

    // A finished task can be neither cancelled nor retried.
    let a = rest.call(Method::POST, &format!("/tasks/{tid}/cancel"), Some(&owner_token), None).await;
    a.problem(409);
    let a = rest.call(Method::POST, &format!("/tasks/{tid}/retry"), Some(&owner_token), None).await;
    a.problem(409);
    rest.call(Method::POST, &format!("/tasks/{NIL}/cancel"), Some(&owner_token), None).await.problem(404);
    rest.call(Method::POST, &format!("/tasks/{NIL}/retry"), Some(&admin), None).await.problem(404);
    rest.call(Method::POST, "/tasks/x/retry", Some(&admin), None).await.problem(400);
    assert_eq!(finished_task(&rest, &owner_token, &tid).await["version"], task["version"]);

    // Tasks are made by the platform, not by clients: 405 with Allow.
    let a = rest.call(Method::POST, "/tasks", Some(&admin), Some(json!({"kind": "project.export"}))).await;
    a.problem(405);
    assert_eq!(a.header("allow"), "GET, OPTIONS");
    for method in [Method::PUT, Method::DELETE] {
        let a = rest.call(method, &format!("/tasks/{tid}"), Some(&admin), Some(json!({}))).await;
        a.problem(405);
        assert_eq!(a.header("allow"), "GET, OPTIONS");
    }
    rest.get(&format!("/tasks/{NIL}"), &admin).await.problem(404);
    rest.get(&format!("/tasks/{NIL}/export"), &admin).await.problem(404);
    rest.get("/tasks/not-a-uuid", &admin).await.problem(400);
}

#[tokio::test]
async fn task_list_input_errors_are_problems() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    for path in [
        "/tasks?filter=%7B%22nope%22%3A1%7D",
        "/tasks?sort=%5B%22kind%22%2C%22ASC%22%5D",
        "/tasks?range=%5B0%2C5000%5D",
        "/tasks?bogus=1",
        "/webhooks?filter=%7B%22secret%22%3A%22x%22%7D",
        "/webhook-deliveries?filter=%7B%22url%22%3A%22x%22%7D",
        "/webhook-deliveries?sort=%5B%22status%22%2C%22ASC%22%5D",
    ] {
        let a = rest.get(path, &admin).await;
        assert_eq!(a.status, 400, "{path}: {}", a.body);
        a.problem(400);
    }
    // Values go to core-svc as quoted literals; it judges them.
    let a = rest.get("/tasks?filter=%7B%22status%22%3A%22sideways%22%7D", &admin).await;
    assert!(matches!(a.status.as_u16(), 200 | 422), "{}", a.body);
}

/// One owner's webhook from start to end, and what the other roles get.
#[tokio::test]
async fn webhooks_crud_as_owner_viewer_403_stranger_404() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let (owner, owner_token) = rest.core.user(&admin, "hook-owner").await;
    let (viewer, viewer_token) = rest.core.user(&admin, "hook-viewer").await;
    let (editor, editor_token) = rest.core.user(&admin, "hook-editor").await;
    let (_, stranger_token) = rest.core.user(&admin, "hook-stranger").await;
    let project = rest.core.project(&owner_token, "hooks").await;
    let pid = project.id.as_str();
    rest.core.add_member(&owner_token, pid, &viewer.id, MemberRole::Viewer).await;
    rest.core.add_member(&owner_token, pid, &editor.id, MemberRole::Editor).await;

    // create: 201, the secret once, active by default
    let make = |n: u32| {
        json!({
            "project_id": pid,
            "url": format!("https://hooks.example.com/platform/{n}"),
            "event_types": ["config.*", "member.added"],
            "description": format!("hook {n}"),
        })
    };
    let a = rest.call(Method::POST, "/webhooks", Some(&owner_token), Some(make(1))).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.header("etag"), "\"1\"");
    let hook = a.body.clone();
    let hid = hook["id"].as_str().unwrap().to_string();
    assert_eq!(hook["project_id"], pid);
    assert_eq!(hook["url"], "https://hooks.example.com/platform/1");
    assert_eq!(hook["event_types"], json!(["config.*", "member.added"]));
    assert_eq!((hook["active"].clone(), hook["version"].clone()), (json!(true), json!(1)));
    assert_eq!(hook["created_by"], owner.id.as_str());
    assert!(hook["secret"].as_str().is_some_and(|s| s.len() >= 16), "{hook}");
    let mut given = make(2);
    given["secret"] = json!("my-own-secret-0123456789");
    let a = rest.call(Method::POST, "/webhooks", Some(&owner_token), Some(given)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["secret"], "my-own-secret-0123456789");
    let hid2 = a.body["id"].as_str().unwrap().to_string();
    let a =
        rest.call(Method::PUT, &format!("/webhooks/{hid2}"), Some(&owner_token), Some(json!({"active": false}))).await;
    assert_eq!(
        (a.status.as_u16(), a.body["active"].as_bool(), a.body["version"].as_i64()),
        (200, Some(false), Some(2))
    );

    // getOne: never the secret
    let a = rest.get(&format!("/webhooks/{hid}"), &owner_token).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.get("secret").is_none(), "{}", a.body);
    assert_eq!(a.header("etag"), "\"1\"");
    let record = a.body.clone();

    // getManyReference, getList, getMany
    let q = ra_list(json!({"project_id": pid}), Some((0, 24)), Some(("created_at", "ASC")));
    let a = rest.get(&format!("/webhooks?{q}"), &owner_token).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!((a.header("content-range"), a.header("x-total-count")), ("webhooks 0-1/2", "2"));
    assert_eq!(a.body[0]["id"], hid.as_str());
    assert!(a.body.as_array().unwrap().iter().all(|w| w.get("secret").is_none()), "{}", a.body);
    let q = ra_list(json!({"project_id": pid, "active": false}), Some((0, 9)), Some(("url", "DESC")));
    let a = rest.get(&format!("/webhooks?{q}"), &owner_token).await;
    assert_eq!((a.status.as_u16(), a.header("content-range")), (200, "webhooks 0-0/1"), "{}", a.body);
    let a =
        rest.get(&format!("/webhooks?{}", ra_list(json!({"id": [hid, hid2, NIL]}), None, None)), &owner_token).await;
    assert_eq!((a.status.as_u16(), a.body.as_array().map(Vec::len)), (200, Some(2)), "{}", a.body);
    let a = rest.get("/webhooks?_start=0&_end=1&_sort=created_at&_order=desc", &admin).await;
    assert_eq!((a.status.as_u16(), a.header("x-total-count")), (200, "2"), "{}", a.body);
    assert_eq!(a.body[0]["id"], hid2.as_str());

    // update: the full record back, version bumped; the same again is stale
    let mut changed = record.clone();
    changed["url"] = json!("https://hooks.example.com/v2");
    changed["event_types"] = json!(["*"]);
    let a = rest.call(Method::PUT, &format!("/webhooks/{hid}"), Some(&owner_token), Some(changed.clone())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!((a.body["url"].as_str(), a.body["version"].as_i64()), (Some("https://hooks.example.com/v2"), Some(2)));
    assert_eq!(a.body["event_types"], json!(["*"]));
    assert!(a.body.get("secret").is_none(), "{}", a.body);
    assert_eq!(a.header("etag"), "\"2\"");
    let a = rest.call(Method::PUT, &format!("/webhooks/{hid}"), Some(&owner_token), Some(changed.clone())).await;
    assert_eq!(a.problem(409)["reason"], "VERSION_MISMATCH");
    // If-Match wins over the body; a new secret is shown in the answer, once
    let a = rest
        .raw(
            Method::PUT,
            &format!("/webhooks/{hid}"),
            Some(&owner_token),
            Some(json!({"secret": "rotated-secret-0123456789", "version": 1}).to_string()),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!((a.body["secret"].as_str(), a.body["version"].as_i64()), (Some("rotated-secret-0123456789"), Some(3)));
    assert!(rest.get(&format!("/webhooks/{hid}"), &owner_token).await.body.get("secret").is_none());
    let a = rest.call(Method::PUT, &format!("/webhooks/{hid}"), Some(&owner_token), Some(json!({"version": 3}))).await;
    a.problem(422);

    // the delivery log of the webhook (may be empty: deliveries to example.com are not awaited)
    let q = ra_list(json!({"webhook_id": hid, "project_id": pid}), Some((0, 9)), Some(("created_at", "DESC")));
    let a = rest.get(&format!("/webhook-deliveries?{q}"), &owner_token).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.header("content-range").starts_with("webhook-deliveries "), "{:?}", a.headers);
    for d in a.body.as_array().unwrap() {
        assert_eq!(d["webhook_id"], hid.as_str());
        assert!(matches!(d["status"].as_str(), Some("pending" | "delivered" | "dead")), "{d}");
    }
    let a = rest.get("/webhook-deliveries?status=dead&_start=0&_end=5", &owner_token).await;
    assert_eq!(a.status, 200, "{}", a.body);
    rest.get(&format!("/webhook-deliveries/{NIL}"), &owner_token).await.problem(404);
    rest.get("/webhook-deliveries/nope", &owner_token).await.problem(400);
    let a = rest.call(Method::POST, "/webhook-deliveries", Some(&owner_token), Some(json!({}))).await;
    a.problem(405);
    assert_eq!(a.header("allow"), "GET, OPTIONS");

    // viewers and editors are members without the role: 403; strangers do not see it: 404
    for token in [&viewer_token, &editor_token] {
        rest.get(&format!("/webhooks/{hid}"), token).await.problem(403);
        rest.get(&format!("/webhooks?{}", ra_list(json!({"project_id": pid}), None, None)), token).await.problem(403);
        rest.call(Method::POST, "/webhooks", Some(token), Some(make(9))).await.problem(403);
        rest.call(Method::PUT, &format!("/webhooks/{hid}"), Some(token), Some(json!({"active": false})))
            .await
            .problem(403);
        rest.call(Method::DELETE, &format!("/webhooks/{hid}"), Some(token), None).await.problem(403);
    }
    rest.get(&format!("/webhooks/{hid}"), &stranger_token).await.problem(404);
    rest.get(&format!("/webhooks?{}", ra_list(json!({"project_id": pid}), None, None)), &stranger_token)
        .await
        .problem(404);
    rest.call(Method::POST, "/webhooks", Some(&stranger_token), Some(make(9))).await.problem(404);
    rest.call(Method::PUT, &format!("/webhooks/{hid}"), Some(&stranger_token), Some(json!({"active": false})))
        .await
        .problem(404);
    rest.call(Method::DELETE, &format!("/webhooks/{hid}"), Some(&stranger_token), None).await.problem(404);
    rest.call(Method::GET, "/webhooks", None, None).await.problem(401);

    // delete: the record as it was (React Admin sends text/plain without a body); then gone
    let a =
        rest.raw(Method::DELETE, &format!("/webhooks/{hid}"), Some(&owner_token), None, &[("if-match", "\"2\"")]).await;
    a.problem(409);
    let a = rest
        .raw(Method::DELETE, &format!("/webhooks/{hid}"), Some(&owner_token), None, &[("content-type", "text/plain")])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!((a.body["id"].as_str(), a.body["version"].as_i64()), (Some(hid.as_str()), Some(3)));
    rest.get(&format!("/webhooks/{hid}"), &owner_token).await.problem(404);
    let a = rest.get(&format!("/webhooks?{}", ra_list(json!({"project_id": pid}), None, None)), &owner_token).await;
    assert_eq!(a.header("x-total-count"), "1", "{}", a.body);
}

/// Input the edge cannot translate is 400, input core-svc refuses is 422; both are problems
/// and nothing is written.
#[tokio::test]
async fn bad_webhook_input_is_a_problem_and_writes_nothing() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let (_, owner_token) = rest.core.user(&admin, "bad-hooks").await;
    let project = rest.core.project(&owner_token, "bad-hooks").await;
    let pid = project.id.as_str();
    let good = json!({"project_id": pid, "url": "https://hooks.example.com/x", "event_types": ["config.*"]});
    let with = |field: &str, v: Value| {
        let mut b = good.clone();
        b[field] = v;
        b
    };
    let without = |field: &str| {
        let mut b = good.clone();
        b.as_object_mut().unwrap().remove(field);
        b
    };

    // unparsable: wrong JSON types, malformed ids → 400
    for body in [
        with("project_id", json!("not-a-uuid")),
        with("project_id", json!(5)),
        with("url", json!(false)),
        with("event_types", json!("config.*")),
        with("event_types", json!([1, 2])),
        with("description", json!(["x"])),
        with("secret", json!(12345)),
    ] {
        let a = rest.call(Method::POST, "/webhooks", Some(&owner_token), Some(body.clone())).await;
        assert_eq!(a.status, 400, "{body}: {}", a.body);
        a.problem(400);
    }
    let a = rest.raw(Method::POST, "/webhooks", Some(&owner_token), Some("{\"url\":".into()), &[]).await;
    a.problem(400);
    rest.get("/webhooks/not-a-uuid", &owner_token).await.problem(400);
    for body in [json!({"active": "yes"}), json!({"active": true, "version": -1}), json!({"event_types": [true]})] {
        let a = rest.call(Method::PUT, &format!("/webhooks/{NIL}"), Some(&owner_token), Some(body)).await;
        a.problem(400);
    }
    let a = rest
        .raw(
            Method::PUT,
            &format!("/webhooks/{NIL}"),
            Some(&owner_token),
            Some("{}".into()),
            &[("if-match", "nonsense")],
        )
        .await;
    a.problem(400);

    // well-formed but refused by core-svc → 422 with the fields named
    for (body, field) in [
        (with("url", json!("not a url")), "url"),
        (with("url", json!("ftp://hooks.example.com/x")), "url"),
        (with("url", json!("")), "url"),
        (without("url"), "url"),
        (with("event_types", json!([])), "event_types"),
        (without("event_types"), "event_types"),
        (with("event_types", json!(["not a type!"])), "event_types"),
        (without("project_id"), "project_id"),
    ] {
        let a = rest.call(Method::POST, "/webhooks", Some(&owner_token), Some(body.clone())).await;
        let p = a.problem(422);
        let fields: Vec<_> = p["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.iter().any(|f| f.contains(field)), "{body}: {p}");
    }

    // nothing was written
    let a = rest.get(&format!("/webhooks?{}", ra_list(json!({"project_id": pid}), None, None)), &owner_token).await;
    assert_eq!((a.status.as_u16(), a.header("x-total-count")), (200, "0"), "{}", a.body);
    let a = rest.get("/webhooks", &admin).await;
    assert_eq!((a.status.as_u16(), a.header("x-total-count")), (200, "0"), "{}", a.body);

    // and an update that core refuses leaves the webhook as it was
    let a = rest.call(Method::POST, "/webhooks", Some(&owner_token), Some(good)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let hid = a.body["id"].as_str().unwrap().to_string();
    let a = rest
        .call(Method::PUT, &format!("/webhooks/{hid}"), Some(&owner_token), Some(json!({"url": "javascript:alert(1)"})))
        .await;
    a.problem(422);
    let a =
        rest.call(Method::PUT, &format!("/webhooks/{hid}"), Some(&owner_token), Some(json!({"event_types": []}))).await;
    a.problem(422);
    let Answer { body, .. } = rest.get(&format!("/webhooks/{hid}"), &owner_token).await;
    assert_eq!((body["version"].as_i64(), body["url"].as_str()), (Some(1), Some("https://hooks.example.com/x")));
}

/// Polls the delivery log of a webhook until a delivery has `status` (bounded), and returns it.
async fn delivery_with_status(rest: &Rest, token: &str, webhook_id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let q = ra_list(json!({"webhook_id": webhook_id}), Some((0, 9)), Some(("created_at", "DESC")));
        let a = rest.get(&format!("/webhook-deliveries?{q}"), token).await;
        assert_eq!(a.status, 200, "{}", a.body);
        if let Some(d) = a.body.as_array().unwrap().iter().find(|d| d["status"] == status) {
            return d.clone();
        }
        assert!(Instant::now() < deadline, "no {status} delivery after 30 s: {}", a.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deliveries to loopback receivers (the harness lets core-svc reach them): one delivered, one
/// dead after its attempts; the dead one's task is retried and cancelled through the REST edge.
#[tokio::test]
async fn deliveries_and_retrying_and_cancelling_their_tasks() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let (_, owner_token) = rest.core.user(&admin, "deliveries").await;
    let (_, stranger_token) = rest.core.user(&admin, "deliveries-stranger").await;
    let project = rest.core.project(&owner_token, "deliveries").await;
    let pid = project.id.as_str();
    let (ok_url, ok_hits) = webhook_receiver::receiver(204).await;
    let (bad_url, bad_hits) = webhook_receiver::receiver(500).await;
    let mut hooks = Vec::new();
    for url in [&ok_url, &bad_url] {
        let body = json!({"project_id": pid, "url": url, "event_types": ["config.*"]});
        let a = rest.call(Method::POST, "/webhooks", Some(&owner_token), Some(body)).await;
        assert_eq!(a.status, 201, "{}", a.body);
        hooks.push(a.body["id"].as_str().unwrap().to_string());
    }
    set_config(&rest, &owner_token, pid, "hooked", json!(1)).await;

    let delivered = delivery_with_status(&rest, &owner_token, &hooks[0], "delivered").await;
    assert_eq!(delivered["event_type"], "config.set");
    assert_eq!((delivered["response_status"].as_i64(), delivered["attempts"].as_i64()), (Some(204), Some(1)));
    assert_eq!(delivered["project_id"], pid);
    assert!(delivered["delivered_at"].is_string(), "{delivered}");
    assert!(ok_hits.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    let did = delivered["id"].as_str().unwrap();
    let a = rest.get(&format!("/webhook-deliveries/{did}"), &owner_token).await;
    assert_eq!((a.status.as_u16(), &a.body["id"]), (200, &delivered["id"]), "{}", a.body);
    rest.get(&format!("/webhook-deliveries/{did}"), &stranger_token).await.problem(404);
    let q = ra_list(json!({"project_id": pid, "status": ["delivered", "dead"]}), Some((0, 9)), None);
    let a = rest.get(&format!("/webhook-deliveries?{q}"), &stranger_token).await;
    assert_eq!((a.status.as_u16(), a.header("x-total-count")), (200, "0"), "{}", a.body);
    // The attempt writes the delivery log; the task's own outcome is recorded just after it.
    let task = finished_task(&rest, &owner_token, delivered["task_id"].as_str().unwrap()).await;
    assert_eq!((task["kind"].as_str(), task["status"].as_str()), (Some("webhook.deliver"), Some("succeeded")));

    let dead = delivery_with_status(&rest, &owner_token, &hooks[1], "dead").await;
    assert_eq!(dead["response_status"], 500, "{dead}");
    let tid = dead["task_id"].as_str().unwrap().to_string();
    let task = finished_task(&rest, &owner_token, &tid).await;
    assert_eq!(task["status"], "dead", "{task}");
    assert_eq!(task["attempts"], task["max_attempts"], "{task}");
    assert!(!task["last_error"].as_str().unwrap().is_empty(), "{task}");
    assert!(bad_hits.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    let a = rest.get(&format!("/tasks?{}", ra_list(json!({"status": "dead"}), None, None)), &owner_token).await;
    assert!(a.body.as_array().unwrap().iter().any(|t| t["id"] == tid.as_str()), "{}", a.body);
    rest.call(Method::POST, &format!("/tasks/{tid}/cancel"), Some(&owner_token), None).await.problem(409);
    rest.call(Method::POST, &format!("/tasks/{tid}/retry"), Some(&stranger_token), None).await.problem(404);

    // Retry runs it again with a fresh budget; cancel stops it while it waits (queued or failed).
    let deadline = Instant::now() + Duration::from_secs(30);
    let cancelled = 'outer: loop {
        let a = rest.call(Method::POST, &format!("/tasks/{tid}/retry"), Some(&owner_token), None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!((a.body["status"].as_str(), a.body["attempts"].as_i64()), (Some("queued"), Some(0)), "{}", a.body);
        loop {
            let a = rest.call(Method::POST, &format!("/tasks/{tid}/cancel"), Some(&owner_token), None).await;
            if a.status == 200 {
                break 'outer a.body;
            }
            assert_eq!(a.problem(409)["reason"], "TASK_NOT_CANCELLABLE");
            assert!(Instant::now() < deadline, "never caught the task waiting");
            let status = rest.get(&format!("/tasks/{tid}"), &owner_token).await.body["status"].clone();
            if status == "dead" {
                break;
            }
        }
    };
    assert_eq!(cancelled["status"], "cancelled", "{cancelled}");
    assert_eq!(finished_task(&rest, &owner_token, &tid).await["status"], "cancelled");
    rest.call(Method::POST, &format!("/tasks/{tid}/cancel"), Some(&owner_token), None).await.problem(409);
}
