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

use std::collections::{HashMap, VecDeque};

use crate::model::{Class, DocId, Millis};
use crate::policy::{LinkPolicy, Usage};
use crate::store::{Store, StoreError};
use crate::wire::{ErrorCode, Frame, Hello, WireError};

mod append_only;
mod authorize;
pub mod courier;
mod recv;
mod send;
mod status;
mod transfer;

pub use append_only::check_audit_append;
pub use authorize::{Verdict, authorize, check_staff_authority};

/// The hub's node id as a sync peer: how every gateway names it, and how it names itself.
pub const HUB: &str = "hub";
pub use status::{Backlog, SyncState, Tally, gateway_backlog, hub_backlog};
pub use transfer::{Handover, hand_over, last_move_from, move_case};

use recv::RecvClass;
use send::SendClass;

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
    /// `by` recorded the transfer; the hub made it `at`.
    Dropped {
        doc: DocId,
        moved_to: String,
        by: String,
        at: Millis,
    },
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
    /// How long the peer's change frames took here from arrival to acknowledgement (applied
    /// durably).
    pub ack_latency: Latency,
}

/// A histogram of times in ms, in fixed buckets, so histograms of many sessions add up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Latency {
    /// Counts of times up to each of [`Latency::BOUNDS_MS`], and above the last.
    pub counts: [u64; 15],
}

impl Latency {
    pub const BOUNDS_MS: [i64; 14] = [
        1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000,
    ];

    pub fn record(&mut self, ms: i64) {
        let i = Self::BOUNDS_MS
            .iter()
            .position(|b| ms <= *b)
            .unwrap_or(Self::BOUNDS_MS.len());
        self.counts[i] += 1;
    }

    pub fn add(&mut self, other: &Latency) {
        for (a, b) in self.counts.iter_mut().zip(other.counts) {
            *a += b;
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The bucket bound under which fraction `q` of the times fall (ms; `None` with no
    /// times, `i64::MAX` above the last bound).
    pub fn quantile(&self, q: f64) -> Option<i64> {
        let n = self.total();
        if n == 0 {
            return None;
        }
        let want = ((n as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want {
                return Some(Self::BOUNDS_MS.get(i).copied().unwrap_or(i64::MAX));
            }
        }
        Some(i64::MAX)
    }
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
    /// The frame being handled was a change frame this side acknowledged.
    acked_changes: bool,
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
    /// When our backlog was last reported to the peer, and what it was told.
    reported: Option<(Millis, [Backlog; 3])>,
    /// The last count of what waits for the peer, carried on between counts.
    tally: Option<Tally>,
    /// When the backlog was last counted afresh from the cursors.
    recounted_at: Option<Millis>,
    /// A hello is to go, stamped with the clock at `poll_transmit`.
    hello_due: bool,
    /// From the peer's hello: its clock minus ours.
    peer_clock_ahead: Option<Millis>,
}

fn usage_name(peer: &str) -> String {
    format!("usage/{peer}")
}

fn cursor_name(peer: &str, dir: &str, class: Class) -> String {
    format!("{peer}/{dir}/{}", class as u8)
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
        let store_state = Session::stored_state(&store, peer);
        let link = (side == Side::Gateway).then(|| cfg.policy.terms());
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
                link,
                clock: 0,
            },
            hello_due: false,
            peer_clock_ahead: None,
            hello_sent_at: None,
            acked_changes: false,
            send: Default::default(),
            recv,
            outbox: VecDeque::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            ratio: 3.0,
            usage,
            state: store_state,
            reported: None,
            tally: None,
            recounted_at: None,
        };
        s.control(Frame::Hello(s.hello.clone()));
        Ok(s)
    }

    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// How far the peer's clock is ahead of this node's (negative: behind), from its hello,
    /// within the hello's flight time.
    pub fn peer_clock_ahead(&self) -> Option<Millis> {
        self.peer_clock_ahead
    }

    /// Whether the peer's hello has arrived. A gateway counts itself online only from then.
    pub fn is_connected(&self) -> bool {
        self.connected && !self.closed
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The cap on bits per second this side sends (0: none), which the driver paces to. At the
    /// hub, it is the gateway's, from its hello.
    pub fn rate_bps(&self) -> u64 {
        self.cfg.policy.rate_bps
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
        if matches!(frame, Frame::Hello(_)) {
            // Stamped with the clock when it goes (see `poll_transmit`), first of all frames.
            self.hello_due = true;
            return;
        }
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
        if self.hello_due {
            self.hello_due = false;
            self.hello.clock = now;
            self.outbox.push_front(Transmit {
                class: Class::Urgent,
                bytes: Frame::Hello(self.hello.clone()).encode(),
            });
        }
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
            Frame::Hello(h) => {
                // How far ahead of ours the peer's clock is (the hello's flight time is within
                // the error reported).
                self.peer_clock_ahead = Some(h.clock - now);
                self.on_hello(h)?
            }
            Frame::Changes {
                class,
                epoch,
                first,
                from,
                to,
                payload,
            } => self.on_changes(class, (epoch, first), from, to, &payload, now)?,
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
        if let (Side::Hub { facility }, Some(terms)) = (&self.side, &h.link) {
            // The gateway's policy governs both directions of its link.
            self.cfg.policy = LinkPolicy::from_terms(terms);
            tracing::debug!(peer = %self.peer, %facility, rate_bps = self.cfg.policy.rate_bps, windows = self.cfg.policy.windows.len(), "applying the gateway's link policy to what the hub sends");
        }
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
}
