//! The keys a box holds: each readable by its owner only, and where the store's key is kept
//! (sealed with systemd-creds, or a file, and on which disk).

use super::*;

/// Keys readable by anyone but their owner; and where the store's key is kept.
pub(super) fn permissions(cfg: &GatewayConfig) -> Vec<Line> {
    let sealed = cfg.store_key.with_file_name("store.key.cred");
    let mut keys = vec![cfg.tls.key.clone()];
    // A key sealed with systemd-creds has no file in the clear to check.
    if !sealed.exists() || cfg.store_key.exists() {
        keys.push(cfg.store_key.clone());
    }
    keys.extend(cfg.lan.iter().map(|l| l.key.clone()));
    let mut out = key_permissions(&keys, (&cfg.store_key, &cfg.data_dir));
    out.push(store_key_kept(cfg, &sealed));
    out
}

/// Where the store's key is: sealed with systemd-creds, or a file; a file on the data's own
/// filesystem opens every record for whoever takes the disk.
pub(super) fn store_key_kept(cfg: &GatewayConfig, sealed: &Path) -> Line {
    use std::os::unix::fs::MetadataExt;
    if sealed.exists() && !cfg.store_key.exists() {
        return line(
            Verdict::Ok,
            "at rest",
            format!(
                "the store's key is sealed with systemd-creds ({}); systemd hands it to the service only",
                sealed.display()
            ),
        );
    }
    let device = |p: &Path| {
        p.ancestors()
            .find_map(|a| std::fs::metadata(a).ok())
            .map(|m| m.dev())
    };
    if cfg.store_key.exists() && device(&cfg.store_key) == device(&cfg.data_dir) {
        return line(
            Verdict::Warn,
            "at rest",
            format!(
                "the store's key {} is a file on the same disk as the store ({}): whoever takes the disk opens every record. Seal it with systemd-creds (`pathway install --store-key sealed` on a new box), or keep it on other media",
                cfg.store_key.display(),
                cfg.data_dir.display()
            ),
        );
    }
    if !cfg.store_key.exists() {
        return line(
            Verdict::Ok,
            "at rest",
            format!(
                "the store's key will be the file {}, made on the first start",
                cfg.store_key.display()
            ),
        );
    }
    line(
        Verdict::Ok,
        "at rest",
        format!(
            "the store's key {} is not on the store's disk",
            cfg.store_key.display()
        ),
    )
}

/// Each of `keys` readable by its owner only; the store's key (`store.0`) may be missing while
/// its data folder (`store.1`) holds no store yet: it is made on the first start.
pub(super) fn key_permissions(keys: &[PathBuf], store: (&Path, &Path)) -> Vec<Line> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = Vec::new();
    for key in keys {
        match std::fs::metadata(key) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => out.push(line(
                Verdict::Fail,
                "permissions",
                format!(
                    "{} can be read by others (mode {:o}): run `chmod 600 {}`",
                    key.display(),
                    m.permissions().mode() & 0o777,
                    key.display()
                ),
            )),
            Ok(_) => {}
            // Made on the first start, with the store: a folder that holds no store yet (as
            // `pathway install` leaves it) needs no key yet.
            Err(_) if key == store.0 && no_store_yet(store.1) => {}
            Err(e) => out.push(line(
                Verdict::Fail,
                "permissions",
                format!("{}: {e}", key.display()),
            )),
        }
    }
    if out.is_empty() {
        out.push(line(
            Verdict::Ok,
            "permissions",
            "keys are readable by their owner only",
        ));
    }
    out
}
