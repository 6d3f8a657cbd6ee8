//! National indicators: what the ministry measures of its prisons' programmes, computed from
//! the documents the node holds, kept up to date change by change.
//!
//! Each case file, run and register adds counters by facility, month and dimension
//! ([`facts`]); the node keeps every document's counters in a node-local table and their sum in
//! memory ([`tracker::Tracker`]), so a change costs one document read and a cold start one scan
//! of that table, never a load of every case file. [`report`] turns the sums into the figures,
//! each with its formula, numerator and denominator, for a facility, a region or the nation,
//! for a month or a quarter; [`view`] gathers them as a page shows them, [`page`] renders them
//! (HTML and CSV) with [`words`].

pub mod facts;
pub mod page;
pub mod report;
pub mod tracker;
pub mod view;
pub mod words;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a counter is counted by, beside facility and month.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Dim {
    /// The facility as a whole: people held, engaged, released.
    All,
    /// One programme: people enrolled, enrolments ended and completed.
    Programme(String),
    /// One run: places, and the marks of its registers.
    Run(String),
    /// Which programme a run is of (month empty).
    RunOf { run: String, programme: String },
    /// Referrals to one partner's service, by the month they were made.
    Referral { partner: String, service: String },
    /// When a run's last attendance edit window in the month closes.
    Window(String),
    /// People held since the day (month empty): counted up to the day the figures are asked.
    HeldFrom(String),
    /// People with an enrolment active since the month, not ended.
    EngagedFrom(String),
    /// People enrolled on the programme since the month, not ended.
    EnrolledFrom(String, String),
    /// One person released in the month (`released` 1; `followed_up` 1 once their six-week
    /// follow-up is recorded): the hub lists who is due from these.
    Released(String),
}

/// A counter's place: facility, month (`2026-11`, or empty for an open count), dimension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Key {
    pub facility: String,
    pub month: String,
    pub dim: Dim,
}

/// The counters one key holds. Every field adds up across documents except `window_closes`
/// (the latest) and `people_marked` (per run and month).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counters {
    /// People held at some time in the month (one per person).
    pub held: i64,
    /// Days held in the month, summed over people.
    pub person_days: i64,
    /// People with an enrolment active in the month.
    pub engaged: i64,
    /// People enrolled on the programme in the month.
    pub enrolled: i64,
    /// Enrolments ended by completion, the person's or staff's choice; of them completed.
    pub ended: i64,
    pub completed: i64,
    /// A run's places and the places given.
    pub capacity: i64,
    pub allocated: i64,
    pub runs: i64,
    /// Marks of sessions not cancelled; attended; refused or absent without a reason.
    pub marks: i64,
    pub attended: i64,
    pub unacceptable: i64,
    pub attended_minutes: i64,
    pub people_marked: i64,
    /// When the month's last edit window of a run's register closes (ms).
    pub window_closes: i64,
    /// Referrals made, accepted, completed, and the days each decided one took.
    pub made: i64,
    pub accepted: i64,
    pub referrals_completed: i64,
    pub decision_days: BTreeMap<u32, i64>,
    /// People released; of them, with each release plan item done on the day
    /// ([`crate::model::ReleasePlan::ITEMS`] order), and where they slept the first night.
    pub released: i64,
    pub arranged: [i64; 6],
    pub first_night_settled: i64,
    pub first_night_temporary: i64,
    pub first_night_none: i64,
    /// Of the people released, those followed up six weeks on; of them, living in settled or
    /// temporary accommodation, and in work, education or training.
    pub followed_up: i64,
    pub settled_6w: i64,
    pub temporary_6w: i64,
    pub ete_6w: i64,
}

impl Counters {
    pub fn is_zero(&self) -> bool {
        *self == Counters::default()
    }

    /// Adds `other` (`sign` 1) or takes it away (`sign` -1).
    pub fn add(&mut self, other: &Counters, sign: i64) {
        self.held += sign * other.held;
        self.person_days += sign * other.person_days;
        self.engaged += sign * other.engaged;
        self.enrolled += sign * other.enrolled;
        self.ended += sign * other.ended;
        self.completed += sign * other.completed;
        self.capacity += sign * other.capacity;
        self.allocated += sign * other.allocated;
        self.runs += sign * other.runs;
        self.marks += sign * other.marks;
        self.attended += sign * other.attended;
        self.unacceptable += sign * other.unacceptable;
        self.attended_minutes += sign * other.attended_minutes;
        self.people_marked += sign * other.people_marked;
        // The latest closing: taking a register away may leave it late; figures only err
        // towards calling themselves provisional.
        if sign > 0 {
            self.window_closes = self.window_closes.max(other.window_closes);
        }
        self.made += sign * other.made;
        self.accepted += sign * other.accepted;
        self.referrals_completed += sign * other.referrals_completed;
        for (d, n) in &other.decision_days {
            let v = self.decision_days.entry(*d).or_default();
            *v += sign * n;
            if *v == 0 {
                self.decision_days.remove(d);
            }
        }
        self.released += sign * other.released;
        for i in 0..6 {
            self.arranged[i] += sign * other.arranged[i];
        }
        self.first_night_settled += sign * other.first_night_settled;
        self.first_night_temporary += sign * other.first_night_temporary;
        self.first_night_none += sign * other.first_night_none;
        self.followed_up += sign * other.followed_up;
        self.settled_6w += sign * other.settled_6w;
        self.temporary_6w += sign * other.temporary_6w;
        self.ete_6w += sign * other.ete_6w;
    }
}

/// The sum of every document's counters.
#[derive(Debug, Clone, Default)]
pub struct Totals {
    pub by: BTreeMap<Key, Counters>,
}

impl Totals {
    /// Every facility with a counter, in order (one seek per facility).
    pub fn facilities(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut from = Key {
            facility: String::new(),
            month: String::new(),
            dim: Dim::All,
        };
        while let Some((k, _)) = self.by.range(from.clone()..).next() {
            out.push(k.facility.clone());
            from.facility = format!("{}\0", k.facility);
        }
        out
    }

    /// Adds one document's facts (`sign` 1) or takes them away (`sign` -1).
    pub fn apply(&mut self, facts: &facts::Facts, sign: i64) {
        for (k, c) in facts {
            let at = self.by.entry(k.clone()).or_default();
            at.add(c, sign);
            if at.is_zero() {
                self.by.remove(k);
            }
        }
    }
}
