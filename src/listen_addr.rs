//! Listen addresses: a `host:port` setting resolved to the socket address a local client
//! will reach, shared by the service and the sign-in callback server.

use std::net::SocketAddr;

/// A `host:port` resolved for listening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr {
    /// The address to bind: the first IPv4 one (what `localhost` clients try first), else
    /// the first one.
    pub socket: SocketAddr,
    /// Every address the name resolved to is a loopback address.
    pub loopback_only: bool,
}

/// Resolves `addr`; the error is the reason, for the caller's own message.
pub async fn resolve(addr: &str) -> Result<ListenAddr, String> {
    let candidates: Vec<SocketAddr> = tokio::net::lookup_host(addr).await.map_err(|e| e.to_string())?.collect();
    let socket = candidates
        .iter()
        .find(|a| a.is_ipv4())
        .or(candidates.first())
        .copied()
        .ok_or_else(|| "the name resolves to no address".to_string())?;
    Ok(ListenAddr { socket, loopback_only: candidates.iter().all(|a| a.ip().is_loopback()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn prefers_ipv4_and_says_whether_only_loopback() {
        let local = resolve("127.0.0.1:0").await.unwrap();
        assert!(local.socket.ip().is_loopback() && local.loopback_only);
        assert!(!resolve("0.0.0.0:0").await.unwrap().loopback_only);
        assert!(resolve("no port here").await.is_err());
    }
}
