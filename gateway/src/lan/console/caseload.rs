//! A case officer's caseload: their people, those with something due first.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::words::{code, date};
use super::{Viewer, fail, page};
use crate::lan::find::caseload;
use crate::lan::messages::{t, tf};
use crate::lan::{Lan, blocking_durable};

pub(super) async fn caseload_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
) -> Response {
    let (lan2, who2) = (lan.clone(), who.clone());
    let rows = match blocking_durable(move || caseload(&lan2, &who2)).await {
        Ok(r) => r,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let due = rows.iter().filter(|r| !r.due.is_empty()).count();
    let body = html! {
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
