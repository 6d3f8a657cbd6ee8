//! Courier files at the gateway, for a site with no link: `export` writes the changes the hub
//! has not acknowledged, sealed to the hub's certificate (`[tls] hub`), and `receipt` takes the
//! hub's receipt back. The running daemon serves both on its status port (`POST
//! /courier/export?carried_by=…`, `POST /courier/receipt`); `pathway courier` uses them, or the
//! store itself while the daemon is stopped.

use std::sync::Arc;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pathway_shared::courier::{self, CourierError, ExportSummary, HubEnd, ReceiptSummary};
use pathway_shared::model::Millis;
use pathway_shared::store::Store;

use crate::config::GatewayConfig;
use crate::renewal::Renewal;
use crate::uplink::HUB;

/// What a gateway signs and seals courier files with.
pub struct Keys {
    /// The gateway, its CA, and its certificate and key, which a renewal (over the link or on
    /// a receipt) replaces while the daemon runs.
    pub own: Renewal,
    pub hub_name: String,
    /// The hub's certificate, PEM, or why there is none.
    pub hub_cert: Result<String, String>,
}

impl Keys {
    /// The keys the configuration names. The hub's certificate is needed only to export.
    pub fn new(cfg: &GatewayConfig, ca_pem: String, creds: Arc<crate::renewal::Presented>) -> Keys {
        let hub_cert = match &cfg.tls.hub {
            None => Err(
                "the configuration names no hub certificate: add `hub = \"hub.pem\"` under [tls], with the hub's certificate from the national administrator (a bundle made with `pathway enrol --hub-cert` installs it)".to_owned(),
            ),
            Some(p) => GatewayConfig::read_pem(p).map_err(|e| e.to_string()),
        };
        Keys {
            own: Renewal::new(cfg, ca_pem, creds),
            hub_name: cfg.hub.name.clone(),
            hub_cert,
        }
    }

    /// The keys of a configuration, read from its files.
    pub fn load(cfg: &GatewayConfig) -> Result<Keys, crate::preflight::PreflightError> {
        let files = crate::preflight::check(cfg)?;
        Ok(Keys::new(
            cfg,
            files.ca_pem,
            crate::renewal::Presented::new(files.creds),
        ))
    }
}

/// Why a courier action failed.
#[derive(Debug, thiserror::Error)]
pub enum Failed {
    #[error("{0}")]
    NoHubCert(String),
    #[error(transparent)]
    Courier(#[from] CourierError),
}

/// Writes the changes the hub has not acknowledged to a courier file, carried by `carried_by`.
pub fn export(
    store: &Store,
    keys: &Keys,
    carried_by: &str,
    now: Millis,
) -> Result<(Vec<u8>, ExportSummary), Failed> {
    let cert = keys
        .hub_cert
        .as_ref()
        .map_err(|e| Failed::NoHubCert(e.clone()))?;
    let hub = HubEnd {
        node: HUB,
        name: &keys.hub_name,
        cert_pem: cert,
    };
    let creds = keys.own.creds.current();
    let out = courier::export(store, (&keys.own.gateway, &creds), &hub, carried_by, now)?;
    tracing::info!(file = %out.1.id, changes = out.1.changes, bytes = out.1.bytes, %carried_by, "courier file written");
    Ok(out)
}

/// Takes the hub's receipt for a courier file this gateway wrote.
pub fn receipt(store: &Store, keys: &Keys, file: &[u8], now: Millis) -> Result<Receipted, Failed> {
    let hub = HubEnd {
        node: HUB,
        name: &keys.hub_name,
        cert_pem: "",
    };
    let creds = keys.own.creds.current();
    let r = courier::take_receipt(
        store,
        (&keys.own.gateway, &creds, &keys.own.ca_pem),
        &hub,
        file,
        now,
    )?;
    tracing::info!(file = %r.id, changes = r.receipt.taken.changes, imported_by = %r.imported_by, "courier receipt taken");
    let renewed = match &r.receipt.certificate {
        Some(pem) => crate::renewal::take(&keys.own, pem, "the hub, on a courier receipt"),
        None => Ok(None),
    };
    if let Err(why) = &renewed {
        tracing::warn!(reason = %why, "renewed certificate on the receipt refused");
    }
    Ok(Receipted {
        summary: r,
        renewed,
    })
}

/// A receipt taken, and the renewed certificate it carried, if any: the date the installed
/// one is valid until, or why it was refused.
pub struct Receipted {
    pub summary: ReceiptSummary,
    pub renewed: Result<Option<String>, String>,
}

/// What a receipt did, in words.
pub fn receipt_words(done: &Receipted) -> String {
    let r = &done.summary;
    let t = &r.receipt.taken;
    let mut s = if r.again {
        format!(
            "receipt for file {} was already taken; nothing changed",
            r.id
        )
    } else if t.changes == 0 {
        format!(
            "the hub took file {} (carried by {}, imported by {}); it carried no change the hub did not already hold",
            r.id, r.receipt.carried_by, r.imported_by
        )
    } else {
        format!(
            "the hub holds the {} change(s) of file {} (carried by {}, imported by {}); they will not be sent again",
            t.changes, r.id, r.receipt.carried_by, r.imported_by
        )
    };
    for (doc, reason) in &t.refused {
        s.push_str(&format!("\nthe hub refused {doc}: {reason}"));
    }
    match &r.back {
        Ok(0) => {}
        Ok(n) => s.push_str(&format!(
            "\nthe receipt carried {n} change(s) from the hub (staff accounts, the catalogue, moves), now applied here"
        )),
        Err(why) => s.push_str(&format!(
            "\nthe hub's changes on the receipt were not applied ({why}); they come again on the next receipt"
        )),
    }
    match &done.renewed {
        Ok(Some(until)) => s.push_str(&format!(
            "\nthe receipt carried this gateway's renewed certificate, now installed: valid until {until}"
        )),
        Ok(None) => {}
        Err(why) => s.push_str(&format!(
            "\nthe receipt carried a renewed certificate that was not installed: {why}"
        )),
    }
    s
}

fn refusal(e: Failed) -> Response {
    let code = match &e {
        Failed::Courier(CourierError::Store(_) | CourierError::Sync(_)) => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    (code, format!("{e}\n")).into_response()
}

#[derive(serde::Deserialize)]
struct ExportQuery {
    carried_by: String,
}

/// The status port's courier routes. Refused to a page of another site.
pub fn router(store: Store, keys: Arc<Keys>) -> Router {
    let (store2, keys2) = (store.clone(), keys.clone());
    Router::new()
        .route(
            "/courier/export",
            axum::routing::post(
                move |headers: HeaderMap, q: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>| async move {
                    if !pathway_shared::web::same_site(&headers) {
                        return (StatusCode::FORBIDDEN, "refused: a page of another site cannot export\n").into_response();
                    }
                    let Some(Query(q)) = q.ok().filter(|q| !q.0.carried_by.trim().is_empty()) else {
                        return (StatusCode::UNPROCESSABLE_ENTITY, "carried_by: say who carries the file\n").into_response();
                    };
                    let (store, keys) = (store.clone(), keys.clone());
                    let done = tokio::task::spawn_blocking(move || {
                        export(&store, &keys, q.carried_by.trim(), pathway_shared::clock::now_ms())
                    })
                    .await;
                    match done {
                        Ok(Ok((bytes, summary))) => (
                            [
                                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                                (header::HeaderName::from_static("x-pathway-file"), summary.id),
                                (header::HeaderName::from_static("x-pathway-changes"), summary.changes.to_string()),
                            ],
                            bytes,
                        )
                            .into_response(),
                        Ok(Err(e)) => refusal(e),
                        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "export failed\n").into_response(),
                    }
                },
            ),
        )
        .route(
            "/courier/receipt",
            axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| async move {
                if !pathway_shared::web::same_site(&headers) {
                    return (StatusCode::FORBIDDEN, "refused: a page of another site cannot take a receipt\n").into_response();
                }
                let (store, keys) = (store2.clone(), keys2.clone());
                let done = tokio::task::spawn_blocking(move || {
                    receipt(&store, &keys, &body, pathway_shared::clock::now_ms())
                })
                .await;
                match done {
                    Ok(Ok(r)) => (StatusCode::OK, format!("{}\n", receipt_words(&r))).into_response(),
                    Ok(Err(e)) => refusal(e),
                    Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "receipt failed\n").into_response(),
                }
            }),
        )
        // A receipt carries the hub's changes back: as large as a changes file may be.
        .layer(axum::extract::DefaultBodyLimit::max(512 << 20))
}
