//! The national hub: accepts gateways over QUIC with mutual TLS, one task per gateway, and runs
//! the sync engine with each. A gateway's facility comes from its verified certificate.

pub mod admin;
pub mod config;
pub mod fleet;
pub mod revoke;

pub use revoke::LiveSessions;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use pathway_shared::clock::now_ms;
use pathway_shared::identity::{CertificateDer, Credentials, gateway_identity};
use pathway_shared::indicators::tracker::{Tracker, keep_counting};
use pathway_shared::status::Observed;
use pathway_shared::status::{NodeStatus, TwoBoxes};
use pathway_shared::store::{Store, StoreError};
use pathway_shared::sync::{Session, Side};
use pathway_shared::transport::{self, TransportError};

pub use pathway_shared::sync::HUB;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

/// How often the indicators count what arrived.
const INDICATORS_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What the hub needs to run.
#[derive(Debug, Clone)]
pub struct HubConfig {
    pub listen: SocketAddr,
    /// The national CA certificate, PEM.
    pub ca_pem: String,
    /// The hub's own certificate and key.
    pub creds: Credentials,
    /// Gateway ids whose certificates are revoked.
    pub revoked: Vec<String>,
    /// Gateways served at once; more wait.
    pub max_gateways: usize,
}

/// What the hub knows of its gateways, keyed by gateway id. Never reports a success it did not
/// see.
pub type HubStatus = NodeStatus;

pub struct Hub {
    endpoint: quinn::Endpoint,
    /// The national CA, PEM, that gateways' certificates must chain to.
    ca_pem: String,
    store: Store,
    cancel: CancellationToken,
    tracker: TaskTracker,
    status: Arc<Mutex<HubStatus>>,
    revoked: Arc<Mutex<HashSet<String>>>,
    live: LiveSessions,
    fleet: fleet::Fleet,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// Binds the QUIC endpoint and starts accepting gateways.
    pub fn bind(cfg: HubConfig, store: Store) -> Result<Hub, TransportError> {
        let endpoint = transport::server_endpoint(cfg.listen, &cfg.ca_pem, &cfg.creds)?;
        let status = Arc::new(Mutex::new(NodeStatus {
            node: HUB.into(),
            // Its own certificate: gateways refuse the hub once it has expired.
            certificate_expires: pathway_shared::identity::expires_at(
                &cfg.creds.cert_pem,
                "hub certificate",
            )
            .ok(),
            ..NodeStatus::default()
        }));
        let live = LiveSessions::default();
        // Every gateway it knows is listed from the start, connected or not.
        let fleet = fleet::Fleet::start(store.clone(), status.clone(), live.clone());
        let hub = Hub {
            endpoint,
            ca_pem: cfg.ca_pem.clone(),
            store,
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            status,
            revoked: Arc::new(Mutex::new(cfg.revoked.into_iter().collect())),
            live,
            fleet,
        };
        hub.tracker.spawn(hub.fleet.clone().run(hub.cancel.clone()));
        let limit = Arc::new(Semaphore::new(cfg.max_gateways.max(1)));
        let (endpoint, store, cancel, tracker, status, revoked, live) = (
            hub.endpoint.clone(),
            hub.store.clone(),
            hub.cancel.clone(),
            hub.tracker.clone(),
            hub.status.clone(),
            hub.revoked.clone(),
            hub.live.clone(),
        );
        hub.tracker.spawn(async move {
            loop {
                let incoming = tokio::select! {
                    biased;
                    _ = cancel.cancelled() => break,
                    i = endpoint.accept() => match i { Some(i) => i, None => break },
                };
                let Ok(permit) = limit.clone().acquire_owned().await else {
                    break;
                };
                let (store, cancel, status, revoked, live) = (
                    store.clone(),
                    cancel.clone(),
                    status.clone(),
                    revoked.clone(),
                    live.clone(),
                );
                tracker.spawn(async move {
                    serve(incoming, store, cancel, status, (revoked, live)).await;
                    drop(permit);
                });
            }
        });
        Ok(hub)
    }

    /// The national indicators, counted from the store and kept counting every few seconds
    /// as changes arrive, until the hub stops.
    pub fn count_indicators(&self) -> Result<Arc<Tracker>, StoreError> {
        let tracker = Arc::new(Tracker::open(self.store.clone())?);
        self.tracker.spawn(keep_counting(
            tracker.clone(),
            INDICATORS_EVERY,
            self.cancel.clone(),
        ));
        Ok(tracker)
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The status, with what waits for each gateway not in session counted now.
    pub fn status(&self) -> HubStatus {
        (self.status_source())()
    }

    /// Where the status server reads from: each read counts what waits for each gateway not
    /// in session, so a write is waiting the moment it is acknowledged.
    pub fn status_source(&self) -> pathway_shared::status::Source {
        let (status, fleet) = (self.status.clone(), self.fleet.clone());
        Arc::new(move || {
            // A few reads of the feed since the last count: brief enough for any thread.
            if let Err(e) = fleet.refresh() {
                tracing::warn!(error = %e, "cannot count what waits for the gateways");
            }
            let mut s = lock(&status).clone();
            s.now = now_ms();
            s
        })
    }

    /// A live handle on the status, for watchers that outlive a borrow of the hub.
    pub fn status_handle(&self) -> Arc<Mutex<HubStatus>> {
        self.status.clone()
    }

    /// Puts `gateway` on the national revocation list and cuts its live session: it is refused
    /// from then on, by every hub that holds the list, across restarts.
    pub fn revoke(&self, gateway: &str, by: &str, reason: &str) -> Result<bool, StoreError> {
        revoke::revoke(&self.store, &self.live, gateway, (by, reason), now_ms())
    }

    /// The live sessions, for the administration to cut.
    pub fn live_sessions(&self) -> LiveSessions {
        self.live.clone()
    }

    /// Presents `creds` (a renewed certificate) from the next connection on; the sessions live
    /// now go on. The status reports its expiry.
    pub fn replace_certificate(&self, creds: &Credentials) -> Result<(), TransportError> {
        let cfg = transport::server_config(&self.ca_pem, creds)?;
        self.endpoint.set_server_config(Some(cfg));
        lock(&self.status).certificate_expires =
            pathway_shared::identity::expires_at(&creds.cert_pem, "hub certificate").ok();
        Ok(())
    }

    /// Stops accepting, ends every session, and waits for them.
    pub async fn shutdown(self) {
        self.cancel.cancel();
        self.tracker.close();
        self.tracker.wait().await;
        self.endpoint.close(0u32.into(), b"hub shutting down");
        self.endpoint.wait_idle().await;
        let _ = self.store.flush();
    }
}

fn refuse(status: &Mutex<HubStatus>, why: String) {
    tracing::warn!(reason = %why, "gateway refused");
    let mut s = lock(status);
    s.refused_connections += 1;
    s.last_refusal = Some(why);
}

async fn serve(
    incoming: quinn::Incoming,
    store: Store,
    cancel: CancellationToken,
    status: Arc<Mutex<HubStatus>>,
    (revoked, live): (Arc<Mutex<HashSet<String>>>, LiveSessions),
) {
    let conn = match incoming.await {
        Ok(c) => c,
        Err(e) => return refuse(&status, format!("handshake failed: {e}")),
    };
    let certs = conn
        .peer_identity()
        .and_then(|i| i.downcast::<Vec<CertificateDer<'static>>>().ok());
    let identity = match certs
        .as_deref()
        .and_then(|c| c.first())
        .map(|c| gateway_identity(c))
    {
        Some(Ok(id)) => id,
        Some(Err(e)) => {
            conn.close(1u32.into(), b"certificate names no gateway");
            return refuse(&status, e.to_string());
        }
        None => {
            conn.close(1u32.into(), b"no client certificate");
            return refuse(&status, "no client certificate".into());
        }
    };
    let listed = revoke::is_revoked(&store, &identity.gateway).unwrap_or_else(|e| {
        // The list cannot be read: refuse rather than let a revoked gateway in.
        tracing::error!(error = %e, "cannot read the revocation list");
        true
    });
    if listed || lock(&revoked).contains(&identity.gateway) {
        conn.close(transport::CLOSE_REVOKED.into(), b"certificate revoked");
        return refuse(&status, format!("gateway {} is revoked", identity.gateway));
    }
    if transport::is_probe(&conn) {
        // `pathway doctor` reached the hub and was let in: that is all it asks.
        conn.close(0u32.into(), b"checked");
        return;
    }
    let gw = identity.gateway.clone();
    // The certificate it presented, for the administration (renewal starts from it).
    let expires = certs
        .as_deref()
        .and_then(|c| c.first())
        .and_then(|der| revoke::record_presented(&store, &gw, der));
    let span = tracing::info_span!("gateway", peer = %gw, facility = %identity.facility);
    async move {
        let session = match Session::new(
            store,
            Side::Hub {
                facility: identity.facility.clone(),
            },
            HUB,
            &gw,
            transport::sync_config(Default::default()),
        ) {
            Ok(s) => s,
            Err(e) => {
                conn.close(3u32.into(), b"hub store failure");
                return refuse(&status, format!("store: {e}"));
            }
        };
        // The status lock is taken before the live sessions' wherever both are held, so a
        // session's place and its reports change together.
        let session_cancel = cancel.child_token();
        let addr = conn.remote_address();
        let id = {
            let mut st = lock(&status);
            // In place before its first report: an older session of this gateway reports no more.
            let now = now_ms();
            let (id, two) = live.insert(&gw, session_cancel.clone(), Some(conn.clone()), now);
            let g = st.peers.entry(gw.clone()).or_default();
            g.facility = Some(identity.facility.clone());
            g.certificate_expires = expires;
            g.attempts += 1;
            if let Some(two) = two {
                if !g.two_boxes.as_ref().is_some_and(|t| t.stands(now)) {
                    tracing::warn!(addresses = ?two.addresses, "one gateway certificate is in use on two boxes: their sessions keep replacing each other");
                }
                g.two_boxes = Some(TwoBoxes {
                    last_seen: now,
                    addresses: two.addresses,
                });
            }
            id
        };
        tracing::info!(%addr, "gateway connected");
        let observe = |o: Observed<'_>, s: &Session| {
            let mut st = lock(&status);
            if let Some(g) = st.peers.get_mut(&gw).filter(|_| live.speaks_for(&gw, id)) {
                g.observe(&o, s);
            }
        };
        let result = transport::drive(conn, session, session_cancel, observe).await;
        // A clean close (the gateway stopped on purpose) is no error to report.
        let error = result.err().filter(|e| !e.is_clean_close());
        match &error {
            Some(e) => tracing::warn!(%addr, error = %e, "session with the gateway ended"),
            None => tracing::info!(%addr, "gateway left"),
        }
        let mut st = lock(&status);
        if let Some(g) = st.peers.get_mut(&gw).filter(|_| live.speaks_for(&gw, id)) {
            g.ended(error.map(|e| e.to_string()));
        }
        live.remove(&gw, id);
    }
    .instrument(span)
    .await
}
