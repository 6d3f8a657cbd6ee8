//! The status server for operators: `/status`, `/status.txt`, `/metrics`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

use super::{NodeStatus, metrics};

/// Where the server gets the status from.
pub type Source = Arc<dyn Fn() -> NodeStatus + Send + Sync>;

async fn status_json(State(source): State<Source>) -> impl IntoResponse {
    let s = source();
    let summaries: BTreeMap<&str, String> = s
        .peers
        .iter()
        .map(|(n, p)| (n.as_str(), p.summary(n, s.now)))
        .collect();
    axum::Json(serde_json::json!({ "status": s, "summary": summaries }))
}

async fn status_text(State(source): State<Source>) -> impl IntoResponse {
    let s = source();
    let mut out = format!("{}\n", s.node);
    for (n, p) in &s.peers {
        out.push_str(&p.summary(n, s.now));
        out.push('\n');
    }
    if s.peers.is_empty() && s.node == crate::sync::HUB {
        out.push_str("no gateway is registered and none has connected\n");
    }
    if let Some(r) = &s.last_refusal {
        out.push_str(&format!(
            "{} connections refused; last: {r}\n",
            s.refused_connections
        ));
    }
    if let Some(l) = &s.logins {
        out.push_str(&l.summary());
        out.push('\n');
    }
    if let Some(at) = s.certificate_expires {
        let (_, line) = super::certificate_expiry(&s.node, at, s.now);
        out.push_str(&line);
        out.push('\n');
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out)
}

async fn metrics_text(State(source): State<Source>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics(&source()),
    )
}

/// The status routes: `/status` (JSON), `/status.txt` (plain words), `/metrics` (Prometheus).
pub fn router(source: Source) -> Router {
    Router::new()
        .route("/status", get(status_json))
        .route("/status.txt", get(status_text))
        .route("/metrics", get(metrics_text))
        .with_state(source)
}

/// Serves `app` (the status routes, and whatever a daemon adds) on `addr` until `cancel` fires.
/// Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    app: Router,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let shutdown = async move { cancel.cancelled().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "status server stopped");
        }
    });
    Ok((local, handle))
}

/// `POST /backup`: a consistent backup of `store` (see [`Store::backup`]), for `pathway
/// backup`. Refused to a page of another site; the port is loopback only unless the operator
/// says otherwise, and the content in a backup stays sealed under the key file.
pub fn backup_router(store: crate::store::Store) -> Router {
    Router::new().route(
        "/backup",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let store = store.clone();
            async move {
                use axum::http::StatusCode;
                if !crate::web::same_site(&headers) {
                    return (
                        StatusCode::FORBIDDEN,
                        "refused: a page of another site cannot take a backup\n",
                    )
                        .into_response();
                }
                let made = tokio::task::spawn_blocking(move || {
                    let mut out = Vec::new();
                    store.backup(&mut out).map(|stats| (stats, out))
                })
                .await;
                match made {
                    Ok(Ok((stats, bytes))) => {
                        tracing::info!(
                            entries = stats.entries,
                            bytes = stats.bytes,
                            "backup taken"
                        );
                        (
                            [
                                (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
                                (
                                    header::HeaderName::from_static("x-pathway-last-seq"),
                                    stats.last_seq.to_string(),
                                ),
                            ],
                            bytes,
                        )
                            .into_response()
                    }
                    Ok(Err(e)) => (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        format!("backup failed: {e}\n"),
                    )
                        .into_response(),
                    Err(_) => {
                        (StatusCode::INTERNAL_SERVER_ERROR, "backup failed\n").into_response()
                    }
                }
            }
        }),
    )
}
