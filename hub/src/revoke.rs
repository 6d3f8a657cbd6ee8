//! Revocation: the national list of revoked gateways, kept as a national document, so it
//! survives restarts, reaches every hub replica and every gateway; and the live sessions, so a
//! revocation cuts the gateway's session at once rather than at its next reconnect.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use pathway_shared::model::{Class, Millis, Revocation, RevocationList, revocations_id};
use pathway_shared::store::{Store, StoreError};
use tokio_util::sync::CancellationToken;

/// Node-local table: the certificate (PEM) each gateway last presented.
pub const PRESENTED: &str = "gateway_certs";

/// Records `der` as the certificate `gateway` presented last (over QUIC, or signing a courier
/// file), for renewal to start from; returns when it expires.
pub fn record_presented(store: &Store, gateway: &str, der: &[u8]) -> Option<Millis> {
    let pem = pathway_shared::identity::der_to_pem(der);
    if let Err(e) = store.update_local(PRESENTED, gateway, |old: Option<String>| {
        Ok::<_, StoreError>((old.is_none_or(|o| o != pem).then_some(pem.clone()), ()))
    }) {
        tracing::warn!(error = %e, "cannot record the gateway's certificate");
    }
    pathway_shared::identity::expires_at(&pem, "gateway certificate").ok()
}

/// The gateways in session with this hub, each with the token that ends its session. A gateway
/// has one session at a time: a newer connection (a gateway that restarted while the hub still
/// held its old connection) ends the older one, and only the session in place may report the
/// gateway's state or leave. A gateway whose live session is replaced again and again is one
/// identity on two boxes ([`Duplicate`]): the replaced one is closed with
/// [`CLOSE_DUPLICATE`](pathway_shared::transport::CLOSE_DUPLICATE), so each box hears it.
#[derive(Clone, Default)]
pub struct LiveSessions(Arc<Mutex<Sessions>>);

#[derive(Default)]
struct Sessions {
    next: u64,
    by_gateway: HashMap<String, Live>,
    /// Per gateway, when a live session was replaced lately, and from where each came.
    replaced: HashMap<String, VecDeque<(Millis, String)>>,
}

struct Live {
    id: u64,
    token: CancellationToken,
    conn: Option<quinn::Connection>,
    since: Millis,
}

/// Replacements of a young session (under [`SWAP_WINDOW`] / 2 old) within [`SWAP_WINDOW`]
/// that mean two boxes hold one certificate: a restart or a dropped link replaces an old
/// session once, two boxes take turns every few seconds.
pub const SWAPS_FOR_DUPLICATE: usize = 3;
/// How far back replacements are counted.
pub const SWAP_WINDOW: Millis = 60_000;

/// One gateway identity seen on two boxes: sessions replacing each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The addresses the sessions came from, lately.
    pub addresses: Vec<String>,
}

impl LiveSessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Puts `token`'s session in place for `gateway`, ending the one before it; returns the
    /// session's number, for [`LiveSessions::speaks_for`] and [`LiveSessions::remove`], and a
    /// [`Duplicate`] when sessions of `gateway` keep replacing each other.
    pub(crate) fn insert(
        &self,
        gateway: &str,
        token: CancellationToken,
        conn: Option<quinn::Connection>,
        now: Millis,
    ) -> (u64, Option<Duplicate>) {
        let mut s = self.lock();
        s.next += 1;
        let id = s.next;
        let addr = conn.as_ref().map(|c| c.remote_address().to_string());
        let live = Live {
            id,
            token,
            conn,
            since: now,
        };
        let Some(older) = s.by_gateway.insert(gateway.to_owned(), live) else {
            return (id, None);
        };
        let swaps = s.replaced.entry(gateway.to_owned()).or_default();
        swaps.retain(|(at, _)| now - at < SWAP_WINDOW);
        if now - older.since < SWAP_WINDOW / 2 {
            swaps.push_back((now, addr.unwrap_or_default()));
        }
        let duplicate = (swaps.len() >= SWAPS_FOR_DUPLICATE).then(|| {
            let mut addresses: Vec<String> = swaps.iter().map(|(_, a)| a.clone()).collect();
            addresses.sort();
            addresses.dedup();
            Duplicate { addresses }
        });
        match (&duplicate, &older.conn) {
            (Some(_), Some(c)) => c.close(
                pathway_shared::transport::CLOSE_DUPLICATE.into(),
                b"this gateway's certificate is in use on another box",
            ),
            _ => {
                tracing::info!(%gateway, "a newer connection from the gateway replaces its session")
            }
        }
        older.token.cancel();
        (id, duplicate)
    }

    /// Whether session `id` may report `gateway`'s state: it is the one in place, or none is
    /// (it was cut, and its end is still to be told).
    pub(crate) fn speaks_for(&self, gateway: &str, id: u64) -> bool {
        self.lock()
            .by_gateway
            .get(gateway)
            .is_none_or(|live| live.id == id)
    }

    /// Session `id` of `gateway` ended; a newer one in its place stays.
    pub(crate) fn remove(&self, gateway: &str, id: u64) {
        let mut s = self.lock();
        if s.by_gateway.get(gateway).is_some_and(|live| live.id == id) {
            s.by_gateway.remove(gateway);
        }
    }

    /// Whether `gateway` is in session now.
    pub fn is_live(&self, gateway: &str) -> bool {
        self.lock().by_gateway.contains_key(gateway)
    }

    /// Ends `gateway`'s live session, if it has one.
    pub fn cut(&self, gateway: &str) -> bool {
        match self.lock().by_gateway.remove(gateway) {
            Some(live) => {
                live.token.cancel();
                true
            }
            None => false,
        }
    }
}

/// Whether `gateway` is on the national revocation list this hub holds.
pub fn is_revoked(store: &Store, gateway: &str) -> Result<bool, StoreError> {
    Ok(store
        .get::<RevocationList>(&revocations_id())?
        .is_some_and(|l| l.revoked.contains_key(gateway)))
}

/// The national revocation list (empty if nobody was ever revoked).
pub fn revoked(store: &Store) -> Result<RevocationList, StoreError> {
    Ok(store
        .get::<RevocationList>(&revocations_id())?
        .unwrap_or_default())
}

/// Puts `gateway` on the national list (urgent: it reaches every gateway first) and cuts its
/// live session. Durable on return. A gateway revoked already keeps its first entry.
pub fn revoke(
    store: &Store,
    live: &LiveSessions,
    gateway: &str,
    (by, reason): (&str, &str),
    now: Millis,
) -> Result<bool, StoreError> {
    let id = revocations_id();
    if store.meta(&id)?.is_none() {
        store.put(&RevocationList::default(), now)?;
    }
    let new = !is_revoked(store, gateway)?;
    if new {
        let entry = Revocation {
            at: now,
            by: by.to_owned(),
            reason: reason.to_owned(),
        };
        store.edit::<RevocationList, _, StoreError>(&id, now, |e| {
            e.set_class(Class::Urgent);
            e.put(&["revoked", gateway], &entry)
        })?;
        tracing::warn!(%gateway, %by, %reason, "gateway revoked");
    }
    live.cut(gateway);
    Ok(new)
}
