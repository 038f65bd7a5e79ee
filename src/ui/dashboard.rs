//! The Dashboard page: whether the service runs and the base URLs to paste into clients,
//! today's traffic, requests and tokens over 24 hours or 30 days, and the pool's health —
//! how many accounts can serve and which are closest to their 5-hour and weekly limits.

use std::time::{Duration, Instant};

use egui::RichText;
use egui_plot::{Bar, BarChart, Line, Plot, PlotPoints};

use super::backend::{Backend, Job, Navigate, poll_slot};
use super::i18n::T;
use super::service_ctl::ServiceState;
use super::{fmt, theme};
use crate::core::AccountView;
use crate::core::stats::{Bucket, DashboardStats};
use crate::usage::availability::Availability;

/// How often the figures refresh while the page is showing.
const REFRESH: Duration = Duration::from_secs(30);
/// Accounts listed under each "closest to the limit" heading.
const CLOSEST: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    Day,
    Month,
}

pub struct DashboardPage {
    backend: Backend,
    stats: Option<DashboardStats>,
    job: Option<Job<DashboardStats>>,
    loaded_at: Option<Instant>,
    error: Option<String>,
    range: Range,
}

impl DashboardPage {
    pub fn new(backend: Backend) -> DashboardPage {
        DashboardPage { backend, stats: None, job: None, loaded_at: None, error: None, range: Range::Day }
    }

    fn refresh(&mut self, ctx: &egui::Context) {
        let core = self.backend.core.clone();
        self.job = Some(self.backend.spawn(ctx, async move { core.dashboard_stats().await }));
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        if let Some(result) = poll_slot(&mut self.job) {
            self.loaded_at = Some(Instant::now());
            match result {
                Ok(stats) => {
                    tracing::debug!("dashboard: figures shown");
                    self.stats = Some(stats);
                    self.error = None;
                }
                Err(err) => self.error = Some(err),
            }
        }
        let stale = self.loaded_at.is_none_or(|at| at.elapsed() >= REFRESH);
        if self.job.is_none() && stale {
            self.refresh(ui.ctx());
        }
        ui.ctx().request_repaint_after(REFRESH);

        egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
            if let Some(error) = self.error.clone()
                && theme::error_banner(ui, &T::StatsFailed.fill(&[&error]), T::Dismiss.tr())
            {
                self.error = None;
            }
            self.first_steps(ui);
            let wide = ui.available_width() >= 860.0;
            if wide {
                ui.columns(2, |cols| {
                    self.service_card(&mut cols[0]);
                    self.today_card(&mut cols[1]);
                });
            } else {
                self.service_card(ui);
                ui.add_space(theme::GAP);
                self.today_card(ui);
            }
            ui.add_space(theme::GAP);
            self.traffic_card(ui, wide);
            ui.add_space(theme::GAP);
            self.health_card(ui, wide);
            ui.add_space(theme::GAP);
        });
    }

    /// The three steps to a working set-up, until they are done: an account, a key, and a
    /// tool pointed at the gateway (done once any key has been used).
    fn first_steps(&mut self, ui: &mut egui::Ui) {
        let snapshot = self.backend.core.snapshot();
        let steps = [
            !snapshot.accounts.is_empty(),
            !snapshot.keys.is_empty(),
            snapshot.keys.iter().any(|k| k.last_used_at.is_some()),
        ];
        if steps.iter().all(|done| *done) {
            return;
        }
        theme::card(ui, T::FirstSteps.tr(), Some(T::FirstStepsSubtitle.tr()), |ui| {
            let texts = [T::StepAccount, T::StepKey, T::StepTool];
            for (index, (done, text)) in steps.iter().zip(texts).enumerate() {
                ui.horizontal_wrapped(|ui| {
                    if *done {
                        theme::pill(ui, T::StepDone.tr(), theme::Tone::Good);
                    } else {
                        theme::pill(ui, &(index + 1).to_string(), theme::Tone::Accent);
                    }
                    ui.label(RichText::new(text.tr()).strong());
                    if *done {
                        return;
                    }
                    let previous_done = index == 0 || steps[index - 1];
                    match index {
                        0 => {
                            if theme::primary_button(ui, true, T::SignInChatGpt.tr()).clicked() {
                                self.backend.navigate(Navigate::SignIn);
                            }
                            if theme::button(ui, T::ImportFiles.tr()).clicked() {
                                self.backend.navigate(Navigate::Import);
                            }
                        }
                        1 => {
                            if theme::primary_button(ui, previous_done, T::CreateKey.tr()).clicked() {
                                self.backend.navigate(Navigate::CreateKey);
                            }
                        }
                        _ => {
                            let url = format!("http://{}/v1", self.backend.base_host());
                            ui.label(RichText::new(&url).monospace());
                            if theme::button(ui, T::Copy.tr()).clicked() {
                                ui.ctx().copy_text(url.clone());
                                self.backend.notices.info(T::Copied, &[&url]);
                            }
                        }
                    }
                });
            }
        });
        ui.add_space(theme::GAP);
    }

    fn service_card(&mut self, ui: &mut egui::Ui) {
        theme::card(ui, T::Service.tr(), Some(T::ServiceSubtitle.tr()), |ui| {
            let state = self.backend.service.state();
            ui.horizontal(|ui| {
                service_pill(ui, &state);
                if state.addr().is_none() {
                    let busy = state.is_busy();
                    if theme::primary_button(ui, !busy, T::StartService.tr()).clicked() {
                        self.backend.service.start(&self.backend.runtime, ui.ctx());
                    }
                }
            });
            if let ServiceState::Failed(reason) = &state {
                ui.add(egui::Label::new(RichText::new(reason).color(ui.visuals().error_fg_color)).wrap());
            }
            if state.addr().is_none() {
                theme::note(ui, T::UrlsWhenStopped.tr(), theme::Tone::Warn);
            }
            ui.add_space(4.0);
            let host = self.backend.base_host();
            egui::Grid::new("base_urls").num_columns(3).spacing([12.0, 8.0]).show(ui, |ui| {
                for (name, url) in [
                    ("OpenAI", format!("http://{host}/v1")),
                    ("Anthropic", format!("http://{host}")),
                    ("Azure OpenAI", format!("http://{host}/openai")),
                ] {
                    ui.label(RichText::new(name).strong());
                    ui.label(RichText::new(&url).monospace());
                    if theme::button(ui, T::Copy.tr()).on_hover_text(T::CopyBaseUrl.fill(&[&name])).clicked() {
                        ui.ctx().copy_text(url.clone());
                        self.backend.notices.info(T::Copied, &[&url]);
                    }
                    ui.end_row();
                }
            });
        });
    }

    fn today_card(&mut self, ui: &mut egui::Ui) {
        theme::card(ui, T::Today.tr(), Some(T::TodaySubtitle.tr()), |ui| {
            let Some(stats) = &self.stats else {
                ui.spinner();
                return;
            };
            let today = stats.today;
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing.x = 28.0;
                theme::stat(ui, &fmt::count(today.requests as i64), T::Requests.tr());
                let rate = today.success_rate().map_or_else(|| "–".to_string(), |r| format!("{r:.1}%"));
                theme::stat(ui, &rate, T::SuccessRate.tr());
            });
            ui.add_space(6.0);
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing.x = 28.0;
                theme::stat(ui, &fmt::compact(today.input_tokens), T::InputTokens.tr());
                theme::stat(ui, &fmt::compact(today.cached_tokens), T::CachedTokens.tr());
                theme::stat(ui, &fmt::compact(today.output_tokens), T::OutputTokens.tr());
                theme::stat(ui, &fmt::compact(today.reasoning_tokens), T::ReasoningTokens.tr());
            });
        });
    }

    fn traffic_card(&mut self, ui: &mut egui::Ui, wide: bool) {
        theme::card_frame(ui).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                ui.label(RichText::new(T::Traffic.tr()).size(16.0).strong());
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if self.job.is_some() {
                        ui.spinner();
                    }
                    theme::segmented(
                        ui,
                        &mut self.range,
                        &[(Range::Month, T::Last30Days.tr()), (Range::Day, T::Last24Hours.tr())],
                    );
                });
            });
            let Some(stats) = &self.stats else {
                ui.spinner();
                return;
            };
            let (buckets, hourly) = match self.range {
                Range::Day => (&stats.hourly, true),
                Range::Month => (&stats.daily, false),
            };
            traffic_plots(ui, "dashboard", buckets, hourly, wide);
        });
    }

    fn health_card(&mut self, ui: &mut egui::Ui, wide: bool) {
        let snapshot = self.backend.core.snapshot();
        theme::card(ui, T::PoolHealth.tr(), Some(T::PoolHealthSubtitle.tr()), |ui| {
            let accounts = &snapshot.accounts;
            if accounts.is_empty() {
                ui.label(RichText::new(T::NoAccountsYet.tr()).color(theme::weak(ui)));
                return;
            }
            let mut counts = [0usize; 4];
            for view in accounts {
                counts[availability_rank(&view.availability)] += 1;
            }
            ui.horizontal_wrapped(|ui| {
                ui.label(RichText::new(T::AccountsTotal.fill(&[&accounts.len()])).strong());
                for (index, (label, tone)) in [
                    (T::Available, theme::Tone::Good),
                    (T::SingleWindow, theme::Tone::Warn),
                    (T::Unknown, theme::Tone::Neutral),
                    (T::Unavailable, theme::Tone::Bad),
                ]
                .into_iter()
                .enumerate()
                {
                    theme::pill(ui, &format!("{} {}", label.tr(), counts[index]), tone);
                }
            });
            ui.add_space(8.0);
            let now = crate::core::now_secs();
            let closest = |pick: fn(&AccountView) -> Option<&crate::core::Window>| {
                let mut list: Vec<(&AccountView, f64, Option<i64>)> =
                    accounts.iter().filter_map(|v| pick(v).map(|w| (v, w.used_percent, w.resets_at))).collect();
                list.sort_by(|a, b| b.1.total_cmp(&a.1));
                list.truncate(CLOSEST);
                list
            };
            let primary = closest(|v| v.usage.as_ref().and_then(|u| u.primary.as_ref()));
            let secondary = closest(|v| v.usage.as_ref().and_then(|u| u.secondary.as_ref()));
            let lists = [(T::Closest5h, T::Window5h, primary), (T::ClosestWeekly, T::Window7d, secondary)];
            if wide {
                ui.columns(2, |cols| {
                    for (col, (title, caption, list)) in cols.iter_mut().zip(lists) {
                        closest_list(col, title.tr(), caption.tr(), &list, now);
                    }
                });
            } else {
                for (title, caption, list) in lists {
                    closest_list(ui, title.tr(), caption.tr(), &list, now);
                }
            }
        });
    }
}

/// Order used for counting and sorting: available, single window, unknown, unavailable.
pub fn availability_rank(availability: &Availability) -> usize {
    match availability {
        Availability::Available => 0,
        Availability::SingleWindow => 1,
        Availability::Unknown => 2,
        Availability::Unavailable(_) => 3,
    }
}

/// The service's state as a pill.
pub fn service_pill(ui: &mut egui::Ui, state: &ServiceState) {
    let (text, tone) = match state {
        ServiceState::Running(addr) => (T::RunningOn.fill(&[addr]), theme::Tone::Good),
        ServiceState::Starting => (T::Starting.tr().to_string(), theme::Tone::Warn),
        ServiceState::Stopping => (T::Stopping.tr().to_string(), theme::Tone::Warn),
        ServiceState::Stopped => (T::Stopped.tr().to_string(), theme::Tone::Neutral),
        ServiceState::Failed(_) => (T::ServiceError.tr().to_string(), theme::Tone::Bad),
    };
    theme::pill(ui, &text, tone);
}

fn closest_list(ui: &mut egui::Ui, title: &str, caption: &str, list: &[(&AccountView, f64, Option<i64>)], now: i64) {
    ui.label(RichText::new(title).strong());
    if list.is_empty() {
        ui.label(RichText::new(T::NoUsageYet.tr()).color(theme::weak(ui)));
        return;
    }
    for (view, used, resets_at) in list {
        ui.horizontal(|ui| {
            let size = egui::vec2(200.0, 18.0);
            ui.allocate_ui_with_layout(size, egui::Layout::left_to_right(egui::Align::Center), |ui| {
                ui.set_min_size(size);
                ui.add(egui::Label::new(&view.account.label).truncate().selectable(false));
            });
            theme::usage_bar(ui, caption, Some(*used), 170.0);
            if let Some(at) = resets_at {
                ui.label(RichText::new(fmt::resets_in(ui.ctx(), *at, now)).color(theme::weak(ui)).size(12.0));
            }
        });
    }
}

/// The x position of a bucket: hours ago (negative) or days ago.
fn x_of(index: usize, len: usize) -> f64 {
    index as f64 - (len as f64 - 1.0)
}

fn axis_label(
    buckets: &[Bucket],
    hourly: bool,
) -> impl Fn(egui_plot::GridMark, &std::ops::RangeInclusive<f64>) -> String + use<> {
    let starts: Vec<i64> = buckets.iter().map(|b| b.start_ms).collect();
    move |mark, _| {
        let index = mark.value + (starts.len() as f64 - 1.0);
        if (mark.value - mark.value.round()).abs() > 1e-6 || index < 0.0 {
            return String::new();
        }
        let Some(start) = starts.get(index.round() as usize) else { return String::new() };
        let text = fmt::datetime_ms(*start);
        if hourly {
            text.get(11..16).unwrap_or_default().to_string()
        } else {
            text.get(5..10).unwrap_or_default().to_string()
        }
    }
}

fn plot_frame<'a>(id: &str, buckets: &[Bucket], hourly: bool) -> Plot<'a> {
    Plot::new(id.to_owned())
        .height(170.0)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .show_grid([false, true])
        .include_y(0.0)
        .include_y(1.0)
        .x_axis_formatter(axis_label(buckets, hourly))
        .y_grid_spacer(count_marks)
        .y_axis_formatter(|mark, range| {
            if mark.value.fract().abs() > f64::EPSILON || mark.value < 0.0 {
                String::new()
            } else {
                axis_number(mark.value, *range.end())
            }
        })
}

/// A y-axis label in one format for the whole axis: plain counts, or thousands or millions
/// (with one decimal where a step needs it) when the axis reaches that high.
fn axis_number(value: f64, axis_max: f64) -> String {
    let (unit, suffix) = if axis_max >= 1e6 {
        (1e6, "M")
    } else if axis_max >= 1e4 {
        (1e3, "K")
    } else {
        return fmt::count(value as i64);
    };
    let scaled = value / unit;
    if scaled == 0.0 {
        return "0".to_string();
    }
    if scaled.fract().abs() < 1e-9 { format!("{scaled:.0}{suffix}") } else { format!("{scaled:.1}{suffix}") }
}

/// Y grid marks for counts: whole-number steps of 1, 2 or 5 × 10ⁿ, far enough apart to carry
/// a label each. (egui_plot's own steps are powers of ten, so a range of 0–9 is labelled only
/// at 0: its steps of 1 are too close for labels and 10 lies outside.)
fn count_marks(input: egui_plot::GridInput) -> Vec<egui_plot::GridMark> {
    /// Grid spacing in multiples of egui_plot's minimum (8 points), so labels fit (≥ 24).
    const LABEL_SPACING: f64 = 3.0;
    let step = nice_step(input.base_step_size * LABEL_SPACING).max(1.0);
    let (min, max) = input.bounds;
    let (first, last) = ((min / step).ceil() as i64, (max / step).floor() as i64);
    (first..=last).map(|i| egui_plot::GridMark { value: i as f64 * step, step_size: step }).collect()
}

/// The smallest of 1, 2 or 5 × 10ⁿ that is at least `at_least`.
fn nice_step(at_least: f64) -> f64 {
    if !(at_least.is_finite() && at_least > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(at_least.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|step| *step >= at_least).unwrap_or(10.0 * power)
}

/// Requests (bars) and tokens (a line) per hour or day, side by side when `wide`; `id` keeps
/// the plots of different pages apart.
pub fn traffic_plots(ui: &mut egui::Ui, id: &str, buckets: &[Bucket], hourly: bool, wide: bool) {
    let accent = theme::accent(ui);
    if wide {
        ui.columns(2, |cols| {
            requests_plot(&mut cols[0], id, buckets, hourly, accent);
            tokens_plot(&mut cols[1], id, buckets, hourly, accent);
        });
    } else {
        requests_plot(ui, id, buckets, hourly, accent);
        tokens_plot(ui, id, buckets, hourly, accent);
    }
}

fn requests_plot(ui: &mut egui::Ui, id: &str, buckets: &[Bucket], hourly: bool, accent: egui::Color32) {
    ui.label(RichText::new(T::RequestsChart.tr()).color(theme::weak(ui)));
    let len = buckets.len();
    let bars: Vec<Bar> =
        buckets.iter().enumerate().map(|(i, b)| Bar::new(x_of(i, len), b.requests as f64).width(0.7)).collect();
    plot_frame(&format!("{id}_requests_{hourly}"), buckets, hourly).show(ui, |plot| {
        plot.bar_chart(BarChart::new(T::Requests.tr(), bars).color(accent));
    });
}

fn tokens_plot(ui: &mut egui::Ui, id: &str, buckets: &[Bucket], hourly: bool, accent: egui::Color32) {
    ui.label(RichText::new(T::TokensChart.tr()).color(theme::weak(ui)));
    let len = buckets.len();
    let points: PlotPoints =
        buckets.iter().enumerate().map(|(i, b)| [x_of(i, len), b.tokens as f64]).collect::<Vec<_>>().into();
    plot_frame(&format!("{id}_tokens_{hourly}"), buckets, hourly).show(ui, |plot| {
        plot.line(Line::new(T::Tokens.tr(), points).color(accent).width(2.0).fill(0.0));
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts a chart painted (axis labels are painted, not widgets).
    fn painted_texts(draw: impl FnMut(&mut egui::Ui) + 'static) -> Vec<String> {
        let mut harness = egui_kittest::Harness::builder().with_size(egui::vec2(600.0, 260.0)).build_ui(draw);
        harness.step();
        harness
            .output()
            .shapes
            .iter()
            .filter_map(|clipped| match &clipped.shape {
                egui::Shape::Text(text) => Some(text.galley.text().to_string()),
                _ => None,
            })
            .collect()
    }

    fn buckets(peak: u64) -> Vec<Bucket> {
        (0..24)
            .map(|i| Bucket { start_ms: i * 3_600_000, requests: peak * (i as u64 + 1) / 24, tokens: 1_000 * i })
            .collect()
    }

    #[test]
    fn an_axis_keeps_one_number_format() {
        let thousands: Vec<String> = [0.0, 10_000.0, 15_000.0, 40_000.0].map(|v| axis_number(v, 40_000.0)).to_vec();
        assert_eq!(thousands, ["0", "10K", "15K", "40K"]);
        let plain: Vec<String> = [0.0, 500.0, 1_500.0].map(|v| axis_number(v, 2_000.0)).to_vec();
        assert_eq!(plain, ["0", "500", "1,500"]);
        assert_eq!(axis_number(2_500_000.0, 3_000_000.0), "2.5M");
    }

    #[test]
    fn nice_steps_are_1_2_5_times_a_power_of_ten() {
        let steps: Vec<f64> = [0.3, 1.0, 1.1, 2.5, 7.0, 12.0, 4_100.0].map(nice_step).to_vec();
        assert_eq!(steps, [0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 5_000.0]);
        assert_eq!(nice_step(0.0), 1.0);
    }

    #[test]
    fn the_requests_chart_numbers_its_y_axis() {
        for peak in [3, 7, 9, 12, 30, 480] {
            let data = buckets(peak);
            let texts = painted_texts(move |ui| requests_plot(ui, "test", &data, true, egui::Color32::BROWN));
            let numbers: Vec<u64> = texts.iter().filter_map(|t| t.parse::<u64>().ok()).filter(|n| *n > 0).collect();
            assert!(numbers.len() >= 2, "peak {peak}: y labels above 0 are painted: {texts:?}");
            assert!(numbers.iter().all(|n| *n <= peak * 2), "peak {peak}: labels stay near the data: {texts:?}");
        }
    }
}
