//! The Logs page: the request log over any number of rows. The table is virtualised and its
//! rows are fetched page by page on the runtime as they scroll into view; nothing loads the
//! whole log. Filters: status class, time range and text. In a narrow window the less
//! important columns give way first (account, path, model and status always stay); the
//! selected row's details show beside or under the table. Clearing the log asks first.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Local;
use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::accounts::empty_state;
use super::backend::{Backend, Job, poll_slot};
use super::dialog::{Answer, Confirm};
use super::i18n::T;
use super::{fmt, theme};
use crate::core::Snapshot;
use crate::core::logs::{LogFilter, LogRow};

/// Rows fetched per query.
pub const PAGE: u64 = 200;
/// Below this width the details go under the table instead of beside it.
const SIDE_DETAILS_WIDTH: f32 = 1100.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    All,
    Ok,
    Client,
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeRange {
    All,
    Min30,
    Hours2,
    Hours24,
    Today,
    Custom,
}

/// The table's columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogColumn {
    Time,
    Key,
    Account,
    Path,
    Model,
    Effort,
    Status,
    Duration,
    FirstByte,
    Tokens,
    Method,
    Error,
}

impl LogColumn {
    const DISPLAY_ORDER: [LogColumn; 12] = [
        LogColumn::Time,
        LogColumn::Key,
        LogColumn::Account,
        LogColumn::Method,
        LogColumn::Path,
        LogColumn::Model,
        LogColumn::Effort,
        LogColumn::Status,
        LogColumn::Duration,
        LogColumn::FirstByte,
        LogColumn::Tokens,
        LogColumn::Error,
    ];
    /// The columns that always show.
    const CORE: [LogColumn; 4] = [LogColumn::Account, LogColumn::Path, LogColumn::Model, LogColumn::Status];
    /// The others, in the order they are added as the window widens: each one only once
    /// every one before it is shown, so a column seen at one width stays at every wider one.
    const OPTIONAL: [LogColumn; 8] = [
        LogColumn::Time,
        LogColumn::Tokens,
        LogColumn::Duration,
        LogColumn::Method,
        LogColumn::Key,
        LogColumn::Error,
        LogColumn::Effort,
        LogColumn::FirstByte,
    ];

    fn width(self) -> f32 {
        match self {
            LogColumn::Time => 128.0,
            LogColumn::Key => 120.0,
            LogColumn::Account => 170.0,
            LogColumn::Path => 170.0,
            LogColumn::Model => 130.0,
            LogColumn::Effort => 80.0,
            LogColumn::Status => 64.0,
            LogColumn::Duration => 80.0,
            LogColumn::FirstByte => 84.0,
            LogColumn::Tokens => 110.0,
            LogColumn::Method => 70.0,
            LogColumn::Error => 140.0,
        }
    }

    fn title(self) -> &'static str {
        match self {
            LogColumn::Time => T::Time.tr(),
            LogColumn::Key => T::Key.tr(),
            LogColumn::Account => T::Account.tr(),
            LogColumn::Path => T::Path.tr(),
            LogColumn::Model => T::Model.tr(),
            LogColumn::Effort => T::Effort.tr(),
            LogColumn::Status => T::Status.tr(),
            LogColumn::Duration => T::Duration.tr(),
            LogColumn::FirstByte => T::FirstByte.tr(),
            LogColumn::Tokens => T::Tokens.tr(),
            LogColumn::Method => T::Method.tr(),
            LogColumn::Error => T::Error.tr(),
        }
    }

    /// The columns that fit in `width`, in display order.
    pub fn fitting(width: f32) -> Vec<LogColumn> {
        let mut used: f32 = LogColumn::CORE.iter().map(|c| c.width()).sum();
        let mut shown: Vec<LogColumn> = LogColumn::CORE.to_vec();
        for column in LogColumn::OPTIONAL {
            if used + column.width() > width {
                break;
            }
            used += column.width();
            shown.push(column);
        }
        LogColumn::DISPLAY_ORDER.into_iter().filter(|c| shown.contains(c)).collect()
    }
}

/// The inputs the rows were fetched for; a change starts over.
#[derive(Debug, Clone, PartialEq)]
struct FilterKey {
    status: StatusClass,
    range: TimeRange,
    from: String,
    to: String,
    text: String,
}

/// Names for ids, rebuilt when the snapshot changes.
struct Names {
    snapshot: Arc<Snapshot>,
    accounts: HashMap<String, String>,
    keys: HashMap<String, String>,
}

pub struct LogsPage {
    backend: Backend,
    status: StatusClass,
    range: TimeRange,
    from: String,
    to: String,
    text: String,
    applied: Option<FilterKey>,
    filter: LogFilter,
    generation: u64,
    total: Option<u64>,
    count_job: Option<(u64, Job<u64>)>,
    pages: HashMap<u64, Vec<LogRow>>,
    page_jobs: HashMap<u64, (u64, Job<Vec<LogRow>>)>,
    selected: Option<LogRow>,
    range_error: Option<String>,
    confirm_clear: bool,
    clear_job: Option<Job<usize>>,
    names: Option<Names>,
}

impl LogsPage {
    pub fn new(backend: Backend) -> LogsPage {
        let now = Local::now();
        LogsPage {
            backend,
            status: StatusClass::All,
            range: TimeRange::All,
            from: (now - chrono::Duration::hours(1)).format("%Y-%m-%d %H:%M").to_string(),
            to: now.format("%Y-%m-%d %H:%M").to_string(),
            text: String::new(),
            applied: None,
            filter: LogFilter::default(),
            generation: 0,
            total: None,
            count_job: None,
            pages: HashMap::new(),
            page_jobs: HashMap::new(),
            selected: None,
            range_error: None,
            confirm_clear: false,
            clear_job: None,
            names: None,
        }
    }

    fn key(&self) -> FilterKey {
        FilterKey {
            status: self.status,
            range: self.range,
            from: self.from.clone(),
            to: self.to.clone(),
            text: self.text.clone(),
        }
    }

    /// The filter for the current inputs, with relative ranges measured from now.
    fn build_filter(&self) -> Result<LogFilter, String> {
        let now = Local::now();
        let now_ms = now.timestamp_millis();
        let (since, until) = match self.range {
            TimeRange::All => (None, None),
            TimeRange::Min30 => (Some(now_ms - 30 * 60_000), None),
            TimeRange::Hours2 => (Some(now_ms - 2 * 3_600_000), None),
            TimeRange::Hours24 => (Some(now_ms - 24 * 3_600_000), None),
            TimeRange::Today => (Some(crate::core::stats::ranges_at(&now).today_start), None),
            TimeRange::Custom => {
                let from = fmt::parse_local(&self.from).ok_or_else(|| T::BadDate.fill(&[&self.from]))?;
                let to = fmt::parse_local(&self.to).ok_or_else(|| T::BadDate.fill(&[&self.to]))?;
                if to < from {
                    return Err(T::RangeBackwards.tr().to_string());
                }
                (Some(from), Some(to + 59_999))
            }
        };
        let status_class = match self.status {
            StatusClass::All => None,
            StatusClass::Ok => Some(2),
            StatusClass::Client => Some(4),
            StatusClass::Server => Some(5),
        };
        let mut filter = LogFilter { since, until, status_class, ..LogFilter::default() };
        self.backend.core.log_search(&mut filter, &self.text).map_err(|err| err.to_string())?;
        Ok(filter)
    }

    /// Starts over with the current inputs: count, then pages as they come into view.
    fn reload(&mut self, ctx: &egui::Context) {
        self.applied = Some(self.key());
        match self.build_filter() {
            Ok(filter) => {
                self.range_error = None;
                self.filter = filter;
            }
            Err(err) => {
                self.range_error = Some(err);
                return;
            }
        }
        self.generation += 1;
        self.pages.clear();
        self.page_jobs.clear();
        self.total = None;
        let core = self.backend.core.clone();
        let filter = self.filter.clone();
        self.count_job = Some((self.generation, self.backend.spawn(ctx, async move { core.count_logs(filter).await })));
    }

    fn poll(&mut self, ctx: &egui::Context) {
        if self.applied.as_ref() != Some(&self.key()) {
            self.reload(ctx);
        }
        if let Some((generation, job)) = self.count_job.as_mut()
            && let Some(result) = job.poll()
        {
            let current = *generation == self.generation;
            self.count_job = None;
            match result {
                Ok(total) if current => self.total = Some(total),
                Ok(_) => {}
                Err(err) => self.backend.notices.error(T::LogsFailed, &err),
            }
        }
        let mut done = Vec::new();
        for (page, (generation, job)) in &mut self.page_jobs {
            if let Some(result) = job.poll() {
                done.push((*page, *generation, result));
            }
        }
        for (page, generation, result) in done {
            self.page_jobs.remove(&page);
            match result {
                Ok(rows) if generation == self.generation => {
                    tracing::debug!(page, rows = rows.len(), "logs: rows shown");
                    self.pages.insert(page, rows);
                }
                Ok(_) => {}
                Err(err) => self.backend.notices.error(T::LogsFailed, &err),
            }
        }
        if let Some(result) = poll_slot(&mut self.clear_job) {
            match result {
                Ok(count) => self.backend.notices.info(T::LogsCleared, &[&count]),
                Err(err) => self.backend.notices.error(T::ClearLogsFailed, &err),
            }
            self.selected = None;
            self.reload(ctx);
        }
    }

    /// The row at `index`, asking for its page when it is not here yet.
    fn row(&mut self, ctx: &egui::Context, index: u64) -> Option<&LogRow> {
        let page = index / PAGE;
        if !self.pages.contains_key(&page) && !self.page_jobs.contains_key(&page) {
            let core = self.backend.core.clone();
            let filter = self.filter.clone();
            let job = self.backend.spawn(ctx, async move { core.query_logs(filter, page * PAGE, PAGE).await });
            self.page_jobs.insert(page, (self.generation, job));
        }
        self.pages.get(&page).and_then(|rows| rows.get((index % PAGE) as usize))
    }

    fn names(&mut self) -> &Names {
        let snapshot = self.backend.core.snapshot();
        let names = match self.names.take() {
            Some(names) if Arc::ptr_eq(&names.snapshot, &snapshot) => names,
            _ => Names {
                accounts: snapshot.accounts.iter().map(|v| (v.account.id.clone(), v.account.label.clone())).collect(),
                keys: snapshot.keys.iter().map(|k| (k.id.clone(), k.name.clone())).collect(),
                snapshot,
            },
        };
        self.names.insert(names)
    }

    /// True while the count or a page of rows is being read.
    pub fn loading(&self) -> bool {
        self.count_job.is_some() || !self.page_jobs.is_empty()
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll(ui.ctx());
        theme::card_frame(ui).show(ui, |ui| {
            ui.set_width(ui.available_width());
            self.toolbar(ui);
        });
        ui.add_space(theme::GAP);
        let side = ui.available_width() >= SIDE_DETAILS_WIDTH;
        theme::card_frame(ui).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.set_min_height(ui.available_height());
            if self.selected.is_some() {
                let panel = if side {
                    egui::Panel::right("log_details").resizable(true).default_size(330.0).min_size(260.0)
                } else {
                    egui::Panel::bottom("log_details").resizable(true).default_size(220.0).min_size(140.0)
                };
                panel.frame(egui::Frame::new().inner_margin(egui::Margin::same(8))).show(ui, |ui| self.details(ui));
            }
            self.table(ui);
        });
        self.confirm_clear_dialog(ui.ctx());
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        ui.horizontal_wrapped(|ui| {
            theme::segmented(
                ui,
                &mut self.status,
                &[
                    (StatusClass::All, T::All.tr()),
                    (StatusClass::Ok, "2xx"),
                    (StatusClass::Client, "4xx"),
                    (StatusClass::Server, "5xx"),
                ],
            );
            let ranges = [
                (TimeRange::All, T::AllTime.tr()),
                (TimeRange::Min30, T::Last30Min.tr()),
                (TimeRange::Hours2, T::Last2Hours.tr()),
                (TimeRange::Hours24, T::Last24Hours.tr()),
                (TimeRange::Today, T::TodayRange.tr()),
                (TimeRange::Custom, T::CustomRange.tr()),
            ];
            let current = ranges.iter().find(|(r, _)| *r == self.range).map_or("", |(_, label)| *label);
            let combo =
                egui::ComboBox::from_id_salt("log_range").selected_text(current).width(150.0).show_ui(ui, |ui| {
                    for (range, label) in ranges {
                        ui.selectable_value(&mut self.range, range, label);
                    }
                });
            theme::name_widget(&combo.response, egui::Role::ComboBox, T::TimeRangeLabel.tr());
            if self.range == TimeRange::Custom {
                ui.add(egui::TextEdit::singleline(&mut self.from).hint_text(T::From.tr()).desired_width(130.0));
                ui.label("–");
                ui.add(egui::TextEdit::singleline(&mut self.to).hint_text(T::To.tr()).desired_width(130.0));
            }
            ui.add(egui::TextEdit::singleline(&mut self.text).hint_text(T::SearchLogs.tr()).desired_width(290.0));
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let busy = self.clear_job.is_some();
                if theme::danger_button(ui, !busy, T::ClearLogs.tr()).clicked() {
                    self.confirm_clear = true;
                }
                if theme::button(ui, T::Refresh.tr()).clicked() {
                    self.reload(ui.ctx());
                }
                if self.loading() || busy {
                    ui.spinner();
                }
            });
        });
        if let Some(error) = self.range_error.clone() {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
    }

    fn table(&mut self, ui: &mut egui::Ui) {
        let Some(total) = self.total else {
            if self.range_error.is_none() {
                ui.add_space(30.0);
                ui.vertical_centered(|ui| ui.spinner());
            }
            return;
        };
        ui.label(RichText::new(T::NRows.fill(&[&fmt::count(total as i64)])).color(theme::weak(ui)));
        if total == 0 {
            empty_state(ui, T::NoLogs.tr(), T::NoLogsHint.tr());
            return;
        }
        let columns = LogColumn::fitting(ui.available_width() - 16.0);
        let ctx = ui.ctx().clone();
        // Scroll within what is left: with the details under the table (a narrow window) the
        // table's default 200 px minimum ran over the details' header.
        let height = ui.available_height();
        let mut builder = TableBuilder::new(ui)
            .id_salt("logs_table")
            .min_scrolled_height(0.0)
            .max_scroll_height(height)
            .striped(true)
            .sense(egui::Sense::click())
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
        for (i, column) in columns.iter().enumerate() {
            let c = if i + 1 == columns.len() {
                Column::remainder().at_least(column.width() * 0.6)
            } else {
                Column::initial(column.width()).at_least(column.width() * 0.6).clip(true)
            };
            builder = builder.column(c);
        }
        let selected_id = self.selected.as_ref().map(|r| r.id);
        let mut clicked = None;
        builder
            .header(28.0, |mut header| {
                for column in &columns {
                    header.col(|ui| {
                        ui.label(RichText::new(column.title()).strong().color(theme::weak(ui)));
                    });
                }
            })
            .body(|body| {
                body.rows(30.0, total as usize, |mut row| {
                    let index = row.index() as u64;
                    let Some(log) = self.row(&ctx, index).cloned() else {
                        for _ in &columns {
                            row.col(|ui| {
                                ui.label(RichText::new("…").color(theme::weak(ui)));
                            });
                        }
                        return;
                    };
                    row.set_selected(selected_id == Some(log.id));
                    let names = self.names();
                    for column in &columns {
                        row.col(|ui| cell(ui, *column, &log, names));
                    }
                    if row.response().clicked() {
                        clicked = Some(log);
                    }
                });
            });
        if let Some(log) = clicked {
            self.selected = if selected_id == Some(log.id) { None } else { Some(log) };
        }
    }

    fn details(&mut self, ui: &mut egui::Ui) {
        let Some(log) = self.selected.clone() else { return };
        let names = self.names();
        let account =
            log.account_id.as_ref().map(|id| names.accounts.get(id).map_or(id.clone(), |l| format!("{l} ({id})")));
        let key = log.key_id.as_ref().map(|id| names.keys.get(id).map_or(id.clone(), |n| format!("{n} ({id})")));
        let mut close = false;
        ui.horizontal(|ui| {
            ui.label(RichText::new(T::RequestDetails.tr()).size(15.0).strong());
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if theme::button(ui, T::Close.tr()).clicked() {
                    close = true;
                }
            });
        });
        egui::ScrollArea::vertical().id_salt("log_details_scroll").show(ui, |ui| {
            egui::Grid::new("log_detail_grid").num_columns(2).spacing([10.0, 6.0]).show(ui, |ui| {
                let dash = || "–".to_string();
                let tokens = |v: Option<i64>| v.map_or_else(dash, fmt::count);
                let failed = log.status >= 400 || log.error.is_some();
                if failed {
                    // What went wrong first, for the request someone opened to find out.
                    ui.label(RichText::new(T::Error.tr()).color(theme::weak(ui)));
                    theme::field_error(ui, log.error.as_deref().unwrap_or("–"));
                    ui.end_row();
                }
                ui.label(RichText::new(T::Path.tr()).color(theme::weak(ui)));
                ui.horizontal_wrapped(|ui| {
                    ui.add(egui::Label::new(RichText::new(&log.path).monospace()).wrap());
                    if theme::row_button(ui, true, T::Copy.tr(), T::CopyPath.tr()).clicked() {
                        ui.ctx().copy_text(log.path.clone());
                        self.backend.notices.info(T::Copied, &[&log.path]);
                    }
                });
                ui.end_row();
                let rows: [(&str, String); 14] = [
                    (T::Time.tr(), fmt::datetime_ms(log.ts)),
                    (T::Status.tr(), log.status.to_string()),
                    (T::Method.tr(), log.method.clone()),
                    (T::Model.tr(), log.model.clone().unwrap_or_else(dash)),
                    (T::Effort.tr(), log.reasoning_effort.clone().unwrap_or_else(dash)),
                    (T::Account.tr(), account.clone().or_else(|| log.upstream.clone()).unwrap_or_else(dash)),
                    (T::Key.tr(), key.clone().unwrap_or_else(dash)),
                    (T::Duration.tr(), fmt::millis(log.duration_ms)),
                    (T::FirstByte.tr(), log.first_byte_ms.map_or_else(dash, fmt::millis)),
                    (T::InputTokens.tr(), tokens(log.input_tokens)),
                    (T::CachedTokens.tr(), tokens(log.cached_tokens)),
                    (T::OutputTokens.tr(), tokens(log.output_tokens)),
                    (T::ReasoningTokens.tr(), tokens(log.reasoning_tokens)),
                    (T::Attempts.tr(), log.attempts.to_string()),
                ];
                // The request id matches the trace and the client's x-request-id; the instance
                // is there on a database several instances share.
                let known = [(T::RequestId.tr(), log.request_id.clone()), (T::Instance.tr(), log.instance.clone())];
                let known = known.into_iter().filter_map(|(name, value)| Some((name, value?)));
                for (name, value) in rows.into_iter().chain(known) {
                    ui.label(RichText::new(name).color(theme::weak(ui)));
                    ui.add(egui::Label::new(value).wrap());
                    ui.end_row();
                }
            });
        });
        if close {
            self.selected = None;
        }
    }

    fn confirm_clear_dialog(&mut self, ctx: &egui::Context) {
        if !self.confirm_clear {
            return;
        }
        let answer = Confirm {
            id: "confirm_clear_logs",
            title: T::ClearLogsTitle.tr().to_string(),
            message: T::ClearLogsBody.tr().to_string(),
            items: &[],
            note: None,
            action: T::ClearLogs.tr(),
        }
        .show(ctx);
        match answer {
            Some(Answer::Confirmed) => {
                let core = self.backend.core.clone();
                self.clear_job = Some(self.backend.spawn(ctx, async move { core.clear_logs().await }));
                self.confirm_clear = false;
            }
            Some(Answer::Cancelled) => self.confirm_clear = false,
            None => {}
        }
    }
}

fn status_tone(status: u16) -> theme::Tone {
    match status {
        200..=299 => theme::Tone::Good,
        400..=499 => theme::Tone::Warn,
        500..=599 => theme::Tone::Bad,
        _ => theme::Tone::Neutral,
    }
}

fn cell(ui: &mut egui::Ui, column: LogColumn, log: &LogRow, names: &Names) {
    let weak = theme::weak(ui);
    let text = |ui: &mut egui::Ui, text: String| {
        ui.add(egui::Label::new(text).truncate().selectable(false));
    };
    match column {
        LogColumn::Time => text(ui, fmt::time_ms(log.ts)),
        LogColumn::Key => {
            let name = log.key_id.as_ref().map(|id| names.keys.get(id).cloned().unwrap_or_else(|| id.clone()));
            text(ui, name.unwrap_or_else(|| "–".into()));
        }
        LogColumn::Account => {
            let name = log
                .account_id
                .as_ref()
                .map(|id| names.accounts.get(id).cloned().unwrap_or_else(|| id.clone()))
                .or_else(|| log.upstream.clone());
            text(ui, name.unwrap_or_else(|| "–".into()));
        }
        LogColumn::Path => {
            ui.add(egui::Label::new(RichText::new(&log.path).monospace().size(12.0)).truncate().selectable(false));
        }
        LogColumn::Model => text(ui, log.model.clone().unwrap_or_else(|| "–".into())),
        LogColumn::Method => text(ui, log.method.clone()),
        LogColumn::Error => {
            let error = log.error.clone().unwrap_or_else(|| "–".into());
            ui.add(egui::Label::new(RichText::new(&error).size(12.5)).truncate().selectable(false))
                .on_hover_text(&error);
        }
        LogColumn::Effort => text(ui, log.reasoning_effort.clone().unwrap_or_else(|| "–".into())),
        LogColumn::Status => {
            theme::pill(ui, &log.status.to_string(), status_tone(log.status));
        }
        LogColumn::Duration => text(ui, fmt::millis(log.duration_ms)),
        LogColumn::FirstByte => text(ui, log.first_byte_ms.map_or_else(|| "–".into(), fmt::millis)),
        LogColumn::Tokens => {
            let total = log.input_tokens.unwrap_or(0) + log.output_tokens.unwrap_or(0);
            if log.input_tokens.is_none() && log.output_tokens.is_none() {
                ui.label(RichText::new("–").color(weak));
            } else {
                ui.add(egui::Label::new(fmt::compact(total)).selectable(false)).on_hover_text(format!(
                    "{} {} · {} {}",
                    fmt::count(log.input_tokens.unwrap_or(0)),
                    T::InputTokens.tr(),
                    fmt::count(log.output_tokens.unwrap_or(0)),
                    T::OutputTokens.tr()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_windows_keep_the_core_columns_and_wide_ones_show_all() {
        let narrow = LogColumn::fitting(560.0);
        assert_eq!(narrow, vec![LogColumn::Account, LogColumn::Path, LogColumn::Model, LogColumn::Status]);
        let wide = LogColumn::fitting(2000.0);
        assert_eq!(wide.len(), 12);
        assert_eq!(wide[0], LogColumn::Time);
        let middle = LogColumn::fitting(800.0);
        assert!(middle.contains(&LogColumn::Time) && middle.contains(&LogColumn::Tokens));
        assert!(!middle.contains(&LogColumn::FirstByte));
        // What a 1280-point window has room for (less the page's, card's and table's margins).
        let at_1280 = LogColumn::fitting(1280.0 - 88.0);
        for column in [LogColumn::Key, LogColumn::Method, LogColumn::Error] {
            assert!(at_1280.contains(&column), "{column:?} at 1280: {at_1280:?}");
        }
        let mut shown_before: Vec<LogColumn> = Vec::new();
        for width in (500..2000).step_by(10) {
            let shown = LogColumn::fitting(width as f32);
            assert!(shown_before.iter().all(|c| shown.contains(c)), "a column went away at {width}: {shown:?}");
            shown_before = shown;
        }
    }

    #[test]
    fn custom_dates_parse_in_local_time() {
        assert!(fmt::parse_local("2026-03-10 14:25").is_some());
        assert!(fmt::parse_local("2026-03-10").is_some());
        assert!(fmt::parse_local("yesterday").is_none());
    }
}
