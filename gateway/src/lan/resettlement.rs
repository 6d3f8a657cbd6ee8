//! Leaving the facility: the release plan by resettlement pathway (accommodation; employment,
//! education or training; ID documents; finance; family; the health handover, for health
//! staff), a transfer out to another facility, and a release. Each is one audited write; a
//! transfer and a release travel in the urgent class.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    CaseFile, Class, Facility, PlanItem, PlanItemStatus, ReleasePlan, ReleaseRecord, Role,
    TransferRecord, case_id, facility_id, iso_date,
};
use serde::Deserialize;

use super::auth::Staff;
use super::input::{code, date, one_of, prose};
use super::{ApiError, ApiResult, Lan, MAX_NOTE_CHARS, Staged, blocking_durable};

/// Longest reason for a transfer, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;

/// The codes of a plan item's status.
pub const PLAN_STATUS_CODES: &[&str] = &["not_started", "in_progress", "done", "not_needed"];

/// Who moves people out of the facility.
pub const MOVERS: &[Role] = &[Role::CaseOfficer, Role::FacilityManager];

/// Who may change a plan item: the health handover is for health staff, the rest for the
/// case officer and the manager.
pub fn plan_editors(item: &str) -> &'static [Role] {
    if item == "health_handover" {
        &[Role::HealthStaff]
    } else {
        MOVERS
    }
}

/// One item of the release plan, as a form or the API gives it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    pub status: String,
    /// The address, employer, clinic or contact.
    #[serde(default)]
    pub details: String,
    /// ISO date it takes effect, or empty.
    #[serde(default)]
    pub date: String,
}

/// Sets release-plan `item` of `person`'s case file as `who`; the whole input is checked first.
pub fn set_plan_item(
    lan: &Lan,
    who: &Staff,
    person: &str,
    item: &str,
    input: &PlanInput,
) -> ApiResult<Staged<()>> {
    if !ReleasePlan::ITEMS.contains(&item) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "`{item}` is not a release plan item ({})",
                ReleasePlan::ITEMS.join(", ")
            ),
        ));
    }
    if !who.has(plan_editors(item)) {
        return Err(ApiError::forbidden(
            "your role cannot change this part of the release plan",
        ));
    }
    let status: PlanItemStatus = code("status", &input.status, PLAN_STATUS_CODES)?;
    let details = match input.details.trim() {
        "" => String::new(),
        d => prose("details", d, MAX_NOTE_CHARS)?,
    };
    let on = match input.date.trim() {
        "" => String::new(),
        d => iso_date(date("date", d)?),
    };
    let case = lan
        .store
        .get::<CaseFile>(&case_id(person))?
        .ok_or_else(|| no_case(person))?;
    if !on.is_empty() && on < case.admission_date {
        return Err(ApiError::field_words(
            "date",
            "input.before_admission",
            vec![("admitted", case.admission_date.clone())],
        ));
    }
    let now = lan.clock.now();
    let value = PlanItem {
        status,
        details,
        updated_by: who.username.clone(),
        updated_at: now,
        date: on,
    };
    lan.audited_edit::<CaseFile, _>(who, "release_plan", &case_id(person), now, |e| {
        Ok(e.put(&["release_plan", item], &value)?)
    })
}

fn no_case(person: &str) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no case file for person `{person}` at this facility"),
    )
}

/// A transfer out, as a form or the API gives it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct TransferInput {
    pub to_facility: String,
    pub reason: String,
}

/// Records that `person` leaves for another facility, as `who`; returns the transfer's id. It
/// travels in the urgent class, so the hub moves the case file on before anything else.
pub fn transfer_out(
    lan: &Lan,
    who: &Staff,
    person: &str,
    input: &TransferInput,
) -> ApiResult<Staged<String>> {
    if !who.has(MOVERS) {
        return Err(ApiError::forbidden("your role cannot transfer people"));
    }
    let to = input.to_facility.trim().to_owned();
    if to.is_empty() || to == lan.facility {
        return Err(ApiError::field_words(
            "to_facility",
            "input.other_facility",
            vec![],
        ));
    }
    let reason = prose("reason", &input.reason, MAX_REASON_CHARS)?;
    // Only a facility in the national registry can receive a person.
    if lan.store.get::<Facility>(&facility_id(&to))?.is_none() {
        return Err(ApiError::field_words(
            "to_facility",
            "input.no_facility",
            vec![("value", to.chars().take(40).collect())],
        ));
    }
    let case = lan
        .store
        .get::<CaseFile>(&case_id(person))?
        .ok_or_else(|| no_case(person))?;
    if case.release.is_some() {
        return Err(ApiError::field_words(
            "to_facility",
            "input.released",
            vec![],
        ));
    }
    let now = lan.clock.now();
    let transfer = format!("{now}-{}", who.username);
    let record = TransferRecord {
        from_facility: lan.facility.clone(),
        to_facility: to,
        at: now,
        by: who.username.clone(),
        reason,
        moved_at: None,
    };
    lan.audited_edit::<CaseFile, _>(who, "transfer_out", &case_id(person), now, |e| {
        e.set_class(Class::Urgent);
        e.put(&["transfers", &transfer], &record)?;
        Ok(transfer.clone())
    })
}

/// A release, as a form or the API gives it.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReleaseInput {
    /// ISO date the person left.
    pub on: String,
    #[serde(default)]
    pub note: String,
    /// Where the person sleeps the first night: `settled`, `temporary` or `none`; empty: not
    /// recorded.
    #[serde(default)]
    pub first_night: String,
}

/// Records that `person` left custody, as `who`. Urgent: the hub and the partners waiting on
/// the release plan hear of it first.
pub fn release(
    lan: &Lan,
    who: &Staff,
    person: &str,
    input: &ReleaseInput,
) -> ApiResult<Staged<()>> {
    if !who.has(MOVERS) {
        return Err(ApiError::forbidden("your role cannot record a release"));
    }
    let on = iso_date(date("on", &input.on)?);
    let note = match input.note.trim() {
        "" => String::new(),
        n => prose("note", n, MAX_NOTE_CHARS)?,
    };
    let case = lan
        .store
        .get::<CaseFile>(&case_id(person))?
        .ok_or_else(|| no_case(person))?;
    if on < case.admission_date {
        return Err(ApiError::field_words(
            "on",
            "input.before_admission",
            vec![("admitted", case.admission_date.clone())],
        ));
    }
    let now = lan.clock.now();
    let first_night = match input.first_night.trim() {
        "" => String::new(),
        n => one_of("first_night", n, &ReleaseRecord::FIRST_NIGHT)?.to_owned(),
    };
    let plan_on_the_day = ReleasePlan::ITEMS
        .iter()
        .filter_map(|c| Some(((*c).to_owned(), case.release_plan.item(c)?.status)))
        .collect();
    let record = ReleaseRecord {
        on,
        by: who.username.clone(),
        at: now,
        note,
        first_night,
        plan_on_the_day,
    };
    lan.audited_edit::<CaseFile, _>(who, "release", &case_id(person), now, |e| {
        e.set_class(Class::Urgent);
        Ok(e.put(&["release"], &Some(record))?)
    })
}

/// `PUT /api/cases/{person}/release-plan/{item}`.
pub(super) async fn set_plan_item_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path((person, item)): Path<(String, String)>,
    body: Result<Json<PlanInput>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(b) = body?;
    blocking_durable(move || set_plan_item(&lan, &who, &person, &item, &b)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/cases/{person}/transfer-out`.
pub(super) async fn transfer_out_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<TransferInput>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let Json(b) = body?;
    let id = blocking_durable(move || transfer_out(&lan, &who, &person, &b)).await?;
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "transfer": id })),
    ))
}

/// `POST /api/cases/{person}/release`.
pub(super) async fn release_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<ReleaseInput>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(b) = body?;
    blocking_durable(move || release(&lan, &who, &person, &b)).await?;
    Ok(StatusCode::NO_CONTENT)
}
