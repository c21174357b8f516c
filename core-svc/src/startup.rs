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
        let options: PgConnectOptions = config.database_url.parse().context("DATABASE_URL")?;
        let db = connect_with_retry(
            PgPoolOptions::new()
                .max_connections(config.database_max_connections)
                .acquire_timeout(Duration::from_secs(5)),
            options.clone(),
        )
        .await?;
        // sqlx holds a PostgreSQL advisory lock while migrating, so replicas that start
        // together apply each migration once and the others wait.
        sqlx::migrate!("../migrations").run(&db).await.context("migrating the database")?;

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
        };
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
        Ok(Self { core, tasks: Arc::new(config.tasks), grpc, http, shutdown_grace: config.shutdown_grace })
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
        let App { core, tasks, grpc, http, shutdown_grace } = self;
        let (stop_tx, stop_rx) = watch::channel(false);

        let (health, health_service) = tonic_health::server::health_reporter();
        for name in SERVICES {
            health.set_service_status(*name, ServingStatus::Serving).await;
        }
        health.set_service_status("", ServingStatus::Serving).await;

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
        let routes = grpc::router(Rpc::new(core.clone()), MAX_MESSAGE_BYTES);
        let mut grpc_stop = stop_rx.clone();
        let grpc_server = tonic::transport::Server::builder()
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
        let method: Arc<str> = req.uri().path().into();
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
            ::metrics::counter!("core_grpc_requests_total", "method" => method.to_string(), "code" => code.clone())
                .increment(1);
            ::metrics::histogram!("core_grpc_request_duration_seconds", "method" => method.to_string())
                .record(elapsed.as_secs_f64());
            tracing::info!(method = %method, code = %code, request_id = %request_id, elapsed_ms = elapsed.as_millis() as u64, "grpc call");
            res
        })
    }
}
