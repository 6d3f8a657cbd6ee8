//! The console's admission form and the placement form on a case page.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use pathway_shared::model::Role;

use super::{Viewer, fail, page};
pub(super) use crate::lan::intake::RECORDS;
use crate::lan::intake::{Admission, CUSTODY_CODES, Placement, SECURITY_CODES, admit, place};
use crate::lan::messages::{Lang, t};
use crate::lan::{Lan, blocking_durable};

/// A labelled input.
fn field(l: Lang, name: &str, kind: &str, required: bool) -> Markup {
    html! {
        p { label { (t(l, &format!("field.{name}"))) @if required { " *" } br;
            input type=(kind) name=(name) id=(name) required[required];
        } }
    }
}

/// A labelled choice of codes.
fn choice(l: Lang, name: &str, prefix: &str, codes: &[&str], empty: bool) -> Markup {
    html! {
        p { label { (t(l, &format!("field.{name}"))) br;
            select name=(name) id=(name) {
                @if empty { option value="" { "—" } }
                @for c in codes { option value=(c) { (t(l, &format!("{prefix}.{c}"))) } }
            }
        } }
    }
}

pub(super) async fn admit_page(State(lan): State<Arc<Lan>>, Viewer { who, l }: Viewer) -> Response {
    if !who.has(RECORDS) {
        return fail(
            &lan,
            l,
            Some(&who),
            crate::lan::ApiError::forbidden(
                "only a records officer or the facility manager admits people",
            ),
        );
    }
    let body = html! {
        form method="post" action="/admit" {
            (field(l, "prison_number", "text", true))
            (field(l, "given_name", "text", true))
            (field(l, "family_name", "text", true))
            (field(l, "date_of_birth", "date", false))
            (field(l, "language", "text", false))
            (field(l, "admission_date", "date", false))
            (choice(l, "custody_status", "custody", CUSTODY_CODES, false))
            (field(l, "sentence_date", "date", false))
            (field(l, "expected_release_date", "date", false))
            (field(l, "unit", "text", true))
            (field(l, "cell", "text", true))
            (choice(l, "security_level", "security", SECURITY_CODES, true))
            (field(l, "case_officer", "text", false))
            p { button type="submit" id="admit" { (t(l, "admit.submit")) } }
        }
    };
    page(&lan, l, Some(&who), t(l, "admit.title"), body).into_response()
}

/// An empty form field is no value.
fn given(v: String) -> Option<String> {
    Some(v).filter(|v| !v.trim().is_empty())
}

#[derive(serde::Deserialize)]
pub(super) struct AdmitForm {
    prison_number: String,
    given_name: String,
    family_name: String,
    #[serde(default)]
    date_of_birth: String,
    #[serde(default)]
    language: String,
    #[serde(default)]
    admission_date: String,
    #[serde(default)]
    sentence_date: String,
    #[serde(default)]
    expected_release_date: String,
    custody_status: String,
    unit: String,
    cell: String,
    #[serde(default)]
    security_level: String,
    #[serde(default)]
    case_officer: String,
}

pub(super) async fn admit_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Form(f): Form<AdmitForm>,
) -> Response {
    let a = Admission {
        prison_number: f.prison_number,
        given_name: f.given_name,
        family_name: f.family_name,
        date_of_birth: given(f.date_of_birth),
        language: given(f.language),
        admission_date: given(f.admission_date),
        sentence_date: given(f.sentence_date),
        expected_release_date: given(f.expected_release_date),
        custody_status: f.custody_status,
        unit: f.unit,
        cell: f.cell,
        security_level: given(f.security_level),
        case_officer: given(f.case_officer),
    };
    let (lan2, who2) = (lan.clone(), who.clone());
    match blocking_durable(move || admit(&lan2, &who2, &a)).await {
        Ok(person) => Redirect::to(&format!("/people/{person}?saved=admitted")).into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}

/// The placement form on a case page, for those who may change it.
pub(super) fn placement_form(l: Lang, who: &crate::lan::auth::Staff, person: &str) -> Markup {
    if !who.has(&[Role::RecordsOfficer, Role::FacilityManager]) {
        return html! {};
    }
    html! {
        details {
            summary { (t(l, "case.change_placement")) }
            form method="post" action={ "/people/" (person) "/placement" } {
                (choice(l, "custody_status", "custody", CUSTODY_CODES, true))
                (field(l, "unit", "text", false))
                (field(l, "cell", "text", false))
                (choice(l, "security_level", "security", SECURITY_CODES, true))
                (field(l, "expected_release_date", "date", false))
                p { button type="submit" id="save-placement" { (t(l, "case.save_placement")) } }
            }
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub(super) struct PlacementForm {
    #[serde(default)]
    custody_status: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    cell: String,
    #[serde(default)]
    security_level: String,
    #[serde(default)]
    expected_release_date: String,
}

pub(super) async fn placement_post(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Form(f): Form<PlacementForm>,
) -> Response {
    let p = Placement {
        custody_status: given(f.custody_status),
        unit: given(f.unit),
        cell: given(f.cell),
        security_level: given(f.security_level),
        expected_release_date: given(f.expected_release_date),
    };
    let (lan2, who2, p2) = (lan.clone(), who.clone(), person.clone());
    match blocking_durable(move || place(&lan2, &who2, &p2, &p)).await {
        Ok(()) => Redirect::to(&format!("/people/{person}?saved=placement")).into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}
