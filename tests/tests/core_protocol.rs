//! The transport-level promises of core-svc: malformed and oversize messages are client
//! errors, request ids are echoed, health/readiness/metrics answer, SIGTERM-style shutdown
//! drains.

use bytes::{Buf, BufMut};
use proto::Services as _;
use tests::{api as pb, authed, spawn_core};
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    transport::Channel,
};

/// Sends raw bytes as a message, to reach the server's decoder with input no honest client
/// would produce.
#[derive(Default)]
struct RawCodec;
struct RawEncoder;
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut v = vec![0; src.remaining()];
        src.copy_to_slice(&mut v);
        Ok(Some(v))
    }
}

async fn raw_call(channel: Channel, path: &'static str, body: Vec<u8>) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(|e| Status::unavailable(e.to_string()))?;
    grpc.unary(tonic::Request::new(body), http::uri::PathAndQuery::from_static(path), RawCodec)
        .await
        .map(|r| r.into_inner())
}

#[tokio::test]
async fn malformed_and_oversize_messages_are_client_errors() {
    let core = spawn_core().await;
    // Field 1 (email) declared as length-delimited with a length far past the end.
    let truncated = vec![0x0a, 0xff, 0x01, b'a'];
    let status = raw_call(core.channel(), "/platform.v1.AuthService/Login", truncated).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // A string field holding invalid UTF-8.
    let bad_utf8 = vec![0x0a, 0x02, 0xc3, 0x28];
    let status = raw_call(core.channel(), "/platform.v1.AuthService/Login", bad_utf8).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");

    // Above the 4 MiB message limit: refused before decoding, not a server error.
    let mut huge = vec![0x0a];
    let len = 5 * 1024 * 1024usize;
    let mut n = len;
    while n >= 0x80 {
        huge.push((n as u8) | 0x80);
        n >>= 7;
    }
    huge.push(n as u8);
    huge.resize(huge.len() + len, b'a');
    let status = raw_call(core.channel(), "/platform.v1.AuthService/Login", huge).await.unwrap_err();
    assert!(matches!(status.code(), Code::OutOfRange | Code::ResourceExhausted), "{status:?}");

    // Unknown methods are UNIMPLEMENTED, as gRPC clients expect.
    let status = raw_call(core.channel(), "/platform.v1.AuthService/Nope", vec![]).await.unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
    core.stop().await;
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated() {
    let core = spawn_core().await;
    let mut req = authed(pb::GetMeRequest {}, &core.admin_token().await);
    req.metadata_mut().insert("x-request-id", "trace-me-123".parse().unwrap());
    let resp = core.auth().get_me(req).await.unwrap();
    assert_eq!(resp.metadata().get("x-request-id").unwrap(), "trace-me-123");

    let resp = core.auth().get_me(authed(pb::GetMeRequest {}, &core.admin_token().await)).await.unwrap();
    let generated = resp.metadata().get("x-request-id").expect("generated id").to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");

    // The id reaches the event log.
    let project = {
        let mut req = authed(
            pb::CreateProjectRequest {
                slug: "traced-project".into(),
                name: "Traced".into(),
                description: String::new(),
            },
            &core.admin_token().await,
        );
        req.metadata_mut().insert("x-request-id", "create-42".parse().unwrap());
        core.projects().create_project(req).await.unwrap().into_inner().project.unwrap()
    };
    let events = core.wait_events(&core.admin_token().await, &format!("resource_id = \"{}\"", project.id), 1).await;
    assert_eq!(events[0].request_id, "create-42");
    core.stop().await;
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let core = spawn_core().await;
    let mut health = tonic_health::pb::health_client::HealthClient::new(core.channel());
    for service in ["", "platform.v1.ConfigService"] {
        let r =
            health.check(tonic_health::pb::HealthCheckRequest { service: service.into() }).await.unwrap().into_inner();
        assert_eq!(r.status(), tonic_health::pb::health_check_response::ServingStatus::Serving);
    }
    let http = reqwest::Client::new();
    let base = format!("http://{}", core.metrics_addr);
    assert_eq!(http.get(format!("{base}/healthz")).send().await.unwrap().status(), 200);
    let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["checks"]["postgres"], "ok");
    assert_eq!(body["checks"]["redis"], "ok");

    let _ = core.login("nobody@platform.test", "wrong-password-123").await;
    // Made-up paths must not become label values: each would be a new time series, without bound.
    for path in ["/platform.v1.AuthService/MadeUp1", "/made.Up/Path2"] {
        let status = raw_call(core.channel(), path, vec![]).await.unwrap_err();
        assert_eq!(status.code(), Code::Unimplemented);
    }
    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"core_grpc_requests_total{method="/platform.v1.AuthService/Login",code="16"}"#),
        "{metrics}"
    );
    assert!(!metrics.contains("MadeUp1") && !metrics.contains("Path2"), "{metrics}");
    assert!(metrics.contains(r#"core_grpc_requests_total{method="unknown",code="12"}"#), "{metrics}");
    core.stop().await;
}

#[tokio::test]
async fn readiness_reports_redis_outage_as_degraded_and_logins_still_work() {
    // A Redis URL where nothing listens: core-svc must still serve from PostgreSQL.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let core = tests::spawn_core_with(tests::CoreOptions {
        redis_url: Some(format!("redis://127.0.0.1:{port}")),
        ..Default::default()
    })
    .await;
    let token = core.admin_token().await;
    core.project(&token, "no-redis").await;
    let body: serde_json::Value =
        reqwest::get(format!("http://{}/readyz", core.metrics_addr)).await.unwrap().json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["postgres"], "ok");
    core.stop().await;
}

#[tokio::test]
async fn nul_characters_are_invalid_input_not_server_errors() {
    let core = spawn_core().await;
    let admin = core.admin_token().await;
    let r = core
        .projects()
        .create_project(authed(
            pb::CreateProjectRequest { slug: "nul-test".into(), name: "a\0b".into(), description: String::new() },
            &admin,
        ))
        .await;
    tests::expect_code(r, Code::InvalidArgument, Some("INVALID_ARGUMENT"));
    let p = core.project(&admin, "nul").await;
    let r = core
        .configs()
        .set_config(authed(
            pb::SetConfigRequest {
                project_id: p.id.clone(),
                key: "k".into(),
                value: Some(tests::value(serde_json::json!({"s": "x\u{0}y"}))),
                ..Default::default()
            },
            &admin,
        ))
        .await;
    tests::expect_code(r, Code::InvalidArgument, Some("INVALID_ARGUMENT"));
    let r = core.login("who\0@platform.test", "password-123456").await;
    assert_ne!(r.unwrap_err().code(), Code::Internal);
    // Nothing was written by the refused calls.
    let events = core.wait_events(&admin, &format!("channel = \"project:{}\"", p.id), 1).await;
    assert_eq!(events.len(), 1);
    core.stop().await;
}
