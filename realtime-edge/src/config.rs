//! realtime-edge configuration, from environment variables (defaults documented in `.env.example`).

use std::{net::SocketAddr, time::Duration};

use edge_kit::config::{
    CORE_CALL_TIMEOUT_MS_VAR, CORE_GRPC_URL_VAR, CallTimeout, ConfigError, CoreGrpcUrl, DEFAULT_CORE_CALL_TIMEOUT_MS,
    DEFAULT_CORE_GRPC_URL, Env,
};

/// Variable naming the address the HTTP server listens on.
pub const LISTEN_ADDR_VAR: &str = "REALTIME_LISTEN_ADDR";
/// Loopback by default: exposing the edge is a deliberate act.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8082";
/// Seconds a connection without credentials has to send its `auth` frame.
pub const AUTH_TIMEOUT_VAR: &str = "REALTIME_AUTH_TIMEOUT_SECS";
/// docs/PRODUCT.md §9 "WebSocket": a first `auth` frame within 10 s.
pub const DEFAULT_AUTH_TIMEOUT_SECS: &str = "10";
/// Seconds between server pings; a peer that has not answered by the next one is dropped.
pub const PING_INTERVAL_VAR: &str = "REALTIME_PING_INTERVAL_SECS";
/// docs/PRODUCT.md §9 "WebSocket": the server pings every 25 s.
pub const DEFAULT_PING_INTERVAL_SECS: &str = "25";
/// Frames waiting to be written to one client; overflowing it closes the socket with 1013.
pub const SEND_QUEUE_VAR: &str = "REALTIME_SEND_QUEUE";
pub const DEFAULT_SEND_QUEUE: &str = "1024";
/// Subscriptions one connection may hold at once.
pub const MAX_SUBSCRIPTIONS_VAR: &str = "REALTIME_MAX_SUBSCRIPTIONS";
pub const DEFAULT_MAX_SUBSCRIPTIONS: &str = "100";
/// Client frames per second one connection may send (bursts of twice that are allowed).
pub const MAX_FRAMES_PER_SEC_VAR: &str = "REALTIME_MAX_FRAMES_PER_SEC";
pub const DEFAULT_MAX_FRAMES_PER_SEC: &str = "50";

/// Everything realtime-edge needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP server listens; port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// core-svc's gRPC endpoint.
    pub core_grpc_url: CoreGrpcUrl,
    /// How long to wait for core-svc to answer one call (`CORE_CALL_TIMEOUT_MS`).
    pub core_call_timeout: CallTimeout,
    /// How long a connection may stay unauthenticated.
    pub auth_timeout: Duration,
    /// Server ping interval (and the time a peer has to answer).
    pub ping_interval: Duration,
    /// Bound of each connection's outbound queue, in frames (at least 1).
    pub send_queue: usize,
    /// Subscriptions per connection (at least 1).
    pub max_subscriptions: usize,
    /// Client frames per second per connection (at least 1).
    pub max_frames_per_sec: u32,
}

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(&Env::process())
    }

    /// Reads `env`; unset variables take their defaults, unparsable ones are an error.
    pub fn from_vars(env: &Env) -> Result<Self, ConfigError> {
        Ok(Self {
            listen_addr: env.parse_or(LISTEN_ADDR_VAR, DEFAULT_LISTEN_ADDR)?,
            core_grpc_url: env.parse_or(CORE_GRPC_URL_VAR, DEFAULT_CORE_GRPC_URL)?,
            core_call_timeout: env.parse_or(CORE_CALL_TIMEOUT_MS_VAR, DEFAULT_CORE_CALL_TIMEOUT_MS)?,
            auth_timeout: Duration::from_secs(positive(env, AUTH_TIMEOUT_VAR, DEFAULT_AUTH_TIMEOUT_SECS)?),
            ping_interval: Duration::from_secs(positive(env, PING_INTERVAL_VAR, DEFAULT_PING_INTERVAL_SECS)?),
            send_queue: usize::try_from(positive(env, SEND_QUEUE_VAR, DEFAULT_SEND_QUEUE)?).unwrap_or(usize::MAX),
            max_subscriptions: usize::try_from(positive(env, MAX_SUBSCRIPTIONS_VAR, DEFAULT_MAX_SUBSCRIPTIONS)?)
                .unwrap_or(usize::MAX),
            max_frames_per_sec: u32::try_from(positive(env, MAX_FRAMES_PER_SEC_VAR, DEFAULT_MAX_FRAMES_PER_SEC)?)
                .unwrap_or(u32::MAX),
        })
    }
}

/// A whole number ≥ 1: zero would disable the limit in a way nobody means.
fn positive(env: &Env, var: &str, default: &str) -> Result<u64, ConfigError> {
    let value: u64 = env.parse_or(var, default)?;
    if value == 0 {
        return Err(ConfigError::Invalid {
            var: var.to_owned(),
            value: "0".to_owned(),
            reason: "must be at least 1".to_owned(),
            example: default.to_owned(),
        });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let config = Config::from_vars(&Env::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(config.listen_addr, "127.0.0.1:8082".parse().unwrap());
        assert_eq!(config.core_grpc_url.as_str(), "http://127.0.0.1:50051");
        assert_eq!(config.auth_timeout, Duration::from_secs(10));
        assert_eq!(config.ping_interval, Duration::from_secs(25));
        assert_eq!((config.send_queue, config.max_subscriptions, config.max_frames_per_sec), (1024, 100, 50));
    }

    #[test]
    fn limits_must_be_positive_numbers() {
        for var in [AUTH_TIMEOUT_VAR, PING_INTERVAL_VAR, SEND_QUEUE_VAR, MAX_SUBSCRIPTIONS_VAR, MAX_FRAMES_PER_SEC_VAR]
        {
            for value in ["0", "-1", "ten"] {
                let err = Config::from_vars(&Env::from_pairs([(var, value)])).unwrap_err().to_string();
                assert!(err.contains(var), "{err}");
            }
        }
        let config = Config::from_vars(&Env::from_pairs([(AUTH_TIMEOUT_VAR, "1"), (SEND_QUEUE_VAR, "8")])).unwrap();
        assert_eq!((config.auth_timeout, config.send_queue), (Duration::from_secs(1), 8));
    }

    #[test]
    fn variables_override_defaults() {
        let env = Env::from_pairs([(LISTEN_ADDR_VAR, "0.0.0.0:9001"), (CORE_GRPC_URL_VAR, "http://core-svc:50051")]);
        let config = Config::from_vars(&env).unwrap();
        assert_eq!(config.listen_addr, "0.0.0.0:9001".parse().unwrap());
        assert_eq!(config.core_grpc_url.as_str(), "http://core-svc:50051");
    }

    #[test]
    fn unparsable_values_are_errors_naming_the_variable() {
        for (var, value) in [(LISTEN_ADDR_VAR, "localhost:80"), (CORE_GRPC_URL_VAR, "core:50051")] {
            let err = Config::from_vars(&Env::from_pairs([(var, value)])).unwrap_err().to_string();
            assert!(err.contains(var) && err.contains(value), "{err}");
        }
    }
}
