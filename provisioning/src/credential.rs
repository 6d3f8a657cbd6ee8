//! The store's key sealed with `systemd-creds`, so it is never on the data disk in the clear:
//! `pathway install` makes a new key and hands it straight to `systemd-creds encrypt` (to the
//! box's TPM2 where it has one, to the host key otherwise), writes the sealed credential beside
//! the configuration, and a unit drop-in (`LoadCredentialEncrypted=`) through which systemd
//! gives it to the running service only, in `$CREDENTIALS_DIRECTORY`. A command run by hand
//! with the service stopped gets it the same way: `systemd-run --pipe --wait -p
//! LoadCredentialEncrypted=store.key:CRED pathway …`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::Context;
use pathway_gateway::config::STORE_KEY_CREDENTIAL;

/// The unit drop-in that loads the credential.
pub(crate) const DROP_IN: &str = "pathway-gateway.service.d/store-key.conf";

/// Whether `systemd-creds` is on this machine.
pub(crate) fn available() -> bool {
    Command::new("systemd-creds")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Seals a new random store key into `cred` (owner-only) with `systemd-creds`, and writes the
/// drop-in under `units` that loads it for the service. The key itself is never written.
pub(crate) fn seal_new_key(cred: &Path, units: &Path) -> anyhow::Result<PathBuf> {
    let key = hex::encode(pathway_shared::crypt::random::<32>());
    let mut child = Command::new("systemd-creds")
        .args(["encrypt", &format!("--name={STORE_KEY_CREDENTIAL}"), "-"])
        .arg(cred)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run systemd-creds")?;
    child
        .stdin
        .take()
        .context("systemd-creds takes no input")?
        .write_all(format!("{key}\n").as_bytes())?;
    let out = child.wait_with_output()?;
    anyhow::ensure!(
        out.status.success(),
        "systemd-creds could not seal the store key: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    std::fs::set_permissions(cred, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    let drop_in = units.join(DROP_IN);
    if let Some(dir) = drop_in.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(
        &drop_in,
        format!(
            "# Written by `pathway install`: the store's key, sealed with systemd-creds, reaches\n# the service only, in $CREDENTIALS_DIRECTORY.\n[Service]\nLoadCredentialEncrypted={STORE_KEY_CREDENTIAL}:{}\n",
            cred.display()
        ),
    )?;
    Ok(drop_in)
}
