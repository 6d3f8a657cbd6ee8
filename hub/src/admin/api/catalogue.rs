//! The national catalogue and registry: programmes (created, edited, withdrawn, never
//! deleted), facilities and partner organisations.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::import::username_ok;
use pathway_shared::model::{
    Facility, Kind, Partner, PartnerKind, Programme, ProgrammeCategory, facility_id, from_code,
    partner_id, programme_id,
};
use pathway_shared::store::StoreError;
use serde::Deserialize;

use super::{ALL, list, optional, text};
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
    pub category: String,
    #[serde(default)]
    pub description: String,
    pub duration_weeks: u32,
    pub sessions_per_week: u32,
    #[serde(default)]
    pub certificate: Option<String>,
    #[serde(default)]
    pub accrediting_body: Option<String>,
    #[serde(default)]
    pub eligibility_notes: String,
}

pub(crate) async fn programme_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewProgramme>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Programme>)> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "edit the catalogue")?;
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
        description: match b.description.trim() {
            "" => String::new(),
            d => text("description", d, 2000)?,
        },
        certificate: optional("certificate", &b.certificate, 120)?,
        accrediting_body: optional("accrediting_body", &b.accrediting_body, 120)?,
        eligibility_notes: match b.eligibility_notes.trim() {
            "" => String::new(),
            d => text("eligibility_notes", d, 2000)?,
        },
        code,
        category,
        duration_weeks: b.duration_weeks,
        sessions_per_week: b.sessions_per_week,
        withdrawn: false,
    };
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
        Ok((StatusCode::CREATED, Json(p)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProgrammeEdit {
    pub title: Option<String>,
    pub description: Option<String>,
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
    require(&who, &[NationalAdmin], "edit the catalogue")?;
    let title = b
        .title
        .as_deref()
        .map(|t| text("title", t, 120))
        .transpose()?;
    let description = b
        .description
        .as_deref()
        .map(|t| text("description", t, 2000))
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
                if let Some(d) = description {
                    p.description = d;
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
        Ok(Json(p))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewFacility {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub capacity: u32,
}

/// `POST /api/facilities`: a prison added to the national registry.
pub(crate) async fn facility_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewFacility>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Facility>)> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "edit the facility registry")?;
    let id = b.id.trim().to_uppercase();
    if !(2..=12).contains(&id.len())
        || !id
            .bytes()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    {
        return Err(AdminError::field(
            "id",
            "use 2 to 12 capital letters or digits (WHK)",
        ));
    }
    let f = Facility {
        name: text("name", &b.name, 120)?,
        region: match b.region.trim() {
            "" => String::new(),
            r => text("region", r, 80)?,
        },
        country: match b.country.trim() {
            "" => String::new(),
            c => text("country", c, 80)?,
        },
        capacity: b.capacity,
        id,
    };
    blocking(move || {
        let doc = facility_id(&f.id);
        if admin.store.meta(&doc)?.is_some() {
            return Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("the registry already has {}", f.id),
            ));
        }
        let now = admin.clock.now();
        admin.store.put(&f, now)?;
        admin
            .audit
            .record(&who.username, "create_facility", doc.as_str(), now)?;
        Ok((StatusCode::CREATED, Json(f)))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPartner {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub services: Vec<String>,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub contact: String,
}

/// `POST /api/partners`: an organisation people can be referred to.
pub(crate) async fn partner_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewPartner>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Partner>)> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "edit partners")?;
    let id = b.id.trim().to_lowercase();
    if !username_ok(&id) {
        return Err(AdminError::field(
            "id",
            "use 2 to 64 lowercase letters, digits, `.`, `-` or `_`",
        ));
    }
    let kind = from_code::<PartnerKind>(b.kind.trim()).ok_or_else(|| {
        AdminError::field("kind", "use ngo, employer, housing_provider or clinic")
    })?;
    let mut services = BTreeSet::new();
    for s in &b.services {
        services.insert(text("services", s, 80)?);
    }
    if services.is_empty() {
        return Err(AdminError::field("services", "name at least one service"));
    }
    let p = Partner {
        name: text("name", &b.name, 120)?,
        kind,
        services,
        region: match b.region.trim() {
            "" => String::new(),
            r => text("region", r, 80)?,
        },
        contact: match b.contact.trim() {
            "" => String::new(),
            c => text("contact", c, 200)?,
        },
        active: true,
        id,
    };
    blocking(move || {
        let doc = partner_id(&p.id);
        if admin.store.meta(&doc)?.is_some() {
            return Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("there is already a partner {}", p.id),
            ));
        }
        let now = admin.clock.now();
        admin.store.put(&p, now)?;
        admin
            .audit
            .record(&who.username, "create_partner", doc.as_str(), now)?;
        Ok((StatusCode::CREATED, Json(p)))
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
