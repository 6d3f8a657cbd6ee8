//! The layout of the sled tree. Everything lives in one tree so that a write — the change, its
//! feed entry and the document's metadata — is one atomic batch.
//!
//! | key | value |
//! |---|---|
//! | `m` doc | [`DocMeta`](super::DocMeta), postcard |
//! | `s` doc | snapshot: `save_nocompress()` of the document |
//! | `c` doc `\0` seq(be64) | one change, raw bytes |
//! | `f` seq(be64) | feed entry: change hash (32), class (1; top bit: received from a peer), size (be32), time (be64), doc id |
//! | `t` doc | a retired document's stub: where it went, when, who moved it |
//! | `i` partition `\0` kind `\0` doc | empty: lookup by partition and kind |
//! | `p` peer | the feed seq the peer has acknowledged, be64 |
//! | `h` peer `\0` doc | the heads the peer is known to hold, 32 bytes each |
//! | `n` name | node state: the actor id, the sealed data key, link usage |
//! | `l` table `\0` key | a node-local record (see [`local`](super::local)): the review queue, the hub's administrators and audit trail; postcard |
//!
//! With a key file, the values of `s`, `c` and `t` are sealed (see [`seal`](super::seal)).
//!
//! Document ids and peer ids never contain `\0` (checked by [`DocId`](crate::model::DocId)).

use crate::model::{DocId, Kind};

pub(super) const NODE_ACTOR: &[u8] = b"nactor";
/// The lowest seq the feed may use next: set by a restore, so a restored store's changes never
/// take seqs a peer acknowledged from the store it came from.
pub(super) const SEQ_FLOOR: &[u8] = b"nseqfloor";
/// Set in a restored or rebuilt store until it has caught up with the hub.
pub(super) const CATCHING_UP: &[u8] = b"ncatchingup";
/// The store's data key, sealed under its key file (see [`seal`](super::seal)).
pub(super) const DATA_KEY: &[u8] = b"ndatakey";

fn with_prefix(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    k.push(tag);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            k.push(0);
        }
        k.extend_from_slice(p);
    }
    k
}

pub(super) fn meta(doc: &DocId) -> Vec<u8> {
    with_prefix(b'm', &[doc.as_str().as_bytes()])
}

pub(super) fn snapshot(doc: &DocId) -> Vec<u8> {
    with_prefix(b's', &[doc.as_str().as_bytes()])
}

pub(super) fn stub(doc: &DocId) -> Vec<u8> {
    with_prefix(b't', &[doc.as_str().as_bytes()])
}

pub(super) fn peer_heads_prefix(peer: &str) -> Vec<u8> {
    let mut k = with_prefix(b'h', &[peer.as_bytes()]);
    k.push(0);
    k
}

pub(super) fn chunk_prefix(doc: &DocId) -> Vec<u8> {
    let mut k = with_prefix(b'c', &[doc.as_str().as_bytes()]);
    k.push(0);
    k
}

pub(super) fn chunk(doc: &DocId, seq: u64) -> Vec<u8> {
    let mut k = chunk_prefix(doc);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

pub(super) const FEED_PREFIX: &[u8] = b"f";

pub(super) fn feed(seq: u64) -> Vec<u8> {
    with_prefix(b'f', &[&seq.to_be_bytes()])
}

pub(super) fn feed_seq(key: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(key.get(1..9)?.try_into().ok()?))
}

pub(super) fn index_prefix(partition: &str, kind: Kind) -> Vec<u8> {
    let mut k = with_prefix(b'i', &[partition.as_bytes(), kind.as_str().as_bytes()]);
    k.push(0);
    k
}

pub(super) fn index(partition: &str, kind: Kind, doc: &DocId) -> Vec<u8> {
    let mut k = index_prefix(partition, kind);
    k.extend_from_slice(doc.as_str().as_bytes());
    k
}

pub(super) fn node_state(name: &str) -> Vec<u8> {
    with_prefix(b'n', &[name.as_bytes()])
}

pub(super) fn cursor(peer: &str) -> Vec<u8> {
    with_prefix(b'p', &[peer.as_bytes()])
}

pub(super) fn peer_heads(peer: &str, doc: &DocId) -> Vec<u8> {
    with_prefix(b'h', &[peer.as_bytes(), doc.as_str().as_bytes()])
}

/// A node-local record: `key` may hold any characters but `\0`.
pub(super) fn local(table: &str, key: &str) -> Vec<u8> {
    let mut k = with_prefix(b'l', &[table.as_bytes()]);
    k.push(0);
    k.extend_from_slice(key.as_bytes());
    k
}

/// Whether `key` is a cursor of what this node received from a peer (`<peer>/recv/<class>`).
pub(super) fn is_recv_cursor(key: &[u8]) -> bool {
    key.first() == Some(&b'p') && key.windows(6).any(|w| w == b"/recv/")
}
