//! A standard GraphQL client (graphql-request, npm) against graphql-edge: what web apps use must
//! work with the schema and error shape as served. Needs node and npm (Debian `nodejs`, `npm`);
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
    // The test command's set-up installs node and npm; without them this test fails, it is
    // never skipped.
    assert!(
        Command::new("node").arg("--version").output().is_ok() && Command::new("npm").arg("--version").output().is_ok(),
        "node and npm are required (./scripts/test installs them)"
    );
    let dir = client_dir();
    assert!(
        dir.join("node_modules/graphql-request").exists(),
        "{}/node_modules is missing: ./scripts/test installs it (npm ci)",
        dir.display()
    );
    let s = spawn().await;
    // The servers run on this test's runtime: wait for node off it.
    let (url, email) = (s.url(), s.core.admin_email.clone());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node").arg("check.mjs").arg(url).arg(email).arg(ADMIN_PASSWORD).current_dir(&dir).output()
    })
    .await
    .unwrap()
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "client check failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("graphql-request client: ok"), "{stdout}");
}
