//! Revocation as a national document, with real gateways and a real hub over QUIC: revoking a
//! gateway cuts its live session at once and every reconnect is refused, across a hub restart;
//! the list reaches the other gateways; what the revoked box writes afterwards never reaches
//! the hub.

use std::time::{Duration, Instant};

use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::clock::now_ms;
use pathway_shared::identity::Ca;
use pathway_shared::model::{CaseFile, CaseNote, RevocationList, case_id, revocations_id};
use pathway_shared::store::{Store, StoreError, StoreOptions};
use pathway_tests::sample::{SampleConfig, SampleFacility};
use pathway_tests::{gateway_config, until};

const HUB_NAME: &str = "hub.pathway.test";

fn online(g: &Gateway) -> bool {
    (g.status_source())()
        .peers
        .get("hub")
        .is_some_and(|p| p.online)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_gateway_is_cut_off_at_once_and_refused_from_then_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let today = time::OffsetDateTime::now_utc().date();
    let sample = |fac: &str, seed: u64| {
        SampleFacility::generate(&SampleConfig {
            seed,
            facility_id: fac.into(),
            cases: 10,
            marks: 50,
            today,
            ..SampleConfig::default()
        })
    };
    let (whk, osh) = (sample("WHK", 1), sample("OSH", 2));
    let ca = Ca::generate("Pathway test CA").unwrap();
    let creds = ca.issue_hub(HUB_NAME).unwrap();
    let hub_store = Store::open(d.join("hub"), StoreOptions::default()).unwrap();
    whk.load_national(&hub_store, now_ms()).unwrap();
    hub_store.put(&osh.facility, now_ms()).unwrap();
    let hub = pathway_tests::bind_hub("127.0.0.1:0".parse().unwrap(), &ca, &creds, &hub_store);
    let addr = hub.local_addr().unwrap();
    let mut gws = Vec::new();
    for (s, id) in [(&whk, "gw-whk"), (&osh, "gw-osh")] {
        let g = d.join(id);
        std::fs::create_dir_all(&g).unwrap();
        {
            let store =
                Store::open(g.join("data"), StoreOptions::keyed(g.join("store.key"))).unwrap();
            s.load_facility(&store, now_ms()).unwrap();
        }
        let path = gateway_config(
            &g,
            &ca,
            (id, &s.facility.id),
            "127.0.0.1:0".parse().unwrap(),
            (addr, HUB_NAME),
        )
        .unwrap();
        gws.push(Gateway::start(&GatewayConfig::load(&path).unwrap()).unwrap());
    }
    until("both gateways online", 30, || gws.iter().all(online)).await;

    // A national administrator revokes the Windhoek box with `pathway revoke`.
    pathway_hub::admin::add_admin(
        &hub_store,
        "admin.national",
        "Selma",
        pathway_hub::admin::AdminRole::NationalAdmin,
        "national admin password",
    )
    .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let tls =
        pathway_shared::identity::lan_server_tls(&ca.issue_hub("localhost").unwrap()).unwrap();
    let admin = pathway_hub::admin::Admin::new(
        hub_store.clone(),
        (hub.status_source(), hub.live_sessions()),
        pathway_shared::clock::Clock::system(),
    );
    let (admin_addr, _) = pathway_hub::admin::serve_https(
        "127.0.0.1:0".parse().unwrap(),
        pathway_hub::admin::RustlsConfig::from_config(std::sync::Arc::new(tls)),
        pathway_hub::admin::router(admin),
        stop.clone(),
    )
    .unwrap();
    let ca_file = d.join("ca.pem");
    std::fs::write(&ca_file, &ca.creds.cert_pem).unwrap();
    let before = hub.status().refused_connections;
    let revoked_at = Instant::now();
    let hub_arg = format!("localhost:{}", admin_addr.port());
    let ca_arg = ca_file.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        pathway_tests::run_pathway(
            &[
                "revoke".as_ref(),
                "gw-whk".as_ref(),
                "--reason".as_ref(),
                "the box was stolen".as_ref(),
                "--hub".as_ref(),
                hub_arg.as_ref(),
                "--ca".as_ref(),
                ca_arg.as_os_str(),
                "--user".as_ref(),
                "admin.national".as_ref(),
            ],
            &[("PATHWAY_ADMIN_PASSWORD", "national admin password")],
        )
    })
    .await
    .unwrap();
    assert!(ok && out.contains("gw-whk is revoked"), "{out}");
    until("the revoked gateway's session cut", 5, || !online(&gws[0])).await;
    let cut = revoked_at.elapsed();
    until("its reconnect refused", 10, || {
        let s = hub.status();
        s.refused_connections > before
            && s.last_refusal
                .as_deref()
                .is_some_and(|r| r.contains("gw-whk is revoked"))
    })
    .await;
    println!(
        "session cut {cut:?} after the revocation; reconnect refused {:?} after it",
        revoked_at.elapsed()
    );
    // The list reaches the other gateway; the honest one stays online.
    until("the list reaching Oluno", 30, || {
        gws[1]
            .store
            .get::<RevocationList>(&revocations_id())
            .unwrap()
            .is_some_and(|l| l.revoked.contains_key("gw-whk"))
    })
    .await;
    assert!(online(&gws[1]));

    // What the revoked box writes never reaches the hub, before or after a hub restart.
    let person = &whk.cases[0].person_id;
    let note = CaseNote {
        author: "thief".into(),
        at: now_ms(),
        text: "written after the revocation".into(),
        ..Default::default()
    };
    gws[0]
        .store
        .edit::<CaseFile, _, StoreError>(&case_id(person), now_ms(), |e| {
            e.put(&["notes", "stolen-box"], &note)
        })
        .unwrap();
    hub.shutdown().await;
    let hub = pathway_tests::bind_hub(addr, &ca, &creds, &hub_store);
    until("a refusal after the restart", 15, || {
        hub.status()
            .last_refusal
            .as_deref()
            .is_some_and(|r| r.contains("gw-whk is revoked"))
    })
    .await;
    until("Oluno back online", 30, || online(&gws[1])).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let at_hub: CaseFile = hub_store.get(&case_id(person)).unwrap().unwrap();
    assert!(
        !at_hub.notes.contains_key("stolen-box"),
        "nothing from the revoked box merged"
    );
    assert!(!online(&gws[0]));
    stop.cancel();
    for g in gws {
        g.shutdown().await;
    }
    hub.shutdown().await;
}

/// `pathway doctor` on the gateway configured at `path`: whether it passed, and what it said.
async fn doctor(path: &std::path::Path) -> (bool, String) {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        pathway_tests::run_pathway(
            &["doctor".as_ref(), "--config".as_ref(), path.as_os_str()],
            &[],
        )
    })
    .await
    .unwrap()
}

fn hub_online(hub: &pathway_hub::Hub, gw: &str) -> bool {
    hub.status().peers.get(gw).is_some_and(|p| p.online)
}

/// A second connection made with a gateway's certificate (what a gateway that restarted after
/// `kill -9` makes while the hub still holds the old one, or what `pathway doctor` makes to
/// check the hub) neither hides the live session from the hub's status when it ends, nor
/// shields it from a revocation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_connection_neither_hides_the_live_session_nor_shields_it_from_revocation() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let creds = ca.issue_hub(HUB_NAME).unwrap();
    let hub_store = Store::open(d.join("hub"), StoreOptions::default()).unwrap();
    let hub = pathway_tests::bind_hub("127.0.0.1:0".parse().unwrap(), &ca, &creds, &hub_store);
    let addr = hub.local_addr().unwrap();
    let path = gateway_config(
        d,
        &ca,
        ("gw-whk", "WHK"),
        "127.0.0.1:0".parse().unwrap(),
        (addr, HUB_NAME),
    )
    .unwrap();
    let cfg = GatewayConfig::load(&path).unwrap();
    let gw = Gateway::start(&cfg).unwrap();
    until("the gateway online", 30, || {
        online(&gw) && hub_online(&hub, "gw-whk")
    })
    .await;

    // `pathway doctor` checks the hub with the gateway's own certificate.
    let attempts = hub.status().peers["gw-whk"].attempts;
    let (_, said) = doctor(&path).await;
    assert!(
        said.lines()
            .any(|l| l.starts_with("ok   hub") && l.contains("reached")),
        "{said}"
    );
    let peer = hub.status().peers["gw-whk"].clone();
    assert!(
        peer.online,
        "the doctor's check took the gateway offline at the hub"
    );
    assert_eq!(
        peer.attempts, attempts,
        "the doctor's check counted as a session"
    );
    assert!(peer.sync.last_contact.is_some());

    // A connection that speaks sync, as a restarted gateway's does, then goes.
    let ca_pem = std::fs::read_to_string(&cfg.tls.ca).unwrap();
    let own = pathway_shared::identity::Credentials {
        cert_pem: std::fs::read_to_string(&cfg.tls.cert).unwrap(),
        key_pem: std::fs::read_to_string(&cfg.tls.key).unwrap(),
    };
    let ep =
        pathway_shared::transport::client_endpoint("127.0.0.1:0".parse().unwrap(), &ca_pem, &own)
            .unwrap();
    let other = ep.connect(addr, HUB_NAME).unwrap().await.unwrap();
    until("the hub taking the newer connection", 10, || {
        hub.status().peers["gw-whk"].attempts > attempts
    })
    .await;
    other.close(0u32.into(), b"gone");
    ep.wait_idle().await;
    until("the gateway in session again", 30, || {
        online(&gw) && hub_online(&hub, "gw-whk")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        hub_online(&hub, "gw-whk"),
        "the end of the other connection took the live session out of the hub's status"
    );

    // Revoking still cuts the live session at once.
    pathway_hub::revoke::revoke(
        &hub_store,
        &hub.live_sessions(),
        "gw-whk",
        ("admin.national", "box stolen"),
        now_ms(),
    )
    .unwrap();
    until("the revoked gateway's session cut", 5, || !online(&gw)).await;
    assert!(
        !hub_online(&hub, "gw-whk"),
        "the hub still shows the revoked session"
    );
    // doctor at the revoked box says so.
    let (ok, said) = doctor(&path).await;
    assert!(
        !ok && said
            .lines()
            .any(|l| l.starts_with("FAIL hub") && l.contains("national revocation list")),
        "{said}"
    );
    gw.shutdown().await;
    hub.shutdown().await;
}
