//! A minimal HTTP/1.0 client for tests of the daemons' plain-HTTP status port on loopback.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends `method path` and returns the status line's code and the body.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(
        format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut out = String::new();
    s.read_to_string(&mut out).await?;
    let code = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map_or(String::new(), |(_, b)| b.to_owned());
    Ok((code, body))
}

/// `GET path`, which must answer 200: the body.
pub async fn get(addr: SocketAddr, path: &str) -> String {
    let (code, body) = request(addr, "GET", path).await.expect("HTTP request");
    assert_eq!(code, 200, "GET {path}: {body}");
    body
}
