//! Binding and serving with a graceful drain.
//!
//! Binding is separate from serving so that an app can bind in `build` (port 0 gives a free
//! port), report [`local_addr`], and only then run: tests and the dev runner learn the real
//! address before the first request.

use std::{future::Future, io, net::SocketAddr, time::Duration};

use poem::{
    IntoEndpoint, Server,
    http::uri::Scheme,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
    web::{LocalAddr, RemoteAddr},
};
use tokio::net::TcpStream;

/// How long in-flight requests get to finish after shutdown starts. Under the 30 s that
/// orchestrators commonly wait between SIGTERM and SIGKILL, so the process still exits by itself.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(25);

/// A TCP acceptor that sets `TCP_NODELAY` on every accepted socket.
///
/// Without it, Nagle's algorithm holds a small response (a WebSocket frame, a short JSON body)
/// until the peer ACKs the previous one, and delayed ACKs make that ~40 ms: the realtime
/// benchmark saw a 25–40 ms p99 tail for a single subscriber. poem does not set it.
pub struct EdgeAcceptor(TcpAcceptor);

impl Acceptor for EdgeAcceptor {
    type Io = TcpStream;

    fn local_addr(&self) -> Vec<LocalAddr> {
        self.0.local_addr()
    }

    async fn accept(&mut self) -> io::Result<(TcpStream, LocalAddr, RemoteAddr, Scheme)> {
        let accepted = self.0.accept().await?;
        // Best effort: a socket that refuses the option still works, only with Nagle.
        let _ = accepted.0.set_nodelay(true);
        Ok(accepted)
    }
}

/// Binds a TCP listener on `addr`.
pub async fn bind(addr: SocketAddr) -> io::Result<EdgeAcceptor> {
    Ok(EdgeAcceptor(TcpListener::bind(addr).into_acceptor().await?))
}

/// The address `acceptor` is bound to (with the real port when bound to port 0).
pub fn local_addr(acceptor: &EdgeAcceptor) -> SocketAddr {
    acceptor
        .local_addr()
        .into_iter()
        .find_map(|addr| addr.as_socket_addr().copied())
        .unwrap_or_else(|| unreachable!("a TCP acceptor has a socket address"))
}

/// Serves `endpoint` on `acceptor` until `shutdown` completes, then drains with
/// [`DRAIN_TIMEOUT`].
pub async fn serve(
    acceptor: EdgeAcceptor,
    endpoint: impl IntoEndpoint<Endpoint: 'static>,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    serve_with_drain_timeout(acceptor, endpoint, shutdown, DRAIN_TIMEOUT).await
}

/// [`serve`] with another drain timeout.
///
/// Once `shutdown` completes: the listener closes (new connections are refused), idle
/// keep-alive connections close, in-flight requests run to completion, and connections still
/// busy after `drain_timeout` are cut. Returns when no connection is left.
pub async fn serve_with_drain_timeout(
    acceptor: EdgeAcceptor,
    endpoint: impl IntoEndpoint<Endpoint: 'static>,
    shutdown: impl Future<Output = ()>,
    drain_timeout: Duration,
) -> io::Result<()> {
    let addr = local_addr(&acceptor);
    let shutdown = async move {
        shutdown.await;
        tracing::info!(%addr, drain_timeout_s = drain_timeout.as_secs_f64(), "draining");
    };
    Server::new_with_acceptor(acceptor).run_with_graceful_shutdown(endpoint, shutdown, Some(drain_timeout)).await?;
    tracing::info!(%addr, "stopped");
    Ok(())
}
