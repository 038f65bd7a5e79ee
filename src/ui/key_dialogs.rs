//! The Platform keys page's dialogs: creating a key (name, protocol, model binding, for Azure
//! OpenAI the endpoint and API key, and the policy — see `key_policy`), which then shows the
//! new key once; editing a key's name, model binding and policy; and the client
//! set-up snippets (Codex CLI, Claude Code, any OpenAI client) for a key. The new key can
//! only be seen in its dialog, so that dialog closes by its own button alone, and asks first
//! when the key was not copied.

use egui::RichText;

use super::account_dialogs::form_row;
use super::backend::{Backend, Job, poll_slot};
use super::dialog::{Dialog, Dismiss, enter_pressed};
use super::i18n::T;
use super::key_policy::PolicyForm;
use super::keys::protocol_name;
use super::theme;
use crate::core::{CreatedKey, KeyField, KeyPolicy, KeyProblem, KeyProtocol, KeyRow, KeyUpdate, NewKey, PolicyChange};

/// Stands in for the key in snippets when the full key is no longer known.
const KEY_PLACEHOLDER: &str = "<your key>";
/// The model the Codex CLI snippet names when the key binds none (as the README's example).
const DEFAULT_CODEX_MODEL: &str = "gpt-5.5";

/// Which client a snippet sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Client {
    Codex,
    Claude,
    OpenAi,
    Azure,
}

impl Client {
    fn title(self) -> &'static str {
        match self {
            Client::Codex => "Codex CLI",
            Client::Claude => "Claude Code",
            Client::OpenAi => T::OpenAiClient.tr(),
            Client::Azure => "Azure OpenAI SDK",
        }
    }

    /// The clients a key of `protocol` serves, the most likely first.
    fn for_protocol(protocol: KeyProtocol) -> Vec<Client> {
        match protocol {
            KeyProtocol::Openai => vec![Client::Codex, Client::OpenAi, Client::Claude],
            KeyProtocol::Anthropic => vec![Client::Claude, Client::Codex, Client::OpenAi],
            KeyProtocol::AzureOpenai => vec![Client::Azure, Client::OpenAi, Client::Codex, Client::Claude],
        }
    }
}

/// The set-up text for `client` against the gateway at `host` with `key`.
pub fn snippet(client: Client, host: &str, key: &str, api_version: Option<&str>, model: Option<&str>) -> String {
    let model = model.unwrap_or(DEFAULT_CODEX_MODEL);
    match client {
        Client::Codex => format!(
            "# ~/.codex/config.toml\n\
             model = \"{model}\"\n\
             model_provider = \"codexmanager\"\n\n\
             [model_providers.codexmanager]\n\
             name = \"CodexManager\"\n\
             base_url = \"http://{host}/v1\"\n\
             wire_api = \"responses\"\n\
             env_key = \"CODEXMANAGER_API_KEY\"\n\n\
             # in your shell\n\
             export CODEXMANAGER_API_KEY={key}"
        ),
        Client::Claude => format!("export ANTHROPIC_BASE_URL=http://{host}\nexport ANTHROPIC_AUTH_TOKEN={key}"),
        Client::OpenAi => format!("export OPENAI_BASE_URL=http://{host}/v1\nexport OPENAI_API_KEY={key}"),
        Client::Azure => format!(
            "export AZURE_OPENAI_ENDPOINT=http://{host}\nexport AZURE_OPENAI_API_KEY={key}\nexport OPENAI_API_VERSION={}",
            api_version.unwrap_or("<api-version>")
        ),
    }
}

/// The snippets for one key, one tab per client.
pub struct SetupDialog {
    host: String,
    key: KeyRow,
    secret: Option<String>,
    client: Client,
}

impl SetupDialog {
    /// `secret` is the full key when it is known (right after creation).
    pub fn new(host: String, key: KeyRow, secret: Option<String>) -> SetupDialog {
        let client = Client::for_protocol(key.protocol)[0];
        SetupDialog { host, key, secret, client }
    }

    /// Returns false once closed.
    pub fn show(&mut self, ctx: &egui::Context) -> bool {
        let mut open = true;
        let title = T::SetUpTitle.fill(&[&self.key.name]);
        let shown = Dialog::new("key_setup", title, 600.0).show(ctx, |d| {
            d.body(|ui| setup_snippets(ui, &self.host, &self.key, self.secret.as_deref(), &mut self.client));
            d.buttons(|ui| {
                if theme::button(ui, T::Close.tr()).clicked() {
                    open = false;
                }
            });
        });
        open && !shown.dismissed
    }
}

/// Tabs of snippets with a copy button; used by the set-up dialog and after creation.
fn setup_snippets(ui: &mut egui::Ui, host: &str, key: &KeyRow, secret: Option<&str>, client: &mut Client) {
    let clients = Client::for_protocol(key.protocol);
    let tabs: Vec<(Client, &str)> = clients.iter().map(|c| (*c, c.title())).collect();
    theme::segmented(ui, client, &tabs);
    ui.add_space(6.0);
    let text = snippet(
        *client,
        host,
        secret.unwrap_or(KEY_PLACEHOLDER),
        key.azure_api_version.as_deref(),
        key.model.as_deref(),
    );
    theme::code_block(ui, &text);
    ui.horizontal(|ui| {
        if theme::button(ui, T::CopySnippet.tr()).clicked() {
            ui.ctx().copy_text(text.clone());
        }
        if secret.is_none() {
            ui.label(RichText::new(T::SnippetPlaceholderNote.tr()).color(theme::weak(ui)).size(12.0));
        }
    });
}

pub struct CreateKeyDialog {
    backend: Backend,
    name: String,
    protocol: KeyProtocol,
    model: String,
    azure_endpoint: String,
    azure_api_key: String,
    azure_api_version: String,
    policy: PolicyForm,
    job: Option<Job<CreatedKey>>,
    error: Option<String>,
    /// What is wrong with a field, said under it.
    problem: Option<KeyProblem>,
    created: Option<CreatedKey>,
    /// The new key was copied (or the person chose to close without copying).
    copied: bool,
    /// "Close without copying?" is being asked.
    confirm_close: bool,
    client: Client,
}

impl CreateKeyDialog {
    pub fn new(backend: Backend) -> CreateKeyDialog {
        CreateKeyDialog {
            backend,
            name: String::new(),
            protocol: KeyProtocol::Openai,
            model: String::new(),
            azure_endpoint: String::new(),
            azure_api_key: String::new(),
            azure_api_version: String::new(),
            policy: PolicyForm::new(&KeyPolicy::default()),
            job: None,
            error: None,
            problem: None,
            created: None,
            copied: false,
            confirm_close: false,
            client: Client::Codex,
        }
    }

    fn submit(&mut self, ctx: &egui::Context) {
        let azure = self.protocol == KeyProtocol::AzureOpenai;
        let new = NewKey {
            name: self.name.clone(),
            protocol: Some(self.protocol.as_str().to_string()),
            model: Some(self.model.clone()),
            azure_endpoint: azure.then(|| self.azure_endpoint.clone()),
            azure_api_key: azure.then(|| self.azure_api_key.clone()),
            azure_api_version: azure.then(|| self.azure_api_version.clone()),
            policy: PolicyChange::default(),
        };
        self.error = None;
        self.problem = new.check().err();
        let policy = self.policy.change();
        let Some(policy) = policy.filter(|_| self.problem.is_none()) else { return };
        let new = NewKey { policy, ..new };
        let core = self.backend.core.clone();
        self.job = Some(self.backend.spawn(ctx, async move { core.create_key(new).await }));
    }

    /// Returns false once closed; the full key is dropped with the dialog.
    pub fn show(&mut self, ctx: &egui::Context) -> bool {
        if let Some(result) = poll_slot(&mut self.job) {
            match result {
                Ok(created) => {
                    self.client = Client::for_protocol(created.info.protocol)[0];
                    self.azure_api_key.clear();
                    self.created = Some(created);
                }
                Err(err) => self.error = Some(err),
            }
        }
        if self.created.is_some() { self.show_created(ctx) } else { self.show_form(ctx) }
    }

    /// The new key, once: closes only through its own buttons.
    fn show_created(&mut self, ctx: &egui::Context) -> bool {
        let Some(created) = &self.created else { return false };
        let mut open = true;
        let title = T::KeyCreated.fill(&[&created.info.name]);
        Dialog::new("key_created", title, 600.0).dismiss(Dismiss::Buttons).show(ctx, |d| {
            d.body(|ui| {
                theme::note(ui, T::KeyShownOnce.tr(), theme::Tone::Warn);
                ui.add_space(6.0);
                theme::code_block(ui, &created.key);
                if theme::primary_button(ui, true, T::CopyKey.tr()).clicked() {
                    ui.ctx().copy_text(created.key.clone());
                    self.copied = true;
                    self.backend.notices.info(T::KeyCopied, &[]);
                }
                ui.add_space(10.0);
                ui.label(RichText::new(T::SetUpClients.tr()).strong());
                let host = self.backend.base_host();
                setup_snippets(ui, &host, &created.info, Some(&created.key), &mut self.client);
                if self.confirm_close {
                    ui.add_space(8.0);
                    theme::note(ui, T::KeyNotCopied.tr(), theme::Tone::Bad);
                }
            });
            d.buttons(|ui| {
                if self.confirm_close {
                    if theme::danger_button(ui, true, T::CloseWithoutCopying.tr()).clicked() {
                        open = false;
                    }
                    if theme::button(ui, T::Back.tr()).clicked() {
                        self.confirm_close = false;
                    }
                } else if theme::button(ui, T::Done.tr()).clicked() {
                    if self.copied {
                        open = false;
                    } else {
                        self.confirm_close = true;
                    }
                }
            });
        });
        open
    }

    fn show_form(&mut self, ctx: &egui::Context) -> bool {
        let mut open = true;
        let busy = self.job.is_some();
        let models = self.backend.core.models();
        let groups = account_groups(&self.backend);
        let shown = Dialog::new("create_key", T::CreateKey.tr(), 600.0).dismiss(Dismiss::Escape).show(ctx, |d| {
            let opening = d.opening;
            let submit = d.body(|ui| {
                let protocol_before = self.protocol;
                let fields = egui::Grid::new("create_key_fields").num_columns(2).spacing([12.0, 10.0]).show(ui, |ui| {
                    let line = |ui: &mut egui::Ui, text: &mut String, hint: &str| {
                        ui.add(egui::TextEdit::singleline(text).hint_text(hint).desired_width(360.0))
                    };
                    let problem = self.problem.clone();
                    let mark = |ui: &mut egui::Ui, field: KeyField| {
                        if let Some(problem) = problem.as_ref().filter(|p| p.field() == field) {
                            theme::field_error(ui, &problem_text(problem));
                        }
                    };
                    let name = form_row(ui, T::Name.tr(), |ui| {
                        ui.vertical(|ui| {
                            let field = line(ui, &mut self.name, T::KeyNameHint.tr());
                            mark(ui, KeyField::Name);
                            field
                        })
                        .inner
                    });
                    if opening {
                        name.request_focus();
                    }
                    form_row(ui, T::Protocol.tr(), |ui| {
                        let combo = egui::ComboBox::from_id_salt("key_protocol")
                            .selected_text(protocol_name(self.protocol))
                            .width(360.0)
                            .show_ui(ui, |ui| {
                                for protocol in [KeyProtocol::Openai, KeyProtocol::Anthropic, KeyProtocol::AzureOpenai]
                                {
                                    ui.selectable_value(&mut self.protocol, protocol, protocol_name(protocol));
                                }
                            });
                        theme::name_widget(&combo.response, egui::Role::ComboBox, T::Protocol.tr());
                    });
                    let model = form_row(ui, T::ModelBinding.tr(), |ui| {
                        ui.vertical(|ui| {
                            let field = line(ui, &mut self.model, T::ModelHint.tr());
                            model_choices(ui, &models, &mut self.model);
                            field
                        })
                        .inner
                    });
                    let mut fields = vec![name, model];
                    if self.protocol == KeyProtocol::AzureOpenai {
                        fields.push(form_row(ui, T::AzureEndpoint.tr(), |ui| {
                            ui.vertical(|ui| {
                                let field = line(ui, &mut self.azure_endpoint, "https://NAME.openai.azure.com");
                                mark(ui, KeyField::AzureEndpoint);
                                field
                            })
                            .inner
                        }));
                        fields.push(form_row(ui, T::AzureApiKey.tr(), |ui| {
                            ui.vertical(|ui| {
                                let field = ui.add(
                                    egui::TextEdit::singleline(&mut self.azure_api_key)
                                        .password(true)
                                        .hint_text(T::AzureApiKey.tr())
                                        .desired_width(360.0),
                                );
                                mark(ui, KeyField::AzureApiKey);
                                field
                            })
                            .inner
                        }));
                        fields.push(form_row(ui, T::AzureApiVersion.tr(), |ui| {
                            line(ui, &mut self.azure_api_version, T::AzureApiVersionHint.tr())
                        }));
                    }
                    fields
                });
                if self.protocol != protocol_before {
                    self.error = None;
                    self.problem = None;
                }
                ui.label(RichText::new(T::ModelBindingHelp.tr()).color(theme::weak(ui)).size(12.0));
                ui.add_space(6.0);
                let open = self.policy.has_problems().then_some(true);
                egui::CollapsingHeader::new(T::PolicySection.tr())
                    .id_salt("create_key_policy")
                    .open(open)
                    .show(ui, |ui| self.policy.ui(ui, &groups, &models));
                if let Some(error) = self.error.clone()
                    && theme::error_banner(ui, &T::CreateKeyFailed.fill(&[&error]), T::Dismiss.tr())
                {
                    self.error = None;
                }
                let fields: Vec<&egui::Response> = fields.inner.iter().collect();
                enter_pressed(ui, &fields)
            });
            d.buttons(|ui| {
                let ready = !self.name.trim().is_empty() && !busy;
                if theme::primary_button(ui, ready, T::Create.tr()).clicked() || (submit && ready) {
                    self.submit(ui.ctx());
                }
                if theme::button(ui, T::Cancel.tr()).clicked() {
                    open = false;
                }
                if busy {
                    ui.spinner();
                }
            });
        });
        open && (busy || !shown.dismissed)
    }
}

/// The account groups there are, for a key's scope.
fn account_groups(backend: &Backend) -> Vec<String> {
    let snapshot = backend.core.snapshot();
    let groups: std::collections::BTreeSet<&str> =
        snapshot.accounts.iter().map(|v| v.account.group_name.as_str()).filter(|g| !g.is_empty()).collect();
    groups.into_iter().map(str::to_string).collect()
}

/// Changes a key's name, model binding and policy.
pub struct EditKeyDialog {
    backend: Backend,
    id: String,
    name: String,
    model: String,
    policy: PolicyForm,
    job: Option<Job<KeyRow>>,
    error: Option<String>,
    name_missing: bool,
}

impl EditKeyDialog {
    pub fn new(backend: Backend, key: &KeyRow) -> EditKeyDialog {
        EditKeyDialog {
            backend,
            id: key.id.clone(),
            name: key.name.clone(),
            model: key.model.clone().unwrap_or_default(),
            policy: PolicyForm::new(&key.policy),
            job: None,
            error: None,
            name_missing: false,
        }
    }

    fn save(&mut self, ctx: &egui::Context) {
        self.name_missing = self.name.trim().is_empty();
        let policy = self.policy.change();
        let Some(policy) = policy.filter(|_| !self.name_missing) else { return };
        let update = KeyUpdate { name: Some(self.name.clone()), model: Some(self.model.clone()), policy };
        let (core, id) = (self.backend.core.clone(), self.id.clone());
        self.error = None;
        self.job = Some(self.backend.spawn(ctx, async move { core.update_key(id, update).await }));
    }

    /// Returns false once closed.
    pub fn show(&mut self, ctx: &egui::Context) -> bool {
        if let Some(result) = poll_slot(&mut self.job) {
            match result {
                Ok(_) => {
                    self.backend.notices.info(T::Saved, &[]);
                    return false;
                }
                Err(err) => self.error = Some(err),
            }
        }
        let busy = self.job.is_some();
        let models = self.backend.core.models();
        let groups = account_groups(&self.backend);
        let mut open = true;
        let title = T::EditKeyTitle.fill(&[&self.name]);
        let shown = Dialog::new("edit_key", title, 640.0).dismiss(Dismiss::Escape).show(ctx, |d| {
            let opening = d.opening;
            let submit = d.body(|ui| {
                let name = egui::Grid::new("edit_key_fields").num_columns(2).spacing([12.0, 10.0]).show(ui, |ui| {
                    let name = form_row(ui, T::Name.tr(), |ui| {
                        ui.vertical(|ui| {
                            let field = ui.add(
                                egui::TextEdit::singleline(&mut self.name)
                                    .hint_text(T::KeyNameHint.tr())
                                    .desired_width(360.0),
                            );
                            if self.name_missing {
                                theme::field_error(ui, T::KeyNameMissing.tr());
                            }
                            field
                        })
                        .inner
                    });
                    if opening {
                        name.request_focus();
                    }
                    form_row(ui, T::ModelBinding.tr(), |ui| {
                        ui.vertical(|ui| {
                            ui.add(
                                egui::TextEdit::singleline(&mut self.model)
                                    .hint_text(T::ModelHint.tr())
                                    .desired_width(360.0),
                            );
                            model_choices(ui, &models, &mut self.model);
                        });
                    });
                    name
                });
                ui.add_space(6.0);
                self.policy.ui(ui, &groups, &models);
                if let Some(error) = self.error.clone()
                    && theme::error_banner(ui, &T::SaveFailed.fill(&[&error]), T::Dismiss.tr())
                {
                    self.error = None;
                }
                enter_pressed(ui, &[&name.inner])
            });
            d.buttons(|ui| {
                if theme::primary_button(ui, !busy, T::Save.tr()).clicked() || (submit && !busy) {
                    self.save(ui.ctx());
                }
                if theme::button(ui, T::Cancel.tr()).clicked() {
                    open = false;
                }
                if busy {
                    ui.spinner();
                }
            });
        });
        open && (busy || !shown.dismissed)
    }
}

/// A problem with a field of the key form, in the window's language.
fn problem_text(problem: &KeyProblem) -> String {
    match problem {
        KeyProblem::NoName => T::KeyNameMissing.tr().to_string(),
        KeyProblem::BadProtocol(_) | KeyProblem::AzureFieldsWithoutAzure => T::KeyProtocolWrong.tr().to_string(),
        KeyProblem::NoAzureEndpoint => T::AzureEndpointMissing.tr().to_string(),
        KeyProblem::AzureEndpointNotUrl(got) => T::AzureEndpointNotUrl.fill(&[got]),
        KeyProblem::NoAzureApiKey => T::AzureApiKeyMissing.tr().to_string(),
    }
}

/// The models the pool knows, as one-click choices under the model field.
pub fn model_choices(ui: &mut egui::Ui, models: &[crate::core::ModelInfo], model: &mut String) {
    if models.is_empty() {
        return;
    }
    let combo = egui::ComboBox::from_id_salt(ui.scope_id().with("known_models"))
        .selected_text(T::KnownModels.tr())
        .width(200.0)
        .show_ui(ui, |ui| {
            for info in models {
                ui.selectable_value(model, info.slug.clone(), &info.slug);
            }
        });
    theme::name_widget(&combo.response, egui::Role::ComboBox, T::KnownModels.tr());
}
