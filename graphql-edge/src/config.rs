//! graphql-edge configuration, from environment variables (defaults documented in `.env.example`).

use std::{net::SocketAddr, path::PathBuf};

use edge_kit::{
    config::{
        CORE_CALL_TIMEOUT_MS_VAR, CORE_GRPC_URL_VAR, CallTimeout, ConfigError, CoreGrpcUrl,
        DEFAULT_CORE_CALL_TIMEOUT_MS, DEFAULT_CORE_GRPC_URL, Env,
    },
    cors::{CORS_ALLOWED_ORIGINS_VAR, CorsOrigins, DEFAULT_CORS_ALLOWED_ORIGINS},
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

/// Variable naming a directory of static files (the built web app) served at `/`.
pub const WEB_STATIC_DIR_VAR: &str = "WEB_STATIC_DIR";
/// Variable naming the built GraphiQL (`apps/graphiql/dist`): its `index.html` answers a browser's
/// `GET /graphql`, its files are served under `/graphiql/`.
pub const GRAPHIQL_DIR_VAR: &str = "GRAPHIQL_DIR";

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
    /// Browser origins allowed to call `/graphql` (`CORS_ALLOWED_ORIGINS`, as on rest-edge).
    pub cors_allowed_origins: CorsOrigins,
    /// The built web app (`apps/web/dist`), served at `/`; None: not served.
    pub web_static_dir: Option<PathBuf>,
    /// The built GraphiQL (`apps/graphiql/dist`); None: a browser gets a page saying how to add it.
    pub graphiql_dir: Option<PathBuf>,
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
            cors_allowed_origins: env.parse_or(CORS_ALLOWED_ORIGINS_VAR, DEFAULT_CORS_ALLOWED_ORIGINS)?,
            web_static_dir: static_dir(env, WEB_STATIC_DIR_VAR, "the web app", "apps/web/dist")?,
            graphiql_dir: static_dir(env, GRAPHIQL_DIR_VAR, "GraphiQL", "apps/graphiql/dist")?,
        })
    }
}

/// A directory of built static files (`var`): unset, or a directory holding an `index.html`
/// (checked at start, so a wrong path fails the process rather than every page).
fn static_dir(env: &Env, var: &str, what: &str, example: &str) -> Result<Option<PathBuf>, ConfigError> {
    let Some(value) = env.get(var)? else { return Ok(None) };
    let dir = PathBuf::from(&value);
    if !dir.join("index.html").is_file() {
        return Err(ConfigError::Invalid {
            var: var.to_owned(),
            value,
            reason: format!("not a directory with an index.html (build {what} first: npm run build in apps/)"),
            example: example.into(),
        });
    }
    Ok(Some(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let config = Config::from_vars(&Env::from_pairs::<&str, &str>([])).unwrap();
        assert_eq!(config.listen_addr, "127.0.0.1:8081".parse().unwrap());
        assert_eq!(config.core_grpc_url.as_str(), "http://127.0.0.1:50051");
        assert_eq!(config.cors_allowed_origins, CorsOrigins::Any);
        assert_eq!(config.web_static_dir, None);
        assert_eq!(config.graphiql_dir, None);
    }

    #[test]
    fn cors_origins_and_web_dir() {
        let env = Env::from_pairs([(CORS_ALLOWED_ORIGINS_VAR, "https://app.example,http://localhost:5173")]);
        assert_eq!(
            Config::from_vars(&env).unwrap().cors_allowed_origins,
            CorsOrigins::List(vec!["https://app.example".into(), "http://localhost:5173".into()])
        );
        assert!(Config::from_vars(&Env::from_pairs([(CORS_ALLOWED_ORIGINS_VAR, "ftp://x")])).is_err());

        let dir = std::env::temp_dir().join(format!("graphql-edge-web-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let env = Env::from_pairs([(WEB_STATIC_DIR_VAR, dir.to_str().unwrap())]);
        let err = Config::from_vars(&env).unwrap_err().to_string();
        assert!(err.contains(WEB_STATIC_DIR_VAR) && err.contains("index.html"), "{err}");
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        assert_eq!(Config::from_vars(&env).unwrap().web_static_dir, Some(dir.clone()));
        let env = Env::from_pairs([(GRAPHIQL_DIR_VAR, dir.to_str().unwrap())]);
        assert_eq!(Config::from_vars(&env).unwrap().graphiql_dir, Some(dir.clone()));
        let missing = dir.join("nope");
        let err = Config::from_vars(&Env::from_pairs([(GRAPHIQL_DIR_VAR, missing.to_str().unwrap())]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(GRAPHIQL_DIR_VAR) && err.contains("GraphiQL"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
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
