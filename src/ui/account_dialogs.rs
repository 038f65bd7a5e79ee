//! The Accounts page's dialogs: "Add account" (tabs: sign in — see `sign_in` — or import
//! files or folders through the native file chooser or typed paths) and "Edit account"
//! (label, group, tags, note, sort order). Each owns its fields and its running job, and
//! says when it closed.

use std::path::PathBuf;

use egui::RichText;

use super::backend::{Backend, Job, poll_slot};
use super::i18n::T;
use super::sign_in::SignInTab;
use super::theme;
use crate::core::{AccountPatch, AccountRow, ImportReport};

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
    error: Option<String>,
}

/// Whether a native file chooser can open here. On Linux it needs the desktop portal (on the
/// session bus) or `zenity`; elsewhere the OS always has one.
fn chooser_available() -> bool {
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

impl AddDialog {
    pub fn new(backend: Backend) -> AddDialog {
        AddDialog {
            sign_in: SignInTab::new(backend.clone()),
            backend,
            tab: AddTab::SignIn,
            paths_text: String::new(),
            job: None,
            report: None,
            error: None,
        }
    }

    fn pick_and_import(&mut self, ctx: &egui::Context, kind: PickKind) {
        if !chooser_available() {
            self.error = Some(T::NoFileChooser.tr().to_string());
            return;
        }
        let core = self.backend.core.clone();
        let title = match kind {
            PickKind::Files => T::ChooseFiles.tr(),
            PickKind::Folder => T::ChooseFolder.tr(),
        };
        let dialog = rfd::AsyncFileDialog::new().set_title(title);
        self.report = None;
        self.error = None;
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
        self.job = Some(self.backend.spawn(ctx, async move { core.import_paths(paths).await.map(Some) }));
    }

    pub fn show(&mut self, ctx: &egui::Context) -> DialogOutcome {
        if let Some(result) = poll_slot(&mut self.job) {
            match result {
                Ok(Some(report)) => {
                    self.backend.notices.info(T::ImportedN.fill(&[&report.created, &report.updated]));
                    self.report = Some(report);
                }
                Ok(None) => {}
                Err(err) => self.error = Some(err),
            }
        }
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique("add_account")).show(ctx, |ui| {
            ui.set_width(560.0);
            ui.label(RichText::new(T::AddAccount.tr()).size(18.0).strong());
            ui.add_space(6.0);
            let tabs: Vec<(AddTab, &str)> = AddTab::ALL.iter().map(|t| (*t, t.label())).collect();
            theme::segmented(ui, &mut self.tab, &tabs);
            ui.add_space(8.0);
            match self.tab {
                AddTab::SignIn => self.sign_in.ui(ui),
                AddTab::Import => self.import_tab(ui),
            }
            ui.add_space(10.0);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if theme::button(ui, T::Close.tr()).clicked() {
                    close = true;
                }
            });
        });
        if close || (modal.should_close() && self.job.is_none()) {
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
            let tone = if report.failed.is_empty() { theme::Tone::Good } else { theme::Tone::Warn };
            theme::note(
                ui,
                &T::ImportReport.fill(&[&report.total, &report.created, &report.updated, &report.failed.len()]),
                tone,
            );
            if !report.failed.is_empty() {
                egui::ScrollArea::vertical().max_height(120.0).show(ui, |ui| {
                    for problem in &report.failed {
                        ui.label(RichText::new(format!("{}: {}", problem.source, problem.message)).size(12.0));
                    }
                });
            }
        }
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
    job: Option<Job<usize>>,
    error: Option<String>,
}

impl EditDialog {
    pub fn new(backend: Backend, account: &AccountRow) -> EditDialog {
        EditDialog {
            backend,
            id: account.id.clone(),
            label: account.label.clone(),
            group: account.group_name.clone(),
            tags: account.tags.join(", "),
            note: account.note.clone(),
            sort: account.sort,
            job: None,
            error: None,
        }
    }

    fn save(&mut self, ctx: &egui::Context) {
        let patch = AccountPatch {
            label: Some(self.label.trim().to_string()),
            group: Some(self.group.trim().to_string()),
            tags: Some(self.tags.split([',', '，']).map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect()),
            note: Some(self.note.clone()),
            sort: Some(self.sort),
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
                    self.backend.notices.info(T::Saved.tr());
                    return DialogOutcome::Closed;
                }
                Err(err) => self.error = Some(err),
            }
        }
        let busy = self.job.is_some();
        let mut close = false;
        let modal = egui::Modal::new(egui::Id::unique("edit_account")).show(ctx, |ui| {
            ui.set_width(480.0);
            ui.label(RichText::new(T::EditAccount.fill(&[&self.label])).size(18.0).strong());
            ui.add_space(8.0);
            egui::Grid::new("edit_account_fields").num_columns(2).spacing([12.0, 10.0]).show(ui, |ui| {
                ui.label(T::Label.tr());
                ui.add(egui::TextEdit::singleline(&mut self.label).hint_text(T::Label.tr()).desired_width(320.0));
                ui.end_row();
                ui.label(T::Group.tr());
                ui.add(egui::TextEdit::singleline(&mut self.group).hint_text(T::Group.tr()).desired_width(320.0));
                ui.end_row();
                ui.label(T::Tags.tr());
                ui.add(egui::TextEdit::singleline(&mut self.tags).hint_text(T::TagsHint.tr()).desired_width(320.0));
                ui.end_row();
                ui.label(T::Order.tr());
                ui.add(egui::DragValue::new(&mut self.sort).speed(1.0)).on_hover_text(T::OrderHint.tr());
                ui.end_row();
                ui.label(T::Note.tr());
                ui.add(
                    egui::TextEdit::multiline(&mut self.note)
                        .hint_text(T::Note.tr())
                        .desired_rows(3)
                        .desired_width(320.0),
                );
                ui.end_row();
            });
            if let Some(error) = self.error.clone()
                && theme::error_banner(ui, &T::SaveFailed.fill(&[&error]), T::Dismiss.tr())
            {
                self.error = None;
            }
            ui.add_space(10.0);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let valid = !self.label.trim().is_empty();
                if theme::primary_button(ui, valid && !busy, T::Save.tr()).clicked() {
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
        if close || (modal.should_close() && !busy) { DialogOutcome::Closed } else { DialogOutcome::Open }
    }
}
