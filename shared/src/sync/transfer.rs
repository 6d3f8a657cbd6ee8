//! Transfers: a case file follows its person to another facility.

use crate::model::{CaseFile, Class, Millis, Scope, TransferRecord, case_id};
use crate::store::{Store, StoreError};

/// Moves a person's case file to another facility, at the hub: its scope changes first, so the
/// next walk sends the whole file to the new facility and tells the old one to drop it; then the
/// transfer is recorded in the file, in the urgent class.
pub fn move_case(
    store: &Store,
    person: &str,
    to_facility: &str,
    by: &str,
    transfer_id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    let id = case_id(person);
    let from = store
        .get::<CaseFile>(&id)?
        .ok_or_else(|| StoreError::NotFound(id.clone()))?
        .holding_facility;
    store.set_scope(
        &id,
        Scope::Person {
            person: person.to_owned(),
            facility: to_facility.to_owned(),
        },
    )?;
    let record = TransferRecord {
        from_facility: from,
        to_facility: to_facility.to_owned(),
        at: now,
        by: by.to_owned(),
        reason: "transfer".into(),
    };
    store.edit::<CaseFile, _, StoreError>(&id, now, |e| {
        e.set_class(Class::Urgent);
        e.put(&["holding_facility"], &to_facility.to_owned())?;
        e.put(&["transfers", transfer_id], &record)
    })?;
    Ok(())
}
