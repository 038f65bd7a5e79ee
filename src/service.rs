//! The service: the axum server on `CODEXMANAGER_SERVICE_ADDR` with `/health` and `/rpc`
//! (and the gateway routes as they are added), started and stopped by the window, `serve`
//! and the tray alike.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
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
    addr: SocketAddr,
    server: crate::server::Running,
    gateway: std::sync::Arc<crate::gateway::Gateway>,
    grace: Duration,
    background: Vec<JoinHandle<()>>,
}

impl Service {
    /// Binds the configured address and starts serving.
    pub async fn start(core: Core) -> Result<Service, ServiceError> {
        let config = core.config();
        let configured = config.service_addr.clone();
        let addr = resolve(&configured).await?;
        let listener =
            crate::server::bind(addr).map_err(|source| ServiceError::Bind { addr: configured.clone(), source })?;
        let addr = listener.local_addr().map_err(|source| ServiceError::Bind { addr: configured.clone(), source })?;
        if !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "the service listens on a non-loopback address: other machines can reach it, and anyone \
                 holding a platform key can use your accounts"
            );
        }
        let token = rpc::resolve_token(&core).map_err(ServiceError::Token)?;
        let gateway = crate::gateway::Gateway::new(core.clone());
        let background = vec![gateway.spawn_model_refresher()];
        let app = router(core, &gateway, token);
        let limits =
            crate::server::Limits { header_read_timeout: Duration::from_secs(config.header_read_timeout_secs) };
        let server = crate::server::Running::spawn(listener, app, limits, "service");
        tracing::info!(%addr, "service listening");
        Ok(Service { addr, server, gateway, grace: Duration::from_secs(config.shutdown_grace_secs), background })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and lets in-flight requests finish for the grace period
    /// (`CODEXMANAGER_SHUTDOWN_GRACE_SECS`); then the requests still running end with an
    /// error in their protocol (a stream's error event, a 503), each logged.
    pub async fn stop(mut self) {
        for task in self.background.drain(..) {
            task.abort();
        }
        self.server.stop_accepting();
        if self.server.wait(self.grace).await {
            return;
        }
        tracing::warn!("in-flight requests did not finish within {:?}; ending them", self.grace);
        self.gateway.close_requests();
        if !self.server.stop(CLOSE_TIMEOUT).await {
            tracing::warn!("some connections did not close within {CLOSE_TIMEOUT:?}; dropping them");
        }
    }
}

fn router(core: Core, gateway: &std::sync::Arc<crate::gateway::Gateway>, token: std::sync::Arc<str>) -> Router {
    let health_core = core.clone();
    crate::gateway::routes(gateway)
        .route(
            "/health",
            get(move || {
                let core = health_core.clone();
                async move {
                    let snapshot = core.snapshot();
                    axum::Json(json!({
                        "status": "ok",
                        "version": env!("CARGO_PKG_VERSION"),
                        "accounts": snapshot.accounts.len(),
                        "keys": snapshot.keys.len(),
                    }))
                }
            }),
        )
        .route("/rpc", post(rpc::handle).with_state(RpcState { core, token }))
}

/// Resolves `host:port`, preferring an IPv4 address (what `localhost` clients try first).
async fn resolve(addr: &str) -> Result<SocketAddr, ServiceError> {
    let bad = |reason: String| ServiceError::BadAddress { addr: addr.to_string(), reason };
    let candidates: Vec<SocketAddr> = tokio::net::lookup_host(addr).await.map_err(|e| bad(e.to_string()))?.collect();
    candidates
        .iter()
        .find(|a| a.is_ipv4())
        .or(candidates.first())
        .copied()
        .ok_or_else(|| bad("the name resolves to no address".into()))
}
