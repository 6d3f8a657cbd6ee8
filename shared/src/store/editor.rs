//! [`Editor`]: typed reads and writes at paths inside one document, within a write.

use automerge::ReadDoc;

use super::StoreError;
use crate::model::{Aggregate, Class, DocId};

/// Typed access to a document inside a [`Store::edit`]. Paths name map keys from the root:
/// `["notes", "note-7"]` is the note `note-7` of a case file.
pub struct Editor<'a, 'tx> {
    tx: &'a mut automerge::transaction::Transaction<'tx>,
    doc: &'a DocId,
    class: &'a mut Class,
}

impl<'a, 'tx> Editor<'a, 'tx> {
    pub(super) fn new(
        tx: &'a mut automerge::transaction::Transaction<'tx>,
        doc: &'a DocId,
        class: &'a mut Class,
    ) -> Editor<'a, 'tx> {
        Editor { tx, doc, class }
    }

    /// Sends this edit in `class` (for example [`Class::Urgent`] for a transfer or a release).
    pub fn set_class(&mut self, class: Class) {
        *self.class = class;
    }

    /// The map object at `path`, or an error naming the path.
    fn object(&self, path: &[&str]) -> Result<automerge::ObjId, StoreError> {
        let mut obj = automerge::ROOT;
        for (i, key) in path.iter().enumerate() {
            match self.tx.get(&obj, *key) {
                Ok(Some((automerge::Value::Object(_), id))) => obj = id,
                _ => {
                    return Err(StoreError::Path {
                        doc: self.doc.clone(),
                        path: path[..=i].join("."),
                    });
                }
            }
        }
        Ok(obj)
    }

    /// The value at `path`, or `None` if the last key is absent.
    pub fn get<V: autosurgeon::Hydrate>(&self, path: &[&str]) -> Result<Option<V>, StoreError> {
        let (last, parent) = path.split_last().ok_or_else(|| StoreError::Path {
            doc: self.doc.clone(),
            path: String::new(),
        })?;
        let obj = self.object(parent)?;
        if self.tx.get(&obj, *last).ok().flatten().is_none() {
            return Ok(None);
        }
        autosurgeon::hydrate_prop(&*self.tx, &obj, *last)
            .map(Some)
            .map_err(|source| StoreError::Value {
                doc: self.doc.clone(),
                path: path.join("."),
                source: Box::new(source),
            })
    }

    /// Writes `value` at `path`, changing only what differs. Every key but the last must exist.
    pub fn put<V: autosurgeon::Reconcile>(
        &mut self,
        path: &[&str],
        value: &V,
    ) -> Result<(), StoreError> {
        let (last, parent) = path.split_last().ok_or_else(|| StoreError::Path {
            doc: self.doc.clone(),
            path: String::new(),
        })?;
        let obj = self.object(parent)?;
        autosurgeon::reconcile_prop(&mut *self.tx, &obj, *last, value).map_err(|source| {
            StoreError::Reconcile {
                doc: self.doc.clone(),
                source: Box::new(source),
            }
        })
    }

    /// The whole document as `T`.
    pub fn whole<T: Aggregate>(&self) -> Result<T, StoreError> {
        autosurgeon::hydrate(&*self.tx).map_err(|source| StoreError::Shape {
            doc: self.doc.clone(),
            kind: T::KIND,
            source: Box::new(source),
        })
    }

    /// Makes the whole document equal to `value`.
    pub fn replace<T: Aggregate>(&mut self, value: &T) -> Result<(), StoreError> {
        autosurgeon::reconcile(&mut *self.tx, value).map_err(|source| StoreError::Reconcile {
            doc: self.doc.clone(),
            source: Box::new(source),
        })
    }
}
