//! `/auth/*`: sign-in, token rotation, sign-out, the current user (AuthService).

use poem::Request;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use proto::v1::{self as pb, auth_service_client::AuthServiceClient};

use super::{BearerAuth, Ctx, OneResponse, Tag, time, users::User};
use crate::problem::ApiError;
use crate::types::{Secret, Text};

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct LoginInput {
    pub email: Text,
    #[oai(write_only)]
    pub password: Secret,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct RefreshInput {
    pub refresh_token: Secret,
}

#[derive(Debug, Clone, Object)]
#[oai(rename_all = "snake_case")]
pub struct LogoutInput {
    /// The session to end; when absent, the session of the bearer access token.
    #[oai(nullable)]
    pub refresh_token: Option<Secret>,
}

/// Tokens and the signed-in user.
#[derive(Debug, Clone, Object)]
// Unset timestamps are left out rather than null: the schema says string.
#[oai(rename_all = "snake_case", skip_serializing_if_is_none)]
pub struct Session {
    /// JWT, 15 minutes. Send as `Authorization: Bearer <access_token>`.
    pub access_token: Secret,
    pub access_token_expires_at: Option<String>,
    /// Opaque, 30 days, single use: `POST /auth/refresh` rotates it.
    pub refresh_token: Secret,
    pub refresh_token_expires_at: Option<String>,
    /// Always `Bearer`.
    pub token_type: String,
    pub user: Option<User>,
}

fn session(ctx: &Ctx, tokens: Option<pb::TokenPair>, user: Option<pb::User>) -> Result<Json<Session>, ApiError> {
    let t = tokens.ok_or_else(|| ctx.missing("tokens"))?;
    Ok(Json(Session {
        access_token_expires_at: time(t.access_token_expire_time.as_ref()),
        refresh_token_expires_at: time(t.refresh_token_expire_time.as_ref()),
        access_token: t.access_token.into(),
        refresh_token: t.refresh_token.into(),
        token_type: t.token_type,
        user: user.map(User::from),
    }))
}

#[derive(ApiResponse)]
pub enum LogoutResponse {
    /// The session is revoked.
    #[oai(status = 204)]
    LoggedOut,
}

pub struct AuthApi(pub super::Core);

impl AuthApi {
    fn client(&self) -> AuthServiceClient<tonic::transport::Channel> {
        AuthServiceClient::new(self.0.0.channel())
    }
}

#[OpenApi(tag = "Tag::Auth")]
impl AuthApi {
    /// Sign in
    ///
    /// Email and password for an access token and a refresh token. Rate-limited per email and
    /// per client address (429 with `Retry-After`).
    #[oai(path = "/auth/login", method = "post", operation_id = "login")]
    async fn login(&self, req: &Request, body: Json<LoginInput>) -> Result<Json<Session>, ApiError> {
        let ctx = Ctx::new(req, None)?;
        let r = self
            .client()
            .login(ctx.req(pb::LoginRequest {
                email: body.0.email.into_string(),
                password: body.0.password.expose().to_string(),
            }))
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        session(&ctx, r.tokens, r.user)
    }

    /// Rotate a refresh token
    ///
    /// The old refresh token stops working; presenting a used one revokes its whole session.
    #[oai(path = "/auth/refresh", method = "post", operation_id = "refresh")]
    async fn refresh(&self, req: &Request, body: Json<RefreshInput>) -> Result<Json<Session>, ApiError> {
        let ctx = Ctx::new(req, None)?;
        let r = self
            .client()
            .refresh_token(
                ctx.req(pb::RefreshTokenRequest { refresh_token: body.0.refresh_token.expose().to_string() }),
            )
            .await
            .map_err(|s| ctx.fail(s))?
            .into_inner();
        session(&ctx, r.tokens, r.user)
    }

    /// Sign out
    ///
    /// Revokes the session of the given refresh token, or of the bearer access token.
    #[oai(path = "/auth/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, req: &Request, body: Json<LogoutInput>) -> Result<LogoutResponse, ApiError> {
        let ctx = Ctx::new(req, None)?;
        self.client()
            .logout(ctx.req(pb::LogoutRequest {
                refresh_token: body.0.refresh_token.map(|t| t.expose().to_string()).unwrap_or_default(),
            }))
            .await
            .map_err(|s| ctx.fail(s))?;
        Ok(LogoutResponse::LoggedOut)
    }

    /// The current user
    #[oai(path = "/auth/me", method = "get", operation_id = "me")]
    async fn me(&self, req: &Request, auth: BearerAuth) -> Result<OneResponse<User>, ApiError> {
        let ctx = Ctx::new(req, Some(&auth))?;
        let r = self.client().get_me(ctx.req(pb::GetMeRequest {})).await.map_err(|s| ctx.fail(s))?;
        let u = r.into_inner().user.map(User::from).ok_or_else(|| ctx.missing("user"))?;
        let etag = Some(u.etag.clone());
        Ok(OneResponse::new(u, etag))
    }
}
