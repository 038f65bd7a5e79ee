//! The desktop window: the service runs in-process on the tokio runtime while eframe owns
//! the main thread. The window reads the core's snapshot and never waits on I/O.

use std::process::ExitCode;

use crate::config::Env;
use crate::core::Core;
use crate::paths::DataPaths;
use crate::service::Service;

/// What the window shows about the service.
#[derive(Debug, Clone)]
pub enum ServiceState {
    Running(std::net::SocketAddr),
    Stopped,
    Failed(String),
}

/// The app's state while the window is open.
pub struct App {
    core: Core,
    service: ServiceState,
}

impl App {
    pub fn new(core: Core, service: ServiceState) -> App {
        App { core, service }
    }

    /// Draws the window's content; kept free of eframe so tests can drive it headless.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        ui.heading("CodexManager");
        ui.add_space(8.0);
        match &self.service {
            ServiceState::Running(addr) => {
                ui.label(format!("Service running on http://{addr}"));
                ui.label(format!("OpenAI base URL: http://{addr}/v1"));
            }
            ServiceState::Stopped => {
                ui.label("Service stopped");
            }
            ServiceState::Failed(reason) => {
                ui.colored_label(ui.visuals().error_fg_color, format!("Service failed: {reason}"));
            }
        }
        let snapshot = self.core.snapshot();
        ui.label(format!("Accounts: {}", snapshot.accounts.len()));
        ui.label(format!("Platform keys: {}", snapshot.keys.len()));
        ui.label(format!("Data: {}", self.core.config().paths.db.display()));
    }
}

impl eframe::App for App {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        egui::CentralPanel::default().show(ui, |ui| self.draw(ui));
    }
}

/// Opens the window with the service running in-process (unless `CODEXMANAGER_NO_SERVICE`).
pub fn run_window(runtime: &tokio::runtime::Runtime, env: Env, paths: DataPaths) -> anyhow::Result<ExitCode> {
    let _enter = runtime.enter();
    let (core, warnings) = Core::open_at(env, paths, None)?;
    for warning in warnings {
        tracing::warn!("{warning}");
    }
    core.watch_external_changes();
    core.spawn_background();
    let (service, state) = if core.config().no_service {
        (None, ServiceState::Stopped)
    } else {
        match runtime.block_on(Service::start(core.clone())) {
            Ok(service) => {
                let addr = service.addr();
                (Some(service), ServiceState::Running(addr))
            }
            Err(err) => {
                tracing::error!("{err}");
                (None, ServiceState::Failed(err.to_string()))
            }
        }
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default().with_title("CodexManager").with_inner_size([960.0, 640.0]),
        ..Default::default()
    };
    let app_core = core.clone();
    let result = eframe::run_native(
        "CodexManager",
        options,
        Box::new(move |cc| {
            let ctx = cc.egui_ctx.clone();
            let mut changes = app_core.subscribe();
            tokio::spawn(async move {
                while changes.changed().await.is_ok() {
                    ctx.request_repaint();
                }
            });
            Ok(Box::new(App::new(app_core, state)))
        }),
    );
    runtime.block_on(async {
        if let Some(service) = service {
            service.stop().await;
        }
        core.shutdown().await;
    });
    result.map_err(|err| anyhow::anyhow!("the window could not be opened: {err}"))?;
    Ok(ExitCode::SUCCESS)
}
