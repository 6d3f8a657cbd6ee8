//! The national hub: accepts gateways over QUIC with mutual TLS, one task per gateway, and runs
//! the sync engine with each. A gateway's facility comes from its verified certificate.

pub mod config;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use pathway_shared::identity::{CertificateDer, Credentials, gateway_identity};
use pathway_shared::model::Millis;
use pathway_shared::store::Store;
use pathway_shared::sync::{Event, Session, Side, Stats};
use pathway_shared::transport::{self, DriveOptions, TransportError, now_ms};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

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

/// What the hub knows of one gateway. Never reports a success it did not see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatewayStatus {
    pub facility: String,
    pub connected: bool,
    /// When the gateway's hello last arrived.
    pub last_contact: Option<Millis>,
    /// Changes of this gateway's that the hub refused, with the reason.
    pub refused: Vec<(String, String)>,
    /// Edits to case files that had moved away from this gateway, merged and flagged for review.
    pub flagged_after_move: Vec<String>,
    pub last_error: Option<String>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HubStatus {
    pub gateways: BTreeMap<String, GatewayStatus>,
    /// Connections refused before a session began (bad or revoked certificates).
    pub refused_connections: u64,
    pub last_refusal: Option<String>,
}

pub struct Hub {
    endpoint: quinn::Endpoint,
    store: Store,
    cancel: CancellationToken,
    tracker: TaskTracker,
    status: Arc<Mutex<HubStatus>>,
    revoked: Arc<Mutex<HashSet<String>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// Binds the QUIC endpoint and starts accepting gateways.
    pub fn bind(cfg: HubConfig, store: Store) -> Result<Hub, TransportError> {
        let endpoint = transport::server_endpoint(cfg.listen, &cfg.ca_pem, &cfg.creds)?;
        let hub = Hub {
            endpoint,
            store,
            cancel: CancellationToken::new(),
            tracker: TaskTracker::new(),
            status: Arc::default(),
            revoked: Arc::new(Mutex::new(cfg.revoked.into_iter().collect())),
        };
        let limit = Arc::new(Semaphore::new(cfg.max_gateways.max(1)));
        let (endpoint, store, cancel, tracker, status, revoked) = (
            hub.endpoint.clone(),
            hub.store.clone(),
            hub.cancel.clone(),
            hub.tracker.clone(),
            hub.status.clone(),
            hub.revoked.clone(),
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
                let (store, cancel, status, revoked) = (
                    store.clone(),
                    cancel.clone(),
                    status.clone(),
                    revoked.clone(),
                );
                tracker.spawn(async move {
                    serve(incoming, store, cancel, status, revoked).await;
                    drop(permit);
                });
            }
        });
        Ok(hub)
    }

    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn status(&self) -> HubStatus {
        lock(&self.status).clone()
    }

    /// A live handle on the status, for watchers that outlive a borrow of the hub.
    pub fn status_handle(&self) -> Arc<Mutex<HubStatus>> {
        self.status.clone()
    }

    /// Refuses `gateway` from its next connection on.
    pub fn revoke(&self, gateway: &str) {
        lock(&self.revoked).insert(gateway.to_owned());
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
    revoked: Arc<Mutex<HashSet<String>>>,
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
    if lock(&revoked).contains(&identity.gateway) {
        conn.close(2u32.into(), b"certificate revoked");
        return refuse(&status, format!("gateway {} is revoked", identity.gateway));
    }
    let gw = identity.gateway.clone();
    let span = tracing::info_span!("gateway", peer = %gw, facility = %identity.facility);
    let _enter = span.enter();
    let session = match Session::new(
        store,
        Side::Hub {
            facility: identity.facility.clone(),
        },
        "hub",
        &gw,
        transport::sync_config(Default::default()),
    ) {
        Ok(s) => s,
        Err(e) => {
            conn.close(3u32.into(), b"hub store failure");
            return refuse(&status, format!("store: {e}"));
        }
    };
    lock(&status)
        .gateways
        .entry(gw.clone())
        .or_default()
        .facility = identity.facility.clone();
    let on_event = |e: &Event, s: &Session| {
        let mut st = lock(&status);
        let g = st.gateways.entry(gw.clone()).or_default();
        g.stats = s.stats().clone();
        match e {
            Event::Connected { .. } => {
                g.connected = true;
                g.last_contact = Some(now_ms());
            }
            Event::Refused { doc, reason } => g.refused.push((doc.clone(), reason.clone())),
            Event::AfterMove { doc } => g.flagged_after_move.push(doc.to_string()),
            Event::PeerError { message, .. } => g.last_error = Some(message.clone()),
            _ => {}
        }
    };
    let result = transport::drive(conn, session, DriveOptions::default(), cancel, on_event).await;
    let mut st = lock(&status);
    let g = st.gateways.entry(gw.clone()).or_default();
    g.connected = false;
    match result {
        Ok(stats) => g.stats = stats,
        Err(e) => {
            tracing::warn!(gateway = %gw, error = %e, "session with gateway ended");
            g.last_error = Some(e.to_string());
        }
    }
}
