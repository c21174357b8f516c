//! The committed `openapi.json` is exactly what the server serves. After changing the API, run
//! `UPDATE_OPENAPI=1 cargo nextest run -p rest-edge --test openapi` and commit the file.

use std::path::Path;

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use rest_edge::{
    config::{Config, LISTEN_ADDR_VAR},
    startup::App,
};

#[tokio::test]
async fn served_spec_matches_the_committed_file() {
    // The document needs no core-svc: point the lazy channel at a closed port.
    let env = Env::from_pairs([(LISTEN_ADDR_VAR, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, "http://127.0.0.1:1")]);
    let app = App::build(Config::from_vars(&env).unwrap()).await.unwrap();
    let addr = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));
    let served = reqwest::get(format!("http://{addr}/api/v1/openapi.json")).await.unwrap().text().await.unwrap();
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    let served = format!("{}\n", served.trim_end());
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    if std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1") {
        std::fs::write(&file, &served).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert!(
        committed == served,
        "rest-edge/openapi.json differs from the served document; \
         run `UPDATE_OPENAPI=1 cargo nextest run -p rest-edge --test openapi` and commit the file"
    );
}
