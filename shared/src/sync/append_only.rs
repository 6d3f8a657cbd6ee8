//! At the hub a facility's audit trail is append-only: a gateway's changes to an audit block may
//! add entries that continue the chain, and nothing else. An entry the hub holds that a change
//! would alter, remove or shadow with a second value, an entry whose hash does not match its
//! contents, or one that does not link to the entry before it, refuses the whole document's
//! changes. A pure function of the hub's copy and the incoming changes, like
//! [`check_staff_authority`](super::check_staff_authority).

use automerge::{Automerge, Change, ReadDoc};

use crate::model::{AUDIT_BLOCK, AUDIT_GENESIS, AuditBlock, AuditEntry};

/// Checks `changes` to the audit block the hub holds as `current` (an empty document for a
/// block it does not hold yet). `previous(facility, block)` gives the last entry of an earlier
/// block the hub holds, for the first entry of a block to link to. Returns how many entries the
/// changes add.
pub fn check_audit_append(
    current: &Automerge,
    changes: &[Change],
    previous: impl Fn(&str, u64) -> Option<AuditEntry>,
) -> Result<u64, String> {
    // A block held only as its genesis (its first copy still arriving) holds no entry yet.
    let before: AuditBlock = if current.get_changes(&[]).len() <= 1 {
        AuditBlock::default()
    } else {
        autosurgeon::hydrate(current).map_err(|e| format!("the audit block held here: {e}"))?
    };
    let mut after_doc = current.fork();
    after_doc
        .apply_changes(changes.iter().cloned())
        .map_err(|e| format!("changes do not apply: {e}"))?;
    let after: AuditBlock = match autosurgeon::hydrate(&after_doc) {
        Ok(b) => b,
        // Only the genesis so far: nothing to check.
        Err(_) if after_doc.get_changes(&[]).len() <= 1 => return Ok(0),
        Err(e) => return Err(format!("the audit block does not read: {e}")),
    };
    let what = format!("audit trail of {} block {}", after.facility_id, after.block);
    if !before.entries.is_empty()
        && (before.facility_id != after.facility_id || before.block != after.block)
    {
        return Err(format!(
            "{what}: a block's facility and number never change"
        ));
    }
    // Every entry held here stays, unchanged and alone under its key.
    let entries = after_doc
        .get(automerge::ROOT, "entries")
        .ok()
        .flatten()
        .map(|(_, id)| id);
    for (key, held) in &before.entries {
        let values = entries.as_ref().map_or(0, |obj| {
            after_doc.get_all(obj, key.as_str()).map_or(0, |v| v.len())
        });
        match after.entries.get(key) {
            Some(e) if e == held && values == 1 => {}
            Some(_) => return Err(format!("{what}: entry {} would be rewritten", held.seq)),
            None => return Err(format!("{what}: entry {} would be removed", held.seq)),
        }
    }
    // The new entries continue the chain from the last one held, in this block or before it.
    let first_seq = after.block * AUDIT_BLOCK + 1;
    let mut last: Option<AuditEntry> = before.last().cloned();
    let mut added = 0;
    for (key, e) in after.entries.range::<String, _>((
        std::ops::Bound::Excluded(
            before
                .entries
                .keys()
                .next_back()
                .cloned()
                .unwrap_or_default(),
        ),
        std::ops::Bound::Unbounded,
    )) {
        let fail = |why: &str| Err(format!("{what}: entry {} {why}", e.seq));
        if *key != AuditBlock::key(e.seq) || AuditBlock::of(e.seq) != after.block {
            return fail("is stored under another key");
        }
        if e.compute_hash() != e.hash {
            return fail("does not match its hash");
        }
        let links = match &last {
            Some(p) => e.seq == p.seq + 1 && e.prev == p.hash,
            None if e.seq == 1 => e.prev == AUDIT_GENESIS,
            None if e.seq == first_seq => previous(&after.facility_id, after.block - 1)
                // The block before is not here yet: its own check links them when it comes.
                .is_none_or(|p| e.seq == p.seq + 1 && e.prev == p.hash),
            None => false,
        };
        if !links {
            return fail("does not link to the entry before it");
        }
        last = Some(e.clone());
        added += 1;
    }
    if after.entries.len() as u64 != before.entries.len() as u64 + added {
        return Err(format!(
            "{what}: entries would be added before the last one held"
        ));
    }
    Ok(added)
}
