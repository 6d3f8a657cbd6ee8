//! What a gateway checks before it creates or opens anything: every file its configuration
//! names can be read, each private key belongs to its certificate, and the certificate names
//! this gateway and this facility. A gateway that would fail later (on every dial, or with the
//! wrong facility's data) refuses to start instead, with one sentence naming the file and the
//! fix; `pathway doctor` runs the same checks.

use std::path::{Path, PathBuf};

use pathway_shared::identity::{
    Credentials, IdentityError, check_pair, first_cert, gateway_identity,
};

use crate::config::{ConfigError, GatewayConfig};

/// The files a gateway runs on, read and checked.
pub struct Files {
    pub ca_pem: String,
    pub creds: Credentials,
    pub lan: Option<Credentials>,
}

/// Why a gateway's files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PreflightError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(
        "the private key {key} does not belong to the certificate {cert}: install the certificate and the key that were issued together for this gateway"
    )]
    KeyMismatch { key: PathBuf, cert: PathBuf },
    #[error("{path}: {source}")]
    Unusable {
        path: PathBuf,
        source: IdentityError,
    },
    #[error(
        "the certificate {cert} is for {found}, but the configuration says gateway `{gateway_id}` at facility `{facility}`: fix gateway_id and facility in the configuration, or install this gateway's own certificate"
    )]
    NotThisGateway {
        cert: PathBuf,
        found: String,
        gateway_id: String,
        facility: String,
    },
}

fn pair(cert: &Path, key: &Path, what: &'static str) -> Result<Credentials, PreflightError> {
    let creds = Credentials {
        cert_pem: GatewayConfig::read_pem(cert)?,
        key_pem: GatewayConfig::read_pem(key)?,
    };
    match check_pair(&creds, what) {
        Ok(()) => Ok(creds),
        Err(IdentityError::KeyMismatch { .. }) => Err(PreflightError::KeyMismatch {
            key: key.to_owned(),
            cert: cert.to_owned(),
        }),
        Err(source) => Err(PreflightError::Unusable {
            path: cert.to_owned(),
            source,
        }),
    }
}

/// Reads and checks every file `cfg` names.
pub fn check(cfg: &GatewayConfig) -> Result<Files, PreflightError> {
    let ca_pem = GatewayConfig::read_pem(&cfg.tls.ca)?;
    first_cert(&ca_pem, "CA certificate").map_err(|source| PreflightError::Unusable {
        path: cfg.tls.ca.clone(),
        source,
    })?;
    let creds = pair(&cfg.tls.cert, &cfg.tls.key, "gateway certificate")?;
    let unusable = |source| PreflightError::Unusable {
        path: cfg.tls.cert.clone(),
        source,
    };
    let der = first_cert(&creds.cert_pem, "gateway certificate").map_err(unusable)?;
    let id = gateway_identity(&der).map_err(unusable)?;
    if id.gateway != cfg.gateway_id || id.facility != cfg.facility {
        return Err(PreflightError::NotThisGateway {
            cert: cfg.tls.cert.clone(),
            found: format!("gateway `{}` at facility `{}`", id.gateway, id.facility),
            gateway_id: cfg.gateway_id.clone(),
            facility: cfg.facility.clone(),
        });
    }
    let lan = match &cfg.lan {
        Some(l) => Some(pair(&l.cert, &l.key, "LAN certificate")?),
        None => None,
    };
    Ok(Files { ca_pem, creds, lan })
}
