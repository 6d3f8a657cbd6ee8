//! The dashboard: server-rendered pages with plain forms, no scripts, in English or Thai (the
//! `pathway_lang` cookie, set by `/lang/th` and `/lang/en`). A form post riding on the session
//! cookie must come from these pages (same-site check).

use std::sync::Arc;

use axum::Form;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use pathway_shared::model::{Facility, Kind};
use pathway_shared::web::same_site;
use serde::Deserialize;

use super::api::{self, LoginBody};
use super::words::{Lang, field_word, lang, t, when};

mod audit;
mod fleet;
mod follow_ups;
pub(crate) mod indicators;
mod setup;
use super::{Admin, AdminError, AdminRole, AdminUser, blocking, token};

/// When a gateway's certificate expires; from 30 days ahead, marked with what to run.
fn certificate_words(l: Lang, gateway: &str, expires: Option<i64>, now: i64) -> Markup {
    use pathway_shared::status::Expiry;
    let Some(at) = expires else {
        return html! {};
    };
    let date = pathway_shared::model::date_of_ms(at);
    match Expiry::of(at, now) {
        Expiry::Valid => html! { (t(l, "cert_until")) " " (date) },
        due => html! {
            span.due id=(format!("renew-{gateway}")) {
                (t(l, if due == Expiry::Expired { "cert_expired" } else { "cert_expires" })) " " (date)
                " (" (pathway_shared::status::days_left(at, now)) " " (t(l, "days")) ")"
            }
            br;
            small { code { "pathway ca renew " (gateway) } }
        },
    }
}

/// The hub's own certificate, from 30 days before it expires: what happens then, and what to
/// run.
fn hub_certificate(l: Lang, expires: Option<i64>, now: i64) -> Markup {
    use pathway_shared::status::Expiry;
    let Some(at) = expires else {
        return html! {};
    };
    let key = match Expiry::of(at, now) {
        Expiry::Valid => return html! {},
        Expiry::Soon => "hub_cert_expires",
        Expiry::Expired => "hub_cert_expired",
    };
    html! {
        section #hub-certificate {
            p.due {
                (t(l, key)) " " (pathway_shared::model::date_of_ms(at))
                " (" (pathway_shared::status::days_left(at, now)) " " (t(l, "days")) ")."
            }
            p {
                (t(l, "hub_cert_then")) br;
                code { "pathway ca renew-cert hub.pem" } br;
                code { "systemctl reload pathway-hub" }
            }
        }
    }
}

fn page(l: Lang, who: Option<&AdminUser>, body: Markup) -> Markup {
    page_refreshing(l, who, body, None)
}

/// A page that reloads itself every `refresh` seconds (no scripts).
fn page_refreshing(l: Lang, who: Option<&AdminUser>, body: Markup, refresh: Option<u32>) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(if l == Lang::Th { "th" } else { "en" }) {
            head {
                meta charset="utf-8";
                @if let Some(s) = refresh { meta http-equiv="refresh" content=(s); }
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (t(l, "title")) }
                style { (CSS) }
            }
            body {
                header {
                    strong { (t(l, "title")) }
                    a href=(if l == Lang::Th { "/lang/en" } else { "/lang/th" }) { (t(l, "language")) }
                    @if let Some(w) = who {
                        nav {
                            a href="/" { (t(l, "nav_fleet")) }
                            @if w.role != AdminRole::SyncOperator {
                                a href="/facilities" { (t(l, "facilities")) }
                                a href="/programmes" { (t(l, "nav_programmes")) }
                                a href="/partners" { (t(l, "partners")) }
                                a href="/audit" { (t(l, "nav_audit")) }
                                a href="/indicators" { (t(l, "nav_indicators")) }
                            }
                            @if w.role == AdminRole::NationalAdmin {
                                a href="/follow-ups" { (t(l, "follow_ups")) }
                            }
                        }
                        span { (w.display_name) " (" (t(l, &format!("role_{}", w.role.code()))) ")" }
                        form method="post" action="/logout" { button { (t(l, "logout")) } }
                    }
                }
                main { (body) }
            }
        }
    }
}

const CSS: &str = "body{font-family:sans-serif;margin:0;color:#222}header{display:flex;gap:1em;\
align-items:center;padding:.6em 1em;background:#234;color:#fff}header a{color:#cde}\
header form{margin-left:auto}header nav a{margin-right:1em;white-space:nowrap}header{flex-wrap:wrap}header>a,header>span,header>strong{white-space:nowrap}main{padding:1em;max-width:90em}table{border-collapse:collapse;\
width:100%;margin-bottom:1.5em}td,th{border-bottom:1px solid #ccc;padding:.35em;text-align:left}\
section{overflow-x:auto}.err{color:#a00}.otp{font-size:1.4em;font-family:monospace;\
background:#ffd;padding:.3em}label{display:block;margin:.3em 0}.due{color:#a00;font-weight:bold}code{white-space:nowrap}\
.bad{color:#a00;font-weight:bold}.warn{color:#8a5a00}.ok{color:#070}\
.alert{border:3px solid #a00;padding:.5em 1em;margin:.5em 0 1em}form.row label,label.inline{display:inline-block;margin-right:1em}\
form.inline{display:inline}";

pub(super) fn routes() -> Router<Arc<Admin>> {
    Router::new()
        .route("/", get(dashboard))
        .route("/login", get(login_page).post(login_post))
        .route("/logout", post(logout_post))
        .route("/lang/{lang}", get(set_lang))
        .route("/ui/reviewed", post(reviewed_post))
        .route("/ui/programmes/{code}/withdraw", post(withdraw_post))
        .route("/ui/staff", post(staff_post))
        .route("/ui/gateways", post(register_post))
        .route("/gateways/{gateway}", get(fleet::gateway_page))
        .merge(setup::routes())
        .merge(audit::routes())
        .merge(indicators::routes())
        .merge(follow_ups::routes())
        .route("/ui/gateways/{gateway}/revoke", post(revoke_post))
}

async fn set_lang(Path(l): Path<String>) -> Response {
    let l = if l == "th" { "th" } else { "en" };
    (
        [(
            header::SET_COOKIE,
            format!("pathway_lang={l}; Path=/; SameSite=Strict; Secure"),
        )],
        Redirect::to("/"),
    )
        .into_response()
}

/// Why the log-in form is shown again.
enum Again {
    No,
    Wrong,
    /// Seconds to wait.
    Wait(i64),
}

fn login_form(l: Lang, again: Again) -> Markup {
    page(
        l,
        None,
        html! {
            h1 { (t(l, "login")) }
            @match again {
                Again::No => {}
                Again::Wrong => { p.err { (t(l, "wrong")) } }
                Again::Wait(s) => { p.err { (t(l, "wait")) " " (s) " " (t(l, "seconds")) } }
            }
            form method="post" action="/login" {
                label { (t(l, "username")) " " input name="username" autocomplete="username" required; }
                label { (t(l, "password")) " " input name="password" type="password" autocomplete="current-password" required; }
                button id="login" { (t(l, "login")) }
            }
        },
    )
}

async fn login_page(headers: HeaderMap) -> Markup {
    login_form(lang(&headers), Again::No)
}

async fn login_post(
    State(admin): State<Arc<Admin>>,
    client: pathway_shared::web::login::Client,
    headers: HeaderMap,
    form: Result<Form<LoginBody>, FormRejection>,
) -> Result<Response, AdminError> {
    let l = lang(&headers);
    let Form(b) = form?;
    match api::check_login(&admin, client, b).await? {
        api::LoggedIn::Yes(tok, _) => Ok((
            [(header::SET_COOKIE, api::session_cookie(&tok))],
            Redirect::to("/"),
        )
            .into_response()),
        api::LoggedIn::Wrong => {
            Ok((StatusCode::UNAUTHORIZED, login_form(l, Again::Wrong)).into_response())
        }
        api::LoggedIn::Wait(s) => {
            Ok((StatusCode::TOO_MANY_REQUESTS, login_form(l, Again::Wait(s))).into_response())
        }
    }
}

async fn logout_post(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Redirect {
    if same_site(&headers)
        && let Some(t) = token(&headers)
    {
        admin.sessions.logout(&t);
    }
    Redirect::to("/login")
}

/// The administrator of a page request, or the way to the log-in page.
async fn viewer(admin: &Arc<Admin>, headers: &HeaderMap) -> Result<AdminUser, Response> {
    let now = admin.clock.now();
    token(headers)
        .and_then(|t| admin.sessions.check(&admin.store, &t, now))
        .ok_or_else(|| Redirect::to("/login").into_response())
}

async fn dashboard(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let l = lang(&headers);
    let who = match viewer(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let status = (admin.status)();
    let a = admin.clone();
    let read = blocking(move || {
        let facilities = api::list::<Facility>(&a, "national", Kind::Facility)?;
        let revoked = crate::revoke::revoked(&a.store)?;
        let progress = setup::Progress::read(&a, &facilities)?;
        Ok((facilities, a.store.reviews()?, revoked, progress))
    })
    .await;
    let (facilities, reviews, revoked, progress) = match read {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    let admin_role = who.role == AdminRole::NationalAdmin;
    let name_of = |f: &str| {
        facilities
            .iter()
            .find(|x| x.id == f)
            .map_or(f.to_owned(), |x| {
                format!("{} ({f})", setup::facility_name(l, x))
            })
    };
    let body = html! {
        (hub_certificate(l, status.certificate_expires, status.now))
        @if admin_role { (setup::first_steps(l, &progress)) }
        (fleet::section(l, &status, &facilities, &revoked, admin_role))
        section {
            h2 { (t(l, "reviews")) }
            @if reviews.is_empty() { p { (t(l, "no_reviews")) } }
            @else {
                table {
                    tr { th { (t(l, "record")) } th { (t(l, "facility")) } th { (t(l, "what")) }
                         th { (t(l, "when")) } th { (t(l, "times")) } th {} }
                    @for r in &reviews {
                        tr {
                            td { (r.doc) }
                            td { (name_of(&r.facility)) }
                            td { (t(l, r.reason.code()))
                                 br; small { (r.detail) } }
                            td { (when(r.last_at)) }
                            td { (r.count) }
                            td {
                                @if let Some(done) = &r.reviewed {
                                    (t(l, "reviewed_by")) " " (done.by) ", " (when(done.at))
                                } @else if admin_role {
                                    form method="post" action="/ui/reviewed" {
                                        input type="hidden" name="key" value=(r.key);
                                        button { (t(l, "mark")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page_refreshing(l, Some(&who), body, Some(30)).into_response()
}

/// A refusal shown as a page.
fn refused(l: Lang, who: &AdminUser, e: AdminError) -> Response {
    let status = e.status;
    let body = html! {
        h1 { (t(l, "refused")) }
        @if let Some(f) = &e.field {
            p.err #field { (t(l, "field_wrong")) " «" (field_word(l, f)) "»" }
        }
        p.err { (e.message) }
        p { a href="/" { (t(l, "back")) } }
    };
    (status, page(l, Some(who), body)).into_response()
}

/// The administrator of a form post that came from these pages.
async fn poster(admin: &Arc<Admin>, headers: &HeaderMap) -> Result<AdminUser, Response> {
    if !same_site(headers) {
        return Err(
            AdminError::forbidden("this form was posted from another site").into_response(),
        );
    }
    viewer(admin, headers).await
}

#[derive(Deserialize)]
struct KeyForm {
    key: String,
}

async fn reviewed_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    form: Result<Form<KeyForm>, FormRejection>,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let result = match form {
        Ok(Form(f)) => api::mark_item(&admin, &who, f.key).await.map(drop),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

async fn withdraw_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(code): Path<String>,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    match api::withdraw(&admin, &who, code).await {
        Ok(_) => Redirect::to("/programmes").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

async fn staff_post(State(admin): State<Arc<Admin>>, headers: HeaderMap, body: String) -> Response {
    let l = lang(&headers);
    match poster(&admin, &headers).await {
        Ok(who) => setup::create_staff_from(&admin, &who, l, &body).await,
        Err(r) => r,
    }
}

#[derive(Deserialize)]
struct ReasonForm {
    reason: String,
}

async fn revoke_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(gateway): Path<String>,
    form: Result<Form<ReasonForm>, FormRejection>,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let result = match form {
        Ok(Form(f)) => api::revoke_gateway(&admin, &who, gateway, &f.reason)
            .await
            .map(drop),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => refused(l, &who, e),
    }
}

async fn register_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    form: Result<Form<api::NewGateway>, FormRejection>,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let result = match form {
        Ok(Form(f)) => api::register_gateway(&admin, &who, f).await.map(drop),
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(()) => Redirect::to("/").into_response(),
        Err(e) => refused(l, &who, e),
    }
}
