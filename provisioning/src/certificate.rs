//! `pathway install-cert FILE`, at the gateway: a certificate renewed by hand at the CA
//! (`pathway ca renew-cert` on a copy of the file) put back, after the same checks a renewal
//! over the link gets (`pathway_gateway::by_hand`): through the running daemon, which
//! presents or serves it at once, or straight to its file while the daemon is stopped.

use std::path::Path;

use anyhow::Context;
use pathway_gateway::by_hand::{ByHand, Console};
use pathway_gateway::config::GatewayConfig;
use pathway_gateway::renewal::{Presented, Renewal};

use crate::daemon::{ask_daemon, daemon_refused};

pub(crate) async fn install(config: &Path, file: &Path) -> anyhow::Result<String> {
    let cfg = GatewayConfig::load(config)?;
    let pem = std::fs::read_to_string(file).with_context(|| {
        format!(
            "cannot read {}: give the certificate file the national admin renewed",
            file.display()
        )
    })?;
    let refused = |why: String| anyhow::anyhow!("{} was not installed: {why}", file.display());
    match ask_daemon(&cfg, "/certificate", &[], pem.clone().into_bytes()).await {
        Some(a) if a.code == 200 => Ok(String::from_utf8_lossy(&a.body).trim().to_owned()),
        Some(a) if a.code == 422 => Err(refused(String::from_utf8_lossy(&a.body).trim().into())),
        Some(a) => Err(daemon_refused(a.code, &a.body)),
        None => {
            let files = pathway_gateway::preflight::check(&cfg)?;
            let console = match (&cfg.lan, &files.lan) {
                (Some(l), Some(creds)) => Some(Console::new(l.cert.clone(), creds, None)),
                _ => None,
            };
            let by_hand = ByHand {
                own: Renewal::new(&cfg, files.ca_pem, Presented::new(files.creds)),
                console,
                running: false,
            };
            by_hand.take(&pem).map_err(refused)
        }
    }
}
