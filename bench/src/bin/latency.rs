//! Latency and throughput of the edges, each against a baseline measured in the same run: the
//! same data straight from core-svc over gRPC.
//!
//! Starts core-svc (the `tests` harness: a fresh database on `DATABASE_URL`, Redis on
//! `REDIS_URL`), rest-edge and graphql-edge in this process on port 0, seeds N projects and one
//! project with 20 configs through the gRPC API, then measures with C concurrent clients (closed
//! loop: each client sends its next request when the previous one is answered):
//!
//! - REST getList, React Admin's request, against gRPC `ListProjects` (the one call it makes);
//! - GraphQL `project(id) { configs { … } }` against gRPC `GetProject` + `ListConfigs`.
//!
//! Every measurement runs for a fixed time after a warm-up; the measurements are repeated in
//! rounds (alternating which of a pair goes first) so that a noisy machine hits both sides
//! alike. Prints a Markdown table and writes it to `bench/results/latency-<UTC time>.md`.
//!
//! Run it through `bench/run-latency` (throw-away PostgreSQL and Redis); `--help` lists options.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use bench::{cpu_model, git, workspace_root};
use proto::Services as _;

use anyhow::{Context as _, bail, ensure};
use edge_kit::config::{CORE_GRPC_URL_VAR, Env};
use futures::{StreamExt as _, TryStreamExt as _};
use proto::v1 as pb;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use tonic::{
    Request,
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

const USAGE: &str = "\
usage: latency [--projects N] [--connections C] [--duration SECS] [--warmup SECS] [--rounds R]
               [--seed-concurrency K]

  --projects N          projects to seed (default 10000), plus one project with 20 configs
  --connections C       concurrent clients (default 32); C=1 is always measured as well
  --duration SECS       measured time of each measurement, per round (default 5)
  --warmup SECS         unmeasured load before each measurement (default 1)
  --rounds R            repetitions of every measurement (default 3)
  --seed-concurrency K  CreateProject calls in flight while seeding (default 16)

Needs DATABASE_URL (a role that may create databases) and REDIS_URL, like the tests.";

/// The React Admin (ra-data-simple-rest) getList request, as sent on the wire.
const REST_LIST_QUERY: &str = "range=%5B0%2C19%5D&sort=%5B%22name%22%2C%22ASC%22%5D&filter=%7B%7D";
/// The same, decoded, for the report.
const REST_LIST_SHOWN: &str = r#"GET /api/v1/projects?range=[0,19]&sort=["name","ASC"]&filter={}"#;
const GRAPHQL_QUERY: &str = "query($id: ID!) { project(id: $id) { configs { edges { node { key value version } } } } }";
const PAGE: i32 = 20;
const CONFIGS: usize = 20;

struct Args {
    projects: usize,
    connections: usize,
    duration: Duration,
    warmup: Duration,
    rounds: usize,
    seed_concurrency: usize,
}

impl Args {
    fn parse() -> anyhow::Result<Self> {
        let mut args = Self {
            projects: 10_000,
            connections: 32,
            duration: Duration::from_secs(5),
            warmup: Duration::from_secs(1),
            rounds: 3,
            seed_concurrency: 16,
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "-h" || flag == "--help" {
                println!("{USAGE}");
                std::process::exit(0);
            }
            let value = it.next().with_context(|| format!("{flag} needs a value\n\n{USAGE}"))?;
            let number = || value.parse::<usize>().with_context(|| format!("{flag}: not a whole number: {value}"));
            let seconds = || {
                value
                    .parse::<f64>()
                    .ok()
                    .filter(|s| *s > 0.0)
                    .map(Duration::from_secs_f64)
                    .with_context(|| format!("{flag}: not a positive number of seconds: {value}"))
            };
            match flag.as_str() {
                "--projects" => args.projects = number()?,
                "--connections" => args.connections = number()?,
                "--duration" => args.duration = seconds()?,
                "--warmup" => args.warmup = seconds()?,
                "--rounds" => args.rounds = number()?,
                "--seed-concurrency" => args.seed_concurrency = number()?,
                _ => bail!("unknown argument {flag}\n\n{USAGE}"),
            }
        }
        ensure!(args.connections >= 1 && args.rounds >= 1 && args.seed_concurrency >= 1, "C, R and K must be ≥ 1");
        ensure!(args.projects + 1 >= PAGE as usize, "--projects must be at least {}", PAGE - 1);
        Ok(args)
    }

    /// Concurrency levels: 1, then C.
    fn levels(&self) -> Vec<usize> {
        if self.connections == 1 { vec![1] } else { vec![1, self.connections] }
    }
}

/// What is measured. Each edge request has a baseline: the gRPC calls it needs, straight to core.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Scenario {
    RestList,
    GrpcList,
    GraphqlConfigs,
    GrpcConfigs,
}

impl Scenario {
    /// (baseline, edge) pairs, in report order.
    const PAIRS: [(Self, Self); 2] = [(Self::GrpcList, Self::RestList), (Self::GrpcConfigs, Self::GraphqlConfigs)];

    fn label(self) -> &'static str {
        match self {
            Self::RestList => "REST getList (rest-edge)",
            Self::GrpcList => "baseline: gRPC ListProjects",
            Self::GraphqlConfigs => "GraphQL project.configs (graphql-edge)",
            Self::GrpcConfigs => "baseline: gRPC GetProject + ListConfigs",
        }
    }
}

/// Everything a client needs to send any scenario's request. Cheap to share; clients clone the
/// gRPC stubs (which share the one channel).
struct Targets {
    http: reqwest::Client,
    bearer: HeaderValue,
    rest_list_url: String,
    graphql_url: String,
    graphql_body: String,
    channel: Channel,
    grpc_auth: MetadataValue<Ascii>,
    configs_project_id: String,
}

impl Targets {
    fn grpc<T>(&self, msg: T) -> Request<T> {
        let mut r = Request::new(msg);
        r.metadata_mut().insert("authorization", self.grpc_auth.clone());
        r
    }

    fn list_request() -> pb::ListProjectsRequest {
        pb::ListProjectsRequest { page_size: PAGE, order_by: "name".into(), ..Default::default() }
    }

    /// The calls graphql-edge makes for the query (`configs` resolves after `project`).
    async fn grpc_configs(&self) -> anyhow::Result<(pb::Project, Vec<pb::Config>)> {
        let project = pb::project_service_client::ProjectServiceClient::new(self.channel.clone())
            .get_project(self.grpc(pb::GetProjectRequest { id: self.configs_project_id.clone(), slug: String::new() }))
            .await?
            .into_inner()
            .project
            .context("empty GetProject answer")?;
        let configs = pb::config_service_client::ConfigServiceClient::new(self.channel.clone())
            .list_configs(self.grpc(pb::ListConfigsRequest {
                project_id: project.id.clone(),
                page_size: PAGE,
                order_by: "key".into(),
                ..Default::default()
            }))
            .await?
            .into_inner()
            .configs;
        Ok((project, configs))
    }

    async fn rest_list(&self) -> anyhow::Result<reqwest::Response> {
        let resp = self.http.get(&self.rest_list_url).header(AUTHORIZATION, self.bearer.clone()).send().await?;
        ensure!(resp.status() == 200, "REST getList answered {}", resp.status());
        Ok(resp)
    }

    async fn graphql(&self) -> anyhow::Result<Vec<u8>> {
        let resp = self
            .http
            .post(&self.graphql_url)
            .header(AUTHORIZATION, self.bearer.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(self.graphql_body.clone())
            .send()
            .await?;
        ensure!(resp.status() == 200, "GraphQL answered {}", resp.status());
        Ok(resp.bytes().await?.to_vec())
    }

    /// One request of `scenario`, answer read in full and checked for success.
    async fn once(&self, scenario: Scenario) -> anyhow::Result<()> {
        match scenario {
            Scenario::RestList => {
                self.rest_list().await?.bytes().await?;
            }
            Scenario::GrpcList => {
                pb::project_service_client::ProjectServiceClient::new(self.channel.clone())
                    .list_projects(self.grpc(Self::list_request()))
                    .await?;
            }
            Scenario::GraphqlConfigs => {
                let body = self.graphql().await?;
                ensure!(!contains(&body, b"\"errors\""), "GraphQL errors: {}", String::from_utf8_lossy(&body));
            }
            Scenario::GrpcConfigs => {
                self.grpc_configs().await?;
            }
        }
        Ok(())
    }

    /// Before measuring: every edge answer equals what core-svc says directly.
    async fn check(&self, projects: usize) -> anyhow::Result<()> {
        let direct = pb::project_service_client::ProjectServiceClient::new(self.channel.clone())
            .list_projects(self.grpc(Self::list_request()))
            .await?
            .into_inner();
        ensure!(direct.total_size as usize == projects + 1, "core counts {} projects", direct.total_size);
        let resp = self.rest_list().await?;
        let range = resp.headers().get("content-range").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        ensure!(range == format!("projects 0-19/{}", projects + 1), "Content-Range: {range}");
        let page: serde_json::Value = resp.json().await?;
        let rest_ids: Vec<&str> =
            page.as_array().context("getList body")?.iter().filter_map(|p| p["id"].as_str()).collect();
        let core_ids: Vec<&str> = direct.projects.iter().map(|p| p.id.as_str()).collect();
        ensure!(rest_ids == core_ids, "REST page {rest_ids:?} differs from ListProjects {core_ids:?}");

        let (_, configs) = self.grpc_configs().await?;
        ensure!(configs.len() == CONFIGS, "ListConfigs returned {} configs", configs.len());
        let body: serde_json::Value = serde_json::from_slice(&self.graphql().await?)?;
        let edges = body["data"]["project"]["configs"]["edges"].as_array().with_context(|| format!("{body}"))?;
        let keys: Vec<&str> = edges.iter().filter_map(|e| e["node"]["key"].as_str()).collect();
        let core_keys: Vec<&str> = configs.iter().map(|c| c.key.as_str()).collect();
        ensure!(keys == core_keys, "GraphQL keys {keys:?} differ from ListConfigs {core_keys:?}");
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// One measurement: requests per second and every latency (µs) of the measured window.
struct Run {
    rps: f64,
    micros: Vec<u64>,
}

impl Run {
    fn p50(&self) -> f64 {
        percentile(&self.micros, 0.50)
    }
}

/// Nearest-rank percentile of sorted samples, in milliseconds.
fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 }
}

/// C clients in a closed loop for warm-up + duration. A request counts when it starts after the
/// warm-up and is answered before the end.
async fn measure(
    targets: &Arc<Targets>,
    scenario: Scenario,
    c: usize,
    warmup: Duration,
    duration: Duration,
) -> anyhow::Result<Run> {
    let start = Instant::now();
    let measured_from = start + warmup;
    let end = measured_from + duration;
    let workers: Vec<_> = (0..c)
        .map(|_| {
            let targets = Arc::clone(targets);
            tokio::spawn(async move {
                let mut micros = Vec::new();
                loop {
                    let t = Instant::now();
                    if t >= end {
                        return anyhow::Ok(micros);
                    }
                    targets.once(scenario).await.with_context(|| scenario.label())?;
                    let done = Instant::now();
                    if t >= measured_from && done <= end {
                        micros.push(u64::try_from(done.duration_since(t).as_micros()).unwrap_or(u64::MAX));
                    }
                }
            })
        })
        .collect();
    let mut micros = Vec::new();
    for w in workers {
        micros.extend(w.await??);
    }
    micros.sort_unstable();
    Ok(Run { rps: micros.len() as f64 / duration.as_secs_f64(), micros })
}

struct Stack {
    core: tests::TestCore,
    rest_base: String,
    graphql_url: String,
    _stop: Vec<tokio::sync::oneshot::Sender<()>>,
}

async fn start_stack() -> anyhow::Result<Stack> {
    let core = tests::spawn_core().await;
    let core_url = core.url();

    let rest_env =
        Env::from_pairs([(rest_edge::config::LISTEN_ADDR_VAR, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, &core_url)]);
    let rest = rest_edge::startup::App::build(rest_edge::config::Config::from_vars(&rest_env)?).await?;
    let rest_base = format!("http://{}/api/v1", rest.local_addr());
    let (rest_stop, rest_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(rest.run_until(async {
        let _ = rest_stopped.await;
    }));

    let gql_env =
        Env::from_pairs([(graphql_edge::config::LISTEN_ADDR_VAR, "127.0.0.1:0"), (CORE_GRPC_URL_VAR, &core_url)]);
    let gql = graphql_edge::startup::App::build(graphql_edge::config::Config::from_vars(&gql_env)?).await?;
    let graphql_url = format!("http://{}/graphql", gql.local_addr());
    let (gql_stop, gql_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(gql.run_until(async {
        let _ = gql_stopped.await;
    }));

    Ok(Stack { core, rest_base, graphql_url, _stop: vec![rest_stop, gql_stop] })
}

/// N projects through CreateProject as the admin, K in flight, plus one with 20 configs (one
/// ImportConfigs call). Returns the id of the project with configs and the seeding rate.
async fn seed(core: &tests::TestCore, token: &str, n: usize, in_flight: usize) -> anyhow::Result<(String, f64)> {
    let started = Instant::now();
    let projects = core.projects();
    // Names in a different order from creation, so that sorting by name does real work.
    let step = 7919 % n.max(1);
    let created = futures::stream::iter(0..n)
        .map(|i| {
            let mut client = projects.clone();
            let name = format!("Project {:05}", (i * step.max(1)) % n.max(1));
            async move {
                client
                    .create_project(tests::authed(
                        pb::CreateProjectRequest { slug: format!("bench-{i:05}"), name, description: String::new() },
                        token,
                    ))
                    .await
                    .with_context(|| format!("CreateProject #{i}"))?;
                if (i + 1) % 1000 == 0 {
                    eprintln!("  … {} projects", i + 1);
                }
                anyhow::Ok(())
            }
        })
        .buffer_unordered(in_flight)
        .try_fold(0usize, |count, ()| async move { Ok(count + 1) })
        .await?;
    let rate = created as f64 / started.elapsed().as_secs_f64();

    let project = core.project(token, "bench-configs").await;
    let entries = (0..CONFIGS)
        .map(|i| pb::import_configs_request::Entry {
            key: format!("feature.flag_{i:02}"),
            value: Some(tests::value(serde_json::json!({"enabled": i % 2 == 0, "rollout": i * 5}))),
            description: String::new(),
        })
        .collect();
    core.configs()
        .import_configs(tests::authed(pb::ImportConfigsRequest { project_id: project.id.clone(), entries }, token))
        .await
        .context("ImportConfigs")?;
    Ok((project.id, rate))
}

fn targets(stack: &Stack, token: &str, configs_project_id: &str, c: usize) -> anyhow::Result<Targets> {
    let http =
        reqwest::Client::builder().pool_max_idle_per_host(c).pool_idle_timeout(None).tcp_nodelay(true).build()?;
    let body = serde_json::json!({"query": GRAPHQL_QUERY, "variables": {"id": configs_project_id}});
    Ok(Targets {
        http,
        bearer: HeaderValue::from_str(&format!("Bearer {token}"))?,
        rest_list_url: format!("{}/projects?{REST_LIST_QUERY}", stack.rest_base),
        graphql_url: stack.graphql_url.clone(),
        graphql_body: body.to_string(),
        channel: stack.core.channel(),
        grpc_auth: format!("Bearer {token}").parse()?,
        configs_project_id: configs_project_id.to_string(),
    })
}

fn ms(x: f64) -> String {
    if x < 10.0 { format!("{x:.2}") } else { format!("{x:.1}") }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse()?;
    let levels = args.levels();
    let started_at = chrono::Utc::now();
    let profile = if cfg!(debug_assertions) { "dev (dependencies at opt-level 2)" } else { "release" };
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let loadavg = |when: &str| {
        let l = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
        format!("{when} {}", l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
    };
    let load_before = loadavg("before");

    eprintln!("starting core-svc, rest-edge and graphql-edge in-process");
    let stack = start_stack().await?;
    let token = stack.core.admin_token().await;
    eprintln!(
        "seeding {} projects ({} CreateProject in flight) + 1 with {CONFIGS} configs",
        args.projects, args.seed_concurrency
    );
    let (configs_project_id, seed_rate) = seed(&stack.core, &token, args.projects, args.seed_concurrency).await?;
    eprintln!("seeded at {seed_rate:.0} projects/s");
    targets(&stack, &token, &configs_project_id, 1)?.check(args.projects).await?;

    // (scenario, C) → one Run per round.
    let mut runs: BTreeMap<(Scenario, usize), Vec<Run>> = BTreeMap::new();
    for round in 0..args.rounds {
        for &c in &levels {
            let targets = Arc::new(targets(&stack, &token, &configs_project_id, c)?);
            for (baseline, edge) in Scenario::PAIRS {
                // Alternate which side goes first, so that drift on a noisy machine is shared.
                let order = if round % 2 == 0 { [baseline, edge] } else { [edge, baseline] };
                for scenario in order {
                    let run = measure(&targets, scenario, c, args.warmup, args.duration).await?;
                    eprintln!(
                        "round {}/{} C={c:<3} {:<42} {:>8.0} req/s  p50 {} ms  p99 {} ms",
                        round + 1,
                        args.rounds,
                        scenario.label(),
                        run.rps,
                        ms(run.p50()),
                        ms(percentile(&run.micros, 0.99))
                    );
                    runs.entry((scenario, c)).or_default().push(run);
                }
            }
        }
    }

    let load_after = loadavg("after");
    let mut md = String::new();
    let _ = writeln!(md, "# Edge latency vs. core-svc baseline\n");
    let _ = writeln!(md, "- date: {} UTC", started_at.format("%Y-%m-%d %H:%M"));
    let _ = writeln!(md, "- commit: {commit}{}", if dirty { " (with uncommitted changes)" } else { "" });
    let _ = writeln!(md, "- machine: {cores} CPUs (nproc), {}", cpu_model());
    let _ = writeln!(md, "- load average (1/5/15 min): {load_before}, {load_after}");
    let _ = writeln!(md, "- profile: {profile}");
    let _ = writeln!(
        md,
        "- data: {} projects + 1 project with {CONFIGS} configs, seeded through gRPC CreateProject as the admin ({} in flight, {seed_rate:.0}/s)",
        args.projects, args.seed_concurrency
    );
    let _ = writeln!(
        md,
        "- load: closed loop, C concurrent clients; each measurement {:.1} s after a {:.1} s warm-up, {} rounds (pair order alternating); all requests as the admin",
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64(),
        args.rounds
    );
    let _ = writeln!(
        md,
        "- clients: HTTP = one reqwest::Client, HTTP/1.1 keep-alive, pool of C connections; gRPC = one tonic Channel (one HTTP/2 connection, C streams multiplexed)"
    );
    let _ = writeln!(
        md,
        "- everything (load generator, core-svc, rest-edge, graphql-edge) in one process, one tokio runtime ({cores} worker threads); PostgreSQL and Redis on the same machine"
    );
    let _ = writeln!(md, "- REST: `{REST_LIST_SHOWN}` (→ ListProjects page_size 20, order_by \"name\")");
    let _ = writeln!(md, "- GraphQL: `{GRAPHQL_QUERY}` (→ GetProject, then ListConfigs page_size 20)\n");
    let _ = writeln!(
        md,
        "req/s: median of the rounds (min–max); p50/p99: over every request of all rounds; edge/baseline: median over rounds of the per-round ratio (req/s: below 1 = edge slower; p50: above 1 = edge slower).\n"
    );
    let _ =
        writeln!(md, "| C | request | req/s | (min–max) | p50 ms | p99 ms | edge/baseline req/s | edge/baseline p50 |");
    let _ = writeln!(md, "|---:|---|---:|---:|---:|---:|---:|---:|");
    for &c in &levels {
        for (baseline, edge) in Scenario::PAIRS {
            for scenario in [edge, baseline] {
                let rs = &runs[&(scenario, c)];
                let rps: Vec<f64> = rs.iter().map(|r| r.rps).collect();
                let (lo, hi) = rps.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
                let mut all: Vec<u64> = rs.iter().flat_map(|r| r.micros.iter().copied()).collect();
                all.sort_unstable();
                let ratios = if scenario == edge {
                    let base = &runs[&(baseline, c)];
                    let rps_ratio = median(rs.iter().zip(base).map(|(e, b)| e.rps / b.rps).collect());
                    let p50_ratio = median(rs.iter().zip(base).map(|(e, b)| e.p50() / b.p50()).collect());
                    format!("{rps_ratio:.2} | {p50_ratio:.2}")
                } else {
                    "— | —".to_string()
                };
                let _ = writeln!(
                    md,
                    "| {c} | {} | {:.0} | {lo:.0}–{hi:.0} | {} | {} | {ratios} |",
                    scenario.label(),
                    median(rps),
                    ms(percentile(&all, 0.50)),
                    ms(percentile(&all, 0.99)),
                );
            }
        }
    }

    println!("{md}");
    let dir = workspace_root().join("bench").join("results");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("latency-{}.md", started_at.format("%Y%m%dT%H%M%SZ")));
    std::fs::write(&path, &md).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("written to {}", path.display());
    Ok(())
}
