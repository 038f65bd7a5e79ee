//! The Accounts page: every account in one virtualised table (label and email, how it signs
//! in — the identity provider and the name on the account, read from its id token off the UI
//! thread —, group, tags, plan, 5-hour and weekly usage with their reset times, availability with its reason or the
//! cooldown it is in (`proxy unreachable: …`), when its usage was last refreshed, the routing
//! order — editable in place — and note; an account with a proxy of its own has a badge), with
//! search, group and availability filters (including "low quota"), sortable columns, actions
//! per row (edit, refresh usage, delete) and bulk actions on a multi-selection (refresh,
//! enable, disable, move to a group, set a proxy, export, delete). Bulk actions only touch
//! the selected rows the filters show. Adding, importing, exporting and editing accounts live
//! in `account_dialogs`.
//!
//! The table fits the window from 960 points up: the less important columns give way first
//! (account, usage, status, order and the row actions always stay; the group then moves under
//! the account's name).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use egui::RichText;
use egui_extras::{Column, TableBuilder};

use super::account_dialogs::{AddDialog, AddTab, DialogOutcome, EditDialog, ExportDialog};
use super::backend::{Backend, Job, poll_slot};
use super::dashboard::availability_rank;
use super::dialog::{Answer, Confirm};
use super::i18n::T;
use super::{fmt, proxy, theme};
use crate::auth::claims::SignIn;
use crate::core::{AccountPatch, AccountView, Progress, Snapshot};
use crate::usage::availability::Availability;

/// A window counts as "low" once this much of it is used.
pub const LOW_QUOTA_USED_PERCENT: f64 = 80.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AvailabilityFilter {
    All,
    Available,
    SingleWindow,
    /// Less than a fifth of the 5-hour or the weekly window left.
    LowQuota,
    Unavailable,
    Unknown,
}

impl AvailabilityFilter {
    fn admits(self, view: &AccountView) -> bool {
        let availability = &view.availability;
        match self {
            AvailabilityFilter::All => true,
            AvailabilityFilter::Available => *availability == Availability::Available,
            AvailabilityFilter::SingleWindow => *availability == Availability::SingleWindow,
            AvailabilityFilter::LowQuota => low_quota(view),
            AvailabilityFilter::Unavailable => matches!(availability, Availability::Unavailable(_)),
            AvailabilityFilter::Unknown => *availability == Availability::Unknown,
        }
    }
}

/// True when either usage window has less than a fifth left.
pub fn low_quota(view: &AccountView) -> bool {
    [used(view, true), used(view, false)].into_iter().flatten().any(|used| used >= LOW_QUOTA_USED_PERCENT)
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
    Refreshed,
}

/// The table's columns, in display order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountColumn {
    Check,
    Account,
    Group,
    Plan,
    Usage,
    Status,
    Refreshed,
    Order,
    Note,
    Actions,
}

impl AccountColumn {
    const DISPLAY_ORDER: [AccountColumn; 10] = [
        AccountColumn::Check,
        AccountColumn::Account,
        AccountColumn::Group,
        AccountColumn::Plan,
        AccountColumn::Usage,
        AccountColumn::Status,
        AccountColumn::Refreshed,
        AccountColumn::Order,
        AccountColumn::Note,
        AccountColumn::Actions,
    ];
    /// The columns that always show.
    const CORE: [AccountColumn; 6] = [
        AccountColumn::Check,
        AccountColumn::Account,
        AccountColumn::Usage,
        AccountColumn::Status,
        AccountColumn::Order,
        AccountColumn::Actions,
    ];
    /// The others, in the order they are added as the window widens.
    const OPTIONAL: [AccountColumn; 4] =
        [AccountColumn::Group, AccountColumn::Plan, AccountColumn::Refreshed, AccountColumn::Note];
    /// Space egui_extras leaves between two columns.
    const SPACING: f32 = 8.0;

    /// The column's width; the account column's is its least (it takes what is left).
    fn width(self) -> f32 {
        match self {
            AccountColumn::Check => 28.0,
            AccountColumn::Account => 160.0,
            AccountColumn::Group => 110.0,
            AccountColumn::Plan => 84.0,
            AccountColumn::Usage => 240.0,
            AccountColumn::Status => 110.0,
            AccountColumn::Refreshed => 104.0,
            AccountColumn::Order => 76.0,
            AccountColumn::Note => 150.0,
            AccountColumn::Actions => 190.0,
        }
    }

    /// The columns that fit in `width`, in display order.
    pub fn fitting(width: f32) -> Vec<AccountColumn> {
        let mut used: f32 = AccountColumn::CORE.iter().map(|c| c.width() + AccountColumn::SPACING).sum();
        let mut shown: Vec<AccountColumn> = AccountColumn::CORE.to_vec();
        for column in AccountColumn::OPTIONAL {
            if used + column.width() + AccountColumn::SPACING <= width {
                used += column.width() + AccountColumn::SPACING;
                shown.push(column);
            }
        }
        AccountColumn::DISPLAY_ORDER.into_iter().filter(|c| shown.contains(c)).collect()
    }

    fn column(self) -> Column {
        match self {
            AccountColumn::Check => Column::exact(self.width()),
            AccountColumn::Account => Column::remainder().at_least(self.width()).clip(true),
            AccountColumn::Actions | AccountColumn::Order => Column::exact(self.width()),
            _ => Column::exact(self.width()).clip(true),
        }
    }
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
    Order,
    Proxy,
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
    /// The proxy typed into the bulk bar's "Set proxy", and what is wrong with it.
    proxy_to: String,
    proxy_problem: Option<String>,
    /// The value a bulk "Set proxy" is saving (`inherit`, `direct` or a URL).
    proxy_saving: String,
    /// The accounts a delete asks about, by id.
    confirm_delete: Option<Vec<String>>,
    edit: Option<EditDialog>,
    add: Option<AddDialog>,
    export: Option<ExportDialog>,
    /// A usage refresh running on the runtime, followed for its progress bar.
    refresh: Option<tokio::sync::watch::Receiver<Progress>>,
    /// Accounts "Refresh all" left out (disabled or signed out).
    refresh_skipped: usize,
    /// An order being typed or dragged in the table, before it is saved.
    order_edit: Option<(String, i64)>,
    /// How each account signs in, as shown ("Google · Frank Smith"; empty when its tokens do
    /// not say), by account id.
    sign_ins: HashMap<String, String>,
    /// Reading the sign-ins of accounts not in `sign_ins` yet, and the snapshot that was for.
    sign_in_job: Option<Job<Vec<(String, String)>>>,
    sign_ins_checked: Option<Arc<Snapshot>>,
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
            .filter(|(_, v)| key.filter.admits(v))
            .filter(|(_, v)| matches_search(v, &needle))
            .map(|(i, _)| i)
            .collect();
        let accounts = &snapshot.accounts;
        let refreshed = |v: &AccountView| v.usage.as_ref().map_or(i64::MIN, |u| u.captured_at);
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
                SortKey::Refreshed => refreshed(a).cmp(&refreshed(b)),
            };
            let order = if key.ascending { order } else { order.reverse() };
            order.then(a.account.sort.cmp(&b.account.sort))
        });
        View { snapshot, key, rows, groups }
    }

    fn label_of(&self, id: &str) -> String {
        self.snapshot
            .accounts
            .iter()
            .find(|v| v.account.id == id)
            .map_or_else(|| id.to_string(), |v| v.account.label.clone())
    }
}

/// An account's sign-in in words: the provider's name and the person's, e.g. "Google · Frank
/// Smith"; empty when the tokens say neither.
pub fn sign_in_text(sign_in: &SignIn) -> String {
    let provider = sign_in.provider.as_deref().map(|provider| match provider {
        "google-oauth2" => "Google",
        "apple" => "Apple",
        "windowslive" => "Microsoft",
        "github" => "GitHub",
        "auth0" => T::EmailSignIn.tr(),
        other => other,
    });
    [provider, sign_in.name.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" · ")
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
        other => proxy::reason_text(other),
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
            proxy_to: String::new(),
            proxy_problem: None,
            proxy_saving: String::new(),
            confirm_delete: None,
            edit: None,
            add: None,
            export: None,
            refresh: None,
            refresh_skipped: 0,
            order_edit: None,
            sign_ins: HashMap::new(),
            sign_in_job: None,
            sign_ins_checked: None,
        }
    }

    /// What the page reaches the core through.
    pub fn backend(&self) -> &Backend {
        &self.backend
    }

    /// Opens "Add account" on `tab`.
    pub fn open_add(&mut self, tab: AddTab) {
        self.add = Some(AddDialog::new(self.backend.clone(), tab));
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

    /// The selected accounts the filters show, in table order: what a bulk action acts on.
    fn visible_selection(&mut self) -> Vec<String> {
        let selected = self.selected.clone();
        let view = self.view();
        view.rows
            .iter()
            .map(|&i| &view.snapshot.accounts[i].account.id)
            .filter(|id| selected.contains(*id))
            .cloned()
            .collect()
    }

    pub fn ui(&mut self, ui: &mut egui::Ui) {
        self.poll(ui.ctx());
        let empty = self.backend.core.snapshot().accounts.is_empty();
        if !empty {
            theme::card_frame(ui).show(ui, |ui| {
                ui.set_width(ui.available_width());
                self.toolbar(ui);
                self.refresh_progress(ui);
                let selection = self.visible_selection();
                if !selection.is_empty() {
                    ui.add_space(6.0);
                    self.bulk_bar(ui, selection);
                }
            });
            ui.add_space(theme::GAP);
        }
        theme::card_frame(ui).show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.set_min_height(ui.available_height());
            if empty {
                self.first_account(ui);
            } else {
                self.table(ui);
            }
        });
        self.dialogs(ui.ctx());
    }

    /// The empty page: signing in comes first, importing second.
    fn first_account(&mut self, ui: &mut egui::Ui) {
        ui.add_space(40.0);
        ui.vertical_centered(|ui| {
            ui.label(RichText::new(T::NoAccountsYet.tr()).size(16.0).strong());
            ui.label(RichText::new(T::NoAccountsHint.tr()).color(theme::weak(ui)));
            ui.add_space(12.0);
            theme::centred_row(ui, "first_account_buttons", |ui| {
                if theme::primary_button(ui, true, T::SignInChatGpt.tr()).clicked() {
                    self.add = Some(AddDialog::new(self.backend.clone(), AddTab::SignIn));
                }
                if theme::button(ui, T::ImportFiles.tr()).clicked() {
                    self.add = Some(AddDialog::new(self.backend.clone(), AddTab::Import));
                }
            });
        });
    }

    fn poll(&mut self, ctx: &egui::Context) {
        self.poll_refresh(ctx);
        self.poll_sign_ins(ctx);
        if let Some((what, job)) = self.bulk.as_mut()
            && let Some(result) = job.poll()
        {
            let what = *what;
            self.bulk = None;
            match result {
                Ok(count) => {
                    let message = match what {
                        Bulk::Enable => Some(T::EnabledN),
                        Bulk::Disable => Some(T::DisabledN),
                        Bulk::Move => Some(T::MovedN),
                        Bulk::Delete => Some(T::DeletedN),
                        Bulk::Proxy => Some(T::ProxySetN),
                        Bulk::Order => None,
                    };
                    if let Some(message) = message {
                        self.backend.notices.info(message, &[&count]);
                    }
                    if what == Bulk::Delete {
                        let existing: BTreeSet<String> =
                            self.backend.core.snapshot().accounts.iter().map(|v| v.account.id.clone()).collect();
                        self.selected.retain(|id| existing.contains(id));
                    }
                }
                Err(err) => self.backend.notices.error(T::BulkFailed, &err),
            }
            if what == Bulk::Order {
                self.order_edit = None;
            }
            ctx.request_repaint();
        }
    }

    /// Reads the sign-in of each account not read yet, on the runtime (opening tokens is not
    /// work for the UI thread); looked at again only when the snapshot changes.
    fn poll_sign_ins(&mut self, ctx: &egui::Context) {
        if let Some(result) = poll_slot(&mut self.sign_in_job) {
            match result {
                Ok(found) => self.sign_ins.extend(found),
                Err(err) => tracing::warn!("the accounts' sign-ins were not read: {err}"),
            }
        }
        let snapshot = self.backend.core.snapshot();
        if self.sign_in_job.is_some() || self.sign_ins_checked.as_ref().is_some_and(|s| Arc::ptr_eq(s, &snapshot)) {
            return;
        }
        let missing: Vec<String> = snapshot
            .accounts
            .iter()
            .map(|v| &v.account.id)
            .filter(|id| !self.sign_ins.contains_key(*id))
            .cloned()
            .collect();
        self.sign_ins_checked = Some(snapshot);
        if missing.is_empty() {
            return;
        }
        let pool = self.backend.core.pool();
        self.sign_in_job = Some(self.backend.spawn(ctx, async move {
            let found = missing
                .into_iter()
                .map(|id| {
                    let sign_in = pool.by_id.get(&id).and_then(|a| a.tokens()).map(|t| SignIn::from_tokens(&t));
                    let text = sign_in.map(|s| sign_in_text(&s)).unwrap_or_default();
                    (id, text)
                })
                .collect();
            Ok::<_, std::convert::Infallible>(found)
        }));
    }

    fn toolbar(&mut self, ui: &mut egui::Ui) {
        let (groups, total) = {
            let view = self.view();
            (view.groups.clone(), view.snapshot.accounts.len())
        };
        theme::toolbar(ui, "accounts_toolbar", |bar| {
            bar.leading(|ui| {
                ui.add(
                    egui::TextEdit::singleline(&mut self.search)
                        .hint_text(T::SearchAccounts.tr())
                        .desired_width(220.0)
                        .min_size(egui::vec2(0.0, theme::BUTTON_HEIGHT - 4.0)),
                );
                let current = match &self.group {
                    None => T::AllGroups.fill(&[&total]),
                    Some(g) => format!("{g} ({})", groups.get(g).copied().unwrap_or(0)),
                };
                let combo = egui::ComboBox::from_id_salt("group_filter").selected_text(current).width(160.0).show_ui(
                    ui,
                    |ui| {
                        ui.selectable_value(&mut self.group, None, T::AllGroups.fill(&[&total]));
                        for (group, count) in &groups {
                            ui.selectable_value(&mut self.group, Some(group.clone()), format!("{group} ({count})"));
                        }
                    },
                );
                theme::name_widget(&combo.response, egui::Role::ComboBox, T::GroupFilter.tr());
                theme::segmented(
                    ui,
                    &mut self.filter,
                    &[
                        (AvailabilityFilter::All, T::All.tr()),
                        (AvailabilityFilter::Available, T::Available.tr()),
                        (AvailabilityFilter::SingleWindow, T::SingleWindow.tr()),
                        (AvailabilityFilter::LowQuota, T::LowQuota.tr()),
                        (AvailabilityFilter::Unavailable, T::Unavailable.tr()),
                        (AvailabilityFilter::Unknown, T::Unknown.tr()),
                    ],
                );
            });
            bar.trailing(|ui| self.toolbar_actions(ui));
        });
    }

    /// The page's own actions, at the right end of the toolbar (laid out from the right).
    /// "Refresh all" keeps its place and label while it runs; a progress bar under the
    /// toolbar counts done and remaining.
    fn toolbar_actions(&mut self, ui: &mut egui::Ui) {
        if theme::primary_button(ui, true, T::AddAccount.tr()).clicked() {
            self.add = Some(AddDialog::new(self.backend.clone(), AddTab::SignIn));
        }
        if theme::button(ui, T::Import.tr()).on_hover_text(T::ImportHelp.tr()).clicked() {
            self.add = Some(AddDialog::new(self.backend.clone(), AddTab::Import));
        }
        if theme::button(ui, T::Export.tr()).on_hover_text(T::ExportAllHint.tr()).clicked() {
            self.export = Some(ExportDialog::new(self.backend.clone(), None));
        }
        let running = self.refresh.is_some();
        if theme::button_enabled(ui, !running, T::RefreshAll.tr()).clicked() {
            self.start_refresh(None);
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
        let all = ids.is_none();
        match self.backend.core.start_usage_refresh(ids) {
            Ok(receiver) => {
                let targets = receiver.borrow().total;
                self.refresh_skipped =
                    if all { self.backend.core.snapshot().accounts.len().saturating_sub(targets) } else { 0 };
                self.refresh = Some(receiver);
            }
            Err(err) => self.backend.notices.error(T::RefreshUsage, &err.to_string()),
        }
    }

    /// Follows a running refresh: repaints while it runs and reports when it ends.
    fn poll_refresh(&mut self, ctx: &egui::Context) {
        let Some(progress) = self.refresh.as_ref().map(|rx| *rx.borrow()) else { return };
        if progress.finished {
            self.refresh = None;
            if self.refresh_skipped > 0 {
                self.backend
                    .notices
                    .info(T::RefreshDoneSkipped, &[&progress.done, &progress.failed, &self.refresh_skipped]);
            } else {
                self.backend.notices.info(T::RefreshDone, &[&progress.done, &progress.failed]);
            }
        } else {
            ctx.request_repaint_after(std::time::Duration::from_millis(250));
        }
    }

    fn bulk_bar(&mut self, ui: &mut egui::Ui, ids: Vec<String>) {
        let hidden = self.selected.len() - ids.len();
        let busy = self.bulk.is_some();
        ui.horizontal_wrapped(|ui| {
            theme::pill(ui, &T::SelectedN.fill(&[&ids.len()]), theme::Tone::Accent);
            if hidden > 0 {
                ui.label(RichText::new(T::HiddenSelected.fill(&[&hidden])).color(theme::weak(ui)));
            }
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
            ui.add_enabled_ui(!busy, |ui| self.proxy_menu(ui, &ids));
            if theme::button(ui, T::Export.tr()).clicked() {
                self.export = Some(ExportDialog::new(self.backend.clone(), Some(ids.clone())));
            }
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

    /// "Set proxy" for the selected rows shown: a URL, direct, or the global setting.
    fn proxy_menu(&mut self, ui: &mut egui::Ui, ids: &[String]) {
        ui.menu_button(T::SetProxy.tr(), |ui| {
            ui.set_min_width(320.0);
            ui.label(RichText::new(T::SetProxyHelp.tr()).color(theme::weak(ui)));
            let field = ui.add(
                egui::TextEdit::singleline(&mut self.proxy_to)
                    .hint_text(proxy::PROXY_HINT)
                    .desired_width(300.0)
                    .font(egui::TextStyle::Monospace),
            );
            theme::name_widget(&field, egui::Role::TextInput, T::ProxyUrl.tr());
            if field.changed() {
                self.proxy_problem = None;
            }
            if let Some(problem) = &self.proxy_problem {
                theme::field_error(ui, problem);
            }
            let mut chosen = None;
            ui.horizontal(|ui| {
                if theme::primary_button(ui, !self.proxy_to.trim().is_empty(), T::UseThisProxy.tr()).clicked() {
                    match proxy::check_url(&self.proxy_to) {
                        Ok(()) => chosen = Some(self.proxy_to.trim().to_string()),
                        Err(problem) => self.proxy_problem = Some(problem),
                    }
                }
                if theme::button(ui, T::ProxyDirect.tr()).on_hover_text(T::ProxyDirectHelp.tr()).clicked() {
                    chosen = Some("direct".to_string());
                }
                if theme::button(ui, T::ProxyGlobal.tr()).on_hover_text(T::ProxyGlobalHelp.tr()).clicked() {
                    chosen = Some("inherit".to_string());
                }
            });
            if let Some(value) = chosen {
                self.proxy_saving = value;
                self.run_bulk(ui.ctx(), Bulk::Proxy, ids.to_vec());
                self.proxy_to.clear();
                ui.close();
            }
        });
    }

    fn run_bulk(&mut self, ctx: &egui::Context, what: Bulk, ids: Vec<String>) {
        let core = self.backend.core.clone();
        let patch = match what {
            Bulk::Enable => AccountPatch { status: Some("active".into()), ..AccountPatch::default() },
            Bulk::Disable => AccountPatch { status: Some("disabled".into()), ..AccountPatch::default() },
            Bulk::Move => AccountPatch { group: Some(self.move_to.trim().to_string()), ..AccountPatch::default() },
            Bulk::Order => AccountPatch { sort: self.order_edit.as_ref().map(|(_, v)| *v), ..AccountPatch::default() },
            Bulk::Proxy => AccountPatch { proxy: Some(self.proxy_saving.clone()), ..AccountPatch::default() },
            Bulk::Delete => {
                self.bulk = Some((
                    what,
                    self.backend
                        .spawn(ctx, async move { core.delete_accounts(ids, true).await.map(|report| report.deleted) }),
                ));
                return;
            }
        };
        self.bulk = Some((what, self.backend.spawn(ctx, async move { core.update_accounts(ids, patch).await })));
    }

    fn sort_header(&mut self, ui: &mut egui::Ui, label: &str, key: SortKey) {
        theme::sort_header(ui, label, key, &mut self.sort, &mut self.ascending);
    }

    fn header_cell(&mut self, ui: &mut egui::Ui, column: AccountColumn, rows: &[usize], snapshot: &Snapshot) {
        match column {
            AccountColumn::Check => {
                let all_selected = rows.iter().all(|&i| self.selected.contains(&snapshot.accounts[i].account.id));
                let mut all = all_selected;
                let response = ui.add(egui::Checkbox::without_text(&mut all));
                response.widget_info(|| egui::WidgetInfo::selected(egui::Role::CheckBox, true, all, T::SelectAll.tr()));
                if response.clicked() {
                    for &i in rows {
                        let id = &snapshot.accounts[i].account.id;
                        if all {
                            self.selected.insert(id.clone());
                        } else {
                            self.selected.remove(id);
                        }
                    }
                }
            }
            AccountColumn::Account => self.sort_header(ui, T::Account.tr(), SortKey::Label),
            AccountColumn::Group => self.sort_header(ui, T::GroupTags.tr(), SortKey::Group),
            AccountColumn::Plan => self.sort_header(ui, T::Plan.tr(), SortKey::Plan),
            AccountColumn::Usage => {
                self.sort_header(ui, T::Window5h.tr(), SortKey::Primary);
                self.sort_header(ui, T::Window7d.tr(), SortKey::Secondary);
            }
            AccountColumn::Status => self.sort_header(ui, T::Status.tr(), SortKey::Status),
            AccountColumn::Refreshed => self.sort_header(ui, T::LastRefreshed.tr(), SortKey::Refreshed),
            AccountColumn::Order => self.sort_header(ui, T::Order.tr(), SortKey::Order),
            AccountColumn::Note => {
                ui.label(RichText::new(T::Note.tr()).strong().color(theme::weak(ui)));
            }
            AccountColumn::Actions => {
                ui.label(RichText::new(T::Actions.tr()).strong().color(theme::weak(ui)));
            }
        }
    }

    fn table(&mut self, ui: &mut egui::Ui) {
        let (snapshot, rows) = {
            let view = self.view();
            (view.snapshot.clone(), view.rows.clone())
        };
        ui.label(RichText::new(T::ShowingN.fill(&[&rows.len(), &snapshot.accounts.len()])).color(theme::weak(ui)));
        if rows.is_empty() {
            empty_state(ui, T::NoMatches.tr(), T::NoMatchesHint.tr());
            return;
        }
        let columns = AccountColumn::fitting(ui.available_width());
        let show_group = columns.contains(&AccountColumn::Group);
        let now = crate::core::now_secs();
        let mut table = TableBuilder::new(ui)
            .id_salt("accounts_table")
            .striped(true)
            .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
        for column in &columns {
            table = table.column(column.column());
        }
        table
            .header(30.0, |mut header| {
                for &column in &columns {
                    header.col(|ui| self.header_cell(ui, column, &rows, &snapshot));
                }
            })
            .body(|body| {
                body.rows(theme::ROW_HEIGHT, rows.len(), |mut row| {
                    let view = &snapshot.accounts[rows[row.index()]];
                    row.set_selected(self.selected.contains(&view.account.id));
                    for &column in &columns {
                        row.col(|ui| self.cell(ui, column, view, now, show_group));
                    }
                });
            });
    }

    fn cell(&mut self, ui: &mut egui::Ui, column: AccountColumn, view: &AccountView, now: i64, show_group: bool) {
        let a = &view.account;
        let small = |ui: &mut egui::Ui, text: &str| {
            ui.add(egui::Label::new(RichText::new(text).size(11.5).color(theme::weak(ui))).truncate());
        };
        match column {
            AccountColumn::Check => {
                let mut checked = self.selected.contains(&a.id);
                let response = ui.add(egui::Checkbox::without_text(&mut checked));
                response.widget_info(|| {
                    egui::WidgetInfo::selected(egui::Role::CheckBox, true, checked, T::SelectAccount.fill(&[&a.label]))
                });
                if response.changed() {
                    if checked {
                        self.selected.insert(a.id.clone());
                    } else {
                        self.selected.remove(&a.id);
                    }
                }
            }
            AccountColumn::Account => {
                ui.vertical(|ui| {
                    ui.spacing_mut().item_spacing.y = 2.0;
                    ui.add(egui::Label::new(RichText::new(&a.label).strong()).truncate());
                    let sign_in = self.sign_ins.get(&a.id).filter(|s| !s.is_empty());
                    let email = a.email.as_deref().filter(|e| *e != a.label);
                    let second = email.or(sign_in.map(String::as_str)).unwrap_or(&a.id);
                    let second = if show_group { second.to_string() } else { format!("{second} · {}", a.group_name) };
                    ui.horizontal(|ui| {
                        ui.spacing_mut().item_spacing.x = 4.0;
                        proxy::badge(ui, a.proxy.as_deref());
                        let hover = match sign_in {
                            Some(sign_in) => T::SignInAndId.fill(&[sign_in, &a.id]),
                            None => a.id.clone(),
                        };
                        ui.add(egui::Label::new(RichText::new(&second).size(11.5).color(theme::weak(ui))).truncate())
                            .on_hover_text(hover);
                    });
                });
            }
            AccountColumn::Group => {
                ui.vertical(|ui| {
                    ui.spacing_mut().item_spacing.y = 2.0;
                    ui.add(egui::Label::new(&a.group_name).truncate());
                    if !a.tags.is_empty() {
                        let tags = RichText::new(a.tags.join(" · ")).size(11.5).color(theme::accent_text(ui));
                        ui.add(egui::Label::new(tags).truncate());
                    }
                });
            }
            AccountColumn::Plan => {
                ui.add(egui::Label::new(a.plan.as_deref().unwrap_or("–")).truncate());
            }
            AccountColumn::Usage => usage_cell(ui, view, now),
            AccountColumn::Status => {
                ui.vertical(|ui| {
                    ui.spacing_mut().item_spacing.y = 2.0;
                    let cooling = self.cooldown(view, crate::core::now_millis());
                    match (&view.availability, cooling) {
                        (Availability::Unavailable(reason), _) => {
                            availability_pill(ui, &view.availability);
                            small(ui, &reason_text(reason));
                        }
                        (_, Some((until_ms, reason))) => {
                            theme::pill(ui, T::CoolingDown.tr(), theme::Tone::Warn);
                            let text = T::CoolingUntil.fill(&[&fmt::time_ms(until_ms), &reason_text(&reason)]);
                            ui.add(egui::Label::new(RichText::new(&text).size(11.5).color(theme::weak(ui))).truncate())
                                .on_hover_text(&text);
                            let left = until_ms - crate::core::now_millis();
                            ui.ctx().request_repaint_after(std::time::Duration::from_millis(left.max(0) as u64 + 50));
                        }
                        _ => availability_pill(ui, &view.availability),
                    }
                });
            }
            AccountColumn::Refreshed => {
                let text = view
                    .usage
                    .as_ref()
                    .map_or_else(|| T::NeverRefreshed.tr().to_string(), |u| fmt::datetime_secs(u.captured_at));
                ui.add(egui::Label::new(RichText::new(text).size(12.5)).truncate());
            }
            AccountColumn::Order => self.order_cell(ui, view),
            AccountColumn::Note => {
                ui.add(egui::Label::new(RichText::new(&a.note).size(12.5)).truncate());
            }
            AccountColumn::Actions => {
                ui.spacing_mut().item_spacing.x = 6.0;
                let edit = T::EditAccount.fill(&[&a.label]);
                if theme::row_button(ui, true, T::Edit.tr(), &edit).on_hover_text(&edit).clicked() {
                    self.edit = Some(EditDialog::new(self.backend.clone(), a));
                }
                let refresh = T::RefreshUsageOf.fill(&[&a.label]);
                if theme::row_button(ui, self.refresh.is_none(), T::RefreshRow.tr(), &refresh)
                    .on_hover_text(&refresh)
                    .clicked()
                {
                    self.start_refresh(Some(vec![a.id.clone()]));
                }
                let delete = T::DeleteAccount.fill(&[&a.label]);
                if theme::row_danger_button(ui, self.bulk.is_none(), T::Delete.tr(), &delete)
                    .on_hover_text(&delete)
                    .clicked()
                {
                    self.confirm_delete = Some(vec![a.id.clone()]);
                }
            }
        }
    }

    /// When an account's cooldown ends (Unix ms) and why, while it cools down: what routing
    /// holds in memory, else what was stored (another process, or before a restart).
    fn cooldown(&self, view: &AccountView, now_ms: i64) -> Option<(i64, String)> {
        let pool = self.backend.core.pool();
        let live = pool.by_id.get(&view.account.id).and_then(|account| {
            let until = account.cooling_until(now_ms)?;
            Some((until, account.cooldown_reason(now_ms)?.to_string()))
        });
        let a = &view.account;
        let stored = match (a.cooldown_until, &a.cooldown_reason) {
            (Some(until), Some(reason)) if until * 1000 > now_ms => Some((until * 1000, reason.clone())),
            _ => None,
        };
        live.or(stored)
    }

    /// The routing order, edited in place: saved when the drag ends or the field loses focus.
    fn order_cell(&mut self, ui: &mut egui::Ui, view: &AccountView) {
        let a = &view.account;
        let mut value = match &self.order_edit {
            Some((id, value)) if *id == a.id => *value,
            _ => a.sort,
        };
        let response = ui
            .add_enabled(self.bulk.is_none(), egui::DragValue::new(&mut value).speed(0.2))
            .on_hover_text(T::OrderHint.tr());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::SpinButton, true, T::OrderOf.fill(&[&a.label])));
        if response.changed() {
            self.order_edit = Some((a.id.clone(), value));
        }
        // A drag ends, typing ends, or the value was set in one step (a screen reader).
        let set_at_once = response.changed() && !response.dragged() && !response.has_focus();
        let finished = response.drag_stopped() || response.lost_focus() || set_at_once;
        if finished && self.order_edit.as_ref().is_some_and(|(id, v)| *id == a.id && *v != a.sort) {
            self.run_bulk(ui.ctx(), Bulk::Order, vec![a.id.clone()]);
        } else if finished {
            self.order_edit = None;
        }
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
        if let Some(dialog) = self.export.as_mut()
            && dialog.show(ctx) == DialogOutcome::Closed
        {
            self.export = None;
        }
        if let Some(ids) = self.confirm_delete.clone() {
            let names: Vec<String> = {
                let view = self.view();
                ids.iter().map(|id| view.label_of(id)).collect()
            };
            let hidden = self.selected.len().saturating_sub(ids.len());
            let from_selection = ids.iter().all(|id| self.selected.contains(id));
            let note = (from_selection && hidden > 0).then(|| T::HiddenNotDeleted.fill(&[&hidden]));
            let answer = Confirm {
                id: "confirm_delete_accounts",
                title: if ids.len() == 1 {
                    T::DeleteAccountTitle.tr().to_string()
                } else {
                    T::DeleteAccountsTitle.fill(&[&ids.len()])
                },
                message: T::DeleteAccountsBody.tr().to_string(),
                items: &names,
                note,
                action: T::Delete.tr(),
            }
            .show(ctx);
            match answer {
                Some(Answer::Confirmed) => {
                    self.run_bulk(ctx, Bulk::Delete, ids);
                    self.confirm_delete = None;
                }
                Some(Answer::Cancelled) => self.confirm_delete = None,
                None => {}
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
                theme::usage_bar(ui, caption, window.map(|w| w.used_percent), 130.0);
                if let Some(at) = window.and_then(|w| w.resets_at) {
                    let text = RichText::new(fmt::resets_in(ui.ctx(), at, now)).size(11.0).color(theme::weak(ui));
                    ui.add(egui::Label::new(text).truncate());
                }
            });
        }
    });
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_core_columns_fit_a_960_point_window_and_wide_ones_show_all() {
        // 960 wide, less the page's margins (2 × 20) and the card's (2 × 16).
        let narrow = AccountColumn::fitting(960.0 - 72.0);
        assert_eq!(narrow, AccountColumn::CORE.to_vec());
        let needed: f32 = narrow.iter().map(|c| c.width() + AccountColumn::SPACING).sum();
        assert!(needed <= 960.0 - 72.0, "the core columns need {needed}");
        let wide = AccountColumn::fitting(2000.0);
        assert_eq!(wide, AccountColumn::DISPLAY_ORDER.to_vec());
    }
}
