//! Staff log-in on the LAN, with no link needed: accounts come from the hub in the sync, and
//! passwords are checked against their argon2id hashes here. Sessions live in memory and expire;
//! a session ends as soon as its account changes at the hub (disabled, roles changed, password
//! reset). The guard against floods and guessing is in [`login`](super::login).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::lock;
use pathway_shared::model::{Millis, Role, StaffAccount, Visibility, staff_id};
use pathway_shared::store::{Store, StoreError};

/// A session ends this long after log-in…
pub const SESSION_MAX: Millis = 8 * 3_600_000;
/// …or after this long unused.
pub const SESSION_IDLE: Millis = 30 * 60_000;
/// Who is logged in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Staff {
    pub username: String,
    pub display_name: String,
    pub roles: std::collections::BTreeSet<Role>,
    /// Logged in with a one-time password: nothing is allowed but choosing a new one.
    pub must_change_password: bool,
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
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Live {
    staff: Staff,
    started: Millis,
    seen: Millis,
    /// The account's password hash at log-in: a reset at the hub ends the session.
    hash: String,
    /// [`Store::changes_from_peers`] when the account was last read: accounts change only in
    /// the sync, so it is read again only after changes have come in.
    read_at: u64,
}

#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Live>>,
}

pub use pathway_shared::crypt::hash_password;
use pathway_shared::crypt::{DUMMY_HASH, password_matches, random_token as token};

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
        let read_at = store.changes_from_peers();
        let account = store.get::<StaffAccount>(&staff_id(facility, username))?;
        let hash = account
            .as_ref()
            .filter(|a| !a.disabled)
            .map_or(DUMMY_HASH.as_str(), |a| a.password_hash.as_str());
        let ok = password_matches(hash, password);
        let account = match account {
            Some(a) if ok && !a.disabled => a,
            _ => return Err(LoginError::BadCredentials),
        };
        let staff = Staff {
            username: account.username,
            display_name: account.display_name,
            roles: account.roles,
            must_change_password: account.must_change_password,
        };
        let t = token();
        lock(&self.live).insert(
            t.clone(),
            Live {
                staff: staff.clone(),
                started: now,
                seen: now,
                hash: account.password_hash,
                read_at,
            },
        );
        Ok((t, staff))
    }

    /// The staff member a token belongs to, if the session is still live and the account is
    /// as it was at log-in.
    pub fn check(&self, store: &Store, facility: &str, token: &str, now: Millis) -> Option<Staff> {
        let mut live = lock(&self.live);
        let l = live.get_mut(token)?;
        if now - l.started > SESSION_MAX || now - l.seen > SESSION_IDLE {
            live.remove(token);
            return None;
        }
        let from_peers = store.changes_from_peers();
        if l.read_at != from_peers {
            let same = store
                .get::<StaffAccount>(&staff_id(facility, &l.staff.username))
                .ok()
                .flatten()
                .is_some_and(|a| {
                    !a.disabled && a.roles == l.staff.roles && a.password_hash == l.hash
                });
            if !same {
                live.remove(token);
                return None;
            }
            l.read_at = from_peers;
        }
        l.seen = now;
        Some(l.staff.clone())
    }

    pub fn logout(&self, token: &str) {
        lock(&self.live).remove(token);
    }

    /// Ends every session of `username` (after their password changed here).
    pub fn end_all(&self, username: &str) {
        lock(&self.live).retain(|_, l| l.staff.username != username);
    }
}
