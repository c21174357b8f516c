//! The shutdown signal, for `main.rs` only (awaiting it installs process-wide signal handlers).

/// Completes on SIGTERM (what orchestrators and the dev runner send) or Ctrl-C.
///
/// If a handler cannot be installed, that source is logged and ignored rather than treated as a
/// request to stop: a service that exits right after starting is worse than one that needs
/// SIGKILL.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => tracing::info!(signal = "SIGINT", "shutdown requested"),
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for ctrl-c");
                std::future::pending::<()>().await;
            }
        }
    };

    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
                tracing::info!(signal = "SIGTERM", "shutdown requested");
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();

    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
