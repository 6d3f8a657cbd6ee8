//! What two roles come home to: the facility manager's summary of the facility (places filled,
//! today's registers, what is overdue, people without a case officer, fields waiting for a
//! choice), and health staff's work (people with a health need assessed medium or high, and
//! referrals to clinical services still unanswered). The health list is audited like a search.

use std::sync::Arc;

use pathway_shared::indicators::report::Period;
use pathway_shared::indicators::view;
use pathway_shared::model::{NeedLevel, Role, RunStatus, WaitStatus};

use super::auth::Staff;
use super::class_list::Runs;
use super::find::audit_shown;
use super::roster::{Due, Person};
use super::{ApiError, ApiResult, Lan, Staged, sessions_near, today_iso};

/// The facility at a glance, for its manager.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub people: usize,
    pub runs: usize,
    pub places: usize,
    pub filled: usize,
    pub waiting: usize,
    pub sessions_today: usize,
    pub sessions_today_marked: usize,
    pub goals_overdue: usize,
    pub referrals_waiting: usize,
    pub releases_unready: usize,
    pub conflicts: usize,
    pub without_officer: usize,
}

/// Who sees the summary.
pub const SUMMARY_READERS: &[Role] = &[Role::FacilityManager];

pub fn summary(lan: &Arc<Lan>, who: &Staff) -> ApiResult<Summary> {
    if !who.has(SUMMARY_READERS) {
        return Err(ApiError::forbidden("the summary is the facility manager's"));
    }
    let now = lan.clock.now();
    let (today_text, today) = today_iso(now, lan.offset_minutes(now));
    let mut s = Summary::default();
    for r in Runs::read(lan)?.all() {
        if matches!(r.status, RunStatus::Cancelled | RunStatus::Completed) {
            continue;
        }
        s.runs += 1;
        s.places += r.capacity as usize;
        s.filled += r.allocated();
        s.waiting += r
            .waiting_list
            .values()
            .filter(|w| w.status == WaitStatus::Waiting)
            .count();
    }
    let health = who.visibility().health;
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    for p in roster.people.values() {
        s.people += 1;
        for d in p.due(today, now, health) {
            match d {
                Due::GoalOverdue => s.goals_overdue += 1,
                Due::ReferralWaiting => s.referrals_waiting += 1,
                Due::ReleaseSoon => s.releases_unready += 1,
                Due::Conflict => s.conflicts += 1,
            }
        }
        s.without_officer += usize::from(p.case_officer.is_none());
    }
    for row in sessions_near(lan, now)?
        .iter()
        .filter(|r| r.date == today_text)
    {
        s.sessions_today += 1;
        let marked =
            lan.store
                .get::<pathway_shared::model::AttendanceRegister>(
                    &pathway_shared::model::register_id(&lan.facility, &row.run, &row.month),
                )?
                .is_some_and(|reg| reg.marks.values().any(|m| m.session_id == row.session));
        s.sessions_today_marked += usize::from(marked);
    }
    Ok(s)
}

/// A person with health work waiting: their needs assessed medium or high in the health
/// domains, and since when each clinic referral has waited.
pub struct HealthLine {
    pub person: Arc<Person>,
    pub needs: Vec<(String, NeedLevel)>,
    pub referrals_since: Vec<i64>,
}

/// Health staff's work: everyone with a health need or a clinic referral waiting, the longest
/// waiting referral first, then the highest need. Audited with who was shown.
pub fn health_work(lan: &Lan, who: &Staff) -> ApiResult<Staged<Vec<HealthLine>>> {
    if !who.has(&[Role::HealthStaff]) {
        return Err(ApiError::forbidden("health work is for health staff"));
    }
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    let mut lines: Vec<HealthLine> = roster
        .people
        .values()
        .map(|p| HealthLine {
            needs: p.health_needs.clone(),
            referrals_since: p.clinic_referrals_waiting().collect(),
            person: p.clone(),
        })
        .filter(|l| !l.needs.is_empty() || !l.referrals_since.is_empty())
        .collect();
    lines.sort_by_key(|l| {
        (
            l.referrals_since.iter().min().copied().unwrap_or(i64::MAX),
            std::cmp::Reverse(l.needs.iter().map(|(_, n)| *n as u8).max()),
            l.person.person_id.clone(),
        )
    });
    let shown: Vec<Arc<Person>> = lines.iter().map(|l| l.person.clone()).collect();
    let pending = audit_shown(
        lan,
        who,
        "health_work",
        "health needs and clinic referrals",
        &shown,
    )?;
    Ok(Staged {
        value: lines,
        pending,
    })
}

/// This facility's indicators for `period` (`2026-11`, `2026-Q4`; empty: the last whole
/// month), for its manager: counted from what this box holds, so only the period and the
/// attendance edit window make them provisional.
pub fn indicators(
    lan: &Arc<Lan>,
    who: &Staff,
    period: &str,
) -> ApiResult<(view::Report, view::Names)> {
    if !who.has(SUMMARY_READERS) {
        return Err(ApiError::forbidden(
            "the indicators are the facility manager's",
        ));
    }
    let now = lan.clock.now();
    let period = match period.trim() {
        "" => Period::last_whole_month(now),
        p => Period::parse(p).ok_or_else(|| {
            ApiError::field(
                "period",
                format!("`{p}` is not a month (2026-11) or a quarter (2026-Q4)"),
            )
        })?,
    };
    lan.indicators.catch_up()?;
    let names = view::Names::read(&lan.store)?;
    let area = view::Area::Facility(lan.facility.clone());
    let r = view::build(&lan.indicators, &names, (area, period), now, &|_| None);
    Ok((r, names))
}
