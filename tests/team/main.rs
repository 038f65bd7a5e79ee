//! A team's deployment: the SQLite database copied into PostgreSQL with `codexmanager migrate`,
//! the master key every instance of a shared database is given, and two instances sharing one
//! database (`instances`). Each test starts its own
//! throwaway PostgreSQL cluster and says `SKIPPED` where the PostgreSQL binaries are missing.

#[path = "../support/mod.rs"]
mod support;

mod instances;

use std::collections::HashMap;

use codexmanager::config::Env;
use codexmanager::core::{Core, LogRow, NewKey};
use codexmanager::paths::{DataLocation, DataPaths};
use support::TestHome;
use support::postgres::Cluster;

const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const KEY_B: &str = "ERERERERERERERERERERERERERERERERERERERERERE=";

fn env_of(pairs: &[(&str, &str)]) -> Env {
    let mut vars: HashMap<String, String> = HashMap::from([
        ("CODEXMANAGER_SECRET_STORE".into(), "file".into()),
        ("CODEXMANAGER_DISABLE_POLLING".into(), String::new()),
    ]);
    vars.extend(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Env::from_map(vars)
}

async fn open(home: &TestHome, pairs: &[(&str, &str)]) -> Result<Core, String> {
    let paths = DataPaths::for_db(home.db(), DataLocation::Explicit);
    Core::open_at(env_of(pairs), paths, None).await.map(|(core, _)| core).map_err(|err| err.to_string())
}

/// A logged request at `ts`.
fn log_row(ts: i64) -> LogRow {
    LogRow { ts, method: "POST".into(), path: "/v1/responses".into(), status: 200, attempts: 1, ..LogRow::default() }
}

/// Every meta value and the row counts of the tables a refused start must not touch.
async fn fingerprint(url: &str) -> String {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    let driver = tokio::spawn(connection);
    let meta: Vec<(String, Vec<u8>)> = client
        .query("SELECT key, value FROM meta ORDER BY key", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let counts = client
        .query_one(
            "SELECT (SELECT COUNT(*) FROM accounts), (SELECT COUNT(*) FROM platform_keys), \
             (SELECT COUNT(*) FROM settings), (SELECT COUNT(*) FROM account_tokens)",
            &[],
        )
        .await
        .unwrap();
    let counts: Vec<i64> = (0..4).map(|i| counts.get(i)).collect();
    drop(client);
    let _ = driver.await;
    format!("{meta:?} {counts:?}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrate_copies_the_database_into_an_empty_postgres_and_only_once() {
    let test = "migrate_copies_the_database_into_an_empty_postgres_and_only_once";
    let Some(cluster) = Cluster::start(test) else { return };
    let url = cluster.fresh_database().await;
    let home = TestHome::new();
    {
        let core = open(&home, &[]).await.unwrap();
        let texts = (0..3).map(|n| (format!("a{n}.json"), support::auth_json(n).to_string())).collect();
        core.import_texts(texts).await.unwrap();
        core.create_key(NewKey { name: "team".into(), ..Default::default() }).await.unwrap();
        let mut patch = serde_json::Map::new();
        patch.insert("routeStrategy".into(), "balanced".into());
        core.set_settings(patch).await.unwrap();
        for ts in 1..=7 {
            core.logs().push(log_row(ts));
        }
        core.shutdown().await;
    }
    let refused = home.run(&["migrate", "--to", &url]);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("--master-key-out"), "{said}");

    let key_file = home.path().join("team.key");
    let key_arg = key_file.display().to_string();
    let out = home.run(&["migrate", "--to", &url, "--with-logs", "--master-key-out", &key_arg]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}{text}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("3 accounts with 3 sealed token sets"), "{text}");
    assert!(text.contains("1 platform keys"), "{text}");
    assert!(text.contains("7 request-log rows"), "{text}");
    assert!(text.contains(&format!("CODEXMANAGER_MASTER_KEY_FILE={key_arg}")), "{text}");

    let other_home = TestHome::new();
    let team = open(&other_home, &[("CODEXMANAGER_DATABASE_URL", &url), ("CODEXMANAGER_MASTER_KEY_FILE", &key_arg)])
        .await
        .expect("an instance opens the copy with the written key");
    let pool = team.pool();
    assert_eq!(pool.accounts.len(), 3);
    assert!(pool.accounts.iter().all(|a| a.tokens().is_some()), "every token set opens with the key");
    assert_eq!(team.snapshot().keys.len(), 1);
    assert_eq!(team.config().route_strategy, codexmanager::config::RouteStrategy::Balanced);
    assert_eq!(team.count_logs(Default::default()).await.unwrap(), 7);
    team.logs().push(log_row(8));
    team.logs().flush().await;
    assert_eq!(team.count_logs(Default::default()).await.unwrap(), 8, "new rows number after the copied ones");
    team.shutdown().await;

    let again_key = home.path().join("again.key").display().to_string();
    let again = home.run(&["migrate", "--to", &url, "--master-key-out", &again_key]);
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("is not empty") && said.contains("nothing was copied"), "{said}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_database_needs_its_own_master_key_and_refuses_another() {
    let test = "a_shared_database_needs_its_own_master_key_and_refuses_another";
    let Some(cluster) = Cluster::start(test) else { return };
    let url = cluster.fresh_database().await;
    let home = TestHome::new();

    let missing = open(&home, &[("CODEXMANAGER_DATABASE_URL", &url)]).await.err().expect("no key given");
    assert!(missing.contains("CODEXMANAGER_MASTER_KEY"), "{missing}");

    let first = open(&home, &[("CODEXMANAGER_DATABASE_URL", &url), ("CODEXMANAGER_MASTER_KEY", KEY_A)]).await.unwrap();
    first.import_texts(vec![("a.json".into(), support::auth_json(1).to_string())]).await.unwrap();
    first.shutdown().await;
    drop(first);
    let before = fingerprint(&url).await;

    let wrong = open(&home, &[("CODEXMANAGER_DATABASE_URL", &url), ("CODEXMANAGER_MASTER_KEY", KEY_B)])
        .await
        .err()
        .expect("another key is refused");
    assert!(wrong.contains("CODEXMANAGER_MASTER_KEY does not open this database's secrets"), "{wrong}");
    assert_eq!(fingerprint(&url).await, before, "a refused start writes nothing");

    let short = open(&home, &[("CODEXMANAGER_DATABASE_URL", &url), ("CODEXMANAGER_MASTER_KEY", "c2hvcnQ=")])
        .await
        .err()
        .expect("a short key is refused");
    assert!(short.contains("decodes to 5 bytes, not 32"), "{short}");

    let key_file = home.write("master.key", &format!("{KEY_A}\n"));
    let key_arg = key_file.display().to_string();
    let again = open(&home, &[("CODEXMANAGER_DATABASE_URL", &url), ("CODEXMANAGER_MASTER_KEY_FILE", &key_arg)])
        .await
        .expect("the same key from a file opens it");
    assert!(again.pool().accounts[0].tokens().is_some());
}
