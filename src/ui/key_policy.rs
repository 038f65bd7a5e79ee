//! A platform key's policy in the window: the form part the create and edit dialogs share
//! (request and token limits per window, expiry, allowed models, a bound reasoning effort,
//! the account groups the key may use, a cap on concurrent requests), and the bars that show
//! a key's use against each of its limits (the key list and the key's details). The form
//! checks what was typed and says what is wrong next to the field, in the window's language;
//! the core checks it again.

use std::collections::BTreeSet;

use egui::RichText;

use super::i18n::T;
use super::{fmt, theme};
use crate::core::quota::LimitUse;
use crate::core::{KeyPolicy, ListOrAny, Metric, ModelInfo, PolicyChange, QuotaWindow, REASONING_EFFORTS};

/// The windows a limit can count over, shortest first.
const WINDOWS: [QuotaWindow; 4] = [QuotaWindow::FiveHours, QuotaWindow::Day, QuotaWindow::Week, QuotaWindow::Month];

/// A window in words ("per 5 hours").
fn window_name(window: QuotaWindow) -> &'static str {
    match window {
        QuotaWindow::FiveHours => T::Per5h.tr(),
        QuotaWindow::Day => T::PerDay.tr(),
        QuotaWindow::Week => T::PerWeek.tr(),
        QuotaWindow::Month => T::PerMonth.tr(),
    }
}

/// A window in a few letters ("5h", "day").
fn window_short(window: QuotaWindow) -> &'static str {
    match window {
        QuotaWindow::FiveHours => T::Window5h.tr(),
        QuotaWindow::Day => T::DayShort.tr(),
        QuotaWindow::Week => T::WeekShort.tr(),
        QuotaWindow::Month => T::MonthShort.tr(),
    }
}

/// One limit as typed.
#[derive(Debug, Clone, PartialEq)]
struct LimitRow {
    count: String,
    window: QuotaWindow,
}

/// A part of the form a problem is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Limit(Metric, usize),
    Expires,
}

/// The policy fields as typed.
pub struct PolicyForm {
    requests: Vec<LimitRow>,
    tokens: Vec<LimitRow>,
    /// Local `YYYY-MM-DD HH:MM`; empty for never.
    expires: String,
    /// Comma-separated; empty for any model.
    models: String,
    /// `None`: what the client sends.
    effort: Option<&'static str>,
    /// Empty: any group.
    groups: BTreeSet<String>,
    max_concurrent: u32,
    problems: Vec<(Part, String)>,
}

impl PolicyForm {
    pub fn new(policy: &KeyPolicy) -> PolicyForm {
        let rows = |metric: Metric| -> Vec<LimitRow> {
            let limits = policy.limits.iter().filter(|l| l.metric == metric);
            limits.map(|l| LimitRow { count: l.max.to_string(), window: l.window }).collect()
        };
        PolicyForm {
            requests: rows(Metric::Requests),
            tokens: rows(Metric::Tokens),
            expires: policy.expires_at.map(fmt::datetime_secs).unwrap_or_default(),
            models: policy.models.as_ref().map(|m| m.join(", ")).unwrap_or_default(),
            effort: policy
                .reasoning_effort
                .as_deref()
                .and_then(|e| REASONING_EFFORTS.iter().copied().find(|known| *known == e)),
            groups: policy.groups.iter().flatten().cloned().collect(),
            max_concurrent: policy.max_concurrent.unwrap_or(0),
            problems: Vec::new(),
        }
    }

    /// The whole policy as a change for the core; `None` (with the problems marked) when a
    /// field is wrong.
    pub fn change(&mut self) -> Option<PolicyChange> {
        self.problems.clear();
        let mut specs = |metric: Metric, rows: &[LimitRow]| -> Vec<String> {
            let mut specs = Vec::new();
            for (i, row) in rows.iter().enumerate() {
                match row.count.trim().replace([',', '_', ' '], "").parse::<u64>() {
                    Ok(n) if n > 0 => specs.push(format!("{n}/{}", row.window.name())),
                    _ => self.problems.push((Part::Limit(metric, i), T::LimitCountWrong.tr().to_string())),
                }
            }
            specs
        };
        let limit_requests = specs(Metric::Requests, &self.requests);
        let limit_tokens = specs(Metric::Tokens, &self.tokens);
        let expires = match self.expires.trim() {
            "" => "never".to_string(),
            text => match fmt::parse_local(text).and_then(chrono::DateTime::from_timestamp_millis) {
                Some(at) => at.to_rfc3339(),
                None => {
                    self.problems.push((Part::Expires, T::BadDate.fill(&[&text])));
                    String::new()
                }
            },
        };
        if !self.problems.is_empty() {
            return None;
        }
        let models: Vec<String> =
            self.models.split([',', '，']).map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect();
        let any = || ListOrAny::Text("any".into());
        Some(PolicyChange {
            limit_requests: Some(limit_requests),
            limit_tokens: Some(limit_tokens),
            expires: Some(expires),
            models: Some(if models.is_empty() { any() } else { ListOrAny::List(models) }),
            reasoning_effort: Some(self.effort.unwrap_or("client").to_string()),
            groups: Some(if self.groups.is_empty() {
                any()
            } else {
                ListOrAny::List(self.groups.iter().cloned().collect())
            }),
            max_concurrent: Some(self.max_concurrent),
        })
    }

    /// Whether the last check found a wrong field (a collapsed form then opens to show it).
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    fn problem(&self, part: Part) -> Option<&str> {
        self.problems.iter().find(|(p, _)| *p == part).map(|(_, text)| text.as_str())
    }

    /// Draws the fields as rows of a two-column grid; `groups` are the account groups there
    /// are, `models` the models the pool knows.
    pub fn ui(&mut self, ui: &mut egui::Ui, groups: &[String], models: &[ModelInfo]) {
        let before = (self.requests.clone(), self.tokens.clone(), self.expires.clone());
        egui::Grid::new("key_policy_fields").num_columns(2).spacing([12.0, 10.0]).show(ui, |ui| {
            ui.label(T::RequestLimits.tr());
            self.limits_ui(ui, Metric::Requests);
            ui.end_row();
            ui.label(T::TokenLimits.tr());
            self.limits_ui(ui, Metric::Tokens);
            ui.end_row();
            ui.label(T::Expires.tr());
            self.expires_ui(ui);
            ui.end_row();
            ui.label(T::AllowedModels.tr());
            self.models_ui(ui, models);
            ui.end_row();
            ui.label(T::ReasoningEffort.tr());
            self.effort_ui(ui);
            ui.end_row();
            ui.label(T::AccountGroups.tr());
            self.groups_ui(ui, groups);
            ui.end_row();
            ui.label(T::MaxConcurrent.tr());
            ui.vertical(|ui| {
                let field = ui.add(egui::DragValue::new(&mut self.max_concurrent).range(0..=10_000));
                theme::name_widget(&field, egui::Role::SpinButton, T::MaxConcurrent.tr());
                ui.label(RichText::new(T::MaxConcurrentHelp.tr()).color(theme::weak(ui)).size(12.0));
            });
            ui.end_row();
        });
        if (self.requests.clone(), self.tokens.clone(), self.expires.clone()) != before {
            self.problems.clear();
        }
    }

    fn limits_ui(&mut self, ui: &mut egui::Ui, metric: Metric) {
        let problems: Vec<Option<String>> = {
            let rows = if metric == Metric::Requests { &self.requests } else { &self.tokens };
            (0..rows.len()).map(|i| self.problem(Part::Limit(metric, i)).map(str::to_string)).collect()
        };
        let rows = if metric == Metric::Requests { &mut self.requests } else { &mut self.tokens };
        let (name, hint) = match metric {
            Metric::Requests => (T::RequestLimits.tr(), "500"),
            Metric::Tokens => (T::TokenLimits.tr(), "2000000"),
        };
        ui.vertical(|ui| {
            let mut remove = None;
            for (i, row) in rows.iter_mut().enumerate() {
                ui.horizontal(|ui| {
                    let field = ui.add(egui::TextEdit::singleline(&mut row.count).hint_text(hint).desired_width(110.0));
                    theme::name_widget(&field, egui::Role::TextInput, &format!("{name} {}", i + 1));
                    let combo = egui::ComboBox::from_id_salt(("limit_window", metric == Metric::Requests, i))
                        .selected_text(window_name(row.window))
                        .width(130.0)
                        .show_ui(ui, |ui| {
                            for window in WINDOWS {
                                ui.selectable_value(&mut row.window, window, window_name(window));
                            }
                        });
                    theme::name_widget(&combo.response, egui::Role::ComboBox, T::LimitWindow.tr());
                    if theme::row_button(ui, true, T::Remove.tr(), &format!("{} {name} {}", T::Remove.tr(), i + 1))
                        .clicked()
                    {
                        remove = Some(i);
                    }
                });
                if let Some(problem) = &problems[i] {
                    theme::field_error(ui, problem);
                }
            }
            if let Some(i) = remove {
                rows.remove(i);
            }
            let add = if metric == Metric::Requests { T::AddRequestLimit } else { T::AddTokenLimit };
            if theme::row_button(ui, true, add.tr(), add.tr()).clicked() {
                let window = WINDOWS.into_iter().find(|w| !rows.iter().any(|r| r.window == *w));
                rows.push(LimitRow { count: String::new(), window: window.unwrap_or(QuotaWindow::Day) });
            }
            if rows.is_empty() {
                ui.label(RichText::new(T::NoLimit.tr()).color(theme::weak(ui)).size(12.0));
            }
        });
    }

    fn expires_ui(&mut self, ui: &mut egui::Ui) {
        ui.vertical(|ui| {
            ui.horizontal(|ui| {
                let field = ui.add(
                    egui::TextEdit::singleline(&mut self.expires).hint_text(T::ExpiresNever.tr()).desired_width(170.0),
                );
                theme::name_widget(&field, egui::Role::TextInput, T::Expires.tr());
                for days in [30, 90] {
                    let label = T::InDays.fill(&[&days]);
                    if theme::row_button(ui, true, &label, &label).clicked() {
                        let at = chrono::Local::now() + chrono::Duration::days(days);
                        self.expires = at.format("%Y-%m-%d %H:%M").to_string();
                    }
                }
                if theme::row_button(ui, !self.expires.is_empty(), T::NeverButton.tr(), T::ExpiresNever.tr()).clicked()
                {
                    self.expires.clear();
                }
            });
            match self.problem(Part::Expires) {
                Some(problem) => theme::field_error(ui, problem),
                None => {
                    ui.label(RichText::new(T::ExpiresHelp.tr()).color(theme::weak(ui)).size(12.0));
                }
            }
        });
    }

    fn models_ui(&mut self, ui: &mut egui::Ui, models: &[ModelInfo]) {
        ui.vertical(|ui| {
            let field = ui
                .add(egui::TextEdit::singleline(&mut self.models).hint_text(T::AnyModelHint.tr()).desired_width(300.0));
            theme::name_widget(&field, egui::Role::TextInput, T::AllowedModels.tr());
            if !models.is_empty() {
                let combo = egui::ComboBox::from_id_salt("allowed_model_pick")
                    .selected_text(T::AddKnownModel.tr())
                    .width(200.0)
                    .show_ui(ui, |ui| {
                        for info in models {
                            let listed = self.models.split(',').any(|m| m.trim() == info.slug);
                            if ui.selectable_label(listed, &info.slug).clicked() && !listed {
                                let sep = if self.models.trim().is_empty() { "" } else { ", " };
                                self.models = format!("{}{sep}{}", self.models.trim(), info.slug);
                            }
                        }
                    });
                theme::name_widget(&combo.response, egui::Role::ComboBox, T::AddKnownModel.tr());
            }
        });
    }

    fn effort_ui(&mut self, ui: &mut egui::Ui) {
        ui.vertical(|ui| {
            let combo = egui::ComboBox::from_id_salt("key_effort")
                .selected_text(self.effort.unwrap_or(T::EffortClient.tr()))
                .width(200.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.effort, None, T::EffortClient.tr());
                    for level in REASONING_EFFORTS {
                        ui.selectable_value(&mut self.effort, Some(level), level);
                    }
                });
            theme::name_widget(&combo.response, egui::Role::ComboBox, T::ReasoningEffort.tr());
            ui.label(RichText::new(T::EffortHelp.tr()).color(theme::weak(ui)).size(12.0));
        });
    }

    fn groups_ui(&mut self, ui: &mut egui::Ui, groups: &[String]) {
        ui.vertical(|ui| {
            ui.horizontal_wrapped(|ui| {
                ui.set_max_width(320.0);
                let known: BTreeSet<String> = groups.iter().chain(self.groups.iter()).cloned().collect();
                for group in &known {
                    let mut ticked = self.groups.contains(group);
                    if ui.checkbox(&mut ticked, group).changed() {
                        if ticked {
                            self.groups.insert(group.clone());
                        } else {
                            self.groups.remove(group);
                        }
                    }
                }
            });
            let help = if self.groups.is_empty() { T::AnyGroupHelp } else { T::GroupsHelp };
            ui.label(RichText::new(help.tr()).color(theme::weak(ui)).size(12.0));
        });
    }
}

/// A key's use against each limit as bars, the fullest first, at most `most` of them (the
/// rest counted in a line); nothing when the key has no limits.
pub fn limit_bars(ui: &mut egui::Ui, uses: &[LimitUse], most: usize) {
    let mut uses: Vec<&LimitUse> = uses.iter().collect();
    uses.sort_by(|a, b| fraction(b).total_cmp(&fraction(a)));
    ui.vertical(|ui| {
        ui.spacing_mut().item_spacing.y = 3.0;
        for limit in uses.iter().take(most) {
            limit_bar(ui, limit);
        }
        if uses.len() > most {
            ui.label(RichText::new(T::MoreLimits.fill(&[&(uses.len() - most)])).size(11.0).color(theme::weak(ui)));
        }
    });
}

fn fraction(limit: &LimitUse) -> f64 {
    limit.used as f64 / limit.limit.max.max(1) as f64
}

/// One limit: a bar of its use, "used / max req · 5h", and when a reached limit frees up.
pub fn limit_bar(ui: &mut egui::Ui, limit: &LimitUse) {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 6.0;
        theme::bar(ui, 48.0, Some(fraction(limit) * 100.0));
        let what = if limit.limit.metric == Metric::Requests { T::ReqShort.tr() } else { T::TokShort.tr() };
        let (used, max) = match limit.limit.metric {
            Metric::Requests => (fmt::count(limit.used as i64), fmt::count(limit.limit.max as i64)),
            Metric::Tokens => (fmt::short(limit.used as i64), fmt::short(limit.limit.max as i64)),
        };
        let mut text = format!("{used} / {max} {what} · {}", window_short(limit.limit.window));
        if let Some(at) = limit.frees_at_ms {
            text.push_str(" · ");
            text.push_str(&T::FreesAt.fill(&[&fmt::time_ms(at)]));
        }
        ui.add(egui::Label::new(RichText::new(text).size(11.5).color(theme::weak(ui))).truncate());
    });
}

/// A policy in a few words per part, for the key's details.
pub fn summary(policy: &KeyPolicy) -> Vec<(&'static str, String)> {
    let list =
        |items: &Option<Vec<String>>, any: T| items.as_ref().map_or_else(|| any.tr().to_string(), |i| i.join(", "));
    vec![
        (T::Expires.tr(), policy.expires_at.map_or_else(|| T::ExpiresNever.tr().to_string(), fmt::datetime_secs)),
        (T::AllowedModels.tr(), list(&policy.models, T::AnyModel)),
        (T::ReasoningEffort.tr(), policy.reasoning_effort.clone().unwrap_or_else(|| T::EffortClient.tr().to_string())),
        (T::AccountGroups.tr(), list(&policy.groups, T::AnyGroup)),
        (T::MaxConcurrent.tr(), policy.max_concurrent.map_or_else(|| T::NoCap.tr().to_string(), |n| n.to_string())),
    ]
}
