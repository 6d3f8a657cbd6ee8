//! A case officer's caseload: their people, those with something due first. The manager also
//! sees every officer's count and gives a unit's people to an officer.

use std::sync::Arc;

use std::collections::BTreeSet;

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;

use super::words::{code, date};
use super::{Saved, Viewer, fail, page};
use crate::lan::caseloads::{ASSIGNERS, assign_unit, counts};
use crate::lan::find::caseload;
use crate::lan::messages::{t, tf};
use crate::lan::{Lan, blocking_durable};

pub(super) async fn caseload_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Query(saved): Query<Saved>,
) -> Response {
    let (lan2, who2) = (lan.clone(), who.clone());
    let loaded = blocking_durable(move || {
        let mine = caseload(&lan2, &who2)?;
        let manage = if who2.has(ASSIGNERS) {
            let roster = lan2.roster.people(&lan2.store, &lan2.facility)?;
            let units: BTreeSet<String> = roster
                .people
                .values()
                .filter_map(|p| p.unit.clone())
                .collect();
            Some((counts(&lan2)?, units))
        } else {
            None
        };
        Ok(mine.map(|m| (m, manage)))
    })
    .await;
    let (rows, manage) = match loaded {
        Ok(r) => r,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let due = rows.iter().filter(|r| !r.due.is_empty()).count();
    let body = html! {
        @if let Some(s) = &saved.saved { p.ok id="saved" { (code(l, "saved", s)) } }
        @if let Some((counts, units)) = &manage {
            h2 { (t(l, "caseload.officers")) }
            table id="officers" {
                tr { th { (t(l, "caseload.officers")) } th { (t(l, "caseload.people")) } }
                @for (u, name, n) in counts {
                    tr { td { @if u.is_empty() { (t(l, "caseload.nobody")) } @else { (name) } } td { (n) } }
                }
            }
            h3 { (t(l, "caseload.by_unit")) }
            form method="post" action="/caseload/by-unit" id="by-unit" {
                label { (t(l, "field.unit")) " " select name="unit" id="unit" { @for u in units { option value=(u) { (u) } } } }
                " "
                label { (t(l, "field.officer")) " " select name="officer" id="unit-officer" {
                    @for (u, name, _) in counts.iter().filter(|c| !c.0.is_empty()) { option value=(u) { (name) } }
                } }
                " " button type="submit" id="give-unit" { (t(l, "caseload.assign")) }
            }
            h2 { (t(l, "caseload.title")) }
        }
        p { (tf(l, "caseload.summary", &[("n", &rows.len().to_string()), ("due", &due.to_string())])) }
        @if rows.is_empty() { p { (t(l, "caseload.none")) } } @else {
            table id="caseload" {
                tr {
                    th { (t(l, "session.person")) } th { (t(l, "case.prison_number")) }
                    th { (t(l, "case.location")) } th { (t(l, "case.release")) } th { (t(l, "caseload.due")) }
                }
                @for r in &rows {
                    tr {
                        td { a href={ "/people/" (r.person.person_id) } { (r.person.name()) } }
                        td { (r.person.prison_number) }
                        td { (r.person.location.clone().unwrap_or_default()) }
                        td { (r.person.release_date.as_deref().map(|d| date(l, d)).unwrap_or_default()) }
                        td.due {
                            @for (i, d) in r.due.iter().enumerate() {
                                @if i > 0 { "; " }
                                (code(l, "due", &serde_json::to_value(d).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()))
                            }
                        }
                    }
                }
            }
        }
    };
    page(&lan, l, Some(&who), t(l, "caseload.title"), body).into_response()
}

#[derive(serde::Deserialize)]
pub(super) struct UnitForm {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    officer: String,
}

pub(super) async fn by_unit_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Form(f): Form<UnitForm>,
) -> Response {
    let (lan2, who2) = (lan.clone(), who.clone());
    match blocking_durable(move || assign_unit(&lan2, &who2, &f.unit, &f.officer)).await {
        Ok(_) => Redirect::to("/caseload?saved=unit_given").into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}
