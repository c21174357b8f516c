//! What the `main.rs` of every Platform SM service (core-svc and the three edges) shares.
//!
//! Module map:
//! - [`shutdown`]: [`shutdown_signal`], SIGTERM or Ctrl-C.
//! - [`logging`]: [`init_logging`], the global tracing subscriber (text, or JSON with
//!   `LOG_FORMAT=json`).
//!
//! Both install process-wide state (signal handlers, the global subscriber), so libraries and
//! tests never call them: several apps share one test process.

pub mod logging;
pub mod shutdown;

pub use logging::init_logging;
pub use shutdown::shutdown_signal;
