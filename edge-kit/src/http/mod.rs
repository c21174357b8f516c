//! The HTTP plumbing every edge serves, on poem.
//!
//! - `GET /healthz`: 200 `ok` while the process runs (liveness: restarting would not help with
//!   anything a dependency does).
//! - `GET /readyz`: 200 when core-svc's gRPC health check reports `SERVING`, else 503 with a JSON
//!   body saying why, so that load balancers route around an edge that cannot do its job.
//! - `GET /metrics`: Prometheus text of the app's [`Metrics`].
//!
//! [`app`] mounts them next to an edge's API routes and wraps everything in the shared middleware.

mod request_id;
mod request_metrics;

use poem::{
    EndpointExt, IntoResponse, Response, Route,
    endpoint::BoxEndpoint,
    get, handler,
    http::StatusCode,
    middleware::CatchPanic,
    web::{Data, Json},
};
use serde_json::json;

pub use self::{
    request_id::{HEADER as REQUEST_ID_HEADER, MAX_LEN, RequestId, SetRequestId, SetRequestIdEndpoint},
    request_metrics::{RecordMetrics, RecordMetricsEndpoint, UNMATCHED_ROUTE},
};
use crate::{CoreClient, Metrics, core_client::CoreHealth};

/// Content type of the Prometheus text exposition format.
pub const PROMETHEUS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The edge's whole HTTP app: `api` plus `/healthz`, `/readyz` and `/metrics`, wrapped, from the
/// outside in, in [`SetRequestId`] (so the id and span cover everything), [`RecordMetrics`] and
/// poem's `CatchPanic` (a panicking handler answers 500 and is counted, instead of dropping the
/// connection).
pub fn app(api: Route, core: CoreClient, metrics: Metrics) -> BoxEndpoint<'static> {
    api.at("/healthz", get(healthz))
        .at("/readyz", get(readyz.data(core)))
        .at("/metrics", get(render_metrics.data(metrics.clone())))
        .with(CatchPanic::new())
        .with(RecordMetrics::new(metrics))
        .with(SetRequestId)
        .boxed()
}

#[handler]
fn healthz() -> &'static str {
    "ok"
}

#[handler]
async fn readyz(core: Data<&CoreClient>, id: RequestId) -> Response {
    let (status, detail) = match core.check_health(Some(&id)).await {
        CoreHealth::Serving => {
            return Json(json!({
                "status": "ready",
                "checks": { "core": { "status": "serving" } },
            }))
            .into_response();
        }
        CoreHealth::NotServing(status) => ("not_serving", format!("core-svc health check reports {status}")),
        CoreHealth::Unreachable(detail) => ("unreachable", format!("core-svc health check failed: {detail}")),
    };
    tracing::warn!(core_status = status, detail, "not ready");
    Json(json!({
        "status": "not_ready",
        "checks": { "core": { "status": status, "detail": detail } },
    }))
    .with_status(StatusCode::SERVICE_UNAVAILABLE)
    .into_response()
}

#[handler]
fn render_metrics(metrics: Data<&Metrics>) -> Response {
    Response::builder().content_type(PROMETHEUS_CONTENT_TYPE).body(metrics.render())
}
