//! The Prometheus registry behind `/metrics`.
//!
//! Each [`Metrics`] is its own registry, recorded into explicitly, so that several apps in one
//! test process keep separate counts. `main.rs` installs one as the process-wide `metrics`
//! recorder ([`Metrics::install_global`], called by [`crate::telemetry::init`]); apps then pick
//! that one up with [`Metrics::global_or_new`], so `metrics::counter!` anywhere in the process and
//! the HTTP middleware land in the same `/metrics` output.

use std::{
    sync::{Arc, OnceLock},
    time::Duration,
};

use metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusRecorder};

/// Counter of finished HTTP requests, labelled `method`, `path` (the matched route pattern) and
/// `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
/// Histogram of HTTP request latency in seconds, same labels as [`HTTP_REQUESTS_TOTAL`].
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";

/// Buckets for every `*_seconds` histogram: Prometheus' classic defaults, 5 ms to 10 s. Real
/// histograms rather than the exporter's default summaries, because summaries cannot be
/// aggregated across replicas and any number of replicas may run.
const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Histogram samples wait in a per-series buffer until a scrape or an upkeep drains them; without
/// upkeep an edge nobody scrapes would grow without bound.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static METADATA: Metadata<'static> = Metadata::new(module_path!(), Level::INFO, None);

static GLOBAL: OnceLock<Metrics> = OnceLock::new();

/// A Prometheus registry: record into it, render it as text. Clones share the registry.
#[derive(Debug, Clone)]
pub struct Metrics {
    recorder: Arc<PrometheusRecorder>,
}

/// The process already has a `metrics` recorder that is not ours.
#[derive(Debug, thiserror::Error)]
#[error("a global metrics recorder is already installed")]
pub struct AlreadyInstalled;

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A fresh, private registry. Inside a Tokio runtime it also starts the upkeep task, which
    /// ends once the last clone is dropped.
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
            .unwrap_or_else(|_| unreachable!("LATENCY_BUCKETS is not empty"))
            .build_recorder();
        let recorder = Arc::new(recorder);
        recorder.describe_counter(
            KeyName::from_const_str(HTTP_REQUESTS_TOTAL),
            None,
            SharedString::const_str("HTTP requests served, by method, route pattern and status"),
        );
        recorder.describe_histogram(
            KeyName::from_const_str(HTTP_REQUEST_DURATION_SECONDS),
            Some(Unit::Seconds),
            SharedString::const_str("HTTP request latency, by method, route pattern and status"),
        );
        spawn_upkeep(&recorder);
        Self { recorder }
    }

    /// Installs a new registry as the process-wide `metrics` recorder and returns it; later calls
    /// return the same one. For `main.rs` only (see [`crate::telemetry::init`]).
    pub fn install_global() -> Result<Self, AlreadyInstalled> {
        if let Some(metrics) = GLOBAL.get() {
            return Ok(metrics.clone());
        }
        let metrics = Self::new();
        metrics::set_global_recorder(metrics.recorder.clone()).map_err(|_| AlreadyInstalled)?;
        Ok(GLOBAL.get_or_init(|| metrics).clone())
    }

    /// The registry `main.rs` installed, or a private one when none was (tests, tools).
    pub fn global_or_new() -> Self {
        GLOBAL.get().cloned().unwrap_or_default()
    }

    /// The registry as a `metrics` recorder, e.g. for `metrics::with_local_recorder`.
    pub fn recorder(&self) -> &PrometheusRecorder {
        &self.recorder
    }

    /// Everything recorded so far in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.recorder.handle().render()
    }

    /// Records one finished HTTP request.
    pub fn record_http_request(&self, method: &str, path: &str, status: u16, elapsed: Duration) {
        let labels = [
            Label::new("method", method.to_owned()),
            Label::new("path", path.to_owned()),
            Label::new("status", status.to_string()),
        ];
        let counter = Key::from_parts(HTTP_REQUESTS_TOTAL, labels.to_vec());
        let histogram = Key::from_parts(HTTP_REQUEST_DURATION_SECONDS, labels.to_vec());
        self.recorder.register_counter(&counter, &METADATA).increment(1);
        self.recorder.register_histogram(&histogram, &METADATA).record(elapsed.as_secs_f64());
    }
}

fn spawn_upkeep(recorder: &Arc<PrometheusRecorder>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let recorder = Arc::downgrade(recorder);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            ticks.tick().await;
            let Some(recorder) = recorder.upgrade() else {
                break;
            };
            recorder.handle().run_upkeep();
        }
    });
}
