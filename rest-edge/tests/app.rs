//! rest-edge started the way `main.rs` starts it, on a free port, with core-svc down.

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use rest_edge::{
    config::{Config, LISTEN_ADDR_VAR},
    startup::App,
};

#[tokio::test]
async fn starts_on_a_free_port_without_core() {
    // Nothing listens on a port that was just freed: core-svc is "down".
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let core_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let config =
        Config::from_vars(&Env::from_pairs([(LISTEN_ADDR_VAR, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, core_url.as_str())]))
            .unwrap();

    let app = App::build(config).await.unwrap();
    let addr = app.local_addr();
    assert_ne!(addr.port(), 0);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async {
        let _ = stopped.await;
    }));

    let get = |path: &str| reqwest::get(format!("http://{addr}{path}"));
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    assert_eq!(get("/readyz").await.unwrap().status(), 503);
    assert_eq!(get("/no-such-route").await.unwrap().status(), 404);
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(metrics.contains("http_requests_total{"), "{metrics}");

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}
