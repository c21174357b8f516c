//! The read-through cache in Redis: the project as one user sees it, the effective config of a
//! project, and the user behind a credential (docs/PRODUCT.md §8 "Cache").
//!
//! **Generations instead of deletes.** Every cached value hangs off a generation counter
//! (`psm:gen:<what>:<id>`) and its key contains the generation it was loaded under. A write bumps
//! the counter after its transaction commits (and before it is acknowledged); a reader reads the
//! counter and the value in one round trip (a Lua script). So a reader that loaded from PostgreSQL
//! *before* a write committed stores its value under the old generation, where nobody looks again:
//! no read after an acknowledged write returns the old value, on any replica, because they all
//! read the same counters. Old-generation values simply expire (TTL, the safety net).
//!
//! **Single flight.** Concurrent misses of one key on one replica share one PostgreSQL read: the
//! first caller loads and fills, the others wait for its result. The flight lasts until the
//! value is in Redis, so a late caller either joins it or hits.
//!
//! **Redis down.** Reads go to PostgreSQL (the circuit breaker in `redis.rs` makes that
//! immediate); a bump that fails is retried in the background until Redis takes it, and writes
//! never fail because of the cache. Counted in `core_cache_requests_total{kind,result}` (result:
//! `hit`, `shared` — waited for another caller's load —, `miss` — loaded from PostgreSQL —, or
//! `error` — Redis unavailable) and `core_cache_loads_total{kind}`.

use std::{
    collections::{HashMap, HashSet},
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use redis::Script;
use serde::{Serialize, de::DeserializeOwned};
use tokio::sync::watch;
use uuid::Uuid;

use crate::{error::Result, redis::Redis};

/// How long a value lives at most (the safety net if a bump is ever lost).
pub const TTL: Duration = Duration::from_secs(60);
/// Generation counters outlive every value loaded under them by far.
const GENERATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

// One round trip: the generation, then the value stored under it.
const READ_SCRIPT: &str = r"
local g = redis.call('GET', KEYS[1]) or '0'
return {g, redis.call('GET', ARGV[1] .. g .. ARGV[2])}
";

// INCR and PEXPIRE together, for every counter of one write.
const BUMP_SCRIPT: &str = r"
for i, k in ipairs(KEYS) do
  redis.call('INCR', k)
  redis.call('PEXPIRE', k, ARGV[1])
end
return #KEYS
";

/// What a cached value depends on: a write that changes it bumps this.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Generation {
    /// The project row and its memberships.
    Project(Uuid),
    /// The project's configs.
    Configs(Uuid),
    /// The user's role and status and their sessions.
    User(Uuid),
    /// One API token (by the hex of its hash): revoked, or its user changed.
    ApiToken(String),
}

impl Generation {
    fn key(&self) -> String {
        match self {
            Generation::Project(id) => format!("psm:gen:p:{id}"),
            Generation::Configs(id) => format!("psm:gen:c:{id}"),
            Generation::User(id) => format!("psm:gen:u:{id}"),
            Generation::ApiToken(hash) => format!("psm:gen:t:{hash}"),
        }
    }
}

/// One cached value: its kind (for metrics), the generation it depends on, and its name.
pub struct Key {
    pub kind: &'static str,
    pub generation: Generation,
    /// Distinguishes values under one generation (e.g. the viewing user).
    pub name: String,
}

impl Key {
    fn prefix(&self) -> String {
        format!("psm:c:{}:{}:", self.kind, self.generation.key())
    }

    fn suffix(&self) -> String {
        format!(":{}", self.name)
    }

    fn at(&self, generation: &str) -> String {
        format!("{}{generation}{}", self.prefix(), self.suffix())
    }
}

/// The outcome of a load, shared with the callers waiting on it: the value as JSON, or None
/// when the load failed (each waiter then loads for itself and gets its own error).
type Outcome = Option<Option<Arc<str>>>;

#[derive(Clone)]
pub struct Cache {
    redis: Redis,
    flights: Arc<Mutex<HashMap<String, watch::Receiver<Outcome>>>>,
    /// Bumps Redis refused; retried until it takes them.
    pending: Arc<Mutex<HashSet<String>>>,
}

/// Removes a flight when its leader finishes or is cancelled (the client went away): the
/// waiters see the sender dropped and load for themselves.
struct FlightGuard<'a> {
    flights: &'a Mutex<HashMap<String, watch::Receiver<Outcome>>>,
    key: String,
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        self.flights.lock().expect("flight map").remove(&self.key);
    }
}

impl Cache {
    pub fn new(redis: Redis) -> Self {
        Self { redis, flights: Default::default(), pending: Default::default() }
    }

    /// The cached value of `key`, or `load()`'s, which is then cached.
    pub async fn get_or_load<T, F, Fut>(&self, key: Key, load: F) -> Result<T>
    where
        T: Serialize + DeserializeOwned,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let generation = match self.read(&key).await {
            Ok((generation, Some(json))) => match serde_json::from_slice::<T>(&json) {
                Ok(v) => {
                    count(key.kind, "hit");
                    return Ok(v);
                }
                // Written by another version of core-svc: treat as a miss and overwrite.
                Err(_) => Some(generation),
            },
            Ok((generation, None)) => Some(generation),
            Err(()) => None,
        };
        let Some(generation) = generation else {
            // Redis is down: no cache, no flight to fill it.
            count(key.kind, "error");
            metrics::counter!("core_cache_loads_total", "kind" => key.kind).increment(1);
            return load().await;
        };
        let full_key = key.at(&generation);

        // Join the flight for this key, or lead it.
        let (tx, waiting) = {
            let mut flights = self.flights.lock().expect("flight map");
            match flights.get(&full_key) {
                Some(rx) => (None, Some(rx.clone())),
                None => {
                    let (tx, rx) = watch::channel(None);
                    flights.insert(full_key.clone(), rx);
                    (Some(tx), None)
                }
            }
        };
        if let Some(mut rx) = waiting {
            if let Ok(outcome) = rx.wait_for(Option::is_some).await
                && let Some(Some(json)) = outcome.clone()
                && let Ok(v) = serde_json::from_str::<T>(&json)
            {
                count(key.kind, "shared");
                return Ok(v);
            }
            // The leader failed or went away: load for ourselves.
            count(key.kind, "miss");
            metrics::counter!("core_cache_loads_total", "kind" => key.kind).increment(1);
            return load().await;
        }
        let tx = tx.expect("leader has the sender");
        let _guard = FlightGuard { flights: &self.flights, key: full_key.clone() };
        count(key.kind, "miss");
        metrics::counter!("core_cache_loads_total", "kind" => key.kind).increment(1);
        let loaded = load().await;
        let json: Option<Arc<str>> = match &loaded {
            Ok(v) => serde_json::to_string(v).ok().map(Arc::from),
            Err(_) => None,
        };
        if let Some(json) = &json {
            self.fill(&full_key, json).await;
        }
        tx.send_replace(Some(json));
        loaded
    }

    /// Marks everything depending on `generations` as outdated. Call after the transaction
    /// committed and before acknowledging the write.
    pub async fn bump(&self, generations: &[Generation]) {
        let mut keys: Vec<String> = generations.iter().map(Generation::key).collect();
        keys.extend(self.pending.lock().expect("pending bumps").drain());
        if keys.is_empty() {
            return;
        }
        if let Err(e) = self.bump_keys(&keys).await {
            // The write stands; the bump is retried until Redis takes it. Until then another
            // replica may serve the old value (at most TTL).
            self.redis.failed("cache_bump", &e);
            let first = {
                let mut pending = self.pending.lock().expect("pending bumps");
                let first = pending.is_empty();
                pending.extend(keys);
                first
            };
            if first {
                tokio::spawn(self.clone().retry_pending());
            }
        }
    }

    async fn bump_keys(&self, keys: &[String]) -> Result<(), crate::error::Error> {
        let mut conn = self.redis.available().await?;
        let script = Script::new(BUMP_SCRIPT);
        let mut script = script.prepare_invoke();
        for k in keys {
            script.key(k);
        }
        script.arg(GENERATION_TTL.as_millis() as u64);
        let _: i64 = script
            .invoke_async(&mut conn)
            .await
            .map_err(|e| crate::error::Error::Unavailable(format!("redis: {e}")))?;
        Ok(())
    }

    async fn retry_pending(self) {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let keys: Vec<String> = self.pending.lock().expect("pending bumps").iter().cloned().collect();
            if keys.is_empty() {
                return;
            }
            if self.bump_keys(&keys).await.is_ok() {
                let mut pending = self.pending.lock().expect("pending bumps");
                for k in &keys {
                    pending.remove(k);
                }
                if pending.is_empty() {
                    tracing::info!("delayed cache invalidations applied");
                    return;
                }
            }
        }
    }

    async fn read(&self, key: &Key) -> std::result::Result<(String, Option<Vec<u8>>), ()> {
        let mut conn = self.redis.available().await.map_err(|_| ())?;
        let r: redis::RedisResult<(String, Option<Vec<u8>>)> = Script::new(READ_SCRIPT)
            .key(key.generation.key())
            .arg(key.prefix())
            .arg(key.suffix())
            .invoke_async(&mut conn)
            .await;
        r.map_err(|e| self.redis.failed("cache_read", &e))
    }

    async fn fill(&self, full_key: &str, json: &str) {
        let Ok(mut conn) = self.redis.available().await else { return };
        let r: redis::RedisResult<()> = redis::cmd("SET")
            .arg(full_key)
            .arg(json)
            .arg("PX")
            .arg(TTL.as_millis() as u64)
            .query_async(&mut conn)
            .await;
        if let Err(e) = r {
            self.redis.failed("cache_fill", &e);
        }
    }
}

fn count(kind: &'static str, result: &'static str) {
    metrics::counter!("core_cache_requests_total", "kind" => kind, "result" => result).increment(1);
}
