//! Six weeks after release: the people a facility released in a month, each with the day their
//! follow-up is due and, for a national administrator, a short form for where they live and
//! whether they work, study or train. Recorded on the case file and audited; counted in the
//! release indicators.

use std::sync::Arc;

use axum::Form;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;
use pathway_shared::indicators::report::{Period, day_of};
use pathway_shared::model::{CaseFile, Facility, FollowUp, Kind, case_id, iso_date, parse_date};
use serde::Deserialize;

use super::{page, poster, refused, setup, viewer};
use crate::admin::api::{self, FollowUpBody};
use crate::admin::words::{lang, t};
use crate::admin::{Admin, AdminError, AdminRole, blocking};

pub(super) fn routes() -> Router<Arc<Admin>> {
    Router::new()
        .route("/follow-ups", get(follow_ups_page))
        .route("/follow-ups/{person}", post(follow_up_post))
}

#[derive(Deserialize, Default)]
struct Choice {
    #[serde(default)]
    facility: String,
    #[serde(default)]
    month: String,
}

/// One released person as the list shows them.
struct Line {
    person: String,
    name: String,
    number: String,
    released: String,
    due: String,
    follow_up: Option<FollowUp>,
}

async fn follow_ups_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let l = lang(&headers);
    let who = match viewer(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if who.role != AdminRole::NationalAdmin {
        return refused(
            l,
            &who,
            AdminError::forbidden("only a national administrator records follow-ups"),
        );
    }
    let Query(q) = q.unwrap_or_default();
    let now = admin.clock.now();
    // Unless asked, the month whose releases are due now.
    let month = match q.month.trim() {
        "" => Period::month_of(day_of(now - FollowUp::DUE_AFTER_DAYS * 86_400_000)),
        m => match Period::parse(m) {
            Some(p @ Period::Month(..)) => p,
            _ => {
                return refused(
                    l,
                    &who,
                    AdminError::field("month", format!("`{m}` is not a month (2026-10)")),
                );
            }
        },
    };
    let Some(tracker) = admin.indicators.get().cloned() else {
        return refused(
            l,
            &who,
            AdminError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "this hub does not count indicators",
            ),
        );
    };
    let (a, facility) = (admin.clone(), q.facility.trim().to_uppercase());
    let read = blocking(move || {
        tracker.catch_up()?;
        let facilities = api::list::<Facility>(&a, "national", Kind::Facility)?;
        let facility = match facility.as_str() {
            "" => facilities.first().map(|f| f.id.clone()).unwrap_or_default(),
            f => f.to_owned(),
        };
        let mut lines = Vec::new();
        for (person, _) in tracker.released(&facility, &month.code()) {
            let Some(c) = a.store.get::<CaseFile>(&case_id(&person))? else {
                continue;
            };
            let released = c.release.as_ref().map(|r| r.on.clone()).unwrap_or_default();
            let due = parse_date(&released)
                .ok()
                .and_then(|d| d.checked_add(time::Duration::days(FollowUp::DUE_AFTER_DAYS)))
                .map(iso_date)
                .unwrap_or_default();
            lines.push(Line {
                person,
                name: format!("{} {}", c.given_name, c.family_name),
                number: c.prison_number,
                released,
                due,
                follow_up: c.follow_up,
            });
        }
        lines.sort_by(|a, b| (&a.released, &a.name).cmp(&(&b.released, &b.name)));
        Ok((facilities, facility, lines))
    })
    .await;
    let (facilities, facility, lines) = match read {
        Ok(r) => r,
        Err(e) => return refused(l, &who, e),
    };
    let today = iso_date(day_of(now));
    let months = Period::month_of(day_of(now)).trend();
    let back = format!("facility={facility}&month={}", month.code());
    let body = html! {
        h1 { (t(l, "follow_ups")) }
        p { (t(l, "follow_ups_why")) }
        form.row method="get" action="/follow-ups" {
            label { (t(l, "facility")) " "
                select name="facility" {
                    @for f in &facilities {
                        option value=(f.id) selected[f.id == facility] { (setup::facility_name(l, f)) }
                    }
                }
            }
            label { (t(l, "released_in")) " "
                select name="month" {
                    @for m in months.iter().rev() {
                        option value=(m) selected[*m == month.code()] { (m) }
                    }
                }
            }
            button #show { (t(l, "show")) }
        }
        @if lines.is_empty() { p #none { (t(l, "no_releases")) } }
        @else {
            section { table #follow-ups {
                tr { th { (t(l, "person")) } th { (t(l, "released_on")) } th { (t(l, "due_on")) } th { (t(l, "six_weeks_on")) } }
                @for x in &lines {
                    tr id=(format!("follow-{}", x.person)) {
                        td { (x.name) br; small { (x.number) " · " (x.person) } }
                        td { (x.released) }
                        td { @if x.follow_up.is_none() && x.due <= today { strong.due { (x.due) } } @else { (x.due) } }
                        td {
                            @if let Some(f) = &x.follow_up {
                                span.ok { "✔ " (t(l, &format!("fu_acc_{}", f.accommodation))) "; "
                                    (t(l, "fu_ete")) ": " (t(l, &format!("fu_ete_{}", f.ete))) }
                                br; small { (f.on) " · " (f.by) @if !f.note.is_empty() { " · " (f.note) } }
                            } @else {
                                form.row method="post" action=(format!("/follow-ups/{}?{back}", x.person)) {
                                    label { (t(l, "fu_accommodation")) " "
                                        select name="accommodation" {
                                            @for c in FollowUp::ACCOMMODATION { option value=(c) { (t(l, &format!("fu_acc_{c}"))) } }
                                        }
                                    }
                                    label { (t(l, "fu_ete")) " "
                                        select name="ete" {
                                            @for c in FollowUp::ETE { option value=(c) { (t(l, &format!("fu_ete_{c}"))) } }
                                        }
                                    }
                                    label { (t(l, "fu_on")) " " input type="date" name="on" value=(today) max=(today); }
                                    label { (t(l, "fu_note")) " " input name="note" size="30"; }
                                    button.record { (t(l, "fu_record")) }
                                }
                            }
                        }
                    }
                }
            } }
        }
    };
    page(l, Some(&who), body).into_response()
}

#[derive(Deserialize)]
struct FollowUpForm {
    accommodation: String,
    ete: String,
    #[serde(default)]
    on: String,
    #[serde(default)]
    note: String,
}

async fn follow_up_post(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    Path(person): Path<String>,
    q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>,
    form: Result<Form<FollowUpForm>, FormRejection>,
) -> Response {
    let l = lang(&headers);
    let who = match poster(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let Query(q) = q.unwrap_or_default();
    let result = match form {
        Ok(Form(f)) => {
            let body = FollowUpBody {
                on: f.on,
                accommodation: f.accommodation,
                ete: f.ete,
                note: f.note,
            };
            api::record_follow_up(&admin, &who, &person, body).await
        }
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => Redirect::to(&format!(
            "/follow-ups?facility={}&month={}#follow-{person}",
            q.facility, q.month
        ))
        .into_response(),
        Err(e) => refused(l, &who, e),
    }
}
