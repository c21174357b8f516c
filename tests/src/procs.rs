//! Real processes for the fault-injection tests: a private PostgreSQL cluster and redis-server
//! that a test may stop, crash and restart without touching the servers every other test
//! shares, and the core-svc and realtime-edge binaries to `kill -9`.
//!
//! Every handle stops its process on drop (also when the test panics), so a failed test leaves
//! nothing running.

use std::{
    net::{SocketAddr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// A port that is free now (the kernel's pick for port 0).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Waits until something accepts TCP connections on `addr`.
pub async fn wait_listening(addr: SocketAddr, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "{what} is not listening on {addr}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A directory of its own for one test's servers, removed on drop.
fn scratch_dir(kind: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("psm-{kind}-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Whether this process runs as root (asked of `id -u`, which needs no unsafe libc call).
fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

// ------------------------------------------------------------------------------------------------
// redis-server

/// A private redis-server without persistence: a restart is a restart from empty.
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl RedisServer {
    pub async fn start() -> Self {
        let mut r = Self { port: free_port(), dir: scratch_dir("redis"), child: None };
        r.spawn().await;
        r
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH (scripts/test installs it)");
        self.child = Some(child);
        wait_listening(([127, 0, 0, 1], self.port).into(), "redis-server").await;
    }

    /// Kills it (SIGKILL): everything it held is gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port, empty.
    pub async fn restart_empty(&mut self) {
        self.kill();
        self.spawn().await;
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

// ------------------------------------------------------------------------------------------------
// PostgreSQL

/// A private PostgreSQL cluster (initdb'd for this test) on its own port.
///
/// As root (CI), PostgreSQL must run as an unprivileged user: the one scripts/lib.sh creates
/// (`platform-pg`, or `PG_OS_USER`).
pub struct PgServer {
    pub port: u16,
    dir: PathBuf,
    bindir: PathBuf,
    running: bool,
}

impl PgServer {
    pub async fn start() -> Self {
        let dir = scratch_dir("pg");
        let bindir = pg_bindir();
        let mut pg = Self { port: free_port(), dir, bindir, running: false };
        if is_root() {
            let user = std::env::var("PG_OS_USER").unwrap_or_else(|_| "platform-pg".into());
            let owner = format!("{user}:");
            assert!(Command::new("chown").args(["-R", &owner]).arg(&pg.dir).status().unwrap().success());
        }
        let data = pg.dir.join("data");
        pg.run("initdb", &["-D", data.to_str().unwrap(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"]);
        pg.spawn().await;
        pg
    }

    /// Superuser URL of database `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        ([127, 0, 0, 1], self.port).into()
    }

    fn command(&self, tool: &str) -> Command {
        let exe = self.bindir.join(tool);
        if is_root() {
            let user = std::env::var("PG_OS_USER").unwrap_or_else(|_| "platform-pg".into());
            let mut c = Command::new("runuser");
            c.args(["-u", &user, "--"]).arg(exe).current_dir("/");
            c
        } else {
            Command::new(exe)
        }
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let out = self.command(tool).args(args).stdout(Stdio::piped()).stderr(Stdio::piped()).output().unwrap();
        assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }

    async fn spawn(&mut self) {
        let data = self.dir.join("data");
        let log = self.dir.join("postgres.log");
        let options = format!("-p {} -k '' -c listen_addresses=127.0.0.1 -c fsync=off", self.port);
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-l", log.to_str().unwrap(), "-o", &options, "-w", "-t", "60", "start"],
        );
        self.running = true;
        wait_listening(self.addr(), "PostgreSQL").await;
    }

    /// Stops it the way a crash would (`pg_ctl stop -m immediate`: no checkpoint, every
    /// connection dropped).
    pub fn crash(&mut self) {
        if self.running {
            let data = self.dir.join("data");
            self.run("pg_ctl", &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"]);
            self.running = false;
        }
    }

    /// Starts it again on the same port (it recovers from its WAL).
    pub async fn start_again(&mut self) {
        self.spawn().await;
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        self.crash();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where initdb and pg_ctl are: `PG_BINDIR`, else the newest `/usr/lib/postgresql/<n>/bin`
/// (Debian keeps server binaries off PATH), else PATH.
fn pg_bindir() -> PathBuf {
    if let Ok(dir) = std::env::var("PG_BINDIR") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin): &(u32, PathBuf)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| Path::new("/usr/bin").to_path_buf())
}

// ------------------------------------------------------------------------------------------------
// Service binaries

/// A service binary run as a real process, which a test may `kill -9` and start again with the
/// same environment (and so the same ports).
pub struct Service {
    exe: PathBuf,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Service {
    /// The binary named by `var` (scripts/test builds it and exports e.g. PLATFORM_CORE_BIN).
    pub fn new(var: &str, env: &[(&str, String)]) -> Self {
        let exe = std::env::var(var).unwrap_or_else(|_| panic!("{var} must name a built binary: run ./scripts/test"));
        Self { exe: exe.into(), env: env.iter().map(|(k, v)| (k.to_string(), v.clone())).collect(), child: None }
    }

    pub fn start(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = Command::new(&self.exe)
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("RUST_LOG", std::env::var("TEST_LOG").unwrap_or_else(|_| "warn".into()))
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", self.exe.display()));
        self.child = Some(child);
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGKILL: no drain, no goodbye.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Resident memory (VmRSS) in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill9();
    }
}
