//! The Platform keys page: every gateway key with its prefix (the full key is never stored),
//! protocol, model binding, its use against each of its limits as bars, expiry, state, dates
//! and use from the request log; enabling, disabling, binding a model and deleting. Creating
//! and editing a key and the client set-up snippets live in `key_dialogs`, the key's details
//! with its charts in `key_detail`.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::accounts::empty_state;
use super::backend::{Backend, Job, poll_slot};
use super::dialog::{Answer, Confirm};
use super::i18n::T;
use super::key_detail::{DetailOutcome, KeyDetailDialog};
use super::key_dialogs::{CreateKeyDialog, EditKeyDialog, SetupDialog, model_choices};
use super::{fmt, key_policy, theme};
use crate::core::stats::KeyUsage;
use crate::core::{KeyProtocol, KeyRow};

/// How often the per-key totals refresh while the page is showing.
const USAGE_REFRESH: Duration = Duration::from_secs(30);
/// From this width the table also shows the protocol, the dates and the totals.
const WIDE_TABLE: f32 = 1150.0;
/// The row actions' least width (Set up, Edit, Details, Disable, Delete).
const ACTIONS_WIDTH: f32 = 330.0;

/// A protocol in words.
pub fn protocol_name(protocol: KeyProtocol) -> &'static str {
    match protocol {
        KeyProtocol::Openai => T::ProtocolOpenai.tr(),
        KeyProtocol::Anthropic => T::ProtocolAnthropic.tr(),
        KeyProtocol::AzureOpenai => T::ProtocolAzure.tr(),
    }
}

/// The protocol in a word, for the table's narrow column (the full name is its hover text).
fn protocol_short(protocol: KeyProtocol) -> &'static str {
    match protocol {
        KeyProtocol::Openai => T::ProtocolOpenaiShort.tr(),
        KeyProtocol::Anthropic => T::ProtocolAnthropicShort.tr(),
        KeyProtocol::AzureOpenai => T::ProtocolAzure.tr(),
    }
}

/// What the key table is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeySort {
    Name,
    Created,
    LastUsed,
}

enum RowAction {
    Enable(bool),
    Model(Option<String>),
    Delete,
}

pub struct KeysPage {
    backend: Backend,
    usage: HashMap<String, KeyUsage>,
    usage_job: Option<Job<Vec<KeyUsage>>>,
    usage_loaded: Option<Instant>,
    action: Option<Job<()>>,
    create: Option<CreateKeyDialog>,
    setup: Option<SetupDialog>,
    edit: Option<EditKeyDialog>,
    detail: Option<KeyDetailDialog>,
    confirm_delete: Option<KeyRow>,
    model_text: String,
    sort: KeySort,
    ascending: bool,
}

impl KeysPage {
    pub fn new(backend: Backend) -> KeysPage {
        KeysPage {
            backend,
            usage: HashMap::new(),
            usage_job: None,
            usage_loaded: None,
            action: None,
            create: None,
            setup: None,
            edit: None,
            detail: None,
            confirm_delete: None,
            model_text: String::new(),
            sort: KeySort::Created,
            ascending: true,
        }
    }

    /// Opens "Create key".
    pub fn open_create(&mut self) {
        self.create = Some(CreateKeyDialog::new(self.backend.clone()));
    }

    fn poll(&mut self, ctx: &egui::Context) {
        if let Some(result) = poll_slot(&mut self.usage_job) {
            self.usage_loaded = Some(Instant::now());
            match result {
                Ok(list) => self.usage = list.into_iter().map(|u| (u.key_id.clone(), u)).collect(),
                Err(err) => self.backend.notices.error(T::KeyUsageFailed, &err),
            }
        }
        if self.usage_job.is_none() && self.usage_loaded.is_none_or(|at| at.elapsed() >= USAGE_REFRESH) {
            let core = self.backend.core.clone();
            self.usage_job = Some(self.backend.spawn(ctx, async move { core.key_usage().await }));
        }
        ctx.request_repaint_after(USAGE_REFRESH);
        if let Some(Err(err)) = poll_slot(&mut self.action) {
            self.backend.notices.error(T::KeyActionFailed, &err);
        }
    }

    fn act(&mut self, ctx: &egui::Context, id: String, action: RowAction) {
        let core = self.backend.core.clone();
        self.action = Some(self.backend.spawn(ctx, async move {
            match action {
                RowAction::Enable(on) => core.set_key_enabled(id, on).await,
                RowAction::Model(model) => core.set_key_model(id, model).await,
                RowAction::Delete => core.delete_key(id).await,
            }
        }));
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll(ui.ctx());
        theme::card_frame(ui).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.set_min_height(ui.available_height());
            ui.horizontal(|ui| {
                ui.vertical(|ui| {
                    ui.label(RichText::new(T::PlatformKeys.tr()).size(16.0).strong());
                    ui.label(RichText::new(T::KeysHelp.tr()).color(theme::weak(ui)).size(12.5));
                });
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if theme::primary_button(ui, true, T::CreateKey.tr()).clicked() {
                        self.create = Some(CreateKeyDialog::new(self.backend.clone()));
                    }
                    if self.action.is_some() || self.usage_job.is_some() {
                        ui.spinner();
                    }
                });
            });
            ui.add_space(8.0);
            self.table(ui);
        });
        self.dialogs(ui.ctx());
    }

    fn table(&mut self, ui: &mut egui::Ui) {
        let mut keys = self.backend.core.snapshot().keys.clone();
        keys.sort_by(|a, b| {
            let order = match self.sort {
                KeySort::Name => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
                KeySort::Created => a.created_at.cmp(&b.created_at),
                KeySort::LastUsed => self.last_used(a).cmp(&self.last_used(b)),
            };
            if self.ascending { order } else { order.reverse() }
        });
        if keys.is_empty() {
            empty_state(ui, T::NoKeysYet.tr(), T::NoKeysHint.tr());
            return;
        }
        let wide = ui.available_width() >= WIDE_TABLE;
        let busy = self.action.is_some();
        let now_ms = crate::core::now_millis();
        let mut table = TableBuilder::new(ui)
            .id_salt("keys_table")
            .striped(true)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::exact(140.0).clip(true));
        if wide {
            table = table.column(Column::exact(84.0).clip(true));
        }
        table = table
            .column(Column::exact(112.0).clip(true))
            .column(Column::exact(180.0).clip(true))
            .column(Column::exact(76.0));
        if wide {
            table = table.column(Column::exact(136.0).clip(true)).column(Column::exact(84.0).clip(true));
        }
        table
            .column(Column::remainder().at_least(ACTIONS_WIDTH))
            .header(30.0, |mut header| {
                let heading = |ui: &mut egui::Ui, text: &str| {
                    ui.label(RichText::new(text).strong().color(theme::weak(ui)));
                };
                header.col(|ui| self.sort_header(ui, T::NameKey.tr(), KeySort::Name));
                if wide {
                    header.col(|ui| heading(ui, T::Protocol.tr()));
                }
                header.col(|ui| heading(ui, T::ModelBinding.tr()));
                header.col(|ui| heading(ui, T::Limits.tr()));
                header.col(|ui| heading(ui, T::Status.tr()));
                if wide {
                    header.col(|ui| {
                        self.sort_header(ui, T::CreatedHeader.tr(), KeySort::Created);
                        ui.label(RichText::new("/").color(theme::weak(ui)));
                        self.sort_header(ui, T::LastUsedHeader.tr(), KeySort::LastUsed);
                    });
                    header.col(|ui| heading(ui, T::RequestsTokens.tr()));
                }
                header.col(|ui| heading(ui, T::Actions.tr()));
            })
            .body(|body| {
                body.rows(theme::ROW_HEIGHT, keys.len(), |mut row| {
                    let key = &keys[row.index()];
                    row.col(|ui| {
                        ui.vertical(|ui| {
                            ui.spacing_mut().item_spacing.y = 2.0;
                            ui.add(egui::Label::new(RichText::new(&key.name).strong()).truncate());
                            let second = if wide {
                                key.key_prefix.clone()
                            } else {
                                format!("{} · {}", key.key_prefix, protocol_short(key.protocol))
                            };
                            let second = RichText::new(second).size(11.0).monospace().color(theme::weak(ui));
                            ui.add(egui::Label::new(second).truncate());
                        });
                    });
                    if wide {
                        row.col(|ui| {
                            ui.add(egui::Label::new(protocol_short(key.protocol)).truncate())
                                .on_hover_text(protocol_name(key.protocol));
                        });
                    }
                    row.col(|ui| self.model_cell(ui, key, busy));
                    row.col(|ui| self.limits_cell(ui, key, now_ms));
                    row.col(|ui| {
                        if key.policy.expires_at.is_some_and(|at| at * 1000 <= now_ms) {
                            theme::pill(ui, T::Expired.tr(), theme::Tone::Bad);
                        } else if key.enabled {
                            theme::pill(ui, T::Enabled.tr(), theme::Tone::Good);
                        } else {
                            theme::pill(ui, T::Disabled.tr(), theme::Tone::Neutral);
                        }
                    });
                    if wide {
                        self.dates_and_use(&mut row, key);
                    }
                    row.col(|ui| self.actions_cell(ui, key, busy));
                });
            });
    }

    /// The key's use against each of its limits (from the quotas in memory), and its expiry.
    fn limits_cell(&self, ui: &mut egui::Ui, key: &KeyRow, now_ms: i64) {
        let uses = self.backend.core.quotas().usage(&key.id, &key.policy, now_ms);
        ui.vertical(|ui| {
            ui.spacing_mut().item_spacing.y = 2.0;
            if uses.is_empty() {
                ui.label(RichText::new(T::NoLimit.tr()).size(12.5).color(theme::weak(ui)));
            } else {
                let most = if key.policy.expires_at.is_some() { 1 } else { 2 };
                key_policy::limit_bars(ui, &uses, most);
            }
            if let Some(at) = key.policy.expires_at {
                let text = format!("{} {}", T::Expires.tr(), fmt::datetime_secs(at));
                ui.add(egui::Label::new(RichText::new(text).size(11.0).color(theme::weak(ui))).truncate());
            }
        });
    }

    fn dates_and_use(&self, row: &mut egui_extras::TableRow<'_, '_>, key: &KeyRow) {
        let usage = self.usage.get(&key.id);
        row.col(|ui| {
            ui.vertical(|ui| {
                ui.spacing_mut().item_spacing.y = 2.0;
                ui.label(RichText::new(fmt::datetime_secs(key.created_at)).size(12.5));
                let last = self.last_used(key).map_or_else(|| T::Never.tr().to_string(), fmt::datetime_secs);
                ui.label(RichText::new(last).size(11.5).color(theme::weak(ui)));
            });
        });
        row.col(|ui| {
            ui.vertical(|ui| {
                ui.spacing_mut().item_spacing.y = 2.0;
                let (requests, tokens) = usage.map_or((0, 0), |u| (u.requests as i64, u.tokens));
                ui.label(RichText::new(T::NRequests.fill(&[&fmt::count(requests)])).size(12.5));
                ui.label(RichText::new(T::NTokens.fill(&[&fmt::compact(tokens)])).size(11.5).color(theme::weak(ui)));
            });
        });
    }

    fn actions_cell(&mut self, ui: &mut egui::Ui, key: &KeyRow, busy: bool) {
        ui.spacing_mut().item_spacing.x = 6.0;
        let setup = T::SetUpKey.fill(&[&key.name]);
        if theme::row_button(ui, true, T::SetUp.tr(), &setup).on_hover_text(T::SetUpHint.tr()).clicked() {
            self.setup = Some(SetupDialog::new(self.backend.base_host(), key.clone(), None));
        }
        if theme::row_button(ui, true, T::Edit.tr(), &T::EditAccount.fill(&[&key.name])).clicked() {
            self.edit = Some(EditKeyDialog::new(self.backend.clone(), key));
        }
        if theme::row_button(ui, true, T::Details.tr(), &T::DetailsOf.fill(&[&key.name])).clicked() {
            self.detail = Some(KeyDetailDialog::new(self.backend.clone(), ui.ctx(), key));
        }
        let toggle = if key.enabled { T::Disable } else { T::Enable };
        let toggle_name = format!("{} {}", toggle.tr(), key.name);
        if theme::row_button(ui, !busy, toggle.tr(), &toggle_name).clicked() {
            self.act(ui.ctx(), key.id.clone(), RowAction::Enable(!key.enabled));
        }
        let delete = T::DeleteAccount.fill(&[&key.name]);
        if theme::row_danger_button(ui, !busy, T::Delete.tr(), &delete).clicked() {
            self.confirm_delete = Some(key.clone());
        }
    }

    /// When a key was last used, from the key row or the log's totals.
    fn last_used(&self, key: &KeyRow) -> Option<i64> {
        key.last_used_at.or_else(|| self.usage.get(&key.id).and_then(|u| u.last_ms).map(|ms| ms / 1000))
    }

    fn sort_header(&mut self, ui: &mut egui::Ui, label: &str, key: KeySort) {
        theme::sort_header(ui, label, key, &mut self.sort, &mut self.ascending);
    }

    fn model_cell(&mut self, ui: &mut egui::Ui, key: &KeyRow, busy: bool) {
        let current = key.model.clone().unwrap_or_else(|| T::AnyModel.tr().to_string());
        ui.add_enabled_ui(!busy, |ui| {
            let response = ui.menu_button(current, |ui| {
                ui.set_min_width(260.0);
                ui.label(RichText::new(T::BindModelHelp.tr()).color(theme::weak(ui)));
                ui.add(egui::TextEdit::singleline(&mut self.model_text).hint_text(T::ModelHint.tr()));
                model_choices(ui, &self.backend.core.models(), &mut self.model_text);
                ui.horizontal(|ui| {
                    if theme::primary_button(ui, true, T::Save.tr()).clicked() {
                        let model = Some(self.model_text.trim().to_string()).filter(|m| !m.is_empty());
                        self.act(ui.ctx(), key.id.clone(), RowAction::Model(model));
                        ui.close();
                    }
                    if theme::button(ui, T::AnyModel.tr()).clicked() {
                        self.act(ui.ctx(), key.id.clone(), RowAction::Model(None));
                        ui.close();
                    }
                });
            });
            if response.response.clicked() {
                self.model_text = key.model.clone().unwrap_or_default();
            }
        });
    }

    fn dialogs(&mut self, ctx: &egui::Context) {
        if let Some(dialog) = self.create.as_mut()
            && !dialog.show(ctx)
        {
            self.create = None;
        }
        if let Some(dialog) = self.setup.as_mut()
            && !dialog.show(ctx)
        {
            self.setup = None;
        }
        if let Some(dialog) = self.edit.as_mut()
            && !dialog.show(ctx)
        {
            self.edit = None;
        }
        let outcome = self.detail.as_mut().map(|dialog| dialog.show(ctx));
        match outcome {
            Some(DetailOutcome::Closed) => self.detail = None,
            Some(DetailOutcome::Edit) => {
                let snapshot = self.backend.core.snapshot();
                let id = self.detail.take().map(|d| d.key_id().to_string());
                if let Some(key) = snapshot.keys.iter().find(|k| Some(&k.id) == id.as_ref()) {
                    self.edit = Some(EditKeyDialog::new(self.backend.clone(), key));
                }
            }
            Some(DetailOutcome::Open) | None => {}
        }
        if let Some(key) = self.confirm_delete.clone() {
            let answer = Confirm {
                id: "confirm_delete_key",
                title: T::DeleteKeyTitle.fill(&[&key.name]),
                message: T::DeleteKeyBody.tr().to_string(),
                items: &[],
                note: None,
                action: T::Delete.tr(),
            }
            .show(ctx);
            match answer {
                Some(Answer::Confirmed) => {
                    self.act(ctx, key.id.clone(), RowAction::Delete);
                    self.confirm_delete = None;
                }
                Some(Answer::Cancelled) => self.confirm_delete = None,
                None => {}
            }
        }
    }
}
