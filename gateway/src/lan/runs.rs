//! Programme runs made at the facility: a run of a programme from the national catalogue with
//! its schedule, instructor, place and capacity; its sessions come from the schedule, one
//! attendance register per month; a session is cancelled, or one added, with a reason.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    AttendanceRegister, Programme, ProgrammeRun, RegisterSession, Role, RunStatus, Schedule,
    StaffAccount, Weekday, iso_date, month_of, programme_id, register_id, staff_id,
};
use serde::Deserialize;
use serde_json::json;

use super::auth::Staff;
use super::input::{date, line, prose};
use super::{ApiError, ApiResult, Lan, Staged, blocking_durable};

/// Who makes runs and changes their sessions.
pub const RUN_MAKERS: &[Role] = &[Role::Instructor, Role::FacilityManager];
/// The longest run: two years of sessions.
pub const MAX_RUN_DAYS: i64 = 731;
pub const MAX_CAPACITY: u32 = 200;

/// A new run, as the form gives it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    pub programme_code: String,
    pub place: String,
    pub capacity: u32,
    pub start_date: String,
    pub end_date: String,
    /// Weekday codes: `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, local time.
    pub start_time: String,
    pub end_time: String,
    /// The instructor's username; the maker's own if they are an instructor.
    #[serde(default)]
    pub instructor: Option<String>,
}

const DAY_CODES: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// A local time `HH:MM`.
fn clock_time(field: &str, v: &str) -> ApiResult<String> {
    let v = v.trim();
    let ok = v.len() == 5
        && v.as_bytes()[2] == b':'
        && v[..2].parse::<u8>().is_ok_and(|h| h < 24)
        && v[3..].parse::<u8>().is_ok_and(|m| m < 60);
    if ok {
        Ok(v.to_owned())
    } else {
        Err(ApiError::field_words(
            field,
            "input.time",
            vec![("value", v.chars().take(20).collect())],
        ))
    }
}

/// Checks the whole run and its sessions; nothing is written.
fn planned(
    lan: &Lan,
    who: &Staff,
    r: &RunInput,
) -> ApiResult<(ProgrammeRun, Vec<AttendanceRegister>)> {
    let code = r.programme_code.trim();
    let programme = lan
        .store
        .get::<Programme>(&programme_id(code))?
        .filter(|p| !p.withdrawn)
        .ok_or_else(|| {
            ApiError::field_words(
                "programme_code",
                "input.no_programme",
                vec![("value", code.chars().take(40).collect())],
            )
        })?;
    let place = line("place", &r.place, 100)?;
    if r.capacity == 0 || r.capacity > MAX_CAPACITY {
        return Err(ApiError::field_words(
            "capacity",
            "input.between",
            vec![("min", "1".into()), ("max", MAX_CAPACITY.to_string())],
        ));
    }
    let start = date("start_date", &r.start_date)?;
    let end = date("end_date", &r.end_date)?;
    if end < start || (end - start).whole_days() > MAX_RUN_DAYS {
        return Err(ApiError::field_words(
            "end_date",
            "input.run_dates",
            vec![("max", MAX_RUN_DAYS.to_string())],
        ));
    }
    let mut days = BTreeSet::new();
    for d in &r.days {
        let day = DAY_CODES
            .iter()
            .find(|(c, _)| *c == d.trim())
            .map(|(_, w)| *w)
            .ok_or_else(|| {
                ApiError::field_words(
                    "days",
                    "input.code",
                    vec![
                        ("value", d.chars().take(10).collect()),
                        ("codes", "mon, tue, wed, thu, fri, sat, sun".into()),
                    ],
                )
            })?;
        days.insert(day);
    }
    if days.is_empty() {
        return Err(ApiError::field_words("days", "input.empty", vec![]));
    }
    let start_time = clock_time("start_time", &r.start_time)?;
    let end_time = clock_time("end_time", &r.end_time)?;
    if end_time <= start_time {
        return Err(ApiError::field_words(
            "end_time",
            "input.end_before_start",
            vec![],
        ));
    }
    let instructor = match r
        .instructor
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        Some(u) => {
            let ok = lan
                .store
                .get::<StaffAccount>(&staff_id(&lan.facility, u))?
                .is_some_and(|s| !s.disabled && s.roles.contains(&Role::Instructor));
            if !ok {
                return Err(ApiError::field_words(
                    "instructor",
                    "input.no_instructor",
                    vec![("value", u.chars().take(40).collect())],
                ));
            }
            u.to_owned()
        }
        None if who.has(&[Role::Instructor]) => who.username.clone(),
        None => return Err(ApiError::field_words("instructor", "input.empty", vec![])),
    };
    let run = ProgrammeRun {
        id: format!(
            "run-{}-{:04x}",
            iso_date(start).replace('-', ""),
            fastrand::u16(..)
        ),
        facility_id: lan.facility.clone(),
        programme_code: programme.code,
        instructor,
        place,
        capacity: r.capacity,
        status: RunStatus::Open,
        schedule: Schedule {
            start_date: iso_date(start),
            end_date: iso_date(end),
            days,
            start_time,
            end_time,
        },
        waiting_list: Default::default(),
    };
    let mut registers: Vec<AttendanceRegister> = Vec::new();
    for d in run.schedule.dates(start, end) {
        let month = month_of(d);
        if registers.last().is_none_or(|r| r.month != month) {
            registers.push(AttendanceRegister {
                facility_id: lan.facility.clone(),
                run_id: run.id.clone(),
                month: month.clone(),
                ..AttendanceRegister::default()
            });
        }
        if let Some(reg) = registers.last_mut() {
            reg.sessions.insert(iso_date(d), run.schedule.session(d));
        }
    }
    if registers.is_empty() {
        return Err(ApiError::field_words("days", "input.no_sessions", vec![]));
    }
    Ok((run, registers))
}

/// Makes a run and its registers as `who`; returns the run's id.
pub fn create_run(lan: &Lan, who: &Staff, r: &RunInput) -> ApiResult<Staged<String>> {
    if !who.has(RUN_MAKERS) {
        return Err(ApiError::forbidden(
            "only an instructor or the facility manager makes programme runs",
        ));
    }
    let (run, registers) = planned(lan, who, r)?;
    let now = lan.clock.now();
    let id = pathway_shared::model::run_id(&lan.facility, &run.id);
    // The entry first; the last write's flush covers the entry and every document before it.
    let _entry = lan
        .audit
        .stage(&who.username, "create_run", id.as_str(), now)?;
    let (_, mut pending) = lan.store.put_staged(&run, now)?;
    for r in &registers {
        pending = lan.store.put_staged(r, now)?.1;
    }
    Ok(Staged {
        value: run.id,
        pending,
    })
}

pub(super) async fn create_run_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    body: Result<Json<RunInput>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let Json(r) = body?;
    let id = blocking_durable(move || create_run(&lan, &who, &r)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "run": id }))))
}

/// A change to one session: cancel it, or add one on a day, each with a reason.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct SessionChange {
    /// The session's date; a new session's id is its date (or its date and time if the day
    /// already has one).
    pub date: String,
    /// `cancel` or `add`.
    pub action: String,
    pub reason: String,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub end_time: Option<String>,
}

/// Cancels or adds a session of `run` as `who`; returns the session's id.
pub fn change_session(
    lan: &Lan,
    who: &Staff,
    run: &str,
    c: &SessionChange,
) -> ApiResult<Staged<String>> {
    let changed = session_change(lan, who, run, c);
    if let Ok(day) = date("date", &c.date) {
        super::attendance::forget_count(lan, &register_id(&lan.facility, run, &month_of(day)));
    }
    changed
}

fn session_change(
    lan: &Lan,
    who: &Staff,
    run: &str,
    c: &SessionChange,
) -> ApiResult<Staged<String>> {
    if !who.has(RUN_MAKERS) {
        return Err(ApiError::forbidden(
            "only an instructor or the facility manager changes sessions",
        ));
    }
    let day = date("date", &c.date)?;
    let reason = prose("reason", &c.reason, 500)?;
    let the_run = lan
        .store
        .get::<ProgrammeRun>(&pathway_shared::model::run_id(&lan.facility, run))?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run `{run}` here")))?;
    let now = lan.clock.now();
    let session = iso_date(day);
    let reg_id = register_id(&lan.facility, run, &month_of(day));
    match c.action.trim() {
        "cancel" if lan.store.meta(&reg_id)?.is_none() => {
            Err(ApiError::field_words("date", "input.no_session", vec![]))
        }
        "cancel" => {
            lan.audited_edit::<AttendanceRegister, _>(who, "cancel_session", &reg_id, now, |e| {
                let Some(mut s) = e.get::<RegisterSession>(&["sessions", &session])? else {
                    return Err(ApiError::field_words("date", "input.no_session", vec![]));
                };
                s.cancelled = true;
                s.note = reason.clone();
                e.put(&["sessions", &session], &s)?;
                Ok(session.clone())
            })
        }
        "add" => {
            let start = clock_time(
                "start_time",
                c.start_time
                    .as_deref()
                    .unwrap_or(&the_run.schedule.start_time),
            )?;
            let end = clock_time(
                "end_time",
                c.end_time.as_deref().unwrap_or(&the_run.schedule.end_time),
            )?;
            let s = RegisterSession {
                date: session.clone(),
                start_time: start.clone(),
                end_time: end,
                cancelled: false,
                note: reason,
            };
            if lan.store.meta(&reg_id)?.is_none() {
                let register = AttendanceRegister {
                    facility_id: lan.facility.clone(),
                    run_id: run.to_owned(),
                    month: month_of(day),
                    sessions: [(session.clone(), s)].into(),
                    ..AttendanceRegister::default()
                };
                let _entry = lan
                    .audit
                    .stage(&who.username, "add_session", reg_id.as_str(), now)?;
                let (_, pending) = lan.store.put_staged(&register, now)?;
                return Ok(Staged {
                    value: session,
                    pending,
                });
            }
            lan.audited_edit::<AttendanceRegister, _>(who, "add_session", &reg_id, now, |e| {
                let id = match e.get::<RegisterSession>(&["sessions", &session])? {
                    None => session.clone(),
                    Some(_) => format!("{session}T{}", start.replace(':', "")),
                };
                if e.get::<RegisterSession>(&["sessions", &id])?.is_some() {
                    return Err(ApiError::field_words(
                        "start_time",
                        "input.session_taken",
                        vec![],
                    ));
                }
                e.put(&["sessions", &id], &s)?;
                Ok(id)
            })
        }
        other => Err(ApiError::field_words(
            "action",
            "input.code",
            vec![
                ("value", other.chars().take(20).collect()),
                ("codes", "cancel, add".into()),
            ],
        )),
    }
}

pub(super) async fn change_session_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(run): Path<String>,
    body: Result<Json<SessionChange>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Json(c) = body?;
    let id = blocking_durable(move || change_session(&lan, &who, &run, &c)).await?;
    Ok(Json(json!({ "session": id })))
}

/// A change to a run's capacity or instructor; what is not given stays.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunChange {
    #[serde(default)]
    pub capacity: Option<u32>,
    #[serde(default)]
    pub instructor: Option<String>,
}

/// Changes a run's capacity (never below the places given) or instructor (an active
/// instructor here), as `who`. Setting a value the hub set apart is how a contested one is
/// chosen; either way the change is audited.
pub fn change_run(lan: &Lan, who: &Staff, run: &str, c: &RunChange) -> ApiResult<Staged<()>> {
    if !who.has(RUN_MAKERS) {
        return Err(ApiError::forbidden(
            "only an instructor or the facility manager changes programme runs",
        ));
    }
    let id = pathway_shared::model::run_id(&lan.facility, run);
    let the_run = lan
        .store
        .get::<ProgrammeRun>(&id)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run `{run}` here")))?;
    if c.capacity.is_none() && c.instructor.is_none() {
        return Err(ApiError::field_words("capacity", "input.nothing", vec![]));
    }
    if let Some(n) = c.capacity {
        let least = the_run.allocated().max(1);
        if (n as usize) < least || n > MAX_CAPACITY {
            return Err(ApiError::field_words(
                "capacity",
                "input.between",
                vec![
                    ("min", least.to_string()),
                    ("max", MAX_CAPACITY.to_string()),
                ],
            ));
        }
    }
    let instructor = match c.instructor.as_deref().map(str::trim) {
        Some(u) if !u.is_empty() => {
            let ok = lan
                .store
                .get::<StaffAccount>(&staff_id(&lan.facility, u))?
                .is_some_and(|s| !s.disabled && s.roles.contains(&Role::Instructor));
            if !ok {
                return Err(ApiError::field_words(
                    "instructor",
                    "input.no_instructor",
                    vec![("value", u.chars().take(40).collect())],
                ));
            }
            Some(u.to_owned())
        }
        _ => None,
    };
    let now = lan.clock.now();
    lan.audited_edit::<ProgrammeRun, _>(who, "change_run", &id, now, |e| {
        if let Some(n) = c.capacity {
            e.put(&["capacity"], &n)?;
        }
        if let Some(u) = &instructor {
            e.put(&["instructor"], u)?;
        }
        Ok(())
    })
}

pub(super) async fn change_run_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(run): Path<String>,
    body: Result<Json<RunChange>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(c) = body?;
    blocking_durable(move || change_run(&lan, &who, &run, &c)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The weekday codes and their words' keys, for forms.
pub fn day_codes() -> impl Iterator<Item = &'static str> {
    DAY_CODES.iter().map(|(c, _)| *c)
}
