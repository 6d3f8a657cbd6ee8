//! Case files over the API: reading them as the role allows, notes, referral transitions.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    CaseFile, CaseNote, Class, NoteType, Referral, ReferralStatus, Role, case_id, from_code,
};
use serde::Deserialize;
use serde_json::json;

use crate::lan::auth::Staff;
use crate::lan::{ApiError, ApiResult, CASE_READERS, Lan, Staged, blocking_durable};

pub(super) async fn read_case(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
) -> ApiResult<Json<CaseFile>> {
    blocking_durable(move || open_case(&lan, &who, &person))
        .await
        .map(Json)
}

/// A case file as `who` may see it; the read is audited.
pub fn open_case(lan: &Lan, who: &Staff, person: &str) -> ApiResult<Staged<CaseFile>> {
    if !who.has(CASE_READERS) {
        return Err(ApiError::forbidden("your role does not include case files"));
    }
    let id = case_id(person);
    let Some(mut case) = lan.store.get::<CaseFile>(&id)? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no case file for person `{person}` at this facility"),
        ));
    };
    let pending = lan
        .audit
        .stage(&who.username, "read_case", id.as_str(), lan.clock.now())?;
    case.redact(who.visibility());
    Ok(Staged {
        value: case,
        pending,
    })
}

/// A new case note, as staff write it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoteInput {
    pub text: String,
    #[serde(default)]
    pub note_type: Option<String>,
    #[serde(default)]
    pub restricted: bool,
}

fn note_type(s: Option<&str>) -> ApiResult<NoteType> {
    let code = s.unwrap_or("general");
    from_code(code).ok_or_else(|| {
        ApiError::field(
            "note_type",
            format!(
                "`{code}` is not one of general, education, work, resettlement, safeguarding, health"
            ),
        )
    })
}

/// Longest case note, in characters.
pub const MAX_NOTE_CHARS: usize = 10_000;

pub(super) async fn add_note(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<NoteInput>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let Json(body) = body?;
    let id = blocking_durable(move || write_note(&lan, &who, &person, body)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "note": id }))))
}

/// Adds a case note as `who`; returns its id. Checked whole before anything is written.
pub fn write_note(
    lan: &Lan,
    who: &Staff,
    person: &str,
    body: NoteInput,
) -> ApiResult<Staged<String>> {
    if !who.has(&[Role::CaseOfficer, Role::FacilityManager, Role::HealthStaff]) {
        return Err(ApiError::forbidden("your role cannot add case notes"));
    }
    let text = body.text.trim().to_owned();
    if text.is_empty() {
        return Err(ApiError::field("text", "a note needs some text"));
    }
    if text.chars().count() > MAX_NOTE_CHARS {
        return Err(ApiError::field(
            "text",
            format!("a note is at most {MAX_NOTE_CHARS} characters"),
        ));
    }
    let kind = note_type(body.note_type.as_deref())?;
    if kind == NoteType::Health && !who.has(&[Role::HealthStaff]) {
        return Err(ApiError::field(
            "note_type",
            "only health staff write health notes",
        ));
    }
    if body.restricted && !who.has(&[Role::CaseOfficer, Role::FacilityManager]) {
        return Err(ApiError::field(
            "restricted",
            "only the case officer and the facility manager write restricted notes",
        ));
    }
    let now = lan.clock.now();
    let id = case_id(person);
    let note_id = format!("{now}-{}", who.username);
    let note = CaseNote {
        author: who.username.clone(),
        at: now,
        facility_id: lan.facility.clone(),
        note_type: kind,
        text,
        restricted: body.restricted,
    };
    Ok(lan
        .audited_edit::<CaseFile, _>(who, "add_note", &id, now, |e| {
            Ok(e.put(&["notes", &note_id], &note)?)
        })?
        .map(|()| note_id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReferralMove {
    to: String,
    #[serde(default)]
    note: String,
}

pub(super) async fn move_referral(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path((person, referral)): Path<(String, String)>,
    body: Result<Json<ReferralMove>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Json(body) = body?;
    let to = body.to.clone();
    blocking_durable(move || {
        advance_referral(&lan, &who, &person, &referral, &body.to, &body.note)
    })
    .await?;
    Ok(Json(json!({ "status": to })))
}

/// Moves a referral on as `who`. Only legal moves are allowed; only the case officer and the
/// facility manager move referrals. A referral marked urgent travels in the urgent class.
pub fn advance_referral(
    lan: &Lan,
    who: &Staff,
    person: &str,
    referral: &str,
    to: &str,
    note: &str,
) -> ApiResult<Staged<()>> {
    if !who.has(&[Role::CaseOfficer, Role::FacilityManager]) {
        return Err(ApiError::forbidden("your role cannot move referrals on"));
    }
    let to = from_code::<ReferralStatus>(to).ok_or_else(|| {
        ApiError::field(
            "to",
            format!("`{to}` is not one of accepted, in_progress, completed, declined, cancelled"),
        )
    })?;
    let now = lan.clock.now();
    let id = case_id(person);
    let path = ["referrals", referral];
    lan.audited_edit::<CaseFile, _>(who, "move_referral", &id, now, |e| {
        let Some(mut r) = e.get::<Referral>(&path)? else {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no referral `{referral}` in this case file"),
            ));
        };
        r.advance(
            to,
            &format!("{now}-{}", who.username),
            &who.username,
            now,
            note,
        )
        .map_err(|t| ApiError::field("to", t.to_string()))?;
        if r.urgent {
            e.set_class(Class::Urgent);
        }
        e.put(&path, &r)?;
        Ok(())
    })
}
