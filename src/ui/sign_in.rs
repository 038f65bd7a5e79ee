//! The "Sign in" tab of the Add-account dialog: browser sign-in (the callback listener takes
//! the answer), pasting the address the browser ended on, and device codes. The core runs the
//! sign-in; this tab starts it (through the proxy chosen under "Sign in through", which the
//! new account keeps), shows what the person must open or type, and polls its status once a
//! second until it ends.

use std::time::Duration;

use egui::RichText;

use super::backend::{Backend, Job, poll_slot};
use super::i18n::T;
use super::proxy::{ProxyField, ProxyOwner};
use super::theme;
use crate::core::{LoginKind, LoginState, LoginStatus, LoginTicket};

/// How the person signs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Method {
    Browser,
    Paste,
    Device,
}

pub struct SignInTab {
    backend: Backend,
    method: Method,
    start: Option<Job<LoginTicket>>,
    ticket: Option<LoginTicket>,
    complete: Option<Job<LoginStatus>>,
    status: Option<LoginStatus>,
    pasted: String,
    error: Option<String>,
    /// The proxy the sign-in's token exchange goes through; the new account keeps it.
    proxy: ProxyField,
}

impl SignInTab {
    pub fn new(backend: Backend) -> SignInTab {
        SignInTab {
            backend: backend.clone(),
            method: Method::Browser,
            start: None,
            ticket: None,
            complete: None,
            status: None,
            pasted: String::new(),
            error: None,
            proxy: ProxyField::new(backend.clone(), ProxyOwner::SignIn, None, true),
        }
    }

    /// Whether a sign-in is under way: starting, waiting for the person, or completing.
    fn pending(&self) -> bool {
        self.start.is_some() || self.complete.is_some() || (self.ticket.is_some() && self.status.is_none())
    }

    /// Cancels a sign-in still pending (when the dialog closes).
    pub fn cancel(&mut self) {
        if let Some(ticket) = self.ticket.take()
            && self.status.as_ref().is_none_or(|s| s.status == LoginState::Pending)
        {
            let core = self.backend.core.clone();
            self.backend.runtime.spawn(async move {
                let _ = core.login_cancel(&ticket.login_id).await;
            });
        }
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.take_results();
        self.poll_status(ui.ctx());
        let busy = self.pending();
        let switched = ui
            .add_enabled_ui(!busy, |ui| {
                theme::segmented(
                    ui,
                    &mut self.method,
                    &[
                        (Method::Browser, T::SignInBrowser.tr()),
                        (Method::Paste, T::SignInPaste.tr()),
                        (Method::Device, T::SignInDevice.tr()),
                    ],
                )
            })
            .inner;
        if switched {
            // What the last way said (an error, "cancelled") is not about this one.
            self.ticket = None;
            self.status = None;
            self.error = None;
            self.pasted.clear();
        }
        ui.add_space(6.0);
        ui.label(match self.method {
            Method::Browser => T::SignInBrowserHelp.tr(),
            Method::Paste => T::SignInPasteHelp.tr(),
            Method::Device => T::SignInDeviceHelp.tr(),
        });
        ui.add_space(4.0);
        ui.add_enabled_ui(!busy, |ui| {
            egui::CollapsingHeader::new(T::SignInThrough.tr()).id_salt("sign_in_proxy").show(ui, |ui| {
                self.proxy.ui(ui);
            });
        });
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            if theme::primary_button(ui, !busy, T::StartSignIn.tr()).clicked() {
                self.begin(ui.ctx());
            }
            if busy && self.ticket.is_some() && theme::button(ui, T::Cancel.tr()).clicked() {
                self.cancel();
                self.status = Some(LoginStatus { status: LoginState::Cancelled, error: None, account_id: None });
            }
            if self.start.is_some() {
                ui.spinner();
            }
        });
        if let Some(ticket) = self.ticket.clone() {
            ui.add_space(8.0);
            self.ticket_ui(ui, &ticket);
        }
        self.outcome_ui(ui);
    }

    fn begin(&mut self, ctx: &egui::Context) {
        self.cancel();
        self.status = None;
        self.error = None;
        self.pasted.clear();
        let kind = match self.method {
            Method::Browser => LoginKind::Browser { open_browser: true },
            Method::Paste => LoginKind::Manual,
            Method::Device => LoginKind::Device,
        };
        let Ok(proxy) = self.proxy.sign_in_choice() else { return };
        let core = self.backend.core.clone();
        self.start = Some(self.backend.spawn(ctx, async move { core.login_start_via(kind, proxy).await }));
    }

    fn take_results(&mut self) {
        match poll_slot(&mut self.start) {
            Some(Ok(ticket)) => self.ticket = Some(ticket),
            Some(Err(error)) => self.error = Some(error),
            None => {}
        }
        match poll_slot(&mut self.complete) {
            Some(Ok(status)) => self.settle(status),
            Some(Err(error)) => self.error = Some(error),
            None => {}
        }
    }

    /// Asks the core where the sign-in stands; repaints once a second while it is pending.
    fn poll_status(&mut self, ctx: &egui::Context) {
        let Some(ticket) = &self.ticket else { return };
        if self.status.is_some() {
            return;
        }
        match self.backend.core.login_status(&ticket.login_id) {
            Ok(status) if status.status == LoginState::Pending => {
                self.error = status.error;
                ctx.request_repaint_after(Duration::from_secs(1));
            }
            Ok(status) => self.settle(status),
            Err(error) => self.error = Some(error.to_string()),
        }
    }

    fn settle(&mut self, status: LoginStatus) {
        if status.status == LoginState::Completed {
            self.backend.notices.info(T::SignedIn, &[]);
        }
        if status.status != LoginState::Pending {
            self.status = Some(status);
        } else {
            self.error = status.error;
        }
    }

    fn ticket_ui(&mut self, ui: &mut egui::Ui, ticket: &LoginTicket) {
        let done = self.status.is_some();
        if let Some(device) = &ticket.device {
            ui.horizontal(|ui| {
                ui.label(T::DeviceCodeIs.tr());
                ui.label(RichText::new(&device.user_code).monospace().size(20.0).strong());
                if theme::button(ui, T::Copy.tr()).clicked() {
                    ui.ctx().copy_text(device.user_code.clone());
                }
            });
            ui.horizontal(|ui| {
                ui.label(T::DevicePage.tr());
                ui.hyperlink(&device.verification_uri);
            });
        } else {
            ui.label(RichText::new(T::SignInAddress.tr()).color(theme::weak(ui)));
            ui.horizontal(|ui| {
                let mut url = ticket.auth_url.clone();
                ui.add(egui::TextEdit::singleline(&mut url).desired_width(380.0).font(egui::TextStyle::Monospace));
                if theme::button(ui, T::Copy.tr()).clicked() {
                    ui.ctx().copy_text(ticket.auth_url.clone());
                }
                if theme::button(ui, T::OpenInBrowser.tr()).clicked() {
                    ui.ctx().open_url(egui::OpenUrl::new_tab(&ticket.auth_url));
                }
            });
        }
        if self.method == Method::Paste && !done {
            ui.add_space(6.0);
            ui.label(T::PastedAddress.tr());
            ui.add(
                egui::TextEdit::singleline(&mut self.pasted)
                    .hint_text(T::PastedHint.tr())
                    .desired_width(f32::INFINITY)
                    .font(egui::TextStyle::Monospace),
            );
            let ready = !self.pasted.trim().is_empty() && self.complete.is_none();
            if theme::primary_button(ui, ready, T::CompleteSignIn.tr()).clicked() {
                let core = self.backend.core.clone();
                let (id, pasted) = (ticket.login_id.clone(), self.pasted.trim().to_string());
                self.complete =
                    Some(self.backend.spawn(ui.ctx(), async move { core.login_complete(&id, &pasted).await }));
            }
        }
        if !done {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(T::WaitingForSignIn.tr());
            });
        }
    }

    fn outcome_ui(&mut self, ui: &mut egui::Ui) {
        if let Some(error) = self.error.clone()
            && theme::error_banner(ui, &error, T::Dismiss.tr())
        {
            self.error = None;
        }
        let Some(status) = &self.status else { return };
        ui.add_space(6.0);
        match status.status {
            LoginState::Completed => theme::note(ui, T::SignedIn.tr(), theme::Tone::Good),
            LoginState::Expired => theme::note(ui, T::SignInExpired.tr(), theme::Tone::Warn),
            LoginState::Cancelled => theme::note(ui, T::SignInCancelled.tr(), theme::Tone::Warn),
            LoginState::Failed => {
                let reason = status.error.clone().unwrap_or_default();
                theme::note(ui, &T::SignInEnded.fill(&[&reason]), theme::Tone::Bad);
            }
            LoginState::Pending => {}
        }
    }
}
