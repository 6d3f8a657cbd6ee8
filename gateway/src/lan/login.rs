//! Staff log-in, guarded against the LAN by the guard both front ends share
//! ([`pathway_shared::web::login`]): fields are bounded before any work; failures are
//! throttled per client address and per username from that address, so no number of other
//! devices keeps a real user out; a client has one check in flight, checks take turns, and a
//! full queue is refused at once. Failures reach the audit trail at most once a minute per
//! username, and the first refusal of each wait, so a flood cannot fill the disk or the link.

use std::sync::Arc;

use axum::http::StatusCode;
use pathway_shared::throttle::Wait;
use pathway_shared::web::login::Refused;
pub use pathway_shared::web::login::{
    Client, Limits, LoginGuard as Guard, MAX_PASSWORD_BYTES, MAX_USERNAME_CHARS,
};

use super::auth::{LoginError, Staff};
use super::{ApiError, ApiResult, Lan};

fn too_many(wait: Wait) -> ApiError {
    let s = (wait.ms + 999) / 1_000;
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!(
            "too many failed log-ins from this device or for this username; try again in {s} s"
        ),
    )
    .retry_after(s)
}

/// Checks a staff member's password and opens a session; see the module's notes. Wrong
/// credentials are a 401; a client or username that must wait, or a second check in flight
/// from one client, a 429; a full queue a 503.
pub async fn log_in(
    lan: Arc<Lan>,
    client: Client,
    username: String,
    password: String,
) -> ApiResult<(String, Staff)> {
    if username.trim().is_empty() {
        return Err(ApiError::field("username", "a username is needed"));
    }
    if username.chars().count() > MAX_USERNAME_CHARS || username.chars().any(char::is_control) {
        return Err(ApiError::field(
            "username",
            format!(
                "no username is longer than {MAX_USERNAME_CHARS} characters or holds control characters"
            ),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::field(
            "password",
            format!("no password is longer than {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    let guard = &lan.guard;
    let now = lan.clock.now();
    let who = format!("{username} from {}", client.0);
    let turn = match guard.admit(client.0, &username, now).await {
        Ok(turn) => turn,
        Err(Refused::Wait(wait)) => {
            if wait.first {
                lan.audit.record(&username, "login_throttled", &who, now)?;
            }
            return Err(too_many(wait));
        }
        Err(Refused::InFlight) => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "a log-in from this device is being checked; wait for its answer",
            )
            .retry_after(1));
        }
        Err(Refused::Busy) => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the gateway is busy checking other log-ins; try again in a few seconds",
            )
            .retry_after(2));
        }
    };
    let lan2 = lan.clone();
    let result = guard
        .check(&turn, move || -> ApiResult<(String, Staff)> {
            let lan = lan2;
            let now = lan.clock.now();
            let guard = &lan.guard;
            match lan
                .sessions
                .login(&lan.store, &lan.facility, &username, &password, now)
            {
                Ok(ok) => {
                    guard.succeeded(client.0, &username, now);
                    lan.audit.record(&username, "login", &who, now)?;
                    Ok(ok)
                }
                Err(LoginError::Store(e)) => Err(e.into()),
                Err(e @ LoginError::BadCredentials) => {
                    // At most one entry a minute per username: a flood writes a bounded trail.
                    if let Some((held, since)) = guard.failed(client.0, &username, now) {
                        let mut target = who;
                        if held > 0 {
                            target.push_str(&format!(", after {held} attempts held back"));
                        }
                        if since > 0 {
                            target
                                .push_str(&format!(", {since} more failures since the last entry"));
                        }
                        lan.audit.record(&username, "login_failed", &target, now)?;
                    }
                    Err(ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()))
                }
            }
        })
        .await;
    drop(turn);
    result.unwrap_or_else(|| {
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the password check stopped; try again",
        ))
    })
}
