//! Sync status for operators: what each daemon knows of each peer, served as JSON
//! (`GET /status`), as Prometheus metrics (`GET /metrics`), and in plain words. Every figure is
//! something this node saw: a time is that of a frame that arrived, a backlog is what was
//! counted or what the peer reported, and nothing is shown as synced that was not acknowledged.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::model::{Class, Millis};
use crate::policy::Held;
use crate::sync::{Backlog, Event, Session, Stats, SyncState};
use crate::transport::Observed;

/// The link as QUIC measures it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct LinkStats {
    pub rtt_ms: u64,
    /// Lost packets over packets sent, this connection.
    pub loss: f64,
    /// Bytes per second over the last few seconds, each way, UDP payloads.
    pub up_bps: u64,
    pub down_bps: u64,
    pub sent_bytes: u64,
    pub received_bytes: u64,
    pub congestion_events: u64,
}

/// A change the peer refused, or we refused, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub doc: String,
    pub reason: String,
}

/// One peer: the hub, seen from a gateway, or a gateway, seen from the hub.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PeerStatus {
    pub facility: Option<String>,
    /// Live: the peer's hello arrived over an authenticated connection.
    pub online: bool,
    pub sync: SyncState,
    /// The link of the live connection, or of the last one.
    pub link: Option<LinkStats>,
    pub stats: Stats,
    /// Connection attempts (gateway side).
    pub attempts: u64,
    /// The last failure, in plain words.
    pub last_error: Option<String>,
    pub refused: Vec<Refusal>,
    /// Edits to case files that had moved away, merged and flagged for review.
    pub flagged_after_move: Vec<String>,
}

/// Everything a daemon reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeStatus {
    pub node: String,
    pub now: Millis,
    pub peers: BTreeMap<String, PeerStatus>,
    /// Connections refused before a session began (bad, unknown or revoked certificates).
    pub refused_connections: u64,
    pub last_refusal: Option<String>,
}

/// "3 h", "5 min", "12 s".
pub fn ago(now: Millis, then: Millis) -> String {
    let s = (now - then).max(0) / 1_000;
    match s {
        0..120 => format!("{s} s"),
        120..7_200 => format!("{} min", s / 60),
        7_200..172_800 => format!("{} h", s / 3_600),
        _ => format!("{} days", s / 86_400),
    }
}

fn waiting(b: &[Backlog; 3]) -> (u64, bool) {
    (
        b.iter().map(|b| b.changes).sum(),
        b.iter().any(|b| b.at_least),
    )
}

/// Refusals kept in the status, newest last.
const KEEP_REFUSALS: usize = 100;

impl PeerStatus {
    /// Takes in what the driver of a session reports.
    pub fn observe(&mut self, o: &Observed<'_>, s: &Session) {
        self.online = s.is_connected();
        self.sync = s.state();
        self.stats = s.stats().clone();
        match o {
            Observed::Link(l) => self.link = Some(*l),
            Observed::Event(Event::Connected { .. }) => self.last_error = None,
            Observed::Event(
                Event::Refused { doc, reason } | Event::RefusedByPeer { doc, reason },
            ) => {
                if self.refused.len() >= KEEP_REFUSALS {
                    self.refused.remove(0);
                }
                self.refused.push(Refusal {
                    doc: doc.clone(),
                    reason: reason.clone(),
                });
            }
            Observed::Event(Event::AfterMove { doc }) => {
                self.flagged_after_move.push(doc.to_string())
            }
            Observed::Event(Event::PeerError { message, .. }) => {
                self.last_error = Some(format!("peer reported: {message}"))
            }
            Observed::Event(Event::Dropped { .. }) => {}
        }
    }

    /// The session ended, with `error` if it failed.
    pub fn ended(&mut self, error: Option<String>) {
        self.online = false;
        self.sync.connected = false;
        self.sync.incoming = None;
        if error.is_some() {
            self.last_error = error;
        }
    }
    /// The state in plain words: "online; last delivered 3 s ago; 41 changes waiting to go,
    /// none waiting to come".
    pub fn summary(&self, name: &str, now: Millis) -> String {
        let mut parts = Vec::new();
        parts.push(if self.online {
            format!("{name}: online")
        } else {
            match self.sync.last_contact {
                Some(t) => format!("{name}: offline, last heard {} ago", ago(now, t)),
                None => format!("{name}: never reached"),
            }
        });
        match self.sync.last_delivered.iter().flatten().max() {
            Some(t) => parts.push(format!("changes last delivered {} ago", ago(now, *t))),
            None => parts.push("no change delivered yet".into()),
        }
        if let Some(t) = self.sync.in_sync_at {
            parts.push(format!("both sides last level {} ago", ago(now, t)));
        }
        let (out, more) = waiting(&self.sync.outgoing);
        let plus = if more { "+" } else { "" };
        parts.push(match out {
            0 => "nothing waiting to go".into(),
            1 => "1 change waiting to go".into(),
            n => format!("{n}{plus} changes waiting to go"),
        });
        if let Some(incoming) = &self.sync.incoming {
            let (n, _) = waiting(incoming);
            parts.push(match n {
                0 => "nothing waiting to come".into(),
                n => format!("{n} waiting to come"),
            });
        }
        for c in Class::ALL {
            if let Some(h) = self.sync.held[c as usize] {
                parts.push(format!("{} held: {}", c.name(), h.describe()));
            }
        }
        if let Some(e) = &self.last_error {
            parts.push(format!("last error: {e}"));
        }
        parts.join("; ")
    }
}

impl Held {
    pub fn describe(self) -> &'static str {
        match self {
            Held::OutsideWindow => "outside its sync window",
            Held::DailyBudget => "today's byte budget is spent",
            Held::MonthlyBudget => "this month's byte budget is spent",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PeerLabel {
    peer: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    peer: String,
    class: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FlowLabel {
    peer: String,
    class: String,
    direction: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DirLabel {
    peer: String,
    direction: String,
}

type Float = Gauge<f64, AtomicU64>;

fn family<L, M>(reg: &mut Registry, name: &str, help: &str) -> Family<L, M>
where
    L: Clone + std::hash::Hash + Eq + EncodeLabelSet + std::fmt::Debug + Send + Sync + 'static,
    M: Default
        + prometheus_client::metrics::TypedMetric
        + prometheus_client::encoding::EncodeMetric
        + Send
        + Sync
        + std::fmt::Debug
        + 'static,
{
    let f = Family::<L, M>::default();
    reg.register(name, help, f.clone());
    f
}

fn seconds(t: Millis) -> f64 {
    t as f64 / 1_000.0
}

/// The status as Prometheus text.
pub fn metrics(status: &NodeStatus) -> String {
    let mut reg = Registry::with_prefix("pathway");
    let online: Family<PeerLabel, Gauge> = family(
        &mut reg,
        "peer_online",
        "1 while the sync session with the peer is live",
    );
    let contact: Family<PeerLabel, Float> = family(
        &mut reg,
        "peer_last_contact_timestamp_seconds",
        "When a frame from the peer last arrived",
    );
    let level: Family<PeerLabel, Float> = family(
        &mut reg,
        "peer_in_sync_timestamp_seconds",
        "The last moment both sides reported nothing waiting",
    );
    let delivered: Family<ClassLabel, Float> = family(
        &mut reg,
        "delivered_timestamp_seconds",
        "When the peer last acknowledged holding more of our changes",
    );
    let held: Family<ClassLabel, Gauge> = family(
        &mut reg,
        "class_held",
        "1 while the link policy holds the class back",
    );
    let backlog: Family<FlowLabel, Gauge> = family(
        &mut reg,
        "backlog_changes",
        "Changes waiting to cross the link (out: ours; in: as the peer reported)",
    );
    let backlog_bytes: Family<FlowLabel, Gauge> = family(
        &mut reg,
        "backlog_bytes",
        "Uncompressed bytes of the changes waiting",
    );
    let oldest: Family<FlowLabel, Float> = family(
        &mut reg,
        "backlog_oldest_age_seconds",
        "Age of the oldest change waiting",
    );
    let rtt: Family<PeerLabel, Float> =
        family(&mut reg, "link_rtt_seconds", "Round-trip time, from QUIC");
    let loss: Family<PeerLabel, Float> = family(
        &mut reg,
        "link_loss_ratio",
        "Lost over sent packets, from QUIC",
    );
    let rate: Family<DirLabel, Gauge> = family(
        &mut reg,
        "link_throughput_bytes_per_second",
        "Recent throughput, from QUIC",
    );
    let sent: Family<PeerLabel, Gauge> = family(
        &mut reg,
        "sync_bytes_sent",
        "Bytes of sync frames sent in the current or last session",
    );
    let received: Family<PeerLabel, Gauge> = family(
        &mut reg,
        "sync_bytes_received",
        "Bytes of sync frames received in the current or last session",
    );
    let resent: Family<PeerLabel, Gauge> = family(
        &mut reg,
        "sync_bytes_resent",
        "Bytes sent again after a timeout in the current or last session",
    );
    let refused: Family<PeerLabel, Gauge> = family(
        &mut reg,
        "refused_documents",
        "Documents refused, either way, since the daemon started",
    );
    let refused_conn: Gauge = Gauge::default();
    reg.register(
        "refused_connections",
        "Connections refused before a session began",
        refused_conn.clone(),
    );
    refused_conn.set(status.refused_connections as i64);
    for (name, p) in &status.peers {
        let peer = PeerLabel { peer: name.clone() };
        online.get_or_create(&peer).set(i64::from(p.online));
        if let Some(t) = p.sync.last_contact {
            contact.get_or_create(&peer).set(seconds(t));
        }
        if let Some(t) = p.sync.in_sync_at {
            level.get_or_create(&peer).set(seconds(t));
        }
        if let Some(l) = &p.link {
            rtt.get_or_create(&peer).set(l.rtt_ms as f64 / 1_000.0);
            loss.get_or_create(&peer).set(l.loss);
            for (direction, v) in [("up", l.up_bps), ("down", l.down_bps)] {
                rate.get_or_create(&DirLabel {
                    peer: name.clone(),
                    direction: direction.into(),
                })
                .set(v as i64);
            }
        }
        sent.get_or_create(&peer).set(p.stats.bytes_sent as i64);
        received
            .get_or_create(&peer)
            .set(p.stats.bytes_received as i64);
        resent.get_or_create(&peer).set(p.stats.bytes_resent as i64);
        refused.get_or_create(&peer).set(p.refused.len() as i64);
        for c in Class::ALL {
            let i = c as usize;
            let class = ClassLabel {
                peer: name.clone(),
                class: c.name().into(),
            };
            if let Some(t) = p.sync.last_delivered[i] {
                delivered.get_or_create(&class).set(seconds(t));
            }
            held.get_or_create(&class)
                .set(i64::from(p.sync.held[i].is_some()));
            let flows = [
                ("out", Some(p.sync.outgoing[i])),
                ("in", p.sync.incoming.map(|b| b[i])),
            ];
            for (direction, b) in flows {
                let Some(b) = b else { continue };
                let l = FlowLabel {
                    peer: name.clone(),
                    class: c.name().into(),
                    direction: direction.into(),
                };
                backlog.get_or_create(&l).set(b.changes as i64);
                backlog_bytes.get_or_create(&l).set(b.bytes as i64);
                oldest
                    .get_or_create(&l)
                    .set(b.oldest.map_or(0.0, |t| seconds(status.now - t).max(0.0)));
            }
        }
    }
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut out, &reg);
    out
}

/// Where the server gets the status from.
pub type Source = Arc<dyn Fn() -> NodeStatus + Send + Sync>;

async fn status_json(State(source): State<Source>) -> impl IntoResponse {
    let s = source();
    let summaries: BTreeMap<&str, String> = s
        .peers
        .iter()
        .map(|(n, p)| (n.as_str(), p.summary(n, s.now)))
        .collect();
    axum::Json(serde_json::json!({ "status": s, "summary": summaries }))
}

async fn status_text(State(source): State<Source>) -> impl IntoResponse {
    let s = source();
    let mut out = format!("{}\n", s.node);
    for (n, p) in &s.peers {
        out.push_str(&p.summary(n, s.now));
        out.push('\n');
    }
    if let Some(r) = &s.last_refusal {
        out.push_str(&format!(
            "{} connections refused; last: {r}\n",
            s.refused_connections
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], out)
}

async fn metrics_text(State(source): State<Source>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics(&source()),
    )
}

/// The status routes: `/status` (JSON), `/status.txt` (plain words), `/metrics` (Prometheus).
pub fn router(source: Source) -> Router {
    Router::new()
        .route("/status", get(status_json))
        .route("/status.txt", get(status_text))
        .route("/metrics", get(metrics_text))
        .with_state(source)
}

/// Serves `app` (the status routes, and whatever a daemon adds) on `addr` until `cancel` fires.
/// Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    app: Router,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let handle = tokio::spawn(async move {
        let shutdown = async move { cancel.cancelled().await };
        if let Err(e) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::warn!(error = %e, "status server stopped");
        }
    });
    Ok((local, handle))
}
