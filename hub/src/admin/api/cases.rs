//! Case files at the hub: a national administrator's read (audited, without health content),
//! transfer, and the six-week follow-up after release.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    CaseFile, Facility, FollowUp, Visibility, case_id, date_of_ms, facility_id, iso_date,
    parse_date,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::text;
use crate::admin::AdminRole::NationalAdmin;
use crate::admin::{Admin, AdminError, AdminResult, AdminUser, blocking, require};

/// `GET /api/cases/{person}`: a case file, for a national administrator only, without health
/// content or restricted notes; audited.
pub(crate) async fn case_read(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(person): Path<String>,
) -> AdminResult<Json<CaseFile>> {
    require(&who, &[NationalAdmin], "read case files")?;
    blocking(move || {
        let id = pathway_shared::model::DocId::parse(&format!("case/{person}"))
            .map_err(|e| AdminError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        let now = admin.clock.now();
        let Some(mut file) = admin.store.get::<CaseFile>(&case_id(&person))? else {
            return Err(AdminError::not_found(format!("no case file for {person}")));
        };
        admin
            .audit
            .record(&who.username, "read_case", id.as_str(), now)?;
        // The one redaction both daemons use: health content, enrolments in the catalogue's
        // health programmes among it, is the facility's health staff's alone.
        pathway_shared::sensitive::HealthProgrammes::default().redact(
            &admin.store,
            Visibility {
                health: false,
                restricted_notes: false,
            },
            &mut file,
        )?;
        Ok(Json(file))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransferBody {
    pub to_facility: String,
    pub reason: String,
}

/// `POST /api/cases/{person}/transfer`: a national administrator moves a person's case file to
/// another facility in the registry; both facilities hear of it on their next sync (the old one
/// keeps a stub). Audited.
pub(crate) async fn case_transfer(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(person): Path<String>,
    body: Result<Json<TransferBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "transfer people")?;
    let reason = text("reason", &b.reason, 500)?;
    let to = b.to_facility.trim().to_owned();
    blocking(move || {
        let id = pathway_shared::model::DocId::parse(&format!("case/{person}"))
            .map_err(|e| AdminError::new(StatusCode::BAD_REQUEST, e.to_string()))?;
        let Some(file) = admin.store.get::<CaseFile>(&id)? else {
            return Err(AdminError::not_found(format!("no case file for {person}")));
        };
        if admin.store.get::<Facility>(&facility_id(&to))?.is_none() {
            return Err(AdminError::field(
                "to_facility",
                format!("`{to}` is not a facility in the national registry"),
            ));
        }
        if file.holding_facility == to {
            return Err(AdminError::field(
                "to_facility",
                format!("{person} is already held at {to}"),
            ));
        }
        let now = admin.clock.now();
        let transfer = format!("{now}-{}", who.username);
        pathway_shared::sync::move_case(
            &admin.store,
            &person,
            &to,
            (&who.username, &reason),
            &transfer,
            now,
        )?;
        admin
            .audit
            .record(&who.username, "transfer_case", id.as_str(), now)?;
        Ok(Json(
            json!({ "transfer": transfer, "from": file.holding_facility, "to": to }),
        ))
    })
    .await
}

/// A released person's situation six weeks on, as national staff learnt it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FollowUpBody {
    /// ISO date the situation was learnt; empty: today.
    #[serde(default)]
    pub on: String,
    pub accommodation: String,
    pub ete: String,
    #[serde(default)]
    pub note: String,
}

/// `POST /api/cases/{person}/follow-up`: records how a released person was doing six weeks
/// on (a national administrator); counted in the release indicators. Audited.
pub(crate) async fn case_follow_up(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(person): Path<String>,
    body: Result<Json<FollowUpBody>, JsonRejection>,
) -> AdminResult<Json<FollowUp>> {
    let Json(b) = body?;
    record_follow_up(&admin, &who, &person, b).await.map(Json)
}

fn one_of(field: &str, value: &str, codes: &[&'static str]) -> AdminResult<String> {
    let v = value.trim();
    codes
        .iter()
        .find(|c| **c == v)
        .map(|c| (*c).to_owned())
        .ok_or_else(|| {
            AdminError::field(field, format!("`{v}` is not one of {}", codes.join(", ")))
        })
}

/// Checks `b` and records it on the person's case file, audited.
pub(crate) async fn record_follow_up(
    admin: &Arc<Admin>,
    who: &AdminUser,
    person: &str,
    b: FollowUpBody,
) -> AdminResult<FollowUp> {
    require(who, &[NationalAdmin], "record follow-ups")?;
    let accommodation = one_of("accommodation", &b.accommodation, &FollowUp::ACCOMMODATION)?;
    let ete = one_of("ete", &b.ete, &FollowUp::ETE)?;
    let note = match b.note.trim() {
        "" => String::new(),
        n => text("note", n, 1_000)?,
    };
    let now = admin.clock.now();
    let on = match b.on.trim() {
        "" => date_of_ms(now),
        d => parse_date(d)
            .map(iso_date)
            .map_err(|_| AdminError::field("on", format!("`{d}` is not a date (YYYY-MM-DD)")))?,
    };
    let (admin, who, person) = (admin.clone(), who.clone(), person.to_owned());
    blocking(move || {
        let id = case_id(&person);
        let Some(file) = admin.store.get::<CaseFile>(&id)? else {
            return Err(AdminError::not_found(format!("no case file for {person}")));
        };
        let Some(release) = &file.release else {
            return Err(AdminError::field(
                "on",
                format!("{person} has no release recorded: a follow-up comes after release"),
            ));
        };
        if on < release.on {
            return Err(AdminError::field(
                "on",
                format!("{on} is before the release on {}", release.on),
            ));
        }
        let f = FollowUp {
            on,
            by: who.username.clone(),
            at: now,
            accommodation,
            ete,
            note,
        };
        admin.store.edit::<CaseFile, _, AdminError>(&id, now, |e| {
            Ok(e.put(&["follow_up"], &Some(f.clone()))?)
        })?;
        admin
            .audit
            .record(&who.username, "follow_up", id.as_str(), now)?;
        Ok(f)
    })
    .await
}
