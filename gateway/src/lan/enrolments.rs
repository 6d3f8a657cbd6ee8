//! A person's place on a run as their case file holds it: allocation makes the enrolment
//! active, and an enrolment ends with an outcome (completed, withdrawn by the person, removed
//! by staff, released, transferred), which gives the place back on the run unless the course
//! was completed.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    CaseFile, Enrolment, EnrolmentStatus, Programme, ProgrammeRun, Role, WaitStatus, case_id,
    programme_id, run_id,
};
use serde::Deserialize;

use super::auth::Staff;
use super::input::{code, prose};
use super::{ApiError, ApiResult, Lan, Staged, blocking_durable, today_iso};

/// How an enrolment ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Completed,
    WithdrawnByPerson,
    RemovedByStaff,
    Released,
    Transferred,
}

pub const OUTCOME_CODES: &[&str] = &[
    "completed",
    "withdrawn_by_person",
    "removed_by_staff",
    "released",
    "transferred",
];

/// Who ends enrolments.
pub const ENDERS: &[Role] = &[Role::Instructor, Role::CaseOfficer, Role::FacilityManager];

/// Makes the person's enrolment on `run` active from today, creating it if the case file has
/// none: called when a place on the run is given.
pub fn activate(lan: &Lan, who: &Staff, person: &str, run: &ProgrammeRun) -> ApiResult<Staged<()>> {
    let now = lan.clock.now();
    let (today, _) = today_iso(now, lan.offset_minutes(lan.clock.now()));
    lan.audited_edit::<CaseFile, _>(who, "enrolment_active", &case_id(person), now, |e| {
        let all = e
            .get::<std::collections::BTreeMap<String, Enrolment>>(&["enrolments"])?
            .unwrap_or_default();
        let (key, mut enrolment) = all
            .into_iter()
            .find(|(_, en)| en.run_id == run.id && !en.status.is_final())
            .unwrap_or_else(|| {
                (
                    format!("{}-{}", run.id, now),
                    Enrolment {
                        run_id: run.id.clone(),
                        programme_code: run.programme_code.clone(),
                        facility_id: lan.facility.clone(),
                        ..Enrolment::default()
                    },
                )
            });
        enrolment.status = EnrolmentStatus::Active;
        enrolment.start_date.get_or_insert(today.clone());
        e.put(&["enrolments", &key], &enrolment)?;
        Ok(())
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EndInput {
    pub outcome: String,
    #[serde(default)]
    pub note: String,
}

/// Ends an enrolment with an outcome as `who`. A course completed earns its certificate; any
/// other end gives the place on the run back.
pub fn end(
    lan: &Lan,
    who: &Staff,
    person: &str,
    enrolment: &str,
    input: &EndInput,
) -> ApiResult<Staged<()>> {
    if !who.has(ENDERS) {
        return Err(ApiError::forbidden("your role cannot end enrolments"));
    }
    let outcome: Outcome = code("outcome", &input.outcome, OUTCOME_CODES)?;
    let note = if input.note.trim().is_empty() {
        String::new()
    } else {
        prose("note", &input.note, 500)?
    };
    let now = lan.clock.now();
    let (today, _) = today_iso(now, lan.offset_minutes(lan.clock.now()));
    let path = ["enrolments", enrolment];
    let case =
        lan.audited_edit::<CaseFile, _>(who, "end_enrolment", &case_id(person), now, |e| {
            let Some(mut en) = e.get::<Enrolment>(&path)? else {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    format!("no enrolment `{enrolment}` in this case file"),
                ));
            };
            if en.status.is_final() {
                return Err(ApiError::field_words(
                    "outcome",
                    "input.enrolment_ended",
                    vec![],
                ));
            }
            en.status = if outcome == Outcome::Completed {
                EnrolmentStatus::Completed
            } else {
                EnrolmentStatus::Withdrawn
            };
            en.end_date = Some(today.clone());
            let code = OUTCOME_CODES[outcome as usize];
            en.end_reason = Some(if note.is_empty() {
                code.to_owned()
            } else {
                format!("{code}: {note}")
            });
            if outcome == Outcome::Completed {
                en.certificate_awarded = lan
                    .store
                    .get::<Programme>(&programme_id(&en.programme_code))?
                    .is_some_and(|p| p.certificate.is_some());
            }
            e.put(&path, &en)?;
            Ok(en.run_id)
        })?;
    let Staged {
        value: run,
        pending,
    } = case;
    if outcome == Outcome::Completed || run.is_empty() {
        return Ok(Staged { value: (), pending });
    }
    // The place goes back to the run. The run may be another facility's (a transfer): then
    // there is nothing here to give back.
    let run_doc = run_id(&lan.facility, &run);
    if lan.store.meta(&run_doc)?.is_none() {
        return Ok(Staged { value: (), pending });
    }
    lan.audited_edit::<ProgrammeRun, _>(who, "place_given_back", &run_doc, now, |e| {
        if let Some(mut w) =
            e.get::<pathway_shared::model::WaitingEntry>(&["waiting_list", person])?
        {
            w.status = WaitStatus::Withdrawn;
            e.put(&["waiting_list", person], &w)?;
        }
        Ok(())
    })
}

pub(super) async fn end_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path((person, enrolment)): Path<(String, String)>,
    body: Result<Json<EndInput>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(b) = body?;
    blocking_durable(move || end(&lan, &who, &person, &enrolment, &b)).await?;
    Ok(StatusCode::NO_CONTENT)
}
