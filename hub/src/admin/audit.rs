//! The hub's audit trail: every administrator's write and every read of a case file, as a hash
//! chain of the same entries as a facility's (`AuditEntry`), kept in the hub's own store.

use std::sync::Mutex;

use pathway_shared::model::{
    AUDIT_GENESIS, AuditBlock, AuditEntry, ChainBreak, Millis, verify_chain,
};
use pathway_shared::store::{Store, StoreError};

const TABLE: &str = "audit";

/// Appends entries one at a time.
pub struct HubAudit {
    store: Store,
    append: Mutex<()>,
}

impl HubAudit {
    pub fn new(store: Store) -> HubAudit {
        HubAudit {
            store,
            append: Mutex::new(()),
        }
    }

    /// Records that `actor` did `action` to `target`. Durable on return.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        target: &str,
        now: Millis,
    ) -> Result<AuditEntry, StoreError> {
        let _one = self.append.lock().unwrap_or_else(|e| e.into_inner());
        let last = self.store.local_last::<AuditEntry>(TABLE)?;
        let (seq, prev) = last.map_or((1, AUDIT_GENESIS.to_owned()), |(_, e)| (e.seq + 1, e.hash));
        let mut entry = AuditEntry {
            seq,
            at: now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            target: target.to_owned(),
            prev,
            hash: String::new(),
        };
        entry.hash = entry.compute_hash();
        let key = AuditBlock::key(seq);
        self.store
            .update_local(TABLE, &key, |_: Option<AuditEntry>| {
                Ok::<_, StoreError>((Some(entry.clone()), ()))
            })?;
        Ok(entry)
    }

    /// The newest `limit` entries, newest first.
    pub fn newest(&self, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let all = self.store.local_all::<AuditEntry>(TABLE)?;
        Ok(all.into_iter().rev().take(limit).map(|(_, e)| e).collect())
    }

    /// The newest `limit` entries that pass `f`, newest first.
    pub fn find(&self, f: &Filter, limit: usize) -> Result<Vec<AuditEntry>, StoreError> {
        let all = self.store.local_all::<AuditEntry>(TABLE)?;
        Ok(all
            .into_iter()
            .rev()
            .map(|(_, e)| e)
            .filter(|e| f.passes(e))
            .take(limit)
            .collect())
    }

    /// Checks the whole chain; the number of entries checked.
    pub fn verify(&self) -> Result<Result<u64, ChainBreak>, StoreError> {
        let mut blocks: Vec<AuditBlock> = Vec::new();
        for (key, e) in self.store.local_all::<AuditEntry>(TABLE)? {
            let b = AuditBlock::of(e.seq);
            if blocks.last().is_none_or(|l| l.block != b) {
                blocks.push(AuditBlock {
                    facility_id: "hub".into(),
                    block: b,
                    ..AuditBlock::default()
                });
            }
            if let Some(l) = blocks.last_mut() {
                l.entries.insert(key, e);
            }
        }
        Ok(verify_chain(&blocks))
    }
}

/// Which audit entries to show; an empty field passes every entry.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A person's id (`WHK-000123`), in the entry's target.
    pub person: String,
    /// A username: the administrator who acted, or the staff account acted on.
    pub staff: String,
    /// A facility's code, in the target (`facility/WHK`, `staff/WHK/…`, `case/WHK-…`).
    pub facility: String,
    pub action: String,
    /// From this moment, up to (not including) `to` (ms since the epoch).
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

impl Filter {
    fn passes(&self, e: &AuditEntry) -> bool {
        let parts =
            |s: &str| -> Vec<String> { s.split(['/', '-', ':', '@']).map(str::to_owned).collect() };
        (self.person.is_empty() || e.target.contains(&self.person))
            && (self.staff.is_empty()
                || e.actor == self.staff
                || e.target.rsplit('/').next() == Some(self.staff.as_str()))
            && (self.facility.is_empty() || parts(&e.target).contains(&self.facility))
            && (self.action.is_empty() || e.action == self.action)
            && self.from.is_none_or(|t| e.at >= t)
            && self.to.is_none_or(|t| e.at < t)
    }
}
