//! `pathway ca renew GATEWAY`: at the CA, renews a gateway's certificate and sends it through
//! the hub. The hub gives the certificate the gateway last presented; the CA issues the same
//! gateway, facility and public key for longer; the hub puts it in the national certificate
//! list, from which the gateway installs it (over the link, or from a courier receipt). No
//! bundle, no private key travels.
//!
//! `pathway ca renew-cert FILE`: a certificate file renewed in place for the same name and key
//! (a gateway's own, which is the way back for one that has expired; the hub's; a gateway's
//! console on the prison LAN). The file is public and is carried to the CA and back, its key
//! never leaving its machine; `pathway install-cert` puts it back at a gateway.

use std::path::Path;

use anyhow::Context;
use pathway_shared::identity::{
    Ca, expires_at, first_cert, gateway_identity, hub_name, public_point,
};
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

/// `pathway ca renew-cert FILE`: renews the certificate in `file` in place (a gateway's own,
/// the hub's, or a console's), the old one kept as `FILE.previous`. The CA's copy of the hub's
/// certificate (which bundles carry) is replaced too when it is the same certificate's.
pub(crate) fn in_place(ca: &Ca, ca_dir: &Path, file: &Path, days: i64) -> anyhow::Result<String> {
    anyhow::ensure!(
        (30..=3650).contains(&days),
        "--days {days}: a renewed certificate is valid for 30 to 3,650 days"
    );
    let old = std::fs::read_to_string(file).with_context(|| {
        format!(
            "cannot read {}: copy the certificate to renew here (a gateway's gateway.pem or lan.pem, or the hub's hub.pem; never a key)",
            file.display()
        )
    })?;
    let gateway = first_cert(&old, "certificate")
        .ok()
        .and_then(|der| gateway_identity(&der).ok());
    let renewed = match &gateway {
        Some(_) => ca.renew_gateway(&old, days),
        None => ca.renew_server(&old, days),
    }
    .with_context(|| {
        format!(
            "{} cannot be renewed by this CA (is --dir the national CA that issued it?)",
            file.display()
        )
    })?;
    pathway_gateway::renewal::install(file, &renewed)
        .with_context(|| format!("cannot write {}", file.display()))?;
    let kept = ca_dir.join("hub.pem");
    let key_of = |pem: &str| {
        first_cert(pem, "certificate")
            .ok()
            .and_then(|der| public_point(&der).ok())
    };
    if std::fs::read_to_string(&kept)
        .is_ok_and(|k| key_of(&k).is_some() && key_of(&k) == key_of(&old))
    {
        std::fs::write(&kept, &renewed)
            .with_context(|| format!("cannot write {}", kept.display()))?;
    }
    let until = date(expires_at(&renewed, "certificate")?);
    let was = date(expires_at(&old, "certificate")?);
    let (whose, then) = match &gateway {
        Some(g) => (
            format!("{}'s certificate", g.gateway),
            format!(
                "carry it back to the gateway and install it there with `pathway install-cert {}` (while the gateway reaches the hub, `pathway ca renew {}` sends a renewal over the link instead)",
                file.display(),
                g.gateway
            ),
        ),
        None => (
            format!("the certificate for {}", hub_name(&renewed)?),
            format!(
                "its key is unchanged: at a gateway install it with `pathway install-cert {}`; for the hub, put it in place of its [tls] cert and reload it (`systemctl reload pathway-hub`: no session is cut)",
                file.display()
            ),
        ),
    };
    Ok(format!(
        "{whose} in {} is renewed until {until} (it was valid until {was}); the old one is kept as {}.previous. {then}.",
        file.display(),
        file.display()
    ))
}
