//! The HTTP API (axum): heavy hitters, item frequency, snapshots, windows, HTTP ingest,
//! health, Prometheus metrics, the OpenAPI document and the browser dashboard.

mod error;
mod ingest;
mod openapi;
mod query;
mod respond;

pub use error::ApiError;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::service::{Health, Shared};

/// Settings of the HTTP server.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Address to bind; `127.0.0.1:8080` by default.
    pub bind: SocketAddr,
    /// Bearer token required on every route but `/healthz`, when set.
    pub token: Option<String>,
    /// Folder of the browser dashboard served at `/`.
    pub dashboard: PathBuf,
    /// Largest accepted body of `POST /api/v1/events`, in bytes.
    pub max_body_bytes: usize,
    /// Maximum wait of a `min_offset` query.
    pub max_wait: Duration,
}

struct AppState {
    shared: Arc<Shared>,
    config: ApiConfig,
    metrics: PrometheusHandle,
}

/// Installs the Prometheus recorder once per process and returns its handle.
///
/// # Errors
///
/// When another global `metrics` recorder was installed first.
pub fn metrics_handle() -> anyhow::Result<PrometheusHandle> {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|error| anyhow::anyhow!("failed to install the Prometheus recorder: {error}"))?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Builds the router over a running service.
///
/// # Errors
///
/// When the metrics recorder cannot be installed.
pub fn router(shared: Arc<Shared>, config: ApiConfig) -> anyhow::Result<Router> {
    let state = Arc::new(AppState {
        metrics: metrics_handle()?,
        shared,
        config,
    });

    let mut protected = Router::new()
        .route("/api/v1/heavy-hitters", get(query::heavy_hitters))
        .route("/api/v1/items/{item}/frequency", get(query::frequency))
        .route("/api/v1/snapshots", get(query::snapshots))
        .route("/api/v1/windows", get(query::windows))
        .route("/api/v1/events", post(ingest::events))
        .route("/api/v1/openapi.json", get(openapi::document))
        .route("/metrics", get(metrics));

    let dashboard = state.config.dashboard.clone();
    if dashboard.join("index.html").is_file() {
        protected = protected.fallback_service(tower_http::services::ServeDir::new(dashboard));
    } else {
        tracing::warn!(folder = %dashboard.display(), "dashboard folder has no index.html; serving a placeholder page at /");
        protected = protected.route("/", get(placeholder)).fallback(not_found);
    }
    // `layer`, not `route_layer`, so the token also guards the dashboard fallback.
    let protected = protected.layer(middleware::from_fn_with_state(state.clone(), authorize));

    let router = Router::new()
        .route("/healthz", get(healthz))
        .merge(protected)
        .layer(axum::extract::DefaultBodyLimit::max(
            state.config.max_body_bytes,
        ))
        .with_state(state);
    Ok(router)
}

/// Binds the listener and serves the API until `shutdown` completes. Returns the bound address
/// (useful with port 0) and the server task.
///
/// # Errors
///
/// When the address cannot be bound.
pub async fn serve(
    shared: Arc<Shared>,
    config: ApiConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .map_err(|error| {
            anyhow::anyhow!(
                "failed to bind {}: {error}; choose another --bind address or port",
                config.bind
            )
        })?;
    let address = listener.local_addr()?;
    let router = router(shared, config)?;
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
    });
    Ok((address, task))
}

async fn authorize(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(token) = &state.config.token else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if presented.is_some_and(|presented| constant_time_eq(presented.as_bytes(), token.as_bytes())) {
        next.run(request).await
    } else {
        ApiError::unauthorized().into_response()
    }
}

fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len()
        && left
            .iter()
            .zip(right)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    let health = state.shared.health();
    let status = match health {
        Health::Running | Health::Starting | Health::Stopped => axum::http::StatusCode::OK,
        Health::Degraded { .. } => axum::http::StatusCode::SERVICE_UNAVAILABLE,
    };
    let body = serde_json::json!({ "ingest": health, "version": state.shared.current().version });
    (status, Json(body)).into_response()
}

async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    let body = state.metrics.render();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

async fn placeholder() -> Html<&'static str> {
    Html(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>topk</title></head><body>\
         <h1>topk</h1><p>The dashboard files were not found. Build them into js/dashboard or pass \
         <code>--dashboard DIR</code>.</p><p>API: <a href=\"/api/v1/heavy-hitters?k=10\">/api/v1/heavy-hitters?k=10</a>, \
         <a href=\"/api/v1/windows\">/api/v1/windows</a>, <a href=\"/api/v1/openapi.json\">/api/v1/openapi.json</a>.</p></body></html>",
    )
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}; see /api/v1/openapi.json",
        request.method(),
        request.uri().path()
    ))
}
