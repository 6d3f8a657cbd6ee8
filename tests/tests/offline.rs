//! Status never lies offline: with the hub unreachable, what the gateway wrote and the hub has
//! not acknowledged is counted from the feed, on every status surface, within a second or two.

use std::time::{Duration, Instant};

use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::identity::Ca;
use pathway_shared::model::{CaseFile, CaseNote, case_id};
use pathway_shared::store::{Store, StoreError, StoreOptions};
use pathway_tests::sample::{SampleConfig, SampleFacility};
use pathway_tests::{http, offline_gateway_config};
use tokio_util::sync::CancellationToken;

/// Changes waiting to go, as each surface says: the words, the JSON, the metrics.
async fn waiting(addr: std::net::SocketAddr) -> (String, u64, u64) {
    let words = http::get(addr, "/status.txt").await;
    let json: serde_json::Value = serde_json::from_str(&http::get(addr, "/status").await).unwrap();
    let from_json = json["status"]["peers"]["hub"]["sync"]["outgoing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["changes"].as_u64().unwrap())
        .sum();
    let from_metrics = http::get(addr, "/metrics")
        .await
        .lines()
        .filter(|l| l.starts_with("pathway_backlog_changes{") && l.contains("direction=\"out\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    (words, from_json, from_metrics)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_hub_unreachable_every_surface_counts_what_waits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 10,
        marks: 40,
        ..SampleConfig::default()
    });
    {
        let store = Store::open(d.join("data"), StoreOptions::keyed(d.join("store.key"))).unwrap();
        sample.load(&store, 1).unwrap();
    }
    let ca = Ca::generate("Pathway test CA").unwrap();
    let path = offline_gateway_config(d, &ca, "127.0.0.1:0".parse().unwrap()).unwrap();
    let gateway = Gateway::start(&GatewayConfig::load(&path).unwrap()).unwrap();
    let cancel = CancellationToken::new();
    let (addr, _) = pathway_shared::status::serve(
        "127.0.0.1:0".parse().unwrap(),
        gateway.operator_routes(),
        cancel.clone(),
    )
    .await
    .unwrap();

    // Everything of the facility's loaded here waits for the hub, which has acknowledged
    // nothing; the national documents of the sample are the hub's and never go up.
    let feed = gateway
        .store
        .feed_after(0, 1_000_000)
        .unwrap()
        .iter()
        .filter(|e| {
            gateway.store.meta(&e.doc).unwrap().unwrap().scope
                != pathway_shared::model::Scope::National
        })
        .count() as u64;
    assert!(feed > 3);
    let until = |want: u64| async move {
        let start = Instant::now();
        loop {
            let (words, json, metrics) = waiting(addr).await;
            assert!(
                !words.contains("nothing waiting to go"),
                "says nothing waiting over {feed}+ unacknowledged changes: {words}"
            );
            if json == want
                && metrics == want
                && words.contains(&format!("{want} changes waiting to go"))
            {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(3),
                "expected {want} waiting on every surface; words: {words}; JSON {json}; metrics {metrics}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    until(feed).await;

    // Three notes written with the hub unreachable: three more, within a second or two.
    let person = &sample.cases[0].person_id;
    for i in 0..3 {
        let n = CaseNote {
            author: "t".into(),
            text: format!("offline note {i}"),
            ..Default::default()
        };
        gateway
            .store
            .edit::<CaseFile, _, StoreError>(&case_id(person), 10 + i, |e| {
                e.put(&["notes", &format!("offline-{i}")], &n)
            })
            .unwrap();
    }
    until(feed + 3).await;
    cancel.cancel();
    gateway.shutdown().await;
}
