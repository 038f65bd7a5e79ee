//! The desktop window: the service runs in-process on the tokio runtime while eframe owns
//! the main thread. [`App`] only chooses which page shows, draws the top bar and the toasts,
//! follows the language and theme settings, and answers the tray; each page is a struct of
//! its own (one file each) that draws itself from the core's snapshot and sends its work to
//! the runtime. The window never waits on I/O.

pub mod account_dialogs;
pub mod accounts;
pub mod backend;
pub mod dashboard;
pub mod dialog;
pub mod fmt;
pub mod fonts;
pub mod i18n;
pub mod key_detail;
pub mod key_dialogs;
pub mod key_policy;
pub mod keys;
pub mod logs;
pub mod notices;
pub mod proxy;
pub mod service_ctl;
pub mod settings;
pub mod sign_in;
pub mod theme;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use egui::{Color32, CornerRadius, RichText, Vec2};
use serde::{Deserialize, Serialize};

use self::backend::Backend;
use self::i18n::{Lang, T};
use self::service_ctl::ServiceState;
use crate::config::Env;
use crate::core::Core;
use crate::paths::DataPaths;
use crate::service::Service;

/// The app icon (256×256), used for the window and the tray.
pub const ICON_PNG: &[u8] = include_bytes!("../../assets/icon.png");
/// Where the current page is remembered between runs.
const PAGE_KEY: &str = "page";

/// The pages of the window, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Page {
    #[default]
    Dashboard,
    Accounts,
    Keys,
    Logs,
    Settings,
}

impl Page {
    pub const ALL: [Page; 5] = [Page::Dashboard, Page::Accounts, Page::Keys, Page::Logs, Page::Settings];

    pub fn title(self) -> &'static str {
        match self {
            Page::Dashboard => T::Dashboard.tr(),
            Page::Accounts => T::Accounts.tr(),
            Page::Keys => T::PlatformKeys.tr(),
            Page::Logs => T::Logs.tr(),
            Page::Settings => T::Settings.tr(),
        }
    }
}

/// The app's state while the window is open.
pub struct App {
    backend: Backend,
    page: Page,
    dashboard: dashboard::DashboardPage,
    accounts: accounts::AccountsPage,
    keys: keys::KeysPage,
    logs: logs::LogsPage,
    settings: settings::SettingsPage,
    theme_applied: Option<String>,
    palette_applied: Option<theme::Palette>,
    #[cfg(feature = "tray")]
    tray: Option<crate::tray::Tray>,
    hidden: bool,
    quitting: bool,
    /// When the window was asked for, until its first frame is drawn (and logged).
    opening: Option<Instant>,
}

/// The language the settings ask for: the stored choice, else the OS's.
fn configured_lang(core: &Core) -> Lang {
    let config = core.config();
    let stored = config.settings.iter().find(|(key, _, _)| *key == "locale").map(|(_, value, _)| value.as_str());
    stored.and_then(Lang::from_setting).unwrap_or_else(Lang::system)
}

fn setting_value(core: &Core, key: &str) -> String {
    core.config().settings.iter().find(|(k, _, _)| *k == key).map(|(_, v, _)| v.clone()).unwrap_or_default()
}

impl App {
    /// `cjk_font` is the Chinese font that was loaded, if any (Settings says when none was).
    pub fn new(backend: Backend, cjk_font: Option<PathBuf>) -> App {
        App {
            dashboard: dashboard::DashboardPage::new(backend.clone()),
            accounts: accounts::AccountsPage::new(backend.clone()),
            keys: keys::KeysPage::new(backend.clone()),
            logs: logs::LogsPage::new(backend.clone()),
            settings: settings::SettingsPage::new(backend.clone(), cjk_font),
            backend,
            page: Page::Dashboard,
            theme_applied: None,
            palette_applied: None,
            #[cfg(feature = "tray")]
            tray: None,
            hidden: false,
            quitting: false,
            opening: None,
        }
    }

    pub fn page(&self) -> Page {
        self.page
    }

    pub fn set_page(&mut self, page: Page) {
        self.page = page;
    }

    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Follows the language and theme settings; cheap, runs every frame.
    fn apply_settings(&mut self, ctx: &egui::Context) {
        i18n::set_lang(configured_lang(&self.backend.core));
        let theme = setting_value(&self.backend.core, "theme");
        if self.theme_applied.as_deref() != Some(theme.as_str()) {
            theme::apply_preference(ctx, &theme);
            self.theme_applied = Some(theme);
        }
        let palette = theme::Palette::from_setting(&setting_value(&self.backend.core, "accent"));
        if self.palette_applied != Some(palette) {
            theme::install(ctx, palette);
            self.palette_applied = Some(palette);
        }
    }

    /// Draws the whole window; kept free of eframe so tests can drive it headless.
    pub fn draw(&mut self, ui: &mut egui::Ui) {
        self.apply_settings(ui.ctx());
        match self.backend.take_navigation() {
            Some(backend::Navigate::SignIn) => {
                self.page = Page::Accounts;
                self.accounts.open_add(account_dialogs::AddTab::SignIn);
            }
            Some(backend::Navigate::Import) => {
                self.page = Page::Accounts;
                self.accounts.open_add(account_dialogs::AddTab::Import);
            }
            Some(backend::Navigate::CreateKey) => {
                self.page = Page::Keys;
                self.keys.open_create();
            }
            None => {}
        }
        egui::Panel::top("top_bar")
            .frame(
                egui::Frame::new()
                    .fill(ui.visuals().window_fill)
                    .inner_margin(egui::Margin::symmetric(20, 10))
                    .stroke(ui.visuals().widgets.noninteractive.bg_stroke),
            )
            .show(ui, |ui| self.top_bar(ui));
        if self.backend.notices.any(ui.ctx()) {
            egui::Panel::bottom("notices")
                .frame(egui::Frame::new().fill(ui.visuals().panel_fill).inner_margin(egui::Margin::symmetric(20, 8)))
                .show(ui, |ui| self.backend.notices.show(ui));
        }
        egui::CentralPanel::default()
            .frame(egui::Frame::new().fill(ui.visuals().panel_fill).inner_margin(egui::Margin::symmetric(20, 16)))
            .show(ui, |ui| {
                let width = ui.available_width().min(theme::CONTENT_MAX_WIDTH);
                let left = ui.min_rect().left() + (ui.available_width() - width) / 2.0;
                let rect = egui::Rect::from_min_size(
                    egui::pos2(left, ui.min_rect().top()),
                    Vec2::new(width, ui.available_height()),
                );
                ui.scope_builder(egui::UiBuilder::new().max_rect(rect), |ui| {
                    self.page_header(ui);
                    match self.page {
                        Page::Dashboard => self.dashboard.ui(ui),
                        Page::Accounts => self.accounts.ui(ui),
                        Page::Keys => self.keys.ui(ui),
                        Page::Logs => self.logs.ui(ui),
                        Page::Settings => self.settings.ui(ui),
                    }
                });
            });
    }

    /// The page's title and what it is for, and the service's address with its switch.
    fn page_header(&mut self, ui: &mut egui::Ui) {
        let subtitle = match self.page {
            Page::Dashboard => T::DashboardSubtitle,
            Page::Accounts => T::AccountsSubtitle,
            Page::Keys => T::KeysSubtitle,
            Page::Logs => T::LogsSubtitle,
            Page::Settings => T::SettingsSubtitle,
        };
        ui.horizontal_wrapped(|ui| {
            ui.vertical(|ui| {
                ui.spacing_mut().item_spacing.y = 2.0;
                ui.label(RichText::new(self.page.title()).size(26.0).strong().color(theme::title_color(ui)));
                ui.label(RichText::new(subtitle.tr()).color(theme::weak(ui)));
            });
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                service_ctl::header_control(ui, &self.backend);
            });
        });
        ui.add_space(theme::GAP);
    }

    fn top_bar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            logo(ui);
            ui.vertical(|ui| {
                ui.spacing_mut().item_spacing.y = 0.0;
                ui.label(RichText::new("CodexManager").size(18.0).strong());
                ui.label(RichText::new(T::Tagline.tr()).size(11.5).color(theme::weak(ui)));
            });
            ui.add_space(18.0);
            let pages: Vec<(Page, &str)> = Page::ALL.iter().map(|p| (*p, p.title())).collect();
            theme::segmented(ui, &mut self.page, &pages);
        });
    }

    /// Hands the app its tray; without one, closing the window quits.
    #[cfg(feature = "tray")]
    pub fn attach_tray(&mut self, tray: crate::tray::Tray) {
        self.tray = Some(tray);
        self.settings.set_tray_available(true);
    }

    #[cfg(feature = "tray")]
    fn tray_view(&self) -> crate::tray::TrayView {
        let state = self.backend.service.state();
        let status = match &state {
            ServiceState::Running(addr) => T::TrayRunning.fill(&[addr]),
            ServiceState::Starting => T::TrayStarting.tr().to_string(),
            ServiceState::Stopping => T::TrayStopping.tr().to_string(),
            ServiceState::Stopped => T::TrayStopped.tr().to_string(),
            ServiceState::Failed(_) => T::TrayFailed.tr().to_string(),
        };
        crate::tray::TrayView {
            toggle_window: if self.hidden { T::ShowWindow } else { T::HideWindow }.tr().to_string(),
            status,
            toggle_service: if state.addr().is_some() { T::StopService } else { T::StartService }.tr().to_string(),
            service_enabled: !state.is_busy(),
            copy_url: T::CopyOpenAiUrl.tr().to_string(),
            quit: T::Quit.tr().to_string(),
        }
    }

    /// Carries out what was picked in the tray and keeps its menu current.
    #[cfg(feature = "tray")]
    fn handle_tray(&mut self, ctx: &egui::Context) {
        use crate::tray::TrayCommand;
        let Some(tray) = self.tray.as_ref() else { return };
        let commands: Vec<TrayCommand> = std::iter::from_fn(|| tray.next_command()).collect();
        for command in commands {
            match command {
                TrayCommand::ToggleWindow => self.set_hidden(ctx, !self.hidden),
                TrayCommand::ToggleService => {
                    if self.backend.service.state().addr().is_some() {
                        self.backend.service.stop(&self.backend.runtime, ctx);
                    } else {
                        self.backend.service.start(&self.backend.runtime, ctx);
                    }
                }
                TrayCommand::CopyBaseUrl => {
                    let url = format!("http://{}/v1", self.backend.base_host());
                    ctx.copy_text(url.clone());
                    self.backend.notices.info(T::Copied, &[&url]);
                }
                TrayCommand::Quit => {
                    self.quitting = true;
                    ctx.send_viewport_cmd(egui::ViewportCommand::Close);
                }
            }
        }
        let view = self.tray_view();
        if let Some(tray) = self.tray.as_mut() {
            tray.update(view);
        }
    }

    /// Whether a tray icon is there to bring a hidden window back.
    pub fn has_tray(&self) -> bool {
        #[cfg(feature = "tray")]
        return self.tray.is_some();
        #[cfg(not(feature = "tray"))]
        false
    }

    fn set_hidden(&mut self, ctx: &egui::Context, hidden: bool) {
        self.hidden = hidden;
        ctx.send_viewport_cmd(egui::ViewportCommand::Visible(!hidden));
        if !hidden {
            ctx.send_viewport_cmd(egui::ViewportCommand::Focus);
        }
    }

    /// With close-to-tray on and a tray present, closing hides the window instead.
    fn handle_close(&mut self, ctx: &egui::Context) {
        if self.quitting || !ctx.input(|i| i.viewport().close_requested()) {
            return;
        }
        let has_tray = self.has_tray();
        let close_to_tray =
            crate::config::parse_bool(&setting_value(&self.backend.core, "closeToTray")).unwrap_or(true);
        if has_tray && close_to_tray {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.set_hidden(ctx, true);
        }
    }
}

/// The "CM" badge in the accent colour.
fn logo(ui: &mut egui::Ui) {
    let (rect, _) = ui.allocate_exact_size(Vec2::splat(38.0), egui::Sense::hover());
    ui.painter().rect_filled(rect, CornerRadius::same(10), theme::palette().fill());
    ui.painter().text(
        rect.center(),
        egui::Align2::CENTER_CENTER,
        "CM",
        egui::FontId::proportional(16.0),
        Color32::WHITE,
    );
}

impl eframe::App for App {
    fn logic(&mut self, ctx: &egui::Context, _frame: &mut eframe::Frame) {
        i18n::set_lang(configured_lang(&self.backend.core));
        #[cfg(feature = "tray")]
        self.handle_tray(ctx);
        self.handle_close(ctx);
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.draw(ui);
        if let Some(opening) = self.opening.take() {
            tracing::info!("window open: first frame drawn {} ms after start", opening.elapsed().as_millis());
        }
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        eframe::set_value(storage, PAGE_KEY, &self.page);
    }
}

/// Creates the tray, or says once why there is none.
#[cfg(feature = "tray")]
fn make_tray(app: &App, icon: &egui::IconData, ctx: &egui::Context) -> Option<crate::tray::Tray> {
    let ctx = ctx.clone();
    match crate::tray::Tray::new(icon.rgba.clone(), icon.width, icon.height, app.tray_view(), move || {
        ctx.request_repaint()
    }) {
        Ok(tray) => Some(tray),
        Err(err) => {
            tracing::warn!("no system tray ({err}); the window stays the only way in, and closing it quits");
            None
        }
    }
}

/// Why the window cannot open here, when that is plain before trying: on Linux and the BSDs
/// a window needs an X11 or Wayland display.
fn missing_display() -> Option<String> {
    if !cfg!(any(target_os = "linux", target_os = "freebsd", target_os = "openbsd", target_os = "netbsd")) {
        return None;
    }
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let any = set("DISPLAY") || set("WAYLAND_DISPLAY") || set("WAYLAND_SOCKET");
    (!any).then(|| {
        "there is no display to open the window on (DISPLAY and WAYLAND_DISPLAY are not set); \
         `codexmanager serve` runs the gateway without a window"
            .to_string()
    })
}

/// Opens the window with the service running in-process (unless `CODEXMANAGER_NO_SERVICE`).
/// With `hidden`, the window starts hidden in the tray (start at login); without a tray it
/// shows anyway.
pub fn run_window(
    runtime: &tokio::runtime::Runtime,
    env: Env,
    paths: DataPaths,
    hidden: bool,
) -> anyhow::Result<ExitCode> {
    if let Some(reason) = missing_display() {
        anyhow::bail!(reason);
    }
    let opening = Instant::now();
    let _enter = runtime.enter();
    let core = runtime.block_on(crate::startup::open_running(env, paths))?;
    let backend = Backend::new(core.clone(), runtime.handle().clone());
    if !core.config().no_service {
        let started = runtime.block_on(Service::start(core.clone())).map_err(|err| err.to_string());
        if let Err(err) = &started {
            tracing::error!("{err}");
        }
        backend.service.adopt(started);
    }
    let icon = match eframe::icon_data::from_png_bytes(ICON_PNG) {
        Ok(icon) => icon,
        Err(err) => {
            tracing::warn!("the app icon could not be decoded: {err}");
            egui::IconData::default()
        }
    };
    let options = eframe::NativeOptions {
        viewport: egui::ViewportBuilder::default()
            .with_title("CodexManager")
            .with_app_id("codexmanager")
            .with_inner_size([1240.0, 800.0])
            .with_min_inner_size([720.0, 480.0])
            .with_visible(!hidden)
            .with_icon(icon.clone()),
        persistence_path: Some(core.config().paths.dir.join("window.ron")),
        system_font_fallback: false,
        ..Default::default()
    };
    let service = backend.service.clone();
    let result = eframe::run_native(
        "CodexManager",
        options,
        Box::new(move |cc| {
            let cjk_font = fonts::install(&cc.egui_ctx);
            let ctx = cc.egui_ctx.clone();
            let mut changes = backend.core.subscribe();
            tokio::spawn(async move {
                while changes.changed().await.is_ok() {
                    ctx.request_repaint();
                }
            });
            let mut app = App::new(backend, cjk_font);
            app.opening = Some(opening);
            if let Some(page) = cc.storage.and_then(|storage| eframe::get_value::<Page>(storage, PAGE_KEY)) {
                app.set_page(page);
            }
            i18n::set_lang(configured_lang(&app.backend.core));
            #[cfg(feature = "tray")]
            if let Some(tray) = make_tray(&app, &icon, &cc.egui_ctx) {
                app.attach_tray(tray);
            }
            if hidden {
                // Hidden only where the tray can bring it back.
                let has_tray = app.has_tray();
                app.set_hidden(&cc.egui_ctx, has_tray);
            }
            Ok(Box::new(app))
        }),
    );
    runtime.block_on(async {
        service.shutdown().await;
        core.shutdown().await;
    });
    result.map_err(|err| {
        anyhow::anyhow!(
            "the window could not be opened ({err}); `codexmanager serve` runs the gateway without a window"
        )
    })?;
    Ok(ExitCode::SUCCESS)
}
