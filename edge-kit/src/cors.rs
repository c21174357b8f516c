//! Which browser origins an edge answers with CORS (`CORS_ALLOWED_ORIGINS`), the same rule for
//! every edge that browsers call (rest-edge, graphql-edge).

use poem::middleware::Cors;

/// Variable listing the browser origins allowed by CORS (comma-separated), or `*` for any.
pub const CORS_ALLOWED_ORIGINS_VAR: &str = "CORS_ALLOWED_ORIGINS";
/// Any origin: the APIs take bearer tokens, never cookies, so a foreign page gains nothing a
/// script without the token could not already do. Production deployments list their apps'
/// origins instead.
pub const DEFAULT_CORS_ALLOWED_ORIGINS: &str = "*";

/// Which origins CORS lets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    Any,
    List(Vec<String>),
}

impl std::str::FromStr for CorsOrigins {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let items: Vec<String> =
            s.split(',').map(|o| o.trim().trim_end_matches('/').to_string()).filter(|o| !o.is_empty()).collect();
        if items.iter().any(|o| o == "*") {
            return Ok(Self::Any);
        }
        if items.is_empty() {
            return Err("expected * or a comma-separated list of origins".into());
        }
        for o in &items {
            let ok = (o.starts_with("http://") || o.starts_with("https://")) && o.parse::<poem::http::Uri>().is_ok();
            if !ok {
                return Err(format!("{o:?} is not an origin like https://admin.example.com"));
            }
        }
        Ok(Self::List(items))
    }
}

impl CorsOrigins {
    /// `cors` restricted to these origins (poem's `Cors` without origins allows any).
    pub fn apply(&self, cors: Cors) -> Cors {
        match self {
            Self::Any => cors,
            Self::List(list) => cors.allow_origins(list.iter().map(String::as_str)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse() {
        assert_eq!("*".parse::<CorsOrigins>().unwrap(), CorsOrigins::Any);
        assert_eq!(
            "https://a.example, http://localhost:5173/".parse::<CorsOrigins>().unwrap(),
            CorsOrigins::List(vec!["https://a.example".into(), "http://localhost:5173".into()])
        );
        for bad in ["", "ftp://x", "not an origin"] {
            assert!(bad.parse::<CorsOrigins>().is_err(), "{bad:?}");
        }
    }
}
