//! The shared edge plumbing over real loopback HTTP: request ids, health, readiness against a
//! real gRPC health server, metrics, and the graceful drain.

use std::{net::SocketAddr, time::Duration};

use edge_kit::{CoreClient, Metrics, RequestId, config::CoreGrpcUrl, http::REQUEST_ID_HEADER};
use poem::{Route, get, handler, http::StatusCode, web::Path};
use serde_json::Value;
use tokio::{sync::oneshot, task::JoinHandle};
use tonic_health::{ServingStatus, server::HealthReporter};

/// An edge app serving `api` on a free loopback port, stopped when the returned sender fires or
/// is dropped.
struct TestEdge {
    addr: SocketAddr,
    metrics: Metrics,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

impl TestEdge {
    async fn spawn(api: Route, core_url: &str) -> Self {
        let core =
            CoreClient::connect_lazy(&core_url.parse::<CoreGrpcUrl>().unwrap(), std::time::Duration::from_secs(10));
        // A private registry per app: tests in one process must not see each other's counts.
        let metrics = Metrics::new();
        let endpoint = edge_kit::http::app(api, core, metrics.clone());
        let acceptor = edge_kit::server::bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = edge_kit::server::local_addr(&acceptor);
        let (stop, stopped) = oneshot::channel::<()>();
        let server = tokio::spawn(edge_kit::server::serve_with_drain_timeout(
            acceptor,
            endpoint,
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(5),
        ));
        Self { addr, metrics, stop, server }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        reqwest::get(self.url(path)).await.unwrap()
    }

    async fn shutdown(self) {
        let _ = self.stop.send(());
        self.server.await.unwrap().unwrap();
    }
}

/// A URL where nothing listens: bind a port, then free it.
async fn closed_port_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// A real tonic server with the standard health service on a free loopback port.
async fn spawn_core_health() -> (String, HealthReporter) {
    let (reporter, service) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    (format!("http://{addr}"), reporter)
}

fn request_id_of(response: &reqwest::Response) -> String {
    response.headers().get(REQUEST_ID_HEADER).expect("every response carries x-request-id").to_str().unwrap().to_owned()
}

#[handler]
fn echo_request_id(id: RequestId) -> String {
    id.to_string()
}

#[handler]
fn thing(Path(id): Path<String>) -> String {
    id
}

#[handler]
async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_millis(600)).await;
    "done"
}

#[handler]
fn panics() -> &'static str {
    panic!("handler bug")
}

#[tokio::test]
async fn healthz_answers_ok_without_core() {
    let edge = TestEdge::spawn(Route::new(), &closed_port_url().await).await;
    let response = edge.get("/healthz").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "ok");
    edge.shutdown().await;
}

#[tokio::test]
async fn sane_request_id_is_echoed_and_reaches_handlers() {
    let api = Route::new().at("/whoami", get(echo_request_id));
    let edge = TestEdge::spawn(api, &closed_port_url().await).await;
    let response = reqwest::Client::new()
        .get(edge.url("/whoami"))
        .header(REQUEST_ID_HEADER, "client-req-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(request_id_of(&response), "client-req-42");
    assert_eq!(response.text().await.unwrap(), "client-req-42");
    edge.shutdown().await;
}

#[tokio::test]
async fn missing_or_insane_request_id_is_replaced_by_uuid_v7() {
    let api = Route::new().at("/whoami", get(echo_request_id));
    let edge = TestEdge::spawn(api, &closed_port_url().await).await;
    let client = reqwest::Client::new();
    let too_long = "x".repeat(129);
    for sent in [None, Some(too_long.as_str()), Some("has space"), Some("")] {
        let mut request = client.get(edge.url("/whoami"));
        if let Some(sent) = sent {
            request = request.header(REQUEST_ID_HEADER, sent);
        }
        let response = request.send().await.unwrap();
        let id = request_id_of(&response);
        let uuid = uuid::Uuid::parse_str(&id).unwrap_or_else(|_| panic!("{sent:?} gave a non-uuid id {id:?}"));
        assert_eq!(uuid.get_version_num(), 7, "{id}");
        assert_eq!(response.text().await.unwrap(), id, "handler sees the same id");
    }
    edge.shutdown().await;
}

#[tokio::test]
async fn errors_carry_the_request_id_too() {
    let api = Route::new().at("/panics", get(panics));
    let edge = TestEdge::spawn(api, &closed_port_url().await).await;

    let not_found = edge.get("/no-such-route").await;
    assert_eq!(not_found.status(), StatusCode::NOT_FOUND);
    request_id_of(&not_found);

    let panicked = edge.get("/panics").await;
    assert_eq!(panicked.status(), StatusCode::INTERNAL_SERVER_ERROR);
    request_id_of(&panicked);
    edge.shutdown().await;
}

#[tokio::test]
async fn readyz_is_503_with_a_reason_when_core_is_unreachable() {
    let edge = TestEdge::spawn(Route::new(), &closed_port_url().await).await;
    let response = edge.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "not_ready", "{body}");
    assert_eq!(body["checks"]["core"]["status"], "unreachable", "{body}");
    let detail = body["checks"]["core"]["detail"].as_str().unwrap();
    assert!(detail.contains("core-svc"), "{detail}");
    edge.shutdown().await;
}

#[tokio::test]
async fn readyz_follows_core_health() {
    let (core_url, reporter) = spawn_core_health().await;
    let edge = TestEdge::spawn(Route::new(), &core_url).await;

    let response = edge.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["checks"]["core"]["status"], "serving", "{body}");

    reporter.set_service_status("", ServingStatus::NotServing).await;
    let response = edge.get("/readyz").await;
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["checks"]["core"]["status"], "not_serving", "{body}");
    let detail = body["checks"]["core"]["detail"].as_str().unwrap();
    assert!(detail.contains("NOT_SERVING"), "{detail}");

    reporter.set_service_status("", ServingStatus::Serving).await;
    assert_eq!(edge.get("/readyz").await.status(), StatusCode::OK);
    edge.shutdown().await;
}

#[tokio::test]
async fn metrics_count_requests_by_method_route_and_status() {
    let api = Route::new().at("/things/:id", get(thing));
    let edge = TestEdge::spawn(api, &closed_port_url().await).await;
    edge.get("/healthz").await;
    edge.get("/healthz").await;
    edge.get("/things/1").await;
    edge.get("/things/2").await;
    edge.get("/no-such-route").await;

    let response = edge.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    let text = response.text().await.unwrap();
    for line in [
        r#"http_requests_total{method="GET",path="/healthz",status="200"} 2"#,
        r#"http_requests_total{method="GET",path="/things/:id",status="200"} 2"#,
        r#"http_requests_total{method="GET",path="unmatched",status="404"} 1"#,
        r#"http_request_duration_seconds_bucket{method="GET",path="/healthz",status="200",le="+Inf"} 2"#,
        "# TYPE http_request_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in:\n{text}");
    }
    assert!(!text.contains("/things/1"), "raw paths must not become labels:\n{text}");
    // The app renders the registry it was given, so an edge can also record its own metrics.
    assert!(edge.metrics.render().contains(r#"path="/things/:id""#));
    edge.shutdown().await;
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_stops_accepting() {
    let api = Route::new().at("/slow", get(slow));
    let edge = TestEdge::spawn(api, &closed_port_url().await).await;
    let url = edge.url("/slow");
    let in_flight = tokio::spawn(async move { reqwest::get(url).await });
    // Let the request reach the handler before shutdown starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let addr = edge.addr;
    edge.shutdown().await;

    let response = in_flight.await.unwrap().expect("in-flight request completes");
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.text().await.unwrap(), "done");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the listener is closed after shutdown");
}
