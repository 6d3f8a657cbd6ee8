//! Case files at the hub: a national administrator's read (audited, without health content)
//! and transfer.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{CaseFile, Facility, Visibility, case_id, facility_id};
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
