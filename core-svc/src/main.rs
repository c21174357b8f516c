//! Wiring only: configuration, logging, signals.

use core_svc::{App, Config, telemetry};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    telemetry::init_logging();
    let config = Config::from_env()?;
    tracing::info!(?config, "starting core-svc");
    let app = App::build(config).await?;
    tracing::info!(grpc = %app.local_addr(), http = %app.metrics_addr(), "core-svc listening");
    app.run_until(shutdown_signal()).await
}

/// SIGTERM (orchestrators) or Ctrl-C (a terminal).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
