//! The certificate keys put to work outside TLS, for files carried by hand: signing with this
//! node's key, checking a signature against a certificate, and sealing to a certificate's key
//! (ECIES: a one-time P-256 key agreed with the recipient's, HKDF-SHA256, ChaCha20-Poly1305),
//! so that only the holder of that certificate's key opens it.

use ring::rand::SystemRandom;
use ring::{agreement, hkdf, signature};
use rustls::pki_types::PrivateKeyDer;
use rustls::pki_types::pem::PemObject;

use super::{Credentials, IdentityError};
use crate::crypt::{KEY_LEN, Sealer};

/// What a key or certificate could not do, in words.
fn fail(what: &str) -> impl FnOnce(ring::error::Unspecified) -> IdentityError + '_ {
    move |_| IdentityError::Verifier(what.to_owned())
}

fn pkcs8(creds: &Credentials) -> Result<Vec<u8>, IdentityError> {
    match PrivateKeyDer::from_pem_slice(creds.key_pem.as_bytes()) {
        Ok(PrivateKeyDer::Pkcs8(k)) => Ok(k.secret_pkcs8_der().to_vec()),
        Ok(_) => Err(IdentityError::Pem {
            what: "private key",
            detail: "not a PKCS#8 key".into(),
        }),
        Err(e) => Err(IdentityError::Pem {
            what: "private key",
            detail: e.to_string(),
        }),
    }
}

/// The public key (an uncompressed P-256 point) of a certificate, DER.
pub fn public_point(cert_der: &[u8]) -> Result<Vec<u8>, IdentityError> {
    let (_, cert) =
        x509_parser::parse_x509_certificate(cert_der).map_err(|e| IdentityError::Pem {
            what: "certificate",
            detail: e.to_string(),
        })?;
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

/// `msg` signed with `creds`' key (ECDSA P-256, SHA-256).
pub fn sign(creds: &Credentials, msg: &[u8]) -> Result<Vec<u8>, IdentityError> {
    let rng = SystemRandom::new();
    let key = signature::EcdsaKeyPair::from_pkcs8(
        &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
        &pkcs8(creds)?,
        &rng,
    )
    .map_err(|e| IdentityError::Pem {
        what: "private key",
        detail: e.to_string(),
    })?;
    Ok(key
        .sign(&rng, msg)
        .map_err(fail("signing failed"))?
        .as_ref()
        .to_vec())
}

/// Whether `sig` is the signature of `msg` by the key of the certificate `cert_der`.
pub fn signed_by(cert_der: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    public_point(cert_der).is_ok_and(|point| {
        signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
            .verify(msg, sig)
            .is_ok()
    })
}

fn derive(
    shared: &[u8],
    one_time: &[u8],
    recipient: &[u8],
) -> Result<[u8; KEY_LEN], IdentityError> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"pathway sealed file 1").extract(shared);
    let mut key = [0u8; KEY_LEN];
    prk.expand(&[one_time, recipient], hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(&mut key))
        .map_err(fail("key derivation failed"))?;
    Ok(key)
}

/// `plain` sealed to the holder of `cert_der`'s key, bound to `aad`: the one-time public key
/// to send along, and the sealed bytes.
pub fn seal_to(
    cert_der: &[u8],
    aad: &[u8],
    plain: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), IdentityError> {
    let recipient = public_point(cert_der)?;
    let rng = SystemRandom::new();
    let mine = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &rng)
        .map_err(fail("no one-time key"))?;
    let one_time = mine
        .compute_public_key()
        .map_err(fail("no one-time key"))?
        .as_ref()
        .to_vec();
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, &recipient);
    let key =
        agreement::agree_ephemeral(mine, &peer, |shared| derive(shared, &one_time, &recipient))
            .map_err(fail("the recipient's certificate holds no P-256 key"))??;
    Ok((one_time, Sealer::new(&key).seal(aad, plain)))
}

/// Opens what [`seal_to`] sealed to `creds`' certificate; `None` if it was sealed to another
/// key, bound to other `aad`, or altered.
pub fn open_sealed(
    creds: &Credentials,
    one_time: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Option<Vec<u8>> {
    use p256::pkcs8::DecodePrivateKey;
    let mine = p256::SecretKey::from_pkcs8_der(&pkcs8(creds).ok()?).ok()?;
    let theirs = p256::PublicKey::from_sec1_bytes(one_time).ok()?;
    let shared = p256::ecdh::diffie_hellman(mine.to_nonzero_scalar(), theirs.as_affine());
    let recipient = public_point(
        super::first_cert(&creds.cert_pem, "certificate")
            .ok()?
            .as_ref(),
    )
    .ok()?;
    let key = derive(shared.raw_secret_bytes(), one_time, &recipient).ok()?;
    Sealer::new(&key).open(aad, sealed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Ca, first_cert};

    #[test]
    fn sealed_to_a_certificate_opens_only_with_its_key() {
        let ca = Ca::generate("test CA").unwrap();
        let hub = ca.issue_hub("hub.test").unwrap();
        let other = ca.issue_hub("other.test").unwrap();
        let hub_der = first_cert(&hub.cert_pem, "hub").unwrap();
        let (one_time, sealed) = seal_to(&hub_der, b"head", b"the changes").unwrap();
        assert_eq!(
            open_sealed(&hub, &one_time, b"head", &sealed).as_deref(),
            Some(&b"the changes"[..])
        );
        assert!(open_sealed(&other, &one_time, b"head", &sealed).is_none());
        assert!(open_sealed(&hub, &one_time, b"other head", &sealed).is_none());
        let mut cut = sealed.clone();
        cut.pop();
        assert!(open_sealed(&hub, &one_time, b"head", &cut).is_none());
    }

    #[test]
    fn a_signature_checks_only_against_the_signers_certificate() {
        let ca = Ca::generate("test CA").unwrap();
        let gw = ca.issue_gateway("gw-a", "WHK", 30).unwrap();
        let other = ca.issue_gateway("gw-b", "WHK", 30).unwrap();
        let sig = sign(&gw, b"file").unwrap();
        let der = first_cert(&gw.cert_pem, "gw").unwrap();
        assert!(signed_by(&der, b"file", &sig));
        assert!(!signed_by(&der, b"filE", &sig));
        assert!(!signed_by(
            &first_cert(&other.cert_pem, "gw").unwrap(),
            b"file",
            &sig
        ));
    }
}
