//! The document store: Automerge documents on sled, with a feed, peer cursors and group commit.
//!
//! - A document is stored as a snapshot (`save_nocompress()`) plus one chunk per change since;
//!   the writer that adds the 64th chunk folds them into a new snapshot.
//! - Every change the node stores, written here or received, gets the next number in the local
//!   **feed** (seq → document, change hash). Sync reads the feed from a peer's cursor.
//! - Documents are loaded on demand into a bounded cache; a node never holds them all.
//! - Reads are served from a second bounded cache of typed values, dropped whenever their
//!   document changes: reading a document back out of Automerge costs far more than the read.
//! - A write returns only once it is durable (see [`commit`]).
//! - Every document is written under one actor id per node, kept in the store. Its first change
//!   is a deterministic genesis (see [`Aggregate`]), so two nodes that create the same document
//!   apart still merge field by field.

mod commit;
mod keys;

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{ActorId, Automerge, Change, ChangeHash, ReadDoc};
use lru::LruCache;
use serde::{Deserialize, Serialize};

use crate::model::{Aggregate, Class, DocId, Kind, Millis, Scope};
use commit::GroupCommit;

/// Tuning for a store. `Default` suits a gateway appliance.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Documents kept loaded in memory. A loaded case file costs tens of KiB; lanbench's RSS
    /// grows ~25 KiB per slot. Registers written all day must not fall out behind case files
    /// loaded once for a note: with 256 slots they did, and reloading a month's register
    /// (2–4 ms) was a sixth of the CPU under load.
    pub cache_docs: usize,
    /// Typed values kept for reads, in bytes (as JSON, near their size in memory).
    pub cache_view_bytes: usize,
    /// sled's page cache, in bytes.
    pub sled_cache_bytes: u64,
    /// A document is compacted by the next write once it has this many chunks since its
    /// snapshot, and they add up to at least the snapshot's size (so a large document, such
    /// as an audit block, is not rewritten whole every few appends).
    pub compact_after_chunks: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_docs: 512,
            cache_view_bytes: 8 << 20,
            sled_cache_bytes: 8 << 20,
            compact_after_chunks: 64,
        }
    }
}

/// A staged write, not yet acknowledged.
#[must_use = "a staged write is acknowledged only once durable() returns"]
pub struct Pending {
    store: Store,
    ticket: u64,
}

impl Pending {
    /// Returns once the write is on disk, sharing the flush with every writer waiting now.
    pub fn durable(self) -> Result<(), StoreError> {
        self.store.wait(self.ticket)
    }

    /// [`Pending::durable`] for async code: while another writer's flush runs, this waits
    /// without holding a thread, so a few blocking threads keep the CPU busy while the disk
    /// syncs. Only a writer that must start a flush takes a blocking thread for it.
    pub async fn durable_async(self) -> Result<(), StoreError> {
        loop {
            let mut flushed = self.store.inner.commit.subscribe();
            match self.store.inner.commit.check(self.ticket) {
                commit::Check::Durable => return Ok(()),
                commit::Check::Flushing => {
                    // The sender lives as long as the store this handle keeps open.
                    let _ = flushed.changed().await;
                }
                commit::Check::Idle => {
                    let path = self.store.inner.path.clone();
                    return tokio::task::spawn_blocking(move || self.durable())
                        .await
                        .map_err(|e| StoreError::Io {
                            path,
                            source: sled::Error::ReportableBug(format!("flush task: {e}")),
                        })?;
                }
            }
        }
    }
}

/// What the store knows of a document besides its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocMeta {
    pub kind: Kind,
    pub scope: Scope,
}

/// A durable write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// Feed seq of the last change written; `None` if the write changed nothing.
    pub seq: Option<u64>,
    pub heads: Vec<ChangeHash>,
}

/// A change in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    pub seq: u64,
    pub doc: DocId,
    pub hash: ChangeHash,
    pub class: Class,
    /// The change's size in bytes, uncompressed.
    pub size: u32,
    /// When the change was made, by its author's clock.
    pub at: Millis,
}

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

/// A store operation that failed. Nothing partial is kept: the operation's batch was either
/// applied whole or not at all, and an unacknowledged write may be retried.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened: missing permissions, a file where a folder should be,
    /// another process holding it, or a damaged log.
    #[error("cannot open the store at {path}: {source}")]
    Open { path: PathBuf, source: sled::Error },
    /// sled failed to read, write or flush.
    #[error("store at {path}: {source}")]
    Io { path: PathBuf, source: sled::Error },
    /// Stored bytes for one document cannot be decoded. Other documents are unaffected; the
    /// document can be fetched again from a peer.
    #[error("store at {path}: document `{doc}` holds bytes that cannot be decoded ({what})")]
    Corrupt {
        path: PathBuf,
        doc: String,
        what: String,
    },
    /// The document exists but is of another kind.
    #[error("document `{doc}` is a {found}, not a {expected}")]
    WrongKind {
        doc: DocId,
        expected: Kind,
        found: Kind,
    },
    /// The document does not exist.
    #[error("document `{0}` does not exist")]
    NotFound(DocId),
    /// The document's content does not have the shape of its kind.
    #[error("document `{doc}` does not read as a {kind}: {source}")]
    Shape {
        doc: DocId,
        kind: Kind,
        source: Box<autosurgeon::HydrateError>,
    },
    /// The new content could not be written into the document.
    #[error("document `{doc}` could not be updated: {source}")]
    Reconcile {
        doc: DocId,
        source: Box<autosurgeon::ReconcileError>,
    },
    /// A path inside the document does not lead to a map.
    #[error("document `{doc}` has no map at `{path}`")]
    Path { doc: DocId, path: String },
    /// The value at a path does not have the expected shape.
    #[error("document `{doc}`: the value at `{path}` does not read as expected: {source}")]
    Value {
        doc: DocId,
        path: String,
        source: Box<autosurgeon::HydrateError>,
    },
    /// Received changes could not be applied.
    #[error("document `{doc}`: received changes rejected: {source}")]
    Changes {
        doc: DocId,
        source: Box<automerge::AutomergeError>,
    },
}

/// An update that failed: either the caller's closure refused it, or the store failed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    #[error(transparent)]
    Rejected(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct Loaded {
    doc: Automerge,
    meta: DocMeta,
    /// Chunks stored since the snapshot.
    chunks: usize,
    /// Their bytes.
    chunk_bytes: usize,
    /// Bytes of the snapshot.
    snapshot_bytes: usize,
}

impl Loaded {
    /// A document with nothing stored yet.
    fn new(doc: Automerge, meta: DocMeta) -> Loaded {
        Loaded {
            doc,
            meta,
            chunks: 0,
            chunk_bytes: 0,
            snapshot_bytes: 0,
        }
    }
}

/// Chunk bytes past which a document is compacted when it is loaded (see
/// [`Store::compact_if_due`]).
const LOAD_COMPACT_BYTES: usize = 8 << 10;

/// What a document was just loaded or written for.
#[derive(Clone, Copy)]
enum After {
    Load,
    Write,
}

/// A cache slot. `None` until loaded; the slot's mutex serialises all access to one document,
/// so there is never more than one in-memory copy of it.
type Slot = Arc<Mutex<Option<Loaded>>>;

/// A document read as its [`Aggregate`] type.
type View = Arc<dyn std::any::Any + Send + Sync>;

/// Views, least recently used first out, within a byte budget.
struct Views {
    lru: LruCache<DocId, (View, usize)>,
    bytes: usize,
    budget: usize,
}

impl Views {
    fn get(&mut self, id: &DocId) -> Option<View> {
        self.lru.get(id).map(|(v, _)| v.clone())
    }

    fn put<T: Aggregate>(&mut self, id: &DocId, value: &T) {
        let size = json_size(value);
        if size > self.budget / 8 {
            return; // One big document (a full audit block) would push out hundreds of others.
        }
        if let Some((_, old)) = self.lru.put(id.clone(), (Arc::new(value.clone()), size)) {
            self.bytes -= old;
        }
        self.bytes += size;
        while self.bytes > self.budget {
            match self.lru.pop_lru() {
                Some((_, (_, n))) => self.bytes -= n,
                None => break,
            }
        }
    }

    fn forget(&mut self, id: &DocId) {
        if let Some((_, n)) = self.lru.pop(id) {
            self.bytes -= n;
        }
    }
}

/// Bytes of `value` as JSON, counted without building it.
fn json_size<T: Serialize>(value: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    // Writing to a counter cannot fail; a value serde refuses counts as nothing.
    let _ = serde_json::to_writer(&mut c, value);
    c.0
}

struct Inner {
    path: PathBuf,
    db: sled::Db,
    actor: ActorId,
    options: StoreOptions,
    cache: Mutex<LruCache<DocId, Slot>>,
    /// Typed values read from documents, as of their current heads. Filled and dropped only
    /// under the document's slot lock, so a view never outlives a change to its document.
    views: Mutex<Views>,
    /// Held while a batch is built from the next seqs and applied, so feed order is sled order.
    next_seq: Mutex<u64>,
    commit: GroupCommit,
    /// Changes stored from peers since the store was opened.
    from_peers: std::sync::atomic::AtomicU64,
}

/// A handle to a node's store. Cheap to clone; all clones share one database and cache.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The actor every document's genesis change is written under.
fn genesis_actor() -> ActorId {
    ActorId::from(&b"pathway-genesis!"[..])
}

impl Store {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: impl AsRef<Path>, options: StoreOptions) -> Result<Store, StoreError> {
        let path = path.as_ref().to_path_buf();
        let open_err = |source| StoreError::Open {
            path: path.clone(),
            source,
        };
        let db = sled::Config::new()
            .path(&path)
            .cache_capacity(options.sled_cache_bytes)
            .open()
            .map_err(open_err)?;
        let actor = match db.get(keys::NODE_ACTOR).map_err(open_err)? {
            Some(bytes) => ActorId::from(bytes.as_ref()),
            None => {
                let actor = ActorId::random();
                db.insert(keys::NODE_ACTOR, actor.to_bytes())
                    .map_err(open_err)?;
                db.flush().map_err(open_err)?;
                actor
            }
        };
        let last_seq = match db.scan_prefix(keys::FEED_PREFIX).next_back() {
            Some(kv) => kv.map_err(open_err)?.0,
            None => Default::default(),
        };
        let next_seq = keys::feed_seq(&last_seq).map_or(1, |s| s + 1);
        let inner = Arc::new(Inner {
            path,
            db,
            actor,
            cache: Mutex::new(LruCache::new(
                NonZeroUsize::new(options.cache_docs.max(1)).unwrap_or(NonZeroUsize::MIN),
            )),
            views: Mutex::new(Views {
                lru: LruCache::unbounded(),
                bytes: 0,
                budget: options.cache_view_bytes,
            }),
            options,
            next_seq: Mutex::new(next_seq),
            commit: GroupCommit::new(next_seq - 1),
            from_peers: Default::default(),
        });
        Ok(Store { inner })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The actor id this node writes every document under.
    pub fn actor(&self) -> &ActorId {
        &self.inner.actor
    }

    fn io(&self, source: sled::Error) -> StoreError {
        StoreError::Io {
            path: self.inner.path.clone(),
            source,
        }
    }

    fn corrupt(&self, doc: &DocId, what: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.inner.path.clone(),
            doc: doc.to_string(),
            what: what.to_string(),
        }
    }

    /// The cache slot for `doc`, creating an empty one if needed. Evicts least-recently used
    /// slots that nobody is using, so the cache stays bounded.
    fn slot(&self, doc: &DocId) -> Slot {
        let mut cache = lock(&self.inner.cache);
        if let Some(slot) = cache.get(doc) {
            return slot.clone();
        }
        let slot: Slot = Arc::new(Mutex::new(None));
        cache.push(doc.clone(), slot.clone());
        while cache.len() > self.inner.options.cache_docs {
            let idle = cache
                .iter()
                .rev()
                .find(|(_, s)| Arc::strong_count(s) == 1)
                .map(|(k, _)| k.clone());
            match idle {
                Some(k) => {
                    cache.pop(&k);
                }
                None => break,
            }
        }
        slot
    }

    /// Runs `f` on the loaded document, loading it first. `f` sees `None` if it does not exist.
    fn with_slot<R>(
        &self,
        doc: &DocId,
        f: impl FnOnce(&mut Option<Loaded>) -> R,
    ) -> Result<R, StoreError> {
        let slot = self.slot(doc);
        let mut guard = match slot.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                // A panic while the document was held may have left it half-changed in memory:
                // forget it and read it again from disk.
                let mut g = poisoned.into_inner();
                *g = None;
                g
            }
        };
        if guard.is_none() {
            *guard = self.load(doc)?;
            if let Some(loaded) = guard.as_mut() {
                self.compact_if_due(doc, loaded, After::Load);
            }
        }
        Ok(f(&mut guard))
    }

    fn load(&self, doc: &DocId) -> Result<Option<Loaded>, StoreError> {
        let db = &self.inner.db;
        let Some(meta) = db.get(keys::meta(doc)).map_err(|e| self.io(e))? else {
            return Ok(None);
        };
        let meta: DocMeta =
            postcard::from_bytes(&meta).map_err(|e| self.corrupt(doc, format!("metadata: {e}")))?;
        let snapshot = db.get(keys::snapshot(doc)).map_err(|e| self.io(e))?;
        let mut am = match &snapshot {
            Some(snap) => {
                Automerge::load(snap).map_err(|e| self.corrupt(doc, format!("snapshot: {e}")))?
            }
            None => Automerge::new(),
        };
        let mut changes = Vec::new();
        let mut chunk_bytes = 0;
        for kv in db.scan_prefix(keys::chunk_prefix(doc)) {
            let (k, v) = kv.map_err(|e| self.io(e))?;
            chunk_bytes += v.len();
            let change = Change::from_bytes(v.to_vec()).map_err(|e| {
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
            chunks,
            chunk_bytes,
            snapshot_bytes: snapshot.map_or(0, |s| s.len()),
        }))
    }

    /// Stores the changes `loaded` gained since `before`, with their feed entries and, for a new
    /// document, its metadata and index entry, as one batch. Returns the group-commit ticket.
    fn persist(
        &self,
        id: &DocId,
        loaded: &mut Loaded,
        before: &[ChangeHash],
        is_new: bool,
        class: Class,
    ) -> Result<(Option<u64>, u64), StoreError> {
        let changes = loaded.doc.get_changes(before);
        if changes.is_empty() && !is_new {
            return Ok((None, 0));
        }
        self.forget_view(id);
        let mut batch = sled::Batch::default();
        if is_new {
            let meta = postcard::to_allocvec(&loaded.meta).map_err(|e| self.corrupt(id, e))?;
            batch.insert(keys::meta(id), meta);
            batch.insert(
                keys::index(&loaded.meta.scope.partition(), loaded.meta.kind, id),
                &[][..],
            );
        }
        let mut next = lock(&self.inner.next_seq);
        let first = *next;
        for (seq, change) in (first..).zip(&changes) {
            batch.insert(keys::chunk(id, seq), change.raw_bytes());
            let mut entry = change.hash().0.to_vec();
            entry.push(class as u8);
            let size = u32::try_from(change.raw_bytes().len()).unwrap_or(u32::MAX);
            entry.extend_from_slice(&size.to_be_bytes());
            entry.extend_from_slice(&change.timestamp().to_be_bytes());
            entry.extend_from_slice(id.as_str().as_bytes());
            batch.insert(keys::feed(seq), entry);
        }
        self.inner.db.apply_batch(batch).map_err(|e| self.io(e))?;
        *next = first + changes.len() as u64;
        let last = (!changes.is_empty()).then(|| *next - 1);
        let ticket = self.inner.commit.written(last.unwrap_or(0));
        drop(next);
        loaded.chunks += changes.len();
        loaded.chunk_bytes += changes.iter().map(|c| c.raw_bytes().len()).sum::<usize>();
        self.compact_if_due(id, loaded, After::Write);
        Ok((last, ticket))
    }

    fn wait(&self, ticket: u64) -> Result<(), StoreError> {
        if ticket == 0 {
            return Ok(());
        }
        let db = &self.inner.db;
        self.inner
            .commit
            .wait(ticket, || db.flush().map(drop))
            .map_err(|e| self.io(e))
    }

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
            let result = reconcile_into(&mut loaded.doc, &id, value, now);
            let persisted = result.and_then(|()| {
                self.persist(&id, loaded, &before, is_new, Class::default_for(T::KIND))
            });
            match persisted {
                Ok((seq, ticket)) => Ok((
                    Ack {
                        seq,
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

    fn genesis<T: Aggregate>(&self, id: &DocId, scope: Scope) -> Result<Loaded, StoreError> {
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
            let Some(loaded) = slot.as_mut() else {
                return Err(E::from(StoreError::NotFound(id.clone())));
            };
            check_kind(id, T::KIND, loaded.meta.kind)?;
            let before = loaded.doc.get_heads();
            let mut tx = loaded.doc.transaction();
            let mut class = Class::default_for(T::KIND);
            let result = f(&mut Editor {
                class: &mut class,
                tx: &mut tx,
                doc: id,
            });
            let r = match result {
                Ok(r) => r,
                Err(e) => {
                    tx.rollback();
                    return Err(e);
                }
            };
            if tx.pending_ops() > 0 {
                tx.commit_with(CommitOptions::default().with_time(now));
            } else {
                tx.rollback();
            }
            match self.persist(id, loaded, &before, false, class) {
                Ok((seq, ticket)) => Ok((
                    r,
                    Ack {
                        seq,
                        heads: loaded.doc.get_heads(),
                    },
                    ticket,
                )),
                Err(e) => {
                    *slot = None;
                    Err(e.into())
                }
            }
        })??;
        Ok((r, ack, self.pending(ticket)))
    }

    fn pending(&self, ticket: u64) -> Pending {
        Pending {
            store: self.clone(),
            ticket,
        }
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
        self.with_slot(id, |slot| match slot {
            None => Ok(None),
            Some(l) => {
                check_kind(id, T::KIND, l.meta.kind)?;
                let value: T = hydrate(&l.doc, id, T::KIND)?;
                lock(&self.inner.views).put(id, &value);
                Ok(Some(value))
            }
        })?
    }

    /// Drops the view of a document that is about to change. Callers hold its slot lock.
    fn forget_view(&self, id: &DocId) {
        lock(&self.inner.views).forget(id);
    }

    /// Runs `f` on the raw document, if it exists.
    pub fn read<R>(
        &self,
        id: &DocId,
        f: impl FnOnce(&Automerge, &DocMeta) -> R,
    ) -> Result<Option<R>, StoreError> {
        self.with_slot(id, |slot| slot.as_ref().map(|l| f(&l.doc, &l.meta)))
    }

    /// Kind and scope of a document, without loading it.
    pub fn meta(&self, id: &DocId) -> Result<Option<DocMeta>, StoreError> {
        match self.inner.db.get(keys::meta(id)).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(b) => postcard::from_bytes(&b)
                .map(Some)
                .map_err(|e| self.corrupt(id, format!("metadata: {e}"))),
        }
    }

    /// Documents of `kind` in a partition (`national` or `facility:<id>`), in id order.
    pub fn list(&self, partition: &str, kind: Kind) -> Result<Vec<DocId>, StoreError> {
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
            let is_new = slot.is_none();
            let loaded = match slot {
                Some(l) => l,
                None => slot.insert(Loaded::new(
                    Automerge::new().with_actor(self.inner.actor.clone()),
                    meta.clone(),
                )),
            };
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
                    if is_new && stored == 0 {
                        // Nothing usable arrived yet: do not create an empty document on disk.
                        return Ok((stored, 0));
                    }
                    self.persist(&id, loaded, &before, is_new, class)
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
                    if is_new && stored == 0 && applied.missing.is_empty() {
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
            batch.insert(
                keys::stub(id),
                postcard::to_allocvec(stub).map_err(|e| self.corrupt(id, e))?,
            );
            let _next = lock(&self.inner.next_seq);
            self.inner.db.apply_batch(batch).map_err(|e| self.io(e))?;
            Ok(self.inner.commit.written(0))
        })??;
        self.wait(ticket)
    }

    /// The stub a retired document left, if any.
    pub fn stub(&self, id: &DocId) -> Result<Option<Stub>, StoreError> {
        match self.inner.db.get(keys::stub(id)).map_err(|e| self.io(e))? {
            None => Ok(None),
            Some(b) => postcard::from_bytes(&b)
                .map(Some)
                .map_err(|e| self.corrupt(id, format!("stub: {e}"))),
        }
    }

    /// Forgets every document head recorded for `peer` (it lost its data and starts again).
    pub fn clear_peer_heads(&self, peer: &str) -> Result<(), StoreError> {
        for kv in self.inner.db.scan_prefix(keys::peer_heads_prefix(peer)) {
            self.inner
                .db
                .remove(kv.map_err(|e| self.io(e))?.0)
                .map_err(|e| self.io(e))?;
        }
        Ok(())
    }

    /// Moves a document to another scope (a case file following its person). Durable on return.
    pub fn set_scope(&self, id: &DocId, scope: Scope) -> Result<(), StoreError> {
        let ticket = self.with_slot(id, |slot| {
            let Some(loaded) = slot.as_mut() else {
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
            Ok(self.inner.commit.written(0))
        })??;
        self.wait(ticket)
    }

    /// Changes stored from peers since the store was opened: a reader that keeps what it
    /// derived from documents only this node writes to in known ways can tell whether
    /// anything else changed them. Counted once the changes are readable.
    pub fn changes_from_peers(&self) -> u64 {
        self.inner
            .from_peers
            .load(std::sync::atomic::Ordering::Acquire)
    }

    /// Feed entries after `after`, up to `limit` of them, that are durable.
    pub fn feed_after(&self, after: u64, limit: usize) -> Result<Vec<FeedEntry>, StoreError> {
        let durable = self.inner.commit.durable_seq();
        let mut out = Vec::new();
        for kv in self
            .inner
            .db
            .range(keys::feed(after.saturating_add(1))..=keys::feed(durable))
            .take(limit)
        {
            let (k, v) = kv.map_err(|e| self.io(e))?;
            let bad = |what: &str| StoreError::Corrupt {
                path: self.inner.path.clone(),
                doc: format!("feed entry {k:?}"),
                what: what.to_owned(),
            };
            let seq = keys::feed_seq(&k).ok_or_else(|| bad("short key"))?;
            let hash: [u8; 32] = v
                .get(..32)
                .and_then(|h| h.try_into().ok())
                .ok_or_else(|| bad("short value"))?;
            let class = v
                .get(32)
                .and_then(|b| Class::from_u8(*b))
                .ok_or_else(|| bad("bad class"))?;
            let size = v
                .get(33..37)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
                .ok_or_else(|| bad("short value"))?;
            let at = v
                .get(37..45)
                .and_then(|b| b.try_into().ok())
                .map(i64::from_be_bytes)
                .ok_or_else(|| bad("short value"))?;
            let doc = v
                .get(45..)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|s| DocId::parse(s).ok())
                .ok_or_else(|| bad("bad document id"))?;
            out.push(FeedEntry {
                seq,
                doc,
                hash: ChangeHash(hash),
                class,
                size,
                at,
            });
        }
        Ok(out)
    }

    /// The highest feed seq that is durable.
    pub fn durable_seq(&self) -> u64 {
        self.inner.commit.durable_seq()
    }

    /// A piece of this node's own state, kept beside its documents (never synced).
    pub fn state<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StoreError> {
        let Some(v) = self
            .inner
            .db
            .get(keys::node_state(name))
            .map_err(|e| self.io(e))?
        else {
            return Ok(None);
        };
        postcard::from_bytes(&v)
            .map(Some)
            .map_err(|e| StoreError::Corrupt {
                path: self.inner.path.clone(),
                doc: format!("node state {name}"),
                what: e.to_string(),
            })
    }

    /// Sets a piece of node state. Not flushed on its own: it is made durable with the next
    /// acknowledged write or sled's periodic flush.
    pub fn set_state<T: Serialize>(&self, name: &str, value: &T) -> Result<(), StoreError> {
        let bytes = postcard::to_allocvec(value).map_err(|e| StoreError::Corrupt {
            path: self.inner.path.clone(),
            doc: format!("node state {name}"),
            what: e.to_string(),
        })?;
        self.inner
            .db
            .insert(keys::node_state(name), bytes)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// A named sync cursor (0 if never set).
    pub fn cursor(&self, peer: &str) -> Result<u64, StoreError> {
        Ok(self
            .inner
            .db
            .get(keys::cursor(peer))
            .map_err(|e| self.io(e))?
            .and_then(|v| v.as_ref().try_into().ok().map(u64::from_be_bytes))
            .unwrap_or(0))
    }

    /// Sets a named sync cursor. Not flushed on its own: a cursor that is lost in a crash only
    /// makes the next sync resend what it covered, and resending is harmless.
    pub fn set_cursor(&self, name: &str, seq: u64) -> Result<(), StoreError> {
        self.inner
            .db
            .insert(keys::cursor(name), &seq.to_be_bytes()[..])
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// The heads `peer` is known to hold for `doc`.
    pub fn peer_heads(&self, peer: &str, doc: &DocId) -> Result<Vec<ChangeHash>, StoreError> {
        let Some(v) = self
            .inner
            .db
            .get(keys::peer_heads(peer, doc))
            .map_err(|e| self.io(e))?
        else {
            return Ok(Vec::new());
        };
        v.chunks(32)
            .map(|c| {
                c.try_into()
                    .map(ChangeHash)
                    .map_err(|_| self.corrupt(doc, "peer heads"))
            })
            .collect()
    }

    /// Records the heads `peer` holds for `doc`. Not flushed on its own: a lost update only
    /// makes the next sync send a little more.
    pub fn set_peer_heads(
        &self,
        peer: &str,
        doc: &DocId,
        heads: &[ChangeHash],
    ) -> Result<(), StoreError> {
        let v: Vec<u8> = heads.iter().flat_map(|h| h.0).collect();
        self.inner
            .db
            .insert(keys::peer_heads(peer, doc), v)
            .map_err(|e| self.io(e))?;
        Ok(())
    }

    /// Folds a document's chunks into a new snapshot.
    pub fn compact(&self, id: &DocId) -> Result<(), StoreError> {
        self.with_slot(id, |slot| match slot.as_mut() {
            Some(loaded) => self.compact_loaded(id, loaded),
            None => Ok(()),
        })?
    }

    fn compact_loaded(&self, id: &DocId, loaded: &mut Loaded) -> Result<(), StoreError> {
        if loaded.chunks == 0 {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        let snapshot = loaded.doc.save_nocompress();
        let snapshot_bytes = snapshot.len();
        batch.insert(keys::snapshot(id), snapshot);
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
    fn compact_if_due(&self, id: &DocId, loaded: &mut Loaded, after: After) {
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

    /// Flushes everything to disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush().map(drop).map_err(|e| self.io(e))
    }

    /// Group commits (flushes) done since the store was opened.
    pub fn flushes(&self) -> u64 {
        self.inner.commit.flushes()
    }

    /// Drops a document from memory (not from disk) unless it is in use: for a writer that knows
    /// it is done with a large document, such as a full block of the audit log.
    pub fn unload(&self, id: &DocId) {
        let mut cache = lock(&self.inner.cache);
        if cache.peek(id).is_some_and(|s| Arc::strong_count(s) == 1) {
            cache.pop(id);
        }
    }

    /// Documents currently loaded in memory.
    pub fn cached_docs(&self) -> usize {
        lock(&self.inner.cache).len()
    }
}

/// Typed access to a document inside a [`Store::edit`]. Paths name map keys from the root:
/// `["notes", "note-7"]` is the note `note-7` of a case file.
pub struct Editor<'a, 'tx> {
    tx: &'a mut automerge::transaction::Transaction<'tx>,
    doc: &'a DocId,
    class: &'a mut Class,
}

impl Editor<'_, '_> {
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

fn check_kind(id: &DocId, expected: Kind, found: Kind) -> Result<(), StoreError> {
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

fn hydrate<T: Aggregate>(doc: &Automerge, id: &DocId, kind: Kind) -> Result<T, StoreError> {
    autosurgeon::hydrate(doc).map_err(|source| StoreError::Shape {
        doc: id.clone(),
        kind,
        source: Box::new(source),
    })
}

fn reconcile_into<T: Aggregate>(
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

#[cfg(test)]
mod tests;
