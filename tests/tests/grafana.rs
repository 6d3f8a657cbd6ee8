//! The Grafana dashboard checked in under `packaging/grafana/` names only metrics the daemons
//! serve: every metric in its queries appears in `/metrics` for a hub with a gateway whose every
//! figure is known.

use std::collections::BTreeSet;

use pathway_shared::status::{LinkStats, NodeStatus, PeerStatus, Refusal, TwoBoxes, metrics};
use pathway_shared::sync::{Backlog, SyncState};

#[test]
fn the_grafana_dashboard_names_only_metrics_the_hub_serves() {
    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../../packaging/grafana/pathway-fleet.json"))
            .expect("the dashboard is JSON");
    let now = 1_796_000_000_000;
    let backlog = Backlog {
        changes: 3,
        bytes: 300,
        oldest: Some(now - 60_000),
        at_least: false,
    };
    let peer = PeerStatus {
        facility: Some("WHK".into()),
        online: true,
        sync: SyncState {
            last_contact: Some(now),
            last_delivered: [Some(now); 3],
            in_sync_at: Some(now - 90_000_000),
            outgoing: [backlog; 3],
            incoming: Some([backlog; 3]),
            last_received: Some(now),
            ..SyncState::default()
        },
        link: Some(LinkStats {
            rtt_ms: 600,
            loss: 0.02,
            up_bps: 30_000,
            down_bps: 30_000,
            heard_at: now,
            ..LinkStats::default()
        }),
        refused: vec![Refusal {
            doc: "audit/WHK/000000000".into(),
            reason: "entry 7 would be rewritten".into(),
        }],
        clock_ahead_ms: Some(120_000),
        certificate_expires: Some(now + 86_400_000),
        two_boxes: Some(TwoBoxes {
            last_seen: now,
            addresses: vec![],
        }),
        backlog_growing: true,
        ..PeerStatus::default()
    };
    let status = NodeStatus {
        node: "hub".into(),
        now,
        peers: [("gw-whk01-a".to_owned(), peer)].into(),
        certificate_expires: Some(now + 86_400_000 * 300),
        ..NodeStatus::default()
    };
    let served: BTreeSet<String> = metrics(&status)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next().map(str::to_owned))
        .collect();
    let mut named = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("an expression");
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if word.starts_with("pathway_") {
                    named.insert(word.to_owned());
                }
            }
        }
    }
    assert!(
        named.len() >= 10,
        "the dashboard queries the fleet: {named:?}"
    );
    let missing: Vec<&String> = named.difference(&served).collect();
    assert!(
        missing.is_empty(),
        "not served: {missing:?}; served: {served:?}"
    );
    // Every alert is on the dashboard's list, and each one stands here.
    let alerts = dashboard["panels"][1]["description"]
        .as_str()
        .unwrap_or_default();
    for a in pathway_shared::status::Alert::ALL {
        assert!(alerts.contains(a.code()), "{} is described", a.code());
        assert!(
            served.contains("pathway_alert")
                && metrics(&status).contains(&format!(
                    "pathway_alert{{peer=\"gw-whk01-a\",alert=\"{}\"}} 1",
                    a.code()
                )),
            "{} stands",
            a.code()
        );
    }
}
