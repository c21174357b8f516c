//! graphql-edge end to end for tasks, project exports and webhooks against a real core-svc: the
//! shapes, the Relay connections, and the error mapping for each role.

mod graphql_support;
mod webhook_receiver;

use proto::Services as _;
use std::time::{Duration, Instant};

use graphql_support::{Stack, spawn};
use serde_json::{Value, json};
use tests::{api as pb, api::MemberRole, authed, value};

const NIL: &str = "00000000-0000-0000-0000-000000000000";
const TASK_FIELDS: &str = "id kind status attempts maxAttempts runAt progress result lastError createdBy projectId
    createdAt updatedAt version";
const WEBHOOK_FIELDS: &str =
    "id projectId url eventTypes active description secret createdBy createdAt updatedAt version etag";

async fn set_config(s: &Stack, token: &str, project_id: &str, key: &str, v: Value) {
    s.core
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

/// Polls `task(id)` until it has finished (bounded), and returns it.
async fn finished_task(s: &Stack, token: &str, id: &str) -> Value {
    let q = format!("query($id: ID!) {{ task(id: $id) {{ {TASK_FIELDS} }} }}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = s.ok(Some(token), &q, json!({"id": id})).await["task"].clone();
        let status = t["status"].as_str().unwrap_or_default().to_string();
        if !matches!(status.as_str(), "QUEUED" | "RUNNING") {
            return t;
        }
        assert!(Instant::now() < deadline, "task still {status} after 30 s: {t}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn export_project_follow_the_task_and_read_the_document() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (owner, owner_token) = s.user(&admin, "gql-owner").await;
    let (viewer, viewer_token) = s.user(&admin, "gql-viewer").await;
    let (_, stranger_token) = s.user(&admin, "gql-stranger").await;
    let project = s.core.project(&owner_token, "gql-export").await;
    let pid = project.id.as_str();
    s.core.add_member(&owner_token, pid, &viewer.id, MemberRole::Viewer).await;
    set_config(&s, &owner_token, pid, "theme", json!("dark")).await;
    set_config(&s, &owner_token, pid, "theme", json!("light")).await;

    let export = format!("mutation($p: ID!) {{ exportProject(projectId: $p) {{ {TASK_FIELDS} }} }}");
    s.err(Some(&viewer_token), &export, json!({"p": pid}), "FORBIDDEN").await;
    s.err(Some(&stranger_token), &export, json!({"p": pid}), "NOT_FOUND").await;
    s.err(None, &export, json!({"p": pid}), "UNAUTHENTICATED").await;
    s.err(Some(&owner_token), &export, json!({"p": "nope"}), "BAD_USER_INPUT").await;

    let t = s.ok(Some(&owner_token), &export, json!({"p": pid})).await["exportProject"].clone();
    assert_eq!(t["kind"], "project.export");
    assert_eq!(t["projectId"], pid);
    assert_eq!(t["createdBy"], owner.id.as_str());
    assert!(matches!(t["status"].as_str(), Some("QUEUED" | "RUNNING" | "SUCCEEDED")), "{t}");
    assert!(t["maxAttempts"].as_i64().unwrap() >= 1, "{t}");
    let tid = t["id"].as_str().unwrap().to_string();

    let done = finished_task(&s, &owner_token, &tid).await;
    assert_eq!(done["status"], "SUCCEEDED", "{done}");
    assert_eq!(done["progress"], 100);
    assert!(done["result"].is_object(), "{done}");
    assert!(done["lastError"].is_null(), "{done}");

    let q = "query($t: ID!) { projectExport(taskId: $t) }";
    let doc = s.ok(Some(&owner_token), q, json!({"t": tid})).await["projectExport"].clone();
    assert_eq!(doc["project"]["id"], pid, "{doc}");
    assert_eq!(doc["members"].as_array().unwrap().len(), 2, "{doc}");
    let theme = doc["configs"].as_array().unwrap().iter().find(|c| c["key"] == "theme").cloned().unwrap();
    assert_eq!((theme["value"].clone(), theme["revisions"].as_array().unwrap().len()), (json!("light"), 2));
    s.err(Some(&stranger_token), q, json!({"t": tid}), "NOT_FOUND").await;

    // Lists: filter, order, connection.
    let list = format!(
        "query($f: TaskFilter, $o: TaskOrder, $first: Int, $after: String) {{
            tasks(first: $first, after: $after, filter: $f, orderBy: $o) {{
                totalCount pageInfo {{ hasNextPage hasPreviousPage endCursor }} edges {{ cursor node {{ {TASK_FIELDS} }} }} }} }}"
    );
    let f = json!({"status": ["SUCCEEDED"], "kind": "project.export", "projectId": pid});
    let o = json!({"field": "CREATED_AT", "direction": "DESC"});
    let d = s.ok(Some(&owner_token), &list, json!({"f": f, "o": o, "first": 10})).await;
    assert_eq!(d["tasks"]["totalCount"], 1, "{d}");
    assert_eq!(d["tasks"]["edges"][0]["node"]["id"], tid.as_str());
    assert_eq!(d["tasks"]["pageInfo"]["hasNextPage"], false);
    let d = s.ok(Some(&owner_token), &list, json!({"f": {"status": ["DEAD", "CANCELLED"]}})).await;
    assert_eq!(d["tasks"]["totalCount"], 0, "{d}");
    let d = s.ok(Some(&stranger_token), &list, json!({})).await;
    assert_eq!(d["tasks"]["totalCount"], 0, "{d}");
    s.err(Some(&owner_token), &list, json!({"first": 101}), "BAD_USER_INPUT").await;
    s.err(Some(&owner_token), &list, json!({"after": "nope"}), "BAD_USER_INPUT").await;
    s.err(Some(&owner_token), &list, json!({"f": {"status": ["SIDEWAYS"]}}), "BAD_USER_INPUT").await;

    // Finished tasks can be neither cancelled nor retried; unknown ones are not found.
    let cancel = "mutation($id: ID!) { cancelTask(id: $id) { id status } }";
    let retry = "mutation($id: ID!) { retryTask(id: $id) { id status } }";
    s.err(Some(&owner_token), cancel, json!({"id": tid}), "CONFLICT").await;
    s.err(Some(&owner_token), retry, json!({"id": tid}), "CONFLICT").await;
    s.err(Some(&stranger_token), cancel, json!({"id": tid}), "NOT_FOUND").await;
    s.err(Some(&admin), retry, json!({"id": NIL}), "NOT_FOUND").await;
    s.err(Some(&admin), "{ task(id: \"00000000-0000-0000-0000-000000000000\") { id } }", json!({}), "NOT_FOUND").await;
    s.err(Some(&admin), "{ task(id: \"x\") { id } }", json!({}), "BAD_USER_INPUT").await;
    assert_eq!(finished_task(&s, &owner_token, &tid).await["version"], done["version"]);
}

#[tokio::test]
async fn webhooks_as_owner_with_connections_and_errors_by_role() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (owner, owner_token) = s.user(&admin, "gql-hook-owner").await;
    let (viewer, viewer_token) = s.user(&admin, "gql-hook-viewer").await;
    let (_, stranger_token) = s.user(&admin, "gql-hook-stranger").await;
    let project = s.core.project(&owner_token, "gql-hooks").await;
    let pid = project.id.as_str();
    s.core.add_member(&owner_token, pid, &viewer.id, MemberRole::Viewer).await;
    let t = Some(owner_token.as_str());

    let create = format!("mutation($i: CreateWebhookInput!) {{ createWebhook(input: $i) {{ {WEBHOOK_FIELDS} }} }}");
    let input = |n: u32| {
        json!({"projectId": pid, "url": format!("https://hooks.example.com/{n}"), "eventTypes": ["config.*"],
               "description": format!("hook {n}")})
    };
    let w = s.ok(t, &create, json!({"i": input(1)})).await["createWebhook"].clone();
    assert_eq!((w["active"].clone(), w["version"].clone()), (json!(true), json!(1)));
    assert_eq!(w["eventTypes"], json!(["config.*"]));
    assert_eq!(w["createdBy"], owner.id.as_str());
    assert!(w["secret"].as_str().is_some_and(|s| s.len() >= 16), "{w}");
    let wid = w["id"].as_str().unwrap().to_string();
    let mut second = input(2);
    second["secret"] = json!("gql-own-secret-0123456789");
    let w2 = s.ok(t, &create, json!({"i": second})).await["createWebhook"].clone();
    assert_eq!((w2["active"].clone(), w2["secret"].clone()), (json!(true), json!("gql-own-secret-0123456789")));
    let off = "mutation($id: ID!) { updateWebhook(id: $id, input: {active: false}) { active version secret } }";
    let d = s.ok(t, off, json!({"id": w2["id"]})).await;
    assert_eq!(d["updateWebhook"], json!({"active": false, "version": 2, "secret": null}));

    // Project.webhooks: a connection, never with secrets; Webhook.deliveries under it.
    let hooks = "query($id: ID!, $first: Int, $after: String) { project(id: $id) {
        webhooks(first: $first, after: $after) { totalCount pageInfo { hasNextPage endCursor }
          edges { cursor node { id url active secret version deliveries(first: 5) { totalCount
            edges { node { id status eventType attempts taskId } } } } } } } }";
    let d = s.ok(t, hooks, json!({"id": pid, "first": 1})).await;
    let conn = &d["project"]["webhooks"];
    assert_eq!((conn["totalCount"].clone(), conn["pageInfo"]["hasNextPage"].clone()), (json!(2), json!(true)));
    assert_eq!(conn["edges"][0]["node"]["id"], wid.as_str());
    assert!(conn["edges"][0]["node"]["secret"].is_null(), "{d}");
    assert!(conn["edges"][0]["node"]["deliveries"]["totalCount"].is_number(), "{d}");
    let after = conn["pageInfo"]["endCursor"].clone();
    let d = s.ok(t, hooks, json!({"id": pid, "first": 5, "after": after})).await;
    let conn = &d["project"]["webhooks"];
    assert_eq!(conn["edges"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(
        (conn["edges"][0]["node"]["active"].clone(), conn["pageInfo"]["hasNextPage"].clone()),
        (json!(false), json!(false))
    );

    // update: fields left out stay; stale version → CONFLICT; a new secret shows once
    let update = format!(
        "mutation($id: ID!, $i: UpdateWebhookInput!, $x: Int) {{
            updateWebhook(id: $id, input: $i, expectedVersion: $x) {{ {WEBHOOK_FIELDS} }} }}"
    );
    let u = s
        .ok(t, &update, json!({"id": wid, "i": {"url": "https://hooks.example.com/v2", "active": false}, "x": 1}))
        .await["updateWebhook"]
        .clone();
    assert_eq!(
        (u["url"].as_str(), u["active"].as_bool(), u["version"].as_i64()),
        (Some("https://hooks.example.com/v2"), Some(false), Some(2))
    );
    assert_eq!((u["eventTypes"].clone(), u["description"].clone()), (json!(["config.*"]), json!("hook 1")));
    assert!(u["secret"].is_null(), "{u}");
    let e = s.err(t, &update, json!({"id": wid, "i": {"active": true}, "x": 1}), "CONFLICT").await;
    assert_eq!(e["extensions"]["reason"], "VERSION_MISMATCH");
    let u =
        s.ok(t, &update, json!({"id": wid, "i": {"secret": "gql-rotated-0123456789"}})).await["updateWebhook"].clone();
    assert_eq!((u["secret"].as_str(), u["version"].as_i64()), (Some("gql-rotated-0123456789"), Some(3)));
    s.err(t, &update, json!({"id": wid, "i": {}}), "BAD_USER_INPUT").await;

    // bad input: core's violations, the framework's type errors; nothing written
    for (i, field) in [
        (json!({"projectId": pid, "url": "not a url", "eventTypes": ["*"]}), "url"),
        (json!({"projectId": pid, "url": "ftp://hooks.example.com", "eventTypes": ["*"]}), "url"),
        (json!({"projectId": pid, "url": "https://hooks.example.com", "eventTypes": []}), "event_types"),
        (
            json!({"projectId": pid, "url": "https://hooks.example.com", "eventTypes": ["*"], "secret": "short"}),
            "secret",
        ),
        (json!({"projectId": "nope", "url": "https://hooks.example.com", "eventTypes": ["*"]}), "project_id"),
    ] {
        let e = s.err(t, &create, json!({"i": i}), "BAD_USER_INPUT").await;
        let fields: Vec<_> = e["extensions"]["fieldViolations"]
            .as_array()
            .unwrap_or_else(|| panic!("no violations: {e}"))
            .iter()
            .map(|v| v["field"].as_str().unwrap().to_string())
            .collect();
        assert!(fields.iter().any(|f| f.contains(field)), "{i}: {e}");
    }
    for i in [
        json!({"projectId": pid, "url": "https://hooks.example.com", "eventTypes": ["*"], "active": false}),
        json!({"projectId": pid, "url": "https://hooks.example.com"}),
        json!({"projectId": pid, "url": 5, "eventTypes": ["*"]}),
    ] {
        s.err(t, &create, json!({"i": i}), "BAD_USER_INPUT").await;
    }
    s.err(t, &update, json!({"id": wid, "i": {"eventTypes": []}}), "BAD_USER_INPUT").await;
    let d = s.ok(t, "query($id: ID!) { project(id: $id) { webhooks { totalCount } } }", json!({"id": pid})).await;
    assert_eq!(d["project"]["webhooks"]["totalCount"], 2, "{d}");

    // viewers are members without the role; strangers do not see the project
    let e = s.err(Some(&viewer_token), hooks, json!({"id": pid}), "FORBIDDEN").await;
    assert_eq!(e["path"], json!(["project", "webhooks"]), "{e}");
    s.err(Some(&viewer_token), &create, json!({"i": input(3)}), "FORBIDDEN").await;
    s.err(Some(&viewer_token), &update, json!({"id": wid, "i": {"active": true}}), "FORBIDDEN").await;
    s.err(Some(&stranger_token), hooks, json!({"id": pid}), "NOT_FOUND").await;
    s.err(Some(&stranger_token), &create, json!({"i": input(3)}), "NOT_FOUND").await;
    s.err(Some(&stranger_token), &update, json!({"id": wid, "i": {"active": true}}), "NOT_FOUND").await;

    // delete: stale → CONFLICT; then the webhook as it was, and it is gone
    let delete = "mutation($id: ID!, $x: Int) { deleteWebhook(id: $id, expectedVersion: $x) { id version } }";
    s.err(Some(&viewer_token), delete, json!({"id": wid}), "FORBIDDEN").await;
    s.err(t, delete, json!({"id": wid, "x": 1}), "CONFLICT").await;
    let d = s.ok(t, delete, json!({"id": wid, "x": 3})).await;
    assert_eq!(d["deleteWebhook"], json!({"id": wid, "version": 3}));
    s.err(t, delete, json!({"id": wid}), "NOT_FOUND").await;
    let d = s.ok(t, "query($id: ID!) { project(id: $id) { webhooks { totalCount } } }", json!({"id": pid})).await;
    assert_eq!(d["project"]["webhooks"]["totalCount"], 1, "{d}");
}

/// A webhook's delivery log as a connection, and `retryTask` / `cancelTask` on a dead delivery.
#[tokio::test]
async fn webhook_deliveries_and_retrying_and_cancelling_a_task() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (_, owner_token) = s.user(&admin, "gql-deliveries").await;
    let project = s.core.project(&owner_token, "gql-deliveries").await;
    let pid = project.id.as_str();
    let t = Some(owner_token.as_str());
    let (ok_url, _) = webhook_receiver::receiver(200).await;
    let (bad_url, _) = webhook_receiver::receiver(503).await;
    let create = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { id } }";
    let mut ids = Vec::new();
    for url in [&ok_url, &bad_url] {
        let d = s.ok(t, create, json!({"i": {"projectId": pid, "url": url, "eventTypes": ["config.set"]}})).await;
        ids.push(d["createWebhook"]["id"].as_str().unwrap().to_string());
    }
    set_config(&s, &owner_token, pid, "hooked", json!(true)).await;

    let q = "query($id: ID!) { project(id: $id) { webhooks { edges { node { id deliveries(first: 5) {
        totalCount edges { node { id webhookId projectId eventId eventSeq eventType status attempts responseStatus
        responseBody lastError durationMs taskId createdAt updatedAt deliveredAt } } } } } } } }";
    let deadline = Instant::now() + Duration::from_secs(30);
    let (delivered, dead) = loop {
        let d = s.ok(t, q, json!({"id": pid})).await;
        let first = |i: usize| d["project"]["webhooks"]["edges"][i]["node"]["deliveries"]["edges"][0]["node"].clone();
        let (a, b) = (first(0), first(1));
        if a["status"] == "DELIVERED" && b["status"] == "DEAD" {
            break (a, b);
        }
        assert!(Instant::now() < deadline, "deliveries not done after 30 s: {d}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        (delivered["webhookId"].as_str(), delivered["eventType"].as_str()),
        (Some(ids[0].as_str()), Some("config.set"))
    );
    assert_eq!((delivered["responseStatus"].as_i64(), delivered["responseBody"].as_str()), (Some(200), Some("ok")));
    assert!(delivered["deliveredAt"].is_string() && delivered["lastError"].is_null(), "{delivered}");
    assert_eq!(dead["responseStatus"], 503, "{dead}");
    assert!(dead["lastError"].is_string() && dead["deliveredAt"].is_null(), "{dead}");

    let tid = dead["taskId"].as_str().unwrap().to_string();
    let task = finished_task(&s, &owner_token, &tid).await;
    assert_eq!((task["kind"].as_str(), task["status"].as_str()), (Some("webhook.deliver"), Some("DEAD")));
    let list = "{ tasks(filter: {status: [DEAD], kind: \"webhook.*\"}) { totalCount edges { node { id } } } }";
    let d = s.ok(t, list, json!({})).await;
    assert_eq!(d["tasks"]["edges"][0]["node"]["id"], tid.as_str(), "{d}");

    let retry = "mutation($id: ID!) { retryTask(id: $id) { id status attempts } }";
    let cancel = "mutation($id: ID!) { cancelTask(id: $id) { id status } }";
    s.err(t, cancel, json!({"id": tid}), "CONFLICT").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    'outer: loop {
        let d = s.ok(t, retry, json!({"id": tid})).await;
        assert_eq!(d["retryTask"], json!({"id": tid, "status": "QUEUED", "attempts": 0}));
        loop {
            let r = s.gql(t, cancel, json!({"id": tid})).await;
            if r.get("errors").is_none() {
                assert_eq!(r["data"]["cancelTask"]["status"], "CANCELLED", "{r}");
                break 'outer;
            }
            let e = graphql_support::error_with_code(&r, "CONFLICT");
            assert_eq!(e["extensions"]["reason"], "TASK_NOT_CANCELLABLE");
            assert!(Instant::now() < deadline, "never caught the task waiting");
            if finished_task(&s, &owner_token, &tid).await["status"] == "DEAD" {
                break;
            }
        }
    }
    assert_eq!(finished_task(&s, &owner_token, &tid).await["status"], "CANCELLED");
}
