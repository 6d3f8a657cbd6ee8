//! Authenticated encryption for what Pathway keeps secret at rest or in transit by hand: store
//! content, a CA's key, the keys in an enrolment bundle. ChaCha20-Poly1305 from ring, a random
//! nonce per value; keys from a secret typed by a person are stretched with argon2id.

use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Bytes of a key.
pub const KEY_LEN: usize = 32;

/// Random bytes from the system's generator.
pub fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    SystemRandom::new()
        .fill(&mut b)
        .expect("system random number generator");
    b
}

/// A 32-byte key from a secret a person holds (a passphrase, a one-time code) and a salt.
pub fn key_from_secret(secret: &str, salt: &[u8]) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    argon2::Argon2::default()
        .hash_password_into(secret.as_bytes(), salt, &mut key)
        .expect("a 16-byte salt and a 32-byte output are within argon2's limits");
    key
}

/// An argon2id PHC string for a password, with a random salt and the crate's default cost.
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let salt = SaltString::encode_b64(&random::<16>()).expect("16 bytes make a salt");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Whether `password` matches the argon2id PHC string `hash`. Slow on purpose: call it off the
/// async threads.
pub fn password_matches(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A hash to check against when an account does not exist, so that the answer takes as long.
pub static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("not a password"));

/// A random session token, 64 hex digits.
pub fn random_token() -> String {
    random::<32>().iter().map(|b| format!("{b:02x}")).collect()
}

/// Seals and opens values under one key.
pub struct Sealer {
    key: LessSafeKey,
}

impl Sealer {
    pub fn new(key: &[u8; KEY_LEN]) -> Sealer {
        let key = UnboundKey::new(&CHACHA20_POLY1305, key).expect("a 32-byte key");
        Sealer {
            key: LessSafeKey::new(key),
        }
    }

    /// `plain`, bound to `aad`: a random nonce, then the ciphertext and tag.
    pub fn seal(&self, aad: &[u8], plain: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = random();
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut body,
            )
            .expect("a value under 256 GiB seals");
        let mut out = Vec::with_capacity(NONCE_LEN + body.len());
        out.extend_from_slice(&nonce);
        out.append(&mut body);
        out
    }

    /// The plaintext of `sealed`, if it was sealed under this key for `aad` and is unaltered.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let nonce = Nonce::try_assume_unique_for_key(sealed.get(..NONCE_LEN)?).ok()?;
        let mut body = sealed.get(NONCE_LEN..)?.to_vec();
        let n = self
            .key
            .open_in_place(nonce, Aad::from(aad), &mut body)
            .ok()?
            .len();
        body.truncate(n);
        Some(body)
    }
}
