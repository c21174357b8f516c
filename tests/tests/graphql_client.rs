//! Standard GraphQL clients (npm) against graphql-edge: what web apps use must work with the
//! schema and error shape as served — graphql-request over HTTP, graphql-ws (on `ws`) for
//! subscriptions. And the reference audit of the GraphQL-over-HTTP specification
//! (graphql-http's `serverAudits`): every audit must pass. Needs node and npm (Debian `nodejs`, `npm`);
//! the packages come from `graphql-edge/tests/client/package-lock.json` (`npm ci`).

mod graphql_support;

use std::{path::PathBuf, process::Command};

use graphql_support::spawn;
use tests::ADMIN_PASSWORD;

fn client_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../graphql-edge/tests/client")
}

#[tokio::test]
async fn graphql_request_client_works() {
    let s = spawn().await;
    let stdout = node(&["check.mjs", &s.url(), &s.core.admin_email, ADMIN_PASSWORD]).await;
    assert!(stdout.contains("graphql-request client: ok"), "{stdout}");
}

#[tokio::test]
async fn the_graphql_over_http_audit_passes_entirely() {
    let s = spawn().await;
    let stdout = node(&["audit.mjs", &s.url()]).await;
    assert!(stdout.contains("graphql-http audit:"), "{stdout}");
}

#[tokio::test]
async fn the_graphql_ws_client_subscribes_resumes_and_is_cut_off() {
    let s = spawn().await;
    let admin = s.admin_token().await;
    let (member, _) = s.user(&admin, "graphql-ws").await;
    let stdout = node(&[
        "subscriptions.mjs",
        &s.url(),
        &s.core.admin_email,
        ADMIN_PASSWORD,
        &member.email,
        tests::USER_PASSWORD,
    ])
    .await;
    println!("{stdout}");
    assert!(stdout.contains("graphql-ws client: ok"), "{stdout}");
}

/// Runs `node ARGS…` in the client folder (off the runtime that serves the stack) and returns
/// its output; fails the test when node fails. The test command's set-up installs node, npm and
/// the packages; without them this fails, it is never skipped.
async fn node(args: &[&str]) -> String {
    assert!(
        Command::new("node").arg("--version").output().is_ok() && Command::new("npm").arg("--version").output().is_ok(),
        "node and npm are required (./scripts/test installs them)"
    );
    let dir = client_dir();
    assert!(
        ["graphql-request", "graphql-http", "graphql-ws", "ws"]
            .iter()
            .all(|p| dir.join("node_modules").join(p).exists()),
        "{}/node_modules is missing: ./scripts/test installs it (npm ci)",
        dir.display()
    );
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let out = tokio::task::spawn_blocking(move || Command::new("node").args(&args).current_dir(&dir).output())
        .await
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "node failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}
