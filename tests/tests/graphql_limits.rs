//! graphql-edge under bad input: every violation is a GraphQL error with a code, never a 5xx
//! (docs/PRODUCT.md §10), and nothing runs.

mod graphql_support;

use graphql_support::{error_with_code, spawn};
use serde_json::json;

#[tokio::test]
async fn malformed_documents_and_variables_are_bad_user_input() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let t = Some(admin.as_str());
    for (query, variables) in [
        // syntax error
        ("{ me { id ", json!({})),
        // unknown field
        ("{ me { id noSuchField } }", json!({})),
        // unknown argument
        ("{ projects(nope: 1) { totalCount } }", json!({})),
        // wrong variable type
        ("query($f: Int) { projects(first: $f) { totalCount } }", json!({"f": "ten"})),
        // missing required variable
        ("query($id: ID!) { user(id: $id) { id } }", json!({})),
        // wrong enum
        ("{ projects(filter: {status: DELETED}) { totalCount } }", json!({})),
    ] {
        let r = s.gql(t, query, variables).await;
        error_with_code(&r, "BAD_USER_INPUT");
    }
}

#[tokio::test]
async fn page_size_depth_and_complexity_are_capped() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let t = Some(admin.as_str());

    let e = s.err(t, "{ projects(first: 100000) { totalCount } }", json!({}), "BAD_USER_INPUT").await;
    assert_eq!(e["extensions"]["fieldViolations"][0]["field"], "first");
    s.err(t, "{ users(first: -1) { totalCount } }", json!({}), "BAD_USER_INPUT").await;
    s.ok(t, "{ projects(first: 100) { totalCount } }", json!({})).await;

    // 13 deep next to data (introspection alone may go to 20: `deep_data_is_refused_but_tools_can_introspect`).
    let deep = "{ me { id } __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } }";
    let r = s.gql(t, deep, json!({})).await;
    let e = error_with_code(&r, "BAD_USER_INPUT");
    assert!(e["message"].as_str().unwrap().to_lowercase().contains("nested"), "{e}");

    let complex = "{ projects(first: 100) { edges { node { members(first: 100) { edges { node { user { email name } } } } } } } }";
    let r = s.gql(t, complex, json!({})).await;
    let e = error_with_code(&r, "BAD_USER_INPUT");
    assert!(e["message"].as_str().unwrap().to_lowercase().contains("complex"), "{e}");
}

#[tokio::test]
async fn oversized_and_non_json_bodies_get_graphql_errors() {
    let s = spawn().await;
    let padding = " ".repeat(1024 * 1024 + 10);
    let body = serde_json::to_vec(&json!({"query": format!("{{ me {{ id }} }}{padding}")})).unwrap();
    let (status, r) = s.post(None, body).await;
    assert_eq!(status, 413);
    error_with_code(&r, "BAD_USER_INPUT");

    for body in [&b"not json"[..], b"{\"query\": 1}", b"", b"\xff\xfe"] {
        let (status, r) = s.post(None, body.to_vec()).await;
        assert_eq!(status, 400, "{r}");
        error_with_code(&r, "BAD_USER_INPUT");
    }

    // A body just under the limit is read and executed.
    let padding = " ".repeat(1024 * 1000);
    let body = serde_json::to_vec(&json!({"query": format!("{{ me {{ id }} }}{padding}")})).unwrap();
    let (status, r) = s.post(None, body).await;
    assert_eq!(status, 200);
    error_with_code(&r, "UNAUTHENTICATED");
}

#[tokio::test]
async fn batches_and_request_ids() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let body = serde_json::to_vec(&json!([{"query": "{ me { email } }"}, {"query": "{ nope }"}])).unwrap();
    let (status, r) = s.post(Some(&admin), body).await;
    assert_eq!(status, 200);
    assert_eq!(r[0]["data"]["me"]["email"], s.core.admin_email.as_str());
    error_with_code(&r[1], "BAD_USER_INPUT");
    let many: Vec<_> = (0..21).map(|_| json!({"query": "{ me { id } }"})).collect();
    let (status, r) = s.post(Some(&admin), serde_json::to_vec(&many).unwrap()).await;
    assert_eq!(status, 400);
    error_with_code(&r, "BAD_USER_INPUT");

    // A client's x-request-id is echoed in the error.
    let resp = s
        .http
        .post(s.url())
        .header("x-request-id", "gql-test-rid-1")
        .json(&json!({"query": "{ me { id } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "gql-test-rid-1");
    let r: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(r["errors"][0]["extensions"]["requestId"], "gql-test-rid-1");
}

#[tokio::test]
async fn automatic_persisted_queries() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let query = "{ me { email } }";
    let ext = |hash: &str| json!({"persistedQuery": {"version": 1, "sha256Hash": hash}});
    // Apollo clients send the hex SHA-256 of the query text.
    let real_hash = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(query.as_bytes()))
    };
    // Unknown hash: the client is told to send the query.
    let body = serde_json::to_vec(&json!({"extensions": ext(&real_hash)})).unwrap();
    let (_, r) = s.post(Some(&admin), body).await;
    assert_eq!(r["errors"][0]["message"], "PersistedQueryNotFound", "{r}");
    // Query with hash registers it; the hash alone then works.
    let body = serde_json::to_vec(&json!({"query": query, "extensions": ext(&real_hash)})).unwrap();
    let (_, r) = s.post(Some(&admin), body).await;
    assert_eq!(r["data"]["me"]["email"], s.core.admin_email.as_str(), "{r}");
    let body = serde_json::to_vec(&json!({"extensions": ext(&real_hash)})).unwrap();
    let (_, r) = s.post(Some(&admin), body).await;
    assert_eq!(r["data"]["me"]["email"], s.core.admin_email.as_str(), "{r}");
}
