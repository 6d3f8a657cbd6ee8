//! Gateway and hub as real in-process daemons: real sled, real QUIC, real mutual TLS on
//! loopback. The records reach the hub; bad certificates are refused; out-of-scope writes are
//! refused and show in the hub's status.

use std::time::{Duration, Instant};

use pathway_gateway::uplink::{self, UplinkConfig, UplinkStatus};
use pathway_hub::{Hub, HubConfig};
use pathway_shared::identity::{Ca, Credentials};
use pathway_shared::model::*;
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::harness::differences;
use pathway_tests::linksim::{LinkSim, Profile};
use pathway_tests::sample::{SampleConfig, SampleFacility};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

const HUB_NAME: &str = "hub.pathway.test";

struct Site {
    _dir: tempfile::TempDir,
    store: Store,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    Site { _dir: dir, store }
}

fn start_hub(ca: &Ca, revoked: Vec<String>) -> (Hub, Site) {
    let s = site();
    let cfg = HubConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ca_pem: ca.creds.cert_pem.clone(),
        creds: ca.issue_hub(HUB_NAME).unwrap(),
        revoked,
        max_gateways: 16,
    };
    (Hub::bind(cfg, s.store.clone()).unwrap(), s)
}

fn start_gateway_via(
    hub_addr: std::net::SocketAddr,
    ca_pem: &str,
    id: &str,
    creds: Credentials,
    store: Store,
    cancel: &CancellationToken,
) -> watch::Receiver<UplinkStatus> {
    let cert = pathway_shared::identity::first_cert(&creds.cert_pem, "certificate").unwrap();
    let facility = pathway_shared::identity::gateway_identity(&cert)
        .unwrap()
        .facility;
    let cfg = UplinkConfig {
        renewal: None,
        audit: std::sync::Arc::new(
            pathway_gateway::audit::Audit::open(store.clone(), &facility).unwrap(),
        ),
        gateway_id: id.into(),
        hub_addr,
        hub_name: HUB_NAME.into(),
        ca_pem: ca_pem.into(),
        creds,
        backoff_min: Duration::from_millis(100),
        backoff_max: Duration::from_secs(1),
        policy: Default::default(),
        sync_now: Default::default(),
    };
    uplink::spawn(store, cfg, cancel.clone()).1
}

fn start_gateway(
    hub: &Hub,
    ca_pem: &str,
    id: &str,
    creds: Credentials,
    store: Store,
    cancel: &CancellationToken,
) -> watch::Receiver<UplinkStatus> {
    start_gateway_via(hub.local_addr().unwrap(), ca_pem, id, creds, store, cancel)
}

async fn until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_syncs_with_the_hub_over_quic_with_mutual_tls() {
    let ca = Ca::generate("Pathway test CA").unwrap();
    let (hub, hub_site) = start_hub(&ca, vec![]);
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 100,
        marks: 1_000,
        ..SampleConfig::default()
    });
    sample.load_national(&hub_site.store, 1).unwrap();
    let gw = site();
    sample.load_facility(&gw.store, 1).unwrap();
    // A case file of another facility, written here: the hub must refuse it.
    let foreign = CaseFile {
        person_id: "OSH-9".into(),
        holding_facility: "OSH".into(),
        ..Default::default()
    };
    gw.store.put(&foreign, 1).unwrap();
    let cancel = CancellationToken::new();
    let status = start_gateway(
        &hub,
        &ca.creds.cert_pem,
        "gw-whk",
        ca.issue_gateway("gw-whk", "WHK", 30).unwrap(),
        gw.store.clone(),
        &cancel,
    );
    until("convergence", 60, || {
        differences(&hub_site.store, &gw.store, "WHK").is_empty() && status.borrow().online
    })
    .await;
    // A new record made at the facility reaches the hub.
    let note = CaseNote {
        author: "case.officer".into(),
        text: "Housing referral made.".into(),
        ..Default::default()
    };
    let person = sample.cases[0].person_id.clone();
    gw.store
        .edit::<CaseFile, _, pathway_shared::store::StoreError>(&case_id(&person), 5, |e| {
            e.put(&["notes", "n-quic"], &note)
        })
        .unwrap();
    until("the note at the hub", 30, || {
        hub_site
            .store
            .get::<CaseFile>(&case_id(&person))
            .unwrap()
            .is_some_and(|c| c.notes.contains_key("n-quic"))
    })
    .await;
    let st = hub.status();
    let g = &st.peers["gw-whk"];
    assert_eq!(
        g.facility.as_deref(),
        Some("WHK"),
        "the facility comes from the certificate"
    );
    assert!(g.online);
    assert!(
        g.refused.iter().any(|r| r.doc == "case/OSH-9"),
        "{:?}",
        g.refused
    );
    assert!(
        hub_site
            .store
            .get::<CaseFile>(&case_id("OSH-9"))
            .unwrap()
            .is_none()
    );
    assert!(
        status
            .borrow()
            .refused
            .iter()
            .any(|r| r.doc == "case/OSH-9")
    );
    // Both sides come to report the level state they saw, in JSON, words and metrics.
    until("level on both sides", 30, || {
        let gw_level = status.borrow().sync.in_sync_at.is_some();
        let hub_level = hub.status().peers["gw-whk"].sync.in_sync_at.is_some();
        gw_level && hub_level
    })
    .await;
    let seen = status.borrow().clone();
    assert!(seen.sync.last_delivered[Class::Records as usize].is_some());
    assert!(
        seen.link
            .is_some_and(|l| l.rtt_ms < 1_000 && l.sent_bytes > 0)
    );
    let stop = CancellationToken::new();
    let source: pathway_shared::status::Source = {
        let rx = status.clone();
        std::sync::Arc::new(move || pathway_shared::status::NodeStatus {
            node: "gw-whk".into(),
            now: pathway_shared::clock::now_ms(),
            peers: [("hub".to_owned(), rx.borrow().clone())].into(),
            ..Default::default()
        })
    };
    let (addr, _) = pathway_shared::status::serve(
        "127.0.0.1:0".parse().unwrap(),
        pathway_shared::status::router(source),
        stop.clone(),
    )
    .await
    .unwrap();
    let words = pathway_tests::http::get(addr, "/status.txt").await;
    assert!(words.contains("hub: online"), "{words}");
    assert!(words.contains("nothing waiting to go"), "{words}");
    let metrics = pathway_tests::http::get(addr, "/metrics").await;
    assert!(
        metrics.contains("pathway_peer_online{peer=\"hub\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("pathway_link_rtt_seconds"), "{metrics}");
    let json = pathway_tests::http::get(addr, "/status").await;
    assert!(json.contains("\"in_sync_at\""), "{json}");
    stop.cancel();
    cancel.cancel();
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreign_expired_and_revoked_gateways_are_refused() {
    let ca = Ca::generate("Pathway test CA").unwrap();
    let foreign_ca = Ca::generate("Somebody else's CA").unwrap();
    let (hub, _hub_site) = start_hub(&ca, vec!["gw-revoked".into()]);
    let cancel = CancellationToken::new();
    let cases = [
        (
            "gw-foreign",
            foreign_ca.issue_gateway("gw-foreign", "WHK", 30).unwrap(),
        ),
        (
            "gw-expired",
            ca.issue_gateway("gw-expired", "WHK", -1).unwrap(),
        ),
        (
            "gw-revoked",
            ca.issue_gateway("gw-revoked", "WHK", 30).unwrap(),
        ),
    ];
    let mut statuses = Vec::new();
    let mut sites = Vec::new();
    for (id, creds) in cases {
        let s = site();
        // The gateway trusts the real CA, so only the hub's check is under test.
        statuses.push((
            id,
            start_gateway(
                &hub,
                &ca.creds.cert_pem,
                id,
                creds,
                s.store.clone(),
                &cancel,
            ),
        ));
        sites.push(s);
    }
    until("three refusals", 30, || {
        hub.status().refused_connections >= 3
    })
    .await;
    // Each gateway has been refused and has tried again: had any attempt got through, it
    // would show by now.
    until("every refused gateway to try twice more", 30, || {
        statuses.iter().all(|(_, st)| st.borrow().attempts >= 3)
    })
    .await;
    for (id, st) in &statuses {
        let st = st.borrow();
        assert!(!st.online, "{id} must never count itself online");
        assert!(
            st.sync.last_contact.is_none(),
            "{id} never heard the hub's hello"
        );
        assert_eq!(st.sync.last_delivered, [None; 3], "{id} delivered nothing");
        assert_eq!(
            st.sync.in_sync_at, None,
            "{id} was never level with the hub"
        );
        assert!(st.attempts >= 1);
        assert!(st.last_error.is_some(), "{id} reports why");
    }
    assert!(
        hub.status().peers.is_empty(),
        "no session began: {:?}",
        hub.status()
    );
    cancel.cancel();
    hub.shutdown().await;
}

fn note(store: &Store, person: &str, id: &str) {
    let n = CaseNote {
        author: "t".into(),
        text: format!("note {id}"),
        ..Default::default()
    };
    let _ =
        store.edit::<CaseFile, _, pathway_shared::store::StoreError>(&case_id(person), 5, |e| {
            e.put(&["notes", id], &n)
        });
}

/// Two facilities and the hub, through the simulator on "vsat-bad" (256 kbit/s, 350 ms one way,
/// 2% loss, a 20 s outage every 60 s), with edits everywhere while the link comes and goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_and_two_gateways_converge_over_vsat_bad() {
    let ca = Ca::generate("Pathway test CA").unwrap();
    let (hub, hub_site) = start_hub(&ca, vec![]);
    let cancel = CancellationToken::new();
    let mut gws = Vec::new();
    for (i, fac) in ["WHK", "OSH"].into_iter().enumerate() {
        let sample = SampleFacility::generate(&SampleConfig {
            seed: i as u64 + 1,
            facility_id: fac.into(),
            cases: 40,
            marks: 400,
            ..SampleConfig::default()
        });
        if i == 0 {
            sample.load_national(&hub_site.store, 1).unwrap();
        } else {
            hub_site.store.put(&sample.facility, 1).unwrap();
        }
        let s = site();
        sample.load_facility(&s.store, 1).unwrap();
        let sim = LinkSim::start(
            Profile::named("vsat-bad").unwrap(),
            hub.local_addr().unwrap(),
            10 + i as u64,
        )
        .await
        .unwrap();
        let id = format!("gw-{fac}");
        let status = start_gateway_via(
            sim.addr,
            &ca.creds.cert_pem,
            &id,
            ca.issue_gateway(&id, fac, 30).unwrap(),
            s.store.clone(),
            &cancel,
        );
        gws.push((fac, s, sample, sim, status));
    }
    let mut rng = fastrand::Rng::with_seed(3);
    for round in 0..10 {
        for (fac, s, sample, _, _) in &gws {
            note(
                &s.store,
                &sample.cases[rng.usize(..sample.cases.len())].person_id,
                &format!("{fac}-{round}"),
            );
            // The hub edits the facility's files too, once they have arrived.
            note(
                &hub_site.store,
                &sample.cases[rng.usize(..sample.cases.len())].person_id,
                &format!("hub-{fac}-{round}"),
            );
        }
        let p = &gws[0].2.programmes[round % 3];
        let _ = hub_site
            .store
            .edit::<Programme, _, pathway_shared::store::StoreError>(&p.doc_id(), 5, |e| {
                e.put(&["description"], &format!("rev {round}"))
            });
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    until("convergence over vsat-bad", 240, || {
        gws.iter()
            .all(|(fac, s, ..)| differences(&hub_site.store, &s.store, fac).is_empty())
    })
    .await;
    for (fac, s, sample, sim, _) in &gws {
        let other = if *fac == "WHK" { "OSH" } else { "WHK" };
        assert!(
            s.store
                .list(&format!("facility:{other}"), Kind::CaseFile)
                .unwrap()
                .is_empty(),
            "{fac} holds only its own scope"
        );
        assert_eq!(
            s.store.list("national", Kind::Programme).unwrap().len(),
            sample.programmes.len()
        );
        eprintln!(
            "{fac}: {} bytes up, {} down at the simulator",
            sim.bytes_up(),
            sim.bytes_down()
        );
    }
    cancel.cancel();
    hub.shutdown().await;
}

/// A gateway with a valid certificate that misbehaves: one sends garbage, one claims an endless
/// frame and stalls, one opens a connection and says nothing. Meanwhile an honest gateway syncs
/// as usual, and the hub names each failure in its status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_gateways_never_stall_an_honest_one() {
    let ca = Ca::generate("Pathway test CA").unwrap();
    let (hub, hub_site) = start_hub(&ca, vec![]);
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 60,
        marks: 600,
        ..SampleConfig::default()
    });
    sample.load_national(&hub_site.store, 1).unwrap();
    let mut hostile = Vec::new();
    for (i, id) in ["gw-garbage", "gw-endless", "gw-silent"]
        .into_iter()
        .enumerate()
    {
        let creds = ca.issue_gateway(id, "OSH", 30).unwrap();
        let ep = pathway_shared::transport::client_endpoint(
            "127.0.0.1:0".parse().unwrap(),
            &ca.creds.cert_pem,
            &creds,
        )
        .unwrap();
        let conn = ep
            .connect(hub.local_addr().unwrap(), HUB_NAME)
            .unwrap()
            .await
            .unwrap();
        match i {
            0 => {
                let mut s = conn.open_uni().await.unwrap();
                s.write_all(&7u32.to_be_bytes()).await.unwrap();
                s.write_all(b"garbage").await.unwrap();
            }
            1 => {
                let mut s = conn.open_uni().await.unwrap();
                // A frame that claims 900 KB and never comes.
                s.write_all(&900_000u32.to_be_bytes()).await.unwrap();
                s.write_all(&[b'P'; 1_000]).await.unwrap();
            }
            _ => {}
        }
        hostile.push((ep, conn));
    }
    let gw = site();
    sample.load_facility(&gw.store, 1).unwrap();
    let cancel = CancellationToken::new();
    let status = start_gateway(
        &hub,
        &ca.creds.cert_pem,
        "gw-whk",
        ca.issue_gateway("gw-whk", "WHK", 30).unwrap(),
        gw.store.clone(),
        &cancel,
    );
    until("the honest gateway converges", 60, || {
        differences(&hub_site.store, &gw.store, "WHK").is_empty() && status.borrow().online
    })
    .await;
    let garbage = hub.status().peers["gw-garbage"].clone();
    assert!(!garbage.online);
    assert!(
        garbage
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("bad frame")),
        "{garbage:?}"
    );
    assert!(hub.status().peers["gw-endless"].sync.last_delivered == [None; 3]);
    drop(hostile);
    cancel.cancel();
    hub.shutdown().await;
}
