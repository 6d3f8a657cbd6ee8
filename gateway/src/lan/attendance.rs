//! Attendance: sessions open for marking and a session's marks in one request.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use automerge::ROOT;
use autosurgeon::hydrate_prop;
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    ABSENCE_REASONS, AttendanceRegister, DocId, Kind, Mark, MarkOutcome, Millis, Programme,
    ProgrammeRun, RegisterSession, Role, Tally, WaitStatus, from_code, programme_id, register_id,
    run_id,
};
use pathway_shared::store::{Store, StoreError};
use serde::Deserialize;
use serde_json::json;

use crate::lan::auth::Staff;
use crate::lan::{ApiError, ApiResult, Lan, Staged, blocking, blocking_durable};
use crate::lock;

/// One person's mark as given: an outcome code and, for an absence, a reason code.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct MarkInput {
    pub person: String,
    pub outcome: String,
    /// One of [`ABSENCE_REASONS`], or empty.
    #[serde(default)]
    pub reason: String,
    /// Entered afterwards from the printed register.
    #[serde(default)]
    pub from_paper: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SessionMarks {
    marks: Vec<MarkInput>,
}

/// Marks a whole session in one request: every mark is written, or none.
pub(super) async fn mark_session(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path((run, month, session)): Path<(String, String, String)>,
    body: Result<Json<SessionMarks>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Json(body) = body?;
    let marks = body.marks;
    let (marked, late) =
        blocking_durable(move || write_marks(&lan, &who, &run, &month, &session, marks)).await?;
    Ok(Json(json!({ "marked": marked, "late": late })))
}

/// Writes a session's marks as `who`: all of them or, on any bad one,
/// none. Returns how many were written and how many fell after the edit window.
/// Who marks attendance.
pub(crate) const MARKERS: &[Role] = &[Role::Instructor, Role::PrisonOfficer, Role::FacilityManager];

pub fn write_marks(
    lan: &Lan,
    who: &Staff,
    run: &str,
    month: &str,
    session: &str,
    input: Vec<MarkInput>,
) -> ApiResult<Staged<(usize, usize)>> {
    if !who.has(MARKERS) {
        return Err(ApiError::forbidden("your role cannot mark attendance"));
    }
    if input.is_empty() {
        return Err(ApiError::field("marks", "no marks given"));
    }
    // The run says who may be marked, and who may see its people: a health programme's
    // register is for health staff, the manager and its instructor.
    let the_run = lan
        .store
        .get::<ProgrammeRun>(&run_id(&lan.facility, run))?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run `{run}` here")))?;
    if !super::sensitive::may_see_people(&lan.health_programmes, &lan.store, who, &the_run)? {
        return Err(ApiError::forbidden(
            "the people of this run are health content: your role cannot mark its register",
        ));
    }
    let mut marks = Vec::new();
    for (
        i,
        MarkInput {
            person,
            outcome: o,
            reason,
            from_paper,
        },
    ) in input.iter().enumerate()
    {
        let field = format!("marks[{i}].person");
        if person.trim().is_empty() {
            return Err(ApiError::field(&field, "a person id is needed"));
        }
        let well_formed = person.len() <= 64
            && person
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !well_formed {
            return Err(ApiError::field(
                &field,
                "a person id holds up to 64 letters, digits and `-` (WHK-000123)",
            ));
        }
        let allocated = the_run
            .waiting_list
            .get(person)
            .is_some_and(|w| w.status == WaitStatus::Allocated);
        if !allocated {
            return Err(ApiError::field(
                &field,
                format!("{person} has no place on run `{run}`: allocate one first"),
            ));
        }
        let o = from_code::<MarkOutcome>(o).ok_or_else(|| {
            ApiError::field(
                &format!("marks[{i}].outcome"),
                format!(
                    "`{o}` is not one of attended, absent_excused, absent_unexcused, refused, cancelled"
                ),
            )
        })?;
        let reason = reason.trim();
        if !reason.is_empty() {
            let field = format!("marks[{i}].reason");
            super::input::one_of(&field, reason, &ABSENCE_REASONS)?;
            if matches!(o, MarkOutcome::Attended | MarkOutcome::Cancelled) {
                return Err(ApiError::field_words(&field, "input.reason_absent", vec![]));
            }
        }
        marks.push((person.clone(), o, reason.to_owned(), *from_paper));
    }
    let now = lan.clock.now();
    let id = register_id(&lan.facility, run, month);
    let by = who.username.clone();
    let offset = lan.offset_minutes(lan.clock.now());
    // Path edits: a register holds a month of marks, and only this session's change.
    // A missing register is a 404 naming it (from the store's NotFound).
    // Each mark's outcome before and after, to carry the register's count forward.
    let mut changed: Vec<(String, Option<MarkOutcome>, MarkOutcome)> = Vec::new();
    let started = begin_write(lan, &id);
    let late =
        lan.audited_edit::<AttendanceRegister, usize>(who, "mark_attendance", &id, now, |e| {
            changed.clear();
            let Some(s) = e.get::<RegisterSession>(&["sessions", session])? else {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("session `{session}` is not in the register for run `{run}`, {month}"),
                ));
            };
            let mut late = 0;
            for (person, o, reason, from_paper) in &marks {
                let mut mark = Mark::new(session, &s, person, *o, &by, now, offset)
                    .map_err(|err| ApiError::new(StatusCode::CONFLICT, err.to_string()))?;
                mark.reason.clone_from(reason);
                mark.from_paper = *from_paper;
                late += usize::from(mark.late);
                let key = AttendanceRegister::mark_key(session, person);
                let before = e.get::<Mark>(&["marks", &key])?.map(|m| m.outcome);
                e.put(&["marks", &key], &mark)?;
                changed.push((person.clone(), before, *o));
            }
            Ok(late)
        })?;
    carry_count(lan, &id, session, started, &changed);
    Ok(late.map(|late| (marks.len(), late)))
}

/// A session open for marking.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionRow {
    pub run: String,
    pub month: String,
    pub session: String,
    pub date: String,
    pub time: String,
    pub title: String,
    /// The run's instructor's username.
    pub instructor: String,
}

/// Today at the facility, `utc_offset_minutes` from UTC, as `YYYY-MM-DD` and as a date.
pub fn today_iso(now: i64, utc_offset_minutes: i32) -> (String, time::Date) {
    let local = now.saturating_add(i64::from(utc_offset_minutes) * 60_000);
    let d = time::OffsetDateTime::from_unix_timestamp(local.div_euclid(1_000))
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    (
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()),
        d,
    )
}

/// How long a computed list of open sessions is reused.
const OPEN_SESSIONS_TTL: Millis = 5_000;

/// The sessions open for marking, as last computed, and whether someone is computing them anew.
#[derive(Default)]
pub struct OpenSessions {
    rows: Mutex<Option<(Millis, Arc<Vec<SessionRow>>)>>,
    refreshing: std::sync::atomic::AtomicBool,
    read: Mutex<Option<SessionSources>>,
    /// Each register's attendance by person, as last counted: a run's page sums a year of
    /// registers, and loading each again would push case files out of the store's cache.
    /// Dropped for a register when marks or sessions are written here, and wholly once
    /// changes came from the hub.
    tallies: Mutex<Tallies>,
}

#[derive(Default)]
struct Tallies {
    /// [`Store::changes_from_peers`] when the counts were made.
    from_peers: u64,
    /// Counts each register's writes: a count made while the register was written is not kept.
    epochs: HashMap<DocId, u64>,
    by_register: HashMap<DocId, Arc<RegisterCounts>>,
}

/// What a run's page shows of one register: its sessions, and attendance by person
/// (cancelled sessions left out).
#[derive(Debug, Default)]
pub struct RegisterCounts {
    pub sessions: BTreeMap<String, RegisterSession>,
    pub tally: BTreeMap<String, Tally>,
    /// People marked at each session, by session id.
    pub marked: BTreeMap<String, usize>,
    /// The register's write count when this was counted.
    epoch: u64,
}

/// The sessions of register `id` and its attendance by person, as counted since the register
/// last changed here or at the hub; `None` if there is no register.
pub fn register_counts(lan: &Lan, id: &DocId) -> ApiResult<Option<Arc<RegisterCounts>>> {
    let from_peers = lan.store.changes_from_peers();
    let epoch = {
        let mut t = lock(&lan.open_sessions.tallies);
        if t.from_peers != from_peers {
            t.by_register.clear();
            t.from_peers = from_peers;
        }
        if let Some(found) = t.by_register.get(id) {
            return Ok(Some(found.clone()));
        }
        t.epochs.get(id).copied().unwrap_or(0)
    };
    count_register(lan, id, epoch, from_peers)
}

/// Counts register `id` and keeps the count if nothing wrote the register meanwhile.
fn count_register(
    lan: &Lan,
    id: &DocId,
    epoch: u64,
    from_peers: u64,
) -> ApiResult<Option<Arc<RegisterCounts>>> {
    let Some(reg) = lan.store.get::<AttendanceRegister>(id)? else {
        return Ok(None);
    };
    // A month of marks is large in memory; what is kept of it here is its counts.
    lan.store.unload(id);
    let mut tally = BTreeMap::new();
    reg.tally(&mut tally);
    let mut marked = BTreeMap::new();
    for m in reg.marks.values() {
        *marked.entry(m.session_id.clone()).or_default() += 1;
    }
    let counts = Arc::new(RegisterCounts {
        sessions: reg.sessions,
        tally,
        marked,
        epoch,
    });
    let mut t = lock(&lan.open_sessions.tallies);
    if t.epochs.get(id).copied().unwrap_or(0) == epoch && t.from_peers == from_peers {
        t.by_register.insert(id.clone(), counts.clone());
    }
    Ok(Some(counts))
}

/// Forgets register `id`'s count: its sessions changed here. A count being made meanwhile is
/// not kept.
pub(crate) fn forget_count(lan: &Lan, id: &DocId) {
    let mut t = lock(&lan.open_sessions.tallies);
    t.by_register.remove(id);
    *t.epochs.entry(id.clone()).or_default() += 1;
}

/// Marks the start of a write to register `id`: a count being made now is not kept. Returns
/// the write's number, for [`carry_count`].
fn begin_write(lan: &Lan, id: &DocId) -> u64 {
    let mut t = lock(&lan.open_sessions.tallies);
    let e = t.epochs.entry(id.clone()).or_default();
    *e += 1;
    *e
}

/// Carries register `id`'s count forward over marks just written here (person, outcome
/// before, outcome now) by the write that [`begin_write`] numbered `started`, without reading
/// the register again. Only a count made before that write began is carried; any other is
/// dropped, as it may or may not hold the write. Marks are written only at sessions that are
/// held, so each counts unless its outcome is "cancelled".
fn carry_count(
    lan: &Lan,
    id: &DocId,
    session: &str,
    started: u64,
    changed: &[(String, Option<MarkOutcome>, MarkOutcome)],
) {
    let counts = |o: MarkOutcome| {
        (
            u32::from(o != MarkOutcome::Cancelled),
            u32::from(o == MarkOutcome::Attended),
        )
    };
    let mut t = lock(&lan.open_sessions.tallies);
    let epoch = {
        let e = t.epochs.entry(id.clone()).or_default();
        *e += 1;
        *e
    };
    let Some(old) = t.by_register.remove(id) else {
        return;
    };
    if old.epoch >= started {
        return;
    }
    let mut tally = old.tally.clone();
    let mut marked = old.marked.clone();
    for (person, before, now) in changed {
        if before.is_none() {
            *marked.entry(session.to_owned()).or_default() += 1;
        }
        let entry = tally.entry(person.clone()).or_default();
        if let Some(b) = before {
            let (c, a) = counts(*b);
            entry.counted = entry.counted.saturating_sub(c);
            entry.attended = entry.attended.saturating_sub(a);
        }
        let (c, a) = counts(*now);
        entry.counted += c;
        entry.attended += a;
    }
    let sessions = old.sessions.clone();
    t.by_register.insert(
        id.clone(),
        Arc::new(RegisterCounts {
            sessions,
            tally,
            marked,
            epoch,
        }),
    );
}

/// What the last refresh read of registers and runs. The list shows what the hub schedules
/// (a register's sessions, a run's programme and place); nothing staff do on the LAN changes
/// those, and marks, which are written here all day, leave them as they are. So a refresh reads
/// again only registers it has not read, or everything once changes have come from the hub.
/// Loading a register (a month of marks) costs milliseconds and registers fall out of the
/// store's cache: reading all of them every few seconds took ~70 ms of CPU each time.
struct SessionSources {
    /// [`Store::changes_from_peers`] when they were read.
    from_peers: u64,
    /// Each register read; `None` if it lacks a field shown.
    registers: HashMap<DocId, Option<RegisterSessions>>,
    /// A run's title for the console (programme and place) and its instructor.
    titles: HashMap<DocId, (String, String)>,
}

/// Sessions of the last seven days and today, newest first: what may still be marked. Once
/// they are older than [`OPEN_SESSIONS_TTL`], a thread of its own computes them anew while
/// requests are served the last rows, so no request waits for a refresh.
pub fn sessions_near(lan: &Arc<Lan>, now: Millis) -> ApiResult<Arc<Vec<SessionRow>>> {
    use std::sync::atomic::Ordering;
    let cache = &lan.open_sessions;
    let last = lock(&cache.rows).clone();
    let Some((at, rows)) = last else {
        return refresh_sessions(lan, now);
    };
    if now - at >= OPEN_SESSIONS_TTL && !cache.refreshing.swap(true, Ordering::AcqRel) {
        let lan = lan.clone();
        std::thread::spawn(move || {
            if let Err(e) = refresh_sessions(&lan, now) {
                tracing::warn!(error = ?e, "open sessions not refreshed; the last ones stay");
            }
            lan.open_sessions.refreshing.store(false, Ordering::Release);
        });
    }
    Ok(rows)
}

fn refresh_sessions(lan: &Lan, now: Millis) -> ApiResult<Arc<Vec<SessionRow>>> {
    let mut read = lock(&lan.open_sessions.read);
    let rows = Arc::new(compute_sessions(lan, now, &mut read)?);
    *lock(&lan.open_sessions.rows) = Some((now, rows.clone()));
    Ok(rows)
}

fn compute_sessions(
    lan: &Lan,
    now: Millis,
    read: &mut Option<SessionSources>,
) -> ApiResult<Vec<SessionRow>> {
    let from_peers = lan.store.changes_from_peers();
    let read = match read {
        Some(r) if r.from_peers == from_peers => r,
        // Read before the documents: a change arriving meanwhile is read again next time.
        _ => read.insert(SessionSources {
            from_peers,
            registers: HashMap::new(),
            titles: HashMap::new(),
        }),
    };
    let (_, today) = today_iso(now, lan.offset_minutes(lan.clock.now()));
    let week_ago = today - time::Duration::days(7);
    let months: Vec<String> = [today, week_ago]
        .iter()
        .map(|d| format!("{:04}-{:02}", d.year(), u8::from(d.month())))
        .collect();
    let shown = |id: &DocId| months.iter().any(|m| id.as_str().ends_with(m.as_str()));
    // Registers of months no longer shown are let go.
    read.registers.retain(|id, _| shown(id));
    let registers = lan.store.list(
        &format!("facility:{}", lan.facility),
        Kind::AttendanceRegister,
    )?;
    let mut rows = Vec::new();
    for id in registers.into_iter().filter(|id| shown(id)) {
        let register = match read.registers.entry(id) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let fields = read_register_sessions(&lan.store, v.key())?;
                v.insert(fields)
            }
        };
        let Some((run, month, sessions)) = register else {
            continue;
        };
        let run_doc = run_id(&lan.facility, run);
        let title = match read.titles.entry(run_doc) {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(v) => {
                let title =
                    run_title(&lan.store, v.key())?.unwrap_or_else(|| (run.clone(), String::new()));
                v.insert(title)
            }
        };
        for (sid, s) in sessions.iter() {
            let Ok(d) = pathway_shared::model::parse_date(&s.date) else {
                continue;
            };
            if d <= today && d >= week_ago && !s.cancelled {
                rows.push(SessionRow {
                    run: run.clone(),
                    month: month.clone(),
                    session: sid.clone(),
                    time: format!("{}–{}", s.start_time, s.end_time),
                    date: s.date.clone(),
                    title: title.0.clone(),
                    instructor: title.1.clone(),
                });
            }
        }
    }
    rows.sort_by(|a, b| (&b.date, &b.time).cmp(&(&a.date, &a.time)));
    Ok(rows)
}

/// A register's run id, month and sessions, without its marks.
type RegisterSessions = (String, String, BTreeMap<String, RegisterSession>);

fn read_register_sessions(
    store: &Store,
    id: &DocId,
) -> Result<Option<RegisterSessions>, StoreError> {
    Ok(store
        .read(id, |d, _| {
            let run = hydrate_prop::<_, String, _, _>(d, &ROOT, "run_id").ok()?;
            let month = hydrate_prop::<_, String, _, _>(d, &ROOT, "month").ok()?;
            let sessions = hydrate_prop(d, &ROOT, "sessions").ok()?;
            Some((run, month, sessions))
        })?
        .flatten())
}

/// "Programme title · place" for a run, and its instructor, if the run is here.
fn run_title(store: &Store, run: &DocId) -> Result<Option<(String, String)>, StoreError> {
    let Some((code, place, instructor)) = store
        .read(run, |d, _| {
            let code = hydrate_prop::<_, String, _, _>(d, &ROOT, "programme_code").ok()?;
            let place = hydrate_prop::<_, String, _, _>(d, &ROOT, "place").ok()?;
            let instructor = hydrate_prop::<_, String, _, _>(d, &ROOT, "instructor").ok()?;
            Some((code, place, instructor))
        })?
        .flatten()
    else {
        return Ok(None);
    };
    let title = store
        .get::<Programme>(&programme_id(&code))?
        .map_or(code, |p| p.title);
    Ok(Some((format!("{title} · {place}"), instructor)))
}

pub(super) async fn open_sessions(
    State(lan): State<Arc<Lan>>,
    _: Staff,
) -> ApiResult<Json<Vec<SessionRow>>> {
    blocking(move || sessions_near(&lan, lan.clock.now()).map(|r| Json(r.to_vec()))).await
}
