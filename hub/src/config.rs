//! The hub's configuration, read from TOML. See `hub/pathway-hub.example.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// A configuration that cannot be used; the message names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct HubFileConfig {
    /// Address of the QUIC endpoint gateways dial.
    pub listen: SocketAddr,
    /// Folder of the document store.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// PEM files; relative paths are read from the configuration file's folder.
    pub tls: TlsFiles,
    /// Gateway ids whose certificates are revoked.
    #[serde(default)]
    pub revoked: Vec<String>,
    /// Gateways served at once. Default 256.
    #[serde(default = "default_max_gateways")]
    pub max_gateways: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

fn default_data_dir() -> PathBuf {
    PathBuf::from("/var/lib/pathway-hub")
}

fn default_max_gateways() -> usize {
    256
}

impl HubFileConfig {
    pub fn load(path: &Path) -> Result<HubFileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let mut cfg: HubFileConfig = toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.to_owned(),
            source: Box::new(e),
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        for p in [
            &mut cfg.tls.ca,
            &mut cfg.tls.cert,
            &mut cfg.tls.key,
            &mut cfg.data_dir,
        ] {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        }
        Ok(cfg)
    }

    pub fn read(path: &Path) -> Result<String, ConfigError> {
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })
    }
}
