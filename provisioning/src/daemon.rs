//! The running gateway, reached on its status port by the commands that work through it
//! (courier files, renewed certificates), or its store opened here while it is stopped.

use anyhow::Context;
use pathway_gateway::config::GatewayConfig;
use pathway_shared::store::{Store, StoreError, StoreOptions};

/// What the daemon answered, or `None` if no daemon answers on the status port. The request
/// carries the operator token the running daemon wrote (readable by its user and root).
pub(crate) async fn ask_daemon(
    cfg: &GatewayConfig,
    path: &str,
    query: &[(&str, &str)],
    body: Vec<u8>,
) -> Option<pathway_provisioning::http::Answer> {
    let addr = cfg.status_listen?;
    let token = operator_token(cfg);
    pathway_provisioning::http::post_bytes(addr, path, query, body, token.as_deref())
        .await
        .ok()
}

/// The running daemon's operator token, if this user may read it.
pub(crate) fn operator_token(cfg: &GatewayConfig) -> Option<String> {
    std::fs::read_to_string(cfg.operator_token_path())
        .ok()
        .map(|t| t.trim().to_owned())
}

/// Who ran this command, as the system knows them (through sudo, the user behind it).
pub(crate) fn invoking_user() -> String {
    std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "an unknown user".to_owned())
}

/// The gateway's store, opened here because the daemon is not running.
pub(crate) fn own_store(cfg: &GatewayConfig) -> anyhow::Result<Store> {
    match Store::open(&cfg.data_dir, StoreOptions::keyed(cfg.key_file())) {
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
