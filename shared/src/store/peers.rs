//! What a node keeps about its peers and itself, beside its documents and never synced: sync
//! cursors, the heads each peer is known to hold, and named pieces of node state.

use automerge::ChangeHash;
use serde::Serialize;

use super::{Store, StoreError, keys};
use crate::model::DocId;

impl Store {
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
}
