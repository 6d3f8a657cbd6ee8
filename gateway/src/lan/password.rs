//! Choosing a new password: what a staff member must do first after logging in with a one-time
//! password from the hub, and may do at any time. Both front ends use [`change`].

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pathway_shared::crypt::{hash_password, password_matches};
use pathway_shared::model::{StaffAccount, staff_id};
use serde::Deserialize;
use serde_json::json;

use super::auth::Staff;
use super::error::{ApiError, ApiResult};
use super::{Lan, blocking_durable, session_cookie, token};

const MAX_BYTES: usize = 1024;

/// The session of a request, whether or not its password must be changed first.
pub(super) fn session(lan: &Lan, headers: &HeaderMap) -> ApiResult<(String, Staff)> {
    let t = token(headers)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first (POST /api/login)"))?;
    let who = lan
        .sessions
        .check(&lan.store, &lan.facility, &t, lan.clock.now())
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first (POST /api/login)"))?;
    Ok((t, who))
}

/// Sets `who`'s password to `new` once `current` is checked; every session of theirs ends and a
/// new one, free of the must-change mark, is answered. A new password must be long enough, not
/// a common one and not hold the username. A wrong current password goes through the log-in
/// guard (throttled, and audited as a failure). Audited; durable before it answers.
pub(super) async fn change(
    lan: Arc<Lan>,
    client: super::login::Client,
    who: Staff,
    current: String,
    new: String,
) -> ApiResult<String> {
    if new.len() > MAX_BYTES || current.len() > MAX_BYTES {
        return Err(ApiError::field(
            "new_password",
            "a password has at most 1,024 bytes",
        ));
    }
    let weak = match pathway_shared::crypt::password_refusal(&new, &who.username) {
        _ if new == current => Some("password.short"),
        Some(pathway_shared::crypt::WeakPassword::Short) => Some("password.short"),
        Some(_) => Some("password.common"),
        None => None,
    };
    if let Some(key) = weak {
        return Err(ApiError::field_words("new_password", key, vec![]));
    }
    // The current password is checked as a log-in is: a device guessing it is made to wait.
    let now = lan.clock.now();
    let turn = match lan.guard.admit(client.0, &who.username, now).await {
        Ok(turn) => turn,
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too many wrong passwords from this device; try again later",
            )
            .retry_after(60));
        }
    };
    let id = staff_id(&lan.facility, &who.username);
    let lan2 = lan.clone();
    let (username, new2) = (who.username.clone(), new.clone());
    let who2 = who.clone();
    let result = blocking_durable(move || {
        let who = who2;
        let lan = lan2;
        let account = lan
            .store
            .get::<StaffAccount>(&id)?
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "log in first"))?;
        if !password_matches(&account.password_hash, &current) {
            let now = lan.clock.now();
            if lan.guard.failed(client.0, &who.username, now).is_some() {
                let what = format!("{} from {}", who.username, client.0);
                lan.audit
                    .record(&who.username, "password_change_failed", &what, now)?;
            }
            return Err(
                ApiError::field_words("current_password", "password.wrong", vec![])
                    .with_status(StatusCode::FORBIDDEN),
            );
        }
        let hash = hash_password(&new2);
        let now = lan.clock.now();
        lan.audited_edit::<StaffAccount, _>(&who, "change_password", &id, now, |e| {
            e.put(&["password_hash"], &hash)?;
            Ok(e.put(&["must_change_password"], &false)?)
        })
    })
    .await;
    drop(turn);
    result?;
    // Every session of theirs ends, on every device; this one goes on under a new token.
    lan.sessions.end_all(&who.username);
    let lan2 = lan.clone();
    let (t, _) = super::blocking(move || {
        let now = lan2.clock.now();
        lan2.sessions
            .login(&lan2.store, &lan2.facility, &username, &new, now)
            .map_err(|_| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "log in again"))
    })
    .await?;
    Ok(t)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PasswordBody {
    current_password: String,
    new_password: String,
}

/// `POST /api/password`: `{current_password, new_password}` → a new session token.
pub(super) async fn change_api(
    State(lan): State<Arc<Lan>>,
    client: super::login::Client,
    headers: HeaderMap,
    body: Result<Json<PasswordBody>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body?;
    let (_, who) = session(&lan, &headers)?;
    let token = change(lan, client, who, b.current_password, b.new_password).await?;
    Ok((
        [(header::SET_COOKIE, session_cookie(&token))],
        Json(json!({ "token": token })),
    )
        .into_response())
}

/// Who may give a staff member of this facility a new one-time password here.
pub(super) const RESETTERS: &[pathway_shared::model::Role] = &[
    pathway_shared::model::Role::FacilityManager,
    pathway_shared::model::Role::FacilityIt,
];

/// Gives `username` (of this facility) a new one-time password at the facility itself, so a
/// forgotten password never waits for the link: the facility manager or facility IT does it,
/// it is audited, it reaches the hub as an audited change (a password is the facility's to set;
/// roles stay national), and every session of the account ends. Returns the password, shown
/// once.
pub(super) async fn reset(lan: Arc<Lan>, who: Staff, username: String) -> ApiResult<String> {
    if !who.has(RESETTERS) {
        return Err(ApiError::forbidden(
            "only the facility manager or facility IT resets a password here",
        ));
    }
    let username = username.trim().to_owned();
    if !pathway_shared::import::username_ok(&username) {
        return Err(ApiError::field("username", "not a username"));
    }
    if username == who.username {
        return Err(ApiError::field(
            "username",
            "change your own password on the password page",
        ));
    }
    let id = staff_id(&lan.facility, &username);
    let otp = pathway_shared::import::one_time_password();
    let (lan2, hash) = (lan.clone(), hash_password(&otp));
    blocking_durable(move || {
        let lan = lan2;
        if lan.store.get::<StaffAccount>(&id)?.is_none() {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                format!("{} has no staff account `{}`", lan.facility, id),
            ));
        }
        let now = lan.clock.now();
        lan.audited_edit::<StaffAccount, _>(&who, "reset_staff_password", &id, now, |e| {
            e.put(&["password_hash"], &hash)?;
            Ok(e.put(&["must_change_password"], &true)?)
        })
    })
    .await?;
    lan.sessions.end_all(&username);
    Ok(otp)
}

/// `POST /api/staff/{username}/reset-password` → `{username, one_time_password}`.
pub(super) async fn reset_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    axum::extract::Path(username): axum::extract::Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let otp = reset(lan, who, username.clone()).await?;
    Ok(Json(
        json!({ "username": username, "one_time_password": otp }),
    ))
}
