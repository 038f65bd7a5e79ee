//! The Accounts page's dialogs: "Add account" (tabs: sign in — see `sign_in` — or import
//! files or folders through the native file chooser or typed paths), "Edit account" (label,
//! group, tags, note, sort order, and the proxy with a Test — see `proxy`) and "Export
//! accounts". Each owns its fields and its running job, and says when it closed.

use std::path::PathBuf;

use egui::RichText;

use super::backend::{Backend, Job, poll_slot};
use super::dialog::{Dialog, Dismiss, enter_pressed};
use super::i18n::T;
use super::proxy::{ProxyField, ProxyOwner};
use super::sign_in::SignInTab;
use super::theme;
use crate::core::{AccountPatch, AccountRow, ExportReport, ImportReport};

/// What a dialog did this frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogOutcome {
    Open,
    Closed,
}

/// The ways to add an account; each is one tab of the dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddTab {
    SignIn,
    Import,
}

impl AddTab {
    pub const ALL: [AddTab; 2] = [AddTab::SignIn, AddTab::Import];

    fn label(self) -> &'static str {
        match self {
            AddTab::SignIn => T::SignIn.tr(),
            AddTab::Import => T::ImportFiles.tr(),
        }
    }
}

/// Where the paths to import come from.
enum PickKind {
    Files,
    Folder,
}

pub struct AddDialog {
    backend: Backend,
    tab: AddTab,
    sign_in: SignInTab,
    paths_text: String,
    job: Option<Job<Option<ImportReport>>>,
    report: Option<ImportReport>,
    /// The file chooser could not open; said under its buttons.
    chooser_error: Option<String>,
    error: Option<String>,
}

/// Whether a native file chooser can open here. On Linux it needs the desktop portal (on the
/// session bus) or `zenity`; elsewhere the OS always has one.
pub fn chooser_available() -> bool {
    #[cfg(target_os = "linux")]
    {
        let bus = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some()
            || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| PathBuf::from(dir).join("bus").exists());
        let zenity = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("zenity").is_file()));
        bus || zenity
    }
    #[cfg(not(target_os = "linux"))]
    {
        true
    }
}

/// One path per line; blank lines and surrounding quotes are ignored.
fn parse_paths(text: &str) -> Vec<PathBuf> {
    text.lines()
        .map(|line| line.trim().trim_matches(|c| c == '"' || c == '\''))
        .filter(|line| !line.is_empty())
        .map(PathBuf::from)
        .collect()
}

/// How far a form's label sits below its row's top: level with the text of a one-line field.
const FORM_LABEL_TOP: f32 = 4.0;

/// A labelled row of a form's grid; forms add their fields through this so a new field is
/// one more call.
pub fn form_row<R>(ui: &mut egui::Ui, label: &str, add: impl FnOnce(&mut egui::Ui) -> R) -> R {
    // At the top of its row, level with the first line of a tall field (a note, the proxy's
    // choices) rather than floating in its middle.
    ui.with_layout(egui::Layout::top_down(egui::Align::Min), |ui| {
        ui.add_space(FORM_LABEL_TOP);
        // On one line: the column is as wide as its longest label.
        ui.add(egui::Label::new(label).extend());
    });
    let inner = add(ui);
    ui.end_row();
    inner
}

impl AddDialog {
    pub fn new(backend: Backend, tab: AddTab) -> AddDialog {
        AddDialog {
            sign_in: SignInTab::new(backend.clone()),
            backend,
            tab,
            paths_text: String::new(),
            job: None,
            report: None,
            chooser_error: None,
            error: None,
        }
    }

    pub fn tab(&self) -> AddTab {
        self.tab
    }

    fn pick_and_import(&mut self, ctx: &egui::Context, kind: PickKind) {
        self.report = None;
        self.error = None;
        if !chooser_available() {
            self.chooser_error = Some(T::NoFileChooser.tr().to_string());
            return;
        }
        self.chooser_error = None;
        let core = self.backend.core.clone();
        let title = match kind {
            PickKind::Files => T::ChooseFiles.tr(),
            PickKind::Folder => T::ChooseFolder.tr(),
        };
        let dialog = rfd::AsyncFileDialog::new().set_title(title);
        self.job = Some(self.backend.spawn(ctx, async move {
            let paths: Vec<PathBuf> = match kind {
                PickKind::Files => dialog
                    .add_filter("JSON", &["json"])
                    .pick_files()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|f| f.path().to_path_buf())
                    .collect(),
                PickKind::Folder => dialog.pick_folder().await.map(|f| f.path().to_path_buf()).into_iter().collect(),
            };
            if paths.is_empty() {
                return Ok(None);
            }
            core.import_paths(paths).await.map(Some)
        }));
    }

    fn import_typed(&mut self, ctx: &egui::Context) {
        let paths = parse_paths(&self.paths_text);
        let core = self.backend.core.clone();
        self.report = None;
        self.error = None;
        self.chooser_error = None;
        self.job = Some(self.backend.spawn(ctx, async move { core.import_paths(paths).await.map(Some) }));
    }

    pub fn show(&mut self, ctx: &egui::Context) -> DialogOutcome {
        if let Some(result) = poll_slot(&mut self.job) {
            match result {
                Ok(Some(report)) => {
                    if report.created + report.updated > 0 {
                        self.backend.notices.info(T::ImportedN, &[&report.created, &report.updated]);
                    }
                    self.report = Some(report);
                }
                Ok(None) => {}
                Err(err) => self.error = Some(err),
            }
        }
        let mut close = false;
        let shown = Dialog::new("add_account", T::AddAccount.tr(), 560.0).dismiss(Dismiss::Escape).show(ctx, |d| {
            d.body(|ui| {
                let tabs: Vec<(AddTab, &str)> = AddTab::ALL.iter().map(|t| (*t, t.label())).collect();
                theme::segmented(ui, &mut self.tab, &tabs);
                ui.add_space(8.0);
                match self.tab {
                    AddTab::SignIn => self.sign_in.ui(ui),
                    AddTab::Import => self.import_tab(ui),
                }
            });
            d.buttons(|ui| {
                if theme::button(ui, T::Close.tr()).clicked() {
                    close = true;
                }
            });
        });
        if close || (shown.dismissed && self.job.is_none()) {
            self.sign_in.cancel();
            DialogOutcome::Closed
        } else {
            DialogOutcome::Open
        }
    }

    fn import_tab(&mut self, ui: &mut egui::Ui) {
        let busy = self.job.is_some();
        ui.label(T::ImportHelp.tr());
        ui.add_space(6.0);
        ui.horizontal(|ui| {
            if theme::primary_button(ui, !busy, T::ChooseFiles.tr()).clicked() {
                self.pick_and_import(ui.ctx(), PickKind::Files);
            }
            if theme::button_enabled(ui, !busy, T::ChooseFolder.tr()).clicked() {
                self.pick_and_import(ui.ctx(), PickKind::Folder);
            }
            if busy {
                ui.spinner();
                ui.label(T::Importing.tr());
            }
        });
        if let Some(error) = self.chooser_error.clone()
            && theme::error_banner(ui, &error, T::Dismiss.tr())
        {
            self.chooser_error = None;
        }
        ui.add_space(8.0);
        ui.label(RichText::new(T::OrTypePaths.tr()).color(theme::weak(ui)));
        ui.add(
            egui::TextEdit::multiline(&mut self.paths_text)
                .hint_text(T::PathsHint.tr())
                .desired_rows(3)
                .desired_width(f32::INFINITY)
                .font(egui::TextStyle::Monospace),
        );
        let has_paths = !parse_paths(&self.paths_text).is_empty();
        if theme::button_enabled(ui, has_paths && !busy, T::ImportPaths.tr()).clicked() {
            self.import_typed(ui.ctx());
        }
        if let Some(error) = self.error.clone()
            && theme::error_banner(ui, &T::ImportFailed.fill(&[&error]), T::Dismiss.tr())
        {
            self.error = None;
        }
        if let Some(report) = &self.report {
            ui.add_space(6.0);
            import_report(ui, report);
        }
    }
}

/// What an import did, in one line, then each file or entry it skipped and why.
fn import_report(ui: &mut egui::Ui, report: &ImportReport) {
    let imported = report.created + report.updated;
    let (text, tone) = if report.failed.is_empty() {
        (T::ImportReport.fill(&[&report.total, &report.created, &report.updated, &0]), theme::Tone::Good)
    } else if imported == 0 {
        (T::NothingImported.fill(&[&report.failed.len()]), theme::Tone::Bad)
    } else {
        (
            T::ImportReport.fill(&[&report.total, &report.created, &report.updated, &report.failed.len()]),
            theme::Tone::Warn,
        )
    };
    theme::note(ui, &text, tone);
    if !report.failed.is_empty() {
        egui::ScrollArea::vertical().id_salt("import_problems").max_height(120.0).show(ui, |ui| {
            for problem in &report.failed {
                let message = import_problem_text(&problem.message);
                ui.label(RichText::new(format!("{}: {message}", problem.source)).size(12.0));
            }
        });
    }
}

/// Why a file or entry was not imported, in the window's language: the import's own reasons
/// (auth::import) by their words; a reason from elsewhere as it came.
fn import_problem_text(message: &str) -> String {
    match message {
        "no such file or folder" => return T::NoSuchPath.tr().to_string(),
        "the file holds no JSON value" => return T::NoJsonValue.tr().to_string(),
        "expected a JSON object with tokens" => return T::NotAnAccountObject.tr().to_string(),
        _ => {}
    }
    if message.starts_with("no access_token found") {
        return T::NoAccessToken.tr().to_string();
    }
    match message.strip_prefix("not valid JSON: ") {
        Some(detail) => T::NotValidJson.fill(&[&detail]),
        None => message.to_string(),
    }
}

pub struct EditDialog {
    backend: Backend,
    id: String,
    label: String,
    group: String,
    tags: String,
    note: String,
    sort: i64,
    proxy: ProxyField,
    job: Option<Job<usize>>,
    error: Option<String>,
}

impl EditDialog {
    pub fn new(backend: Backend, account: &AccountRow) -> EditDialog {
        EditDialog {
            id: account.id.clone(),
            label: account.label.clone(),
            group: account.group_name.clone(),
            tags: account.tags.join(", "),
            note: account.note.clone(),
            sort: account.sort,
            proxy: ProxyField::new(
                backend.clone(),
                ProxyOwner::Account(account.id.clone()),
                account.proxy.clone(),
                true,
            ),
            backend,
            job: None,
            error: None,
        }
    }

    fn valid(&self) -> bool {
        !self.label.trim().is_empty()
    }

    fn save(&mut self, ctx: &egui::Context) {
        let Ok(proxy) = self.proxy.change() else { return };
        let patch = AccountPatch {
            label: Some(self.label.trim().to_string()),
            group: Some(self.group.trim().to_string()),
            tags: Some(self.tags.split([',', '，']).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()),
            note: Some(self.note.clone()),
            sort: Some(self.sort),
            proxy,
            ..AccountPatch::default()
        };
        let core = self.backend.core.clone();
        let ids = vec![self.id.clone()];
        self.error = None;
        self.job = Some(self.backend.spawn(ctx, async move { core.update_accounts(ids, patch).await }));
    }

    pub fn show(&mut self, ctx: &egui::Context) -> DialogOutcome {
        if let Some(result) = poll_slot(&mut self.job) {
            match result {
                Ok(_) => {
                    self.backend.notices.info(T::Saved, &[]);
                    return DialogOutcome::Closed;
                }
                Err(err) => self.error = Some(err),
            }
        }
        let busy = self.job.is_some();
        let mut close = false;
        let title = T::EditAccount.fill(&[&self.label]);
        let shown = Dialog::new("edit_account", title, 480.0).dismiss(Dismiss::Escape).show(ctx, |d| {
            let opening = d.opening;
            let submit = d.body(|ui| {
                let fields =
                    egui::Grid::new("edit_account_fields").num_columns(2).spacing([12.0, 10.0]).show(ui, |ui| {
                        let line = |ui: &mut egui::Ui, text: &mut String, hint: &str| {
                            ui.add(egui::TextEdit::singleline(text).hint_text(hint).desired_width(320.0))
                        };
                        let label = form_row(ui, T::Label.tr(), |ui| line(ui, &mut self.label, T::Label.tr()));
                        let group = form_row(ui, T::Group.tr(), |ui| line(ui, &mut self.group, T::Group.tr()));
                        let tags = form_row(ui, T::Tags.tr(), |ui| line(ui, &mut self.tags, T::TagsHint.tr()));
                        form_row(ui, T::Order.tr(), |ui| {
                            ui.add(egui::DragValue::new(&mut self.sort).speed(1.0)).on_hover_text(T::OrderHint.tr())
                        });
                        form_row(ui, T::Note.tr(), |ui| {
                            ui.add(
                                egui::TextEdit::multiline(&mut self.note)
                                    .hint_text(T::Note.tr())
                                    .desired_rows(3)
                                    .desired_width(320.0),
                            )
                        });
                        form_row(ui, T::Proxy.tr(), |ui| self.proxy.ui(ui));
                        if opening {
                            label.request_focus();
                        }
                        [label, group, tags]
                    });
                if let Some(error) = self.error.clone()
                    && theme::error_banner(ui, &T::SaveFailed.fill(&[&error]), T::Dismiss.tr())
                {
                    self.error = None;
                }
                let [label, group, tags] = &fields.inner;
                enter_pressed(ui, &[label, group, tags])
            });
            d.buttons(|ui| {
                let ready = self.valid() && !busy;
                if theme::primary_button(ui, ready, T::Save.tr()).clicked() || (submit && ready) {
                    self.save(ui.ctx());
                }
                if theme::button(ui, T::Cancel.tr()).clicked() {
                    close = true;
                }
                if busy {
                    ui.spinner();
                }
            });
        });
        if close || (shown.dismissed && !busy) { DialogOutcome::Closed } else { DialogOutcome::Open }
    }
}

/// Writes accounts with their tokens to a file or a folder, through the core's one export.
pub struct ExportDialog {
    backend: Backend,
    /// The accounts to export; `None` exports them all.
    ids: Option<Vec<String>>,
    path: String,
    pick: Option<Job<Option<PathBuf>>>,
    job: Option<Job<ExportReport>>,
    error: Option<String>,
}

impl ExportDialog {
    pub fn new(backend: Backend, ids: Option<Vec<String>>) -> ExportDialog {
        ExportDialog { backend, ids, path: String::new(), pick: None, job: None, error: None }
    }

    fn choose(&mut self, ctx: &egui::Context, folder: bool) {
        if !chooser_available() {
            self.error = Some(T::NoFileChooserExport.tr().to_string());
            return;
        }
        let dialog = rfd::AsyncFileDialog::new();
        self.pick = Some(self.backend.spawn(ctx, async move {
            let picked = if folder {
                dialog.set_title(T::ChooseFolder.tr()).pick_folder().await
            } else {
                dialog.set_title(T::SaveAs.tr()).set_file_name("codexmanager-accounts.json").save_file().await
            };
            Ok::<_, String>(picked.map(|f| f.path().to_path_buf()))
        }));
    }

    fn export(&mut self, ctx: &egui::Context) {
        let core = self.backend.core.clone();
        let (out, ids) = (PathBuf::from(self.path.trim()), self.ids.clone());
        self.error = None;
        self.job = Some(self.backend.spawn(ctx, async move { core.export_accounts(out, ids, false).await }));
    }

    pub fn show(&mut self, ctx: &egui::Context) -> DialogOutcome {
        if let Some(Ok(Some(path))) = poll_slot(&mut self.pick) {
            self.path = path.display().to_string();
        }
        if let Some(result) = poll_slot(&mut self.job) {
            match result {
                Ok(report) => {
                    let path = report.path.display().to_string();
                    self.backend.notices.info(T::ExportedN, &[&report.exported, &path]);
                    return DialogOutcome::Closed;
                }
                Err(err) => self.error = Some(err),
            }
        }
        let busy = self.job.is_some() || self.pick.is_some();
        let count = self.ids.as_ref().map_or_else(|| self.backend.core.snapshot().accounts.len(), Vec::len);
        let mut close = false;
        let title = T::ExportTitle.fill(&[&count]);
        let shown = Dialog::new("export_accounts", title, 520.0).dismiss(Dismiss::Escape).show(ctx, |d| {
            let opening = d.opening;
            let submit = d.body(|ui| {
                theme::note(ui, T::ExportPlaintext.tr(), theme::Tone::Warn);
                ui.add_space(6.0);
                ui.label(T::ExportWhere.tr());
                let field = ui.add(
                    egui::TextEdit::singleline(&mut self.path)
                        .hint_text(T::ExportPathHint.tr())
                        .desired_width(f32::INFINITY)
                        .font(egui::TextStyle::Monospace),
                );
                if opening {
                    field.request_focus();
                }
                ui.horizontal(|ui| {
                    if theme::button_enabled(ui, !busy, T::SaveAs.tr()).clicked() {
                        self.choose(ui.ctx(), false);
                    }
                    if theme::button_enabled(ui, !busy, T::ChooseFolder.tr()).clicked() {
                        self.choose(ui.ctx(), true);
                    }
                });
                if let Some(error) = self.error.clone()
                    && theme::error_banner(ui, &T::ExportFailed.fill(&[&error]), T::Dismiss.tr())
                {
                    self.error = None;
                }
                enter_pressed(ui, &[&field])
            });
            d.buttons(|ui| {
                let ready = !self.path.trim().is_empty() && count > 0 && !busy;
                if theme::primary_button(ui, ready, T::Export.tr()).clicked() || (submit && ready) {
                    self.export(ui.ctx());
                }
                if theme::button(ui, T::Cancel.tr()).clicked() {
                    close = true;
                }
                if busy {
                    ui.spinner();
                }
            });
        });
        if close || (shown.dismissed && !busy) { DialogOutcome::Closed } else { DialogOutcome::Open }
    }
}
