//! graphql-edge configuration, from environment variables (defaults documented in `.env.example`).

use std::net::SocketAddr;

use edge_kit::config::{
    CORE_CALL_TIMEOUT_MS_VAR, CORE_GRPC_URL_VAR, CallTimeout, ConfigError, CoreGrpcUrl, DEFAULT_CORE_CALL_TIMEOUT_MS,
    DEFAULT_CORE_GRPC_URL, Env,
};

/// Variable naming the address the HTTP server listens on.
pub const LISTEN_ADDR_VAR: &str = "GRAPHQL_LISTEN_ADDR";
/// Loopback by default: exposing the edge is a deliberate act.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8081";

/// Subscriptions per WebSocket (`GRAPHQL_WS_MAX_SUBSCRIPTIONS`).
pub const WS_MAX_SUBSCRIPTIONS_VAR: &str = "GRAPHQL_WS_MAX_SUBSCRIPTIONS";
/// Client messages per second per WebSocket, bursts of twice that (`GRAPHQL_WS_MAX_MESSAGES_PER_SEC`).
pub const WS_MAX_MESSAGES_PER_SEC_VAR: &str = "GRAPHQL_WS_MAX_MESSAGES_PER_SEC";
/// Messages that may wait for a slow client before it is closed (`GRAPHQL_WS_SEND_QUEUE`).
pub const WS_SEND_QUEUE_VAR: &str = "GRAPHQL_WS_SEND_QUEUE";
/// Seconds a client has to send `connection_init` (`GRAPHQL_WS_INIT_TIMEOUT_SECS`).
pub const WS_INIT_TIMEOUT_SECS_VAR: &str = "GRAPHQL_WS_INIT_TIMEOUT_SECS";

/// Limits of the subscription WebSocket.
#[derive(Debug, Clone)]
pub struct WsLimits {
    pub max_subscriptions: usize,
    pub max_messages_per_sec: u32,
    pub send_queue: usize,
    pub init_timeout: std::time::Duration,
}

/// Everything graphql-edge needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP server listens; port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// core-svc's gRPC endpoint.
    pub core_grpc_url: CoreGrpcUrl,
    /// How long to wait for core-svc to answer one call (`CORE_CALL_TIMEOUT_MS`).
    pub core_call_timeout: CallTimeout,
    pub ws: WsLimits,
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
            ws: WsLimits {
                max_subscriptions: env.parse_or(WS_MAX_SUBSCRIPTIONS_VAR, "100")?,
                max_messages_per_sec: env.parse_or(WS_MAX_MESSAGES_PER_SEC_VAR, "50")?,
                send_queue: env.parse_or::<usize>(WS_SEND_QUEUE_VAR, "1024")?.max(1),
                init_timeout: std::time::Duration::from_secs(env.parse_or(WS_INIT_TIMEOUT_SECS_VAR, "10")?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let config = Config::from_vars(&Env::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(config.listen_addr, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(config.core_grpc_url.as_str(), "http://127.0.0.1:50051");
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
