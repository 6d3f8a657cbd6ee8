//! The gateway's LAN service for staff: a JSON API over HTTPS (rustls), served from the
//! facility's own store, so it works with the outside link down. Every request names its staff
//! member (a session token from `POST /api/login`, as a bearer token or the `pathway_session`
//! cookie); what they may see and do follows their roles. Every write, and every read of a case
//! file, is in the audit trail before the answer goes out.

pub mod attendance;
pub mod auth;
pub mod caseloads;
pub mod cases;
pub(crate) mod catching_up;
pub mod class_list;
mod console;
pub mod enrolments;
mod error;
pub mod find;
pub(crate) mod guard;
pub mod homes;
pub mod input;
pub mod intake;
pub mod login;
pub mod messages;
mod password;
pub mod records;
pub mod resettlement;
pub mod roster;
pub mod runs;
pub mod sensitive;

pub use attendance::{MarkInput, SessionRow, sessions_near, today_iso, write_marks};
use attendance::{OpenSessions, mark_session, open_sessions};
pub use cases::{
    GoalInput, MAX_NOTE_CHARS, NeedInput, NoteInput, ReferralInput, add_goal, advance_referral,
    assess, open_case, refer, write_note,
};
use cases::{add_goal_api, add_note, assess_api, move_referral, read_case, refer_api};
pub use error::ApiError;
use error::ApiResult;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use axum_extra::headers::authorization::Bearer;
use axum_extra::headers::{Authorization, HeaderMapExt};

use pathway_shared::clock::Clock;
use pathway_shared::model::{Aggregate, DocId, Kind, Millis, ReleaseRecord, Role};
use pathway_shared::store::{Editor, Pending, Store};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::watch;

use crate::audit::Audit;
use crate::uplink::{HUB, UplinkStatus};
use auth::{Sessions, Staff};

/// Largest request body accepted.
pub const MAX_BODY: usize = 64 << 10;
const COOKIE: &str = "pathway_session";

/// What the LAN service runs on.
pub struct Lan {
    pub store: Store,
    pub facility: String,
    pub sessions: Arc<Sessions>,
    /// What holds back guessing at log-in (`login.rs`); status reports it.
    pub guard: Arc<login::Guard>,
    pub audit: Arc<Audit>,
    pub uplink: watch::Receiver<UplinkStatus>,
    /// The sessions open for marking, as last computed: they change with the schedule, not
    /// with marks, so a few seconds' reuse spares reading every register on each request.
    pub open_sessions: OpenSessions,
    /// The facility's time zone (IANA, from its configuration or the national registry):
    /// "today", session days and every time shown are the facility's.
    pub zone: jiff::tz::TimeZone,
    /// Where every request reads "now": session expiry, log-in waits, the edit window, audit
    /// times.
    pub clock: Clock,
    /// Who is held here, for search and caseloads.
    pub roster: Arc<roster::Roster>,
    /// Which programmes are health content.
    pub health_programmes: sensitive::HealthProgrammes,
    /// The certificate this gateway presents to the hub: the console warns facility IT and the
    /// manager before it expires.
    pub certificate: Arc<crate::renewal::Presented>,
    /// The facility's indicators, counted from its documents as they change.
    pub indicators: Arc<pathway_shared::indicators::tracker::Tracker>,
}

impl Lan {
    /// How far the facility's clock is from UTC at `at` (ms since the epoch), in minutes, as its
    /// time zone says (summer time included).
    pub fn offset_minutes(&self, at: Millis) -> i32 {
        offset_minutes(&self.zone, at)
    }
}

pub use pathway_shared::model::offset_minutes;

impl Lan {
    /// Edits a document as `who` and records `action` on it in the audit trail, as one batch:
    /// a refused edit leaves no entry, and a failed entry leaves no edit. The answer waits for
    /// the flush that covers both (see [`blocking_durable`]). The case file of a person who was
    /// released is read-only here: it is held in the national record.
    pub fn audited_edit<T: Aggregate, R>(
        &self,
        who: &Staff,
        action: &str,
        id: &DocId,
        now: Millis,
        f: impl FnOnce(&mut Editor<'_, '_>) -> ApiResult<R>,
    ) -> ApiResult<Staged<R>> {
        let guarded = |e: &mut Editor<'_, '_>| {
            if T::KIND == Kind::CaseFile
                && let Some(Some(r)) = e.get::<Option<ReleaseRecord>>(&["release"])?
            {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "this person was released on {}; the case file is read-only and held in the national record",
                        r.on
                    ),
                ));
            }
            f(e)
        };
        let (value, pending) =
            self.audit
                .stage_with::<T, R, ApiError>(&who.username, action, id, now, guarded)?;
        if T::KIND == Kind::CaseFile {
            self.roster.refresh(&self.store, id)?;
        }
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

/// The session token: a bearer token (the API) or the session cookie (the console).
fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(Authorization(bearer)) = headers.typed_get::<Authorization<Bearer>>() {
        return Some(bearer.token().trim().to_owned());
    }
    CookieJar::from_headers(headers)
        .get(COOKIE)
        .map(|c| c.value().to_owned())
}

/// The staff member behind a request.
pub fn staff(lan: &Lan, headers: &HeaderMap) -> ApiResult<Staff> {
    let (_, who) = password::session(lan, headers)?;
    if who.must_change_password {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "choose your own password first (POST /api/password)",
        ));
    }
    Ok(who)
}

/// The logged-in staff member, as an extractor for API handlers: a request without a live
/// session is refused with a 401 before the handler runs.
impl FromRequestParts<Arc<Lan>> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, lan: &Arc<Lan>) -> ApiResult<Staff> {
        staff(lan, &parts.headers)
    }
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

/// The `Set-Cookie` value that carries a session token.
pub fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/")
}

async fn login(
    State(lan): State<Arc<Lan>>,
    client: login::Client,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body?;
    let (token, staff) = login::log_in(lan, client, body.username, body.password).await?;
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

async fn me(who: Staff) -> ApiResult<Json<Staff>> {
    Ok(Json(who))
}

/// Roles that see case content at all; facility IT sees none.
pub(super) const CASE_READERS: &[Role] = &[
    Role::PrisonOfficer,
    Role::RecordsOfficer,
    Role::Instructor,
    Role::CaseOfficer,
    Role::HealthStaff,
    Role::FacilityManager,
];

/// The sync state in words, for every logged-in staff member.
async fn sync_words(State(lan): State<Arc<Lan>>, _: Staff) -> ApiResult<Json<serde_json::Value>> {
    let st = lan.uplink.borrow().clone();
    Ok(Json(json!({ "summary": st.summary(HUB, lan.clock.now()) })))
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
        .route("/api/password", post(password::change_api))
        .route(
            "/api/staff/{username}/reset-password",
            post(password::reset_api),
        )
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/cases/{person}", get(read_case))
        .route("/api/cases/{person}/notes", post(add_note))
        .route(
            "/api/cases/{person}/needs/{domain}",
            axum::routing::put(assess_api),
        )
        .route("/api/cases/{person}/goals", post(add_goal_api))
        .route(
            "/api/cases/{person}/enrolments/{enrolment}/end",
            post(enrolments::end_api),
        )
        .route("/api/cases/{person}/referrals", post(refer_api))
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
        .route(
            "/api/runs",
            get(records::list_runs).post(runs::create_run_api),
        )
        .route("/api/runs/{run}", axum::routing::put(runs::change_run_api))
        .route("/api/runs/{run}/sessions", post(runs::change_session_api))
        .route(
            "/api/runs/{run}/waiting-list",
            post(class_list::add_waiting),
        )
        .route("/api/runs/{run}/allocate", post(class_list::allocate_api))
        .route(
            "/api/runs/{run}/eligibility/{person}",
            get(class_list::eligibility_api),
        )
        .route(
            "/api/cases/{person}/release-plan/{item}",
            axum::routing::put(resettlement::set_plan_item_api),
        )
        .route(
            "/api/cases/{person}/transfer-out",
            post(resettlement::transfer_out_api),
        )
        .route(
            "/api/cases/{person}/release",
            post(resettlement::release_api),
        )
        .route("/api/programmes", get(records::catalogue))
        .route("/api/cases", get(find::find_cases).post(intake::admit_api))
        .route("/api/caseload", get(find::caseload_api))
        .route("/api/caseloads", get(caseloads::caseloads_api))
        .route("/api/caseloads/by-unit", post(caseloads::assign_unit_api))
        .route(
            "/api/cases/{person}/case-officer",
            axum::routing::put(caseloads::assign_api),
        )
        .route(
            "/api/cases/{person}/placement",
            axum::routing::put(intake::place_api),
        )
        .merge(console::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(guard::guard))
        .with_state(lan)
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

    /// A note written at 23:30 UTC at a Thai facility is under the next local day, as the
    /// facility's time zone (not a hand-made offset) says.
    #[test]
    fn a_note_at_2330_utc_is_the_next_morning_in_bangkok() {
        let bangkok = jiff::tz::TimeZone::get("Asia/Bangkok").unwrap();
        let windhoek = jiff::tz::TimeZone::get("Africa/Windhoek").unwrap();
        // 2026-12-07 23:30 UTC.
        let at = 1_796_601_600_000 + 23 * 3_600_000 + 30 * 60_000;
        let off = super::offset_minutes(&bangkok, at);
        assert_eq!(off, 7 * 60);
        assert_eq!(super::today_iso(at, off).0, "2026-12-08");
        assert_eq!(
            super::today_iso(at, super::offset_minutes(&windhoek, at)).0,
            "2026-12-08"
        );
    }
}
