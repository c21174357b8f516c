//! graphql-edge binary: wiring only (configuration and behaviour live in the library).

use graphql_edge::{config::Config, startup::App};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    edge_kit::telemetry::init()?;
    let config = Config::from_env()?;
    tracing::info!(?config, "starting graphql-edge");
    let app = App::build(config).await?;
    tracing::info!(addr = %app.local_addr(), "graphql-edge listening");
    app.run_until(edge_kit::shutdown_signal()).await
}
