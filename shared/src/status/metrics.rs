//! The status as Prometheus text.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::NodeStatus;
use crate::model::{Class, Millis};

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
struct AlertLabel {
    peer: String,
    alert: String,
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
    let received_at: Family<PeerLabel, Float> = family(
        &mut reg,
        "peer_last_received_timestamp_seconds",
        "When more of the peer's changes were last stored here",
    );
    let two_boxes: Family<PeerLabel, Gauge> = family(
        &mut reg,
        "peer_two_boxes",
        "1 while one gateway certificate is seen in use on two boxes",
    );
    let alert: Family<AlertLabel, Gauge> = family(
        &mut reg,
        "alert",
        "1 while the alert stands for the peer: two_boxes, audit_refused, stale (not level for 24 h), backlog_growing (for 24 h), refused_writes, clock_off, certificate_due",
    );
    let peer_cert: Family<PeerLabel, Float> = family(
        &mut reg,
        "peer_certificate_expiry_timestamp_seconds",
        "When the certificate the peer presented last expires",
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
    if let Some(at) = status.certificate_expires {
        let g: Float = Float::default();
        reg.register(
            "certificate_expiry_timestamp_seconds",
            "When this node's own certificate expires (a gateway's to the hub, the hub's to its gateways)",
            g.clone(),
        );
        g.set(seconds(at));
    }
    if let Some(l) = &status.logins {
        for (name, help, v) in [
            (
                "login_failures",
                "Failed staff log-ins since start",
                l.failed,
            ),
            (
                "login_refused",
                "Log-in attempts held back by the throttle since start",
                l.refused,
            ),
            (
                "login_clients_waiting",
                "Client addresses that must wait to log in",
                l.clients_waiting,
            ),
            (
                "login_usernames_waiting",
                "Usernames that must wait to log in",
                l.usernames_waiting,
            ),
        ] {
            let g: Gauge = Gauge::default();
            reg.register(name, help, g.clone());
            g.set(v as i64);
        }
    }
    for (name, p) in &status.peers {
        let peer = PeerLabel { peer: name.clone() };
        online.get_or_create(&peer).set(i64::from(p.online));
        if let Some(t) = p.sync.last_contact {
            contact.get_or_create(&peer).set(seconds(t));
        }
        if let Some(t) = p.sync.in_sync_at {
            level.get_or_create(&peer).set(seconds(t));
        }
        if let Some(t) = p.certificate_expires {
            peer_cert.get_or_create(&peer).set(seconds(t));
        }
        if let Some(t) = p.sync.last_received {
            received_at.get_or_create(&peer).set(seconds(t));
        }
        let standing = p.alerts(status.now);
        for a in super::Alert::ALL {
            alert
                .get_or_create(&AlertLabel {
                    peer: name.clone(),
                    alert: a.code().into(),
                })
                .set(i64::from(standing.contains(&a)));
        }
        two_boxes.get_or_create(&peer).set(i64::from(
            p.two_boxes.as_ref().is_some_and(|t| t.stands(status.now)),
        ));
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
