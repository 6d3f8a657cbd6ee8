//! The fleet: every gateway the hub knows of, whether or not it is connected or ever was, and
//! what waits at the hub to reach each one. A gateway is known once a national administrator
//! registers it (the dashboard or `POST /api/gateways`, after `pathway enrol`) or once it
//! presents its certificate (over QUIC or on a courier file); both are kept in node-local
//! tables, so the list survives a restart. For a gateway not in session, the changes waiting to
//! reach it are counted from the hub's own feed against the gateway's acknowledged cursors
//! (`hub_backlog`), so an offline gateway never shows "nothing waiting" while something does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pathway_shared::model::Millis;
use pathway_shared::store::{Store, StoreError};
use pathway_shared::sync::{Session, Tally, hub_backlog};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use pathway_shared::status::PeerStatus;

use crate::{HubStatus, LiveSessions, lock, revoke};

/// Node-local table: the gateways a national administrator registered, by id.
pub const ENROLLED: &str = "fleet";

/// A gateway registered at the hub before (or after) it first connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub facility: String,
    pub at: Millis,
    pub by: String,
}

/// How often the backlog of each gateway not in session is counted again.
pub const COUNT_EVERY: Duration = Duration::from_secs(2);

/// Registers `gateway` of `facility`. Returns `false` if it was registered already for the same
/// facility; a gateway registered for another facility is refused (its certificate names one).
pub fn register(
    store: &Store,
    gateway: &str,
    facility: &str,
    by: &str,
    now: Millis,
) -> Result<Result<bool, String>, StoreError> {
    store.update_local(ENROLLED, gateway, |old: Option<Enrolled>| {
        Ok::<_, StoreError>(match old {
            Some(e) if e.facility == facility => (None, Ok(false)),
            Some(e) => (None, Err(e.facility)),
            None => (
                Some(Enrolled {
                    facility: facility.to_owned(),
                    at: now,
                    by: by.to_owned(),
                }),
                Ok(true),
            ),
        })
    })
}

/// How many gateways a national administrator registered.
pub fn registered(store: &Store) -> Result<usize, StoreError> {
    Ok(store.local_all::<Enrolled>(ENROLLED)?.len())
}

/// Every gateway the hub knows, with its facility: the registered ones and, with `presented`,
/// those that presented a certificate (read at start; a gateway that connects later is listed
/// by its session).
fn known(store: &Store, presented: bool) -> Result<BTreeMap<String, String>, StoreError> {
    let mut all: BTreeMap<String, String> = store
        .local_all::<Enrolled>(ENROLLED)?
        .into_iter()
        .map(|(gw, e)| (gw, e.facility))
        .collect();
    if !presented {
        return Ok(all);
    }
    for (gw, pem) in store.local_all::<String>(revoke::PRESENTED)? {
        let facility = pathway_shared::identity::first_cert(&pem, "gateway certificate")
            .ok()
            .and_then(|der| pathway_shared::identity::gateway_identity(&der).ok())
            .map(|id| id.facility);
        if let Some(f) = facility {
            all.entry(gw).or_insert(f);
        }
    }
    Ok(all)
}

/// The hub's fleet: the status of every known gateway, and the count of what waits to reach
/// each one. Counted on every read of the status (carried on from the
/// last count, so a read costs the feed entries written since) and every [`COUNT_EVERY`] in
/// the background, so a write at the hub shows as waiting the moment it is acknowledged.
#[derive(Clone)]
pub struct Fleet {
    store: Store,
    status: Arc<Mutex<HubStatus>>,
    live: LiveSessions,
    /// Per gateway, its last count; held while counting, so counts take turns.
    tallies: Arc<Mutex<BTreeMap<String, Tally>>>,
}

impl Fleet {
    /// The fleet of a hub that starts: every gateway registered or seen before is listed, with
    /// what the hub kept of its sync (last contact, delivery, level) and the expiry of the
    /// certificate it presented last.
    pub fn start(store: Store, status: Arc<Mutex<HubStatus>>, live: LiveSessions) -> Fleet {
        let fleet = Fleet {
            store,
            status,
            live,
            tallies: Arc::default(),
        };
        if let Err(e) = fleet.list(true) {
            tracing::warn!(error = %e, "cannot read the fleet");
        }
        fleet
    }

    /// Lists the known gateways missing from the status.
    fn list(&self, presented: bool) -> Result<(), StoreError> {
        let known = known(&self.store, presented)?;
        let mut st = lock(&self.status);
        for (gw, facility) in known {
            let p = st.peers.entry(gw.clone()).or_insert_with(|| PeerStatus {
                sync: Session::stored_state(&self.store, &gw),
                certificate_expires: self
                    .store
                    .local::<String>(revoke::PRESENTED, &gw)
                    .ok()
                    .flatten()
                    .and_then(|pem| {
                        pathway_shared::identity::expires_at(&pem, "gateway certificate").ok()
                    }),
                ..PeerStatus::default()
            });
            if p.facility.is_none() {
                p.facility = Some(facility);
            }
        }
        Ok(())
    }

    /// Lists gateways registered since, and counts what waits to reach each gateway, carried
    /// on from its last count. For a gateway not in session the count is its backlog; for one
    /// in session, whose session counts its own a few times a second, the larger of the two
    /// per class is shown, so a write at the hub is waiting from the moment it is acknowledged,
    /// even before the session's next count and even if the gateway has gone without a word.
    pub fn refresh(&self) -> Result<(), StoreError> {
        let mut tallies = lock(&self.tallies);
        self.list(false)?;
        let gateways: Vec<(String, String)> = lock(&self.status)
            .peers
            .iter()
            .filter_map(|(gw, p)| Some((gw.clone(), p.facility.clone()?)))
            .collect();
        for (gw, facility) in gateways {
            let tally = hub_backlog(&self.store, &gw, &facility, tallies.remove(&gw))?;
            let mut st = lock(&self.status);
            // The status lock is held where a session is put in place: none began meanwhile.
            if let Some(p) = st.peers.get_mut(&gw) {
                if self.live.is_live(&gw) {
                    for (shown, counted) in p.sync.outgoing.iter_mut().zip(tally.backlog) {
                        if counted.changes > shown.changes {
                            *shown = counted;
                        }
                    }
                } else {
                    p.sync.outgoing = tally.backlog;
                    p.sync.measured_at = Some(pathway_shared::clock::now_ms());
                }
            }
            tallies.insert(gw, tally);
        }
        Ok(())
    }

    /// Counts every [`COUNT_EVERY`] until `cancel`, so `/metrics` and alerts are fresh even
    /// when nobody reads the status.
    pub async fn run(self, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(COUNT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let fleet = self.clone();
            match tokio::task::spawn_blocking(move || fleet.refresh()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot count what waits for the gateways")
                }
                Err(e) => tracing::warn!(error = %e, "the fleet count stopped"),
            }
        }
    }
}
