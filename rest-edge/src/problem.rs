//! Every REST error is an RFC 9457 `application/problem+json` document, built here and nowhere
//! else: from a [`CoreError`] (core-svc's answer), from the edge's own input checks, and from
//! whatever poem or poem-openapi reject before a handler runs (unparsable JSON, wrong parameter
//! types, unknown routes, oversize bodies), via the [`Problems`] middleware.
//!
//! | core-svc (gRPC)                       | REST |
//! |---------------------------------------|------|
//! | INVALID_ARGUMENT                      | 422 (400 when the edge could not even parse the input) |
//! | NOT_FOUND                             | 404 |
//! | ABORTED, ALREADY_EXISTS, FAILED_PRECONDITION | 409 |
//! | UNAUTHENTICATED                       | 401 |
//! | PERMISSION_DENIED                     | 403 |
//! | RESOURCE_EXHAUSTED                    | 429 + `Retry-After` |
//! | UNAVAILABLE (also: no answer at all)  | 503 + `Retry-After` |
//! | DEADLINE_EXCEEDED (no answer in time) | 504 |
//! | anything else                         | 500 (a bug: logged, message redacted) |

use edge_kit::{CoreError, RequestId};
use poem::{
    Endpoint, IntoResponse, Middleware, Request, Response,
    http::{HeaderValue, StatusCode, header},
};
use poem_openapi::{ApiResponse, Object, payload::Json};
use proto::reason::Reason;
use tonic::Code;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Largest request body accepted (docs/PRODUCT.md §10).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// One invalid input field.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct FieldError {
    /// The field, in the request's own terms (e.g. `slug`, `filter`, `range`).
    pub field: String,
    pub message: String,
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct Problem {
    /// A URI naming the problem type: `urn:platform:problem:<reason>`.
    #[oai(rename = "type")]
    pub kind: String,
    /// Short, human-readable summary of the problem type (the HTTP reason phrase).
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong with this request.
    pub detail: String,
    /// The request id (`x-request-id`), to find this request in the logs.
    pub instance: String,
    /// Same as `detail`: what React Admin shows in its notification.
    pub message: String,
    /// Machine-readable reason (UPPER_SNAKE), e.g. `VERSION_MISMATCH`, `SLUG_TAKEN`.
    pub reason: String,
    /// Invalid fields, when the problem is about the input.
    #[oai(skip_serializing_if_is_empty, default)]
    pub errors: Vec<FieldError>,
}

/// Every error a REST operation can answer with.
#[derive(Debug, ApiResponse)]
pub enum ApiError {
    /// Unparsable input: malformed JSON, wrong types, bad `filter`/`sort`/`range` syntax.
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    /// Missing, invalid or expired credentials.
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    /// The caller may see the resource but lacks the role for this action.
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    /// The resource does not exist or is not visible to the caller.
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    /// The resource does not support this method (e.g. writes to the read-only audit log).
    #[oai(status = 405, content_type = "application/problem+json")]
    MethodNotAllowed(Json<Problem>),
    /// Version mismatch (stale `version` / `If-Match`), duplicate, or a state that forbids it.
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    /// The request body is larger than 1 MiB.
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    /// The body is not `application/json`.
    #[oai(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Json<Problem>),
    /// Well-formed input that breaks a validation rule; `errors` names the fields.
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    /// Rate limited; retry after `Retry-After` seconds.
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] Option<u64>),
    /// A bug; the detail is withheld and the cause logged under the request id.
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    /// core-svc (or its database) is unreachable, or the connection to it broke mid-call; retry
    /// after `Retry-After` seconds. A write may or may not have been applied: read it back.
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>, #[oai(header = "Retry-After")] Option<u64>),
    /// core-svc did not answer within the edge's deadline. A write may or may not have been
    /// applied: read it back.
    #[oai(status = 504, content_type = "application/problem+json")]
    GatewayTimeout(Json<Problem>),
}

impl ApiError {
    /// A problem with `status` (must be one of the documented ones; others become 500).
    pub fn new(status: StatusCode, reason: &str, detail: impl Into<String>, request_id: &RequestId) -> Self {
        Self::with_errors(status, reason, detail, request_id, Vec::new())
    }

    pub fn with_errors(
        status: StatusCode,
        reason: &str,
        detail: impl Into<String>,
        request_id: &RequestId,
        errors: Vec<FieldError>,
    ) -> Self {
        let p = Json(problem(status, reason, detail.into(), request_id.as_str(), errors));
        match status.as_u16() {
            400 => Self::BadRequest(p),
            401 => Self::Unauthorized(p),
            403 => Self::Forbidden(p),
            404 => Self::NotFound(p),
            405 => Self::MethodNotAllowed(p),
            409 => Self::Conflict(p),
            415 => Self::UnsupportedMediaType(p),
            413 => Self::PayloadTooLarge(p),
            422 => Self::Unprocessable(p),
            429 => Self::TooManyRequests(p, None),
            // Long enough for a restarted core-svc replica or a reconnect; short enough to matter.
            503 => Self::Unavailable(p, Some(1)),
            504 => Self::GatewayTimeout(p),
            _ => Self::Internal(p),
        }
    }

    /// 400 about one unparsable input field.
    pub fn bad_input(field: &str, message: impl Into<String>, request_id: &RequestId) -> Self {
        let message = message.into();
        Self::with_errors(
            StatusCode::BAD_REQUEST,
            Reason::BadRequest.as_str(),
            format!("{field}: {message}"),
            request_id,
            vec![FieldError { field: field.to_string(), message }],
        )
    }

    /// 422 about one input field that parsed but is not acceptable.
    pub fn invalid(field: &str, message: impl Into<String>, request_id: &RequestId) -> Self {
        let message = message.into();
        Self::with_errors(
            StatusCode::UNPROCESSABLE_ENTITY,
            Reason::InvalidArgument.as_str(),
            format!("{field}: {message}"),
            request_id,
            vec![FieldError { field: field.to_string(), message }],
        )
    }

    /// The one mapping from core-svc's answer to HTTP.
    pub fn from_core(err: CoreError, request_id: &RequestId) -> Self {
        let status = match err.code {
            Code::InvalidArgument | Code::OutOfRange => StatusCode::UNPROCESSABLE_ENTITY,
            Code::NotFound => StatusCode::NOT_FOUND,
            Code::Aborted | Code::AlreadyExists | Code::FailedPrecondition => StatusCode::CONFLICT,
            Code::Unauthenticated => StatusCode::UNAUTHORIZED,
            Code::PermissionDenied => StatusCode::FORBIDDEN,
            Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
            Code::Unavailable | Code::Cancelled => StatusCode::SERVICE_UNAVAILABLE,
            Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(code = ?err.code, reason = %err.reason, message = %err.message, "core-svc call failed");
            "internal error; quote the request id when reporting it".to_string()
        } else {
            err.message.clone()
        };
        let errors = err
            .violations
            .into_iter()
            .map(|v| FieldError { field: rest_field_name(&v.field), message: v.description })
            .collect();
        let mut e = Self::with_errors(status, &err.reason, detail, request_id, errors);
        if let (Self::TooManyRequests(_, retry), Some(after)) = (&mut e, err.retry_after) {
            // Round up: retrying a fraction of a second early would be refused again.
            *retry = Some(after.as_secs() + u64::from(after.subsec_nanos() > 0));
        }
        e
    }

    /// Renders a poem error that happened outside a handler (routing, parsing, body limit).
    pub fn from_poem(err: &poem::Error, request_id: &RequestId) -> Self {
        let status = err.status();
        let (status, reason) = match status.as_u16() {
            401 => (status, Reason::MissingCredentials.as_str()),
            403 => (status, Reason::Forbidden.as_str()),
            404 => (status, Reason::NotFound.as_str()),
            405 => (status, Reason::MethodNotAllowed.as_str()),
            413 => (status, Reason::PayloadTooLarge.as_str()),
            415 => (status, Reason::UnsupportedMediaType.as_str()),
            s if (400..500).contains(&s) => (StatusCode::BAD_REQUEST, Reason::BadRequest.as_str()),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, Reason::Internal.as_str()),
        };
        let detail = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %err, "request failed");
            "internal error; quote the request id when reporting it".to_string()
        } else {
            let text = err.to_string();
            if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text }
        };
        Self::new(status, reason, detail, request_id)
    }
}

/// gRPC field paths use proto names; REST records use their own (docs/PRODUCT.md §9 "REST").
fn rest_field_name(field: &str) -> String {
    // Violations name the field in the gRPC request, which nests the resource in updates and some
    // creates (`UpdateProjectRequest.project.name`, `CreateWebhookRequest.webhook.secret`); a REST
    // body is the resource itself (`name`, `secret`), and that is where a form shows the error.
    const NESTED: [&str; 6] = ["project.", "user.", "config.", "member.", "setting.", "webhook."];
    let field = NESTED.iter().find_map(|p| field.strip_prefix(p)).unwrap_or(field);
    match field {
        "create_time" => "created_at",
        "update_time" => "updated_at",
        "last_login_time" => "last_login_at",
        "expire_time" => "expires_at",
        "order_by" => "sort",
        "page_size" | "skip" => "range",
        other => other,
    }
    .to_string()
}

fn problem(status: StatusCode, reason: &str, detail: String, instance: &str, errors: Vec<FieldError>) -> Problem {
    Problem {
        kind: format!("urn:platform:problem:{}", reason.to_ascii_lowercase().replace('_', "-")),
        title: status.canonical_reason().unwrap_or("Error").to_string(),
        status: status.as_u16(),
        message: detail.clone(),
        detail,
        instance: instance.to_string(),
        reason: reason.to_string(),
        errors,
    }
}

/// Middleware around the API: enforces the body limit and turns every error that escapes a
/// handler (poem-openapi's parse failures, unknown routes, 405s) into problem+json, so a client
/// never sees a plain-text error. A 405 names the allowed methods in `Allow` (RFC 9110).
#[derive(Debug, Clone, Default)]
pub struct Problems {
    allow: std::sync::Arc<AllowTable>,
}

impl Problems {
    /// `base` is where the API is mounted; `spec` its OpenAPI document (the source of `Allow`).
    pub fn new(base: &str, spec: &str) -> Self {
        Self { allow: std::sync::Arc::new(AllowTable::from_spec(base, spec)) }
    }
}

/// Path templates of the API and their methods, from the OpenAPI document.
#[derive(Debug, Default)]
struct AllowTable {
    base: String,
    routes: Vec<(Vec<String>, Vec<String>)>,
}

impl AllowTable {
    fn from_spec(base: &str, spec: &str) -> Self {
        let doc: serde_json::Value = serde_json::from_str(spec).unwrap_or_default();
        let routes = doc["paths"]
            .as_object()
            .map(|paths| {
                paths
                    .iter()
                    .map(|(path, ops)| {
                        let segments = path.trim_matches('/').split('/').map(str::to_string).collect();
                        let methods = ops
                            .as_object()
                            .map(|o| o.keys().map(|m| m.to_ascii_uppercase()).collect())
                            .unwrap_or_default();
                        (segments, methods)
                    })
                    .collect()
            })
            .unwrap_or_default();
        Self { base: base.trim_end_matches('/').to_string(), routes }
    }

    /// The route whose template matches `path` (a request path).
    fn route(&self, path: &str) -> Option<&(Vec<String>, Vec<String>)> {
        let rest = path.strip_prefix(&self.base)?;
        let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
        self.routes.iter().find(|(template, _)| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| t.starts_with('{') || t == s)
        })
    }

    /// The name of the `position`-th parameter in the template matching `path`.
    fn path_param(&self, path: &str, position: usize) -> Option<String> {
        let (template, _) = self.route(path)?;
        let param = template.iter().filter(|t| t.starts_with('{')).nth(position)?;
        Some(param.trim_matches(|c| c == '{' || c == '}').to_string())
    }

    /// The methods allowed on `path` (a request path), for the `Allow` header.
    fn allowed(&self, path: &str) -> Option<String> {
        let (_, methods) = self.route(path)?;
        let mut methods = methods.clone();
        methods.push("OPTIONS".into());
        Some(methods.join(", "))
    }
}

impl<E: Endpoint> Middleware<E> for Problems {
    type Output = ProblemsEndpoint<E>;

    fn transform(&self, inner: E) -> Self::Output {
        ProblemsEndpoint { inner, allow: self.allow.clone() }
    }
}

#[derive(Debug)]
pub struct ProblemsEndpoint<E> {
    inner: E,
    allow: std::sync::Arc<AllowTable>,
}

impl<E> ProblemsEndpoint<E> {
    /// A path parameter that did not parse, named as in the path template (`id`): poem-openapi
    /// reports path parameters by position (`param0`), a name no client knows.
    fn path_param_error(&self, err: &poem::Error, path: &str) -> Option<(String, String)> {
        let e = err.downcast_ref::<poem_openapi::error::ParsePathError>()?;
        let position: usize = e.name.strip_prefix("param")?.parse().ok()?;
        Some((self.allow.path_param(path, position)?, e.reason.clone()))
    }
}

impl<E: Endpoint> Endpoint for ProblemsEndpoint<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        let request_id = req.data::<RequestId>().cloned().unwrap_or_else(RequestId::generate);
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Reason::PayloadTooLarge.as_str(),
                format!("request bodies are limited to {MAX_BODY_BYTES} bytes"),
                &request_id,
            )
            .into_response()
        };
        let declared =
            req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Ok(too_large());
        }
        if declared.is_some_and(|n| n > 0) || req.headers().contains_key(header::TRANSFER_ENCODING) {
            // Read it here, bounded (chunked bodies declare no length), so that no handler ever
            // buffers more.
            let bytes = match req.take_body().into_bytes_limit(MAX_BODY_BYTES).await {
                Ok(bytes) => bytes,
                Err(_) => return Ok(too_large()),
            };
            if let Some(field) = json_nul_field(&bytes) {
                return Ok(nul_problem(&field, &request_id));
            }
            req.set_body(bytes);
        }
        // PostgreSQL text cannot hold NUL; refuse it here, before it reaches core-svc as an
        // internal error.
        let uri = req.uri();
        if uri.path().contains("%00") || uri.query().is_some_and(|q| q.contains("%00")) {
            return Ok(nul_problem("url", &request_id));
        }
        let path = req.original_uri().path().to_string();
        let resp = match self.inner.call(req).await {
            Ok(resp) => resp.into_response(),
            Err(err) if err.is_from_response() => err.into_response(),
            Err(err) => match self.path_param_error(&err, &path) {
                Some((name, reason)) => ApiError::bad_input(&name, reason, &request_id).into_response(),
                None => ApiError::from_poem(&err, &request_id).into_response(),
            },
        };
        let mut resp = problem_if_bare_error(resp, &request_id).await;
        if resp.status() == StatusCode::METHOD_NOT_ALLOWED
            && let Some(allow) = self.allow.allowed(&path).and_then(|a| HeaderValue::from_str(&a).ok())
        {
            resp.headers_mut().insert(header::ALLOW, allow);
        }
        Ok(resp)
    }
}

fn nul_problem(field: &str, request_id: &RequestId) -> Response {
    ApiError::bad_input(field, "must not contain NUL characters", request_id).into_response()
}

/// The path of the first JSON string (or key) holding a NUL character, if the body is JSON.
fn json_nul_field(bytes: &[u8]) -> Option<String> {
    // Cheap pre-check: JSON can only carry NUL as the escape `\u0000`.
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    fn walk(v: &serde_json::Value, path: &str) -> Option<String> {
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(path.to_string()),
            serde_json::Value::Array(items) => {
                items.iter().enumerate().find_map(|(i, v)| walk(v, &format!("{path}[{i}]")))
            }
            serde_json::Value::Object(map) => map.iter().find_map(|(k, v)| {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                if k.contains('\0') {
                    Some(if path.is_empty() { "body".into() } else { path.to_string() })
                } else {
                    walk(v, &p)
                }
            }),
            _ => None,
        }
    }
    walk(&value, "").map(|p| if p.is_empty() { "body".into() } else { p })
}

/// Errors that poem produces as plain responses (an unmatched route's empty 404, a parse error
/// turned into text by an inner middleware, a refused CORS origin) get a problem body too; their
/// text becomes the detail.
async fn problem_if_bare_error(resp: Response, request_id: &RequestId) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_problem = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(PROBLEM_JSON));
    if is_problem {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = body.into_bytes_limit(4096).await.map(|b| String::from_utf8_lossy(&b).trim().to_string());
    let err = match text {
        Ok(text) if !text.is_empty() => poem::Error::from_string(text, status),
        _ => poem::Error::from_status(status),
    };
    let mut out = ApiError::from_poem(&err, request_id).into_response();
    // Keep CORS and other headers poem set (e.g. `Allow`).
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().insert(name.clone(), value.clone());
        }
    }
    out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use edge_kit::forward::FieldViolation;

    use super::*;

    fn core(code: Code) -> CoreError {
        CoreError {
            code,
            reason: "R".into(),
            message: "m".into(),
            violations: vec![],
            retry_after: None,
            metadata: Default::default(),
        }
    }

    #[test]
    fn core_codes_map_to_http() {
        let id = RequestId::generate();
        for (code, status) in [
            (Code::InvalidArgument, 422),
            (Code::NotFound, 404),
            (Code::Aborted, 409),
            (Code::AlreadyExists, 409),
            (Code::FailedPrecondition, 409),
            (Code::Unauthenticated, 401),
            (Code::PermissionDenied, 403),
            (Code::ResourceExhausted, 429),
            (Code::Unavailable, 503),
            (Code::DeadlineExceeded, 504),
            (Code::Internal, 500),
            (Code::Unknown, 500),
        ] {
            let resp = ApiError::from_core(core(code), &id).into_response();
            assert_eq!(resp.status().as_u16(), status, "{code:?}");
            assert_eq!(resp.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        }
    }

    #[test]
    fn a_call_without_an_answer_is_503_with_retry_after() {
        // tonic's status when core-svc dies mid-call: no ErrorInfo, code UNKNOWN.
        let err = CoreError::from(tonic::Status::unknown("transport error"));
        let resp = ApiError::from_core(err, &RequestId::generate()).into_response();
        assert_eq!(resp.status().as_u16(), 503);
        assert_eq!(resp.headers()[header::RETRY_AFTER], "1");
    }

    #[test]
    fn retry_after_is_rounded_up_and_violations_renamed() {
        let id = RequestId::generate();
        let mut e = core(Code::ResourceExhausted);
        e.retry_after = Some(Duration::from_millis(1500));
        let resp = ApiError::from_core(e, &id).into_response();
        assert_eq!(resp.headers()["retry-after"], "2");
        let mut e = core(Code::InvalidArgument);
        e.violations = ["order_by", "webhook.secret", "project.name", "event_types[0]"]
            .into_iter()
            .map(|f| FieldViolation { field: f.into(), description: "bad".into() })
            .collect();
        match ApiError::from_core(e, &id) {
            ApiError::Unprocessable(Json(p)) => {
                let fields: Vec<_> = p.errors.iter().map(|e| e.field.as_str()).collect();
                assert_eq!(fields, ["sort", "secret", "name", "event_types[0]"]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn allow_lists_the_methods_of_the_matching_path() {
        let spec = r#"{"paths":{"/events":{"get":{}},"/events/{id}":{"get":{}},"/configs/{id}":{"get":{},"put":{}}}}"#;
        let t = AllowTable::from_spec("/api/v1", spec);
        assert_eq!(t.allowed("/api/v1/events").as_deref(), Some("GET, OPTIONS"));
        assert_eq!(t.allowed("/api/v1/configs/abc").as_deref(), Some("GET, PUT, OPTIONS"));
        assert_eq!(t.allowed("/api/v1/nope"), None);
    }

    #[test]
    fn nul_characters_are_found() {
        assert_eq!(json_nul_field(br#"{"a":"x","b":["ok","n\u0000"]}"#), Some("b[1]".into()));
        assert_eq!(json_nul_field(br#"{"a":"\\u0000"}"#), None);
        assert_eq!(json_nul_field(br#"{"a":"fine"}"#), None);
    }

    #[test]
    fn internal_messages_are_redacted() {
        let id = RequestId::generate();
        let mut e = core(Code::Internal);
        e.message = "secret sql".into();
        match ApiError::from_core(e, &id) {
            ApiError::Internal(Json(p)) => assert!(!p.detail.contains("secret")),
            other => panic!("{other:?}"),
        }
    }
}
