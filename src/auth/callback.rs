//! The sign-in callback listener: a small HTTP server on `CODEXMANAGER_LOGIN_ADDR` that runs
//! only while one browser sign-in waits. It hands each `GET /auth/callback` to its owner over
//! a channel, waits for the outcome and shows it as a short page. It does not exchange codes
//! or store anything itself.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::sync::{mpsc, oneshot};

use super::login::{CallbackParams, LoginError};

/// One callback the browser delivered, and where to send the outcome: who signed in, or why not.
pub struct CallbackRequest {
    pub params: CallbackParams,
    pub reply: oneshot::Sender<Result<String, LoginError>>,
}

/// A running listener; [`CallbackServer::stop`] closes it.
pub struct CallbackServer {
    addr: SocketAddr,
    server: crate::server::Running,
}

impl CallbackServer {
    /// Binds `addr` (loopback only, unless `allow_non_loopback`) and starts serving.
    pub async fn bind(
        addr: &str,
        allow_non_loopback: bool,
    ) -> Result<(CallbackServer, mpsc::Receiver<CallbackRequest>), LoginError> {
        let socket = resolve(addr, allow_non_loopback).await?;
        let listener = tokio::net::TcpListener::bind(socket).await.map_err(|source| {
            if source.kind() == std::io::ErrorKind::AddrInUse {
                LoginError::PortBusy { addr: addr.to_string() }
            } else {
                LoginError::Bind { addr: addr.to_string(), source }
            }
        })?;
        let bound = listener.local_addr().map_err(|source| LoginError::Bind { addr: addr.to_string(), source })?;
        let (requests, received) = mpsc::channel(8);
        let app = Router::new().route("/auth/callback", get(callback)).with_state(requests);
        let server =
            crate::server::Running::spawn(listener, app, crate::server::Limits::default(), "sign-in callback listener");
        Ok((CallbackServer { addr: bound, server }, received))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops listening, letting a page being sent finish (for at most two seconds).
    pub async fn stop(self) {
        self.server.stop(Duration::from_secs(2)).await;
    }
}

/// Resolves `host:port` and refuses non-loopback addresses unless allowed.
async fn resolve(addr: &str, allow_non_loopback: bool) -> Result<SocketAddr, LoginError> {
    let resolved = crate::listen_addr::resolve(addr)
        .await
        .map_err(|reason| LoginError::BadAddress { addr: addr.to_string(), reason })?;
    if !allow_non_loopback && !resolved.loopback_only {
        return Err(LoginError::NonLoopback { addr: addr.to_string() });
    }
    Ok(resolved.socket)
}

async fn callback(
    State(requests): State<mpsc::Sender<CallbackRequest>>,
    Query(query): Query<Vec<(String, String)>>,
) -> Response {
    let (reply, outcome) = oneshot::channel();
    let request = CallbackRequest { params: CallbackParams::from_pairs(query), reply };
    let gone = "This sign-in is no longer waiting (it finished, expired or was cancelled). Start the sign-in again.";
    if requests.send(request).await.is_err() {
        return page(StatusCode::GONE, "Sign-in not waiting", gone);
    }
    match outcome.await {
        Ok(Ok(who)) => page(
            StatusCode::OK,
            "Signed in",
            &format!("Signed in as {who}. You can close this tab and go back to CodexManager."),
        ),
        Ok(Err(error)) => page(status_of(&error), "Sign-in failed", &error.to_string()),
        Err(_) => page(StatusCode::GONE, "Sign-in not waiting", gone),
    }
}

fn status_of(error: &LoginError) -> StatusCode {
    match error {
        LoginError::StateMismatch | LoginError::NoCode => StatusCode::BAD_REQUEST,
        LoginError::AccessDenied { .. } | LoginError::Authorize { .. } => StatusCode::FORBIDDEN,
        LoginError::Exchange(_) => StatusCode::BAD_GATEWAY,
        LoginError::Expired | LoginError::Cancelled | LoginError::Finished(_) => StatusCode::GONE,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>CodexManager: {title}</title></head>\
         <body style=\"font-family:sans-serif;max-width:40em;margin:4em auto;line-height:1.5\">\
         <h1>{title}</h1><p>{}</p></body></html>",
        escape(message)
    );
    (status, [(header::CONNECTION, "close")], Html(html)).into_response()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn non_loopback_addresses_are_refused_unless_allowed() {
        let refused = resolve("0.0.0.0:0", false).await.unwrap_err();
        assert!(refused.to_string().contains("CODEXMANAGER_ALLOW_NON_LOOPBACK_LOGIN_ADDR"), "{refused}");
        assert!(resolve("0.0.0.0:0", true).await.is_ok());
        assert!(resolve("127.0.0.1:0", false).await.unwrap().ip().is_loopback());
        assert!(matches!(resolve("no port here", false).await, Err(LoginError::BadAddress { .. })));
    }

    #[test]
    fn pages_escape_the_message() {
        assert_eq!(escape("<a href=\"x\">&"), "&lt;a href=&quot;x&quot;&gt;&amp;");
    }
}
