//! An axum server spawned on the runtime that stops gracefully: the service and the sign-in
//! callback listener both run one.

use std::time::Duration;

use axum::Router;
use axum::serve::Listener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server; [`Running::stop`] ends it.
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Serves `app` on `listener` until stopped; `name` goes into the error log line.
    pub fn spawn<L>(listener: L, app: Router, name: &'static str) -> Running
    where
        L: Listener,
        L::Addr: std::fmt::Debug,
    {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = server.await {
                tracing::error!("the {name} stopped with an error: {err}");
            }
        });
        Running { stop: Some(stop), task }
    }

    /// Stops accepting connections and waits up to `drain` for open requests; true when they
    /// finished in time (else they are closed).
    pub async fn stop(mut self, drain: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if tokio::time::timeout(drain, &mut self.task).await.is_err() {
            self.task.abort();
            return false;
        }
        true
    }
}
