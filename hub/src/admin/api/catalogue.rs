//! The national programme catalogue: programmes created, edited (titles and descriptions in
//! English and Thai) and withdrawn, never deleted.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{Kind, Programme, ProgrammeCategory, from_code, programme_id};
use pathway_shared::store::StoreError;
use serde::Deserialize;

use super::{ALL, blank_or, list, optional, text};
use crate::admin::AdminRole::NationalAdmin;
use crate::admin::{Admin, AdminError, AdminResult, AdminUser, blocking, require};

/// `GET /api/programmes`: the catalogue, withdrawn programmes too.
pub(crate) async fn programmes(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Vec<Programme>>> {
    require(&who, ALL, "see the catalogue")?;
    blocking(move || {
        Ok(Json(list::<Programme>(
            &admin,
            "national",
            Kind::Programme,
        )?))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewProgramme {
    pub code: String,
    pub title: String,
    #[serde(default)]
    pub title_th: String,
    pub category: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub description_th: String,
    pub duration_weeks: u32,
    pub sessions_per_week: u32,
    #[serde(default)]
    pub certificate: Option<String>,
    #[serde(default)]
    pub accrediting_body: Option<String>,
    #[serde(default)]
    pub eligibility_notes: String,
}

/// `POST /api/programmes`: a programme added to the catalogue.
pub(crate) async fn programme_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewProgramme>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Programme>)> {
    let Json(b) = body?;
    let p = create_programme(&admin, &who, b).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Checks the whole of `b`, then adds the programme, audited.
pub(crate) async fn create_programme(
    admin: &Arc<Admin>,
    who: &AdminUser,
    b: NewProgramme,
) -> AdminResult<Programme> {
    require(who, &[NationalAdmin], "edit the catalogue")?;
    let code = b.code.trim().to_uppercase();
    let code_ok = (2..=32).contains(&code.len())
        && code
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'-');
    if !code_ok {
        return Err(AdminError::field(
            "code",
            "use 2 to 32 capital letters, digits or `-`",
        ));
    }
    let category = from_code::<ProgrammeCategory>(b.category.trim()).ok_or_else(|| {
        AdminError::field(
            "category",
            format!("`{}` is not a programme category", b.category),
        )
    })?;
    if !(1..=260).contains(&b.duration_weeks) {
        return Err(AdminError::field(
            "duration_weeks",
            "between 1 and 260 weeks",
        ));
    }
    if !(1..=14).contains(&b.sessions_per_week) {
        return Err(AdminError::field(
            "sessions_per_week",
            "between 1 and 14 a week",
        ));
    }
    let p = Programme {
        title: text("title", &b.title, 120)?,
        title_th: blank_or("title_th", &b.title_th, 120)?,
        description: blank_or("description", &b.description, 2000)?,
        description_th: blank_or("description_th", &b.description_th, 2000)?,
        certificate: optional("certificate", &b.certificate, 120)?,
        accrediting_body: optional("accrediting_body", &b.accrediting_body, 120)?,
        eligibility_notes: blank_or("eligibility_notes", &b.eligibility_notes, 2000)?,
        code,
        category,
        duration_weeks: b.duration_weeks,
        sessions_per_week: b.sessions_per_week,
        withdrawn: false,
    };
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let id = programme_id(&p.code);
        if admin.store.meta(&id)?.is_some() {
            return Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("the catalogue already has a programme {}", p.code),
            ));
        }
        let now = admin.clock.now();
        admin.store.put(&p, now)?;
        admin
            .audit
            .record(&who.username, "create_programme", id.as_str(), now)?;
        Ok(p)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProgrammeEdit {
    pub title: Option<String>,
    pub title_th: Option<String>,
    pub description: Option<String>,
    pub description_th: Option<String>,
    pub eligibility_notes: Option<String>,
    pub duration_weeks: Option<u32>,
    pub sessions_per_week: Option<u32>,
}

/// `POST /api/programmes/{code}`: changes what the catalogue says of a programme (each field
/// given); runs already made from it keep their own schedule.
pub(crate) async fn programme_edit(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(code): Path<String>,
    body: Result<Json<ProgrammeEdit>, JsonRejection>,
) -> AdminResult<Json<Programme>> {
    let Json(b) = body?;
    edit_programme(&admin, &who, code, b).await.map(Json)
}

/// Checks every field given, then changes them, audited.
pub(crate) async fn edit_programme(
    admin: &Arc<Admin>,
    who: &AdminUser,
    code: String,
    b: ProgrammeEdit,
) -> AdminResult<Programme> {
    require(who, &[NationalAdmin], "edit the catalogue")?;
    let title = b
        .title
        .as_deref()
        .map(|t| text("title", t, 120))
        .transpose()?;
    let title_th = b
        .title_th
        .as_deref()
        .map(|t| blank_or("title_th", t, 120))
        .transpose()?;
    let description = b
        .description
        .as_deref()
        .map(|t| blank_or("description", t, 2000))
        .transpose()?;
    let description_th = b
        .description_th
        .as_deref()
        .map(|t| blank_or("description_th", t, 2000))
        .transpose()?;
    let notes = b
        .eligibility_notes
        .as_deref()
        .map(|t| text("eligibility_notes", t, 2000))
        .transpose()?;
    if b.duration_weeks.is_some_and(|w| !(1..=260).contains(&w)) {
        return Err(AdminError::field(
            "duration_weeks",
            "between 1 and 260 weeks",
        ));
    }
    if b.sessions_per_week.is_some_and(|n| !(1..=14).contains(&n)) {
        return Err(AdminError::field(
            "sessions_per_week",
            "between 1 and 14 a week",
        ));
    }
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let id = programme_id(&code);
        if admin.store.get::<Programme>(&id)?.is_none() {
            return Err(AdminError::not_found(format!(
                "the catalogue has no programme `{code}`"
            )));
        }
        let now = admin.clock.now();
        let (p, _) = admin
            .store
            .update::<Programme, _, StoreError>(&id, now, |p| {
                if let Some(t) = title {
                    p.title = t;
                }
                if let Some(t) = title_th {
                    p.title_th = t;
                }
                if let Some(d) = description {
                    p.description = d;
                }
                if let Some(d) = description_th {
                    p.description_th = d;
                }
                if let Some(n) = notes {
                    p.eligibility_notes = n;
                }
                if let Some(w) = b.duration_weeks {
                    p.duration_weeks = w;
                }
                if let Some(n) = b.sessions_per_week {
                    p.sessions_per_week = n;
                }
                Ok(p.clone())
            })?;
        admin
            .audit
            .record(&who.username, "edit_programme", id.as_str(), now)?;
        Ok(p)
    })
    .await
}

/// Withdraws a programme: never deleted, so the runs that use it stay valid; gateways stop
/// offering it for new runs once the change has synced.
pub(crate) async fn withdraw(
    admin: &Arc<Admin>,
    who: &AdminUser,
    code: String,
) -> AdminResult<Programme> {
    require(who, &[NationalAdmin], "edit the catalogue")?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let id = programme_id(&code);
        if admin.store.get::<Programme>(&id)?.is_none() {
            return Err(AdminError::not_found(format!(
                "the catalogue has no programme `{code}`"
            )));
        }
        let now = admin.clock.now();
        let (p, _) = admin
            .store
            .update::<Programme, _, StoreError>(&id, now, |p| {
                p.withdrawn = true;
                Ok(p.clone())
            })?;
        admin
            .audit
            .record(&who.username, "withdraw_programme", id.as_str(), now)?;
        Ok(p)
    })
    .await
}

pub(crate) async fn programme_withdraw(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(code): Path<String>,
) -> AdminResult<Json<Programme>> {
    withdraw(&admin, &who, code).await.map(Json)
}
