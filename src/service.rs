//! The service: the axum server on each address of `CODEXMANAGER_SERVICE_ADDR` with the
//! gateway's routes, `/health`, `/metrics` and `/rpc`, started and stopped by the window,
//! `serve` and the tray alike. `/rpc` and `/metrics` answer only this machine unless
//! `CODEXMANAGER_RPC_ALLOW_REMOTE=1`; `/health` tells others only that the service is up.

use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;
use tokio::task::JoinHandle;

use crate::core::Core;
use crate::rpc::{self, RpcState};

/// How long requests ended at the end of the grace period get to write their last bytes.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("`{addr}` is not a valid listen address (host:port): {reason}. Fix CODEXMANAGER_SERVICE_ADDR")]
    BadAddress { addr: String, reason: String },
    #[error(
        "cannot listen on {addr}: {source}. Another program (or another CodexManager) is probably using \
         it; set CODEXMANAGER_SERVICE_ADDR to a free address such as localhost:48761"
    )]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot write the RPC token file: {0}")]
    Token(std::io::Error),
}

/// A running service; dropping it without [`Service::stop`] leaves it running.
pub struct Service {
    addrs: Vec<SocketAddr>,
    servers: Vec<crate::server::Running>,
    gateway: Arc<crate::gateway::Gateway>,
    grace: Duration,
    background: Vec<JoinHandle<()>>,
}

impl Service {
    /// Binds every configured address (`CODEXMANAGER_SERVICE_ADDR`, comma-separated) and
    /// starts serving on all of them.
    pub async fn start(core: Core) -> Result<Service, ServiceError> {
        let config = core.config();
        let mut listeners = Vec::new();
        for configured in config.service_addr.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            let addr = crate::listen_addr::resolve(configured)
                .await
                .map_err(|reason| ServiceError::BadAddress { addr: configured.to_string(), reason })?
                .socket;
            let bind_error = |source| ServiceError::Bind { addr: configured.to_string(), source };
            let listener = crate::server::bind(addr).map_err(bind_error)?;
            listeners.push((listener.local_addr().map_err(bind_error)?, listener));
        }
        if listeners.is_empty() {
            let reason = "no address given".to_string();
            return Err(ServiceError::BadAddress { addr: config.service_addr.clone(), reason });
        }
        let token = rpc::resolve_token(&core).map_err(ServiceError::Token)?;
        let gateway = crate::gateway::Gateway::new(core.clone());
        let background = vec![gateway.spawn_model_refresher()];
        // The tokenizer's vocabulary loads once, off the request path.
        tokio::task::spawn_blocking(crate::gateway::protocol::anthropic::warm_up);
        let app = router(core, &gateway, token);
        let limits =
            crate::server::Limits { header_read_timeout: Duration::from_secs(config.header_read_timeout_secs) };
        let mut addrs = Vec::new();
        let mut servers = Vec::new();
        for (addr, listener) in listeners {
            if !addr.ip().is_loopback() {
                tracing::warn!(
                    %addr,
                    "the service listens on a non-loopback address: other machines can reach the gateway (every \
                     route needs a platform key); /rpc and /metrics answer only this machine unless \
                     CODEXMANAGER_RPC_ALLOW_REMOTE=1"
                );
            }
            servers.push(crate::server::Running::spawn(listener, app.clone(), limits, "service"));
            tracing::info!(%addr, "service listening");
            addrs.push(addr);
        }
        Ok(Service { addrs, servers, gateway, grace: Duration::from_secs(config.shutdown_grace_secs), background })
    }

    /// The first address the service listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every address the service listens on.
    pub fn addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// Stops accepting connections and lets in-flight requests finish for the grace period
    /// (`CODEXMANAGER_SHUTDOWN_GRACE_SECS`); then the requests still running end with an
    /// error in their protocol (a stream's error event, a 503), each logged.
    pub async fn stop(mut self) {
        for task in self.background.drain(..) {
            task.abort();
        }
        for server in &mut self.servers {
            server.stop_accepting();
        }
        let deadline = tokio::time::Instant::now() + self.grace;
        let mut finished = true;
        for server in &mut self.servers {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            finished &= server.wait(left).await;
        }
        if !finished {
            tracing::warn!("in-flight requests did not finish within {:?}; ending them", self.grace);
            self.gateway.close_requests();
            for server in self.servers {
                if !server.stop(CLOSE_TIMEOUT).await {
                    tracing::warn!("some connections did not close within {CLOSE_TIMEOUT:?}; dropping them");
                }
            }
        }
        self.gateway.flush_trace().await;
    }

    /// Waits until the gateway's trace lines written so far are on disk.
    pub async fn flush_trace(&self) {
        self.gateway.flush_trace().await;
    }
}

/// What `/rpc`, `/metrics` and `/health` need to tell this machine from others.
#[derive(Clone)]
struct Operators {
    core: Core,
    token: Arc<str>,
}

fn router(core: Core, gateway: &Arc<crate::gateway::Gateway>, token: Arc<str>) -> Router {
    let operators = Operators { core: core.clone(), token: token.clone() };
    let restricted = Router::new()
        .route("/rpc", post(rpc::handle).with_state(RpcState { core, gateway: gateway.clone(), token }))
        .route("/metrics", get(crate::gateway::metrics).with_state(gateway.clone()))
        .route_layer(axum::middleware::from_fn_with_state(operators.clone(), this_machine_only));
    crate::gateway::routes(gateway).route("/health", get(health).with_state(operators)).merge(restricted)
}

/// `/health`: the whole picture for this machine, only that it is up for others.
async fn health(State(operators): State<Operators>, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    if !peer.ip().is_loopback() {
        return axum::Json(json!({"status": "ok"})).into_response();
    }
    let snapshot = operators.core.snapshot();
    axum::Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "accounts": snapshot.accounts.len(),
        "keys": snapshot.keys.len(),
    }))
    .into_response()
}

/// `/rpc` and `/metrics` answer callers on this machine; others only with
/// `CODEXMANAGER_RPC_ALLOW_REMOTE=1`, and then `/metrics` too wants the RPC token (`/rpc`
/// checks it itself).
async fn this_machine_only(
    State(operators): State<Operators>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
    next: Next,
) -> Response {
    if peer.ip().is_loopback() {
        return next.run(request).await;
    }
    if !operators.core.config().rpc_allow_remote {
        let body = json!({"error": {"code": "forbidden", "message": format!(
            "{} answers only callers on the machine CodexManager runs on; set CODEXMANAGER_RPC_ALLOW_REMOTE=1 \
             there to allow others (they then need the RPC token)",
            request.uri().path()
        )}});
        return (StatusCode::FORBIDDEN, axum::Json(body)).into_response();
    }
    if request.uri().path() == "/metrics" && !rpc::has_token(request.headers(), &operators.token) {
        let body = json!({"error": {"code": "unauthorized", "message":
            "/metrics from another machine needs the RPC token (X-CodexManager-Rpc-Token or Authorization: Bearer)"}});
        return (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    }
    next.run(request).await
}
