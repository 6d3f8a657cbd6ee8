//! `pathway revoke GATEWAY`: puts a gateway on the national revocation list through the hub's
//! administration, as a national administrator. The hub cuts the gateway's session at once and
//! refuses it from then on; the list reaches every gateway.

use std::path::Path;

use anyhow::Context;
use pathway_tests::https::Client;
use serde_json::{Value, json};

pub(crate) struct Revoke<'a> {
    pub(crate) gateway: &'a str,
    pub(crate) reason: &'a str,
    /// `host:port` of the hub's administration.
    pub(crate) hub: &'a str,
    pub(crate) ca: &'a Path,
    pub(crate) user: &'a str,
    pub(crate) password: &'a str,
}

async fn call(
    c: &mut Client,
    path: &str,
    token: &str,
    body: Value,
) -> anyhow::Result<(u16, Value)> {
    let (s, b) = c.send("POST", path, token, &body.to_string()).await?;
    Ok((s, serde_json::from_str(&b).unwrap_or(Value::Null)))
}

pub(crate) async fn run(r: Revoke<'_>) -> anyhow::Result<String> {
    let (host, port) = r
        .hub
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
        .with_context(|| format!("`{}` is not host:port (the hub's [admin] listen)", r.hub))?;
    let ca = std::fs::read_to_string(r.ca)
        .with_context(|| format!("cannot read the national CA certificate {}", r.ca.display()))?;
    let tls = pathway_tests::https::connector(&ca)?;
    let mut c = Client::connect_to(host, port, &tls).await?;
    let (s, v) = call(
        &mut c,
        "/api/login",
        "",
        json!({"username": r.user, "password": r.password}),
    )
    .await?;
    anyhow::ensure!(
        s == 200,
        "the hub refused the log-in of {}: {}",
        r.user,
        v["error"]
    );
    let token = v["token"].as_str().unwrap_or_default().to_owned();
    let path = format!("/api/gateways/{}/revoke", r.gateway);
    let (s, v) = call(&mut c, &path, &token, json!({"reason": r.reason})).await?;
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
