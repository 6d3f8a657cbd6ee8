//! The guard before a password check, the same at the gateway's LAN service and the hub's
//! administration. Failures are throttled per client address (password spraying across
//! accounts) and per username *from that address* (guessing one account), with waits that double
//! instead of a hard lock-out: no number of other addresses failing for a username keeps its
//! owner, on a device that has not failed, from being checked. A client has one check in flight
//! at a time; checks take turns (argon2id's 19 MiB, once, not on every thread); when too many
//! are queued the next is refused at once (503 with Retry-After). A device that logged in
//! rightly within [`TRUSTED_FOR`] takes a lane of its own, never queued behind a flood, so staff
//! and administrators at their usual terminals get in while strangers are refused. Failures are for the audit
//! trail at most once per username per minute, with how many came since, so a flood from
//! rotating addresses writes a bounded trail.

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::lock;
use crate::model::Millis;
use crate::status::LoginStatus;
use crate::throttle::{Throttle, Wait};

/// Longest username accepted, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest password accepted, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1_024;
/// Keys each throttle holds at most.
const THROTTLE_CAP: usize = 10_000;
/// A username's failures reach the audit trail at most this often.
pub const AUDIT_EVERY: Millis = 60_000;
/// A device that logged in rightly is trusted this long after.
pub const TRUSTED_FOR: Millis = 30 * 24 * 3_600_000;

/// How hard a front end throttles.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Failures from one address before it must wait; its waits double up to `client_max_wait`.
    pub client_free: u32,
    pub client_max_wait: Millis,
    /// Failures for one username from one address before they must wait.
    pub user_free: u32,
    pub user_max_wait: Millis,
    /// Checks waiting for their turn before the next is refused.
    pub max_queued: usize,
}

impl Limits {
    /// Staff on a prison LAN: a device may fail 5 times, then waits up to 15 minutes; a
    /// username from one device 10 times, then up to a minute.
    pub const LAN: Limits = Limits {
        client_free: 5,
        client_max_wait: 15 * 60_000,
        user_free: 10,
        user_max_wait: 60_000,
        max_queued: 16,
    };
    /// National administrators: 5 failures, then up to 5 minutes, from an address or for a
    /// username from it.
    pub const ADMIN: Limits = Limits {
        client_free: 5,
        client_max_wait: 15 * 60_000,
        user_free: 5,
        user_max_wait: 5 * 60_000,
        max_queued: 8,
    };
}

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

/// Why an attempt was not checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The address, or the username from it, must wait (429); `first` of this wait is audited.
    Wait(Wait),
    /// A check from this address is in flight (429).
    InFlight,
    /// Too many checks queued (503).
    Busy,
}

/// The guard; see the module's notes.
pub struct LoginGuard {
    limits: Limits,
    clients: Throttle,
    usernames: Throttle,
    /// Clients with a check in flight.
    checking: Mutex<HashSet<IpAddr>>,
    queued: AtomicUsize,
    /// Checks take turns: strangers in one lane, trusted devices in another, each checked on
    /// a thread of its own (argon2id's 19 MiB stays in that thread's heap, not in every
    /// thread's a burst lands on).
    turns: tokio::sync::Semaphore,
    trusted_turns: tokio::sync::Semaphore,
    workers: [Worker; 2],
    /// Devices that logged in rightly, and when last.
    trusted: Mutex<HashMap<IpAddr, Millis>>,
    failed: AtomicU64,
    refused: AtomicU64,
    /// Per username: when a failure was last audited, and failures since.
    audited: Mutex<HashMap<String, (Millis, u64)>>,
}

impl LoginGuard {
    pub fn new(limits: Limits) -> LoginGuard {
        LoginGuard {
            limits,
            clients: Throttle::new(limits.client_free, limits.client_max_wait, THROTTLE_CAP),
            usernames: Throttle::new(limits.user_free, limits.user_max_wait, THROTTLE_CAP),
            checking: Mutex::default(),
            queued: AtomicUsize::new(0),
            turns: tokio::sync::Semaphore::new(1),
            trusted_turns: tokio::sync::Semaphore::new(1),
            workers: [Worker::default(), Worker::default()],
            trusted: Mutex::default(),
            failed: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            audited: Mutex::default(),
        }
    }

    fn user_key(username: &str, client: IpAddr) -> String {
        format!("{username}\u{0}{client}")
    }

    /// Lets an attempt of `username` from `client` be checked, when its turn comes; the
    /// [`Turn`] frees its place when dropped.
    pub async fn admit(
        &self,
        client: IpAddr,
        username: &str,
        now: Millis,
    ) -> Result<Turn<'_>, Refused> {
        let ip = client.to_string();
        let waits = self
            .clients
            .check(&ip, now)
            .and(self.usernames.check(&Self::user_key(username, client), now));
        if let Err(wait) = waits {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::Wait(wait));
        }
        if !lock(&self.checking).insert(client) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::InFlight);
        }
        let trusted = lock(&self.trusted)
            .get(&client)
            .is_some_and(|at| now - at < TRUSTED_FOR);
        let mut turn = Turn {
            guard: self,
            client,
            queued: !trusted,
            _permit: None,
        };
        if trusted {
            turn._permit = self.trusted_turns.acquire().await.ok();
            return Ok(turn);
        }
        let queued = self.queued.fetch_add(1, Ordering::AcqRel) + 1;
        if queued > self.limits.max_queued {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Err(Refused::Busy);
        }
        turn._permit = self.turns.acquire().await.ok();
        Ok(turn)
    }

    /// Runs the check of `turn` (the password, and what follows it: the session, the audit
    /// entry) on its lane's thread. `None` if that thread is gone.
    pub async fn check<R: Send + 'static>(
        &self,
        turn: &Turn<'_>,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Option<R> {
        self.workers[usize::from(!turn.queued)].run(f).await
    }

    /// The right password: the username's failures from this client are forgotten, and the
    /// device is trusted.
    pub fn succeeded(&self, client: IpAddr, username: &str, now: Millis) {
        self.usernames.clear(&Self::user_key(username, client));
        let mut trusted = lock(&self.trusted);
        if trusted.len() >= THROTTLE_CAP && !trusted.contains_key(&client) {
            trusted.retain(|_, at| now - *at < TRUSTED_FOR);
            if trusted.len() >= THROTTLE_CAP {
                return;
            }
        }
        trusted.insert(client, now);
    }

    /// A wrong username or password. Returns what to write in the audit trail, if anything
    /// this time: the attempts refused unchecked before it from this client, and the failures
    /// for this username not audited since the last entry.
    pub fn failed(&self, client: IpAddr, username: &str, now: Millis) -> Option<(u64, u64)> {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let held = self.clients.fail(&client.to_string(), now)
            + self.usernames.fail(&Self::user_key(username, client), now);
        let mut audited = lock(&self.audited);
        if audited.len() >= THROTTLE_CAP && !audited.contains_key(username) {
            audited.retain(|_, (at, _)| now - *at < AUDIT_EVERY);
        }
        let entry = audited
            .entry(username.to_owned())
            .or_insert((Millis::MIN, 0));
        if now.saturating_sub(entry.0) >= AUDIT_EVERY {
            let since = std::mem::take(&mut entry.1);
            entry.0 = now;
            Some((held, since))
        } else {
            entry.1 += 1;
            None
        }
    }

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

type Job = Box<dyn FnOnce() + Send>;

/// A checking thread idle this long gives back argon2's working memory.
const IDLE_BEFORE_RELEASE: std::time::Duration = std::time::Duration::from_secs(5);

/// A thread that runs jobs one after another, started on first use; it ends when its guard is
/// dropped.
#[derive(Default)]
struct Worker {
    tx: Mutex<Option<std::sync::mpsc::Sender<Job>>>,
}

impl Worker {
    async fn run<R: Send + 'static>(&self, f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(f());
        });
        {
            let mut tx = lock(&self.tx);
            let sender = tx.get_or_insert_with(|| {
                let (tx, rx) = std::sync::mpsc::channel::<Job>();
                let spawned = std::thread::Builder::new()
                    .name("password-check".into())
                    .spawn(move || {
                        loop {
                            match rx.recv_timeout(IDLE_BEFORE_RELEASE) {
                                Ok(job) => job(),
                                // Nothing to check for a while: argon2's memory goes back.
                                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                                    crate::crypt::release_password_memory();
                                    match rx.recv() {
                                        Ok(job) => job(),
                                        Err(_) => break,
                                    }
                                }
                                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                            }
                        }
                    });
                if let Err(e) = spawned {
                    tracing::error!(error = %e, "cannot start the password-check thread");
                }
                tx
            });
            if sender.send(job).is_err() {
                *tx = None;
                return None;
            }
        }
        result.await.ok()
    }
}

/// One check in flight for a client; dropping it frees the client and its place in the queue.
pub struct Turn<'a> {
    guard: &'a LoginGuard,
    client: IpAddr,
    /// Counted in the strangers' queue.
    queued: bool,
    _permit: Option<tokio::sync::SemaphorePermit<'a>>,
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        lock(&self.guard.checking).remove(&self.client);
        if self.queued {
            self.guard.queued.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[tokio::test]
    async fn many_addresses_failing_never_keep_the_owner_out() {
        let g = LoginGuard::new(Limits::LAN);
        // 26 addresses fail for the manager, 10 times in all and more.
        for i in 0..26 {
            let a = ip(&format!("10.0.0.{}", 100 + i));
            let t = g.admit(a, "manager", i).await.unwrap();
            drop(t);
            g.failed(a, "manager", i);
        }
        // The manager's own device, which has not failed, is checked.
        assert!(g.admit(ip("10.0.0.7"), "manager", 30).await.is_ok());
        // One address guessing is made to wait.
        let bad = ip("10.0.0.66");
        for n in 0..5 {
            drop(g.admit(bad, "clerk", 100 + n).await.unwrap());
            g.failed(bad, "clerk", 100 + n);
        }
        assert!(matches!(
            g.admit(bad, "someone.else", 106).await,
            Err(Refused::Wait(_))
        ));
    }

    #[tokio::test]
    async fn a_rotating_flood_writes_a_bounded_trail() {
        let g = LoginGuard::new(Limits::LAN);
        let mut entries = 0;
        for i in 0..7_500i64 {
            let a = ip(&format!(
                "10.{}.{}.{}",
                i / 65_536,
                (i / 256) % 256,
                i % 256
            ));
            if g.failed(a, "manager", i * 20).is_some() {
                entries += 1;
            }
        }
        // 150 s of failures: one entry a minute.
        assert!(entries <= 3, "{entries} audit entries");
        assert_eq!(g.status(150_000).failed, 7_500);
    }

    #[tokio::test]
    async fn a_second_check_from_one_client_waits_its_turn_and_a_full_queue_is_refused() {
        let g = LoginGuard::new(Limits {
            max_queued: 2,
            ..Limits::LAN
        });
        let first = g.admit(ip("10.0.0.1"), "a", 0).await.unwrap();
        assert_eq!(
            g.admit(ip("10.0.0.1"), "b", 0).await.err(),
            Some(Refused::InFlight)
        );
        // A second client queues behind the first (its turn waits for the first's permit).
        let second = g.admit(ip("10.0.0.2"), "a", 0);
        tokio::pin!(second);
        let waited = tokio::time::timeout(std::time::Duration::from_millis(50), second.as_mut());
        assert!(waited.await.is_err(), "it waits for the first check");
        assert_eq!(
            g.admit(ip("10.0.0.3"), "a", 0).await.err(),
            Some(Refused::Busy)
        );
        drop(first);
        assert!(second.await.is_ok());
    }

    #[tokio::test]
    async fn a_device_that_logged_in_before_is_never_queued_behind_strangers() {
        let g = LoginGuard::new(Limits {
            max_queued: 1,
            ..Limits::LAN
        });
        let desk = ip("10.0.0.7");
        drop(g.admit(desk, "manager", 0).await.unwrap());
        g.succeeded(desk, "manager", 0);
        let stranger = g.admit(ip("10.0.9.1"), "x", 1).await.unwrap();
        assert_eq!(
            g.admit(ip("10.0.9.2"), "x", 1).await.err(),
            Some(Refused::Busy)
        );
        // The strangers' lane is full and busy; the manager's desk has its own.
        let waited = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            g.admit(desk, "manager", 2),
        );
        assert!(waited.await.is_ok_and(|t| t.is_ok()));
        drop(stranger);
    }
}
