//! The fleet through the hub's administration, as a national administrator: `pathway revoke
//! GATEWAY` puts a gateway on the national revocation list (the hub cuts its session at once and
//! refuses it from then on; the list reaches every gateway), and `pathway enrol --hub-admin`
//! registers a new one.

use std::path::Path;

use anyhow::Context;
use pathway_provisioning::https::Client;
use serde_json::{Value, json};

pub(crate) struct Revoke<'a> {
    pub(crate) gateway: &'a str,
    pub(crate) reason: &'a str,
    pub(crate) login: AdminLogin<'a>,
}

/// Sends `body` (none for a GET) and reads the JSON answer.
pub(crate) async fn call(
    c: &mut Client,
    method: &str,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> anyhow::Result<(u16, Value)> {
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let (s, b) = c.send(method, path, token, &body).await?;
    Ok((s, serde_json::from_str(&b).unwrap_or(Value::Null)))
}

async fn post(
    c: &mut Client,
    path: &str,
    token: &str,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    call(c, "POST", path, token, Some(body)).await
}

/// Where and as whom to reach the hub's administration.
pub(crate) struct AdminLogin<'a> {
    /// `host:port` of the hub's administration.
    pub(crate) hub: &'a str,
    pub(crate) ca: &'a Path,
    pub(crate) user: &'a str,
    pub(crate) password: &'a str,
}

/// Logs in to the hub's administration: the connection and the session token.
pub(crate) async fn admin_session(a: &AdminLogin<'_>) -> anyhow::Result<(Client, String)> {
    let (host, port) = a
        .hub
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .with_context(|| format!("`{}` is not host:port (the hub's [admin] listen)", a.hub))?;
    let ca = std::fs::read_to_string(a.ca)
        .with_context(|| format!("cannot read the national CA certificate {} (the hub's administration is checked against it): give its path with --ca", a.ca.display()))?;
    let tls = pathway_provisioning::https::connector(&ca)?;
    let mut c = Client::connect_to(host, port, &tls).await?;
    let (s, v) = post(
        &mut c,
        "/api/login",
        "",
        json!({"username": a.user, "password": a.password}),
    )
    .await?;
    anyhow::ensure!(
        s == 200,
        "the hub refused the log-in of {}: {}",
        a.user,
        v["error"]
    );
    let token = v["token"].as_str().unwrap_or_default().to_owned();
    Ok((c, token))
}

/// The administrator's password: PATHWAY_ADMIN_PASSWORD, or a line typed at the prompt.
pub(crate) fn admin_password(user: &str) -> anyhow::Result<String> {
    crate::secret::ask(&format!("password of {user}"), "PATHWAY_ADMIN_PASSWORD")
}

pub(crate) async fn run(r: Revoke<'_>) -> anyhow::Result<String> {
    let (mut c, token) = admin_session(&r.login).await?;
    let path = format!("/api/gateways/{}/revoke", r.gateway);
    let (s, v) = post(&mut c, &path, &token, json!({"reason": r.reason})).await?;
    anyhow::ensure!(
        s == 200,
        "the hub did not revoke {}: {}",
        r.gateway,
        v["error"]
    );
    Ok(if v["already"] == true {
        format!(
            "{} was already revoked; its session, if any, is cut",
            r.gateway
        )
    } else {
        format!(
            "{} is revoked: its session is cut and the hub refuses it from now on; the list reaches every gateway on its next sync",
            r.gateway
        )
    })
}

/// Registers `gateway` of `facility` at the hub (`POST /api/gateways`), so the fleet lists it
/// before it first connects.
pub(crate) async fn register(
    gateway: &str,
    facility: &str,
    login: AdminLogin<'_>,
) -> anyhow::Result<String> {
    let (mut c, token) = admin_session(&login).await?;
    let (s, v) = post(
        &mut c,
        "/api/gateways",
        &token,
        json!({"gateway": gateway, "facility": facility}),
    )
    .await?;
    anyhow::ensure!(
        s == 200 || s == 201,
        "the hub did not register {gateway}: {}; no bundle was made",
        v["error"].as_str().unwrap_or("no reason given")
    );
    Ok(if s == 201 {
        format!("{gateway} is registered at the hub for {facility}: the fleet lists it from now on")
    } else {
        format!("{gateway} was registered at the hub for {facility} already")
    })
}
