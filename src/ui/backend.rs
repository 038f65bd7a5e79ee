//! The window's link to the runtime: what every page holds to reach the core ([`Backend`]),
//! and the handle on one piece of work running there ([`Job`]).
//!
//! A page never awaits. It spawns the work with [`Backend::spawn`], keeps the [`Job`], shows
//! a spinner while [`Job::poll`] says it is running, and takes the result on the frame after
//! the runtime finished — the runtime wakes the window with `request_repaint` when it does.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::i18n::T;
use super::notices::Notices;
use super::service_ctl::ServiceCtl;
use crate::core::Core;

/// Everything a page needs to act: the core, the runtime, the service and the notices.
#[derive(Clone)]
pub struct Backend {
    pub core: Core,
    pub runtime: tokio::runtime::Handle,
    pub service: ServiceCtl,
    pub notices: Notices,
    navigate: Arc<Mutex<Option<Navigate>>>,
}

/// A page asking for another page and what to open there (the Dashboard's first steps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Navigate {
    SignIn,
    Import,
    CreateKey,
}

impl Backend {
    pub fn new(core: Core, runtime: tokio::runtime::Handle) -> Backend {
        Backend {
            service: ServiceCtl::new(core.clone()),
            core,
            runtime,
            notices: Notices::default(),
            navigate: Arc::default(),
        }
    }

    /// Asks the app to show another page and open something there, on the next frame.
    pub fn navigate(&self, to: Navigate) {
        *self.navigate.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(to);
    }

    /// The navigation asked for, if any (taken by the app).
    pub fn take_navigation(&self) -> Option<Navigate> {
        self.navigate.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).take()
    }

    /// The `host:port` clients should use: the configured address while it is what the
    /// service bound (so `localhost` stays `localhost`), else the bound address.
    pub fn base_host(&self) -> String {
        let configured = self.core.config().service_addr.clone();
        match self.service.state().addr() {
            Some(addr) if configured.ends_with(&format!(":{}", addr.port())) => configured,
            Some(addr) => addr.to_string(),
            None => configured,
        }
    }

    /// Runs `work` on the runtime; the window repaints when it is done.
    pub fn spawn<R, E, F>(&self, ctx: &egui::Context, work: F) -> Job<R>
    where
        R: Send + 'static,
        E: std::fmt::Display,
        F: Future<Output = Result<R, E>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let ctx = ctx.clone();
        self.runtime.spawn(async move {
            let result = work.await.map_err(|err| err.to_string());
            let _ = tx.send(result);
            ctx.request_repaint();
        });
        Job { rx }
    }
}

/// Work running on the runtime, and then its result (errors as readable text).
pub struct Job<R> {
    rx: oneshot::Receiver<Result<R, String>>,
}

impl<R> Job<R> {
    /// The result once the work is done; `None` while it runs.
    pub fn poll(&mut self) -> Option<Result<R, String>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(T::TaskLost.tr().to_string())),
        }
    }
}

/// Polls the job in `slot`, emptying the slot once it has finished.
pub fn poll_slot<R>(slot: &mut Option<Job<R>>) -> Option<Result<R, String>> {
    let result = slot.as_mut()?.poll();
    if result.is_some() {
        *slot = None;
    }
    result
}
