//! The manager's facility summary and health staff's work, each the home of its role.

use std::sync::Arc;

use crate::lan::auth::Staff;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::html;
use pathway_shared::indicators::page as indicators_page_body;
use pathway_shared::indicators::view::{Names, Report};

use super::words::{code, when};
use super::{Viewer, fail, page};
use crate::lan::homes::{health_work, indicators, summary};
use crate::lan::messages::Lang;
use crate::lan::messages::{t, tf};
use crate::lan::{Lan, blocking, blocking_durable};

pub(super) async fn summary_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
) -> Response {
    let (lan2, who2) = (lan.clone(), who.clone());
    let s = match blocking(move || summary(&lan2, &who2)).await {
        Ok(s) => s,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let pct = (s.filled * 100).checked_div(s.places).unwrap_or(0);
    let row = |key: &str, n: usize, link: &'static str| {
        html! {
            tr {
                td { (t(l, key)) }
                td.n { @if n > 0 { strong.due { (n) } } @else { "0" } }
                td { a href=(link) { (t(l, "summary.open")) } }
            }
        }
    };
    let body = html! {
        dl.facts id="summary" {
            dt { (t(l, "summary.people")) } dd { (s.people) }
            dt { (t(l, "summary.places")) } dd id="places" { (tf(l, "summary.filled", &[("n", &s.filled.to_string()), ("of", &s.places.to_string()), ("pct", &pct.to_string()), ("runs", &s.runs.to_string())])) }
            dt { (t(l, "runs.waiting")) } dd { (s.waiting) }
            dt { (t(l, "summary.today")) } dd id="registers" { (tf(l, "summary.registers", &[("n", &s.sessions_today_marked.to_string()), ("of", &s.sessions_today.to_string())])) }
        }
        h2 { (t(l, "summary.overdue")) }
        table id="overdue" {
            (row("summary.goals_overdue", s.goals_overdue, "/people"))
            (row("summary.referrals_waiting", s.referrals_waiting, "/people"))
            (row("summary.releases_unready", s.releases_unready, "/people"))
            (row("summary.conflicts", s.conflicts, "/people"))
            (row("summary.without_officer", s.without_officer, "/caseload"))
        }
    };
    page(&lan, l, Some(&who), t(l, "summary.title"), body).into_response()
}

pub(super) async fn health_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
) -> Response {
    let (lan2, who2) = (lan.clone(), who.clone());
    let lines = match blocking_durable(move || health_work(&lan2, &who2)).await {
        Ok(s) => s,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let (now, off) = (lan.clock.now(), lan.offset_minutes(lan.clock.now()));
    let body = html! {
        @if lines.is_empty() { p { (t(l, "health.none")) } }
        table id="health-work" {
            tr { th { (t(l, "session.person")) } th { (t(l, "case.location")) } th { (t(l, "health.needs")) } th { (t(l, "health.referrals")) } }
            @for line in &lines {
                tr {
                    td { a href={ "/people/" (line.person.person_id) } { (line.person.name()) } br; small { (line.person.prison_number) } }
                    td { (line.person.location.clone().unwrap_or_default()) }
                    td { @for (i, (d, n)) in line.needs.iter().enumerate() {
                        @if i > 0 { br; }
                        (code(l, "domain", d)) ": " (code(l, "level", &super::people::code_of(n)))
                    } }
                    td { @for at in &line.referrals_since {
                        (tf(l, "health.waiting_since", &[("when", &when(l, *at, off)), ("ago", &super::ago(l, now, *at))])) br;
                    } }
                }
            }
        }
    };
    page(&lan, l, Some(&who), t(l, "health.title"), body).into_response()
}

#[derive(serde::Deserialize, Default)]
pub(super) struct Choice {
    #[serde(default)]
    period: String,
}

/// The report the query asks for, or the refusal as a page.
async fn read_indicators(
    lan: &Arc<Lan>,
    who: &Staff,
    l: Lang,
    q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>,
) -> Result<(Report, Names), Response> {
    let Query(q) = q.unwrap_or_default();
    let (lan2, who2) = (lan.clone(), who.clone());
    blocking(move || indicators(&lan2, &who2, &q.period))
        .await
        .map_err(|e| fail(lan, l, Some(who), e))
}

/// The facility's indicators, for its manager.
pub(super) async fn indicators_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (r, names) = match read_indicators(&lan, &who, l, q).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let now = lan.clock.now();
    let shown = |at| when(l, at, lan.offset_minutes(at));
    let body = indicators_page_body::render(
        &r,
        &names,
        l == Lang::Th,
        ("/indicators", Some(&lan.facility)),
        now,
        &shown,
    );
    page(&lan, l, Some(&who), t(l, "nav.indicators"), body).into_response()
}

/// The same, as CSV.
pub(super) async fn indicators_csv(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let (r, names) = match read_indicators(&lan, &who, l, q).await {
        Ok(r) => r,
        Err(refused) => return refused,
    };
    let file = format!(
        "attachment; filename=\"{}\"",
        indicators_page_body::csv_file_name(&r)
    );
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        indicators_page_body::csv(&r, &names),
    )
        .into_response()
}
