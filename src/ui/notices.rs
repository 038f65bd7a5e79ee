//! Toasts: short messages in a strip along the window's bottom edge. The strip takes its own
//! room (the page above it shrinks) so a toast never covers a row's buttons. Errors stay until
//! dismissed; confirmations fade after a few seconds. Any page (or the tray) can push one; the
//! app draws them. A toast keeps its words as a string key and arguments, so it reads in the
//! language the window speaks when it is drawn, not the one it spoke when it was pushed.

use std::fmt::Display;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{Color32, RichText};

use super::i18n::T;

/// How long a confirmation stays.
const INFO_TTL: Duration = Duration::from_secs(5);
/// Toasts shown at once; older ones wait behind the newest.
const SHOWN: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone)]
struct Notice {
    level: Level,
    key: T,
    args: Vec<String>,
    /// The reason an error gives, as the core worded it.
    detail: Option<String>,
    shown: Instant,
}

impl Notice {
    fn text(&self) -> String {
        let args: Vec<&dyn Display> = self.args.iter().map(|a| a as &dyn Display).collect();
        let head = self.key.fill(&args);
        match &self.detail {
            Some(detail) => format!("{head}: {detail}"),
            None => head,
        }
    }
}

/// The queue of toasts; cheap to clone, all clones share it.
#[derive(Clone, Default)]
pub struct Notices {
    inner: Arc<Mutex<Vec<Notice>>>,
}

impl Notices {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Notice>> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn push(&self, notice: Notice) {
        let mut list = self.lock();
        let text = notice.text();
        list.retain(|n| n.text() != text);
        list.push(notice);
    }

    /// An error the user should read: what failed (`context`) and why (`reason`).
    pub fn error(&self, context: T, reason: &str) {
        let notice = Notice {
            level: Level::Error,
            key: context,
            args: Vec::new(),
            detail: Some(reason.to_string()),
            shown: Instant::now(),
        };
        tracing::warn!("{}", notice.text());
        self.push(notice);
    }

    /// A confirmation: `key` filled with `args`, faded after a few seconds.
    pub fn info(&self, key: T, args: &[&dyn Display]) {
        let args = args.iter().map(|a| a.to_string()).collect();
        self.push(Notice { level: Level::Info, key, args, detail: None, shown: Instant::now() });
    }

    /// The toasts currently showing, as they read now.
    pub fn current(&self) -> Vec<(Level, String)> {
        self.lock().iter().map(|n| (n.level.clone(), n.text())).collect()
    }

    fn dismiss(&self, index: usize) {
        let mut list = self.lock();
        if index < list.len() {
            list.remove(index);
        }
    }

    /// Drops expired confirmations; true when toasts remain to be drawn.
    pub fn any(&self, ctx: &egui::Context) -> bool {
        let now = Instant::now();
        let mut list = self.lock();
        list.retain(|n| n.level == Level::Error || now.duration_since(n.shown) < INFO_TTL);
        if let Some(next) = list
            .iter()
            .filter(|n| n.level == Level::Info)
            .map(|n| INFO_TTL.saturating_sub(now.duration_since(n.shown)))
            .min()
        {
            ctx.request_repaint_after(next);
        }
        !list.is_empty()
    }

    /// Draws the newest toasts, right-aligned, one under the other.
    pub fn show(&self, ui: &mut egui::Ui) {
        let list: Vec<Notice> = self.lock().clone();
        let first = list.len().saturating_sub(SHOWN);
        let mut dismissed = None;
        ui.with_layout(egui::Layout::top_down(egui::Align::Max), |ui| {
            for (index, notice) in list.iter().enumerate().skip(first) {
                let fill = match notice.level {
                    Level::Error => Color32::from_rgb(0xb4, 0x3a, 0x2e),
                    Level::Info => Color32::from_rgb(0x2e, 0x7d, 0x55),
                };
                egui::Frame::new()
                    .fill(fill)
                    .corner_radius(egui::CornerRadius::same(10))
                    .inner_margin(egui::Margin::symmetric(12, 8))
                    .show(ui, |ui| {
                        ui.set_max_width(560.0);
                        ui.horizontal(|ui| {
                            let dismiss =
                                egui::Button::new(RichText::new(T::Dismiss.tr()).color(Color32::WHITE)).frame(false);
                            // The button first, from the right, so a long message wraps before it.
                            ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                                if ui.add(dismiss).clicked() {
                                    dismissed = Some(index);
                                }
                                ui.add(egui::Label::new(RichText::new(notice.text()).color(Color32::WHITE)).wrap());
                            });
                        });
                    });
            }
        });
        if let Some(index) = dismissed {
            self.dismiss(index);
            ui.ctx().request_repaint();
        }
    }
}
