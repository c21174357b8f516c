//! Configuration from environment variables, shared by the edges' `Config::from_env()`.
//!
//! Every value is parsed once at start-up into a typed value, and a bad value stops the process
//! with an error that names the variable, the value and what was expected — never a silent
//! fallback to the default, which would make a typo look like a working deployment.

use std::{collections::HashMap, fmt, str::FromStr};

/// Environment variable naming core-svc's gRPC endpoint.
pub const CORE_GRPC_URL_VAR: &str = "CORE_GRPC_URL";
/// Where core-svc listens by default (its `CORE_LISTEN_ADDR` default).
pub const DEFAULT_CORE_GRPC_URL: &str = "http://127.0.0.1:50051";
/// Environment variable bounding each call to core-svc, in milliseconds.
pub const CORE_CALL_TIMEOUT_MS_VAR: &str = "CORE_CALL_TIMEOUT_MS";
/// 10 s: far above any healthy call (milliseconds), well below a client's patience.
pub const DEFAULT_CORE_CALL_TIMEOUT_MS: &str = "10000";

/// A configuration value that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The variable is set but its value is not valid UTF-8.
    #[error("{var} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        var: String,
    },
    /// The variable is set but its value does not parse.
    #[error("{var}={value:?} is invalid: {reason} (expected a value like {example:?})")]
    Invalid {
        /// The variable's name.
        var: String,
        /// The value as found.
        value: String,
        /// Why it was refused.
        reason: String,
        /// A valid value (the default), to show the expected shape.
        example: String,
    },
}

/// Where variables come from: the process environment, or a fixed map in tests (the environment
/// is process-wide, and editing it from concurrent tests is unsound).
#[derive(Debug, Clone, Default)]
pub struct Env {
    fixed: Option<HashMap<String, String>>,
}

impl Env {
    /// The process environment.
    pub fn process() -> Self {
        Self { fixed: None }
    }

    /// A fixed set of variables; everything else is unset.
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self { fixed: Some(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()) }
    }

    /// The raw value of `var`, `None` when unset.
    pub fn get(&self, var: &str) -> Result<Option<String>, ConfigError> {
        match &self.fixed {
            Some(map) => Ok(map.get(var).cloned()),
            None => match std::env::var(var) {
                Ok(value) => Ok(Some(value)),
                Err(std::env::VarError::NotPresent) => Ok(None),
                Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::NotUnicode { var: var.to_owned() }),
            },
        }
    }

    /// Parses `var`, or `default` when it is unset. An empty value is an error, not "unset":
    /// `REST_LISTEN_ADDR=` is more likely a broken template than a wish for the default.
    pub fn parse_or<T>(&self, var: &str, default: &str) -> Result<T, ConfigError>
    where
        T: FromStr,
        T::Err: fmt::Display,
    {
        let value = self.get(var)?;
        let text = value.as_deref().unwrap_or(default);
        text.parse().map_err(|err: T::Err| ConfigError::Invalid {
            var: var.to_owned(),
            value: text.to_owned(),
            reason: err.to_string(),
            example: default.to_owned(),
        })
    }
}

/// The URL of core-svc's gRPC endpoint: `http://host:port`, checked at start-up so that a typo
/// fails the process instead of every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoreGrpcUrl(String);

impl CoreGrpcUrl {
    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CoreGrpcUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for CoreGrpcUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let uri: poem::http::Uri = s.parse().map_err(|e| format!("not a URL: {e}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            // The channel is built without a TLS stack: core-svc is reached over the private
            // network. Refusing here beats a channel that fails on every call.
            Some("https") => return Err("https is not supported; use http://".to_owned()),
            _ => return Err("the scheme must be http://".to_owned()),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err("the URL has no host".to_owned());
        }
        if (uri.path() != "/" && !uri.path().is_empty()) || uri.query().is_some() {
            return Err("the URL must not have a path or query".to_owned());
        }
        Ok(Self(s.to_owned()))
    }
}

/// How long an edge waits for core-svc to answer one call (`CORE_CALL_TIMEOUT_MS`, 1 ms to
/// 10 minutes): the call's deadline, sent to core-svc as `grpc-timeout` so that it stops working
/// on an answer nobody waits for, and enforced by the edge so that no client hangs on a stuck
/// core-svc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CallTimeout(pub std::time::Duration);

impl FromStr for CallTimeout {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ms: u64 = s.trim().parse().map_err(|e| format!("not a number of milliseconds: {e}"))?;
        if !(1..=600_000).contains(&ms) {
            return Err("must be between 1 and 600000 milliseconds".to_owned());
        }
        Ok(Self(std::time::Duration::from_millis(ms)))
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    #[test]
    fn unset_variables_take_the_default() {
        let env = Env::from_pairs::<&str, &str>([]);
        let addr: SocketAddr = env.parse_or("X_ADDR", "127.0.0.1:8080").unwrap();
        assert_eq!(addr, "127.0.0.1:8080".parse().unwrap());
    }

    #[test]
    fn bad_values_name_the_variable_and_the_value() {
        let env = Env::from_pairs([("X_ADDR", "localhost")]);
        let err = env.parse_or::<SocketAddr>("X_ADDR", "127.0.0.1:8080").unwrap_err().to_string();
        assert!(err.contains("X_ADDR"), "{err}");
        assert!(err.contains("\"localhost\""), "{err}");
        assert!(err.contains("127.0.0.1:8080"), "{err}");

        let empty = Env::from_pairs([("X_ADDR", "")]);
        assert!(empty.parse_or::<SocketAddr>("X_ADDR", "127.0.0.1:8080").is_err());
    }

    #[test]
    fn core_grpc_url_accepts_plain_http_only() {
        assert!("http://127.0.0.1:50051".parse::<CoreGrpcUrl>().is_ok());
        assert!("http://core-svc:50051/".parse::<CoreGrpcUrl>().is_ok());
        for bad in
            ["127.0.0.1:50051", "https://core:50051", "ftp://core", "http://", "http://core:50051/api", "not a url"]
        {
            assert!(bad.parse::<CoreGrpcUrl>().is_err(), "{bad} was accepted");
        }
    }
}
