//! The window's pages driven headless with egui_kittest against a real core filled with
//! fixtures: what a user sees after clicking and typing, found by the labels on screen.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use serde_json::{Value, json};

use codexmanager::config::Env;
use codexmanager::core::Core;
use codexmanager::core::logs::LogRow;
use codexmanager::paths::{DataLocation, DataPaths};
use codexmanager::store::usage::{UsageSnapshot, Window};
use codexmanager::ui::backend::Backend;
use codexmanager::ui::i18n::{Lang, set_lang};
use codexmanager::ui::{App, Page, accounts, keys, logs};

#[path = "support/mod.rs"]
mod support;

/// A core on a private database, with the runtime it runs on.
struct Fixture {
    _dir: tempfile::TempDir,
    runtime: tokio::runtime::Runtime,
    core: Core,
}

/// The XDG config folder of every test here, so Settings' "Start at login" registers the
/// app in a temporary folder and never in the account running the tests. Set before the first
/// fixture exists (every test makes one first), while no other thread reads the environment.
static CONFIG_HOME: std::sync::LazyLock<tempfile::TempDir> = std::sync::LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir");
    // SAFETY: set once, before any fixture (and so any core or window thread) exists; the
    // other tests wait on this LazyLock before they start theirs.
    unsafe { std::env::set_var("XDG_CONFIG_HOME", dir.path()) };
    dir
});

fn jwt(payload: &Value) -> String {
    let enc = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!("{}.{}.sig", enc(&json!({"alg": "none", "typ": "JWT"})), enc(payload))
}

fn auth_json(n: usize) -> String {
    let auth = json!({"chatgpt_account_id": format!("acct-{n:05}"), "chatgpt_user_id": format!("user-{n:05}"),
        "chatgpt_plan_type": if n.is_multiple_of(2) { "plus" } else { "pro" }});
    // Even accounts signed in with Google under a name, as the issuer's id tokens say.
    let (sub, name) = if n.is_multiple_of(2) {
        (format!("google-oauth2|{n:021}"), Some(format!("User {n}")))
    } else {
        (format!("sub-{n}"), None)
    };
    let id = jwt(&json!({"email": format!("user{n}@example.com"), "sub": sub, "name": name,
        "https://api.openai.com/auth": auth}));
    let access = jwt(&json!({"exp": 4_000_000_000i64, "https://api.openai.com/auth": auth}));
    json!({"tokens": {"id_token": id, "access_token": access, "refresh_token": format!("rt_{n}"),
        "account_id": format!("acct-{n:05}")}})
    .to_string()
}

impl Fixture {
    fn new(accounts: usize) -> Fixture {
        Fixture::with_env(accounts, &[])
    }

    fn with_env(accounts: usize, extra: &[(&str, String)]) -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("x.db");
        Fixture::at(dir, db, accounts, extra)
    }

    /// A core on the database `db` (`dir` is kept for the test's files).
    fn at(dir: tempfile::TempDir, db: std::path::PathBuf, accounts: usize, extra: &[(&str, String)]) -> Fixture {
        std::sync::LazyLock::force(&CONFIG_HOME);
        set_lang(Lang::En);
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let mut vars = HashMap::from([
            ("CODEXMANAGER_SECRET_STORE".to_string(), "file".to_string()),
            ("CODEXMANAGER_SERVICE_ADDR".to_string(), "localhost:48760".to_string()),
            // Nothing listens there: a delete's revocation fails at once instead of going out.
            ("CODEXMANAGER_ISSUER".to_string(), "http://127.0.0.1:9".to_string()),
        ]);
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        // An empty service address leaves it to the stored setting, which the window can edit.
        vars.retain(|k, v| !(k == "CODEXMANAGER_SERVICE_ADDR" && v.is_empty()));
        let env = Env::from_map(vars);
        let paths = DataPaths::for_db(db, DataLocation::Explicit);
        let core = runtime.block_on(Core::open_at(env, paths, None)).expect("core opens").0;
        let texts = (1..=accounts).map(|n| (format!("auth{n}.json"), auth_json(n))).collect();
        let report = runtime.block_on(core.import_texts(texts)).expect("fixtures import");
        assert_eq!(report.created, accounts);
        Fixture { _dir: dir, runtime, core }
    }

    fn backend(&self) -> Backend {
        Backend::new(self.core.clone(), self.runtime.handle().clone())
    }

    fn account_id(&self, email: &str) -> String {
        let accounts = self.core.list_accounts();
        accounts.iter().find(|v| v.account.email.as_deref() == Some(email)).expect("account").account.id.clone()
    }

    fn usage(&self, email: &str, primary: f64, secondary: f64) {
        let now = codexmanager::store::now_secs();
        let window = |used, minutes, resets| Window {
            used_percent: used,
            window_minutes: Some(minutes),
            resets_at: Some(resets),
        };
        let snapshot = UsageSnapshot {
            account_id: self.account_id(email),
            captured_at: now,
            source: "poll".into(),
            primary: Some(window(primary, 300, now + 7_200)),
            secondary: Some(window(secondary, 10_080, now + 300_000)),
            ..UsageSnapshot::default()
        };
        self.core.record_usage(snapshot);
        self.core.publish_live_usage();
    }

    fn logs(&self, count: usize) {
        let now = codexmanager::store::now_millis();
        let account = self.account_id("user1@example.com");
        for i in 0..count {
            self.core.logs().push(LogRow {
                ts: now - i as i64 * 1_000,
                account_id: Some(account.clone()),
                method: "POST".into(),
                path: "/v1/responses".into(),
                model: Some("gpt-5-codex".into()),
                reasoning_effort: Some("high".into()),
                status: if i % 10 == 9 { 502 } else { 200 },
                duration_ms: 1_200,
                first_byte_ms: Some(300),
                input_tokens: Some(1_000),
                cached_tokens: Some(400),
                output_tokens: Some(200),
                reasoning_tokens: Some(50),
                attempts: 1,
                ..LogRow::default()
            });
        }
        self.runtime.block_on(self.core.logs().flush());
    }
}

/// Steps the harness until `done` holds (work on the runtime finishes between steps).
fn wait_until<S>(harness: &mut Harness<'_, S>, what: &str, done: impl Fn(&Harness<'_, S>) -> bool) {
    let started = Instant::now();
    loop {
        harness.step();
        if done(harness) {
            harness.step();
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(15));
    }
}

fn has_label<S>(harness: &Harness<'_, S>, label: &str) -> bool {
    harness.query_all_by_label(label).next().is_some()
}

fn has_label_containing<S>(harness: &Harness<'_, S>, text: &str) -> bool {
    harness.query_all_by_label_contains(text).next().is_some()
}

/// The text of the first node whose label contains `text`.
fn text_containing<S>(harness: &Harness<'_, S>, text: &str) -> String {
    let node = harness.get_all_by_label_contains(text).next().expect("a node with that text");
    let node = node.accesskit_node();
    node.label().or_else(|| node.value()).unwrap_or_default()
}

/// Focuses the text field showing `hint` and types `text` into it.
fn type_into<S>(harness: &mut Harness<'_, S>, hint: &str, text: &str) {
    field(harness, hint).focus();
    harness.step();
    field(harness, hint).type_text(text);
    harness.step();
}

/// The text field showing `hint` while empty.
fn field<'t, S>(harness: &'t Harness<'_, S>, hint: &'t str) -> egui_kittest::Node<'t> {
    harness.get_by(move |n| n.data().placeholder() == Some(hint))
}

#[test]
fn refresh_all_shows_progress_and_re_enables() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mock = runtime.block_on(support::mock::Mock::start());
    mock.state.usage_delay_ms.store(150, std::sync::atomic::Ordering::SeqCst);
    let fx = Fixture::with_env(6, &[("CODEXMANAGER_USAGE_BASE_URL", mock.base.clone())]);
    let _guard = fx.runtime.enter();
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Refresh all").click();
    wait_until(&mut h, "the progress bar", |h| has_label_containing(h, "Refreshing usage:"));
    assert!(h.get_by_label("Refresh all").accesskit_node().is_disabled(), "the button stays put, disabled");
    wait_until(&mut h, "the end of the refresh", |h| !has_label_containing(h, "Refreshing usage:"));
    assert!(!h.get_by_label("Refresh all").accesskit_node().is_disabled(), "enabled again");
    wait_until(&mut h, "usage bars", |h| has_label_containing(h, "5h"));
    drop(mock);
    drop(runtime);
}

#[test]
fn refresh_all_says_how_many_it_skipped_and_why() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mock = runtime.block_on(support::mock::Mock::start());
    let fx = Fixture::with_env(3, &[("CODEXMANAGER_USAGE_BASE_URL", mock.base.clone())]);
    let _guard = fx.runtime.enter();
    let disabled = vec![fx.account_id("user3@example.com")];
    let patch = serde_json::from_value(json!({"status": "disabled"})).expect("a patch");
    fx.runtime.block_on(fx.core.update_accounts(disabled, patch)).expect("disabled");
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Refresh all").click();
    let said = |h: &Harness<'_, accounts::AccountsPage>| {
        h.state()
            .backend()
            .notices
            .current()
            .into_iter()
            .map(|(_, text)| text)
            .find(|t| t.starts_with("Usage refreshed"))
    };
    wait_until(&mut h, "the closing line", |h| said(h).is_some());
    let line = said(&h).unwrap_or_default();
    assert!(line.contains("2 accounts") && line.contains("1 skipped (disabled or signed out"), "{line}");
    drop(mock);
    drop(runtime);
}

/// A fixture whose issuer is `mock`, which signs in as account `n`.
fn sign_in_fixture(mock: &support::mock::Mock, n: usize) -> Fixture {
    mock.sign_in_as(n);
    Fixture::with_env(1, &[("CODEXMANAGER_ISSUER", mock.base.clone()), ("CODEXMANAGER_DISABLE_POLLING", String::new())])
}

/// The Accounts page with "Add account" open on the device-code sign-in.
fn device_code_tab(fx: &Fixture) -> Harness<'static, accounts::AccountsPage> {
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Add account").click();
    h.run_steps(2);
    h.get_by_label("Device code").click();
    h.run_steps(2);
    h
}

#[test]
fn device_code_sign_in_from_the_add_dialog_adds_the_account() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mock = runtime.block_on(support::mock::Mock::start());
    let fx = sign_in_fixture(&mock, 9);
    let _guard = fx.runtime.enter();
    let mut h = device_code_tab(&fx);
    h.get_by_label("Start sign-in").click();
    wait_until(&mut h, "the device code", |h| has_label_containing(h, "MOCK-"));
    assert!(has_label_containing(&h, "/codex/device"), "the page to visit is shown");
    wait_until(&mut h, "the sign-in to finish", |h| has_label(h, "Signed in: the account was added."));
    assert!(fx.core.list_accounts().iter().any(|a| a.account.email.as_deref() == Some("user9@example.com")));
    drop(mock);
    drop(runtime);
}

fn page_harness<'a, P: 'a>(size: egui::Vec2, page: P, draw: impl FnMut(&mut egui::Ui, &mut P) + 'a) -> Harness<'a, P> {
    Harness::builder().with_size(size).build_ui_state(draw, page)
}

#[test]
fn dashboard_shows_base_urls_traffic_and_the_accounts_closest_to_their_limits() {
    let fx = Fixture::new(3);
    fx.usage("user1@example.com", 91.0, 40.0);
    fx.usage("user2@example.com", 20.0, 100.0);
    fx.logs(20);
    let page = codexmanager::ui::dashboard::DashboardPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1280.0, 1000.0), page, |ui, page| page.ui(ui));
    wait_until(&mut h, "today's figures", |h| has_label(h, "20"));
    assert!(has_label(&h, "http://localhost:48760/v1"));
    assert!(has_label(&h, "http://localhost:48760/openai"));
    assert!(has_label(&h, "90.0%"), "18 of 20 requests succeeded");
    assert!(has_label(&h, "3 accounts"));
    assert!(has_label(&h, "Available 1"));
    assert!(has_label(&h, "Unavailable 1"), "the exhausted weekly window makes user2 unavailable");
    assert!(has_label(&h, "5h 91%"), "user1 leads the 5-hour list");
    assert!(has_label_containing(&h, "resets in 1h 59m") || has_label_containing(&h, "resets in 2h"));
}

#[test]
fn filtering_accounts_narrows_the_rows() {
    let fx = Fixture::new(6);
    fx.usage("user2@example.com", 20.0, 100.0);
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(3);
    assert!(has_label(&h, "Showing 6 of 6 accounts"));
    for n in 1..=6 {
        assert!(has_label(&h, &format!("user{n}@example.com")), "user{n} listed");
    }

    type_into(&mut h, "Search label, email, id, tag…", "user3");
    h.run_steps(3);
    assert!(has_label(&h, "Showing 1 of 6 accounts"));
    assert!(has_label(&h, "user3@example.com"));
    assert!(!has_label(&h, "user4@example.com"));

    field(&h, "Search label, email, id, tag…").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    h.key_press(egui::Key::Backspace);
    h.run_steps(3);
    assert!(has_label(&h, "Showing 6 of 6 accounts"));
    h.get_by_role_and_label(Role::Button, "Unavailable").click();
    h.run_steps(3);
    assert!(has_label(&h, "Showing 1 of 6 accounts"));
    assert!(has_label(&h, "user2@example.com"));
    assert!(has_label(&h, "weekly window used up"), "the reason is shown in words");
}

#[test]
fn bulk_disable_asks_nothing_and_delete_asks_first() {
    let fx = Fixture::new(3);
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Select user1@example.com").click();
    h.run_steps(2);
    h.get_by_label("Select user2@example.com").click();
    h.run_steps(2);
    assert!(has_label(&h, "2 selected"));
    h.get_by_role_and_label(Role::Button, "Disable").click();
    let disabled = |core: &Core| core.list_accounts().iter().filter(|v| !v.availability.is_routable()).count();
    wait_until(&mut h, "the accounts to be disabled", |_| disabled(&fx.core) == 2);
    h.run_steps(2);
    assert!(has_label(&h, "disabled by you"), "the table shows why");

    h.get_by_role_and_label(Role::Button, "Delete").click();
    h.run_steps(2);
    assert!(has_label(&h, "Delete 2 accounts?"), "deleting asks first");
    assert!(has_label(&h, "• user1@example.com") && has_label(&h, "• user2@example.com"), "by name");
    assert_eq!(fx.core.list_accounts().len(), 3);
    h.get_all_by_role_and_label(Role::Button, "Delete").last().expect("confirm button").click();
    wait_until(&mut h, "the accounts to be deleted", |h| has_label(h, "Showing 1 of 1 accounts"));
    assert_eq!(fx.core.list_accounts().len(), 1);
}

#[test]
fn creating_a_key_shows_it_once_and_the_list_then_shows_only_its_prefix() {
    let fx = Fixture::new(1);
    let page = keys::KeysPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1280.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    assert!(has_label(&h, "No keys yet"));
    h.get_by_role_and_label(Role::Button, "Create key").click();
    h.run_steps(2);
    type_into(&mut h, "e.g. laptop-codex", "laptop");
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Create").click();
    wait_until(&mut h, "the key to be created", |h| has_label_containing(h, "shown only this once"));

    let key = fx.core.list_keys().pop().expect("one key");
    let full = h
        .query_all_by_label_contains("cm-")
        .filter_map(|n| {
            let node = n.accesskit_node();
            node.label().or_else(|| node.value())
        })
        .find(|text| text.starts_with("cm-") && text.len() == 51)
        .unwrap_or_else(|| {
            let seen: Vec<String> =
                h.query_all_by_label_contains("cm-").filter_map(|n| n.accesskit_node().label()).collect();
            panic!("the full key is not shown; texts with cm-: {seen:?}")
        });
    assert!(full.starts_with(key.key_prefix.trim_end_matches('…')), "{full} vs {}", key.key_prefix);
    assert_eq!(full.len(), 51, "the whole key: cm- and 48 hex digits");
    assert!(has_label_containing(&h, &format!("export CODEXMANAGER_API_KEY={full}")), "snippet carries the key");

    assert!(has_label_containing(&h, "model = \"gpt-5.5\""), "the Codex snippet names a model");
    h.get_by_role_and_label(Role::Button, "Copy key").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Done").click();
    h.run_steps(3);
    assert!(!has_label_containing(&h, &full), "the full key is gone once the dialog closes");
    assert!(has_label(&h, &key.key_prefix), "the list shows the prefix");
    assert!(has_label(&h, "laptop"));
}

#[test]
fn an_error_from_the_core_appears_as_a_readable_message() {
    let fx = Fixture::new(1);
    let page = keys::KeysPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1280.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Create key").click();
    h.run_steps(2);
    type_into(&mut h, "e.g. laptop-codex", "azure");
    h.get_by_role_and_label(Role::ComboBox, "Protocol").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Azure OpenAI").click();
    h.run_steps(2);
    type_into(&mut h, "https://NAME.openai.azure.com", "ftp://example");
    type_into(&mut h, "Azure API key", "secret");
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Create").click();
    wait_until(&mut h, "the error", |h| has_label_containing(h, "is not a web address"));
    let message = text_containing(&h, "is not a web address");
    assert!(message.contains("https://NAME.openai.azure.com"), "says what to type: {message}");
    assert!(!message.contains("azure_endpoint"), "no internal field names: {message}");
    let field = field(&h, "https://NAME.openai.azure.com").rect();
    let error = h.get_by_label_contains("is not a web address").rect();
    assert!(error.top() >= field.bottom() - 1.0 && error.top() - field.bottom() < 30.0, "under its field");
    assert!(fx.core.list_keys().is_empty());

    // Another protocol: the message about the Azure field goes.
    h.get_by_role_and_label(Role::ComboBox, "Protocol").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "OpenAI compatible").click();
    h.run_steps(3);
    assert!(!has_label_containing(&h, "is not a web address"));
}

#[test]
fn the_narrow_logs_layout_keeps_account_path_model_and_status() {
    let fx = Fixture::new(1);
    fx.logs(450);
    let page = logs::LogsPage::new(fx.backend());
    let mut narrow = page_harness(egui::vec2(640.0, 700.0), page, |ui, page| page.ui(ui));
    wait_until(&mut narrow, "the first page of rows", |h| has_label(h, "user1@example.com"));
    assert!(has_label(&narrow, "450 requests"));
    for column in ["Account", "Path", "Model", "Status"] {
        assert!(has_label(&narrow, column), "{column} column kept");
    }
    for column in ["Duration", "First byte", "Effort", "Time"] {
        assert!(!has_label(&narrow, column), "{column} column hidden when narrow");
    }

    let page = logs::LogsPage::new(fx.backend());
    let mut wide = page_harness(egui::vec2(1600.0, 700.0), page, |ui, page| page.ui(ui));
    wait_until(&mut wide, "the first page of rows", |h| has_label(h, "user1@example.com"));
    for column in ["Time", "Account", "Path", "Model", "Effort", "Status", "Duration", "First byte", "Tokens"] {
        assert!(has_label(&wide, column), "{column} column shown when wide");
    }
    wide.get_by_role_and_label(Role::Button, "5xx").click();
    wait_until(&mut wide, "the 5xx rows", |h| has_label(h, "45 requests") && has_label(h, "502"));
    assert!(!has_label(&wide, "200"));
}

#[test]
fn switching_language_changes_the_labels() {
    let fx = Fixture::new(2);
    let app = App::new(fx.backend(), None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .allow_missing_glyphs()
        .build_ui_state(|ui, app: &mut App| app.draw(ui), app);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Settings").click();
    h.run_steps(2);
    assert_eq!(h.state().page(), Page::Settings);
    h.get_by_role_and_label(Role::Button, "简体中文").click();
    wait_until(&mut h, "the Chinese labels", |h| has_label(h, "账号管理"));
    assert!(has_label(&h, "语言"));
    assert!(!has_label(&h, "Accounts"));
    assert_eq!(fx.core.settings()["locale"].value, "zh-CN");

    h.get_by_role_and_label(Role::Button, "English").click();
    wait_until(&mut h, "the English labels", |h| has_label(h, "Accounts"));
    assert!(has_label(&h, "Language"));
}

/// The whole window at `size`, on `page`, drawn as the app draws it.
fn app_harness(fx: &Fixture, size: egui::Vec2, page: Page) -> Harness<'static, App> {
    let mut app = App::new(fx.backend(), None);
    app.set_page(page);
    let mut h =
        Harness::builder().with_size(size).allow_missing_glyphs().build_ui_state(|ui, app: &mut App| app.draw(ui), app);
    h.run_steps(4);
    h
}

/// The rectangle of a dialog's layer (see `Dialog::layer`).
fn dialog_rect<S>(h: &Harness<'_, S>, id: &str) -> egui::Rect {
    let layer = codexmanager::ui::dialog::Dialog::layer(id);
    h.ctx.memory(|m| m.area_rect(layer.id)).expect("the dialog is shown")
}

/// A primary click at `pos` (pressed and released there).
fn click_at<S>(h: &mut Harness<'_, S>, pos: egui::Pos2) {
    h.hover_at(pos);
    h.step();
    for pressed in [true, false] {
        h.event(egui::Event::PointerButton {
            pos,
            button: egui::PointerButton::Primary,
            pressed,
            modifiers: egui::Modifiers::NONE,
        });
        h.step();
    }
}

fn inside(outer: egui::Rect, inner: egui::Rect) -> bool {
    outer.expand(0.5).contains_rect(inner)
}

#[test]
fn every_page_fits_a_960_by_600_window() {
    let fx = Fixture::new(8);
    fx.logs(30);
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(960.0, 600.0));
    for page in Page::ALL {
        let mut h = app_harness(&fx, screen.size(), page);
        wait_until(&mut h, "the page to settle", |h| !h.state().backend().core.snapshot().accounts.is_empty());
        let buttons: Vec<(String, egui::Rect)> = h
            .query_all_by_role(Role::Button)
            .filter(|n| n.accesskit_node().bounding_box().is_some())
            .map(|n| (n.accesskit_node().label().unwrap_or_default(), n.rect()))
            .filter(|(_, rect)| rect.top() < screen.bottom() - 40.0)
            .collect();
        for (label, rect) in &buttons {
            assert!(rect.right() <= screen.right() + 0.5, "{page:?}: “{label}” ends at {} past 960", rect.right());
        }
        // No button is drawn over another (toolbars wrap instead).
        for (i, (a, ra)) in buttons.iter().enumerate() {
            for (b, rb) in &buttons[i + 1..] {
                let overlap = ra.intersect(*rb);
                assert!(
                    overlap.width() <= 1.0 || overlap.height() <= 1.0,
                    "{page:?}: “{a}” {ra:?} overlaps “{b}” {rb:?}"
                );
            }
        }
    }
    // On Accounts every row keeps its actions inside the window.
    let h = app_harness(&fx, screen.size(), Page::Accounts);
    let delete = h.get_by_label("Delete user1@example.com").rect();
    assert!(inside(screen, delete), "row actions reachable: {delete:?}");
    let add = h.get_by_role_and_label(Role::Button, "Add account").rect();
    let chip = h.get_by_role_and_label(Role::Button, "Unknown").rect();
    assert!(!add.intersects(chip), "Add account is not drawn over the filter chips");
}

/// The Accounts page with user1 and user2 selected and a search that shows only user1.
fn two_selected_one_shown(fx: &Fixture) -> Harness<'static, accounts::AccountsPage> {
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Select user1@example.com").click();
    h.run_steps(2);
    h.get_by_label("Select user2@example.com").click();
    h.run_steps(2);
    type_into(&mut h, "Search label, email, id, tag…", "user1@");
    h.run_steps(3);
    h
}

#[test]
fn a_selection_hidden_by_the_search_is_not_deleted() {
    let fx = Fixture::new(3);
    let mut h = two_selected_one_shown(&fx);
    assert!(has_label(&h, "1 selected"), "the bar counts what is shown");
    assert!(has_label_containing(&h, "1 more selected but hidden"), "and says what is left out");
    h.get_by_role_and_label(Role::Button, "Delete").click();
    h.run_steps(2);
    assert!(has_label(&h, "Delete this account?"));
    assert!(has_label(&h, "• user1@example.com"));
    assert!(!has_label(&h, "• user2@example.com"), "the hidden one is not in the list");
    assert!(has_label_containing(&h, "1 more selected accounts are hidden"));
    h.get_all_by_role_and_label(Role::Button, "Delete").last().expect("confirm button").click();
    wait_until(&mut h, "the delete", |_| fx.core.list_accounts().len() == 2);
    let left: Vec<String> = fx.core.list_accounts().iter().filter_map(|v| v.account.email.clone()).collect();
    assert!(left.contains(&"user2@example.com".to_string()), "the hidden selection survives: {left:?}");
}

#[test]
fn a_row_can_be_deleted_and_refreshed_from_its_own_buttons() {
    let fx = Fixture::new(2);
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Delete user2@example.com").click();
    h.run_steps(2);
    assert!(has_label(&h, "• user2@example.com"), "the confirmation names the account");
    h.key_press(egui::Key::Escape);
    h.run_steps(2);
    assert!(!has_label(&h, "• user2@example.com"), "Esc cancels a question");
    assert_eq!(fx.core.list_accounts().len(), 2);
    h.get_by_label("Delete user2@example.com").click();
    h.run_steps(2);
    h.get_all_by_role_and_label(Role::Button, "Delete").last().expect("confirm").click();
    wait_until(&mut h, "the delete", |_| fx.core.list_accounts().len() == 1);
}

#[test]
fn the_new_key_stays_until_it_is_copied_or_closing_is_confirmed() {
    let fx = Fixture::new(1);
    let page = keys::KeysPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1280.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Create key").click();
    h.run_steps(3);
    assert!(field(&h, "e.g. laptop-codex").is_focused(), "the first field has focus");
    field(&h, "e.g. laptop-codex").type_text("ci");
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the key", |h| has_label_containing(h, "shown only this once"));
    assert_eq!(fx.core.list_keys().len(), 1, "Enter created the key");

    h.key_press(egui::Key::Escape);
    h.run_steps(3);
    assert!(has_label_containing(&h, "shown only this once"), "Esc does not close it");
    click_at(&mut h, egui::pos2(5.0, 5.0));
    h.run_steps(3);
    assert!(has_label_containing(&h, "shown only this once"), "a click outside does not close it");
    h.get_by_role_and_label(Role::Button, "Done").click();
    h.run_steps(3);
    assert!(has_label_containing(&h, "was not copied"), "closing before copying asks");
    h.get_by_role_and_label(Role::Button, "Back").click();
    h.run_steps(3);
    assert!(has_label_containing(&h, "shown only this once"));
    h.get_by_role_and_label(Role::Button, "Done").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Close without copying").click();
    h.run_steps(3);
    assert!(!has_label_containing(&h, "shown only this once"), "closed when confirmed");
}

#[test]
fn edit_account_opens_inside_the_window_keeps_typed_text_and_submits_on_enter() {
    let fx = Fixture::new(2);
    let size = egui::vec2(960.0, 600.0);
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    let mut h = app_harness(&fx, size, Page::Accounts);
    // A position kept from an earlier run, above the window, as window.ron restored it.
    let layer = codexmanager::ui::dialog::Dialog::layer("edit_account");
    h.ctx.memory_mut(|m| {
        let state = egui::AreaState { pivot_pos: Some(egui::pos2(240.0, -9.0)), ..egui::AreaState::default() };
        m.areas_mut().set_state(layer, state);
    });
    h.get_by_label("Edit user1@example.com").click();
    h.run_steps(4);
    let rect = dialog_rect(&h, "edit_account");
    assert!(inside(screen, rect), "the dialog {rect:?} lies inside the window");
    assert!(rect.height() < 520.0, "sized to its content: {rect:?}");
    let save = h.get_by_role_and_label(Role::Button, "Save").rect();
    assert!(inside(rect, save), "Save is inside the dialog");
    assert!(rect.bottom() - save.bottom() < 40.0, "no empty space under the buttons: {rect:?} {save:?}");
    assert!(field(&h, "Label").is_focused(), "the first field has focus");

    field(&h, "Group").focus();
    h.step();
    field(&h, "Group").type_text("team-a");
    h.run_steps(2);
    click_at(&mut h, egui::pos2(5.0, 590.0));
    h.run_steps(3);
    assert!(has_label_containing(&h, "Edit user1@example.com"), "a click outside keeps the form open");
    field(&h, "Group").focus();
    h.step();
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the save", |_| {
        fx.core.list_accounts().iter().any(|v| v.account.group_name.ends_with("team-a"))
    });
}

#[test]
fn add_account_shrinks_back_when_switching_to_a_shorter_tab() {
    let fx = Fixture::new(1);
    let size = egui::vec2(1024.0, 640.0);
    let mut h = app_harness(&fx, size, Page::Accounts);
    h.get_by_role_and_label(Role::Button, "Import").click();
    h.run_steps(4);
    let import = dialog_rect(&h, "add_account");
    h.get_by_role_and_label(Role::Button, "Sign in").click();
    h.run_steps(4);
    let sign_in = dialog_rect(&h, "add_account");
    h.get_by_role_and_label(Role::Button, "Import files").click();
    h.run_steps(4);
    let again = dialog_rect(&h, "add_account");
    assert!((again.height() - import.height()).abs() < 2.0, "{import:?} then {again:?}");
    assert!(sign_in.height() < import.height() - 20.0, "the sign-in tab is shorter: {sign_in:?} vs {import:?}");
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    assert!(inside(screen, import) && inside(screen, sign_in));
}

#[test]
fn set_up_shrinks_back_when_switching_to_a_shorter_snippet() {
    let fx = Fixture::new(1);
    make_key(&fx, "laptop", json!({}));
    let size = egui::vec2(1024.0, 640.0);
    let mut h = app_harness(&fx, size, Page::Keys);
    h.get_by_label("Set up laptop").click();
    h.run_steps(4);
    h.get_by_role_and_label(Role::Button, "Codex CLI").click();
    h.run_steps(4);
    let codex = dialog_rect(&h, "key_setup");
    h.get_by_role_and_label(Role::Button, "Claude Code").click();
    h.run_steps(4);
    let claude = dialog_rect(&h, "key_setup");
    assert!(claude.height() < codex.height() - 40.0, "the two-line snippet is shorter: {claude:?} vs {codex:?}");
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, size);
    assert!(inside(screen, codex) && inside(screen, claude));
}

#[test]
fn form_labels_stay_on_one_line_at_the_top_of_their_row() {
    let fx = Fixture::new(1);
    let mut h = app_harness(&fx, egui::vec2(1024.0, 640.0), Page::Keys);
    h.get_by_role_and_label(Role::Button, "Create key").click();
    h.run_steps(4);
    let field = field(&h, "e.g. gpt-5-codex (empty: any)").rect();
    // The form's label, not the table's column of the same name.
    let label = h.get_all_by_label("Model binding").map(|n| n.rect()).find(|r| r.right() < field.left());
    let label = label.filter(|r| (r.top() - field.top()).abs() < 40.0).expect("the form's label beside its field");
    assert!(label.height() < 22.0, "one line, not wrapped letter by letter: {label:?}");
    assert!(label.top() >= field.top() && label.bottom() <= field.bottom() + 1.0, "{label:?} beside {field:?}");
}

#[test]
fn importing_a_missing_file_says_nothing_was_imported() {
    let fx = Fixture::new(1);
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1280.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Import").click();
    h.run_steps(3);
    field(&h, "/home/me/.codex/auth.json").focus();
    h.step();
    field(&h, "/home/me/.codex/auth.json").type_text("/nonexistent/auth.json");
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Import paths").click();
    wait_until(&mut h, "the report", |h| has_label_containing(h, "Nothing was imported"));
    assert!(has_label_containing(&h, "no such file or folder; check the path"));
    assert!(!fx.backend().notices.current().iter().any(|(_, t)| t.starts_with("Imported")), "no green toast");
}

#[test]
fn why_a_file_was_not_imported_is_said_in_chinese_too() {
    let fx = Fixture::new(1);
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, "{not json").expect("the file is written");
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .allow_missing_glyphs()
        .build_ui_state(|ui, page: &mut accounts::AccountsPage| page.ui(ui), page);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Import").click();
    h.run_steps(3);
    type_into(&mut h, "/home/me/.codex/auth.json", &bad.display().to_string());
    h.get_by_role_and_label(Role::Button, "Import paths").click();
    wait_until(&mut h, "the report", |h| has_label_containing(h, "Nothing was imported"));
    assert!(has_label_containing(&h, "check that it is an auth.json file"));
    set_lang(Lang::Zh);
    h.run_steps(2);
    assert!(has_label_containing(&h, "不是有效的 JSON"), "the reason follows the language");
    set_lang(Lang::En);
}

#[test]
fn a_long_error_wraps_before_its_dismiss_button() {
    let message = "word ".repeat(60);
    let mut h = Harness::builder().with_size(egui::vec2(420.0, 300.0)).build_ui(move |ui| {
        codexmanager::ui::theme::error_banner(ui, &message, "Dismiss");
    });
    h.run_steps(2);
    let dismiss = h.get_by_label("Dismiss").rect();
    let text = h.get_by_label_contains("word word").rect();
    assert!(text.right() <= dismiss.left() + 0.5, "text {text:?} stays left of {dismiss:?}");
}

#[test]
fn switching_sign_in_method_clears_the_last_message() {
    let fx = Fixture::with_env(1, &[("CODEXMANAGER_ISSUER", "http://127.0.0.1:9".into())]);
    let _guard = fx.runtime.enter();
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1280.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Add account").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Paste callback").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Start sign-in").click();
    wait_until(&mut h, "the sign-in address", |h| has_label(h, "Address the browser ended on"));
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    h.run_steps(3);
    assert!(has_label(&h, "The sign-in was cancelled."));
    h.get_by_role_and_label(Role::Button, "Device code").click();
    h.run_steps(3);
    assert!(!has_label(&h, "The sign-in was cancelled."), "the old message went with the old method");
}

#[test]
fn the_low_quota_filter_shows_accounts_with_less_than_a_fifth_left() {
    let fx = Fixture::new(3);
    fx.usage("user1@example.com", 85.0, 10.0);
    fx.usage("user2@example.com", 20.0, 30.0);
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Low quota").click();
    h.run_steps(3);
    assert!(has_label(&h, "Showing 1 of 3 accounts"));
    assert!(has_label(&h, "user1@example.com"));
}

#[test]
fn each_account_says_how_it_signs_in() {
    let fx = Fixture::new(1);
    let id = jwt(&json!({"email": "frank@example.com", "sub": "google-oauth2|1149356", "name": "Frank Smith"}));
    let access = jwt(&json!({"exp": 4_000_000_000i64}));
    let text = json!({"tokens": {"id_token": id, "access_token": access, "refresh_token": "rt_frank"}}).to_string();
    fx.runtime.block_on(fx.core.import_texts(vec![("frank.json".into(), text)])).expect("import");
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    wait_until(&mut h, "the sign-in under the name", |h| has_label_containing(h, "Google · Frank Smith"));
    // An account whose tokens name no provider keeps its id there.
    let plain = fx.account_id("user1@example.com");
    assert!(has_label_containing(&h, &plain), "{plain} is shown for the account without one");
    assert!(!has_label_containing(&h, "User 1"));
}

#[test]
fn a_failed_request_opens_on_its_error_and_copies_its_path() {
    let fx = Fixture::new(1);
    fx.logs(3);
    fx.core.logs().push(LogRow {
        ts: codexmanager::store::now_millis() + 1_000,
        method: "POST".into(),
        path: "/v1/chat/completions".into(),
        model: Some("gpt-5".into()),
        status: 429,
        error: Some("the key's limit of 60 requests a day is reached".into()),
        request_id: Some("req-7f3a2c".into()),
        ..LogRow::default()
    });
    let mut h = open_log_details(&fx, "4 requests", "429");
    assert!(has_label(&h, "Request id") && has_label(&h, "req-7f3a2c"), "the id to find it in the trace");
    assert!(!has_label(&h, "Instance"), "one instance on SQLite: no instance row");
    let error = h.get_by_label("the key's limit of 60 requests a day is reached").rect();
    let copy = h.get_by_label("Copy the path").rect();
    assert!(error.bottom() <= copy.top(), "the error {error:?} comes before the path {copy:?}");
    h.get_by_label("Copy the path").click();
    h.step();
    let copied = h
        .output()
        .platform_output
        .commands
        .iter()
        .any(|c| matches!(c, egui::OutputCommand::CopyText(t) if t == "/v1/chat/completions"));
    assert!(copied, "the path is on the clipboard");
}

#[test]
fn a_stopped_service_offers_start_on_the_dashboard() {
    let fx = Fixture::with_env(1, &[("CODEXMANAGER_SERVICE_ADDR", "127.0.0.1:0".into())]);
    let _guard = fx.runtime.enter();
    let mut h = app_harness(&fx, egui::vec2(1280.0, 800.0), Page::Dashboard);
    assert!(has_label_containing(&h, "The service is stopped"), "the base URLs say they do not answer yet");
    h.get_by_role_and_label(Role::Button, "Start service").click();
    wait_until(&mut h, "the start", |h| h.state().backend().service.state().addr().is_some());
    wait_until(&mut h, "the note gone", |h| !has_label_containing(h, "The service is stopped"));
    assert!(h.query_by_role_and_label(Role::Button, "Start service").is_none(), "Start goes once it runs");
    h.get_by_label("Gateway service").click();
    wait_until(&mut h, "the stop", |h| has_label(h, "Stopped"));
}

#[test]
fn an_accent_palette_recolours_the_window_and_is_kept() {
    let fx = Fixture::new(1);
    let mut h = app_harness(&fx, egui::vec2(1280.0, 800.0), Page::Settings);
    let amber = h.ctx.global_style().visuals.selection.bg_fill;
    h.get_by_role_and_label(Role::Button, "Blue").click();
    wait_until(&mut h, "the new accent", |h| h.ctx.global_style().visuals.selection.bg_fill != amber);
    assert_eq!(codexmanager::ui::theme::palette(), codexmanager::ui::theme::Palette::Blue);
    let stored = fx.core.config().settings.iter().find(|(k, _, _)| *k == "accent").map(|(_, v, _)| v.clone());
    assert_eq!(stored.as_deref(), Some("blue"));
}

#[test]
fn start_at_login_writes_and_removes_the_xdg_autostart_entry() {
    let fx = Fixture::new(1);
    let entry = CONFIG_HOME.path().join("autostart/codexmanager.desktop");
    let mut h = app_harness(&fx, egui::vec2(1280.0, 800.0), Page::Settings);
    let label = "Start at login, hidden in the tray";
    wait_until(&mut h, "the switch to read the system", |h| !h.get_by_label(label).accesskit_node().is_disabled());
    assert!(!entry.exists());
    h.get_by_label(label).click();
    wait_until(&mut h, "the entry", |_| entry.is_file());
    let text = std::fs::read_to_string(&entry).expect("the entry reads");
    assert!(text.contains("[Desktop Entry]") && text.contains(" --hidden"), "{text}");
    wait_until(&mut h, "the switch to be ready again", |h| !h.get_by_label(label).accesskit_node().is_disabled());
    h.get_by_label(label).click();
    wait_until(&mut h, "the entry removed", |_| !entry.exists());
}

#[test]
fn the_log_search_understands_fields() {
    let fx = Fixture::new(1);
    fx.logs(20);
    let page = logs::LogsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1600.0, 800.0), page, |ui, page| page.ui(ui));
    wait_until(&mut h, "the rows", |h| has_label(h, "20 requests"));
    type_into(&mut h, "Search, e.g. status:429 method:POST key:NAME account:… model:…", "status:502 method:post");
    wait_until(&mut h, "the 502 rows", |h| has_label(h, "2 requests"));
    for column in ["Key", "Method", "Error"] {
        assert!(has_label(&h, column), "{column} column in a wide window");
    }
}

#[test]
fn toasts_follow_a_language_switch() {
    let fx = Fixture::new(1);
    let backend = fx.backend();
    let app = App::new(backend.clone(), None);
    let mut h = Harness::builder()
        .with_size(egui::vec2(1280.0, 900.0))
        .allow_missing_glyphs()
        .build_ui_state(|ui, app: &mut App| app.draw(ui), app);
    backend.notices.info(codexmanager::ui::i18n::T::Saved, &[]);
    h.run_steps(2);
    assert!(has_label(&h, "Saved"));
    fx.runtime.block_on(fx.core.set_settings(serde_json::from_value(json!({"locale": "zh-CN"})).unwrap())).unwrap();
    h.run_steps(2);
    assert!(has_label(&h, "已保存"), "the toast reads in Chinese now");
    set_lang(Lang::En);
}

#[test]
fn the_first_steps_lead_to_adding_an_account() {
    let fx = Fixture::new(0);
    let mut h = app_harness(&fx, egui::vec2(1280.0, 800.0), Page::Dashboard);
    assert!(has_label(&h, "Get started"));
    h.get_all_by_role_and_label(Role::Button, "Sign in with ChatGPT").next().expect("step 1").click();
    h.run_steps(4);
    assert_eq!(h.state().page(), Page::Accounts);
    assert!(has_label(&h, "Start sign-in"), "the sign-in tab is open");
}

#[test]
fn the_empty_accounts_page_offers_signing_in_first_centred() {
    let fx = Fixture::new(0);
    let size = egui::vec2(1024.0, 640.0);
    let mut h = app_harness(&fx, size, Page::Accounts);
    h.run_steps(2);
    let sign_in = h.get_by_role_and_label(Role::Button, "Sign in with ChatGPT").rect();
    let import = h.get_by_role_and_label(Role::Button, "Import files").rect();
    assert!(sign_in.right() <= import.left(), "signing in comes first");
    let middle = (sign_in.left() + import.right()) / 2.0;
    assert!((middle - size.x / 2.0).abs() < 3.0, "the buttons are centred: {middle} in {}", size.x);
    assert!(h.query_by_role_and_label(Role::Button, "Add account").is_none(), "one way in, not two");
}

#[test]
fn the_header_switch_stops_and_starts_the_service() {
    let fx = Fixture::with_env(1, &[("CODEXMANAGER_SERVICE_ADDR", "127.0.0.1:0".into())]);
    let _guard = fx.runtime.enter();
    let mut h = app_harness(&fx, egui::vec2(1280.0, 800.0), Page::Logs);
    assert!(has_label(&h, "Stopped"), "the window's service starts stopped here");
    h.get_by_label("Gateway service").click();
    wait_until(&mut h, "the start", |h| h.state().backend().service.state().addr().is_some());
    assert!(has_label(&h, "Running"));
    h.get_by_label("Gateway service").click();
    wait_until(&mut h, "the stop", |h| has_label(h, "Stopped"));
}

#[test]
fn export_from_the_window_writes_the_shown_selection() {
    let fx = Fixture::new(3);
    let out = fx._dir.path().join("picked.json");
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Select user2@example.com").click();
    h.run_steps(2);
    h.get_all_by_role_and_label(Role::Button, "Export").last().expect("the bulk bar's Export").click();
    h.run_steps(3);
    assert!(has_label(&h, "Export 1 accounts"));
    assert!(has_label_containing(&h, "plain text"), "the dialog warns about plaintext tokens");
    field(&h, "/home/me/codexmanager-accounts.json").type_text(out.to_str().unwrap());
    h.run_steps(1);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the export", |_| out.exists());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let entries = written.as_array().expect("one JSON array");
    assert_eq!(entries.len(), 1, "only the selected account");
    assert!(entries[0].to_string().contains("acct-00002"));
}

#[test]
fn the_order_is_edited_in_the_table() {
    let fx = Fixture::new(2);
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Order of user2@example.com").set_value_accesskit(-5.0);
    wait_until(&mut h, "the new order", |_| {
        fx.core
            .list_accounts()
            .iter()
            .any(|v| v.account.email.as_deref() == Some("user2@example.com") && v.account.sort == -5)
    });
    let first = fx.core.list_accounts()[0].account.email.clone();
    assert_eq!(first.as_deref(), Some("user2@example.com"), "routing order follows");
}

#[test]
fn the_window_lists_a_pool_kept_in_postgresql() {
    let Some(cluster) = support::postgres::Cluster::start("the_window_lists_a_pool_kept_in_postgresql") else { return };
    let setup = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = setup.block_on(cluster.fresh_database());
    let key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".to_string();
    let fx = Fixture::with_env(
        2,
        &[
            ("CODEXMANAGER_DATABASE_URL", url),
            ("CODEXMANAGER_MASTER_KEY", key),
            ("CODEXMANAGER_INSTANCE_NAME", "gw-a".into()),
        ],
    );
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(3);
    assert!(has_label(&h, "Showing 2 of 2 accounts"));
    assert!(has_label(&h, "user2@example.com"));

    fx.logs(1);
    let h = open_log_details(&fx, "1 requests", "200");
    assert!(has_label(&h, "Instance") && has_label(&h, "gw-a"), "the instance that served it");
}

/// The Logs page at 1000×800 on the rows written so far, with the details of the row showing
/// `status` open once the page counts `count`.
fn open_log_details<'a>(fx: &Fixture, count: &str, status: &str) -> Harness<'a, logs::LogsPage> {
    fx.runtime.block_on(fx.core.logs().flush());
    let page = logs::LogsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1000.0, 800.0), page, |ui, page| page.ui(ui));
    // The count can arrive a frame before the rows: wait for the row itself.
    wait_until(&mut h, "the rows", |h| has_label(h, count) && has_label(h, status));
    let at = h.get_by_label(status).rect().center();
    click_at(&mut h, at);
    h.run_steps(2);
    h
}

/// Types `url` into the proxy address field shown.
fn type_proxy<S>(h: &mut Harness<'_, S>, url: &str) {
    h.get_by_label("Proxy address").focus();
    h.step();
    h.get_by_label("Proxy address").type_text(url);
    h.run_steps(2);
}

/// A proxy field over a stored proxy: it says the stored one is kept, and its password shows
/// nowhere.
fn assert_stored_proxy_hidden<S>(h: &Harness<'_, S>, password: &str) {
    assert!(has_label_containing(h, "Leave empty to keep the stored proxy"));
    assert!(!all_texts(h).iter().any(|t| t.contains(password)), "the password {password} is shown");
}

/// Every text the harness shows (labels and values), for "never shown" checks.
fn all_texts<S>(h: &Harness<'_, S>) -> Vec<String> {
    h.query_all_by(|_| true)
        .filter_map(|n| {
            let node = n.accesskit_node();
            let texts: Vec<String> = [node.label(), node.value(), node.data().placeholder().map(str::to_string)]
                .into_iter()
                .flatten()
                .collect();
            (!texts.is_empty()).then(|| texts.join(" "))
        })
        .collect()
}

#[test]
fn edit_account_tests_and_saves_a_proxy_that_is_shown_masked() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mock = runtime.block_on(support::mock::Mock::start());
    let proxy = runtime.block_on(support::proxies::TestProxy::http(Some(("alice", "s3cret"))));
    let fx = Fixture::with_env(2, &[("CODEXMANAGER_UPSTREAM_BASE_URL", mock.upstream())]);
    let _guard = fx.runtime.enter();
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Edit user1@example.com").click();
    h.run_steps(3);
    h.get_by_role_and_label(Role::Button, "Own proxy").click();
    h.run_steps(2);
    type_proxy(&mut h, &proxy.url());
    h.get_by_role_and_label(Role::Button, "Test").click();
    wait_until(&mut h, "the proxy test", |h| has_label_containing(h, "Reached the upstream through"));
    assert!(has_label_containing(&h, "http://alice:***@127.0.0.1"), "the result names the proxy masked");
    assert!(proxy.carried() >= 1, "the test went through the proxy");

    h.get_by_role_and_label(Role::Button, "Save").click();
    let id = fx.account_id("user1@example.com");
    let stored = |core: &Core| core.list_accounts().into_iter().find(|v| v.account.id == id)?.account.proxy.clone();
    wait_until(&mut h, "the save", |_| stored(&fx.core).is_some());
    assert_eq!(stored(&fx.core), Some(format!("http://alice:***@{}", proxy.addr)));
    h.run_steps(3);
    assert!(has_label(&h, "Proxy"), "the row carries a proxy badge");
    assert!(!all_texts(&h).iter().any(|t| t.contains("s3cret")), "the password is shown nowhere");

    h.get_by_label("Edit user1@example.com").click();
    h.run_steps(3);
    assert_stored_proxy_hidden(&h, "s3cret");
    drop(mock);
    drop(runtime);
}

#[test]
fn a_wrong_proxy_is_marked_under_its_field_and_not_saved() {
    let fx = Fixture::new(1);
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(1400.0, 900.0), page, |ui, page| page.ui(ui));
    h.run_steps(2);
    h.get_by_label("Edit user1@example.com").click();
    h.run_steps(3);
    h.get_by_role_and_label(Role::Button, "Own proxy").click();
    h.run_steps(2);
    type_proxy(&mut h, "sock5://127.0.0.1:1080");
    h.get_by_role_and_label(Role::Button, "Save").click();
    h.run_steps(3);
    assert!(has_label_containing(&h, "“sock5” proxies are not supported"), "the problem is said");
    let field = h.get_by_label("Proxy address").rect();
    let error = h.get_by_label_contains("proxies are not supported").rect();
    assert!(error.top() >= field.bottom() - 1.0 && error.top() - field.bottom() < 40.0, "under its field");
    assert!(has_label_containing(&h, "Edit user1@example.com"), "the dialog stays open");
    assert_eq!(fx.core.list_accounts()[0].account.proxy, None, "nothing saved");
}

#[test]
fn set_proxy_changes_only_the_selected_accounts_shown() {
    let fx = Fixture::new(3);
    let mut h = two_selected_one_shown(&fx);
    let backend = h.state().backend().clone();
    h.get_by_role_and_label(Role::Button, "Set proxy").click();
    h.run_steps(2);
    type_proxy(&mut h, "socks5h://bob:hunter2@127.0.0.1:7890");
    h.get_by_role_and_label(Role::Button, "Use this proxy").click();
    let proxy_of =
        |email: &str| fx.core.list_accounts().into_iter().find(|v| v.account.email.as_deref() == Some(email));
    wait_until(&mut h, "the proxy to be set", |_| {
        proxy_of("user1@example.com").is_some_and(|v| v.account.proxy.is_some())
    });
    let proxy = |email: &str| proxy_of(email).and_then(|v| v.account.proxy.clone());
    assert_eq!(proxy("user1@example.com").as_deref(), Some("socks5h://bob:***@127.0.0.1:7890"));
    assert_eq!(proxy("user2@example.com"), None, "the hidden selection is left as it was");
    assert_eq!(proxy("user3@example.com"), None);
    assert!(backend.notices.current().iter().any(|(_, t)| t == "Proxy set for 1 accounts"), "and says so");

    h.get_by_role_and_label(Role::Button, "Set proxy").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Direct").click();
    wait_until(&mut h, "direct", |_| proxy("user1@example.com").as_deref() == Some("direct"));
    h.run_steps(2);
    assert!(has_label(&h, "Direct"), "the badge says the account goes direct");
}

#[test]
fn the_global_upstream_proxy_is_tested_and_saved_in_settings() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mock = runtime.block_on(support::mock::Mock::start());
    let dead = support::proxies::dead_proxy_url("socks5h");
    let fx = Fixture::with_env(1, &[("CODEXMANAGER_UPSTREAM_BASE_URL", mock.upstream())]);
    let _guard = fx.runtime.enter();
    let mut h = app_harness(&fx, egui::vec2(1280.0, 1000.0), Page::Settings);
    assert!(has_label(&h, "Upstream proxy"));
    h.get_by_role_and_label(Role::Button, "Own proxy").click();
    h.run_steps(2);
    let url = dead.replace("socks5h://", "socks5h://carol:pw123@");
    type_proxy(&mut h, &url);
    h.get_by_role_and_label(Role::Button, "Test").click();
    wait_until(&mut h, "the proxy test", |h| has_label_containing(h, "Not reachable through"));
    assert!(has_label_containing(&h, "proxy unreachable"), "the reason is in plain words");
    h.get_by_role_and_label(Role::Button, "Save proxy").click();
    wait_until(&mut h, "the save", |_| !fx.core.settings()["upstreamProxyUrl"].value.is_empty());
    let masked = fx.core.settings()["upstreamProxyUrl"].value.clone();
    assert_eq!(masked, url.replace(":pw123@", ":***@"));
    h.run_steps(3);
    assert_stored_proxy_hidden(&h, "pw123");
    drop(mock);
    drop(runtime);
}

#[test]
fn a_proxy_cooldown_shows_its_reason_on_the_accounts_page() {
    let fx = Fixture::new(2);
    let id = fx.account_id("user2@example.com");
    let reason =
        "proxy unreachable (socks5h://127.0.0.1:9): nothing answers at the proxy's address (connection refused)";
    let pool = fx.core.pool();
    pool.by_id[&id].cool_down_until(codexmanager::store::now_millis() + 60_000, reason);
    let page = accounts::AccountsPage::new(fx.backend());
    let mut h = Harness::builder()
        .with_size(egui::vec2(1400.0, 900.0))
        .allow_missing_glyphs()
        .build_ui_state(|ui, page: &mut accounts::AccountsPage| page.ui(ui), page);
    h.run_steps(3);
    assert!(has_label(&h, "Cooling down"));
    assert!(has_label_containing(&h, "proxy unreachable (socks5h://127.0.0.1:9)"), "with its reason");
    set_lang(Lang::Zh);
    h.run_steps(2);
    assert!(has_label_containing(&h, "代理不可达"), "the reason reads in Chinese");
    set_lang(Lang::En);
}

#[test]
fn a_sign_in_through_a_proxy_keeps_that_proxy_on_the_new_account() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let mock = runtime.block_on(support::mock::Mock::start());
    let proxy = runtime.block_on(support::proxies::TestProxy::http(None));
    let fx = sign_in_fixture(&mock, 7);
    let _guard = fx.runtime.enter();
    let mut h = device_code_tab(&fx);
    h.get_by_label("Sign in through").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Own proxy").click();
    h.run_steps(2);
    type_proxy(&mut h, &proxy.url());
    h.get_by_label("Start sign-in").click();
    wait_until(&mut h, "the sign-in to finish", |h| has_label(h, "Signed in: the account was added."));
    let added = fx.core.list_accounts().into_iter().find(|a| a.account.email.as_deref() == Some("user7@example.com"));
    assert_eq!(added.and_then(|a| a.account.proxy.clone()), Some(proxy.url()), "the account keeps the proxy");
    assert!(proxy.carried() >= 1, "the sign-in went through it");
    drop(mock);
    drop(runtime);
}

/// A key made through the core with `policy` (as the RPC would make it).
fn make_key(fx: &Fixture, name: &str, policy: Value) -> codexmanager::core::KeyRow {
    let mut new = json!({"name": name});
    if let (Some(new), Some(policy)) = (new.as_object_mut(), policy.as_object()) {
        new.extend(policy.clone());
    }
    fx.runtime.block_on(fx.core.create_key(serde_json::from_value(new).unwrap())).expect("key created").info
}

fn keys_harness(fx: &Fixture, size: egui::Vec2) -> Harness<'static, keys::KeysPage> {
    let page = keys::KeysPage::new(fx.backend());
    let mut h = Harness::builder()
        .with_size(size)
        .allow_missing_glyphs()
        .build_ui_state(|ui, page: &mut keys::KeysPage| page.ui(ui), page);
    h.run_steps(3);
    h
}

#[test]
fn keys_sort_by_name_both_ways() {
    let fx = Fixture::new(1);
    for name in ["bravo", "charlie", "alpha"] {
        make_key(&fx, name, json!({}));
    }
    let mut h = keys_harness(&fx, egui::vec2(1400.0, 800.0));
    let order = |h: &Harness<'_, keys::KeysPage>| {
        let mut rows: Vec<(f32, &str)> =
            ["alpha", "bravo", "charlie"].into_iter().map(|n| (h.get_by_label(n).rect().top(), n)).collect();
        rows.sort_by(|a, b| a.0.total_cmp(&b.0));
        rows.into_iter().map(|(_, n)| n).collect::<Vec<_>>()
    };
    h.get_by_role_and_label(Role::Button, "Name · key").click();
    h.run_steps(2);
    assert_eq!(order(&h), ["alpha", "bravo", "charlie"]);
    h.get_by_role_and_label(Role::Button, "Name · key").click();
    h.run_steps(2);
    assert_eq!(order(&h), ["charlie", "bravo", "alpha"]);
}

/// "Create key" open on the Platform keys page with `name` typed, the policy shown and one
/// request limit added.
fn create_with_a_request_limit(fx: &Fixture, name: &str) -> Harness<'static, keys::KeysPage> {
    let mut h = keys_harness(fx, egui::vec2(1280.0, 1000.0));
    h.get_by_role_and_label(Role::Button, "Create key").click();
    h.run_steps(3);
    type_into(&mut h, "e.g. laptop-codex", name);
    h.get_by_label("Limits, expiry and scope (optional)").click();
    h.run_steps(3);
    h.get_by_label("Add a request limit").click();
    h.run_steps(2);
    h
}

#[test]
fn a_key_is_created_with_every_part_of_its_policy() {
    let fx = Fixture::new(2);
    let mut h = create_with_a_request_limit(&fx, "team-ci");
    type_into(&mut h, "500", "10");
    h.get_by_label("Add a token limit").click();
    h.run_steps(2);
    type_into(&mut h, "2000000", "2,000,000");
    h.get_by_label("+30 days").click();
    h.run_steps(2);
    type_into(&mut h, "any model (or e.g. gpt-5, gpt-5-codex)", "gpt-5, gpt-5-codex");
    h.get_by_role_and_label(Role::ComboBox, "Reasoning effort").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "high").click();
    h.run_steps(2);
    h.get_by_label("IMPORT").click();
    h.run_steps(2);
    h.get_by_role_and_label(Role::SpinButton, "Max concurrent requests").set_value_accesskit(3.0);
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Create").click();
    wait_until(&mut h, "the key", |h| has_label_containing(h, "shown only this once"));
    let key = fx.core.list_keys().pop().expect("one key");
    let policy = &key.policy;
    let limits: Vec<String> = policy.limits.iter().map(ToString::to_string).collect();
    assert_eq!(limits, ["10 requests per 5h", "2000000 tokens per 5h"]);
    let expires = policy.expires_at.expect("an expiry") - codexmanager::store::now_secs();
    assert!((29 * 86_400..=30 * 86_400).contains(&expires), "in 30 days: {expires}");
    assert_eq!(policy.models.as_deref(), Some(&["gpt-5".to_string(), "gpt-5-codex".to_string()][..]));
    assert_eq!(policy.reasoning_effort.as_deref(), Some("high"));
    assert_eq!(policy.groups.as_deref(), Some(&["IMPORT".to_string()][..]));
    assert_eq!(policy.max_concurrent, Some(3));
}

#[test]
fn a_wrong_limit_or_expiry_is_marked_and_nothing_is_created() {
    let fx = Fixture::new(1);
    let mut h = create_with_a_request_limit(&fx, "x");
    type_into(&mut h, "500", "lots");
    type_into(&mut h, "never", "next friday");
    h.get_by_role_and_label(Role::Button, "Create").click();
    h.run_steps(3);
    assert!(has_label(&h, "Write a whole number above 0, e.g. 500."));
    assert!(has_label_containing(&h, "“next friday” is not a date and time"));
    assert!(fx.core.list_keys().is_empty());
}

#[test]
fn the_key_list_shows_use_against_each_limit_and_edit_changes_the_policy() {
    let fx = Fixture::new(1);
    let key = make_key(&fx, "shared", json!({"limitRequests": ["10/day"], "limitTokens": ["1000/5h"]}));
    let now = codexmanager::store::now_millis();
    for _ in 0..4 {
        drop(fx.core.quotas().admit(&key.id, &key.policy, now).expect("admitted"));
    }
    fx.core.quotas().add_tokens(&key.id, 1_000, now);
    let mut h = keys_harness(&fx, egui::vec2(1280.0, 800.0));
    assert!(has_label_containing(&h, "4 / 10 req · day"), "the request limit's bar");
    assert!(has_label_containing(&h, "1K / 1K tok · 5h · frees"), "a reached limit says when it frees up");

    h.get_by_label("Edit shared").click();
    h.run_steps(3);
    assert!(field(&h, "e.g. laptop-codex").is_focused(), "the name has focus");
    h.get_by_label("Remove Token limits 1").click();
    h.run_steps(2);
    h.key_press(egui::Key::Enter);
    wait_until(&mut h, "the save", |_| fx.core.list_keys()[0].policy.limits.len() == 1);
    h.run_steps(3);
    assert!(!has_label_containing(&h, "tok · 5h"), "the removed limit's bar is gone");
}

#[test]
fn key_details_chart_the_use_of_that_key() {
    let fx = Fixture::new(1);
    let key = make_key(&fx, "charted", json!({"limitRequests": ["100/day"]}));
    let now = codexmanager::store::now_millis();
    for i in 0..3 {
        fx.core.logs().push(LogRow {
            ts: now - i * 1_000,
            key_id: Some(key.id.clone()),
            method: "POST".into(),
            path: "/v1/responses".into(),
            status: if i == 2 { 429 } else { 200 },
            input_tokens: Some(100),
            output_tokens: Some(50),
            attempts: 1,
            ..LogRow::default()
        });
    }
    fx.runtime.block_on(fx.core.logs().flush());
    let mut h = keys_harness(&fx, egui::vec2(1280.0, 900.0));
    h.get_by_label("Details of charted").click();
    wait_until(&mut h, "the figures", |h| has_label_containing(h, "3 requests · 450 tokens · 1 errors"));
    assert!(has_label(&h, "Use over time"));
    assert!(has_label(&h, "Requests") && has_label(&h, "Tokens (input + output)"), "both charts");
    assert!(has_label_containing(&h, "/ 100 req · day"), "the limit with its use");
    h.get_by_role_and_label(Role::Button, "30 days").click();
    h.run_steps(3);
    assert!(has_label_containing(&h, "3 requests · 450 tokens · 1 errors"), "the month holds the same requests");
    let rect = dialog_rect(&h, "key_detail");
    assert!(inside(egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1280.0, 900.0)), rect));
}

/// Not a check but the data of `scripts/screenshots`: fills the database named by
/// `CODEXMANAGER_SCREENSHOT_DB` with 30 accounts in three groups (usage of every kind, two
/// with their own proxy, one direct, one disabled), 5 keys with policies and 270 requests
/// over the last 30 days.
#[test]
#[ignore = "run by scripts/screenshots"]
fn screenshot_data() {
    let Some(db) = std::env::var_os("CODEXMANAGER_SCREENSHOT_DB") else {
        return support::skipped("screenshot_data", "CODEXMANAGER_SCREENSHOT_DB is not set");
    };
    let fx = Fixture::at(tempfile::tempdir().expect("temp dir"), db.into(), 30, &[]);
    let ids: Vec<String> = fx.core.list_accounts().iter().map(|v| v.account.id.clone()).collect();
    let update = |ids: Vec<String>, patch: Value| {
        fx.runtime.block_on(fx.core.update_accounts(ids, serde_json::from_value(patch).unwrap())).unwrap();
    };
    for (group, range) in [("team-a", 0..12), ("team-b", 12..24), ("backup", 24..30)] {
        update(ids[range].to_vec(), json!({"group": group}));
    }
    update(ids[0..4].to_vec(), json!({"tags": ["pro", "daily"]}));
    update(vec![ids[2].clone()], json!({"proxy": "socks5h://alice:s3cret@10.0.0.2:7890", "note": "Tokyo exit"}));
    update(vec![ids[3].clone()], json!({"proxy": "http://proxy.lan:3128"}));
    update(vec![ids[4].clone()], json!({"proxy": "direct"}));
    update(vec![ids[29].clone()], json!({"status": "disabled"}));
    for (n, id) in ids.iter().enumerate().take(27) {
        let (primary, secondary) = ((n * 37 % 101) as f64, (n * 23 % 97) as f64);
        let email = format!("user{}@example.com", n + 1);
        let (primary, secondary) = if n == 7 {
            (100.0, 64.0)
        } else if n == 9 {
            (30.0, 100.0)
        } else {
            (primary, secondary)
        };
        assert_eq!(fx.account_id(&email), *id);
        fx.usage(&email, primary, secondary);
    }
    let make = |name: &str, extra: Value| make_key(&fx, name, extra);
    let keys = [
        make(
            "laptop-codex",
            json!({"model": "gpt-5-codex", "limitRequests": ["500/5h"], "limitTokens": ["2000000/day"]}),
        ),
        make(
            "ci-runner",
            json!({"limitRequests": ["200/day"], "expires": "2027-01-31T18:00:00Z", "groups": ["team-a"]}),
        ),
        make("claude-code", json!({"protocol": "anthropic", "reasoningEffort": "high"})),
        make(
            "friends",
            json!({"limitRequests": ["60/day", "1000/month"], "maxConcurrent": 2, "models": ["gpt-5", "gpt-5-codex"]}),
        ),
        make("nightly-evals", json!({"limitTokens": ["5000000/week"]})),
    ];
    // Every key but the last has been used by its tool: the first steps are done.
    for key in &keys[..4] {
        fx.core.note_key_used(&key.id);
    }
    let now = codexmanager::store::now_millis();
    for i in 0..270i64 {
        let key = &keys[(i % 5) as usize];
        let status = match i % 23 {
            5 => 429,
            11 => 502,
            17 => 401,
            _ => 200,
        };
        let ago = if i < 190 { i * 431_000 } else { (i - 189) * 9_000_000 };
        fx.core.logs().push(LogRow {
            ts: now - ago,
            key_id: Some(key.id.clone()),
            account_id: Some(ids[(i % 27) as usize].clone()),
            method: "POST".into(),
            path: if i % 4 == 0 { "/v1/chat/completions".into() } else { "/v1/responses".into() },
            model: Some(if i % 3 == 0 { "gpt-5".into() } else { "gpt-5-codex".into() }),
            reasoning_effort: Some(["low", "medium", "high"][(i % 3) as usize].into()),
            status,
            duration_ms: 800 + i * 37 % 4_000,
            first_byte_ms: Some(200 + i * 13 % 900),
            input_tokens: Some(2_000 + i * 97 % 9_000),
            cached_tokens: Some(800 + i * 31 % 2_000),
            output_tokens: Some(300 + i * 53 % 1_500),
            reasoning_tokens: Some(i * 7 % 300),
            attempts: if status == 502 { 2 } else { 1 },
            error: (status != 200).then(|| format!("upstream answered {status}")),
            counted: true,
            ..LogRow::default()
        });
    }
    fx.runtime.block_on(fx.core.shutdown());
}

#[test]
fn listening_on_the_network_asks_first_and_says_what_it_exposes() {
    let fx = Fixture::with_env(1, &[("CODEXMANAGER_SERVICE_ADDR", String::new())]);
    let _guard = fx.runtime.enter();
    fx.runtime
        .block_on(fx.core.set_settings(serde_json::from_value(json!({"serviceAddr": "127.0.0.1:0"})).unwrap()))
        .unwrap();
    let mut h = app_harness(&fx, egui::vec2(1280.0, 800.0), Page::Settings);
    field(&h, "localhost:48760").focus();
    h.step();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    field(&h, "localhost:48760").type_text("0.0.0.0:0");
    h.run_steps(2);
    h.get_by_role_and_label(Role::Button, "Apply & restart").click();
    h.run_steps(3);
    assert!(has_label(&h, "Open the gateway to other machines?"), "it asks first");
    assert!(has_label_containing(&h, "/rpc and /metrics still answer only this machine"), "and says what it exposes");
    h.get_by_role_and_label(Role::Button, "Cancel").click();
    h.run_steps(3);
    assert_eq!(fx.core.settings()["serviceAddr"].value, "127.0.0.1:0", "cancelled: nothing stored");
    h.get_by_role_and_label(Role::Button, "Apply & restart").click();
    h.run_steps(3);
    h.get_by_role_and_label(Role::Button, "Listen on the network").click();
    wait_until(&mut h, "the address to be stored", |_| fx.core.settings()["serviceAddr"].value == "0.0.0.0:0");
}

#[test]
fn log_retention_is_set_in_settings_and_each_help_sits_under_its_field() {
    let fx = Fixture::new(1);
    let mut h = app_harness(&fx, egui::vec2(1280.0, 800.0), Page::Settings);
    let inflight = h.get_by_role_and_label(Role::SpinButton, "Max in-flight per account").rect();
    let help = h.get_all_by_label("0 means no limit.").next().expect("the help").rect();
    assert!(help.top() >= inflight.bottom() - 1.0 && help.top() - inflight.bottom() < 20.0, "under its field");
    assert!(help.left() >= inflight.left() - 1.0, "in the field's column");
    h.get_by_role_and_label(Role::SpinButton, "Keep request logs (days)").set_value_accesskit(7.0);
    h.run_steps(2);
    h.get_all_by_role_and_label(Role::Button, "Save").next().expect("the gateway's Save").click();
    wait_until(&mut h, "the save", |_| fx.core.settings()["logRetentionDays"].value == "7");
    assert!(has_label(&h, "Save proxy"), "the proxy has a Save of its own");
}

#[test]
fn the_quota_guard_is_set_in_settings_and_a_variable_locks_it() {
    let fx = Fixture::with_env(1, &[("CODEXMANAGER_QUOTA_GUARD_7D_PERCENT", "95".into())]);
    let mut h = app_harness(&fx, egui::vec2(1280.0, 800.0), Page::Settings);
    assert!(
        has_label(&h, "Set by the environment variable CODEXMANAGER_QUOTA_GUARD_7D_PERCENT"),
        "the weekly guard names its variable"
    );
    h.get_by_role_and_label(Role::SpinButton, "Quota guard, 5-hour window").set_value_accesskit(90.5);
    h.run_steps(2);
    h.get_all_by_role_and_label(Role::Button, "Save").next().expect("the gateway's Save").click();
    wait_until(&mut h, "the save", |_| fx.core.settings()["quotaGuard5hPercent"].value == "90.5");
    assert_eq!(fx.core.settings()["quotaGuard7dPercent"].value, "95", "the variable's value stays");
}

#[test]
fn details_under_a_narrow_log_table_are_not_drawn_over() {
    let fx = Fixture::new(1);
    fx.logs(30);
    fx.runtime.block_on(fx.core.logs().flush());
    let page = logs::LogsPage::new(fx.backend());
    let mut h = page_harness(egui::vec2(980.0, 420.0), page, |ui, page| page.ui(ui));
    wait_until(&mut h, "the rows", |h| has_label(h, "30 requests") && h.query_all_by_label("200").next().is_some());
    let first = h.get_all_by_label("200").next().unwrap().rect().center();
    click_at(&mut h, first);
    h.run_steps(3);
    let details = h.get_by_label("Request details").rect();
    // The rows' account cells (the details name the account with its id).
    let lowest_row = h.get_all_by_label("user1@example.com").map(|n| n.rect().bottom()).fold(f32::MIN, f32::max);
    // The table scrolls within what is left, so at most the row cut at its edge reaches past
    // the details' top (by less than a row, 38 px); before, the table ran 200 px on over them.
    assert!(
        lowest_row - details.top() < 38.0,
        "a row ends at {lowest_row}, under the details' title at {}",
        details.top()
    );
}
