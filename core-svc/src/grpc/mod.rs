//! The gRPC face of core-svc: implements the generated `platform.v1` traits by translating
//! messages to use-case calls. The only module that names proto types.
//!
//! Architecture invariant: no rule lives here. A method extracts the caller and request
//! metadata, converts the message, calls one `Core` method and converts the answer back;
//! errors become `Status` through the single `From<Error>` in `error.rs`.

mod convert;
mod services;

use std::{
    net::{IpAddr, SocketAddr},
    sync::Arc,
};

use crate::error::Reason;
use ipnet::IpNet;

use proto::metadata;
use tonic::{Request, Status};

use crate::{
    domain::{Caller, RequestMeta},
    service::Core,
};

pub use services::router;

/// Shared by every service implementation.
#[derive(Clone)]
pub struct Rpc {
    core: Core,
    /// Peers whose `x-forwarded-for` is believed (`CORE_TRUSTED_PROXIES`).
    trusted_proxies: Arc<[IpNet]>,
}

impl Rpc {
    pub fn new(core: Core, trusted_proxies: &[IpNet]) -> Self {
        Self { core, trusted_proxies: trusted_proxies.into() }
    }

    /// The request id (set by the transport layer when the client sent none) and client address.
    fn meta<T>(&self, req: &Request<T>) -> RequestMeta {
        let md = req.metadata();
        let request_id = md.get(metadata::REQUEST_ID).and_then(|v| v.to_str().ok()).map(str::to_string);
        let peer = req.remote_addr().map(|a: SocketAddr| a.ip());
        // An edge puts the end client's address first. Only a trusted peer (an edge) is believed:
        // anyone else could name any address and escape the per-address login limit.
        let forwarded = peer
            .filter(|p| self.trusted_proxies.iter().any(|net| net.contains(p)))
            .and_then(|_| md.get(metadata::FORWARDED_FOR))
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|s| s.trim().parse::<IpAddr>().ok())
            .map(|ip| ip.to_string());
        RequestMeta { request_id, client_addr: forwarded.or_else(|| peer.map(|p| p.to_string())) }
    }

    fn bearer<T>(req: &Request<T>) -> Result<Option<String>, Status> {
        let Some(v) = req.metadata().get(metadata::AUTHORIZATION) else { return Ok(None) };
        let v = v.to_str().map_err(|_| Status::unauthenticated("authorization must be ASCII"))?;
        let (scheme, token) = v.split_once(' ').unwrap_or((v, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(Status::from(crate::error::Error::unauthenticated(
                Reason::InvalidCredentials,
                "authorization must be `Bearer <token>`",
            )));
        }
        Ok(Some(token.trim().to_string()))
    }

    /// Authenticates the request; every RPC but Login, RefreshToken and SignUp starts here.
    async fn auth<T>(&self, req: &Request<T>) -> Result<(Caller, RequestMeta), Status> {
        let bearer = Self::bearer(req)?;
        let caller = self.core.authenticate(bearer.as_deref()).await?;
        Ok((caller, self.meta(req)))
    }

    /// Like `auth`, but anonymous callers are allowed (None).
    async fn auth_optional<T>(&self, req: &Request<T>) -> Result<Option<Caller>, Status> {
        match Self::bearer(req)? {
            None => Ok(None),
            Some(token) => Ok(Some(self.core.authenticate(Some(&token)).await?)),
        }
    }
}
