//! Staff log-in on the LAN, with no link needed: accounts come from the hub in the sync, and
//! passwords are checked against their argon2id hashes here. Sessions live in memory and expire;
//! repeated failures for one username are throttled.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::lock;
use argon2::{Argon2, PasswordHash, PasswordVerifier};
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
    pub roles: std::collections::BTreeSet<Role>,
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

/// Password checks take turns, waiting here on the async side. Argon2id's working memory is
/// 19 MiB at the default cost: a burst of log-ins then costs 19 MiB once, not 19 MiB on every
/// thread it lands on (allocators keep freed memory per thread), and holds at most one of the
/// store's few blocking threads, so staff already logged in are still served.
pub static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

fn token() -> String {
    let mut b = [0u8; 32];
    // The system RNG does not fail on Linux; if it ever did, the token would still be unique
    // per process run only by accident, so refuse to hand one out.
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b)
        .expect("system random number generator");
    hex::encode(b)
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
        let ok = PasswordHash::new(hash)
            .map(|h| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false);
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
