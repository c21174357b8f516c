//! `/graphql` over HTTP, to the GraphQL-over-HTTP specification: `POST` (queries and mutations,
//! single or batched), `GET` (queries only, so they can be cached and persisted queries served
//! by a CDN), and GraphiQL for a browser that asks for HTML.
//!
//! - **Media types.** The answer is `application/graphql-response+json` when the client accepts
//!   it, else `application/json` (also when it sends no `Accept`); neither acceptable → 406.
//!   With `application/graphql-response+json`, a request that fails before execution (it does not
//!   parse, does not validate, its variables do not coerce) is 400 without `data`; with
//!   `application/json` it is 200, as the specification asks of legacy clients.
//! - **Refused before the schema runs**, each with a GraphQL-shaped body and a code: a body over
//!   1 MiB (413), a `POST` without `Content-Type: application/json` (415), a body or parameters
//!   that are not a GraphQL request (400), a mutation over `GET` (405, `Allow: POST`).
//!
//! The handlers build the request's [`Core`] (credentials, request id, client address) and
//! DataLoaders, and nothing else: the schema knows nothing of HTTP.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::{
    BatchRequest, BatchResponse, Request as GqlRequest, Response as GqlResponse, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextExecute, apollo_persisted_queries::CacheStorage},
    parser::types::{DocumentOperations, ExecutableDocument, OperationType},
};
use edge_kit::{CallContext, CoreClient, RequestId};
use poem::{
    Body, Request, Response, get, handler,
    http::{HeaderValue, StatusCode, header},
    web::{
        Data, Html,
        websocket::{WebSocket, WebSocketConfig},
    },
};
use secrecy::SecretString;
use serde_json::Value;

use crate::{
    context::Core,
    error, loaders,
    schema::{AppSchema, PersistedQueries},
    ws::{self, Handshake, Protocol, WsShared},
};

/// docs/PRODUCT.md §10: request bodies above 1 MiB are refused.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Operations per batched request: each is limited on its own, so the batch is too.
pub const MAX_BATCH: usize = 20;

/// The media type of GraphQL responses (GraphQL over HTTP).
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const JSON: &str = "application/json";

/// The `/graphql` route.
pub fn endpoint(
    schema: AppSchema,
    persisted: PersistedQueries,
    core: CoreClient,
    sockets: Arc<WsShared>,
    graphiql: Graphiql,
) -> impl poem::Endpoint {
    use poem::EndpointExt;
    get(get_graphql)
        .post(post_graphql)
        .put(other_method)
        .patch(other_method)
        .delete(other_method)
        .data(schema)
        .data(persisted)
        .data(core)
        .data(sockets)
        .data(graphiql)
}

#[handler]
fn other_method(request_id: RequestId) -> Response {
    let mut r = refuse(
        MediaType::Json,
        StatusCode::METHOD_NOT_ALLOWED,
        "GraphQL is served over GET and POST",
        request_id.as_str(),
    );
    r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST"));
    r
}

/// What the answer is written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphQlResponse,
    Json,
}

impl MediaType {
    fn as_str(self) -> &'static str {
        match self {
            Self::GraphQlResponse => GRAPHQL_RESPONSE_JSON,
            Self::Json => JSON,
        }
    }

    /// From `Accept`: the acceptable type with the highest q (the first on a tie);
    /// `application/json` when there is no `Accept`. None: nothing we can answer with.
    fn negotiate(accept: Option<&str>) -> Option<Self> {
        let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else { return Some(Self::Json) };
        let mut best: Option<(f32, Self)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let q =
                parts.filter_map(|p| p.strip_prefix("q=")).find_map(|q| q.trim().parse::<f32>().ok()).unwrap_or(1.0);
            let candidate = match media.as_str() {
                GRAPHQL_RESPONSE_JSON => Self::GraphQlResponse,
                JSON | "application/*" | "*/*" => Self::Json,
                _ => continue,
            };
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, candidate));
            }
        }
        best.map(|(_, m)| m)
    }
}

/// Whether a browser asks for a page: HTML accepted, and preferred to JSON.
fn wants_html(accept: Option<&str>) -> bool {
    let Some(accept) = accept else { return false };
    let html = accept.find("text/html");
    let json = accept.find(JSON).or_else(|| accept.find(GRAPHQL_RESPONSE_JSON));
    html.is_some_and(|h| json.is_none_or(|j| h < j))
}

fn body(media: MediaType, status: StatusCode, body: &Value) -> Response {
    Response::builder().status(status).content_type(media.as_str()).body(body.to_string())
}

fn refuse(media: MediaType, status: StatusCode, message: &str, rid: &str) -> Response {
    body(media, status, &error::request_error_body(message, rid))
}

/// The built GraphiQL (`GRAPHIQL_DIR`), whose `index.html` a browser gets for `GET /graphql`; its
/// other files are served under `/graphiql/` (see `startup.rs`). None: not deployed.
#[derive(Clone)]
pub struct Graphiql(pub Option<Arc<std::path::PathBuf>>);

/// What a browser gets without a deployed GraphiQL: how to add it. Self-contained on purpose — a
/// page that loaded GraphiQL from a CDN would stay blank on a machine without internet.
const GRAPHIQL_NOT_DEPLOYED: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Platform SM GraphQL</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; line-height: 1.5">
<h1>Platform SM GraphQL</h1>
<p>This is the GraphQL endpoint: <code>POST</code> or <code>GET</code> queries here, or open a
WebSocket (<code>graphql-transport-ws</code>) for subscriptions.</p>
<p>GraphiQL is not deployed on this edge. Build it (<code>npm ci &amp;&amp; npm run build</code> in
<code>apps/</code>) and start graphql-edge with <code>GRAPHIQL_DIR=apps/graphiql/dist</code>;
<code>./scripts/run</code> does both.</p>
</body></html>
"#;

/// GraphiQL's page. `index.html` is read on each request (it names the content-hashed assets of
/// the build on disk now) and is not cached, so a new build shows at once.
async fn graphiql(graphiql: Option<&Graphiql>, request_id: &str) -> Response {
    use poem::IntoResponse;
    let Some(dir) = graphiql.and_then(|g| g.0.as_ref()) else { return Html(GRAPHIQL_NOT_DEPLOYED).into_response() };
    match tokio::fs::read(dir.join("index.html")).await {
        Ok(page) => Response::builder()
            .content_type("text/html; charset=utf-8")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(page),
        Err(e) => {
            // The folder was there at start (Config checks it): a deployment changed under us.
            tracing::error!(dir = %dir.display(), error = %e, "cannot read GraphiQL's index.html");
            refuse(MediaType::Json, StatusCode::SERVICE_UNAVAILABLE, "GraphiQL is not available right now", request_id)
        }
    }
}

#[handler]
async fn get_graphql(
    req: &Request,
    upgrade: Option<WebSocket>,
    schema: Data<&AppSchema>,
    persisted: Data<&PersistedQueries>,
    core: Data<&CoreClient>,
    sockets: Data<&Arc<WsShared>>,
    request_id: RequestId,
) -> Response {
    if let Some(upgrade) = upgrade {
        return subscription_socket(req, upgrade, &sockets, request_id);
    }
    let rid = request_id.as_str().to_string();
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let params: Vec<(String, String)> =
        serde_urlencoded::from_str(req.uri().query().unwrap_or_default()).unwrap_or_default();
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    if wants_html(accept) && param("query").is_none() && param("extensions").is_none() {
        return graphiql(req.data::<Graphiql>(), &rid).await;
    }
    let Some(media) = MediaType::negotiate(accept) else {
        return refuse(
            MediaType::Json,
            StatusCode::NOT_ACCEPTABLE,
            "answers are application/json or application/graphql-response+json",
            &rid,
        );
    };
    let request =
        match request_from_params(param("query"), param("operationName"), param("variables"), param("extensions")) {
            Ok(r) => r,
            Err(message) => return refuse(media, StatusCode::BAD_REQUEST, &message, &rid),
        };
    // Only queries over GET (they may be cached and replayed by anything in between).
    if let Some(kind) = operation_type(&request, &persisted).await
        && kind != OperationType::Query
    {
        let mut r = refuse(media, StatusCode::METHOD_NOT_ALLOWED, "only queries may be sent with GET; use POST", &rid);
        r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return r;
    }
    let call = call_context(req, &core, &rid);
    let Some(call) = call else { return unauthenticated(req, media, &rid) };
    respond(media, execute(&schema, &core, call, BatchRequest::Single(request)).await, &rid)
}

/// A `GET /graphql` that asks to upgrade: the subscription WebSocket (see [`crate::ws`]), for a
/// client that speaks one of its protocols.
fn subscription_socket(req: &Request, upgrade: WebSocket, sockets: &Arc<WsShared>, request_id: RequestId) -> Response {
    use poem::IntoResponse;
    let offered = req.headers().get(header::SEC_WEBSOCKET_PROTOCOL).and_then(|v| v.to_str().ok());
    let Some(protocol) = Protocol::from_header(offered) else {
        let message = format!(
            "the subscription WebSocket speaks {} (or the legacy {}): ask for one in Sec-WebSocket-Protocol",
            ws::GRAPHQL_TRANSPORT_WS,
            ws::LEGACY_GRAPHQL_WS
        );
        return refuse(MediaType::Json, StatusCode::BAD_REQUEST, &message, request_id.as_str());
    };
    let header = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let ctx = CallContext {
        bearer: None,
        request_id,
        client_addr: req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()),
        deadline: Some(sockets.core.call_timeout()),
    };
    let handshake =
        Handshake { protocol, header_token: CallContext::bearer_from_header(header).map(SecretString::from), ctx };
    // A 4 KiB read buffer, as realtime-edge (tungstenite zero-fills its whole read buffer before
    // every read); larger messages still arrive, up to the limit, then the read fails (1009).
    let config = WebSocketConfig::default()
        .read_buffer_size(4 * 1024)
        .max_message_size(Some(ws::MAX_MESSAGE_BYTES))
        .max_frame_size(Some(ws::MAX_MESSAGE_BYTES));
    let shared = sockets.clone();
    upgrade
        .protocols([protocol.name()])
        .config(config)
        .on_upgrade(move |socket| ws::run(socket, shared, handshake))
        .into_response()
}

#[handler]
async fn post_graphql(
    req: &Request,
    body_in: Body,
    schema: Data<&AppSchema>,
    core: Data<&CoreClient>,
    request_id: RequestId,
) -> Response {
    let rid = request_id.as_str().to_string();
    let accept = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let Some(media) = MediaType::negotiate(accept) else {
        return refuse(
            MediaType::Json,
            StatusCode::NOT_ACCEPTABLE,
            "answers are application/json or application/graphql-response+json",
            &rid,
        );
    };
    let too_large =
        || refuse(media, StatusCode::PAYLOAD_TOO_LARGE, &format!("request body exceeds {MAX_BODY_BYTES} bytes"), &rid);
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence != JSON {
        return refuse(
            media,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the request as Content-Type: application/json",
            &rid,
        );
    }
    let bytes = match body_in.into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => return too_large(),
        Err(e) => return refuse(media, StatusCode::BAD_REQUEST, &format!("cannot read body: {e}"), &rid),
    };
    let batch = match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Array(items)) if items.len() > MAX_BATCH => {
            return refuse(
                media,
                StatusCode::BAD_REQUEST,
                &format!("a batch holds at most {MAX_BATCH} operations"),
                &rid,
            );
        }
        Ok(Value::Array(items)) if items.is_empty() => {
            return refuse(media, StatusCode::BAD_REQUEST, "an empty batch", &rid);
        }
        Ok(Value::Array(items)) => {
            items.into_iter().map(request_from_body).collect::<Result<Vec<_>, _>>().map(BatchRequest::Batch)
        }
        Ok(single) => request_from_body(single).map(BatchRequest::Single),
        Err(e) => Err(format!("body is not JSON: {e}")),
    };
    let batch = match batch {
        Ok(b) => b,
        Err(message) => {
            return refuse(media, StatusCode::BAD_REQUEST, &format!("not a GraphQL request: {message}"), &rid);
        }
    };
    let Some(call) = call_context(req, &core, &rid) else { return unauthenticated(req, media, &rid) };
    respond(media, execute(&schema, &core, call, batch).await, &rid)
}

/// A JSON body's request: `query` a string (or left out for a persisted query), `variables` and
/// `extensions` objects, `operationName` a string; each may be null.
fn request_from_body(v: Value) -> Result<GqlRequest, String> {
    let Value::Object(mut o) = v else { return Err("a request is a JSON object".into()) };
    let string = |v: Option<Value>, name: &str| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("`{name}` must be a string")),
    };
    let object = |v: Option<Value>, name: &str| match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(_) => Err(format!("`{name}` must be an object")),
    };
    let query = string(o.remove("query"), "query")?;
    let operation_name = string(o.remove("operationName"), "operationName")?;
    let variables = object(o.remove("variables"), "variables")?;
    let extensions = object(o.remove("extensions"), "extensions")?;
    build_request(query, operation_name, variables, extensions)
}

/// A GET request's parameters: `variables` and `extensions` are URL-encoded JSON.
fn request_from_params(
    query: Option<&str>,
    operation_name: Option<&str>,
    variables: Option<&str>,
    extensions: Option<&str>,
) -> Result<GqlRequest, String> {
    let object = |v: Option<&str>, name: &str| match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(text) => match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(Some(m)),
            Ok(Value::Null) => Ok(None),
            _ => Err(format!("`{name}` must be a JSON object")),
        },
    };
    build_request(
        query.map(str::to_owned),
        operation_name.filter(|s| !s.is_empty()).map(str::to_owned),
        object(variables, "variables")?,
        object(extensions, "extensions")?,
    )
}

fn build_request(
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<serde_json::Map<String, Value>>,
    extensions: Option<serde_json::Map<String, Value>>,
) -> Result<GqlRequest, String> {
    let persisted = extensions.as_ref().is_some_and(|e| e.contains_key("persistedQuery"));
    let query = match query {
        Some(q) if !q.trim().is_empty() => q,
        _ if persisted => String::new(),
        _ => return Err("`query` is required".into()),
    };
    let mut request = GqlRequest::new(query);
    if let Some(name) = operation_name {
        request = request.operation_name(name);
    }
    if let Some(v) = variables {
        request = request.variables(Variables::from_json(Value::Object(v)));
    }
    for (k, v) in extensions.unwrap_or_default() {
        let value = async_graphql::Value::from_json(v).map_err(|e| format!("`extensions.{k}`: {e}"))?;
        request.extensions.insert(k, value);
    }
    Ok(request)
}

/// The type of the operation a request would run, when it can be told without running it: from
/// its text, or from the persisted query its hash names.
async fn operation_type(request: &GqlRequest, persisted: &PersistedQueries) -> Option<OperationType> {
    let doc: ExecutableDocument = if request.query.is_empty() {
        let hash = request.extensions.get("persistedQuery")?.clone().into_json().ok()?;
        persisted.get(hash.get("sha256Hash")?.as_str()?.to_owned()).await?
    } else {
        async_graphql::parser::parse_query(&request.query).ok()?
    };
    let op = match (&doc.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => op.node.ty,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name)?.node.ty,
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next()?.node.ty,
        _ => return None,
    };
    Some(op)
}

/// The caller's context, or None when its credential is refused before any call (too long).
fn call_context(req: &Request, core: &CoreClient, rid: &str) -> Option<CallContext> {
    let bearer =
        CallContext::bearer_from_header(req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()));
    if bearer.as_deref().map(edge_kit::check_credential).is_some_and(|r| r.is_err()) {
        return None;
    }
    let request_id = RequestId::parse(rid).unwrap_or_else(RequestId::generate);
    Some(CallContext {
        bearer: bearer.map(Into::into),
        request_id,
        client_addr: req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()),
        deadline: Some(core.call_timeout()),
    })
}

fn unauthenticated(req: &Request, media: MediaType, rid: &str) -> Response {
    let bearer =
        CallContext::bearer_from_header(req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()));
    let e = bearer.as_deref().map(edge_kit::check_credential).and_then(Result::err).expect("refused credential");
    body(media, StatusCode::UNAUTHORIZED, &error::refused_body(e, rid))
}

/// A response, and whether its operation reached execution (false: it failed to parse,
/// validate or coerce its variables).
struct Answer {
    response: GqlResponse,
    executed: bool,
}

async fn execute(schema: &AppSchema, core: &CoreClient, call: CallContext, batch: BatchRequest) -> Vec<Answer> {
    let core = Core::new(core.channel(), call);
    let (users, members) = loaders::for_request(&core);
    let requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs,
    };
    let single = requests.len() == 1;
    let mut flags = Vec::with_capacity(requests.len());
    let requests: Vec<GqlRequest> = requests
        .into_iter()
        .map(|r| {
            let flag = Executed::default();
            flags.push(flag.clone());
            r.data(core.clone()).data(users.clone()).data(members.clone()).data(flag)
        })
        .collect();
    let responses = if single {
        vec![schema.execute(requests.into_iter().next().expect("one request")).await]
    } else {
        match schema.execute_batch(BatchRequest::Batch(requests)).await {
            BatchResponse::Batch(rs) => rs,
            BatchResponse::Single(r) => vec![r],
        }
    };
    responses
        .into_iter()
        .zip(flags)
        .map(|(response, flag)| Answer { response, executed: flag.0.load(Ordering::Relaxed) })
        .collect()
}

fn respond(media: MediaType, mut answers: Vec<Answer>, rid: &str) -> Response {
    for a in &mut answers {
        error::finish(&mut a.response, rid);
    }
    let render = |a: &Answer| -> Value {
        let mut v = serde_json::to_value(&a.response)
            .unwrap_or_else(|_| serde_json::json!({"errors": [{"message": "internal error"}]}));
        // A request that never executed has no `data` (not even null).
        if !a.executed
            && let Value::Object(o) = &mut v
        {
            o.remove("data");
        }
        v
    };
    if let [one] = answers.as_slice() {
        let status =
            if media == MediaType::GraphQlResponse && !one.executed { StatusCode::BAD_REQUEST } else { StatusCode::OK };
        return body(media, status, &render(one));
    }
    body(media, StatusCode::OK, &Value::Array(answers.iter().map(render).collect()))
}

/// Set when an operation reaches execution: parsing, validation and variable coercion passed.
#[derive(Clone, Default)]
pub struct Executed(Arc<AtomicBool>);

/// Marks [`Executed`] in the request's data; part of the schema (see `schema::build`).
pub struct ExecutionMarker;

impl ExtensionFactory for ExecutionMarker {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ExecutionMarker)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for ExecutionMarker {
    async fn execute(
        &self,
        ctx: &ExtensionContext<'_>,
        operation_name: Option<&str>,
        next: NextExecute<'_>,
    ) -> GqlResponse {
        if let Some(flag) = ctx.data_opt::<Executed>() {
            flag.0.store(true, Ordering::Relaxed);
        }
        next.run(ctx, operation_name).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_follow_accept() {
        assert_eq!(MediaType::negotiate(None), Some(MediaType::Json));
        assert_eq!(MediaType::negotiate(Some(GRAPHQL_RESPONSE_JSON)), Some(MediaType::GraphQlResponse));
        assert_eq!(
            MediaType::negotiate(Some("application/graphql-response+json, application/json;q=0.9")),
            Some(MediaType::GraphQlResponse)
        );
        assert_eq!(
            MediaType::negotiate(Some("application/json, application/graphql-response+json;q=0.5")),
            Some(MediaType::Json)
        );
        assert_eq!(MediaType::negotiate(Some("*/*")), Some(MediaType::Json));
        assert_eq!(MediaType::negotiate(Some("text/plain")), None);
        assert!(wants_html(Some("text/html,application/xhtml+xml,*/*;q=0.8")));
        assert!(!wants_html(Some("application/json")));
        assert!(!wants_html(None));
    }

    #[test]
    fn bodies_must_have_the_documented_shape() {
        assert!(request_from_body(serde_json::json!({"query": "{ me { id } }"})).is_ok());
        for bad in [
            serde_json::json!({"query": 1}),
            serde_json::json!({"qeury": "{ me { id } }"}),
            serde_json::json!({"query": "{ me { id } }", "variables": "x"}),
            serde_json::json!({"query": "{ me { id } }", "operationName": 3}),
            serde_json::json!({"query": "{ me { id } }", "extensions": []}),
            serde_json::json!("query"),
        ] {
            assert!(request_from_body(bad.clone()).is_err(), "{bad}");
        }
        let persisted = serde_json::json!({"extensions": {"persistedQuery": {"version": 1, "sha256Hash": "ab"}}});
        assert!(request_from_body(persisted).is_ok(), "a persisted query needs no text");
    }
}
