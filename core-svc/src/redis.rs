//! The Redis connection and what core-svc keeps there: rate limits here, the read cache in
//! `cache.rs`.
//!
//! Redis is an accelerator, never the source of truth: when it is down, core-svc keeps serving
//! from PostgreSQL, `/readyz` reports the degradation, and the rate limiter lets requests
//! through (logging a warning) rather than locking every user out.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use redis::{Script, aio::ConnectionManager};
use tokio::sync::Mutex;

use crate::error::{Error, Result};

/// A lazily connected, self-healing Redis connection.
///
/// `ConnectionManager` reconnects by itself once established; the first connection is made on
/// demand so that core-svc starts (and serves from PostgreSQL) even when Redis is not up yet.
///
/// A circuit breaker sits in front: after a failure, calls fail at once for
/// [`BREAKER_OPEN`] instead of each waiting for a connect or response timeout, so that an outage
/// costs the hot read path nothing (it goes straight to PostgreSQL).
#[derive(Clone)]
pub struct Redis {
    client: redis::Client,
    conn: Arc<Mutex<Option<ConnectionManager>>>,
    timeout: Duration,
    /// Milliseconds since `epoch` until which calls are refused; 0 = closed (calls go through).
    open_until: Arc<AtomicU64>,
    epoch: Instant,
}

/// How long calls skip Redis after a failure.
pub const BREAKER_OPEN: Duration = Duration::from_secs(2);

impl Redis {
    pub fn new(url: &str) -> anyhow::Result<Self> {
        Ok(Self {
            client: redis::Client::open(url)?,
            conn: Arc::new(Mutex::new(None)),
            timeout: Duration::from_millis(500),
            open_until: Arc::new(AtomicU64::new(0)),
            epoch: Instant::now(),
        })
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Records a failed call: the breaker opens.
    pub fn failed(&self, op: &'static str, e: &dyn std::fmt::Display) {
        metrics::counter!("core_redis_errors_total", "op" => op).increment(1);
        let was = self.open_until.swap(self.now_ms() + BREAKER_OPEN.as_millis() as u64, Ordering::AcqRel);
        if was == 0 {
            tracing::warn!(error = %e, op, "redis unavailable; serving without it for now");
        }
    }

    /// A connection for the hot path: fails at once while the breaker is open.
    pub async fn available(&self) -> Result<ConnectionManager> {
        let until = self.open_until.load(Ordering::Acquire);
        if until != 0 {
            if self.now_ms() < until {
                return Err(Error::Unavailable("redis unavailable (circuit open)".into()));
            }
            // Half-open: let calls try again; the next failure re-opens it.
            if self.open_until.compare_exchange(until, 0, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                tracing::info!("retrying redis");
            }
        }
        match self.conn().await {
            Ok(c) => Ok(c),
            Err(e) => {
                self.failed("connect", &e);
                Err(e)
            }
        }
    }

    /// A connection, or an error when Redis is unreachable right now.
    pub async fn conn(&self) -> Result<ConnectionManager> {
        let mut slot = self.conn.lock().await;
        if let Some(c) = slot.as_ref() {
            return Ok(c.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1);
        let c = tokio::time::timeout(self.timeout * 2, ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .map_err(|_| Error::Unavailable("redis connect timeout".into()))?
            .map_err(|e| Error::Unavailable(format!("redis: {e}")))?;
        *slot = Some(c.clone());
        Ok(c)
    }

    /// A connection of its own, for blocking commands (`BLPOP` would stall every other user of
    /// a shared connection).
    pub async fn dedicated(&self) -> Result<redis::aio::MultiplexedConnection> {
        self.available().await?;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            // Longer than the BLPOP wait.
            .set_response_timeout(Some(Duration::from_secs(5)));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| Error::Unavailable(format!("redis: {e}")))
    }

    /// Round-trips a PING; for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.conn().await?;
        let _: String = tokio::time::timeout(self.timeout, redis::cmd("PING").query_async(&mut c))
            .await
            .map_err(|_| Error::Unavailable("redis ping timeout".into()))?
            .map_err(|e| Error::Unavailable(format!("redis: {e}")))?;
        Ok(())
    }
}

/// Fixed-window counters: one per email and one per client address.
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub per_email: u32,
    pub per_addr: u32,
    pub window: Duration,
}

// INCR and EXPIRE must happen together, or a crash between them leaves a counter that never
// expires and locks the email out for good; a script runs atomically.
const HIT_SCRIPT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
";

/// An optional budget of calls per credential (session or API token) per window.
#[derive(Debug, Clone, Copy)]
pub struct TokenLimit {
    pub requests: u32,
    pub window: Duration,
}

impl Redis {
    /// Counts one login attempt for `email` and `addr`; RateLimited when either is over.
    pub async fn hit_login_limit(&self, limits: &LoginLimits, email: &str, addr: Option<&str>) -> Result<()> {
        let email_key = format!("psm:rl:login:email:{}", email.to_lowercase());
        let mut checks = vec![(email_key, limits.per_email)];
        if let Some(addr) = addr {
            checks.push((format!("psm:rl:login:addr:{addr}"), limits.per_addr));
        }
        self.hit(&checks, limits.window).await
    }

    /// Counts one call of the credential `credential` (`s:<session>` or `t:<token hash>`).
    pub async fn hit_token_limit(&self, limit: &TokenLimit, credential: &str) -> Result<()> {
        self.hit(&[(format!("psm:rl:token:{credential}"), limit.requests)], limit.window).await
    }

    /// Fixed-window counters shared by every replica. Fails open: with Redis down, nobody is
    /// locked out (the outage shows in metrics and `/readyz`).
    async fn hit(&self, checks: &[(String, u32)], window: Duration) -> Result<()> {
        let Ok(mut conn) = self.available().await else { return Ok(()) };
        let script = Script::new(HIT_SCRIPT);
        let window_ms = window.as_millis() as u64;
        let mut retry_after = None;
        for (key, limit) in checks {
            let r: redis::RedisResult<(u64, i64)> = script.key(key).arg(window_ms).invoke_async(&mut conn).await;
            match r {
                Ok((n, ttl_ms)) if n > u64::from(*limit) => {
                    let secs = Duration::from_millis(ttl_ms.max(1000) as u64);
                    retry_after = Some(retry_after.map_or(secs, |r: Duration| r.max(secs)));
                }
                Ok(_) => {}
                Err(e) => {
                    self.failed("rate_limit", &e);
                    return Ok(());
                }
            }
        }
        match retry_after {
            Some(d) => Err(Error::RateLimited { retry_after: Duration::from_secs(d.as_secs_f64().ceil() as u64) }),
            None => Ok(()),
        }
    }
}
