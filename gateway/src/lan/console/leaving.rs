//! The case page's part about leaving: the release plan by pathway, each item edited with its
//! status, the address or employer and a date; a transfer out and a release, each confirmed;
//! and the manager giving the person to a case officer.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use pathway_shared::model::{CaseFile, Facility, Kind, ReleasePlan, ReleaseRecord};

use super::words::{code, date, when};
use super::{Viewer, write_then_back};
use crate::lan::auth::Staff;
use crate::lan::caseloads::{ASSIGNERS, assign, case_officers};
use crate::lan::messages::{Lang, t, tf};
use crate::lan::resettlement::{
    MOVERS, PLAN_STATUS_CODES, PlanInput, ReleaseInput, TransferInput, plan_editors, release,
    set_plan_item, transfer_out,
};
use crate::lan::{ApiError, ApiResult, Lan, today_iso};

/// What the section needs beyond the case file: the other facilities a person can go to
/// (id, name in the page's language) and the case officers (username, name).
pub(super) struct Choices {
    facilities: Vec<(String, String)>,
    officers: Vec<(String, String)>,
}

impl Choices {
    pub(super) fn read(lan: &Lan, l: Lang, who: &Staff) -> ApiResult<Choices> {
        let mut facilities = Vec::new();
        if who.has(MOVERS) {
            for id in lan.store.list("national", Kind::Facility)? {
                if let Some(f) = lan.store.get::<Facility>(&id)?
                    && f.id != lan.facility
                {
                    let name = if l == Lang::Th && !f.name_th.is_empty() {
                        f.name_th
                    } else {
                        f.name
                    };
                    facilities.push((f.id, name));
                }
            }
            facilities.sort_by(|a, b| a.1.cmp(&b.1));
        }
        let officers = if who.has(ASSIGNERS) {
            case_officers(lan)?
        } else {
            Vec::new()
        };
        Ok(Choices {
            facilities,
            officers,
        })
    }
}

/// The release plan, and the ways out of the facility this staff member may take.
pub(super) fn section(
    lan: &Lan,
    l: Lang,
    who: &Staff,
    person: &str,
    case: &CaseFile,
    choices: &Choices,
    name: &dyn Fn(&str) -> String,
) -> Markup {
    let off = lan.offset_minutes(lan.clock.now());
    let health = who.visibility().health;
    let released = case.release.is_some();
    let (today, _) = today_iso(lan.clock.now(), off);
    let pending_transfer = case.transfers.values().find(|t| t.moved_at.is_none());
    html! {
        h2 { (t(l, "case.release_plan")) }
        table id="plan" {
            tr { th { (t(l, "field.domain")) } th { (t(l, "field.status")) } th { (t(l, "field.details")) } th { (t(l, "field.date")) } th {} }
            @for key in ReleasePlan::ITEMS.into_iter().filter(|k| *k != "health_handover" || health) {
                @let item = case.release_plan.item(key).cloned().unwrap_or_default();
                @let status = super::people::code_of(&item.status);
                tr id={ "plan-" (key) } {
                    td { (code(l, "plan", key)) }
                    td { (code(l, "planstatus", &status)) }
                    td { (item.details) }
                    td { @if !item.date.is_empty() { (date(l, &item.date)) } }
                    td {
                        @if item.updated_at > 0 { small { (name(&item.updated_by)) ", " (when(l, item.updated_at, off)) } }
                        @if !released && who.has(plan_editors(key)) {
                            details { summary { (t(l, "plan.edit")) }
                                form method="post" action={ "/people/" (person) "/plan/" (key) } {
                                    p { label { (t(l, "field.status")) " " select name="status" {
                                        @for c in PLAN_STATUS_CODES { option value=(c) selected[*c == status] { (code(l, "planstatus", c)) } }
                                    } } }
                                    p { label { (t(l, &format!("plan.details_{key}"))) br; input type="text" name="details" value=(item.details); } }
                                    p { label { (t(l, "field.date")) br; input type="date" name="date" value=(item.date) min=(case.admission_date); } }
                                    p { button type="submit" { (t(l, "plan.save")) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(r) = &case.release {
            p.ok id="released" { (tf(l, "leave.released_on", &[("date", &date(l, &r.on))]))
                @if !r.first_night.is_empty() { " " (t(l, "field.first_night")) ": " (code(l, "first_night", &r.first_night)) "." }
                @if !r.note.is_empty() { " — " (r.note) } }
        }
        @if let Some(tr) = pending_transfer {
            p.warn id="transfer-pending" { (tf(l, "leave.transfer_pending", &[("to", &tr.to_facility), ("when", &when(l, tr.at, off))])) }
        }
        @if !released && who.has(MOVERS) {
            h2 { (t(l, "leave.title")) }
            @if pending_transfer.is_none() && !choices.facilities.is_empty() {
                details { summary id="open-transfer" { (t(l, "leave.transfer")) }
                    form method="post" action={ "/people/" (person) "/transfer" } {
                        p { label { (t(l, "field.to_facility")) br;
                            select name="to_facility" id="transfer-to" required {
                                @for (id, n) in &choices.facilities { option value=(id) { (n) " (" (id) ")" } }
                            }
                        } }
                        p { label { (t(l, "field.reason")) br; textarea name="reason" id="transfer-reason" rows="2" required {} } }
                        p { label { input type="checkbox" name="confirm" value="yes" id="transfer-confirm" required; " " (t(l, "leave.confirm_transfer")) } }
                        p { button type="submit" id="save-transfer" { (t(l, "leave.transfer")) } }
                    }
                }
            }
            details { summary id="open-release" { (t(l, "leave.release")) }
                form method="post" action={ "/people/" (person) "/release" } {
                    p { label { (t(l, "field.on")) br; input type="date" name="on" value=(today) min=(case.admission_date) required; } }
                    p { label { (t(l, "field.first_night")) br;
                        select name="first_night" id="release-first-night" {
                            option value="" { (t(l, "first_night.unknown")) }
                            @for c in ReleaseRecord::FIRST_NIGHT { option value=(c) { (code(l, "first_night", c)) } }
                        }
                    } }
                    p { label { (t(l, "field.note")) br; textarea name="note" rows="2" {} } }
                    p { label { input type="checkbox" name="confirm" value="yes" id="release-confirm" required; " " (t(l, "leave.confirm_release")) } }
                    p { button type="submit" id="save-release" { (t(l, "leave.release")) } }
                }
            }
        }
        @if !released && who.has(ASSIGNERS) {
            form method="post" action={ "/people/" (person) "/case-officer" } id="assign" {
                label { (t(l, "field.case_officer")) " "
                    select name="officer" id="officer" {
                        option value="" { "—" }
                        @for (u, n) in &choices.officers {
                            option value=(u) selected[case.case_officer.as_deref() == Some(u.as_str())] { (n) }
                        }
                    }
                }
                " " button type="submit" id="save-officer" { (t(l, "caseload.assign")) }
            }
        }
    }
}

pub(super) async fn plan_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path((person, item)): Path<(String, String)>,
    Form(f): Form<PlanInput>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "plan",
        move |lan, who, p| set_plan_item(lan, who, p, &item, &f),
    )
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct TransferForm {
    to_facility: String,
    reason: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn transfer_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Form(f): Form<TransferForm>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "transfer",
        move |lan, who, p| {
            if f.confirm != "yes" {
                return Err(ApiError::field_words("confirm", "input.confirm", vec![]));
            }
            let input = TransferInput {
                to_facility: f.to_facility,
                reason: f.reason,
            };
            transfer_out(lan, who, p, &input)
        },
    )
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct ReleaseForm {
    on: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    first_night: String,
    #[serde(default)]
    confirm: String,
}

pub(super) async fn release_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Form(f): Form<ReleaseForm>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "release",
        move |lan, who, p| {
            if f.confirm != "yes" {
                return Err(ApiError::field_words("confirm", "input.confirm", vec![]));
            }
            let input = ReleaseInput {
                on: f.on,
                note: f.note,
                first_night: f.first_night,
            };
            release(lan, who, p, &input)
        },
    )
    .await
}

#[derive(serde::Deserialize)]
pub(super) struct OfficerForm {
    #[serde(default)]
    officer: String,
}

pub(super) async fn officer_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Form(f): Form<OfficerForm>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/people", person),
        "case_officer",
        move |lan, who, p| assign(lan, who, p, &f.officer),
    )
    .await
}
