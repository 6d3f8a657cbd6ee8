//! Identity: the national CA, certificates for the hub and for gateways, and the TLS
//! configurations that pin both sides to that CA.
//!
//! A gateway's certificate names its gateway id and its facility as URIs in the subject
//! alternative names (`urn:pathway:gateway:<id>`, `urn:pathway:facility:<id>`). The hub reads the
//! facility from the certificate the TLS handshake verified, never from anything the gateway says.

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
pub use rustls::pki_types::CertificateDer;
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};

use crate::clock::Clock;

mod keys;
pub use keys::{open_sealed, public_point, seal_to, sign, signed_by};

/// The ALPN protocol name of Pathway's sync over QUIC.
pub const ALPN: &[u8] = b"pathway/1";
/// The ALPN protocol name of a check of the hub (`pathway doctor`): the hub answers it with the
/// same checks as a sync connection, then closes it, and no session is made.
pub const PROBE_ALPN: &[u8] = b"pathway-probe/1";
const GATEWAY_URI: &str = "urn:pathway:gateway:";
const FACILITY_URI: &str = "urn:pathway:facility:";

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("{what} is not valid PEM: {detail}")]
    Pem { what: &'static str, detail: String },
    #[error("TLS configuration failed: {0}")]
    Tls(#[from] rustls::Error),
    #[error("TLS client verifier: {0}")]
    Verifier(String),
    /// The private key is not the certificate's.
    #[error("the private key does not belong to the {what}")]
    KeyMismatch { what: &'static str },
    /// The certificate does not name a gateway and a facility.
    #[error("certificate does not name a gateway and a facility: {0}")]
    NotAGateway(String),
    /// A gateway's own certificate where a server's was expected.
    #[error(
        "this is gateway {0}'s own certificate, not a server's: renew it with `pathway ca renew {0}`"
    )]
    GatewayCertificate(String),
}

/// A certificate and its private key, PEM-encoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The national certificate authority.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ca {
    pub name: String,
    pub creds: Credentials,
    /// Where validity windows start: the system clock, or a test's.
    #[serde(skip)]
    clock: Clock,
}

fn ca_params(name: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn.push(DnType::OrganizationName, "Pathway");
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    Ok(p)
}

/// Validity of an issued certificate, in days from now.
pub const DEFAULT_VALID_DAYS: i64 = 825;

/// A validity window ending `days` after `now` (negative: already expired, for tests).
fn validity(p: &mut CertificateParams, days: i64, now: &Clock) {
    let now = time::OffsetDateTime::from_unix_timestamp(now.now().div_euclid(1_000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    // Valid from two days back: a box whose clock is hours slow still accepts a certificate
    // issued today.
    p.not_before =
        now - time::Duration::days(if days < 0 { 30 } else { 0 }) - time::Duration::days(2);
    p.not_after = now + time::Duration::days(days);
}

impl Ca {
    /// A new CA with a fresh key, valid from now by the system clock.
    pub fn generate(name: &str) -> Result<Ca, IdentityError> {
        Ca::generate_at(name, Clock::system())
    }

    /// A new CA whose certificates' validity is counted from `clock`'s time: a test issues a
    /// certificate as of another day.
    pub fn generate_at(name: &str, clock: Clock) -> Result<Ca, IdentityError> {
        let key = KeyPair::generate()?;
        let mut params = ca_params(name)?;
        validity(&mut params, 3650, &clock);
        let cert = params.self_signed(&key)?;
        Ok(Ca {
            name: name.to_owned(),
            creds: Credentials {
                cert_pem: cert.pem(),
                key_pem: key.serialize_pem(),
            },
            clock,
        })
    }

    fn issue(
        &self,
        mut params: CertificateParams,
        days: i64,
    ) -> Result<Credentials, IdentityError> {
        let ca_key = KeyPair::from_pem(&self.creds.key_pem)?;
        let issuer = Issuer::new(ca_params(&self.name)?, ca_key);
        let key = KeyPair::generate()?;
        validity(&mut params, days, &self.clock);
        let cert = params.signed_by(&key, &issuer)?;
        Ok(Credentials {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The hub's certificate, for the DNS name gateways dial.
    /// A server certificate for a name: the hub's QUIC name, or a gateway's name on the
    /// prison LAN.
    pub fn issue_hub(&self, hub_name: &str) -> Result<Credentials, IdentityError> {
        self.issue_server(hub_name, DEFAULT_VALID_DAYS)
    }

    /// A server certificate for `name`, valid for `days` (negative for one already expired).
    pub fn issue_server(&self, name: &str, days: i64) -> Result<Credentials, IdentityError> {
        self.issue(server_params(name)?, days)
    }

    /// A gateway's certificate, naming its gateway id and facility, valid for `days` (negative
    /// for one that has already expired).
    pub fn issue_gateway(
        &self,
        gateway: &str,
        facility: &str,
        days: i64,
    ) -> Result<Credentials, IdentityError> {
        self.issue(gateway_params(gateway, facility)?, days)
    }

    /// A new certificate for the gateway of `cert_pem` (issued by this CA, expired or not):
    /// the same gateway, facility and key, valid for `days` from now. The gateway installs it
    /// over its own key, so its private key never travels.
    pub fn renew_gateway(&self, cert_pem: &str, days: i64) -> Result<String, IdentityError> {
        let der = first_cert(cert_pem, "gateway certificate")?;
        let from = self.issued_at(&der, "gateway certificate")?;
        verify_client(&self.creds.cert_pem, &der, from)?;
        let who = gateway_identity(&der)?;
        self.reissue(&der, gateway_params(&who.gateway, &who.facility)?, days)
    }

    /// A new certificate for the server of `cert_pem` (the hub's, or a gateway's on the prison
    /// LAN; issued by this CA, expired or not): the same name and key, valid for `days` from
    /// now. The certificate is public and its key stays on the server, so the file can be
    /// carried to the CA and back.
    pub fn renew_server(&self, cert_pem: &str, days: i64) -> Result<String, IdentityError> {
        let der = first_cert(cert_pem, "server certificate")?;
        if let Ok(who) = gateway_identity(&der) {
            return Err(IdentityError::GatewayCertificate(who.gateway));
        }
        let name = hub_name(cert_pem)?;
        let from = self.issued_at(&der, "server certificate")?;
        verify_server(&self.creds.cert_pem, &der, &name, from)?;
        self.reissue(&der, server_params(&name)?, days)
    }

    /// A moment `der` was valid at, for checking who issued a certificate that may have
    /// expired since.
    fn issued_at(
        &self,
        der: &[u8],
        what: &'static str,
    ) -> Result<rustls::pki_types::UnixTime, IdentityError> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der).map_err(|e| IdentityError::Pem {
                what,
                detail: e.to_string(),
            })?;
        let from = cert.validity().not_before.timestamp().max(0) as u64 + 1;
        Ok(rustls::pki_types::UnixTime::since_unix_epoch(
            std::time::Duration::from_secs(from),
        ))
    }

    /// `params`, valid for `days` from now, signed by this CA over the public key of `der`.
    fn reissue(
        &self,
        der: &[u8],
        mut params: CertificateParams,
        days: i64,
    ) -> Result<String, IdentityError> {
        let key = PointKey(public_point(der)?);
        let ca_key = KeyPair::from_pem(&self.creds.key_pem)?;
        let issuer = Issuer::new(ca_params(&self.name)?, ca_key);
        validity(&mut params, days, &self.clock);
        Ok(params.signed_by(&key, &issuer)?.pem())
    }
}

/// A gateway's P-256 public key, as a certificate holds it.
struct PointKey(Vec<u8>);

impl rcgen::PublicKeyData for PointKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

/// A server's certificate (the hub's, a console's) serves TLS servers only (server-auth EKU),
/// so a key taken from one box cannot pass as a client, nor a gateway's as a server.
fn server_params(name: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(vec![name.to_owned()])?;
    p.distinguished_name.push(DnType::CommonName, name);
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    Ok(p)
}

fn gateway_params(gateway: &str, facility: &str) -> Result<CertificateParams, rcgen::Error> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, gateway);
    p.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    p.subject_alt_names = vec![
        SanType::URI(format!("{GATEWAY_URI}{gateway}").try_into()?),
        SanType::URI(format!("{FACILITY_URI}{facility}").try_into()?),
    ];
    Ok(p)
}

/// Who a verified gateway certificate says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayIdentity {
    pub gateway: String,
    pub facility: String,
}

/// Reads the gateway id and facility from a certificate (DER) that TLS has already verified.
pub fn gateway_identity(cert_der: &[u8]) -> Result<GatewayIdentity, IdentityError> {
    let (_, cert) = x509_parser::parse_x509_certificate(cert_der)
        .map_err(|e| IdentityError::NotAGateway(e.to_string()))?;
    let san = cert
        .subject_alternative_name()
        .map_err(|e| IdentityError::NotAGateway(e.to_string()))?
        .ok_or_else(|| IdentityError::NotAGateway("no subject alternative names".into()))?;
    let (mut gateway, mut facility) = (None, None);
    for name in &san.value.general_names {
        if let x509_parser::extensions::GeneralName::URI(uri) = name {
            if let Some(g) = uri.strip_prefix(GATEWAY_URI) {
                gateway = Some(g.to_owned());
            } else if let Some(f) = uri.strip_prefix(FACILITY_URI) {
                facility = Some(f.to_owned());
            }
        }
    }
    match (gateway, facility) {
        (Some(gateway), Some(facility)) => Ok(GatewayIdentity { gateway, facility }),
        _ => Err(IdentityError::NotAGateway(
            "missing gateway or facility URI".into(),
        )),
    }
}

fn certs(pem: &str, what: &'static str) -> Result<Vec<CertificateDer<'static>>, IdentityError> {
    let v: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(pem.as_bytes()).collect();
    let v = v.map_err(|e| IdentityError::Pem {
        what,
        detail: e.to_string(),
    })?;
    if v.is_empty() {
        return Err(IdentityError::Pem {
            what,
            detail: "no certificate found".into(),
        });
    }
    Ok(v)
}

fn key(pem: &str) -> Result<PrivateKeyDer<'static>, IdentityError> {
    PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|e| IdentityError::Pem {
        what: "private key",
        detail: e.to_string(),
    })
}

/// Checks that `creds` holds a certificate (`what`) and the private key that belongs to it.
pub fn check_pair(creds: &Credentials, what: &'static str) -> Result<(), IdentityError> {
    let chain = certs(&creds.cert_pem, what)?;
    match rustls::sign::CertifiedKey::from_der(chain, key(&creds.key_pem)?, &provider()) {
        Ok(_) => Ok(()),
        Err(rustls::Error::InconsistentKeys(_)) => Err(IdentityError::KeyMismatch { what }),
        Err(e) => Err(e.into()),
    }
}

/// Checks that the first certificate of `cert_pem` was issued by the CA of `ca_pem` and is
/// valid now.
pub fn issued_by(ca_pem: &str, cert_pem: &str) -> Result<(), IdentityError> {
    let der = first_cert(cert_pem, "certificate")?;
    let now = rustls::pki_types::UnixTime::now();
    // A gateway's certificate is checked as a client's, a server's (the hub's, a console's)
    // as a server's under its own name: each for the use it was issued for.
    if gateway_identity(&der).is_ok() {
        verify_client(ca_pem, &der, now)
    } else {
        verify_server(ca_pem, &der, &hub_name(cert_pem)?, now)
    }
}

fn verify_client(
    ca_pem: &str,
    cert: &CertificateDer<'_>,
    at: rustls::pki_types::UnixTime,
) -> Result<(), IdentityError> {
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(ca_pem)?),
        provider(),
    )
    .build()
    .map_err(|e| IdentityError::Verifier(e.to_string()))?;
    verifier.verify_client_cert(cert, &[], at)?;
    Ok(())
}

/// Who the gateway certificate `der` names, once it is checked as TLS would check it: issued by
/// the CA of `ca_pem`, valid now.
pub fn verified_gateway(ca_pem: &str, der: &[u8]) -> Result<GatewayIdentity, IdentityError> {
    verify_client(
        ca_pem,
        &CertificateDer::from(der),
        rustls::pki_types::UnixTime::now(),
    )?;
    gateway_identity(der)
}

/// Checks the hub certificate `der` as a gateway's TLS does: issued by the CA of `ca_pem`,
/// valid now, for `hub_name`.
pub fn verify_hub(ca_pem: &str, der: &[u8], hub_name: &str) -> Result<(), IdentityError> {
    verify_server(ca_pem, der, hub_name, rustls::pki_types::UnixTime::now())
}

fn verify_server(
    ca_pem: &str,
    der: &[u8],
    hub_name: &str,
    at: rustls::pki_types::UnixTime,
) -> Result<(), IdentityError> {
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots(ca_pem)?),
        provider(),
    )
    .build()
    .map_err(|e| IdentityError::Verifier(e.to_string()))?;
    let name = rustls::pki_types::ServerName::try_from(hub_name.to_owned())
        .map_err(|e| IdentityError::Verifier(format!("hub name {hub_name:?}: {e}")))?;
    rustls::client::danger::ServerCertVerifier::verify_server_cert(
        verifier.as_ref(),
        &CertificateDer::from(der),
        &[],
        &name,
        &[],
        at,
    )?;
    Ok(())
}

/// A certificate (DER) as PEM.
pub fn der_to_pem(der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new("CERTIFICATE", der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// The first DNS name of the first certificate of `pem` (a hub's name).
pub fn hub_name(pem: &str) -> Result<String, IdentityError> {
    let der = first_cert(pem, "hub certificate")?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| IdentityError::Pem {
        what: "hub certificate",
        detail: e.to_string(),
    })?;
    let names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| san.value.general_names.clone())
        .unwrap_or_default();
    names
        .iter()
        .find_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
            _ => None,
        })
        .ok_or_else(|| IdentityError::Pem {
            what: "hub certificate",
            detail: "it names no DNS name".into(),
        })
}

/// When the first certificate of `pem` stops being valid, in ms since the epoch.
pub fn expires_at(pem: &str, what: &'static str) -> Result<crate::model::Millis, IdentityError> {
    let der = first_cert(pem, what)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(|e| IdentityError::Pem {
        what,
        detail: e.to_string(),
    })?;
    Ok(cert.validity().not_after.timestamp() * 1000)
}

/// The SHA-256 fingerprint of the first certificate in `pem`, as people compare it: 32
/// two-digit hex bytes joined by `:`.
pub fn fingerprint(pem: &str, what: &'static str) -> Result<String, IdentityError> {
    let der = first_cert(pem, what)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    Ok(digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

/// The first certificate of `pem`, as DER.
pub fn first_cert(pem: &str, what: &'static str) -> Result<CertificateDer<'static>, IdentityError> {
    Ok(certs(pem, what)?.swap_remove(0))
}

fn roots(ca_pem: &str) -> Result<rustls::RootCertStore, IdentityError> {
    let mut roots = rustls::RootCertStore::empty();
    for c in certs(ca_pem, "CA certificate")? {
        roots.add(c)?;
    }
    Ok(roots)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The hub's TLS: its own certificate, and every client must present a certificate that chains
/// to the national CA.
pub fn server_tls(ca_pem: &str, hub: &Credentials) -> Result<rustls::ServerConfig, IdentityError> {
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots(ca_pem)?),
        provider(),
    )
    .build()
    .map_err(|e| IdentityError::Verifier(e.to_string()))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs(&hub.cert_pem, "hub certificate")?, key(&hub.key_pem)?)?;
    cfg.alpn_protocols = vec![ALPN.to_vec(), PROBE_ALPN.to_vec()];
    Ok(cfg)
}

/// The gateway's HTTPS on the prison LAN, for staff browsers: a server certificate for the
/// gateway's LAN name (issued by the national CA, whose certificate facility IT installs on the
/// staff devices), no client certificates, TLS 1.2 and 1.3 so that old browsers connect.
pub fn lan_server_tls(server: &Credentials) -> Result<rustls::ServerConfig, IdentityError> {
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_single_cert(
            certs(&server.cert_pem, "LAN certificate")?,
            key(&server.key_pem)?,
        )?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// A gateway's TLS: it pins the national CA (the hub's name is checked by the caller's server
/// name) and presents its own certificate.
pub fn client_tls(
    ca_pem: &str,
    gateway: &Credentials,
) -> Result<rustls::ClientConfig, IdentityError> {
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots(ca_pem)?)
        .with_client_auth_cert(
            certs(&gateway.cert_pem, "gateway certificate")?,
            key(&gateway.key_pem)?,
        )?;
    cfg.alpn_protocols = vec![ALPN.to_vec()];
    Ok(cfg)
}

#[cfg(test)]
mod tests;
