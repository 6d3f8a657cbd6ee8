//! The gateway's LAN service for staff: a JSON API over HTTPS (rustls), served from the
//! facility's own store, so it works with the outside link down. Every request names its staff
//! member (a session token from `POST /api/login`, as a bearer token or the `pathway_session`
//! cookie); what they may see and do follows their roles. Every write, and every read of a case
//! file, is in the audit trail before the answer goes out.

pub mod auth;
mod console;
pub mod messages;
pub mod records;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use automerge::ROOT;
use autosurgeon::hydrate_prop;
use pathway_shared::model::{
    Aggregate, AttendanceRegister, CaseFile, CaseNote, Class, DocId, Kind, Mark, MarkOutcome,
    Millis, NoteType, Referral, ReferralStatus, RegisterSession, Role, case_id, register_id,
    run_id,
};
use pathway_shared::store::{Editor, Pending, Store, StoreError};
use pathway_shared::transport::now_ms;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::audit::Audit;
use crate::lock;
use crate::uplink::{HUB, UplinkStatus};
use auth::{LoginError, Sessions, Staff};

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 << 10;
const COOKIE: &str = "pathway_session";

/// What the LAN service runs on.
pub struct Lan {
    pub store: Store,
    pub facility: String,
    pub sessions: Sessions,
    pub audit: Audit,
    pub uplink: watch::Receiver<UplinkStatus>,
    /// The sessions open for marking, as last computed: they change with the schedule, not
    /// with marks, so a few seconds' reuse spares reading every register on each request.
    pub open_sessions: OpenSessions,
    /// The facility's offset from UTC (`link.utc_offset`): "today" is the facility's day.
    pub utc_offset_minutes: i32,
}

impl Lan {
    /// Edits a document as `who` and records `action` on it in the audit trail, as one batch:
    /// a refused edit leaves no entry, and a failed entry leaves no edit. The answer waits for
    /// the flush that covers both (see [`blocking_durable`]).
    pub fn audited_edit<T: Aggregate, R>(
        &self,
        who: &Staff,
        action: &str,
        id: &DocId,
        now: Millis,
        f: impl FnOnce(&mut Editor<'_, '_>) -> ApiResult<R>,
    ) -> ApiResult<Staged<R>> {
        let (value, pending) =
            self.audit
                .stage_with::<T, R, ApiError>(&who.username, action, id, now, f)?;
        Ok(Staged { value, pending })
    }
}

/// An answer whose writes are in sled but not yet on disk.
pub struct Staged<T> {
    value: T,
    pending: Pending,
}

impl<T> Staged<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Staged<U> {
        Staged {
            value: f(self.value),
            pending: self.pending,
        }
    }
}

/// A refusal, as JSON: `{"error": "...", "field": "..."}`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
    field: Option<String>,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            field: None,
        }
    }

    fn field(field: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
            field: Some(field.to_owned()),
        }
    }

    fn forbidden(message: &str) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        if let StoreError::NotFound(id) = &e {
            let message = match id.as_str().strip_prefix("case/") {
                Some(person) => format!("no case file for person `{person}` at this facility"),
                None => format!("`{id}` is not at this facility"),
            };
            return ApiError::new(StatusCode::NOT_FOUND, message);
        }
        tracing::error!(error = %e, "store failure behind a LAN request");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the gateway's store failed; nothing was saved",
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        let status = match r.status() {
            StatusCode::PAYLOAD_TOO_LARGE => StatusCode::PAYLOAD_TOO_LARGE,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        // serde's message names the field: "missing field `text`", "unknown variant `x`".
        ApiError::new(status, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        // serde's message starts with the parameter: "page: invalid digit found in string".
        let text = r.body_text();
        let detail = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        let field = detail
            .split_once(": ")
            .map(|(f, _)| f)
            .filter(|f| f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: detail.to_owned(),
            field: field.map(str::to_owned),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        (self.status, Json(body)).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(b) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(b.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

/// The staff member behind a request.
pub fn staff(lan: &Lan, headers: &HeaderMap) -> ApiResult<Staff> {
    token(headers)
        .and_then(|t| lan.sessions.check(&t, now_ms()))
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first (POST /api/login)"))
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "request failed"))?
}

/// Runs store work that writes off the async threads, then answers once its writes are on
/// disk. The wait for the disk holds no thread: the store's few threads go on serving others.
async fn blocking_durable<T: Send + 'static>(
    f: impl FnOnce() -> ApiResult<Staged<T>> + Send + 'static,
) -> ApiResult<T> {
    let Staged { value, pending } = blocking(f).await?;
    pending.durable_async().await?;
    Ok(value)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    username: String,
    password: String,
}

/// Checks a staff member's password and opens a session, auditing the log-in or the failure.
/// Checks take turns (see [`auth::CHECKS`]). Wrong credentials are a 401, a locked username a
/// 429.
pub async fn log_in(
    lan: Arc<Lan>,
    username: String,
    password: String,
) -> ApiResult<(String, Staff)> {
    let _turn = auth::CHECKS.acquire().await.ok();
    blocking(move || {
        let now = now_ms();
        match lan
            .sessions
            .login(&lan.store, &lan.facility, &username, &password, now)
        {
            Ok(ok) => {
                lan.audit.record(&username, "login", &username, now)?;
                Ok(ok)
            }
            Err(LoginError::Store(e)) => Err(e.into()),
            Err(e) => {
                lan.audit
                    .record(&username, "login_failed", &username, now)?;
                let status = if matches!(e, LoginError::Throttled { .. }) {
                    StatusCode::TOO_MANY_REQUESTS
                } else {
                    StatusCode::UNAUTHORIZED
                };
                Err(ApiError::new(status, e.to_string()))
            }
        }
    })
    .await
}

/// The `Set-Cookie` value that carries a session token.
pub fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/")
}

async fn login(
    State(lan): State<Arc<Lan>>,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body?;
    let (token, staff) = log_in(lan, body.username, body.password).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&token))],
        Json(json!({ "token": token, "staff": staff })),
    )
        .into_response())
}

async fn logout(State(lan): State<Arc<Lan>>, headers: HeaderMap) -> StatusCode {
    if let Some(t) = token(&headers) {
        lan.sessions.logout(&t);
    }
    StatusCode::NO_CONTENT
}

async fn me(State(lan): State<Arc<Lan>>, headers: HeaderMap) -> ApiResult<Json<Staff>> {
    Ok(Json(staff(&lan, &headers)?))
}

/// Roles that see case content at all; facility IT sees none.
pub(super) const CASE_READERS: &[Role] = &[
    Role::PrisonOfficer,
    Role::Instructor,
    Role::CaseOfficer,
    Role::HealthStaff,
    Role::FacilityManager,
];

async fn read_case(
    State(lan): State<Arc<Lan>>,
    headers: HeaderMap,
    Path(person): Path<String>,
) -> ApiResult<Json<CaseFile>> {
    let who = staff(&lan, &headers)?;
    blocking_durable(move || open_case(&lan, &who, &person))
        .await
        .map(Json)
}

/// A case file as `who` may see it; the read is audited.
pub fn open_case(lan: &Lan, who: &Staff, person: &str) -> ApiResult<Staged<CaseFile>> {
    if !who.has(CASE_READERS) {
        return Err(ApiError::forbidden("your role does not include case files"));
    }
    let id = case_id(person);
    let Some(mut case) = lan.store.get::<CaseFile>(&id)? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no case file for person `{person}` at this facility"),
        ));
    };
    let pending = lan
        .audit
        .stage(&who.username, "read_case", id.as_str(), now_ms())?;
    case.redact(who.visibility());
    Ok(Staged {
        value: case,
        pending,
    })
}

/// A new case note, as staff write it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    pub text: String,
    #[serde(default)]
    pub note_type: Option<String>,
    #[serde(default)]
    pub restricted: bool,
}

fn note_type(s: Option<&str>) -> ApiResult<NoteType> {
    Ok(match s.unwrap_or("general") {
        "general" => NoteType::General,
        "education" => NoteType::Education,
        "work" => NoteType::Work,
        "resettlement" => NoteType::Resettlement,
        "safeguarding" => NoteType::Safeguarding,
        "health" => NoteType::Health,
        other => {
            return Err(ApiError::field(
                "note_type",
                format!(
                    "`{other}` is not one of general, education, work, resettlement, safeguarding, health"
                ),
            ));
        }
    })
}

/// Longest case note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

async fn add_note(
    State(lan): State<Arc<Lan>>,
    headers: HeaderMap,
    Path(person): Path<String>,
    body: Result<Json<NoteInput>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let who = staff(&lan, &headers)?;
    let Json(body) = body?;
    let id = blocking_durable(move || write_note(&lan, &who, &person, body)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "note": id }))))
}

/// Adds a case note as `who`; returns its id. Checked whole before anything is written.
pub fn write_note(
    lan: &Lan,
    who: &Staff,
    person: &str,
    body: NoteInput,
) -> ApiResult<Staged<String>> {
    if !who.has(&[Role::CaseOfficer, Role::FacilityManager, Role::HealthStaff]) {
        return Err(ApiError::forbidden("your role cannot add case notes"));
    }
    let text = body.text.trim().to_owned();
    if text.is_empty() {
        return Err(ApiError::field("text", "a note needs some text"));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::field(
            "text",
            format!("a note is at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    let kind = note_type(body.note_type.as_deref())?;
    if kind == NoteType::Health && !who.has(&[Role::HealthStaff]) {
        return Err(ApiError::field(
            "note_type",
            "only health staff write health notes",
        ));
    }
    if body.restricted && !who.has(&[Role::CaseOfficer, Role::FacilityManager]) {
        return Err(ApiError::field(
            "restricted",
            "only the case officer and the facility manager write restricted notes",
        ));
    }
    let now = now_ms();
    let id = case_id(person);
    let note_id = format!("{now}-{}", who.username);
    let note = CaseNote {
        author: who.username.clone(),
        at: now,
        facility_id: lan.facility.clone(),
        note_type: kind,
        text,
        restricted: body.restricted,
    };
    Ok(lan
        .audited_edit::<CaseFile, _>(who, "add_note", &id, now, |e| {
            Ok(e.put(&["notes", &note_id], &note)?)
        })?
        .map(|()| note_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkBody {
    person: String,
    outcome: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionMarks {
    marks: Vec<MarkBody>,
}

fn outcome(s: &str) -> Option<MarkOutcome> {
    Some(match s {
        "attended" => MarkOutcome::Attended,
        "absent_excused" => MarkOutcome::AbsentExcused,
        "absent_unexcused" => MarkOutcome::AbsentUnexcused,
        "refused" => MarkOutcome::Refused,
        "cancelled" => MarkOutcome::Cancelled,
        _ => return None,
    })
}

/// Marks a whole session in one request: every mark is written, or none.
async fn mark_session(
    State(lan): State<Arc<Lan>>,
    headers: HeaderMap,
    Path((run, month, session)): Path<(String, String, String)>,
    body: Result<Json<SessionMarks>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let who = staff(&lan, &headers)?;
    let Json(body) = body?;
    let marks = body
        .marks
        .into_iter()
        .map(|m| (m.person, m.outcome))
        .collect();
    let (marked, late) =
        blocking_durable(move || write_marks(&lan, &who, &run, &month, &session, marks)).await?;
    Ok(Json(json!({ "marked": marked, "late": late })))
}

/// Writes a session's marks, `(person, outcome)`, as `who`: all of them or, on any bad one,
/// none. Returns how many were written and how many fell after the edit window.
pub fn write_marks(
    lan: &Lan,
    who: &Staff,
    run: &str,
    month: &str,
    session: &str,
    input: Vec<(String, String)>,
) -> ApiResult<Staged<(usize, usize)>> {
    if !who.has(&[Role::Instructor, Role::PrisonOfficer, Role::FacilityManager]) {
        return Err(ApiError::forbidden("your role cannot mark attendance"));
    }
    if input.is_empty() {
        return Err(ApiError::field("marks", "no marks given"));
    }
    let mut marks = Vec::new();
    for (i, (person, o)) in input.iter().enumerate() {
        if person.trim().is_empty() {
            return Err(ApiError::field(
                &format!("marks[{i}].person"),
                "a person id is needed",
            ));
        }
        let o = outcome(o).ok_or_else(|| {
            ApiError::field(
                &format!("marks[{i}].outcome"),
                format!(
                    "`{o}` is not one of attended, absent_excused, absent_unexcused, refused, cancelled"
                ),
            )
        })?;
        marks.push((person.clone(), o));
    }
    let now = now_ms();
    let id = register_id(&lan.facility, run, month);
    let by = who.username.clone();
    let offset = lan.utc_offset_minutes;
    // Path edits: a register holds a month of marks, and only this session's change.
    // A missing register is a 404 naming it (from the store's NotFound).
    let late =
        lan.audited_edit::<AttendanceRegister, usize>(who, "mark_attendance", &id, now, |e| {
            let Some(s) = e.get::<RegisterSession>(&["sessions", session])? else {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("session `{session}` is not in the register for run `{run}`, {month}"),
                ));
            };
            let mut late = 0;
            for (person, o) in &marks {
                let mark = Mark::new(session, &s, person, *o, &by, now, offset)
                    .map_err(|err| ApiError::new(StatusCode::CONFLICT, err.to_string()))?;
                late += usize::from(mark.late);
                e.put(
                    &["marks", &AttendanceRegister::mark_key(session, person)],
                    &mark,
                )?;
            }
            Ok(late)
        })?;
    Ok(late.map(|late| (marks.len(), late)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferralMove {
    to: String,
    #[serde(default)]
    note: String,
}

fn referral_status(s: &str) -> Option<ReferralStatus> {
    Some(match s {
        "accepted" => ReferralStatus::Accepted,
        "in_progress" => ReferralStatus::InProgress,
        "completed" => ReferralStatus::Completed,
        "declined" => ReferralStatus::Declined,
        "cancelled" => ReferralStatus::Cancelled,
        _ => return None,
    })
}

async fn move_referral(
    State(lan): State<Arc<Lan>>,
    headers: HeaderMap,
    Path((person, referral)): Path<(String, String)>,
    body: Result<Json<ReferralMove>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let who = staff(&lan, &headers)?;
    let Json(body) = body?;
    let to = body.to.clone();
    blocking_durable(move || {
        advance_referral(&lan, &who, &person, &referral, &body.to, &body.note)
    })
    .await?;
    Ok(Json(json!({ "status": to })))
}

/// Moves a referral on as `who`. Only legal moves are allowed; only the case officer and the
/// facility manager move referrals. A referral marked urgent travels in the urgent class.
pub fn advance_referral(
    lan: &Lan,
    who: &Staff,
    person: &str,
    referral: &str,
    to: &str,
    note: &str,
) -> ApiResult<Staged<()>> {
    if !who.has(&[Role::CaseOfficer, Role::FacilityManager]) {
        return Err(ApiError::forbidden("your role cannot move referrals on"));
    }
    let to = referral_status(to).ok_or_else(|| {
        ApiError::field(
            "to",
            format!("`{to}` is not one of accepted, in_progress, completed, declined, cancelled"),
        )
    })?;
    let now = now_ms();
    let id = case_id(person);
    let path = ["referrals", referral];
    lan.audited_edit::<CaseFile, _>(who, "move_referral", &id, now, |e| {
        let Some(mut r) = e.get::<Referral>(&path)? else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no referral `{referral}` in this case file"),
            ));
        };
        r.advance(
            to,
            &format!("{now}-{}", who.username),
            &who.username,
            now,
            note,
        )
        .map_err(|t| ApiError::field("to", t.to_string()))?;
        if r.urgent {
            e.set_class(Class::Urgent);
        }
        e.put(&path, &r)?;
        Ok(())
    })
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
    /// A run's title for the console: programme and place.
    titles: HashMap<DocId, String>,
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
    let (_, today) = today_iso(now, lan.utc_offset_minutes);
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
                let title = run_title(&lan.store, v.key())?.unwrap_or_else(|| run.clone());
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
                    title: title.clone(),
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

/// "Programme · place" for a run, if the run is here.
fn run_title(store: &Store, run: &DocId) -> Result<Option<String>, StoreError> {
    Ok(store
        .read(run, |d, _| {
            let code = hydrate_prop::<_, String, _, _>(d, &ROOT, "programme_code").ok()?;
            let place = hydrate_prop::<_, String, _, _>(d, &ROOT, "place").ok()?;
            Some(format!("{code} · {place}"))
        })?
        .flatten())
}

async fn open_sessions(
    State(lan): State<Arc<Lan>>,
    headers: HeaderMap,
) -> ApiResult<Json<Vec<SessionRow>>> {
    staff(&lan, &headers)?;
    blocking(move || sessions_near(&lan, now_ms()).map(|r| Json(r.to_vec()))).await
}

/// The sync state in words, for every logged-in staff member.
async fn sync_words(
    State(lan): State<Arc<Lan>>,
    headers: HeaderMap,
) -> ApiResult<Json<serde_json::Value>> {
    staff(&lan, &headers)?;
    let st = lan.uplink.borrow().clone();
    Ok(Json(json!({ "summary": st.summary(HUB, now_ms()) })))
}

/// This API's OpenAPI description.
pub const OPENAPI: &str = include_str!("openapi.json");

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// The API routes.
pub fn router(lan: Arc<Lan>) -> Router {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/cases/{person}", get(read_case))
        .route("/api/cases/{person}/notes", post(add_note))
        .route(
            "/api/cases/{person}/referrals/{referral}/status",
            post(move_referral),
        )
        .route(
            "/api/registers/{run}/{month}/sessions/{session}/marks",
            post(mark_session),
        )
        .route("/api/sync", get(sync_words))
        .route("/api/openapi.json", get(openapi))
        .route("/api/sessions", get(open_sessions))
        .route("/api/runs", get(records::list_runs))
        .route("/api/runs/{run}/waiting-list", post(records::add_waiting))
        .route("/api/runs/{run}/allocate", post(records::allocate))
        .route(
            "/api/cases/{person}/release-plan/{item}",
            axum::routing::put(records::set_plan_item),
        )
        .route(
            "/api/cases/{person}/transfer-out",
            post(records::transfer_out),
        )
        .route("/api/cases/{person}/release", post(records::release))
        .route("/api/programmes", get(records::catalogue))
        .route("/api/cases", get(records::find_cases))
        .merge(console::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(lan)
}

/// Serves `app` over HTTPS on `addr` with `tls` until `cancel` fires. Returns the bound address.
pub fn serve_https(
    addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let config = axum_server::tls_rustls::RustlsConfig::from_config(tls);
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, config)?.handle(handle.clone());
    let task = tokio::spawn(async move {
        tokio::spawn(async move {
            cancel.cancelled().await;
            handle.graceful_shutdown(Some(std::time::Duration::from_secs(5)));
        });
        if let Err(e) = server.serve(app.into_make_service()).await {
            tracing::warn!(error = %e, "LAN service stopped");
        }
    });
    Ok((local, task))
}

#[cfg(test)]
mod tests {
    #[test]
    fn today_is_the_facilitys_day() {
        // 2026-11-23 20:30 UTC is already the 24th in Bangkok, still the 23rd in Windhoek.
        let now = 1_795_392_000_000 + 20 * 3_600_000 + 30 * 60_000;
        assert_eq!(super::today_iso(now, 0).0, "2026-11-23");
        assert_eq!(super::today_iso(now, 7 * 60).0, "2026-11-24");
        assert_eq!(super::today_iso(now, 2 * 60).0, "2026-11-23");
        assert_eq!(super::today_iso(now, -(21 * 60)).0, "2026-11-22");
    }
}
