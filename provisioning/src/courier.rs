//! `pathway courier`: changes carried by hand for a site with no link. `export` (at the
//! gateway) writes a file for the hub; `import` (anywhere that reaches the hub's
//! administration) hands it to the hub and writes the receipt; `receipt` (at the gateway)
//! takes the receipt back. At the gateway, the running daemon does the work through its status
//! port; with the daemon stopped, the store is opened directly.

use std::path::Path;

use anyhow::Context;
use pathway_gateway::config::GatewayConfig;
use pathway_gateway::courier::{self, Keys};
use serde_json::Value;

use crate::daemon::{ask_daemon, daemon_refused, own_store};
use crate::files::write_private;
use crate::revoke::{AdminLogin, admin_session};

/// `pathway courier export`.
pub(crate) async fn export(config: &Path, out: &Path, carried_by: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        !carried_by.trim().is_empty(),
        "--carried-by: say who carries the file (it is recorded at the hub)"
    );
    let cfg = GatewayConfig::load(config)?;
    // Who carries it, and who made it here: the account that ran this command.
    let carried = format!(
        "{} (exported by {})",
        carried_by.trim(),
        crate::daemon::invoking_user()
    );
    let carried_by = carried.as_str();
    let working = crate::working::Working::start("writing the courier file");
    let (bytes, changes) = match ask_daemon(
        &cfg,
        "/courier/export",
        &[("carried_by", carried_by)],
        Vec::new(),
    )
    .await
    {
        Some(a) if a.code == 200 => {
            let changes = a.header("x-pathway-changes").and_then(|n| n.parse().ok());
            (a.body, changes)
        }
        Some(a) => return Err(daemon_refused(a.code, &a.body)),
        None => {
            let keys = Keys::load(&cfg)?;
            let store = own_store(&cfg)?;
            let (bytes, summary) = courier::export(
                &store,
                &keys,
                carried_by.trim(),
                pathway_shared::clock::now_ms(),
            )?;
            (bytes, Some(summary.changes))
        }
    };
    write_private(out, &bytes)?;
    drop(working);
    let kib = bytes.len().div_ceil(1024);
    let then = "Carry it to the hub's administrator (`pathway courier import`), then bring the receipt back here: `pathway courier receipt FILE`.";
    Ok(match changes {
        Some(0) => format!(
            "courier file for the hub written to {} ({kib} KiB), sealed so only the hub opens it. No change of this gateway's is waiting for the hub: the file carries none, and its receipt brings back what the hub holds for this gateway (staff accounts, the catalogue, moves, a renewed certificate).\n{then}",
            out.display()
        ),
        _ => format!(
            "courier file for the hub written to {} ({}{kib} KiB), sealed so only the hub opens it.\n{then} Until then the changes stay waiting here, and go over the link too if it comes back.",
            out.display(),
            changes.map_or(String::new(), |n| format!("{n} change(s), "))
        ),
    })
}

/// `pathway courier import`: at the hub's administration.
pub(crate) async fn import(
    file: &Path,
    login: &AdminLogin<'_>,
    receipt_out: &Path,
) -> anyhow::Result<String> {
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let (mut c, token) = admin_session(login).await?;
    let working = crate::working::Working::start("the hub is taking the file");
    let (code, body) = c
        .send_bytes(
            "POST",
            "/api/courier",
            &token,
            ("application/octet-stream", &bytes),
        )
        .await?;
    drop(working);
    let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    anyhow::ensure!(
        code == 200,
        "the hub did not take {}: {}",
        file.display(),
        v["error"].as_str().unwrap_or("no reason given")
    );
    let receipt = hex::decode(v["receipt"].as_str().unwrap_or_default())
        .context("the hub's answer holds no receipt")?;
    write_private(receipt_out, &receipt)?;
    let mut said = if v["again"] == true {
        format!(
            "{} was imported before: nothing changed. Its receipt is written again to {}.",
            file.display(),
            receipt_out.display()
        )
    } else {
        format!(
            "the hub took {} change(s) from {} ({}), carried by {}. Receipt written to {}: carry it back to the gateway (`pathway courier receipt {}`).",
            v["changes"],
            v["gateway"].as_str().unwrap_or("?"),
            v["facility"].as_str().unwrap_or("?"),
            v["carried_by"].as_str().unwrap_or("?"),
            receipt_out.display(),
            receipt_out
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("RECEIPT")
        )
    };
    if let Some(n) = v["back_changes"].as_u64().filter(|n| *n > 0) {
        said.push_str(&format!(
            "\nThe receipt also carries {n} change(s) from the hub for the gateway (staff accounts, the catalogue, moves)."
        ));
    }
    if v["renewed_certificate"] == true {
        said.push_str("\nThe receipt also carries the gateway's renewed certificate.");
    }
    for r in v["refused"].as_array().into_iter().flatten() {
        said.push_str(&format!(
            "\nrefused {}: {}",
            r["doc"].as_str().unwrap_or("?"),
            r["reason"].as_str().unwrap_or("?")
        ));
    }
    Ok(said)
}

/// `pathway courier receipt`.
pub(crate) async fn receipt(config: &Path, file: &Path) -> anyhow::Result<String> {
    let cfg = GatewayConfig::load(config)?;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    match ask_daemon(&cfg, "/courier/receipt", &[], bytes.clone()).await {
        Some(a) if a.code == 200 => Ok(String::from_utf8_lossy(&a.body).trim().to_owned()),
        Some(a) => Err(daemon_refused(a.code, &a.body)),
        None => {
            let keys = Keys::load(&cfg)?;
            let store = own_store(&cfg)?;
            let r = courier::receipt(&store, &keys, &bytes, pathway_shared::clock::now_ms())?;
            Ok(courier::receipt_words(&r))
        }
    }
}
