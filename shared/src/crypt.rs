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

thread_local! {
    /// argon2's working memory (19 MiB at the default cost), kept between checks on one thread.
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Gives back this thread's argon2 working memory: for a checking thread that has had nothing
/// to check for a while, so an idle service does not hold it. Not after every check: memory
/// asked for again and again leaves the heap holding a copy per check.
pub fn release_password_memory() {
    BLOCKS.with(|b| *b.borrow_mut() = Vec::new());
}

/// Whether `password` matches the argon2id PHC string `hash`. Slow on purpose: call it off the
/// async threads. The working memory (19 MiB at the default cost) is kept by the calling
/// thread and used again for its next check, so a thread that checks many passwords (the
/// log-in guard's) holds it once rather than asking the allocator for it every time, which
/// leaves the heap holding a copy per check.
pub fn password_matches(hash: &str, password: &str) -> bool {
    use argon2::password_hash::{Output, PasswordHash};
    use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// Shortest password anyone may choose (NIST SP 800-63B asks at least 8; staff share
/// terminals, so 10).
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Passwords people choose most, and their likely variants, lowercased: refused whatever their
/// length (NIST SP 800-63B, 5.1.1.2: a list of commonly used or compromised values).
const COMMON_PASSWORDS: &[&str] = &[
    "password",
    "password1",
    "password12",
    "password123",
    "password1234",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "123456",
    "1234567",
    "12345678",
    "123456789",
    "1234567890",
    "12345678910",
    "0123456789",
    "0987654321",
    "9876543210",
    "1111111111",
    "0000000000",
    "qwerty",
    "qwertyuiop",
    "qwerty123",
    "qwerty1234",
    "qwertyuiop123",
    "asdfghjkl",
    "asdfghjkl1",
    "zxcvbnm",
    "zxcvbnm123",
    "1q2w3e4r5t",
    "1qaz2wsx3edc",
    "1q2w3e4r5t6y",
    "qazwsxedc",
    "qazwsxedc123",
    "abc123",
    "abcdefghij",
    "abcd1234",
    "abcdefg123",
    "iloveyou",
    "iloveyou12",
    "iloveyou123",
    "welcome",
    "welcome1",
    "welcome123",
    "welcome2026",
    "letmein",
    "letmein123",
    "letmein1234",
    "admin",
    "admin123",
    "administrator",
    "changeme",
    "changeme123",
    "trustno1",
    "football",
    "football123",
    "baseball",
    "sunshine",
    "sunshine123",
    "princess",
    "princess123",
    "monkey123",
    "dragon123",
    "master123",
    "superman",
    "superman123",
    "starwars",
    "whatever",
    "whatever123",
    "computer",
    "computer123",
    "internet",
    "internet123",
    "secret123",
    "prisoner",
    "correctional",
    "correctional1",
    "officer123",
    "teacher123",
    "pathway",
    "pathway123",
    "pathway2026",
    "pathwaydemo",
    "pathway-demo",
    "namibia",
    "namibia123",
    "windhoek",
    "windhoek123",
    "thailand",
    "thailand123",
    "bangkok",
    "bangkok123",
    "summer2026",
    "winter2026",
    "spring2026",
    "autumn2026",
    "summer2025",
    "winter2025",
    "january2026",
    "december2026",
    "qwertyqwerty",
    "passwordpassword",
    "123123123",
    "1231231231",
    "123qweasd",
    "qweasdzxc",
    "qweasdzxc123",
    "987654321",
    "11111111",
    "111111111",
    "00000000",
    "88888888",
    "666666666",
    "999999999",
    "a1b2c3d4e5",
    "aa12345678",
    "asdf1234",
    "zaq12wsx",
    "zaq1zaq1",
    "7777777777",
];

/// Why a chosen password is refused, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeakPassword {
    /// Under [`MIN_PASSWORD_CHARS`].
    Short,
    /// On the list of passwords people choose most, one character over and over, or a run of
    /// keys, letters or digits.
    Common,
    /// It holds the username.
    HoldsUsername,
}

/// Checks a password someone chose.
pub fn password_refusal(password: &str, username: &str) -> Option<WeakPassword> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Some(WeakPassword::Short);
    }
    let lower = password.to_lowercase();
    let first = lower.chars().next();
    let one_char = lower.chars().all(|c| Some(c) == first);
    // Every character one more (or one less) than the one before: "abcdefghij", "9876543210".
    let codes: Vec<u32> = lower.chars().map(u32::from).collect();
    let run =
        codes.windows(2).all(|w| w[1] == w[0] + 1) || codes.windows(2).all(|w| w[1] + 1 == w[0]);
    if one_char || run || COMMON_PASSWORDS.contains(&lower.as_str()) {
        return Some(WeakPassword::Common);
    }
    let user = username.trim().to_lowercase();
    if user.chars().count() >= 3 && lower.contains(&user) {
        return Some(WeakPassword::HoldsUsername);
    }
    None
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
    fn weak_passwords_are_refused_with_the_reason() {
        for (p, why) in [
            ("short", Some(WeakPassword::Short)),
            ("aaaaaaaaaa", Some(WeakPassword::Common)),
            ("Password123", Some(WeakPassword::Common)),
            ("1234567890", Some(WeakPassword::Common)),
            ("abcdefghijk", Some(WeakPassword::Common)),
            ("maria.a-is-me", Some(WeakPassword::HoldsUsername)),
            ("blue kettle under a mango tree", None),
            ("ม้าวิ่งเร็วมากในทุ่ง", None),
        ] {
            assert_eq!(password_refusal(p, "maria.a"), why, "{p}");
        }
    }

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
