//! A minimal HTTP/1.1 client, one request per connection, for tests on loopback: the daemons'
//! plain-HTTP status port, and chromedriver's WebDriver endpoint.

use std::net::SocketAddr;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// Sends `method path` with `body`; returns the status line's code and the body.
pub async fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(
        format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .await?;
    let mut r = BufReader::new(s);
    let mut line = String::new();
    r.read_line(&mut line).await?;
    let code = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut len = None;
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            break;
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
            len = v.trim().parse::<usize>().ok();
        }
    }
    let body = match len {
        Some(n) => {
            let mut buf = vec![0; n];
            r.read_exact(&mut buf).await?;
            String::from_utf8_lossy(&buf).into_owned()
        }
        None => {
            let mut out = String::new();
            r.read_to_string(&mut out).await?;
            out
        }
    };
    Ok((code, body))
}

/// Sends `method path` with no body.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    request_with(addr, method, path, "").await
}

/// Sends `method path` with a JSON body (none for `null`); returns the code and the parsed body.
pub async fn json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> std::io::Result<(u16, serde_json::Value)> {
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let (code, text) = request_with(addr, method, path, &body).await?;
    Ok((
        code,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::Null),
    ))
}

/// `GET path`, which must answer 200: the body.
pub async fn get(addr: SocketAddr, path: &str) -> String {
    let (code, body) = request(addr, "GET", path).await.expect("HTTP request");
    assert_eq!(code, 200, "GET {path}: {body}");
    body
}
