//! The edges' one connection to core-svc.
//!
//! The channel connects lazily: an edge starts, binds and answers `/healthz` even while core-svc
//! is still starting (or restarting), and `/readyz` says so until it is up. tonic's channel
//! reconnects by itself after core-svc goes away and comes back.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::{HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient};

use crate::{RequestId, config::CoreGrpcUrl};

/// Bounds a TCP connect to core-svc, so that a black-holed address fails a call instead of
/// hanging it.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// TCP keepalive: lets the kernel notice a peer that vanished without a FIN (a killed VM, a
/// dropped NAT entry) on connections that carry long server streams.
pub const TCP_KEEPALIVE: Duration = Duration::from_secs(30);
/// HTTP/2 PING interval and how long to wait for its answer. Catches a stuck core-svc faster than
/// TCP keepalive, including on idle connections, so the next call reconnects instead of waiting.
pub const HTTP2_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(20);
/// See [`HTTP2_KEEPALIVE_INTERVAL`].
pub const HTTP2_KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Upper bound of one readiness check: load balancers probe often and must get an answer well
/// within their own probe timeout.
pub const HEALTH_CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// A cheap-to-clone handle to core-svc's gRPC endpoint. Clones share one HTTP/2 connection.
#[derive(Debug, Clone)]
pub struct CoreClient {
    channel: Channel,
    call_timeout: Duration,
}

/// What core-svc answered to a readiness check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CoreHealth {
    /// `grpc.health.v1` reports `SERVING` for the whole server (service `""`).
    Serving,
    /// core-svc answered, with a status other than `SERVING` (its name, e.g. `NOT_SERVING`).
    NotServing(String),
    /// No answer: not reachable, timed out, or the call failed.
    Unreachable(String),
}

impl CoreClient {
    /// Creates the channel without connecting; the first call connects.
    ///
    /// Every call fails with DEADLINE_EXCEEDED when core-svc has not answered (for a stream:
    /// started answering) within `call_timeout`.
    ///
    /// Must be called inside a Tokio runtime (the channel spawns its connection task).
    pub fn connect_lazy(url: &CoreGrpcUrl, call_timeout: Duration) -> Self {
        // `CoreGrpcUrl` has been parsed as an http URI already, which is exactly what
        // `from_shared` checks, so this cannot fail for a value that got here.
        let endpoint = Endpoint::from_shared(url.as_str().to_owned())
            .unwrap_or_else(|err| unreachable!("CoreGrpcUrl {url} was validated: {err}"))
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_keepalive(Some(TCP_KEEPALIVE))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(HTTP2_KEEPALIVE_INTERVAL)
            .keep_alive_timeout(HTTP2_KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true)
            // Enforced here (tonic's `Request::set_timeout` only informs the server).
            .timeout(call_timeout);
        Self { channel: endpoint.connect_lazy(), call_timeout }
    }

    /// The deadline of each call (`CORE_CALL_TIMEOUT_MS`).
    pub fn call_timeout(&self) -> Duration {
        self.call_timeout
    }

    /// The channel, for building the generated `platform.v1` clients.
    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    /// Asks core-svc's `grpc.health.v1.Health/Check` about the whole server (service `""`).
    #[tracing::instrument(name = "core_health_check", skip_all)]
    pub async fn check_health(&self, request_id: Option<&RequestId>) -> CoreHealth {
        let mut request = tonic::Request::new(HealthCheckRequest { service: String::new() });
        request.set_timeout(HEALTH_CHECK_TIMEOUT);
        if let Some(id) = request_id {
            id.attach_to(&mut request);
        }
        let mut client = HealthClient::new(self.channel.clone());
        // `set_timeout` only tells the server; the local timeout also covers connecting.
        match tokio::time::timeout(HEALTH_CHECK_TIMEOUT, client.check(request)).await {
            Err(_) => CoreHealth::Unreachable(format!("no answer within {}s", HEALTH_CHECK_TIMEOUT.as_secs())),
            Ok(Err(status)) => CoreHealth::Unreachable(describe_status(&status)),
            Ok(Ok(response)) => match response.into_inner().status() {
                ServingStatus::Serving => CoreHealth::Serving,
                other => CoreHealth::NotServing(other.as_str_name().to_owned()),
            },
        }
    }
}

/// `UNAVAILABLE: tcp connect error: Connection refused (os error 111)`: the code plus the
/// innermost cause, which is where tonic keeps the useful part.
fn describe_status(status: &tonic::Status) -> String {
    let mut detail = status.message().to_owned();
    let mut source = std::error::Error::source(status);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !detail.contains(&text) {
            detail = if detail.is_empty() { text } else { format!("{detail}: {text}") };
        }
        source = cause.source();
    }
    format!("{:?}: {detail}", status.code())
}
