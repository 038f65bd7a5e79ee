//! A real `codexmanager serve` process for tests, stopped with SIGTERM.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use super::TestHome;

pub struct Served {
    pub child: Child,
    pub base: String,
    pub token: String,
    stderr: std::sync::mpsc::Receiver<String>,
}

impl Served {
    /// Starts `serve` on a free loopback port and waits for its address line.
    pub fn start(home: &TestHome, extra_env: &[(&str, &str)]) -> Served {
        let mut cmd = home.command();
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        Served::spawn(home, cmd, &[])
    }

    /// Starts `cmd` (the binary with its environment) as `serve` with `args` on a free
    /// loopback port.
    pub fn spawn(home: &TestHome, mut cmd: std::process::Command, args: &[&str]) -> Served {
        cmd.arg("serve")
            .args(args)
            .env("CODEXMANAGER_SERVICE_ADDR", "127.0.0.1:0")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn serve");
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read address line");
        let base = line.trim().rsplit(' ').next().unwrap_or_default().to_string();
        assert!(base.starts_with("http://"), "serve printed {line:?}");
        let token = std::fs::read_to_string(home.data_dir().join("codexmanager.rpc-token")).unwrap_or_default();
        Served { child, base, token, stderr: rx }
    }

    /// Sends SIGTERM and waits for the exit; returns the exit status and everything on stderr.
    pub fn terminate(mut self) -> (std::process::ExitStatus, String) {
        #[cfg(unix)]
        unsafe {
            libc_kill(self.child.id() as i32, 15);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "serve did not exit within 20 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        };
        std::thread::sleep(Duration::from_millis(50));
        let log: Vec<String> = self.stderr.try_iter().collect();
        (status, log.join("\n"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

#[cfg(unix)]
unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
