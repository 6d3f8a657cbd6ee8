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
