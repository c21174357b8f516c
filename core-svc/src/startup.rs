//! Building and running core-svc: `App::build(config)` connects, migrates, bootstraps the first
//! admin and binds both listeners (port 0 allowed); `run_until(shutdown)` serves until the
//! shutdown future resolves, then drains.

use std::{
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use http::{HeaderName, HeaderValue, Request, Response};
use poem::{
    EndpointExt, IntoResponse, Route, get, handler,
    http::StatusCode,
    web::{Data, Json},
};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tokio::{net::TcpListener, sync::watch};
use tonic_health::ServingStatus;
use tower::{Layer, Service};
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};

use crate::{
    cache::Cache,
    config::Config,
    events,
    grpc::{self, Rpc},
    redis::Redis,
    security::TokenKeys,
    service::Core,
    tasks::TaskConfig,
    telemetry,
};

/// gRPC messages above this are refused (RESOURCE_EXHAUSTED) before decoding.
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

pub struct App {
    core: Core,
    trusted_proxies: Vec<ipnet::IpNet>,
    request_timeout: Duration,
    tasks: Arc<TaskConfig>,
    grpc: TcpListener,
    http: TcpListener,
    shutdown_grace: Duration,
}

impl App {
    #[tracing::instrument(name = "build", skip_all)]
    pub async fn build(config: Config) -> anyhow::Result<Self> {
        // Install the recorder before anything counts, or early samples are lost.
        telemetry::metrics();
        let statement_timeout = format!("{}ms", config.statement_timeout.as_millis());
        let options: PgConnectOptions =
            config.database_url.parse::<PgConnectOptions>().context("DATABASE_URL")?.options([
                ("statement_timeout", statement_timeout.as_str()),
                // A transaction left open by a stuck client holds locks; end it.
                ("idle_in_transaction_session_timeout", "60s"),
            ]);
        let db = connect_with_retry(
            PgPoolOptions::new()
                .max_connections(config.database_max_connections)
                // Long enough for a busy pool, short enough that a request never waits long on a database
                // that went away (after the first failure `follow_database` fails requests at once).
                .acquire_timeout(Duration::from_secs(3)),
            options.clone(),
        )
        .await?;
        // sqlx holds a PostgreSQL advisory lock while migrating, so replicas that start
        // together apply each migration once and the others wait. Migrations (an index on a big
        // table) may take longer than any request: on a connection of their own, without the
        // statement timeout, that is closed afterwards instead of going back to the pool.
        let mut migrating = db.acquire().await.context("connecting to migrate")?.detach();
        sqlx::query("SET statement_timeout = 0").execute(&mut migrating).await?;
        sqlx::migrate!("../migrations").run(&mut migrating).await.context("migrating the database")?;
        drop(migrating);

        let feed = events::Feed::start(&db).await.context("reading the event log")?;
        let redis = Redis::new(&config.redis_url).context("REDIS_URL")?;
        let core = Core {
            feed,
            db,
            cache: Cache::new(redis.clone()),
            task_queue: crate::tasks::queue_key(options.get_database().unwrap_or("platform")).into(),
            redis,
            keys: TokenKeys::new(&config.jwt_secret).with_access_ttl(config.access_token_ttl),
            login_limits: config.login_limits,
            token_limit: config.token_limit,
            webhook_allow_private: config.tasks.webhook_allow_private,
            db_up: Default::default(),
        };
        core.db_up.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some((email, password)) = &config.admin {
            match core.bootstrap_admin(email, password).await {
                Ok(Some(u)) => tracing::info!(user_id = %u.id, email = %u.email, "created the first admin"),
                Ok(None) => tracing::debug!("an admin exists; bootstrap skipped"),
                Err(e) => return Err(anyhow::anyhow!("creating the first admin: {e}")),
            }
        }
        let grpc =
            TcpListener::bind(config.listen_addr).await.with_context(|| format!("binding {}", config.listen_addr))?;
        let http =
            TcpListener::bind(config.metrics_addr).await.with_context(|| format!("binding {}", config.metrics_addr))?;
        Ok(Self {
            core,
            tasks: Arc::new(config.tasks),
            grpc,
            http,
            shutdown_grace: config.shutdown_grace,
            request_timeout: config.request_timeout,
            trusted_proxies: config.trusted_proxies,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.grpc.local_addr().expect("bound listener has an address")
    }

    pub fn metrics_addr(&self) -> SocketAddr {
        self.http.local_addr().expect("bound listener has an address")
    }

    /// The use cases, for in-process tests.
    pub fn core(&self) -> &Core {
        &self.core
    }

    /// Serves gRPC and the HTTP endpoints until `shutdown` resolves, then stops accepting,
    /// lets in-flight calls finish (up to the grace period) and returns.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let App { core, tasks, grpc, http, shutdown_grace, trusted_proxies, request_timeout } = self;
        let (stop_tx, stop_rx) = watch::channel(false);

        let (health, health_service) = tonic_health::server::health_reporter();
        for name in SERVICES {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        health.set_service_status("", ServingStatus::Serving).await;
        let (health_stop, health_stop_rx) = watch::channel(false);
        let health_follower =
            tokio::spawn(follow_database(core.db.clone(), core.db_up.clone(), health.clone(), health_stop_rx));

        let reflection_v1 = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1()?;
        // grpcurl 1.8 only speaks v1alpha.
        let reflection_v1alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .build_v1alpha()?;

        let relay = tokio::spawn(events::run_relay(core.db.clone(), stop_rx.clone()));
        let tailer = tokio::spawn(events::run_tailer(core.db.clone(), core.feed.clone(), stop_rx.clone()));
        let waker = tokio::spawn(events::run_waker(core.db.clone(), core.feed.clone(), stop_rx.clone()));
        let workers = tokio::spawn(crate::tasks::run(core.clone(), tasks, shutdown_grace, stop_rx.clone()));

        let x_request_id = HeaderName::from_static(proto::metadata::REQUEST_ID);
        let routes = grpc::router(Rpc::new(core.clone(), &trusted_proxies), MAX_MESSAGE_BYTES);
        let mut grpc_stop = stop_rx.clone();
        let grpc_server = tonic::transport::Server::builder()
            // The deadline of a call: the client's `grpc-timeout`, at most this. It bounds the
            // answer, not a stream's life: Subscribe returns its stream at once.
            .timeout(request_timeout)
            .layer(SetRequestIdLayer::new(x_request_id.clone(), NewRequestId))
            .layer(PropagateRequestIdLayer::new(x_request_id))
            .layer(GrpcMetricsLayer)
            .add_routes(routes)
            .add_service(health_service)
            .add_service(reflection_v1)
            .add_service(reflection_v1alpha)
            // Without TCP_NODELAY, Nagle's algorithm and delayed ACKs add ~20-40 ms to small
            // unary responses.
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(grpc)
                    .with_nodelay(Some(true))
                    .with_keepalive(Some(Duration::from_secs(60))),
                async move {
                    let _ = grpc_stop.wait_for(|s| *s).await;
                },
            );

        let http_app = Route::new()
            .at("/healthz", get(healthz))
            .at("/readyz", get(readyz))
            .at("/metrics", get(metrics))
            .data(core.clone());
        let mut http_stop = stop_rx.clone();
        let http_server = poem::Server::new_with_acceptor(poem::listener::TcpAcceptor::from_tokio(http)?)
            .run_with_graceful_shutdown(
                http_app,
                async move {
                    let _ = http_stop.wait_for(|s| *s).await;
                },
                Some(shutdown_grace),
            );

        let grpc_task = tokio::spawn(grpc_server);
        let http_task = tokio::spawn(http_server);
        shutdown.await;
        tracing::info!("shutdown requested: draining");
        let _ = health_stop.send(true);
        let _ = health_follower.await;
        health.set_service_status("", ServingStatus::NotServing).await;
        for name in SERVICES {
            health.set_service_status(*name, ServingStatus::NotServing).await;
        }
        let _ = stop_tx.send(true);
        // Subscription streams never end by themselves; end them (UNAVAILABLE, so clients
        // resume elsewhere) or the drain would wait out the whole grace period.
        core.feed.stop();
        match tokio::time::timeout(shutdown_grace, grpc_task).await {
            Ok(r) => r??,
            Err(_) => tracing::warn!("in-flight gRPC calls outlived the grace period"),
        }
        let _ = http_task.await;
        let _ = relay.await;
        let _ = tailer.await;
        let _ = waker.await;
        // Workers finish their attempt within the grace period or hand it back.
        let _ = workers.await;
        core.db.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}

/// Keeps the gRPC health status in step with PostgreSQL: NOT_SERVING while it does not answer,
/// so that the edges' readiness (which asks core-svc's health) and any load balancer follow an
/// outage of the database, not only of this process; and `Core::db_up`, so that requests fail
/// fast meanwhile. Redis being down is not an outage.
async fn follow_database(
    db: sqlx::PgPool,
    db_up: Arc<std::sync::atomic::AtomicBool>,
    health: tonic_health::server::HealthReporter,
    mut stop: watch::Receiver<bool>,
) {
    let mut serving = true;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let up = matches!(
            tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(&db)).await,
            Ok(Ok(_))
        );
        db_up.store(up, std::sync::atomic::Ordering::Relaxed);
        if up != serving {
            serving = up;
            let status = if up { ServingStatus::Serving } else { ServingStatus::NotServing };
            tracing::warn!(database_up = up, "serving status follows the database");
            health.set_service_status("", status).await;
            for name in SERVICES {
                health.set_service_status(*name, status).await;
            }
        }
    }
}

/// Fully-qualified names of the platform services, for the health protocol.
const SERVICES: &[&str] = &[
    "platform.v1.AuthService",
    "platform.v1.UserService",
    "platform.v1.ProjectService",
    "platform.v1.MemberService",
    "platform.v1.ConfigService",
    "platform.v1.SettingService",
    "platform.v1.EventService",
    "platform.v1.TaskService",
    "platform.v1.WebhookService",
];

/// PostgreSQL may still be starting when core-svc does (the dev runner, a fresh container):
/// retry for a while instead of failing the first time.
async fn connect_with_retry(pool: PgPoolOptions, options: PgConnectOptions) -> anyhow::Result<sqlx::PgPool> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match pool.clone().connect_with(options.clone()).await {
            Ok(p) => return Ok(p),
            Err(e) if Instant::now() < deadline => {
                tracing::warn!(error = %e, "database not reachable yet; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e).context("connecting to the database"),
        }
    }
}

#[handler]
fn healthz() -> &'static str {
    "ok"
}

/// Ready when PostgreSQL answers. Redis is an accelerator: when it is down the service still
/// works (degraded), so it is reported but does not make the replica unready.
#[handler]
async fn readyz(Data(core): Data<&Core>) -> poem::Response {
    let db = match tokio::time::timeout(Duration::from_secs(2), sqlx::query("SELECT 1").execute(&core.db)).await {
        Ok(Ok(_)) => "ok".to_string(),
        Ok(Err(e)) => format!("error: {e}"),
        Err(_) => "error: timeout".to_string(),
    };
    let redis = match core.redis.ping().await {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("error: {e}"),
    };
    ::metrics::gauge!("core_redis_up").set(if redis == "ok" { 1.0 } else { 0.0 });
    let ready = db == "ok";
    let status = match (ready, redis == "ok") {
        (true, true) => "ready",
        (true, false) => "degraded",
        _ => "unavailable",
    };
    let body = Json(serde_json::json!({ "status": status, "checks": { "postgres": db, "redis": redis } }));
    let code = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    body.with_status(code).into_response()
}

#[handler]
fn metrics() -> String {
    telemetry::metrics().render()
}

/// Request ids are UUIDv7: unique without coordination, and sortable by time in logs.
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()).ok().map(RequestId::new)
    }
}

/// Counts gRPC calls and their latency per method and status (`core_grpc_*` metrics), and
/// logs each call with its request id.
#[derive(Clone, Copy)]
struct GrpcMetricsLayer;

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;
    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

#[derive(Clone)]
struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B, RB> Service<Request<B>> for GrpcMetrics<S>
where
    S: Service<Request<B>, Response = Response<RB>> + Send,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let method = telemetry::grpc_method_label(req.uri().path());
        let request_id =
            req.headers().get(proto::metadata::REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let started = Instant::now();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await;
            let elapsed = started.elapsed();
            // Errors produced by our handlers come back as "trailers-only" responses, with
            // grpc-status in the headers; a missing header means the call succeeded (the
            // status travels in trailers after the body).
            let code = match &res {
                Ok(r) => r.headers().get("grpc-status").and_then(|v| v.to_str().ok()).unwrap_or("0").to_string(),
                Err(_) => "transport".to_string(),
            };
            ::metrics::counter!("core_grpc_requests_total", "method" => method, "code" => code.clone()).increment(1);
            ::metrics::histogram!("core_grpc_request_duration_seconds", "method" => method)
                .record(elapsed.as_secs_f64());
            tracing::info!(method = %method, code = %code, request_id = %request_id, elapsed_ms = elapsed.as_millis() as u64, "grpc call");
            res
        })
    }
}
