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
/// async threads. The working memory (19 MiB at the default cost) is kept by the calling
/// thread and used again for its next check, so a thread that checks many passwords (the
/// log-in guard's) holds it once rather than asking the allocator for it every time, which
/// leaves the heap holding a copy per check.
pub fn password_matches(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{Output, PasswordHash};
    use argon2::{Algorithm, Argon2, Block, Params, Version};
    thread_local! {
        static BLOCKS: std::cell::RefCell<Vec<Block>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let Ok(h) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (Algorithm::try_from(h.algorithm), Params::try_from(&h))
    else {
        return false;
    };
    let Ok(version) = h.version.map(Version::try_from).transpose() else {
        return false;
    };
    let (Some(salt), Some(expected)) = (h.salt, h.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params.clone());
    let hashed = BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        if blocks.len() < params.block_count() {
            blocks.resize(params.block_count(), Block::default());
        }
        argon.hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut blocks[..])
    });
    // Output compares in constant time.
    hashed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
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

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn a_password_matches_its_hash_only_and_memory_is_used_again() {
        let h = hash_password("correct horse battery");
        assert!(password_matches(&h, "correct horse battery"));
        assert!(!password_matches(&h, "correct horse battery!"));
        assert!(!password_matches("not a hash", "x"));
        // A hash with other costs (argon2's own verifier agrees).
        use argon2::password_hash::{PasswordHasher, SaltString};
        let params = argon2::Params::new(8_192, 2, 1, None).unwrap();
        let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
        let salt = SaltString::encode_b64(b"sixteen byte slt").unwrap();
        let other = a.hash_password(b"pw", &salt).unwrap().to_string();
        assert!(password_matches(&other, "pw"));
        assert!(
            password_matches(&h, "correct horse battery"),
            "after a smaller one"
        );
    }
}
