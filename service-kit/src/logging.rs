//! The global tracing subscriber, for `main.rs` only.

use tracing_subscriber::{EnvFilter, fmt, layer::SubscriberExt, util::SubscriberInitExt};

/// Installs the global tracing subscriber: filtered by `RUST_LOG` (else `default_filter`), one
/// JSON object per line when `LOG_FORMAT=json`, human-readable text otherwise.
pub fn init_logging(default_filter: &str) -> Result<(), tracing_subscriber::util::TryInitError> {
    // A malformed RUST_LOG falls back to the default instead of stopping the service: logging
    // should never be the reason a service does not start. The problem is logged once it can be.
    let (filter, filter_problem) = match std::env::var("RUST_LOG") {
        Err(_) => (EnvFilter::new(default_filter), None),
        Ok(directives) => match EnvFilter::try_new(&directives) {
            Ok(filter) => (filter, None),
            Err(err) => (
                EnvFilter::new(default_filter),
                Some(format!("RUST_LOG={directives:?} is invalid ({err}); using {default_filter:?}")),
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
