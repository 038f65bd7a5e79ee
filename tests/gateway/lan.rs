//! Serving a LAN: a caller on another host (a network namespace with a veth pair the test
//! makes, so nothing leaves this machine) reaches the gateway with a key, but `/rpc` and
//! `/metrics` answer only this machine, and `/health` tells it only that the service is up.
//! Needs root for `ip netns`; elsewhere it says it was skipped.

use std::process::Command;

use crate::support::harness::Harness;

/// A network namespace joined to this one by a veth pair: this side 10.201.X.1, the other
/// side (the "remote" host) 10.201.X.2. Removed when dropped.
struct RemoteHost {
    name: String,
    local: String,
}

impl RemoteHost {
    fn create() -> Option<RemoteHost> {
        static MADE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let made = MADE.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let n = 20 + std::process::id() % 100 + 110 * (made % 2);
        let name = format!("cmtest{}x{made}", std::process::id());
        let (outer, inner) = (format!("cmv{n}a"), format!("cmv{n}b"));
        let local = format!("10.201.{n}.1");
        let steps: Vec<Vec<String>> = vec![
            vec!["netns".into(), "add".into(), name.clone()],
            vec![
                "link".into(),
                "add".into(),
                outer.clone(),
                "type".into(),
                "veth".into(),
                "peer".into(),
                "name".into(),
                inner.clone(),
            ],
            vec!["link".into(), "set".into(), inner.clone(), "netns".into(), name.clone()],
            vec!["addr".into(), "add".into(), format!("{local}/24"), "dev".into(), outer.clone()],
            vec!["link".into(), "set".into(), outer.clone(), "up".into()],
            vec![
                "-n".into(),
                name.clone(),
                "addr".into(),
                "add".into(),
                format!("10.201.{n}.2/24"),
                "dev".into(),
                inner.clone(),
            ],
            vec!["-n".into(), name.clone(), "link".into(), "set".into(), inner, "up".into()],
            vec!["-n".into(), name.clone(), "link".into(), "set".into(), "lo".into(), "up".into()],
        ];
        let host = RemoteHost { name, local };
        for step in steps {
            let out = Command::new("ip").args(&step).output().ok()?;
            if !out.status.success() {
                crate::support::skipped(
                    "the LAN test",
                    &format!(
                        "cannot make a network namespace (needs root and iproute2): ip {}: {}",
                        step.join(" "),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                );
                return None;
            }
        }
        Some(host)
    }

    /// Runs curl on the remote host; returns (status, body).
    fn curl(&self, args: &[&str]) -> (u16, String) {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "curl", "-s", "-m", "10", "-w", "\n%{http_code}"])
            .args(args)
            .output()
            .expect("run curl in the namespace");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
        (status.trim().parse().unwrap_or(0), body.to_string())
    }
}

impl Drop for RemoteHost {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_remote_caller_gets_the_gateway_but_not_rpc_or_metrics() {
    let Some(remote) = RemoteHost::create() else { return };
    let addrs = format!("127.0.0.1:0,{}:0", remote.local);
    let h = Harness::start(1, &[("CODEXMANAGER_SERVICE_ADDR", addrs.as_str())]).await;
    let lan = h.service.addrs()[1];
    let base = format!("http://{lan}");
    let auth = format!("Authorization: Bearer {}", h.key);
    let body = serde_json::to_string(&crate::chat::chat(false)).unwrap();

    let (status, answer) = remote.curl(&[
        "-H",
        &auth,
        "-H",
        "content-type: application/json",
        "-d",
        &body,
        &format!("{base}/v1/chat/completions"),
    ]);
    assert_eq!(status, 200, "the gateway serves the LAN with a key: {answer}");
    let (status, _) = remote.curl(&["-d", &body, &format!("{base}/v1/chat/completions")]);
    assert_eq!(status, 401, "and not without one");
    let rpc = r#"{"jsonrpc":"2.0","id":1,"method":"apikey/list"}"#;
    let (status, answer) = remote.curl(&["-H", "X-CodexManager-Rpc-Token: rpc", "-d", rpc, &format!("{base}/rpc")]);
    assert_eq!(status, 403, "{answer}");
    assert!(answer.contains("CODEXMANAGER_RPC_ALLOW_REMOTE"), "{answer}");
    let (status, _) = remote.curl(&[&format!("{base}/metrics")]);
    assert_eq!(status, 403);
    let (status, health) = remote.curl(&[&format!("{base}/health")]);
    assert_eq!((status, health.trim()), (200, r#"{"status":"ok"}"#));

    // The same routes from this machine.
    let local = format!("http://{}", h.service.addrs()[0]);
    let answer =
        h.http.post(format!("{local}/rpc")).header("X-CodexManager-Rpc-Token", "rpc").body(rpc).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(h.http.get(format!("{local}/metrics")).send().await.unwrap().status(), 200);
    let health: serde_json::Value = h.http.get(format!("{local}/health")).send().await.unwrap().json().await.unwrap();
    assert_eq!(health["accounts"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn with_remote_rpc_allowed_other_machines_still_need_the_token() {
    let Some(remote) = RemoteHost::create() else { return };
    let addrs = format!("{}:0", remote.local);
    let h = Harness::start(1, &[("CODEXMANAGER_SERVICE_ADDR", addrs.as_str()), ("CODEXMANAGER_RPC_ALLOW_REMOTE", "1")])
        .await;
    let base = format!("http://{}", h.service.addr());
    let rpc = r#"{"jsonrpc":"2.0","id":1,"method":"apikey/list"}"#;
    assert_eq!(remote.curl(&["-d", rpc, &format!("{base}/rpc")]).0, 401);
    assert_eq!(remote.curl(&["-H", "X-CodexManager-Rpc-Token: rpc", "-d", rpc, &format!("{base}/rpc")]).0, 200);
    assert_eq!(remote.curl(&[&format!("{base}/metrics")]).0, 401);
    assert_eq!(remote.curl(&["-H", "Authorization: Bearer rpc", &format!("{base}/metrics")]).0, 200);
}
