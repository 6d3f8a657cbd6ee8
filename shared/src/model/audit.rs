//! The audit trail: every write, and every read of a case file, appended to a hash chain. The
//! chain is kept in blocks of [`AUDIT_BLOCK`] entries, one document each, so that a document
//! stays small however busy the facility is; blocks sync in the bulk class. The first entry of a
//! block links to the last entry of the block before. Each entry's hash covers the one before
//! it, so an entry changed, removed or inserted anywhere breaks the chain from there on, at the
//! gateway and at the hub alike.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};

use super::catalogue::id;
use super::{Aggregate, DocId, Kind, Millis, Scope};

/// The `prev` of the very first entry.
pub const AUDIT_GENESIS: &str = "genesis";

/// Entries per block document.
pub const AUDIT_BLOCK: u64 = 1_000;

/// One entry. It is stored as one string value, a JSON array of its fields in order: the log
/// grows by one Automerge op per entry rather than one per field, which keeps appends to a full
/// block cheap and the bulk sync small.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
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

type EntryFields = (u64, Millis, String, String, String, String, String);

impl Reconcile for AuditEntry {
    type Key<'a> = autosurgeon::reconcile::NoKey;
    fn reconcile<R: autosurgeon::Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        let fields = (
            self.seq,
            self.at,
            &self.actor,
            &self.action,
            &self.target,
            &self.prev,
            &self.hash,
        );
        // Serialising numbers and strings cannot fail.
        reconciler.str(serde_json::to_string(&fields).unwrap_or_default())
    }
}

impl Hydrate for AuditEntry {
    fn hydrate_string(s: &str) -> Result<Self, autosurgeon::HydrateError> {
        let (seq, at, actor, action, target, prev, hash): EntryFields = serde_json::from_str(s)
            .map_err(|e| {
                autosurgeon::HydrateError::unexpected(
                    "an audit entry: [seq, at, actor, action, target, prev, hash]",
                    format!("{s:.80} ({e})"),
                )
            })?;
        Ok(AuditEntry {
            seq,
            at,
            actor,
            action,
            target,
            prev,
            hash,
        })
    }
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
        hex::encode(ctx.finish())
    }
}

/// A block of one facility's audit entries: seqs `block * AUDIT_BLOCK + 1 ..= (block + 1) *
/// AUDIT_BLOCK`.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct AuditBlock {
    pub facility_id: String,
    pub block: u64,
    /// Keyed by [`AuditBlock::key`]: the seq, zero-padded, so keys sort in chain order.
    pub entries: BTreeMap<String, AuditEntry>,
}

impl AuditBlock {
    pub fn key(seq: u64) -> String {
        format!("{seq:012}")
    }

    /// The block an entry belongs to.
    pub fn of(seq: u64) -> u64 {
        seq.saturating_sub(1) / AUDIT_BLOCK
    }

    /// The last entry, if any.
    pub fn last(&self) -> Option<&AuditEntry> {
        self.entries.values().next_back()
    }
}

impl Aggregate for AuditBlock {
    const KIND: Kind = Kind::AuditLog;
    fn doc_id(&self) -> DocId {
        audit_id(&self.facility_id, self.block)
    }
    fn scope(&self) -> Scope {
        Scope::Facility(self.facility_id.clone())
    }
}

/// Zero-padded, so that ids sort in chain order.
pub fn audit_id(facility: &str, block: u64) -> DocId {
    id(Kind::AuditLog, &[facility, &format!("{block:09}")])
}

/// Where and how a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("audit chain broken at entry {seq}: {what}")]
pub struct ChainBreak {
    pub seq: u64,
    pub what: String,
}

/// Checks blocks of one facility's log, in order: the chain starts at entry 1 from the genesis,
/// every entry's hash is right, links to the one before, and seqs run without a gap. (The
/// newest end is anchored by the peer that holds a copy; see the gateway's `Audit::verify`.)
pub fn verify_chain<'a>(
    blocks: impl IntoIterator<Item = &'a AuditBlock>,
) -> Result<u64, ChainBreak> {
    let mut prev: Option<(u64, String)> = None;
    let mut checked = 0;
    for block in blocks {
        for (key, e) in &block.entries {
            let fail = |what: String| ChainBreak { seq: e.seq, what };
            if *key != AuditBlock::key(e.seq) || AuditBlock::of(e.seq) != block.block {
                return Err(fail(format!("stored under key {key}")));
            }
            match &prev {
                None if e.seq != 1 => {
                    return Err(fail(format!(
                        "is the oldest entry kept: entries 1 to {} are missing",
                        e.seq - 1
                    )));
                }
                None if e.prev != AUDIT_GENESIS => {
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
