//! `cache` — what the Redis read cache buys on the hot read path, measured in one run.
//!
//! Two core-svc replicas in this process share one fresh database: one with Redis (the cache on),
//! one whose Redis URL points at a closed port (the circuit breaker sends every read straight to
//! PostgreSQL: the cache off, as during a Redis outage). Both serve the same `GetEffectiveConfig`
//! of one project with `--configs` entries to `--connections` concurrent gRPC clients in a closed
//! loop, for `--duration` seconds after `--warmup`, alternating which side goes first for
//! `--rounds` rounds. Every call also authenticates its bearer token and checks the project
//! membership — the two other cached reads. Reports req/s and p50/p99 per side, the ratio, and the
//! cache's hit ratio from core-svc's `core_cache_requests_total` counters.
//!
//! Run: `./bench/run-cache [--connections 32] [--duration 10] [--rounds 3] [--configs 50]`
//! (needs DATABASE_URL and REDIS_URL like the tests; `bench/run-cache` starts private ones).

use proto::Services as _;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use proto::v1 as pb;
use tests::{CoreOptions, TestCore, authed, spawn_core_with, value};

struct Args {
    connections: usize,
    duration: Duration,
    warmup: Duration,
    rounds: usize,
    configs: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        connections: 32,
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(2),
        rounds: 3,
        configs: 50,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--connections" => a.connections = value()?.parse()?,
            "--duration" => a.duration = Duration::from_secs(value()?.parse()?),
            "--warmup" => a.warmup = Duration::from_secs(value()?.parse()?),
            "--rounds" => a.rounds = value()?.parse()?,
            "--configs" => a.configs = value()?.parse()?,
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    Ok(a)
}

/// Closed loop: each client sends its next call when the previous answer is in. Returns
/// (requests per second, latencies in µs, sorted).
async fn measure(core: &TestCore, token: &str, project: &str, a: &Args) -> anyhow::Result<(f64, Vec<u64>)> {
    let start = Instant::now() + a.warmup;
    let end = start + a.duration;
    let mut clients = Vec::new();
    for _ in 0..a.connections {
        let mut configs = core.configs();
        let (token, project) = (token.to_string(), project.to_string());
        clients.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let t0 = Instant::now();
                if t0 >= end {
                    break;
                }
                let r = configs
                    .get_effective_config(authed(pb::GetEffectiveConfigRequest { project_id: project.clone() }, &token))
                    .await;
                r.context("GetEffectiveConfig")?;
                if t0 >= start && Instant::now() <= end {
                    lat.push(t0.elapsed().as_micros() as u64);
                }
            }
            anyhow::Ok(lat)
        }));
    }
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await??);
    }
    all.sort_unstable();
    Ok((all.len() as f64 / a.duration.as_secs_f64(), all))
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
}

async fn counter(core: &TestCore, kind: &str, result: &str) -> f64 {
    let text = reqwest::get(format!("http://{}/metrics", core.metrics_addr))
        .await
        .and_then(|r| r.error_for_status())
        .map(|r| r.text());
    let Ok(text) = text else { return 0.0 };
    let text = text.await.unwrap_or_default();
    let needle_kind = format!("kind=\"{kind}\"");
    let needle_result = format!("result=\"{result}\"");
    text.lines()
        .filter(|l| {
            l.starts_with("core_cache_requests_total") && l.contains(&needle_kind) && l.contains(&needle_result)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = args()?;
    let cached = spawn_core_with(CoreOptions::default()).await;
    let uncached = spawn_core_with(CoreOptions {
        database_url: Some(cached.database_url.clone()),
        redis_url: Some("redis://127.0.0.1:1".into()),
        ..Default::default()
    })
    .await;
    let admin = cached.admin_token().await;
    let (_, viewer) = cached.user(&admin, "reader").await;
    let project = cached.project(&admin, "cache-bench").await;
    let viewer_id =
        cached.auth().get_me(authed(pb::GetMeRequest {}, &viewer)).await?.into_inner().user.context("me")?.id;
    cached.add_member(&admin, &project.id, &viewer_id, pb::MemberRole::Viewer).await;
    let entries = (0..a.configs)
        .map(|i| pb::import_configs_request::Entry {
            key: format!("feature.k{i:03}"),
            value: Some(value(serde_json::json!({ "enabled": i % 2 == 0, "rollout": i, "name": format!("flag {i}") }))),
            ..Default::default()
        })
        .collect();
    cached
        .configs()
        .import_configs(authed(pb::ImportConfigsRequest { project_id: project.id.clone(), entries }, &admin))
        .await?;

    println!(
        "GetEffectiveConfig of one project with {} configs, as a viewer; {} clients, {} s per side per round, {} rounds",
        a.configs,
        a.connections,
        a.duration.as_secs(),
        a.rounds
    );
    let (mut on, mut off) = (Vec::new(), Vec::new());
    let (mut on_lat, mut off_lat) = (Vec::new(), Vec::new());
    let mut ratios = Vec::new();
    for round in 0..a.rounds {
        let order: [(&TestCore, bool); 2] =
            if round % 2 == 0 { [(&cached, true), (&uncached, false)] } else { [(&uncached, false), (&cached, true)] };
        let mut rps = [0.0; 2];
        for (core, is_cached) in order {
            let (r, lat) = measure(core, &viewer, &project.id, &a).await?;
            println!(
                "  round {} {:>9}: {:>8.0} req/s  p50 {:.2} ms  p99 {:.2} ms",
                round + 1,
                if is_cached { "cache on" } else { "cache off" },
                r,
                pct(&lat, 0.5),
                pct(&lat, 0.99)
            );
            if is_cached {
                rps[0] = r;
                on.push(r);
                on_lat.extend(lat);
            } else {
                rps[1] = r;
                off.push(r);
                off_lat.extend(lat);
            }
        }
        ratios.push(rps[0] / rps[1]);
    }
    on_lat.sort_unstable();
    off_lat.sort_unstable();
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let mut hits = 0.0;
    let mut total = 0.0;
    println!("\n| side | req/s (median) | p50 ms | p99 ms |\n|---|---:|---:|---:|");
    println!("| cache on (Redis) | {:.0} | {:.2} | {:.2} |", median(on.clone()), pct(&on_lat, 0.5), pct(&on_lat, 0.99));
    println!(
        "| cache off (Redis unreachable → PostgreSQL) | {:.0} | {:.2} | {:.2} |",
        median(off.clone()),
        pct(&off_lat, 0.5),
        pct(&off_lat, 0.99)
    );
    println!("\ncache on ÷ cache off, req/s (median of per-round ratios): {:.2}", median(ratios));
    for kind in ["auth", "project", "effective_config"] {
        let h = counter(&cached, kind, "hit").await + counter(&cached, kind, "shared").await;
        let m = counter(&cached, kind, "miss").await;
        hits += h;
        total += h + m;
        println!(
            "hit ratio {kind:>16}: {:.4} ({h:.0} hits, {m:.0} misses)",
            if h + m > 0.0 { h / (h + m) } else { 0.0 }
        );
    }
    println!("hit ratio {:>16}: {:.4}", "all", if total > 0.0 { hits / total } else { 0.0 });
    uncached.stop().await;
    cached.stop().await;
    Ok(())
}
