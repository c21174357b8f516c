//! Middleware counting and timing every HTTP request into a [`Metrics`] registry.

use std::time::Instant;

use poem::{Endpoint, IntoResponse, Middleware, PathPattern, Request, Response, Result, http::Method};

use crate::Metrics;

/// Route label of requests that matched no route. Raw paths are never used as labels: every
/// scanner probing random URLs would create a new time series.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Middleware: records `http_requests_total` and `http_request_duration_seconds`.
#[derive(Debug, Clone)]
pub struct RecordMetrics {
    metrics: Metrics,
}

impl RecordMetrics {
    /// Records into `metrics`.
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }
}

impl<E: Endpoint> Middleware<E> for RecordMetrics {
    type Output = RecordMetricsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        RecordMetricsEndpoint { inner, metrics: self.metrics.clone() }
    }
}

/// The endpoint [`RecordMetrics`] wraps around the app.
#[derive(Debug)]
pub struct RecordMetricsEndpoint<E> {
    inner: E,
    metrics: Metrics,
}

impl<E: Endpoint> Endpoint for RecordMetricsEndpoint<E> {
    type Output = Response;

    async fn call(&self, req: Request) -> Result<Response> {
        let method = method_label(req.method());
        let started = Instant::now();
        // poem's router leaves the matched pattern (`/users/:id`) on the response or error.
        let response = match self.inner.call(req).await {
            Ok(response) => response.into_response(),
            Err(err) => {
                let pattern = err.data::<PathPattern>().cloned();
                let mut response = err.into_response();
                if let Some(pattern) = pattern {
                    response.set_data(pattern);
                }
                response
            }
        };
        let route = response.data::<PathPattern>().map_or(UNMATCHED_ROUTE, |pattern| &pattern.0);
        self.metrics.record_http_request(method, route, response.status().as_u16(), started.elapsed());
        Ok(response)
    }
}

/// Known methods by name; anything else is one label value, to keep the series bounded.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
