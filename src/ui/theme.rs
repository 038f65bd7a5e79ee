//! The look of the window: the warm amber accent, light and dark visuals, one size for every
//! button, and the few pieces every page draws (cards, status pills, usage bars, segmented
//! choices, page headers). Pages draw their content; this file decides how it looks.

use egui::{Color32, CornerRadius, FontId, Margin, RichText, Sense, Stroke, Theme, Vec2};

/// The accent: a warm amber-brown, as in the original.
pub const ACCENT: Color32 = Color32::from_rgb(0xB5, 0x7A, 0x2C);
/// The accent a step lighter, for dark backgrounds.
pub const ACCENT_LIGHT: Color32 = Color32::from_rgb(0xD9, 0x9A, 0x45);
/// Height of every button: primary actions, row actions and dialog buttons alike.
pub const BUTTON_HEIGHT: f32 = 30.0;
/// Narrowest a button gets, so short labels ("OK", "删除") line up with long ones.
pub const BUTTON_MIN_WIDTH: f32 = 84.0;
/// Widest the content of a page gets; wider windows centre it.
pub const CONTENT_MAX_WIDTH: f32 = 1280.0;
/// Space between cards and between a toolbar and what follows it.
pub const GAP: f32 = 14.0;
/// Height of one table row that carries two usage bars.
pub const ROW_HEIGHT: f32 = 46.0;

const RADIUS: u8 = 8;

/// What a pill or a bar says about a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Good,
    Warn,
    Bad,
    Neutral,
    Accent,
}

/// (text, background) of a tone in the current visuals.
fn tone_colors(dark: bool, tone: Tone) -> (Color32, Color32) {
    match (tone, dark) {
        (Tone::Good, false) => (Color32::from_rgb(0x17, 0x7a, 0x4b), Color32::from_rgb(0xd9, 0xf2, 0xe4)),
        (Tone::Good, true) => (Color32::from_rgb(0x7d, 0xe0, 0xa8), Color32::from_rgb(0x1c, 0x3d, 0x2c)),
        (Tone::Warn, false) => (Color32::from_rgb(0x9a, 0x5b, 0x00), Color32::from_rgb(0xfb, 0xeb, 0xc8)),
        (Tone::Warn, true) => (Color32::from_rgb(0xf5, 0xc2, 0x6b), Color32::from_rgb(0x45, 0x35, 0x16)),
        (Tone::Bad, false) => (Color32::from_rgb(0xb4, 0x23, 0x18), Color32::from_rgb(0xfb, 0xde, 0xdb)),
        (Tone::Bad, true) => (Color32::from_rgb(0xff, 0x9b, 0x8f), Color32::from_rgb(0x4a, 0x22, 0x1f)),
        (Tone::Neutral, false) => (Color32::from_rgb(0x55, 0x5b, 0x66), Color32::from_rgb(0xe9, 0xeb, 0xef)),
        (Tone::Neutral, true) => (Color32::from_rgb(0xc4, 0xc8, 0xd0), Color32::from_rgb(0x33, 0x36, 0x3d)),
        (Tone::Accent, false) => (Color32::from_rgb(0x7a, 0x4c, 0x12), Color32::from_rgb(0xf6, 0xe6, 0xcc)),
        (Tone::Accent, true) => (ACCENT_LIGHT, Color32::from_rgb(0x45, 0x33, 0x1c)),
    }
}

/// The colour of a filled bar for how much of a window is used.
pub fn usage_color(dark: bool, used_percent: f64) -> Color32 {
    let tone = if used_percent >= 90.0 {
        Tone::Bad
    } else if used_percent >= 70.0 {
        Tone::Warn
    } else {
        Tone::Good
    };
    match (tone, dark) {
        (Tone::Bad, _) => Color32::from_rgb(0xd9, 0x4a, 0x38),
        (Tone::Warn, _) => Color32::from_rgb(0xe0, 0x9a, 0x2a),
        (_, false) => Color32::from_rgb(0x2f, 0xa8, 0x6b),
        (_, true) => Color32::from_rgb(0x3f, 0xbf, 0x7f),
    }
}

fn visuals(theme: Theme) -> egui::Visuals {
    let dark = theme == Theme::Dark;
    let mut v = if dark { egui::Visuals::dark() } else { egui::Visuals::light() };
    let radius = CornerRadius::same(RADIUS);
    if dark {
        v.panel_fill = Color32::from_rgb(0x1d, 0x1b, 0x19);
        v.window_fill = Color32::from_rgb(0x27, 0x24, 0x21);
        v.extreme_bg_color = Color32::from_rgb(0x16, 0x15, 0x13);
        v.faint_bg_color = Color32::from_rgb(0x2b, 0x28, 0x24);
        v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, Color32::from_rgb(0x3d, 0x38, 0x32));
        v.widgets.inactive.weak_bg_fill = Color32::from_rgb(0x35, 0x31, 0x2c);
        v.widgets.inactive.bg_fill = Color32::from_rgb(0x35, 0x31, 0x2c);
        v.hyperlink_color = ACCENT_LIGHT;
        v.selection.bg_fill = Color32::from_rgb(0x6b, 0x4a, 0x1f);
        v.selection.stroke = Stroke::new(1.0, ACCENT_LIGHT);
    } else {
        v.panel_fill = Color32::from_rgb(0xf7, 0xf3, 0xec);
        v.window_fill = Color32::from_rgb(0xff, 0xfd, 0xf9);
        v.extreme_bg_color = Color32::from_rgb(0xfb, 0xf8, 0xf3);
        v.widgets.inactive.bg_stroke = Stroke::new(1.0, Color32::from_rgb(0xe3, 0xd7, 0xc4));
        v.faint_bg_color = Color32::from_rgb(0xfa, 0xf6, 0xef);
        v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, Color32::from_rgb(0xe6, 0xdc, 0xcc));
        v.widgets.inactive.weak_bg_fill = Color32::from_rgb(0xf1, 0xe9, 0xdc);
        v.widgets.inactive.bg_fill = Color32::from_rgb(0xf1, 0xe9, 0xdc);
        v.widgets.hovered.weak_bg_fill = Color32::from_rgb(0xea, 0xdc, 0xc5);
        v.widgets.hovered.bg_fill = Color32::from_rgb(0xea, 0xdc, 0xc5);
        v.widgets.active.weak_bg_fill = Color32::from_rgb(0xe0, 0xcc, 0xab);
        v.hyperlink_color = ACCENT;
        v.selection.bg_fill = Color32::from_rgb(0xf0, 0xd9, 0xb3);
        v.selection.stroke = Stroke::new(1.0, ACCENT);
    }
    for w in [&mut v.widgets.noninteractive, &mut v.widgets.inactive, &mut v.widgets.hovered, &mut v.widgets.active] {
        w.corner_radius = radius;
    }
    v.widgets.open.corner_radius = radius;
    v.window_corner_radius = CornerRadius::same(12);
    v.menu_corner_radius = radius;
    v
}

/// Installs the light and dark looks; which one shows follows the theme preference.
pub fn install(ctx: &egui::Context) {
    for theme in [Theme::Light, Theme::Dark] {
        ctx.set_visuals_of(theme, visuals(theme));
        ctx.style_mut_of(theme, |style| {
            style.spacing.item_spacing = Vec2::new(8.0, 8.0);
            style.spacing.button_padding = Vec2::new(12.0, 5.0);
            style.spacing.interact_size.y = 24.0;
            style.spacing.window_margin = Margin::same(18);
            style.spacing.menu_margin = Margin::same(8);
            style.text_styles.insert(egui::TextStyle::Heading, FontId::proportional(22.0));
            style.text_styles.insert(egui::TextStyle::Body, FontId::proportional(14.0));
            style.text_styles.insert(egui::TextStyle::Button, FontId::proportional(14.0));
            style.text_styles.insert(egui::TextStyle::Small, FontId::proportional(11.5));
            style.text_styles.insert(egui::TextStyle::Monospace, FontId::monospace(13.0));
        });
    }
}

/// Applies a stored theme setting (`system`, `light` or `dark`).
pub fn apply_preference(ctx: &egui::Context, setting: &str) {
    let preference = match setting {
        "light" => egui::ThemePreference::Light,
        "dark" => egui::ThemePreference::Dark,
        _ => egui::ThemePreference::System,
    };
    ctx.set_theme(preference);
}

pub fn is_dark(ui: &egui::Ui) -> bool {
    ui.visuals().dark_mode
}

/// A muted colour for secondary text.
pub fn weak(ui: &egui::Ui) -> Color32 {
    ui.visuals().weak_text_color()
}

/// The accent in the current visuals.
pub fn accent(ui: &egui::Ui) -> Color32 {
    if is_dark(ui) { ACCENT_LIGHT } else { ACCENT }
}

fn sized(button: egui::Button<'_>) -> egui::Button<'_> {
    button.min_size(Vec2::new(BUTTON_MIN_WIDTH, BUTTON_HEIGHT))
}

/// A normal button at the shared size.
pub fn button(ui: &mut egui::Ui, text: &str) -> egui::Response {
    ui.add(sized(egui::Button::new(text)))
}

/// A normal button at the shared size that can be switched off.
pub fn button_enabled(ui: &mut egui::Ui, enabled: bool, text: &str) -> egui::Response {
    ui.add_enabled(enabled, sized(egui::Button::new(text)))
}

/// The page's main action: filled with the accent.
pub fn primary_button(ui: &mut egui::Ui, enabled: bool, text: &str) -> egui::Response {
    let fill = if enabled { accent(ui) } else { ui.visuals().widgets.inactive.weak_bg_fill };
    let label = if enabled { RichText::new(text).color(Color32::WHITE).strong() } else { RichText::new(text) };
    ui.add_enabled(enabled, sized(egui::Button::new(label).fill(fill)))
}

/// A destructive action: red text on a pale red fill.
pub fn danger_button(ui: &mut egui::Ui, enabled: bool, text: &str) -> egui::Response {
    let (fg, bg) = tone_colors(is_dark(ui), Tone::Bad);
    ui.add_enabled(enabled, sized(egui::Button::new(RichText::new(text).color(fg)).fill(bg)))
}

/// Gives a widget without visible caption (a combo box, a bare checkbox) the name that
/// screen readers and tests know it by.
pub fn name_widget(response: &egui::Response, role: egui::Role, name: &str) {
    response.widget_info(|| egui::WidgetInfo::labeled(role, true, name));
}

/// A small rounded label that states a status; sized to its text whatever the layout.
pub fn pill(ui: &mut egui::Ui, text: &str, tone: Tone) -> egui::Response {
    let (fg, bg) = tone_colors(is_dark(ui), tone);
    let galley = egui::WidgetText::from(RichText::new(text).size(12.0).strong()).into_galley(
        ui,
        Some(egui::TextWrapMode::Extend),
        f32::INFINITY,
        egui::TextStyle::Body,
    );
    let size = galley.size() + Vec2::new(16.0, 5.0);
    let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
    ui.painter().rect_filled(rect, CornerRadius::same(10), bg);
    ui.painter().galley(rect.center() - galley.size() / 2.0, galley, fg);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Label, true, text));
    response
}

/// A horizontal bar of `used_percent` with a caption on its left, e.g. "5h 62%".
pub fn usage_bar(ui: &mut egui::Ui, caption: &str, used_percent: Option<f64>, width: f32) -> egui::Response {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 6.0;
        let text = match used_percent {
            Some(p) => format!("{caption} {p:.0}%"),
            None => format!("{caption} –"),
        };
        ui.add_sized(
            Vec2::new(58.0, 14.0),
            egui::Label::new(RichText::new(text).size(11.5).color(weak(ui))).selectable(false),
        );
        let bar_width = (width - 64.0).max(24.0);
        let (rect, response) = ui.allocate_exact_size(Vec2::new(bar_width, 7.0), Sense::hover());
        let track = if is_dark(ui) { Color32::from_rgb(0x3a, 0x36, 0x31) } else { Color32::from_rgb(0xec, 0xe5, 0xda) };
        ui.painter().rect_filled(rect, CornerRadius::same(4), track);
        if let Some(p) = used_percent {
            let fraction = (p / 100.0).clamp(0.0, 1.0) as f32;
            let mut filled = rect;
            filled.set_width(rect.width() * fraction);
            ui.painter().rect_filled(filled, CornerRadius::same(4), usage_color(is_dark(ui), p));
        }
        response
    })
    .inner
}

/// A card: a framed box with a heading, an optional line under it, and content.
pub fn card<R>(
    ui: &mut egui::Ui,
    title: &str,
    subtitle: Option<&str>,
    add_contents: impl FnOnce(&mut egui::Ui) -> R,
) -> R {
    card_frame(ui)
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(title).size(16.0).strong());
            if let Some(subtitle) = subtitle {
                ui.label(RichText::new(subtitle).color(weak(ui)).size(12.5));
            }
            ui.add_space(6.0);
            add_contents(ui)
        })
        .inner
}

/// The frame of a card, for content that draws its own heading.
pub fn card_frame(ui: &egui::Ui) -> egui::Frame {
    let dark = is_dark(ui);
    egui::Frame::new()
        .fill(if dark { Color32::from_rgb(0x25, 0x23, 0x20) } else { Color32::WHITE })
        .stroke(ui.visuals().widgets.noninteractive.bg_stroke)
        .corner_radius(CornerRadius::same(12))
        .inner_margin(Margin::same(16))
        .shadow(egui::epaint::Shadow {
            offset: [0, 2],
            blur: 8,
            spread: 0,
            color: Color32::from_black_alpha(if dark { 40 } else { 14 }),
        })
}

/// The title and one-line description at the top of a page.
pub fn page_header(ui: &mut egui::Ui, title: &str, subtitle: &str) {
    ui.label(RichText::new(title).size(26.0).strong().color(if is_dark(ui) {
        Color32::from_rgb(0xf0, 0xe2, 0xcc)
    } else {
        Color32::from_rgb(0x5a, 0x3b, 0x12)
    }));
    ui.label(RichText::new(subtitle).color(weak(ui)));
    ui.add_space(GAP);
}

/// A row of mutually exclusive choices; returns true when the choice changed.
pub fn segmented<V: PartialEq + Copy>(ui: &mut egui::Ui, current: &mut V, options: &[(V, &str)]) -> bool {
    let mut changed = false;
    let fill = ui.visuals().widgets.inactive.weak_bg_fill;
    egui::Frame::new().fill(fill).corner_radius(CornerRadius::same(RADIUS + 2)).inner_margin(Margin::same(3)).show(
        ui,
        |ui| {
            ui.horizontal(|ui| {
                ui.spacing_mut().item_spacing.x = 2.0;
                for (value, label) in options {
                    let selected = *current == *value;
                    let text = if selected {
                        RichText::new(*label).color(Color32::WHITE).strong()
                    } else {
                        RichText::new(*label)
                    };
                    let button = egui::Button::new(text)
                        .fill(if selected { accent(ui) } else { Color32::TRANSPARENT })
                        .stroke(Stroke::NONE)
                        .min_size(Vec2::new(52.0, BUTTON_HEIGHT - 6.0))
                        .selected(selected);
                    if ui.add(button).clicked() && !selected {
                        *current = *value;
                        changed = true;
                    }
                }
            });
        },
    );
    changed
}

/// A big figure with a caption under it, for dashboard tiles.
pub fn stat(ui: &mut egui::Ui, value: &str, caption: &str) {
    ui.vertical(|ui| {
        ui.label(RichText::new(value).size(24.0).strong().color(accent(ui)));
        ui.label(RichText::new(caption).color(weak(ui)).size(12.0));
    });
}

/// Monospace text in a tinted box, selectable, for keys, URLs and snippets.
pub fn code_block(ui: &mut egui::Ui, text: &str) {
    egui::Frame::new()
        .fill(ui.visuals().extreme_bg_color)
        .stroke(ui.visuals().widgets.noninteractive.bg_stroke)
        .corner_radius(CornerRadius::same(6))
        .inner_margin(Margin::same(10))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.add(egui::Label::new(RichText::new(text).monospace()).wrap());
        });
}

/// A red error line with a button to dismiss it; returns true when dismissed.
pub fn error_banner(ui: &mut egui::Ui, message: &str, dismiss: &str) -> bool {
    let (fg, bg) = tone_colors(is_dark(ui), Tone::Bad);
    let mut dismissed = false;
    egui::Frame::new().fill(bg).corner_radius(CornerRadius::same(RADIUS)).inner_margin(Margin::same(10)).show(
        ui,
        |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.add(egui::Label::new(RichText::new(message).color(fg)).wrap());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui.add(egui::Button::new(RichText::new(dismiss).color(fg)).frame(false)).clicked() {
                        dismissed = true;
                    }
                });
            });
        },
    );
    dismissed
}

/// A note in the accent tint, e.g. "shown only once".
pub fn note(ui: &mut egui::Ui, text: &str, tone: Tone) {
    let (fg, bg) = tone_colors(is_dark(ui), tone);
    egui::Frame::new().fill(bg).corner_radius(CornerRadius::same(RADIUS)).inner_margin(Margin::same(10)).show(
        ui,
        |ui| {
            ui.set_width(ui.available_width());
            ui.add(egui::Label::new(RichText::new(text).color(fg)).wrap());
        },
    );
}
