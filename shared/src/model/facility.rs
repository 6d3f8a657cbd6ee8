//! Facility documents: written at one facility's gateway.

use std::collections::{BTreeMap, BTreeSet};

use autosurgeon::{Hydrate, Reconcile};

use super::catalogue::id;
use super::{Aggregate, DocId, Kind, Millis, Scope, parse_date, set};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all(deserialize = "snake_case"))]
pub enum RunStatus {
    #[default]
    Planned,
    Open,
    Running,
    Completed,
    Cancelled,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    pub fn of(date: time::Date) -> Weekday {
        use time::Weekday as W;
        match date.weekday() {
            W::Monday => Weekday::Mon,
            W::Tuesday => Weekday::Tue,
            W::Wednesday => Weekday::Wed,
            W::Thursday => Weekday::Thu,
            W::Friday => Weekday::Fri,
            W::Saturday => Weekday::Sat,
            W::Sunday => Weekday::Sun,
        }
    }
}

/// When a run meets: on these weekdays between the dates, at this time.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct Schedule {
    /// ISO date of the first session.
    pub start_date: String,
    /// ISO date of the last session.
    pub end_date: String,
    /// A set: two offline edits of the days merge member by member.
    #[autosurgeon(with = "set")]
    pub days: BTreeSet<Weekday>,
    /// Local time, `HH:MM`.
    pub start_time: String,
    pub end_time: String,
}

impl Schedule {
    /// The days the run meets from `from` to `to`, both included, within its first and last
    /// session. A schedule whose dates do not parse meets on no day.
    pub fn dates(&self, from: time::Date, to: time::Date) -> Vec<time::Date> {
        let (Ok(first), Ok(last)) = (parse_date(&self.start_date), parse_date(&self.end_date))
        else {
            return Vec::new();
        };
        let mut day = from.max(first);
        let mut out = Vec::new();
        while day <= to.min(last) {
            if self.days.contains(&Weekday::of(day)) {
                out.push(day);
            }
            let Some(next) = day.next_day() else { break };
            day = next;
        }
        out
    }

    /// Whether the two schedules meet at the same time on some day: their date ranges overlap,
    /// they share a weekday, and their hours overlap (one ending as the other starts is no
    /// clash). Times are `HH:MM`, so they compare as text.
    pub fn clashes_with(&self, other: &Schedule) -> bool {
        let dates = self.start_date <= other.end_date && other.start_date <= self.end_date;
        let day = self.days.intersection(&other.days).next().is_some();
        let hours = self.start_time < other.end_time && other.start_time < self.end_time;
        dates && day && hours
    }

    /// The register session the schedule gives on `day`.
    pub fn session(&self, day: time::Date) -> RegisterSession {
        RegisterSession {
            date: super::iso_date(day),
            start_time: self.start_time.clone(),
            end_time: self.end_time.clone(),
            cancelled: false,
            note: String::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Reconcile, Hydrate, serde::Serialize)]
pub enum WaitStatus {
    #[default]
    Waiting,
    Allocated,
    Declined,
    Withdrawn,
}

/// A person waiting for, or allocated to, a place on a run.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct WaitingEntry {
    pub person_id: String,
    pub added_at: Millis,
    pub added_by: String,
    pub status: WaitStatus,
}

/// A programme delivered at a facility.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct ProgrammeRun {
    pub id: String,
    pub facility_id: String,
    /// The national programme this run delivers; it stays readable if the programme is withdrawn.
    pub programme_code: String,
    pub instructor: String,
    pub place: String,
    pub capacity: u32,
    pub status: RunStatus,
    pub schedule: Schedule,
    /// Keyed by person id: one entry per person, however many times they were added.
    pub waiting_list: BTreeMap<String, WaitingEntry>,
}

impl ProgrammeRun {
    /// People currently allocated a place.
    pub fn allocated(&self) -> usize {
        self.waiting_list
            .values()
            .filter(|w| w.status == WaitStatus::Allocated)
            .count()
    }
}

impl Aggregate for ProgrammeRun {
    const KIND: Kind = Kind::ProgrammeRun;
    fn doc_id(&self) -> DocId {
        run_id(&self.facility_id, &self.id)
    }
    fn scope(&self) -> Scope {
        Scope::Facility(self.facility_id.clone())
    }
}

pub fn run_id(facility: &str, run: &str) -> DocId {
    id(Kind::ProgrammeRun, &[facility, run])
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all(deserialize = "snake_case"))]
pub enum MarkOutcome {
    #[default]
    Attended,
    AbsentExcused,
    AbsentUnexcused,
    Refused,
    Cancelled,
}

/// One session of a run, as held in the month's register.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct RegisterSession {
    /// ISO date.
    pub date: String,
    pub start_time: String,
    pub end_time: String,
    pub cancelled: bool,
    /// Why the session was cancelled, or added outside the schedule.
    #[autosurgeon(missing = "Default::default")]
    pub note: String,
}

impl RegisterSession {
    /// When the edit window closes: [`AttendanceRegister::EDIT_WINDOW_DAYS`] after the
    /// session's day ends at midnight at the facility, `utc_offset_minutes` from UTC. `None`
    /// if the session's date is not an ISO date.
    pub fn window_closes(&self, utc_offset_minutes: i32) -> Option<Millis> {
        Some(
            self.day_starts(utc_offset_minutes)?
                + (1 + AttendanceRegister::EDIT_WINDOW_DAYS) * 86_400_000,
        )
    }

    /// When the session's day begins at the facility, `utc_offset_minutes` from UTC: nobody
    /// can be marked before it. `None` if the session's date is not an ISO date.
    pub fn day_starts(&self, utc_offset_minutes: i32) -> Option<Millis> {
        let day = parse_date(&self.date).ok()?;
        let start_utc = day.midnight().assume_utc().unix_timestamp();
        Some((start_utc - i64::from(utc_offset_minutes) * 60) * 1000)
    }
}

/// The one mark a person has for a session.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct Mark {
    pub session_id: String,
    pub person_id: String,
    pub outcome: MarkOutcome,
    pub marked_by: String,
    pub marked_at: Millis,
    /// Set when the mark was written after the edit window closed: kept, but shown for review.
    pub late: bool,
    /// Why the person was absent: one of [`ABSENCE_REASONS`], or empty.
    #[autosurgeon(missing = "Default::default")]
    pub reason: String,
    /// Entered afterwards from the printed register, kept on the day the box was off.
    #[autosurgeon(missing = "Default::default")]
    pub from_paper: bool,
}

/// Why a person missed a session, as registers record it.
pub const ABSENCE_REASONS: [&str; 6] = ["sick", "court", "visit", "work", "refused", "other"];

impl Mark {
    /// A mark for a person at `session`, flagged `late` when written more than
    /// [`AttendanceRegister::EDIT_WINDOW_DAYS`] after the session's day, which ends at midnight
    /// at the facility, `utc_offset_minutes` from UTC.
    pub fn new(
        session_id: &str,
        session: &RegisterSession,
        person_id: &str,
        outcome: MarkOutcome,
        by: &str,
        now: Millis,
        utc_offset_minutes: i32,
    ) -> Result<Mark, MarkError> {
        let (Some(starts), Some(closes)) = (
            session.day_starts(utc_offset_minutes),
            session.window_closes(utc_offset_minutes),
        ) else {
            return Err(MarkError::BadDate {
                session: session_id.to_owned(),
                date: session.date.clone(),
            });
        };
        if session.cancelled {
            return Err(MarkError::Cancelled {
                session: session_id.to_owned(),
                date: session.date.clone(),
            });
        }
        if now < starts {
            return Err(MarkError::NotYet {
                session: session_id.to_owned(),
                date: session.date.clone(),
            });
        }
        Ok(Mark {
            session_id: session_id.to_owned(),
            person_id: person_id.to_owned(),
            outcome,
            marked_by: by.to_owned(),
            marked_at: now,
            late: now > closes,
            reason: String::new(),
            from_paper: false,
        })
    }
}

/// Attendance for one run for one month.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct AttendanceRegister {
    pub facility_id: String,
    pub run_id: String,
    /// `YYYY-MM`.
    pub month: String,
    /// Keyed by session id.
    pub sessions: BTreeMap<String, RegisterSession>,
    /// Keyed by [`AttendanceRegister::mark_key`]: one mark per session and person, so two
    /// concurrent marks end as one value, never two rows.
    pub marks: BTreeMap<String, Mark>,
}

/// A mark that cannot be written.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MarkError {
    /// The session is not in this register.
    #[error("session `{0}` is not in this register")]
    UnknownSession(String),
    /// The session's date is not an ISO date.
    #[error("session `{session}` has a date `{date}` that is not an ISO date")]
    BadDate { session: String, date: String },
    /// The session was cancelled: nobody attends it.
    #[error("session `{session}` on {date} was cancelled; nobody can be marked for it")]
    Cancelled { session: String, date: String },
    /// The session's day has not come yet.
    #[error("session `{session}` is on {date}; marks can be given from that day on")]
    NotYet { session: String, date: String },
}

/// A person's attendance over the sessions that took place: cancelled sessions (and marks of
/// `cancelled`) are left out of both counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Tally {
    pub attended: u32,
    pub counted: u32,
}

impl Tally {
    /// Attended out of counted, in whole per cent; `None` before anything is counted.
    pub fn percent(&self) -> Option<u32> {
        (self.counted > 0).then(|| self.attended * 100 / self.counted)
    }
}

impl AttendanceRegister {
    /// How long after a session its marks may be edited before edits are flagged.
    pub const EDIT_WINDOW_DAYS: i64 = 7;

    pub fn mark_key(session_id: &str, person_id: &str) -> String {
        format!("{session_id}/{person_id}")
    }

    /// Records `outcome` for a person at a session, replacing any earlier mark. A mark written
    /// more than [`Self::EDIT_WINDOW_DAYS`] after the session's day (at the facility,
    /// `utc_offset_minutes` from UTC) is kept and flagged `late`.
    pub fn mark(
        &mut self,
        session_id: &str,
        person_id: &str,
        outcome: MarkOutcome,
        by: &str,
        now: Millis,
        utc_offset_minutes: i32,
    ) -> Result<(), MarkError> {
        let session = self
            .sessions
            .get(session_id)
            .ok_or_else(|| MarkError::UnknownSession(session_id.to_owned()))?;
        let mark = Mark::new(
            session_id,
            session,
            person_id,
            outcome,
            by,
            now,
            utc_offset_minutes,
        )?;
        self.marks
            .insert(Self::mark_key(session_id, person_id), mark);
        Ok(())
    }
}

impl AttendanceRegister {
    /// Adds this month's marks to each person's [`Tally`].
    pub fn tally(&self, into: &mut BTreeMap<String, Tally>) {
        for m in self.marks.values() {
            let held = self
                .sessions
                .get(&m.session_id)
                .is_some_and(|s| !s.cancelled);
            if !held || m.outcome == MarkOutcome::Cancelled {
                continue;
            }
            let t = into.entry(m.person_id.clone()).or_default();
            t.counted += 1;
            t.attended += u32::from(m.outcome == MarkOutcome::Attended);
        }
    }
}

impl Aggregate for AttendanceRegister {
    const KIND: Kind = Kind::AttendanceRegister;
    fn doc_id(&self) -> DocId {
        register_id(&self.facility_id, &self.run_id, &self.month)
    }
    fn scope(&self) -> Scope {
        Scope::Facility(self.facility_id.clone())
    }
}

pub fn register_id(facility: &str, run: &str, month: &str) -> DocId {
    id(Kind::AttendanceRegister, &[facility, run, month])
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
pub enum Role {
    PrisonOfficer,
    /// Admissions, sentence dates, locations.
    RecordsOfficer,
    Instructor,
    CaseOfficer,
    HealthStaff,
    FacilityManager,
    FacilityIt,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct TrainingRecord {
    pub module: String,
    pub completed_on: Option<String>,
}

/// A staff member's account at a facility. Created at the hub or the facility, replicated to the
/// gateway so staff log in with no link.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct StaffAccount {
    pub username: String,
    pub facility_id: String,
    pub display_name: String,
    /// Set at the hub; the hub refuses a gateway's change to them (and to `disabled`).
    #[autosurgeon(with = "set")]
    pub roles: BTreeSet<Role>,
    /// argon2id PHC string.
    pub password_hash: String,
    pub disabled: bool,
    /// Set when the hub gave a one-time password: the gateway lets the staff member do nothing
    /// but choose a new one.
    #[autosurgeon(missing = "Default::default")]
    pub must_change_password: bool,
    /// Keyed by training module code.
    pub training: BTreeMap<String, TrainingRecord>,
}

impl Aggregate for StaffAccount {
    const KIND: Kind = Kind::StaffAccount;
    fn doc_id(&self) -> DocId {
        staff_id(&self.facility_id, &self.username)
    }
    fn scope(&self) -> Scope {
        Scope::Facility(self.facility_id.clone())
    }
}

pub fn staff_id(facility: &str, username: &str) -> DocId {
    id(Kind::StaffAccount, &[facility, username])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(from: &str, to: &str, days: &[Weekday], start: &str, end: &str) -> Schedule {
        Schedule {
            start_date: from.into(),
            end_date: to.into(),
            days: days.iter().copied().collect(),
            start_time: start.into(),
            end_time: end.into(),
        }
    }

    #[test]
    fn runs_clash_only_when_dates_days_and_hours_all_meet() {
        let a = schedule(
            "2026-01-05",
            "2026-03-27",
            &[Weekday::Mon, Weekday::Wed],
            "09:00",
            "11:00",
        );
        let same = schedule(
            "2026-02-01",
            "2026-02-28",
            &[Weekday::Wed],
            "10:30",
            "12:00",
        );
        assert!(a.clashes_with(&same) && same.clashes_with(&a));
        let after = schedule(
            "2026-02-01",
            "2026-02-28",
            &[Weekday::Wed],
            "11:00",
            "12:00",
        );
        assert!(!a.clashes_with(&after), "one ending as the other starts");
        let other_day = schedule(
            "2026-02-01",
            "2026-02-28",
            &[Weekday::Tue],
            "09:00",
            "11:00",
        );
        assert!(!a.clashes_with(&other_day));
        let later = schedule(
            "2026-04-01",
            "2026-06-30",
            &[Weekday::Mon],
            "09:00",
            "11:00",
        );
        assert!(!a.clashes_with(&later));
    }
}
