//! The LAN port over real HTTPS, as staff browsers and an attacker on the LAN reach it: TLS
//! with the gateway's LAN certificate; slow and idle clients are cut off and one address
//! cannot hold more than its share of connections, so staff on other devices are still
//! answered.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

mod common;
use common::*;

struct Port {
    addr: SocketAddr,
    tls: tokio_rustls::TlsConnector,
    stop: tokio_util::sync::CancellationToken,
    _site: Site,
}

fn serve() -> Port {
    use rustls::pki_types::pem::PemObject;
    let site = site();
    let ca = pathway_shared::identity::Ca::generate("Pathway test CA").unwrap();
    let creds = ca.issue_hub("localhost").unwrap();
    let tls = pathway_shared::identity::lan_server_tls(&creds).unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let (addr, _) = pathway_shared::web::serve_https(
        "127.0.0.1:0".parse().unwrap(),
        axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls)),
        site.app.clone(),
        stop.clone(),
    )
    .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca.creds.cert_pem.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    Port {
        addr,
        tls: tokio_rustls::TlsConnector::from(Arc::new(client)),
        stop,
        _site: site,
    }
}

/// A TCP connection to the port from the loopback address `from`.
async fn tcp_from(from: &str, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(format!("{from}:0").parse().unwrap()).unwrap();
    s.connect(to).await.unwrap()
}

/// `GET /api/me` from `from` over TLS: the answer's status line.
async fn ask(port: &Port, from: &str) -> String {
    let tcp = tcp_from(from, port.addr).await;
    let mut tls = port
        .tls
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    tls.write_all(b"GET /api/me HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether the server closed `s` within `wait`.
async fn closed_within(s: &mut (impl AsyncReadExt + Unpin), wait: Duration) -> bool {
    let mut b = [0u8; 512];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut b)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_answers_over_https_with_the_lan_certificate() {
    let port = serve();
    let out = ask(&port, "127.0.0.1").await;
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    assert!(out.contains("log in first"), "{out}");
    port.stop.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_clients_cannot_take_the_port() {
    let port = serve();
    // One device opens connections and sends nothing: past its share, each is closed at once.
    let mut held = Vec::new();
    for _ in 0..pathway_shared::web::conns::PER_CLIENT {
        held.push(tcp_from("127.0.0.66", port.addr).await);
    }
    // Each connection is counted by its own task: let those run before the one past the cap
    // comes, or a loaded machine may count the extra one before some of the first.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut extra = tcp_from("127.0.0.66", port.addr).await;
    assert!(
        closed_within(&mut extra, Duration::from_secs(3)).await,
        "a connection past the per-client cap stays open"
    );
    // Another device is answered at once.
    let t = Instant::now();
    let out = ask(&port, "127.0.0.7").await;
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());

    // A client that finishes TLS, then sends its headers a byte at a time, is cut off once
    // the header timeout passes.
    let tcp = tcp_from("127.0.0.8", port.addr).await;
    let mut slow = port
        .tls
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let t = Instant::now();
    let dripping = async {
        for b in
            b"GET /api/me HTTP/1.1\r\nHost: localhost\r\nX-Pad: aaaaaaaaaaaaaaaaaaaaaaaa".iter()
        {
            if slow.write_all(&[*b]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    };
    let _ = tokio::time::timeout(
        pathway_shared::web::conns::HEADER_TIMEOUT + Duration::from_secs(5),
        dripping,
    )
    .await;
    assert!(
        closed_within(&mut slow, Duration::from_secs(2)).await,
        "a slow client held its connection for {:?}",
        t.elapsed()
    );
    assert!(t.elapsed() <= pathway_shared::web::conns::HEADER_TIMEOUT + Duration::from_secs(6));
    // The idle connections that never began TLS are closed by the handshake timeout.
    let mut first = held.swap_remove(0);
    assert!(closed_within(&mut first, Duration::from_secs(2)).await);
    drop(held);
    port.stop.cancel();
}
