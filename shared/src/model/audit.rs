//! The audit trail: every write, and every read of a case file, appended to a hash chain. One
//! document per facility per day, so a day's log is a bounded document that syncs in the bulk
//! class; the first entry of a day links to the last entry of the day before. Each entry's hash
//! covers the one before it, so an entry changed, removed or inserted anywhere breaks the chain
//! from there on, at the gateway and at the hub alike.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};

use super::catalogue::id;
use super::{Aggregate, DocId, Kind, Millis, Scope};

/// The `prev` of the very first entry.
pub const AUDIT_GENESIS: &str = "genesis";

#[derive(Debug, Clone, PartialEq, Eq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: Millis,
    /// The staff member (username), or `system`.
    pub actor: String,
    /// What happened: `login`, `login_failed`, `read_case`, `add_note`, `mark_attendance`, …
    pub action: String,
    /// What it happened to: a document id, or a username for logins.
    pub target: String,
    /// The previous entry's hash (hex), or [`AUDIT_GENESIS`].
    pub prev: String,
    /// SHA-256 (hex) over `prev` and this entry's fields.
    pub hash: String,
}

impl AuditEntry {
    /// The hash an entry with these fields must carry.
    pub fn compute_hash(&self) -> String {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [
            self.prev.as_bytes(),
            &self.seq.to_be_bytes(),
            &self.at.to_be_bytes(),
            self.actor.as_bytes(),
            self.action.as_bytes(),
            self.target.as_bytes(),
        ] {
            // Length-prefixed, so that moving bytes between fields changes the hash.
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part);
        }
        ctx.finish()
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// One facility's audit entries of one day (UTC).
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct AuditDay {
    pub facility_id: String,
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Keyed by [`AuditDay::key`]: the seq, zero-padded, so keys sort in chain order.
    pub entries: BTreeMap<String, AuditEntry>,
}

impl AuditDay {
    pub fn key(seq: u64) -> String {
        format!("{seq:012}")
    }

    /// The last entry, if any.
    pub fn last(&self) -> Option<&AuditEntry> {
        self.entries.values().next_back()
    }
}

impl Aggregate for AuditDay {
    const KIND: Kind = Kind::AuditLog;
    fn doc_id(&self) -> DocId {
        audit_id(&self.facility_id, &self.day)
    }
    fn scope(&self) -> Scope {
        Scope::Facility(self.facility_id.clone())
    }
}

pub fn audit_id(facility: &str, day: &str) -> DocId {
    id(Kind::AuditLog, &[facility, day])
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq} ({day}): {what}")]
pub struct ChainBreak {
    pub day: String,
    pub seq: u64,
    pub what: String,
}

/// Checks days of one facility's log, in day order, from the first day kept: every entry's hash
/// is right, links to the one before, and seqs run without a gap.
pub fn verify_chain<'a>(days: impl IntoIterator<Item = &'a AuditDay>) -> Result<u64, ChainBreak> {
    let mut prev: Option<(u64, String)> = None;
    let mut checked = 0;
    for day in days {
        for (key, e) in &day.entries {
            let fail = |what: String| ChainBreak {
                day: day.day.clone(),
                seq: e.seq,
                what,
            };
            if *key != AuditDay::key(e.seq) {
                return Err(fail(format!("stored under key {key}")));
            }
            match &prev {
                None if e.seq == 1 && e.prev != AUDIT_GENESIS => {
                    return Err(fail("the first entry does not start the chain".into()));
                }
                None => {}
                Some((seq, hash)) => {
                    if e.seq != seq + 1 {
                        return Err(fail(format!("follows entry {seq}: entries are missing")));
                    }
                    if e.prev != *hash {
                        return Err(fail("does not link to the entry before it".into()));
                    }
                }
            }
            if e.compute_hash() != e.hash {
                return Err(fail("its contents do not match its hash".into()));
            }
            prev = Some((e.seq, e.hash.clone()));
            checked += 1;
        }
    }
    Ok(checked)
}
