//! The console's case-work forms: each posts one write (a note, a referral made or moved on,
//! a needs assessment, a goal, an enrolment ended) and sends the browser back to the case page,
//! or shows the refusal in the staff member's language.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::{Viewer, write_then_back};
use crate::lan::enrolments::{EndInput, end};
use crate::lan::{
    ApiError, GoalInput, Lan, NeedInput, NoteInput, ReferralInput, add_goal, advance_referral,
    assess, refer, write_note,
};

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
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "note",
        move |lan, who, p| write_note(lan, who, p, input),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct MoveForm {
    to: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn referral_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path((person, referral)): Path<(String, String)>,
    Form(f): Form<MoveForm>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "referral",
        move |lan, who, p| {
            if f.confirm != "yes" {
                return Err(ApiError::field_words("confirm", "input.confirm", vec![]));
            }
            advance_referral(lan, who, p, &referral, &f.to, &f.note)
        },
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct NeedForm {
    domain: String,
    level: String,
    #[serde(default)]
    notes: String,
}

pub(super) async fn need_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Form(f): Form<NeedForm>,
) -> Response {
    let n = NeedInput {
        level: f.level,
        notes: f.notes,
    };
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "need",
        move |lan, who, p| assess(lan, who, p, &f.domain, &n),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct GoalForm {
    title: String,
    domain: String,
    #[serde(default)]
    target_date: String,
}

pub(super) async fn goal_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Form(f): Form<GoalForm>,
) -> Response {
    let g = GoalInput {
        title: f.title,
        domain: f.domain,
        target_date: Some(f.target_date).filter(|d| !d.trim().is_empty()),
    };
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "goal",
        move |lan, who, p| add_goal(lan, who, p, &g),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct NewReferralForm {
    partner_service: String,
    reason: String,
    #[serde(default)]
    urgent: Option<String>,
}

pub(super) async fn new_referral_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Form(f): Form<NewReferralForm>,
) -> Response {
    let (partner, service) = f
        .partner_service
        .split_once('|')
        .map(|(p, s)| (p.to_owned(), s.to_owned()))
        .unwrap_or_default();
    let r = ReferralInput {
        partner_id: partner,
        service,
        reason: f.reason,
        urgent: f.urgent.is_some(),
    };
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "referral_made",
        move |lan, who, p| refer(lan, who, p, &r),
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct EndForm {
    outcome: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn enrolment_end_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path((person, enrolment)): Path<(String, String)>,
    Form(f): Form<EndForm>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "enrolment_ended",
        move |lan, who, p| {
            if f.confirm != "yes" {
                return Err(ApiError::field_words("confirm", "input.confirm", vec![]));
            }
            let input = EndInput {
                outcome: f.outcome,
                note: String::new(),
            };
            end(lan, who, p, &enrolment, &input)
        },
    )
    .await
}
