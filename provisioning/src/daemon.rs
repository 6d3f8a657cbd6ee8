//! The running gateway, reached on its status port by the commands that work through it
//! (courier files, renewed certificates), or its store opened here while it is stopped.

use anyhow::Context;
use pathway_gateway::config::GatewayConfig;
use pathway_shared::store::{Store, StoreError, StoreOptions};

/// What the daemon answered, or `None` if no daemon answers on the status port.
pub(crate) async fn ask_daemon(
    cfg: &GatewayConfig,
    path: &str,
    query: &[(&str, &str)],
    body: Vec<u8>,
) -> Option<pathway_provisioning::http::Answer> {
    let addr = cfg.status_listen?;
    pathway_provisioning::http::post_bytes(addr, path, query, body)
        .await
        .ok()
}

/// The gateway's store, opened here because the daemon is not running.
pub(crate) fn own_store(cfg: &GatewayConfig) -> anyhow::Result<Store> {
    match Store::open(&cfg.data_dir, StoreOptions::keyed(&cfg.store_key)) {
        Ok(s) => Ok(s),
        Err(StoreError::InUse { .. }) => anyhow::bail!(
            "the gateway holds its store but does not answer on its status port: check `status_listen` in the configuration, or stop it (systemctl stop pathway-gateway) and run this again"
        ),
        Err(e) => {
            Err(e).with_context(|| format!("cannot open the store at {}", cfg.data_dir.display()))
        }
    }
}

pub(crate) fn daemon_refused(code: u16, body: &[u8]) -> anyhow::Error {
    anyhow::anyhow!(
        "the gateway refused ({code}): {}",
        String::from_utf8_lossy(body).trim()
    )
}
