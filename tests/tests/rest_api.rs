//! rest-edge end to end: the real core-svc and the REST edge on loopback, driven over HTTP the
//! way React Admin (ra-data-simple-rest) and json-server clients drive it.

use std::time::Instant;

mod rest_support;

use reqwest::Method;
use rest_support::{ra_list, spawn_rest};
use serde_json::json;

#[tokio::test]
async fn projects_crud_with_content_range_and_versions() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;

    // create → 201 + record
    let mut ids = Vec::new();
    for i in 0..12 {
        let a = rest
            .call(
                Method::POST,
                "/projects",
                Some(&admin),
                Some(json!({"slug": format!("shop-{i:02}"), "name": format!("Shop {i:02}"), "description": "d"})),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["slug"], format!("shop-{i:02}"));
        assert_eq!(a.body["status"], "active");
        assert_eq!(a.body["version"], 1);
        assert_eq!(a.header("etag"), "\"1\"");
        ids.push(a.body["id"].as_str().unwrap().to_string());
    }

    // getList, ra-data-simple-rest style, with the Range header too
    let q = ra_list(json!({"q": "shop", "status": "active"}), Some((10, 19)), Some(("name", "ASC")));
    let a = rest.raw(Method::GET, &format!("/projects?{q}"), Some(&admin), None, &[("range", "projects=10-19")]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("content-range"), "projects 10-11/12");
    assert_eq!(a.header("x-total-count"), "12");
    let names: Vec<_> = a.body.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Shop 10", "Shop 11"]);

    // getMany
    let q = ra_list(json!({"id": [ids[0], ids[3]]}), None, None);
    let a = rest.get(&format!("/projects?{q}"), &admin).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body.as_array().unwrap().len(), 2);

    // json-server style
    let a = rest.get("/projects?_start=0&_end=5&_sort=created_at&_order=desc&status=active", &admin).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("x-total-count"), "12");
    assert_eq!(a.body.as_array().unwrap().len(), 5);
    assert_eq!(a.body[0]["id"], ids[11].as_str());
    let a = rest.get(&format!("/projects?id={}&id={}", ids[1], ids[2]), &admin).await;
    assert_eq!(a.body.as_array().unwrap().len(), 2, "{}", a.body);

    // getOne
    let a = rest.get(&format!("/projects/{}", ids[0]), &admin).await;
    assert_eq!(a.status, 200);
    let mut record = a.body.clone();

    // update with the full record; then the same (stale) version again → 409
    record["name"] = json!("Renamed");
    let a = rest.call(Method::PUT, &format!("/projects/{}", ids[0]), Some(&admin), Some(record.clone())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!((a.body["name"].as_str(), a.body["version"].as_i64()), (Some("Renamed"), Some(2)));
    record["name"] = json!("Lost update");
    let a = rest.call(Method::PUT, &format!("/projects/{}", ids[0]), Some(&admin), Some(record.clone())).await;
    a.problem(409);
    // If-Match wins over the body
    let a = rest
        .raw(
            Method::PUT,
            &format!("/projects/{}", ids[0]),
            Some(&admin),
            Some(record.to_string()),
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["version"], 3);

    // archive / unarchive
    let a = rest.call(Method::POST, &format!("/projects/{}/archive", ids[1]), Some(&admin), None).await;
    assert_eq!((a.status.as_u16(), a.body["status"].as_str()), (200, Some("archived")), "{}", a.body);
    let a = rest.call(Method::PUT, &format!("/projects/{}", ids[1]), Some(&admin), Some(json!({"name": "x"}))).await;
    a.problem(409);
    let a = rest.call(Method::POST, &format!("/projects/{}/unarchive", ids[1]), Some(&admin), None).await;
    assert_eq!(a.body["status"], "active");

    // delete → the deleted record, as React Admin sends it (text/plain, no body)
    let a = rest
        .raw(Method::DELETE, &format!("/projects/{}", ids[2]), Some(&admin), None, &[("content-type", "text/plain")])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["id"], ids[2].as_str());
    rest.get(&format!("/projects/{}", ids[2]), &admin).await.problem(404);
}

#[tokio::test]
async fn non_members_get_404_viewers_get_403() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let (viewer, viewer_token) = rest.core.user(&admin, "viewer").await;
    let (_, stranger_token) = rest.core.user(&admin, "stranger").await;
    let project = rest.core.project(&admin, "secret").await;
    rest.core.add_member(&admin, &project.id, &viewer.id, tests::api::MemberRole::Viewer).await;

    rest.get(&format!("/projects/{}", project.id), &stranger_token).await.problem(404);
    let a = rest.get("/projects", &stranger_token).await;
    assert_eq!((a.status.as_u16(), a.header("x-total-count")), (200, "0"));
    let a = rest.get(&format!("/projects/{}", project.id), &viewer_token).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["my_role"], "viewer");
    let a = rest.call(Method::PUT, &format!("/projects/{}", project.id), Some(&viewer_token), Some(a.body)).await;
    a.problem(403);
    let a = rest
        .call(
            Method::POST,
            "/configs",
            Some(&viewer_token),
            Some(json!({"project_id": project.id, "key": "a", "value": 1})),
        )
        .await;
    a.problem(403);
    // no credentials at all
    rest.call(Method::GET, "/projects", None, None).await.problem(401);
    rest.call(Method::GET, "/projects", Some("garbage"), None).await.problem(401);
}

#[tokio::test]
async fn members_and_configs_with_history_rollback_import_and_effective_config() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let (user, _) = rest.core.user(&admin, "editor").await;
    let project = rest.core.project(&admin, "cfg").await;
    let pid = project.id.as_str();

    // members: create, getManyReference, update, delete
    let a = rest
        .call(
            Method::POST,
            "/members",
            Some(&admin),
            Some(json!({"project_id": pid, "user_id": user.id, "role": "viewer"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let member = a.body.clone();
    let a = rest
        .get(
            &format!("/members?{}", ra_list(json!({"project_id": pid}), Some((0, 24)), Some(("created_at", "DESC")))),
            &admin,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.header("content-range"), "members 0-1/2");
    let mut m = member.clone();
    m["role"] = json!("editor");
    let a = rest
        .call(Method::PUT, &format!("/members/{}", member["id"].as_str().unwrap()), Some(&admin), Some(m.clone()))
        .await;
    assert_eq!((a.status.as_u16(), a.body["role"].as_str()), (200, Some("editor")), "{}", a.body);
    let a =
        rest.call(Method::PUT, &format!("/members/{}", member["id"].as_str().unwrap()), Some(&admin), Some(m)).await;
    a.problem(409);

    // configs: create, duplicate → 409, update, stale → 409, rollback, delete
    let a = rest
        .call(
            Method::POST,
            "/configs",
            Some(&admin),
            Some(json!({"project_id": pid, "key": "checkout.enabled", "value": true})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.body["value"], true);
    let cfg = a.body.clone();
    let cid = cfg["id"].as_str().unwrap().to_string();
    let a = rest
        .call(
            Method::POST,
            "/configs",
            Some(&admin),
            Some(json!({"project_id": pid, "key": "checkout.enabled", "value": 1})),
        )
        .await;
    a.problem(409);
    let mut c = cfg.clone();
    c["value"] = json!({"limit": 5, "tags": ["a", "b"]});
    let a = rest.call(Method::PUT, &format!("/configs/{cid}"), Some(&admin), Some(c.clone())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["value"], json!({"limit": 5, "tags": ["a", "b"]}));
    assert_eq!(a.body["version"], 2);
    let a = rest.call(Method::PUT, &format!("/configs/{cid}"), Some(&admin), Some(c)).await;
    assert_eq!(a.problem(409)["reason"], "VERSION_MISMATCH");

    // effective config, ETag, If-None-Match → 304
    let a = rest.get(&format!("/projects/{pid}/config"), &admin).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body, json!({"checkout.enabled": {"limit": 5, "tags": ["a", "b"]}}));
    let etag = a.header("etag").to_string();
    assert!(!etag.is_empty());
    let a = rest
        .raw(Method::GET, &format!("/projects/{pid}/config"), Some(&admin), None, &[("if-none-match", &etag)])
        .await;
    assert_eq!(a.status, 304);
    assert_eq!(a.header("etag"), etag);

    let a = rest
        .call(Method::POST, &format!("/configs/{cid}/rollback"), Some(&admin), Some(json!({"to_version": 1})))
        .await;
    assert_eq!((a.status.as_u16(), &a.body["value"], &a.body["version"]), (200, &json!(true), &json!(3)), "{}", a.body);

    // import: all or nothing
    let a = rest
        .call(
            Method::POST,
            &format!("/projects/{pid}/import"),
            Some(&admin),
            Some(json!({"entries": [{"key": "a", "value": 1}, {"key": "b", "value": "two"}]})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body.as_array().unwrap().len(), 2);
    let a = rest
        .call(
            Method::POST,
            &format!("/projects/{pid}/import"),
            Some(&admin),
            Some(json!({"entries": [{"key": "c", "value": 1}, {"key": "BAD KEY", "value": 2}]})),
        )
        .await;
    a.problem(422);
    let a = rest
        .get(&format!("/configs?{}", ra_list(json!({"project_id": pid}), Some((0, 9)), Some(("key", "ASC")))), &admin)
        .await;
    let keys: Vec<_> = a.body.as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert_eq!(keys, ["a", "b", "checkout.enabled"]);

    // history
    let a = rest
        .get(
            &format!(
                "/config-revisions?{}",
                ra_list(json!({"config_id": cid}), Some((0, 9)), Some(("version", "ASC")))
            ),
            &admin,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let ops: Vec<_> = a.body.as_array().unwrap().iter().map(|r| r["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["set", "set", "rollback"]);
    let rid = a.body[0]["id"].as_str().unwrap();
    assert_eq!(rest.get(&format!("/config-revisions/{rid}"), &admin).await.body["version"], 1);

    let a = rest
        .raw(Method::DELETE, &format!("/configs/{cid}"), Some(&admin), None, &[("content-type", "text/plain")])
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["id"], cid.as_str());
    assert!(a.body["deleted_at"].is_string());

    let a = rest
        .raw(Method::DELETE, &format!("/members/{}", member["id"].as_str().unwrap()), Some(&admin), None, &[])
        .await;
    assert_eq!((a.status.as_u16(), a.body["id"].clone()), (200, member["id"].clone()));
}

#[tokio::test]
async fn bad_input_is_problem_json_and_writes_nothing() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let bad_lists = [
        "/projects?filter=%7B",
        "/projects?filter=%5B1%5D",
        "/projects?filter=%7B%22nope%22%3A1%7D",
        "/projects?range=%5B5%2C1%5D",
        "/projects?range=%5B-1%2C3%5D",
        "/projects?range=%5B0%2C100000%5D",
        "/projects?range=%5B0%2C99999999999999999999%5D",
        "/projects?range=x",
        "/projects?sort=%5B%22nope%22%2C%22ASC%22%5D",
        "/projects?sort=%5B%22name%22%2C%22SIDEWAYS%22%5D",
        "/projects?_start=-1",
        "/projects?_start=abc",
        "/projects?bogus=1",
        "/configs?filter=%7B%22deleted%22%3A%22maybe%22%7D",
        "/members?filter=%7B%22project_id%22%3A%22not-a-uuid%22%7D",
    ];
    for path in bad_lists {
        let a = rest.get(path, &admin).await;
        assert!(matches!(a.status.as_u16(), 400 | 422), "{path}: {} {}", a.status, a.body);
        a.problem(a.status.as_u16());
    }
    // bad ids: the schema says `format: uuid`, so a malformed one is unparsable input
    // names the parameter as the path and the OpenAPI document do (`id`), never poem's internal one.
    for path in ["/projects/not-a-uuid", "/configs/x/rollback", "/members/1"] {
        let method = if path.ends_with("rollback") { Method::POST } else { Method::GET };
        let a = rest.raw(method, path, Some(&admin), Some("{}".into()), &[]).await;
        let p = a.problem(400);
        let text = p.to_string();
        assert!(!text.contains("param0"), "{path}: {text}");
        assert_eq!(p["errors"][0]["field"], "id", "{path}: {text}");
    }

    // malformed JSON, wrong types, oversize body, validation
    let a = rest.raw(Method::POST, "/projects", Some(&admin), Some("{\"slug\":".into()), &[]).await;
    a.problem(400);
    let a = rest.call(Method::POST, "/projects", Some(&admin), Some(json!({"slug": 5, "name": []}))).await;
    a.problem(400);
    let big = json!({"slug": "big", "name": "x".repeat(2 * 1024 * 1024)}).to_string();
    let a = rest.raw(Method::POST, "/projects", Some(&admin), Some(big), &[]).await;
    a.problem(413);
    let a = rest.call(Method::POST, "/projects", Some(&admin), Some(json!({"slug": "NO", "name": ""}))).await;
    let p = a.problem(422);
    assert!(!p["errors"].as_array().unwrap().is_empty(), "{p}");
    let a = rest.raw(Method::PUT, "/projects/x", Some(&admin), Some("{}".into()), &[("if-match", "nonsense")]).await;
    a.problem(400);
    // unknown route and method
    rest.get("/nope", &admin).await.problem(404);
    let a = rest.call(Method::DELETE, "/config-revisions", Some(&admin), None).await;
    assert!(a.status.is_client_error());
    a.problem(a.status.as_u16());

    // nothing was written
    let a = rest.get("/projects", &admin).await;
    assert_eq!(a.header("x-total-count"), "0", "{}", a.body);
}

/// Input of the wrong JSON type is refused as the OpenAPI document says (schemathesis ST201):
/// a string field takes neither `false` nor a number, a required one not `null`, an id is a
/// UUID, `expires_at` an RFC 3339 date-time, `version` is not negative; optional fields are `nullable` and `null` means "not given".
#[tokio::test]
async fn wrong_json_types_are_rejected_as_the_schema_says() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let bad_bodies = [
        (Method::POST, "/projects", json!({"slug": false, "name": "Wrong types"})),
        (Method::POST, "/projects", json!({"slug": "wrong-types", "name": 0})),
        (Method::POST, "/projects", json!({"slug": "wrong-types", "name": "x", "description": true})),
        (Method::POST, "/projects", json!({"slug": "wrong-types", "name": "x", "version": -1})),
        (Method::POST, "/api-tokens", json!({"name": 5})),
        (Method::POST, "/api-tokens", json!({"name": "t", "expires_at": false})),
        (Method::POST, "/api-tokens", json!({"name": "t", "expires_at": "tomorrow"})),
        (Method::POST, "/settings", json!({"key": true, "value": 1})),
        (Method::POST, "/members", json!({"project_id": "not-a-uuid", "user_id": 1, "role": "viewer"})),
        (Method::POST, "/configs", json!({"project_id": false, "key": "k", "value": 1})),
        (Method::POST, "/users", json!({"email": ["a@b.c"], "name": "x", "password": "long-enough-1"})),
        (Method::POST, "/auth/login", json!({"email": null, "password": "x"})),
        (Method::POST, "/auth/login", json!({"email": "a@b.c", "password": false})),
        (Method::POST, "/auth/refresh", json!({"refresh_token": 7})),
    ];
    for (method, path, body) in bad_bodies {
        let a = rest.call(method.clone(), path, Some(&admin), Some(body.clone())).await;
        assert!(matches!(a.status.as_u16(), 400 | 422), "{method} {path} {body}: {} {}", a.status, a.body);
        a.problem(a.status.as_u16());
    }
    let bad_params = [
        "/projects?sort=%5B%22name%22%2C%22SIDEWAYS%22%5D",
        "/projects?range=%5B0%2C1.5%5D",
        "/users/00000000-0000-0000-0000",
        "/events/0192f3a41b2c7d8e9f00112233445566",
    ];
    for path in bad_params {
        rest.get(path, &admin).await.problem(400);
    }
    let a = rest
        .raw(Method::DELETE, &format!("/projects/{}", uuid_nil()), Some(&admin), None, &[("if-match", "\"x\"")])
        .await;
    a.problem(400);

    // `null` is the documented "not given"; the record is created and untouched by it.
    let a = rest
        .call(
            Method::POST,
            "/projects",
            Some(&admin),
            Some(json!({"slug": "nullable", "name": "N", "description": null})),
        )
        .await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.body);
    let id = a.body["id"].as_str().unwrap().to_string();
    let a = rest
        .call(
            Method::PUT,
            &format!("/projects/{id}"),
            Some(&admin),
            Some(json!({"name": "M", "slug": null, "owner_id": null, "version": null})),
        )
        .await;
    assert_eq!(
        (a.status.as_u16(), a.body["name"].clone(), a.body["slug"].clone()),
        (200, json!("M"), json!("nullable"))
    );
    let a = rest.call(Method::POST, "/api-tokens", Some(&admin), Some(json!({"name": "t", "expires_at": null}))).await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.body);
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let a = rest
        .raw(
            Method::OPTIONS,
            "/projects",
            None,
            None,
            &[
                ("origin", "http://admin.example"),
                ("access-control-request-method", "PUT"),
                ("access-control-request-headers", "authorization, content-type, range, if-match, if-none-match"),
            ],
        )
        .await;
    assert!(a.status.is_success(), "{}", a.status);
    assert_eq!(a.header("access-control-allow-origin"), "http://admin.example");
    let allowed = a.header("access-control-allow-headers").to_ascii_lowercase();
    for h in ["authorization", "content-type", "range", "if-match", "if-none-match"] {
        assert!(allowed.contains(h), "{allowed}");
    }
    let a = rest.raw(Method::GET, "/projects", Some(&admin), None, &[("origin", "http://admin.example")]).await;
    let exposed = a.header("access-control-expose-headers").to_ascii_lowercase();
    for h in ["content-range", "x-total-count", "etag", "x-request-id"] {
        assert!(exposed.contains(h), "{exposed}");
    }
    let a = rest.raw(Method::GET, "/projects", Some(&admin), None, &[("origin", "http://evil.example")]).await;
    assert_ne!(a.header("access-control-allow-origin"), "http://evil.example");
    assert!(a.status.is_client_error(), "{}", a.status);
    a.problem(a.status.as_u16());
}

#[tokio::test]
async fn openapi_json_yaml_and_docs_are_served() {
    let rest = spawn_rest().await;
    let a = rest.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(a.status, 200);
    assert!(a.body["paths"]["/projects"].is_object());
    let yaml = rest.raw(Method::GET, "/openapi.yaml", None, None, &[]).await;
    assert_eq!(yaml.status, 200);
    let docs = rest.raw(Method::GET, "/docs", None, None, &[]).await;
    assert_eq!(docs.status, 200);
}

#[tokio::test]
async fn auth_users_settings_api_tokens_and_events() {
    let rest = spawn_rest().await;

    // auth: login, me, refresh, logout
    let login = json!({"email": rest.core.admin_email, "password": tests::ADMIN_PASSWORD});
    let a = rest.call(Method::POST, "/auth/login", None, Some(login.clone())).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["token_type"], "Bearer");
    assert_eq!(a.body["user"]["role"], "admin");
    let admin = a.body["access_token"].as_str().unwrap().to_string();
    let refresh = a.body["refresh_token"].as_str().unwrap().to_string();
    let a = rest.get("/auth/me", &admin).await;
    assert_eq!((a.status.as_u16(), a.body["email"].as_str()), (200, Some(rest.core.admin_email.as_str())));
    let a = rest.call(Method::POST, "/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let rotated = a.body["refresh_token"].as_str().unwrap().to_string();
    rest.call(Method::POST, "/auth/refresh", None, Some(json!({"refresh_token": refresh}))).await.problem(401);
    let a = rest.call(Method::POST, "/auth/logout", None, Some(json!({"refresh_token": rotated}))).await;
    assert_eq!(a.status, 204, "{}", a.body);
    let bad = json!({"email": rest.core.admin_email, "password": "wrong-password-123"});
    rest.call(Method::POST, "/auth/login", None, Some(bad)).await.problem(401);
    let admin = rest.core.admin_token().await;

    // users: create, list, update with version, stale → 409, disable
    let a = rest
        .call(
            Method::POST,
            "/users",
            Some(&admin),
            Some(json!({"email": "ada@platform.test", "name": "Ada", "password": "correct-horse-battery"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!((a.body["role"].as_str(), a.body["status"].as_str()), (Some("user"), Some("active")));
    assert!(a.body.get("password").is_none());
    let mut user = a.body.clone();
    let uid = user["id"].as_str().unwrap().to_string();
    let a = rest
        .get(&format!("/users?{}", ra_list(json!({"q": "ada"}), Some((0, 9)), Some(("email", "ASC")))), &admin)
        .await;
    assert_eq!((a.status.as_u16(), a.header("content-range")), (200, "users 0-0/1"), "{}", a.body);
    user["name"] = json!("Ada L.");
    let a = rest.call(Method::PUT, &format!("/users/{uid}"), Some(&admin), Some(user.clone())).await;
    assert_eq!((a.status.as_u16(), a.body["name"].as_str()), (200, Some("Ada L.")), "{}", a.body);
    rest.call(Method::PUT, &format!("/users/{uid}"), Some(&admin), Some(user.clone())).await.problem(409);
    let a = rest
        .call(
            Method::POST,
            "/users",
            Some(&admin),
            Some(json!({"email": "ADA@platform.test", "name": "x", "password": "correct-horse-battery"})),
        )
        .await;
    a.problem(409);
    let a = rest
        .call(
            Method::POST,
            "/users",
            Some(&admin),
            Some(json!({"email": "x@platform.test", "name": "x", "password": "short"})),
        )
        .await;
    assert_eq!(a.problem(422)["errors"][0]["field"], "password", "{}", a.body);

    // settings
    let a = rest
        .call(Method::POST, "/settings", Some(&admin), Some(json!({"key": "auth.signup_enabled", "value": true})))
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let mut setting = a.body.clone();
    let sid = setting["id"].as_str().unwrap().to_string();
    setting["value"] = json!(false);
    let a = rest.call(Method::PUT, &format!("/settings/{sid}"), Some(&admin), Some(setting.clone())).await;
    assert_eq!((a.status.as_u16(), &a.body["value"]), (200, &json!(false)), "{}", a.body);
    rest.call(Method::PUT, &format!("/settings/{sid}"), Some(&admin), Some(setting)).await.problem(409);
    let a = rest
        .call(Method::POST, "/settings", Some(&admin), Some(json!({"key": "events.retention_days", "value": "x"})))
        .await;
    a.problem(422);
    let a = rest.get("/settings?filter=%7B%22key%22%3A%22auth.signup_enabled%22%7D", &admin).await;
    assert_eq!(a.header("x-total-count"), "1", "{}", a.body);
    let a = rest
        .raw(Method::DELETE, &format!("/settings/{sid}"), Some(&admin), None, &[("content-type", "text/plain")])
        .await;
    assert_eq!((a.status.as_u16(), a.body["id"].as_str()), (200, Some(sid.as_str())), "{}", a.body);

    // api tokens: create (secret once), use it, list, revoke
    let a = rest.call(Method::POST, "/api-tokens", Some(&admin), Some(json!({"name": "ci"}))).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let secret = a.body["token"].as_str().unwrap().to_string();
    let tid = a.body["id"].as_str().unwrap().to_string();
    assert_eq!(rest.get("/auth/me", &secret).await.status, 200);
    let a = rest.get(&format!("/api-tokens/{tid}"), &admin).await;
    assert!(a.body.get("token").is_none(), "{}", a.body);
    let a = rest.get("/api-tokens?filter=%7B%22revoked%22%3Afalse%7D", &admin).await;
    assert_eq!(a.header("x-total-count"), "1", "{}", a.body);
    let a = rest.raw(Method::DELETE, &format!("/api-tokens/{tid}"), Some(&admin), None, &[]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body["revoked_at"].is_string());
    rest.get("/auth/me", &secret).await.problem(401);
    rest.call(Method::POST, "/api-tokens", Some(&admin), Some(json!({"name": "x", "expires_at": "yesterday"})))
        .await
        .problem(400);

    // events: the audit trail of what happened above
    let deadline = Instant::now() + std::time::Duration::from_secs(10);
    let events = loop {
        let a = rest
            .get(
                &format!("/events?{}", ra_list(json!({"type": "user.*"}), Some((0, 49)), Some(("seq", "ASC")))),
                &admin,
            )
            .await;
        assert_eq!(a.status, 200, "{}", a.body);
        if a.body.as_array().unwrap().len() >= 2 || Instant::now() > deadline {
            break a.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let first = &events[0];
    assert_eq!(first["type"], "user.created");
    assert_eq!(first["resource_type"], "user");
    let a = rest.get(&format!("/events/{}", first["id"].as_str().unwrap()), &admin).await;
    assert_eq!(a.body["seq"], first["seq"]);
    let a = rest.get(&format!("/events?seq_gt={}&_sort=seq&_order=asc", first["seq"]), &admin).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.body.as_array().unwrap().iter().all(|e| e["seq"].as_i64() > first["seq"].as_i64()));
    let a = rest.call(Method::POST, "/events", Some(&admin), Some(json!({}))).await;
    a.problem(405);
    assert_eq!(a.header("allow"), "GET, OPTIONS");
}

fn uuid_nil() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}

/// Two writers of one config, neither sending a version: B raises the value 1, 2, 3, … while A
/// sets only the description. A's writes must never carry back a value the edge read before one
/// of B's writes (they used to, silently reverting B): the value never goes down in the history.
#[tokio::test]
async fn put_without_a_precondition_never_reverts_a_concurrent_write() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let project = rest.core.project(&admin, "two-writers").await;
    let a = rest
        .call(
            Method::POST,
            "/configs",
            Some(&admin),
            Some(json!({"project_id": project.id, "key": "limit", "value": 0, "description": "d"})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    let cid = a.body["id"].as_str().unwrap().to_string();
    let path = format!("/configs/{cid}");
    const ROUNDS: i64 = 40;
    // Each PUT is written, or — only when other writes kept getting in between — refused with
    // 409 and nothing written.
    let put = |body: serde_json::Value| {
        let (rest, admin, path) = (&rest, &admin, &path);
        async move {
            let a = rest.call(Method::PUT, path, Some(admin), Some(body)).await;
            match a.status.as_u16() {
                200 => true,
                409 if a.body["reason"] == "VERSION_MISMATCH" => false,
                _ => panic!("{}", a.body),
            }
        }
    };
    let writer_b = async {
        let mut last = 0;
        for i in 1..=ROUNDS {
            if put(json!({"value": i})).await {
                last = i;
            }
        }
        last
    };
    let writer_a = async {
        let mut written = 0;
        for i in 0..ROUNDS {
            written += i64::from(put(json!({"description": format!("a{i}")})).await);
        }
        written
    };
    let (last_of_b, written_by_a) = tokio::join!(writer_b, writer_a);
    assert!(written_by_a > 0 && last_of_b > 0);

    let a = rest
        .get(
            &format!(
                "/config-revisions?{}",
                ra_list(json!({"config_id": cid}), Some((0, 999)), Some(("version", "ASC")))
            ),
            &admin,
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let values: Vec<i64> = a.body.as_array().unwrap().iter().map(|r| r["value"].as_i64().unwrap()).collect();
    assert!(values.len() as i64 > written_by_a + 1, "{values:?}");
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "a write reverted the value: {values:?}");
    assert_eq!(*values.last().unwrap(), last_of_b);

    // With a version, a stale write is refused; `If-Match: *` writes over any version.
    let a = rest.call(Method::PUT, &path, Some(&admin), Some(json!({"value": -1, "version": 1}))).await;
    assert_eq!(a.problem(409)["reason"], "VERSION_MISMATCH");
    let a =
        rest.raw(Method::PUT, &path, Some(&admin), Some(json!({"value": 7}).to_string()), &[("if-match", "*")]).await;
    assert_eq!((a.status.as_u16(), a.body["value"].as_i64()), (200, Some(7)), "{}", a.body);
}

/// A credential larger than any token the platform issues is the client's input: 401, not the
/// 500 that core-svc's HTTP/2 header limit (431, without a gRPC status) used to turn into.
#[tokio::test]
async fn an_oversized_bearer_token_is_401() {
    let rest = spawn_rest().await;
    for len in [5_000, 20_000, 60_000] {
        let token = "a".repeat(len);
        for (method, path, body) in [
            (Method::GET, "/projects", None),
            (Method::GET, "/auth/me", None),
            (Method::POST, "/auth/logout", Some(json!({"refresh_token": "x"}))),
        ] {
            let a = rest.call(method.clone(), path, Some(&token), body).await;
            assert_eq!(a.problem(401)["reason"], "INVALID_TOKEN", "{method} {path}: {}", a.body);
        }
    }
}

/// Deeply nested JSON values: a documented limit (32 levels) and a message for people, never
/// the protobuf decoder's internals.
#[tokio::test]
async fn too_deeply_nested_values_get_a_readable_422() {
    let rest = spawn_rest().await;
    let admin = rest.core.admin_token().await;
    let project = rest.core.project(&admin, "deep").await;
    let nested = |levels: usize| (0..levels).fold(json!(true), |v, _| json!([v]));
    let a = rest
        .call(
            Method::POST,
            "/configs",
            Some(&admin),
            Some(json!({"project_id": project.id, "key": "ok", "value": nested(32)})),
        )
        .await;
    assert_eq!(a.status, 201, "{}", a.body);
    for levels in [33, 45, 60, 120] {
        let a = rest
            .call(
                Method::POST,
                "/configs",
                Some(&admin),
                Some(json!({"project_id": project.id, "key": "deep", "value": nested(levels)})),
            )
            .await;
        let p = a.problem(422);
        let text = p.to_string();
        assert!(text.contains("32 levels"), "{levels}: {text}");
        assert!(!text.contains("protobuf") && !text.contains("recursion"), "{levels}: {text}");
    }
}
