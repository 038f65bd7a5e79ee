//! The Accounts page: every account in one virtualised table (label and email, group, tags,
//! plan, 5-hour and weekly usage with their reset times, availability with its reason, sort
//! order, note), with search, group and availability filters, sortable columns, and bulk
//! actions on a multi-selection. Adding and editing accounts live in `account_dialogs`.
//!
//! The toolbar keeps its actions in [`AccountsPage::toolbar_actions`], where refreshing usage
//! will sit once the core offers it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::account_dialogs::{AddDialog, DialogOutcome, EditDialog};
use super::backend::{Backend, Job};
use super::dashboard::availability_rank;
use super::i18n::T;
use super::{fmt, theme};
use crate::core::{AccountPatch, AccountView, Progress, Snapshot};
use crate::usage::availability::Availability;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailabilityFilter {
    All,
    Available,
    SingleWindow,
    Unavailable,
    Unknown,
}

impl AvailabilityFilter {
    fn admits(self, availability: &Availability) -> bool {
        match self {
            AvailabilityFilter::All => true,
            AvailabilityFilter::Available => *availability == Availability::Available,
            AvailabilityFilter::SingleWindow => *availability == Availability::SingleWindow,
            AvailabilityFilter::Unavailable => matches!(availability, Availability::Unavailable(_)),
            AvailabilityFilter::Unknown => *availability == Availability::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SortKey {
    Order,
    Label,
    Group,
    Plan,
    Primary,
    Secondary,
    Status,
}

/// What is shown: the filter and sort the visible rows were computed for.
#[derive(Debug, Clone, PartialEq)]
struct ViewKey {
    search: String,
    group: Option<String>,
    filter: AvailabilityFilter,
    sort: SortKey,
    ascending: bool,
}

/// The visible rows (indices into the snapshot) for one snapshot and one [`ViewKey`].
struct View {
    snapshot: Arc<Snapshot>,
    key: ViewKey,
    rows: Vec<usize>,
    groups: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bulk {
    Enable,
    Disable,
    Move,
    Delete,
}

pub struct AccountsPage {
    backend: Backend,
    search: String,
    group: Option<String>,
    filter: AvailabilityFilter,
    sort: SortKey,
    ascending: bool,
    selected: BTreeSet<String>,
    view: Option<View>,
    bulk: Option<(Bulk, Job<usize>)>,
    move_to: String,
    confirm_delete: Option<Vec<String>>,
    edit: Option<EditDialog>,
    add: Option<AddDialog>,
    /// A usage refresh running on the runtime, followed for its progress bar.
    refresh: Option<tokio::sync::watch::Receiver<Progress>>,
}

fn used(view: &AccountView, primary: bool) -> Option<f64> {
    let usage = view.usage.as_ref()?;
    let window = if primary { usage.primary.as_ref() } else { usage.secondary.as_ref() };
    window.map(|w| w.used_percent)
}

fn matches_search(view: &AccountView, needle: &str) -> bool {
    if needle.is_empty() {
        return true;
    }
    let a = &view.account;
    let hit = |text: &str| text.to_lowercase().contains(needle);
    hit(&a.label)
        || a.email.as_deref().is_some_and(hit)
        || hit(&a.id)
        || hit(&a.group_name)
        || a.tags.iter().any(|t| hit(t))
        || hit(&a.note)
        || a.plan.as_deref().is_some_and(hit)
}

impl View {
    fn compute(snapshot: Arc<Snapshot>, key: ViewKey) -> View {
        let needle = key.search.trim().to_lowercase();
        let mut groups = BTreeMap::new();
        for view in &snapshot.accounts {
            *groups.entry(view.account.group_name.clone()).or_insert(0) += 1;
        }
        let mut rows: Vec<usize> = snapshot
            .accounts
            .iter()
            .enumerate()
            .filter(|(_, v)| key.group.as_ref().is_none_or(|g| &v.account.group_name == g))
            .filter(|(_, v)| key.filter.admits(&v.availability))
            .filter(|(_, v)| matches_search(v, &needle))
            .map(|(i, _)| i)
            .collect();
        let accounts = &snapshot.accounts;
        rows.sort_by(|&x, &y| {
            let (a, b) = (&accounts[x], &accounts[y]);
            let order = match key.sort {
                SortKey::Order => a.account.sort.cmp(&b.account.sort),
                SortKey::Label => a.account.label.to_lowercase().cmp(&b.account.label.to_lowercase()),
                SortKey::Group => a.account.group_name.cmp(&b.account.group_name),
                SortKey::Plan => a.account.plan.cmp(&b.account.plan),
                SortKey::Primary => used(a, true).unwrap_or(-1.0).total_cmp(&used(b, true).unwrap_or(-1.0)),
                SortKey::Secondary => used(a, false).unwrap_or(-1.0).total_cmp(&used(b, false).unwrap_or(-1.0)),
                SortKey::Status => availability_rank(&a.availability).cmp(&availability_rank(&b.availability)),
            };
            let order = if key.ascending { order } else { order.reverse() };
            order.then(a.account.sort.cmp(&b.account.sort))
        });
        View { snapshot, key, rows, groups }
    }
}

/// The availability of an account as a pill, and its reason in words.
pub fn availability_pill(ui: &mut egui::Ui, availability: &Availability) {
    let (text, tone) = match availability {
        Availability::Available => (T::Available, theme::Tone::Good),
        Availability::SingleWindow => (T::SingleWindow, theme::Tone::Warn),
        Availability::Unavailable(_) => (T::Unavailable, theme::Tone::Bad),
        Availability::Unknown => (T::Unknown, theme::Tone::Neutral),
    };
    theme::pill(ui, text.tr(), tone);
}

/// The core's reasons, in the user's language where we know them.
pub fn reason_text(reason: &str) -> String {
    match reason {
        "disabled" => T::ReasonDisabled.tr().to_string(),
        "5-hour window exhausted" => T::Reason5h.tr().to_string(),
        "weekly window exhausted" => T::ReasonWeekly.tr().to_string(),
        "usage limit reached" => T::ReasonLimit.tr().to_string(),
        other => other.to_string(),
    }
}

impl AccountsPage {
    pub fn new(backend: Backend) -> AccountsPage {
        AccountsPage {
            backend,
            search: String::new(),
            group: None,
            filter: AvailabilityFilter::All,
            sort: SortKey::Order,
            ascending: true,
            selected: BTreeSet::new(),
            view: None,
            bulk: None,
            move_to: String::new(),
            confirm_delete: None,
            edit: None,
            add: None,
            refresh: None,
        }
    }

    /// The visible rows, recomputed only when the snapshot or the filters changed.
    fn view(&mut self) -> &View {
        let snapshot = self.backend.core.snapshot();
        let key = ViewKey {
            search: self.search.clone(),
            group: self.group.clone(),
            filter: self.filter,
            sort: self.sort,
            ascending: self.ascending,
        };
        let view = match self.view.take() {
            Some(view) if Arc::ptr_eq(&view.snapshot, &snapshot) && view.key == key => view,
            _ => {
                let existing: BTreeSet<&str> = snapshot.accounts.iter().map(|v| v.account.id.as_str()).collect();
                self.selected.retain(|id| existing.contains(id.as_str()));
                View::compute(snapshot, key)
            }
        };
        self.view.insert(view)
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll(ui.ctx());
        theme::page_header(ui, T::Accounts.tr(), T::AccountsSubtitle.tr());
        theme::card_frame(ui).show(ui, |ui| {
            ui.set_width(ui.available_width());
            self.toolbar(ui);
            self.refresh_progress(ui);
            if !self.selected.is_empty() {
                ui.add_space(6.0);
                self.bulk_bar(ui);
            }
        });
        ui.add_space(theme::GAP);
        theme::card_frame(ui).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.set_min_height(ui.available_height());
            self.table(ui);
        });
        self.dialogs(ui.ctx());
    }

    fn poll(&mut self, ctx: &egui::Context) {
        self.poll_refresh(ctx);
        if let Some((what, job)) = self.bulk.as_mut()
            && let Some(result) = job.poll()
        {
            let what = *what;
            self.bulk = None;
            match result {
                Ok(count) => {
                    let message = match what {
                        Bulk::Enable => T::EnabledN,
                        Bulk::Disable => T::DisabledN,
                        Bulk::Move => T::MovedN,
                        Bulk::Delete => T::DeletedN,
                    };
                    self.backend.notices.info(message.fill(&[&count]));
                    if what == Bulk::Delete {
                        self.selected.clear();
                    }
                }
                Err(err) => self.backend.notices.error(T::BulkFailed.tr(), &err),
            }
            ctx.request_repaint();
        }
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        let (groups, total) = {
            let view = self.view();
            (view.groups.clone(), view.snapshot.accounts.len())
        };
        ui.horizontal_wrapped(|ui| {
            ui.add(
                egui::TextEdit::singleline(&mut self.search)
                    .hint_text(T::SearchAccounts.tr())
                    .desired_width(240.0)
                    .min_size(egui::vec2(0.0, theme::BUTTON_HEIGHT - 4.0)),
            );
            let current = match &self.group {
                None => T::AllGroups.fill(&[&total]),
                Some(g) => format!("{g} ({})", groups.get(g).copied().unwrap_or(0)),
            };
            let combo =
                egui::ComboBox::from_id_salt("group_filter").selected_text(current).width(170.0).show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.group, None, T::AllGroups.fill(&[&total]));
                    for (group, count) in &groups {
                        ui.selectable_value(&mut self.group, Some(group.clone()), format!("{group} ({count})"));
                    }
                });
            theme::name_widget(&combo.response, egui::Role::ComboBox, T::GroupFilter.tr());
            theme::segmented(
                ui,
                &mut self.filter,
                &[
                    (AvailabilityFilter::All, T::All.tr()),
                    (AvailabilityFilter::Available, T::Available.tr()),
                    (AvailabilityFilter::SingleWindow, T::SingleWindow.tr()),
                    (AvailabilityFilter::Unavailable, T::Unavailable.tr()),
                    (AvailabilityFilter::Unknown, T::Unknown.tr()),
                ],
            );
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| self.toolbar_actions(ui));
        });
    }

    /// The page's own actions, at the right end of the toolbar. "Refresh all" keeps its place
    /// and label while it runs; a progress bar under the toolbar counts done and remaining.
    fn toolbar_actions(&mut self, ui: &mut egui::Ui) {
        let running = self.refresh.is_some();
        if theme::primary_button(ui, !running, T::RefreshAll.tr()).clicked() {
            self.start_refresh(None);
        }
        if theme::button(ui, T::AddAccount.tr()).clicked() {
            self.add = Some(AddDialog::new(self.backend.clone()));
        }
    }

    /// The running refresh's progress, on its own line under the toolbar.
    fn refresh_progress(&self, ui: &mut egui::Ui) {
        let Some(progress) = self.refresh.as_ref().map(|rx| *rx.borrow()) else { return };
        let fraction = if progress.total == 0 { 1.0 } else { progress.done as f32 / progress.total as f32 };
        ui.add_space(6.0);
        ui.add(
            egui::ProgressBar::new(fraction)
                .desired_width(ui.available_width())
                .text(T::RefreshProgress.fill(&[&progress.done, &progress.remaining()])),
        );
    }

    /// Fetches usage now for `ids` (all active accounts when `None`), with progress.
    fn start_refresh(&mut self, ids: Option<Vec<String>>) {
        match self.backend.core.start_usage_refresh(ids) {
            Ok(receiver) => self.refresh = Some(receiver),
            Err(err) => self.backend.notices.error(T::RefreshUsage.tr(), &err.to_string()),
        }
    }

    /// Follows a running refresh: repaints while it runs and reports when it ends.
    fn poll_refresh(&mut self, ctx: &egui::Context) {
        let Some(progress) = self.refresh.as_ref().map(|rx| *rx.borrow()) else { return };
        if progress.finished {
            self.refresh = None;
            self.backend.notices.info(T::RefreshDone.fill(&[&progress.done, &progress.failed]));
        } else {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
    }

    fn bulk_bar(&mut self, ui: &mut egui::Ui) {
        let ids: Vec<String> = self.selected.iter().cloned().collect();
        let busy = self.bulk.is_some();
        ui.horizontal_wrapped(|ui| {
            theme::pill(ui, &T::SelectedN.fill(&[&ids.len()]), theme::Tone::Accent);
            if theme::button_enabled(ui, self.refresh.is_none(), T::RefreshUsage.tr()).clicked() {
                self.start_refresh(Some(ids.clone()));
            }
            if theme::button_enabled(ui, !busy, T::Enable.tr()).clicked() {
                self.run_bulk(ui.ctx(), Bulk::Enable, ids.clone());
            }
            if theme::button_enabled(ui, !busy, T::Disable.tr()).clicked() {
                self.run_bulk(ui.ctx(), Bulk::Disable, ids.clone());
            }
            let groups: Vec<String> = self.view().groups.keys().cloned().collect();
            ui.add_enabled_ui(!busy, |ui| {
                ui.menu_button(T::MoveToGroup.tr(), |ui| {
                    ui.set_min_width(220.0);
                    for group in &groups {
                        if ui.button(group).clicked() {
                            self.move_to = group.clone();
                        }
                    }
                    ui.separator();
                    ui.add(egui::TextEdit::singleline(&mut self.move_to).hint_text(T::GroupName.tr()));
                    let valid = !self.move_to.trim().is_empty();
                    if theme::primary_button(ui, valid, T::Move.tr()).clicked() {
                        self.run_bulk(ui.ctx(), Bulk::Move, ids.clone());
                        ui.close();
                    }
                });
            });
            if theme::danger_button(ui, !busy, T::Delete.tr()).clicked() {
                self.confirm_delete = Some(ids.clone());
            }
            if theme::button(ui, T::ClearSelection.tr()).clicked() {
                self.selected.clear();
            }
            if busy {
                ui.spinner();
            }
        });
    }

    fn run_bulk(&mut self, ctx: &egui::Context, what: Bulk, ids: Vec<String>) {
        let core = self.backend.core.clone();
        let job = match what {
            Bulk::Enable | Bulk::Disable => {
                let status = if what == Bulk::Enable { "active" } else { "disabled" };
                let patch = AccountPatch { status: Some(status.into()), ..AccountPatch::default() };
                self.backend.spawn(ctx, async move { core.update_accounts(ids, patch).await })
            }
            Bulk::Move => {
                let patch = AccountPatch { group: Some(self.move_to.trim().to_string()), ..AccountPatch::default() };
                self.backend.spawn(ctx, async move { core.update_accounts(ids, patch).await })
            }
            Bulk::Delete => self.backend.spawn(ctx, async move { core.delete_accounts(ids).await }),
        };
        self.bulk = Some((what, job));
    }

    fn sort_header(&mut self, ui: &mut egui::Ui, label: &str, key: SortKey) {
        let active = self.sort == key;
        let text = RichText::new(label).strong().color(if active { theme::accent(ui) } else { theme::weak(ui) });
        let response = ui.add(egui::Button::new(text).frame(false)).on_hover_text(T::SortBy.fill(&[&label]));
        if active {
            sort_arrow(ui, self.ascending);
        }
        if response.clicked() {
            if active {
                self.ascending = !self.ascending;
            } else {
                self.sort = key;
                self.ascending = true;
            }
        }
    }

    fn table(&mut self, ui: &mut egui::Ui) {
        let (snapshot, rows) = {
            let view = self.view();
            (view.snapshot.clone(), view.rows.clone())
        };
        if snapshot.accounts.is_empty() {
            empty_state(ui, T::NoAccountsYet.tr(), T::NoAccountsHint.tr());
            return;
        }
        ui.label(RichText::new(T::ShowingN.fill(&[&rows.len(), &snapshot.accounts.len()])).color(theme::weak(ui)));
        if rows.is_empty() {
            empty_state(ui, T::NoMatches.tr(), T::NoMatchesHint.tr());
            return;
        }
        let wide = ui.available_width() >= 1050.0;
        let now = crate::core::now_secs();
        let all_selected = rows.iter().all(|&i| self.selected.contains(&snapshot.accounts[i].account.id));
        let mut table = TableBuilder::new(ui)
            .id_salt("accounts_table")
            .striped(true)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center))
            .column(Column::exact(28.0))
            .column(Column::initial(230.0).at_least(150.0).clip(true))
            .column(Column::initial(120.0).at_least(70.0).clip(true));
        table = table
            .column(Column::initial(56.0).at_least(44.0).clip(true))
            .column(Column::initial(250.0).at_least(200.0))
            .column(Column::initial(160.0).at_least(110.0).clip(true))
            .column(Column::exact(52.0));
        if wide {
            table = table.column(Column::remainder().at_least(80.0).clip(true));
        }
        table = table.column(Column::exact(theme::BUTTON_MIN_WIDTH + 8.0));
        table
            .header(30.0, |mut header| {
                header.col(|ui| {
                    let mut all = all_selected;
                    let response = ui.add(egui::Checkbox::without_text(&mut all));
                    response
                        .widget_info(|| egui::WidgetInfo::selected(egui::Role::CheckBox, true, all, T::SelectAll.tr()));
                    if response.clicked() {
                        for &i in &rows {
                            let id = &snapshot.accounts[i].account.id;
                            if all {
                                self.selected.insert(id.clone());
                            } else {
                                self.selected.remove(id);
                            }
                        }
                    }
                });
                header.col(|ui| self.sort_header(ui, T::Account.tr(), SortKey::Label));
                header.col(|ui| self.sort_header(ui, T::GroupTags.tr(), SortKey::Group));
                header.col(|ui| self.sort_header(ui, T::Plan.tr(), SortKey::Plan));
                header.col(|ui| {
                    self.sort_header(ui, T::Window5h.tr(), SortKey::Primary);
                    self.sort_header(ui, T::Window7d.tr(), SortKey::Secondary);
                });
                header.col(|ui| self.sort_header(ui, T::Status.tr(), SortKey::Status));
                header.col(|ui| self.sort_header(ui, T::Order.tr(), SortKey::Order));
                if wide {
                    header.col(|ui| {
                        ui.label(RichText::new(T::Note.tr()).strong().color(theme::weak(ui)));
                    });
                }
                header.col(|ui| {
                    ui.label(RichText::new(T::Actions.tr()).strong().color(theme::weak(ui)));
                });
            })
            .body(|body| {
                body.rows(theme::ROW_HEIGHT, rows.len(), |mut row| {
                    let view = &snapshot.accounts[rows[row.index()]];
                    let a = &view.account;
                    let mut checked = self.selected.contains(&a.id);
                    row.set_selected(checked);
                    row.col(|ui| {
                        let response = ui.add(egui::Checkbox::without_text(&mut checked));
                        response.widget_info(|| {
                            egui::WidgetInfo::selected(
                                egui::Role::CheckBox,
                                true,
                                checked,
                                T::SelectAccount.fill(&[&a.label]),
                            )
                        });
                        if response.changed() {
                            if checked {
                                self.selected.insert(a.id.clone());
                            } else {
                                self.selected.remove(&a.id);
                            }
                        }
                    });
                    row.col(|ui| {
                        ui.vertical(|ui| {
                            ui.spacing_mut().item_spacing.y = 2.0;
                            ui.add(egui::Label::new(RichText::new(&a.label).strong()).truncate());
                            let second = a.email.as_deref().filter(|e| *e != a.label).unwrap_or(&a.id);
                            ui.add(
                                egui::Label::new(RichText::new(second).size(11.5).color(theme::weak(ui))).truncate(),
                            );
                        });
                    });
                    row.col(|ui| {
                        ui.vertical(|ui| {
                            ui.spacing_mut().item_spacing.y = 2.0;
                            ui.add(egui::Label::new(&a.group_name).truncate());
                            if !a.tags.is_empty() {
                                let tags = RichText::new(a.tags.join(" · ")).size(11.5).color(theme::accent(ui));
                                ui.add(egui::Label::new(tags).truncate());
                            }
                        });
                    });
                    row.col(|ui| {
                        ui.label(a.plan.as_deref().unwrap_or("–"));
                    });
                    row.col(|ui| usage_cell(ui, view, now));
                    row.col(|ui| {
                        ui.vertical(|ui| {
                            ui.spacing_mut().item_spacing.y = 2.0;
                            availability_pill(ui, &view.availability);
                            if let Availability::Unavailable(reason) = &view.availability {
                                ui.add(
                                    egui::Label::new(
                                        RichText::new(reason_text(reason)).size(11.5).color(theme::weak(ui)),
                                    )
                                    .truncate(),
                                );
                            }
                        });
                    });
                    row.col(|ui| {
                        ui.label(a.sort.to_string());
                    });
                    if wide {
                        row.col(|ui| {
                            ui.add(egui::Label::new(RichText::new(&a.note).size(12.5)).truncate());
                        });
                    }
                    row.col(|ui| {
                        if theme::button(ui, T::Edit.tr()).on_hover_text(T::EditAccount.fill(&[&a.label])).clicked() {
                            self.edit = Some(EditDialog::new(self.backend.clone(), a));
                        }
                    });
                });
            });
    }

    fn dialogs(&mut self, ctx: &egui::Context) {
        if let Some(dialog) = self.edit.as_mut()
            && dialog.show(ctx) == DialogOutcome::Closed
        {
            self.edit = None;
        }
        if let Some(dialog) = self.add.as_mut()
            && dialog.show(ctx) == DialogOutcome::Closed
        {
            self.add = None;
        }
        if let Some(ids) = self.confirm_delete.clone() {
            let modal = egui::Modal::new(egui::Id::unique("confirm_delete_accounts")).show(ctx, |ui| {
                ui.set_width(420.0);
                ui.label(RichText::new(T::DeleteAccountsTitle.fill(&[&ids.len()])).size(17.0).strong());
                ui.add_space(6.0);
                ui.label(T::DeleteAccountsBody.tr());
                ui.add_space(12.0);
                let mut close = false;
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if theme::danger_button(ui, true, T::Delete.tr()).clicked() {
                        self.run_bulk(ui.ctx(), Bulk::Delete, ids.clone());
                        close = true;
                    }
                    if theme::button(ui, T::Cancel.tr()).clicked() {
                        close = true;
                    }
                });
                close
            });
            if modal.inner || modal.should_close() {
                self.confirm_delete = None;
            }
        }
    }
}

fn usage_cell(ui: &mut egui::Ui, view: &AccountView, now: i64) {
    let usage = view.usage.as_ref();
    ui.vertical(|ui| {
        ui.spacing_mut().item_spacing.y = 3.0;
        for (caption, window) in [
            (T::Window5h.tr(), usage.and_then(|u| u.primary.as_ref())),
            (T::Window7d.tr(), usage.and_then(|u| u.secondary.as_ref())),
        ] {
            ui.horizontal(|ui| {
                theme::usage_bar(ui, caption, window.map(|w| w.used_percent), 140.0);
                if let Some(at) = window.and_then(|w| w.resets_at) {
                    ui.label(RichText::new(fmt::resets_in(ui.ctx(), at, now)).size(11.0).color(theme::weak(ui)));
                }
            });
        }
    });
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
    ui.painter().add(egui::Shape::convex_polygon(points, theme::accent(ui), egui::Stroke::NONE));
}

/// A centred message for an empty table.
pub fn empty_state(ui: &mut egui::Ui, title: &str, hint: &str) {
    ui.add_space(40.0);
    ui.vertical_centered(|ui| {
        ui.label(RichText::new(title).size(16.0).strong());
        ui.label(RichText::new(hint).color(theme::weak(ui)));
    });
    ui.add_space(40.0);
}
