//! What one document adds to the indicators: a list of counters by facility, month and
//! dimension, computed from the document alone, so a change to it replaces its old counters by
//! its new ones and touches nothing else.

use std::collections::BTreeMap;

use time::Date;

use autosurgeon::Hydrate;

use crate::model::{
    AttendanceRegister, CaseFile, Enrolment, EnrolmentStatus, FollowUp, MarkOutcome,
    PlanItemStatus, ProgrammeRun, Referral, ReferralStatus, ReleasePlan, ReleaseRecord, RunStatus,
    TransferRecord, date_of_ms, iso_date, month_of, parse_date,
};

use super::{Counters, Dim, Key};

/// One document's counters. Case files give people held, engagement, enrolments, referrals
/// and releases; runs their places; registers their marks.
pub type Facts = BTreeMap<Key, Counters>;

/// The parts of a case file the indicators read, hydrated alone: notes, needs and goals,
/// most of a busy file, are never read.
#[derive(Debug, Clone, Default, Hydrate)]
pub struct CaseFacts {
    #[autosurgeon(missing = "Default::default")]
    pub person_id: String,
    #[autosurgeon(missing = "Default::default")]
    pub holding_facility: String,
    #[autosurgeon(missing = "Default::default")]
    pub admission_date: String,
    #[autosurgeon(missing = "Default::default")]
    pub enrolments: BTreeMap<String, Enrolment>,
    #[autosurgeon(missing = "Default::default")]
    pub referrals: BTreeMap<String, Referral>,
    #[autosurgeon(missing = "Default::default")]
    pub release_plan: ReleasePlan,
    #[autosurgeon(missing = "Default::default")]
    pub transfers: BTreeMap<String, TransferRecord>,
    #[autosurgeon(missing = "Default::default")]
    pub release: Option<ReleaseRecord>,
    #[autosurgeon(missing = "Default::default")]
    pub follow_up: Option<FollowUp>,
}

impl From<&CaseFile> for CaseFacts {
    fn from(c: &CaseFile) -> CaseFacts {
        CaseFacts {
            person_id: c.person_id.clone(),
            holding_facility: c.holding_facility.clone(),
            admission_date: c.admission_date.clone(),
            enrolments: c.enrolments.clone(),
            referrals: c.referrals.clone(),
            release_plan: c.release_plan.clone(),
            transfers: c.transfers.clone(),
            release: c.release.clone(),
            follow_up: c.follow_up.clone(),
        }
    }
}

/// Why an enrolment ended, as the register of outcomes names it: only completion, the person's
/// choice and staff's count towards completion (release and transfer are left out).
fn ended_by_choice(status: EnrolmentStatus, reason: Option<&str>) -> bool {
    let code = reason.map(|r| r.split(':').next().unwrap_or("").trim());
    match code {
        Some("released") | Some("transferred") => false,
        Some(_) => true,
        None => status.is_final(),
    }
}

/// A stay at one facility: from its first day, to the day it ended (not held that day), or
/// open.
#[derive(Debug, Clone, PartialEq)]
struct Stay {
    facility: String,
    from: Date,
    to: Option<Date>,
}

/// Where the person was held, stay by stay: admitted to the facility the first move left (or
/// the holder), each made move starting a stay at the next, the release closing the last.
fn stays(case: &CaseFacts) -> Vec<Stay> {
    let Ok(admitted) = parse_date(&case.admission_date) else {
        return Vec::new();
    };
    let mut moves: Vec<(Date, &str, &str)> = case
        .transfers
        .values()
        .filter_map(|t| {
            let on = parse_date(&date_of_ms(t.moved_at?)).ok()?;
            Some((on, t.from_facility.as_str(), t.to_facility.as_str()))
        })
        .collect();
    moves.sort();
    let first = moves
        .first()
        .map(|m| m.1)
        .unwrap_or(case.holding_facility.as_str());
    let mut out = vec![Stay {
        facility: first.to_owned(),
        from: admitted,
        to: None,
    }];
    for (on, _, to) in moves {
        let on = on.max(admitted);
        if let Some(last) = out.last_mut() {
            last.to = Some(on);
        }
        out.push(Stay {
            facility: to.to_owned(),
            from: on,
            to: None,
        });
    }
    if let (Some(released), Some(last)) = (
        case.release.as_ref().and_then(|r| parse_date(&r.on).ok()),
        out.last_mut(),
    ) {
        last.to = Some(released.max(last.from));
    }
    out.retain(|s| s.to.is_none_or(|to| to > s.from));
    out
}

fn facility_on(stays: &[Stay], day: Date) -> Option<&str> {
    stays
        .iter()
        .rev()
        .find(|s| s.from <= day)
        .or(stays.first())
        .map(|s| s.facility.as_str())
}

/// The first day of the month after `d`'s.
fn next_month(d: Date) -> Date {
    let (y, m) = (d.year(), u8::from(d.month()));
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    Date::from_calendar_date(
        y,
        time::Month::try_from(m).unwrap_or(time::Month::January),
        1,
    )
    .unwrap_or(d)
}

/// Each month of `[from, to)`, with the days of it inside.
fn months(from: Date, to: Date) -> Vec<(String, i64)> {
    let mut out = Vec::new();
    let mut at = from;
    while at < to {
        let end = next_month(at).min(to);
        out.push((month_of(at), (end - at).whole_days()));
        if end == at {
            break;
        }
        at = end;
    }
    out
}

fn key(facility: &str, month: impl Into<String>, dim: Dim) -> Key {
    Key {
        facility: facility.to_owned(),
        month: month.into(),
        dim,
    }
}

/// People held, engagement, enrolments, referrals and release, from one case file.
pub fn case_facts(case: &CaseFacts) -> Facts {
    let mut out = Facts::new();
    let stays = stays(case);
    // Held: a closed stay counts the days of each month; an open one is kept by its first day
    // and counted at the moment the figures are asked for.
    for s in &stays {
        match s.to {
            Some(to) => {
                for (m, days) in months(s.from, to) {
                    let c = out.entry(key(&s.facility, m, Dim::All)).or_default();
                    c.held = 1;
                    c.person_days += days;
                }
            }
            None => {
                out.entry(key(&s.facility, "", Dim::HeldFrom(iso_date(s.from))))
                    .or_default()
                    .held = 1;
            }
        }
    }
    // Engagement and enrolments: an enrolment that started counts for each month it was
    // active, never past the end of the stay it belongs to.
    for e in case.enrolments.values() {
        if e.status == EnrolmentStatus::Pending {
            continue;
        }
        let start = e
            .start_date
            .as_deref()
            .and_then(|d| parse_date(d).ok())
            .or_else(|| parse_date(&case.admission_date).ok());
        let Some(start) = start else { continue };
        let stay_end = stays
            .iter()
            .rev()
            .find(|s| s.facility == e.facility_id && s.from <= start)
            .and_then(|s| s.to);
        let end = e
            .end_date
            .as_deref()
            .and_then(|d| parse_date(d).ok())
            .map(|d| d.next_day().unwrap_or(d));
        let end = match (end, stay_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let programme = Dim::Programme(e.programme_code.clone());
        match end {
            Some(end) => {
                for (m, _) in months(start, end.max(start.next_day().unwrap_or(start))) {
                    out.entry(key(&e.facility_id, m.clone(), Dim::All))
                        .or_default()
                        .engaged = 1;
                    out.entry(key(&e.facility_id, m, programme.clone()))
                        .or_default()
                        .enrolled = 1;
                }
            }
            None => {
                let m = month_of(start);
                out.entry(key(&e.facility_id, "", Dim::EngagedFrom(m.clone())))
                    .or_default()
                    .engaged = 1;
                out.entry(key(
                    &e.facility_id,
                    "",
                    Dim::EnrolledFrom(m, e.programme_code.clone()),
                ))
                .or_default()
                .enrolled = 1;
            }
        }
        let ended = e.end_date.as_deref().and_then(|d| parse_date(d).ok());
        if let Some(ended) = ended
            && e.status.is_final()
            && ended_by_choice(e.status, e.end_reason.as_deref())
        {
            let c = out
                .entry(key(&e.facility_id, month_of(ended), programme))
                .or_default();
            c.ended += 1;
            if e.status == EnrolmentStatus::Completed {
                c.completed += 1;
            }
        }
    }
    one_person_once(&mut out);
    for r in case.referrals.values() {
        let Some(made) = r.history.values().map(|e| e.at).min() else {
            continue;
        };
        let Ok(day) = parse_date(&date_of_ms(made)) else {
            continue;
        };
        let Some(facility) = facility_on(&stays, day).map(str::to_owned) else {
            continue;
        };
        let state = r.state();
        let reached = |s: ReferralStatus| r.history.values().any(|e| e.to == s);
        let decided = r
            .history
            .values()
            .filter(|e| matches!(e.to, ReferralStatus::Accepted | ReferralStatus::Declined))
            .map(|e| e.at)
            .min();
        let c = out
            .entry(key(
                &facility,
                month_of(day),
                Dim::Referral {
                    partner: r.partner_id.clone(),
                    service: r.service.clone(),
                },
            ))
            .or_default();
        c.made += 1;
        if reached(ReferralStatus::Accepted) {
            c.accepted += 1;
        }
        if state.status == ReferralStatus::Completed {
            c.referrals_completed += 1;
        }
        if let Some(at) = decided {
            let days = ((at - made).max(0) / 86_400_000) as u32;
            *c.decision_days.entry(days).or_default() += 1;
        }
    }
    let released = case
        .release
        .as_ref()
        .and_then(|r| Some((r, parse_date(&r.on).ok()?)));
    if let Some((rel, day)) = released
        && let Some(facility) = facility_on(&stays, day.previous_day().unwrap_or(day))
    {
        let c = out
            .entry(key(facility, month_of(day), Dim::All))
            .or_default();
        c.released = 1;
        for (i, code) in ReleasePlan::ITEMS.iter().enumerate() {
            let status = rel
                .plan_on_the_day
                .get(*code)
                .copied()
                .or_else(|| case.release_plan.item(code).map(|p| p.status));
            if status == Some(PlanItemStatus::Done) {
                c.arranged[i] = 1;
            }
        }
        match rel.first_night.as_str() {
            "settled" => c.first_night_settled = 1,
            "temporary" => c.first_night_temporary = 1,
            "none" => c.first_night_none = 1,
            _ => {}
        }
        if let Some(f) = &case.follow_up {
            c.followed_up = 1;
            c.settled_6w = i64::from(f.accommodation == "settled");
            c.temporary_6w = i64::from(f.accommodation == "temporary");
            c.ete_6w = i64::from(f.ete == "yes");
        }
        let one = out
            .entry(key(
                facility,
                month_of(day),
                Dim::Released(case.person_id.clone()),
            ))
            .or_default();
        one.released = 1;
        one.followed_up = i64::from(case.follow_up.is_some());
    }
    out.retain(|_, c| !c.is_zero());
    out
}

/// A run's places, for each month its schedule spans while it is open or ran.
pub fn run_facts(run: &ProgrammeRun) -> Facts {
    let mut out = Facts::new();
    out.entry(key(
        &run.facility_id,
        "",
        Dim::RunOf {
            run: run.id.clone(),
            programme: run.programme_code.clone(),
        },
    ))
    .or_default()
    .runs = 1;
    if run.status == RunStatus::Cancelled {
        return out;
    }
    let (Ok(from), Ok(to)) = (
        parse_date(&run.schedule.start_date),
        parse_date(&run.schedule.end_date),
    ) else {
        return out;
    };
    let to = to.next_day().unwrap_or(to).max(from);
    for (m, _) in months(from, to) {
        let c = out
            .entry(key(&run.facility_id, m, Dim::Run(run.id.clone())))
            .or_default();
        c.capacity = i64::from(run.capacity);
        c.allocated = run.allocated() as i64;
    }
    out
}

fn minutes(start: &str, end: &str) -> i64 {
    let m = |s: &str| -> Option<i64> {
        let (h, mi) = s.split_once(':')?;
        Some(h.parse::<i64>().ok()? * 60 + mi.parse::<i64>().ok()?)
    };
    match (m(start), m(end)) {
        (Some(a), Some(b)) if b > a => b - a,
        _ => 0,
    }
}

/// A register's marks, by the month of each session; cancelled sessions and cancelled marks are
/// left out. Each month also records when its last edit window closes (`utc_offset_minutes`:
/// the facility's zone), so figures can say until when they may still change.
pub fn register_facts(reg: &AttendanceRegister, utc_offset_minutes: i32) -> Facts {
    let mut out = Facts::new();
    let mut people: BTreeMap<String, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for (sid, s) in &reg.sessions {
        let Ok(day) = parse_date(&s.date) else {
            continue;
        };
        if let Some(closes) = s.window_closes(utc_offset_minutes) {
            let k = key(
                &reg.facility_id,
                month_of(day),
                Dim::Window(reg.run_id.clone()),
            );
            let c = out.entry(k).or_default();
            c.window_closes = c.window_closes.max(closes);
        }
        if s.cancelled {
            continue;
        }
        let length = minutes(&s.start_time, &s.end_time);
        let m = month_of(day);
        for mark in reg.marks.values().filter(|mk| &mk.session_id == sid) {
            if mark.outcome == MarkOutcome::Cancelled {
                continue;
            }
            let c = out
                .entry(key(
                    &reg.facility_id,
                    m.clone(),
                    Dim::Run(reg.run_id.clone()),
                ))
                .or_default();
            c.marks += 1;
            match mark.outcome {
                MarkOutcome::Attended => {
                    c.attended += 1;
                    c.attended_minutes += length;
                }
                MarkOutcome::Refused => c.unacceptable += 1,
                MarkOutcome::AbsentUnexcused if mark.reason.is_empty() => c.unacceptable += 1,
                _ if mark.reason == "refused" => c.unacceptable += 1,
                _ => {}
            }
            people.entry(m.clone()).or_default().insert(&mark.person_id);
        }
    }
    for (m, who) in people {
        if let Some(c) = out.get_mut(&key(&reg.facility_id, m, Dim::Run(reg.run_id.clone()))) {
            c.people_marked = who.len() as i64;
        }
    }
    out
}

/// A person engaged by two open enrolments, or by an open and a closed one in the same month,
/// is one person engaged: at each facility only the earliest open start is kept, and closed
/// months from it on are left to it. The same for each programme.
fn one_person_once(out: &mut Facts) {
    let mut open: BTreeMap<(String, Option<String>), String> = BTreeMap::new();
    for k in out.keys() {
        let (programme, from) = match &k.dim {
            Dim::EngagedFrom(m) => (None, m),
            Dim::EnrolledFrom(m, p) => (Some(p.clone()), m),
            _ => continue,
        };
        let at = open
            .entry((k.facility.clone(), programme))
            .or_insert_with(|| from.clone());
        if from < &*at {
            *at = from.clone();
        }
    }
    for (k, c) in out.iter_mut() {
        let programme = match &k.dim {
            Dim::EngagedFrom(m) | Dim::EnrolledFrom(m, _) => {
                let p = match &k.dim {
                    Dim::EnrolledFrom(_, p) => Some(p.clone()),
                    _ => None,
                };
                if open
                    .get(&(k.facility.clone(), p))
                    .is_some_and(|first| first != m)
                {
                    c.engaged = 0;
                    c.enrolled = 0;
                }
                continue;
            }
            Dim::All => None,
            Dim::Programme(p) => Some(p.clone()),
            _ => continue,
        };
        if open
            .get(&(k.facility.clone(), programme))
            .is_some_and(|from| &k.month >= from)
        {
            c.engaged = 0;
            c.enrolled = 0;
        }
    }
}
