//! rest-edge binary: wiring only (configuration and behaviour live in the library).

use rest_edge::{config::Config, startup::App};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    edge_kit::telemetry::init()?;
    let config = Config::from_env()?;
    tracing::info!(?config, "starting rest-edge");
    let app = App::build(config).await?;
    tracing::info!(addr = %app.local_addr(), "rest-edge listening");
    app.run_until(edge_kit::shutdown_signal()).await
}
