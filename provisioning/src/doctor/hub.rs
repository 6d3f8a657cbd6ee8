//! `pathway doctor --hub`: the hub's setup checked the way a national administrator would check
//! it by hand: its configuration, its certificate and key (a pair, owner-only, their expiry),
//! free disk, its store, the running daemon through its status port, and its administration
//! over HTTPS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use pathway_hub::config::HubFileConfig;
use pathway_shared::identity::{Credentials, check_pair, hub_name};
use pathway_shared::store::{Store, StoreError, StoreOptions};

use super::{Line, Verdict, disk, expiry, key_permissions, line};

/// Runs every check of the hub configured at `config`; the report's lines in order.
pub(crate) async fn doctor(config: &Path, min_free_mb: u64) -> Vec<Line> {
    let mut out = Vec::new();
    let file = match HubFileConfig::load(config) {
        Ok(f) => f,
        Err(e) => {
            out.push(line(Verdict::Fail, "config", e.to_string()));
            return out;
        }
    };
    out.push(line(
        Verdict::Ok,
        "config",
        format!(
            "{} (gateways reach it on {}; {})",
            config.display(),
            file.listen,
            file.admin.as_ref().map_or_else(
                || "no administration".to_owned(),
                |a| format!("administration on {}", a.listen)
            )
        ),
    ));
    let cert = certificates(&file);
    out.push(match &cert {
        Ok(name) => line(
            Verdict::Ok,
            "certificates",
            format!(
                "the key belongs to the certificate, for {name} (every gateway's [hub] name must be the same)"
            ),
        ),
        Err(why) => line(Verdict::Fail, "certificates", why.clone()),
    });
    out.extend(key_permissions(
        &[file.tls.key.clone(), file.store_key.clone()],
        (&file.store_key, &file.data_dir),
    ));
    if let Ok(pem) = HubFileConfig::read(&file.tls.cert) {
        out.push(expiry(pathway_shared::sync::HUB, &pem, &file.tls.cert));
    }
    out.push(disk(&file.data_dir, min_free_mb));
    out.push(store(&file));
    out.push(daemon(file.status_listen).await);
    if let (Some(admin), Ok(_)) = (&file.admin, &cert) {
        out.push(administration(&file, admin.listen).await);
    }
    out
}

/// The certificate and key are a pair; the name gateways dial.
fn certificates(file: &HubFileConfig) -> Result<String, String> {
    let read = |p: &Path| HubFileConfig::read(p).map_err(|e| e.to_string());
    read(&file.tls.ca)?;
    let creds = Credentials {
        cert_pem: read(&file.tls.cert)?,
        key_pem: read(&file.tls.key)?,
    };
    check_pair(&creds, "hub certificate").map_err(|e| {
        format!(
            "{} and {}: {e}; install the certificate and key issued together (`pathway ca issue-hub`)",
            file.tls.cert.display(),
            file.tls.key.display()
        )
    })?;
    hub_name(&creds.cert_pem).map_err(|e| e.to_string())
}

/// The store opens, or is held by the running hub; never made where there is none.
fn store(file: &HubFileConfig) -> Line {
    if super::no_store_yet(&file.data_dir) {
        return line(
            Verdict::Ok,
            "store",
            format!(
                "no store yet at {}: the hub makes it on its first start",
                file.data_dir.display()
            ),
        );
    }
    match Store::open(&file.data_dir, StoreOptions::keyed(file.key_file())) {
        Ok(s) => line(
            Verdict::Ok,
            "store",
            format!(
                "{} opens (the hub is stopped): {} change(s) held",
                file.data_dir.display(),
                s.durable_seq()
            ),
        ),
        Err(StoreError::InUse { .. }) => line(
            Verdict::Ok,
            "store",
            format!("{} is held by the running hub", file.data_dir.display()),
        ),
        Err(e) => line(
            Verdict::Fail,
            "store",
            format!(
                "{} does not open: {e}; restore it from a backup, or check `store_key` names its key file",
                file.data_dir.display()
            ),
        ),
    }
}

/// The running hub, through its status port: how many gateways it knows and has in session.
async fn daemon(status: Option<SocketAddr>) -> Line {
    let Some(addr) = status else {
        return line(
            Verdict::Warn,
            "daemon",
            "status_listen is off, so the running hub cannot be asked; set it to 127.0.0.1:9480",
        );
    };
    match pathway_provisioning::http::request(addr, "GET", "/status").await {
        Ok((200, body)) => {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            let peers = v["status"]["peers"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            let online = peers.values().filter(|p| p["online"] == true).count();
            line(
                Verdict::Ok,
                "daemon",
                format!(
                    "the hub is running: {online} of {} gateway(s) it has seen are in session now",
                    peers.len()
                ),
            )
        }
        Ok((code, _)) => line(
            Verdict::Fail,
            "daemon",
            format!("the status port {addr} answered {code}: is it this hub's?"),
        ),
        Err(_) => line(
            Verdict::Fail,
            "daemon",
            format!(
                "nothing answers on {addr}: the hub is not running; start it (systemctl start pathway-hub) and read its log (journalctl -u pathway-hub)"
            ),
        ),
    }
}

/// A TLS handshake with the administration, as an administrator's browser makes it.
async fn administration(file: &HubFileConfig, listen: SocketAddr) -> Line {
    let addr = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), listen.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen.port())
        }
        _ => listen,
    };
    let answered = async {
        let ca = HubFileConfig::read(&file.tls.ca)?;
        let name = hub_name(&HubFileConfig::read(&file.tls.cert)?)?;
        let tls = pathway_provisioning::https::connector(&ca)?;
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        let server = rustls::pki_types::ServerName::try_from(name)?;
        tls.connect(server, tcp).await?;
        anyhow::Ok(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), answered).await {
        Ok(Ok(())) => line(
            Verdict::Ok,
            "admin",
            format!("the administration answers over HTTPS on {addr}"),
        ),
        Ok(Err(e)) => line(
            Verdict::Fail,
            "admin",
            format!("the administration on {addr} does not answer over HTTPS: {e:#}"),
        ),
        Err(_) => line(
            Verdict::Fail,
            "admin",
            format!("the administration on {addr} did not answer within 5 s"),
        ),
    }
}
