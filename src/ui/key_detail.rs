//! A platform key's details: what its policy allows (model binding, limits with their use and
//! when a reached one frees up, expiry, allowed models, reasoning effort, groups, concurrency)
//! and its use over the last 24 hours or 30 days as charts, from `Core::key_usage_stats`. The
//! figures are read when the dialog opens and on Refresh; nothing repaints while it waits.

use egui::RichText;

use super::backend::{Backend, Job, poll_slot};
use super::dashboard::traffic_plots;
use super::dialog::Dialog;
use super::i18n::T;
use super::{fmt, key_policy, theme};
use crate::core::stats::Bucket;
use crate::core::{KeyRow, KeyUsage, UsagePoint};

/// What the dialog asks of the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetailOutcome {
    Open,
    Closed,
    /// Close and open the key's edit dialog.
    Edit,
}

/// The span the charts cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Span {
    Day,
    Month,
}

pub struct KeyDetailDialog {
    backend: Backend,
    id: String,
    job: Option<Job<KeyUsage>>,
    usage: Option<KeyUsage>,
    error: Option<String>,
    span: Span,
}

fn buckets(points: &[UsagePoint]) -> Vec<Bucket> {
    points
        .iter()
        .map(|p| Bucket { start_ms: p.start_ms, requests: p.requests.max(0) as u64, tokens: p.tokens })
        .collect()
}

impl KeyDetailDialog {
    pub fn new(backend: Backend, ctx: &egui::Context, key: &KeyRow) -> KeyDetailDialog {
        let mut dialog =
            KeyDetailDialog { backend, id: key.id.clone(), job: None, usage: None, error: None, span: Span::Day };
        dialog.load(ctx);
        dialog
    }

    /// The key shown.
    pub fn key_id(&self) -> &str {
        &self.id
    }

    fn load(&mut self, ctx: &egui::Context) {
        let (core, id) = (self.backend.core.clone(), self.id.clone());
        self.error = None;
        self.job = Some(self.backend.spawn(ctx, async move { core.key_usage_stats(&id).await }));
    }

    pub fn show(&mut self, ctx: &egui::Context) -> DetailOutcome {
        match poll_slot(&mut self.job) {
            Some(Ok(usage)) => self.usage = Some(usage),
            Some(Err(err)) => self.error = Some(err),
            None => {}
        }
        let snapshot = self.backend.core.snapshot();
        let Some(key) = snapshot.keys.iter().find(|k| k.id == self.id) else { return DetailOutcome::Closed };
        let mut outcome = DetailOutcome::Open;
        let title = T::KeyDetailsTitle.fill(&[&key.name]);
        let shown = Dialog::new("key_detail", title, 720.0).show(ctx, |d| {
            d.body(|ui| {
                self.policy_ui(ui, key);
                ui.add_space(10.0);
                self.charts_ui(ui);
            });
            d.buttons(|ui| {
                if theme::button(ui, T::Close.tr()).clicked() {
                    outcome = DetailOutcome::Closed;
                }
                if theme::button(ui, T::Edit.tr()).clicked() {
                    outcome = DetailOutcome::Edit;
                }
                if theme::button_enabled(ui, self.job.is_none(), T::Refresh.tr()).clicked() {
                    self.load(ui.ctx());
                }
                if self.job.is_some() {
                    ui.spinner();
                }
            });
        });
        if shown.dismissed { DetailOutcome::Closed } else { outcome }
    }

    fn policy_ui(&self, ui: &mut egui::Ui, key: &KeyRow) {
        let weak = |ui: &mut egui::Ui, text: &str| {
            ui.label(RichText::new(text).color(theme::weak(ui)));
        };
        egui::Grid::new("key_detail_policy").num_columns(2).spacing([12.0, 8.0]).show(ui, |ui| {
            weak(ui, T::KeyPrefix.tr());
            ui.label(RichText::new(format!("{}  ({})", key.key_prefix, key.id)).monospace());
            ui.end_row();
            weak(ui, T::ModelBinding.tr());
            ui.label(key.model.as_deref().unwrap_or(T::AnyModel.tr()));
            ui.end_row();
            weak(ui, T::Limits.tr());
            match self.usage.as_ref().map(|u| u.limits.as_slice()) {
                _ if key.policy.limits.is_empty() => {
                    ui.label(T::NoLimit.tr());
                }
                Some(limits) => {
                    ui.vertical(|ui| {
                        for limit in limits {
                            key_policy::limit_bar(ui, limit);
                        }
                    });
                }
                None => {
                    ui.spinner();
                }
            }
            ui.end_row();
            for (label, value) in key_policy::summary(&key.policy) {
                weak(ui, label);
                ui.add(egui::Label::new(value).wrap());
                ui.end_row();
            }
        });
    }

    fn charts_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            ui.label(RichText::new(T::KeyUse.tr()).size(15.0).strong());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                theme::segmented(
                    ui,
                    &mut self.span,
                    &[(Span::Month, T::Last30Days.tr()), (Span::Day, T::Last24Hours.tr())],
                );
            });
        });
        if let Some(error) = &self.error {
            theme::note(ui, &T::KeyUsageLoadFailed.fill(&[error]), theme::Tone::Bad);
            return;
        }
        let Some(usage) = &self.usage else {
            ui.spinner();
            return;
        };
        let (points, hourly) = match self.span {
            Span::Day => (&usage.hourly, true),
            Span::Month => (&usage.daily, false),
        };
        let (requests, tokens, errors) =
            points.iter().fold((0, 0, 0), |(r, t, e), p| (r + p.requests, t + p.tokens, e + p.errors));
        ui.label(
            RichText::new(T::KeyUseTotals.fill(&[&fmt::count(requests), &fmt::compact(tokens), &fmt::count(errors)]))
                .color(theme::weak(ui)),
        );
        traffic_plots(ui, "key_detail", &buckets(points), hourly, true);
    }
}
