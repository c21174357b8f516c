//! `x-request-id`: one id per request, from the client when it sent a sane one, echoed on the
//! response, carried by the request's tracing span, and forwarded to core-svc as gRPC metadata
//! so that one id ties the edge's and the core's logs together.

use std::{fmt, sync::Arc, time::Instant};

use poem::{
    Endpoint, Error, FromRequest, IntoResponse, Middleware, Request, RequestBody, Response, Result,
    http::{HeaderMap, HeaderValue, StatusCode},
};
use tracing::Instrument;

/// The header, the same name as the gRPC metadata key core-svc reads.
pub const HEADER: &str = proto::metadata::REQUEST_ID;

/// Longest client-supplied id that is kept: room for any UUID or trace-id format, while a
/// hostile client cannot bloat every log line and core-svc call.
pub const MAX_LEN: usize = 128;

/// The id of the request being handled. Handlers take it as an argument (`id: RequestId`) once
/// [`SetRequestId`] runs in front of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(Arc<str>);

impl RequestId {
    /// A new UUIDv7: time-ordered, so ids sort like the logs they appear in.
    pub fn generate() -> Self {
        Self(uuid::Uuid::now_v7().to_string().into())
    }

    /// Accepts a client-supplied id of 1 to [`MAX_LEN`] visible ASCII characters. Anything else
    /// (spaces, control characters, non-ASCII) could break log formats or metadata encoding.
    pub fn parse(value: &str) -> Option<Self> {
        let sane = !value.is_empty() && value.len() <= MAX_LEN && value.bytes().all(|b| b.is_ascii_graphic());
        sane.then(|| Self(value.into()))
    }

    /// The id from the request's `x-request-id` header when sane, else a new one.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        headers.get(HEADER).and_then(|value| value.to_str().ok()).and_then(Self::parse).unwrap_or_else(Self::generate)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Sets the `x-request-id` metadata on a call to core-svc.
    pub fn attach_to<T>(&self, request: &mut tonic::Request<T>) {
        // Only visible ASCII gets in (see `parse`), which is always a valid metadata value.
        if let Ok(value) = self.0.parse() {
            request.metadata_mut().insert(proto::metadata::REQUEST_ID, value);
        }
    }

    fn header_value(&self) -> Option<HeaderValue> {
        HeaderValue::from_str(&self.0).ok()
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'a> FromRequest<'a> for RequestId {
    async fn from_request(req: &'a Request, _body: &mut RequestBody) -> Result<Self> {
        // Missing only when the app was wired without `SetRequestId`: a bug, not client input.
        req.data::<RequestId>().cloned().ok_or_else(|| {
            Error::from_string("request id middleware is not installed", StatusCode::INTERNAL_SERVER_ERROR)
        })
    }
}

/// Middleware: assigns the [`RequestId`], opens the request's span, echoes the id on every
/// response (errors included) and logs the outcome.
#[derive(Debug, Clone, Copy, Default)]
pub struct SetRequestId;

impl<E: Endpoint> Middleware<E> for SetRequestId {
    type Output = SetRequestIdEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        SetRequestIdEndpoint { inner }
    }
}

/// The endpoint [`SetRequestId`] wraps around the app.
#[derive(Debug)]
pub struct SetRequestIdEndpoint<E> {
    inner: E,
}

impl<E: Endpoint> Endpoint for SetRequestIdEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        let id = RequestId::from_headers(req.headers());
        req.set_data(id.clone());
        let method = req.method().clone();
        // The path only: query strings may carry credentials (`?access_token=` on /ws).
        let path = req.uri().path().to_owned();
        let span = tracing::info_span!(
            "http_request",
            request_id = %id,
            method = %method,
            path = %path,
        );
        async move {
            let started = Instant::now();
            // Errors become responses here, so the id is echoed on 404s and failures too.
            let mut response = match self.inner.call(req).await {
                Ok(response) => response.into_response(),
                Err(err) => err.into_response(),
            };
            if let Some(value) = id.header_value() {
                response.headers_mut().insert(HEADER, value);
            }
            let status = response.status().as_u16();
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            // Probes and scrapes arrive every few seconds from every load balancer and
            // Prometheus; at info they would drown the requests that matter.
            if is_probe(&path) {
                tracing::debug!(status, latency_ms, "request finished");
            } else {
                tracing::info!(status, latency_ms, "request finished");
            }
            Ok(response)
        }
        .instrument(span)
        .await
    }
}

fn is_probe(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sane_ids_are_kept() {
        for id in ["abc", "0190b2a4-7c1e-7f00-8000-000000000000", &"x".repeat(MAX_LEN)] {
            assert_eq!(RequestId::parse(id).unwrap().as_str(), id);
        }
    }

    #[test]
    fn insane_ids_are_refused() {
        for id in ["", "a b", "tab\there", "é", "line\nbreak", &"x".repeat(MAX_LEN + 1)] {
            assert!(RequestId::parse(id).is_none(), "{id:?} was accepted");
        }
    }

    #[test]
    fn generated_ids_are_uuid_v7() {
        let id = RequestId::generate();
        let uuid = uuid::Uuid::parse_str(id.as_str()).unwrap();
        assert_eq!(uuid.get_version_num(), 7);
    }

    #[test]
    fn ids_travel_as_grpc_metadata() {
        let mut request = tonic::Request::new(());
        RequestId::parse("req-1").unwrap().attach_to(&mut request);
        assert_eq!(request.metadata().get(proto::metadata::REQUEST_ID).unwrap(), "req-1");
    }
}
