//! Plain-HTTP requests to the daemons' status ports on loopback, through reqwest.

use std::net::SocketAddr;

/// Sends `method path`; returns the status code and the body.
pub async fn request(addr: SocketAddr, method: &str, path: &str) -> reqwest::Result<(u16, String)> {
    request_with(addr, method, path, &[]).await
}

/// [`request`] with extra headers.
pub async fn request_with(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Result<(u16, String)> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = reqwest::Client::new().request(method, format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await?;
    let code = resp.status().as_u16();
    Ok((code, resp.text().await?))
}

/// [`request`] with extra headers, answering the body as bytes.
pub async fn request_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Result<(u16, Vec<u8>)> {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut req = reqwest::Client::new().request(method, format!("http://{addr}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await?;
    let code = resp.status().as_u16();
    Ok((code, resp.bytes().await?.to_vec()))
}

/// What a server answered: the status, the headers and the body.
pub struct Answer {
    pub code: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    /// A header's value as text, if it is there and is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// `POST path?query` with `body` and the operator `token` (the status port's actions ask for
/// it), answering the body as bytes.
pub async fn post_bytes(
    addr: SocketAddr,
    path: &str,
    query: &[(&str, &str)],
    body: Vec<u8>,
    token: Option<&str>,
) -> reqwest::Result<Answer> {
    let mut req = reqwest::Client::new()
        .post(format!("http://{addr}{path}"))
        .query(query)
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await?;
    let code = resp.status().as_u16();
    let headers = resp.headers().clone();
    Ok(Answer {
        code,
        headers,
        body: resp.bytes().await?.to_vec(),
    })
}

/// `GET path`, which must answer 200: the body.
pub async fn get(addr: SocketAddr, path: &str) -> String {
    let (code, body) = request(addr, "GET", path).await.expect("HTTP request");
    assert_eq!(code, 200, "GET {path}: {body}");
    body
}
