//! The document store: Automerge documents on sled, with a feed, peer cursors and group commit.
//!
//! - A document is stored as a snapshot (`save_nocompress()`) plus one chunk per change since;
//!   the writer that adds the 64th chunk folds them into a new snapshot ([`doc`]).
//! - Every change the node stores, written here or received, gets the next number in the local
//!   **feed** (seq → document, change hash). Sync reads the feed from a peer's cursor.
//! - Documents are loaded on demand into a bounded cache; a node never holds them all.
//! - Reads are served from a second bounded cache of typed values, dropped whenever their
//!   document changes: reading a document back out of Automerge costs far more than the read.
//! - A write returns only once it is durable (see [`commit`]).
//! - Every document is written under one actor id per node, kept in the store. Its first change
//!   is a deterministic genesis (see [`Aggregate`]), so two nodes that create the same document
//!   apart still merge field by field.

mod apply;
mod backup;
mod cache;
mod commit;
mod doc;
mod editor;
mod error;
mod feed;
mod keys;
mod local;
mod peers;
mod review;
mod seal;
mod write;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use automerge::{ActorId, ChangeHash};
use serde::{Deserialize, Serialize};

use crate::model::{Kind, Scope};
use commit::GroupCommit;

pub use apply::{Applied, Incoming, Stub};
pub use backup::{BackupStats, RestoreError};
pub use doc::MAX_CHANGE_BYTES;
pub use editor::Editor;
pub use error::{StoreError, UpdateError};
pub use feed::FeedEntry;
pub use review::{ReviewItem, ReviewReason, Reviewed};
pub use seal::KeyError;
pub use write::Beside;

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
    /// The key file that seals document content at rest (see [`seal`]); made, owner-only, on
    /// first use. Keep it outside the data folder. `None`: content is stored as it is, and a
    /// store that was encrypted does not open.
    pub key_file: Option<PathBuf>,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            cache_docs: 512,
            cache_view_bytes: 8 << 20,
            sled_cache_bytes: 8 << 20,
            compact_after_chunks: 64,
            key_file: None,
        }
    }
}

impl StoreOptions {
    /// The defaults, with content sealed under the key file at `path`.
    pub fn keyed(path: impl Into<PathBuf>) -> StoreOptions {
        StoreOptions {
            key_file: Some(path.into()),
            ..StoreOptions::default()
        }
    }
}

/// A staged write, not yet acknowledged.
#[must_use = "a staged write is acknowledged only once durable() returns"]
pub struct Pending {
    store: Store,
    ticket: u64,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending")
            .field("ticket", &self.ticket)
            .finish()
    }
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

struct Inner {
    path: PathBuf,
    db: sled::Db,
    actor: ActorId,
    options: StoreOptions,
    cache: Mutex<cache::Slots>,
    /// Typed values read from documents, as of their current heads. Filled and dropped only
    /// under the document's slot lock, so a view never outlives a change to its document.
    views: Mutex<cache::Views>,
    /// Held while a batch is built from the next seqs and applied, so feed order is sled order.
    next_seq: Mutex<u64>,
    commit: GroupCommit,
    /// Changes stored from peers since the store was opened.
    from_peers: std::sync::atomic::AtomicU64,
    /// Seals document content at rest, if the store has a key.
    sealer: Option<seal::Sealer>,
    /// Held while a node-local record is read and written back.
    local: Mutex<()>,
    /// Documents' kind and scope as last read: every session of a hub looks up the scope of
    /// every change in the feed to know whether its gateway may have it.
    metas: Mutex<lru::LruCache<crate::model::DocId, DocMeta>>,
    /// Moved on whenever a stored document's metadata changes, so a read that raced the change
    /// is not cached.
    meta_gen: std::sync::atomic::AtomicU64,
}

/// Documents' metadata kept in memory at most.
const METAS_CACHED: usize = 65_536;

/// A handle to a node's store. Cheap to clone; all clones share one database and cache.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
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
            .map_err(|e| match &e {
                sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                    StoreError::InUse { path: path.clone() }
                }
                _ => open_err(e),
            })?;
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
        let sealed_key = db.get(keys::DATA_KEY).map_err(open_err)?;
        let (sealer, new_key) = seal::data_key(sealed_key.as_deref(), options.key_file.as_deref())
            .map_err(|source| StoreError::Key {
                path: path.clone(),
                source,
            })?;
        if let Some(k) = new_key {
            db.insert(keys::DATA_KEY, k).map_err(open_err)?;
            db.flush().map_err(open_err)?;
        }
        let last_seq = match db.scan_prefix(keys::FEED_PREFIX).next_back() {
            Some(kv) => kv.map_err(open_err)?.0,
            None => Default::default(),
        };
        let floor = db
            .get(keys::SEQ_FLOOR)
            .map_err(open_err)?
            .and_then(|v| Some(u64::from_be_bytes(v.as_ref().try_into().ok()?)))
            .unwrap_or(1);
        let next_seq = keys::feed_seq(&last_seq).map_or(1, |s| s + 1).max(floor);
        let inner = Arc::new(Inner {
            path,
            db,
            actor,
            cache: Mutex::new(cache::Slots::new(options.cache_docs)),
            views: Mutex::new(cache::Views::new(options.cache_view_bytes)),
            options,
            next_seq: Mutex::new(next_seq),
            commit: GroupCommit::new(next_seq - 1),
            from_peers: Default::default(),
            sealer,
            local: Mutex::new(()),
            metas: Mutex::new(lru::LruCache::new(
                std::num::NonZeroUsize::new(METAS_CACHED).unwrap_or(std::num::NonZeroUsize::MIN),
            )),
            meta_gen: Default::default(),
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

    /// `plain`, sealed for the sled key `at` if the store has a key.
    fn seal(&self, at: &[u8], plain: &[u8]) -> Vec<u8> {
        seal::seal(self.inner.sealer.as_ref(), at, plain)
    }

    /// The plaintext of the value stored at `at` for `doc`.
    fn unseal<'a>(
        &self,
        doc: &crate::model::DocId,
        at: &[u8],
        stored: &'a [u8],
    ) -> Result<std::borrow::Cow<'a, [u8]>, StoreError> {
        seal::open(self.inner.sealer.as_ref(), at, stored).map_err(|e| self.corrupt(doc, e))
    }

    /// Whether document content is sealed at rest.
    pub fn encrypted(&self) -> bool {
        self.inner.sealer.is_some()
    }

    fn corrupt(&self, doc: &crate::model::DocId, what: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.inner.path.clone(),
            doc: doc.to_string(),
            what: what.to_string(),
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
}

#[cfg(test)]
mod tests;
