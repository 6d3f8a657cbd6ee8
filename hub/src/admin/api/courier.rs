//! Courier files at the hub: `POST /api/courier` takes a gateway's changes file (the raw
//! bytes), applies it as a live session would, and answers with the receipt to carry back.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use pathway_shared::courier::{self, CourierError, HubSelf};
use serde_json::{Value, json};

use crate::admin::AdminRole::{NationalAdmin, SyncOperator};
use crate::admin::{Admin, AdminError, AdminResult, AdminUser, blocking, require};

/// `POST /api/courier`: the body is the courier file.
pub(crate) async fn courier_import(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: axum::body::Bytes,
) -> AdminResult<Json<Value>> {
    require(&who, &[NationalAdmin, SyncOperator], "import courier files")?;
    blocking(move || {
        let keys = admin.keys.get().ok_or_else(|| {
            AdminError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "this hub's administration was started without the hub's keys; courier files cannot be opened",
            )
        })?;
        let now = admin.clock.now();
        let hub = HubSelf {
            node: crate::HUB,
            ca_pem: &keys.ca_pem,
            creds: &keys.creds,
        };
        let admit = |g: &pathway_shared::identity::GatewayIdentity| {
            if crate::revoke::is_revoked(&admin.store, &g.gateway).unwrap_or(true) {
                return Err(format!(
                    "gateway {} is revoked; its changes are not taken",
                    g.gateway
                ));
            }
            if admin.live.is_live(&g.gateway) {
                return Err(format!(
                    "gateway {} is connected now and its changes arrive over the link; the courier file is not needed",
                    g.gateway
                ));
            }
            Ok(())
        };
        let done = courier::import(&admin.store, &hub, &body, &who.username, admit, now)
            .map_err(|e| match e {
                CourierError::Store(e) => AdminError::from(e),
                CourierError::Sync(pathway_shared::sync::SyncError::Store(e)) => e.into(),
                e => AdminError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
            })?;
        // The file is signed with the gateway's certificate: a site with no link is renewed
        // from it (`pathway ca renew`), and the renewal rides back on a later receipt.
        crate::revoke::record_presented(&admin.store, &done.gateway.gateway, &done.header.sender);
        let taken = &done.receipt_body.taken;
        if !done.again {
            let target = format!(
                "gateway:{} file {} carried by {} ({} change(s){})",
                done.gateway.gateway,
                done.header.id_hex(),
                done.header.person,
                taken.changes,
                if taken.refused.is_empty() {
                    String::new()
                } else {
                    format!(", {} refused", taken.refused.len())
                }
            );
            admin
                .audit
                .record(&who.username, "courier_import", &target, now)?;
        }
        Ok(Json(json!({
            "file": done.header.id_hex(),
            "gateway": done.gateway.gateway,
            "facility": done.gateway.facility,
            "carried_by": done.header.person,
            "written_at": done.header.made_at,
            "changes": taken.changes,
            "refused": taken.refused.iter().map(|(d, r)| json!({"doc": d, "reason": r})).collect::<Vec<_>>(),
            "after_move": taken.after_move,
            "again": done.again,
            "back_changes": done.receipt_body.back_changes,
            "renewed_certificate": done.receipt_body.certificate.is_some(),
            "receipt": hex::encode(&done.receipt),
        })))
    })
    .await
}
