//! The feed: every change this node stores, written here or received, numbered in the order
//! it reached sled. Sync reads it from a peer's cursor.

use automerge::{Change, ChangeHash};

use super::{Store, StoreError, keys};
use crate::model::{Class, DocId, Millis};

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
    /// Received from a peer rather than written here.
    pub received: bool,
}

/// Where the changes of a write come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Origin {
    /// Written on this node.
    Local,
    /// Received from a peer.
    Received,
}

/// Set in the class byte of an entry for a change received from a peer.
const RECEIVED: u8 = 0x80;

/// A feed entry's value: hash (32), class (1, its top bit set for a received change), size
/// (be32), time (be64), document id.
pub(super) fn encode_entry(id: &DocId, change: &Change, class: Class, origin: Origin) -> Vec<u8> {
    let mut entry = Vec::with_capacity(45 + id.as_str().len());
    entry.extend_from_slice(&change.hash().0);
    entry.push(match origin {
        Origin::Local => class as u8,
        Origin::Received => class as u8 | RECEIVED,
    });
    let size = u32::try_from(change.raw_bytes().len()).unwrap_or(u32::MAX);
    entry.extend_from_slice(&size.to_be_bytes());
    entry.extend_from_slice(&change.timestamp().to_be_bytes());
    entry.extend_from_slice(id.as_str().as_bytes());
    entry
}

fn decode_entry(seq: u64, v: &[u8]) -> Result<FeedEntry, &'static str> {
    let hash: [u8; 32] = v
        .get(..32)
        .and_then(|h| h.try_into().ok())
        .ok_or("short value")?;
    let flags = *v.get(32).ok_or("short value")?;
    let class = Class::from_u8(flags & !RECEIVED).ok_or("bad class")?;
    let size = v
        .get(33..37)
        .and_then(|b| b.try_into().ok())
        .map(u32::from_be_bytes)
        .ok_or("short value")?;
    let at = v
        .get(37..45)
        .and_then(|b| b.try_into().ok())
        .map(i64::from_be_bytes)
        .ok_or("short value")?;
    let doc = v
        .get(45..)
        .and_then(|d| std::str::from_utf8(d).ok())
        .and_then(|s| DocId::parse(s).ok())
        .ok_or("bad document id")?;
    Ok(FeedEntry {
        seq,
        doc,
        hash: ChangeHash(hash),
        class,
        size,
        at,
        received: flags & RECEIVED != 0,
    })
}

impl Store {
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
            out.push(decode_entry(seq, &v).map_err(bad)?);
        }
        Ok(out)
    }

    /// The highest feed seq that is durable.
    pub fn durable_seq(&self) -> u64 {
        self.inner.commit.durable_seq()
    }

    /// Changes stored from peers since the store was opened: a reader that keeps what it
    /// derived from documents only this node writes to in known ways can tell whether
    /// anything else changed them. Counted once the changes are readable.
    pub fn changes_from_peers(&self) -> u64 {
        self.inner
            .from_peers
            .load(std::sync::atomic::Ordering::Acquire)
    }
}
