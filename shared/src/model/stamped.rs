//! Values that must never merge silently. A [`Stamped`] value is stored as one string (its JSON,
//! with who set it and when), so when two sides set it apart Automerge keeps both strings as a
//! conflict on the key instead of merging their parts (a unit from one side, a cell from the
//! other). [`contested`] reads every value a key holds, so a page can show both until someone
//! chooses; writing the key again resolves it.

use automerge::ReadDoc;
use autosurgeon::{Hydrate, HydrateError, Reconcile, Reconciler};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::Millis;

/// A value with the staff member who set it and when.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamped<T> {
    pub value: T,
    pub by: String,
    pub at: Millis,
}

impl<T> Stamped<T> {
    pub fn new(value: T, by: &str, at: Millis) -> Stamped<T> {
        Stamped {
            value,
            by: by.to_owned(),
            at,
        }
    }
}

impl<T: Serialize> Reconcile for Stamped<T> {
    type Key<'a> = autosurgeon::reconcile::NoKey;

    fn reconcile<R: Reconciler>(&self, mut reconciler: R) -> Result<(), R::Error> {
        // Serialising plain data to JSON cannot fail; an empty string would read back as an
        // error naming the field, never as a wrong value.
        reconciler.str(serde_json::to_string(self).unwrap_or_default())
    }
}

impl<T: DeserializeOwned> Hydrate for Stamped<T> {
    fn hydrate_string(s: &str) -> Result<Self, HydrateError> {
        serde_json::from_str(s)
            .map_err(|e| HydrateError::unexpected("a stamped value", e.to_string()))
    }
}

/// Every value the root key `key` holds: one when all sides agree, two or more while a
/// conflict waits for someone to choose, none when it is unset. Values that do not read as
/// `T` are left out.
pub fn contested<T: DeserializeOwned>(doc: &impl ReadDoc, key: &str) -> Vec<Stamped<T>> {
    let Ok(values) = doc.get_all(automerge::ROOT, key) else {
        return Vec::new();
    };
    let mut out: Vec<Stamped<T>> = values
        .into_iter()
        .filter_map(|(v, _)| match v {
            automerge::Value::Scalar(s) => match s.as_ref() {
                automerge::ScalarValue::Str(s) => serde_json::from_str(s).ok(),
                _ => None,
            },
            automerge::Value::Object(_) => None,
        })
        .collect();
    out.sort_by(|a, b| (a.at, &a.by).cmp(&(b.at, &b.by)));
    out
}
