//! graphql-edge end to end: every operation against a real core-svc, the error mapping for each
//! role, pagination to the end, and the gRPC cost of a nested list (DataLoader).

mod graphql_support;

use graphql_support::{spawn, spawn_with};
use serde_json::json;
use tests::{ADMIN_PASSWORD, api::MemberRole};

const PROJECT_FIELDS: &str = "id slug name description status ownerId myRole version etag createdAt updatedAt";

const BROWSER_ACCEPT: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

/// Without a deployed GraphiQL a browser gets a page that says how to deploy it, and loads nothing
/// from anywhere (a page that pulled GraphiQL from a CDN stayed blank offline).
#[tokio::test]
async fn without_graphiql_a_browser_is_told_how_to_add_it() {
    let s = spawn().await;
    let r = s.http.get(s.url()).header("accept", BROWSER_ACCEPT).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(text.contains("GRAPHIQL_DIR") && text.contains("GraphiQL"), "{text}");
    for external in ["<script", "src=", "href=", "<link"] {
        assert!(!text.contains(external), "{external} in {text}");
    }
}

/// With `GRAPHIQL_DIR`, the build's `index.html` answers a browser's `GET /graphql` (read anew on
/// each request, never cached) and its files are served under `/graphiql/`; queries over GET still
/// run.
#[tokio::test]
async fn graphiql_is_served_from_the_edge_itself() {
    let dir = std::env::temp_dir().join(format!("graphiql-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    let index = r#"<!doctype html><script type="module" src="/graphiql/assets/main-1a2b.js"></script>"#;
    std::fs::write(dir.join("index.html"), index).unwrap();
    std::fs::write(dir.join("assets/main-1a2b.js"), "console.log('graphiql')").unwrap();
    let s = spawn_with(&[(graphql_edge::config::GRAPHIQL_DIR_VAR, dir.to_str().unwrap())]).await;
    let base = format!("http://{}", s.addr);

    let r = s.http.get(s.url()).header("accept", BROWSER_ACCEPT).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(r.headers()["cache-control"], "no-cache");
    assert_eq!(r.text().await.unwrap(), index);

    let r = s.http.get(format!("{base}/graphiql/assets/main-1a2b.js")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().contains("javascript"));
    assert_eq!(r.text().await.unwrap(), "console.log('graphiql')");
    let r = s.http.get(format!("{base}/graphiql/assets/nope.js")).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let url = reqwest::Url::parse_with_params(&s.url(), [("query", "{ __typename }")]).unwrap();
    let r = s.http.get(url).header("accept", "application/json").send().await.unwrap();
    assert_eq!(r.text().await.unwrap(), r#"{"data":{"__typename":"Query"}}"#);

    // A deployment that changed under the edge: a clear 503, not a panic or an empty page.
    std::fs::remove_dir_all(&dir).unwrap();
    let r = s.http.get(s.url()).header("accept", BROWSER_ACCEPT).send().await.unwrap();
    assert_eq!(r.status(), 503);
    let v: serde_json::Value = r.json().await.unwrap();
    assert!(v["errors"][0]["message"].as_str().unwrap().contains("GraphiQL"), "{v}");
}

#[tokio::test]
async fn login_me_refresh_logout() {
    let s = spawn().await;
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) {
        accessToken refreshToken tokenType accessTokenExpiresAt user { email role } } }";
    let d = s.ok(None, login, json!({"e": s.core.admin_email, "p": ADMIN_PASSWORD})).await;
    let access = d["login"]["accessToken"].as_str().unwrap().to_string();
    let refresh = d["login"]["refreshToken"].as_str().unwrap().to_string();
    assert_eq!(d["login"]["tokenType"], "Bearer");
    assert_eq!(d["login"]["user"]["role"], "ADMIN");

    let me = s.ok(Some(&access), "{ me { id email role status } }", json!({})).await;
    assert_eq!(me["me"]["email"], s.core.admin_email.as_str());

    // Anonymous and bad credentials: core decides, the edge maps.
    let e = s.err(None, "{ me { id } }", json!({}), "UNAUTHENTICATED").await;
    assert_eq!(e["extensions"]["reason"], "MISSING_CREDENTIALS");
    s.err(Some("garbage"), "{ me { id } }", json!({}), "UNAUTHENTICATED").await;
    s.err(None, login, json!({"e": s.core.admin_email, "p": "wrong-password-123"}), "UNAUTHENTICATED").await;

    let rotate = "mutation($t: String!) { refreshToken(refreshToken: $t) { accessToken refreshToken } }";
    let d = s.ok(None, rotate, json!({"t": refresh})).await;
    let access2 = d["refreshToken"]["accessToken"].as_str().unwrap().to_string();
    s.ok(Some(&access2), "{ me { id } }", json!({})).await;

    let d = s.ok(Some(&access2), "mutation { logout }", json!({})).await;
    assert_eq!(d["logout"], true);
    s.err(Some(&access2), "{ me { id } }", json!({}), "UNAUTHENTICATED").await;
    // The rotated-away refresh token is dead too.
    s.err(None, rotate, json!({"t": refresh}), "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn projects_configs_history_and_conflicts() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (_, owner) = s.user(&admin, "owner").await;
    let t = Some(owner.as_str());

    let create = format!(
        "mutation($i: CreateProjectInput!) {{ createProject(input: $i) {{ {PROJECT_FIELDS} owner {{ name }} }} }}"
    );
    let p = s.ok(t, &create, json!({"i": {"slug": "gql-one", "name": "One", "description": "d"}})).await;
    let p = &p["createProject"];
    let id = p["id"].as_str().unwrap().to_string();
    assert_eq!(p["myRole"], "OWNER");
    assert_eq!(p["status"], "ACTIVE");
    assert_eq!(p["owner"]["name"], "owner");
    assert_eq!(p["version"], 1);
    // Duplicate slug: CONFLICT with core's reason.
    let e = s.err(t, &create, json!({"i": {"slug": "gql-one", "name": "Again"}}), "CONFLICT").await;
    assert_eq!(e["extensions"]["reason"], "SLUG_TAKEN");
    // Invalid input: field violations.
    let e = s.err(t, &create, json!({"i": {"slug": "X", "name": ""}}), "BAD_USER_INPUT").await;
    let fields: Vec<_> =
        e["extensions"]["fieldViolations"].as_array().unwrap().iter().map(|v| v["field"].clone()).collect();
    assert!(fields.contains(&json!("slug")), "{e}");

    let by_slug = s.ok(t, "{ project(slug: \"gql-one\") { id } }", json!({})).await;
    assert_eq!(by_slug["project"]["id"], id.as_str());
    s.err(t, "{ project { id } }", json!({}), "BAD_USER_INPUT").await;
    s.err(t, "{ project(id: \"0190b5a4-0000-7000-8000-000000000001\") { id } }", json!({}), "NOT_FOUND").await;

    let set = "mutation($p: ID!, $k: String!, $v: JSON!, $d: String, $x: Int) {
        setConfig(projectId: $p, key: $k, value: $v, description: $d, expectedVersion: $x) { id key value version etag description } }";
    let c = s
        .ok(t, set, json!({"p": id, "k": "feature.flags", "v": {"a": 1, "b": [true, "x"]}, "d": "flags", "x": 0}))
        .await;
    let cid = c["setConfig"]["id"].as_str().unwrap().to_string();
    assert_eq!(c["setConfig"]["value"], json!({"a": 1, "b": [true, "x"]}));
    assert_eq!(c["setConfig"]["version"], 1);
    let c = s.ok(t, set, json!({"p": id, "k": "feature.flags", "v": 2, "x": 1})).await;
    assert_eq!(c["setConfig"]["version"], 2);
    // Stale expected version: CONFLICT, nothing written.
    let e = s.err(t, set, json!({"p": id, "k": "feature.flags", "v": 3, "x": 1}), "CONFLICT").await;
    assert_eq!(e["extensions"]["reason"], "VERSION_MISMATCH");
    s.ok(t, set, json!({"p": id, "k": "other", "v": "text"})).await;

    let q = "query($id: ID!) { project(id: $id) { configValues
        configs { totalCount edges { cursor node { key version } } }
        config(key: \"feature.flags\") { version value history { totalCount edges { node { version op value authorId createdAt } } } } } }";
    let d = s.ok(t, q, json!({"id": id})).await;
    let p = &d["project"];
    assert_eq!(p["configValues"], json!({"feature.flags": 2, "other": "text"}));
    assert_eq!(p["configs"]["totalCount"], 2);
    assert_eq!(p["config"]["value"], 2);
    let history = &p["config"]["history"];
    assert_eq!(history["totalCount"], 2);
    assert_eq!(history["edges"][0]["node"]["version"], 2);
    assert_eq!(history["edges"][1]["node"]["op"], "SET");

    let rollback = "mutation($id: ID!) { rollbackConfig(id: $id, version: 1, expectedVersion: 2) { version value } }";
    let d = s.ok(t, rollback, json!({"id": cid})).await;
    assert_eq!(d["rollbackConfig"]["version"], 3);
    assert_eq!(d["rollbackConfig"]["value"], json!({"a": 1, "b": [true, "x"]}));
    let del = "mutation($id: ID!, $x: Int) { deleteConfig(id: $id, expectedVersion: $x) { version deletedAt } }";
    s.err(t, del, json!({"id": cid, "x": 1}), "CONFLICT").await;
    let d = s.ok(t, del, json!({"id": cid, "x": 3})).await;
    assert!(d["deleteConfig"]["deletedAt"].is_string());

    let import =
        "mutation($p: ID!, $e: [ConfigEntryInput!]!) { importConfigs(projectId: $p, entries: $e) { key value } }";
    let d = s
        .ok(
            t,
            import,
            json!({"p": id, "e": [{"key": "a.b", "value": [1]}, {"key": "c", "value": null, "description": "n"}]}),
        )
        .await;
    assert_eq!(d["importConfigs"].as_array().unwrap().len(), 2);
    // All or nothing: one bad key fails the whole import.
    s.err(
        t,
        import,
        json!({"p": id, "e": [{"key": "ok.key", "value": 1}, {"key": "BAD KEY", "value": 1}]}),
        "BAD_USER_INPUT",
    )
    .await;
    let d = s.ok(t, "query($id: ID!) { project(id: $id) { configValues } }", json!({"id": id})).await;
    assert_eq!(d["project"]["configValues"], json!({"other": "text", "a.b": [1], "c": null}));

    let update = "mutation($id: ID!, $i: UpdateProjectInput!, $x: Int) { updateProject(id: $id, input: $i, expectedVersion: $x) { name description version } }";
    let d = s.ok(t, update, json!({"id": id, "i": {"name": "Renamed"}, "x": 1})).await;
    assert_eq!(d["updateProject"]["name"], "Renamed");
    assert_eq!(d["updateProject"]["description"], "d");
    s.err(t, update, json!({"id": id, "i": {"name": "Stale"}, "x": 1}), "CONFLICT").await;
    s.err(t, update, json!({"id": id, "i": {}}), "BAD_USER_INPUT").await;

    let d = s.ok(t, "mutation($id: ID!) { archiveProject(id: $id) { status } }", json!({"id": id})).await;
    assert_eq!(d["archiveProject"]["status"], "ARCHIVED");
    let e = s.err(t, set, json!({"p": id, "k": "x", "v": 1}), "CONFLICT").await;
    assert_eq!(e["extensions"]["reason"], "PROJECT_ARCHIVED");
    let d = s.ok(t, "mutation($id: ID!) { unarchiveProject(id: $id) { status } }", json!({"id": id})).await;
    assert_eq!(d["unarchiveProject"]["status"], "ACTIVE");
    let d = s.ok(t, "mutation($id: ID!) { deleteProject(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(d["deleteProject"]["id"], id.as_str());
    s.err(t, "query($id: ID!) { project(id: $id) { id } }", json!({"id": id}), "NOT_FOUND").await;
}

#[tokio::test]
async fn members_and_roles_map_to_codes() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (_, owner) = s.user(&admin, "owner").await;
    let (editor_user, editor) = s.user(&admin, "editor").await;
    let (viewer_user, viewer) = s.user(&admin, "viewer").await;
    let (_, stranger) = s.user(&admin, "stranger").await;
    let p = s.core.project(&owner, "roles").await;
    let add = "mutation($p: ID!, $u: ID, $e: String, $r: MemberRole!) { addMember(projectId: $p, userId: $u, email: $e, role: $r) { id role userId user { email } } }";
    let d = s.ok(Some(&owner), add, json!({"p": p.id, "u": editor_user.id, "r": "EDITOR"})).await;
    assert_eq!(d["addMember"]["user"]["email"], editor_user.email.as_str());
    let d = s.ok(Some(&owner), add, json!({"p": p.id, "e": viewer_user.email, "r": "EDITOR"})).await;
    let viewer_member = d["addMember"]["id"].as_str().unwrap().to_string();
    let e = s.err(Some(&owner), add, json!({"p": p.id, "u": editor_user.id, "r": "VIEWER"}), "CONFLICT").await;
    assert_eq!(e["extensions"]["reason"], "ALREADY_MEMBER");

    let upd = "mutation($id: ID!, $r: MemberRole!, $x: Int) { updateMember(id: $id, role: $r, expectedVersion: $x) { role version } }";
    let d = s.ok(Some(&owner), upd, json!({"id": viewer_member, "r": "VIEWER", "x": 1})).await;
    assert_eq!(d["updateMember"]["role"], "VIEWER");
    s.err(Some(&owner), upd, json!({"id": viewer_member, "r": "VIEWER", "x": 1}), "CONFLICT").await;

    let set = "mutation($p: ID!) { setConfig(projectId: $p, key: \"k\", value: 1) { version } }";
    let read = "query($p: ID!) { project(id: $p) { myRole configValues members { totalCount edges { node { role user { email } } } } } }";
    // viewer reads, cannot write; editor writes; stranger sees nothing; admin sees everything.
    let d = s.ok(Some(&viewer), read, json!({"p": p.id})).await;
    assert_eq!(d["project"]["myRole"], "VIEWER");
    assert_eq!(d["project"]["members"]["totalCount"], 3);
    // The first page comes from the batched loader, later ones from ListMembers with skip: the
    // cursors agree.
    let page = "query($p: ID!, $after: String) { project(id: $p) { members(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } } }";
    let first = s.ok(Some(&viewer), page, json!({"p": p.id})).await;
    let m = &first["project"]["members"];
    assert_eq!(m["pageInfo"]["hasNextPage"], true);
    let second = s.ok(Some(&viewer), page, json!({"p": p.id, "after": m["pageInfo"]["endCursor"]})).await;
    let m2 = &second["project"]["members"];
    assert_eq!(m2["pageInfo"]["hasNextPage"], false);
    assert_eq!(m2["totalCount"], 3);
    let mut ids: Vec<_> = m["edges"]
        .as_array()
        .unwrap()
        .iter()
        .chain(m2["edges"].as_array().unwrap())
        .map(|e| e["node"]["id"].clone())
        .map(|v| v.to_string())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 3);
    s.err(Some(&viewer), set, json!({"p": p.id}), "FORBIDDEN").await;
    s.ok(Some(&editor), set, json!({"p": p.id})).await;
    s.err(Some(&editor), upd, json!({"id": viewer_member, "r": "OWNER"}), "FORBIDDEN").await;
    s.err(Some(&stranger), read, json!({"p": p.id}), "NOT_FOUND").await;
    s.err(Some(&stranger), set, json!({"p": p.id}), "NOT_FOUND").await;
    let d = s.ok(Some(&admin), read, json!({"p": p.id})).await;
    assert_eq!(d["project"]["myRole"], "OWNER");
    let d = s.ok(Some(&stranger), "{ projects { totalCount } }", json!({})).await;
    assert_eq!(d["projects"]["totalCount"], 0);

    let rm = "mutation($id: ID!) { removeMember(id: $id) { id } }";
    s.err(Some(&editor), rm, json!({"id": viewer_member}), "FORBIDDEN").await;
    s.ok(Some(&owner), rm, json!({"id": viewer_member})).await;
    s.err(Some(&viewer), read, json!({"p": p.id}), "NOT_FOUND").await;
}

#[tokio::test]
async fn pagination_walks_forward_to_the_end() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (_, owner) = s.user(&admin, "pager").await;
    for i in 0..7 {
        s.core.project(&owner, &format!("page{i}")).await;
    }
    let q = "query($after: String) { projects(first: 3, after: $after, orderBy: {field: SLUG, direction: DESC}) {
        totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { slug } } } }";
    let mut after: Option<String> = None;
    let mut slugs = Vec::new();
    let mut pages = 0;
    loop {
        let d = s.ok(Some(&owner), q, json!({"after": after})).await;
        let c = &d["projects"];
        assert_eq!(c["totalCount"], 7);
        assert_eq!(c["pageInfo"]["hasPreviousPage"], after.is_some());
        slugs.extend(c["edges"].as_array().unwrap().iter().map(|e| e["node"]["slug"].as_str().unwrap().to_string()));
        pages += 1;
        if c["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = Some(c["pageInfo"]["endCursor"].as_str().unwrap().to_string());
        assert!(pages < 10);
    }
    assert_eq!(pages, 3);
    let mut sorted = slugs.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(slugs, sorted);
    sorted.dedup();
    assert_eq!(sorted.len(), 7);

    // Filters are quoted: a hostile value is a value, not filter syntax.
    let f = "query($s: String) { projects(filter: {search: $s, status: ACTIVE}) { totalCount } }";
    assert_eq!(s.ok(Some(&owner), f, json!({"s": "page3"})).await["projects"]["totalCount"], 1);
    assert_eq!(s.ok(Some(&owner), f, json!({"s": "x\" OR \"page"})).await["projects"]["totalCount"], 0);
    s.err(Some(&owner), q, json!({"after": "not-a-cursor"}), "BAD_USER_INPUT").await;
}

#[tokio::test]
async fn users_settings_events_and_api_tokens() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (alice, alice_token) = s.user(&admin, "alice").await;
    let a = Some(alice_token.as_str());

    let d = s
        .ok(
            Some(&admin),
            "{ users(filter: {role: USER}, orderBy: {field: EMAIL}) { totalCount edges { node { email role } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["users"]["totalCount"], 1);
    assert_eq!(d["users"]["edges"][0]["node"]["email"], alice.email.as_str());
    let d = s.ok(Some(&admin), "query($id: ID!) { user(id: $id) { name status } }", json!({"id": alice.id})).await;
    assert_eq!(d["user"]["status"], "ACTIVE");

    let set = "mutation($v: JSON!) { setSetting(key: \"events.retention_days\", value: $v, description: \"days\") { key value version } }";
    s.err(a, set, json!({"v": 7}), "FORBIDDEN").await;
    s.err(Some(&admin), set, json!({"v": "many"}), "BAD_USER_INPUT").await;
    let d = s.ok(Some(&admin), set, json!({"v": 7})).await;
    assert_eq!(d["setSetting"]["value"], 7);
    let d = s
        .ok(
            a,
            "{ setting(key: \"events.retention_days\") { value } settings { totalCount edges { node { key } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["setting"]["value"], 7);
    assert!(d["settings"]["totalCount"].as_i64().unwrap() >= 1);

    let p = s.core.project(&alice_token, "events").await;
    s.ok(a, "mutation($p: ID!) { setConfig(projectId: $p, key: \"k\", value: 1) { id } }", json!({"p": p.id})).await;
    let channel = format!("project:{}", p.id);
    s.core.wait_events(&alice_token, &format!("channel = \"{channel}\""), 2).await;
    let q = "query($c: String!, $after: String) { events(channel: $c, after: $after, first: 1) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { seq type resourceType payload } } } }";
    let d = s.ok(a, q, json!({"c": channel})).await;
    assert_eq!(d["events"]["edges"][0]["node"]["type"], "project.created");
    assert_eq!(d["events"]["pageInfo"]["hasNextPage"], true);
    let after = d["events"]["pageInfo"]["endCursor"].as_str().unwrap().to_string();
    let d = s.ok(a, q, json!({"c": channel, "after": after})).await;
    assert_eq!(d["events"]["edges"][0]["node"]["type"], "config.set");
    assert_eq!(d["events"]["pageInfo"]["hasNextPage"], false);
    let (_, bob) = s.user(&admin, "bob").await;
    // Another user's project channel: core's visibility rules apply (nothing, or an error).
    let r = s.gql(Some(&bob), q, json!({"c": channel})).await;
    assert!(r["errors"].is_array() || r["data"]["events"]["totalCount"] == 0, "{r}");

    let create = "mutation { createApiToken(name: \"ci\") { token apiToken { id name prefix } } }";
    let d = s.ok(a, create, json!({})).await;
    let token = d["createApiToken"]["token"].as_str().unwrap().to_string();
    let token_id = d["createApiToken"]["apiToken"]["id"].as_str().unwrap().to_string();
    let me = s.ok(Some(&token), "{ me { email } }", json!({})).await;
    assert_eq!(me["me"]["email"], alice.email.as_str());
    let d = s.ok(a, "mutation($id: ID!) { revokeApiToken(id: $id) { revokedAt } }", json!({"id": token_id})).await;
    assert!(d["revokeApiToken"]["revokedAt"].is_string());
    s.err(Some(&token), "{ me { email } }", json!({}), "UNAUTHENTICATED").await;
}

#[tokio::test]
async fn nested_projects_owners_members_cost_constant_grpc_calls() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (_, owner) = s.user(&admin, "owner").await;
    let (u1, _) = s.user(&admin, "m1").await;
    let (u2, _) = s.user(&admin, "m2").await;
    for i in 0..50 {
        let p = s.core.project(&owner, &format!("batch{i}")).await;
        s.core.add_member(&owner, &p.id, &u1.id, MemberRole::Editor).await;
        s.core.add_member(&owner, &p.id, &u2.id, MemberRole::Viewer).await;
    }
    let q =
        "{ projects(first: 50) { edges { node { owner { name } members { edges { node { user { email } } } } } } } }";
    let before_lines = s.core_call_lines().await;
    let before = s.core_calls().await;
    let d = s.ok(Some(&owner), q, json!({})).await;
    let after = s.core_calls().await;
    let after_lines = s.core_call_lines().await;
    println!("{}", after_lines.iter().filter(|l| !before_lines.contains(l)).cloned().collect::<Vec<_>>().join("\n"));
    let edges = d["projects"]["edges"].as_array().unwrap();
    assert_eq!(edges.len(), 50);
    for e in edges {
        assert_eq!(e["node"]["owner"]["name"], "owner");
        let members = e["node"]["members"]["edges"].as_array().unwrap();
        assert_eq!(members.len(), 3);
        assert!(members.iter().all(|m| m["node"]["user"]["email"].is_string()));
    }
    let calls = after - before;
    println!("gRPC calls for 50 projects with owners and members: {calls}");
    // Measured: 4 = ListProjects + ListMembers + BatchGetUsers (owners) + BatchGetUsers (member
    // users). One to spare for a batch split by a slow poll on a loaded machine; one call per
    // project or member would be over 100.
    assert!(calls <= 5.0, "{calls} gRPC calls");
}

/// `events(after:)` older than the retained log: OUT_OF_RANGE with `oldestSeq`, not a page that
/// silently starts later.
#[tokio::test]
async fn events_after_an_expired_seq_are_out_of_range() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let project = s.core.project(&admin, "gql-expired").await;
    let channel = format!("project:{}", project.id);
    for i in 0..3 {
        s.ok(
            Some(&admin),
            "mutation($p: ID!, $k: String!, $v: JSON!) { setConfig(projectId: $p, key: $k, value: $v) { version } }",
            json!({"p": project.id, "k": format!("k{i}"), "v": i}),
        )
        .await;
    }
    let filter = format!("channel = \"{channel}\"");
    let seqs: Vec<i64> = s.core.wait_events(&admin, &filter, 4).await.iter().map(|e| e.seq).collect();
    sqlx::query("DELETE FROM events WHERE seq < $1").bind(seqs[2]).execute(&mut s.core.db().await).await.unwrap();
    let query =
        "query($c: String!, $a: String) { events(channel: $c, after: $a, first: 10) { edges { node { seq } } } }";
    let r = s.gql(Some(&admin), query, json!({"c": channel, "a": seqs[0].to_string()})).await;
    let ext = &r["errors"][0]["extensions"];
    assert_eq!(
        (ext["code"].as_str(), ext["oldestSeq"].as_str()),
        (Some("OUT_OF_RANGE"), Some(seqs[2].to_string().as_str())),
        "{r}"
    );
    let r = s.ok(Some(&admin), query, json!({"c": channel, "a": (seqs[2] - 1).to_string()})).await;
    assert_eq!(r["events"]["edges"][0]["node"]["seq"], seqs[2]);
}

/// GraphQL over HTTP: GET runs queries (never mutations: 405 + Allow), a browser gets GraphiQL,
/// `application/graphql-response+json` turns request errors into 400s without `data`, a POST must
/// say it is JSON, and persisted queries work over GET.
#[tokio::test]
async fn get_post_and_media_types_follow_graphql_over_http() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let get = |params: Vec<(&str, String)>, accept: &'static str| {
        let url = reqwest::Url::parse_with_params(&s.url(), &params).unwrap();
        let req = s.http.get(url).header("accept", accept).bearer_auth(&admin);
        async move {
            let r = req.send().await.unwrap();
            let (status, headers) = (r.status().as_u16(), r.headers().clone());
            (status, headers, r.text().await.unwrap())
        }
    };
    let (status, headers, text) = get(vec![("query", "{ me { email } }".into())], "application/json").await;
    assert_eq!(status, 200, "{text}");
    assert!(headers["content-type"].to_str().unwrap().starts_with("application/json"));
    assert!(text.contains(&s.core.admin_email), "{text}");

    let (status, headers, text) =
        get(vec![("query", "mutation { logout }".into())], "application/graphql-response+json").await;
    assert_eq!((status, headers["allow"].to_str().unwrap()), (405, "POST"), "{text}");

    let (status, headers, text) = get(vec![], "text/html,application/xhtml+xml,*/*;q=0.8").await;
    assert_eq!(status, 200);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(text.to_lowercase().contains("graphiql"));

    // A request error: 400 and no `data` with the new media type, 200 with application/json.
    for (accept, status) in [("application/graphql-response+json", 400), ("application/json", 200)] {
        let (got, headers, text) = get(vec![("query", "{ nope }".into())], accept).await;
        assert_eq!(got, status, "{accept}: {text}");
        assert!(headers["content-type"].to_str().unwrap().starts_with(accept));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
        assert!(v.get("data").is_none() || accept == "application/json", "{text}");
    }

    // Persisted over GET: register through POST, then fetch by hash alone.
    let query = "query Me { me { email } }";
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(query.as_bytes()));
    let ext = json!({"persistedQuery": {"version": 1, "sha256Hash": hash}}).to_string();
    let (status, _, text) = get(vec![("extensions", ext.clone())], "application/json").await;
    assert!(status == 200 && text.contains("PersistedQueryNotFound"), "{status} {text}");
    let r = s.gql(Some(&admin), query, json!({})).await;
    assert!(r.get("errors").is_none(), "{r}");
    let registered = s
        .http
        .post(s.url())
        .bearer_auth(&admin)
        .json(&json!({"query": query, "extensions": {"persistedQuery": {"version": 1, "sha256Hash": hash}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 200);
    let (status, _, text) = get(vec![("extensions", ext)], "application/json").await;
    assert_eq!(status, 200, "{text}");
    assert!(text.contains(&s.core.admin_email), "{text}");

    // A POST that does not say it is JSON, and a method GraphQL does not use.
    let r = s.http.post(s.url()).body(r#"{"query":"{ me { id } }"}"#).send().await.unwrap();
    assert_eq!(r.status(), 415);
    let r = s.http.put(s.url()).send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["allow"].to_str().unwrap()), (405, "GET, POST"));
}

/// The depth limit refuses deep data queries before anything runs, but leaves room for
/// introspection: graphql-js's standard introspection query (GraphiQL's first request, Apollo
/// tooling, codegen) is 15 deep.
#[tokio::test]
async fn deep_data_is_refused_but_tools_can_introspect() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    // `depth` fields in all, the innermost one a leaf.
    let nested = |depth: usize, top: &str, step: &str, leaf: &str| {
        let mut q = leaf.to_string();
        for _ in 0..depth.saturating_sub(2) {
            q = format!("{step} {{ {q} }}");
        }
        format!("{{ {top} {{ {q} }} }}")
    };
    let type_ref = |depth: usize| nested(depth, "__schema", "ofType", "name").replacen("ofType", "queryType", 1);
    let r = s.ok(Some(&admin), &type_ref(15), json!({})).await;
    assert_eq!(r["__schema"]["queryType"]["ofType"], serde_json::Value::Null, "{r}");
    let r = s.ok(Some(&admin), &type_ref(20), json!({})).await;
    assert!(r["__schema"]["queryType"].is_object(), "{r}");
    // Too deep introspection, and deep introspection next to data (then the data bound applies).
    let mixed = type_ref(15).replacen("{ __schema", "{ me { id } __schema", 1);
    for query in [type_ref(21), mixed] {
        let e = s.err(Some(&admin), &query, json!({}), "BAD_USER_INPUT").await;
        assert_eq!(e["message"], "Query is nested too deep.", "{query}");
    }
    // The deepest data the schema has (10) runs.
    let deepest = "{ projects(first: 1) { edges { node { configs(first: 1) { edges { node {
        history(first: 1) { edges { node { key } } } } } } } } } }";
    s.ok(Some(&admin), deepest, json!({})).await;
}

/// The account a person manages from an app: sign-up (only when the platform allows it), their
/// name, their password (which ends their other sessions); what they may not change, and bad input.
#[tokio::test]
async fn sign_up_profile_and_password() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let sign_up = "mutation($e: String!, $n: String!, $p: String!) { signUp(email: $e, name: $n, password: $p) { id email name role version } }";
    let login = "mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken } }";
    let email = format!("self-{}@example.test", uuid::Uuid::now_v7().simple());
    let vars = json!({"e": email, "n": "Sam Self", "p": "first-password-1"});

    let e = s.err(None, sign_up, vars.clone(), "CONFLICT").await;
    assert_eq!(e["extensions"]["reason"], "SIGNUP_DISABLED", "{e}");
    s.ok(Some(&admin), r#"mutation { setSetting(key: "auth.signup_enabled", value: true) { key } }"#, json!({})).await;
    let e = s.err(None, sign_up, json!({"e": "not-an-email", "n": "X", "p": "x"}), "BAD_USER_INPUT").await;
    assert!(e["extensions"]["fieldViolations"].as_array().is_some_and(|v| !v.is_empty()), "{e}");
    let me = s.ok(None, sign_up, vars.clone()).await["signUp"].clone();
    assert_eq!((me["email"].as_str(), me["role"].as_str()), (Some(email.as_str()), Some("USER")), "{me}");
    let e = s.err(None, sign_up, vars, "CONFLICT").await;
    assert!(e["extensions"]["reason"].as_str().is_some_and(|r| r.contains("EMAIL")), "{e}");

    let first = s.ok(None, login, json!({"e": email, "p": "first-password-1"})).await["login"].clone();
    let second = s.ok(None, login, json!({"e": email, "p": "first-password-1"})).await["login"].clone();
    let token = first["accessToken"].as_str().unwrap().to_string();
    let id = me["id"].as_str().unwrap();

    // The name is theirs to change (with the version they saw); the role is not.
    let update = "mutation($id: ID!, $input: UpdateUserInput!, $v: Int) { updateUser(id: $id, input: $input, expectedVersion: $v) { name version } }";
    let v = me["version"].as_i64().unwrap();
    let r = s.ok(Some(&token), update, json!({"id": id, "input": {"name": "Sam Renamed"}, "v": v})).await;
    assert_eq!(r["updateUser"]["name"], "Sam Renamed");
    s.err(Some(&token), update, json!({"id": id, "input": {"name": "Stale"}, "v": v}), "CONFLICT").await;
    s.err(Some(&token), update, json!({"id": id, "input": {"role": "ADMIN"}}), "FORBIDDEN").await;
    s.err(Some(&token), update, json!({"id": id, "input": {}}), "BAD_USER_INPUT").await;
    s.err(Some(&token), update, json!({"id": id, "input": {"name": ""}}), "BAD_USER_INPUT").await;

    let change = "mutation($c: String!, $n: String!) { changePassword(currentPassword: $c, newPassword: $n) }";
    let e = s.err(Some(&token), change, json!({"c": "wrong", "n": "second-password-2"}), "BAD_USER_INPUT").await;
    assert_eq!(e["extensions"]["fieldViolations"][0]["field"], "current_password", "{e}");
    s.err(Some(&token), change, json!({"c": "first-password-1", "n": "x"}), "BAD_USER_INPUT").await;
    let r = s.ok(Some(&token), change, json!({"c": "first-password-1", "n": "second-password-2"})).await;
    assert_eq!(r["changePassword"], true);
    // This session goes on; the other one ended; only the new password signs in.
    s.ok(Some(&token), "{ me { name } }", json!({})).await;
    let refresh = "mutation($r: String!) { refreshToken(refreshToken: $r) { accessToken } }";
    s.err(None, refresh, json!({"r": second["refreshToken"]}), "UNAUTHENTICATED").await;
    s.err(None, login, json!({"e": email, "p": "first-password-1"}), "UNAUTHENTICATED").await;
    s.ok(None, login, json!({"e": email, "p": "second-password-2"})).await;
}
