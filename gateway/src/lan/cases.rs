//! Case files over the API: reading them as the role allows, notes, referral transitions.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    CaseFile, CaseNote, Class, GoalStatus, Millis, NeedAssessment, NeedDomain, NeedLevel, NoteType,
    Partner, PartnerKind, PlanGoal, Referral, ReferralStatus, Role, case_id, from_code, partner_id,
};
use serde::Deserialize;
use serde_json::json;

use crate::lan::auth::Staff;
use crate::lan::input::{code, line, optional_date, prose};
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
    let id = case_id(person);
    if !who.has(CASE_READERS) {
        // A refused read is in the trail too: who tried to see whose file.
        lan.audit
            .record(&who.username, "read_refused", id.as_str(), lan.clock.now())?;
        return Err(ApiError::forbidden("your role does not include case files"));
    }
    let Some(mut case) = lan.store.get::<CaseFile>(&id)? else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!("no case file for person `{person}` at this facility"),
        ));
    };
    let pending = lan
        .audit
        .stage(&who.username, "read_case", id.as_str(), lan.clock.now())?;
    lan.health_programmes
        .redact(&lan.store, who.visibility(), &mut case)?;
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
    let text = prose("text", &body.text, MAX_NOTE_CHARS)?;
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
    let note_id = new_id(now, who);
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
    let note = if note.trim().is_empty() {
        String::new()
    } else {
        prose("note", note, MAX_TEXT_CHARS)?
    };
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
        if r.health && !who.has(&[Role::HealthStaff]) {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no referral `{referral}` in this case file"),
            ));
        }
        r.advance(to, &new_id(now, who), &who.username, now, &note)
            .map_err(|t| ApiError::field("to", t.to_string()))?;
        if r.urgent {
            e.set_class(Class::Urgent);
        }
        e.put(&path, &r)?;
        Ok(())
    })
}

/// Who writes case work: assessments, goals, referrals.
pub(crate) const CASE_WORKERS: &[Role] =
    &[Role::CaseOfficer, Role::FacilityManager, Role::HealthStaff];

/// A new id for something `who` adds at `now`: unique even for two adds in one millisecond.
fn new_id(now: Millis, who: &Staff) -> String {
    format!("{now}-{}-{:04x}", who.username, fastrand::u16(..))
}

/// A need domain's code, refused unless `who` may write it: health domains are for health
/// staff only.
fn domain_for(who: &Staff, field: &str, code: &str) -> ApiResult<NeedDomain> {
    let d = NeedDomain::from_code(code.trim()).ok_or_else(|| {
        ApiError::field_words(
            field,
            "input.code",
            vec![
                ("value", code.chars().take(40).collect()),
                ("codes", NeedDomain::ALL.map(NeedDomain::code).join(", ")),
            ],
        )
    })?;
    if d.is_sensitive() && !who.has(&[Role::HealthStaff]) {
        return Err(ApiError::field_words(field, "input.health_only", vec![]));
    }
    Ok(d)
}

/// A needs assessment of one domain.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct NeedInput {
    pub level: String,
    #[serde(default)]
    pub notes: String,
}

pub const LEVEL_CODES: &[&str] = &["not_assessed", "none", "low", "medium", "high"];
/// Longest free text of an assessment, a goal or a referral reason.
pub const MAX_TEXT_CHARS: usize = 2_000;

/// Records the assessment of `domain` as `who`, dated now.
pub fn assess(
    lan: &Lan,
    who: &Staff,
    person: &str,
    domain: &str,
    n: &NeedInput,
) -> ApiResult<Staged<()>> {
    if !who.has(CASE_WORKERS) {
        return Err(ApiError::forbidden("your role cannot assess needs"));
    }
    let d = domain_for(who, "domain", domain)?;
    let level: NeedLevel = code("level", &n.level, LEVEL_CODES)?;
    let notes = if n.notes.trim().is_empty() {
        String::new()
    } else {
        prose("notes", &n.notes, MAX_TEXT_CHARS)?
    };
    let now = lan.clock.now();
    let value = NeedAssessment {
        level,
        notes,
        assessed_by: who.username.clone(),
        assessed_at: now,
    };
    lan.audited_edit::<CaseFile, _>(who, "assess_need", &case_id(person), now, |e| {
        Ok(e.put(&["needs", d.code()], &value)?)
    })
}

pub(super) async fn assess_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path((person, domain)): Path<(String, String)>,
    body: Result<Json<NeedInput>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(n) = body?;
    blocking_durable(move || assess(&lan, &who, &person, &domain, &n)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A plan goal.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct GoalInput {
    pub title: String,
    pub domain: String,
    #[serde(default)]
    pub target_date: Option<String>,
}

/// Adds a plan goal as `who`; returns its id.
pub fn add_goal(lan: &Lan, who: &Staff, person: &str, g: &GoalInput) -> ApiResult<Staged<String>> {
    if !who.has(CASE_WORKERS) {
        return Err(ApiError::forbidden("your role cannot set plan goals"));
    }
    let title = line("title", &g.title, 200)?;
    let d = domain_for(who, "domain", &g.domain)?;
    let target = optional_date("target_date", g.target_date.as_deref())?;
    let now = lan.clock.now();
    let goal_id = new_id(now, who);
    let goal = PlanGoal {
        title,
        domain: d.code().to_owned(),
        target_date: target,
        status: GoalStatus::Active,
        created_by: who.username.clone(),
        created_at: now,
    };
    Ok(lan
        .audited_edit::<CaseFile, _>(who, "add_goal", &case_id(person), now, |e| {
            Ok(e.put(&["goals", &goal_id], &goal)?)
        })?
        .map(|()| goal_id))
}

pub(super) async fn add_goal_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<GoalInput>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let Json(g) = body?;
    let id = blocking_durable(move || add_goal(&lan, &who, &person, &g)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "goal": id }))))
}

/// A new referral to a partner's service.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ReferralInput {
    pub partner_id: String,
    pub service: String,
    pub reason: String,
    #[serde(default)]
    pub urgent: bool,
}

/// Refers the person to a partner's service as `who`; returns the referral's id. The partner
/// must be active and offer the service; a referral to a clinic is health content, made and
/// read by health staff only.
pub fn refer(lan: &Lan, who: &Staff, person: &str, r: &ReferralInput) -> ApiResult<Staged<String>> {
    if !who.has(CASE_WORKERS) {
        return Err(ApiError::forbidden("your role cannot make referrals"));
    }
    let partner = lan
        .store
        .get::<Partner>(&partner_id(r.partner_id.trim()))?
        .filter(|p| p.active)
        .ok_or_else(|| {
            ApiError::field_words(
                "partner_id",
                "input.no_partner",
                vec![("value", r.partner_id.chars().take(40).collect())],
            )
        })?;
    let service = r.service.trim();
    if !partner.services.contains(service) {
        return Err(ApiError::field_words(
            "service",
            "input.no_service",
            vec![
                ("partner", partner.name.clone()),
                (
                    "services",
                    partner
                        .services
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
            ],
        ));
    }
    let health = partner.kind == PartnerKind::Clinic;
    if health && !who.has(&[Role::HealthStaff]) {
        return Err(ApiError::field_words(
            "partner_id",
            "input.health_only",
            vec![],
        ));
    }
    let reason = prose("reason", &r.reason, MAX_TEXT_CHARS)?;
    let now = lan.clock.now();
    let referral_id = new_id(now, who);
    let mut referral = Referral::request(
        &partner.id,
        service,
        &reason,
        r.urgent,
        &new_id(now, who),
        &who.username,
        now,
    );
    referral.health = health;
    Ok(lan
        .audited_edit::<CaseFile, _>(who, "refer", &case_id(person), now, |e| {
            if referral.urgent {
                e.set_class(Class::Urgent);
            }
            Ok(e.put(&["referrals", &referral_id], &referral)?)
        })?
        .map(|()| referral_id))
}

pub(super) async fn refer_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<ReferralInput>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let Json(r) = body?;
    let id = blocking_durable(move || refer(&lan, &who, &person, &r)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "referral": id }))))
}
