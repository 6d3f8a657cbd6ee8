//! Caseloads given by the facility manager: one person to a case officer, or everyone held in
//! a unit at once. Each change is an audited edit of the person's case file.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{Kind, Role, StaffAccount, case_id};
use serde::Deserialize;

use super::auth::Staff;
use super::{ApiError, ApiResult, Lan, Staged, blocking, blocking_durable};

/// Who gives caseloads.
pub const ASSIGNERS: &[Role] = &[Role::FacilityManager];

/// The facility's case officers who can take people: (username, display name), by name.
pub fn case_officers(lan: &Lan) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for id in lan
        .store
        .list(&format!("facility:{}", lan.facility), Kind::StaffAccount)?
    {
        if let Some(s) = lan.store.get::<StaffAccount>(&id)?
            && !s.disabled
            && s.roles.contains(&Role::CaseOfficer)
        {
            out.push((s.username, s.display_name));
        }
    }
    out.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
    Ok(out)
}

/// Checks `officer` is an active case officer here; empty means nobody.
fn officer(lan: &Lan, officer: &str) -> ApiResult<Option<String>> {
    let officer = officer.trim();
    if officer.is_empty() {
        return Ok(None);
    }
    if !case_officers(lan)?.iter().any(|(u, _)| u == officer) {
        return Err(ApiError::field_words(
            "officer",
            "input.no_case_officer",
            vec![("value", officer.chars().take(40).collect())],
        ));
    }
    Ok(Some(officer.to_owned()))
}

/// Gives `person` to `officer` (empty: to nobody), as `who`.
pub fn assign(lan: &Lan, who: &Staff, person: &str, to: &str) -> ApiResult<Staged<()>> {
    if !who.has(ASSIGNERS) {
        return Err(ApiError::forbidden(
            "only the facility manager gives caseloads",
        ));
    }
    let to = officer(lan, to)?;
    let now = lan.clock.now();
    lan.audited_edit::<pathway_shared::model::CaseFile, _>(
        who,
        "assign_case_officer",
        &case_id(person),
        now,
        |e| Ok(e.put(&["case_officer"], &to)?),
    )
}

/// Gives everyone held in `unit` who is not yet `officer`'s to them, as `who`; returns how
/// many were given. A released person's file is read-only and left out.
pub fn assign_unit(lan: &Lan, who: &Staff, unit: &str, to: &str) -> ApiResult<Staged<usize>> {
    if !who.has(ASSIGNERS) {
        return Err(ApiError::forbidden(
            "only the facility manager gives caseloads",
        ));
    }
    let unit = unit.trim();
    if unit.is_empty() {
        return Err(ApiError::field_words("unit", "input.empty", vec![]));
    }
    let Some(to) = officer(lan, to)? else {
        return Err(ApiError::field_words("officer", "input.empty", vec![]));
    };
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    let people: Vec<String> = roster
        .people
        .values()
        .filter(|p| p.unit.as_deref() == Some(unit) && p.case_officer.as_deref() != Some(&to))
        .map(|p| p.person_id.clone())
        .collect();
    if people.is_empty()
        && !roster
            .people
            .values()
            .any(|p| p.unit.as_deref() == Some(unit))
    {
        return Err(ApiError::field_words(
            "unit",
            "input.no_unit",
            vec![("value", unit.chars().take(40).collect())],
        ));
    }
    let mut pending = lan.store.pending_none();
    let mut given = 0;
    for p in &people {
        match assign(lan, who, p, &to) {
            Ok(staged) => {
                pending = staged.pending;
                given += 1;
            }
            // Released since the roster was read: read-only, left as it is.
            Err(e) if e.status == StatusCode::CONFLICT => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Staged {
        value: given,
        pending,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OfficerBody {
    officer: String,
}

/// `PUT /api/cases/{person}/case-officer`.
pub(super) async fn assign_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<OfficerBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(b) = body?;
    blocking_durable(move || assign(&lan, &who, &person, &b.officer)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UnitBody {
    unit: String,
    officer: String,
}

/// `POST /api/caseloads/by-unit`: everyone held in a unit to one officer.
pub(super) async fn assign_unit_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    body: Result<Json<UnitBody>, JsonRejection>,
) -> ApiResult<Json<serde_json::Value>> {
    let Json(b) = body?;
    let n = blocking_durable(move || assign_unit(&lan, &who, &b.unit, &b.officer)).await?;
    Ok(Json(serde_json::json!({ "assigned": n })))
}

/// `GET /api/caseloads`: each case officer and how many people they hold (manager).
pub(super) async fn caseloads_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
) -> ApiResult<Json<serde_json::Value>> {
    if !who.has(ASSIGNERS) {
        return Err(ApiError::forbidden(
            "only the facility manager sees every caseload",
        ));
    }
    blocking(move || {
        let counts = counts(&lan)?;
        Ok(Json(serde_json::json!(
            counts
                .into_iter()
                .map(|(u, name, n)| serde_json::json!({"officer": u, "name": name, "people": n}))
                .collect::<Vec<_>>()
        )))
    })
    .await
}

/// Each case officer with how many people they hold, and the people held by nobody (`""`).
pub fn counts(lan: &Lan) -> ApiResult<Vec<(String, String, usize)>> {
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    let mut out: Vec<(String, String, usize)> = case_officers(lan)?
        .into_iter()
        .map(|(u, n)| (u, n, 0))
        .collect();
    let mut nobody = 0;
    for p in roster.people.values() {
        match out
            .iter_mut()
            .find(|(u, _, _)| Some(u.as_str()) == p.case_officer.as_deref())
        {
            Some(row) => row.2 += 1,
            None => nobody += 1,
        }
    }
    out.push((String::new(), String::new(), nobody));
    Ok(out)
}
