//! `pathway backup` and `pathway restore`: a consistent backup of the running gateway's store
//! (taken by the daemon, through its status port), and a store made again from one.

use std::path::Path;

use anyhow::Context;
use pathway_gateway::config::GatewayConfig;
use pathway_shared::store::{RestoreError, Store, StoreError, StoreOptions};

/// Asks the running gateway for a backup and writes it to `out` (owner-only).
pub(crate) async fn backup(config: &Path, out: &Path) -> anyhow::Result<String> {
    let cfg = GatewayConfig::load(config)?;
    let addr = cfg.status_listen.with_context(|| {
        format!(
            "{} turns the status port off (status_listen = \"\"): the backup is taken through it",
            config.display()
        )
    })?;
    let working = crate::working::Working::start("the gateway is taking the backup");
    let token = crate::daemon::operator_token(&cfg).with_context(|| {
        format!(
            "cannot read the operator token {}: run this as root (or as the gateway's user), with the gateway running",
            cfg.operator_token_path().display()
        )
    })?;
    let auth = format!("Bearer {token}");
    let (code, bytes) =
        pathway_provisioning::http::request_bytes(addr, "POST", "/backup", &[("authorization", &auth)])
            .await
        .with_context(|| {
            format!("the gateway does not answer on {addr}: is it running? (systemctl status pathway-gateway)")
        })?;
    anyhow::ensure!(
        code == 200,
        "the gateway refused the backup ({code}): {}",
        String::from_utf8_lossy(&bytes)
    );
    crate::files::write_private(out, &bytes)?;
    drop(working);
    Ok(format!(
        "backup of {} written to {} ({} KiB). Keep it with a copy of the key file {}: without it the backup does not open.",
        cfg.gateway_id,
        out.display(),
        bytes.len() >> 10,
        cfg.store_key.display()
    ))
}

/// Makes the gateway's store again from `from`, with the gateway stopped. With `replace`, a
/// store already there is moved aside first (never deleted).
pub(crate) fn restore(
    config: &Path,
    from: &Path,
    replace: bool,
    trust_unauthenticated: bool,
) -> anyhow::Result<String> {
    let cfg = GatewayConfig::load(config)?;
    let data = &cfg.data_dir;
    // The backup is checked against this box's key file before anything is touched: a wrong
    // or lost key leaves the store where it is.
    Store::check_backup(from, Some(cfg.key_file()), trust_unauthenticated)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut moved = None;
    if data.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        if !replace {
            anyhow::bail!(
                "{} already holds a store; stop the gateway and add --replace to move it aside (it is kept, not deleted)",
                data.display()
            );
        }
        // Refused while the daemon holds it.
        match Store::open(data, StoreOptions::keyed(cfg.key_file())) {
            Err(StoreError::InUse { .. }) => anyhow::bail!(
                "the gateway is running and holds its store: stop it (systemctl stop pathway-gateway) and run this again"
            ),
            Ok(s) => drop(s),
            Err(_) => {}
        }
        let aside = data.with_file_name(format!(
            "{}.before-restore-{}",
            data.file_name().and_then(|n| n.to_str()).unwrap_or("data"),
            pathway_shared::clock::now_ms() / 1000
        ));
        std::fs::rename(data, &aside)
            .with_context(|| format!("cannot move {} aside", data.display()))?;
        moved = Some(aside);
    }
    let working = crate::working::Working::start(format!("restoring {}", from.display()));
    let stats = Store::restore(data, from, Some(cfg.key_file()), trust_unauthenticated).map_err(
        |e| match e {
            RestoreError::Store(e) => anyhow::Error::from(e),
            e => anyhow::anyhow!("{e}"),
        },
    )?;
    // The key file must be the one the backup's store was sealed under.
    let store = open_when_free(data, cfg.key_file()).with_context(|| {
        format!(
            "the backup was restored into {} but does not open with the key file {}: restore that store's key file too",
            data.display(),
            cfg.store_key.display()
        )
    })?;
    let actor = store.actor().to_hex_string();
    drop(store);
    drop(working);
    let mut said = format!(
        "restored {} entries into {} (the backup's last change: #{}); the store writes as a new node ({}…).\nStart the gateway: the changes made after the backup that reached the hub come back on the next sync; changes made after it that never reached the hub are lost.",
        stats.entries,
        data.display(),
        stats.last_seq,
        &actor[..actor.len().min(12)]
    );
    if let Some(a) = moved {
        said.push_str(&format!(
            "\nThe store that was there is kept at {}.",
            a.display()
        ));
    }
    Ok(said)
}

/// Makes a new, empty store for a gateway whose store is lost or cannot be opened, to be filled
/// again from the hub; the old one is moved aside (kept). Says how many changes had not reached
/// the hub, if the old store still opens.
pub(crate) fn rebuild(config: &Path) -> anyhow::Result<String> {
    let cfg = GatewayConfig::load(config)?;
    let data = &cfg.data_dir;
    let mut said = String::new();
    if data.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        match Store::open(data, StoreOptions::keyed(cfg.key_file())) {
            Err(StoreError::InUse { .. }) => anyhow::bail!(
                "the gateway is running and holds its store: stop it (systemctl stop pathway-gateway) and run this again"
            ),
            Ok(old) => {
                let _working = crate::working::Working::start("counting what had not reached the hub");
                let waiting = pathway_shared::sync::gateway_backlog(&old, "hub", None)?;
                let n: u64 = waiting.backlog.iter().map(|b| b.changes).sum();
                said.push_str(&format!(
                    "the old store still opens: {n} change(s) in it had not reached the hub and will not be in the rebuilt one (the old store is kept).\n"
                ));
            }
            Err(e) => said.push_str(&format!(
                "the old store does not open ({e}); how much in it had not reached the hub cannot be told.\n"
            )),
        }
        let aside = data.with_file_name(format!(
            "{}.before-rebuild-{}",
            data.file_name().and_then(|n| n.to_str()).unwrap_or("data"),
            pathway_shared::clock::now_ms() / 1000
        ));
        std::fs::rename(data, &aside)
            .with_context(|| format!("cannot move {} aside", data.display()))?;
        said.push_str(&format!("It is kept at {}.\n", aside.display()));
    }
    Store::for_rebuild(data).map_err(|e| anyhow::anyhow!("{e}"))?;
    said.push_str(&format!(
        "An empty store is ready at {}. Start the gateway: it fills again from the hub, and asks staff to wait until it has everything.",
        data.display()
    ));
    Ok(said)
}

/// Opens the store at `path`, waiting a few seconds for this process's own handle on it (the
/// restore's) to be let go: sled releases its lock when its last thread is done with it.
fn open_when_free(path: &Path, key: &Path) -> Result<Store, StoreError> {
    let start = std::time::Instant::now();
    loop {
        match Store::open(path, StoreOptions::keyed(key)) {
            Err(StoreError::InUse { .. })
                if start.elapsed() < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}
