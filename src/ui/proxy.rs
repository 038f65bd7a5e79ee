//! Proxies in the window: the proxy field with its Test button (Edit account, the sign-in
//! tab, Settings' Gateway card), the check of a typed proxy in the window's language, and the
//! badge the Accounts table shows for an account with a proxy of its own. A proxy URL's
//! password is never shown: stored proxies arrive masked from the core, and a field starts
//! empty (leaving it empty keeps what is stored).

use egui::RichText;

use super::backend::{Backend, Job, poll_slot};
use super::i18n::T;
use super::theme;
use crate::core::RouteTest;
use crate::egress::{AccountProxy, ProxyError, ProxyUrl, Route};

/// What the field chooses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// An account: the global setting. Settings: the system's proxy settings.
    Inherit,
    /// An account only: no proxy, whatever the global setting says.
    Direct,
    /// A proxy URL.
    Own,
}

/// Whose proxy the field edits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProxyOwner {
    /// An account's stored proxy (tested through its route as stored).
    Account(String),
    /// The proxy a new account signs in through.
    SignIn,
    /// The global upstream proxy.
    Global,
}

/// A proxy choice with its Test button and result.
pub struct ProxyField {
    backend: Backend,
    owner: ProxyOwner,
    /// What is stored, as the core shows it: `None` (inherit), `direct`, or a masked URL.
    stored: Option<String>,
    mode: ProxyMode,
    url: String,
    test: Option<Job<RouteTest>>,
    result: Option<RouteTest>,
    /// What is wrong with the typed URL, in the window's language.
    problem: Option<String>,
    editable: bool,
}

/// Example shown in an empty URL field.
pub const PROXY_HINT: &str = "socks5h://127.0.0.1:7890";

/// A typed proxy URL checked, with the problem in the window's language.
pub fn check_url(text: &str) -> Result<(), String> {
    ProxyUrl::parse(text).map(|_| ()).map_err(|err| problem_text(&err))
}

fn problem_text(err: &ProxyError) -> String {
    match err {
        ProxyError::Invalid(..) => T::ProxyNotUrl.fill(&[&PROXY_HINT]),
        ProxyError::Scheme { scheme } => T::ProxyScheme.fill(&[scheme]),
        ProxyError::Client { reason, .. } => reason.clone(),
    }
}

/// The mode a stored value (`None`, `direct`, a URL) stands for.
fn mode_of(stored: Option<&str>) -> ProxyMode {
    match stored {
        None | Some("") => ProxyMode::Inherit,
        Some("direct") => ProxyMode::Direct,
        Some(_) => ProxyMode::Own,
    }
}

impl ProxyField {
    /// `stored` as the core shows it; `editable` is false when the environment decides.
    pub fn new(backend: Backend, owner: ProxyOwner, stored: Option<String>, editable: bool) -> ProxyField {
        let stored = stored.filter(|s| !s.is_empty());
        ProxyField {
            backend,
            owner,
            mode: mode_of(stored.as_deref()),
            stored,
            url: String::new(),
            test: None,
            result: None,
            problem: None,
            editable,
        }
    }

    fn stored_mode(&self) -> ProxyMode {
        mode_of(self.stored.as_deref())
    }

    /// Whether a stored URL stays as it is (own proxy chosen, nothing typed).
    fn keeps_stored_url(&self) -> bool {
        self.mode == ProxyMode::Own && self.url.trim().is_empty() && self.stored_mode() == ProxyMode::Own
    }

    /// Whether the field differs from what is stored.
    pub fn dirty(&self) -> bool {
        self.mode != self.stored_mode() || !self.url.trim().is_empty()
    }

    /// What to save: `Ok(None)` when nothing changed, else the value to store (`inherit`,
    /// `direct` or a URL for an account; empty or a URL for the global proxy). An invalid URL
    /// is marked under the field and gives `Err`.
    pub fn change(&mut self) -> Result<Option<String>, ()> {
        self.problem = None;
        let global = self.owner == ProxyOwner::Global;
        match self.mode {
            ProxyMode::Own if self.keeps_stored_url() => Ok(None),
            ProxyMode::Own => match check_url(&self.url) {
                Ok(()) => Ok(Some(self.url.trim().to_string())),
                Err(problem) => {
                    self.problem = Some(problem);
                    Err(())
                }
            },
            mode if mode == self.stored_mode() => Ok(None),
            ProxyMode::Inherit => Ok(Some(if global { String::new() } else { "inherit".into() })),
            ProxyMode::Direct => Ok(Some("direct".into())),
        }
    }

    /// The choice as the core takes it for a new account's sign-in.
    pub fn sign_in_choice(&mut self) -> Result<AccountProxy, ()> {
        let text = match self.mode {
            ProxyMode::Inherit => "inherit".to_string(),
            ProxyMode::Direct => "direct".to_string(),
            ProxyMode::Own => self.url.clone(),
        };
        AccountProxy::parse(&text).map_err(|err| self.problem = Some(problem_text(&err)))
    }

    /// Tries what the field would save: the typed URL, else the stored route.
    fn start_test(&mut self, ctx: &egui::Context) {
        self.result = None;
        self.problem = None;
        let core = self.backend.core.clone();
        let typed = self.url.trim().to_string();
        let account = match &self.owner {
            ProxyOwner::Account(id) if self.mode == self.stored_mode() && typed.is_empty() => Some(id.clone()),
            _ => None,
        };
        let route = match self.mode {
            ProxyMode::Own if !typed.is_empty() => match ProxyUrl::parse(&typed) {
                Ok(url) => Route::Proxy(url),
                Err(err) => {
                    self.problem = Some(problem_text(&err));
                    return;
                }
            },
            ProxyMode::Own if self.stored_mode() != ProxyMode::Own => {
                self.problem = Some(T::ProxyTypeFirst.fill(&[&PROXY_HINT]));
                return;
            }
            ProxyMode::Own | ProxyMode::Inherit if self.owner == ProxyOwner::Global => {
                if self.mode == ProxyMode::Inherit { Route::System } else { core.route_for_new(&AccountProxy::Inherit) }
            }
            ProxyMode::Direct => Route::Direct,
            ProxyMode::Own | ProxyMode::Inherit => core.route_for_new(&AccountProxy::Inherit),
        };
        self.test = Some(self.backend.spawn(ctx, async move {
            if let Some(id) = account {
                let mut tests = core.test_account_routes(&[id]).await?;
                return tests.pop().ok_or(crate::core::CoreError::Invalid("no route was tested".into()));
            }
            Ok(core.test_route(&route).await)
        }));
    }

    /// Draws the choice, the URL field, Test and its result.
    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.ui_with(ui, |_, _| {});
    }

    /// As [`ProxyField::ui`], with `actions` drawn after Test on its row (Settings' Save).
    pub fn ui_with(&mut self, ui: &mut egui::Ui, actions: impl FnOnce(&mut egui::Ui, &mut ProxyField)) {
        match poll_slot(&mut self.test) {
            Some(Ok(result)) => self.result = Some(result),
            Some(Err(err)) => self.problem = Some(err),
            None => {}
        }
        let busy = self.test.is_some();
        ui.vertical(|ui| {
            ui.spacing_mut().item_spacing.y = 4.0;
            let before = (self.mode, self.url.clone());
            ui.add_enabled_ui(self.editable, |ui| {
                let inherit = if self.owner == ProxyOwner::Global { T::ProxySystem } else { T::ProxyGlobal };
                let mut options = vec![(ProxyMode::Inherit, inherit.tr())];
                if self.owner != ProxyOwner::Global {
                    options.push((ProxyMode::Direct, T::ProxyDirect.tr()));
                }
                options.push((ProxyMode::Own, T::ProxyOwn.tr()));
                theme::segmented(ui, &mut self.mode, &options);
            });
            if self.mode == ProxyMode::Own {
                let hint = match (&self.stored, self.stored_mode()) {
                    (Some(current), ProxyMode::Own) => current.clone(),
                    _ => PROXY_HINT.to_string(),
                };
                let field = ui.add_enabled(
                    self.editable,
                    egui::TextEdit::singleline(&mut self.url)
                        .hint_text(hint)
                        .desired_width(ui.available_width().min(360.0))
                        .font(egui::TextStyle::Monospace),
                );
                theme::name_widget(&field, egui::Role::TextInput, T::ProxyUrl.tr());
            }
            ui.horizontal(|ui| {
                if theme::button_enabled(ui, !busy, T::TestProxy.tr()).on_hover_text(T::TestProxyHint.tr()).clicked() {
                    self.start_test(ui.ctx());
                }
                actions(ui, self);
                if busy {
                    ui.spinner();
                }
            });
            if (self.mode, self.url.clone()) != before {
                self.result = None;
                self.problem = None;
            }
            if self.keeps_stored_url() {
                ui.label(RichText::new(T::ProxyKeepsStored.tr()).color(theme::weak(ui)).size(12.0));
            } else if self.mode == ProxyMode::Inherit {
                let help = if self.owner == ProxyOwner::Global { T::ProxySystemHelp } else { T::ProxyGlobalHelp };
                ui.label(RichText::new(help.tr()).color(theme::weak(ui)).size(12.0));
            }
            if let Some(problem) = &self.problem {
                theme::field_error(ui, problem);
            }
            if let Some(result) = &self.result {
                test_result(ui, result);
            }
        });
    }
}

/// A route test's outcome in one line.
fn test_result(ui: &mut egui::Ui, result: &RouteTest) {
    let route = route_text(&result.route);
    if result.reachable {
        let status = result.status.map_or_else(String::new, |s| format!(" (HTTP {s})"));
        theme::note(ui, &T::ProxyReached.fill(&[&route, &result.elapsed_ms, &status]), theme::Tone::Good);
    } else {
        let error = result.error.as_deref().map_or_else(String::new, reason_text);
        theme::note(ui, &T::ProxyNotReached.fill(&[&route, &error]), theme::Tone::Bad);
    }
}

/// A route as the core describes it, in the window's language.
fn route_text(route: &str) -> String {
    match route {
        "direct" => T::ProxyDirect.tr().to_string(),
        "the system's proxy settings" => T::ProxySystem.tr().to_string(),
        other => other.to_string(),
    }
}

/// A proxy failure's words (`proxy unreachable (…): …`) with the fixed part translated.
pub fn reason_text(reason: &str) -> String {
    let translated = [
        ("proxy unreachable", T::ProxyUnreachable),
        ("the proxy refused the user name or password", T::ProxyBadCredentials),
        ("nothing answers at the proxy's address (connection refused)", T::ProxyRefused),
        ("the proxy did not answer in time", T::ProxyTimeout),
    ];
    let mut text = reason.to_string();
    for (english, key) in translated {
        text = text.replace(english, key.tr());
    }
    text
}

/// The badge of an account with its own proxy choice (`direct` or a masked URL); nothing for
/// one that follows the global setting.
pub fn badge(ui: &mut egui::Ui, proxy: Option<&str>) {
    let Some(proxy) = proxy else { return };
    let text = if proxy == "direct" { T::ProxyDirect.tr() } else { T::ProxyBadge.tr() };
    let tip = if proxy == "direct" { T::ProxyDirectHelp.tr().to_string() } else { T::ProxyOf.fill(&[&proxy]) };
    theme::pill(ui, text, theme::Tone::Accent).on_hover_text(tip);
}
