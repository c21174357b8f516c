//! Binding and serving with a graceful drain.
//!
//! Binding is separate from serving so that an app can bind in `build` (port 0 gives a free
//! port), report [`local_addr`], and only then run: tests and the dev runner learn the real
//! address before the first request.

use std::{future::Future, io, net::SocketAddr, time::Duration};

use poem::{
    IntoEndpoint, Server,
    listener::{Acceptor, Listener, TcpAcceptor, TcpListener},
};

/// How long in-flight requests get to finish after shutdown starts. Under the 30 s that
/// orchestrators commonly wait between SIGTERM and SIGKILL, so the process still exits by itself.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(25);

/// Binds a TCP listener on `addr`.
pub async fn bind(addr: SocketAddr) -> io::Result<TcpAcceptor> {
    TcpListener::bind(addr).into_acceptor().await
}

/// The address `acceptor` is bound to (with the real port when bound to port 0).
pub fn local_addr(acceptor: &TcpAcceptor) -> SocketAddr {
    acceptor
        .local_addr()
        .into_iter()
        .find_map(|addr| addr.as_socket_addr().copied())
        .unwrap_or_else(|| unreachable!("a TCP acceptor has a socket address"))
}

/// Serves `endpoint` on `acceptor` until `shutdown` completes, then drains with
/// [`DRAIN_TIMEOUT`].
pub async fn serve(
    acceptor: TcpAcceptor,
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
    acceptor: TcpAcceptor,
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
