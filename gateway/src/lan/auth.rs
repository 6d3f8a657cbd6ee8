//! Staff log-in on the LAN, with no link needed: accounts come from the hub in the sync, and
//! passwords are checked against their argon2id hashes here. Sessions live in memory and expire;
//! repeated failures for one username are throttled.

use std::collections::HashMap;
use std::sync::Mutex;

use argon2::{Argon2, PasswordHash};
use pathway_shared::model::{Millis, Role, StaffAccount, Visibility, staff_id};
use pathway_shared::store::{Store, StoreError};

/// A session ends this long after log-in…
pub const SESSION_MAX: Millis = 8 * 3_600_000;
/// …or after this long unused.
pub const SESSION_IDLE: Millis = 30 * 60_000;
/// Failed log-ins for one username within [`FAILURE_WINDOW`] before it is locked…
pub const MAX_FAILURES: u32 = 5;
pub const FAILURE_WINDOW: Millis = 15 * 60_000;
/// …for this long.
pub const LOCKOUT: Millis = 15 * 60_000;

/// Who is logged in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Staff {
    pub username: String,
    pub display_name: String,
    pub roles: Vec<Role>,
}

impl Staff {
    pub fn has(&self, any: &[Role]) -> bool {
        self.roles.iter().any(|r| any.contains(r))
    }

    /// What this person may see of a case file: health data only health staff; restricted notes
    /// only the case officer and the facility manager.
    pub fn visibility(&self) -> Visibility {
        Visibility {
            health: self.has(&[Role::HealthStaff]),
            restricted_notes: self.has(&[Role::CaseOfficer, Role::FacilityManager]),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Unknown user, wrong password or a disabled account: the caller is told no more.
    #[error("username or password is wrong")]
    BadCredentials,
    #[error("too many failed log-ins for this username; try again in {minutes} min")]
    Throttled { minutes: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Live {
    staff: Staff,
    started: Millis,
    seen: Millis,
}

#[derive(Default)]
struct Failures {
    count: u32,
    first: Millis,
    locked_until: Millis,
}

#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Live>>,
    failures: Mutex<HashMap<String, Failures>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A hash to check against when the account does not exist, so that the answer takes as long.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password("not a password"));

/// An argon2id PHC string for `password`, with a random salt and the crate's default cost.
pub fn hash_password(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut salt)
        .expect("system random number generator");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a salt");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .unwrap_or_default()
}

/// Argon2id's working memory (19 MiB at the default cost), shared by every check. Checks take
/// turns: a burst of log-ins then costs 19 MiB once, not 19 MiB on every thread it lands on
/// (allocators keep freed memory per thread), and cannot crowd out the requests of staff
/// already logged in.
static WORK: Mutex<Vec<argon2::Block>> = Mutex::new(Vec::new());

/// Log-ins wait for their turn at the working memory here, on the async side, so that they
/// never hold more than one of the store's few blocking threads.
pub static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Whether `password` matches the argon2 PHC string `hash`; a malformed hash matches nothing.
fn verify_password(hash: &str, password: &str) -> bool {
    let check = || -> Option<bool> {
        let h = PasswordHash::new(hash).ok()?;
        let algorithm = argon2::Algorithm::try_from(h.algorithm).ok()?;
        let version = argon2::Version::try_from(h.version.unwrap_or(0x13)).ok()?;
        let params = argon2::Params::try_from(&h).ok()?;
        let expected = h.hash?;
        let mut salt = [0u8; 64];
        let salt = h.salt?.decode_b64(&mut salt).ok()?;
        let mut out = vec![0u8; expected.len()];
        let mut work = lock(&WORK);
        work.resize(params.block_count(), argon2::Block::new());
        Argon2::new(algorithm, version, params)
            .hash_password_into_with_memory(password.as_bytes(), salt, &mut out, &mut work[..])
            .ok()?;
        // `Output`'s comparison takes the same time wherever the bytes differ.
        Some(argon2::password_hash::Output::new(&out).ok()? == expected)
    };
    check().unwrap_or(false)
}

fn token() -> String {
    let mut b = [0u8; 32];
    // The system RNG does not fail on Linux; if it ever did, the token would still be unique
    // per process run only by accident, so refuse to hand one out.
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .expect("system random number generator");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl Sessions {
    /// Checks a password. Slow on purpose (argon2id): call it off the async threads.
    pub fn login(
        &self,
        store: &Store,
        facility: &str,
        username: &str,
        password: &str,
        now: Millis,
    ) -> Result<(String, Staff), LoginError> {
        if let Some(f) = lock(&self.failures)
            .get(username)
            .filter(|f| f.locked_until > now)
        {
            return Err(LoginError::Throttled {
                minutes: (f.locked_until - now + 59_999) / 60_000,
            });
        }
        let account = store.get::<StaffAccount>(&staff_id(facility, username))?;
        let hash = account
            .as_ref()
            .filter(|a| !a.disabled)
            .map_or(DUMMY_HASH.as_str(), |a| a.password_hash.as_str());
        let ok = verify_password(hash, password);
        let account = match account {
            Some(a) if ok && !a.disabled => a,
            _ => {
                let mut failures = lock(&self.failures);
                let f = failures.entry(username.to_owned()).or_default();
                if now - f.first > FAILURE_WINDOW {
                    *f = Failures {
                        count: 0,
                        first: now,
                        locked_until: 0,
                    };
                }
                f.count += 1;
                if f.count >= MAX_FAILURES {
                    f.locked_until = now + LOCKOUT;
                }
                return Err(LoginError::BadCredentials);
            }
        };
        lock(&self.failures).remove(username);
        let staff = Staff {
            username: account.username,
            display_name: account.display_name,
            roles: account.roles,
        };
        let t = token();
        lock(&self.live).insert(
            t.clone(),
            Live {
                staff: staff.clone(),
                started: now,
                seen: now,
            },
        );
        Ok((t, staff))
    }

    /// The staff member a token belongs to, if the session is still live.
    pub fn check(&self, token: &str, now: Millis) -> Option<Staff> {
        let mut live = lock(&self.live);
        let l = live.get_mut(token)?;
        if now - l.started > SESSION_MAX || now - l.seen > SESSION_IDLE {
            live.remove(token);
            return None;
        }
        l.seen = now;
        Some(l.staff.clone())
    }

    pub fn logout(&self, token: &str) {
        lock(&self.live).remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_only_its_own_hash() {
        let hash = hash_password("correct horse");
        assert!(verify_password(&hash, "correct horse"));
        assert!(!verify_password(&hash, "correct horsE"));
        assert!(!verify_password(&hash, ""));
        assert!(!verify_password("", "correct horse"));
        assert!(!verify_password(
            "$argon2id$v=19$m=8,t=1,p=1$bm90YXNhbHQ",
            "x"
        ));
        // The shared working memory is resized for other costs.
        let cheap = {
            use argon2::password_hash::{PasswordHasher, SaltString};
            let salt = SaltString::encode_b64(b"sixteen byte sal").unwrap();
            let params = argon2::Params::new(64, 1, 1, None).unwrap();
            Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password(b"pw", &salt)
                .unwrap()
                .to_string()
        };
        assert!(verify_password(&cheap, "pw"));
        assert!(verify_password(&hash, "correct horse"));
    }
}
