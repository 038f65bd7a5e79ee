//! Starting, stopping and restarting the in-process service from the window and the tray,
//! and what state it is in. The work runs on the runtime; the state is read every frame.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::core::Core;
use crate::service::Service;

/// What the window and the tray show about the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceState {
    Running(SocketAddr),
    Starting,
    Stopping,
    Stopped,
    /// Starting failed, with the reason.
    Failed(String),
}

impl ServiceState {
    pub fn is_busy(&self) -> bool {
        matches!(self, ServiceState::Starting | ServiceState::Stopping)
    }

    pub fn addr(&self) -> Option<SocketAddr> {
        match self {
            ServiceState::Running(addr) => Some(*addr),
            _ => None,
        }
    }
}

struct Slot {
    state: ServiceState,
    service: Option<Service>,
}

/// The service's handle, shared by the window and the tray; cheap to clone.
#[derive(Clone)]
pub struct ServiceCtl {
    core: Core,
    slot: Arc<Mutex<Slot>>,
}

impl ServiceCtl {
    pub fn new(core: Core) -> ServiceCtl {
        ServiceCtl { core, slot: Arc::new(Mutex::new(Slot { state: ServiceState::Stopped, service: None })) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn state(&self) -> ServiceState {
        self.lock().state.clone()
    }

    /// Takes over a service started before the window opened, or the reason it did not start.
    pub fn adopt(&self, started: Result<Service, String>) {
        let mut slot = self.lock();
        match started {
            Ok(service) => {
                slot.state = ServiceState::Running(service.addr());
                slot.service = Some(service);
            }
            Err(reason) => slot.state = ServiceState::Failed(reason),
        }
    }

    /// Starts the service on the configured address unless it runs or is changing.
    pub fn start(&self, runtime: &tokio::runtime::Handle, ctx: &egui::Context) {
        {
            let mut slot = self.lock();
            if slot.service.is_some() || slot.state.is_busy() {
                return;
            }
            slot.state = ServiceState::Starting;
        }
        let this = self.clone();
        let ctx = ctx.clone();
        runtime.spawn(async move {
            let started = Service::start(this.core.clone()).await.map_err(|err| err.to_string());
            if let Err(reason) = &started {
                tracing::error!("{reason}");
            }
            this.adopt(started);
            ctx.request_repaint();
        });
    }

    /// Stops the service, letting in-flight requests finish.
    pub fn stop(&self, runtime: &tokio::runtime::Handle, ctx: &egui::Context) {
        self.stop_then(runtime, ctx, false);
    }

    /// Stops the service (if it runs) and starts it again on the configured address.
    pub fn restart(&self, runtime: &tokio::runtime::Handle, ctx: &egui::Context) {
        self.stop_then(runtime, ctx, true);
    }

    fn stop_then(&self, runtime: &tokio::runtime::Handle, ctx: &egui::Context, start_again: bool) {
        let service = {
            let mut slot = self.lock();
            if slot.state.is_busy() {
                return;
            }
            slot.state = ServiceState::Stopping;
            slot.service.take()
        };
        let this = self.clone();
        let ctx = ctx.clone();
        runtime.spawn(async move {
            if let Some(service) = service {
                service.stop().await;
            }
            this.lock().state = ServiceState::Stopped;
            ctx.request_repaint();
            if start_again {
                this.lock().state = ServiceState::Starting;
                let started = Service::start(this.core.clone()).await.map_err(|err| err.to_string());
                this.adopt(started);
                ctx.request_repaint();
            }
        });
    }

    /// Stops the service and waits for it; used when the app quits.
    pub async fn shutdown(&self) {
        let service = self.lock().service.take();
        if let Some(service) = service {
            service.stop().await;
        }
        self.lock().state = ServiceState::Stopped;
    }
}
