//! Imports of existing registers (CSV) for a facility: people in custody and staff accounts.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use pathway_shared::import::ImportError;
use serde_json::json;

use super::known_facility;
use crate::admin::AdminRole::NationalAdmin;
use crate::admin::{Admin, AdminResult, AdminUser, blocking, require};

/// What an import answers: its report, or every bad row by line and column (422, nothing
/// stored).
fn import_answer(
    r: Result<pathway_shared::import::Report, ImportError>,
) -> AdminResult<axum::response::Response> {
    match r {
        Ok(report) => Ok(Json(json!(report)).into_response()),
        Err(ImportError::Rows(rows)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({
                "error": format!("{} row(s) are wrong; nothing was imported", rows.len()),
                "rows": rows,
            })),
        )
            .into_response()),
        Err(ImportError::Store(e)) => Err(e.into()),
    }
}

#[derive(serde::Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct UpdateQuery {
    /// Change people already held to what the file says where their cells differ.
    #[serde(default)]
    update: bool,
}

/// `POST /api/facilities/{facility}/import/people[?update=true]`: a CSV of the people in
/// custody there. The answer lists each held person's cells that differ from the file; they
/// are applied only with `update`.
pub(crate) async fn import_people(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(facility): Path<String>,
    Query(q): Query<UpdateQuery>,
    body: axum::body::Bytes,
) -> AdminResult<axum::response::Response> {
    require(&who, &[NationalAdmin], "import registers")?;
    blocking(move || {
        known_facility(&admin, &facility)?;
        let now = admin.clock.now();
        let r = pathway_shared::import::import_people(
            &admin.store,
            pathway_shared::import::PeopleImport {
                facility: &facility,
                id_prefix: "H",
                by: &who.username,
                now,
                update: q.update,
            },
            &body,
            |_, _| {},
        );
        if let Ok(rep) = &r {
            let target = format!(
                "facility:{facility} ({} new, {} unchanged, {} updated)",
                rep.created, rep.unchanged, rep.updated
            );
            admin
                .audit
                .record(&who.username, "import_people", &target, now)?;
        }
        import_answer(r)
    })
    .await
}

/// `POST /api/facilities/{facility}/import/staff`: a CSV of staff accounts; the answer holds
/// each new account's one-time password.
pub(crate) async fn import_staff(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(facility): Path<String>,
    body: axum::body::Bytes,
) -> AdminResult<axum::response::Response> {
    require(&who, &[NationalAdmin], "import staff accounts")?;
    blocking(move || {
        known_facility(&admin, &facility)?;
        let now = admin.clock.now();
        let r =
            pathway_shared::import::import_staff(&admin.store, &facility, &body, now, |_, _| {});
        if let Ok(rep) = &r {
            let target = format!(
                "facility:{facility} ({} new, {} unchanged, {} updated)",
                rep.created, rep.unchanged, rep.updated
            );
            admin
                .audit
                .record(&who.username, "import_staff", &target, now)?;
        }
        import_answer(r)
    })
    .await
}
