//! The console's pages on people: finding a person, their case file as the role allows, notes
//! and referral moves.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pathway_shared::model::{CaseFile, Kind, ReferralStatus, Role};
use serde::Deserialize;

use super::{Saved, Viewer, fail, page};
use crate::lan::auth::Staff;
use crate::lan::messages::{Lang, t};
use crate::lan::{Lan, NoteInput, blocking, blocking_durable};

pub(super) async fn people(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Query(q): Query<Saved>,
) -> Response {
    let query = q.q.unwrap_or_default().trim().to_lowercase();
    let lan2 = lan.clone();
    let q2 = query.clone();
    let found = blocking(move || {
        if q2.is_empty() {
            return Ok(Vec::new());
        }
        let ids = lan2
            .store
            .list(&format!("facility:{}", lan2.facility), Kind::CaseFile)?;
        Ok(ids
            .iter()
            .filter_map(|id| id.as_str().strip_prefix("case/"))
            .filter(|p| p.to_lowercase().contains(&q2))
            .take(50)
            .map(str::to_owned)
            .collect::<Vec<String>>())
    })
    .await;
    let found = match found {
        Ok(f) => f,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let body = html! {
        form method="get" action="/people" {
            label { (t(l, "people.query")) " " input type="text" name="q" value=(query); }
            " " button type="submit" id="search" { (t(l, "people.search")) }
        }
        @if !query.is_empty() {
            @if found.is_empty() { p { (t(l, "people.none")) } }
            ul { @for p in &found { li { a href={ "/people/" (p) } { (p) } } } }
        }
    };
    page(&lan, l, Some(&who), t(l, "people.title"), body).into_response()
}

const NOTE_TYPES: [&str; 6] = [
    "general",
    "education",
    "work",
    "resettlement",
    "safeguarding",
    "health",
];

fn referral_code(s: ReferralStatus) -> &'static str {
    match s {
        ReferralStatus::Requested => "requested",
        ReferralStatus::Accepted => "accepted",
        ReferralStatus::InProgress => "in_progress",
        ReferralStatus::Completed => "completed",
        ReferralStatus::Declined => "declined",
        ReferralStatus::Cancelled => "cancelled",
    }
}

const STATUSES: [ReferralStatus; 5] = [
    ReferralStatus::Accepted,
    ReferralStatus::InProgress,
    ReferralStatus::Completed,
    ReferralStatus::Declined,
    ReferralStatus::Cancelled,
];

fn case_body(l: Lang, who: &Staff, person: &str, case: &CaseFile, saved: Option<&str>) -> Markup {
    let may_note = who.has(&[Role::CaseOfficer, Role::FacilityManager, Role::HealthStaff]);
    let may_move = who.has(&[Role::CaseOfficer, Role::FacilityManager]);
    html! {
        @match saved {
            Some("note") => p.ok id="saved" { (t(l, "case.note_saved")) },
            Some("referral") => p.ok id="saved" { (t(l, "case.moved")) },
            _ => {}
        }
        p { (case.given_name) " " (case.family_name) " · " (t(l, "case.prison_number")) ": " (case.prison_number) }
        @if let Some(r) = &case.expected_release_date { p { (t(l, "case.release")) ": " (r) } }
        h2 { (t(l, "case.needs")) }
        ul { @for (domain, n) in &case.needs { li { (domain) ": " (n.notes) } } }
        h2 { (t(l, "case.referrals")) }
        @if case.referrals.is_empty() { p { (t(l, "case.no_referrals")) } }
        ul {
            @for (id, r) in &case.referrals {
                @let status = r.state().status;
                li {
                    (r.partner_id) " · " (r.service) ": " strong { (t(l, &format!("referral.{}", referral_code(status)))) }
                    @if may_move {
                        @for to in STATUSES.iter().filter(|to| status.may_become(**to)) {
                            " "
                            form.inline method="post" action={ "/people/" (person) "/referrals/" (id) } {
                                input type="hidden" name="to" value=(referral_code(*to));
                                button type="submit" { (t(l, "case.move_to")) " " (t(l, &format!("referral.{}", referral_code(*to)))) }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t(l, "case.notes")) }
        @if case.notes.is_empty() { p { (t(l, "case.no_notes")) } }
        ul id="notes" {
            @for (_, n) in case.notes_in_order() {
                li { (n.author) ": " (n.text) @if n.restricted { " (" (t(l, "case.restricted_mark")) ")" } }
            }
        }
        @if may_note {
            h2 { (t(l, "case.add_note")) }
            form method="post" action={ "/people/" (person) "/notes" } {
                p { label { (t(l, "case.note_text")) br; textarea name="text" id="note-text" rows="4" {} } }
                p { label { (t(l, "case.note_type")) " "
                    select name="note_type" {
                        @for nt in NOTE_TYPES.iter().filter(|nt| **nt != "health" || who.has(&[Role::HealthStaff])) {
                            option value=(nt) { (t(l, &format!("notetype.{nt}"))) }
                        }
                    }
                } }
                @if who.has(&[Role::CaseOfficer, Role::FacilityManager]) {
                    p { label { input type="checkbox" name="restricted" value="true"; " " (t(l, "case.restricted")) } }
                }
                p { button type="submit" id="save-note" { (t(l, "case.save_note")) } }
            }
        }
    }
}

pub(super) async fn person_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Query(saved): Query<Saved>,
) -> Response {
    let (lan2, who2, p2) = (lan.clone(), who.clone(), person.clone());
    match blocking_durable(move || super::super::open_case(&lan2, &who2, &p2)).await {
        Ok(case) => {
            let body = case_body(l, &who, &person, &case, saved.saved.as_deref());
            page(&lan, l, Some(&who), &person, body).into_response()
        }
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}

#[derive(Deserialize)]
pub(super) struct NoteForm {
    text: String,
    note_type: String,
    #[serde(default)]
    restricted: Option<String>,
}

pub(super) async fn note_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Form(f): Form<NoteForm>,
) -> Response {
    let input = NoteInput {
        text: f.text,
        note_type: Some(f.note_type),
        restricted: f.restricted.is_some(),
    };
    let (lan2, who2, p2) = (lan.clone(), who.clone(), person.clone());
    match blocking_durable(move || super::super::write_note(&lan2, &who2, &p2, input)).await {
        Ok(_) => Redirect::to(&format!("/people/{person}?saved=note")).into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    to: String,
}

pub(super) async fn referral_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path((person, referral)): Path<(String, String)>,
    Form(f): Form<MoveForm>,
) -> Response {
    let (lan2, who2, p2) = (lan.clone(), who.clone(), person.clone());
    match blocking_durable(move || {
        super::super::advance_referral(&lan2, &who2, &p2, &referral, &f.to, "")
    })
    .await
    {
        Ok(()) => Redirect::to(&format!("/people/{person}?saved=referral")).into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}
