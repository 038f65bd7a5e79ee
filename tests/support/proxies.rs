//! Real proxies on loopback for tests: an HTTP proxy (CONNECT tunnels, and absolute-form
//! requests for plain-http targets) and a SOCKS5 proxy (RFC 1928, with RFC 1929 user name
//! and password when asked for). Each counts the connections it carried and where to.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a proxy saw.
#[derive(Default)]
pub struct ProxyLog {
    /// Connections carried through to a target.
    pub carried: AtomicUsize,
    /// Connections refused for their credentials.
    pub refused: AtomicUsize,
    /// `host:port` of each target, in order.
    pub targets: Mutex<Vec<String>>,
}

pub struct TestProxy {
    pub addr: SocketAddr,
    pub log: Arc<ProxyLog>,
    credentials: Option<(String, String)>,
    scheme: &'static str,
}

impl TestProxy {
    /// An HTTP proxy; with `credentials`, `Proxy-Authorization: Basic` is required.
    pub async fn http(credentials: Option<(&str, &str)>) -> TestProxy {
        TestProxy::start("http", credentials).await
    }

    /// A SOCKS5 proxy; with `credentials`, user name and password authentication is required.
    pub async fn socks5(credentials: Option<(&str, &str)>) -> TestProxy {
        TestProxy::start("socks5h", credentials).await
    }

    async fn start(scheme: &'static str, credentials: Option<(&str, &str)>) -> TestProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let log = Arc::new(ProxyLog::default());
        let credentials = credentials.map(|(u, p)| (u.to_string(), p.to_string()));
        let (task_log, task_credentials) = (log.clone(), credentials.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (log, credentials) = (task_log.clone(), task_credentials.clone());
                tokio::spawn(async move {
                    let _ = if scheme == "http" {
                        serve_http(client, log, credentials).await
                    } else {
                        serve_socks5(client, log, credentials).await
                    };
                });
            }
        });
        TestProxy { addr, log, credentials, scheme }
    }

    /// The proxy's URL, with its credentials when it has them.
    pub fn url(&self) -> String {
        match &self.credentials {
            Some((user, password)) => format!("{}://{user}:{password}@{}", self.scheme, self.addr),
            None => format!("{}://{}", self.scheme, self.addr),
        }
    }

    /// The URL with other credentials (for "wrong password" tests).
    pub fn url_with(&self, user: &str, password: &str) -> String {
        format!("{}://{user}:{password}@{}", self.scheme, self.addr)
    }

    pub fn carried(&self) -> usize {
        self.log.carried.load(Ordering::SeqCst)
    }
}

/// A URL on which nothing listens.
pub fn dead_proxy_url(scheme: &str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("{scheme}://{addr}")
}

async fn serve_http(
    mut client: TcpStream,
    log: Arc<ProxyLog>,
    credentials: Option<(String, String)>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).await? == 0 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).to_string();
    let mut lines = text.lines();
    let request_line = lines.next().unwrap_or_default().to_string();
    let mut parts = request_line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default().to_string());
    if let Some((user, password)) = &credentials {
        let expected = format!(
            "basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")).to_ascii_lowercase()
        );
        let given = lines
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.eq_ignore_ascii_case("proxy-authorization"))
            .map(|(_, value)| value.trim().to_ascii_lowercase());
        if given.as_deref() != Some(expected.as_str()) {
            log.refused.fetch_add(1, Ordering::SeqCst);
            client
                .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n")
                .await?;
            return Ok(());
        }
    }
    if method == "CONNECT" {
        let Ok(mut upstream) = TcpStream::connect(&target).await else {
            client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n").await?;
            return Ok(());
        };
        log.carried.fetch_add(1, Ordering::SeqCst);
        log.targets.lock().unwrap().push(target);
        client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    // Absolute form: `POST http://host:port/path HTTP/1.1`; the target server accepts it as is.
    let host = target.strip_prefix("http://").and_then(|rest| rest.split('/').next()).unwrap_or_default().to_string();
    let Ok(mut upstream) = TcpStream::connect(&host).await else {
        client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n").await?;
        return Ok(());
    };
    log.carried.fetch_add(1, Ordering::SeqCst);
    log.targets.lock().unwrap().push(host);
    upstream.write_all(&head).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

async fn serve_socks5(
    mut client: TcpStream,
    log: Arc<ProxyLog>,
    credentials: Option<(String, String)>,
) -> std::io::Result<()> {
    let mut greeting = [0u8; 2];
    client.read_exact(&mut greeting).await?;
    let mut methods = vec![0u8; usize::from(greeting[1])];
    client.read_exact(&mut methods).await?;
    let wanted = if credentials.is_some() { 0x02 } else { 0x00 };
    if !methods.contains(&wanted) {
        client.write_all(&[0x05, 0xff]).await?;
        log.refused.fetch_add(1, Ordering::SeqCst);
        return Ok(());
    }
    client.write_all(&[0x05, wanted]).await?;
    if let Some((user, password)) = &credentials {
        let mut version_and_length = [0u8; 2];
        client.read_exact(&mut version_and_length).await?;
        let mut given_user = vec![0u8; usize::from(version_and_length[1])];
        client.read_exact(&mut given_user).await?;
        let mut length = [0u8; 1];
        client.read_exact(&mut length).await?;
        let mut given_password = vec![0u8; usize::from(length[0])];
        client.read_exact(&mut given_password).await?;
        if given_user != user.as_bytes() || given_password != password.as_bytes() {
            client.write_all(&[0x01, 0x01]).await?;
            log.refused.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        client.write_all(&[0x01, 0x00]).await?;
    }
    let mut request = [0u8; 4];
    client.read_exact(&mut request).await?;
    let host = match request[3] {
        0x01 => {
            let mut ip = [0u8; 4];
            client.read_exact(&mut ip).await?;
            std::net::Ipv4Addr::from(ip).to_string()
        }
        0x03 => {
            let mut length = [0u8; 1];
            client.read_exact(&mut length).await?;
            let mut name = vec![0u8; usize::from(length[0])];
            client.read_exact(&mut name).await?;
            String::from_utf8_lossy(&name).to_string()
        }
        _ => {
            let mut ip = [0u8; 16];
            client.read_exact(&mut ip).await?;
            format!("[{}]", std::net::Ipv6Addr::from(ip))
        }
    };
    let mut port = [0u8; 2];
    client.read_exact(&mut port).await?;
    let target = format!("{host}:{}", u16::from_be_bytes(port));
    let Ok(mut upstream) = TcpStream::connect(&target).await else {
        client.write_all(&[0x05, 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0]).await?;
        return Ok(());
    };
    log.carried.fetch_add(1, Ordering::SeqCst);
    log.targets.lock().unwrap().push(target);
    client.write_all(&[0x05, 0x00, 0x00, 0x01, 127, 0, 0, 1, 0, 0]).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}
