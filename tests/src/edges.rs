//! The three edges, started in-process in front of a core-svc URL (a [`crate::TestCore`], or a
//! [`crate::net::Proxy`] in front of one), on port 0, with extra variables for their config.

use std::net::SocketAddr;

use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use tokio::sync::oneshot;

/// A running edge; dropping it stops it.
pub struct Edge {
    pub addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl Edge {
    pub fn http(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn ws(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }
}

fn vars<'a>(listen_var: &'a str, core_url: &'a str, extra: &[(&'a str, &'a str)]) -> Env {
    let mut vars = vec![(listen_var, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, core_url)];
    vars.extend_from_slice(extra);
    Env::from_pairs(vars)
}

macro_rules! spawn_edge {
    ($name:ident, $krate:ident, $doc:literal) => {
        #[doc = $doc]
        pub async fn $name(core_url: &str, extra: &[(&str, &str)]) -> Edge {
            let config =
                $krate::config::Config::from_vars(&vars($krate::config::LISTEN_ADDR_VAR, core_url, extra)).unwrap();
            let app = $krate::startup::App::build(config).await.unwrap();
            let addr = app.local_addr();
            let (stop, stopped) = oneshot::channel::<()>();
            tokio::spawn(app.run_until(async {
                let _ = stopped.await;
            }));
            Edge { addr, _stop: stop }
        }
    };
}

spawn_edge!(rest, rest_edge, "rest-edge; its API is under `/api/v1`.");
spawn_edge!(graphql, graphql_edge, "graphql-edge; its API is `/graphql`.");
spawn_edge!(realtime, realtime_edge, "realtime-edge; its socket is `/ws`.");
