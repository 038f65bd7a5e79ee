//! Clients that are slow or many: a request's headers must arrive in time, and a burst of
//! connections is queued, not dropped.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::harness::Harness;

#[tokio::test(flavor = "multi_thread")]
async fn a_client_dribbling_its_headers_is_cut_off() {
    let h = Harness::start(0, &[("CODEXMANAGER_HEADER_READ_TIMEOUT_SECS", "1")]).await;
    let addr = h.base.trim_start_matches("http://").to_string();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = Instant::now();
    let request = b"POST /v1/responses HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut closed = false;
    for byte in request.iter().chain(std::iter::repeat(&b'a')).take(60) {
        if stream.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        let mut buf = [0u8; 512];
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                closed = true;
                break;
            }
            Ok(Ok(_)) => {
                closed = true;
                break;
            }
            Err(_) => {}
        }
    }
    assert!(closed, "the connection stayed open for {:?}", started.elapsed());
    assert!(started.elapsed() < Duration::from_secs(4), "cut off after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_connections_is_queued_by_the_listen_backlog() {
    let listener = codexmanager::server::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    // Nobody accepts: the kernel completes the handshakes into the backlog. With the usual
    // 128, the rest would wait a second for a SYN retry.
    let started = Instant::now();
    let connects =
        (0..2_000).map(|_| tokio::time::timeout(Duration::from_millis(900), tokio::net::TcpStream::connect(addr)));
    let results = futures_util::future::join_all(connects).await;
    let connected = results.iter().filter(|r| matches!(r, Ok(Ok(_)))).count();
    assert_eq!(connected, 2_000, "connected within 900 ms: {connected} (in {:?})", started.elapsed());
    drop(listener);
}
