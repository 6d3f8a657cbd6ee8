//! One document's life on disk: loading it from its snapshot and chunks, storing the changes
//! it gained (with their feed entries, one batch for every document of a write), and folding
//! chunks into a new snapshot.

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{Automerge, Change, ChangeHash, ReadDoc};

use super::editor::Editor;
use super::feed::{Origin, encode_entry};
use super::{DocMeta, Store, StoreError, keys, lock};
use crate::model::{Aggregate, Class, DocId, Kind, Millis, Scope};

/// The largest change the store keeps. A sync frame carries at least one whole change and a
/// peer refuses frames over [`crate::wire::MAX_FRAME`] (1 MiB), so a larger change could never
/// leave this node: the writer gets [`StoreError::TooLarge`] instead.
pub const MAX_CHANGE_BYTES: usize = 512 << 10;

pub(super) struct Loaded {
    pub(super) doc: Automerge,
    pub(super) meta: DocMeta,
    /// The document's metadata and index entry are on disk. False for a document made in
    /// memory (a new write, or received changes still waiting for their dependencies) until its
    /// first changes are stored with them.
    pub(super) stored: bool,
    /// Chunks stored since the snapshot.
    chunks: usize,
    /// Their bytes.
    chunk_bytes: usize,
    /// Bytes of the snapshot.
    snapshot_bytes: usize,
}

impl Loaded {
    /// A document with nothing stored yet.
    pub(super) fn new(doc: Automerge, meta: DocMeta) -> Loaded {
        Loaded {
            doc,
            meta,
            stored: false,
            chunks: 0,
            chunk_bytes: 0,
            snapshot_bytes: 0,
        }
    }
}

/// One document's part in a write: the changes it gained since `before` go in the batch.
pub(super) struct Staging<'a> {
    pub(super) id: &'a DocId,
    pub(super) loaded: &'a mut Loaded,
    pub(super) before: Vec<ChangeHash>,
    pub(super) class: Class,
}

/// Chunk bytes past which a document is compacted when it is loaded (see
/// [`Store::compact_if_due`]).
const LOAD_COMPACT_BYTES: usize = 8 << 10;

/// What a document was just loaded or written for.
#[derive(Clone, Copy)]
pub(super) enum After {
    Load,
    Write,
}

/// The actor every document's genesis change is written under.
fn genesis_actor() -> automerge::ActorId {
    automerge::ActorId::from(&b"pathway-genesis!"[..])
}

impl Store {
    pub(super) fn load(&self, doc: &DocId) -> Result<Option<Loaded>, StoreError> {
        let db = &self.inner.db;
        let Some(meta) = db.get(keys::meta(doc)).map_err(|e| self.io(e))? else {
            return Ok(None);
        };
        let meta: DocMeta =
            postcard::from_bytes(&meta).map_err(|e| self.corrupt(doc, format!("metadata: {e}")))?;
        let snapshot_key = keys::snapshot(doc);
        let snapshot = db.get(&snapshot_key).map_err(|e| self.io(e))?;
        let mut am = match &snapshot {
            Some(stored) => {
                let snap = self.unseal(doc, &snapshot_key, stored)?;
                Automerge::load(&snap).map_err(|e| self.corrupt(doc, format!("snapshot: {e}")))?
            }
            None => Automerge::new(),
        };
        let mut changes = Vec::new();
        let mut chunk_bytes = 0;
        for kv in db.scan_prefix(keys::chunk_prefix(doc)) {
            let (k, stored) = kv.map_err(|e| self.io(e))?;
            let v = self.unseal(doc, &k, &stored)?.into_owned();
            chunk_bytes += v.len();
            let change = Change::from_bytes(v).map_err(|e| {
                let seq = k
                    .len()
                    .checked_sub(8)
                    .map(|at| u64::from_be_bytes(k[at..].try_into().unwrap_or_default()));
                self.corrupt(
                    doc,
                    format!("change at feed seq {}: {e}", seq.unwrap_or_default()),
                )
            })?;
            changes.push(change);
        }
        let chunks = changes.len();
        am.apply_changes(changes)
            .map_err(|e| self.corrupt(doc, format!("changes: {e}")))?;
        if !am.get_missing_deps(&[]).is_empty() {
            return Err(self.corrupt(doc, "stored changes depend on changes that are not stored"));
        }
        am.set_actor(self.inner.actor.clone());
        Ok(Some(Loaded {
            doc: am,
            meta,
            stored: true,
            chunks,
            chunk_bytes,
            snapshot_bytes: snapshot.map_or(0, |s| s.len()),
        }))
    }

    /// Stores the changes each document gained, with their feed entries and, for a document
    /// not yet on disk, its metadata and index entry, as one batch: all of it or none. Returns
    /// the feed seq of each document's last change and the group-commit ticket. `origin` says
    /// whether the changes were written here or received from a peer.
    pub(super) fn persist(
        &self,
        docs: &mut [Staging<'_>],
        origin: Origin,
    ) -> Result<(Vec<Option<u64>>, u64), StoreError> {
        let changes: Vec<Vec<Change>> = docs
            .iter_mut()
            .map(|s| s.loaded.doc.get_changes(&s.before))
            .collect();
        for (s, changes) in docs.iter().zip(&changes) {
            if let Some(big) = changes
                .iter()
                .find(|c| c.raw_bytes().len() > MAX_CHANGE_BYTES)
            {
                return Err(StoreError::TooLarge {
                    doc: s.id.clone(),
                    bytes: big.raw_bytes().len(),
                    limit: MAX_CHANGE_BYTES,
                });
            }
        }
        if docs
            .iter()
            .zip(&changes)
            .all(|(s, c)| c.is_empty() && s.loaded.stored)
        {
            return Ok((vec![None; docs.len()], 0));
        }
        let mut batch = sled::Batch::default();
        for s in docs.iter() {
            self.forget_view(s.id);
            if !s.loaded.stored {
                let meta =
                    postcard::to_allocvec(&s.loaded.meta).map_err(|e| self.corrupt(s.id, e))?;
                batch.insert(keys::meta(s.id), meta);
                batch.insert(
                    keys::index(&s.loaded.meta.scope.partition(), s.loaded.meta.kind, s.id),
                    &[][..],
                );
            }
        }
        let mut next = lock(&self.inner.next_seq);
        let first = *next;
        let mut seq = first;
        let mut lasts = Vec::with_capacity(docs.len());
        for (s, changes) in docs.iter().zip(&changes) {
            for change in changes {
                let at = keys::chunk(s.id, seq);
                let value = self.seal(&at, change.raw_bytes());
                batch.insert(at, value);
                batch.insert(keys::feed(seq), encode_entry(s.id, change, s.class, origin));
                seq += 1;
            }
            lasts.push((!changes.is_empty()).then(|| seq - 1));
        }
        self.inner.db.apply_batch(batch).map_err(|e| self.io(e))?;
        *next = seq;
        let last = (seq > first).then(|| seq - 1);
        let ticket = self.inner.commit.written(last.unwrap_or(0));
        drop(next);
        for (s, changes) in docs.iter_mut().zip(&changes) {
            s.loaded.stored = true;
            s.loaded.chunks += changes.len();
            s.loaded.chunk_bytes += changes.iter().map(|c| c.raw_bytes().len()).sum::<usize>();
            self.compact_if_due(s.id, s.loaded, After::Write);
        }
        Ok((lasts, ticket))
    }

    pub(super) fn wait(&self, ticket: u64) -> Result<(), StoreError> {
        if ticket == 0 {
            return Ok(());
        }
        let db = &self.inner.db;
        self.inner
            .commit
            .wait(ticket, || db.flush().map(drop))
            .map_err(|e| self.io(e))
    }

    /// A new document of kind `T`: its deterministic genesis, under this node's actor.
    pub(super) fn genesis<T: Aggregate>(
        &self,
        id: &DocId,
        scope: Scope,
    ) -> Result<Loaded, StoreError> {
        let mut doc = Automerge::new().with_actor(genesis_actor());
        reconcile_into(&mut doc, id, &T::default(), 0)?;
        doc.set_actor(self.inner.actor.clone());
        Ok(Loaded::new(
            doc,
            DocMeta {
                kind: T::KIND,
                scope,
            },
        ))
    }

    /// Folds a document's chunks into a new snapshot.
    pub fn compact(&self, id: &DocId) -> Result<(), StoreError> {
        self.with_slot(id, |slot| match slot.as_mut() {
            Some(loaded) if loaded.stored => self.compact_loaded(id, loaded),
            _ => Ok(()),
        })?
    }

    fn compact_loaded(&self, id: &DocId, loaded: &mut Loaded) -> Result<(), StoreError> {
        if loaded.chunks == 0 {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        let snapshot = loaded.doc.save_nocompress();
        let snapshot_bytes = snapshot.len();
        let at = keys::snapshot(id);
        let value = self.seal(&at, &snapshot);
        batch.insert(at, value);
        for kv in self.inner.db.scan_prefix(keys::chunk_prefix(id)) {
            batch.remove(kv.map_err(|e| self.io(e))?.0);
        }
        self.inner.db.apply_batch(batch).map_err(|e| self.io(e))?;
        loaded.chunks = 0;
        loaded.chunk_bytes = 0;
        loaded.snapshot_bytes = snapshot_bytes;
        tracing::debug!(doc = %id, "compacted");
        Ok(())
    }

    /// Folds a loaded document's chunks into a snapshot once they cost more than it would.
    /// After a write: once there are `compact_after_chunks` of them and they add up to the
    /// snapshot's size, so a large document (an audit block) is not rewritten whole every few
    /// appends. After a load: once they hold [`LOAD_COMPACT_BYTES`] and an eighth of the
    /// snapshot's size, since applying changes costs many times what loading a snapshot of
    /// them does (a month's register from 26 chunks: ~3 ms), and a document that fell out of
    /// the cache is likely to be loaded again. Done on the caller's thread: no thread of its
    /// own keeps the database open after the last handle is dropped.
    pub(super) fn compact_if_due(&self, id: &DocId, loaded: &mut Loaded, after: After) {
        let due = match after {
            After::Write => {
                loaded.chunks >= self.inner.options.compact_after_chunks
                    && loaded.chunk_bytes >= loaded.snapshot_bytes
            }
            After::Load => {
                loaded.chunk_bytes >= LOAD_COMPACT_BYTES
                    && loaded.chunk_bytes * 8 >= loaded.snapshot_bytes
            }
        };
        if due && let Err(e) = self.compact_loaded(id, loaded) {
            tracing::warn!(doc = %id, error = %e, "compaction failed; the document stays readable from its chunks");
        }
    }
}

/// Runs `f` in one transaction on `loaded` and commits what it wrote at `now`; on an error,
/// nothing is changed. Returns `f`'s value and the class the edit travels in.
pub(super) fn transact<R, E>(
    loaded: &mut Loaded,
    id: &DocId,
    kind: Kind,
    now: Millis,
    f: impl FnOnce(&mut Editor<'_, '_>) -> Result<R, E>,
) -> Result<(R, Class), E>
where
    E: From<StoreError>,
{
    check_kind(id, kind, loaded.meta.kind)?;
    let mut tx = loaded.doc.transaction();
    let mut class = Class::default_for(kind);
    let result = f(&mut Editor::new(&mut tx, id, &mut class));
    match result {
        Ok(r) => {
            if tx.pending_ops() > 0 {
                tx.commit_with(CommitOptions::default().with_time(now));
            } else {
                tx.rollback();
            }
            Ok((r, class))
        }
        Err(e) => {
            tx.rollback();
            Err(e)
        }
    }
}

pub(super) fn check_kind(id: &DocId, expected: Kind, found: Kind) -> Result<(), StoreError> {
    if expected == found {
        Ok(())
    } else {
        Err(StoreError::WrongKind {
            doc: id.clone(),
            expected,
            found,
        })
    }
}

pub(super) fn hydrate<T: Aggregate>(
    doc: &Automerge,
    id: &DocId,
    kind: Kind,
) -> Result<T, StoreError> {
    autosurgeon::hydrate(doc).map_err(|source| StoreError::Shape {
        doc: id.clone(),
        kind,
        source: Box::new(source),
    })
}

pub(super) fn reconcile_into<T: Aggregate>(
    doc: &mut Automerge,
    id: &DocId,
    value: &T,
    now: Millis,
) -> Result<(), StoreError> {
    let mut tx = doc.transaction();
    if let Err(source) = autosurgeon::reconcile(&mut tx, value) {
        tx.rollback();
        return Err(StoreError::Reconcile {
            doc: id.clone(),
            source: Box::new(source),
        });
    }
    if tx.pending_ops() > 0 {
        tx.commit_with(CommitOptions::default().with_time(now));
    } else {
        tx.rollback();
    }
    Ok(())
}
