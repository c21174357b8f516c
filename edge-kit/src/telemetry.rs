//! Process-wide telemetry set-up, for `main.rs` only: libraries and tests never call this, so
//! that several apps can share a test process.

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
    service_kit::init_logging(DEFAULT_FILTER)
}
