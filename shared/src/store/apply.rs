//! Changes received from peers, and the moves of documents between scopes.

use automerge::{Automerge, Change, ChangeHash, ReadDoc};
use serde::{Deserialize, Serialize};

use super::doc::{Loaded, Staging};
use super::feed::Origin;
use super::{DocMeta, Store, StoreError, keys, lock};
use crate::model::{Class, DocId, Millis, Scope};

/// What remains of a document that moved away with its person: who moved it, when, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stub {
    pub moved_to: String,
    pub at: Millis,
    pub by: String,
}

/// Changes received from a peer for one document.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub doc: DocId,
    pub meta: DocMeta,
    pub class: Class,
    pub changes: Vec<Change>,
}

/// What applying received changes did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Changes that were new and are now durable.
    pub stored: usize,
    /// Dependencies still missing: changes that need them are held in memory, not stored.
    pub missing: Vec<ChangeHash>,
    pub heads: Vec<ChangeHash>,
}

impl Store {
    /// Applies changes received from a peer, creating documents this node does not have yet,
    /// and returns once everything stored is durable: one group commit for the lot.
    pub fn apply_many(&self, incoming: Vec<Incoming>) -> Result<Vec<Applied>, StoreError> {
        let mut out = Vec::with_capacity(incoming.len());
        let mut last_ticket = 0;
        for inc in incoming {
            let (applied, ticket) = self.stage_apply(inc)?;
            last_ticket = last_ticket.max(ticket);
            out.push(applied);
        }
        self.wait(last_ticket)?;
        Ok(out)
    }

    /// Applies changes received from a peer to one document. Durable on return.
    pub fn apply_changes(
        &self,
        id: &DocId,
        meta: &DocMeta,
        changes: Vec<Change>,
    ) -> Result<Applied, StoreError> {
        let class = Class::default_for(meta.kind);
        let mut v = self.apply_many(vec![Incoming {
            doc: id.clone(),
            meta: meta.clone(),
            class,
            changes,
        }])?;
        v.pop().ok_or_else(|| self.corrupt(id, "nothing applied"))
    }

    fn stage_apply(&self, inc: Incoming) -> Result<(Applied, u64), StoreError> {
        let Incoming {
            doc: id,
            meta,
            class,
            changes,
        } = inc;
        self.with_slot(&id, |slot| {
            let loaded = slot.get_or_insert_with(|| {
                Loaded::new(
                    Automerge::new().with_actor(self.inner.actor.clone()),
                    meta.clone(),
                )
            });
            let before = loaded.doc.get_heads();
            let result = loaded
                .doc
                .apply_changes(changes)
                .map_err(|source| StoreError::Changes {
                    doc: id.clone(),
                    source: Box::new(source),
                })
                .and_then(|()| {
                    let stored = loaded.doc.get_changes(&before).len();
                    if stored == 0 && !loaded.stored {
                        // Nothing usable arrived yet: do not create an empty document on disk.
                        // Whatever waits for its dependencies stays in memory, and the first
                        // changes that can be applied store the document with its metadata.
                        return Ok((stored, 0));
                    }
                    self.persist(
                        &mut [Staging {
                            id: &id,
                            loaded: &mut *loaded,
                            before,
                            class,
                        }],
                        Origin::Received,
                    )
                    .map(|(_, t)| (stored, t))
                });
            match result {
                Ok((stored, ticket)) => {
                    self.inner
                        .from_peers
                        .fetch_add(stored as u64, std::sync::atomic::Ordering::Release);
                    let applied = Applied {
                        stored,
                        missing: loaded.doc.get_missing_deps(&[]),
                        heads: loaded.doc.get_heads(),
                    };
                    if !loaded.stored && applied.missing.is_empty() {
                        *slot = None;
                    }
                    Ok((applied, ticket))
                }
                Err(e) => {
                    *slot = None;
                    Err(e)
                }
            }
        })?
    }

    /// Changes of `doc` that are not ancestors of `heads`, in causal order: what a peer that
    /// holds `heads` lacks. `None` if the document does not exist here.
    pub fn changes_since(
        &self,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<Option<Vec<Change>>, StoreError> {
        self.read(doc, |d, _| d.get_changes(heads))
    }

    /// Removes a document that moved away, keeping a stub. Durable on return.
    pub fn retire(&self, id: &DocId, stub: &Stub) -> Result<(), StoreError> {
        let ticket = self.with_slot(id, |slot| {
            self.forget_view(id);
            let mut batch = sled::Batch::default();
            if let Some(loaded) = slot.take() {
                batch.remove(keys::index(
                    &loaded.meta.scope.partition(),
                    loaded.meta.kind,
                    id,
                ));
            }
            batch.remove(keys::meta(id));
            batch.remove(keys::snapshot(id));
            for kv in self.inner.db.scan_prefix(keys::chunk_prefix(id)) {
                batch.remove(kv.map_err(|e| self.io(e))?.0);
            }
            let at = keys::stub(id);
            let value = self.seal(
                &at,
                &postcard::to_allocvec(stub).map_err(|e| self.corrupt(id, e))?,
            );
            batch.insert(at, value);
            let _next = lock(&self.inner.next_seq);
            self.inner.db.apply_batch(batch).map_err(|e| self.io(e))?;
            self.forget_meta(id);
            Ok(self.inner.commit.written(0))
        })??;
        self.wait(ticket)
    }

    /// The stub a retired document left, if any.
    pub fn stub(&self, id: &DocId) -> Result<Option<Stub>, StoreError> {
        let at = keys::stub(id);
        match self.inner.db.get(&at).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(stored) => postcard::from_bytes(&self.unseal(id, &at, &stored)?)
                .map(Some)
                .map_err(|e| self.corrupt(id, format!("stub: {e}"))),
        }
    }

    /// Moves a document to another scope (a case file following its person). Durable on return.
    pub fn set_scope(&self, id: &DocId, scope: Scope) -> Result<(), StoreError> {
        let ticket = self.with_slot(id, |slot| {
            let Some(loaded) = slot.as_mut().filter(|l| l.stored) else {
                return Err(StoreError::NotFound(id.clone()));
            };
            let old = std::mem::replace(&mut loaded.meta.scope, scope);
            let mut batch = sled::Batch::default();
            batch.remove(keys::index(&old.partition(), loaded.meta.kind, id));
            batch.insert(
                keys::index(&loaded.meta.scope.partition(), loaded.meta.kind, id),
                &[][..],
            );
            let meta = postcard::to_allocvec(&loaded.meta).map_err(|e| self.corrupt(id, e))?;
            batch.insert(keys::meta(id), meta);
            let _next = lock(&self.inner.next_seq);
            self.inner.db.apply_batch(batch).map_err(|e| self.io(e))?;
            self.forget_meta(id);
            Ok(self.inner.commit.written(0))
        })??;
        self.wait(ticket)
    }
}
