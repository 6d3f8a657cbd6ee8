//! Partner organisations people are referred to (NGOs, employers, housing providers, clinics):
//! added, and deactivated or made active again, never deleted (referrals name them).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::import::username_ok;
use pathway_shared::model::{Kind, Partner, PartnerKind, from_code, partner_id};
use pathway_shared::store::StoreError;
use serde::Deserialize;

use super::{ALL, blank_or, list, text};
use crate::admin::AdminRole::NationalAdmin;
use crate::admin::{Admin, AdminError, AdminResult, AdminUser, blocking, require};

/// `GET /api/partners`: every partner, inactive ones too.
pub(crate) async fn partners(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Vec<Partner>>> {
    require(&who, ALL, "see the partners")?;
    blocking(move || Ok(Json(list::<Partner>(&admin, "national", Kind::Partner)?))).await
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
    let p = create_partner(&admin, &who, b).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// Checks the whole of `b`, then adds the partner, audited.
pub(crate) async fn create_partner(
    admin: &Arc<Admin>,
    who: &AdminUser,
    b: NewPartner,
) -> AdminResult<Partner> {
    require(who, &[NationalAdmin], "edit partners")?;
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
    for s in b.services.iter().filter(|s| !s.trim().is_empty()) {
        services.insert(text("services", s, 80)?);
    }
    if services.is_empty() {
        return Err(AdminError::field("services", "name at least one service"));
    }
    if services.len() > 50 {
        return Err(AdminError::field("services", "at most 50 services"));
    }
    let p = Partner {
        name: text("name", &b.name, 120)?,
        kind,
        services,
        region: blank_or("region", &b.region, 80)?,
        contact: blank_or("contact", &b.contact, 200)?,
        active: true,
        id,
    };
    let (admin, who) = (admin.clone(), who.clone());
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
        Ok(p)
    })
    .await
}

/// Makes a partner inactive (no new referral to it) or active again, audited.
pub(crate) async fn set_partner_active(
    admin: &Arc<Admin>,
    who: &AdminUser,
    id: String,
    active: bool,
) -> AdminResult<Partner> {
    require(who, &[NationalAdmin], "edit partners")?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let doc = partner_id(&id);
        if admin.store.get::<Partner>(&doc)?.is_none() {
            return Err(AdminError::not_found(format!("there is no partner `{id}`")));
        }
        let now = admin.clock.now();
        let (p, _) = admin
            .store
            .update::<Partner, _, StoreError>(&doc, now, |p| {
                p.active = active;
                Ok(p.clone())
            })?;
        let action = if active {
            "activate_partner"
        } else {
            "deactivate_partner"
        };
        admin
            .audit
            .record(&who.username, action, doc.as_str(), now)?;
        Ok(p)
    })
    .await
}

/// `POST /api/partners/{id}/deactivate`.
pub(crate) async fn partner_deactivate(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(id): Path<String>,
) -> AdminResult<Json<Partner>> {
    set_partner_active(&admin, &who, id, false).await.map(Json)
}

/// `POST /api/partners/{id}/activate`.
pub(crate) async fn partner_activate(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(id): Path<String>,
) -> AdminResult<Json<Partner>> {
    set_partner_active(&admin, &who, id, true).await.map(Json)
}
