//! The HTTP-stack ceiling of `bench/run`: poem (the edges' HTTP server) answering `GET /` with a
//! constant, on a default multi-threaded tokio runtime like the edges. Whatever an edge does on
//! top of this (routing, auth, gRPC to core-svc, JSON) is what the REST workloads are compared
//! against.
//!
//! `hello ADDR` (default `127.0.0.1:8088`); stops on SIGTERM / Ctrl-C.

use poem::{EndpointExt as _, Route, Server, get, handler, listener::TcpListener, middleware::SetHeader};

#[handler]
fn hello() -> &'static str {
    "Hello, world!"
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8088".to_string());
    let app = Route::new().at("/", get(hello)).with(SetHeader::new().overriding("content-type", "text/plain"));
    Server::new(TcpListener::bind(addr))
        .run_with_graceful_shutdown(
            app,
            async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            },
            None,
        )
        .await?;
    Ok(())
}
