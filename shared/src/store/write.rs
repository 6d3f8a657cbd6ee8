//! Writing and reading documents as typed values. Every write returns once durable, or hands
//! back a [`Pending`] that waits for the flush covering it.

use super::doc::{Loaded, Staging, check_kind, hydrate, reconcile_into, transact};
use super::editor::Editor;
use super::feed::Origin;
use super::{Ack, DocMeta, Pending, Store, StoreError, UpdateError, keys, lock};
use crate::model::{Aggregate, Class, DocId, Millis, Scope};

/// The document written beside a record in [`Store::edit_with_staged`].
pub struct Beside<G, S> {
    pub id: DocId,
    /// Where the document is created if it does not exist.
    pub scope: Scope,
    /// The edit to make in it.
    pub edit: G,
    /// Handed back to the caller with the result.
    pub state: S,
}

impl Store {
    /// Writes `value` as its document, creating it if needed. Returns once durable.
    pub fn put<T: Aggregate>(&self, value: &T, now: Millis) -> Result<Ack, StoreError> {
        let (ack, ticket) = self.stage_put(value, now)?;
        self.wait(ticket)?;
        Ok(ack)
    }

    /// Writes many values and waits for them together: one flush for the lot.
    pub fn put_many<T: Aggregate>(
        &self,
        values: &[T],
        now: Millis,
    ) -> Result<Vec<Ack>, StoreError> {
        let mut acks = Vec::with_capacity(values.len());
        let mut last_ticket = 0;
        for v in values {
            let (ack, ticket) = self.stage_put(v, now)?;
            last_ticket = last_ticket.max(ticket);
            acks.push(ack);
        }
        self.wait(last_ticket)?;
        Ok(acks)
    }

    /// [`Store::put`], without waiting; see [`Store::edit_staged`].
    pub fn put_staged<T: Aggregate>(
        &self,
        value: &T,
        now: Millis,
    ) -> Result<(Ack, Pending), StoreError> {
        let (ack, ticket) = self.stage_put(value, now)?;
        Ok((ack, self.pending(ticket)))
    }

    fn stage_put<T: Aggregate>(&self, value: &T, now: Millis) -> Result<(Ack, u64), StoreError> {
        let id = value.doc_id();
        self.with_slot(&id, |slot| {
            let is_new = slot.is_none();
            let loaded = match slot {
                Some(l) => {
                    check_kind(&id, T::KIND, l.meta.kind)?;
                    l
                }
                None => slot.insert(self.genesis::<T>(&id, value.scope())?),
            };
            let before = if is_new {
                Vec::new()
            } else {
                loaded.doc.get_heads()
            };
            let persisted = reconcile_into(&mut loaded.doc, &id, value, now).and_then(|()| {
                self.persist(
                    &mut [Staging {
                        id: &id,
                        loaded,
                        before,
                        class: Class::default_for(T::KIND),
                    }],
                    Origin::Local,
                )
            });
            match persisted {
                Ok((seqs, ticket)) => Ok((
                    Ack {
                        seq: seqs[0],
                        heads: loaded.doc.get_heads(),
                    },
                    ticket,
                )),
                Err(e) => {
                    *slot = None;
                    Err(e)
                }
            }
        })?
    }

    /// Changes a document through an [`Editor`], which reads and writes typed values at paths
    /// inside it, and stores the difference. Returns once durable. If `f` returns an error,
    /// nothing is written.
    ///
    /// This is the fast path for small edits: only the values at the paths are read and
    /// reconciled, not the whole document.
    pub fn edit<T: Aggregate, R, E: From<StoreError>>(
        &self,
        id: &DocId,
        now: Millis,
        f: impl FnOnce(&mut Editor<'_, '_>) -> Result<R, E>,
    ) -> Result<(R, Ack), E> {
        let (r, ack, pending) = self.edit_staged::<T, R, E>(id, now, f)?;
        pending.durable()?;
        Ok((r, ack))
    }

    /// [`Store::edit`], without waiting: the change is in sled (readable, in the feed once
    /// durable) and [`Pending::durable`] waits for the flush that covers it. A writer that must
    /// order its writes (an append-only chain) stages them one at a time under its own lock and
    /// waits outside it, so that its writes still share flushes.
    pub fn edit_staged<T: Aggregate, R, E: From<StoreError>>(
        &self,
        id: &DocId,
        now: Millis,
        f: impl FnOnce(&mut Editor<'_, '_>) -> Result<R, E>,
    ) -> Result<(R, Ack, Pending), E> {
        let (r, ack, ticket) = self.with_slot(id, |slot| {
            let Some(loaded) = slot.as_mut().filter(|l| l.stored) else {
                return Err(E::from(StoreError::NotFound(id.clone())));
            };
            let before = loaded.doc.get_heads();
            let (r, class) = transact(loaded, id, T::KIND, now, f)?;
            let mut staged = [Staging {
                id,
                loaded,
                before,
                class,
            }];
            match self.persist(&mut staged, Origin::Local) {
                Ok((seqs, ticket)) => {
                    let heads = staged[0].loaded.doc.get_heads();
                    Ok((
                        r,
                        Ack {
                            seq: seqs[0],
                            heads,
                        },
                        ticket,
                    ))
                }
                Err(e) => {
                    *slot = None;
                    Err(e.into())
                }
            }
        })??;
        Ok((r, ack, self.pending(ticket)))
    }

    /// Edits the existing document `id` of kind `T` with `f` and a second document as one batch:
    /// both edits are stored, or neither is. This is how a record and its audit entry are
    /// written together. `beside` runs once `f` has succeeded, with `id` held, and names the
    /// second document (of kind `U`, created in its scope if it does not exist), the edit to
    /// make there, and a state handed back with the result (a lock the caller holds until both
    /// are staged: the audit chain's tail). If anything fails, nothing is written.
    pub fn edit_with_staged<T, U, R, E, G, S>(
        &self,
        id: &DocId,
        now: Millis,
        f: impl FnOnce(&mut Editor<'_, '_>) -> Result<R, E>,
        beside: impl FnOnce() -> Result<Beside<G, S>, E>,
    ) -> Result<(R, S, Pending), E>
    where
        T: Aggregate,
        U: Aggregate,
        E: From<StoreError>,
        G: FnOnce(&mut Editor<'_, '_>) -> Result<(), E>,
    {
        self.with_staged::<T, U, R, E, G, S>(id, None, now, f, beside)
    }

    /// Creates `value` as a new document and edits a second document, as one batch, like
    /// [`Store::edit_with_staged`] (a new record and its audit entry). A document already at
    /// `value`'s id is [`StoreError::Exists`], and nothing is written.
    pub fn create_with_staged<T, U, E, G, S>(
        &self,
        value: &T,
        now: Millis,
        beside: impl FnOnce() -> Result<Beside<G, S>, E>,
    ) -> Result<(S, Pending), E>
    where
        T: Aggregate,
        U: Aggregate,
        E: From<StoreError>,
        G: FnOnce(&mut Editor<'_, '_>) -> Result<(), E>,
    {
        let id = value.doc_id();
        let ((), state, pending) = self.with_staged::<T, U, (), E, G, S>(
            &id,
            Some(value.scope()),
            now,
            |e| e.replace(value).map_err(E::from),
            beside,
        )?;
        Ok((state, pending))
    }

    /// See [`Store::edit_with_staged`]; with `create`, the first document is made new in that
    /// scope (and must not exist).
    fn with_staged<T, U, R, E, G, S>(
        &self,
        id: &DocId,
        create: Option<Scope>,
        now: Millis,
        f: impl FnOnce(&mut Editor<'_, '_>) -> Result<R, E>,
        beside: impl FnOnce() -> Result<Beside<G, S>, E>,
    ) -> Result<(R, S, Pending), E>
    where
        T: Aggregate,
        U: Aggregate,
        E: From<StoreError>,
        G: FnOnce(&mut Editor<'_, '_>) -> Result<(), E>,
    {
        // Locks are taken in one order everywhere a write holds two: the record, then (after
        // whatever `beside` takes) the document written beside it, which is never itself the
        // first of a pair.
        let (r, state, ticket) = self.with_slot(id, |first| {
            let creating = create.is_some();
            if let Some(scope) = create {
                if first.is_some() {
                    return Err(E::from(StoreError::Exists(id.clone())));
                }
                *first = Some(self.genesis::<T>(id, scope)?);
            }
            let Some(a) = first.as_mut().filter(|l| l.stored || creating) else {
                return Err(E::from(StoreError::NotFound(id.clone())));
            };
            let before_a = if a.stored {
                a.doc.get_heads()
            } else {
                Vec::new()
            };
            let (r, class_a) = transact(a, id, T::KIND, now, f)?;
            let staged = (|| {
                let Beside {
                    id: other,
                    scope,
                    edit,
                    state,
                } = beside()?;
                if other == *id {
                    return Err(E::from(StoreError::SameDocument(other)));
                }
                let ticket = self.with_slot(&other, |second| {
                    let (b, before_b, class_b) =
                        self.stage_second::<U, E>(second, &other, scope, now, edit)?;
                    let mut staged = [
                        Staging {
                            id,
                            loaded: a,
                            before: before_a,
                            class: class_a,
                        },
                        Staging {
                            id: &other,
                            loaded: b,
                            before: before_b,
                            class: class_b,
                        },
                    ];
                    match self.persist(&mut staged, Origin::Local) {
                        Ok((_, ticket)) => Ok(ticket),
                        Err(e) => {
                            *second = None;
                            Err(E::from(e))
                        }
                    }
                })??;
                Ok((state, ticket))
            })();
            match staged {
                Ok((state, ticket)) => Ok((r, state, ticket)),
                Err(e) => {
                    // `f`'s change is in memory only: forget it.
                    *first = None;
                    Err(e)
                }
            }
        })??;
        Ok((r, state, self.pending(ticket)))
    }

    /// Edits the document `id` of kind `U` with `g`, creating it in `scope` if it does not
    /// exist. Not durable until the [`Pending`] says so.
    pub fn upsert_staged<U: Aggregate, E: From<StoreError>>(
        &self,
        id: &DocId,
        scope: Scope,
        now: Millis,
        g: impl FnOnce(&mut Editor<'_, '_>) -> Result<(), E>,
    ) -> Result<Pending, E> {
        let ticket = self.with_slot(id, |slot| {
            let (loaded, before, class) = self.stage_second::<U, E>(slot, id, scope, now, g)?;
            match self.persist(
                &mut [Staging {
                    id,
                    loaded,
                    before,
                    class,
                }],
                Origin::Local,
            ) {
                Ok((_, ticket)) => Ok(ticket),
                Err(e) => {
                    *slot = None;
                    Err(E::from(e))
                }
            }
        })??;
        Ok(self.pending(ticket))
    }

    /// Runs `g` on the document in `slot`, made from its genesis first if it does not exist.
    /// On an error the slot holds what it held before.
    fn stage_second<'s, U: Aggregate, E: From<StoreError>>(
        &self,
        slot: &'s mut Option<Loaded>,
        id: &DocId,
        scope: Scope,
        now: Millis,
        g: impl FnOnce(&mut Editor<'_, '_>) -> Result<(), E>,
    ) -> Result<(&'s mut Loaded, Vec<automerge::ChangeHash>, Class), E> {
        let created = slot.is_none();
        if created {
            *slot = Some(self.genesis::<U>(id, scope)?);
        }
        let before = match slot.as_ref() {
            Some(l) if l.stored => l.doc.get_heads(),
            _ => Vec::new(),
        };
        let result = match slot.as_mut() {
            Some(l) => transact(l, id, U::KIND, now, g),
            None => Err(E::from(StoreError::NotFound(id.clone()))),
        };
        match result {
            Ok(((), class)) => match slot.as_mut() {
                Some(l) => Ok((l, before, class)),
                None => Err(E::from(StoreError::NotFound(id.clone()))),
            },
            Err(e) => {
                if created {
                    *slot = None;
                }
                Err(e)
            }
        }
    }

    /// A [`Pending`] for a request that wrote nothing: already durable.
    pub fn pending_none(&self) -> Pending {
        self.pending(0)
    }

    pub(super) fn pending(&self, ticket: u64) -> Pending {
        Pending {
            store: self.clone(),
            ticket,
        }
    }

    /// Reads a whole document as `T`, changes it with `f`, and writes the difference. Simple,
    /// but it reads and reconciles every field: prefer [`Store::edit`] for small edits.
    pub fn update<T: Aggregate, R, E>(
        &self,
        id: &DocId,
        now: Millis,
        f: impl FnOnce(&mut T) -> Result<R, E>,
    ) -> Result<(R, Ack), UpdateError<E>> {
        self.edit::<T, R, UpdateError<E>>(id, now, |e| {
            let mut value: T = e.whole()?;
            let r = f(&mut value).map_err(UpdateError::Rejected)?;
            e.replace(&value)?;
            Ok(r)
        })
    }

    /// Reads a document as `T`.
    pub fn get<T: Aggregate>(&self, id: &DocId) -> Result<Option<T>, StoreError> {
        let view = lock(&self.inner.views).get(id);
        if let Some(v) = view.and_then(|v| v.downcast::<T>().ok()) {
            return Ok(Some(T::clone(&v)));
        }
        self.with_slot(id, |slot| match slot.as_ref().filter(|l| l.stored) {
            None => Ok(None),
            Some(l) => {
                check_kind(id, T::KIND, l.meta.kind)?;
                let value: T = hydrate(&l.doc, id, T::KIND)?;
                lock(&self.inner.views).put(id, &value);
                Ok(Some(value))
            }
        })?
    }

    /// Runs `f` on the raw document, if it exists.
    pub fn read<R>(
        &self,
        id: &DocId,
        f: impl FnOnce(&automerge::Automerge, &DocMeta) -> R,
    ) -> Result<Option<R>, StoreError> {
        self.with_slot(id, |slot| {
            slot.as_ref()
                .filter(|l| l.stored)
                .map(|l| f(&l.doc, &l.meta))
        })
    }

    /// Kind and scope of a document, without loading it.
    pub fn meta(&self, id: &DocId) -> Result<Option<DocMeta>, StoreError> {
        use std::sync::atomic::Ordering;
        if let Some(m) = lock(&self.inner.metas).get(id) {
            return Ok(Some(m.clone()));
        }
        let generation = self.inner.meta_gen.load(Ordering::Acquire);
        let meta: DocMeta = match self.inner.db.get(keys::meta(id)).map_err(|e| self.io(e))? {
            None => return Ok(None),
            Some(b) => {
                postcard::from_bytes(&b).map_err(|e| self.corrupt(id, format!("metadata: {e}")))?
            }
        };
        let mut metas = lock(&self.inner.metas);
        // A change to the metadata since the read moved the generation on: keep nothing.
        if self.inner.meta_gen.load(Ordering::Acquire) == generation {
            metas.put(id.clone(), meta.clone());
        }
        Ok(Some(meta))
    }

    /// Forgets `id`'s metadata held in memory, after its stored metadata changed.
    pub(super) fn forget_meta(&self, id: &DocId) {
        self.inner
            .meta_gen
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        lock(&self.inner.metas).pop(id);
    }

    /// Documents of `kind` in a partition (`national` or `facility:<id>`), in id order.
    pub fn list(
        &self,
        partition: &str,
        kind: crate::model::Kind,
    ) -> Result<Vec<DocId>, StoreError> {
        let prefix = keys::index_prefix(partition, kind);
        let mut out = Vec::new();
        for kv in self.inner.db.scan_prefix(&prefix) {
            let (k, _) = kv.map_err(|e| self.io(e))?;
            let raw = String::from_utf8_lossy(&k[prefix.len()..]);
            let id = DocId::parse(&raw).map_err(|e| StoreError::Corrupt {
                path: self.inner.path.clone(),
                doc: raw.to_string(),
                what: format!("index entry: {e}"),
            })?;
            out.push(id);
        }
        Ok(out)
    }
}
