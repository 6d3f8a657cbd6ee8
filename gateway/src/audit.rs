//! The gateway's audit trail: appends to the facility's hash-chained log (see
//! [`pathway_shared::model::AuditDay`]), one entry at a time, each durable before the request
//! that caused it is answered.

use std::sync::Mutex;

use pathway_shared::model::{
    AUDIT_GENESIS, AuditDay, AuditEntry, ChainBreak, Kind, Millis, audit_id, verify_chain,
};
use pathway_shared::store::{Store, StoreError};

/// Why the log cannot be trusted or written.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Broken(#[from] ChainBreak),
}

struct Tail {
    seq: u64,
    hash: String,
}

pub struct Audit {
    store: Store,
    facility: String,
    /// The chain's last entry. Appends hold it, so entries are chained one at a time.
    tail: Mutex<Tail>,
}

/// The UTC day of `at`, `YYYY-MM-DD`.
fn day_of(at: Millis) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(at.div_euclid(1_000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day())
}

impl Audit {
    /// Opens the facility's log and finds its last entry.
    pub fn open(store: Store, facility: &str) -> Result<Audit, StoreError> {
        let days = store.list(&format!("facility:{facility}"), Kind::AuditLog)?;
        let mut tail = Tail {
            seq: 0,
            hash: AUDIT_GENESIS.to_owned(),
        };
        // Ids end with the day, so the last id is the latest day.
        let latest = match days.iter().max() {
            Some(last) => store.get::<AuditDay>(last)?,
            None => None,
        };
        if let Some(e) = latest.as_ref().and_then(AuditDay::last) {
            tail = Tail {
                seq: e.seq,
                hash: e.hash.clone(),
            };
        }
        Ok(Audit {
            store,
            facility: facility.to_owned(),
            tail: Mutex::new(tail),
        })
    }

    /// Appends an entry; returns once it is durable.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        let mut entry = AuditEntry {
            seq: tail.seq + 1,
            at: now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            prev: tail.hash.clone(),
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        let day = day_of(now);
        let id = audit_id(&self.facility, &day);
        let key = AuditDay::key(entry.seq);
        if self.store.meta(&id)?.is_some() {
            self.store
                .edit::<AuditDay, _, StoreError>(&id, now, |e| e.put(&["entries", &key], &entry))?;
        } else {
            let first = AuditDay {
                facility_id: self.facility.clone(),
                day,
                entries: [(key, entry.clone())].into(),
            };
            self.store.put(&first, now)?;
        }
        *tail = Tail {
            seq: entry.seq,
            hash: entry.hash,
        };
        Ok(())
    }

    /// Checks the whole log kept here; returns the number of entries checked.
    pub fn verify(&self) -> Result<u64, AuditError> {
        verify_store(&self.store, &self.facility)
    }
}

/// Checks a facility's log in `store`, at the gateway or the hub.
pub fn verify_store(store: &Store, facility: &str) -> Result<u64, AuditError> {
    let mut ids = store.list(&format!("facility:{facility}"), Kind::AuditLog)?;
    ids.sort();
    let mut days = Vec::new();
    for id in ids {
        if let Some(d) = store.get::<AuditDay>(&id)? {
            days.push(d);
        }
    }
    Ok(verify_chain(&days)?)
}
