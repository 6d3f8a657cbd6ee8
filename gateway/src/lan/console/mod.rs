//! The staff web console: server-rendered pages with plain forms, for old browsers and low-end
//! devices. Nothing is loaded from outside the gateway (no scripts, fonts or stylesheets from
//! elsewhere; the few styles are inline). Every string comes from [`messages`]. This file holds
//! the layout, log-in and attendance pages; [`people`] holds finding people and their case files.

use std::sync::Arc;

use axum::Form;
use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::CookieJar;
use maud::{DOCTYPE, Markup, html};
use pathway_shared::model::Role;
use serde::Deserialize;

mod caseload;
mod casework;
mod class_list;
mod contests;
mod homes;
mod intake;
mod leaving;
mod people;
mod print;
mod runs;
mod sessions;
mod staff;
mod timetable;
mod words;

use casework::{
    enrolment_end_form, goal_form, need_form, new_referral_form, note_form, referral_form,
};
use people::{people, person_page};
use sessions::{session_form, session_page, today};

use super::auth::Staff;
use super::messages::{Lang, t, tf};
use super::{ApiError, Lan};
use crate::uplink::UplinkStatus;
use pathway_shared::model::Millis;
use pathway_shared::status::Expiry;

const LANG_COOKIE: &str = "pathway_lang";

const CSS: &str = "body{font-family:sans-serif;margin:0;max-width:60em}header{background:#234;color:#fff;padding:.5em 1em}header a,header button{color:#fff;margin-right:1em}header button{background:none;border:1px solid #fff}main{padding:1em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}.ok{background:#dfd;padding:.5em}.err{background:#fdd;padding:.5em}.sync{font-size:90%;opacity:.9}textarea{width:100%}input,select{max-width:100%}form.inline{display:inline}.late{color:#a00;font-weight:bold}.conflict{background:#ffd;padding:.5em;border:1px solid #cc8}.due{color:#a00}.warn{background:#fd8;color:#000;padding:.3em .5em;margin-top:.3em}tr.day th{background:#eef}.slot{margin:.2em 0}.marked{padding:0 .3em}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}dl.facts dd{margin:0}@media(max-width:40em){table{display:block;overflow-x:auto}header a{display:inline-block;margin:.2em .6em .2em 0}dl.facts{grid-template-columns:1fr}}";

/// The language chosen (the cookie), or the facility's first language.
fn lang(headers: &HeaderMap, lan: &Lan) -> Lang {
    CookieJar::from_headers(headers)
        .get(LANG_COOKIE)
        .map_or_else(
            || Lang::first_in(lan.zone.iana_name()),
            |c| Lang::from_code(c.value()),
        )
}

/// "3 h", in the page's language.
pub(super) fn ago(l: Lang, now: i64, then: i64) -> String {
    let secs = (now - then).max(0) / 1_000;
    let (key, n) = match secs {
        0..120 => ("unit.s", secs),
        120..7_200 => ("unit.min", secs / 60),
        7_200..172_800 => ("unit.h", secs / 3_600),
        _ => ("unit.days", secs / 86_400),
    };
    tf(l, key, &[("n", &n.to_string())])
}

/// The sync state in words: "Last reached the hub 3 h ago; 41 changes waiting".
fn sync_line(st: &UplinkStatus, now: Millis, l: Lang) -> String {
    let mut parts = Vec::new();
    parts.push(match st.sync.last_delivered.iter().flatten().max() {
        Some(at) => tf(l, "sync.reached", &[("ago", &ago(l, now, *at))]),
        None if st.sync.last_contact.is_none() => t(l, "sync.never").to_owned(),
        None => t(l, "sync.not_reached").to_owned(),
    });
    let waiting: u64 = st.sync.outgoing.iter().map(|b| b.changes).sum();
    parts.push(match waiting {
        0 => t(l, "sync.nothing_waiting").to_owned(),
        1 => t(l, "sync.waiting_one").to_owned(),
        n => tf(l, "sync.waiting", &[("n", &n.to_string())]),
    });
    parts.push(
        t(
            l,
            if st.hearing(now) {
                "sync.online"
            } else if st.online {
                "sync.silent"
            } else {
                "sync.offline"
            },
        )
        .to_owned(),
    );
    parts.join("; ")
}

/// For facility IT and the manager: the gateway's certificate is due for renewal or expired.
fn certificate_line(lan: &Lan, l: Lang) -> Option<String> {
    let at = lan.certificate.expires()?;
    let date = words::date(l, &pathway_shared::model::date_of_ms(at));
    let now = lan.clock.now();
    let days = pathway_shared::status::days_left(at, now).to_string();
    match Expiry::of(at, now) {
        Expiry::Valid => None,
        Expiry::Soon => Some(tf(l, "sync.cert_soon", &[("date", &date), ("n", &days)])),
        Expiry::Expired => Some(tf(l, "sync.cert_expired", &[("date", &date)])),
    }
}

fn page(lan: &Lan, l: Lang, who: Option<&Staff>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t(l, "app.name")) }
                style { (CSS) }
            }
            body {
                header {
                    strong { (t(l, "app.name")) } " "
                    @if let Some(w) = who {
                        @if w.has(crate::lan::homes::SUMMARY_READERS) {
                            a href="/summary" { (t(l, "nav.summary")) }
                            " " a href="/indicators" { (t(l, "nav.indicators")) }
                        }
                        @if w.has(&[Role::HealthStaff]) { a href="/health" { (t(l, "nav.health")) } }
                        a href="/today" { (t(l, "nav.today")) }
                        a href="/people" { (t(l, "nav.people")) }
                        a href="/runs" { (t(l, "nav.runs")) }
                        a href="/timetable" { (t(l, "nav.timetable")) }
                        @if w.has(&[Role::CaseOfficer, Role::FacilityManager]) {
                            a href="/caseload" { (t(l, "nav.caseload")) }
                        }
                        @if w.has(intake::RECORDS) {
                            a href="/admit" { (t(l, "nav.admit")) }
                        }
                        @if w.has(crate::lan::password::RESETTERS) {
                            a href="/staff" { (t(l, "nav.staff")) }
                        }
                        form.inline method="post" action="/logout" {
                            button type="submit" { (t(l, "nav.logout")) " (" (w.display_name) ")" }
                        }
                    }
                    " " (t(l, "lang.label")) ": "
                    a href="/lang/en" { "English" }
                    a href="/lang/th" { "ไทย" }
                    @if who.is_some() {
                        div.sync id="sync" { (sync_line(&lan.uplink.borrow(), lan.clock.now(), l)) }
                        @if lan.uplink.borrow().two_boxes.as_ref().is_some_and(|t| t.stands(lan.clock.now())) {
                            div.warn id="two-boxes" { (t(l, "sync.two_boxes")) }
                        }
                        @if who.is_some_and(|w| w.has(&[Role::FacilityIt, Role::FacilityManager])) {
                            @if let Some(warning) = certificate_line(lan, l) {
                                div.warn id="certificate" { (warning) }
                            }
                        }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A refusal as a page, in the staff member's language where the refusal has words.
fn fail(lan: &Lan, l: Lang, who: Option<&Staff>, e: ApiError) -> Response {
    let field = e.field.as_deref().map(|f| words::code(l, "field", f));
    // A refusal with words is said in the page's language; one without has a headline by its
    // status in the page's language, then the detail as the API gives it.
    let (headline, detail) = match &e.words {
        Some((key, args)) => {
            let refs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
            (tf(l, key, &refs), None)
        }
        None => (
            words::code(l, "status", &e.status.as_u16().to_string()),
            Some(e.message.clone()),
        ),
    };
    let body = html! {
        p.err id="error" {
            @if let Some(f) = field { strong { (f) } ": " }
            (headline)
            @if let Some(d) = detail { br; small { (d) } }
        }
        p { a href="/today" { (t(l, "error.back")) } }
    };
    (e.status, page(lan, l, who, t(l, "error.title"), body)).into_response()
}

/// Runs one write for the page `{base}/{id}` (a run's, a person's) as `who` and sends the
/// browser back to it saying what was saved, or shows the refusal in the staff member's
/// language.
async fn write_then_back<T: Send + 'static>(
    lan: Arc<Lan>,
    who: Staff,
    l: Lang,
    (base, id): (&'static str, String),
    saved: &str,
    write: impl FnOnce(&Lan, &Staff, &str) -> super::ApiResult<super::Staged<T>> + Send + 'static,
) -> Response {
    let (lan2, who2, id2) = (lan.clone(), who.clone(), id.clone());
    match super::blocking_durable(move || write(&lan2, &who2, &id2)).await {
        Ok(_) => Redirect::to(&format!("{base}/{id}?saved={saved}")).into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}

/// Why the last log-in did not open a session.
enum Refused {
    /// Wrong username or password.
    Failed,
    /// The device or username must wait, or the gateway is busy: try again in this many seconds.
    Wait(i64),
}

fn login_page_html(lan: &Lan, l: Lang, refused: Option<Refused>) -> Markup {
    page(
        lan,
        l,
        None,
        t(l, "login.title"),
        html! {
            @match refused {
                Some(Refused::Failed) => p.err id="error" { (t(l, "login.failed")) },
                Some(Refused::Wait(s)) => p.err id="error" { (tf(l, "login.wait", &[("s", &s.to_string())])) },
                None => {}
            }
            form method="post" action="/login" {
                p { label { (t(l, "login.username")) br; input type="text" name="username" autofocus maxlength=(super::login::MAX_USERNAME_CHARS); } }
                p { label { (t(l, "login.password")) br; input type="password" name="password"; } }
                input type="hidden" name="lang" value=(l.code());
                p { button type="submit" id="login" { (t(l, "login.submit")) } }
            }
        },
    )
}

async fn login_page(State(lan): State<Arc<Lan>>, l: Lang) -> Markup {
    login_page_html(&lan, l, None)
}

#[derive(Deserialize)]
struct LoginForm {
    username: String,
    password: String,
    #[serde(default)]
    lang: String,
}

async fn login_form(
    State(lan): State<Arc<Lan>>,
    client: super::login::Client,
    Form(f): Form<LoginForm>,
) -> Response {
    let l = Lang::from_code(&f.lang);
    match super::login::log_in(lan.clone(), client, f.username, f.password).await {
        Ok((token, _)) => (
            AppendHeaders([
                (header::SET_COOKIE, super::session_cookie(&token)),
                (
                    header::SET_COOKIE,
                    format!("{LANG_COOKIE}={}; SameSite=Strict; Path=/", l.code()),
                ),
            ]),
            Redirect::to("/today"),
        )
            .into_response(),
        Err(e) if e.status == StatusCode::UNAUTHORIZED || e.field.is_some() => (
            StatusCode::UNAUTHORIZED,
            login_page_html(&lan, l, Some(Refused::Failed)),
        )
            .into_response(),
        Err(e) if e.retry_after.is_some() => {
            let s = e.retry_after.unwrap_or(1);
            let mut resp =
                (e.status, login_page_html(&lan, l, Some(Refused::Wait(s)))).into_response();
            resp.headers_mut().insert(header::RETRY_AFTER, s.into());
            resp
        }
        Err(e) => fail(&lan, l, None, e),
    }
}

fn password_html(lan: &Lan, l: Lang, error: Option<&str>) -> Markup {
    page(
        lan,
        l,
        None,
        t(l, "password.title"),
        html! {
            p { (t(l, "password.must")) }
            @if let Some(key) = error { p.err id="error" { (t(l, key)) } }
            form method="post" action="/password" {
                p { label { (t(l, "password.current")) br; input type="password" name="current_password" autocomplete="current-password" required; } }
                p { label { (t(l, "password.new")) br; input type="password" name="new_password" autocomplete="new-password" minlength=(pathway_shared::crypt::MIN_PASSWORD_CHARS) required; } }
                p { label { (t(l, "password.repeat")) br; input type="password" name="repeat" autocomplete="new-password" required; } }
                p { button type="submit" id="save-password" { (t(l, "password.submit")) } }
            }
        },
    )
}

async fn password_page(State(lan): State<Arc<Lan>>, l: Lang, headers: HeaderMap) -> Response {
    match super::password::session(&lan, &headers) {
        Ok(_) => password_html(&lan, l, None).into_response(),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    repeat: String,
}

async fn password_form(
    State(lan): State<Arc<Lan>>,
    client: super::login::Client,
    l: Lang,
    headers: HeaderMap,
    Form(f): Form<PasswordForm>,
) -> Response {
    let Ok((_, who)) = super::password::session(&lan, &headers) else {
        return Redirect::to("/login").into_response();
    };
    if f.new_password != f.repeat {
        let page = password_html(&lan, l, Some("password.mismatch"));
        return (StatusCode::UNPROCESSABLE_ENTITY, page).into_response();
    }
    match super::password::change(lan.clone(), client, who, f.current_password, f.new_password)
        .await
    {
        Ok(t) => (
            [(header::SET_COOKIE, super::session_cookie(&t))],
            Redirect::to("/today"),
        )
            .into_response(),
        Err(e) => {
            let key = e.words.as_ref().map_or("password.short", |w| w.0);
            (e.status, password_html(&lan, l, Some(key))).into_response()
        }
    }
}

async fn logout_form(State(lan): State<Arc<Lan>>, headers: HeaderMap) -> Response {
    if let Some(t) = super::token(&headers) {
        lan.sessions.logout(&t);
    }
    (
        [(
            header::SET_COOKIE,
            "pathway_session=; Max-Age=0; Path=/".to_owned(),
        )],
        Redirect::to("/login"),
    )
        .into_response()
}

async fn set_lang(Path(code): Path<String>) -> Response {
    let l = Lang::from_code(&code);
    (
        [(
            header::SET_COOKIE,
            format!("{LANG_COOKIE}={}; SameSite=Strict; Path=/", l.code()),
        )],
        Redirect::to("/today"),
    )
        .into_response()
}

/// The staff member, or the log-in page.
/// Who is looking at a page, and in which language. Anyone not logged in is sent to the
/// log-in page before the handler runs.
pub(super) struct Viewer {
    pub(super) who: Staff,
    pub(super) l: Lang,
}

impl FromRequestParts<Arc<Lan>> for Viewer {
    type Rejection = Redirect;

    async fn from_request_parts(parts: &mut Parts, lan: &Arc<Lan>) -> Result<Viewer, Redirect> {
        let who = super::staff(lan, &parts.headers).map_err(|e| {
            // Logged in with a one-time password: the password page first.
            Redirect::to(if e.status == StatusCode::FORBIDDEN {
                "/password"
            } else {
                "/login"
            })
        })?;
        Ok(Viewer {
            who,
            l: lang(&parts.headers, lan),
        })
    }
}

/// The page's language, from the language cookie (the facility's first language if there is
/// none).
impl FromRequestParts<Arc<Lan>> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        lan: &Arc<Lan>,
    ) -> Result<Lang, Self::Rejection> {
        Ok(lang(&parts.headers, lan))
    }
}

/// Each role's home is its own work: the manager, the facility's summary; those who mark
/// attendance, today's sessions; a case officer, the caseload; health staff, their health
/// work; facility IT, the staff accounts; everyone else, finding a person.
async fn home(Viewer { who, .. }: Viewer) -> Redirect {
    let to = if who.has(crate::lan::homes::SUMMARY_READERS) {
        "/summary"
    } else if who.has(crate::lan::attendance::MARKERS) {
        "/today"
    } else if who.has(&[Role::CaseOfficer]) {
        "/caseload"
    } else if who.has(&[Role::HealthStaff]) {
        "/health"
    } else if who.has(&[Role::FacilityIt]) {
        "/staff"
    } else {
        "/people"
    };
    Redirect::to(to)
}

#[derive(Deserialize, Default)]
struct Saved {
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    q: Option<String>,
}

/// The console's routes.
pub(super) fn routes() -> Router<Arc<Lan>> {
    Router::new()
        .route("/", get(home))
        .route("/login", get(login_page).post(login_form))
        .route("/logout", post(logout_form))
        .route("/password", get(password_page).post(password_form))
        .route("/lang/{code}", get(set_lang))
        .route("/today", get(today))
        .route(
            "/sessions/{run}/{month}/{session}",
            get(session_page).post(session_form),
        )
        .route("/people", get(people))
        .route("/timetable", get(timetable::timetable_page))
        .route("/summary", get(homes::summary_page))
        .route("/indicators", get(homes::indicators_page))
        .route("/indicators.csv", get(homes::indicators_csv))
        .route("/health", get(homes::health_page))
        .route("/caseload", get(caseload::caseload_page))
        .route("/caseload/by-unit", post(caseload::by_unit_form))
        .route("/staff", get(staff::staff_page))
        .route("/staff/{username}/reset", post(staff::reset_form))
        .route("/runs", get(runs::runs_page))
        .route(
            "/runs/new",
            get(runs::new_run_page).post(runs::new_run_form),
        )
        .route("/runs/{run}", get(runs::run_page))
        .route("/runs/{run}/allocate", post(class_list::allocate_form))
        .route("/runs/{run}/waiting-list", post(class_list::add_form))
        .route("/runs/{run}/end", post(class_list::end_form))
        .route("/runs/{run}/print", get(print::print_page))
        .route(
            "/runs/{run}/edit",
            get(runs::change_page).post(runs::change_form),
        )
        .route("/runs/{run}/sessions", post(runs::session_change_form))
        .route("/admit", get(intake::admit_page).post(intake::admit_form))
        .route("/people/{person}/placement", post(intake::placement_post))
        .route("/people/{person}", get(person_page))
        .route("/people/{person}/notes", post(note_form))
        .route("/people/{person}/referrals/{referral}", post(referral_form))
        .route("/people/{person}/referrals", post(new_referral_form))
        .route("/people/{person}/needs", post(need_form))
        .route("/people/{person}/goals", post(goal_form))
        .route("/people/{person}/plan/{item}", post(leaving::plan_form))
        .route("/people/{person}/transfer", post(leaving::transfer_form))
        .route("/people/{person}/release", post(leaving::release_form))
        .route("/people/{person}/case-officer", post(leaving::officer_form))
        .route(
            "/people/{person}/enrolments/{enrolment}/end",
            post(enrolment_end_form),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_counts_what_waits_in_words() {
        let mut st = UplinkStatus::default();
        let line = |st: &UplinkStatus, l| sync_line(st, 1_000, l);
        assert!(line(&st, Lang::En).contains("nothing waiting"));
        st.sync.outgoing[1].changes = 1;
        assert!(
            line(&st, Lang::En).contains("1 change waiting;"),
            "{}",
            line(&st, Lang::En)
        );
        st.sync.outgoing[2].changes = 2;
        assert!(line(&st, Lang::En).contains("3 changes waiting"));
        assert!(line(&st, Lang::Th).contains("รอส่ง 3 รายการ"));
    }
}
