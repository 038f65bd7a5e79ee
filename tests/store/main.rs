//! The store's conformance suite: every operation of the store interface, run against the
//! embedded SQLite backend and against a real PostgreSQL cluster the test starts itself
//! (skipped, and saying so, where the PostgreSQL binaries are missing). Both must answer
//! alike: the core cannot tell which one it talks to.

#[path = "../support/mod.rs"]
mod support;

use codexmanager::store::accounts::{AccountRow, AccountStatus, AccountWrite, Select};
use codexmanager::store::keys::{KeyPolicy, KeyProtocol, KeyRow};
use codexmanager::store::logs::{LogFilter, LogRow};
use codexmanager::store::models::CachedModel;
use codexmanager::store::stats::ranges_at;
use codexmanager::store::usage::{UsageSnapshot, Window};
use codexmanager::store::{Store, StoreError};

fn account(id: &str, identity: &str, sort: i64) -> AccountRow {
    AccountRow {
        id: id.into(),
        identity: identity.into(),
        label: format!("label {id}"),
        email: Some(format!("{id}@example.com")),
        chatgpt_account_id: None,
        chatgpt_user_id: None,
        plan: Some("plus".into()),
        group_name: "IMPORT".into(),
        tags: vec!["a".into(), "b".into()],
        note: String::new(),
        sort,
        status: AccountStatus::Active,
        status_reason: None,
        created_at: 1,
        updated_at: 1,
        last_refresh_at: None,
        access_expires_at: None,
        cooldown_until: None,
        cooldown_reason: None,
        proxy: None,
        proxy_sealed: Some(vec![9, 9]),
    }
}

fn key(id: &str) -> KeyRow {
    KeyRow {
        id: id.into(),
        name: format!("key {id}"),
        key_hash: format!("hash-{id}"),
        key_prefix: "sk-cm-".into(),
        protocol: KeyProtocol::Anthropic,
        model: None,
        azure_endpoint: None,
        azure_api_version: None,
        sealed_azure_key: Some(vec![1, 2, 3]),
        enabled: true,
        created_at: 5,
        last_used_at: None,
        policy: KeyPolicy::default(),
    }
}

fn log(ts: i64, status: u16, key: Option<&str>, path: &str) -> LogRow {
    LogRow {
        ts,
        key_id: key.map(str::to_string),
        account_id: Some("a1".into()),
        method: "POST".into(),
        path: path.into(),
        model: Some("GPT-5".into()),
        status,
        duration_ms: 10,
        input_tokens: Some(100),
        cached_tokens: Some(20),
        output_tokens: Some(10),
        reasoning_tokens: Some(2),
        attempts: 1,
        error: (status >= 400).then(|| "Upstream said no".to_string()),
        counted: true,
        request_id: Some(format!("req-{ts}")),
        ..LogRow::default()
    }
}

async fn settings_meta_and_models(store: &Store) {
    let all = store.put_settings(vec![("a".into(), "1".into()), ("b".into(), "2".into())]).await.unwrap();
    assert_eq!(all.get("a").map(String::as_str), Some("1"));
    let all = store.put_settings(vec![("a".into(), "3".into())]).await.unwrap();
    assert_eq!((all["a"].as_str(), all["b"].as_str()), ("3", "2"));
    assert_eq!(store.settings().await.unwrap().len(), 2);

    assert_eq!(store.meta("vault_id").await.unwrap(), None);
    assert_eq!(store.meta_or_insert("vault_id", b"first".to_vec()).await.unwrap(), b"first");
    assert_eq!(store.meta_or_insert("vault_id", b"second".to_vec()).await.unwrap(), b"first", "set once");
    assert_eq!(store.meta("vault_id").await.unwrap().as_deref(), Some(&b"first"[..]));

    let model =
        |slug: &str| CachedModel { slug: slug.into(), display_name: None, raw: format!("{{\"slug\":\"{slug}\"}}") };
    store.replace_models(vec![model("b"), model("a")]).await.unwrap();
    store.replace_models(vec![model("z"), model("y")]).await.unwrap();
    let slugs: Vec<String> = store.models().await.unwrap().into_iter().map(|m| m.slug).collect();
    assert_eq!(slugs, ["z", "y"], "replaced whole, in the given order");
}

async fn accounts_tokens_and_leases(store: &Store) {
    let created = store
        .write_accounts(Select::Identities(vec!["i1".into(), "i2".into()]), |found| {
            assert!(found.rows.is_empty());
            assert_eq!(found.max_sort, -1);
            let writes = vec![
                AccountWrite { row: account("a1", "i1", 0), sealed_tokens: Some(vec![1]) },
                AccountWrite { row: account("a2", "i2", 1), sealed_tokens: Some(vec![2]) },
            ];
            Ok((writes, 2))
        })
        .await
        .unwrap();
    assert_eq!(created, 2);
    store
        .write_accounts(Select::Identities(vec!["i2".into(), "i3".into()]), |found| {
            assert_eq!(found.rows.len(), 1, "i2 exists, i3 does not");
            assert_eq!(found.rows[0].id, "a2");
            assert_eq!(found.max_sort, 1);
            let mut row = found.rows[0].clone();
            row.label = "renamed".into();
            Ok((vec![AccountWrite { row, sealed_tokens: None }], ()))
        })
        .await
        .unwrap();
    let missing = store.write_accounts(Select::Ids(vec!["a1".into(), "nope".into()]), |_| Ok((Vec::new(), ()))).await;
    assert!(matches!(missing, Err(StoreError::NotFound(_))), "{:?}", missing.err());
    let failed = store
        .write_accounts(Select::Ids(vec!["a1".into()]), |_| {
            Err::<(Vec<AccountWrite>, ()), _>(StoreError::NotFound("plan refused".into()))
        })
        .await;
    assert!(failed.is_err());

    store.save_tokens("a1".into(), vec![7, 7], 100, Some(200)).await.unwrap();
    assert_eq!(store.tokens_of("a1".into()).await.unwrap(), Some(vec![7, 7]));
    assert_eq!(store.tokens_of("a9".into()).await.unwrap(), None);
    store.set_status("a2".into(), AccountStatus::Unavailable, Some("dead token".into())).await.unwrap();
    store.set_cooldown("a1".into(), Some(999), Some("rate limited".into())).await.unwrap();

    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), ["a1", "a2"]);
    let (a1, a2) = (&loaded.accounts[0], &loaded.accounts[1]);
    assert_eq!(a1.label, "label a1", "a refused plan wrote nothing");
    assert_eq!((a1.last_refresh_at, a1.access_expires_at), (Some(100), Some(200)));
    assert_eq!((a1.cooldown_until, a1.cooldown_reason.as_deref()), (Some(999), Some("rate limited")));
    assert_eq!(a1.tags, ["a", "b"]);
    assert_eq!(a1.proxy_sealed.as_deref(), Some(&[9, 9][..]));
    assert_eq!(
        (a2.label.as_str(), a2.status, a2.status_reason.as_deref()),
        ("renamed", AccountStatus::Unavailable, Some("dead token"))
    );
    let mut tokens: Vec<(String, Vec<u8>)> =
        store.all_tokens().await.unwrap().into_iter().map(|(id, sealed)| (id, sealed.to_vec())).collect();
    tokens.sort();
    assert_eq!(tokens, [("a1".to_string(), vec![7, 7]), ("a2".to_string(), vec![2])]);

    assert!(store.take_refresh_lease("a1".into(), "me".into(), 1_000, 2_000).await.unwrap());
    assert!(!store.take_refresh_lease("a1".into(), "other".into(), 1_500, 2_500).await.unwrap(), "held");
    assert!(store.take_refresh_lease("a1".into(), "me".into(), 1_500, 2_500).await.unwrap(), "the holder renews");
    assert!(store.take_refresh_lease("a1".into(), "other".into(), 2_500, 3_500).await.unwrap(), "ran out");
    store.release_refresh_lease("a1".into(), "me".into()).await.unwrap();
    assert!(!store.take_refresh_lease("a1".into(), "me".into(), 2_600, 3_600).await.unwrap(), "not mine to release");
    store.release_refresh_lease("a1".into(), "other".into()).await.unwrap();
    assert!(store.take_refresh_lease("a1".into(), "me".into(), 2_600, 3_600).await.unwrap());

    let usage = |id: &str, used: f64| UsageSnapshot {
        account_id: id.into(),
        captured_at: 50,
        source: "poll".into(),
        plan: None,
        primary: Some(Window { used_percent: used, window_minutes: Some(300), resets_at: Some(60) }),
        secondary: None,
        credits_has: Some(true),
        credits_unlimited: None,
        credits_balance: Some("1.5".into()),
        limit_reached: Some(false),
    };
    store.put_usage(vec![usage("a1", 10.0), usage("gone", 5.0)]).await.unwrap();
    store.put_usage(vec![usage("a1", 42.5)]).await.unwrap();
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.usage, vec![usage("a1", 42.5)], "latest wins; a deleted account's is dropped");

    assert_eq!(store.delete_accounts(vec!["a1".into(), "nope".into()]).await.unwrap(), 1);
    let loaded = store.load().await.unwrap();
    assert_eq!(loaded.accounts.len(), 1);
    assert!(loaded.usage.is_empty(), "usage goes with its account");
    assert_eq!(loaded.tokens.len(), 1, "tokens go with their account");
}

async fn keys(store: &Store) {
    store.insert_key(key("k1")).await.unwrap();
    store.insert_key(key("k2")).await.unwrap();
    assert!(store.insert_key(key("k1")).await.is_err(), "ids are unique");
    assert_eq!(store.key("k1".into()).await.unwrap(), Some(key("k1")));
    assert_eq!(store.key("k9".into()).await.unwrap(), None);
    store.set_key_enabled("k1".into(), false).await.unwrap();
    store.set_key_model("k1".into(), Some("gpt-5".into())).await.unwrap();
    let policy = KeyPolicy { max_concurrent: Some(3), ..KeyPolicy::default() };
    store.update_key("k2".into(), "renamed".into(), None, policy.clone()).await.unwrap();
    for missing in [
        store.set_key_enabled("k9".into(), true).await,
        store.set_key_model("k9".into(), None).await,
        store.update_key("k9".into(), "x".into(), None, KeyPolicy::default()).await,
        store.delete_key("k9".into()).await,
    ] {
        assert!(matches!(missing, Err(StoreError::NotFound(_))), "{missing:?}");
    }
    store.touch_keys(vec![("k1".into(), 50), ("k2".into(), 60)]).await.unwrap();
    store.touch_keys(vec![("k1".into(), 40)]).await.unwrap();
    let loaded = store.load().await.unwrap();
    let (k1, k2) = (&loaded.keys[0], &loaded.keys[1]);
    assert_eq!((k1.enabled, k1.model.as_deref(), k1.last_used_at), (false, Some("gpt-5"), Some(50)), "latest use wins");
    assert_eq!((k2.name.as_str(), &k2.policy, k2.protocol), ("renamed", &policy, KeyProtocol::Anthropic));
    store.delete_key("k1".into()).await.unwrap();
    assert_eq!(store.load().await.unwrap().keys.len(), 1);
}

async fn logs_and_stats(store: &Store) {
    use chrono::TimeZone;
    let tz = chrono::FixedOffset::east_opt(0).unwrap();
    let now = tz.with_ymd_and_hms(2026, 3, 10, 12, 30, 0).unwrap();
    let at = |h: u32, m: u32| tz.with_ymd_and_hms(2026, 3, 10, h, m, 0).unwrap().timestamp_millis();
    let rows = vec![
        log(at(12, 5), 200, Some("k1"), "/v1/responses"),
        log(at(12, 10), 500, Some("k1"), "/v1/chat/completions"),
        log(at(11, 59), 200, Some("k2"), "/v1/messages"),
        log(at(1, 0), 429, None, "/v1/Responses_100%"),
    ];
    store.insert_logs(std::sync::Arc::new(rows)).await.unwrap();

    let all = store.log_page(LogFilter::default(), 0, 10).await.unwrap();
    assert_eq!(
        all.iter().map(|r| r.ts).collect::<Vec<_>>(),
        [at(12, 10), at(12, 5), at(11, 59), at(1, 0)],
        "newest first"
    );
    assert_eq!(all[0].error.as_deref(), Some("Upstream said no"));
    assert_eq!(all[0].request_id, Some(format!("req-{}", at(12, 10))));
    let page = store.log_page(LogFilter::default(), 1, 2).await.unwrap();
    assert_eq!(page.iter().map(|r| r.ts).collect::<Vec<_>>(), [at(12, 5), at(11, 59)]);
    let count = |filter: LogFilter| async move { store.log_count(filter).await.unwrap() };
    assert_eq!(count(LogFilter::default()).await, 4);
    assert_eq!(count(LogFilter { status_class: Some(2), ..LogFilter::default() }).await, 2);
    assert_eq!(count(LogFilter { text: Some("UPSTREAM SAID".into()), ..LogFilter::default() }).await, 2, "any case");
    assert_eq!(count(LogFilter { text: Some("100%".into()), ..LogFilter::default() }).await, 1, "% is literal");
    assert_eq!(count(LogFilter { text: Some("s_1".into()), ..LogFilter::default() }).await, 1, "_ is literal");
    assert_eq!(count(LogFilter { method: Some("post".into()), ..LogFilter::default() }).await, 4);
    assert_eq!(count(LogFilter { model: Some("gpt-5".into()), ..LogFilter::default() }).await, 4);
    assert_eq!(count(LogFilter { key_id: Some("k1".into()), since: Some(at(12, 6)), ..LogFilter::default() }).await, 1);
    let by_id = LogFilter { text: Some(format!("req-{}", at(11, 59))), ..LogFilter::default() };
    assert_eq!(count(by_id).await, 1);

    let stats = store.dashboard(ranges_at(&now)).await.unwrap();
    assert_eq!((stats.today.requests, stats.today.successes), (4, 2));
    assert_eq!((stats.today.input_tokens, stats.today.cached_tokens, stats.today.output_tokens), (400, 80, 40));
    assert_eq!(stats.today.reasoning_tokens, 8);
    assert_eq!(stats.hourly.len(), 24);
    let last = stats.hourly.last().unwrap();
    assert_eq!((last.requests, last.tokens), (2, 220));
    assert_eq!(stats.hourly[22].requests, 1);
    assert_eq!(stats.daily.last().unwrap().requests, 4);
    let mut usage = store.key_usage().await.unwrap();
    usage.sort_by(|a, b| a.key_id.cmp(&b.key_id));
    assert_eq!(usage.len(), 2);
    assert_eq!((usage[0].requests, usage[0].tokens, usage[0].last_ms), (2, 220, Some(at(12, 10))));
    let slots = store.slot_use_since(at(0, 0), Some("k1".into())).await.unwrap();
    assert_eq!(slots.len(), 1);
    assert_eq!((slots[0].counted, slots[0].tokens, slots[0].requests, slots[0].errors), (2, 220, 2, 1));
    assert_eq!(store.slot_use_since(at(0, 0), None).await.unwrap().len(), 2, "keys only");

    assert_eq!(store.prune_logs(at(11, 0), 0, 100).await.unwrap(), 1, "older than the cut");
    assert_eq!(store.prune_logs(0, 2, 100).await.unwrap(), 1, "beyond the newest two");
    assert_eq!(store.log_count(LogFilter::default()).await.unwrap(), 2);
    assert_eq!(store.dashboard(ranges_at(&now)).await.unwrap().today.requests, 4, "totals outlive the rows");
    assert_eq!(store.prune_stats(at(12, 0)).await.unwrap(), 2);
    assert_eq!(store.clear_logs().await.unwrap(), 2);
    assert_eq!(store.dashboard(ranges_at(&now)).await.unwrap().today.requests, 0);
    assert!(store.key_usage().await.unwrap().is_empty());
}

/// A log writer's batch under load: thousands of rows in one call, none lost, the optional
/// fields kept whether set or empty.
async fn a_large_log_batch(store: &Store) {
    let rows: Vec<LogRow> = (0..2_500)
        .map(|n| LogRow {
            first_byte_ms: (n % 2 == 0).then_some(n),
            reasoning_effort: (n % 3 == 0).then(|| "high".to_string()),
            ..log(1_000 + n, if n % 5 == 0 { 429 } else { 200 }, Some("k1"), "/v1/responses")
        })
        .collect();
    store.insert_logs(std::sync::Arc::new(rows)).await.unwrap();
    assert_eq!(store.log_count(LogFilter::default()).await.unwrap(), 2_500);
    let errors = LogFilter { text: Some("Upstream said no".into()), ..LogFilter::default() };
    assert_eq!(store.log_count(errors).await.unwrap(), 500);
    let newest = store.log_page(LogFilter::default(), 0, 2).await.unwrap();
    assert_eq!(
        (newest[0].ts, newest[0].first_byte_ms, newest[0].reasoning_effort.as_deref()),
        (3_499, None, Some("high"))
    );
    assert_eq!(
        (newest[1].ts, newest[1].first_byte_ms, newest[1].reasoning_effort.as_deref()),
        (3_498, Some(2_498), None)
    );
    assert_eq!(store.clear_logs().await.unwrap(), 2_500);
}

/// The whole suite on one store.
async fn conformance(store: Store) {
    settings_meta_and_models(&store).await;
    accounts_tokens_and_leases(&store).await;
    keys(&store).await;
    logs_and_stats(&store).await;
    a_large_log_batch(&store).await;
}

#[tokio::test]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance(Store::open_sqlite(&dir.path().join("c.db")).unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_conforms() {
    let Some(cluster) = support::postgres::Cluster::start("postgres_conforms") else { return };
    let url = cluster.fresh_database().await;
    conformance(Store::open_postgres(&url, "test-instance").await.unwrap()).await;
    // Opening again finds the schema in place; several instances starting at once migrate once.
    let url = cluster.fresh_database().await;
    let opens = (0..4).map(|_| Store::open_postgres(&url, "racer"));
    for opened in futures_util::future::join_all(opens).await {
        opened.expect("every instance opens the database");
    }
    // A schema from a newer build is refused, and left as it was.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
    let driver = tokio::spawn(connection);
    client.batch_execute("INSERT INTO schema_version (version) VALUES (99)").await.unwrap();
    let err = Store::open_postgres(&url, "older").await.err().expect("a newer schema is refused");
    assert!(err.to_string().contains("newer CodexManager (schema version 99"), "{err}");
    let newest: i64 = client.query_one("SELECT MAX(version) FROM schema_version", &[]).await.unwrap().get(0);
    assert_eq!(newest, 99);
    drop(client);
    let _ = driver.await;
}

#[tokio::test]
async fn postgres_refuses_a_url_it_cannot_reach_and_says_where() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("postgres://gw:s3cret@127.0.0.1:{port}/pool");
    let err = Store::open_postgres(&url, "x").await.err().expect("nothing listens there");
    let message = err.to_string();
    assert!(message.contains("cannot connect to PostgreSQL at postgres://gw:****@127.0.0.1"), "{message}");
    assert!(!message.contains("s3cret"), "{message}");
}
