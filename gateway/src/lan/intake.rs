//! Admission and placement: opening a case file for a person arriving in custody, and the
//! facility's record of where and how they are held (custody status, location and its moves,
//! security level, expected release date). Placement values are [`Stamped`]: set at the
//! facility and at the hub apart, both show until someone chooses by setting the field again.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    CaseFile, CustodyStatus, Location, Role, SecurityAssessment, SecurityLevel, Stamped, case_id,
    iso_date,
};
use serde::Deserialize;
use serde_json::json;

use super::auth::Staff;
use super::input::{code, date, line, optional_date, optional_line};
use super::roster::fold;
use super::{ApiError, ApiResult, Lan, Staged, blocking_durable, today_iso};

/// Who opens case files and records placements.
pub const RECORDS: &[Role] = &[Role::RecordsOfficer, Role::FacilityManager];

pub const CUSTODY_CODES: &[&str] = CustodyStatus::CODES;
pub const SECURITY_CODES: &[&str] = &["minimum", "medium", "high", "maximum"];

/// Admissions take turns, so two clerks cannot admit the same number at once.
static ADMITTING: Mutex<()> = Mutex::new(());

/// A person arriving in custody, as the admission form gives them.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Admission {
    pub prison_number: String,
    pub given_name: String,
    pub family_name: String,
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    /// Today if not given.
    #[serde(default)]
    pub admission_date: Option<String>,
    #[serde(default)]
    pub sentence_date: Option<String>,
    #[serde(default)]
    pub expected_release_date: Option<String>,
    pub custody_status: String,
    pub unit: String,
    pub cell: String,
    #[serde(default)]
    pub security_level: Option<String>,
    /// The case officer's username.
    #[serde(default)]
    pub case_officer: Option<String>,
}

const NAME_CHARS: usize = 100;
const NUMBER_CHARS: usize = 40;

fn location(unit: &str, cell: &str) -> ApiResult<Location> {
    Ok(Location {
        unit: line("unit", unit, NAME_CHARS)?,
        cell: line("cell", cell, NAME_CHARS)?,
    })
}

/// Checks the whole admission and builds the case file; nothing is written.
fn admitted(lan: &Lan, who: &Staff, a: &Admission, person_id: &str) -> ApiResult<CaseFile> {
    let now = lan.clock.now();
    let (today, _) = today_iso(now, lan.offset_minutes(lan.clock.now()));
    let number = line("prison_number", &a.prison_number, NUMBER_CHARS)?;
    let given = line("given_name", &a.given_name, NAME_CHARS)?;
    let family = line("family_name", &a.family_name, NAME_CHARS)?;
    let dob = optional_date("date_of_birth", a.date_of_birth.as_deref())?;
    let language = optional_line("language", a.language.as_deref(), NAME_CHARS)?;
    let admission = optional_date("admission_date", a.admission_date.as_deref())?.unwrap_or(today);
    let sentence = optional_date("sentence_date", a.sentence_date.as_deref())?;
    let release = optional_date("expected_release_date", a.expected_release_date.as_deref())?;
    if release.as_deref().is_some_and(|r| r < admission.as_str()) {
        return Err(ApiError::field_words(
            "expected_release_date",
            "input.release_before_admission",
            vec![],
        ));
    }
    let custody: CustodyStatus = code("custody_status", &a.custody_status, CUSTODY_CODES)?;
    let place = location(&a.unit, &a.cell)?;
    let security = match a
        .security_level
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(s) => Some(code::<SecurityLevel>("security_level", s, SECURITY_CODES)?),
    };
    let officer = optional_line("case_officer", a.case_officer.as_deref(), NAME_CHARS)?;
    let stamp = |v| Stamped::new(v, &who.username, now);
    let mut case = CaseFile {
        person_id: person_id.to_owned(),
        prison_number: number,
        given_name: given,
        family_name: family,
        date_of_birth: dob,
        language: language.unwrap_or_default(),
        holding_facility: lan.facility.clone(),
        admission_date: admission.clone(),
        expected_release_date: release.map(|r| Stamped::new(r, &who.username, now)),
        sentence_date: sentence,
        custody_status: Some(stamp(custody)),
        location: Some(Stamped::new(place.clone(), &who.username, now)),
        security: security.map(|level| {
            Stamped::new(
                SecurityAssessment {
                    level,
                    assessed_on: admission,
                },
                &who.username,
                now,
            )
        }),
        case_officer: officer,
        ..CaseFile::default()
    };
    case.moves
        .insert(move_id(now, who), Stamped::new(place, &who.username, now));
    Ok(case)
}

fn move_id(now: i64, who: &Staff) -> String {
    format!("{now}-{}", who.username)
}

/// Opens a case file for a person arriving in custody; returns their person id. A prison
/// number already held here is refused, naming who holds it.
pub fn admit(lan: &Lan, who: &Staff, a: &Admission) -> ApiResult<Staged<String>> {
    if !who.has(RECORDS) {
        return Err(ApiError::forbidden(
            "only a records officer or the facility manager admits people",
        ));
    }
    let _turn = ADMITTING.lock().unwrap_or_else(|e| e.into_inner());
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    let prefix = format!("{}-", lan.facility);
    let next = roster
        .people
        .keys()
        .filter_map(|p| p.strip_prefix(&prefix)?.parse::<u64>().ok())
        .max()
        .unwrap_or(0)
        + 1;
    let person = format!("{prefix}{next:06}");
    let case = admitted(lan, who, a, &person)?;
    let number = fold(&case.prison_number);
    if let Some(held) = roster
        .people
        .values()
        .find(|p| fold(&p.prison_number) == number)
    {
        return Err(ApiError::field_words(
            "prison_number",
            "input.number_taken",
            vec![
                ("number", case.prison_number.clone()),
                ("name", held.name()),
                ("person", held.person_id.clone()),
            ],
        )
        .with_status(StatusCode::CONFLICT));
    }
    let now = lan.clock.now();
    let id = case_id(&person);
    // The new case file and its entry are one batch: neither is stored without the other.
    let pending = lan
        .audit
        .stage_new::<CaseFile, ApiError>(&who.username, "admit", &case, now)?;
    lan.roster.refresh(&lan.store, &id)?;
    Ok(Staged {
        value: person,
        pending,
    })
}

pub(super) async fn admit_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    body: Result<Json<Admission>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let Json(a) = body?;
    let person = blocking_durable(move || admit(&lan, &who, &a)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "person_id": person }))))
}

/// A change to how a person is held. Each field given is set; the others are left.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Placement {
    #[serde(default)]
    pub custody_status: Option<String>,
    /// A move: both unit and cell.
    #[serde(default)]
    pub unit: Option<String>,
    #[serde(default)]
    pub cell: Option<String>,
    #[serde(default)]
    pub security_level: Option<String>,
    #[serde(default)]
    pub expected_release_date: Option<String>,
}

/// Sets what `p` gives, as `who`. Setting a field that shows a conflict resolves it.
pub fn place(lan: &Lan, who: &Staff, person: &str, p: &Placement) -> ApiResult<Staged<()>> {
    if !who.has(RECORDS) {
        return Err(ApiError::forbidden(
            "only a records officer or the facility manager changes how a person is held",
        ));
    }
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let custody = given(&p.custody_status)
        .map(|c| code::<CustodyStatus>("custody_status", &c, CUSTODY_CODES))
        .transpose()?;
    let moved = match (given(&p.unit), given(&p.cell)) {
        (None, None) => None,
        (unit, cell) => Some(location(
            unit.as_deref().unwrap_or_default(),
            cell.as_deref().unwrap_or_default(),
        )?),
    };
    let security = given(&p.security_level)
        .map(|c| code::<SecurityLevel>("security_level", &c, SECURITY_CODES))
        .transpose()?;
    let release = given(&p.expected_release_date)
        .map(|d| date("expected_release_date", &d).map(iso_date))
        .transpose()?;
    if custody.is_none() && moved.is_none() && security.is_none() && release.is_none() {
        return Err(ApiError::field_words(
            "custody_status",
            "input.nothing",
            vec![],
        ));
    }
    let now = lan.clock.now();
    let (today, _) = today_iso(now, lan.offset_minutes(lan.clock.now()));
    let stamp = |v| Stamped::new(v, &who.username, now);
    let id = case_id(person);
    lan.audited_edit::<CaseFile, _>(who, "placement", &id, now, |e| {
        if let Some(c) = custody {
            e.put(&["custody_status"], &Some(stamp(c)))?;
        }
        if let Some(l) = moved {
            e.put(
                &["moves", &move_id(now, who)],
                &Stamped::new(l.clone(), &who.username, now),
            )?;
            e.put(&["location"], &Some(Stamped::new(l, &who.username, now)))?;
        }
        if let Some(level) = security {
            let s = SecurityAssessment {
                level,
                assessed_on: today.clone(),
            };
            e.put(&["security"], &Some(Stamped::new(s, &who.username, now)))?;
        }
        if let Some(d) = release {
            e.put(
                &["expected_release_date"],
                &Some(Stamped::new(d, &who.username, now)),
            )?;
        }
        Ok(())
    })
}

pub(super) async fn place_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<Placement>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(p) = body?;
    blocking_durable(move || place(&lan, &who, &person, &p)).await?;
    Ok(StatusCode::NO_CONTENT)
}
