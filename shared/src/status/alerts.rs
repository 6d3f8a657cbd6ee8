//! What an operator must act on, read from a peer's status: each alert is a fact this node saw
//! (a time, a count, a refusal), never a guess. The hub's dashboard and `/metrics`
//! (`pathway_alert{peer, alert}`) show the same list.

use serde::Serialize;

use super::{CLOCK_OFF_AFTER, Expiry, PeerStatus};
use crate::model::Millis;

/// A peer not level with this node for this long is stale.
pub const STALE_AFTER: Millis = 24 * 3_600_000;

/// One alert on one peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Alert {
    /// One gateway certificate in use on two boxes.
    TwoBoxes,
    /// Its audit trail would have been rewritten: refused, and listed for review.
    AuditRefused,
    /// Not level with this node for its facility's time, [`STALE_AFTER`] unless it sets one (or
    /// never).
    Stale,
    /// What waits to reach it grew through each of the last 24 hours, never level.
    BacklogGrowing,
    /// Writes refused this run.
    RefusedWrites,
    /// Its clock is a minute or more off.
    ClockOff,
    /// Its certificate expires within 30 days, or has.
    CertificateDue,
}

impl Alert {
    pub const ALL: [Alert; 7] = [
        Alert::TwoBoxes,
        Alert::AuditRefused,
        Alert::Stale,
        Alert::BacklogGrowing,
        Alert::RefusedWrites,
        Alert::ClockOff,
        Alert::CertificateDue,
    ];

    /// Its name in metrics and JSON.
    pub fn code(self) -> &'static str {
        match self {
            Alert::TwoBoxes => "two_boxes",
            Alert::AuditRefused => "audit_refused",
            Alert::Stale => "stale",
            Alert::BacklogGrowing => "backlog_growing",
            Alert::RefusedWrites => "refused_writes",
            Alert::ClockOff => "clock_off",
            Alert::CertificateDue => "certificate_due",
        }
    }
}

impl PeerStatus {
    /// Whether the peer has not been level with this node for its facility's time (or
    /// [`STALE_AFTER`]), or never was.
    pub fn stale(&self, now: Millis) -> bool {
        let after = self.stale_after.unwrap_or(STALE_AFTER);
        self.sync.in_sync_at.is_none_or(|t| now - t >= after)
    }

    /// The alerts that stand for this peer at `now`, worst first.
    pub fn alerts(&self, now: Millis) -> Vec<Alert> {
        let mut out = Vec::new();
        if self.two_boxes.as_ref().is_some_and(|t| t.stands(now)) {
            out.push(Alert::TwoBoxes);
        }
        if self.refused.iter().any(|r| r.doc.starts_with("audit/")) {
            out.push(Alert::AuditRefused);
        }
        if self.stale(now) {
            out.push(Alert::Stale);
        }
        if self.backlog_growing {
            out.push(Alert::BacklogGrowing);
        }
        if !self.refused.is_empty() {
            out.push(Alert::RefusedWrites);
        }
        if self
            .clock_ahead_ms
            .is_some_and(|s| s.abs() >= CLOCK_OFF_AFTER)
        {
            out.push(Alert::ClockOff);
        }
        if self
            .certificate_expires
            .is_some_and(|at| Expiry::of(at, now) != Expiry::Valid)
        {
            out.push(Alert::CertificateDue);
        }
        out
    }
}
