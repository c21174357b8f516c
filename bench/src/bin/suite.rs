//! The load generator and report of `bench/run`: Platform SM's workloads, their baselines and the
//! peer (PostGraphile v4), measured one after another in one run against separately started,
//! release-built services on the seeded dataset (`seed`).
//!
//! Every in-process workload is a closed loop of C clients (default 32; each sends its next
//! request when the previous answer is read in full) with random ids, run for `--warmup` seconds
//! unmeasured and then `--duration` seconds measured. A request counts when it starts after the
//! warm-up and is answered before the end. The baselines `redis-benchmark` and `pgbench` are run as
//! child processes with the same C. During every measured window the CPU time of each process
//! (utime + stime from /proc/<pid>/stat; PostgreSQL: the postmaster and all its backends; the
//! load generator: this process and the tools it runs) is sampled before and after.
//!
//! Configuration comes from the environment `bench/run` sets (see `bench/README.md`); `--help`
//! lists the options. Writes the report to `--out` (Markdown) and prints it.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::PathBuf,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use bench::{cpu_model, git, loadavg};

use anyhow::{Context as _, bail, ensure};
use proto::v1 as pb;
use rand::{Rng as _, SeedableRng as _, rngs::SmallRng};
use reqwest::{
    StatusCode,
    header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, IF_NONE_MATCH},
};
use serde_json::{Value as Json, json};
use tonic::{
    metadata::{Ascii, MetadataValue},
    transport::Channel,
};

const USAGE: &str = "\
usage: suite [--duration SECS] [--warmup SECS] [--connections C] [--only NAME,NAME…] [--out FILE]

  --duration SECS   measured time of each workload (default 15)
  --warmup SECS     unmeasured load before each workload (default 3)
  --connections C   concurrent clients (default 32)
  --only NAMES      run only these workloads (comma-separated ids from the table), for development
  --out FILE        where to write the Markdown report (default: print only)

Environment (set by bench/run): BENCH_REST_URL, BENCH_GRAPHQL_URL, CORE_GRPC_URL, BENCH_HELLO_URL,
BENCH_PEER_URL, DATABASE_URL, BENCH_PGBENCH_DB, BENCH_PGBENCH, REDIS_URL, BENCH_ADMIN_EMAIL,
BENCH_ADMIN_PASSWORD, BENCH_USER_PASSWORD, BENCH_PIDS (name=pid,… ; postgres = the postmaster).";

const GQL_PROJECT: &str =
    "query($id: ID!) { project(id: $id) { name configs { edges { node { key value version } } } } }";
const PEER_PROJECT: &str = "query($id: UUID!) { projectById(id: $id) { name configsByProjectId(orderBy: [KEY_ASC], condition: {deletedAt: null}) { edges { node { key value version } } } } }";
const GQL_LIST: &str = "{ projects(first: 20, orderBy: {field: NAME, direction: ASC}) { edges { node { id name owner { id name email } } } } }";
const PEER_LIST: &str =
    "{ allProjects(first: 20, orderBy: [NAME_ASC]) { edges { node { id name userByOwnerId { id name email } } } } }";
const GQL_SET: &str =
    "mutation($p: ID!, $k: String!, $v: JSON) { setConfig(projectId: $p, key: $k, value: $v) { version } }";
/// React Admin's getList: first page of 20, sorted by name, filtered by status.
const REST_LIST_QUERY: &str =
    "sort=%5B%22name%22%2C%22ASC%22%5D&range=%5B0%2C19%5D&filter=%7B%22status%22%3A%22active%22%7D";
const REST_LIST_SHOWN: &str = r#"GET /api/v1/projects?sort=["name","ASC"]&range=[0,19]&filter={"status":"active"}"#;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum W {
    Hello,
    RestGet,
    RestList,
    RestConfig,
    RestConfig304,
    GqlProject,
    PeerProject,
    GqlList,
    PeerList,
    GrpcGet,
    Redis,
    PgSelect,
    PgUpdate,
    GqlSetConfig,
    Login,
}

impl W {
    const ALL: [Self; 15] = [
        Self::Hello,
        Self::RestGet,
        Self::RestList,
        Self::RestConfig,
        Self::RestConfig304,
        Self::GqlProject,
        Self::PeerProject,
        Self::GqlList,
        Self::PeerList,
        Self::GrpcGet,
        Self::Redis,
        Self::PgSelect,
        Self::PgUpdate,
        Self::GqlSetConfig,
        Self::Login,
    ];

    fn id(self) -> &'static str {
        match self {
            Self::Hello => "hello",
            Self::RestGet => "rest-get",
            Self::RestList => "rest-list",
            Self::RestConfig => "rest-config",
            Self::RestConfig304 => "rest-config-304",
            Self::GqlProject => "gql-project",
            Self::PeerProject => "peer-project",
            Self::GqlList => "gql-list",
            Self::PeerList => "peer-list",
            Self::GrpcGet => "grpc-get",
            Self::Redis => "redis-get",
            Self::PgSelect => "pgbench-select",
            Self::PgUpdate => "pgbench-update",
            Self::GqlSetConfig => "config-write",
            Self::Login => "login",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Hello => "baseline: poem hello-world `GET /`",
            Self::RestGet => "1. REST `GET /api/v1/projects/{id}`",
            Self::RestList => "2. REST list of 20, sort name + filter status",
            Self::RestConfig => "3a. REST `GET /api/v1/projects/{id}/config` (200)",
            Self::RestConfig304 => "3b. same with `If-None-Match` (304)",
            Self::GqlProject => "4. GraphQL `project(id){name configs{…}}`",
            Self::PeerProject => "peer: PostGraphile `projectById{name configsByProjectId{…}}`",
            Self::GqlList => "5. GraphQL 20 projects with owners",
            Self::PeerList => "peer: PostGraphile `allProjects(first:20){… userByOwnerId}`",
            Self::GrpcGet => "6. gRPC `GetProject`",
            Self::Redis => "baseline: `redis-benchmark -t get`",
            Self::PgSelect => "baseline: `pgbench -S` (select only)",
            Self::PgUpdate => "baseline: `pgbench -N` (simple update)",
            Self::GqlSetConfig => "7. config write: GraphQL `setConfig`",
            Self::Login => "8. login: REST `POST /auth/login`",
        }
    }

    /// (baseline, target ratio) — None when only reported.
    fn baseline(self) -> Option<(Self, Option<f64>)> {
        match self {
            Self::RestGet => Some((Self::Hello, Some(0.5))),
            Self::RestList => Some((Self::Hello, Some(0.3))),
            Self::RestConfig | Self::RestConfig304 | Self::GrpcGet => Some((Self::Hello, None)),
            Self::GqlProject => Some((Self::PeerProject, Some(5.0))),
            Self::GqlList => Some((Self::PeerList, Some(5.0))),
            Self::GqlSetConfig => Some((Self::PgUpdate, Some(0.5))),
            _ => None,
        }
    }

    fn p99_target_ms(self) -> Option<f64> {
        matches!(self, Self::GqlProject | Self::GqlList).then_some(10.0)
    }
}

struct Args {
    duration: Duration,
    warmup: Duration,
    connections: usize,
    only: Option<Vec<String>>,
    out: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut a = Args {
        duration: Duration::from_secs(15),
        warmup: Duration::from_secs(3),
        connections: 32,
        only: None,
        out: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let v = it.next().with_context(|| format!("{flag} needs a value\n\n{USAGE}"))?;
        let secs = || v.parse::<f64>().ok().filter(|s| *s > 0.0).map(Duration::from_secs_f64).context("seconds");
        match flag.as_str() {
            "--duration" => a.duration = secs()?,
            "--warmup" => a.warmup = secs()?,
            "--connections" => a.connections = v.parse()?,
            "--only" => a.only = Some(v.split(',').map(str::to_string).collect()),
            "--out" => a.out = Some(PathBuf::from(v)),
            _ => bail!("unknown argument {flag}\n\n{USAGE}"),
        }
    }
    ensure!(a.connections >= 1, "--connections must be ≥ 1");
    Ok(a)
}

fn env(name: &str) -> anyhow::Result<String> {
    std::env::var(name).with_context(|| format!("{name} is not set (run through bench/run)"))
}

// --- CPU accounting -------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum ProcKind {
    /// One process (all its threads).
    One,
    /// A postmaster: itself, its live children, and the children it has reaped.
    Tree,
    /// This process and the tools it ran and waited for.
    SelfAndChildren,
}

struct Procs {
    list: Vec<(String, u32, ProcKind)>,
    tick: f64,
}

/// (utime + stime, cutime + cstime, ppid) of a process, in clock ticks.
fn stat(pid: u32) -> Option<(u64, u64, u32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|x| x.parse::<u64>().ok());
    Some((n(11)? + n(12)?, n(13)? + n(14)?, u32::try_from(n(1)?).ok()?))
}

impl Procs {
    fn from_env() -> anyhow::Result<Self> {
        let mut list = Vec::new();
        for item in env("BENCH_PIDS")?.split(',').filter(|s| !s.is_empty()) {
            let (name, pid) = item.split_once('=').with_context(|| format!("BENCH_PIDS item {item}"))?;
            let kind = if name == "postgres" { ProcKind::Tree } else { ProcKind::One };
            list.push((name.to_string(), pid.parse()?, kind));
        }
        list.push(("load generator".to_string(), std::process::id(), ProcKind::SelfAndChildren));
        let tick = Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse::<f64>().ok())
            .unwrap_or(100.0);
        Ok(Self { list, tick })
    }

    /// CPU seconds used so far by each process of the list.
    fn sample(&self) -> Vec<f64> {
        let children = |parent: u32| -> u64 {
            let Ok(dir) = std::fs::read_dir("/proc") else { return 0 };
            dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
                .filter_map(stat)
                .filter(|(_, _, ppid)| *ppid == parent)
                .map(|(own, _, _)| own)
                .sum()
        };
        self.list
            .iter()
            .map(|(_, pid, kind)| {
                let ticks = match (stat(*pid), kind) {
                    (None, _) => 0,
                    (Some((own, _, _)), ProcKind::One) => own,
                    (Some((own, reaped, _)), ProcKind::Tree) => own + reaped + children(*pid),
                    (Some((own, reaped, _)), ProcKind::SelfAndChildren) => own + reaped,
                };
                ticks as f64 / self.tick
            })
            .collect()
    }
}

// --- results --------------------------------------------------------------------------------------

struct Measured {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
    first_error: Option<String>,
    /// CPU use of each process during the window, in % of one core.
    cpu: Vec<f64>,
    seconds: f64,
    note: String,
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

fn cpu_percent(before: &[f64], after: &[f64], seconds: f64) -> Vec<f64> {
    before.iter().zip(after).map(|(b, a)| (a - b) / seconds * 100.0).collect()
}

// --- the in-process workloads ---------------------------------------------------------------------

struct Data {
    projects: Vec<String>,
    /// (project id, key) of every config.
    configs: Vec<(String, String)>,
    emails: Vec<String>,
    /// (project id, ETag of its effective config), for If-None-Match.
    etags: Vec<(String, String)>,
}

struct Targets {
    http: reqwest::Client,
    rest: String,
    graphql: String,
    hello: String,
    peer: Option<String>,
    channel: Channel,
    bearer: HeaderValue,
    grpc_auth: MetadataValue<Ascii>,
    user_password: String,
    data: Data,
}

fn pick<'a, T>(v: &'a [T], rng: &mut SmallRng) -> &'a T {
    &v[rng.random_range(0..v.len())]
}

fn graphql_body(query: &str, variables: Json) -> String {
    json!({ "query": query, "variables": variables }).to_string()
}

impl Targets {
    async fn post_graphql(&self, url: &str, body: String, auth: bool) -> anyhow::Result<Json> {
        let mut r = self.http.post(url).header(CONTENT_TYPE, "application/json").body(body);
        if auth {
            r = r.header(AUTHORIZATION, self.bearer.clone());
        }
        let resp = r.send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        ensure!(status == StatusCode::OK, "GraphQL answered {status}: {}", String::from_utf8_lossy(&bytes));
        // Errors are rare and only need finding; the full parse is part of the client's work.
        let v: Json = serde_json::from_slice(&bytes)?;
        ensure!(v.get("errors").is_none(), "GraphQL errors: {v}");
        Ok(v)
    }

    async fn get(&self, url: &str, etag: Option<&str>, expect: StatusCode) -> anyhow::Result<reqwest::Response> {
        let mut r = self.http.get(url).header(AUTHORIZATION, self.bearer.clone());
        if let Some(e) = etag {
            r = r.header(IF_NONE_MATCH, e);
        }
        let resp = r.send().await?;
        ensure!(resp.status() == expect, "GET {url} answered {} (expected {expect})", resp.status());
        Ok(resp)
    }

    fn peer(&self) -> anyhow::Result<&str> {
        self.peer.as_deref().context("no peer (BENCH_PEER_URL unset)")
    }

    /// One request of `w`, its answer read in full and checked.
    async fn once(&self, w: W, rng: &mut SmallRng) -> anyhow::Result<()> {
        match w {
            W::Hello => {
                let resp = self.http.get(&self.hello).send().await?;
                ensure!(resp.status() == StatusCode::OK, "hello answered {}", resp.status());
                resp.bytes().await?;
            }
            W::RestGet => {
                let id = pick(&self.data.projects, rng);
                self.get(&format!("{}/projects/{id}", self.rest), None, StatusCode::OK).await?.bytes().await?;
            }
            W::RestList => {
                self.get(&format!("{}/projects?{REST_LIST_QUERY}", self.rest), None, StatusCode::OK)
                    .await?
                    .bytes()
                    .await?;
            }
            W::RestConfig => {
                let id = pick(&self.data.projects, rng);
                self.get(&format!("{}/projects/{id}/config", self.rest), None, StatusCode::OK).await?.bytes().await?;
            }
            W::RestConfig304 => {
                let (id, etag) = pick(&self.data.etags, rng);
                self.get(&format!("{}/projects/{id}/config", self.rest), Some(etag), StatusCode::NOT_MODIFIED)
                    .await?
                    .bytes()
                    .await?;
            }
            W::GqlProject => {
                let id = pick(&self.data.projects, rng);
                self.post_graphql(&self.graphql, graphql_body(GQL_PROJECT, json!({ "id": id })), true).await?;
            }
            W::PeerProject => {
                let id = pick(&self.data.projects, rng);
                self.post_graphql(self.peer()?, graphql_body(PEER_PROJECT, json!({ "id": id })), false).await?;
            }
            W::GqlList => {
                self.post_graphql(&self.graphql, graphql_body(GQL_LIST, json!({})), true).await?;
            }
            W::PeerList => {
                self.post_graphql(self.peer()?, graphql_body(PEER_LIST, json!({})), false).await?;
            }
            W::GrpcGet => {
                let id = pick(&self.data.projects, rng).clone();
                let mut req = tonic::Request::new(pb::GetProjectRequest { id, slug: String::new() });
                req.metadata_mut().insert("authorization", self.grpc_auth.clone());
                pb::project_service_client::ProjectServiceClient::new(self.channel.clone()).get_project(req).await?;
            }
            W::GqlSetConfig => {
                let (project, key) = pick(&self.data.configs, rng);
                let value = json!({ "n": rng.random_range(0..1_000_000), "enabled": rng.random_bool(0.5) });
                self.post_graphql(
                    &self.graphql,
                    graphql_body(GQL_SET, json!({ "p": project, "k": key, "v": value })),
                    true,
                )
                .await?;
            }
            W::Login => {
                let email = pick(&self.data.emails, rng);
                let resp = self
                    .http
                    .post(format!("{}/auth/login", self.rest))
                    .json(&json!({ "email": email, "password": self.user_password }))
                    .send()
                    .await?;
                ensure!(resp.status() == StatusCode::OK, "login answered {}", resp.status());
                resp.bytes().await?;
            }
            W::Redis | W::PgSelect | W::PgUpdate => bail!("{} is an external tool", w.id()),
        }
        Ok(())
    }

    /// Before measuring: each workload works once, and ours and the peer's answers agree.
    async fn check(&self) -> anyhow::Result<()> {
        let mut rng = SmallRng::seed_from_u64(1);
        for w in W::ALL {
            if matches!(w, W::Redis | W::PgSelect | W::PgUpdate)
                || (self.peer.is_none() && matches!(w, W::PeerList | W::PeerProject))
            {
                continue;
            }
            self.once(w, &mut rng).await.with_context(|| format!("{} does not work", w.id()))?;
        }
        let id = &self.data.projects[0];
        let ours = self.post_graphql(&self.graphql, graphql_body(GQL_PROJECT, json!({ "id": id })), true).await?;
        let ours_list = self.post_graphql(&self.graphql, graphql_body(GQL_LIST, json!({})), true).await?;
        let keys = |v: &Json, conn: &str| -> Vec<String> {
            v.pointer(conn)
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter().filter_map(|e| e.pointer("/node/key").and_then(Json::as_str).map(str::to_string)).collect()
                })
                .unwrap_or_default()
        };
        let names = |v: &Json, conn: &str, owner: &str| -> Vec<String> {
            v.pointer(conn)
                .and_then(Json::as_array)
                .map(|a| {
                    a.iter()
                        .map(|e| {
                            format!(
                                "{} / {}",
                                e.pointer("/node/name").and_then(Json::as_str).unwrap_or("?"),
                                e.pointer(&format!("/node/{owner}/email")).and_then(Json::as_str).unwrap_or("?")
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let our_keys = keys(&ours, "/data/project/configs/edges");
        let our_names = names(&ours_list, "/data/projects/edges", "owner");
        ensure!(!our_keys.is_empty() && our_names.len() == 20, "unexpected answers: {ours} {ours_list}");
        if let Some(peer) = &self.peer {
            let theirs = self.post_graphql(peer, graphql_body(PEER_PROJECT, json!({ "id": id })), false).await?;
            let theirs_list = self.post_graphql(peer, graphql_body(PEER_LIST, json!({})), false).await?;
            let their_keys = keys(&theirs, "/data/projectById/configsByProjectId/edges");
            let their_names = names(&theirs_list, "/data/allProjects/edges", "userByOwnerId");
            ensure!(our_keys == their_keys, "config keys differ: ours {our_keys:?}, PostGraphile {their_keys:?}");
            ensure!(our_names == their_names, "project pages differ: ours {our_names:?}, PostGraphile {their_names:?}");
        }
        Ok(())
    }
}

async fn measure(targets: &Arc<Targets>, procs: &Procs, w: W, args: &Args) -> anyhow::Result<Measured> {
    let start = tokio::time::Instant::now();
    let measured_from = start + args.warmup;
    let end = measured_from + args.duration;
    let workers: Vec<_> = (0..args.connections)
        .map(|i| {
            let targets = Arc::clone(targets);
            tokio::spawn(async move {
                let mut rng = SmallRng::seed_from_u64(i as u64 * 7919 + w as u64);
                let (mut micros, mut errors, mut first_error) = (Vec::new(), 0u64, None);
                loop {
                    let t = tokio::time::Instant::now();
                    if t >= end {
                        return (micros, errors, first_error);
                    }
                    let r = targets.once(w, &mut rng).await;
                    let done = tokio::time::Instant::now();
                    if t >= measured_from && done <= end {
                        match r {
                            Ok(()) => micros.push(u64::try_from((done - t).as_micros()).unwrap_or(u64::MAX)),
                            Err(e) => {
                                errors += 1;
                                first_error.get_or_insert_with(|| format!("{e:#}"));
                            }
                        }
                    } else if let Err(e) = r {
                        first_error.get_or_insert_with(|| format!("{e:#}"));
                        errors += 1;
                        // Back off a little so that a broken target does not spin.
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep_until(measured_from).await;
    let before = procs.sample();
    tokio::time::sleep_until(end).await;
    let after = procs.sample();
    let mut micros = Vec::new();
    let (mut errors, mut first_error) = (0, None);
    for w in workers {
        let (m, e, f) = w.await?;
        micros.extend(m);
        errors += e;
        first_error = first_error.or(f);
    }
    micros.sort_unstable();
    let secs = args.duration.as_secs_f64();
    Ok(Measured {
        rps: micros.len() as f64 / secs,
        p50_ms: percentile(&micros, 0.50),
        p99_ms: percentile(&micros, 0.99),
        requests: micros.len() as u64,
        errors,
        first_error,
        cpu: cpu_percent(&before, &after, secs),
        seconds: secs,
        note: String::new(),
    })
}

// --- external baselines ---------------------------------------------------------------------------

fn run_tool(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    ensure!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// `redis-benchmark -t get`: a short run to warm up and size the measured run to `--duration`.
fn redis_get(procs: &Procs, args: &Args, raw: &mut String) -> anyhow::Result<Measured> {
    let url = env("REDIS_URL")?;
    let hostport = url.trim_start_matches("redis://").trim_end_matches('/');
    let (host, port) = hostport.rsplit_once(':').unwrap_or((hostport, "6379"));
    let c = args.connections.to_string();
    let run = |n: u64| -> anyhow::Result<(String, Vec<String>)> {
        let out = run_tool(Command::new("redis-benchmark").args([
            "-h",
            host,
            "-p",
            port,
            "-c",
            &c,
            "-n",
            &n.to_string(),
            "-r",
            "100000",
            "-t",
            "get",
            "--csv",
        ]))?;
        let line = out.lines().find(|l| l.starts_with("\"GET\"")).with_context(|| format!("no GET line in {out}"))?;
        Ok((out.clone(), line.split(',').map(|f| f.trim_matches('"').to_string()).collect()))
    };
    let (_, warm) = run(50_000)?;
    let rate: f64 = warm.get(1).and_then(|r| r.parse().ok()).context("redis-benchmark rps")?;
    let n = (rate * args.duration.as_secs_f64()).max(10_000.0) as u64;
    let before = procs.sample();
    let t = Instant::now();
    let (out, fields) = run(n)?;
    let secs = t.elapsed().as_secs_f64();
    let after = procs.sample();
    let _ = writeln!(raw, "## redis-benchmark -c {c} -n {n} -r 100000 -t get --csv\n\n```\n{}```\n", out);
    let f = |i: usize| fields.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(f64::NAN);
    Ok(Measured {
        rps: f(1),
        p50_ms: f(4),
        p99_ms: f(6),
        requests: n,
        errors: 0,
        first_error: None,
        cpu: cpu_percent(&before, &after, secs),
        seconds: secs,
        note: format!("{n} requests"),
    })
}

/// `pgbench -S` or `-N` against its own database on the same PostgreSQL; latencies from its
/// per-transaction log.
fn pgbench(procs: &Procs, args: &Args, mode: &str, raw: &mut String) -> anyhow::Result<Measured> {
    let bin = env("BENCH_PGBENCH")?;
    let db = env("BENCH_PGBENCH_DB")?;
    let c = args.connections.to_string();
    let jobs = std::thread::available_parallelism().map_or(2, usize::from).min(args.connections).to_string();
    let warm = format!("{}", args.warmup.as_secs().max(1));
    run_tool(Command::new(&bin).args(["-n", mode, "-c", &c, "-j", &jobs, "-T", &warm, &db]))?;
    let logdir = std::env::temp_dir().join(format!("bench-pgbench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&logdir);
    std::fs::create_dir_all(&logdir)?;
    let prefix = logdir.join("log");
    let secs = args.duration.as_secs().max(1).to_string();
    let before = procs.sample();
    let t = Instant::now();
    let out = run_tool(Command::new(&bin).args([
        "-n",
        mode,
        "-c",
        &c,
        "-j",
        &jobs,
        "-T",
        &secs,
        "-l",
        &format!("--log-prefix={}", prefix.display()),
        &db,
    ]))?;
    let elapsed = t.elapsed().as_secs_f64();
    let after = procs.sample();
    let _ = writeln!(raw, "## pgbench -n {mode} -c {c} -j {jobs} -T {secs} -l\n\n```\n{out}```\n");
    let tps: f64 = out
        .lines()
        .find(|l| l.starts_with("tps = "))
        .and_then(|l| l.trim_start_matches("tps = ").split_whitespace().next())
        .and_then(|x| x.parse().ok())
        .with_context(|| format!("no tps in {out}"))?;
    let mut micros = Vec::new();
    for entry in std::fs::read_dir(&logdir)? {
        let text = std::fs::read_to_string(entry?.path())?;
        micros.extend(text.lines().filter_map(|l| l.split_whitespace().nth(2)?.parse::<u64>().ok()));
    }
    let _ = std::fs::remove_dir_all(&logdir);
    micros.sort_unstable();
    Ok(Measured {
        rps: tps,
        p50_ms: percentile(&micros, 0.50),
        p99_ms: percentile(&micros, 0.99),
        requests: micros.len() as u64,
        errors: 0,
        first_error: None,
        cpu: cpu_percent(&before, &after, elapsed),
        seconds: elapsed,
        note: String::new(),
    })
}

/// argon2id verifications per second on one core, with the seeded hash (core-svc's own code).
async fn argon2_rate(hash: &str, password: &str) -> anyhow::Result<f64> {
    let t = Instant::now();
    let mut n = 0u32;
    while t.elapsed() < Duration::from_secs(2) || n < 5 {
        ensure!(
            core_svc::security::verify_password(password.to_string().into(), hash.to_string()).await?,
            "argon2 verify failed"
        );
        n += 1;
    }
    Ok(f64::from(n) / t.elapsed().as_secs_f64())
}

// --- set-up ---------------------------------------------------------------------------------------

async fn login_admin(http: &reqwest::Client, rest: &str) -> anyhow::Result<String> {
    let resp = http
        .post(format!("{rest}/auth/login"))
        .json(&json!({ "email": env("BENCH_ADMIN_EMAIL")?, "password": env("BENCH_ADMIN_PASSWORD")? }))
        .send()
        .await?;
    ensure!(resp.status() == StatusCode::OK, "admin login answered {}", resp.status());
    let v: Json = resp.json().await?;
    v["access_token"].as_str().map(str::to_string).with_context(|| format!("no access_token in {v}"))
}

async fn load_data(http: &reqwest::Client, rest: &str, bearer: &HeaderValue) -> anyhow::Result<(Data, String)> {
    use sqlx::Connection as _;
    let mut conn = sqlx::PgConnection::connect(&env("DATABASE_URL")?).await?;
    let projects: Vec<String> =
        sqlx::query_scalar("SELECT id::text FROM projects ORDER BY id").fetch_all(&mut conn).await?;
    let configs: Vec<(String, String)> = sqlx::query_as(
        "SELECT project_id::text, key FROM configs WHERE project_id IS NOT NULL AND deleted_at IS NULL ORDER BY id",
    )
    .fetch_all(&mut conn)
    .await?;
    let emails: Vec<String> =
        sqlx::query_scalar("SELECT email FROM users WHERE role = 'user' ORDER BY email").fetch_all(&mut conn).await?;
    let hash: String =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE role = 'user' LIMIT 1").fetch_one(&mut conn).await?;
    ensure!(!projects.is_empty() && !configs.is_empty() && !emails.is_empty(), "the database is not seeded");
    let mut rng = SmallRng::seed_from_u64(42);
    let mut etags = Vec::new();
    for _ in 0..projects.len().min(1000) {
        let id = pick(&projects, &mut rng).clone();
        let resp =
            http.get(format!("{rest}/projects/{id}/config")).header(AUTHORIZATION, bearer.clone()).send().await?;
        let etag = resp.headers().get("etag").and_then(|v| v.to_str().ok()).map(str::to_string);
        etags.push((id, etag.context("effective config without ETag")?));
    }
    Ok((Data { projects, configs, emails, etags }, hash))
}

fn ms(x: f64) -> String {
    if x.is_nan() {
        "—".into()
    } else if x < 10.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.1}")
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let started_at = chrono::Utc::now();
    let selected = |w: W| args.only.as_ref().is_none_or(|o| o.iter().any(|x| x == w.id()));
    let procs = Procs::from_env()?;
    let rest = env("BENCH_REST_URL")?;
    let http = reqwest::Client::builder().pool_max_idle_per_host(args.connections).tcp_nodelay(true).build()?;
    let token = login_admin(&http, &rest).await?;
    let bearer = HeaderValue::from_str(&format!("Bearer {token}"))?;
    let (data, hash) = load_data(&http, &rest, &bearer).await?;
    let core_url = env("CORE_GRPC_URL")?;
    let channel = tonic::transport::Endpoint::from_shared(core_url)?.tcp_nodelay(true).connect().await?;
    let targets = Targets {
        http: http.clone(),
        graphql: env("BENCH_GRAPHQL_URL")?,
        hello: env("BENCH_HELLO_URL")?,
        peer: std::env::var("BENCH_PEER_URL").ok().filter(|s| !s.is_empty()),
        channel,
        grpc_auth: format!("Bearer {token}").parse()?,
        bearer,
        user_password: env("BENCH_USER_PASSWORD")?,
        data,
        rest: rest.clone(),
    };
    targets.check().await.context("workload check")?;
    eprintln!("suite: every workload answers, and ours and PostGraphile's answers agree");

    let load_before = loadavg();
    let mut results: BTreeMap<W, Measured> = BTreeMap::new();
    let mut raw = String::new();
    let mut targets = Arc::new(targets);
    for w in W::ALL {
        if !selected(w) || (targets.peer.is_none() && matches!(w, W::PeerList | W::PeerProject)) {
            continue;
        }
        // A fresh access token per workload: they live 15 minutes, a whole run takes longer.
        if let Some(t) = Arc::get_mut(&mut targets) {
            let token = login_admin(&http, &rest).await?;
            t.bearer = HeaderValue::from_str(&format!("Bearer {token}"))?;
            t.grpc_auth = format!("Bearer {token}").parse()?;
        }
        eprintln!("suite: {} …", w.id());
        let m = match w {
            W::Redis => redis_get(&procs, &args, &mut raw)?,
            W::PgSelect => pgbench(&procs, &args, "-S", &mut raw)?,
            W::PgUpdate => pgbench(&procs, &args, "-N", &mut raw)?,
            _ => measure(&targets, &procs, w, &args).await?,
        };
        eprintln!(
            "suite: {:<16} {:>8.0} req/s  p50 {:>7} ms  p99 {:>7} ms  errors {}{}",
            w.id(),
            m.rps,
            ms(m.p50_ms),
            ms(m.p99_ms),
            m.errors,
            m.first_error.as_deref().map(|e| format!(" (first: {e})")).unwrap_or_default()
        );
        results.insert(w, m);
    }
    let argon2 = if selected(W::Login) { Some(argon2_rate(&hash, &targets.user_password).await?) } else { None };

    // --- report ---
    let commit = git(&["rev-parse", "--short", "HEAD"]).unwrap_or_else(|| "unknown".into());
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let mut md = String::new();
    let _ = writeln!(md, "# Platform SM benchmark (`bench/run`)\n");
    let _ = writeln!(md, "- date: {} UTC", started_at.format("%Y-%m-%d %H:%M"));
    let _ = writeln!(md, "- commit: {commit}{}", if dirty { " (with uncommitted changes)" } else { "" });
    let _ = writeln!(md, "- machine: {cores} CPUs (nproc), {}", cpu_model());
    let _ = writeln!(md, "- load average (1/5/15 min): before {load_before}, after {}", loadavg());
    let _ = writeln!(
        md,
        "- load: closed loop, {} connections, {:.0} s warm-up + {:.0} s measured per workload, random ids; all our requests as the admin",
        args.connections,
        args.warmup.as_secs_f64(),
        args.duration.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "- data: {} projects, {} configs, {} users (seeded by `seed`)",
        targets.data.projects.len(),
        targets.data.configs.len(),
        targets.data.emails.len()
    );
    if let Ok(seed) = std::env::var("BENCH_SEED_INFO") {
        let _ = writeln!(md, "- dataset load (`seed`): `{seed}`");
    }
    let _ = writeln!(md, "- REST list: `{REST_LIST_SHOWN}`");
    let _ = writeln!(md, "- GraphQL 4: `{GQL_PROJECT}`; PostGraphile: `{PEER_PROJECT}`");
    let _ = writeln!(md, "- GraphQL 5: `{GQL_LIST}`; PostGraphile: `{PEER_LIST}`");
    let _ = writeln!(md, "- config write: `{GQL_SET}` (random existing key, new JSON value)\n");

    let names: Vec<&str> = procs.list.iter().map(|(n, _, _)| n.as_str()).collect();
    let _ = write!(md, "| workload | req/s | p50 ms | p99 ms | errors | vs baseline | target |");
    for n in &names {
        let _ = write!(md, " CPU % {n} |");
    }
    let _ = writeln!(md);
    let _ = write!(md, "|---|---:|---:|---:|---:|---|---|");
    for _ in &names {
        let _ = write!(md, "---:|");
    }
    let _ = writeln!(md);
    let mut verdicts = Vec::new();
    for (w, m) in &results {
        let (ratio, target) = match w.baseline() {
            Some((b, t)) => match results.get(&b) {
                Some(bm) => {
                    let r = m.rps / bm.rps;
                    let target = t.map_or("—".to_string(), |t| {
                        let ok = r >= t;
                        verdicts.push(format!(
                            "{}: {r:.2}× {} (target ≥ {t}×): {}",
                            w.id(),
                            b.id(),
                            if ok { "met" } else { "missed" }
                        ));
                        format!("≥ {t}× {}", if ok { "✅" } else { "❌" })
                    });
                    (format!("{r:.2}× {}", b.id()), target)
                }
                None => ("(baseline not run)".into(), "—".into()),
            },
            None => ("—".into(), "—".into()),
        };
        let target = match w.p99_target_ms() {
            Some(t) => {
                let ok = m.p99_ms <= t;
                verdicts.push(format!(
                    "{}: p99 {} ms (target ≤ {t} ms): {}",
                    w.id(),
                    ms(m.p99_ms),
                    if ok { "met" } else { "missed" }
                ));
                format!("{target}; p99 ≤ {t} ms {}", if ok { "✅" } else { "❌" })
            }
            None => target,
        };
        let _ = write!(
            md,
            "| {} `{}` | {:.0} | {} | {} | {} | {ratio} | {target} |",
            w.label(),
            w.id(),
            m.rps,
            ms(m.p50_ms),
            ms(m.p99_ms),
            m.errors
        );
        for c in &m.cpu {
            let _ = write!(md, " {c:.0} |");
        }
        let _ = writeln!(md);
    }
    if let (Some(rate), Some(m)) = (argon2, results.get(&W::Login)) {
        let core_cpu = names.iter().position(|n| *n == "core-svc").map(|i| m.cpu[i] / 100.0 * m.seconds);
        let _ = writeln!(
            md,
            "\nLogin and argon2: one argon2id verification (core-svc's own `verify_password`, default parameters) takes {:.1} ms on one core here, i.e. a ceiling of {:.0} logins/s on {cores} cores with nothing else running; measured {:.0} logins/s = {:.0} % of that ceiling{}.",
            1000.0 / rate,
            rate * cores as f64,
            m.rps,
            m.rps / (rate * cores as f64) * 100.0,
            core_cpu.map_or(String::new(), |c| format!(
                ", core-svc spent {:.1} ms CPU per login",
                c * 1000.0 / m.requests.max(1) as f64
            ))
        );
    }
    let _ = writeln!(md, "\nTargets:\n");
    for v in &verdicts {
        let _ = writeln!(md, "- {v}");
    }
    for (w, m) in &results {
        if let Some(e) = &m.first_error {
            let _ = writeln!(md, "\nFirst error of {}: `{e}`", w.id());
        }
        if !m.note.is_empty() {
            let _ = writeln!(md, "\n{}: {}", w.id(), m.note);
        }
    }
    let _ = writeln!(
        md,
        "\nCPU %: CPU time of the process during the measured window ÷ the window, in % of one core ({cores} cores = {} %). PostgreSQL: the postmaster and every backend; load generator: this process plus the baseline tools it runs (redis-benchmark, pgbench).",
        cores * 100
    );
    let _ = writeln!(md, "\n# Raw output of the baseline tools\n\n{raw}");

    println!("{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("suite: written to {}", out.display());
    }
    Ok(())
}
