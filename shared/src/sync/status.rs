//! What a session knows of the sync with its peer, for status pages and metrics. It never
//! claims more than it saw: times are those of frames that arrived, and the peer's backlog is
//! what the peer last reported.

use serde::{Deserialize, Serialize};

use super::{Session, Side, cursor_name};
use crate::model::{Class, Millis};
use crate::policy::Held;
use crate::store::{DocMeta, FeedEntry, Store, StoreError};
use crate::wire::Frame;

/// Changes waiting to cross the link in one class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backlog {
    pub changes: u64,
    /// Uncompressed bytes.
    pub bytes: u64,
    /// When the oldest waiting change was made.
    pub oldest: Option<Millis>,
    /// The count stopped at the scan limit: there are at least this many.
    pub at_least: bool,
}

impl Backlog {
    pub fn is_empty(&self) -> bool {
        self.changes == 0
    }
}

/// The sync with one peer, as this side saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncState {
    pub connected: bool,
    /// When a frame from the peer last arrived.
    pub last_contact: Option<Millis>,
    /// Per class: when the peer last acknowledged holding more of our changes ("sent to it").
    pub last_delivered: [Option<Millis>; 3],
    /// The last moment both sides had reported nothing waiting.
    pub in_sync_at: Option<Millis>,
    /// Ours, waiting for the peer, per class: counted from the peer's cursors at `measured_at`,
    /// with every change written here since added at once. A change the peer already holds may
    /// be counted until the next count from its cursors.
    pub outgoing: [Backlog; 3],
    pub measured_at: Option<Millis>,
    /// The peer's, waiting for us, as the peer last reported it in this session.
    pub incoming: Option<[Backlog; 3]>,
    /// Why the link policy holds a class back now, if it does.
    pub held: [Option<Held>; 3],
    /// When more of the peer's changes were last stored here ("received from it").
    pub last_received: Option<Millis>,
    /// When the peer last reported its backlog (`incoming`), kept after the session ends so an
    /// offline peer's last word is shown with its age.
    pub incoming_at: Option<Millis>,
}

/// What is kept of a [`SyncState`] across sessions and restarts: its times.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Kept {
    last_contact: Option<Millis>,
    last_delivered: [Option<Millis>; 3],
    in_sync_at: Option<Millis>,
    last_received: Option<Millis>,
}

/// The times as stores before `Kept` kept them: a whole `SyncState` of that day, under
/// [`legacy_state_name`]. Read once, when nothing newer is kept.
#[derive(Deserialize)]
struct Legacy {
    _connected: bool,
    last_contact: Option<Millis>,
    last_delivered: [Option<Millis>; 3],
    in_sync_at: Option<Millis>,
}

/// How often the backlog is counted and, when it changed, reported to the peer.
const MEASURE_EVERY: Millis = 5_000;
/// How soon a backlog that emptied or stopped being empty is told.
const TURNED_WITHIN: Millis = 500;
/// How often the backlog is counted afresh from the peer's cursors rather than carried on
/// from the last count: a safety net only, since a carried count equals a fresh one (a test
/// holds them equal at every step). Counting afresh reads every entry that waits (up to
/// `SCAN_LIMIT` per class), which every session of a national hub did every 5 s.
const RECOUNT_EVERY: Millis = 600_000;
/// The peer hears the backlog at least this often even when it did not change.
const REPORT_EVERY: Millis = 60_000;
/// Feed entries counted at most per class.
const SCAN_LIMIT: u64 = 50_000;

pub(super) fn state_name(peer: &str) -> String {
    format!("sync-times/{peer}")
}

fn legacy_state_name(peer: &str) -> String {
    format!("sync/{peer}")
}

/// A count of what waits for a peer, and how far through the feed it got: counting on from
/// it reads only the entries added since.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub backlog: [Backlog; 3],
    /// Per class, the peer's cursor the count started from.
    from: [u64; 3],
    /// The last feed seq read.
    upto: u64,
}

impl Tally {
    fn from_cursors(from: [u64; 3]) -> Tally {
        Tally {
            backlog: Default::default(),
            from,
            upto: from.into_iter().min().unwrap_or(0),
        }
    }

    /// Reads the feed entries added since the last count, as far as `keep` says an entry is
    /// for the peer, at most [`SCAN_LIMIT`] of them; a count cut short says "at least".
    fn count_on(
        &mut self,
        store: &Store,
        keep: impl Fn(&FeedEntry, &DocMeta) -> bool,
    ) -> Result<(), StoreError> {
        let mut scanned = 0;
        // An entry at or before every class's acknowledged cursor counts in none: start after
        // them (a hub session's cursors pass the entries its walk found nothing in).
        self.upto = self.upto.max(self.from.into_iter().min().unwrap_or(0));
        loop {
            let entries = store.feed_after(self.upto, 512)?;
            if entries.is_empty() {
                for b in &mut self.backlog {
                    b.at_least = false;
                }
                return Ok(());
            }
            for e in entries {
                scanned += 1;
                if scanned > SCAN_LIMIT {
                    for b in &mut self.backlog {
                        b.at_least = true;
                    }
                    return Ok(());
                }
                self.upto = e.seq;
                if !self.holds(store, &e, &keep)? {
                    continue;
                }
                let b = &mut self.backlog[e.class as usize];
                b.changes += 1;
                b.bytes += u64::from(e.size);
                // A document's genesis carries no time (0): it says nothing of age.
                if e.at > 0 {
                    b.oldest = Some(b.oldest.map_or(e.at, |o| o.min(e.at)));
                }
            }
        }
    }

    /// Whether the count takes in `e`: after the peer's cursor for its class, and for the peer
    /// as `keep` says.
    fn holds(
        &self,
        store: &Store,
        e: &FeedEntry,
        keep: impl Fn(&FeedEntry, &DocMeta) -> bool,
    ) -> Result<bool, StoreError> {
        if e.seq <= self.from[e.class as usize] {
            return Ok(false);
        }
        Ok(store.meta(&e.doc)?.is_some_and(|meta| keep(e, &meta)))
    }

    /// The count brought up to date with the peer's cursors `to`: what the peer acknowledged
    /// taken out, what was written added; counted afresh if a cursor moved back.
    fn carried_on(
        mut self,
        store: &Store,
        to: [u64; 3],
        keep: impl Fn(&FeedEntry, &DocMeta) -> bool,
    ) -> Result<Tally, StoreError> {
        if !self.acked(store, to, &keep)? {
            self = Tally::from_cursors(to);
        }
        self.count_on(store, keep)?;
        Ok(self)
    }

    /// Takes out of the count what the peer acknowledged since: for each class whose cursor
    /// moved on to `to`, the counted entries it passed over (read again, as far as the count
    /// got). The oldest time of a class left with changes may stay older than it is until a
    /// new count. Returns `false` if a cursor moved back (a restored store): then only a new
    /// count is right.
    fn acked(
        &mut self,
        store: &Store,
        to: [u64; 3],
        keep: impl Fn(&FeedEntry, &DocMeta) -> bool,
    ) -> Result<bool, StoreError> {
        if (0..3).any(|c| to[c] < self.from[c]) {
            return Ok(false);
        }
        let moved: Vec<usize> = (0..3).filter(|&c| to[c] > self.from[c]).collect();
        // A class whose cursor passed everything counted has nothing left: no need to read
        // its entries again (at a hub, every session's cursors pass every change of the
        // nation, most of them another facility's).
        let (passed, partly): (Vec<usize>, Vec<usize>) =
            moved.iter().partition(|&&c| to[c] >= self.upto);
        for &c in &passed {
            let at_least = self.backlog[c].at_least;
            self.backlog[c] = Backlog {
                at_least,
                ..Backlog::default()
            };
        }
        let Some(mut after) = partly.iter().map(|&c| self.from[c]).min() else {
            for c in moved {
                self.from[c] = to[c];
            }
            return Ok(true);
        };
        let end = partly
            .iter()
            .map(|&c| to[c])
            .max()
            .unwrap_or(0)
            .min(self.upto);
        'feed: while after < end {
            let entries = store.feed_after(after, 512)?;
            if entries.is_empty() {
                break;
            }
            for e in entries {
                if e.seq > end {
                    break 'feed;
                }
                after = e.seq;
                let c = e.class as usize;
                if partly.contains(&c) && e.seq <= to[c] && self.holds(store, &e, &keep)? {
                    let b = &mut self.backlog[c];
                    b.changes = b.changes.saturating_sub(1);
                    b.bytes = b.bytes.saturating_sub(u64::from(e.size));
                }
            }
        }
        for c in moved {
            self.from[c] = to[c];
            if self.backlog[c].changes == 0 {
                self.backlog[c].oldest = None;
            }
        }
        Ok(true)
    }
}

/// What a gateway has for the hub, counted from its own feed against what the hub last
/// acknowledged, whether or not a session is live: every change written here after the hub's
/// cursor, in any scope but the national one. Changes received from the hub are never counted.
/// Given the last count (`prev`), it reads only what was added since and what the hub
/// acknowledged since.
pub fn gateway_backlog(store: &Store, hub: &str, prev: Option<Tally>) -> Result<Tally, StoreError> {
    let mut from = [0; 3];
    for c in Class::ALL {
        from[c as usize] = store.cursor(&cursor_name(hub, "send", c))?;
    }
    let keep =
        |e: &FeedEntry, meta: &DocMeta| !e.received && meta.scope != crate::model::Scope::National;
    prev.unwrap_or_else(|| Tally::from_cursors(from))
        .carried_on(store, from, keep)
}

/// What waits at the hub for `gateway` of `facility`, counted from the hub's feed against what
/// the gateway last acknowledged, whether or not it is connected: every change in the national
/// scope or the facility's that the gateway is not known to hold (what it sent itself, it
/// holds). Given the last count (`prev`), it reads only what was added and acknowledged since.
/// A live session counts its own ([`SyncState::outgoing`]); this is for a gateway offline.
pub fn hub_backlog(
    store: &Store,
    gateway: &str,
    facility: &str,
    prev: Option<Tally>,
) -> Result<Tally, StoreError> {
    let mut from = [0; 3];
    for c in Class::ALL {
        from[c as usize] = store.cursor(&cursor_name(gateway, "send", c))?;
    }
    let keep = |e: &FeedEntry, meta: &DocMeta| {
        meta.scope.facility().is_none_or(|f| f == facility)
            && !(e.received && peer_holds(store, gateway, e).unwrap_or(false))
    };
    prev.unwrap_or_else(|| Tally::from_cursors(from))
        .carried_on(store, from, keep)
}

/// Whether `peer` is known to hold the change of feed entry `e`: it is one of the heads the
/// peer holds of its document, or behind them.
fn peer_holds(store: &Store, peer: &str, e: &FeedEntry) -> Result<bool, StoreError> {
    let known = store.peer_heads(peer, &e.doc)?;
    if known.contains(&e.hash) {
        return Ok(true);
    }
    if known.is_empty() {
        return Ok(false);
    }
    // Every change after the known heads is one the peer lacks; anything else it holds.
    Ok(store
        .changes_since(&e.doc, &known)?
        .is_some_and(|after| !after.iter().any(|c| c.hash() == e.hash)))
}

impl Session {
    /// What a node kept of its sync with `peer` when no session is live: the times of the last
    /// contact, delivery and level state, from earlier sessions.
    pub fn stored_state(store: &Store, peer: &str) -> SyncState {
        let kept = store.state::<Kept>(&state_name(peer)).ok().flatten();
        let kept = kept.or_else(|| {
            let old = store.state::<Legacy>(&legacy_state_name(peer)).ok()??;
            Some(Kept {
                last_contact: old.last_contact,
                last_delivered: old.last_delivered,
                in_sync_at: old.in_sync_at,
                last_received: None,
            })
        });
        let kept = kept.unwrap_or_default();
        SyncState {
            last_contact: kept.last_contact,
            last_delivered: kept.last_delivered,
            in_sync_at: kept.in_sync_at,
            last_received: kept.last_received,
            ..SyncState::default()
        }
    }

    /// What this side knows of the sync.
    pub fn state(&self) -> SyncState {
        let mut s = self.state.clone();
        s.connected = self.is_connected();
        s
    }

    /// Counts what waits for the peer, from `poll_transmit`. A change written here is counted
    /// at once, and one the peer acknowledged leaves the count at once: between counts, the
    /// last one carries on over the feed entries added and acknowledged since (one read of the
    /// feed when nothing was). Every few seconds it is counted again from the peer's cursors,
    /// and the peer is told.
    pub(super) fn measure(&mut self, now: Millis) -> Result<(), StoreError> {
        let gateway = self.side == Side::Gateway;
        let acked = [0, 1, 2].map(|i| self.send[i].acked);
        let afresh = self.recounted_at.is_none_or(|t| now - t >= RECOUNT_EVERY);
        let last = match self.tally.take() {
            Some(t) if !afresh => t,
            _ => {
                self.recounted_at = Some(now);
                Tally::from_cursors(acked)
            }
        };
        // At a gateway, whatever it received came from the hub, which holds it.
        let keep = |e: &FeedEntry, meta: &DocMeta| !(gateway && e.received) && self.may_send(meta);
        let tally = last.carried_on(&self.store, acked, keep)?;
        let out = tally.backlog;
        self.tally = Some(tally);
        // A backlog that emptied, or stopped being empty, is told within half a second, so
        // both sides see "level" (or that it ended) without waiting for the next count.
        let empty = |b: &[Backlog; 3]| b.iter().all(|c| c.changes == 0);
        let turned = self
            .reported
            .is_some_and(|(_, told)| empty(&told) != empty(&out));
        let due = self
            .state
            .measured_at
            .is_none_or(|t| now - t >= MEASURE_EVERY || (turned && now - t >= TURNED_WITHIN));
        if !due {
            self.state.outgoing = out;
            return Ok(());
        }
        let (changed, stale) = match self.reported {
            Some((at, told)) => (told != out, now - at >= REPORT_EVERY),
            None => (true, true),
        };
        self.state.outgoing = out;
        self.state.measured_at = Some(now);
        if changed || stale {
            self.reported = Some((now, out));
            self.control(Frame::Pending {
                changes: out.map(|b| b.changes),
                bytes: out.map(|b| b.bytes),
                oldest: out.map(|b| b.oldest),
            });
        }
        self.check_in_sync(now)
    }

    pub(super) fn on_pending(
        &mut self,
        changes: [u64; 3],
        bytes: [u64; 3],
        oldest: [Option<Millis>; 3],
        now: Millis,
    ) -> Result<(), StoreError> {
        let mut incoming = [Backlog::default(); 3];
        for (i, b) in incoming.iter_mut().enumerate() {
            *b = Backlog {
                changes: changes[i],
                bytes: bytes[i],
                oldest: oldest[i],
                at_least: false,
            };
        }
        self.state.incoming = Some(incoming);
        self.state.incoming_at = Some(now);
        self.check_in_sync(now)
    }

    pub(super) fn delivered(&mut self, c: Class, now: Millis) -> Result<(), StoreError> {
        self.state.last_delivered[c as usize] = Some(now);
        self.save_state()
    }

    /// More of the peer's changes are stored here.
    pub(super) fn received(&mut self, now: Millis) -> Result<(), StoreError> {
        self.state.last_received = Some(now);
        self.save_state()
    }

    /// Records the moment both sides have nothing waiting, as both last reported.
    fn check_in_sync(&mut self, now: Millis) -> Result<(), StoreError> {
        let theirs = self
            .state
            .incoming
            .is_some_and(|b| b.iter().all(Backlog::is_empty));
        let ours = self.state.outgoing.iter().all(Backlog::is_empty) && self.in_flight() == 0;
        if theirs && ours && self.is_connected() {
            self.state.in_sync_at = Some(now);
            self.save_state()?;
        }
        Ok(())
    }

    /// Keeps the times across sessions and restarts: "last reached the hub" must survive both.
    fn save_state(&self) -> Result<(), StoreError> {
        let keep = Kept {
            last_contact: self.state.last_contact,
            last_delivered: self.state.last_delivered,
            in_sync_at: self.state.in_sync_at,
            last_received: self.state.last_received,
        };
        self.store.set_state(&state_name(&self.peer), &keep)
    }
}
