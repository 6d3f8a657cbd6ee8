//! The hub's configuration, read from TOML. See `hub/pathway-hub.example.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use pathway_shared::config::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HubFileConfig {
    /// Address of the QUIC endpoint gateways dial.
    pub listen: SocketAddr,
    /// Folder of the document store.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The key file that seals case content in the store (made, owner-only, on first start).
    /// Keep it outside `data_dir`, so that a copy of the data gives nothing away, and keep a
    /// copy of it with the backups: without it the store does not open. Default `store.key`
    /// beside this file.
    #[serde(default = "default_store_key")]
    pub store_key: PathBuf,
    /// The store's key as systemd hands it to the service (`LoadCredentialEncrypted=store.key:`,
    /// sealed with `systemd-creds`): used in place of `store_key` when it is there.
    #[serde(skip)]
    pub credential_key: Option<PathBuf>,
    /// PEM files; relative paths are read from the configuration file's folder.
    pub tls: TlsFiles,
    /// Gateway ids whose certificates are revoked.
    #[serde(default)]
    pub revoked: Vec<String>,
    /// Gateways served at once. Default 256.
    #[serde(default = "default_max_gateways")]
    pub max_gateways: usize,
    /// Where operators read every gateway's sync status: `/status`, `/status.txt`,
    /// `/metrics`. Default 127.0.0.1:9480; an empty string turns it off.
    #[serde(
        default = "default_status_listen",
        with = "pathway_shared::config::optional_addr"
    )]
    pub status_listen: Option<SocketAddr>,
    /// Allows a `status_listen` other than loopback, for a status port that a firewall or VPN
    /// protects: it has no log-in of its own.
    #[serde(default)]
    pub status_remote: bool,
    /// The administration (dashboard and API) over HTTPS, with the hub's certificate.
    #[serde(default)]
    pub admin: Option<AdminFile>,
}

/// `[admin]`: where administrators reach the hub.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminFile {
    /// Address of the HTTPS dashboard and API, e.g. `0.0.0.0:9443`.
    pub listen: SocketAddr,
}

fn default_status_listen() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 9480)))
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn default_store_key() -> PathBuf {
    PathBuf::from("store.key")
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/pathway-hub")
}

fn default_max_gateways() -> usize {
    256
}

/// How the hub's configuration is made, for when it is not there.
const MISSING: &str = "copy the example (/usr/share/doc/pathway-hub/examples/hub.toml from the \
    package, or hub/pathway-hub.example.toml) there and edit it, with the certificate from \
    `pathway ca issue-hub`; or give the configuration's path with --config";

impl HubFileConfig {
    pub fn load(path: &Path) -> Result<HubFileConfig, ConfigError> {
        let cfg = pathway_shared::config::load_toml(path, MISSING, |c: &mut HubFileConfig| {
            vec![
                &mut c.tls.ca,
                &mut c.tls.cert,
                &mut c.tls.key,
                &mut c.data_dir,
                &mut c.store_key,
            ]
        })?;
        pathway_shared::config::check_status_listen(path, cfg.status_listen, cfg.status_remote)?;
        let mut cfg: HubFileConfig = cfg;
        cfg.credential_key =
            pathway_shared::config::credential(pathway_shared::config::STORE_KEY_CREDENTIAL);
        Ok(cfg)
    }

    /// The key file the store opens with: systemd's credential when the service has one, else
    /// `store_key`.
    pub fn key_file(&self) -> &Path {
        self.credential_key.as_deref().unwrap_or(&self.store_key)
    }

    pub fn read(path: &Path) -> Result<String, ConfigError> {
        pathway_shared::config::read_text(path)
    }
}
