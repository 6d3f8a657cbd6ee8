//! Certificate renewal through the hub. `GET /api/gateways/{gateway}/certificate` gives the
//! certificate the gateway last presented (what `pathway ca renew` starts from); `POST` takes
//! the renewed one and puts it in the national [`CertificateList`], which every gateway receives
//! and from which the named gateway installs its own. The CA's key never comes near the hub.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::identity::{expires_at, first_cert, verified_gateway};
use pathway_shared::import::username_ok;
use pathway_shared::model::{CertificateList, Class, IssuedCertificate, certificates_id};
use pathway_shared::store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::admin::AdminRole::NationalAdmin;
use crate::admin::{Admin, AdminError, AdminResult, AdminUser, blocking, require};

fn gateway_id(gateway: &str) -> AdminResult<()> {
    if username_ok(gateway) {
        Ok(())
    } else {
        Err(AdminError::field(
            "gateway",
            format!("`{gateway}` is not a gateway id"),
        ))
    }
}

use pathway_shared::model::date_of_ms as date;

/// `GET /api/gateways/{gateway}/certificate`: the certificate it presented last, and the
/// renewed one waiting for it, if any.
pub(crate) async fn certificate_get(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(gateway): Path<String>,
) -> AdminResult<Json<Value>> {
    require(&who, &[NationalAdmin], "renew gateway certificates")?;
    gateway_id(&gateway)?;
    blocking(move || {
        let presented: Option<String> = admin.store.local(crate::revoke::PRESENTED, &gateway)?;
        let Some(pem) = presented else {
            return Err(AdminError::new(
                StatusCode::NOT_FOUND,
                format!(
                    "gateway {gateway} has not connected to this hub yet, nor sent it a courier file: there is no certificate of it to renew"
                ),
            ));
        };
        let sent = admin
            .store
            .get::<CertificateList>(&certificates_id())?
            .and_then(|l| l.issued.get(&gateway).cloned());
        let until = expires_at(&pem, "certificate").unwrap_or(0);
        Ok(Json(json!({
            "gateway": gateway,
            "cert_pem": pem,
            "valid_until": date(until),
            "revoked": crate::revoke::is_revoked(&admin.store, &gateway)?,
            "sent": sent.map(|s| json!({
                "at": s.at,
                "by": s.by,
                "valid_until": date(expires_at(&s.cert_pem, "certificate").unwrap_or(0)),
            })),
        })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CertificateBody {
    pub cert_pem: String,
}

/// `POST /api/gateways/{gateway}/certificate`: `{cert_pem}`, a renewed certificate issued by
/// the national CA for this gateway, sent to it as a national document; audited.
pub(crate) async fn certificate_send(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(gateway): Path<String>,
    body: Result<Json<CertificateBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    require(&who, &[NationalAdmin], "renew gateway certificates")?;
    gateway_id(&gateway)?;
    if b.cert_pem.len() > 16 * 1024 {
        return Err(AdminError::field(
            "cert_pem",
            "a certificate has at most 16 KiB",
        ));
    }
    blocking(move || {
        let keys = admin.keys.get().ok_or_else(|| {
            AdminError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "this hub's administration was started without the hub's keys; certificates cannot be checked",
            )
        })?;
        let wrong = |why: String| AdminError::field("cert_pem", why);
        let der = first_cert(&b.cert_pem, "certificate").map_err(|e| wrong(e.to_string()))?;
        let named = verified_gateway(&keys.ca_pem, &der).map_err(|e| {
            wrong(format!(
                "the certificate was not issued by this hub's CA or is not valid now: {e}"
            ))
        })?;
        if named.gateway != gateway {
            return Err(wrong(format!(
                "the certificate is for gateway {}, not {gateway}",
                named.gateway
            )));
        }
        if crate::revoke::is_revoked(&admin.store, &gateway)? {
            return Err(AdminError::new(
                StatusCode::CONFLICT,
                format!("gateway {gateway} is revoked; a new certificate would not let it in"),
            ));
        }
        let now = admin.clock.now();
        let id = certificates_id();
        if admin.store.meta(&id)?.is_none() {
            admin.store.put(&CertificateList::default(), now)?;
        }
        let pem = b.cert_pem.trim().to_owned() + "\n";
        let entry = IssuedCertificate {
            cert_pem: pem.clone(),
            at: now,
            by: who.username.clone(),
        };
        admin
            .store
            .edit::<CertificateList, _, StoreError>(&id, now, |e| {
                e.set_class(Class::Urgent);
                e.put(&["issued", &gateway], &entry)
            })?;
        let until = date(expires_at(&pem, "certificate").unwrap_or(0));
        admin.audit.record(
            &who.username,
            "certificate_sent",
            &format!("gateway:{gateway} valid until {until}"),
            now,
        )?;
        tracing::info!(%gateway, by = %who.username, valid_until = %until, "renewed certificate sent");
        Ok(Json(json!({
            "gateway": gateway,
            "facility": named.facility,
            "valid_until": until,
            "online": admin.live.is_live(&gateway),
        })))
    })
    .await
}
