//! The gateway's audit trail: appends to the facility's hash-chained log (see
//! [`pathway_shared::model::AuditBlock`]). Entries are chained one at a time under a lock, and
//! each is durable before the request that caused it is answered; the wait for the disk happens
//! outside the lock, so concurrent requests share flushes. A write and its entry are one batch
//! ([`Audit::stage_with`]): a record is never stored without its entry.

use std::sync::Mutex;

use pathway_shared::model::{
    AUDIT_GENESIS, Aggregate, AuditBlock, AuditEntry, ChainBreak, DocId, Kind, Millis, Scope,
    audit_id, verify_chain,
};
use pathway_shared::store::{Beside, Editor, Pending, Store, StoreError};
// The hub: the peer whose copy anchors the newest end of a gateway's log.
use pathway_shared::sync::HUB;

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

/// An entry chained to the tail, not yet staged.
struct Next {
    block_id: DocId,
    block: u64,
    entry: AuditEntry,
}

impl std::fmt::Debug for Audit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Audit")
            .field("facility", &self.facility)
            .finish()
    }
}

pub struct Audit {
    store: Store,
    facility: String,
    /// The chain's last entry. Appends hold it, so entries are chained one at a time.
    tail: Mutex<Tail>,
}

impl Audit {
    /// Opens the facility's log and finds its last entry.
    /// The facility whose trail this is.
    pub fn facility(&self) -> &str {
        &self.facility
    }

    pub fn open(store: Store, facility: &str) -> Result<Audit, StoreError> {
        let tail = Self::find_tail(&store, facility)?;
        Ok(Audit {
            store,
            facility: facility.to_owned(),
            tail: Mutex::new(tail),
        })
    }

    /// Finds the chain's last entry again: after a restored or rebuilt store has caught up
    /// with the hub, whose copy holds the entries the store lost.
    pub fn reload(&self) -> Result<(), StoreError> {
        let mut tail = lock(&self.tail);
        *tail = Self::find_tail(&self.store, &self.facility)?;
        Ok(())
    }

    fn find_tail(store: &Store, facility: &str) -> Result<Tail, StoreError> {
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
        Ok(tail)
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

    /// Appends an entry without waiting for the disk.
    pub fn stage(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        now: Millis,
    ) -> Result<Pending, StoreError> {
        let mut tail = lock(&self.tail);
        let next = self.next(&tail, actor, action, target, now);
        let pending = self.store.upsert_staged::<AuditBlock, StoreError>(
            &next.block_id,
            self.scope(),
            now,
            self.writer(&next),
        )?;
        self.advance(&mut tail, next);
        Ok(pending)
    }

    /// Edits the document `id` with `f` and appends the entry for it, as one batch: the record
    /// and its entry are stored together or not at all. Not durable until the [`Pending`] says
    /// so; a write staged with it and its entry share one flush. The record is edited before
    /// the chain's tail is taken, so concurrent writers wait for each other only to chain.
    pub fn stage_with<T: Aggregate, R, E: From<StoreError>>(
        &self,
        actor: &str,
        action: &str,
        id: &DocId,
        now: Millis,
        f: impl FnOnce(&mut Editor<'_, '_>) -> Result<R, E>,
    ) -> Result<(R, Pending), E> {
        let (r, (mut tail, next), pending) = self
            .store
            .edit_with_staged::<T, AuditBlock, R, E, _, _>(id, now, f, || {
                self.entry_beside(actor, action, id.as_str(), now)
            })?;
        self.advance(&mut tail, next);
        Ok((r, pending))
    }

    /// Creates `value` as a new document and appends the entry for it, as one batch, like
    /// [`Audit::stage_with`]. A document already at its id is [`StoreError::Exists`].
    pub fn stage_new<T: Aggregate, E: From<StoreError>>(
        &self,
        actor: &str,
        action: &str,
        value: &T,
        now: Millis,
    ) -> Result<Pending, E> {
        let id = value.doc_id();
        let ((mut tail, next), pending) =
            self.store
                .create_with_staged::<T, AuditBlock, E, _, _>(value, now, || {
                    self.entry_beside(actor, action, id.as_str(), now)
                })?;
        self.advance(&mut tail, next);
        Ok(pending)
    }

    /// The entry for `target`, to write beside a record: the chain's tail is held (and handed
    /// back) until both are staged.
    #[allow(clippy::type_complexity)]
    fn entry_beside<E: From<StoreError>>(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        now: Millis,
    ) -> Result<
        Beside<
            impl FnOnce(&mut Editor<'_, '_>) -> Result<(), E> + use<'_, E>,
            (std::sync::MutexGuard<'_, Tail>, Next),
        >,
        E,
    > {
        let tail = lock(&self.tail);
        let next = self.next(&tail, actor, action, target, now);
        let write = self.writer(&next);
        Ok(Beside {
            id: next.block_id.clone(),
            scope: self.scope(),
            edit: move |e: &mut Editor<'_, '_>| write(e).map_err(E::from),
            state: (tail, next),
        })
    }

    fn scope(&self) -> Scope {
        Scope::Facility(self.facility.clone())
    }

    /// The entry after `tail`, chained to it, and the block it goes in.
    fn next(&self, tail: &Tail, actor: &str, action: &str, target: &str, now: Millis) -> Next {
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
        Next {
            block_id: audit_id(&self.facility, block),
            block,
            entry,
        }
    }

    /// The edit that writes `next` into its block (a new block gets its facility and number).
    fn writer(
        &self,
        next: &Next,
    ) -> impl FnOnce(&mut Editor<'_, '_>) -> Result<(), StoreError> + use<'_> {
        let (entry, block) = (next.entry.clone(), next.block);
        move |e: &mut Editor<'_, '_>| {
            if e.get::<String>(&["facility_id"])?
                .unwrap_or_default()
                .is_empty()
            {
                e.put(&["facility_id"], &self.facility)?;
                e.put(&["block"], &block)?;
            }
            e.put(&["entries", &AuditBlock::key(entry.seq)], &entry)
        }
    }

    /// Moves the tail to `next`, once it is staged.
    fn advance(&self, tail: &mut Tail, next: Next) {
        if AuditBlock::of(next.entry.seq + 1) != next.block {
            // The block is full and will not be written again: free its memory.
            self.store.unload(&next.block_id);
        }
        *tail = Tail {
            seq: next.entry.seq,
            hash: next.entry.hash,
        };
    }

    /// Checks the whole log kept here, from its first entry to the newest the hub is known to
    /// hold: a block the hub holds changes of that are not here (entries lost or rolled back
    /// here since the hub received them) breaks the chain too. Returns the entries checked.
    pub fn verify(&self) -> Result<u64, AuditError> {
        let checked = verify_store(&self.store, &self.facility)?;
        let mut ids = self
            .store
            .list(&format!("facility:{}", self.facility), Kind::AuditLog)?;
        ids.sort();
        // And the blocks the next entries go in, in case the hub holds one lost here whole.
        let next = AuditBlock::of(checked + 1);
        ids.extend([next, next + 1].map(|b| audit_id(&self.facility, b)));
        ids.dedup();
        for id in ids {
            let held = self.store.peer_heads(HUB, &id)?;
            if held.is_empty() {
                continue;
            }
            let here = self
                .store
                .read(&id, |d, _| {
                    use automerge::ReadDoc;
                    held.iter().all(|h| d.get_change_by_hash(h).is_some())
                })?
                .unwrap_or(false);
            if !here {
                return Err(AuditError::Broken(ChainBreak {
                    seq: checked,
                    what: format!(
                        "is the newest entry here, but the hub holds changes of {id} that are not: entries were lost or rolled back here"
                    ),
                }));
            }
        }
        Ok(checked)
    }
}

impl Audit {
    /// The store's integrity in one sentence for facility IT: the audit trail verifies from its
    /// first entry to the newest the hub holds ([`Audit::verify`]), or what is wrong and what to
    /// do. Reads every block of the trail.
    pub fn integrity(&self) -> Result<String, String> {
        let seq = self.store.durable_seq();
        match self.verify() {
            Ok(entries) => Ok(format!(
                "the store opens and its audit trail verifies: {entries} entries, feed at #{seq}"
            )),
            Err(AuditError::Broken(b)) => Err(format!(
                "the audit trail is broken: entry {} {}; keep this store for investigation and restore the latest backup (`pathway restore`) or rebuild from the hub (`pathway rebuild`)",
                b.seq, b.what
            )),
            Err(AuditError::Store(e)) => Err(format!(
                "the store cannot be read ({e}); restore the latest backup (`pathway restore`) or rebuild from the hub (`pathway rebuild`)"
            )),
        }
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

#[cfg(test)]
mod tests {
    use pathway_shared::model::{CaseFile, case_id};
    use pathway_shared::store::StoreOptions;

    use super::*;

    fn case(person: &str) -> CaseFile {
        CaseFile {
            person_id: person.into(),
            holding_facility: "WHK".into(),
            ..CaseFile::default()
        }
    }

    #[test]
    fn a_record_is_never_stored_without_its_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        store.put(&case("P1"), 1).unwrap();
        // The block the next entry goes in holds something that is not an audit block, so
        // writing the entry fails.
        let elsewhere = tempfile::tempdir().unwrap();
        let other = Store::open(elsewhere.path(), StoreOptions::default()).unwrap();
        other.put(&case("P2"), 1).unwrap();
        let changes = other.changes_since(&case_id("P2"), &[]).unwrap().unwrap();
        let block = audit_id("WHK", 0);
        let meta = pathway_shared::store::DocMeta {
            kind: Kind::CaseFile,
            scope: Scope::Facility("WHK".into()),
        };
        store.apply_changes(&block, &meta, changes).unwrap();
        let audit = Audit::open(store.clone(), "WHK").unwrap();
        let fed = store.feed_after(0, 1_000).unwrap().len();

        let err = audit
            .stage_with::<CaseFile, (), StoreError>("co1", "add_note", &case_id("P1"), 2, |e| {
                e.put(&["language"], &"Thai".to_owned())
            })
            .unwrap_err();
        assert!(matches!(err, StoreError::WrongKind { .. }), "{err}");
        assert_eq!(store.feed_after(0, 1_000).unwrap().len(), fed);
        let kept = store.get::<CaseFile>(&case_id("P1")).unwrap().unwrap();
        assert_eq!(kept.language, "", "the record was kept without its entry");
        // A new record fails with its entry too, and is not kept.
        let err = audit
            .stage_new::<CaseFile, StoreError>("records", "admit", &case("P3"), 2)
            .unwrap_err();
        assert!(matches!(err, StoreError::WrongKind { .. }), "{err}");
        assert!(store.get::<CaseFile>(&case_id("P3")).unwrap().is_none());
        assert_eq!(store.feed_after(0, 1_000).unwrap().len(), fed);

        // With a sound log, the record and its entry land together.
        let fresh = tempfile::tempdir().unwrap();
        let store = Store::open(fresh.path(), StoreOptions::default()).unwrap();
        store.put(&case("P1"), 1).unwrap();
        let audit = Audit::open(store.clone(), "WHK").unwrap();
        let ((), pending) = audit
            .stage_with::<CaseFile, (), StoreError>("co1", "add_note", &case_id("P1"), 2, |e| {
                e.put(&["language"], &"Thai".to_owned())
            })
            .unwrap();
        pending.durable().unwrap();
        audit.record("co1", "read_case", "case/P1", 3).unwrap();
        audit
            .stage_new::<CaseFile, StoreError>("records", "admit", &case("P3"), 4)
            .unwrap()
            .durable()
            .unwrap();
        let err = audit
            .stage_new::<CaseFile, StoreError>("records", "admit", &case("P3"), 5)
            .unwrap_err();
        assert!(matches!(err, StoreError::Exists(_)), "{err}");
        assert_eq!(
            store
                .get::<CaseFile>(&case_id("P3"))
                .unwrap()
                .unwrap()
                .person_id,
            "P3"
        );
        assert_eq!(audit.verify().unwrap(), 3);
        let block = store
            .get::<AuditBlock>(&audit_id("WHK", 0))
            .unwrap()
            .unwrap();
        assert_eq!(block.facility_id, "WHK");
        assert_eq!(block.entries.len(), 3);
    }
}
