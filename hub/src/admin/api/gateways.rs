//! `POST /api/gateways`: a national administrator registers a gateway after `pathway enrol`, so
//! the fleet lists it (and counts what waits to reach it) before it first connects.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use pathway_shared::import::username_ok;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{known_facility, text};
use crate::admin::{Admin, AdminError, AdminResult, AdminRole, AdminUser, blocking, require};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewGateway {
    pub gateway: String,
    pub facility: String,
}

/// Registers a gateway for a facility in the national registry, audited; registering it again
/// for the same facility changes nothing.
pub(crate) async fn register_gateway(
    admin: &Arc<Admin>,
    who: &AdminUser,
    new: NewGateway,
) -> AdminResult<bool> {
    require(who, &[AdminRole::NationalAdmin], "register gateways")?;
    let gateway = new.gateway.trim().to_owned();
    if !username_ok(&gateway) {
        return Err(AdminError::field(
            "gateway",
            format!(
                "`{gateway}` is not a gateway id: 2 to 64 lowercase letters, digits, `.`, `-` or `_`, as given to `pathway enrol --gateway`"
            ),
        ));
    }
    let facility = text("facility", &new.facility, 64)?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        known_facility(&admin, &facility)?;
        let now = admin.clock.now();
        match crate::fleet::register(&admin.store, &gateway, &facility, &who.username, now)? {
            Ok(true) => {
                admin
                    .audit
                    .record(&who.username, "register_gateway", &gateway, now)?;
                Ok(true)
            }
            Ok(false) => Ok(false),
            Err(other) => Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("{gateway} is registered for {other}: a gateway serves one facility; enrol another id"),
            )),
        }
    })
    .await
}

/// `POST /api/gateways`: `{gateway, facility}`; 201 when new, 200 when it was registered.
pub(crate) async fn gateway_register(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<NewGateway>, JsonRejection>,
) -> AdminResult<(StatusCode, Json<Value>)> {
    let Json(b) = body?;
    let gateway = b.gateway.trim().to_owned();
    let new = register_gateway(&admin, &who, b).await?;
    let code = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(json!({ "gateway": gateway, "registered": new }))))
}
