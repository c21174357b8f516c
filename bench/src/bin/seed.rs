//! The dataset of `bench/run`, loaded straight into PostgreSQL in the rows core-svc itself writes.
//!
//! Run after core-svc has migrated the database and created its admin (it must be running: the
//! check at the end goes through its gRPC API). Loads, in one transaction with `COPY`:
//!
//! - U users (default 1,000; role `user`, status `active`), each created by the admin
//!   (`user.created` event);
//! - P projects (default 10,000), each created by a random user, its owner (`project.created`),
//!   with 1–5 members: the owner plus 0–4 other users as editors or viewers, added by the owner
//!   (`member.added` each);
//! - C configs (default 50,000, spread evenly over the projects), each set once by the owner:
//!   the entry at version 1, its `set` revision, and a `config.set` event.
//!
//! Rows are built from core-svc's own domain types (`core_svc::domain::*`) and event payloads are
//! serialised with `core_svc::events::payload`, so columns, versions, channels and payloads are
//! what the API writes; events are inserted unnumbered (`seq` NULL) like the API inserts them, and
//! core-svc's relay numbers them (this waits until it has). Differences from going through the
//! API, on purpose: every user has the same password and hence the same argon2 hash (one hashing
//! instead of 1,000), and timestamps are microseconds apart instead of milliseconds.
//!
//! Then it checks itself: it signs in as a seeded user through core-svc's gRPC API, repeats what
//! it seeded for one project (CreateProject, AddMember, SetConfig with the same user, role, key and
//! value), compares the rows and events the API wrote with the seeded ones (same columns, same
//! nulls, same versions, same channels, same payload fields), reads the seeded project back
//! through the API, and deletes the check project again.
//!
//! Environment: `DATABASE_URL`, `CORE_GRPC_URL`, `BENCH_USER_PASSWORD` (the seeded users'
//! password). Prints one JSON line on stdout: `{"admin_id":…, "seconds":…, …}`.

use std::{
    collections::{BTreeMap, HashMap},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail, ensure};
use chrono::{DateTime, SecondsFormat, Utc};
use core_svc::domain::{
    Config, ConfigOp, Member, MemberRole, Project, ProjectStatus, User, UserRole, UserStatus, channel,
};
use proto::v1 as pb;
use rand::{Rng as _, SeedableRng as _, rngs::SmallRng, seq::SliceRandom as _};
use serde_json::{Value as Json, json};
use sqlx::{Connection as _, PgConnection, Row as _};
use uuid::Uuid;

const USAGE: &str = "usage: seed [--users U] [--projects P] [--configs C]   (defaults 1000, 10000, 50000)";

/// Config keys a project draws its entries from.
const KEYS: [&str; 10] = [
    "app.title",
    "feature.new_ui",
    "feature.beta_search",
    "limits.max_items",
    "limits.rate_per_min",
    "ui.theme",
    "billing.plan",
    "mail.sender",
    "cache.ttl_seconds",
    "rollout.regions",
];

fn value_for(key: &str, rng: &mut SmallRng) -> Json {
    match key {
        "app.title" => json!(format!("App {}", rng.random_range(1..1000))),
        "feature.new_ui" | "feature.beta_search" => json!(rng.random_bool(0.5)),
        "limits.max_items" | "limits.rate_per_min" | "cache.ttl_seconds" => json!(rng.random_range(10..10_000)),
        "ui.theme" => json!({"mode": if rng.random_bool(0.5) { "dark" } else { "light" }, "accent": "#3366ff"}),
        "billing.plan" => json!(["free", "team", "enterprise"][rng.random_range(0..3)]),
        "mail.sender" => json!({"name": "Platform", "address": "noreply@example.com"}),
        _ => json!(["eu-west", "us-east", "ap-south"]),
    }
}

/// CSV for `COPY … (FORMAT csv)`: every value quoted, None is NULL (an unquoted empty field).
#[derive(Default)]
struct Csv(String);

impl Csv {
    fn row(&mut self, fields: &[Option<&str>]) {
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                self.0.push(',');
            }
            if let Some(s) = f {
                self.0.push('"');
                self.0.push_str(&s.replace('"', "\"\""));
                self.0.push('"');
            }
        }
        self.0.push('\n');
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A PostgreSQL text[] literal of channel names (no quoting needed: `[a-z]+(:uuid)?`).
fn array(items: &[String]) -> String {
    format!("{{{}}}", items.join(","))
}

/// Timestamps: strictly increasing by 1 µs per row written, like a fast sequence of API calls.
struct Clock(DateTime<Utc>);

impl Clock {
    fn tick(&mut self) -> DateTime<Utc> {
        self.0 += chrono::Duration::microseconds(1);
        self.0
    }
}

/// The tables in load order, with the columns the API writes.
struct Tables {
    users: Csv,
    projects: Csv,
    members: Csv,
    configs: Csv,
    revisions: Csv,
    events: Csv,
    counts: BTreeMap<&'static str, usize>,
}

impl Tables {
    const COPY: [(&'static str, &'static str); 6] = [
        (
            "users",
            "users (id, email, name, role, status, password_hash, version, created_at, updated_at, last_login_at)",
        ),
        ("projects", "projects (id, slug, name, description, status, owner_id, version, created_at, updated_at)"),
        ("members", "members (id, project_id, user_id, role, version, created_at, updated_at)"),
        (
            "configs",
            "configs (id, project_id, key, value, description, version, created_at, updated_at, updated_by, deleted_at)",
        ),
        (
            "config_revisions",
            "config_revisions (id, config_id, version, value, description, op, author_id, created_at)",
        ),
        (
            "events",
            "events (id, type, channels, actor_id, resource_type, resource_id, payload, occurred_at, request_id)",
        ),
    ];

    fn csv(&mut self, table: &str) -> &mut Csv {
        *self
            .counts
            .entry(match table {
                "users" => "users",
                "projects" => "projects",
                "members" => "members",
                "configs" => "configs",
                "config_revisions" => "config_revisions",
                _ => "events",
            })
            .or_default() += 1;
        match table {
            "users" => &mut self.users,
            "projects" => &mut self.projects,
            "members" => &mut self.members,
            "configs" => &mut self.configs,
            "config_revisions" => &mut self.revisions,
            _ => &mut self.events,
        }
    }

    /// What `events::record` inserts (the `admin` channel appended), with a request id like the
    /// edges generate.
    #[allow(clippy::too_many_arguments)]
    fn event(
        &mut self,
        at: DateTime<Utc>,
        event_type: &str,
        mut channels: Vec<String>,
        actor: Uuid,
        resource_type: &str,
        resource_id: Uuid,
        payload: &Json,
    ) {
        channels.push(channel::ADMIN.to_string());
        let (id, actor, resource_id, request_id) =
            (Uuid::now_v7().to_string(), actor.to_string(), resource_id.to_string(), Uuid::now_v7().to_string());
        let (channels, payload, at) = (array(&channels), payload.to_string(), ts(at));
        self.csv("events").row(&[
            Some(&id),
            Some(event_type),
            Some(&channels),
            Some(&actor),
            Some(resource_type),
            Some(&resource_id),
            Some(&payload),
            Some(&at),
            Some(&request_id),
        ]);
    }

    fn user(&mut self, u: &User, hash: &str, admin: Uuid) {
        let (id, version, created, updated) =
            (u.id.to_string(), u.version.to_string(), ts(u.created_at), ts(u.updated_at));
        self.csv("users").row(&[
            Some(&id),
            Some(&u.email),
            Some(&u.name),
            Some(u.role.as_str()),
            Some(u.status.as_str()),
            Some(hash),
            Some(&version),
            Some(&created),
            Some(&updated),
            None,
        ]);
        self.event(u.created_at, "user.created", vec![channel::user(u.id)], admin, "user", u.id, &payload(u));
    }

    fn project(&mut self, p: &Project) {
        let (id, owner, version, created, updated) =
            (p.id.to_string(), p.owner_id.to_string(), p.version.to_string(), ts(p.created_at), ts(p.updated_at));
        self.csv("projects").row(&[
            Some(&id),
            Some(&p.slug),
            Some(&p.name),
            Some(&p.description),
            Some(p.status.as_str()),
            Some(&owner),
            Some(&version),
            Some(&created),
            Some(&updated),
        ]);
    }

    /// A member row; its event is written by the caller (the owner's comes with project.created).
    fn member(&mut self, m: &Member) {
        let (id, project, user, version, created, updated) = (
            m.id.to_string(),
            m.project_id.to_string(),
            m.user_id.to_string(),
            m.version.to_string(),
            ts(m.created_at),
            ts(m.updated_at),
        );
        self.csv("members").row(&[
            Some(&id),
            Some(&project),
            Some(&user),
            Some(m.role.as_str()),
            Some(&version),
            Some(&created),
            Some(&updated),
        ]);
    }

    /// `configs::insert` + `configs::insert_revision` (created_at = the entry's updated_at) +
    /// the `config.set` event.
    fn config(&mut self, c: &Config, author: Uuid) {
        let project = c.project_id.map(|p| p.to_string());
        let (id, value, version, created, updated, by) = (
            c.id.to_string(),
            c.value.to_string(),
            c.version.to_string(),
            ts(c.created_at),
            ts(c.updated_at),
            c.updated_by.map(|u| u.to_string()),
        );
        self.csv("configs").row(&[
            Some(&id),
            project.as_deref(),
            Some(&c.key),
            Some(&value),
            Some(&c.description),
            Some(&version),
            Some(&created),
            Some(&updated),
            by.as_deref(),
            None,
        ]);
        let (rev_id, author_s) = (Uuid::now_v7().to_string(), author.to_string());
        self.csv("config_revisions").row(&[
            Some(&rev_id),
            Some(&id),
            Some(&version),
            Some(&value),
            Some(&c.description),
            Some(ConfigOp::Set.as_str()),
            Some(&author_s),
            Some(&updated),
        ]);
        let project_id = c.project_id.expect("project config");
        self.event(c.updated_at, "config.set", vec![channel::project(project_id)], author, "config", c.id, &payload(c));
    }

    async fn copy(self, conn: &mut PgConnection) -> anyhow::Result<BTreeMap<&'static str, usize>> {
        let data = [self.users, self.projects, self.members, self.configs, self.revisions, self.events];
        let mut tx = conn.begin().await?;
        for ((table, target), csv) in Self::COPY.iter().zip(data) {
            let mut copy = tx.copy_in_raw(&format!("COPY {target} FROM STDIN WITH (FORMAT csv)")).await?;
            copy.send(csv.0.into_bytes()).await?;
            copy.finish().await.with_context(|| format!("COPY {table}"))?;
        }
        // Wake core-svc's event relay, as every API write does.
        sqlx::query("SELECT pg_notify($1, '')").bind(core_svc::events::NOTIFY_CHANNEL).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(self.counts)
    }
}

fn payload<T: serde::Serialize>(v: &T) -> Json {
    core_svc::events::payload(v)
}

/// What one project of the dataset is made of (for the self-check).
struct Sample {
    project: Uuid,
    owner: Uuid,
    owner_email: String,
    member: (Uuid, MemberRole),
    config: (String, Json),
}

struct Args {
    users: usize,
    projects: usize,
    configs: usize,
}

fn parse_args() -> anyhow::Result<Args> {
    let mut args = Args { users: 1000, projects: 10_000, configs: 50_000 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value: usize = it.next().with_context(|| format!("{flag} needs a value"))?.parse()?;
        match flag.as_str() {
            "--users" => args.users = value,
            "--projects" => args.projects = value,
            "--configs" => args.configs = value,
            _ => bail!("unknown argument {flag}\n{USAGE}"),
        }
    }
    ensure!(args.users >= 5, "--users must be at least 5 (a project has up to 5 members)");
    ensure!(args.projects >= 1, "--projects must be at least 1");
    ensure!(args.configs <= args.projects * KEYS.len(), "at most {} configs per project", KEYS.len());
    Ok(args)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = parse_args()?;
    let database_url = std::env::var("DATABASE_URL").context("DATABASE_URL")?;
    let core_url = std::env::var("CORE_GRPC_URL").context("CORE_GRPC_URL")?;
    let password = std::env::var("BENCH_USER_PASSWORD").context("BENCH_USER_PASSWORD")?;
    let started = Instant::now();
    let mut conn = PgConnection::connect(&database_url).await?;
    let admin: Uuid = sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' ORDER BY created_at LIMIT 1")
        .fetch_optional(&mut conn)
        .await?
        .context("no admin: start core-svc with PLATFORM_ADMIN_EMAIL/PASSWORD first")?;
    let existing: i64 = sqlx::query_scalar("SELECT count(*) FROM projects").fetch_one(&mut conn).await?;
    ensure!(existing == 0, "the database already holds {existing} projects; seed a fresh one");

    let hash = core_svc::security::hash_password(password.clone().into()).await?;
    let now = Utc::now();
    let mut clock = Clock(DateTime::from_timestamp_micros(now.timestamp_micros()).context("time")?);
    let mut rng = SmallRng::seed_from_u64(20_261_125);
    let mut t = Tables {
        users: Csv::default(),
        projects: Csv::default(),
        members: Csv::default(),
        configs: Csv::default(),
        revisions: Csv::default(),
        events: Csv::default(),
        counts: BTreeMap::new(),
    };

    let mut users = Vec::with_capacity(args.users);
    for i in 0..args.users {
        let at = clock.tick();
        let u = User {
            id: Uuid::now_v7(),
            email: format!("user{i:04}@bench.example.com"),
            name: format!("Bench User {i:04}"),
            role: UserRole::User,
            status: UserStatus::Active,
            version: 1,
            created_at: at,
            updated_at: at,
            last_login_at: None,
        };
        t.user(&u, &hash, admin);
        users.push(u);
    }

    // Names in an order unrelated to creation, so that sorting by name does real work.
    let mut names: Vec<usize> = (0..args.projects).collect();
    names.shuffle(&mut rng);
    let mut sample = None;
    for (i, name_no) in names.into_iter().enumerate() {
        let owner = &users[rng.random_range(0..users.len())];
        let at = clock.tick();
        let p = Project {
            id: Uuid::now_v7(),
            slug: format!("bench-{i:05}"),
            name: format!("Project {name_no:05}"),
            description: String::new(),
            status: ProjectStatus::Active,
            owner_id: owner.id,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        t.project(&p);
        let owner_member = Member {
            id: Uuid::now_v7(),
            project_id: p.id,
            user_id: owner.id,
            role: MemberRole::Owner,
            version: 1,
            created_at: at,
            updated_at: at,
        };
        t.member(&owner_member);
        t.event(
            at,
            "project.created",
            vec![channel::project(p.id), channel::user(owner.id)],
            owner.id,
            "project",
            p.id,
            &payload(&p),
        );

        // 1–5 members in all; the first project has at least 2 (the self-check repeats one).
        let extra = if i == 0 { rng.random_range(1..5) } else { rng.random_range(0..5) };
        let mut others: Vec<&User> = Vec::with_capacity(extra);
        while others.len() < extra {
            let u = &users[rng.random_range(0..users.len())];
            if u.id != owner.id && !others.iter().any(|o| o.id == u.id) {
                others.push(u);
            }
        }
        let mut first_member = None;
        for u in others {
            let at = clock.tick();
            let role = if rng.random_bool(0.5) { MemberRole::Editor } else { MemberRole::Viewer };
            let m = Member {
                id: Uuid::now_v7(),
                project_id: p.id,
                user_id: u.id,
                role,
                version: 1,
                created_at: at,
                updated_at: at,
            };
            t.member(&m);
            t.event(
                at,
                "member.added",
                vec![channel::project(p.id), channel::user(u.id)],
                owner.id,
                "member",
                m.id,
                &payload(&m),
            );
            first_member.get_or_insert((u.id, role));
        }

        let n = args.configs / args.projects + usize::from(i < args.configs % args.projects);
        let mut keys = KEYS;
        keys.shuffle(&mut rng);
        let mut first_config = None;
        for key in &keys[..n] {
            let at = clock.tick();
            let c = Config {
                id: Uuid::now_v7(),
                project_id: Some(p.id),
                key: (*key).to_string(),
                value: value_for(key, &mut rng),
                description: String::new(),
                version: 1,
                created_at: at,
                updated_at: at,
                updated_by: Some(owner.id),
                deleted_at: None,
            };
            t.config(&c, owner.id);
            first_config.get_or_insert_with(|| (c.key.clone(), c.value.clone()));
        }
        if i == 0 {
            sample = Some(Sample {
                project: p.id,
                owner: owner.id,
                owner_email: owner.email.clone(),
                member: first_member.context("first project without a second member")?,
                config: first_config.context("first project without configs (use --configs ≥ --projects)")?,
            });
        }
    }
    let built = started.elapsed();
    let counts = t.copy(&mut conn).await?;
    let copied = started.elapsed();

    // core-svc's relay numbers the events; readers only see numbered ones.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left: i64 =
            sqlx::query_scalar("SELECT count(*) FROM events WHERE seq IS NULL").fetch_one(&mut conn).await?;
        if left == 0 {
            break;
        }
        ensure!(Instant::now() < deadline, "core-svc's relay left {left} events unnumbered for 2 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let sequenced = started.elapsed();
    sqlx::query("ANALYZE").execute(&mut conn).await?;
    let loaded = started.elapsed();

    let sample = sample.context("no project seeded")?;
    check(&mut conn, &core_url, &password, &sample).await.context("self-check against the API")?;

    let out = json!({
        "admin_id": admin.to_string(),
        "rows": counts,
        "build_seconds": built.as_secs_f64(),
        "copy_seconds": (copied - built).as_secs_f64(),
        "sequence_seconds": (sequenced - copied).as_secs_f64(),
        "analyze_seconds": (loaded - sequenced).as_secs_f64(),
        "load_seconds": loaded.as_secs_f64(),
        "check_seconds": (started.elapsed() - loaded).as_secs_f64(),
    });
    println!("{out}");
    Ok(())
}

// --- self-check -----------------------------------------------------------------------------------

/// A call as an edge makes it: the caller's bearer token and a request id (events record it).
fn req<T>(msg: T, token: &str) -> tonic::Request<T> {
    let mut r = tests::authed(msg, token);
    r.metadata_mut().insert("x-request-id", Uuid::now_v7().to_string().parse().expect("ascii"));
    r
}

fn to_proto(v: &Json) -> prost_types::Value {
    use prost_types::value::Kind;
    let kind = match v {
        Json::Null => Kind::NullValue(0),
        Json::Bool(b) => Kind::BoolValue(*b),
        Json::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or_default()),
        Json::String(s) => Kind::StringValue(s.clone()),
        Json::Array(a) => Kind::ListValue(prost_types::ListValue { values: a.iter().map(to_proto).collect() }),
        Json::Object(o) => {
            Kind::StructValue(prost_types::Struct { fields: o.iter().map(|(k, v)| (k.clone(), to_proto(v))).collect() })
        }
    };
    prost_types::Value { kind: Some(kind) }
}

/// A row or payload with everything that legitimately differs between two creations replaced:
/// the ids by their role (`<project>`, `<owner>`, …), other ids by `<uuid>`, times by `<time>`,
/// free text by `<text>`. Numbers, booleans, nulls, enum words and the structure stay.
fn shape(v: &Json, roles: &HashMap<String, &'static str>) -> Json {
    match v {
        Json::Object(o) => Json::Object(o.iter().map(|(k, v)| (k.clone(), shape(v, roles))).collect()),
        Json::Array(a) => Json::Array(a.iter().map(|v| shape(v, roles)).collect()),
        Json::String(s) => {
            let mut s = s.clone();
            for (id, role) in roles {
                s = s.replace(id.as_str(), role);
            }
            if Uuid::parse_str(&s).is_ok() {
                json!("<uuid>")
            } else if DateTime::parse_from_rfc3339(&s).is_ok() {
                json!("<time>")
            } else if s.contains('<')
                || [
                    "active", "archived", "owner", "editor", "viewer", "set", "user", "admin", "project", "member",
                    "config",
                ]
                .contains(&s.as_str())
                || s.contains('.') && !s.contains(' ') && !s.contains('@')
            {
                Json::String(s)
            } else {
                json!("<text>")
            }
        }
        other => other.clone(),
    }
}

/// Rows of `sql` (one `$1` uuid parameter) as JSON objects.
async fn rows(conn: &mut PgConnection, sql: &'static str, id: Uuid) -> anyhow::Result<Vec<Json>> {
    let rows = sqlx::query(sql).bind(id).fetch_all(conn).await?;
    rows.iter().map(|r| r.try_get::<Json, _>(0).map_err(Into::into)).collect()
}

/// Everything stored about one project, in the shape `shape` gives it, for the member and config
/// named (so that an API-made project with just those compares to a seeded one with more).
async fn stored(
    conn: &mut PgConnection,
    project: Uuid,
    member_user: Uuid,
    key: &str,
    roles: &mut HashMap<String, &'static str>,
) -> anyhow::Result<Json> {
    roles.insert(project.to_string(), "<project>");
    roles.insert(member_user.to_string(), "<member-user>");
    let member_id: Uuid = sqlx::query_scalar("SELECT id FROM members WHERE project_id = $1 AND user_id = $2")
        .bind(project)
        .bind(member_user)
        .fetch_one(&mut *conn)
        .await?;
    let config_id: Uuid = sqlx::query_scalar("SELECT id FROM configs WHERE project_id = $1 AND key = $2")
        .bind(project)
        .bind(key)
        .fetch_one(&mut *conn)
        .await?;
    roles.insert(member_id.to_string(), "<member>");
    roles.insert(config_id.to_string(), "<config>");
    let owner_member: Uuid = sqlx::query_scalar("SELECT id FROM members WHERE project_id = $1 AND role = 'owner'")
        .bind(project)
        .fetch_one(&mut *conn)
        .await?;
    roles.insert(owner_member.to_string(), "<owner-member>");

    let project_rows = rows(conn, "SELECT to_jsonb(p) FROM projects p WHERE id = $1", project).await?;
    let members: Vec<Json> = sqlx::query_scalar(
        "SELECT to_jsonb(m) FROM members m WHERE project_id = $1 AND (role = 'owner' OR id = $2) ORDER BY role",
    )
    .bind(project)
    .bind(member_id)
    .fetch_all(&mut *conn)
    .await?;
    let configs = rows(conn, "SELECT to_jsonb(c) FROM configs c WHERE id = $1", config_id).await?;
    let revisions =
        rows(conn, "SELECT to_jsonb(r) - 'id' FROM config_revisions r WHERE config_id = $1", config_id).await?;
    let events: Vec<Json> = sqlx::query_scalar(
        "SELECT to_jsonb(e) - 'pos' - 'seq' - 'id' FROM events e
         WHERE resource_id IN ($1, $2, $3) AND type IN ('project.created', 'member.added', 'config.set')
         ORDER BY type",
    )
    .bind(project.to_string())
    .bind(member_id.to_string())
    .bind(config_id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let seq_null: i64 =
        sqlx::query_scalar("SELECT count(*) FROM events WHERE resource_id IN ($1, $2, $3) AND seq IS NULL")
            .bind(project.to_string())
            .bind(member_id.to_string())
            .bind(config_id.to_string())
            .fetch_one(&mut *conn)
            .await?;
    let everything = json!({
        "projects": project_rows,
        "members": members,
        "configs": configs,
        "config_revisions": revisions,
        "events": events,
        "unnumbered_events": seq_null,
    });
    Ok(shape(&everything, roles))
}

async fn check(conn: &mut PgConnection, core_url: &str, password: &str, s: &Sample) -> anyhow::Result<()> {
    let channel = tonic::transport::Endpoint::from_shared(core_url.to_string())?.connect().await?;
    let auth = pb::auth_service_client::AuthServiceClient::new(channel.clone());
    let projects = pb::project_service_client::ProjectServiceClient::new(channel.clone());
    let members = pb::member_service_client::MemberServiceClient::new(channel.clone());
    let configs = pb::config_service_client::ConfigServiceClient::new(channel.clone());

    // The seeded password hash works for signing in.
    let login = auth
        .clone()
        .login(pb::LoginRequest { email: s.owner_email.clone(), password: password.to_string() })
        .await?
        .into_inner();
    let token = login.tokens.context("no tokens")?.access_token;

    // The same project, made through the API by the same owner.
    let made = projects
        .clone()
        .create_project(req(
            pb::CreateProjectRequest {
                slug: format!("bench-check-{}", Uuid::now_v7().simple()),
                name: "Bench check".into(),
                description: String::new(),
            },
            &token,
        ))
        .await?
        .into_inner()
        .project
        .context("no project")?;
    let made_id: Uuid = made.id.parse()?;
    let role = match s.member.1 {
        MemberRole::Editor => pb::MemberRole::Editor,
        MemberRole::Viewer => pb::MemberRole::Viewer,
        MemberRole::Owner => pb::MemberRole::Owner,
    };
    members
        .clone()
        .add_member(req(
            pb::AddMemberRequest {
                project_id: made.id.clone(),
                user_id: s.member.0.to_string(),
                email: String::new(),
                role: role as i32,
            },
            &token,
        ))
        .await?;
    configs
        .clone()
        .set_config(req(
            pb::SetConfigRequest {
                project_id: made.id.clone(),
                key: s.config.0.clone(),
                value: Some(to_proto(&s.config.1)),
                description: String::new(),
                etag: String::new(),
            },
            &token,
        ))
        .await?;
    // Let the relay number the API's events, as it numbered the seeded ones.
    let deadline = Instant::now() + Duration::from_secs(10);
    while sqlx::query_scalar::<_, i64>("SELECT count(*) FROM events WHERE seq IS NULL").fetch_one(&mut *conn).await? > 0
    {
        ensure!(Instant::now() < deadline, "events of the check project stay unnumbered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut roles = HashMap::from([(s.owner.to_string(), "<owner>")]);
    let seeded = stored(conn, s.project, s.member.0, &s.config.0, &mut roles.clone()).await?;
    let via_api = stored(conn, made_id, s.member.0, &s.config.0, &mut roles).await?;
    if seeded != via_api {
        bail!(
            "seeded rows differ from the rows the API writes:\nseeded: {}\napi:    {}",
            serde_json::to_string_pretty(&seeded)?,
            serde_json::to_string_pretty(&via_api)?
        );
    }

    // And the seeded project reads back through the API like the API-made one.
    let read = |id: String| {
        let (mut projects, mut configs, mut members, token) =
            (projects.clone(), configs.clone(), members.clone(), token.clone());
        async move {
            let p = projects
                .get_project(req(pb::GetProjectRequest { id: id.clone(), slug: String::new() }, &token))
                .await?
                .into_inner()
                .project
                .context("no project")?;
            let c = configs
                .get_effective_config(req(pb::GetEffectiveConfigRequest { project_id: id.clone() }, &token))
                .await?
                .into_inner();
            let m = members
                .list_members(req(pb::ListMembersRequest { project_id: id, ..Default::default() }, &token))
                .await?
                .into_inner();
            anyhow::Ok((p, c, m))
        }
    };
    let (sp, sc, sm) = read(s.project.to_string()).await?;
    let (ap, ac, am) = read(made.id.clone()).await?;
    ensure!(sp.owner_id == ap.owner_id && sp.etag == ap.etag && sp.status == ap.status, "GetProject: {sp:?} vs {ap:?}");
    let key_value =
        |c: &pb::GetEffectiveConfigResponse| c.values.as_ref().and_then(|v| v.fields.get(&s.config.0)).cloned();
    ensure!(key_value(&sc).is_some() && key_value(&sc) == key_value(&ac), "GetEffectiveConfig: {sc:?} vs {ac:?}");
    let role_of = |m: &pb::ListMembersResponse, user: Uuid| {
        m.members.iter().find(|x| x.user_id == user.to_string()).map(|x| x.role)
    };
    ensure!(
        role_of(&sm, s.member.0).is_some() && role_of(&sm, s.member.0) == role_of(&am, s.member.0),
        "ListMembers: {sm:?} vs {am:?}"
    );

    projects.clone().delete_project(req(pb::DeleteProjectRequest { id: made.id, etag: String::new() }, &token)).await?;
    eprintln!("seed: check passed: seeded rows match what the API writes ({} fields compared)", count_leaves(&seeded));
    Ok(())
}

fn count_leaves(v: &Json) -> usize {
    match v {
        Json::Object(o) => o.values().map(count_leaves).sum(),
        Json::Array(a) => a.iter().map(count_leaves).sum(),
        _ => 1,
    }
}
