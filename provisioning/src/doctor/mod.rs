//! `pathway doctor` and `pathway status`: a gateway's setup checked the way facility IT would
//! check it by hand, one line of plain advice per check, and the sync state in the words the
//! console shows. `pathway doctor --hub` checks the hub's setup the same way (`hub.rs`).

mod hub;
mod keys;

pub(crate) use hub::doctor as hub_doctor;
use keys::{key_permissions, permissions};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pathway_gateway::GatewayConfig;
use pathway_gateway::preflight;
use pathway_shared::clock::now_ms;
use pathway_shared::identity::expires_at;
use pathway_shared::status::{Expiry, certificate_expiry};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
pub(crate) struct Line {
    pub(crate) verdict: Verdict,
    pub(crate) what: &'static str,
    pub(crate) advice: String,
}

impl std::fmt::Display for Line {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tag = match self.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        };
        write!(f, "{tag} {:<12} {}", self.what, self.advice)
    }
}

fn line(verdict: Verdict, what: &'static str, advice: impl Into<String>) -> Line {
    Line {
        verdict,
        what,
        advice: advice.into(),
    }
}

/// What `doctor` is told beyond the configuration.
pub(crate) struct Options {
    pub(crate) config: PathBuf,
    /// Free space below this on the data folder's disk fails the disk check.
    pub(crate) min_free_mb: u64,
    /// How long to wait for the hub's QUIC handshake.
    pub(crate) hub_timeout: Duration,
}

/// Runs every check; the report's lines in order.
pub(crate) async fn doctor(o: &Options) -> Vec<Line> {
    let mut out = Vec::new();
    let cfg = match GatewayConfig::load(&o.config) {
        Ok(c) => {
            out.push(line(
                Verdict::Ok,
                "config",
                format!(
                    "{} (gateway {}, facility {})",
                    o.config.display(),
                    c.gateway_id,
                    c.facility
                ),
            ));
            c
        }
        Err(e) => {
            out.push(line(Verdict::Fail, "config", e.to_string()));
            return out;
        }
    };
    let files = match preflight::check(&cfg) {
        Ok(f) => {
            out.push(line(
                Verdict::Ok,
                "certificates",
                "each key belongs to its certificate, which names this gateway and facility",
            ));
            Some(f)
        }
        Err(e) => {
            out.push(line(Verdict::Fail, "certificates", e.to_string()));
            None
        }
    };
    out.extend(permissions(&cfg));
    if let Some(f) = &files {
        out.push(expiry(&cfg.gateway_id, &f.creds.cert_pem, &cfg.tls.cert));
        if let (Some(lan), Some(l)) = (&f.lan, &cfg.lan) {
            out.push(lan_expiry(&lan.cert_pem, &l.cert));
        }
    }
    if let Some(f) = &files {
        out.push(courier(&cfg, f));
    }
    out.push(windows(&cfg));
    out.push(disk(&cfg.data_dir, o.min_free_mb));
    out.push(store(&cfg).await);
    out.push(daemon(cfg.status_listen).await);
    if let Some(f) = files {
        out.push(hub(&cfg, &f, o.hub_timeout).await);
    }
    out
}

/// Whether courier files can be sealed to the hub: its certificate is named, readable, and is
/// the national CA's certificate for the hub this gateway dials.
fn courier(cfg: &GatewayConfig, files: &preflight::Files) -> Line {
    let keys = pathway_gateway::courier::Keys::new(
        cfg,
        files.ca_pem.clone(),
        pathway_gateway::renewal::Presented::new(files.creds.clone()),
    );
    let checked = keys.hub_cert.and_then(|pem| {
        let der = pathway_shared::identity::first_cert(&pem, "hub certificate")
            .map_err(|e| e.to_string())?;
        pathway_shared::identity::verify_hub(&files.ca_pem, &der, &cfg.hub.name).map_err(|e| {
            format!(
                "the hub certificate is not the CA's certificate for {} ({e}): ask the national administrator for hub.pem",
                cfg.hub.name
            )
        })
    });
    match checked {
        Ok(()) => line(
            Verdict::Ok,
            "courier",
            "courier files can be sealed to the hub (pathway courier export)",
        ),
        Err(e) => line(
            Verdict::Warn,
            "courier",
            format!("courier files cannot be written: {e}"),
        ),
    }
}

/// Whether `data_dir` holds no store yet: missing, or empty.
fn no_store_yet(data_dir: &Path) -> bool {
    std::fs::read_dir(data_dir).map_or(true, |mut entries| entries.next().is_none())
}

fn expiry(gateway: &str, cert_pem: &str, path: &Path) -> Line {
    let at = match expires_at(cert_pem, "gateway certificate") {
        Ok(at) => at,
        Err(e) => return line(Verdict::Fail, "expiry", format!("{}: {e}", path.display())),
    };
    let (state, advice) = certificate_expiry(gateway, at, now_ms());
    let verdict = match state {
        Expiry::Valid => Verdict::Ok,
        Expiry::Soon => Verdict::Warn,
        Expiry::Expired => Verdict::Fail,
    };
    line(
        verdict,
        "expiry",
        format!("{} ({})", advice, path.display()),
    )
}

/// The store's integrity: checked by the running daemon through its status port, or here when
/// it is stopped.
async fn store(cfg: &GatewayConfig) -> Line {
    use pathway_shared::store::{Store, StoreError, StoreOptions};
    if let Some(addr) = cfg.status_listen
        && let Ok(a) = pathway_provisioning::http::post_bytes(
            addr,
            "/store-check",
            &[],
            Vec::new(),
            crate::daemon::operator_token(cfg).as_deref(),
        )
        .await
    {
        let words = String::from_utf8_lossy(&a.body).trim().to_owned();
        return match a.code {
            200 => line(Verdict::Ok, "store", words),
            409 => line(Verdict::Fail, "store", words),
            code => line(
                Verdict::Warn,
                "store",
                format!(
                    "the running gateway did not check its store (it answered {code}: {words})"
                ),
            ),
        };
    }
    // Opening an empty folder would make a store (and a key file) here: doctor makes nothing.
    if no_store_yet(&cfg.data_dir) {
        return line(
            Verdict::Ok,
            "store",
            format!(
                "no store yet at {}: the gateway makes it on its first start",
                cfg.data_dir.display()
            ),
        );
    }
    let sealed = cfg.store_key.with_file_name("store.key.cred");
    if !cfg.key_file().exists() && sealed.exists() && !no_store_yet(&cfg.data_dir) {
        return line(
            Verdict::Warn,
            "store",
            format!(
                "not checked: the store's key is sealed for the service; with the gateway stopped, check it as the service would: `systemd-run --pipe --wait -p LoadCredentialEncrypted=store.key:{} pathway doctor`",
                sealed.display()
            ),
        );
    }
    let (data, key, facility) = (
        cfg.data_dir.clone(),
        cfg.key_file().to_path_buf(),
        cfg.facility.clone(),
    );
    let checked = tokio::task::spawn_blocking(move || {
        let store = match Store::open(&data, StoreOptions::keyed(&key)) {
            Ok(s) => s,
            Err(StoreError::InUse { .. }) => {
                return Err(format!(
                    "{} is held by a gateway that does not answer on its status port: check `status_listen`, or stop it and run doctor again",
                    data.display()
                ));
            }
            // A lost or wrong key opens no backup of this store either: only a rebuild helps.
            Err(e @ StoreError::Key { .. }) => {
                return Err(format!(
                    "the store at {} does not open with its key file ({e}): put back the key file that belongs to this store (kept with the backups); if it is lost, no backup of this store opens either: run `pathway rebuild` to fill a new store from the hub (what never reached the hub is lost)",
                    data.display()
                ));
            }
            Err(e) => {
                return Err(format!(
                    "the store at {} does not open ({e}): restore the latest backup (`pathway restore`) or rebuild from the hub (`pathway rebuild`)",
                    data.display()
                ));
            }
        };
        pathway_gateway::audit::Audit::open(store, &facility)
            .map_err(|e| format!("the store's audit trail cannot be read: {e}"))?
            .integrity()
    })
    .await;
    match checked {
        Ok(Ok(words)) => line(Verdict::Ok, "store", words),
        Ok(Err(words)) => line(Verdict::Fail, "store", words),
        Err(_) => line(Verdict::Fail, "store", "the check stopped unexpectedly"),
    }
}

/// When each class with sync windows may next use the link.
fn windows(cfg: &GatewayConfig) -> Line {
    use pathway_shared::model::Class;
    use pathway_shared::policy::WindowState;
    let policy = match cfg.link.policy() {
        Ok(p) => p,
        Err(e) => return line(Verdict::Fail, "windows", format!("[link] windows: {e}")),
    };
    let now = now_ms();
    let local = |t: i64| {
        let m = (t + i64::from(policy.utc_offset_minutes) * 60_000).rem_euclid(86_400_000) / 60_000;
        format!("{:02}:{:02}", m / 60, m % 60)
    };
    let mut verdict = Verdict::Ok;
    let mut parts = Vec::new();
    for class in [Class::Records, Class::Bulk] {
        let name = class.name();
        match policy.window_at(class, now) {
            None => {}
            Some(WindowState {
                open: true,
                changes_at: Some(t),
            }) => parts.push(format!(
                "{name}: window open until {} local time (in {})",
                local(t),
                pathway_shared::status::ago(t, now)
            )),
            Some(WindowState {
                open: false,
                changes_at: Some(t),
            }) => parts.push(format!(
                "{name}: waits for its window, which opens at {} local time (in {})",
                local(t),
                pathway_shared::status::ago(t, now)
            )),
            Some(WindowState {
                open: true,
                changes_at: None,
            }) => parts.push(format!("{name}: its window is always open")),
            Some(WindowState {
                open: false,
                changes_at: None,
            }) => {
                verdict = Verdict::Warn;
                parts.push(format!(
                    "{name}: its window never opens (from and to are the same): fix [link] windows in the configuration"
                ));
            }
        }
    }
    if parts.is_empty() {
        return line(
            Verdict::Ok,
            "windows",
            "no sync windows: every class may use the link at any time",
        );
    }
    parts.push("urgent changes go at any time".into());
    line(verdict, "windows", parts.join("; "))
}

/// The staff console's certificate: browsers refuse the console once it has expired.
fn lan_expiry(cert_pem: &str, path: &Path) -> Line {
    let at = match expires_at(cert_pem, "LAN certificate") {
        Ok(at) => at,
        Err(e) => {
            return line(
                Verdict::Fail,
                "lan expiry",
                format!("{}: {e}", path.display()),
            );
        }
    };
    let now = now_ms();
    let date = pathway_shared::model::date_of_ms(at);
    let renew = format!(
        "take a copy of {} (never its key) to the national admin, who renews it with `pathway ca renew-cert`, and install it here with `pathway install-cert FILE`",
        path.display()
    );
    match Expiry::of(at, now) {
        Expiry::Valid => line(
            Verdict::Ok,
            "lan expiry",
            format!("the console's certificate is valid until {date}"),
        ),
        Expiry::Soon => line(
            Verdict::Warn,
            "lan expiry",
            format!(
                "the console's certificate {} expires on {date}, in {} days, and staff browsers then refuse the console: {renew}",
                path.display(),
                pathway_shared::status::days_left(at, now)
            ),
        ),
        Expiry::Expired => line(
            Verdict::Fail,
            "lan expiry",
            format!(
                "the console's certificate {} expired on {date}: staff browsers refuse the console; {renew}",
                path.display()
            ),
        ),
    }
}

/// Free space on the disk that holds the data folder (or the nearest folder above it).
fn disk(data_dir: &Path, min_free_mb: u64) -> Line {
    let Some(existing) = data_dir.ancestors().find(|p| p.exists()) else {
        return line(
            Verdict::Fail,
            "disk",
            format!("no folder of {} exists", data_dir.display()),
        );
    };
    match rustix::fs::statvfs(existing) {
        Ok(s) => {
            let free_mb = s.f_bavail.saturating_mul(s.f_frsize) >> 20;
            if free_mb < min_free_mb {
                line(
                    Verdict::Fail,
                    "disk",
                    format!(
                        "{free_mb} MB free under {}, below {min_free_mb} MB: writes will fail; free space or move data_dir to a larger disk",
                        existing.display()
                    ),
                )
            } else {
                line(
                    Verdict::Ok,
                    "disk",
                    format!("{free_mb} MB free under {}", existing.display()),
                )
            }
        }
        Err(e) => line(
            Verdict::Fail,
            "disk",
            format!("{}: {e}", existing.display()),
        ),
    }
}

/// The running daemon, through its status port.
async fn daemon(status: Option<SocketAddr>) -> Line {
    let Some(addr) = status else {
        return line(
            Verdict::Warn,
            "daemon",
            "status_listen is off, so the running daemon cannot be asked; set it to 127.0.0.1:9470",
        );
    };
    match pathway_provisioning::http::request(addr, "GET", "/status.txt").await {
        Ok((200, words)) => {
            let hub = words
                .lines()
                .find(|l| l.contains("hub"))
                .unwrap_or("no word of the hub yet")
                .trim()
                .to_owned();
            let verdict = if hub.contains("never reached")
                || hub.contains("offline")
                || hub.contains("clock is")
            {
                Verdict::Warn
            } else {
                Verdict::Ok
            };
            line(verdict, "last sync", hub)
        }
        Ok((code, _)) => line(
            Verdict::Fail,
            "daemon",
            format!("the status port {addr} answered {code}: is it this gateway's?"),
        ),
        Err(_) => line(
            Verdict::Fail,
            "daemon",
            format!(
                "nothing answers on {addr}: the gateway is not running; start it (systemctl start pathway-gateway) and read its log (journalctl -u pathway-gateway)"
            ),
        ),
    }
}

/// A QUIC handshake with the hub, with this gateway's certificate.
async fn hub(cfg: &GatewayConfig, files: &preflight::Files, timeout: Duration) -> Line {
    let bind: SocketAddr = if cfg.hub.addr.is_ipv6() {
        "[::]:0".parse().expect("an address")
    } else {
        "0.0.0.0:0".parse().expect("an address")
    };
    let endpoint =
        match pathway_shared::transport::probe_endpoint(bind, &files.ca_pem, &files.creds) {
            Ok(e) => e,
            Err(e) => return line(Verdict::Fail, "hub", e.to_string()),
        };
    let started = Instant::now();
    let outcome = match endpoint.connect(cfg.hub.addr, &cfg.hub.name) {
        Ok(connecting) => tokio::time::timeout(timeout, connecting).await,
        Err(e) => return line(Verdict::Fail, "hub", e.to_string()),
    };
    let result = match outcome {
        Ok(Ok(conn)) => {
            let took = started.elapsed().as_millis();
            // The certificate the hub presented: every gateway refuses the hub once it expires.
            let expires = conn
                .peer_identity()
                .and_then(|id| {
                    id.downcast::<Vec<pathway_shared::identity::CertificateDer<'static>>>()
                        .ok()
                })
                .and_then(|certs| {
                    certs
                        .first()
                        .map(|c| pathway_shared::identity::der_to_pem(c))
                })
                .and_then(|pem| expires_at(&pem, "hub certificate").ok());
            let reached = format!(
                "reached {} ({}) over QUIC with mutual TLS in {took} ms",
                cfg.hub.addr, cfg.hub.name
            );
            // The hub closes a check once it has looked at this gateway's certificate.
            let refusal = pathway_shared::transport::probe_refusal(&conn, timeout).await;
            conn.close(0u32.into(), b"doctor");
            if let Some((code, reason)) = refusal {
                let words = if code == pathway_shared::transport::CLOSE_REVOKED {
                    "it is on the national revocation list. A box back in service needs a new enrolment bundle from the national admin (pathway enrol), then pathway install".to_owned()
                } else {
                    format!("{reason}; tell the national admin")
                };
                line(
                    Verdict::Fail,
                    "hub",
                    format!("{reached}, but it refuses this gateway: {words}"),
                )
            } else {
                match expires.map(|at| certificate_expiry(pathway_shared::sync::HUB, at, now_ms()))
                {
                    Some((Expiry::Valid, _)) | None => line(Verdict::Ok, "hub", reached),
                    Some((_, words)) => line(
                        Verdict::Warn,
                        "hub",
                        format!("{reached}; tell the national admin: {words}"),
                    ),
                }
            }
        }
        Ok(Err(e)) => line(
            Verdict::Fail,
            "hub",
            format!("{} refused the connection: {e}", cfg.hub.addr),
        ),
        Err(_) => line(
            Verdict::Fail,
            "hub",
            format!(
                "no answer from {} within {} s: check the link, [hub] addr in the configuration, and that UDP is let through",
                cfg.hub.addr,
                timeout.as_secs()
            ),
        ),
    };
    endpoint.close(0u32.into(), b"");
    result
}

/// `pathway status`: the running gateway's sync state in words; with `hub`, the hub's (every
/// gateway it has seen).
pub(crate) async fn status(config: &Path, hub: bool) -> anyhow::Result<String> {
    let (listen, port, daemon) = if hub {
        let cfg = pathway_hub::config::HubFileConfig::load(config)?;
        (cfg.status_listen, 9480, "pathway-hub")
    } else {
        let cfg = GatewayConfig::load(config)?;
        (cfg.status_listen, 9470, "pathway-gateway")
    };
    let addr = listen.ok_or_else(|| {
        anyhow::anyhow!(
            "status_listen is off in {}: set it to 127.0.0.1:{port}",
            config.display()
        )
    })?;
    match pathway_provisioning::http::request(addr, "GET", "/status.txt").await {
        Ok((200, words)) => Ok(words),
        Ok((code, body)) => anyhow::bail!("the status port {addr} answered {code}: {body}"),
        Err(_) => anyhow::bail!(
            "nothing answers on {addr}: {daemon} is not running; start it (systemctl start {daemon})"
        ),
    }
}
