//! The sending side of a session: walking the feed from the peer's cursor, building frames of
//! document deltas in chains, and moving the cursor as acknowledgements arrive.

use std::collections::{HashMap, HashSet, VecDeque};

use automerge::{Change, ChangeHash};

use super::transfer::last_move_from;
use super::{Session, Side, SyncError, Transmit, cursor_name};
use crate::model::{CaseFile, Class, DocId, Kind, Millis, Scope};
use crate::store::{DocMeta, StoreError};
use crate::wire::{self, ErrorCode, Frame, Item, WireError};

pub(super) struct InFlight {
    pub(super) to: u64,
    pub(super) sent_at: Millis,
    /// Documents in the frame and the heads the peer will hold once it is acknowledged.
    pub(super) docs: Vec<(DocId, Vec<ChangeHash>)>,
}

/// One class's sending side. Seqs are ours; the peer acknowledges them.
#[derive(Default)]
pub(super) struct SendClass {
    /// Everything up to here is acknowledged, or had nothing to send.
    pub(super) acked: u64,
    /// Where the next frame's walk of the feed starts.
    pub(super) next: u64,
    /// The `to` of the last frame sent: the next frame's `from`, so the receiver sees frames
    /// as contiguous even when the walk skipped entries with nothing to send.
    pub(super) last_to: u64,
    /// The highest seq the peer itself has confirmed holding.
    pub(super) peer_cursor: u64,
    /// Highest `to` sent in this session, to count resends.
    pub(super) high: u64,
    /// The chain frames are sent in; a resend starts the next.
    pub(super) epoch: u32,
    /// The next frame starts the epoch's chain.
    pub(super) first: bool,
    pub(super) inflight: VecDeque<InFlight>,
    /// Heads the peer will hold once this class's frames in flight are acknowledged; falls
    /// back to the stored peer heads. Per class, so that a frame never leans on another
    /// class's frame, which travels on another stream and may arrive later.
    pub(super) sent_heads: HashMap<DocId, Vec<ChangeHash>>,
}

/// Skipped feed entries after which an empty frame moves the peer's cursor along.
const CATCH_UP_ENTRIES: u64 = 4_096;

/// The heads of a peer that held `base` and then received `changes`.
pub(super) fn advance_heads(base: &[ChangeHash], changes: &[Change]) -> Vec<ChangeHash> {
    let deps: HashSet<ChangeHash> = changes
        .iter()
        .flat_map(|c| c.deps().iter().copied())
        .collect();
    let mut heads: Vec<ChangeHash> = base
        .iter()
        .copied()
        .chain(changes.iter().map(Change::hash))
        .filter(|h| !deps.contains(h))
        .collect();
    heads.sort();
    heads.dedup();
    heads
}

enum Walked {
    Skip,
    /// `partial`: the document had more changes than fit; the rest goes in the next frame.
    Item {
        item: Item,
        heads: Vec<ChangeHash>,
        /// The changes the item carries.
        carried: HashSet<ChangeHash>,
        raw: usize,
        partial: bool,
    },
}

impl Session {
    pub(super) fn may_send(&self, meta: &DocMeta) -> bool {
        match &self.side {
            Side::Hub { facility } => meta.scope.facility().is_none_or(|f| f == facility),
            Side::Gateway => meta.scope != Scope::National,
        }
    }

    pub(super) fn known_heads(&self, c: Class, doc: &DocId) -> Result<Vec<ChangeHash>, StoreError> {
        match self.send[c as usize].sent_heads.get(doc) {
            Some(h) => Ok(h.clone()),
            None => self.store.peer_heads(&self.peer, doc),
        }
    }

    /// What to send for one feed entry's document.
    fn walk(
        &mut self,
        c: Class,
        doc: &DocId,
        budget: usize,
        now: Millis,
    ) -> Result<Walked, StoreError> {
        let Some(meta) = self.store.meta(doc)? else {
            return Ok(Walked::Skip);
        };
        if !self.may_send(&meta) {
            let known = self.known_heads(c, doc)?;
            if let Side::Hub { facility } = &self.side
                && !known.is_empty()
            {
                // The peer holds a document that is no longer in its scope: it moved away. Its
                // stub says who moved it and when, as the file records.
                let (by, at) = match doc.kind() {
                    Some(Kind::CaseFile) => self
                        .store
                        .get::<CaseFile>(doc)?
                        .and_then(|f| last_move_from(&f, facility)),
                    _ => None,
                }
                .unwrap_or_else(|| ("hub".into(), now));
                let item = Item::Drop {
                    doc: doc.to_string(),
                    moved_to: meta.scope.partition(),
                    at,
                    by,
                };
                return Ok(Walked::Item {
                    item,
                    heads: Vec::new(),
                    carried: HashSet::new(),
                    raw: 64,
                    partial: false,
                });
            }
            return Ok(Walked::Skip);
        }
        let base = self.known_heads(c, doc)?;
        let mut changes = self.store.changes_since(doc, &base)?.unwrap_or_default();
        if changes.is_empty() {
            return Ok(Walked::Skip);
        }
        let mut raw = 0;
        let mut keep = 0;
        for c in &changes {
            if keep > 0 && raw + c.raw_bytes().len() > budget {
                break;
            }
            raw += c.raw_bytes().len();
            keep += 1;
        }
        let partial = keep < changes.len();
        changes.truncate(keep);
        let heads = advance_heads(&base, &changes);
        let carried = changes.iter().map(Change::hash).collect();
        let item = Item::Doc {
            doc: doc.to_string(),
            kind: meta.kind.as_u8(),
            scope: meta.scope.to_string(),
            changes: changes.iter().map(|c| c.raw_bytes().to_vec()).collect(),
        };
        Ok(Walked::Item {
            item,
            heads,
            carried,
            raw,
            partial,
        })
    }

    /// Builds the next frame of class `c` from the feed, or advances the cursor over entries
    /// with nothing to send.
    pub(super) fn build(&mut self, c: Class, now: Millis) -> Result<Option<Vec<u8>>, StoreError> {
        let target_raw = ((self.cfg.frame_bytes as f64) * self.ratio * 0.9) as usize;
        let start = self.send[c as usize].next;
        let mut to = start;
        // (item, doc, heads after, seq of the entry that added it)
        let mut parts: Vec<(Item, DocId, Vec<ChangeHash>, u64)> = Vec::new();
        // The changes each document in the frame carries.
        let mut in_frame: HashMap<DocId, HashSet<ChangeHash>> = HashMap::new();
        let mut raw = 0usize;
        'walk: loop {
            let entries = self.store.feed_after(to, 512)?;
            if entries.is_empty() {
                break;
            }
            for e in entries {
                if e.class != c {
                    to = e.seq;
                    continue;
                }
                if let Some(carried) = in_frame.get(&e.doc) {
                    if carried.contains(&e.hash) {
                        to = e.seq;
                        continue;
                    }
                    // A change made after this document's item was built: it goes in the next
                    // frame, which starts at its entry.
                    break 'walk;
                }
                match self.walk(c, &e.doc, target_raw.saturating_sub(raw).max(1), now)? {
                    Walked::Skip => to = e.seq,
                    Walked::Item {
                        item,
                        heads,
                        carried,
                        raw: r,
                        partial,
                    } => {
                        if !parts.is_empty() && raw + r > target_raw {
                            break 'walk;
                        }
                        in_frame.insert(e.doc.clone(), carried);
                        raw += r;
                        parts.push((item, e.doc.clone(), heads, e.seq));
                        if partial {
                            // The rest of this document goes in the next frame: revisit the entry.
                            to = e.seq - 1;
                            break 'walk;
                        }
                        to = e.seq;
                        if raw >= target_raw {
                            break 'walk;
                        }
                    }
                }
            }
        }
        let st = &mut self.send[c as usize];
        if parts.is_empty() {
            st.next = st.next.max(to);
            if st.inflight.is_empty() {
                // Nothing in flight: every entry walked so far was acknowledged or had
                // nothing for the peer.
                st.acked = st.acked.max(st.next);
            }
            // Entries with nothing for this peer (other facilities' changes, echoes) are skipped
            // without a frame. Now and then an empty frame lets the peer's cursor catch up, so
            // that a reconnect does not walk them all again.
            if !(st.inflight.is_empty() && st.next.saturating_sub(st.last_to) >= CATCH_UP_ENTRIES) {
                return Ok(None);
            }
        }
        let mut items: Vec<Item> = parts.iter().map(|p| p.0.clone()).collect();
        let mut payload = wire::pack_items(&items, self.cfg.zstd_level);
        while payload.len() > self.cfg.frame_bytes && items.len() > 1 {
            let keep = items.len() / 2;
            to = parts[keep].3 - 1;
            parts.truncate(keep);
            items.truncate(keep);
            payload = wire::pack_items(&items, self.cfg.zstd_level);
        }
        self.ratio = (wire::raw_size(&items) as f64 / payload.len().max(1) as f64).clamp(1.0, 20.0);
        let changes: usize = items
            .iter()
            .map(|i| {
                if let Item::Doc { changes, .. } = i {
                    changes.len()
                } else {
                    0
                }
            })
            .sum();
        let docs: Vec<(DocId, Vec<ChangeHash>)> =
            parts.into_iter().map(|(_, d, h, _)| (d, h)).collect();
        for (d, h) in &docs {
            self.send[c as usize]
                .sent_heads
                .insert(d.clone(), h.clone());
        }
        let st = &mut self.send[c as usize];
        let bytes = Frame::Changes {
            class: c as u8,
            epoch: st.epoch,
            first: st.first,
            from: st.last_to,
            to,
            payload,
        }
        .encode();
        tracing::debug!(peer = %self.peer, class = ?c, epoch = st.epoch, from = st.last_to, to, bytes = bytes.len(), "frame sent");
        st.first = false;
        st.last_to = to;
        if start < st.high {
            self.stats.bytes_resent += bytes.len() as u64;
        }
        st.high = st.high.max(to);
        st.next = to;
        st.inflight.push_back(InFlight {
            to,
            sent_at: now,
            docs,
        });
        self.stats.changes_sent += changes as u64;
        Ok(Some(bytes))
    }

    pub(super) fn on_ack(
        &mut self,
        class: u8,
        epoch: u32,
        chain: u64,
        upto: u64,
        now: Millis,
    ) -> Result<(), SyncError> {
        let Some(c) = Class::from_u8(class) else {
            self.fail(
                ErrorCode::Malformed,
                format!("ack for unknown class {class}"),
            );
            return Err(WireError::Body(format!("unknown class {class}")).into());
        };
        let st = &mut self.send[c as usize];
        tracing::debug!(peer = %self.peer, class = ?c, epoch, chain, upto, acked = st.acked, next = st.next, inflight = st.inflight.len(), "ack received");
        // Only the current chain's frames are known to have arrived as they were sent.
        while epoch == st.epoch && st.inflight.front().is_some_and(|f| f.to <= chain) {
            if let Some(f) = st.inflight.pop_front() {
                for (doc, heads) in &f.docs {
                    // What the peer sent us meanwhile is not in the frame's heads: keep both.
                    let mut known = self.store.peer_heads(&self.peer, doc)?;
                    known.extend(heads.iter().copied());
                    known.sort();
                    known.dedup();
                    if known.len() > 16 || heads.is_empty() {
                        known = heads.clone();
                    }
                    self.store.set_peer_heads(&self.peer, doc, &known)?;
                }
            }
        }
        let progressed = upto > st.peer_cursor;
        if progressed {
            st.peer_cursor = upto;
            self.store
                .set_cursor(&cursor_name(&self.peer, "send", c), upto)?;
        }
        st.next = st.next.max(upto);
        st.acked = st.acked.max(upto);
        if st.inflight.is_empty() {
            // Every entry walked so far was acknowledged or had nothing for the peer.
            st.acked = st.acked.max(st.next);
        }
        if progressed {
            self.delivered(c, now)?;
        }
        Ok(())
    }

    pub(super) fn on_need(&mut self, doc: &str, have: Vec<[u8; 32]>) -> Result<(), StoreError> {
        let Ok(id) = DocId::parse(doc) else {
            return Ok(());
        };
        let have: Vec<ChangeHash> = have.into_iter().map(ChangeHash).collect();
        let (Some(meta), Some(changes)) =
            (self.store.meta(&id)?, self.store.changes_since(&id, &have)?)
        else {
            return Ok(());
        };
        if changes.is_empty() || !self.may_send(&meta) {
            return Ok(());
        }
        let item = Item::Doc {
            doc: doc.to_owned(),
            kind: meta.kind.as_u8(),
            scope: meta.scope.to_string(),
            changes: changes.iter().map(|c| c.raw_bytes().to_vec()).collect(),
        };
        let payload = wire::pack_items(&[item], self.cfg.zstd_level);
        self.outbox.push_back(Transmit {
            class: Class::Records,
            bytes: Frame::Changes {
                class: Class::Records as u8,
                epoch: 0,
                first: false,
                from: 0,
                to: 0,
                payload,
            }
            .encode(),
        });
        Ok(())
    }
}
