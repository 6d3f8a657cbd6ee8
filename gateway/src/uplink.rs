//! The uplink: an actor that keeps a sync session with the hub whenever the link allows.
//!
//! It dials, runs the shared sync session over QUIC, and on any failure waits with exponential
//! backoff and jitter before dialling again. The backoff resets only after the hub's hello
//! arrived: a QUIC connection alone proves nothing, since the hub may close it at once (a
//! revoked certificate). It publishes its status; nobody pokes at it.

use std::net::SocketAddr;
use std::time::Duration;

use pathway_shared::clock::now_ms;
use pathway_shared::identity::Credentials;
use pathway_shared::model::{DocId, Millis};
use pathway_shared::status::Observed;
use pathway_shared::status::PeerStatus;
use pathway_shared::store::Store;
use pathway_shared::sync::{Event, Session, Side, Tally, gateway_backlog};
use pathway_shared::transport::{self, TransportError};

pub use pathway_shared::sync::HUB;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

#[derive(Debug, Clone)]
pub struct UplinkConfig {
    pub gateway_id: String,
    pub hub_addr: SocketAddr,
    /// The name in the hub's certificate.
    pub hub_name: String,
    pub ca_pem: String,
    pub creds: Credentials,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// When each class may use the link, what it may spend and its rate cap, in both
    /// directions: the gateway declares it to the hub in its hello.
    pub policy: pathway_shared::policy::LinkPolicy,
    /// "Sync now": notified, it cuts a backoff wait short and dials at once.
    pub sync_now: std::sync::Arc<tokio::sync::Notify>,
    /// The facility's audit trail: a case file that moved away is written in it.
    pub audit: std::sync::Arc<crate::audit::Audit>,
    /// Where renewed certificates are installed, and the credentials dials take from then
    /// on; `None`: `creds` always.
    pub renewal: Option<crate::renewal::Renewal>,
}

/// What the uplink has seen of the hub. `online` is true only while a session with the hub
/// is live.
pub type UplinkStatus = PeerStatus;

/// Starts the uplink; it runs until `cancel` fires.
pub fn spawn(
    store: Store,
    cfg: UplinkConfig,
    cancel: CancellationToken,
) -> (tokio::task::JoinHandle<()>, watch::Receiver<UplinkStatus>) {
    let mut sync = Session::stored_state(&store, HUB);
    // Counted before anyone can read the status: it never starts at "nothing waiting".
    let tally = match gateway_backlog(&store, HUB, None) {
        Ok(tally) => {
            sync.outgoing = tally.backlog;
            sync.measured_at = Some(now_ms());
            Some(tally)
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot count the changes waiting for the hub");
            None
        }
    };
    let (tx, rx) = watch::channel(UplinkStatus {
        sync,
        ..UplinkStatus::default()
    });
    let tx = std::sync::Arc::new(tx);
    if let Some(r) = cfg.renewal.clone() {
        // One waiting since the last run is installed before the first dial.
        crate::renewal::check_once(&store, &r);
        tokio::spawn(crate::renewal::watch(
            store.clone(),
            r,
            Duration::from_secs(1),
            cancel.clone(),
        ));
    }
    let counting = tokio::spawn(count_while_offline(
        store.clone(),
        tally,
        tx.clone(),
        cancel.clone(),
    ));
    // Every line the uplink logs names the gateway, its facility and its peer (journal fields
    // GATEWAY, FACILITY, PEER under systemd).
    let span = tracing::info_span!("uplink", gateway = %cfg.gateway_id, facility = %cfg.audit.facility(), peer = HUB);
    let handle = tokio::spawn(
        async move {
            run(store, cfg, cancel, &tx).await;
            let _ = counting.await;
        }
        .instrument(span),
    );
    (handle, rx)
}

/// While no session is live, counts every second what waits for the hub, from the feed
/// against the hub's last acknowledgement: offline, status says how much is waiting, never
/// "nothing waiting" over changes the hub has not acknowledged. A live session counts for
/// itself. Each count reads only the feed entries added since the last one.
async fn count_while_offline(
    store: Store,
    mut tally: Option<Tally>,
    tx: std::sync::Arc<watch::Sender<UplinkStatus>>,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        if tx.borrow().online {
            continue;
        }
        let (s, prev) = (store.clone(), tally.take());
        match tokio::task::spawn_blocking(move || gateway_backlog(&s, HUB, prev)).await {
            Ok(Ok(counted)) => tx.send_if_modified(|st| {
                let backlog = counted.backlog;
                tally = Some(counted);
                let changed = !st.online && st.sync.outgoing != backlog;
                if changed {
                    st.sync.outgoing = backlog;
                }
                if !st.online {
                    st.sync.measured_at = Some(now_ms());
                }
                changed
            }),
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot count the changes waiting for the hub");
                false
            }
            Err(_) => false,
        };
    }
}

async fn connect_once(
    store: &Store,
    cfg: &UplinkConfig,
    cancel: &CancellationToken,
    tx: &watch::Sender<UplinkStatus>,
) -> Result<(), TransportError> {
    let any: std::net::IpAddr = if cfg.hub_addr.is_ipv6() {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    };
    let bind = SocketAddr::new(any, 0);
    // A certificate renewed during the session ends it, so the next dial presents the new one
    // and the hub sees its new expiry now rather than at some later reconnect.
    let mut replaced = cfg.renewal.as_ref().map(|r| r.creds.replacements());
    if let Some(rx) = &mut replaced {
        rx.mark_unchanged();
    }
    let creds = cfg
        .renewal
        .as_ref()
        .map_or_else(|| cfg.creds.clone(), |r| r.creds.current());
    let endpoint = transport::client_endpoint(bind, &cfg.ca_pem, &creds)?;
    let connecting = endpoint.connect(cfg.hub_addr, &cfg.hub_name)?;
    // A handshake with an unreachable hub lasts until QUIC's idle timeout: shutdown must not
    // wait it out.
    let conn = tokio::select! {
        biased;
        _ = cancel.cancelled() => return Ok(()),
        conn = connecting => conn?,
    };
    let session = Session::new(
        store.clone(),
        Side::Gateway,
        &cfg.gateway_id,
        HUB,
        transport::sync_config(cfg.policy.clone()),
    )
    .map_err(pathway_shared::sync::SyncError::from)?;
    let observe = |o: Observed<'_>, s: &Session| {
        match o {
            Observed::Event(Event::Dropped { doc, by, at, .. }) => {
                record_move_away(&cfg.audit, doc, by, *at)
            }
            Observed::Event(Event::Connected { .. }) => {
                tracing::info!(hub = %cfg.hub_addr, "in session with the hub")
            }
            _ => {}
        }
        tx.send_modify(|st| st.observe(&o, s))
    };
    let session_ends = cancel.child_token();
    let redial = replaced.map(|mut rx| {
        let end = session_ends.clone();
        tokio::spawn(async move {
            if rx.changed().await.is_ok() {
                tracing::info!("renewed certificate installed: reconnecting to present it");
                end.cancel();
            }
        })
    });
    let result = transport::drive(conn, session, session_ends, observe).await;
    if let Some(task) = redial {
        task.abort();
    }
    endpoint.close(0u32.into(), b"");
    result.map(drop)
}

/// Writes in the audit trail that a case file left this facility: who recorded the transfer
/// and when the hub made it (the stub kept in the store says where to).
fn record_move_away(
    audit: &std::sync::Arc<crate::audit::Audit>,
    doc: &DocId,
    by: &str,
    at: Millis,
) {
    let (audit, doc, by) = (audit.clone(), doc.to_string(), by.to_owned());
    tokio::task::spawn_blocking(move || {
        let written = audit
            .stage(&by, "case_moved_away", &doc, at)
            .and_then(|p| p.durable());
        if let Err(e) = written {
            tracing::warn!(%doc, error = %e, "cannot write the move away in the audit trail");
        }
    });
}

async fn run(
    store: Store,
    cfg: UplinkConfig,
    cancel: CancellationToken,
    tx: &watch::Sender<UplinkStatus>,
) {
    let mut backoff = cfg.backoff_min;
    let mut rng = fastrand::Rng::new();
    // Why the hub could not be reached, as last logged: a failure is logged when it begins
    // or its reason changes, not at every retry.
    let mut failing: Option<String> = None;
    loop {
        if cancel.is_cancelled() {
            break;
        }
        tx.send_modify(|s| s.attempts += 1);
        let outcome = connect_once(&store, &cfg, &cancel, tx).await;
        let reached = tx.borrow().online;
        // A clean close (the hub stopped on purpose) is no error to report.
        let error = outcome.err().filter(|e| !e.is_clean_close());
        tx.send_modify(|s| s.ended(error.as_ref().map(ToString::to_string)));
        if error.as_ref().is_some_and(TransportError::is_duplicate) {
            let now = now_ms();
            let standing = tx
                .borrow()
                .two_boxes
                .as_ref()
                .is_some_and(|t| t.stands(now));
            if !standing {
                tracing::error!(
                    "the hub says this gateway's certificate is in use on another box: two stores write as one node; stop the box that is a copy and enrol it with a bundle of its own"
                );
            }
            tx.send_modify(|s| {
                s.two_boxes = Some(pathway_shared::status::TwoBoxes {
                    last_seen: now,
                    addresses: Vec::new(),
                })
            });
        }
        if reached {
            backoff = cfg.backoff_min;
            failing = None;
        }
        let jitter = backoff.mul_f64(0.5 + rng.f64());
        match &error {
            // Said once above, while it stands.
            Some(e) if e.is_duplicate() => {}
            Some(e) if reached => {
                tracing::warn!(reason = %e, retry_in = ?jitter, "the session with the hub ended; dialling again")
            }
            None if reached => tracing::info!("the session with the hub ended"),
            Some(e) if failing.as_deref() != Some(&e.to_string()) => {
                tracing::warn!(
                    hub = %cfg.hub_addr,
                    reason = %e,
                    retry_in = ?jitter,
                    "cannot reach the hub; trying again with backoff up to {} s (logged again when the reason changes); `pathway doctor` checks the link",
                    cfg.backoff_max.as_secs()
                );
                failing = Some(e.to_string());
            }
            _ => {}
        }
        tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(jitter) => {}
            _ = cfg.sync_now.notified() => backoff = cfg.backoff_min,
        }
        backoff = (backoff * 2).min(cfg.backoff_max);
    }
}
