//! rest-edge configuration, from environment variables (defaults documented in `.env.example`).

use std::{net::SocketAddr, path::PathBuf};

use edge_kit::config::{
    CORE_CALL_TIMEOUT_MS_VAR, CORE_GRPC_URL_VAR, CallTimeout, ConfigError, CoreGrpcUrl, DEFAULT_CORE_CALL_TIMEOUT_MS,
    DEFAULT_CORE_GRPC_URL, Env,
};

/// Variable naming the address the HTTP server listens on.
pub const LISTEN_ADDR_VAR: &str = "REST_LISTEN_ADDR";
/// Loopback by default: exposing the edge is a deliberate act.
pub const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:8080";

pub use edge_kit::cors::{CORS_ALLOWED_ORIGINS_VAR, CorsOrigins, DEFAULT_CORS_ALLOWED_ORIGINS};

/// Variable naming a directory of static files (the built admin panel) served at [`ADMIN_PATH`].
pub const ADMIN_STATIC_DIR_VAR: &str = "ADMIN_STATIC_DIR";

/// Everything rest-edge needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the HTTP server listens; port 0 picks a free port.
    pub listen_addr: SocketAddr,
    /// core-svc's gRPC endpoint.
    pub core_grpc_url: CoreGrpcUrl,
    /// How long to wait for core-svc to answer one call (`CORE_CALL_TIMEOUT_MS`).
    pub core_call_timeout: CallTimeout,
    /// Browser origins allowed to call the API.
    pub cors_allowed_origins: CorsOrigins,
    /// The built admin panel (`apps/admin/dist`), served at `/admin/`; None: not served.
    pub admin_static_dir: Option<PathBuf>,
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
            cors_allowed_origins: env.parse_or(CORS_ALLOWED_ORIGINS_VAR, DEFAULT_CORS_ALLOWED_ORIGINS)?,
            admin_static_dir: admin_static_dir(env)?,
        })
    }
}

/// [`ADMIN_STATIC_DIR_VAR`]: unset, or a directory holding an `index.html` (checked at start, so a
/// wrong path fails the process rather than every page).
fn admin_static_dir(env: &Env) -> Result<Option<PathBuf>, ConfigError> {
    let Some(value) = env.get(ADMIN_STATIC_DIR_VAR)? else { return Ok(None) };
    let dir = PathBuf::from(&value);
    if !dir.join("index.html").is_file() {
        return Err(ConfigError::Invalid {
            var: ADMIN_STATIC_DIR_VAR.to_owned(),
            value,
            reason: "not a directory with an index.html (build the panel first: npm run build in apps/)".into(),
            example: "apps/admin/dist".into(),
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
        assert_eq!(config.listen_addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.core_grpc_url.as_str(), "http://127.0.0.1:50051");
        assert_eq!(config.cors_allowed_origins, CorsOrigins::Any);
        assert_eq!(config.admin_static_dir, None);
    }

    #[test]
    fn admin_static_dir_must_hold_an_index() {
        let dir = std::env::temp_dir().join(format!("rest-edge-admin-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let env = Env::from_pairs([(ADMIN_STATIC_DIR_VAR, dir.to_str().unwrap())]);
        let err = Config::from_vars(&env).unwrap_err().to_string();
        assert!(err.contains(ADMIN_STATIC_DIR_VAR) && err.contains("index.html"), "{err}");
        std::fs::write(dir.join("index.html"), "<!doctype html>").unwrap();
        assert_eq!(Config::from_vars(&env).unwrap().admin_static_dir, Some(dir.clone()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn cors_origins_parse() {
        let env = Env::from_pairs([(CORS_ALLOWED_ORIGINS_VAR, "https://a.example, http://localhost:5173/")]);
        assert_eq!(
            Config::from_vars(&env).unwrap().cors_allowed_origins,
            CorsOrigins::List(vec!["https://a.example".into(), "http://localhost:5173".into()])
        );
        for bad in ["", "ftp://x", "not an origin"] {
            assert!(Config::from_vars(&Env::from_pairs([(CORS_ALLOWED_ORIGINS_VAR, bad)])).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn variables_override_defaults() {
        let env = Env::from_pairs([(LISTEN_ADDR_VAR, "0.0.0.0:9000"), (CORE_GRPC_URL_VAR, "http://core-svc:50051")]);
        let config = Config::from_vars(&env).unwrap();
        assert_eq!(config.listen_addr, "0.0.0.0:9000".parse().unwrap());
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
