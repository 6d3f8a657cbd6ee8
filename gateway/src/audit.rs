//! The gateway's audit trail: appends to the facility's hash-chained log (see
//! [`pathway_shared::model::AuditBlock`]). Entries are chained one at a time under a lock, and
//! each is durable before the request that caused it is answered; the wait for the disk happens
//! outside the lock, so concurrent requests share flushes.

use std::sync::Mutex;

use pathway_shared::model::{
    AUDIT_GENESIS, AuditBlock, AuditEntry, ChainBreak, Kind, Millis, audit_id, verify_chain,
};
use pathway_shared::store::{Pending, Store, StoreError};

use crate::lock;

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

impl Audit {
    /// Opens the facility's log and finds its last entry.
    pub fn open(store: Store, facility: &str) -> Result<Audit, StoreError> {
        let blocks = store.list(&format!("facility:{facility}"), Kind::AuditLog)?;
        // Ids end with the zero-padded block number, so the last id is the latest block.
        let latest = match blocks.iter().max() {
            Some(last) => store.get::<AuditBlock>(last)?,
            None => None,
        };
        let tail = match latest.as_ref().and_then(AuditBlock::last) {
            Some(e) => Tail {
                seq: e.seq,
                hash: e.hash.clone(),
            },
            None => Tail {
                seq: 0,
                hash: AUDIT_GENESIS.to_owned(),
            },
        };
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
        self.stage(actor, action, target, now)?.durable()
    }

    /// Appends an entry without waiting for the disk: a write staged just before it is
    /// covered by the same flush, so a write and its entry cost one flush, not two.
    pub fn stage(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        now: Millis,
    ) -> Result<Pending, StoreError> {
        Ok({
            let mut tail = lock(&self.tail);
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
            let block = AuditBlock::of(entry.seq);
            let id = audit_id(&self.facility, block);
            let key = AuditBlock::key(entry.seq);
            let pending = if self.store.meta(&id)?.is_some() {
                self.store
                    .edit_staged::<AuditBlock, _, StoreError>(&id, now, |e| {
                        e.put(&["entries", &key], &entry)
                    })?
                    .2
            } else {
                let first = AuditBlock {
                    facility_id: self.facility.clone(),
                    block,
                    entries: [(key, entry.clone())].into(),
                };
                self.store.put_staged(&first, now)?.1
            };
            if AuditBlock::of(entry.seq + 1) != block {
                // The block is full and will not be written again: free its memory.
                self.store.unload(&id);
            }
            *tail = Tail {
                seq: entry.seq,
                hash: entry.hash,
            };
            pending
        })
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
    let mut blocks = Vec::new();
    for id in ids {
        if let Some(b) = store.get::<AuditBlock>(&id)? {
            blocks.push(b);
        }
    }
    Ok(verify_chain(&blocks)?)
}
