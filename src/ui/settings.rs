//! The Settings page: the service (address with restart — an address other machines can
//! reach asks first and says what that exposes —, start/stop), the gateway's routing
//! (strategy, in-flight limit per account, the quota guard, usage poll interval, request-log
//! retention), the global upstream proxy with a Test, appearance (language, theme,
//! close-to-tray), and where the data lives, which secret store holds the master key, the RPC
//! token and the version.
//! Every change is stored through `Core::set_settings`; a value an environment variable sets
//! is shown read-only with the variable's name.

use std::collections::HashMap;
use std::path::PathBuf;

use egui::RichText;
use serde_json::{Map, Value};

use super::backend::{Backend, Job, poll_slot};
use super::dashboard::service_pill;
use super::dialog::{Answer, Confirm};
use super::i18n::{Lang, T};
use super::proxy::{ProxyField, ProxyOwner};
use super::theme;
use crate::config::{self, Source};
use crate::core::{KeySource, SettingView};
use crate::paths::DataLocation;

/// The gateway fields as typed, before they are saved.
#[derive(Debug, Clone, PartialEq)]
struct GatewayFields {
    route: String,
    /// The values of [`NUMBERS`], in order.
    numbers: [f64; 6],
}

/// A number setting of the gateway card: its key, what it is called, what its values mean.
struct NumberSetting {
    key: &'static str,
    label: T,
    help: T,
    range: std::ops::RangeInclusive<f64>,
    suffix: &'static str,
    /// Whole numbers are stored as integers; the quota guard's percentages may have a fraction.
    whole: bool,
}

const NUMBERS: [NumberSetting; 6] = [
    NumberSetting {
        key: "accountMaxInflight",
        label: T::MaxInflight,
        help: T::MaxInflightHelp,
        range: 0.0..=10_000.0,
        suffix: "",
        whole: true,
    },
    NumberSetting {
        key: "quotaGuard5hPercent",
        label: T::QuotaGuard5h,
        help: T::QuotaGuard5hHelp,
        range: 0.0..=100.0,
        suffix: " %",
        whole: false,
    },
    NumberSetting {
        key: "quotaGuard7dPercent",
        label: T::QuotaGuard7d,
        help: T::QuotaGuard7dHelp,
        range: 0.0..=100.0,
        suffix: " %",
        whole: false,
    },
    NumberSetting {
        key: "usagePollIntervalSecs",
        label: T::PollInterval,
        help: T::PollIntervalHelp,
        range: 30.0..=86_400.0,
        suffix: " s",
        whole: true,
    },
    NumberSetting {
        key: "logRetentionDays",
        label: T::LogRetention,
        help: T::LogRetentionHelp,
        range: 0.0..=3_650.0,
        suffix: "",
        whole: true,
    },
    NumberSetting {
        key: "logMaxRows",
        label: T::LogMaxRows,
        help: T::LogMaxRowsHelp,
        range: 0.0..=100_000_000.0,
        suffix: "",
        whole: true,
    },
];

pub struct SettingsPage {
    backend: Backend,
    addr: String,
    gateway: Option<GatewayFields>,
    /// The global upstream proxy's field, for the stored (masked) value it was made from.
    proxy: Option<(String, ProxyField)>,
    save_job: Option<Job<HashMap<String, SettingView>>>,
    restart_after_save: bool,
    /// "Open the gateway to other machines?" is being asked about the typed address.
    confirm_lan: bool,
    token: Option<Result<String, String>>,
    token_job: Option<Job<String>>,
    show_token: bool,
    open_job: Option<Job<()>>,
    cjk_font: Option<PathBuf>,
    tray_available: bool,
    /// Whether the app is registered to start at login, once read from the OS.
    autostart: Option<bool>,
    autostart_job: Option<Job<bool>>,
}

fn setting(settings: &HashMap<String, SettingView>, key: &str) -> (String, Source) {
    match settings.get(key) {
        Some(view) => (view.value.clone(), view.source),
        None => {
            let default = config::setting_spec(key).map_or("", |spec| spec.default);
            (default.to_string(), Source::Default)
        }
    }
}

/// Whether a listen address (several may be given, comma-separated) lets other machines in:
/// any host but `localhost` and the loopback addresses.
fn exposes_network(addr: &str) -> bool {
    addr.split(',').map(str::trim).filter(|a| !a.is_empty()).any(|a| {
        let host = a.rsplit_once(':').map_or(a, |(host, _)| host).trim_matches(['[', ']']);
        !(host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()))
    })
}

/// "Set by CODEXMANAGER_X" under a field the environment decides.
fn env_note(ui: &mut egui::Ui, key: &str, source: Source) {
    if source == Source::Environment
        && let Some(var) = config::setting_spec(key).and_then(|spec| spec.env)
    {
        ui.label(RichText::new(T::SetByEnv.fill(&[&var])).color(theme::weak(ui)).size(12.0));
    }
}

impl SettingsPage {
    pub fn new(backend: Backend, cjk_font: Option<PathBuf>) -> SettingsPage {
        let addr = backend.core.config().service_addr.clone();
        SettingsPage {
            backend,
            addr,
            gateway: None,
            proxy: None,
            save_job: None,
            restart_after_save: false,
            confirm_lan: false,
            token: None,
            token_job: None,
            show_token: false,
            open_job: None,
            cjk_font,
            tray_available: false,
            autostart: None,
            autostart_job: None,
        }
    }

    /// Tells the page whether closing the window can hide it to a tray.
    pub fn set_tray_available(&mut self, available: bool) {
        self.tray_available = available;
    }

    fn save(&mut self, ctx: &egui::Context, values: Vec<(&str, Value)>) {
        let patch: Map<String, Value> = values.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let core = self.backend.core.clone();
        self.save_job = Some(self.backend.spawn(ctx, async move { core.set_settings(patch).await }));
    }

    fn poll(&mut self, ctx: &egui::Context) {
        if let Some(result) = poll_slot(&mut self.save_job) {
            match result {
                Ok(_) => {
                    self.gateway = None;
                    if std::mem::take(&mut self.restart_after_save) {
                        self.backend.service.restart(&self.backend.runtime, ctx);
                    }
                    self.backend.notices.info(T::Saved, &[]);
                }
                Err(err) => {
                    self.restart_after_save = false;
                    self.backend.notices.error(T::SaveSettingsFailed, &err);
                }
            }
        }
        match poll_slot(&mut self.autostart_job) {
            Some(Ok(enabled)) => self.autostart = Some(enabled),
            Some(Err(err)) => self.backend.notices.error(T::StartAtLoginFailed, &err),
            None if self.autostart.is_none() => self.set_autostart(ctx, None),
            None => {}
        }
        if let Some(result) = poll_slot(&mut self.token_job) {
            self.token = Some(result);
        }
        if let Some(Err(err)) = poll_slot(&mut self.open_job) {
            self.backend.notices.error(T::OpenFolderFailed, &err);
        }
        if self.token.is_none() && self.token_job.is_none() {
            let config = self.backend.core.config();
            let configured = config.rpc_token.clone();
            let file = config.paths.rpc_token_file();
            self.token_job = Some(self.backend.spawn(ctx, async move {
                match configured {
                    Some(token) => Ok(token),
                    None => tokio::fs::read_to_string(&file)
                        .await
                        .map(|t| t.trim().to_string())
                        .map_err(|err| format!("{}: {err}", file.display())),
                }
            }));
        }
    }

    /// Registers or unregisters start at login (`None` only reads), then reads it back.
    fn set_autostart(&mut self, ctx: &egui::Context, enabled: Option<bool>) {
        if self.autostart_job.is_some() {
            return;
        }
        self.autostart_job = Some(self.backend.spawn(ctx, async move {
            tokio::task::spawn_blocking(move || {
                if let Some(enabled) = enabled {
                    crate::autostart::set_enabled(enabled)?;
                }
                crate::autostart::is_enabled()
            })
            .await
            .map_err(|err| err.to_string())?
            .map_err(|err| err.to_string())
        }));
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll(ui.ctx());
        let settings = self.backend.core.settings();
        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            let width = ui.available_width();
            // Columns lay text out justified; cards read better ragged-right.
            let column = |ui: &mut egui::Ui, add: &mut dyn FnMut(&mut egui::Ui)| {
                ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| add(ui));
            };
            if width >= 1150.0 {
                ui.columns(3, |cols| {
                    column(&mut cols[0], &mut |ui| {
                        self.service_card(ui, &settings);
                        ui.add_space(theme::GAP);
                        self.data_card(ui);
                    });
                    column(&mut cols[1], &mut |ui| self.gateway_card(ui, &settings));
                    column(&mut cols[2], &mut |ui| {
                        self.appearance_card(ui, &settings);
                        ui.add_space(theme::GAP);
                        self.proxy_card(ui, &settings);
                    });
                });
            } else if width >= 900.0 {
                ui.columns(2, |cols| {
                    column(&mut cols[0], &mut |ui| {
                        self.service_card(ui, &settings);
                        ui.add_space(theme::GAP);
                        self.gateway_card(ui, &settings);
                    });
                    column(&mut cols[1], &mut |ui| {
                        self.proxy_card(ui, &settings);
                        ui.add_space(theme::GAP);
                        self.appearance_card(ui, &settings);
                        ui.add_space(theme::GAP);
                        self.data_card(ui);
                    });
                });
            } else {
                self.service_card(ui, &settings);
                ui.add_space(theme::GAP);
                self.gateway_card(ui, &settings);
                ui.add_space(theme::GAP);
                self.proxy_card(ui, &settings);
                ui.add_space(theme::GAP);
                self.appearance_card(ui, &settings);
                ui.add_space(theme::GAP);
                self.data_card(ui);
            }
            ui.add_space(theme::GAP);
        });
    }

    fn service_card(&mut self, ui: &mut egui::Ui, settings: &HashMap<String, SettingView>) {
        theme::card(ui, T::Service.tr(), Some(T::ServiceSettingsSubtitle.tr()), |ui| {
            let state = self.backend.service.state();
            let busy = state.is_busy() || self.save_job.is_some();
            ui.horizontal(|ui| {
                service_pill(ui, &state);
                if busy {
                    ui.spinner();
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if state.addr().is_some() {
                        if theme::button_enabled(ui, !busy, T::StopService.tr()).clicked() {
                            self.backend.service.stop(&self.backend.runtime, ui.ctx());
                        }
                    } else if theme::primary_button(ui, !busy, T::StartService.tr()).clicked() {
                        self.backend.service.start(&self.backend.runtime, ui.ctx());
                    }
                });
            });
            if let super::service_ctl::ServiceState::Failed(reason) = &state {
                ui.add(egui::Label::new(RichText::new(reason).color(ui.visuals().error_fg_color)).wrap());
            }
            ui.add_space(4.0);
            let (stored, source) = setting(settings, "serviceAddr");
            ui.label(T::ServiceAddress.tr());
            ui.horizontal(|ui| {
                let editable = source != Source::Environment;
                ui.add_enabled(
                    editable,
                    egui::TextEdit::singleline(&mut self.addr).hint_text("localhost:48760").desired_width(220.0),
                );
                let changed = self.addr.trim() != stored;
                if theme::button_enabled(ui, editable && !busy && !self.addr.trim().is_empty(), T::ApplyRestart.tr())
                    .on_hover_text(T::ApplyRestartHint.tr())
                    .clicked()
                {
                    if changed && exposes_network(&self.addr) {
                        self.confirm_lan = true;
                    } else if changed {
                        self.save_addr(ui.ctx());
                    } else {
                        self.backend.service.restart(&self.backend.runtime, ui.ctx());
                    }
                }
            });
            env_note(ui, "serviceAddr", source);
        });
        if self.confirm_lan {
            let answer = Confirm {
                id: "confirm_lan",
                title: T::LanTitle.tr().to_string(),
                message: T::LanBody.fill(&[&self.addr.trim()]),
                items: &[],
                note: None,
                action: T::LanAction.tr(),
            }
            .show(ui.ctx());
            match answer {
                Some(Answer::Confirmed) => {
                    self.confirm_lan = false;
                    self.save_addr(ui.ctx());
                }
                Some(Answer::Cancelled) => self.confirm_lan = false,
                None => {}
            }
        }
    }

    /// Stores the typed listen address, then restarts the service on it.
    fn save_addr(&mut self, ctx: &egui::Context) {
        self.restart_after_save = true;
        self.save(ctx, vec![("serviceAddr", Value::String(self.addr.trim().to_string()))]);
    }

    fn gateway_card(&mut self, ui: &mut egui::Ui, settings: &HashMap<String, SettingView>) {
        let (route, route_src) = setting(settings, "routeStrategy");
        let numbers = NUMBERS.map(|n| setting(settings, n.key));
        let stored = GatewayFields {
            route: config::RouteStrategy::parse(&route).unwrap_or(config::RouteStrategy::Ordered).as_str().to_string(),
            numbers: std::array::from_fn(|i| {
                let default =
                    config::setting_spec(NUMBERS[i].key).map_or(0.0, |spec| spec.default.parse().unwrap_or(0.0));
                numbers[i].0.parse().unwrap_or(default)
            }),
        };
        let mut fields = self.gateway.clone().unwrap_or_else(|| stored.clone());
        theme::card(ui, T::Gateway.tr(), Some(T::GatewaySubtitle.tr()), |ui| {
            ui.label(T::RouteStrategy.tr());
            ui.add_enabled_ui(route_src != Source::Environment, |ui| {
                let mut choice = if fields.route == "balanced" { "balanced" } else { "ordered" };
                if theme::segmented(
                    ui,
                    &mut choice,
                    &[("ordered", T::RouteOrdered.tr()), ("balanced", T::RouteBalanced.tr())],
                ) {
                    fields.route = choice.to_string();
                }
            });
            let help = if fields.route == "balanced" { T::RouteBalancedHelp } else { T::RouteOrderedHelp };
            ui.label(RichText::new(help.tr()).color(theme::weak(ui)).size(12.0));
            env_note(ui, "routeStrategy", route_src);
            ui.add_space(6.0);
            egui::Grid::new("gateway_fields").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
                for (i, number) in NUMBERS.iter().enumerate() {
                    ui.label(number.label.tr());
                    ui.vertical(|ui| {
                        ui.spacing_mut().item_spacing.y = 2.0;
                        let value = egui::DragValue::new(&mut fields.numbers[i])
                            .range(number.range.clone())
                            .max_decimals(if number.whole { 0 } else { 1 })
                            .suffix(number.suffix);
                        let field = ui.add_enabled(numbers[i].1 != Source::Environment, value);
                        theme::name_widget(&field, egui::Role::SpinButton, number.label.tr());
                        ui.add(
                            egui::Label::new(RichText::new(number.help.tr()).color(theme::weak(ui)).size(12.0)).wrap(),
                        );
                        env_note(ui, number.key, numbers[i].1);
                    });
                    ui.end_row();
                }
            });
            ui.add_space(6.0);
            let dirty = fields != stored;
            ui.horizontal(|ui| {
                if theme::primary_button(ui, dirty && self.save_job.is_none(), T::Save.tr()).clicked() {
                    let mut values = Vec::new();
                    if route_src != Source::Environment {
                        values.push(("routeStrategy", Value::String(fields.route.clone())));
                    }
                    for (i, number) in NUMBERS.iter().enumerate() {
                        if numbers[i].1 != Source::Environment {
                            let value = fields.numbers[i];
                            values.push((
                                number.key,
                                if number.whole { Value::from(value as u64) } else { Value::from(value) },
                            ));
                        }
                    }
                    self.save(ui.ctx(), values);
                }
                if theme::button_enabled(ui, dirty, T::Revert.tr()).clicked() {
                    fields = stored.clone();
                }
            });
        });
        self.gateway = Some(fields).filter(|f| *f != stored);
    }

    fn proxy_card(&mut self, ui: &mut egui::Ui, settings: &HashMap<String, SettingView>) {
        theme::card(ui, T::UpstreamProxy.tr(), Some(T::UpstreamProxyHelp.tr()), |ui| self.upstream_proxy(ui, settings));
    }

    /// The global upstream proxy, with Test and its own Save.
    fn upstream_proxy(&mut self, ui: &mut egui::Ui, settings: &HashMap<String, SettingView>) {
        let (stored, source) = setting(settings, "upstreamProxyUrl");
        if self.proxy.as_ref().is_none_or(|(made_from, _)| *made_from != stored) {
            let field = ProxyField::new(
                self.backend.clone(),
                ProxyOwner::Global,
                Some(stored.clone()),
                source != Source::Environment,
            );
            self.proxy = Some((stored, field));
        }
        let editable = source != Source::Environment;
        let idle = self.save_job.is_none();
        let Some((_, field)) = self.proxy.as_mut() else { return };
        let mut value = None;
        field.ui_with(ui, |ui, field| {
            if theme::primary_button(ui, editable && idle && field.dirty(), T::SaveProxy.tr()).clicked()
                && let Ok(Some(changed)) = field.change()
            {
                value = Some(changed);
            }
        });
        env_note(ui, "upstreamProxyUrl", source);
        if let Some(value) = value {
            self.save(ui.ctx(), vec![("upstreamProxyUrl", Value::String(value))]);
        }
    }

    fn appearance_card(&mut self, ui: &mut egui::Ui, settings: &HashMap<String, SettingView>) {
        let (locale, _) = setting(settings, "locale");
        let (theme_setting, _) = setting(settings, "theme");
        let (close_to_tray, _) = setting(settings, "closeToTray");
        let (accent, _) = setting(settings, "accent");
        theme::card(ui, T::Appearance.tr(), Some(T::AppearanceSubtitle.tr()), |ui| {
            ui.label(T::Language.tr());
            let mut language = match locale.as_str() {
                "zh-CN" => "zh-CN",
                "en" => "en",
                _ => "",
            };
            let system = T::FollowSystemLang.fill(&[&Lang::system().native_name()]);
            if theme::segmented(
                ui,
                &mut language,
                &[("", system.as_str()), ("zh-CN", Lang::Zh.native_name()), ("en", Lang::En.native_name())],
            ) {
                self.save(ui.ctx(), vec![("locale", Value::String(language.to_string()))]);
            }
            if self.cjk_font.is_none() {
                ui.label(RichText::new(T::NoCjkFont.tr()).color(theme::weak(ui)).size(12.0));
            }
            ui.add_space(6.0);
            ui.label(T::Theme.tr());
            let mut look = match theme_setting.as_str() {
                "light" => "light",
                "dark" => "dark",
                _ => "system",
            };
            if theme::segmented(
                ui,
                &mut look,
                &[("system", T::FollowSystem.tr()), ("light", T::Light.tr()), ("dark", T::Dark.tr())],
            ) {
                self.save(ui.ctx(), vec![("theme", Value::String(look.to_string()))]);
            }
            ui.add_space(6.0);
            ui.label(T::Accent.tr());
            let mut palette = theme::Palette::from_setting(&accent);
            let palettes: Vec<(theme::Palette, &str)> = theme::Palette::ALL.iter().map(|p| (*p, p.name())).collect();
            if theme::segmented(ui, &mut palette, &palettes) {
                self.save(ui.ctx(), vec![("accent", Value::String(palette.setting().to_string()))]);
            }
            ui.add_space(6.0);
            let mut tray = config::parse_bool(&close_to_tray).unwrap_or(true);
            if ui.checkbox(&mut tray, T::CloseToTray.tr()).changed() {
                self.save(ui.ctx(), vec![("closeToTray", Value::Bool(tray))]);
            }
            let hint = if self.tray_available { T::CloseToTrayHelp } else { T::NoTrayNote };
            ui.label(RichText::new(hint.tr()).color(theme::weak(ui)).size(12.0));
            ui.add_space(6.0);
            let mut at_login = self.autostart.unwrap_or(false);
            let ready = self.autostart.is_some() && self.autostart_job.is_none();
            if ui.add_enabled(ready, egui::Checkbox::new(&mut at_login, T::StartAtLogin.tr())).changed() {
                self.set_autostart(ui.ctx(), Some(at_login));
            }
            ui.label(RichText::new(T::StartAtLoginHelp.tr()).color(theme::weak(ui)).size(12.0));
        });
    }

    fn data_card(&mut self, ui: &mut egui::Ui) {
        let config = self.backend.core.config();
        theme::card(ui, T::DataSecurity.tr(), Some(T::DataSecuritySubtitle.tr()), |ui| {
            egui::Grid::new("data_fields").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
                ui.label(RichText::new(T::DataFolder.tr()).color(theme::weak(ui)));
                ui.vertical(|ui| {
                    ui.add(egui::Label::new(RichText::new(config.paths.dir.display().to_string()).monospace()).wrap());
                    let why = match config.paths.location {
                        DataLocation::Explicit => T::LocationExplicit,
                        DataLocation::Portable => T::LocationPortable,
                        DataLocation::OsDataDir => T::LocationOs,
                        DataLocation::BesideExecutable => T::LocationBeside,
                    };
                    ui.label(RichText::new(why.tr()).color(theme::weak(ui)).size(12.0));
                    if theme::button_enabled(ui, self.open_job.is_none(), T::OpenFolder.tr()).clicked() {
                        let dir = config.paths.dir.clone();
                        // Worded here: the language is the UI thread's.
                        let failed = T::NoFileManager.fill(&[&dir.display()]);
                        self.open_job = Some(self.backend.spawn(ui.ctx(), async move {
                            tokio::task::spawn_blocking(move || open::that(&dir).map_err(|_| failed))
                                .await
                                .map_err(|e| e.to_string())?
                        }));
                    }
                });
                ui.end_row();
                ui.label(RichText::new(T::SecretStore.tr()).color(theme::weak(ui)));
                let store = match self.backend.core.vault().source() {
                    KeySource::Keyring => T::KeyInKeyring.tr().to_string(),
                    KeySource::File(path) => T::KeyInFile.fill(&[&path.display()]),
                    KeySource::Given(from) => from.clone(),
                };
                ui.add(egui::Label::new(store).wrap());
                ui.end_row();
                ui.label(RichText::new(T::RpcToken.tr()).color(theme::weak(ui)));
                ui.vertical(|ui| match &self.token {
                    Some(Ok(token)) => {
                        let shown = if self.show_token { token.clone() } else { "•".repeat(24) };
                        ui.label(RichText::new(shown).monospace());
                        ui.horizontal(|ui| {
                            let toggle = if self.show_token { T::Hide } else { T::Show };
                            if theme::button(ui, toggle.tr()).clicked() {
                                self.show_token = !self.show_token;
                            }
                            if theme::button(ui, T::Copy.tr()).clicked() {
                                ui.ctx().copy_text(token.clone());
                                self.backend.notices.info(T::TokenCopied, &[]);
                            }
                        });
                    }
                    Some(Err(_)) => {
                        ui.label(RichText::new(T::TokenNotYet.tr()).color(theme::weak(ui)));
                        if theme::button(ui, T::Refresh.tr()).clicked() {
                            self.token = None;
                        }
                    }
                    None => {
                        ui.spinner();
                    }
                });
                ui.end_row();
                ui.label(RichText::new(T::Version.tr()).color(theme::weak(ui)));
                ui.label(format!("{} ({})", env!("CARGO_PKG_VERSION"), env!("CODEXMANAGER_GIT_COMMIT")));
                ui.end_row();
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_keep_the_gateway_to_this_machine() {
        for addr in ["localhost:48760", "127.0.0.1:48760", "[::1]:48760", "LOCALHOST:1, 127.0.0.2:2"] {
            assert!(!exposes_network(addr), "{addr}");
        }
        for addr in ["0.0.0.0:48760", "192.168.1.5:48760", "[::]:48760", "localhost:1,0.0.0.0:2", "myhost:48760"] {
            assert!(exposes_network(addr), "{addr}");
        }
    }
}
