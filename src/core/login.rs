//! Sign-ins in progress: starting one (browser with the callback listener, pasted callback,
//! or device code), its status for the window to poll, completing it from the listener or
//! from a pasted address, cancelling it, and its expiry after 15 minutes. A completed sign-in
//! is stored like an import (`Core::store_signed_in`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::{Core, CoreError};
use crate::auth::callback::{CallbackRequest, CallbackServer};
use crate::auth::device::{self, DeviceCode, DevicePoll};
use crate::auth::login::{AuthorizeRequest, CallbackParams, LOGIN_TTL, LoginError, exchange_code};
use crate::auth::pkce::{Pkce, new_state};
use crate::auth::tokens::Tokens;
use crate::egress::AccountProxy;
use crate::store::now_secs;

/// Finished sign-ins stay visible to `login_status` this long after they would have expired.
const KEEP_FINISHED: Duration = Duration::from_secs(60 * 60);

/// Which sign-in to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginKind {
    /// Browser sign-in with the callback listener; the browser is opened when asked.
    Browser { open_browser: bool },
    /// Browser sign-in without a listener: the person pastes the address the browser ended on
    /// (a remote machine, or the port is taken).
    Manual,
    /// Device code, for machines without a browser.
    Device,
}

/// What the person needs to sign in.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginTicket {
    pub login_id: String,
    /// The address to open (the authorize URL, or the device page).
    pub auth_url: String,
    pub redirect_uri: String,
    pub device: Option<DevicePrompt>,
    /// Unix seconds after which the sign-in expires.
    pub expires_at: i64,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DevicePrompt {
    pub user_code: String,
    pub verification_uri: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginState {
    Pending,
    Completed,
    Failed,
    Expired,
    Cancelled,
}

/// Where a sign-in stands. While pending, `error` holds the last problem (e.g. a callback
/// with the wrong state) that did not end it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LoginStatus {
    pub status: LoginState,
    pub error: Option<String>,
    pub account_id: Option<String>,
}

/// The secrets of a browser sign-in.
struct PkceFlow {
    verifier: String,
    state: String,
    redirect_uri: String,
}

/// How a sign-in is made, beyond its kind.
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    /// The proxy the sign-in's calls go through; it stays attached to the account.
    pub proxy: AccountProxy,
    /// Only an account of these ChatGPT workspaces (comma-separated ids) may sign in: the
    /// issuer is asked to offer only them (`allowed_workspace_id`) and the tokens are checked.
    pub workspace: Option<String>,
    /// What the account is stored with besides its tokens.
    pub profile: LoginProfile,
}

/// A signed-in account's group, tags and note (the original's `groupName`, `tags` and `note`
/// at sign-in). Absent fields leave an existing account's values as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginProfile {
    pub group: Option<String>,
    pub tags: Option<Vec<String>>,
    pub note: Option<String>,
}

struct Login {
    /// `None` for a device-code sign-in.
    pkce: Option<PkceFlow>,
    /// The proxy the token exchange goes through; it stays attached to the account.
    proxy: AccountProxy,
    /// The workspaces the account must belong to, when restricted.
    workspace: Option<String>,
    /// Group, tags and note the account is stored with.
    profile: LoginProfile,
    listens: bool,
    deadline: Instant,
    status: watch::Sender<LoginStatus>,
    /// Serialises completions (listener and paste may race).
    finishing: tokio::sync::Mutex<()>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Login {
    fn status(&self) -> LoginStatus {
        self.status.borrow().clone()
    }

    fn is_pending(&self) -> bool {
        self.status.borrow().status == LoginState::Pending
    }

    /// Ends a pending sign-in; a finished one stays as it is.
    fn finish(&self, state: LoginState, error: Option<String>, account_id: Option<String>) {
        self.status.send_if_modified(|status| {
            let pending = status.status == LoginState::Pending;
            if pending {
                *status = LoginStatus { status: state, error, account_id };
            }
            pending
        });
    }

    fn fail(&self, error: &LoginError) {
        let state = match error {
            LoginError::Expired => LoginState::Expired,
            LoginError::Cancelled => LoginState::Cancelled,
            _ => LoginState::Failed,
        };
        self.finish(state, Some(error.to_string()), None);
    }

    /// Records a problem that leaves the sign-in waiting.
    fn note(&self, error: &LoginError) {
        self.status.send_if_modified(|status| {
            let pending = status.status == LoginState::Pending;
            if pending {
                status.error = Some(error.to_string());
            }
            pending
        });
    }

    /// Refuses to complete a sign-in that is over, marking it expired when its time is up.
    fn check_open(&self) -> Result<(), LoginError> {
        if self.is_pending() && Instant::now() >= self.deadline {
            self.fail(&LoginError::Expired);
        }
        match self.status.borrow().status {
            LoginState::Pending => Ok(()),
            LoginState::Expired => Err(LoginError::Expired),
            LoginState::Cancelled => Err(LoginError::Cancelled),
            LoginState::Completed => Err(LoginError::Finished("completed")),
            LoginState::Failed => Err(LoginError::Finished("failed")),
        }
    }
}

/// The sign-ins this process knows, by id.
pub(super) struct Logins {
    map: Mutex<HashMap<String, Arc<Login>>>,
    ttl_ms: AtomicU64,
}

impl Default for Logins {
    fn default() -> Self {
        Logins { map: Mutex::default(), ttl_ms: AtomicU64::new(LOGIN_TTL.as_millis() as u64) }
    }
}

impl Logins {
    fn ttl(&self) -> Duration {
        Duration::from_millis(self.ttl_ms.load(Ordering::Relaxed))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Login>>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, pkce: Option<PkceFlow>, listens: bool, options: LoginOptions) -> (String, Arc<Login>) {
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, login| login.is_pending() || login.deadline + KEEP_FINISHED > now);
        let id = uuid::Uuid::new_v4().simple().to_string();
        let login = Arc::new(Login {
            pkce,
            proxy: options.proxy,
            workspace: options.workspace,
            profile: options.profile,
            listens,
            deadline: now + self.ttl(),
            status: watch::Sender::new(LoginStatus { status: LoginState::Pending, error: None, account_id: None }),
            finishing: tokio::sync::Mutex::new(()),
            task: Mutex::new(None),
        });
        map.insert(id.clone(), login.clone());
        (id, login)
    }

    fn get(&self, id: &str) -> Result<Arc<Login>, CoreError> {
        self.lock().get(id).cloned().ok_or_else(|| CoreError::NotFound(format!("no sign-in with id {id:?}")))
    }

    /// The id of the browser sign-in whose OAuth `state` is `state`.
    fn id_for_state(&self, state: &str) -> Option<String> {
        let map = self.lock();
        map.iter()
            .find(|(_, login)| login.pkce.as_ref().is_some_and(|flow| flow.state == state))
            .map(|(id, _)| id.clone())
    }

    fn listening(&self) -> Vec<Arc<Login>> {
        self.lock().values().filter(|login| login.listens && login.is_pending()).cloned().collect()
    }
}

/// Refuses tokens of an account outside the sign-in's workspaces (nothing is stored).
fn in_workspace(allowed: Option<&str>, tokens: Tokens) -> Result<Tokens, LoginError> {
    let Some(allowed) = allowed else { return Ok(tokens) };
    let got = crate::auth::claims::Claims::from_tokens(&tokens).chatgpt_account_id;
    if got.as_deref().is_some_and(|id| allowed.split(',').map(str::trim).any(|wanted| wanted == id)) {
        Ok(tokens)
    } else {
        Err(LoginError::WrongWorkspace { wanted: allowed.to_string(), got })
    }
}

/// Waits for the sign-in's task to end (its listener closed), then forgets the handle.
async fn join(login: &Login) {
    let task = login.task.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(task) = task {
        let _ = task.await;
    }
}

impl Core {
    /// Starts a sign-in. A browser sign-in first cancels an earlier one of this process that
    /// still holds the callback port.
    pub async fn login_start(&self, kind: LoginKind) -> Result<LoginTicket, CoreError> {
        self.login_start_via(kind, AccountProxy::Inherit).await
    }

    /// As [`Core::login_start`], with the sign-in's calls to the issuer going through `proxy`,
    /// which the account keeps (`inherit` leaves an existing account's proxy as it is).
    pub async fn login_start_via(&self, kind: LoginKind, proxy: AccountProxy) -> Result<LoginTicket, CoreError> {
        self.login_start_with(kind, LoginOptions { proxy, ..LoginOptions::default() }).await
    }

    /// The id of the pending or finished browser sign-in started with OAuth `state` (what the
    /// original's `account/login/complete` names a sign-in by).
    pub fn login_id_for_state(&self, state: &str) -> Result<String, CoreError> {
        self.inner.logins.id_for_state(state).ok_or_else(|| {
            CoreError::NotFound(format!(
                "no sign-in started with state {state:?}: it is from another run of the service, or it was never started"
            ))
        })
    }

    /// As [`Core::login_start`], with a proxy, a workspace restriction and the account's
    /// group, tags and note.
    pub async fn login_start_with(&self, kind: LoginKind, options: LoginOptions) -> Result<LoginTicket, CoreError> {
        let options = LoginOptions {
            workspace: options.workspace.map(|w| w.trim().to_string()).filter(|w| !w.is_empty()),
            ..options
        };
        match kind {
            LoginKind::Browser { open_browser } => self.start_browser_login(true, open_browser, options).await,
            LoginKind::Manual => self.start_browser_login(false, false, options).await,
            LoginKind::Device => self.start_device_login(options).await,
        }
    }

    /// The client for a sign-in's calls to the issuer.
    fn login_client(&self, proxy: &AccountProxy) -> Result<reqwest::Client, LoginError> {
        self.client_on(&self.route_for_new(proxy)).map_err(|err| LoginError::Exchange(err.to_string()))
    }

    pub fn login_status(&self, id: &str) -> Result<LoginStatus, CoreError> {
        Ok(self.inner.logins.get(id)?.status())
    }

    /// Waits until the sign-in has ended and its listener has closed (the browser has been
    /// shown the outcome), and returns how it ended.
    pub async fn login_wait(&self, id: &str) -> Result<LoginStatus, CoreError> {
        let login = self.inner.logins.get(id)?;
        let mut status = login.status.subscribe();
        let _ = status.wait_for(|s| s.status != LoginState::Pending).await;
        join(&login).await;
        Ok(login.status())
    }

    /// Completes a browser sign-in from what the person pasted: the address the browser ended
    /// on, or just the code. A wrong state or a paste without a code leaves it waiting.
    pub async fn login_complete(&self, id: &str, pasted: &str) -> Result<LoginStatus, CoreError> {
        let login = self.inner.logins.get(id)?;
        let params = CallbackParams::parse_pasted(pasted)?;
        self.complete_browser_login(&login, params, false).await?;
        Ok(login.status())
    }

    /// Cancels a pending sign-in (its listener closes before this returns).
    pub async fn login_cancel(&self, id: &str) -> Result<LoginStatus, CoreError> {
        let login = self.inner.logins.get(id)?;
        login.fail(&LoginError::Cancelled);
        join(&login).await;
        Ok(login.status())
    }

    async fn start_browser_login(
        &self,
        listen: bool,
        open_browser: bool,
        options: LoginOptions,
    ) -> Result<LoginTicket, CoreError> {
        self.login_client(&options.proxy)?;
        let config = self.config();
        let listener = if listen {
            for earlier in self.inner.logins.listening() {
                earlier.fail(&LoginError::Cancelled);
                join(&earlier).await;
            }
            Some(CallbackServer::bind(&config.login_addr, config.allow_non_loopback_login_addr).await?)
        } else {
            None
        };
        let redirect_uri = config.redirect_uri.clone().unwrap_or_else(|| {
            let port = match &listener {
                Some((server, _)) => server.addr().port(),
                None => config.login_addr.rsplit_once(':').and_then(|(_, port)| port.parse().ok()).unwrap_or(1455),
            };
            format!("http://localhost:{port}/auth/callback")
        });
        let pkce = Pkce::generate();
        let state = new_state();
        let auth_url = AuthorizeRequest {
            issuer: &config.issuer,
            client_id: &config.client_id,
            redirect_uri: &redirect_uri,
            code_challenge: &pkce.challenge,
            state: &state,
            originator: &config.originator,
            allowed_workspace_id: options.workspace.as_deref(),
        }
        .url();
        let flow = PkceFlow { verifier: pkce.verifier, state, redirect_uri: redirect_uri.clone() };
        let (login_id, login) = self.inner.logins.insert(Some(flow), listen, options);
        let task = tokio::spawn(self.clone().wait_for_callback(login.clone(), listener));
        *login.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        if open_browser && let Err(err) = open::that_detached(&auth_url) {
            tracing::warn!("could not open a browser ({err}); open the sign-in address yourself");
        }
        tracing::info!(login = %login_id, listen, "sign-in started");
        Ok(LoginTicket { login_id, auth_url, redirect_uri, device: None, expires_at: self.login_expires_at() })
    }

    fn login_expires_at(&self) -> i64 {
        now_secs() + self.inner.logins.ttl().as_secs() as i64
    }

    /// A browser sign-in's life: callbacks from the listener, until it ends or expires.
    async fn wait_for_callback(
        self,
        login: Arc<Login>,
        listener: Option<(CallbackServer, mpsc::Receiver<CallbackRequest>)>,
    ) {
        let (server, mut requests) = match listener {
            Some((server, requests)) => (Some(server), Some(requests)),
            None => (None, None),
        };
        let mut status = login.status.subscribe();
        while login.is_pending() {
            let next_callback = async {
                match requests.as_mut() {
                    Some(requests) => requests.recv().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                Some(request) = next_callback => {
                    let outcome = self.complete_browser_login(&login, request.params, true).await;
                    let _ = request.reply.send(outcome);
                }
                _ = tokio::time::sleep_until(login.deadline) => login.fail(&LoginError::Expired),
                _ = status.changed() => {}
            }
        }
        if let Some(server) = server {
            server.stop().await;
        }
    }

    /// Checks the callback, exchanges its code and stores the account; returns who signed in.
    async fn complete_browser_login(
        &self,
        login: &Login,
        params: CallbackParams,
        require_state: bool,
    ) -> Result<String, LoginError> {
        let _turn = login.finishing.lock().await;
        login.check_open()?;
        let Some(flow) = &login.pkce else {
            return Err(LoginError::DeviceOnly);
        };
        let code = match params.into_code(&flow.state, require_state) {
            Ok(code) => code,
            Err(err @ (LoginError::StateMismatch | LoginError::NoCode)) => {
                login.note(&err);
                return Err(err);
            }
            Err(err) => {
                login.fail(&err);
                return Err(err);
            }
        };
        let config = self.config();
        let exchanged = match self.login_client(&login.proxy) {
            Ok(http) => {
                exchange_code(&http, &config.issuer, &config.client_id, &flow.redirect_uri, &code, &flow.verifier).await
            }
            Err(err) => Err(err),
        };
        self.settle(login, exchanged).await
    }

    /// Stores the tokens of a finished exchange (unless the sign-in was cancelled or expired
    /// meanwhile) and ends the sign-in either way.
    async fn settle(&self, login: &Login, exchanged: Result<Tokens, LoginError>) -> Result<String, LoginError> {
        let checked = exchanged
            .and_then(|tokens| in_workspace(login.workspace.as_deref(), tokens))
            .and_then(|tokens| login.check_open().map(|()| tokens));
        let stored = match checked {
            Ok(tokens) => self
                .store_signed_in(tokens, &login.proxy, &login.profile)
                .await
                .map_err(|e| LoginError::Store(e.to_string())),
            Err(err) => Err(err),
        };
        match stored {
            Ok((account_id, who)) => {
                login.finish(LoginState::Completed, None, Some(account_id));
                Ok(who)
            }
            Err(err) => {
                tracing::warn!("sign-in failed: {err}");
                login.fail(&err);
                Err(err)
            }
        }
    }

    async fn start_device_login(&self, options: LoginOptions) -> Result<LoginTicket, CoreError> {
        let config = self.config();
        let http = self.login_client(&options.proxy)?;
        let code = device::request_code(&http, &config.issuer, &config.client_id).await?;
        let (login_id, login) = self.inner.logins.insert(None, false, options);
        let ticket = LoginTicket {
            login_id: login_id.clone(),
            auth_url: code.verification_uri.clone(),
            redirect_uri: device::redirect_uri(&config.issuer),
            device: Some(DevicePrompt {
                user_code: code.user_code.clone(),
                verification_uri: code.verification_uri.clone(),
            }),
            expires_at: self.login_expires_at(),
        };
        let task = tokio::spawn(self.clone().poll_device(login.clone(), code));
        *login.task.lock().unwrap_or_else(|p| p.into_inner()) = Some(task);
        tracing::info!(login = %login_id, "device-code sign-in started");
        Ok(ticket)
    }

    /// A device sign-in's life: poll every interval until approved, refused, cancelled or expired.
    async fn poll_device(self, login: Arc<Login>, code: DeviceCode) {
        let mut status = login.status.subscribe();
        while login.is_pending() {
            tokio::select! {
                _ = tokio::time::sleep(code.interval) => {}
                _ = tokio::time::sleep_until(login.deadline) => {
                    login.fail(&LoginError::Expired);
                    continue;
                }
                _ = status.changed() => continue,
            }
            let config = self.config();
            let http = match self.login_client(&login.proxy) {
                Ok(http) => http,
                Err(err) => {
                    login.fail(&err);
                    continue;
                }
            };
            match device::poll(&http, &config.issuer, &code).await {
                Ok(DevicePoll::Pending) => {}
                Ok(DevicePoll::Retry(reason)) => tracing::warn!("device sign-in poll failed, trying again: {reason}"),
                Ok(DevicePoll::Authorized { authorization_code, code_verifier }) => {
                    let _turn = login.finishing.lock().await;
                    if login.check_open().is_err() {
                        return;
                    }
                    let redirect_uri = device::redirect_uri(&config.issuer);
                    let exchanged = exchange_code(
                        &http,
                        &config.issuer,
                        &config.client_id,
                        &redirect_uri,
                        &authorization_code,
                        &code_verifier,
                    )
                    .await;
                    let _ = self.settle(&login, exchanged).await;
                }
                Err(err) => login.fail(&err),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Env;
    use crate::paths::{DataLocation, DataPaths};

    async fn core(dir: &std::path::Path) -> Core {
        let vars = [
            ("CODEXMANAGER_SECRET_STORE", "file"),
            ("CODEXMANAGER_LOGIN_ADDR", "127.0.0.1:0"),
            ("CODEXMANAGER_REDIRECT_URI", "http://localhost:1455/auth/callback"),
        ];
        let env = Env::from_map(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
        let paths = DataPaths::for_db(dir.join("t.db"), DataLocation::Explicit);
        Core::open_at(env, paths, None).await.expect("open core").0
    }

    #[tokio::test]
    async fn a_sign_in_expires_and_then_refuses_completion() {
        let dir = tempfile::tempdir().unwrap();
        let core = core(dir.path()).await;
        core.inner.logins.ttl_ms.store(300, Ordering::Relaxed);
        for kind in [LoginKind::Manual, LoginKind::Browser { open_browser: false }] {
            let ticket = core.login_start(kind).await.unwrap();
            assert_eq!(core.login_status(&ticket.login_id).unwrap().status, LoginState::Pending);
            let ended = tokio::time::timeout(Duration::from_secs(5), core.login_wait(&ticket.login_id)).await;
            let ended = ended.expect("expires on time").unwrap();
            assert_eq!(ended.status, LoginState::Expired);
            assert!(ended.error.unwrap().contains("expired"));
            let late = core.login_complete(&ticket.login_id, "code=abc&state=x").await.unwrap_err();
            assert!(late.to_string().contains("the sign-in expired"), "{late}");
        }
    }

    #[tokio::test]
    async fn cancelling_ends_the_sign_in_and_frees_the_listener() {
        let dir = tempfile::tempdir().unwrap();
        let core = core(dir.path()).await;
        let ticket = core.login_start(LoginKind::Browser { open_browser: false }).await.unwrap();
        let status = core.login_cancel(&ticket.login_id).await.unwrap();
        assert_eq!(status.status, LoginState::Cancelled);
        let err = core.login_complete(&ticket.login_id, "abc").await.unwrap_err();
        assert!(err.to_string().contains("cancelled"), "{err}");
        assert!(matches!(core.login_status("nope"), Err(CoreError::NotFound(_))));
    }
}
