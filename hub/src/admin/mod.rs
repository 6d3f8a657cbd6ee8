//! The hub's administration: HTTPS on its own address, a JSON API (`/api/…`, described by
//! `/api/openapi.json`) and a server-rendered dashboard (`/`, plain forms, no scripts, English
//! and Thai). Administrators log in with argon2id passwords; what each may do follows their
//! role ([`AdminRole`]); every write and every read of a case file is in the hub's audit trail.

pub mod accounts;
mod api;
pub mod audit;
pub(crate) mod pages;
mod words;

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use pathway_shared::clock::Clock;
use pathway_shared::status::Source;
use pathway_shared::store::{Store, StoreError};
use serde_json::json;

use accounts::Sessions;
pub use accounts::{AdminRole, AdminUser, add_admin};
use audit::HubAudit;

/// The cookie that carries a dashboard session.
pub const COOKIE: &str = "pathway_admin";
/// The largest request body taken.
const MAX_BODY: usize = 256 << 10;
/// The largest CSV file an import takes.
const MAX_IMPORT: usize = 32 << 20;
/// The largest courier file taken (a facility's whole history, compressed).
const MAX_COURIER: usize = 512 << 20;

/// What opens courier files: the CA gateways' certificates chain to, and the hub's own
/// certificate and key.
pub struct HubKeys {
    pub ca_pem: String,
    pub creds: pathway_shared::identity::Credentials,
}

/// What the administration serves from.
pub struct Admin {
    pub store: Store,
    pub sessions: Sessions,
    pub audit: HubAudit,
    /// The hub's view of its gateways.
    pub status: Source,
    /// The gateways in session, so a revocation cuts one at once.
    pub live: crate::LiveSessions,
    pub clock: Clock,
    /// The log-in guard both front ends share: failures throttled per address and per
    /// username from that address (no flood from other addresses keeps an administrator out),
    /// one check at a time, a short queue, then 503.
    pub logins: pathway_shared::web::login::LoginGuard,
    /// Set by [`Admin::with_keys`]; without it courier files and renewed certificates are
    /// refused.
    pub keys: std::sync::OnceLock<HubKeys>,
    /// Set by [`Admin::with_indicators`]: the indicators the hub keeps counting
    /// ([`crate::Hub::count_indicators`]); without it the indicators page says so.
    pub indicators: std::sync::OnceLock<Arc<pathway_shared::indicators::tracker::Tracker>>,
}

impl Admin {
    /// The administration of a hub: its store, what it sees of its gateways
    /// ([`crate::Hub::status_source`], [`crate::Hub::live_sessions`]) and its clock.
    pub fn new(
        store: Store,
        (status, live): (Source, crate::LiveSessions),
        clock: Clock,
    ) -> Arc<Admin> {
        Arc::new(Admin {
            audit: HubAudit::new(store.clone()),
            store,
            sessions: Sessions::default(),
            status,
            live,
            clock,
            logins: pathway_shared::web::login::LoginGuard::new(
                pathway_shared::web::login::Limits::ADMIN,
            ),
            keys: std::sync::OnceLock::new(),
            indicators: std::sync::OnceLock::new(),
        })
    }

    /// Gives the administration the indicators the hub keeps counting.
    pub fn with_indicators(
        self: Arc<Admin>,
        t: Arc<pathway_shared::indicators::tracker::Tracker>,
    ) -> Arc<Admin> {
        let _ = self.indicators.set(t);
        self
    }

    /// Gives the administration the hub's keys, to open courier files.
    pub fn with_keys(self: Arc<Admin>, keys: HubKeys) -> Arc<Admin> {
        let _ = self.keys.set(keys);
        self
    }
}

/// A refusal, as JSON: `{"error": "...", "field": "..."}`.
#[derive(Debug)]
pub struct AdminError {
    pub status: StatusCode,
    pub message: String,
    pub field: Option<String>,
    /// Seconds to wait before trying again (a `Retry-After` header).
    pub retry_after: Option<i64>,
}

impl AdminError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }
    pub fn field(field: &str, message: impl Into<String>) -> AdminError {
        AdminError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: message.into(),
            field: Some(field.to_owned()),
            retry_after: None,
        }
    }
    /// Says when to try again.
    pub fn retry_after(mut self, seconds: i64) -> AdminError {
        self.retry_after = Some(seconds);
        self
    }
    pub fn forbidden(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::FORBIDDEN, message)
    }
    pub fn not_found(message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::NOT_FOUND, message)
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> AdminError {
        tracing::error!(error = %e, "hub store failure in the administration");
        AdminError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the hub's store failed; see its log",
        )
    }
}

impl From<pathway_shared::store::UpdateError<StoreError>> for AdminError {
    fn from(e: pathway_shared::store::UpdateError<StoreError>) -> AdminError {
        match e {
            pathway_shared::store::UpdateError::Store(e)
            | pathway_shared::store::UpdateError::Rejected(e) => e.into(),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for AdminError {
    fn from(e: axum::extract::rejection::JsonRejection) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, e.body_text())
    }
}

impl From<axum::extract::rejection::FormRejection> for AdminError {
    fn from(e: axum::extract::rejection::FormRejection) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, e.body_text())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.message });
        if let Some(f) = self.field {
            body["field"] = json!(f);
        }
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(s) = self.retry_after
            && let Ok(v) = header::HeaderValue::from_str(&s.to_string())
        {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        resp
    }
}

pub type AdminResult<T> = Result<T, AdminError>;

/// The session token of a request: a bearer token or the dashboard's cookie.
fn token(headers: &HeaderMap) -> Option<String> {
    if let Some(t) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim().to_owned());
    }
    axum_extra::extract::CookieJar::from_headers(headers)
        .get(COOKIE)
        .map(|c| c.value().to_owned())
}

impl FromRequestParts<Arc<Admin>> for AdminUser {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, admin: &Arc<Admin>) -> AdminResult<AdminUser> {
        let now = admin.clock.now();
        token(&parts.headers)
            .and_then(|t| admin.sessions.check(&admin.store, &t, now))
            .ok_or_else(|| AdminError::new(StatusCode::UNAUTHORIZED, "log in first"))
    }
}

/// Refuses unless the administrator has one of `roles`.
pub fn require(who: &AdminUser, roles: &[AdminRole], what: &str) -> AdminResult<()> {
    if who.is(roles) {
        Ok(())
    } else {
        Err(AdminError::forbidden(format!(
            "the role {} cannot {what}",
            who.role.code()
        )))
    }
}

/// Runs store work off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> AdminResult<T> + Send + 'static,
) -> AdminResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| AdminError::new(StatusCode::INTERNAL_SERVER_ERROR, "request failed"))?
}

/// Every answer's headers: no scripts, no framing, nothing kept by a browser's cache.
/// Every request: one riding on the session cookie that would change something must come from
/// the dashboard's own pages (whatever its body); every answer carries the shared headers.
async fn headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if !pathway_shared::web::write_allowed(req.method(), req.headers()) {
        return AdminError::forbidden(
            "this request came from a page outside the hub's administration, so it was not accepted",
        )
        .into_response();
    }
    let mut res = next.run(req).await;
    pathway_shared::web::secure_headers(res.headers_mut());
    res
}

/// The administration's routes.
pub fn router(admin: Arc<Admin>) -> Router {
    Router::new()
        .route("/api/openapi.json", get(api::openapi))
        .route("/api/login", post(api::login))
        .route("/api/logout", post(api::logout))
        .route("/api/me", get(api::me))
        .route("/api/fleet", get(api::fleet))
        .route("/api/reviews", get(api::reviews))
        .route("/api/reviews/reviewed", post(api::mark_reviewed))
        .route(
            "/api/facilities",
            get(api::facilities).post(api::facility_create),
        )
        .route("/api/facilities/{facility}", post(api::facility_edit))
        .route(
            "/api/partners",
            get(api::partners).post(api::partner_create),
        )
        .route(
            "/api/partners/{id}/deactivate",
            post(api::partner_deactivate),
        )
        .route("/api/partners/{id}/activate", post(api::partner_activate))
        .route(
            "/api/facilities/{facility}/staff",
            get(api::staff_list).post(api::staff_create),
        )
        .route(
            "/api/facilities/{facility}/staff/{username}/roles",
            post(api::staff_roles),
        )
        .route(
            "/api/facilities/{facility}/staff/{username}/disable",
            post(api::staff_disable),
        )
        .route(
            "/api/facilities/{facility}/staff/{username}/enable",
            post(api::staff_enable),
        )
        .route(
            "/api/facilities/{facility}/staff/{username}/reset-password",
            post(api::staff_reset),
        )
        .route(
            "/api/programmes",
            get(api::programmes).post(api::programme_create),
        )
        .route("/api/programmes/{code}", post(api::programme_edit))
        .route(
            "/api/programmes/{code}/withdraw",
            post(api::programme_withdraw),
        )
        .route(
            "/api/facilities/{facility}/import/people",
            post(api::import_people).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT)),
        )
        .route(
            "/api/facilities/{facility}/import/staff",
            post(api::import_staff).layer(axum::extract::DefaultBodyLimit::max(MAX_IMPORT)),
        )
        .route(
            "/api/courier",
            post(api::courier_import).layer(axum::extract::DefaultBodyLimit::max(MAX_COURIER)),
        )
        .route("/api/revoked", get(api::revoked))
        .route("/api/gateways", post(api::gateway_register))
        .route("/api/gateways/{gateway}/revoke", post(api::revoke))
        .route(
            "/api/gateways/{gateway}/certificate",
            get(api::certificate_get).post(api::certificate_send),
        )
        .route("/api/cases/{person}", get(api::case_read))
        .route("/api/cases/{person}/transfer", post(api::case_transfer))
        .route("/api/cases/{person}/follow-up", post(api::case_follow_up))
        .route("/api/audit", get(api::audit_trail))
        .route("/api/indicators", get(api::indicators))
        .merge(pages::routes())
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(headers))
        .with_state(admin)
}

/// The administration's TLS, which a renewed hub certificate reloads.
pub use axum_server::tls_rustls::RustlsConfig;

/// Serves the administration over HTTPS with `tls` until `cancel` fires, with the defences
/// both front ends share (connection caps, deadlines on handshakes, headers and bodies).
pub use pathway_shared::web::serve_https;
