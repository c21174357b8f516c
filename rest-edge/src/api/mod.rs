//! The REST API under `/api/v1`, one module per resource. Each operation builds one (rarely two)
//! core-svc calls from the request and maps the answer back; core-svc decides everything.
//!
//! Shared here: [`Ctx`] (what every call forwards), the response shapes every resource uses
//! (list with `Content-Range`, one record with `ETag`, created), the bearer security scheme, and
//! conversions between proto and REST values (timestamps, enums, JSON).

pub mod auth;
pub mod configs;
pub mod events;
pub mod members;
pub mod projects;
pub mod settings;
pub mod tasks;
pub mod tokens;
pub mod users;
pub mod webhooks;

use edge_kit::{CallContext, CoreClient, RequestId, config::CallTimeout};
use poem::Request;
use poem_openapi::{
    ApiResponse, OpenApiService, SecurityScheme, Tags,
    payload::Json,
    types::{ParseFromJSON, ToJSON},
};
use serde_json::Value;

use crate::{
    list::{ListPlan, ListSpec},
    problem::ApiError,
};

/// Operation groups in the OpenAPI document.
#[derive(Tags)]
pub enum Tag {
    /// Sign-in, token rotation, the current user.
    Auth,
    /// Platform users (admins manage them).
    Users,
    /// Projects and their lifecycle.
    Projects,
    /// Project membership.
    Members,
    /// Versioned project configuration entries.
    Configs,
    /// The history of config entries.
    ConfigRevisions,
    /// System-wide settings.
    Settings,
    /// The audit log.
    Events,
    /// Background tasks (project exports, webhook deliveries, maintenance): follow, retry, cancel.
    Tasks,
    /// Project webhooks: signed `POST`s of the project's events.
    Webhooks,
    /// The delivery log of webhooks.
    WebhookDeliveries,
    /// Long-lived API tokens for tooling.
    ApiTokens,
}

/// `Authorization: Bearer <access token or API token>` (from `POST /auth/login` or
/// `POST /api-tokens`).
#[derive(SecurityScheme)]
#[oai(ty = "bearer", bearer_format = "JWT or psm_ API token")]
pub struct BearerAuth(pub poem_openapi::auth::Bearer);

/// What every call to core-svc carries.
pub struct Ctx {
    call: CallContext,
}

impl Ctx {
    /// The caller's context: bearer token (when the operation has one), request id, and the
    /// socket's peer address (for core-svc's per-address rate limits; not a header, which any
    /// client could forge).
    ///
    /// A credential too long to be one of ours is refused here (401), before core-svc's HTTP/2
    /// layer would refuse it without a gRPC status.
    pub fn new(req: &Request, bearer: Option<&BearerAuth>) -> Result<Self, ApiError> {
        let request_id = req.data::<RequestId>().cloned().unwrap_or_else(RequestId::generate);
        let client_addr = req.remote_addr().as_socket_addr().map(|a| a.ip().to_string());
        // Operations without the security scheme (logout) still forward a credential if sent.
        let bearer = bearer.map(|b| b.0.token.clone()).or_else(|| {
            CallContext::bearer_from_header(req.headers().get("authorization").and_then(|v| v.to_str().ok()))
        });
        if let Some(Err(e)) = bearer.as_deref().map(edge_kit::check_credential) {
            return Err(ApiError::from_core(e, &request_id));
        }
        // The deadline of calls to core-svc, put in the request's data by `startup`.
        let deadline = req.data::<CallTimeout>().map(|t| t.0);
        Ok(Self { call: CallContext { bearer: bearer.map(Into::into), request_id, client_addr, deadline } })
    }

    pub fn id(&self) -> &RequestId {
        &self.call.request_id
    }

    /// Wraps a message with the caller's metadata.
    pub fn req<T>(&self, message: T) -> tonic::Request<T> {
        self.call.request(message)
    }

    /// Maps a failed core-svc call.
    pub fn fail(&self, status: tonic::Status) -> ApiError {
        ApiError::from_core(status.into(), self.id())
    }

    /// core-svc answered without the message it promises: a bug, not client input.
    pub fn missing(&self, what: &str) -> ApiError {
        ApiError::from_core(edge_kit::CoreError::bug(format!("core-svc response without {what}")), self.id())
    }

    /// The list plan of this request.
    pub fn plan(&self, req: &Request, spec: &ListSpec) -> Result<ListPlan, ApiError> {
        crate::list::plan(req, spec, self.id())
    }
}

/// The shared state of every resource API.
#[derive(Clone)]
pub struct Core(pub CoreClient);

/// A page of records, as ra-data-simple-rest and json-server clients expect it.
#[derive(ApiResponse)]
pub enum ListResponse<T: ToJSON + ParseFromJSON + Send + Sync> {
    /// The records of the requested range.
    #[oai(status = 200)]
    Ok(
        Json<Vec<T>>,
        /// `<resource> <first>-<last>/<total>` (`<resource> */<total>` when empty).
        #[oai(header = "Content-Range")]
        String,
        /// Total number of records matching the filter.
        #[oai(header = "X-Total-Count")]
        i64,
    ),
}

impl<T: ToJSON + ParseFromJSON + Send + Sync> ListResponse<T> {
    pub fn new(spec: &ListSpec, plan: &ListPlan, items: Vec<T>, total: i32) -> Self {
        let total = i64::from(total).max(items.len() as i64);
        let range = plan.content_range(spec, items.len(), total);
        Self::Ok(Json(items), range, total)
    }
}

/// One record.
#[derive(ApiResponse)]
pub enum OneResponse<T: ToJSON + ParseFromJSON + Send + Sync> {
    /// The record; `ETag` is its `etag` (versioned resources only).
    #[oai(status = 200)]
    Ok(Json<T>, #[oai(header = "ETag")] Option<String>),
}

impl<T: ToJSON + ParseFromJSON + Send + Sync> OneResponse<T> {
    pub fn new(record: T, etag: Option<String>) -> Self {
        Self::Ok(Json(record), etag.filter(|e| !e.is_empty()))
    }
}

/// A record that was just created.
#[derive(ApiResponse)]
pub enum CreatedResponse<T: ToJSON + ParseFromJSON + Send + Sync> {
    /// The new record.
    #[oai(status = 201)]
    Created(Json<T>, #[oai(header = "ETag")] Option<String>),
}

impl<T: ToJSON + ParseFromJSON + Send + Sync> CreatedResponse<T> {
    pub fn new(record: T, etag: Option<String>) -> Self {
        Self::Created(Json(record), etag.filter(|e| !e.is_empty()))
    }
}

/// The expected etag of a write: `If-Match` when sent, else the body's `version`, else none
/// (unconditional). `If-Match: *` means "any version".
pub fn expected_etag(ctx: &Ctx, if_match: Option<&str>, version: Option<i64>) -> Result<String, ApiError> {
    if let Some(h) = if_match.map(str::trim).filter(|h| !h.is_empty()) {
        if h == "*" {
            return Ok(String::new());
        }
        let v = proto::etag::parse(h)
            .ok_or_else(|| ApiError::bad_input("If-Match", "must be an entity tag like \"3\"", ctx.id()))?;
        return Ok(proto::etag::format(v));
    }
    match version {
        Some(v) if v < 0 => Err(ApiError::invalid("version", "must not be negative", ctx.id())),
        Some(v) => Ok(proto::etag::format(v)),
        None => Ok(String::new()),
    }
}

/// How often a read-merge-write `PUT` without a precondition tries again when another write
/// got in between its read and its write. Past that, it answers 409 like a stale version.
pub const MERGE_RETRIES: u32 = 4;

/// Waits before retry `n` of a read-merge-write: 2, 4, 8, 16 ms, so that two writers that keep
/// colliding fall out of step.
pub async fn merge_backoff(n: u32) {
    tokio::time::sleep(std::time::Duration::from_millis(1 << n.min(MERGE_RETRIES))).await;
}

/// RFC 3339 UTC, or None when unset.
pub fn time(t: Option<&prost_types::Timestamp>) -> Option<String> {
    t.and_then(proto::time::rfc3339)
}

/// Parses an optional RFC 3339 timestamp from a request body.
pub fn parse_time(ctx: &Ctx, field: &str, value: Option<&str>) -> Result<Option<prost_types::Timestamp>, ApiError> {
    let Some(v) = value.filter(|v| !v.is_empty()) else { return Ok(None) };
    proto::time::parse_rfc3339(v)
        .map(Some)
        .ok_or_else(|| ApiError::bad_input(field, "must be an RFC 3339 timestamp", ctx.id()))
}

/// protobuf `Value` → JSON (whole numbers: `proto::json`); unset is `null`.
pub fn to_json(v: Option<&prost_types::Value>) -> Value {
    v.map_or(Value::Null, proto::json::from_value)
}

pub use proto::json::from_struct as struct_to_json;

/// JSON → protobuf `Value`.
pub fn to_proto(v: &Value) -> prost_types::Value {
    proto::json::to_value(v.clone())
}

/// The whole API: every resource, as one OpenAPI service rooted at `/api/v1`.
pub fn service(core: CoreClient) -> OpenApiService<impl poem_openapi::OpenApi, ()> {
    let c = Core(core);
    OpenApiService::new(
        (
            auth::AuthApi(c.clone()),
            users::UsersApi(c.clone()),
            projects::ProjectsApi(c.clone()),
            members::MembersApi(c.clone()),
            configs::ConfigsApi(c.clone()),
            configs::RevisionsApi(c.clone()),
            settings::SettingsApi(c.clone()),
            events::EventsApi(c.clone()),
            tasks::TasksApi(c.clone()),
            webhooks::WebhooksApi(c.clone()),
            webhooks::DeliveriesApi(c.clone()),
            tokens::TokensApi(c),
        ),
        "Platform SM REST API",
        "1.0.0",
    )
    .description(
        "REST edge of Platform SM for React Admin (ra-data-simple-rest and json-server dialects). Lists take \
         `filter` (JSON object; `q` is free text, other keys are the resource's documented fields, lists are OR-ed), \
         `range` ([start, end], inclusive) and `sort` ([field, \"ASC\"|\"DESC\"]), or json-server's `_start`, \
         `_end`, `_sort`, `_order` and plain field parameters, and answer with `Content-Range` and \
         `X-Total-Count`. Updates are optimistic: the body's `version` (or `If-Match`) is the expected version; \
         a mismatch is 409. Errors are `application/problem+json` (RFC 9457).",
    )
    .server(crate::startup::BASE_PATH)
}
