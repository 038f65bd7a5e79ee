//! Modal dialogs, one way: [`Dialog`] opens centred over the window, sized to its content,
//! and never reaches outside the window (a tall body scrolls instead); where it was last time
//! is never restored. What closes it is chosen per dialog ([`Dismiss`]): a form keeps what
//! was typed when the pointer strays outside it. [`Confirm`] is the one "are you sure?"
//! dialog every page asks through.
//!
//! A dialog draws its body and its button row through [`DialogUi`], so fields can be added to
//! a form without touching how it is placed.

use egui::{Align, Area, Id, Key, LayerId, Layout, Order, RichText, Sense, UiKind, Vec2};

use super::i18n::T;
use super::theme;

/// Room kept free between a dialog and the window's edges.
const OUTER_MARGIN: f32 = 16.0;
/// Height kept for the title and the button row when the body's height is bounded.
const CHROME_HEIGHT: f32 = 120.0;

/// What closes a dialog besides its own buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dismiss {
    /// Esc or a click outside: dialogs that only show something or ask something.
    Anywhere,
    /// Esc only: forms, whose typed text a stray click must not lose.
    Escape,
    /// Nothing but its buttons: what cannot be shown again (a new key).
    Buttons,
}

/// A modal dialog: a title, a body and a row of buttons.
pub struct Dialog {
    id: Id,
    title: String,
    width: f32,
    dismiss: Dismiss,
}

/// What a dialog's content draws into, and what it may want to know about this frame.
pub struct DialogUi<'u> {
    ui: &'u mut egui::Ui,
    /// True on the first frame the dialog is drawn: give the first field focus.
    pub opening: bool,
    body_max_height: f32,
}

impl DialogUi<'_> {
    /// The dialog's fields and text; scrolls when the window is too short to show it whole.
    pub fn body<R>(&mut self, add: impl FnOnce(&mut egui::Ui) -> R) -> R {
        let width = self.ui.available_width();
        // The least height is the most height too: the body's size then follows its content
        // alone, not the room the dialog had last frame (which would make it grow by steps).
        egui::ScrollArea::vertical()
            .id_salt("dialog_body")
            .max_height(self.body_max_height)
            .min_scrolled_height(self.body_max_height)
            .auto_shrink([false, true])
            .show(self.ui, |ui| {
                ui.set_width(width);
                add(ui)
            })
            .inner
    }

    /// The row of buttons at the bottom, laid out from the right: add the main action first.
    pub fn buttons<R>(&mut self, add: impl FnOnce(&mut egui::Ui) -> R) -> R {
        self.ui.add_space(10.0);
        let size = Vec2::new(self.ui.available_width(), theme::BUTTON_HEIGHT);
        self.ui.allocate_ui_with_layout(size, Layout::right_to_left(Align::Center), add).inner
    }

    /// The dialog's `Ui`, for what is neither body nor buttons (a note above the buttons).
    pub fn ui(&mut self) -> &mut egui::Ui {
        self.ui
    }
}

/// What happened to a dialog this frame.
pub struct Shown<R> {
    pub inner: R,
    /// Esc or a click outside asked to close it (as its [`Dismiss`] allows).
    pub dismissed: bool,
}

impl Dialog {
    pub fn new(id: &str, title: impl Into<String>, width: f32) -> Dialog {
        Dialog { id: Id::unique(("dialog", id)), title: title.into(), width, dismiss: Dismiss::Anywhere }
    }

    pub fn dismiss(mut self, dismiss: Dismiss) -> Dialog {
        self.dismiss = dismiss;
        self
    }

    /// The layer the dialog is drawn on (tests find its rectangle by it).
    pub fn layer(id: &str) -> LayerId {
        LayerId::new(Order::Foreground, Id::unique(("dialog", id)))
    }

    pub fn show<R>(self, ctx: &egui::Context, add: impl FnOnce(&mut DialogUi<'_>) -> R) -> Shown<R> {
        let screen = ctx.content_rect();
        let layer = LayerId::new(Order::Foreground, self.id);
        let opening = !ctx.memory(|m| m.areas().visible_last_frame(&layer));
        let margin = ctx.global_style().spacing.window_margin;
        let frame_x = f32::from(margin.left) + f32::from(margin.right);
        let frame_y = f32::from(margin.top) + f32::from(margin.bottom);
        let width = self.width.min(screen.width() - 2.0 * OUTER_MARGIN - frame_x).max(120.0);
        let body_max_height = (screen.height() - 2.0 * OUTER_MARGIN - frame_y - CHROME_HEIGHT).max(80.0);
        // Anchored in the middle and measured afresh when it opens: a position or size kept
        // from an earlier opening (or an earlier run) is never used.
        let area = Area::new(self.id)
            .kind(UiKind::Modal)
            .sense(Sense::hover())
            .order(Order::Foreground)
            .interactable(true)
            .anchor(egui::Align2::CENTER_CENTER, Vec2::ZERO)
            .constrain_to(screen)
            .sizing_pass(opening);
        let title = self.title;
        // Focus goes to the first field on the first frame that is drawn (the opening frame
        // only measures, and a request made then is not kept).
        let focus_id = self.id.with("focus pending");
        if opening {
            ctx.data_mut(|d| d.insert_temp(focus_id, true));
        }
        let modal = egui::Modal::new(self.id).area(area).show(ctx, |ui| {
            ui.set_width(width);
            ui.label(RichText::new(&title).size(18.0).strong());
            ui.add_space(8.0);
            let focus_now = !ui.is_sizing_pass() && ctx.data(|d| d.get_temp::<bool>(focus_id)).unwrap_or(false);
            if focus_now {
                ctx.data_mut(|d| d.remove::<bool>(focus_id));
            }
            let mut dialog = DialogUi { ui, opening: focus_now, body_max_height };
            add(&mut dialog)
        });
        // The dialog is placed by last frame's size: when its content changed size, lay the
        // frame out again at once rather than show it off-centre for a frame.
        let size = modal.response.rect.size();
        let size_id = self.id.with("size");
        let previous = ctx.data(|d| d.get_temp::<Vec2>(size_id));
        if previous.is_some_and(|p| (p - size).length() > 0.5) {
            ctx.request_discard("dialog resized");
        }
        ctx.data_mut(|d| d.insert_temp(size_id, size));
        let dismissed = match self.dismiss {
            Dismiss::Anywhere => modal.should_close(),
            Dismiss::Escape => {
                modal.is_top_modal
                    && !modal.any_popup_open
                    && ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, Key::Escape))
            }
            Dismiss::Buttons => false,
        };
        Shown { inner: modal.inner, dismissed }
    }
}

/// True when Enter was pressed to submit a form: in one of its single-line `fields` (which
/// lose focus on Enter) or with no field focused at all.
pub fn enter_pressed(ui: &egui::Ui, fields: &[&egui::Response]) -> bool {
    if !ui.input(|i| i.key_pressed(Key::Enter)) {
        return false;
    }
    let nothing_focused = ui.ctx().memory(|m| m.focused().is_none());
    nothing_focused || fields.iter().any(|field| field.lost_focus())
}

/// The answer to a [`Confirm`] dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Confirmed,
    Cancelled,
}

/// "Are you sure?": a question, what it means, the names it touches, and a red button.
pub struct Confirm<'a> {
    pub id: &'a str,
    pub title: String,
    pub message: String,
    /// What the action touches, by name (listed, scrolling when long).
    pub items: &'a [String],
    /// Said in the accent colour under the list, e.g. what is left out.
    pub note: Option<String>,
    pub action: &'a str,
}

impl Confirm<'_> {
    /// Draws the question; `Some` once answered.
    pub fn show(self, ctx: &egui::Context) -> Option<Answer> {
        let mut answer = None;
        let shown = Dialog::new(self.id, self.title, 440.0).show(ctx, |d| {
            d.body(|ui| {
                ui.add(egui::Label::new(&self.message).wrap());
                if !self.items.is_empty() {
                    ui.add_space(6.0);
                    egui::ScrollArea::vertical().id_salt("confirm_items").max_height(160.0).show(ui, |ui| {
                        for item in self.items {
                            ui.label(RichText::new(format!("• {item}")).strong());
                        }
                    });
                }
                if let Some(note) = &self.note {
                    ui.add_space(6.0);
                    theme::note(ui, note, theme::Tone::Warn);
                }
            });
            d.buttons(|ui| {
                if theme::danger_button(ui, true, self.action).clicked() {
                    answer = Some(Answer::Confirmed);
                }
                if theme::button(ui, T::Cancel.tr()).clicked() {
                    answer = Some(Answer::Cancelled);
                }
            });
        });
        answer.or(shown.dismissed.then_some(Answer::Cancelled))
    }
}
