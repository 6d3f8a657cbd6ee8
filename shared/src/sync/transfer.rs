//! Transfers: a case file follows its person to another facility. The hub makes every move: a
//! national administrator's, or a transfer out recorded at the facility that holds the person
//! (it arrives in the urgent class, and the hub makes the move as soon as it is stored).

use std::collections::BTreeMap;

use crate::model::{
    CaseFile, Class, DocId, Facility, Kind, Millis, Scope, TransferRecord, case_id, facility_id,
};
use crate::store::{ReviewReason, Store, StoreError};

/// What the hub did with the transfers a case file records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handover {
    /// Nothing waits to be moved.
    None,
    /// The file now belongs to `to`.
    Moved { to: String },
    /// A transfer could not be made; it is in the review queue.
    NotMade { to: String, why: String },
}

/// Moves a person's case file to another facility, at the hub, on a national administrator's
/// word: the move is recorded in the file as transfer `transfer_id`, `(by, reason)`.
pub fn move_case(
    store: &Store,
    person: &str,
    to_facility: &str,
    (by, reason): (&str, &str),
    transfer_id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    let id = case_id(person);
    let from = store
        .get::<CaseFile>(&id)?
        .ok_or_else(|| StoreError::NotFound(id.clone()))?
        .holding_facility;
    let record = TransferRecord {
        from_facility: from,
        to_facility: to_facility.to_owned(),
        at: now,
        by: by.to_owned(),
        reason: reason.to_owned(),
        moved_at: None,
    };
    hand_to(store, &id, person, transfer_id, &record, now)
}

/// At the hub, once a gateway's changes to the case file `id` are stored: if the file records a
/// transfer out of `facility` (the sender, which holds it) that the hub has not made, makes
/// it, or lists it in the review queue when the receiving facility is not in the registry.
/// Idempotent: a transfer made is marked so, and a file that no longer belongs to the sender
/// is left alone.
pub fn hand_over(
    store: &Store,
    id: &DocId,
    facility: &str,
    now: Millis,
) -> Result<Handover, StoreError> {
    if id.kind() != Some(Kind::CaseFile) {
        return Ok(Handover::None);
    }
    let Some(meta) = store.meta(id)? else {
        return Ok(Handover::None);
    };
    let Scope::Person {
        person,
        facility: holder,
    } = &meta.scope
    else {
        return Ok(Handover::None);
    };
    // Only the transfers are read: most files that arrive record none.
    let transfers = store
        .read(id, |d, _| {
            autosurgeon::hydrate_prop::<_, BTreeMap<String, TransferRecord>, _, _>(
                d,
                automerge::ROOT,
                "transfers",
            )
        })?
        .transpose()
        .map_err(|e| StoreError::Corrupt {
            path: store.path().to_owned(),
            doc: id.to_string(),
            what: format!("transfers: {e}"),
        })?
        .unwrap_or_default();
    // The first transfer recorded wins.
    let Some((key, record)) = transfers
        .iter()
        .filter(|(_, r)| r.moved_at.is_none() && r.from_facility == *facility)
        .filter(|(_, r)| r.to_facility != *facility)
        .min_by_key(|(k, r)| (r.at, k.as_str()))
    else {
        return Ok(Handover::None);
    };
    let to = record.to_facility.clone();
    if holder == &to {
        // The scope moved and the hub stopped before it wrote the move down: finish it.
        mark_made(store, id, key, record, now)?;
        return Ok(Handover::Moved { to });
    }
    if holder != facility {
        return Ok(Handover::None);
    }
    if store.get::<Facility>(&facility_id(&to))?.is_none() {
        let why = format!("{to} is not a facility in the national registry");
        store.note_review(id, facility, ReviewReason::TransferNotMade, &why, now)?;
        return Ok(Handover::NotMade { to, why });
    }
    hand_to(store, id, person, key, record, now)?;
    tracing::info!(doc = %id, from = %facility, %to, by = %record.by, "case file moved");
    Ok(Handover::Moved { to })
}

/// Gives the file to `record.to_facility`: its scope changes first, so the next walk sends the
/// whole file to the new facility and tells the old one to drop it; then the transfer, marked
/// made, and the new holder are written in the urgent class.
fn hand_to(
    store: &Store,
    id: &DocId,
    person: &str,
    transfer_id: &str,
    record: &TransferRecord,
    now: Millis,
) -> Result<(), StoreError> {
    store.set_scope(
        id,
        Scope::Person {
            person: person.to_owned(),
            facility: record.to_facility.clone(),
        },
    )?;
    mark_made(store, id, transfer_id, record, now)
}

/// Writes the move down in the file: the transfer made, and the new holder.
fn mark_made(
    store: &Store,
    id: &DocId,
    transfer_id: &str,
    record: &TransferRecord,
    now: Millis,
) -> Result<(), StoreError> {
    let made = TransferRecord {
        moved_at: Some(now),
        ..record.clone()
    };
    store.edit::<CaseFile, _, StoreError>(id, now, |e| {
        e.set_class(Class::Urgent);
        e.put(&["holding_facility"], &record.to_facility)?;
        e.put(&["transfers", transfer_id], &made)
    })?;
    Ok(())
}

/// The transfer that took the file away from `facility` most recently, if it moved: who
/// recorded it and when the hub made it (the stub the old facility keeps says so).
pub fn last_move_from(file: &CaseFile, facility: &str) -> Option<(String, Millis)> {
    file.transfers
        .values()
        .filter(|r| r.from_facility == facility)
        .filter_map(|r| r.moved_at.map(|at| (r.by.clone(), at)))
        .max_by_key(|(_, at)| *at)
}
