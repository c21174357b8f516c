//! Process-wide telemetry set-up, for `main.rs` only: libraries and tests never call this, so
//! that several apps can share a test process.

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

use crate::{Metrics, metrics::AlreadyInstalled};

/// Telemetry could not be installed: it already was, by this or another library.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// A global tracing subscriber is already installed.
    #[error("cannot install the tracing subscriber: {0}")]
    Tracing(#[from] tracing_subscriber::util::TryInitError),
    /// A global metrics recorder is already installed.
    #[error(transparent)]
    Metrics(#[from] AlreadyInstalled),
}

/// Filter used when `RUST_LOG` is unset or unusable.
pub const DEFAULT_FILTER: &str = "info";

/// Installs the global tracing subscriber and the global metrics recorder.
///
/// Logs: filtered by `RUST_LOG` (default `info`), one JSON object per line when
/// `LOG_FORMAT=json`, human-readable text otherwise.
/// Returns the global [`Metrics`], which apps find again with [`Metrics::global_or_new`].
pub fn init() -> Result<Metrics, TelemetryError> {
    init_tracing()?;
    Ok(Metrics::install_global()?)
}

/// Installs the global tracing subscriber (see [`init`]).
pub fn init_tracing() -> Result<(), tracing_subscriber::util::TryInitError> {
    // A malformed RUST_LOG falls back to the default instead of stopping the service: logging
    // should never be the reason an edge does not start. The problem is logged once it can be.
    let (filter, filter_problem) = match std::env::var("RUST_LOG") {
        Err(_) => (EnvFilter::new(DEFAULT_FILTER), None),
        Ok(directives) => match EnvFilter::try_new(&directives) {
            Ok(filter) => (filter, None),
            Err(err) => (
                EnvFilter::new(DEFAULT_FILTER),
                Some(format!("RUST_LOG={directives:?} is invalid ({err}); using {DEFAULT_FILTER:?}")),
            ),
        },
    };
    let format = std::env::var("LOG_FORMAT").unwrap_or_default();
    let json = format.eq_ignore_ascii_case("json");
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        // The span list alone: it holds every enclosing span (so `request_id` from the request
        // span shows on events inside nested spans too); the "current span" would repeat one.
        registry
            .with(fmt::layer().json().flatten_event(true).with_current_span(false).with_span_list(true))
            .try_init()?;
    } else {
        registry.with(fmt::layer()).try_init()?;
    }
    if let Some(problem) = filter_problem {
        tracing::warn!("{problem}");
    }
    if !json && !format.is_empty() && !format.eq_ignore_ascii_case("text") {
        tracing::warn!(log_format = %format, "unknown LOG_FORMAT; using text (json and text are known)");
    }
    Ok(())
}
