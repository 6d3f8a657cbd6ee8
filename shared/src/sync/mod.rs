//! The sync session: a state machine that turns received frames and the local feed into frames
//! to send. It does no network I/O and reads no clock: the driver (the gateway's uplink, the
//! hub's per-gateway task, or a test harness) feeds it bytes and the time, and sends what it
//! polls. It reads and writes the node's [`Store`], which it is handed.
//!
//! How a session runs:
//! 1. Both sides send [`Hello`] with, per class, the seq of the peer's feed they hold.
//! 2. Per class, each side walks its own feed from the peer's cursor and sends the documents
//!    those entries touched, as *deltas*: the changes of each document that the peer does not
//!    hold (computed from the heads the peer is known to hold). Many documents go in one frame;
//!    a large document is split across frames by changes.
//! 3. The receiver applies a frame, makes it durable, and acknowledges the highest contiguous
//!    seq it holds. The sender then records the heads the peer now holds and advances its
//!    cursor. A cut costs at most the unacknowledged window.
//! 4. A frame leaves out what earlier frames in flight carry, so frames form a chain that the
//!    receiver applies only in order. When frames wait too long the sender starts a new chain
//!    (an epoch) from the last acknowledgement; a late acknowledgement of the old chain moves
//!    the cursor but is never taken as proof that the new chain's frames arrived.
//!
//! Echoes are avoided: when a node receives changes from a peer, it records that the peer holds
//! them, so the deltas it later computes for that peer leave them out.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use automerge::{Change, ChangeHash};

use crate::model::{CaseFile, Class, DocId, Kind, Millis, Scope, TransferRecord, case_id};
use crate::policy::{LinkPolicy, Usage};
use crate::store::{DocMeta, Incoming, Store, StoreError, Stub};
use crate::wire::{self, ErrorCode, Frame, Hello, Item, WireError};

mod status;
pub use status::{Backlog, SyncState};

/// Which end of a session this node is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Side {
    /// This node is the hub; the peer is the gateway of `facility`, as its certificate says.
    Hub { facility: String },
    /// This node is a gateway; the peer is the hub.
    Gateway,
}

/// Tuning. `Default` suits a slow, lossy link.
#[derive(Debug, Clone)]
pub struct SyncConfig {
    /// Target size of a compressed frame.
    pub frame_bytes: usize,
    /// Frames per class sent and not yet acknowledged: the most a cut can cost.
    pub window_frames: usize,
    pub zstd_level: i32,
    /// Resend from the last acknowledgement if the oldest frame in flight has waited this long.
    pub retransmit_after: Millis,
    /// When each class may use the link and how many bytes it may spend. Control frames
    /// (hello, acknowledgements) and urgent changes are never held.
    pub policy: LinkPolicy,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            policy: LinkPolicy::default(),
            frame_bytes: 64 << 10,
            window_frames: 8,
            zstd_level: 19,
            retransmit_after: 30_000,
        }
    }
}

/// Something the driver or an operator should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The peer's hello arrived: the session is live.
    Connected { peer: String },
    /// The peer refused our changes to `doc`.
    RefusedByPeer { doc: String, reason: String },
    /// We refused the peer's changes to `doc`.
    Refused { doc: String, reason: String },
    /// The peer's changes to a case file that moved away from it were merged and need review.
    AfterMove { doc: DocId },
    /// A case file moved to another facility and was replaced here by a stub.
    Dropped { doc: DocId, moved_to: String },
    /// The peer reported an error and closed the session.
    PeerError { code: ErrorCode, message: String },
}

/// Counters for status pages and benchmarks.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub frames_received: u64,
    pub bytes_received: u64,
    pub changes_sent: u64,
    pub changes_received: u64,
    /// Bytes of change frames this session sent again after a timeout.
    pub bytes_resent: u64,
    pub refused: u64,
    pub refused_by_peer: u64,
}

/// A frame to send, and the class whose stream should carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub class: Class,
    pub bytes: Vec<u8>,
}

/// A session that cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The peer sent a frame that does not decode; an error frame was queued for it.
    #[error("peer sent a bad frame: {0}")]
    Wire(#[from] WireError),
    /// The peer reported an error.
    #[error("peer reported {code:?}: {message}")]
    Peer { code: ErrorCode, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct InFlight {
    to: u64,
    sent_at: Millis,
    /// Documents in the frame and the heads the peer will hold once it is acknowledged.
    docs: Vec<(DocId, Vec<ChangeHash>)>,
}

/// One class's sending side. Seqs are ours; the peer acknowledges them.
#[derive(Default)]
struct SendClass {
    /// Everything up to here is acknowledged, or had nothing to send.
    acked: u64,
    /// Where the next frame's walk of the feed starts.
    next: u64,
    /// The `to` of the last frame sent: the next frame's `from`, so the receiver sees frames
    /// as contiguous even when the walk skipped entries with nothing to send.
    last_to: u64,
    /// The highest seq the peer itself has confirmed holding.
    peer_cursor: u64,
    /// Highest `to` sent in this session, to count resends.
    high: u64,
    /// The chain frames are sent in; a resend starts the next.
    epoch: u32,
    /// The next frame starts the epoch's chain.
    first: bool,
    inflight: VecDeque<InFlight>,
    /// Heads the peer will hold once this class's frames in flight are acknowledged; falls
    /// back to the stored peer heads. Per class, so that a frame never leans on another
    /// class's frame, which travels on another stream and may arrive later.
    sent_heads: HashMap<DocId, Vec<ChangeHash>>,
}

#[derive(Default)]
struct RecvClass {
    /// Everything the peer sent up to here is held, whatever chain it came by.
    cursor: u64,
    /// The chain being applied, and the `to` of its last frame applied.
    epoch: Option<u32>,
    chain: u64,
}

pub struct Session {
    store: Store,
    side: Side,
    peer: String,
    cfg: SyncConfig,
    connected: bool,
    closed: bool,
    hello: Hello,
    /// When our hello was last sent; it is sent again until the peer's arrives.
    hello_sent_at: Option<Millis>,
    send: [SendClass; 3],
    recv: [RecvClass; 3],
    outbox: VecDeque<Transmit>,
    events: VecDeque<Event>,
    stats: Stats,
    /// Raw bytes per compressed byte seen so far, to size frames.
    ratio: f64,
    /// Bytes spent per class, for the policy's budgets; kept in the store.
    usage: Usage,
    state: SyncState,
    /// When our backlog was last reported to the peer.
    reported_at: Option<Millis>,
}

/// Skipped feed entries after which an empty frame moves the peer's cursor along.
const CATCH_UP_ENTRIES: u64 = 4_096;

fn usage_name(peer: &str) -> String {
    format!("usage/{peer}")
}

fn cursor_name(peer: &str, dir: &str, class: Class) -> String {
    format!("{peer}/{dir}/{}", class as u8)
}

/// The heads of a peer that held `base` and then received `changes`.
fn advance_heads(base: &[ChangeHash], changes: &[Change]) -> Vec<ChangeHash> {
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
    /// A session with `peer`, resuming from the cursors stored for it. `local` is this node's id
    /// as the peer knows it.
    pub fn new(
        store: Store,
        side: Side,
        local: &str,
        peer: &str,
        cfg: SyncConfig,
    ) -> Result<Session, StoreError> {
        let mut recv: [RecvClass; 3] = Default::default();
        let mut have = [0; 3];
        for c in Class::ALL {
            let cursor = store.cursor(&cursor_name(peer, "recv", c))?;
            recv[c as usize].cursor = cursor;
            have[c as usize] = cursor;
        }
        let usage = store.state(&usage_name(peer))?.unwrap_or_default();
        let store_state = store.state(&status::state_name(peer))?.unwrap_or_default();
        let mut s = Session {
            store,
            side,
            peer: peer.to_owned(),
            cfg,
            connected: false,
            closed: false,
            hello: Hello {
                node: local.to_owned(),
                have,
                heard: false,
            },
            hello_sent_at: None,
            send: Default::default(),
            recv,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            ratio: 3.0,
            usage,
            state: store_state,
            reported_at: None,
        };
        s.control(Frame::Hello(s.hello.clone()));
        Ok(s)
    }

    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Whether the peer's hello has arrived. A gateway counts itself online only from then.
    pub fn is_connected(&self) -> bool {
        self.connected && !self.closed
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Our feed seq the peer has acknowledged, per class.
    pub fn acked(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.send[i].acked)
    }

    /// Frames sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.send.iter().map(|s| s.inflight.len()).sum()
    }

    fn control(&mut self, frame: Frame) {
        self.outbox.push_back(Transmit {
            class: Class::Urgent,
            bytes: frame.encode(),
        });
    }

    fn fail(&mut self, code: ErrorCode, message: String) {
        self.control(Frame::Error { code, message });
        self.closed = true;
    }

    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When the driver should call [`Session::handle_timeout`] next.
    pub fn poll_timeout(&self) -> Option<Millis> {
        let hello = self
            .hello_sent_at
            .filter(|_| !self.connected && !self.closed);
        self.send
            .iter()
            .filter_map(|s| s.inflight.front())
            .map(|f| f.sent_at)
            .chain(hello)
            .map(|t| t + self.cfg.retransmit_after)
            .min()
    }

    /// Resends from the last acknowledgement in any class whose oldest frame waited too long.
    pub fn handle_timeout(&mut self, now: Millis) {
        if !self.connected
            && !self.closed
            && self
                .hello_sent_at
                .is_some_and(|t| now >= t + self.cfg.retransmit_after)
        {
            self.hello_sent_at = None;
            self.control(Frame::Hello(self.hello.clone()));
        }
        for st in &mut self.send {
            if st
                .inflight
                .front()
                .is_some_and(|f| now >= f.sent_at + self.cfg.retransmit_after)
            {
                // Frames of the old chain may still arrive, and their acknowledgements say
                // nothing of what the new chain carries: the new one starts from what the peer
                // acknowledged.
                st.inflight.clear();
                st.sent_heads.clear();
                st.next = st.acked;
                st.last_to = st.peer_cursor;
                st.epoch += 1;
                st.first = true;
            }
        }
    }

    /// The next frame to send: control frames first, then data by class, urgent first.
    pub fn poll_transmit(&mut self, now: Millis) -> Result<Option<Transmit>, SyncError> {
        if let Some(t) = self.outbox.pop_front() {
            if !self.connected && self.hello_sent_at.is_none() {
                self.hello_sent_at = Some(now);
            }
            self.stats.frames_sent += 1;
            self.stats.bytes_sent += t.bytes.len() as u64;
            return Ok(Some(t));
        }
        if !self.connected || self.closed {
            return Ok(None);
        }
        self.measure(now)?;
        if let Some(t) = self.outbox.pop_front() {
            self.stats.frames_sent += 1;
            self.stats.bytes_sent += t.bytes.len() as u64;
            return Ok(Some(t));
        }
        for c in Class::ALL {
            let held = self.cfg.policy.check(c, now, &mut self.usage).err();
            self.state.held[c as usize] = held;
            if self.send[c as usize].inflight.len() >= self.cfg.window_frames || held.is_some() {
                continue;
            }
            if let Some(bytes) = self.build(c, now)? {
                self.cfg
                    .policy
                    .spend(&mut self.usage, c, bytes.len() as u64, now);
                self.store.set_state(&usage_name(&self.peer), &self.usage)?;
                self.stats.frames_sent += 1;
                self.stats.bytes_sent += bytes.len() as u64;
                return Ok(Some(Transmit { class: c, bytes }));
            }
        }
        Ok(None)
    }

    fn may_send(&self, meta: &DocMeta) -> bool {
        match &self.side {
            Side::Hub { facility } => meta.scope.facility().is_none_or(|f| f == facility),
            Side::Gateway => meta.scope != Scope::National,
        }
    }

    fn known_heads(&self, c: Class, doc: &DocId) -> Result<Vec<ChangeHash>, StoreError> {
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
            if matches!(self.side, Side::Hub { .. }) && !known.is_empty() {
                // The peer holds a document that is no longer in its scope: it moved away.
                let item = Item::Drop {
                    doc: doc.to_string(),
                    moved_to: meta.scope.partition(),
                    at: now,
                    by: "hub".into(),
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
    fn build(&mut self, c: Class, now: Millis) -> Result<Option<Vec<u8>>, StoreError> {
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

    /// Handles one frame from the peer.
    pub fn handle_frame(&mut self, bytes: &[u8], now: Millis) -> Result<(), SyncError> {
        self.stats.frames_received += 1;
        self.stats.bytes_received += bytes.len() as u64;
        self.state.last_contact = Some(now);
        let frame = match Frame::decode(bytes) {
            Ok(f) => f,
            Err(e) => {
                let code = if matches!(e, WireError::Version(_)) {
                    ErrorCode::UnsupportedVersion
                } else {
                    ErrorCode::Malformed
                };
                self.fail(code, e.to_string());
                return Err(e.into());
            }
        };
        match frame {
            Frame::Hello(h) => self.on_hello(h)?,
            Frame::Changes {
                class,
                epoch,
                first,
                from,
                to,
                payload,
            } => self.on_changes(class, (epoch, first), from, to, &payload)?,
            Frame::Ack {
                class,
                epoch,
                chain,
                upto,
            } => self.on_ack(class, epoch, chain, upto, now)?,
            Frame::Refused { doc, reason } => {
                self.stats.refused_by_peer += 1;
                tracing::warn!(peer = %self.peer, %doc, %reason, "peer refused our changes");
                self.events.push_back(Event::RefusedByPeer { doc, reason });
            }
            Frame::Need { doc, have } => self.on_need(&doc, have)?,
            Frame::Pending {
                changes,
                bytes,
                oldest,
            } => self.on_pending(changes, bytes, oldest, now)?,
            Frame::Error { code, message } => {
                self.closed = true;
                self.events.push_back(Event::PeerError {
                    code,
                    message: message.clone(),
                });
                return Err(SyncError::Peer { code, message });
            }
        }
        Ok(())
    }

    fn on_hello(&mut self, h: Hello) -> Result<(), StoreError> {
        if self.connected {
            // This session already resumed from the peer's first hello. If the peer has not
            // heard ours, it was lost: say it again.
            if !h.heard {
                self.control(Frame::Hello(self.hello.clone()));
            }
            return Ok(());
        }
        self.hello.heard = true;
        let durable = self.store.durable_seq();
        for c in Class::ALL {
            let stored = self.store.cursor(&cursor_name(&self.peer, "send", c))?;
            let mut have = h.have[c as usize];
            if have > durable {
                // The peer holds seqs this node never wrote: this store was rebuilt. Start over.
                have = 0;
            }
            if have < stored {
                // The peer lost what it had acknowledged: forget what we believed it holds.
                self.store.clear_peer_heads(&self.peer)?;
            }
            let st = &mut self.send[c as usize];
            *st = SendClass {
                acked: have,
                next: have,
                last_to: have,
                peer_cursor: have,
                high: stored.max(have),
                epoch: 0,
                first: true,
                inflight: VecDeque::new(),
                sent_heads: HashMap::new(),
            };
            self.store
                .set_cursor(&cursor_name(&self.peer, "send", c), have)?;
        }
        self.connected = true;
        self.events.push_back(Event::Connected { peer: h.node });
        Ok(())
    }

    fn on_ack(
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

    fn on_need(&mut self, doc: &str, have: Vec<[u8; 32]>) -> Result<(), StoreError> {
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

    /// Checks an incoming document against what the peer may write. Returns the metadata to
    /// store it under and whether it needs review.
    fn authorize(
        &self,
        doc: &str,
        kind: u8,
        scope: &str,
    ) -> Result<(DocId, DocMeta, bool), String> {
        let id = DocId::parse(doc).map_err(|e| e.to_string())?;
        let kind = Kind::from_u8(kind).ok_or_else(|| format!("unknown document kind {kind}"))?;
        let declared = DocMeta {
            kind,
            scope: Scope::parse(scope).map_err(|e| e.to_string())?,
        };
        let existing = self
            .store
            .meta(&id)
            .map_err(|e| format!("cannot read {id}: {e}"))?;
        if existing.as_ref().is_some_and(|m| m.kind != kind) {
            return Err(format!("{id} is not a {kind}"));
        }
        let Side::Hub { facility } = &self.side else {
            return Ok((id, existing.unwrap_or(declared), false));
        };
        let meta = existing.clone().unwrap_or(declared);
        if meta.scope == Scope::National {
            return Err(format!("{id} is national and read-only to gateways"));
        }
        if meta.scope.facility() == Some(facility.as_str()) {
            return Ok((id, meta, false));
        }
        if existing.is_some() && kind == Kind::CaseFile && self.moved_from(&id, facility) {
            return Ok((id, meta, true));
        }
        Err(format!(
            "{id} is in scope {}; facility {facility} may write only its own documents",
            meta.scope
        ))
    }

    /// Whether the case file `id` was transferred out of `facility`.
    fn moved_from(&self, id: &DocId, facility: &str) -> bool {
        self.store
            .read(id, |d, _| {
                autosurgeon::hydrate_prop::<_, BTreeMap<String, TransferRecord>, _, _>(
                    d,
                    automerge::ROOT,
                    "transfers",
                )
            })
            .ok()
            .flatten()
            .and_then(Result::ok)
            .is_some_and(|t| t.values().any(|r| r.from_facility == facility))
    }

    fn on_changes(
        &mut self,
        class: u8,
        (epoch, first): (u32, bool),
        from: u64,
        to: u64,
        payload: &[u8],
    ) -> Result<(), SyncError> {
        let Some(c) = Class::from_u8(class) else {
            self.fail(
                ErrorCode::Malformed,
                format!("changes for unknown class {class}"),
            );
            return Err(WireError::Body(format!("unknown class {class}")).into());
        };
        let repair = from == 0 && to == 0;
        tracing::debug!(peer = %self.peer, class, from, to, cursor = self.recv[usize::from(class.min(2))].cursor, "frame received");
        let r = &self.recv[c as usize];
        let continues = match r.epoch {
            Some(e) if e == epoch => from == r.chain,
            Some(e) if e > epoch => false,
            _ => first && from <= r.cursor,
        };
        if !repair && !continues {
            // A frame of the chain before this one was lost, or this one belongs to an older
            // chain: take nothing from it. The sender starts a new chain from our cursor once
            // its frames in flight time out.
            self.ack(c);
            return Ok(());
        }
        let items = match wire::unpack_items(payload) {
            Ok(i) => i,
            Err(e) => {
                self.fail(ErrorCode::Malformed, e.to_string());
                return Err(e.into());
            }
        };
        let mut incoming = Vec::new();
        for item in items {
            match item {
                Item::Doc {
                    doc,
                    kind,
                    scope,
                    changes,
                } => match self.authorize(&doc, kind, &scope) {
                    Ok((id, meta, after_move)) => {
                        let parsed: Result<Vec<Change>, _> =
                            changes.into_iter().map(Change::from_bytes).collect();
                        match parsed {
                            Ok(changes) => {
                                if after_move {
                                    tracing::warn!(peer = %self.peer, doc = %id, "edit to a moved case file merged; flagged for review");
                                    self.events.push_back(Event::AfterMove { doc: id.clone() });
                                }
                                incoming.push(Incoming {
                                    doc: id,
                                    meta,
                                    class: c,
                                    changes,
                                });
                            }
                            Err(e) => self.refuse(doc, format!("a change does not decode: {e}")),
                        }
                    }
                    Err(reason) => self.refuse(doc, reason),
                },
                Item::Drop {
                    doc,
                    moved_to,
                    at,
                    by,
                } => {
                    if self.side != Side::Gateway {
                        self.refuse(doc, "only the hub moves documents".into());
                        continue;
                    }
                    let Ok(id) = DocId::parse(&doc) else { continue };
                    self.store.retire(
                        &id,
                        &Stub {
                            moved_to: moved_to.clone(),
                            at,
                            by,
                        },
                    )?;
                    tracing::info!(doc = %id, %moved_to, "case file moved away; stub kept");
                    self.events.push_back(Event::Dropped { doc: id, moved_to });
                }
            }
        }
        let received: Vec<(DocId, Vec<Change>)> = incoming
            .iter()
            .map(|i| (i.doc.clone(), i.changes.clone()))
            .collect();
        self.stats.changes_received += received.iter().map(|r| r.1.len() as u64).sum::<u64>();
        let applied = self.store.apply_many(incoming)?;
        let mut complete = true;
        for ((doc, changes), applied) in received.into_iter().zip(applied) {
            // The peer holds what it sent us: never echo it back. The stored heads only ever
            // count what the peer acknowledged or sent; frames still in flight stay out of them.
            let stored = self.store.peer_heads(&self.peer, &doc)?;
            self.store
                .set_peer_heads(&self.peer, &doc, &advance_heads(&stored, &changes))?;
            for st in &mut self.send {
                if let Some(sent) = st.sent_heads.get_mut(&doc) {
                    *sent = advance_heads(sent, &changes);
                }
            }
            if !applied.missing.is_empty() {
                tracing::debug!(peer = %self.peer, %doc, missing = applied.missing.len(), "dependencies missing");
            }
            if !applied.missing.is_empty() {
                // Held in memory, not stored: ask for what is missing and do not acknowledge
                // the frame until it is whole.
                complete = false;
                self.control(Frame::Need {
                    doc: doc.to_string(),
                    have: applied.heads.iter().map(|h| h.0).collect(),
                });
            }
        }
        if repair {
            return Ok(());
        }
        let r = &mut self.recv[c as usize];
        if complete {
            r.epoch = Some(epoch);
            r.chain = to;
            if to > r.cursor {
                r.cursor = to;
                self.store
                    .set_cursor(&cursor_name(&self.peer, "recv", c), to)?;
            }
        }
        self.ack(c);
        Ok(())
    }

    fn ack(&mut self, c: Class) {
        let r = &self.recv[c as usize];
        self.control(Frame::Ack {
            class: c as u8,
            epoch: r.epoch.unwrap_or(u32::MAX),
            chain: r.chain,
            upto: r.cursor,
        });
    }

    fn refuse(&mut self, doc: String, reason: String) {
        self.stats.refused += 1;
        tracing::warn!(peer = %self.peer, %doc, %reason, "refused changes");
        self.events.push_back(Event::Refused {
            doc: doc.clone(),
            reason: reason.clone(),
        });
        self.control(Frame::Refused { doc, reason });
    }
}

/// Moves a person's case file to another facility, at the hub: its scope changes first, so the
/// next walk sends the whole file to the new facility and tells the old one to drop it; then the
/// transfer is recorded in the file, in the urgent class.
pub fn move_case(
    store: &Store,
    person: &str,
    to_facility: &str,
    by: &str,
    transfer_id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    let id = case_id(person);
    let from = store
        .get::<CaseFile>(&id)?
        .ok_or_else(|| StoreError::NotFound(id.clone()))?
        .holding_facility;
    store.set_scope(
        &id,
        Scope::Person {
            person: person.to_owned(),
            facility: to_facility.to_owned(),
        },
    )?;
    let record = TransferRecord {
        from_facility: from,
        to_facility: to_facility.to_owned(),
        at: now,
        by: by.to_owned(),
        reason: "transfer".into(),
    };
    store.edit::<CaseFile, _, StoreError>(&id, now, |e| {
        e.set_class(Class::Urgent);
        e.put(&["holding_facility"], &to_facility.to_owned())?;
        e.put(&["transfers", transfer_id], &record)
    })?;
    Ok(())
}
