//! The service: the axum server on `CODEXMANAGER_SERVICE_ADDR` with `/health` and `/rpc`
//! (and the gateway routes as they are added), started and stopped by the window, `serve`
//! and the tray alike.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde_json::json;
use tokio::task::JoinHandle;

use crate::core::Core;
use crate::rpc::{self, RpcState};

/// How long a stop waits for in-flight requests before closing them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

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
    background: Vec<JoinHandle<()>>,
}

impl Service {
    /// Binds the configured address and starts serving.
    pub async fn start(core: Core) -> Result<Service, ServiceError> {
        let configured = core.config().service_addr.clone();
        let addr = resolve(&configured).await?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ServiceError::Bind { addr: configured.clone(), source })?;
        let addr = listener.local_addr().map_err(|source| ServiceError::Bind { addr: configured.clone(), source })?;
        if !addr.ip().is_loopback() {
            tracing::warn!(
                %addr,
                "the service listens on a non-loopback address: other machines can reach it, and anyone \
                 holding a platform key can use your accounts"
            );
        }
        // Streams go out event by event in small writes; with Nagle's algorithm on, each
        // write after the first waits for the client's (delayed, up to 40 ms) acknowledgement.
        let listener = listener.tap_io(|tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!("cannot set TCP_NODELAY on a client connection: {err}");
            }
        });
        let token = rpc::resolve_token(&core).map_err(ServiceError::Token)?;
        let gateway = crate::gateway::Gateway::new(core.clone());
        let background = vec![gateway.spawn_model_refresher()];
        let app = router(core, &gateway, token);
        let server = crate::server::Running::spawn(listener, app, "service");
        tracing::info!(%addr, "service listening");
        Ok(Service { addr, server, background })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits (up to 30 s) for in-flight requests to finish.
    pub async fn stop(mut self) {
        for task in self.background.drain(..) {
            task.abort();
        }
        if !self.server.stop(DRAIN_TIMEOUT).await {
            tracing::warn!("in-flight requests did not finish within {DRAIN_TIMEOUT:?}; closing them");
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
