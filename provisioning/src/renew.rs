//! `pathway ca renew GATEWAY`: at the CA, renews a gateway's certificate and sends it through
//! the hub. The hub gives the certificate the gateway last presented; the CA issues the same
//! gateway, facility and public key for longer; the hub puts it in the national certificate
//! list, from which the gateway installs it (over the link, or from a courier receipt). No
//! bundle, no private key travels.

use anyhow::Context;
use pathway_shared::identity::{Ca, expires_at};
use serde_json::json;

use crate::revoke::{AdminLogin, admin_session, call};

use pathway_shared::model::date_of_ms as date;

pub(crate) async fn run(
    ca: &Ca,
    gateway: &str,
    days: i64,
    login: &AdminLogin<'_>,
) -> anyhow::Result<String> {
    anyhow::ensure!(
        (30..=3650).contains(&days),
        "--days {days}: a renewed certificate is valid for 30 to 3,650 days"
    );
    let (mut c, token) = admin_session(login).await?;
    let path = format!("/api/gateways/{gateway}/certificate");
    let (s, v) = call(&mut c, "GET", &path, &token, None).await?;
    anyhow::ensure!(
        s == 200,
        "the hub has no certificate of {gateway} to renew: {}",
        v["error"]
    );
    anyhow::ensure!(
        v["revoked"] != true,
        "{gateway} is revoked; enrol a new gateway instead of renewing this one"
    );
    let old = v["cert_pem"].as_str().unwrap_or_default();
    let renewed = ca.renew_gateway(old, days).with_context(|| {
        format!("the certificate {gateway} presents was not issued by this CA (is --dir the national CA?)")
    })?;
    let (s, v) = call(
        &mut c,
        "POST",
        &path,
        &token,
        Some(json!({ "cert_pem": renewed })),
    )
    .await?;
    anyhow::ensure!(
        s == 200,
        "the hub did not take the renewed certificate of {gateway}: {}",
        v["error"]
    );
    let until = date(expires_at(&renewed, "certificate")?);
    let was = date(expires_at(old, "certificate")?);
    let when = if v["online"] == true {
        "it is connected now and installs it within seconds"
    } else {
        "it installs it on its next sync, or, with no link, from the receipt of its next courier file"
    };
    Ok(format!(
        "{gateway}'s certificate is renewed until {until} (it was valid until {was}) and sent through the hub; {when}, then reconnects to present it. `pathway doctor` at the facility shows the new date."
    ))
}
