//! Two real `serve` instances on one PostgreSQL database behind no load balancer: what one
//! learns or changes, the other honours; a stale token is refreshed once between them; the
//! leader's death hands its background work to the other; a killed instance loses nothing
//! the database had acknowledged.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::mock::{Mock, Script};
use crate::support::postgres::Cluster;
use crate::support::serve::Served;
use crate::support::{TestHome, auth_json, tokens};

const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// A cluster, a database with `accounts` fixture accounts and one key, and the mock upstream.
struct Team {
    _cluster: Cluster,
    url: String,
    mock: Mock,
    /// Where the CLI that prepared the database ran.
    admin: TestHome,
    key: String,
}

impl Team {
    async fn start(test: &str, accounts: usize) -> Option<Team> {
        let cluster = Cluster::start(test)?;
        let url = cluster.fresh_database().await;
        let mock = Mock::start().await;
        let admin = TestHome::new();
        let mut team = Team { _cluster: cluster, url, mock, admin, key: String::new() };
        for n in 0..accounts {
            let file = team.admin.write(&format!("a{n}.json"), &auth_json(n).to_string());
            let out = team.cli(&team.admin).args(["account", "import", "--json"]).arg(&file).output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        }
        let out = team.cli(&team.admin).args(["key", "create", "--name", "team", "--json"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let created: Value = serde_json::from_slice(&out.stdout).unwrap();
        team.key = created["key"].as_str().unwrap().to_string();
        Some(team)
    }

    /// The binary against the shared database.
    fn cli(&self, home: &TestHome) -> std::process::Command {
        let mut cmd = home.command();
        cmd.env("CODEXMANAGER_DATABASE_URL", &self.url)
            .env("CODEXMANAGER_MASTER_KEY", MASTER_KEY)
            .env("CODEXMANAGER_UPSTREAM_BASE_URL", self.mock.upstream())
            .env("CODEXMANAGER_ISSUER", &self.mock.base)
            .env("CODEXMANAGER_USAGE_BASE_URL", &self.mock.base);
        cmd
    }

    /// A `serve` instance named `name` with its own data folder; polling on when `polling`.
    /// `gw-b` is given the database with `serve --database-url`, the others by the environment.
    fn serve(&self, home: &TestHome, name: &str, polling: bool) -> Served {
        let mut cmd = self.cli(home);
        cmd.env("CODEXMANAGER_INSTANCE_NAME", name);
        if polling {
            cmd.env_remove("CODEXMANAGER_DISABLE_POLLING").env("CODEXMANAGER_USAGE_POLL_INTERVAL_SECS", "3600");
        }
        if name == "gw-b" {
            cmd.env_remove("CODEXMANAGER_DATABASE_URL");
            return Served::spawn(home, cmd, &["--database-url", &self.url]);
        }
        Served::spawn(home, cmd, &[])
    }
}

fn responses(session: Option<&str>) -> Value {
    let mut body = json!({"model": "gpt-5.5", "stream": false, "input": [{"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": "hi"}]}]});
    if let Some(session) = session {
        body["prompt_cache_key"] = json!(session);
    }
    body
}

async fn ask(http: &reqwest::Client, base: &str, key: &str, session: Option<&str>) -> u16 {
    answer(http, base, key, session).await.0
}

/// The status and body of one request; status 0 when it got no answer.
async fn answer(http: &reqwest::Client, base: &str, key: &str, session: Option<&str>) -> (u16, String) {
    let sent = http.post(format!("{base}/v1/responses")).bearer_auth(key).json(&responses(session)).send().await;
    match sent {
        Ok(response) => (response.status().as_u16(), response.text().await.unwrap_or_default()),
        Err(err) => (0, err.to_string()),
    }
}

async fn rpc(http: &reqwest::Client, served: &Served, method: &str, params: Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer = http.post(format!("{}/rpc", served.base)).bearer_auth(&served.token).json(&body).send().await.unwrap();
    answer.json().await.unwrap()
}

/// Waits up to `within` for `check`; true when it held.
async fn eventually<F: std::future::Future<Output = bool>>(within: Duration, mut check: impl FnMut() -> F) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_key_made_on_one_instance_works_on_the_other_and_a_cooldown_holds_on_both() {
    let test = "a_key_made_on_one_instance_works_on_the_other_and_a_cooldown_holds_on_both";
    let Some(team) = Team::start(test, 2).await else { return };
    let (home_a, home_b) = (TestHome::new(), TestHome::new());
    let (a, b) = (team.serve(&home_a, "gw-a", false), team.serve(&home_b, "gw-b", false));
    let http = reqwest::Client::new();

    let created = rpc(&http, &a, "apikey/create", json!({"name": "made on a"})).await;
    let new_key = created["result"]["key"].as_str().unwrap_or_else(|| panic!("{created}")).to_string();
    let (h, base_b, fresh) = (&http, b.base.as_str(), new_key.as_str());
    let works_on_b =
        eventually(Duration::from_secs(1), move || async move { ask(h, base_b, fresh, None).await == 200 });
    assert!(works_on_b.await, "the key made on a did not work on b within a second");

    // a meets the 429 of the first account and cools it down; b, asked next, must skip it.
    team.mock.script("acct-00000", [Script::UsageLimit { resets_in: 600 }]);
    let earlier = team.mock.served_by().len();
    assert_eq!(ask(&http, &a.base, &team.key, None).await, 200);
    let served: Vec<String> = team.mock.served_by().into_iter().skip(earlier).collect();
    assert_eq!(served, ["acct-00000", "acct-00001"], "a failed over");
    tokio::time::sleep(Duration::from_secs(1)).await;
    for n in 0..6 {
        assert_eq!(ask(&http, &b.base, &team.key, Some(&format!("s{n}"))).await, 200);
    }
    let after: Vec<String> = team.mock.served_by().into_iter().skip(earlier + 2).collect();
    assert!(after.iter().all(|acct| acct == "acct-00001"), "b used the account a cooled down: {after:?}");

    let (h, on_b) = (&http, &b);
    let both_logged = eventually(Duration::from_secs(5), move || async move {
        let listed = rpc(h, on_b, "requestlog/list", json!({"limit": 100})).await.to_string();
        listed.contains("\"instance\":\"gw-a\"") && listed.contains("\"instance\":\"gw-b\"")
    });
    assert!(both_logged.await, "one request log, each row with its instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn forty_requests_over_two_instances_with_a_stale_token_refresh_it_once() {
    let test = "forty_requests_over_two_instances_with_a_stale_token_refresh_it_once";
    let Some(team) = Team::start(test, 1).await else { return };
    let (home_a, home_b) = (TestHome::new(), TestHome::new());
    let (a, b) = (team.serve(&home_a, "gw-a", false), team.serve(&home_b, "gw-b", false));
    let (_, old_access, old_refresh) = tokens(0);
    team.mock.reject_access_token(&old_access);
    // The issuer takes a while, so every request meets the 401 before any refresh is saved.
    team.mock.state.refresh_delay_ms.store(300, Ordering::SeqCst);
    let http = reqwest::Client::new();
    let asks = (0..40).map(|n| {
        let base = if n % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (http, key) = (http.clone(), team.key.clone());
        tokio::spawn(async move { answer(&http, &base, &key, None).await })
    });
    for answered in futures_util::future::join_all(asks).await {
        let (status, body) = answered.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(team.mock.state.refresh_calls.load(Ordering::SeqCst), 1, "exactly one refresh reached the issuer");
    assert!(team.mock.used_refresh_tokens().contains(&old_refresh));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn when_the_leader_dies_the_other_instance_polls_usage_within_ten_seconds() {
    let test = "when_the_leader_dies_the_other_instance_polls_usage_within_ten_seconds";
    let Some(team) = Team::start(test, 1).await else { return };
    let (home_a, home_b) = (TestHome::new(), TestHome::new());
    let mut leader = team.serve(&home_a, "gw-a", true);
    let mock = &team.mock;
    let polled = eventually(Duration::from_secs(10), move || async move { !mock.usage_calls().is_empty() });
    assert!(polled.await, "the first instance leads and polls at once");
    let follower = team.serve(&home_b, "gw-b", true);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(team.mock.usage_calls().len(), 1, "only the leader polls");

    leader.child.kill().unwrap();
    let died = Instant::now();
    let before = team.mock.usage_calls().len();
    let took_over = eventually(Duration::from_secs(10), move || async move { mock.usage_calls().len() > before });
    assert!(took_over.await, "the follower did not poll within 10 s of the leader's death");
    eprintln!("the follower polled {:?} after the leader died", died.elapsed());
    drop(follower);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killing_an_instance_mid_traffic_loses_nothing_committed_and_the_other_keeps_serving() {
    let test = "killing_an_instance_mid_traffic_loses_nothing_committed_and_the_other_keeps_serving";
    let Some(team) = Team::start(test, 2).await else { return };
    team.mock.script_always("acct-00000", Script::Slow { deltas: 20, interval_ms: 50 });
    let (home_a, home_b) = (TestHome::new(), TestHome::new());
    let (mut a, b) = (team.serve(&home_a, "gw-a", false), team.serve(&home_b, "gw-b", false));
    let http = reqwest::Client::new();
    let traffic: Vec<_> = (0..20)
        .map(|n| {
            let base = if n % 2 == 0 { a.base.clone() } else { b.base.clone() };
            let (http, key) = (http.clone(), team.key.clone());
            tokio::spawn(async move { (n % 2, ask(&http, &base, &key, None).await) })
        })
        .collect();
    let mut made = Vec::new();
    for n in 0..5 {
        let created = rpc(&http, &a, "apikey/create", json!({"name": format!("k{n}")})).await;
        made.push(created["result"]["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_string());
    }
    // SIGKILL: no shutdown, no flush.
    a.child.kill().unwrap();
    let _ = a.child.wait();
    for answer in futures_util::future::join_all(traffic).await {
        let (on, status) = answer.unwrap();
        if on == 1 {
            assert_eq!(status, 200, "b's requests finish");
        }
    }
    for n in 0..6 {
        assert_eq!(ask(&http, &b.base, &team.key, Some(&format!("after{n}"))).await, 200, "b keeps serving");
    }
    let listed = rpc(&http, &b, "apikey/list", json!({})).await;
    for id in &made {
        assert!(listed.to_string().contains(id.as_str()), "key {id}, acknowledged before the kill, is gone: {listed}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_goes_to_the_same_account_through_either_instance() {
    let test = "a_session_goes_to_the_same_account_through_either_instance";
    let Some(team) = Team::start(test, 3).await else { return };
    let (home_a, home_b) = (TestHome::new(), TestHome::new());
    let serve = |home: &TestHome, name: &str| {
        let mut cmd = team.cli(home);
        cmd.env("CODEXMANAGER_INSTANCE_NAME", name).env("CODEXMANAGER_ROUTE_STRATEGY", "balanced");
        Served::spawn(home, cmd, &[])
    };
    let (a, b) = (serve(&home_a, "gw-a"), serve(&home_b, "gw-b"));
    let http = reqwest::Client::new();
    // Turn a's balanced rotation so its own order differs from b's.
    for _ in 0..2 {
        assert_eq!(ask(&http, &a.base, &team.key, None).await, 200);
    }
    let sessions: Vec<String> = (0..6).map(|n| format!("conversation-{n}")).collect();
    let mut by_instance = Vec::new();
    for served in [&a, &b] {
        let before = team.mock.served_by().len();
        for session in &sessions {
            assert_eq!(ask(&http, &served.base, &team.key, Some(session)).await, 200);
        }
        by_instance.push(team.mock.served_by().into_iter().skip(before).collect::<Vec<_>>());
    }
    assert_eq!(by_instance[0], by_instance[1], "each session landed on one account whichever instance served it");
    let distinct: std::collections::HashSet<&String> = by_instance[0].iter().collect();
    assert!(distinct.len() > 1, "sessions spread over the pool: {:?}", by_instance[0]);
}
