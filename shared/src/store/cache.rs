//! The two caches: loaded documents (one slot per document, bounded, never two copies) and
//! typed values read from them (bounded by bytes, dropped whenever their document changes).

use std::sync::{Arc, Mutex};

use lru::LruCache;
use serde::Serialize;

use super::doc::{After, Loaded};
use super::{Store, StoreError, lock};
use crate::model::{Aggregate, DocId};

/// A cache slot. `None` until loaded; the slot's mutex serialises all access to one document,
/// so there is never more than one in-memory copy of it.
pub(super) type Slot = Arc<Mutex<Option<Loaded>>>;

/// Loaded documents, least recently used first out. Only slots nobody holds are evicted: a
/// slot another thread holds stays, and the cache runs over its bound until it is let go.
/// Evicting a held slot would let the next access load a second copy, and two copies written
/// under one actor give two changes the same sequence number.
pub(super) struct Slots {
    lru: LruCache<DocId, Slot>,
    bound: usize,
}

impl Slots {
    pub(super) fn new(bound: usize) -> Slots {
        Slots {
            lru: LruCache::unbounded(),
            bound: bound.max(1),
        }
    }

    /// The slot for `doc`, creating an empty one if needed, and evicting idle slots past the
    /// bound.
    fn get_or_insert(&mut self, doc: &DocId) -> Slot {
        if let Some(slot) = self.lru.get(doc) {
            return slot.clone();
        }
        let slot: Slot = Arc::new(Mutex::new(None));
        self.lru.put(doc.clone(), slot.clone());
        while self.lru.len() > self.bound {
            // Oldest first; the slot just made is held by the caller, so never taken.
            let idle = self
                .lru
                .iter()
                .rev()
                .find(|(_, s)| Arc::strong_count(s) == 1)
                .map(|(k, _)| k.clone());
            match idle {
                Some(k) => {
                    self.lru.pop(&k);
                }
                None => break,
            }
        }
        slot
    }

    #[cfg(test)]
    pub(super) fn contains(&self, doc: &DocId) -> bool {
        self.lru.contains(doc)
    }
}

/// A document read as its [`Aggregate`] type.
type View = Arc<dyn std::any::Any + Send + Sync>;

/// Views, least recently used first out, within a byte budget.
pub(super) struct Views {
    lru: LruCache<DocId, (View, usize)>,
    bytes: usize,
    budget: usize,
}

impl Views {
    pub(super) fn new(budget: usize) -> Views {
        Views {
            lru: LruCache::unbounded(),
            bytes: 0,
            budget,
        }
    }

    pub(super) fn get(&mut self, id: &DocId) -> Option<View> {
        self.lru.get(id).map(|(v, _)| v.clone())
    }

    pub(super) fn put<T: Aggregate>(&mut self, id: &DocId, value: &T) {
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

impl Store {
    /// The cache slot for `doc`.
    fn slot(&self, doc: &DocId) -> Slot {
        lock(&self.inner.cache).get_or_insert(doc)
    }

    /// Runs `f` on the loaded document, loading it first. `f` sees `None` if it does not exist.
    pub(super) fn with_slot<R>(
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

    /// Drops the view of a document that is about to change. Callers hold its slot lock.
    pub(super) fn forget_view(&self, id: &DocId) {
        lock(&self.inner.views).forget(id);
    }

    /// Drops a document from memory (not from disk) unless it is in use: for a writer that knows
    /// it is done with a large document, such as a full block of the audit log.
    pub fn unload(&self, id: &DocId) {
        let mut cache = lock(&self.inner.cache);
        if cache
            .lru
            .peek(id)
            .is_some_and(|s| Arc::strong_count(s) == 1)
        {
            cache.lru.pop(id);
        }
    }

    /// Documents currently loaded in memory.
    pub fn cached_docs(&self) -> usize {
        lock(&self.inner.cache).lru.len()
    }
}
