//! Reading the daemons' TOML configuration files: one error type and one loader for both.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A configuration that cannot be used; the message names the file and the field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {}: {error}{}", .path.display(), hint(.error))]
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The configuration itself is not there; `advice` says how the daemon's is made.
    #[error("no configuration at {}: {advice}", .path.display())]
    Missing { path: PathBuf, advice: &'static str },
    #[error("{path}: {source}")]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// What to do about a file that cannot be read.
fn hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            " (the file is missing: put the one issued for this machine there, or correct the path \
             in the configuration)"
        }
        std::io::ErrorKind::PermissionDenied => {
            " (permission denied: run as the service user `pathway`, or give it read access)"
        }
        _ => "",
    }
}

/// Reads a text file named by a configuration (a PEM file, say). The path in an error is
/// absolute, so it names the file wherever the daemon was started from.
/// The name of the store key's systemd credential, for both daemons.
pub const STORE_KEY_CREDENTIAL: &str = "store.key";

/// The credential `name` as systemd hands it to a service started with
/// `LoadCredentialEncrypted=` (or a command under `systemd-run -p LoadCredentialEncrypted=`):
/// `$CREDENTIALS_DIRECTORY/name`, if there is one.
pub fn credential(name: &str) -> Option<PathBuf> {
    std::env::var_os("CREDENTIALS_DIRECTORY")
        .map(|d| PathBuf::from(d).join(name))
        .filter(|p| p.is_file())
}

pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
        path: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
        error,
    })
}

/// Parses the TOML file at `path`, then makes each of `paths(&mut cfg)` absolute relative to the
/// file's folder. A file that is not there is [`ConfigError::Missing`], with `missing` as the
/// advice.
pub fn load_toml<T: DeserializeOwned>(
    path: &Path,
    missing: &'static str,
    paths: impl FnOnce(&mut T) -> Vec<&mut PathBuf>,
) -> Result<T, ConfigError> {
    let text = match read_text(path) {
        Err(ConfigError::Read { path, error }) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(ConfigError::Missing {
                path,
                advice: missing,
            });
        }
        r => r?,
    };
    let mut cfg: T = toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        source: Box::new(e),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    for p in paths(&mut cfg) {
        if p.is_relative() {
            *p = base.join(&*p);
        }
    }
    Ok(cfg)
}

/// The status port has no log-in: anyone who reaches it reads the sync state and can ask for a
/// sync. A binding other than loopback is refused unless `status_remote = true` says that
/// something else (a firewall, a VPN) protects it.
pub fn check_status_listen(
    path: &Path,
    listen: Option<std::net::SocketAddr>,
    remote: bool,
) -> Result<(), ConfigError> {
    match listen {
        Some(a) if !a.ip().is_loopback() && !remote => Err(ConfigError::Invalid {
            path: path.to_owned(),
            message: format!(
                "status_listen = \"{a}\" is not a loopback address, and the status port has no \
                 log-in; bind it to 127.0.0.1 and read it over SSH, or set status_remote = true \
                 if a firewall lets only operators reach it"
            ),
        }),
        _ => Ok(()),
    }
}

/// An optional socket address in TOML: `"127.0.0.1:9470"`, or `""` for none.
pub mod optional_addr {
    use std::net::SocketAddr;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
        let s = String::deserialize(d)?;
        if s.is_empty() {
            return Ok(None);
        }
        s.parse().map(Some).map_err(|_| {
            serde::de::Error::custom(format!("`{s}` is not an address like 127.0.0.1:9470"))
        })
    }
}
