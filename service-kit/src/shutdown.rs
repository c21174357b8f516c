//! The shutdown signal, for `main.rs` only (awaiting it installs process-wide signal handlers).

use std::{future::Future, io};

/// Completes on SIGTERM (what orchestrators and the dev runner send) or Ctrl-C.
///
/// If a handler cannot be installed, that source is logged and ignored rather than treated as a
/// request to stop: a service that exits right after starting is worse than one that needs
/// SIGKILL.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        signal(SignalKind::terminate())?.recv().await;
        Ok(())
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<io::Result<()>>();
    first_signal(("SIGINT", tokio::signal::ctrl_c()), ("SIGTERM", terminate)).await;
}

/// Waits for the first of two signal sources that really fires; a source that fails (its handler
/// could not be installed) is logged and then waits forever.
async fn first_signal(
    a: (&'static str, impl Future<Output = io::Result<()>>),
    b: (&'static str, impl Future<Output = io::Result<()>>),
) {
    async fn source(name: &'static str, signal: impl Future<Output = io::Result<()>>) {
        match signal.await {
            Ok(()) => tracing::info!(signal = name, "shutdown requested"),
            Err(err) => {
                tracing::error!(signal = name, error = %err, "cannot listen for the signal; it will be ignored");
                std::future::pending::<()>().await;
            }
        }
    }
    tokio::select! {
        () = source(a.0, a.1) => {}
        () = source(b.0, b.1) => {}
    }
}

#[cfg(test)]
mod tests {
    use std::{future::pending, time::Duration};

    use super::*;

    fn failed() -> impl Future<Output = io::Result<()>> {
        std::future::ready(Err(io::Error::other("no signal handler")))
    }

    #[tokio::test]
    async fn a_source_that_cannot_be_installed_is_not_a_shutdown() {
        let waited = tokio::time::timeout(
            Duration::from_millis(200),
            first_signal(("SIGINT", failed()), ("SIGTERM", pending::<io::Result<()>>())),
        )
        .await;
        assert!(waited.is_err(), "a failed ctrl-c handler must not stop the service");
        let waited =
            tokio::time::timeout(Duration::from_millis(200), first_signal(("SIGINT", failed()), ("SIGTERM", failed())))
                .await;
        assert!(waited.is_err(), "neither source can fire: wait forever");
    }

    #[tokio::test]
    async fn either_signal_stops() {
        first_signal(("SIGINT", pending()), ("SIGTERM", std::future::ready(Ok(())))).await;
        first_signal(("SIGINT", std::future::ready(Ok(()))), ("SIGTERM", failed())).await;
    }
}
