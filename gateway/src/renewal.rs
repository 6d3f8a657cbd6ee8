//! Certificate renewal over the link. The national administrator renews a gateway's
//! certificate with the CA (`pathway ca renew`: the same gateway, facility and public key,
//! valid for longer) and sends it through the hub, which puts it in the national
//! [`CertificateList`]. Each gateway watches the list for its own entry and installs it once it
//! checks: issued by the national CA, naming this gateway and facility, matching the key the
//! gateway already holds (the private key never travels), and valid for longer than the one in
//! use. The file is replaced whole (the old one kept as `.previous`), and the uplink dials again
//! to present the new certificate.
//!
//! A certificate renewed by hand is taken with the same checks (`by_hand.rs`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pathway_shared::identity::{
    Credentials, check_pair, expires_at, first_cert, gateway_identity, issued_by,
};
use pathway_shared::model::{CertificateList, certificates_id, date_of_ms};
use pathway_shared::store::Store;
use tokio_util::sync::CancellationToken;

use crate::lock;

/// The certificate and key the uplink presents to the hub: one handle, shared by the uplink,
/// courier files, the status and the console, which renewal updates in place. Each
/// replacement is signalled, so the uplink can present the new certificate at once.
#[derive(Debug)]
pub struct Presented {
    creds: Mutex<Credentials>,
    replaced: tokio::sync::watch::Sender<u64>,
}

impl Presented {
    pub fn new(creds: Credentials) -> Arc<Presented> {
        Arc::new(Presented {
            creds: Mutex::new(creds),
            replaced: tokio::sync::watch::Sender::new(0),
        })
    }

    /// The certificate and key in use.
    pub fn current(&self) -> Credentials {
        lock(&self.creds).clone()
    }

    /// When the certificate in use expires (ms since the epoch), if it can be read.
    pub fn expires(&self) -> Option<pathway_shared::model::Millis> {
        expires_at(&lock(&self.creds).cert_pem, "gateway certificate").ok()
    }

    /// Signals each replacement of the certificate.
    pub fn replacements(&self) -> tokio::sync::watch::Receiver<u64> {
        self.replaced.subscribe()
    }

    fn replace_certificate(&self, pem: String) {
        lock(&self.creds).cert_pem = pem;
        self.replaced.send_modify(|n| *n += 1);
    }
}

/// What the watcher checks a renewal against, and where it installs it.
#[derive(Debug, Clone)]
pub struct Renewal {
    pub gateway: String,
    pub facility: String,
    pub ca_pem: String,
    /// The certificate file the configuration names.
    pub cert_path: PathBuf,
    /// The credentials the uplink dials with: replaced when a renewal is installed.
    pub creds: Arc<Presented>,
}

impl Renewal {
    /// The renewal the configuration names, updating `creds` when one is installed.
    pub fn new(cfg: &crate::GatewayConfig, ca_pem: String, creds: Arc<Presented>) -> Renewal {
        Renewal {
            gateway: cfg.gateway_id.clone(),
            facility: cfg.facility.clone(),
            ca_pem,
            cert_path: cfg.tls.cert.clone(),
            creds,
        }
    }
}

/// A renewed certificate for this gateway in `store`, checked, if there is one newer than
/// `current`.
pub fn pending(
    store: &Store,
    r: &Renewal,
    current: &Credentials,
) -> Result<Option<String>, String> {
    let list = store
        .get::<CertificateList>(&certificates_id())
        .map_err(|e| e.to_string())?;
    match list.and_then(|l| l.issued.get(&r.gateway).cloned()) {
        Some(issued) => checked(r, current, &issued.cert_pem, &issued.by),
        None => Ok(None),
    }
}

/// `pem`, sent by `by`, if it is a renewal of `current`: the same key, issued by the national
/// CA for this gateway and facility, and valid for longer.
fn checked(
    r: &Renewal,
    current: &Credentials,
    pem: &str,
    by: &str,
) -> Result<Option<String>, String> {
    if pem.trim() == current.cert_pem.trim() {
        return Ok(None);
    }
    let new = Credentials {
        cert_pem: pem.to_owned(),
        key_pem: current.key_pem.clone(),
    };
    check_pair(&new, "renewed certificate").map_err(|e| {
        format!("the renewed certificate sent by {by} is not for this gateway's key: {e}")
    })?;
    issued_by(&r.ca_pem, &new.cert_pem)
        .map_err(|e| format!("the renewed certificate is not valid: {e}"))?;
    let der = first_cert(&new.cert_pem, "renewed certificate").map_err(|e| e.to_string())?;
    let who = gateway_identity(&der).map_err(|e| e.to_string())?;
    if who.gateway != r.gateway || who.facility != r.facility {
        return Err(format!(
            "the renewed certificate names {} of {}, not this gateway",
            who.gateway, who.facility
        ));
    }
    let later = |pem: &str| expires_at(pem, "certificate").unwrap_or(0);
    if later(&new.cert_pem) <= later(&current.cert_pem) {
        return Ok(None);
    }
    Ok(Some(new.cert_pem))
}

/// Takes `pem`, sent by `by`, as this gateway's certificate if it is a renewal of the one in
/// use: installed whole, and presented from the next connection (the uplink dials again).
/// Returns the date it is valid until, if it was installed.
pub fn take(r: &Renewal, pem: &str, by: &str) -> Result<Option<String>, String> {
    let current = r.creds.current();
    match checked(r, &current, pem, by)? {
        None => Ok(None),
        Some(pem) => install_now(r, pem).map(Some),
    }
}

fn install_now(r: &Renewal, pem: String) -> Result<String, String> {
    install(&r.cert_path, &pem).map_err(|e| {
        format!(
            "cannot install the renewed certificate at {}: {e}; check that the folder is writable by the service user",
            r.cert_path.display()
        )
    })?;
    let until = date_of_ms(expires_at(&pem, "certificate").unwrap_or(0));
    tracing::info!(path = %r.cert_path.display(), valid_until = %until, "renewed certificate installed");
    r.creds.replace_certificate(pem);
    Ok(until)
}

/// Replaces `path` with `pem` whole, keeping the old file as `<path>.previous`.
pub fn install(path: &Path, pem: &str) -> std::io::Result<()> {
    let with = |ext: &str| {
        let mut p = path.as_os_str().to_owned();
        p.push(ext);
        PathBuf::from(p)
    };
    let tmp = with(".partial");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(pem.as_bytes())?;
        f.sync_all()?;
    }
    if path.exists() {
        std::fs::copy(path, with(".previous"))?;
    }
    std::fs::rename(&tmp, path)
}

/// Checks for a renewal now and installs it; true if one was installed.
pub fn check_once(store: &Store, r: &Renewal) -> bool {
    let current = r.creds.current();
    let installed = pending(store, r, &current).and_then(|p| match p {
        None => Ok(false),
        Some(pem) => install_now(r, pem).map(|_| true),
    });
    installed.unwrap_or_else(|why| {
        tracing::warn!(reason = %why, "renewed certificate refused");
        false
    })
}

/// Until `cancel`, looks every `every` whether changes came from the hub since it last
/// checked, and if so checks for a renewal: a renewal is installed within `every` of arriving,
/// and an idle link costs nothing but a counter read.
pub async fn watch(store: Store, r: Renewal, every: Duration, cancel: CancellationToken) {
    let r = Arc::new(r);
    let mut tick = tokio::time::interval(every);
    let mut seen = None;
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        let now = store.changes_from_peers();
        if seen == Some(now) {
            continue;
        }
        seen = Some(now);
        let (store, r) = (store.clone(), r.clone());
        let _ = tokio::task::spawn_blocking(move || check_once(&store, &r)).await;
    }
}
