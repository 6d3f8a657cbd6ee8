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

/// The sides of a map written apart: when the map at `path` holds more than one value for
/// `key` (each side wrote it; `key` is a field every write sets, such as the time of the
/// write), each side's fields as that side's actor wrote them; a field both sides agree on is
/// the same in each. Empty when there is one value or none. Each side's fields are read as
/// scalars (strings, numbers, booleans) by name.
pub fn sides(
    doc: &impl ReadDoc,
    path: &[&str],
    key: &str,
) -> Vec<std::collections::BTreeMap<String, automerge::ScalarValue>> {
    let Some((last, parents)) = path.split_last() else {
        return Vec::new();
    };
    let mut obj = automerge::ROOT;
    for p in parents {
        match doc.get(&obj, *p) {
            Ok(Some((automerge::Value::Object(_), id))) => obj = id,
            _ => return Vec::new(),
        }
    }
    // The map made on both sides apart: two maps at one key, each a side.
    let maps: Vec<automerge::ObjId> = doc
        .get_all(&obj, *last)
        .unwrap_or_default()
        .into_iter()
        .filter(|(v, _)| matches!(v, automerge::Value::Object(_)))
        .map(|(_, id)| id)
        .collect();
    if maps.len() > 1 {
        return maps.iter().map(|m| fields_of(doc, m)).collect();
    }
    let Some(obj) = maps.into_iter().next() else {
        return Vec::new();
    };
    let Ok(written) = doc.get_all(&obj, key) else {
        return Vec::new();
    };
    if written.len() < 2 {
        return Vec::new();
    }
    let actor = |id: &automerge::ObjId| match id {
        automerge::ObjId::Id(_, a, _) => Some(a.clone()),
        automerge::ObjId::Root => None,
    };
    let fields: Vec<String> = doc.keys(&obj).collect();
    written
        .iter()
        .filter_map(|(_, id)| actor(id))
        .map(|side| {
            let mut out = std::collections::BTreeMap::new();
            for f in &fields {
                let values = doc.get_all(&obj, f.as_str()).unwrap_or_default();
                // This side's value where the field is contested, else the one value.
                let pick = values
                    .iter()
                    .find(|(_, id)| actor(id).as_ref() == Some(&side))
                    .or_else(|| values.last());
                if let Some((automerge::Value::Scalar(s), _)) = pick {
                    out.insert(f.clone(), s.as_ref().clone());
                }
            }
            out
        })
        .collect()
}

/// A map's scalar fields by name (the value Automerge shows where one is contested).
fn fields_of(
    doc: &impl ReadDoc,
    obj: &automerge::ObjId,
) -> std::collections::BTreeMap<String, automerge::ScalarValue> {
    doc.keys(obj)
        .filter_map(|k| match doc.get(obj, k.as_str()) {
            Ok(Some((automerge::Value::Scalar(s), _))) => Some((k, s.as_ref().clone())),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod sides_tests {
    use automerge::transaction::Transactable;
    use automerge::{ActorId, AutoCommit, ObjType, ROOT, ReadDoc};

    #[test]
    fn a_map_written_apart_shows_each_sides_fields() {
        let mut facility = AutoCommit::new().with_actor(ActorId::from(b"facility".to_vec()));
        let item = facility
            .put_object(ROOT, "accommodation", ObjType::Map)
            .unwrap();
        facility.put(&item, "status", "not_started").unwrap();
        facility.put(&item, "at", 1_i64).unwrap();
        let mut hub = facility.fork().with_actor(ActorId::from(b"hub".to_vec()));
        facility.put(&item, "status", "done").unwrap();
        facility.put(&item, "details", "Hostel").unwrap();
        facility.put(&item, "at", 2_i64).unwrap();
        let item_hub = hub.get(ROOT, "accommodation").unwrap().unwrap().1;
        hub.put(&item_hub, "status", "in_progress").unwrap();
        hub.put(&item_hub, "at", 3_i64).unwrap();
        facility.merge(&mut hub).unwrap();
        let sides = super::sides(&facility, &["accommodation"], "at");
        assert_eq!(sides.len(), 2);
        let status: Vec<String> = sides.iter().map(|s| s["status"].to_string()).collect();
        assert!(
            status.contains(&"\"done\"".to_owned())
                && status.contains(&"\"in_progress\"".to_owned()),
            "{status:?}"
        );
        // A map made on both sides apart: each side's map.
        let mut a = AutoCommit::new().with_actor(ActorId::from(b"a".to_vec()));
        let mut b = a.fork().with_actor(ActorId::from(b"b".to_vec()));
        let m = a.put_object(ROOT, "need", ObjType::Map).unwrap();
        a.put(&m, "level", "High").unwrap();
        let m = b.put_object(ROOT, "need", ObjType::Map).unwrap();
        b.put(&m, "level", "Low").unwrap();
        a.merge(&mut b).unwrap();
        assert_eq!(super::sides(&a, &["need"], "at").len(), 2);
        // One write on each side after a sync: no sides.
        hub.merge(&mut facility).unwrap();
        hub.put(&item_hub, "at", 4_i64).unwrap();
        assert!(super::sides(&hub, &["accommodation"], "at").is_empty());
    }
}
