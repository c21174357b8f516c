//! Configuration from the environment (see `.env.example` for every variable).

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};

use crate::{
    redis::{LoginLimits, TokenLimit},
    tasks::TaskConfig,
};

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub database_max_connections: u32,
    pub redis_url: String,
    pub listen_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub jwt_secret: Vec<u8>,
    /// Lifetime of access tokens (`ACCESS_TOKEN_TTL_SECS`, default 900).
    pub access_token_ttl: Duration,
    /// Creates this admin at start when no admin exists yet.
    pub admin: Option<(String, String)>,
    pub login_limits: LoginLimits,
    /// `RATE_LIMIT_PER_TOKEN` calls per `RATE_LIMIT_WINDOW_SECS` per credential; None: no budget.
    pub token_limit: Option<TokenLimit>,
    /// Workers, leases, retries and webhook delivery.
    pub tasks: TaskConfig,
    /// How long SIGTERM waits for in-flight requests before giving up on them.
    pub shutdown_grace: Duration,
}

impl std::fmt::Debug for Config {
    // Secrets stay out of logs: no password, no JWT secret, no credentials in URLs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("database_max_connections", &self.database_max_connections)
            .field("admin_email", &self.admin.as_ref().map(|(e, _)| e))
            .field("access_token_ttl", &self.access_token_ttl)
            .field("login_limits", &self.login_limits)
            .field("token_limit", &self.token_limit)
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn parse<T: std::str::FromStr>(name: &str, default: &str) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    let raw = var(name).unwrap_or_else(|| default.to_string());
    raw.parse::<T>().map_err(|e| anyhow::anyhow!("{name}={raw:?}: {e}"))
}

/// Shortest and longest access-token lifetimes accepted: clients refresh ahead of expiry, so a few
/// seconds would make them do little else; past a day a stolen token is worth too much.
const ACCESS_TOKEN_TTL_RANGE: std::ops::RangeInclusive<u64> = 10..=86_400;

fn access_token_ttl(secs: u64) -> anyhow::Result<Duration> {
    if !ACCESS_TOKEN_TTL_RANGE.contains(&secs) {
        bail!(
            "ACCESS_TOKEN_TTL_SECS={secs}: must be between {} and {} seconds",
            ACCESS_TOKEN_TTL_RANGE.start(),
            ACCESS_TOKEN_TTL_RANGE.end()
        );
    }
    Ok(Duration::from_secs(secs))
}

impl Config {
    pub fn from_env() -> anyhow::Result<Self> {
        let database_url =
            var("DATABASE_URL").context("DATABASE_URL is required (postgres://user:pass@host:port/db)")?;
        let jwt_secret = var("JWT_SECRET").context("JWT_SECRET is required (at least 32 characters)")?;
        if jwt_secret.len() < 32 {
            bail!("JWT_SECRET must be at least 32 characters");
        }
        let admin = match (var("PLATFORM_ADMIN_EMAIL"), var("PLATFORM_ADMIN_PASSWORD")) {
            (Some(e), Some(p)) => Some((e, p)),
            (None, None) => None,
            _ => bail!("set both PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD, or neither"),
        };
        Ok(Self {
            database_url,
            database_max_connections: parse("DATABASE_MAX_CONNECTIONS", "20")?,
            redis_url: var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            listen_addr: parse("CORE_LISTEN_ADDR", "127.0.0.1:50051")?,
            metrics_addr: parse("CORE_METRICS_ADDR", "127.0.0.1:9090")?,
            jwt_secret: jwt_secret.into_bytes(),
            access_token_ttl: access_token_ttl(parse("ACCESS_TOKEN_TTL_SECS", "900")?)?,
            admin,
            login_limits: LoginLimits {
                per_email: parse("LOGIN_RATE_LIMIT_PER_EMAIL", "10")?,
                per_addr: parse("LOGIN_RATE_LIMIT_PER_ADDR", "50")?,
                window: Duration::from_secs(parse("LOGIN_RATE_LIMIT_WINDOW_SECS", "300")?),
            },
            token_limit: match parse::<u32>("RATE_LIMIT_PER_TOKEN", "0")? {
                0 => None,
                requests => {
                    Some(TokenLimit { requests, window: Duration::from_secs(parse("RATE_LIMIT_WINDOW_SECS", "60")?) })
                }
            },
            tasks: TaskConfig {
                workers: parse("TASK_WORKERS", "2")?,
                lease: Duration::from_secs(parse("TASK_LEASE_SECS", "30")?),
                retry_base: Duration::from_millis(parse("TASK_RETRY_BASE_MS", "2000")?),
                retry_max: Duration::from_secs(parse("TASK_RETRY_MAX_SECS", "600")?),
                webhook_max_attempts: parse("WEBHOOK_MAX_ATTEMPTS", "8")?,
                webhook_timeout: Duration::from_secs(parse("WEBHOOK_TIMEOUT_SECS", "10")?),
                webhook_allow_private: parse("WEBHOOK_ALLOW_PRIVATE", "false")?,
                maintenance_every: Duration::from_secs(parse("MAINTENANCE_INTERVAL_SECS", "3600")?),
            },
            shutdown_grace: Duration::from_secs(parse("SHUTDOWN_GRACE_SECS", "25")?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_ttl_is_bounded() {
        assert_eq!(access_token_ttl(900).unwrap(), Duration::from_secs(900));
        assert_eq!(access_token_ttl(10).unwrap(), Duration::from_secs(10));
        for bad in [0, 9, 86_401] {
            let err = access_token_ttl(bad).unwrap_err().to_string();
            assert!(err.contains("ACCESS_TOKEN_TTL_SECS"), "{err}");
        }
    }
}
