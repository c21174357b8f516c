//! Configuration from the environment (see `.env.example` for every variable).

use std::{net::SocketAddr, time::Duration};

use anyhow::{Context, bail};
use secrecy::{SecretSlice, SecretString};

use crate::{
    redis::{LoginLimits, TokenLimit},
    tasks::TaskConfig,
};

#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub database_max_connections: u32,
    /// `DATABASE_STATEMENT_TIMEOUT_MS`: PostgreSQL cancels a statement that runs longer (or
    /// waits longer for a lock), so a stuck query cannot hold a connection and a request forever.
    pub statement_timeout: Duration,
    /// `CORE_REQUEST_TIMEOUT_SECS`: the longest a call may take when its client set no shorter
    /// deadline (`grpc-timeout`); then it ends with CANCELLED "Timeout expired".
    pub request_timeout: Duration,
    pub redis_url: String,
    pub listen_addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    pub jwt_secret: SecretSlice<u8>,
    /// Lifetime of access tokens (`ACCESS_TOKEN_TTL_SECS`, default 900).
    pub access_token_ttl: Duration,
    /// Creates this admin (email, password) at start when no admin exists yet.
    pub admin: Option<(String, SecretString)>,
    pub login_limits: LoginLimits,
    /// `RATE_LIMIT_PER_TOKEN` calls per `RATE_LIMIT_WINDOW_SECS` per credential; None: no budget.
    pub token_limit: Option<TokenLimit>,
    /// Workers, leases, retries and webhook delivery.
    pub tasks: TaskConfig,
    /// How long SIGTERM waits for in-flight requests before giving up on them.
    pub shutdown_grace: Duration,
    /// `CORE_TRUSTED_PROXIES`: peers (the edges) whose `x-forwarded-for` names the end client.
    /// From anyone else the header is ignored and the socket's peer is the client, so a caller
    /// that reaches the gRPC port directly cannot pick the address its login attempts count
    /// against.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl std::fmt::Debug for Config {
    // No credentials in URLs (DATABASE_URL, REDIS_URL); the secrets' own Debug prints nothing.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen_addr", &self.listen_addr)
            .field("metrics_addr", &self.metrics_addr)
            .field("database_max_connections", &self.database_max_connections)
            .field("admin", &self.admin)
            .field("jwt_secret", &self.jwt_secret)
            .field("access_token_ttl", &self.access_token_ttl)
            .field("login_limits", &self.login_limits)
            .field("token_limit", &self.token_limit)
            .field("tasks", &self.tasks)
            .field("trusted_proxies", &self.trusted_proxies)
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

/// Access tokens live at least 10 s (tests use short lives; shorter would make clients do little
/// but refresh) and at most a day (past that a stolen token is worth too much).
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
            (Some(e), Some(p)) => Some((e, SecretString::from(p))),
            (None, None) => None,
            _ => bail!("set both PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD, or neither"),
        };
        Ok(Self {
            database_url,
            database_max_connections: parse("DATABASE_MAX_CONNECTIONS", "20")?,
            statement_timeout: Duration::from_millis(parse("DATABASE_STATEMENT_TIMEOUT_MS", "10000")?),
            request_timeout: Duration::from_secs(parse("CORE_REQUEST_TIMEOUT_SECS", "30")?),
            redis_url: var("REDIS_URL").unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
            listen_addr: parse("CORE_LISTEN_ADDR", "127.0.0.1:50051")?,
            metrics_addr: parse("CORE_METRICS_ADDR", "127.0.0.1:9090")?,
            jwt_secret: jwt_secret.into_bytes().into(),
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
            trusted_proxies: trusted_proxies(var("CORE_TRUSTED_PROXIES").as_deref().unwrap_or(""))?,
        })
    }
}

/// `10.0.0.0/8, 127.0.0.1, ::1`: CIDR blocks or single addresses, comma-separated.
pub fn trusted_proxies(list: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| anyhow::anyhow!("CORE_TRUSTED_PROXIES: {s:?} is neither an address nor a CIDR block"))
        })
        .collect()
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

    #[test]
    fn debug_shows_no_secret() {
        let config = Config {
            database_url: "postgres://u:db-password@h/d".into(),
            database_max_connections: 1,
            statement_timeout: Duration::from_secs(1),
            request_timeout: Duration::from_secs(1),
            redis_url: "redis://:redis-password@h".into(),
            listen_addr: "127.0.0.1:0".parse().unwrap(),
            metrics_addr: "127.0.0.1:0".parse().unwrap(),
            jwt_secret: b"jwt-secret-jwt-secret-jwt-secret-0".to_vec().into(),
            access_token_ttl: Duration::from_secs(900),
            admin: Some(("admin@x.test".into(), "admin-password-1".into())),
            login_limits: LoginLimits { per_email: 1, per_addr: 1, window: Duration::from_secs(1) },
            token_limit: None,
            tasks: TaskConfig::default(),
            shutdown_grace: Duration::from_secs(1),
            trusted_proxies: Vec::new(),
        };
        let shown = format!("{config:?}");
        for secret in ["db-password", "redis-password", "jwt-secret", "admin-password"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("admin@x.test"), "{shown}");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks() {
        let list = trusted_proxies(" 10.0.0.0/8, 127.0.0.1 ,::1,").unwrap();
        assert_eq!(list.len(), 3);
        assert!(list[0].contains(&"10.2.3.4".parse::<std::net::IpAddr>().unwrap()));
        assert!(list[1].contains(&"127.0.0.1".parse::<std::net::IpAddr>().unwrap()));
        assert!(!list[1].contains(&"127.0.0.2".parse::<std::net::IpAddr>().unwrap()));
        assert!(trusted_proxies("").unwrap().is_empty());
        assert!(trusted_proxies("10.0.0.0/33").is_err());
        assert!(trusted_proxies("edge.local").is_err());
    }
}
