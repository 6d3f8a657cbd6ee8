//! Sync status for operators: what each daemon knows of each peer, as plain data. [`http`]
//! serves it as JSON (`GET /status`), in plain words (`GET /status.txt`) and, through
//! [`metrics`], as Prometheus metrics (`GET /metrics`). Every figure is something this node
//! saw: a time is that of a frame that arrived, a backlog is what was counted or what the peer
//! reported, and nothing is shown as synced that was not acknowledged.
//!
//! The data here depends on nothing of the transport: the QUIC driver reports to it through
//! [`Observed`].

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Class, Millis};
use crate::policy::Held;
use crate::sync::{Backlog, Event, Session, Stats, SyncState};

mod alerts;
mod expiry;
mod http;
mod metrics;

pub use alerts::{Alert, STALE_AFTER};
pub use expiry::{Expiry, RENEW_AHEAD_DAYS, certificate_expiry, days_left};
pub use http::{Source, backup_router, router, serve};
pub use metrics::metrics;

/// What the driver reports to its caller as a session runs.
pub enum Observed<'a> {
    Event(&'a Event),
    /// Every second, and once at the end: the link as QUIC measures it.
    Link(LinkStats),
}

/// The link as QUIC measures it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LinkStats {
    pub rtt_ms: u64,
    /// Lost packets over packets sent, this connection.
    pub loss: f64,
    /// Bytes per second over the last few seconds, each way, UDP payloads.
    pub up_bps: u64,
    pub down_bps: u64,
    pub sent_bytes: u64,
    pub received_bytes: u64,
    pub congestion_events: u64,
    /// When the last packet from the peer arrived (ms since the epoch; 0: none yet). QUIC
    /// keep-alives go every 5 s each way, so on a live link this is never older than that.
    pub heard_at: Millis,
}

/// A change the peer refused, or we refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub doc: String,
    pub reason: String,
}

/// One peer: the hub, seen from a gateway, or a gateway, seen from the hub.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PeerStatus {
    pub facility: Option<String>,
    /// Live: the peer's hello arrived over an authenticated connection.
    pub online: bool,
    pub sync: SyncState,
    /// The link of the live connection, or of the last one.
    pub link: Option<LinkStats>,
    pub stats: Stats,
    /// Connection attempts (gateway side).
    pub attempts: u64,
    /// The last failure, in plain words.
    pub last_error: Option<String>,
    pub refused: Vec<Refusal>,
    /// Edits to case files that had moved away, merged and flagged for review.
    pub flagged_after_move: Vec<String>,
    /// How far the peer's clock is ahead of this node's (negative: behind), from its hello.
    pub clock_ahead_ms: Option<Millis>,
    /// When the certificate the peer presented last expires (the hub's view of a gateway).
    pub certificate_expires: Option<Millis>,
    /// One gateway identity on two boxes, as the hub saw it (sessions of one certificate
    /// replacing each other) or told this gateway (it closed the session for that reason).
    pub two_boxes: Option<TwoBoxes>,
    /// The changes waiting to reach the peer grew through each of the last 24 hours, with no
    /// level moment (from the hub's hourly history of the gateway).
    pub backlog_growing: bool,
    /// How long the peer may go without being level before it is stale, where its facility
    /// sets it; else [`STALE_AFTER`].
    pub stale_after: Option<Millis>,
}

/// One gateway identity in use on two boxes: two stores writing as one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TwoBoxes {
    /// When it was last seen: the alert stands for [`TWO_BOXES_FOR`] after.
    pub last_seen: Millis,
    /// The addresses the sessions came from (at the hub).
    pub addresses: Vec<String>,
}

/// How long the two-boxes alert stands after its last sign.
pub const TWO_BOXES_FOR: Millis = 10 * 60_000;

impl TwoBoxes {
    /// Whether the alert stands at `now`.
    pub fn stands(&self, now: Millis) -> bool {
        now - self.last_seen < TWO_BOXES_FOR
    }
}

/// Everything a daemon reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeStatus {
    pub node: String,
    pub now: Millis,
    pub peers: BTreeMap<String, PeerStatus>,
    /// Connections refused before a session began (bad, unknown or revoked certificates).
    pub refused_connections: u64,
    pub last_refusal: Option<String>,
    /// Staff log-ins at a gateway's LAN service.
    pub logins: Option<LoginStatus>,
    /// When this node's own certificate expires (ms since the epoch): the one a gateway
    /// presents to the hub, or the hub's to its gateways.
    pub certificate_expires: Option<Millis>,
}

/// Staff log-ins at a gateway: failures, and attempts held back by the throttle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LoginStatus {
    /// Log-ins with a wrong username or password since the daemon started.
    pub failed: u64,
    /// Attempts refused unchecked: the client or username had to wait, or too many were queued.
    pub refused: u64,
    /// Client addresses that must wait before their next attempt is checked.
    pub clients_waiting: u64,
    /// Usernames that must wait before their next attempt is checked.
    pub usernames_waiting: u64,
}

impl LoginStatus {
    /// "12 failed log-ins, 40 attempts held back; 2 devices and 1 username must wait".
    pub fn summary(&self) -> String {
        let mut s = format!(
            "log-ins: {} failed, {} held back by the throttle",
            self.failed, self.refused
        );
        if self.clients_waiting + self.usernames_waiting > 0 {
            s.push_str(&format!(
                "; now waiting: {} device(s), {} username(s)",
                self.clients_waiting, self.usernames_waiting
            ));
        }
        s
    }
}

/// "3 h", "5 min", "12 s".
pub fn ago(now: Millis, then: Millis) -> String {
    let s = (now - then).max(0) / 1_000;
    match s {
        0..120 => format!("{s} s"),
        120..7_200 => format!("{} min", s / 60),
        7_200..172_800 => format!("{} h", s / 3_600),
        _ => format!("{} days", s / 86_400),
    }
}

fn waiting(b: &[Backlog; 3]) -> (u64, bool) {
    (
        b.iter().map(|b| b.changes).sum(),
        b.iter().any(|b| b.at_least),
    )
}

/// Refusals kept in the status, newest last.
const KEEP_REFUSALS: usize = 100;

/// A clock this far from the peer's is reported.
pub const CLOCK_OFF_AFTER: Millis = 60_000;

/// How long a live session may be silent before status says nothing is heard.
pub const SILENT_AFTER: Millis = 12_000;

impl PeerStatus {
    /// Takes in what the driver of a session reports.
    pub fn observe(&mut self, o: &Observed<'_>, s: &Session) {
        self.online = s.is_connected();
        self.sync = s.state();
        if let Some(skew) = s.peer_clock_ahead() {
            self.clock_ahead_ms = Some(skew);
        }
        self.stats = s.stats().clone();
        match o {
            Observed::Link(l) => self.link = Some(*l),
            Observed::Event(Event::Connected { .. }) => self.last_error = None,
            Observed::Event(
                Event::Refused { doc, reason } | Event::RefusedByPeer { doc, reason },
            ) => {
                if self.refused.len() >= KEEP_REFUSALS {
                    self.refused.remove(0);
                }
                self.refused.push(Refusal {
                    doc: doc.clone(),
                    reason: reason.clone(),
                });
            }
            Observed::Event(Event::AfterMove { doc }) => {
                self.flagged_after_move.push(doc.to_string())
            }
            Observed::Event(Event::PeerError { message, .. }) => {
                self.last_error = Some(format!("peer reported: {message}"))
            }
            Observed::Event(Event::Dropped { .. }) => {}
        }
    }

    /// The session ended, with `error` if it failed.
    pub fn ended(&mut self, error: Option<String>) {
        self.online = false;
        self.sync.connected = false;
        if error.is_some() {
            self.last_error = error;
        }
    }
    /// When a packet of the live session last came from the peer, frames or keep-alives.
    pub fn heard_at(&self) -> Option<Millis> {
        let packets = self.link.map(|l| l.heard_at).filter(|t| *t > 0);
        packets.max(self.sync.last_contact)
    }

    /// Whether the session is live and the peer was heard from lately: QUIC keep-alives go
    /// every 5 s, so silence past [`SILENT_AFTER`] means the link is down even while QUIC
    /// keeps the connection open.
    pub fn hearing(&self, now: Millis) -> bool {
        self.online && self.heard_at().is_some_and(|t| now - t < SILENT_AFTER)
    }

    /// How long what waits to reach the peer takes to cross at the link's recent rate, if
    /// anything waits and the link carried anything lately.
    pub fn time_to_drain_ms(&self) -> Option<Millis> {
        let bytes: u64 = self.sync.outgoing.iter().map(|b| b.bytes).sum();
        let rate = self.link.map(|l| l.up_bps).filter(|r| *r > 0)?;
        (bytes > 0).then(|| (bytes.saturating_mul(1_000) / rate) as Millis)
    }

    /// The state in plain words: "online; last delivered 3 s ago; 41 changes waiting to go,
    /// none waiting to come".
    pub fn summary(&self, name: &str, now: Millis) -> String {
        let mut parts = Vec::new();
        if let Some(two) = self.two_boxes.as_ref().filter(|t| t.stands(now)) {
            let from = if two.addresses.is_empty() {
                String::new()
            } else {
                format!(" (from {})", two.addresses.join(", "))
            };
            parts.push(format!(
                "ALERT {name}: one gateway certificate is in use on two boxes{from}, last seen {} ago; two stores write as one node: stop the box that is a copy and enrol it with a bundle of its own",
                ago(now, two.last_seen)
            ));
        }
        parts.push(if self.hearing(now) {
            format!("{name}: online")
        } else if self.online {
            let since = self.heard_at().map_or("ever".into(), |t| ago(now, t));
            format!("{name}: connected, but nothing heard for {since} (the link may be down)")
        } else {
            match self.sync.last_contact {
                Some(t) => format!("{name}: offline, last heard {} ago", ago(now, t)),
                None => format!("{name}: never reached"),
            }
        });
        // Each direction in its own words: what we sent that the peer acknowledged, and what
        // the peer sent that is stored here.
        match self.sync.last_delivered.iter().flatten().max() {
            Some(t) => parts.push(format!(
                "sent to {name}: last acknowledged {} ago",
                ago(now, *t)
            )),
            None => parts.push(format!("nothing sent to {name} acknowledged yet")),
        }
        match self.sync.last_received {
            Some(t) => parts.push(format!("received from {name}: last {} ago", ago(now, t))),
            None => parts.push(format!("nothing received from {name} on record")),
        }
        if let Some(t) = self.sync.in_sync_at {
            parts.push(format!("both sides last level {} ago", ago(now, t)));
        }
        let (out, more) = waiting(&self.sync.outgoing);
        let plus = if more { "+" } else { "" };
        let counted = match self.sync.measured_at {
            Some(t) if !self.online && now - t > SILENT_AFTER => {
                format!(" (counted {} ago)", ago(now, t))
            }
            _ => String::new(),
        };
        parts.push(match out {
            0 => format!("nothing waiting to go to {name}{counted}"),
            1 => format!("1 change waiting to go to {name}{counted}"),
            n => format!("{n}{plus} changes waiting to go to {name}{counted}"),
        });
        if let Some(incoming) = &self.sync.incoming {
            let (n, _) = waiting(incoming);
            let told = match self.sync.incoming_at {
                Some(t) if !self.hearing(now) => format!(" as {name} reported {} ago", ago(now, t)),
                _ => String::new(),
            };
            parts.push(match n {
                0 => format!("nothing waiting to come from {name}{told}"),
                n => format!("{n} waiting to come from {name}{told}"),
            });
        }
        for c in Class::ALL {
            if let Some(h) = self.sync.held[c as usize] {
                parts.push(format!("{} held: {}", c.name(), h.describe()));
            }
        }
        if let Some(skew) = self.clock_ahead_ms.filter(|s| s.abs() >= CLOCK_OFF_AFTER) {
            let by = ago(skew.abs(), 0);
            let way = if skew > 0 { "behind" } else { "ahead of" };
            parts.push(format!(
                "this node's clock is {by} {way} {name}'s: set the time (NTP); syncing goes on"
            ));
        }
        if let Some(at) = self.certificate_expires {
            let due = match Expiry::of(at, now) {
                Expiry::Valid => None,
                Expiry::Soon => Some("expires"),
                Expiry::Expired => Some("expired"),
            };
            if let Some(due) = due {
                let date = crate::model::date_of_ms(at);
                parts.push(format!(
                    "its certificate {due} on {date}: `pathway ca renew {name}` at the CA"
                ));
            }
        }
        if let Some(e) = &self.last_error {
            parts.push(format!("last error: {e}"));
        }
        parts.join("; ")
    }
}

impl Held {
    pub fn describe(self) -> &'static str {
        match self {
            Held::OutsideWindow => "outside its sync window",
            Held::DailyBudget => "today's byte budget is spent",
            Held::MonthlyBudget => "this month's byte budget is spent",
        }
    }
}
