//! Credentials: argon2id password hashes, JWT access tokens, opaque refresh and API tokens.
//!
//! Opaque tokens are 32 random bytes, shown to the client once and stored only as their
//! SHA-256 (they have full entropy, so a slow hash adds nothing). Their prefix tells the kind
//! apart without a database read: `psm_` API token, `psr_` refresh token; anything else is
//! treated as a JWT.

use crate::error::Reason;
use anyhow::Context as _;
use argon2::{
    Argon2,
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng},
};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{
    domain::UserRole,
    error::{Error, Result},
};

/// Default lifetime of access tokens (`ACCESS_TOKEN_TTL_SECS`).
pub const ACCESS_TOKEN_TTL: Duration = Duration::minutes(15);
pub const REFRESH_TOKEN_TTL: Duration = Duration::days(30);
pub const API_TOKEN_PREFIX: &str = "psm_";
pub const REFRESH_TOKEN_PREFIX: &str = "psr_";
const ISSUER: &str = "platform-sm";

/// Hashes a password with argon2id (default OWASP-recommended parameters) on a blocking
/// thread: it takes tens of milliseconds of CPU on purpose.
pub async fn hash_password(password: SecretString) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("argon2: {e}"))
    })
    .await
    .context("password hashing task")?
    .map_err(Error::Internal)
}

/// Verifies a password against a stored hash, in constant time, on a blocking thread.
pub async fn verify_password(password: SecretString, hash: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || {
        let parsed = PasswordHash::new(&hash).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
        Ok(Argon2::default().verify_password(password.expose_secret().as_bytes(), &parsed).is_ok())
    })
    .await
    .context("password verification task")?
    .map_err(Error::Internal)
}

/// A hash to verify against when the email is unknown, so that timing does not reveal which
/// emails exist.
pub async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async {
            hash_password(SecretString::from("not-a-real-password-0123")).await.unwrap_or_default()
        })
        .await
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AccessClaims {
    pub sub: Uuid,
    pub sid: Uuid,
    pub role: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    /// Unique per token, so two tokens issued in the same second still differ.
    pub jti: Uuid,
}

/// Signs and verifies access tokens (HS256 with `JWT_SECRET`). No `Debug`: it holds the key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl: Duration,
}

impl TokenKeys {
    /// Access tokens issued from now on live `ttl` (default [`ACCESS_TOKEN_TTL`]).
    pub fn with_access_ttl(self, ttl: std::time::Duration) -> Self {
        Self { access_ttl: Duration::from_std(ttl).unwrap_or(ACCESS_TOKEN_TTL), ..self }
    }

    pub fn new(secret: &SecretSlice<u8>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        let key = secret.expose_secret();
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            access_ttl: ACCESS_TOKEN_TTL,
        }
    }

    pub fn issue(
        &self,
        user_id: Uuid,
        role: UserRole,
        session_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<(SecretString, DateTime<Utc>)> {
        let exp = now + self.access_ttl;
        let claims = AccessClaims {
            sub: user_id,
            sid: session_id,
            role: role.as_str().to_string(),
            iss: ISSUER.to_string(),
            iat: now.timestamp(),
            exp: exp.timestamp(),
            jti: Uuid::now_v7(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| Error::Internal(anyhow::anyhow!("jwt encode: {e}")))?;
        Ok((token.into(), exp))
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation).map(|d| d.claims).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Error::unauthenticated(Reason::TokenExpired, "access token expired; refresh it")
                }
                _ => Error::unauthenticated(Reason::InvalidToken, "invalid access token"),
            }
        })
    }
}

/// A new opaque token with the given prefix, and the hash to store.
pub fn new_opaque_token(prefix: &str) -> (SecretString, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{prefix}{}", hex::encode(bytes));
    let hash = hash_token(&token);
    (token.into(), hash)
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwt_round_trip_and_tamper() {
        let keys = TokenKeys::new(&b"test-secret-test-secret-test-secret".to_vec().into());
        let (uid, sid) = (Uuid::now_v7(), Uuid::now_v7());
        let (token, _) = keys.issue(uid, UserRole::Admin, sid, Utc::now()).unwrap();
        let claims = keys.verify(token.expose_secret()).unwrap();
        assert_eq!((claims.sub, claims.sid, claims.role.as_str()), (uid, sid, "admin"));
        let other = TokenKeys::new(&b"another-secret-another-secret-xx".to_vec().into());
        assert!(other.verify(token.expose_secret()).is_err());
        let (old, _) = keys.issue(uid, UserRole::User, sid, Utc::now() - Duration::hours(1)).unwrap();
        match keys.verify(old.expose_secret()) {
            Err(Error::Unauthenticated { reason, .. }) => assert_eq!(reason, Reason::TokenExpired),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn access_token_lifetime_is_configurable() {
        let keys = TokenKeys::new(&b"test-secret-test-secret-test-secret".to_vec().into());
        let now = Utc::now();
        let (_, exp) = keys.issue(Uuid::now_v7(), UserRole::User, Uuid::now_v7(), now).unwrap();
        assert_eq!(exp - now, ACCESS_TOKEN_TTL);
        let short = keys.with_access_ttl(std::time::Duration::from_secs(20));
        let (token, exp) = short.issue(Uuid::now_v7(), UserRole::User, Uuid::now_v7(), now).unwrap();
        assert_eq!(exp - now, Duration::seconds(20));
        assert_eq!(short.verify(token.expose_secret()).unwrap().exp, exp.timestamp());
    }

    #[tokio::test]
    async fn passwords() {
        let h = hash_password("correct horse battery".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery".into(), h.clone()).await.unwrap());
        assert!(!verify_password("wrong horse battery".into(), h).await.unwrap());
    }

    #[test]
    fn opaque_tokens() {
        let (t, h) = new_opaque_token(API_TOKEN_PREFIX);
        let t = t.expose_secret();
        assert!(t.starts_with("psm_") && t.len() == 68);
        assert_eq!(hash_token(t), h);
    }

    #[test]
    fn secrets_never_show_in_debug() {
        let (token, _) = new_opaque_token(REFRESH_TOKEN_PREFIX);
        let shown = format!("{token:?}");
        assert!(!shown.contains(token.expose_secret()), "{shown}");
        assert!(!shown.contains("psr_"), "{shown}");
    }
}
