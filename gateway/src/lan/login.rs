//! Staff log-in, guarded against the LAN: fields are bounded before any work; failures are
//! throttled per client address (password spraying across accounts) and, more gently, per
//! username (guessing one account from many devices), with waits that double instead of a
//! hard lock-out, so a real user on another device still gets in; a client has one check in
//! flight at a time, and when too many are queued the next is refused at once. Every checked
//! failure is audited; attempts refused while waiting are counted, and only the first of each
//! wait is audited, so a flood cannot fill the disk.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::StatusCode;
use axum::http::request::Parts;
use pathway_shared::model::Millis;
use pathway_shared::status::LoginStatus;

use super::auth::{LoginError, Staff};
use super::{ApiError, ApiResult, Lan, blocking};
use crate::lock;
use pathway_shared::throttle::{Throttle, Wait};

/// Longest username accepted, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest password accepted, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1_024;
/// Failures from one client address before it must wait; its waits grow to [`CLIENT_MAX_WAIT`].
pub const CLIENT_FREE: u32 = 5;
pub const CLIENT_MAX_WAIT: Millis = 15 * 60_000;
/// Failures for one username, from anywhere, before it must wait; at most [`USER_MAX_WAIT`], so
/// nobody can keep the real user out for long.
pub const USER_FREE: u32 = 10;
pub const USER_MAX_WAIT: Millis = 60_000;
/// Checks waiting for their turn before the next is refused.
pub const MAX_QUEUED: usize = 16;
/// Keys each throttle holds at most.
const THROTTLE_CAP: usize = 10_000;

/// The address a request came from. Requests served without one (tests calling the router
/// directly) share the unspecified address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Client(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Client, Self::Rejection> {
        Ok(Client(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip()),
        ))
    }
}

/// The log-in guard's state; see the module's notes.
pub struct Guard {
    clients: Throttle,
    usernames: Throttle,
    /// Clients with a check in flight.
    checking: Mutex<HashSet<IpAddr>>,
    queued: AtomicUsize,
    failed: AtomicU64,
    refused: AtomicU64,
}

impl Default for Guard {
    fn default() -> Guard {
        Guard {
            clients: Throttle::new(CLIENT_FREE, CLIENT_MAX_WAIT, THROTTLE_CAP),
            usernames: Throttle::new(USER_FREE, USER_MAX_WAIT, THROTTLE_CAP),
            checking: Mutex::default(),
            queued: AtomicUsize::new(0),
            failed: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }
}

impl Guard {
    /// For `/status`, `/status.txt` and `/metrics`.
    pub fn status(&self, now: Millis) -> LoginStatus {
        LoginStatus {
            failed: self.failed.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            clients_waiting: self.clients.waiting(now) as u64,
            usernames_waiting: self.usernames.waiting(now) as u64,
        }
    }
}

/// One check in flight for a client; dropping it frees the client and its place in the queue.
struct Turn<'a> {
    guard: &'a Guard,
    client: IpAddr,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        lock(&self.guard.checking).remove(&self.client);
        self.guard.queued.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Password checks take turns, waiting here on the async side. Argon2id's working memory is
/// 19 MiB at the default cost: a burst of log-ins then costs 19 MiB once, not 19 MiB on every
/// thread it lands on (allocators keep freed memory per thread), and holds at most one of the
/// store's few blocking threads, so staff already logged in are still served.
static CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

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
    let ip = client.0.to_string();
    let who = format!("{username} from {ip}");
    if let Err(wait) = guard
        .clients
        .check(&ip, now)
        .and(guard.usernames.check(&username, now))
    {
        guard.refused.fetch_add(1, Ordering::Relaxed);
        if wait.first {
            lan.audit.record(&username, "login_throttled", &who, now)?;
        }
        return Err(too_many(wait));
    }
    if !lock(&guard.checking).insert(client.0) {
        guard.refused.fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "a log-in from this device is being checked; wait for its answer",
        )
        .retry_after(1));
    }
    let queued = guard.queued.fetch_add(1, Ordering::AcqRel) + 1;
    let turn = Turn {
        guard,
        client: client.0,
    };
    if queued > MAX_QUEUED {
        guard.refused.fetch_add(1, Ordering::Relaxed);
        drop(turn);
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the gateway is busy checking other log-ins; try again in a few seconds",
        )
        .retry_after(2));
    }
    let _permit = CHECKS.acquire().await.ok();
    let lan2 = lan.clone();
    let result = blocking(move || {
        let lan = lan2;
        let now = lan.clock.now();
        let guard = &lan.guard;
        match lan
            .sessions
            .login(&lan.store, &lan.facility, &username, &password, now)
        {
            Ok(ok) => {
                guard.usernames.clear(&username);
                lan.audit.record(&username, "login", &who, now)?;
                Ok(ok)
            }
            Err(LoginError::Store(e)) => Err(e.into()),
            Err(e @ LoginError::BadCredentials) => {
                guard.failed.fetch_add(1, Ordering::Relaxed);
                let held = guard.clients.fail(&ip, now) + guard.usernames.fail(&username, now);
                let target = match held {
                    0 => who,
                    n => format!("{who}, after {n} attempts held back"),
                };
                lan.audit.record(&username, "login_failed", &target, now)?;
                Err(ApiError::new(StatusCode::UNAUTHORIZED, e.to_string()))
            }
        }
    })
    .await;
    drop(turn);
    result
}
