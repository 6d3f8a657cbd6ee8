//! The national facility registry: each prison with its code, its name in English and Thai, its
//! region and its time zone. Facilities are added and edited, never deleted (records name them).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{Facility, Kind, facility_id, time_zone_known};
use pathway_shared::store::StoreError;
use serde::Deserialize;

use super::{ALL, blank_or, list, text};
use crate::admin::AdminRole::NationalAdmin;
use crate::admin::{Admin, AdminError, AdminResult, AdminUser, blocking, require};

/// `GET /api/facilities`: the national registry.
pub(crate) async fn facilities(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Vec<Facility>>> {
    require(&who, ALL, "see the facilities")?;
    blocking(move || Ok(Json(list::<Facility>(&admin, "national", Kind::Facility)?))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewFacility {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub name_th: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub capacity: u32,
    #[serde(default)]
    pub stale_after_hours: u32,
}

/// What may change of a facility: each field given.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct FacilityEdit {
    pub name: Option<String>,
    pub name_th: Option<String>,
    pub region: Option<String>,
    pub time_zone: Option<String>,
    pub capacity: Option<u32>,
    pub stale_after_hours: Option<u32>,
}

/// A time zone as typed: empty, or an IANA name the built-in database knows.
fn time_zone(s: &str) -> AdminResult<String> {
    let tz = s.trim();
    if tz.is_empty() || time_zone_known(tz) {
        Ok(tz.to_owned())
    } else {
        Err(AdminError::field(
            "time_zone",
            format!(
                "`{tz}` is not a time zone: use its IANA name, as Africa/Windhoek or Asia/Bangkok"
            ),
        ))
    }
}

/// Hours a gateway may go without being level: 0 (the national default, 24) to 90 days.
fn stale_hours(n: u32) -> AdminResult<u32> {
    if n <= 90 * 24 {
        Ok(n)
    } else {
        Err(AdminError::field(
            "stale_after_hours",
            "at most 2,160 hours (90 days); 0 for the national default of 24",
        ))
    }
}

fn capacity(n: u32) -> AdminResult<u32> {
    if n <= 100_000 {
        Ok(n)
    } else {
        Err(AdminError::field("capacity", "at most 100,000 places"))
    }
}

/// `POST /api/facilities`: a prison added to the national registry.
pub(crate) async fn facility_create(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewFacility>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Facility>)> {
    let Json(b) = body?;
    let f = create_facility(&admin, &who, b).await?;
    Ok((StatusCode::CREATED, Json(f)))
}

/// Checks the whole of `b`, then adds the facility, audited.
pub(crate) async fn create_facility(
    admin: &Arc<Admin>,
    who: &AdminUser,
    b: NewFacility,
) -> AdminResult<Facility> {
    require(who, &[NationalAdmin], "edit the facility registry")?;
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
        name_th: blank_or("name_th", &b.name_th, 120)?,
        region: blank_or("region", &b.region, 80)?,
        country: blank_or("country", &b.country, 80)?,
        time_zone: time_zone(&b.time_zone)?,
        capacity: capacity(b.capacity)?,
        stale_after_hours: stale_hours(b.stale_after_hours)?,
        id,
    };
    let (admin, who) = (admin.clone(), who.clone());
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
        Ok(f)
    })
    .await
}

/// `POST /api/facilities/{facility}`: changes each field given.
pub(crate) async fn facility_edit(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(id): Path<String>,
    body: Result<Json<FacilityEdit>, JsonRejection>,
) -> AdminResult<Json<Facility>> {
    let Json(b) = body?;
    edit_facility(&admin, &who, id, b).await.map(Json)
}

/// Checks every field given, then changes them, audited.
pub(crate) async fn edit_facility(
    admin: &Arc<Admin>,
    who: &AdminUser,
    id: String,
    b: FacilityEdit,
) -> AdminResult<Facility> {
    require(who, &[NationalAdmin], "edit the facility registry")?;
    let name = b
        .name
        .as_deref()
        .map(|t| text("name", t, 120))
        .transpose()?;
    let name_th = b
        .name_th
        .as_deref()
        .map(|t| blank_or("name_th", t, 120))
        .transpose()?;
    let region = b
        .region
        .as_deref()
        .map(|t| blank_or("region", t, 80))
        .transpose()?;
    let tz = b.time_zone.as_deref().map(time_zone).transpose()?;
    let places = b.capacity.map(capacity).transpose()?;
    let stale = b.stale_after_hours.map(stale_hours).transpose()?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let doc = facility_id(&id);
        if admin.store.get::<Facility>(&doc)?.is_none() {
            return Err(AdminError::not_found(format!(
                "`{id}` is not a facility in the national registry"
            )));
        }
        let now = admin.clock.now();
        let (f, _) = admin
            .store
            .update::<Facility, _, StoreError>(&doc, now, |f| {
                if let Some(n) = name {
                    f.name = n;
                }
                if let Some(n) = name_th {
                    f.name_th = n;
                }
                if let Some(r) = region {
                    f.region = r;
                }
                if let Some(t) = tz {
                    f.time_zone = t;
                }
                if let Some(c) = places {
                    f.capacity = c;
                }
                if let Some(h) = stale {
                    f.stale_after_hours = h;
                }
                Ok(f.clone())
            })?;
        admin
            .audit
            .record(&who.username, "edit_facility", doc.as_str(), now)?;
        Ok(f)
    })
    .await
}
