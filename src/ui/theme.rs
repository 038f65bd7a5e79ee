//! The look of the window: an accent palette (warm amber by default, as in the original, or
//! one of a few others), light and dark visuals derived from it, one size for every button,
//! and the few pieces every page draws (cards, status pills, usage bars, segmented choices,
//! toolbars that wrap, banners). Pages draw their content; this file decides how it looks.
//!
//! Text colours are chosen for a contrast of at least 4.5:1 against the surfaces they sit on
//! (and 3:1 for the outline of an unchecked checkbox), in both themes; the tests below hold
//! every palette to that.

use std::cell::Cell;

use egui::{Color32, CornerRadius, FontId, Id, Margin, RichText, Sense, Stroke, Theme, Vec2};

use super::i18n::T;

/// Height of every button: primary actions, row actions and dialog buttons alike.
pub const BUTTON_HEIGHT: f32 = 30.0;
/// Narrowest a button gets, so short labels ("OK", "删除") line up with long ones.
pub const BUTTON_MIN_WIDTH: f32 = 84.0;
/// Height of the small buttons in a table row.
pub const ROW_BUTTON_HEIGHT: f32 = 26.0;
/// Widest the content of a page gets; wider windows centre it.
pub const CONTENT_MAX_WIDTH: f32 = 1280.0;
/// Space between cards and between a toolbar and what follows it.
pub const GAP: f32 = 14.0;
/// Height of one table row that carries two usage bars.
pub const ROW_HEIGHT: f32 = 46.0;

const RADIUS: u8 = 8;

/// The accent colours the window can wear (the `accent` setting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Palette {
    Amber,
    Blue,
    Green,
    Purple,
    Rose,
    Slate,
}

impl Palette {
    pub const ALL: [Palette; 6] =
        [Palette::Amber, Palette::Blue, Palette::Green, Palette::Purple, Palette::Rose, Palette::Slate];

    /// The stored value; the setting's default is `amber`.
    pub fn setting(self) -> &'static str {
        match self {
            Palette::Amber => "amber",
            Palette::Blue => "blue",
            Palette::Green => "green",
            Palette::Purple => "purple",
            Palette::Rose => "rose",
            Palette::Slate => "slate",
        }
    }

    pub fn from_setting(value: &str) -> Palette {
        Palette::ALL.into_iter().find(|p| p.setting() == value.trim()).unwrap_or(Palette::Amber)
    }

    pub fn name(self) -> &'static str {
        match self {
            Palette::Amber => T::PaletteAmber.tr(),
            Palette::Blue => T::PaletteBlue.tr(),
            Palette::Green => T::PaletteGreen.tr(),
            Palette::Purple => T::PalettePurple.tr(),
            Palette::Rose => T::PaletteRose.tr(),
            Palette::Slate => T::PaletteSlate.tr(),
        }
    }

    /// The fill of primary buttons, chosen segments and the logo: white text reads on it.
    pub fn fill(self) -> Color32 {
        match self {
            Palette::Amber => Color32::from_rgb(0x98, 0x5F, 0x16),
            Palette::Blue => Color32::from_rgb(0x2F, 0x5F, 0xB3),
            Palette::Green => Color32::from_rgb(0x27, 0x74, 0x4A),
            Palette::Purple => Color32::from_rgb(0x6B, 0x4B, 0xB0),
            Palette::Rose => Color32::from_rgb(0xAE, 0x37, 0x60),
            Palette::Slate => Color32::from_rgb(0x4F, 0x5B, 0x6B),
        }
    }

    /// Accent-coloured text (headings, tags, links) in `dark` or light visuals.
    pub fn text(self, dark: bool) -> Color32 {
        if !dark {
            return match self {
                Palette::Amber => Color32::from_rgb(0x85, 0x52, 0x10),
                other => other.fill(),
            };
        }
        match self {
            Palette::Amber => Color32::from_rgb(0xE3, 0xAA, 0x5E),
            Palette::Blue => Color32::from_rgb(0x8D, 0xB4, 0xF5),
            Palette::Green => Color32::from_rgb(0x7F, 0xD0, 0xA0),
            Palette::Purple => Color32::from_rgb(0xB9, 0xA2, 0xF0),
            Palette::Rose => Color32::from_rgb(0xF2, 0x9B, 0xB8),
            Palette::Slate => Color32::from_rgb(0xB4, 0xC0, 0xCE),
        }
    }
}

thread_local! {
    static PALETTE: Cell<Palette> = const { Cell::new(Palette::Amber) };
}

/// The palette this thread draws with; set by the app from the `accent` setting.
pub fn palette() -> Palette {
    PALETTE.with(Cell::get)
}

/// The surfaces text sits on: (panel, card, dialog).
fn surfaces(dark: bool, palette: Palette) -> (Color32, Color32, Color32) {
    let tint = |base: Color32, amount: f32| lerp(base, palette.fill(), amount);
    if dark {
        (
            tint(Color32::from_rgb(0x1b, 0x1b, 0x1b), 0.05),
            tint(Color32::from_rgb(0x24, 0x24, 0x24), 0.04),
            tint(Color32::from_rgb(0x28, 0x28, 0x28), 0.05),
        )
    } else {
        (tint(Color32::from_rgb(0xf8, 0xf7, 0xf5), 0.05), Color32::WHITE, tint(Color32::WHITE, 0.02))
    }
}

/// Secondary text: captions, hints, the second line of a cell.
fn weak_color(dark: bool) -> Color32 {
    if dark { Color32::from_rgb(0xa8, 0xa0, 0x95) } else { Color32::from_rgb(0x6a, 0x62, 0x58) }
}

/// `a` moved `t` of the way to `b`.
fn lerp(a: Color32, b: Color32, t: f32) -> Color32 {
    let mix = |x: u8, y: u8| (f32::from(x) + (f32::from(y) - f32::from(x)) * t).round() as u8;
    Color32::from_rgb(mix(a.r(), b.r()), mix(a.g(), b.g()), mix(a.b(), b.b()))
}

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
        (Tone::Good, false) => (Color32::from_rgb(0x14, 0x6c, 0x42), Color32::from_rgb(0xd9, 0xf2, 0xe4)),
        (Tone::Good, true) => (Color32::from_rgb(0x7d, 0xe0, 0xa8), Color32::from_rgb(0x1c, 0x3d, 0x2c)),
        (Tone::Warn, false) => (Color32::from_rgb(0x85, 0x4d, 0x00), Color32::from_rgb(0xfb, 0xeb, 0xc8)),
        (Tone::Warn, true) => (Color32::from_rgb(0xf5, 0xc2, 0x6b), Color32::from_rgb(0x45, 0x35, 0x16)),
        (Tone::Bad, false) => (Color32::from_rgb(0xa8, 0x20, 0x16), Color32::from_rgb(0xfb, 0xde, 0xdb)),
        (Tone::Bad, true) => (Color32::from_rgb(0xff, 0x9b, 0x8f), Color32::from_rgb(0x4a, 0x22, 0x1f)),
        (Tone::Neutral, false) => (Color32::from_rgb(0x4d, 0x53, 0x5e), Color32::from_rgb(0xe9, 0xeb, 0xef)),
        (Tone::Neutral, true) => (Color32::from_rgb(0xc4, 0xc8, 0xd0), Color32::from_rgb(0x33, 0x36, 0x3d)),
        (Tone::Accent, false) => (palette().text(false), lerp(Color32::WHITE, palette().fill(), 0.16)),
        (Tone::Accent, true) => {
            (palette().text(true), lerp(Color32::from_rgb(0x24, 0x24, 0x24), palette().fill(), 0.35))
        }
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

fn visuals(theme: Theme, palette: Palette) -> egui::Visuals {
    let dark = theme == Theme::Dark;
    let mut v = if dark { egui::Visuals::dark() } else { egui::Visuals::light() };
    let radius = CornerRadius::same(RADIUS);
    let (panel, card, dialog) = surfaces(dark, palette);
    let fill = palette.fill();
    v.panel_fill = panel;
    v.window_fill = dialog;
    v.override_text_color = None;
    if dark {
        v.extreme_bg_color = Color32::from_rgb(0x16, 0x16, 0x16);
        v.widgets.noninteractive.fg_stroke = Stroke::new(1.0, Color32::from_rgb(0xde, 0xd9, 0xd2));
        v.widgets.inactive.fg_stroke = Stroke::new(1.0, Color32::from_rgb(0xe8, 0xe4, 0xde));
        v.faint_bg_color = lerp(card, Color32::WHITE, 0.03);
        v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, lerp(card, Color32::WHITE, 0.12));
        v.widgets.inactive.bg_stroke = Stroke::new(1.0, Color32::from_rgb(0x8a, 0x84, 0x7a));
        v.widgets.inactive.weak_bg_fill = lerp(card, fill, 0.25);
        v.widgets.inactive.bg_fill = lerp(card, fill, 0.25);
        v.widgets.hovered.weak_bg_fill = lerp(card, fill, 0.45);
        v.widgets.hovered.bg_fill = lerp(card, fill, 0.45);
        // Light enough that secondary text on a selected row still reads (4.5:1).
        v.selection.bg_fill = lerp(card, fill, 0.24);
        v.selection.stroke = Stroke::new(FOCUS_STROKE, Color32::from_rgb(0xff, 0xf6, 0xe8));
    } else {
        v.extreme_bg_color = lerp(Color32::WHITE, fill, 0.03);
        v.widgets.noninteractive.fg_stroke = Stroke::new(1.0, Color32::from_rgb(0x33, 0x30, 0x2c));
        v.widgets.inactive.fg_stroke = Stroke::new(1.0, Color32::from_rgb(0x2a, 0x27, 0x24));
        v.faint_bg_color = lerp(Color32::WHITE, fill, 0.04);
        v.widgets.noninteractive.bg_stroke = Stroke::new(1.0, lerp(Color32::WHITE, fill, 0.2));
        v.widgets.inactive.bg_stroke = Stroke::new(1.0, Color32::from_rgb(0x8c, 0x82, 0x74));
        v.widgets.inactive.weak_bg_fill = lerp(Color32::WHITE, fill, 0.1);
        v.widgets.inactive.bg_fill = lerp(Color32::WHITE, fill, 0.1);
        v.widgets.hovered.weak_bg_fill = lerp(Color32::WHITE, fill, 0.2);
        v.widgets.hovered.bg_fill = lerp(Color32::WHITE, fill, 0.2);
        v.widgets.active.weak_bg_fill = lerp(Color32::WHITE, fill, 0.3);
        v.selection.bg_fill = lerp(Color32::WHITE, fill, 0.16);
        v.selection.stroke = Stroke::new(FOCUS_STROKE, Color32::from_rgb(0x2a, 0x1c, 0x08));
    }
    v.weak_text_color = Some(weak_color(dark));
    v.hyperlink_color = palette.text(dark);
    for w in [&mut v.widgets.noninteractive, &mut v.widgets.inactive, &mut v.widgets.hovered, &mut v.widgets.active] {
        w.corner_radius = radius;
    }
    v.widgets.hovered.bg_stroke = Stroke::new(1.0, palette.text(dark));
    v.widgets.open.corner_radius = radius;
    v.window_corner_radius = CornerRadius::same(12);
    v.menu_corner_radius = radius;
    v
}

/// The outline of a focused text field (egui draws it with the selection stroke): twice a
/// resting field's, so where typing goes is plain at a glance.
const FOCUS_STROKE: f32 = 2.0;

/// Installs the light and dark looks for `palette`; which one shows follows the theme
/// preference. Also makes `palette` the one this thread draws with.
pub fn install(ctx: &egui::Context, palette: Palette) {
    PALETTE.with(|cell| cell.set(palette));
    for theme in [Theme::Light, Theme::Dark] {
        ctx.set_visuals_of(theme, visuals(theme, palette));
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
    weak_color(is_dark(ui))
}

/// The accent fill (buttons, chosen segments, bars).
pub fn accent(_ui: &egui::Ui) -> Color32 {
    palette().fill()
}

/// Accent-coloured text that reads on the current surfaces.
pub fn accent_text(ui: &egui::Ui) -> Color32 {
    palette().text(is_dark(ui))
}

/// The colour of a page's title.
pub fn title_color(ui: &egui::Ui) -> Color32 {
    if is_dark(ui) { Color32::from_rgb(0xf2, 0xea, 0xde) } else { lerp(palette().text(false), Color32::BLACK, 0.35) }
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

/// A small button inside a table row. `name` says what it acts on ("Delete alice"), for
/// screen readers, where the row shows only "Delete".
pub fn row_button(ui: &mut egui::Ui, enabled: bool, text: &str, name: &str) -> egui::Response {
    let button = egui::Button::new(RichText::new(text).size(13.0)).min_size(Vec2::new(0.0, ROW_BUTTON_HEIGHT));
    let response = ui.add_enabled(enabled, button);
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, name));
    response
}

/// A small destructive button inside a table row; `name` as for [`row_button`].
pub fn row_danger_button(ui: &mut egui::Ui, enabled: bool, text: &str, name: &str) -> egui::Response {
    let (fg, bg) = tone_colors(is_dark(ui), Tone::Bad);
    let button = egui::Button::new(RichText::new(text).size(13.0).color(fg)).fill(bg);
    let response = ui.add_enabled(enabled, button.min_size(Vec2::new(0.0, ROW_BUTTON_HEIGHT)));
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, enabled, name));
    response
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

/// The width of a usage bar's caption ("5h 91%").
const USAGE_CAPTION_WIDTH: f32 = 66.0;

/// A horizontal bar of `used_percent` with a caption on its left, e.g. "5h 62%".
pub fn usage_bar(ui: &mut egui::Ui, caption: &str, used_percent: Option<f64>, width: f32) -> egui::Response {
    ui.horizontal(|ui| {
        ui.spacing_mut().item_spacing.x = 6.0;
        let text = match used_percent {
            Some(p) => format!("{caption} {p:.0}%"),
            None => format!("{caption} –"),
        };
        // Room for the longest caption, "5小时 100%".
        ui.add_sized(
            Vec2::new(USAGE_CAPTION_WIDTH, 14.0),
            egui::Label::new(RichText::new(text).size(11.5).color(weak(ui))).selectable(false),
        );
        bar(ui, (width - USAGE_CAPTION_WIDTH - 6.0).max(24.0), used_percent)
    })
    .inner
}

/// A bare bar `width` wide, filled to `used_percent` in the colour of how full it is.
pub fn bar(ui: &mut egui::Ui, width: f32, used_percent: Option<f64>) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(Vec2::new(width, 7.0), Sense::hover());
    let track = if is_dark(ui) { Color32::from_rgb(0x3a, 0x36, 0x31) } else { Color32::from_rgb(0xe6, 0xe0, 0xd6) };
    ui.painter().rect_filled(rect, CornerRadius::same(4), track);
    if let Some(p) = used_percent {
        let fraction = (p / 100.0).clamp(0.0, 1.0) as f32;
        let mut filled = rect;
        filled.set_width(rect.width() * fraction);
        ui.painter().rect_filled(filled, CornerRadius::same(4), usage_color(is_dark(ui), p));
    }
    response
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
    let (_, card, _) = surfaces(dark, palette());
    egui::Frame::new()
        .fill(card)
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

/// A row of mutually exclusive choices; returns true when the choice changed. The choice
/// that has keyboard focus is outlined.
pub fn segmented<V: PartialEq + Copy>(ui: &mut egui::Ui, current: &mut V, options: &[(V, &str)]) -> bool {
    let mut changed = false;
    let fill = ui.visuals().widgets.inactive.weak_bg_fill;
    egui::Frame::new().fill(fill).corner_radius(CornerRadius::same(RADIUS + 2)).inner_margin(Margin::same(3)).show(
        ui,
        |ui| {
            ui.horizontal_wrapped(|ui| {
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
                    let response = ui.add(button);
                    if response.has_focus() {
                        focus_ring(ui, response.rect);
                    }
                    if response.clicked() && !selected {
                        *current = *value;
                        changed = true;
                    }
                }
            });
        },
    );
    changed
}

/// A row of widgets centred in the available width. Their width is known only once drawn,
/// so it is measured and kept under `id`; the frame is laid out again when it changed.
pub fn centred_row(ui: &mut egui::Ui, id: &str, add: impl FnOnce(&mut egui::Ui)) {
    let id = ui.make_persistent_id(id);
    let width = ui.data(|d| d.get_temp::<f32>(id)).unwrap_or(0.0);
    ui.horizontal(|ui| {
        ui.add_space(((ui.available_width() - width) / 2.0).max(0.0));
        let start = ui.cursor().left();
        add(ui);
        let drawn = ui.min_rect().right() - start;
        if (drawn - width).abs() > 0.5 {
            ui.data_mut(|d| d.insert_temp(id, drawn));
            ui.ctx().request_discard("centred row measured");
        }
    });
}

/// A clear outline around the widget that has keyboard focus.
pub fn focus_ring(ui: &egui::Ui, rect: egui::Rect) {
    let color = if is_dark(ui) { Color32::WHITE } else { Color32::from_rgb(0x1a, 0x12, 0x05) };
    ui.painter().rect_stroke(
        rect.expand(2.0),
        CornerRadius::same(RADIUS),
        Stroke::new(2.0, color),
        egui::StrokeKind::Outside,
    );
}

/// A column heading that sorts the table by `key`: a first click sorts by it ascending, the
/// next reverses; the active one carries an arrow.
pub fn sort_header<K: PartialEq + Copy>(ui: &mut egui::Ui, label: &str, key: K, sort: &mut K, ascending: &mut bool) {
    let active = *sort == key;
    let text = RichText::new(label).strong().color(if active { accent_text(ui) } else { weak(ui) });
    ui.spacing_mut().item_spacing.x = 3.0;
    let response = ui.add(egui::Button::new(text).frame(false)).on_hover_text(T::SortBy.fill(&[&label]));
    if active {
        sort_arrow(ui, *ascending);
    }
    if response.clicked() {
        if active {
            *ascending = !*ascending;
        } else {
            *sort = key;
            *ascending = true;
        }
    }
}

/// A small triangle pointing up (ascending) or down, drawn so no font needs the glyph.
fn sort_arrow(ui: &mut egui::Ui, ascending: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::vec2(8.0, 8.0), egui::Sense::hover());
    let c = rect.center();
    let points = if ascending {
        vec![
            egui::pos2(c.x, rect.top()),
            egui::pos2(rect.right(), rect.bottom()),
            egui::pos2(rect.left(), rect.bottom()),
        ]
    } else {
        vec![egui::pos2(rect.left(), rect.top()), egui::pos2(rect.right(), rect.top()), egui::pos2(c.x, rect.bottom())]
    };
    ui.painter().add(egui::Shape::convex_polygon(points, accent_text(ui), egui::Stroke::NONE));
}

/// A big figure with a caption under it, for dashboard tiles.
pub fn stat(ui: &mut egui::Ui, value: &str, caption: &str) {
    ui.vertical(|ui| {
        ui.label(RichText::new(value).size(24.0).strong().color(accent_text(ui)));
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

/// A red message with a button to dismiss it; returns true when dismissed. The button keeps
/// its own room at the right, so a long message wraps before it instead of under it.
pub fn error_banner(ui: &mut egui::Ui, message: &str, dismiss: &str) -> bool {
    let (fg, bg) = tone_colors(is_dark(ui), Tone::Bad);
    let mut dismissed = false;
    egui::Frame::new().fill(bg).corner_radius(CornerRadius::same(RADIUS)).inner_margin(Margin::same(10)).show(
        ui,
        |ui| {
            ui.set_width(ui.available_width());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Min), |ui| {
                if ui.add(egui::Button::new(RichText::new(dismiss).color(fg)).frame(false)).clicked() {
                    dismissed = true;
                }
                ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
                    ui.add(egui::Label::new(RichText::new(message).color(fg)).wrap());
                });
            });
        },
    );
    dismissed
}

/// A message in a tone's tint, e.g. "shown only once".
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

/// A message under a form field, in the error colour, that says what is wrong with it.
pub fn field_error(ui: &mut egui::Ui, text: &str) {
    let (fg, _) = tone_colors(is_dark(ui), Tone::Bad);
    ui.add(egui::Label::new(RichText::new(text).color(fg).size(12.5)).wrap());
}

/// A toolbar: filters and fields first, the page's actions at the right end. When the row
/// has no room left for the actions they move to a row of their own, still at the right, so
/// nothing is drawn over anything else however narrow the window.
pub struct Toolbar<'u> {
    ui: &'u mut egui::Ui,
    id: Id,
}

impl Toolbar<'_> {
    /// The filters and fields, from the left; they wrap onto more rows as needed.
    pub fn leading(&mut self, add: impl FnOnce(&mut egui::Ui)) {
        add(self.ui);
    }

    /// The actions, laid out from the right: add the main action first.
    pub fn trailing(&mut self, add: impl FnOnce(&mut egui::Ui)) {
        let needed = self.ui.ctx().data(|d| d.get_temp::<f32>(self.id)).unwrap_or(f32::INFINITY);
        let spacing = self.ui.spacing().item_spacing.x;
        if self.ui.available_size_before_wrap().x < needed + spacing {
            self.ui.end_row();
        }
        let used = self.ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), add).response.rect.width();
        if (used - needed).abs() > 0.5 {
            self.ui.ctx().data_mut(|d| d.insert_temp(self.id, used));
            self.ui.ctx().request_discard("toolbar actions measured");
        }
    }
}

/// Lays out a [`Toolbar`]; `id` tells toolbars apart.
pub fn toolbar<R>(ui: &mut egui::Ui, id: &str, add: impl FnOnce(&mut Toolbar<'_>) -> R) -> R {
    let id = ui.scope_id().with(id);
    ui.horizontal_wrapped(|ui| add(&mut Toolbar { ui, id })).inner
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG relative luminance.
    fn luminance(c: Color32) -> f64 {
        let channel = |v: u8| {
            let s = f64::from(v) / 255.0;
            if s <= 0.039_28 { s / 12.92 } else { ((s + 0.055) / 1.055).powf(2.4) }
        };
        0.2126 * channel(c.r()) + 0.7152 * channel(c.g()) + 0.0722 * channel(c.b())
    }

    /// WCAG contrast ratio of two colours.
    pub fn contrast(a: Color32, b: Color32) -> f64 {
        let (la, lb) = (luminance(a), luminance(b));
        (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
    }

    #[test]
    fn text_reads_on_every_surface_in_every_palette_and_theme() {
        for palette in Palette::ALL {
            assert!(contrast(Color32::WHITE, palette.fill()) >= 4.5, "{palette:?}: white on the accent fill");
            for dark in [false, true] {
                let v = visuals(if dark { Theme::Dark } else { Theme::Light }, palette);
                let (panel, card, dialog) = surfaces(dark, palette);
                for (name, surface) in [("panel", panel), ("card", card), ("dialog", dialog)] {
                    let at = format!("{palette:?} dark={dark} on the {name}");
                    assert!(contrast(weak_color(dark), surface) >= 4.5, "{at}: secondary text");
                    assert!(contrast(palette.text(dark), surface) >= 4.5, "{at}: accent text");
                    assert!(contrast(v.text_color(), surface) >= 4.5, "{at}: body text");
                    assert!(contrast(v.widgets.inactive.bg_stroke.color, surface) >= 3.0, "{at}: checkbox outline");
                }
                // A selected row: its text, its secondary text and its tags.
                for (name, text) in
                    [("text", v.selection.stroke.color), ("secondary", weak_color(dark)), ("tags", palette.text(dark))]
                {
                    let ratio = contrast(text, v.selection.bg_fill);
                    assert!(ratio >= 4.5, "{palette:?} dark={dark}: {name} on a selected row, {ratio:.2}");
                }
                for tone in [Tone::Good, Tone::Warn, Tone::Bad, Tone::Neutral, Tone::Accent] {
                    let (fg, bg) = PALETTE.with(|cell| {
                        cell.set(palette);
                        tone_colors(dark, tone)
                    });
                    assert!(contrast(fg, bg) >= 4.5, "{palette:?} dark={dark}: {tone:?} pill");
                }
            }
        }
    }
}
