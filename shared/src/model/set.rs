//! Sets in documents. A member is a key of a map (its value is `true`), so two offline writers
//! who add the same member end with one, and a member one side removed stays removed whatever
//! the other side added meanwhile. A list would give duplicates and lose removals.
//!
//! Use on a `BTreeSet<T>` field with `#[autosurgeon(with = "set")]`; a member is stored under
//! its serde name (`CaseOfficer`, `Mon`, `mentoring`).

use std::collections::BTreeSet;

use autosurgeon::reconcile::MapReconciler;
use autosurgeon::{HydrateError, Prop, ReadDoc, Reconciler};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// A value that can be a set's member: it has a name as a string, and is read back from it.
pub trait Member: Ord + Sized {
    fn key(&self) -> Option<String>;
    fn from_key(key: &str) -> Option<Self>;
}

impl<T: Serialize + DeserializeOwned + Ord> Member for T {
    fn key(&self) -> Option<String> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(s)) => Some(s),
            _ => None,
        }
    }

    fn from_key(key: &str) -> Option<T> {
        super::from_code(key)
    }
}

/// Writes only the difference: members not in `set` are deleted, new ones are put. A member
/// already present is left alone, so an edit never re-adds what a concurrent edit removed.
pub fn reconcile<T: Member, R: Reconciler>(
    set: &BTreeSet<T>,
    mut reconciler: R,
) -> Result<(), R::Error> {
    let mut map = reconciler.map()?;
    let keep: BTreeSet<String> = set.iter().filter_map(Member::key).collect();
    let gone: Vec<String> = map
        .entries()
        .map(|(k, _)| k.into_owned())
        .filter(|k| !keep.contains(k))
        .collect();
    for k in gone {
        map.delete(&k)?;
    }
    for k in &keep {
        if map.entry(k).is_none() {
            map.put(k, true)?;
        }
    }
    Ok(())
}

pub fn hydrate<'a, D: ReadDoc, T: Member>(
    doc: &'a D,
    obj: &automerge::ObjId,
    prop: Prop<'a>,
) -> Result<BTreeSet<T>, HydrateError> {
    let map: std::collections::BTreeMap<String, bool> = autosurgeon::hydrate_prop(doc, obj, prop)?;
    map.into_keys()
        .map(|k| T::from_key(&k).ok_or_else(|| HydrateError::unexpected("a set member", k)))
        .collect()
}
