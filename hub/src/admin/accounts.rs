//! The hub's administrators: accounts kept in the hub's own store (never synced), argon2id
//! log-ins, and sessions in memory that end after 8 hours, after 30 idle minutes, or as soon as
//! the account changes.

use std::collections::HashMap;
use std::sync::Mutex;

use pathway_shared::crypt::{DUMMY_HASH, hash_password, password_matches, random_token};
use pathway_shared::model::Millis;
use pathway_shared::store::{Store, StoreError};
use serde::{Deserialize, Serialize};

const TABLE: &str = "admin";
const MAX_AGE: Millis = 8 * 3_600_000;
const MAX_IDLE: Millis = 30 * 60_000;
/// Shortest password an administrator may have.
pub const MIN_PASSWORD: usize = 12;

/// What an administrator may do at the hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminRole {
    /// The catalogue, partners, facilities, staff accounts, the review queue; reads case files.
    NationalAdmin,
    /// The fleet and sync metadata only, never case content.
    SyncOperator,
    /// The audit trails and the review queue, read-only.
    Auditor,
}

impl AdminRole {
    pub fn parse(s: &str) -> Option<AdminRole> {
        match s.replace('-', "_").as_str() {
            "national_admin" => Some(AdminRole::NationalAdmin),
            "sync_operator" => Some(AdminRole::SyncOperator),
            "auditor" => Some(AdminRole::Auditor),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            AdminRole::NationalAdmin => "national_admin",
            AdminRole::SyncOperator => "sync_operator",
            AdminRole::Auditor => "auditor",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminAccount {
    pub username: String,
    pub display_name: String,
    pub role: AdminRole,
    /// argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
}

/// Why an administrator account cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(
        "the username `{0}` is not allowed: use 2 to 64 lowercase letters, digits, `.`, `-` or `_`"
    )]
    Username(String),
    #[error("the password is too short: use at least {MIN_PASSWORD} characters")]
    ShortPassword,
    #[error(
        "the password is one people choose too often, a run of one key or of letters or digits, or holds the username: choose another"
    )]
    WeakPassword,
    #[error("an administrator `{0}` already exists")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub use pathway_shared::import::username_ok;

/// Makes an administrator account. The first one is made with `pathway-hub add-admin`.
pub fn add_admin(
    store: &Store,
    username: &str,
    display_name: &str,
    role: AdminRole,
    password: &str,
) -> Result<AdminAccount, AccountError> {
    if !username_ok(username) {
        return Err(AccountError::Username(username.to_owned()));
    }
    if password.chars().count() < MIN_PASSWORD {
        return Err(AccountError::ShortPassword);
    }
    if pathway_shared::crypt::password_refusal(password, username).is_some() {
        return Err(AccountError::WeakPassword);
    }
    let account = AdminAccount {
        username: username.to_owned(),
        display_name: display_name.trim().to_owned(),
        role,
        password_hash: hash_password(password),
        disabled: false,
    };
    store.update_local(TABLE, username, |old: Option<AdminAccount>| match old {
        Some(_) => Err(AccountError::Exists(username.to_owned())),
        None => Ok((Some(account.clone()), ())),
    })?;
    Ok(account)
}

/// Every administrator account.
pub fn admins(store: &Store) -> Result<Vec<AdminAccount>, StoreError> {
    Ok(store
        .local_all::<AdminAccount>(TABLE)?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

/// A logged-in administrator.
#[derive(Debug, Clone)]
pub struct AdminUser {
    pub username: String,
    pub display_name: String,
    pub role: AdminRole,
}

impl AdminUser {
    pub fn is(&self, any: &[AdminRole]) -> bool {
        any.contains(&self.role)
    }
}

struct Live {
    user: AdminUser,
    started: Millis,
    seen: Millis,
    hash: String,
}

/// Live administrator sessions, by token.
#[derive(Default)]
pub struct Sessions {
    live: Mutex<HashMap<String, Live>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sessions {
    /// Checks a password (slow on purpose: call it off the async threads) and opens a session.
    pub fn login(
        &self,
        store: &Store,
        username: &str,
        password: &str,
        now: Millis,
    ) -> Result<Option<(String, AdminUser)>, StoreError> {
        let account = store
            .local::<AdminAccount>(TABLE, username)?
            .filter(|a| !a.disabled);
        let hash = account
            .as_ref()
            .map_or(DUMMY_HASH.as_str(), |a| a.password_hash.as_str());
        let ok = password_matches(hash, password);
        let Some(account) = account.filter(|_| ok) else {
            return Ok(None);
        };
        let user = AdminUser {
            username: account.username,
            display_name: account.display_name,
            role: account.role,
        };
        let token = random_token();
        let mut live = lock(&self.live);
        live.retain(|_, l| now - l.started < MAX_AGE && now - l.seen < MAX_IDLE);
        live.insert(
            token.clone(),
            Live {
                user: user.clone(),
                started: now,
                seen: now,
                hash: account.password_hash,
            },
        );
        Ok(Some((token, user)))
    }

    /// The administrator a token belongs to, while the session is live and the account is as it
    /// was at log-in (not disabled, same role and password).
    pub fn check(&self, store: &Store, token: &str, now: Millis) -> Option<AdminUser> {
        let mut live = lock(&self.live);
        let l = live.get_mut(token)?;
        let account = store
            .local::<AdminAccount>(TABLE, &l.user.username)
            .ok()
            .flatten();
        let same = account
            .is_some_and(|a| !a.disabled && a.role == l.user.role && a.password_hash == l.hash);
        if !same || now - l.started >= MAX_AGE || now - l.seen >= MAX_IDLE {
            live.remove(token);
            return None;
        }
        l.seen = now;
        Some(l.user.clone())
    }

    pub fn logout(&self, token: &str) {
        lock(&self.live).remove(token);
    }
}
