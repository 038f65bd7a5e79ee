//! Toasts: short messages in the window's corner. Errors stay until dismissed; confirmations
//! fade after a few seconds. Any page (or the tray) can push one; the app draws them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use egui::{Align2, Color32, RichText};

use super::i18n::T;
use super::theme;

/// How long a confirmation stays.
const INFO_TTL: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub level: Level,
    pub text: String,
    shown: Instant,
}

/// The queue of toasts; cheap to clone, all clones share it.
#[derive(Clone, Default)]
pub struct Notices {
    inner: Arc<Mutex<Vec<Notice>>>,
}

impl Notices {
    fn push(&self, level: Level, text: String) {
        let mut list = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        list.retain(|n| n.text != text);
        list.push(Notice { level, text, shown: Instant::now() });
    }

    /// An error the user should read: what failed (`context`) and why (`reason`).
    pub fn error(&self, context: &str, reason: &str) {
        tracing::warn!("{context}: {reason}");
        self.push(Level::Error, format!("{context}: {reason}"));
    }

    pub fn info(&self, text: impl Into<String>) {
        self.push(Level::Info, text.into());
    }

    /// The toasts currently showing.
    pub fn current(&self) -> Vec<Notice> {
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    fn dismiss(&self, index: usize) {
        let mut list = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if index < list.len() {
            list.remove(index);
        }
    }

    /// Draws the toasts in the bottom-right corner and drops expired confirmations.
    pub fn show(&self, ctx: &egui::Context) {
        let now = Instant::now();
        {
            let mut list = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            list.retain(|n| n.level == Level::Error || now.duration_since(n.shown) < INFO_TTL);
        }
        let list = self.current();
        if list.is_empty() {
            return;
        }
        if let Some(next) = list
            .iter()
            .filter(|n| n.level == Level::Info)
            .map(|n| INFO_TTL.saturating_sub(now.duration_since(n.shown)))
            .min()
        {
            ctx.request_repaint_after(next);
        }
        let mut dismissed = None;
        egui::Area::new(egui::Id::unique("notices"))
            .anchor(Align2::RIGHT_BOTTOM, [-16.0, -16.0])
            .order(egui::Order::Foreground)
            .show(ctx, |ui| {
                ui.set_max_width(420.0);
                for (index, notice) in list.iter().enumerate() {
                    let (tone, fg) = match notice.level {
                        Level::Error => (theme::Tone::Bad, Color32::WHITE),
                        Level::Info => (theme::Tone::Good, Color32::WHITE),
                    };
                    let fill = match tone {
                        theme::Tone::Bad => Color32::from_rgb(0xb4, 0x3a, 0x2e),
                        _ => Color32::from_rgb(0x2e, 0x7d, 0x55),
                    };
                    egui::Frame::new()
                        .fill(fill)
                        .corner_radius(egui::CornerRadius::same(10))
                        .inner_margin(egui::Margin::same(12))
                        .shadow(egui::epaint::Shadow {
                            offset: [0, 3],
                            blur: 12,
                            spread: 0,
                            color: Color32::from_black_alpha(50),
                        })
                        .show(ui, |ui| {
                            ui.horizontal(|ui| {
                                ui.add(egui::Label::new(RichText::new(&notice.text).color(fg)).wrap());
                                if ui
                                    .add(egui::Button::new(RichText::new(T::Dismiss.tr()).color(fg)).frame(false))
                                    .clicked()
                                {
                                    dismissed = Some(index);
                                }
                            });
                        });
                    ui.add_space(6.0);
                }
            });
        if let Some(index) = dismissed {
            self.dismiss(index);
            ctx.request_repaint();
        }
    }
}
