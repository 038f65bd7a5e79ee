//! The gateway: the OpenAI, Anthropic and Azure OpenAI front doors onto the account pool.
//!
//! Where a change belongs: `pipeline` is the path every pooled request takes (intake,
//! translation, preparation, answer); `keys` checks platform keys; `body` reads request bodies;
//! `routing` orders accounts; `dispatch` sends with failover; `upstream` builds upstream
//! requests; `openai`, `anthropic` and `azure` are the front doors and the Azure upstream;
//! `socket` serves `/v1/responses` over WebSocket; `model_map` picks the Codex model; `stream` answers streaming and non-streaming clients;
//! `protocol/` translates
//! shapes and nothing else; `record`, `trace` and `metrics` observe. Nothing here touches
//! SQLite or the keyring: state comes from the core's in-memory pool and key table, and log
//! rows go to the core's writer queue.

mod anthropic;
mod azure;
mod body;
mod dispatch;
pub mod errors;
mod handlers;
mod keys;
mod metrics;
mod model_map;
mod openai;
mod pipeline;
pub mod protocol;
pub use handlers::metrics;
mod record;
mod routing;
mod socket;
pub mod sse;
mod stream;
mod trace;
mod upstream;

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::routing::{get, post};

use crate::core::Core;

/// Everything the request handlers share.
pub struct Gateway {
    core: Core,
    router: routing::Router,
    trace: trace::Trace,
    metrics: metrics::Metrics,
    /// The upstream as the current configuration describes it, rebuilt when that changes.
    upstream: arc_swap::ArcSwap<upstream::Upstream>,
    /// Requests admitted and not finished (`CODEXMANAGER_MAX_CONCURRENT_REQUESTS`).
    admitted: Arc<std::sync::atomic::AtomicUsize>,
    next_id: AtomicU64,
    /// Becomes true when the service stops and its grace period is over: every request still
    /// running ends now, streams with their protocol's error event, others with a 503.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Gateway {
    pub fn new(core: Core) -> Arc<Gateway> {
        let config = core.config();
        Arc::new(Gateway {
            router: routing::Router::default(),
            trace: trace::Trace::spawn(config.paths.trace_file()),
            metrics: metrics::Metrics::default(),
            upstream: arc_swap::ArcSwap::from_pointee(upstream::Upstream::from_config(&config)),
            admitted: Arc::default(),
            next_id: AtomicU64::new(1),
            closing: tokio::sync::watch::Sender::new(false),
            core,
        })
    }

    /// Waits until the trace lines written so far are on disk.
    pub async fn flush_trace(&self) {
        self.trace.flush().await;
    }

    /// Ends every request still running: streams get their protocol's error event, waiting
    /// requests a 503; each is logged as usual.
    pub fn close_requests(&self) {
        self.closing.send_replace(true);
    }

    /// The upstream (base URL, fallback, cookie) of the configuration in force now: a
    /// setting changed over RPC or in the window applies to the next request.
    fn upstream(&self) -> Arc<upstream::Upstream> {
        let config = self.core.config();
        let current = self.upstream.load_full();
        if current.is_of(&config) {
            return current;
        }
        let fresh = Arc::new(upstream::Upstream::from_config(&config));
        self.upstream.store(fresh.clone());
        fresh
    }

    /// Keeps the model cache fresh: fetched shortly after start, then on every tick of the
    /// core's keepalive (`CODEXMANAGER_GATEWAY_KEEPALIVE_INTERVAL_SECS`). `/v1/models` never
    /// waits for this; it fetches at once only when the cache is empty.
    pub fn spawn_model_refresher(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let gateway = self.clone();
        let mut keepalive = self.core.subscribe_keepalive();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            loop {
                if let Err(error) = gateway.refresh_models().await {
                    tracing::debug!("background model list refresh skipped: {}", error.message);
                }
                if keepalive.changed().await.is_err() {
                    return;
                }
            }
        })
    }
}

/// The gateway's routes, to be merged into the service's router.
pub fn routes(gateway: &Arc<Gateway>) -> Router {
    Router::new()
        .route("/v1/responses", post(openai::responses).get(socket::responses))
        .route("/v1/responses/compact", post(openai::compact))
        .route("/openai/v1/responses/compact", post(openai::compact))
        .route("/openai/responses/compact", post(openai::compact))
        .route("/backend-api/codex/responses/compact", post(openai::compact))
        .route("/backend-api/codex/responses", post(openai::responses).get(socket::responses))
        .route("/v1/chat/completions", post(openai::chat_completions))
        .route("/v1/messages", post(anthropic::messages))
        .route("/v1/messages/count_tokens", post(anthropic::count_tokens))
        .route("/v1/models", get(handlers::models))
        .route("/openai/deployments/{deployment}/chat/completions", post(openai::chat_completions))
        .route("/openai/deployments/{deployment}/responses", post(openai::responses))
        .route("/openai/responses", post(openai::responses))
        .route("/openai/v1/responses", post(openai::responses).get(socket::responses))
        .route("/openai/v1/chat/completions", post(openai::chat_completions))
        .route("/openai/v1/models", get(handlers::models))
        .route("/api/codex/usage", get(handlers::pool_usage))
        .route("/backend-api/wham/usage", get(handlers::pool_usage))
        .layer(axum::middleware::from_fn(handlers::request_id))
        .with_state(gateway.clone())
}
