//! The gateway's configuration, read from TOML. See `gateway/pathway-gateway.example.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

pub use pathway_shared::config::ConfigError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct GatewayConfig {
    /// This gateway's id; it must match its certificate.
    pub gateway_id: String,
    /// The facility this gateway serves; it must match its certificate.
    pub facility: String,
    /// Folder of the document store.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// The key file that seals case content in the store (made, owner-only, on first start).
    /// Keep it outside `data_dir`, so that a copy of the data gives nothing away, and keep a
    /// copy of it with the backups: without it the store does not open. Default `store.key`
    /// beside this file.
    #[serde(default = "default_store_key")]
    pub store_key: PathBuf,
    /// The facility's IANA time zone (`Asia/Bangkok`), as `pathway install` writes it from the
    /// bundle. Without it, the facility's entry in the national registry says, and failing
    /// that `link.utc_offset`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The store's key as systemd hands it to the service (`LoadCredentialEncrypted=store.key:`,
    /// sealed with `systemd-creds` to the box's TPM2 or host key, as `pathway install` sets it
    /// up): `$CREDENTIALS_DIRECTORY/store.key` when it is there, in place of `store_key`, so the
    /// key is never on the data disk in the clear.
    #[serde(skip)]
    pub credential_key: Option<PathBuf>,
    pub hub: HubLink,
    pub tls: TlsFiles,
    #[serde(default)]
    pub link: LinkPolicy,
    /// Where operators read the sync status: `/status`, `/status.txt`, `/metrics`. Default
    /// 127.0.0.1:9470; an empty string turns it off.
    #[serde(
        default = "default_status_listen",
        with = "pathway_shared::config::optional_addr"
    )]
    pub status_listen: Option<SocketAddr>,
    /// Allows a `status_listen` other than loopback, for a status port that a firewall or VPN
    /// protects: it has no log-in of its own.
    #[serde(default)]
    pub status_remote: bool,
    /// The staff service on the prison LAN; without this section it is off.
    #[serde(default)]
    pub lan: Option<LanService>,
}

fn default_status_listen() -> Option<SocketAddr> {
    Some(SocketAddr::from(([127, 0, 0, 1], 9470)))
}

/// HTTPS for staff devices on the LAN.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LanService {
    /// Where staff devices connect, e.g. `0.0.0.0:8443`.
    pub listen: SocketAddr,
    /// The gateway's LAN certificate and key (PEM), issued for its name on the LAN.
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubLink {
    /// Address of the hub's QUIC endpoint.
    pub addr: SocketAddr,
    /// The name in the hub's certificate.
    pub name: String,
}

/// PEM files; relative paths are read from the configuration file's folder.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// The hub's certificate: courier files are sealed to it.
    #[serde(default)]
    pub hub: Option<PathBuf>,
}

/// How the gateway uses its link.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinkPolicy {
    /// Rate cap, bits per second, on what the gateway sends and, as the gateway declares it to
    /// the hub, on what the hub sends back; 0 (the default) is none.
    pub rate_bps: u64,
    /// First wait after a failed connection; it doubles, with jitter, up to `backoff_max`.
    #[serde(with = "humantime_serde")]
    pub backoff_min: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// The facility's local time as an offset from UTC, `+HH:MM` or `-HH:MM`: windows, days
    /// and months are counted in it.
    pub utc_offset: String,
    /// Local times of day a class may use the link, e.g. `{ class = "bulk", from = "22:00",
    /// to = "05:00" }`. A class with no window may send any time. Urgent is never held.
    pub windows: Vec<WindowConfig>,
    /// Bytes per local day per class; a class without a figure is unlimited. Urgent is never
    /// held.
    pub daily_bytes: Budget,
    /// Bytes per calendar month per class.
    pub monthly_bytes: Budget,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    pub class: pathway_shared::model::Class,
    /// `HH:MM`, local time.
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    pub records: Option<u64>,
    pub bulk: Option<u64>,
}

impl Default for LinkPolicy {
    fn default() -> Self {
        LinkPolicy {
            rate_bps: 0,
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            utc_offset: "+00:00".into(),
            windows: Vec::new(),
            daily_bytes: Budget::default(),
            monthly_bytes: Budget::default(),
        }
    }
}

impl LinkPolicy {
    /// The sync engine's policy, or an error naming the window that does not parse.
    pub fn policy(&self) -> Result<pathway_shared::policy::LinkPolicy, String> {
        use pathway_shared::policy::Window;
        let mut windows = Vec::new();
        for w in &self.windows {
            let minute = |t: &str| {
                Window::minute(t)
                    .ok_or_else(|| format!("link.windows: `{t}` is not a time of day (HH:MM)"))
            };
            windows.push(Window {
                class: w.class,
                from_minute: minute(&w.from)?,
                to_minute: minute(&w.to)?,
            });
        }
        let b = |x: &Budget| [None, x.records, x.bulk];
        let offset = &self.utc_offset;
        let utc_offset_minutes = Window::offset_minutes(offset)
            .ok_or_else(|| format!("link.utc_offset: `{offset}` is not an offset like +07:00"))?;
        Ok(pathway_shared::policy::LinkPolicy {
            rate_bps: self.rate_bps,
            utc_offset_minutes,
            windows,
            daily_bytes: b(&self.daily_bytes),
            monthly_bytes: b(&self.monthly_bytes),
        })
    }
}

pub use pathway_shared::config::STORE_KEY_CREDENTIAL;

fn default_store_key() -> PathBuf {
    PathBuf::from("store.key")
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/pathway-gateway")
}

/// How a gateway's configuration is made, for when it is not there.
const MISSING: &str = "a box gets its configuration from its enrolment bundle: \
    `pathway install BUNDLE --code CODE` writes /etc/pathway/gateway.toml; or give the \
    configuration's path with --config (an example is in \
    /usr/share/doc/pathway-gateway/examples/gateway.toml)";

impl GatewayConfig {
    /// Where the running daemon keeps the token its status port's actions ask for (backup,
    /// courier files, certificates, store check, sync now): beside the store's key, owner-only,
    /// made again at every start, so only its user and root (`pathway`) can act through it.
    pub fn operator_token_path(&self) -> PathBuf {
        self.store_key.with_file_name("operator.token")
    }

    pub fn load(path: &Path) -> Result<GatewayConfig, ConfigError> {
        let cfg: GatewayConfig =
            pathway_shared::config::load_toml(path, MISSING, |c: &mut GatewayConfig| {
                vec![
                    &mut c.tls.ca,
                    &mut c.tls.cert,
                    &mut c.tls.key,
                    &mut c.data_dir,
                    &mut c.store_key,
                ]
                .into_iter()
                .chain(c.lan.iter_mut().flat_map(|l| [&mut l.cert, &mut l.key]))
                .chain(c.tls.hub.iter_mut())
                .collect()
            })?;
        cfg.link.policy().map_err(|message| ConfigError::Invalid {
            path: path.to_owned(),
            message,
        })?;
        pathway_shared::config::check_status_listen(path, cfg.status_listen, cfg.status_remote)?;
        if let Some(tz) = cfg
            .time_zone
            .as_deref()
            .filter(|tz| !pathway_shared::model::time_zone_known(tz))
        {
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                message: format!(
                    "time_zone: `{tz}` is not a time zone; use its IANA name, as Africa/Windhoek or Asia/Bangkok"
                ),
            });
        }
        let mut cfg = cfg;
        cfg.credential_key = pathway_shared::config::credential(STORE_KEY_CREDENTIAL);
        Ok(cfg)
    }

    /// The key file the store opens with: systemd's credential when the service has one, else
    /// `store_key`.
    pub fn key_file(&self) -> &Path {
        self.credential_key.as_deref().unwrap_or(&self.store_key)
    }

    /// Reads a PEM file named by the configuration.
    pub fn read_pem(path: &Path) -> Result<String, ConfigError> {
        pathway_shared::config::read_text(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_parses_and_bad_fields_are_named() {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("pathway-gateway.example.toml");
        let cfg = GatewayConfig::load(&example).unwrap();
        assert_eq!(cfg.facility, "WHK");
        assert_eq!(cfg.link.backoff_max, Duration::from_secs(300));
        let policy = cfg.link.policy().unwrap();
        assert_eq!(policy.windows.len(), 1);
        assert_eq!(policy.utc_offset_minutes, 120);
        assert_eq!(
            policy.daily_bytes,
            [None, Some(50_000_000), Some(20_000_000)]
        );
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "gateway_id = \"g\"\nfacility = \"F\"\nrate = 5\n").unwrap();
        let err = GatewayConfig::load(&bad).unwrap_err().to_string();
        assert!(err.contains("rate") && err.contains("bad.toml"), "{err}");
        let text = std::fs::read_to_string(&example).unwrap();
        std::fs::write(&bad, text.replace("\"+02:00\"", "\"7\"")).unwrap();
        let err = GatewayConfig::load(&bad).unwrap_err().to_string();
        assert!(err.contains("link.utc_offset"), "{err}");
        // The status port has no log-in: it stays on loopback unless told otherwise.
        let open = text.replace("\"127.0.0.1:9470\"", "\"0.0.0.0:9470\"");
        std::fs::write(&bad, &open).unwrap();
        let err = GatewayConfig::load(&bad).unwrap_err().to_string();
        assert!(
            err.contains("status_remote") && err.contains("0.0.0.0:9470"),
            "{err}"
        );
        std::fs::write(&bad, format!("status_remote = true\n{open}")).unwrap();
        assert!(GatewayConfig::load(&bad).is_ok());
    }
}
