//! `POST /graphql` (queries and mutations, single or batched) and `GET /graphql` (GraphiQL).
//!
//! The handler reads the body itself, so that an oversized or unparsable request gets a
//! GraphQL-shaped error with a code (413 / 400) instead of a bare framework error, then builds
//! the request's [`Core`] (credentials, request id, client address) and DataLoaders.

use async_graphql::{BatchRequest, BatchResponse, http::GraphiQLSource};
use edge_kit::{CallContext, CoreClient, RequestId};
use poem::{
    Body, Request, Response, get, handler,
    http::{StatusCode, header},
    web::{Data, Html},
};

use crate::{context::Core, error, loaders, schema::AppSchema};

/// SPEC §5: request bodies above 1 MiB are refused.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Operations per batched request: each is limited on its own, so the batch is too.
pub const MAX_BATCH: usize = 20;

/// The `/graphql` route.
pub fn endpoint(schema: AppSchema, core: CoreClient) -> impl poem::Endpoint {
    use poem::EndpointExt;
    get(graphiql).post(graphql).data(schema).data(core)
}

#[handler]
fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").title("Platform SM GraphQL").finish())
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    Response::builder().status(status).content_type("application/json").body(body.to_string())
}

#[handler]
async fn graphql(
    req: &Request,
    body: Body,
    schema: Data<&AppSchema>,
    core: Data<&CoreClient>,
    request_id: RequestId,
) -> Response {
    let rid = request_id.as_str().to_string();
    let too_large = || {
        json(
            StatusCode::PAYLOAD_TOO_LARGE,
            &error::request_error_body(&format!("request body exceeds {MAX_BODY_BYTES} bytes"), &rid),
        )
    };
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return too_large();
    }
    let bytes = match body.into_bytes_limit(MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(poem::error::ReadBodyError::PayloadTooLarge) => return too_large(),
        Err(e) => {
            return json(StatusCode::BAD_REQUEST, &error::request_error_body(&format!("cannot read body: {e}"), &rid));
        }
    };
    let batch: BatchRequest = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) => {
            return json(
                StatusCode::BAD_REQUEST,
                &error::request_error_body(&format!("body is not a GraphQL request: {e}"), &rid),
            );
        }
    };

    if let BatchRequest::Batch(operations) = &batch
        && operations.len() > MAX_BATCH
    {
        return json(
            StatusCode::BAD_REQUEST,
            &error::request_error_body(&format!("a batch holds at most {MAX_BATCH} operations"), &rid),
        );
    }

    let bearer =
        CallContext::bearer_from_header(req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()));
    if let Some(Err(e)) = bearer.as_deref().map(edge_kit::check_credential) {
        return json(StatusCode::UNAUTHORIZED, &error::refused_body(e, &rid));
    }
    let call = CallContext {
        bearer: bearer.map(Into::into),
        request_id: request_id.clone(),
        client_addr: req.remote_addr().as_socket_addr().map(|a| a.ip().to_string()),
        deadline: Some(core.call_timeout()),
    };
    let core = Core::new(core.channel(), call);
    let (users, members) = loaders::for_request(&core);
    let mut response = schema.execute_batch(batch.data(core).data(users).data(members)).await;
    match &mut response {
        BatchResponse::Single(r) => error::finish(r, &rid),
        BatchResponse::Batch(rs) => rs.iter_mut().for_each(|r| error::finish(r, &rid)),
    }
    match serde_json::to_string(&response) {
        Ok(body) => Response::builder().content_type("application/json").body(body),
        Err(e) => {
            tracing::error!(error = %e, "cannot encode a GraphQL response");
            json(StatusCode::INTERNAL_SERVER_ERROR, &serde_json::json!({"errors": [{"message": "internal error"}]}))
        }
    }
}
