//! The stock npm `ra-data-simple-rest` provider (unmodified, tests/ra/package-lock.json) against
//! rest-edge and the real core: all nine provider methods on every resource, as an admin and as a
//! project viewer. The Node script is tests/ra/e2e.mjs; `scripts/test` installs its packages
//! (`npm ci` into tests/ra/node_modules) before the Rust tests run.

use std::{path::Path, process::Stdio};

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use rest_edge::{
    config::{Config, LISTEN_ADDR_VAR},
    startup::App,
};
use tests::{api::MemberRole, spawn_core};

// Multi-threaded: the edge and the core serve while a blocking thread waits for node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ra_data_simple_rest_drives_every_resource() {
    let ra = Path::new(env!("CARGO_MANIFEST_DIR")).join("ra");
    assert!(
        ra.join("node_modules/ra-data-simple-rest").is_dir(),
        "{}/node_modules is missing: run ./scripts/test (it runs `npm ci` there), or `npm ci --prefix tests/ra`",
        ra.display()
    );

    let core = spawn_core().await;
    let url = core.url();
    let env = Env::from_pairs([(LISTEN_ADDR_VAR, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, url.as_str())]);
    let app = App::build(Config::from_vars(&env).unwrap()).await.unwrap();
    let rest_url = format!("http://{}/api/v1", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let admin = core.admin_token().await;
    let (viewer, viewer_token) = core.user(&admin, "ra-viewer").await;
    let (other, _) = core.user(&admin, "ra-other").await;
    let project = core.project(&admin, "ra-viewed").await;
    core.add_member(&admin, &project.id, &viewer.id, MemberRole::Viewer).await;

    let mut node = std::process::Command::new("node");
    node.arg("e2e.mjs")
        .current_dir(&ra)
        .env("REST_URL", &rest_url)
        .env("ADMIN_TOKEN", &admin)
        .env("VIEWER_TOKEN", &viewer_token)
        .env("VIEWER_ID", &viewer.id)
        .env("OTHER_USER_ID", &other.id)
        .env("PROJECT_ID", &project.id)
        .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || node.output())
        .await
        .unwrap()
        .expect("node runs (Node.js 20 or later must be installed)");
    let _ = stop.send(());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(out.status.success(), "ra-data-simple-rest e2e failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
}
