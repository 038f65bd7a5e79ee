//! An axum app served on the runtime, stopping gracefully: the service and the sign-in
//! callback listener both run one.
//!
//! The accept loop is hyper's own (not `axum::serve`) so that it can hold what a server
//! facing many clients needs: a time limit on reading a request's headers (a client sending
//! a byte a second cannot hold a connection), a listen backlog of 4,096, TCP_NODELAY,
//! HTTP/1.1 upgrades (WebSocket) and each request's peer address
//! (`axum::extract::ConnectInfo<SocketAddr>`). Also reading a request body with a size cap
//! ([`read_body`]), the same for every front door.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How much more of a too-large body is read (and dropped) before the refusal goes out.
const DRAIN_BYTES: usize = 64 * 1024 * 1024;
/// How long that may take.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// A request body was larger than the cap.
#[derive(Debug, thiserror::Error)]
#[error("the request body is larger than {limit} bytes")]
pub struct BodyTooLarge {
    pub limit: usize,
}

/// Reads a request body of at most `limit` bytes. The rest of a larger one is read on and
/// dropped (up to 64 MiB more, for at most 5 s) before the caller answers, so a client still
/// sending it gets the refusal instead of a connection reset under its feet. A body that
/// breaks off counts as what arrived.
pub async fn read_body(body: axum::body::Body, limit: usize) -> Result<bytes::Bytes, BodyTooLarge> {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut collected = bytes::BytesMut::new();
    while let Some(Ok(chunk)) = stream.next().await {
        if collected.len() + chunk.len() > limit {
            let drained = async {
                let mut dropped = 0;
                while dropped < DRAIN_BYTES {
                    match stream.next().await {
                        Some(Ok(chunk)) => dropped += chunk.len(),
                        _ => break,
                    }
                }
            };
            let _ = tokio::time::timeout(DRAIN_TIME, drained).await;
            return Err(BodyTooLarge { limit });
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(collected.freeze())
}

/// Connections waiting to be accepted at most (the kernel may cap it lower).
const BACKLOG: u32 = 4096;

/// Binds `addr` with the server's backlog.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    #[cfg(not(windows))]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(BACKLOG)
}

/// How a server treats its connections.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The longest a client may take to send a request's headers.
    pub header_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { header_read_timeout: Duration::from_secs(30) }
    }
}

/// A running server; [`Running::stop`] ends it.
pub struct Running {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
}

impl Running {
    /// Serves `app` on `listener` until stopped; `name` goes into the log lines.
    pub fn spawn(listener: TcpListener, app: Router, limits: Limits, name: &'static str) -> Running {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(serve(listener, app, limits, name, stopped));
        Running { stop: Some(stop), task }
    }

    /// Stops accepting connections and waits up to `drain` for open requests; true when they
    /// finished in time (else they are closed).
    pub async fn stop(mut self, drain: Duration) -> bool {
        self.stop_accepting();
        let finished = self.wait(drain).await;
        if !finished {
            self.task.abort();
        }
        finished
    }

    /// Stops accepting connections; open ones go on until they finish.
    pub fn stop_accepting(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Waits up to `drain` for the open connections to finish; true when they did.
    pub async fn wait(&mut self, drain: Duration) -> bool {
        tokio::time::timeout(drain, &mut self.task).await.is_ok()
    }
}

async fn serve(listener: TcpListener, app: Router, limits: Limits, name: &'static str, stopped: oneshot::Receiver<()>) {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(stopped);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!("the {name} cannot accept a connection: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        if let Err(err) = stream.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY on a client connection: {err}");
        }
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let mut app = app.clone();
            async move { tower_service::Service::call(&mut app, request.map(axum::body::Body::new)).await }
        });
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%peer, "a client connection ended with an error: {err}");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
}
