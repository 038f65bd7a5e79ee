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

/// The service in the page header: its state and address, and a switch that starts or
/// stops it. Shown on every page, so the gateway can be turned on from wherever one is.
pub fn header_control(ui: &mut egui::Ui, backend: &super::backend::Backend) {
    use super::i18n::T;
    use super::theme;
    let state = backend.service.state();
    let (text, tone) = match &state {
        ServiceState::Running(_) => (T::Running.tr(), theme::Tone::Good),
        ServiceState::Starting => (T::Starting.tr(), theme::Tone::Warn),
        ServiceState::Stopping => (T::Stopping.tr(), theme::Tone::Warn),
        ServiceState::Stopped => (T::Stopped.tr(), theme::Tone::Neutral),
        ServiceState::Failed(_) => (T::ServiceError.tr(), theme::Tone::Bad),
    };
    theme::card_frame(ui).inner_margin(egui::Margin::symmetric(12, 6)).corner_radius(20).show(ui, |ui| {
        ui.horizontal(|ui| {
            let mut on = state.addr().is_some();
            let switch = ui.add_enabled(!state.is_busy(), Switch::new(&mut on)).on_hover_text(if on {
                T::StopService.tr()
            } else {
                T::StartService.tr()
            });
            switch.widget_info(|| {
                egui::WidgetInfo::selected(egui::Role::Switch, !state.is_busy(), on, T::GatewaySwitch.tr())
            });
            if switch.changed() {
                if on {
                    backend.service.start(&backend.runtime, ui.ctx());
                } else {
                    backend.service.stop(&backend.runtime, ui.ctx());
                }
            }
            let pill = theme::pill(ui, text, tone);
            if let ServiceState::Failed(reason) = &state {
                pill.on_hover_text(reason.as_str());
            }
            ui.label(egui::RichText::new(backend.base_host()).monospace());
        });
    });
}

/// An on/off switch.
struct Switch<'a> {
    on: &'a mut bool,
}

impl<'a> Switch<'a> {
    fn new(on: &'a mut bool) -> Switch<'a> {
        Switch { on }
    }
}

impl egui::Widget for Switch<'_> {
    fn ui(self, ui: &mut egui::Ui) -> egui::Response {
        let size = egui::vec2(36.0, 20.0);
        let (rect, mut response) = ui.allocate_exact_size(size, egui::Sense::click());
        if response.clicked() {
            *self.on = !*self.on;
            response.mark_changed();
        }
        let how_on = ui.ctx().animate_bool(response.id, *self.on);
        let track = if *self.on { super::theme::accent(ui) } else { ui.visuals().widgets.inactive.bg_stroke.color };
        let radius = rect.height() / 2.0;
        ui.painter().rect_filled(rect, radius, track);
        let x = egui::lerp((rect.left() + radius)..=(rect.right() - radius), how_on);
        ui.painter().circle_filled(egui::pos2(x, rect.center().y), radius - 3.0, egui::Color32::WHITE);
        if response.has_focus() {
            super::theme::focus_ring(ui, rect);
        }
        response
    }
}
