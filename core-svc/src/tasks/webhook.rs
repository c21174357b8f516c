//! Sending one webhook delivery: the SSRF guard, the signature, the HTTP call.
//!
//! The guard resolves the host itself, refuses private, loopback, link-local and other
//! non-public addresses (unless `WEBHOOK_ALLOW_PRIVATE`), and then pins the connection to the
//! address it checked, so a DNS answer that changes between check and connect (rebinding)
//! cannot redirect the request. Redirects are not followed, for the same reason.

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::{
    client::legacy::{
        Client,
        connect::{HttpConnector, dns::Name},
    },
    rt::TokioExecutor,
};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

/// What one attempt got.
#[derive(Debug)]
pub struct Sent {
    /// HTTP status; 0 when there was no answer.
    pub status: u16,
    /// The start of the answer's body.
    pub body: String,
    /// Why the attempt failed; empty when it succeeded (2xx).
    pub error: String,
    pub duration: Duration,
}

impl Sent {
    pub fn ok(&self) -> bool {
        self.error.is_empty()
    }
}

/// `sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>`.
pub fn signature(secret: &SecretString, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// POSTs `body` to `url`, signed with `secret`.
pub async fn send(
    url: &str,
    secret: &SecretString,
    event_type: &str,
    delivery_id: &str,
    body: Vec<u8>,
    timeout: Duration,
    allow_private: bool,
) -> Sent {
    let started = Instant::now();
    let fail = |error: String| Sent { status: 0, body: String::new(), error, duration: started.elapsed() };
    let parsed = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return fail(format!("invalid URL: {e}")),
    };
    let Some(host) = parsed.host_str().map(str::to_string) else { return fail("the URL has no host".into()) };
    let port = parsed.port_or_known_default().unwrap_or(80);
    let host_for_lookup = host.trim_start_matches('[').trim_end_matches(']').to_string();
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(timeout, tokio::net::lookup_host((host_for_lookup.as_str(), port))).await {
            Ok(Ok(a)) => a.collect(),
            Ok(Err(e)) => return fail(format!("cannot resolve {host}: {e}")),
            Err(_) => return fail(format!("resolving {host} timed out")),
        };
    let Some(addr) = addrs.first().copied() else { return fail(format!("{host} has no address")) };
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !crate::domain::is_public(a.ip())) {
        return fail(format!(
            "refused: {host} resolves to {} (private, loopback or link-local targets are not allowed)",
            bad.ip()
        ));
    }
    let response = post(&parsed, addr, timeout, event_type, delivery_id, secret, body).await;
    let (status, excerpt) = match response {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let body = String::from_utf8_lossy(&excerpt).into_owned();
    let error =
        if (200..300).contains(&status) { String::new() } else { format!("the receiver answered HTTP {status}") };
    Sent { status, body, error, duration: started.elapsed() }
}

/// One POST to `url`, connecting only to `addr` (the address the guard checked). Returns the
/// status and the first KiB of the answer.
async fn post(
    url: &url::Url,
    addr: SocketAddr,
    timeout: Duration,
    event_type: &str,
    delivery_id: &str,
    secret: &SecretString,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    // Every name resolves to the checked address: no second DNS answer can redirect us.
    let resolver = tower::service_fn(move |_: Name| async move { Ok::<_, std::io::Error>(std::iter::once(addr)) });
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.enforce_http(false);
    http.set_connect_timeout(Some(timeout));
    http.set_nodelay(true);
    let timestamp = chrono::Utc::now().timestamp();
    let request = hyper::Request::post(url.as_str())
        .header("content-type", "application/json")
        .header("user-agent", concat!("platform-sm-webhooks/", env!("CARGO_PKG_VERSION")))
        .header("x-platform-event", event_type)
        .header("x-platform-delivery", delivery_id)
        .header("x-platform-timestamp", timestamp.to_string())
        .header("x-platform-signature", signature(secret, timestamp, &body))
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("building the request: {e}"))?;
    let exchange = async {
        let response = if url.scheme() == "https" {
            // TLS with the ring provider and the system's root certificates.
            let https = hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_native_roots(Arc::new(rustls::crypto::ring::default_provider()))
                .map_err(|e| format!("TLS set-up: {e}"))?
                .https_only()
                .enable_http1()
                .wrap_connector(http);
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
            client.request(request).await
        } else {
            let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build(http);
            client.request(request).await
        };
        let response = response.map_err(|e| format!("request failed: {e}"))?;
        let status = response.status().as_u16();
        // Only the start of the answer is kept: a receiver cannot make us buffer more.
        let mut body = response.into_body();
        let mut excerpt = Vec::new();
        while excerpt.len() < 1024 {
            match body.frame().await {
                Some(Ok(frame)) => {
                    if let Some(chunk) = frame.data_ref() {
                        excerpt.extend_from_slice(&chunk[..chunk.len().min(1024 - excerpt.len())]);
                    }
                }
                _ => break,
            }
        }
        Ok((status, excerpt))
    };
    tokio::time::timeout(timeout, exchange).await.map_err(|_| format!("no answer within {}s", timeout.as_secs()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            signature(&"secret".into(), 1_700_000_000, br#"{"a":1}"#),
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
    }
}
