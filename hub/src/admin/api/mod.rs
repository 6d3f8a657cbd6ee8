//! The administration's JSON API. Each handler checks the administrator's role first, checks
//! the whole input before it writes (a refusal names the field), and records every write, and
//! every read of a case file, in the hub's audit trail.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use pathway_shared::model::{Facility, Kind, facility_id};
use pathway_shared::store::StoreError;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Admin, AdminError, AdminResult, AdminRole, AdminUser, COOKIE, blocking, require, token,
};
use AdminRole::{Auditor, NationalAdmin, SyncOperator};
use pathway_shared::import::username_ok;
use pathway_shared::web::login::{Client, MAX_PASSWORD_BYTES, MAX_USERNAME_CHARS, Refused};

mod cases;
mod catalogue;
mod certificates;
mod courier;
mod gateways;
mod imports;
mod indicators;
mod partners;
mod registry;
mod staff;

pub(super) use cases::*;
pub(super) use catalogue::*;
pub(super) use certificates::*;
pub(super) use courier::*;
pub(super) use gateways::*;
pub(super) use imports::*;
pub(super) use indicators::*;
pub(super) use partners::*;
pub(super) use registry::*;
pub(super) use staff::*;

pub(crate) const ALL: &[AdminRole] = &[NationalAdmin, SyncOperator, Auditor];

pub(super) async fn openapi() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("openapi.json"),
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LoginBody {
    pub username: String,
    pub password: String,
}

/// What a log-in came to.
pub(super) enum LoggedIn {
    /// The session token and the administrator.
    Yes(String, AdminUser),
    /// A wrong username or password (audited).
    Wrong,
    /// Too many failures for this username: seconds until the next attempt is checked.
    Wait(i64),
}

/// Checks a log-in through the shared guard ([`LoginGuard`]): a client or a username from it
/// that must wait, a second check in flight from one client, or a full queue is refused
/// unchecked; the first refusal of each wait and at most one failure a minute per username are
/// audited.
pub(super) async fn check_login(
    admin: &Arc<Admin>,
    client: Client,
    b: LoginBody,
) -> AdminResult<LoggedIn> {
    if b.username.chars().count() > MAX_USERNAME_CHARS {
        return Err(AdminError::field(
            "username",
            format!("a username has at most {MAX_USERNAME_CHARS} characters"),
        ));
    }
    if b.password.len() > MAX_PASSWORD_BYTES {
        return Err(AdminError::field(
            "password",
            format!("a password has at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let user = b.username.trim().to_owned();
    let now = admin.clock.now();
    let who = format!("{user} from {}", client.0);
    let turn = match admin.logins.admit(client.0, &user, now).await {
        Ok(turn) => turn,
        Err(Refused::Wait(wait)) => {
            if wait.first {
                let a = admin.clone();
                let (user, who) = (user.clone(), who.clone());
                blocking(move || Ok(a.audit.record(&user, "login_throttled", &who, now)?)).await?;
            }
            return Ok(LoggedIn::Wait(wait.ms.div_euclid(1000) + 1));
        }
        Err(Refused::InFlight) => return Ok(LoggedIn::Wait(1)),
        Err(Refused::Busy) => {
            return Err(AdminError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the hub is busy checking other log-ins; try again in a few seconds",
            )
            .retry_after(2));
        }
    };
    let a = admin.clone();
    let result = admin
        .logins
        .check(&turn, move || -> AdminResult<LoggedIn> {
            let admin = a;
            let got = admin
                .sessions
                .login(&admin.store, &user, &b.password, now)?;
            match got {
                Some((t, u)) => {
                    admin.logins.succeeded(client.0, &user, now);
                    admin.audit.record(&user, "login", &who, now)?;
                    Ok(LoggedIn::Yes(t, u))
                }
                None => {
                    if let Some((held, since)) = admin.logins.failed(client.0, &user, now) {
                        let mut target = who;
                        if held > 0 {
                            target.push_str(&format!(", after {held} attempts held back"));
                        }
                        if since > 0 {
                            target
                                .push_str(&format!(", {since} more failures since the last entry"));
                        }
                        admin.audit.record(&user, "login_failed", &target, now)?;
                    }
                    Ok(LoggedIn::Wrong)
                }
            }
        })
        .await;
    drop(turn);
    result.unwrap_or_else(|| {
        Err(AdminError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the password check stopped; try again",
        ))
    })
}

pub(super) async fn login(
    State(admin): State<Arc<Admin>>,
    client: Client,
    body: Result<Json<LoginBody>, JsonRejection>,
) -> AdminResult<impl IntoResponse> {
    let Json(b) = body?;
    let (t, user) = match check_login(&admin, client, b).await? {
        LoggedIn::Yes(t, user) => (t, user),
        LoggedIn::Wrong => {
            return Err(AdminError::new(
                StatusCode::UNAUTHORIZED,
                "wrong username or password",
            ));
        }
        LoggedIn::Wait(s) => {
            return Err(AdminError::new(
                StatusCode::TOO_MANY_REQUESTS,
                format!("too many failed log-ins for this username: try again in {s} s"),
            ));
        }
    };
    Ok((
        [(header::SET_COOKIE, session_cookie(&t))],
        Json(json!({
            "token": t,
            "username": user.username,
            "display_name": user.display_name,
            "role": user.role.code(),
        })),
    ))
}

/// The `Set-Cookie` value that carries a dashboard session.
pub(super) fn session_cookie(token: &str) -> String {
    format!("{COOKIE}={token}; HttpOnly; Secure; SameSite=Strict; Path=/")
}

pub(super) async fn logout(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> StatusCode {
    if let Some(t) = token(&headers) {
        admin.sessions.logout(&t);
    }
    StatusCode::NO_CONTENT
}

pub(super) async fn me(who: AdminUser) -> Json<Value> {
    Json(json!({
        "username": who.username,
        "display_name": who.display_name,
        "role": who.role.code(),
    }))
}

/// `GET /api/fleet`: every gateway's sync state as the hub saw it.
pub(super) async fn fleet(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Value>> {
    require(&who, ALL, "see the fleet")?;
    Ok(Json(
        serde_json::to_value((admin.status)()).unwrap_or_default(),
    ))
}

/// `GET /api/reviews`: the review queue, open items first.
pub(super) async fn reviews(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Value>> {
    require(&who, ALL, "see the review queue")?;
    blocking(move || Ok(Json(json!({ "items": admin.store.reviews()? })))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReviewedBody {
    pub key: String,
}

/// Marks an item reviewed as `who`, audited.
pub(super) async fn mark_item(
    admin: &Arc<Admin>,
    who: &AdminUser,
    key: String,
) -> AdminResult<Value> {
    require(who, &[NationalAdmin], "mark review items")?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let now = admin.clock.now();
        let item = admin
            .store
            .mark_reviewed(&key, &who.username, now)?
            .ok_or_else(|| AdminError::field("key", format!("no review item `{key}`")))?;
        admin
            .audit
            .record(&who.username, "mark_reviewed", &key, now)?;
        Ok(json!(item))
    })
    .await
}

pub(super) async fn mark_reviewed(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    body: Result<Json<ReviewedBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    mark_item(&admin, &who, b.key).await.map(Json)
}

/// Every document of a kind in a partition, read whole.
pub(crate) fn list<T: pathway_shared::model::Aggregate>(
    admin: &Admin,
    partition: &str,
    kind: Kind,
) -> Result<Vec<T>, StoreError> {
    let mut out = Vec::new();
    for id in admin.store.list(partition, kind)? {
        if let Some(v) = admin.store.get::<T>(&id)? {
            out.push(v);
        }
    }
    Ok(out)
}

pub(crate) fn known_facility(admin: &Admin, facility: &str) -> AdminResult<()> {
    if username_ok(&facility.to_lowercase())
        && admin
            .store
            .get::<Facility>(&facility_id(facility))?
            .is_some()
    {
        Ok(())
    } else {
        Err(AdminError::not_found(format!(
            "`{facility}` is not a facility in the national registry"
        )))
    }
}

/// Text a person typed: trimmed, 1 to `max` characters, nothing invisible.
pub(crate) fn text(field: &str, s: &str, max: usize) -> AdminResult<String> {
    let t = s.trim();
    if t.is_empty() {
        return Err(AdminError::field(field, format!("{field} is needed")));
    }
    if t.chars().count() > max {
        return Err(AdminError::field(
            field,
            format!("{field} has at most {max} characters"),
        ));
    }
    if t.chars().any(|c| {
        c.is_control()
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    }) {
        return Err(AdminError::field(
            field,
            format!("{field} holds a control character"),
        ));
    }
    Ok(t.to_owned())
}

/// Text that may be left empty; given, as [`text`].
pub(crate) fn blank_or(field: &str, s: &str, max: usize) -> AdminResult<String> {
    match s.trim() {
        "" => Ok(String::new()),
        t => text(field, t, max),
    }
}

pub(crate) fn optional(field: &str, s: &Option<String>, max: usize) -> AdminResult<Option<String>> {
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text(field, t, max).map(Some),
    }
}

/// `GET /api/revoked`: the national revocation list.
pub(super) async fn revoked(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Value>> {
    require(&who, ALL, "see the revocation list")?;
    blocking(move || Ok(Json(json!(crate::revoke::revoked(&admin.store)?.revoked)))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RevokeBody {
    pub reason: String,
}

/// Revokes a gateway as `who`: on the national list, its live session cut; audited.
pub(super) async fn revoke_gateway(
    admin: &Arc<Admin>,
    who: &AdminUser,
    gateway: String,
    reason: &str,
) -> AdminResult<bool> {
    require(who, &[NationalAdmin], "revoke gateways")?;
    if !username_ok(&gateway) {
        return Err(AdminError::field(
            "gateway",
            format!("`{gateway}` is not a gateway id"),
        ));
    }
    let reason = text("reason", reason, 500)?;
    let (admin, who) = (admin.clone(), who.clone());
    blocking(move || {
        let now = admin.clock.now();
        let new = crate::revoke::revoke(
            &admin.store,
            &admin.live,
            &gateway,
            (&who.username, &reason),
            now,
        )?;
        if new {
            admin
                .audit
                .record(&who.username, "revoke_gateway", &gateway, now)?;
        }
        Ok(new)
    })
    .await
}

/// `POST /api/gateways/{gateway}/revoke`: `{reason}`.
pub(super) async fn revoke(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    Path(gateway): Path<String>,
    body: Result<Json<RevokeBody>, JsonRejection>,
) -> AdminResult<Json<Value>> {
    let Json(b) = body?;
    let new = revoke_gateway(&admin, &who, gateway.clone(), &b.reason).await?;
    Ok(Json(
        json!({ "gateway": gateway, "revoked": true, "already": !new }),
    ))
}

/// `GET /api/audit`: the newest 500 entries of the hub's audit trail and whether the chain holds.
pub(super) async fn audit_trail(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
) -> AdminResult<Json<Value>> {
    require(&who, &[Auditor, NationalAdmin], "read the audit trail")?;
    blocking(move || {
        let entries = admin.audit.newest(500)?;
        let chain = match admin.audit.verify()? {
            Ok(n) => json!({ "intact": true, "entries": n }),
            Err(b) => json!({ "intact": false, "broken_at": b.seq, "what": b.what }),
        };
        Ok(Json(json!({ "chain": chain, "entries": entries })))
    })
    .await
}
