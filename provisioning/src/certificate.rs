//! `pathway install-cert FILE`, at the gateway: a certificate renewed by hand at the CA
//! (`pathway ca renew-cert` on a copy of the file) put back in place, after the same checks a
//! renewal over the link gets. The gateway's own certificate goes through the running daemon,
//! which presents it at once, or straight to its file while the daemon is stopped; the
//! console's certificate replaces `[lan] cert`, served from the daemon's next start.

use std::path::Path;

use anyhow::Context;
use pathway_gateway::config::GatewayConfig;
use pathway_gateway::renewal::{self, Presented, Renewal};
use pathway_shared::identity::{Credentials, check_pair, expires_at, hub_name, issued_by};
use pathway_shared::model::date_of_ms;

use crate::daemon::{ask_daemon, daemon_refused};

/// Whether `pem` is a certificate for the private key of `key_pem`.
fn fits(pem: &str, key_pem: &str) -> bool {
    check_pair(
        &Credentials {
            cert_pem: pem.to_owned(),
            key_pem: key_pem.to_owned(),
        },
        "certificate",
    )
    .is_ok()
}

pub(crate) async fn install(config: &Path, file: &Path) -> anyhow::Result<String> {
    let cfg = GatewayConfig::load(config)?;
    let pem = std::fs::read_to_string(file).with_context(|| {
        format!(
            "cannot read {}: give the certificate file the national admin renewed",
            file.display()
        )
    })?;
    let files = pathway_gateway::preflight::check(&cfg)?;
    if fits(&pem, &files.creds.key_pem) {
        return match ask_daemon(&cfg, "/certificate", &[], pem.clone().into_bytes()).await {
            Some(a) if a.code == 200 => Ok(String::from_utf8_lossy(&a.body).trim().to_owned()),
            Some(a) => Err(daemon_refused(a.code, &a.body)),
            None => {
                let r = Renewal::new(&cfg, files.ca_pem, Presented::new(files.creds));
                match renewal::take(&r, &pem, "pathway install-cert").map_err(anyhow::Error::msg)? {
                    Some(until) => Ok(format!(
                        "installed in {}: this gateway's certificate is valid until {until} (the old one kept as .previous); start the gateway (systemctl start pathway-gateway) to present it",
                        cfg.tls.cert.display()
                    )),
                    None => Ok(format!(
                        "nothing installed: {} is already this certificate, or one valid for as long",
                        cfg.tls.cert.display()
                    )),
                }
            }
        };
    }
    if let (Some(lan), Some(creds)) = (&cfg.lan, &files.lan)
        && fits(&pem, &creds.key_pem)
    {
        issued_by(&files.ca_pem, &pem).with_context(|| {
            format!(
                "{} is not a valid certificate of the national CA",
                file.display()
            )
        })?;
        let (new, old) = (hub_name(&pem)?, hub_name(&creds.cert_pem)?);
        anyhow::ensure!(
            new == old,
            "{} is for {new}, but the console is reached as {old}",
            file.display()
        );
        let until = |p: &str| expires_at(p, "certificate").unwrap_or(0);
        if until(&pem) <= until(&creds.cert_pem) {
            return Ok(format!(
                "nothing installed: {} is already valid for as long",
                lan.cert.display()
            ));
        }
        renewal::install(&lan.cert, &pem)
            .with_context(|| format!("cannot write {}", lan.cert.display()))?;
        return Ok(format!(
            "installed in {}: the console's certificate is valid until {} (the old one kept as .previous); restart the gateway (systemctl restart pathway-gateway) for the console to serve it",
            lan.cert.display(),
            date_of_ms(until(&pem))
        ));
    }
    anyhow::bail!(
        "{} is not a certificate for this gateway's key ({}) nor its console's: it was renewed for another box, or from another certificate",
        file.display(),
        cfg.tls.key.display()
    )
}
