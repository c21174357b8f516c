//! `GET /ws`: the WebSocket upgrade. Reads the credentials offered with the upgrade request
//! (`Authorization: Bearer`, else `?access_token=`) and hands the socket to
//! [`connection::run`].

use std::sync::Arc;

use edge_kit::{CallContext, RequestId, live::OpenSockets};
use poem::{
    IntoResponse, Request, handler,
    web::{
        Data, Query,
        websocket::{WebSocket, WebSocketConfig},
    },
};
use secrecy::SecretString;
use serde::Deserialize;

use crate::{
    connection::{self, Handshake, Shared},
    protocol::MAX_FRAME_BYTES,
};

/// Frames up to this size are read (and then refused above [`MAX_FRAME_BYTES`] with an error
/// frame and 1009); larger ones fail the read itself, also with 1009.
const READ_LIMIT: usize = 4 * MAX_FRAME_BYTES;

/// What the `/ws` handler needs.
#[derive(Clone)]
pub struct WsState {
    pub shared: Arc<Shared>,
    /// Connections still open (shutdown waits for them).
    pub sockets: OpenSockets,
}

/// No `Debug`: it holds a credential.
#[derive(Deserialize)]
struct WsQuery {
    access_token: Option<String>,
}

#[handler]
pub async fn upgrade(
    req: &Request,
    ws: WebSocket,
    Query(query): Query<WsQuery>,
    request_id: RequestId,
    state: Data<&WsState>,
) -> impl IntoResponse {
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok());
    let token = CallContext::bearer_from_header(header)
        .or(query.access_token.filter(|t| !t.trim().is_empty()))
        .map(SecretString::from);
    let ctx = CallContext {
        bearer: None,
        request_id,
        client_addr: req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()),
        deadline: Some(state.shared.core.call_timeout()),
    };
    let shared = state.shared.clone();
    let guard = state.sockets.open();
    // A 4 KiB read buffer instead of tungstenite's 128 KiB: tungstenite zero-fills the whole
    // buffer before every read, so the default cost 128 KiB per idle connection and a 128 KiB
    // memset per delivered event (bench/REALTIME.md). Larger frames still work: the buffer grows.
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .max_message_size(Some(READ_LIMIT))
        .max_frame_size(Some(READ_LIMIT));
    ws.config(config).on_upgrade(move |socket| connection::run(socket, shared, Handshake { token, ctx }, guard))
}
