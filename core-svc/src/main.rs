//! Wiring only: configuration, logging, signals.

use core_svc::{App, Config};

/// sqlx logs every statement at info, h2 and tower their connection chatter.
const DEFAULT_LOG_FILTER: &str = "info,sqlx=warn,h2=warn,tower=warn";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_kit::init_logging(DEFAULT_LOG_FILTER)?;
    let config = Config::from_env()?;
    tracing::info!(?config, "starting core-svc");
    let app = App::build(config).await?;
    tracing::info!(grpc = %app.local_addr(), http = %app.metrics_addr(), "core-svc listening");
    app.run_until(service_kit::shutdown_signal()).await
}
