//! The Platform keys page's dialogs: creating a key (name, protocol, model binding, and for
//! Azure OpenAI the endpoint and API key), which then shows the new key once; and the client
//! set-up snippets (Codex CLI, Claude Code, any OpenAI client) for a key.

use egui::RichText;

use super::backend::{Backend, Job, poll_slot};
use super::i18n::T;
use super::keys::protocol_name;
use super::theme;
use crate::core::{CreatedKey, KeyProtocol, KeyRow, NewKey};

/// Stands in for the key in snippets when the full key is no longer known.
const KEY_PLACEHOLDER: &str = "<your key>";

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
pub fn snippet(client: Client, host: &str, key: &str, api_version: Option<&str>) -> String {
    match client {
        Client::Codex => format!(
            "# ~/.codex/config.toml\n\
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
        let modal = egui::Modal::new(egui::Id::unique("key_setup")).show(ctx, |ui| {
            ui.set_width(600.0);
            ui.label(RichText::new(T::SetUpTitle.fill(&[&self.key.name])).size(18.0).strong());
            ui.add_space(6.0);
            setup_snippets(ui, &self.host, &self.key, self.secret.as_deref(), &mut self.client);
            ui.add_space(10.0);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                if theme::button(ui, T::Close.tr()).clicked() {
                    open = false;
                }
            });
        });
        open && !modal.should_close()
    }
}

/// Tabs of snippets with a copy button; used by the set-up dialog and after creation.
fn setup_snippets(ui: &mut egui::Ui, host: &str, key: &KeyRow, secret: Option<&str>, client: &mut Client) {
    let clients = Client::for_protocol(key.protocol);
    let tabs: Vec<(Client, &str)> = clients.iter().map(|c| (*c, c.title())).collect();
    theme::segmented(ui, client, &tabs);
    ui.add_space(6.0);
    let text = snippet(*client, host, secret.unwrap_or(KEY_PLACEHOLDER), key.azure_api_version.as_deref());
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
    job: Option<Job<CreatedKey>>,
    error: Option<String>,
    created: Option<CreatedKey>,
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
            job: None,
            error: None,
            created: None,
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
            ..NewKey::default()
        };
        let core = self.backend.core.clone();
        self.error = None;
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
        let mut open = true;
        let busy = self.job.is_some();
        let modal = egui::Modal::new(egui::Id::unique("create_key")).show(ctx, |ui| {
            ui.set_width(600.0);
            if let Some(created) = &self.created {
                ui.label(RichText::new(T::KeyCreated.fill(&[&created.info.name])).size(18.0).strong());
                ui.add_space(6.0);
                theme::note(ui, T::KeyShownOnce.tr(), theme::Tone::Warn);
                ui.add_space(6.0);
                theme::code_block(ui, &created.key);
                if theme::primary_button(ui, true, T::CopyKey.tr()).clicked() {
                    ui.ctx().copy_text(created.key.clone());
                    self.backend.notices.info(T::KeyCopied.tr());
                }
                ui.add_space(10.0);
                ui.label(RichText::new(T::SetUpClients.tr()).strong());
                let host = self.backend.base_host();
                setup_snippets(ui, &host, &created.info, Some(&created.key), &mut self.client);
                ui.add_space(10.0);
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if theme::button(ui, T::Done.tr()).clicked() {
                        open = false;
                    }
                });
                return;
            }
            ui.label(RichText::new(T::CreateKey.tr()).size(18.0).strong());
            ui.add_space(8.0);
            egui::Grid::new("create_key_fields").num_columns(2).spacing([12.0, 10.0]).show(ui, |ui| {
                ui.label(T::Name.tr());
                ui.add(egui::TextEdit::singleline(&mut self.name).hint_text(T::KeyNameHint.tr()).desired_width(360.0));
                ui.end_row();
                ui.label(T::Protocol.tr());
                let combo = egui::ComboBox::from_id_salt("key_protocol")
                    .selected_text(protocol_name(self.protocol))
                    .width(360.0)
                    .show_ui(ui, |ui| {
                        for protocol in [KeyProtocol::Openai, KeyProtocol::Anthropic, KeyProtocol::AzureOpenai] {
                            ui.selectable_value(&mut self.protocol, protocol, protocol_name(protocol));
                        }
                    });
                theme::name_widget(&combo.response, egui::Role::ComboBox, T::Protocol.tr());
                ui.end_row();
                ui.label(T::ModelBinding.tr());
                ui.add(egui::TextEdit::singleline(&mut self.model).hint_text(T::ModelHint.tr()).desired_width(360.0));
                ui.end_row();
                if self.protocol == KeyProtocol::AzureOpenai {
                    ui.label(T::AzureEndpoint.tr());
                    ui.add(
                        egui::TextEdit::singleline(&mut self.azure_endpoint)
                            .hint_text("https://NAME.openai.azure.com")
                            .desired_width(360.0),
                    );
                    ui.end_row();
                    ui.label(T::AzureApiKey.tr());
                    ui.add(
                        egui::TextEdit::singleline(&mut self.azure_api_key)
                            .password(true)
                            .hint_text(T::AzureApiKey.tr())
                            .desired_width(360.0),
                    );
                    ui.end_row();
                    ui.label(T::AzureApiVersion.tr());
                    ui.add(
                        egui::TextEdit::singleline(&mut self.azure_api_version)
                            .hint_text(T::AzureApiVersionHint.tr())
                            .desired_width(360.0),
                    );
                    ui.end_row();
                }
            });
            ui.label(RichText::new(T::ModelBindingHelp.tr()).color(theme::weak(ui)).size(12.0));
            if let Some(error) = self.error.clone()
                && theme::error_banner(ui, &T::CreateKeyFailed.fill(&[&error]), T::Dismiss.tr())
            {
                self.error = None;
            }
            ui.add_space(10.0);
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let valid = !self.name.trim().is_empty();
                if theme::primary_button(ui, valid && !busy, T::Create.tr()).clicked() {
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
        open && (busy || !modal.should_close())
    }
}
