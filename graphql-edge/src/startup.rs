//! Builds graphql-edge from its [`Config`] and runs it.

use std::{future::Future, net::SocketAddr};

use anyhow::Context;
use edge_kit::{CoreClient, Metrics};
use poem::{Route, endpoint::BoxEndpoint};

use crate::config::{Config, LISTEN_ADDR_VAR};

/// graphql-edge, bound and ready to serve.
pub struct App {
    acceptor: edge_kit::server::EdgeAcceptor,
    local_addr: SocketAddr,
    endpoint: BoxEndpoint<'static>,
}

impl App {
    /// Binds the listener and wires the app. core-svc need not be up: the channel connects on
    /// first use and `/readyz` reports it until then.
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        let core = CoreClient::connect_lazy(&config.core_grpc_url, config.core_call_timeout.0);
        let (schema, persisted) = crate::schema::build();
        let api = Route::new().at("/graphql", crate::http::endpoint(schema, persisted, core.clone()));
        let endpoint = edge_kit::http::app(api, core, Metrics::global_or_new());
        let acceptor = edge_kit::server::bind(config.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {LISTEN_ADDR_VAR}={}", config.listen_addr))?;
        Ok(Self { local_addr: edge_kit::server::local_addr(&acceptor), acceptor, endpoint })
    }

    /// The bound address, with the real port when configured with port 0.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `shutdown` completes, then drains in-flight requests.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        edge_kit::serve(self.acceptor, self.endpoint, shutdown).await.context("graphql-edge server failed")
    }
}
