//! A transfer end to end between two real gateways and a real hub over QUIC with mutual TLS: a
//! facility manager at Windhoek records a transfer out on the LAN service; the hub moves the
//! case file; Oluno receives its whole history; Windhoek keeps a stub and an audit entry. Then a
//! national administrator moves another person while the hub is cut off from Windhoek, whose
//! staff go on writing a note: after the hub restarts the note merges at Oluno and lands in the
//! review queue, which is still there after another restart from disk.

use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::clock::now_ms;
use pathway_shared::identity::Ca;
use pathway_shared::model::{AuditBlock, CaseFile, Kind, Role, case_id};
use pathway_shared::store::{ReviewReason, Store, StoreOptions};
use pathway_shared::sync::move_case;
use pathway_tests::https::Client;
use pathway_tests::sample::{DEMO_PASSWORD, SampleConfig, SampleFacility};
use pathway_tests::{gateway_config, until};
use serde_json::{Value, json};

const HUB_NAME: &str = "hub.pathway.test";

async fn call(c: &mut Client, method: &str, path: &str, token: &str, body: Value) -> (u16, Value) {
    let (s, b) = c
        .send(method, path, token, &body.to_string())
        .await
        .unwrap();
    (s, serde_json::from_str(&b).unwrap_or(Value::Null))
}

fn audit_actions(store: &Store, facility: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for id in store
        .list(&format!("facility:{facility}"), Kind::AuditLog)
        .unwrap()
    {
        let b: AuditBlock = store.get(&id).unwrap().unwrap();
        out.extend(b.entries.into_values().map(|e| (e.action, e.target)));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_moves_the_file_between_real_gateways_and_late_edits_wait_for_review() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let today = time::OffsetDateTime::now_utc().date();
    let sample = |fac: &str, name: &str, seed: u64| {
        SampleFacility::generate(&SampleConfig {
            seed,
            facility_id: fac.into(),
            facility_name: name.into(),
            cases: 30,
            marks: 100,
            today,
            ..SampleConfig::default()
        })
    };
    let (whk, osh) = (
        sample("WHK", "Windhoek Correctional Facility", 1),
        sample("OSH", "Oluno Correctional Facility", 2),
    );
    let ca = Ca::generate("Pathway test CA").unwrap();
    let hub_creds = ca.issue_hub(HUB_NAME).unwrap();
    let hub_store = Store::open(d.join("hub"), StoreOptions::keyed(d.join("hub.key"))).unwrap();
    whk.load_national(&hub_store, now_ms()).unwrap();
    hub_store.put(&osh.facility, now_ms()).unwrap();
    let hub = pathway_tests::bind_hub("127.0.0.1:0".parse().unwrap(), &ca, &hub_creds, &hub_store);
    let hub_addr = hub.local_addr().unwrap();

    let mut gateways = Vec::new();
    for (s, gw) in [(&whk, "gw-whk"), (&osh, "gw-osh")] {
        let g = d.join(gw);
        std::fs::create_dir_all(&g).unwrap();
        {
            let store =
                Store::open(g.join("data"), StoreOptions::keyed(g.join("store.key"))).unwrap();
            s.load_facility(&store, now_ms()).unwrap();
        }
        let fac = s.facility.id.as_str();
        let path = gateway_config(
            &g,
            &ca,
            (gw, fac),
            "127.0.0.1:0".parse().unwrap(),
            (hub_addr, HUB_NAME),
        )
        .unwrap();
        gateways.push(Gateway::start(&GatewayConfig::load(&path).unwrap()).unwrap());
    }
    let (a, b) = (&gateways[0], &gateways[1]);
    let (p1, p2) = (
        whk.cases[4].person_id.clone(),
        whk.cases[5].person_id.clone(),
    );
    until("WHK's first sync", 60, || {
        hub_store.meta(&case_id(&p2)).unwrap().is_some()
    })
    .await;

    // A facility manager at Windhoek records the transfer out.
    let manager = whk
        .staff
        .iter()
        .find(|s| s.roles.contains(&Role::FacilityManager))
        .unwrap();
    let tls = pathway_tests::https::connector(&ca.creds.cert_pem).unwrap();
    let mut lan = Client::connect(a.lan_addr.unwrap(), "127.0.0.1".parse().unwrap(), &tls)
        .await
        .unwrap();
    let (s, v) = call(
        &mut lan,
        "POST",
        "/api/login",
        "",
        json!({"username": manager.username, "password": DEMO_PASSWORD}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    let (s, v) = call(
        &mut lan,
        "POST",
        &format!("/api/cases/{p1}/transfer-out"),
        &token,
        json!({"to_facility": "OSH", "reason": "closer to family"}),
    )
    .await;
    assert_eq!(s, 201, "{v}");

    let id1 = case_id(&p1);
    until("the file reaching Oluno", 60, || {
        b.store
            .get::<CaseFile>(&id1)
            .unwrap()
            .is_some_and(|f| f.holding_facility == "OSH")
    })
    .await;
    until("Windhoek dropping its copy", 60, || {
        a.store.stub(&id1).unwrap().is_some()
    })
    .await;
    let at_hub = hub_store.read(&id1, |d, _| d.get_heads()).unwrap().unwrap();
    until("Oluno holding the whole history", 30, || {
        b.store.read(&id1, |d, _| d.get_heads()).unwrap().unwrap() == at_hub
    })
    .await;
    let moved: CaseFile = b.store.get(&id1).unwrap().unwrap();
    assert_eq!(
        moved.given_name, whk.cases[4].given_name,
        "the person arrives by name"
    );
    assert_eq!(
        moved.notes.len(),
        whk.cases[4].notes.len(),
        "with every note"
    );
    assert!(moved.transfers.values().all(|t| t.moved_at.is_some()));
    assert!(a.store.get::<CaseFile>(&id1).unwrap().is_none());
    let stub = a.store.stub(&id1).unwrap().unwrap();
    assert_eq!(
        (stub.moved_to.as_str(), stub.by.as_str()),
        ("facility:OSH", manager.username.as_str())
    );
    until("the move in Windhoek's audit trail", 10, || {
        audit_actions(&a.store, "WHK")
            .iter()
            .any(|(act, t)| act == "case_moved_away" && *t == id1.to_string())
    })
    .await;

    // The hub is cut off; a national administrator moves another person meanwhile, and
    // Windhoek's staff, not knowing, write a note about them.
    hub.shutdown().await;
    move_case(
        &hub_store,
        &p2,
        "OSH",
        ("admin.national", "court order"),
        "tr-2",
        now_ms(),
    )
    .unwrap();
    let (s, v) = call(
        &mut lan,
        "POST",
        &format!("/api/cases/{p2}/notes"),
        &token,
        json!({"text": "Asked about the carpentry course."}),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    let hub = pathway_tests::bind_hub(hub_addr, &ca, &hub_creds, &hub_store);
    let id2 = case_id(&p2);
    until("the late note reaching the review queue", 90, || {
        hub_store
            .reviews()
            .unwrap()
            .iter()
            .any(|r| r.doc == id2.to_string() && r.reason == ReviewReason::EditAfterMove)
    })
    .await;
    until("the late note merged at Oluno", 60, || {
        b.store
            .get::<CaseFile>(&id2)
            .unwrap()
            .is_some_and(|f| f.notes.values().any(|n| n.text.contains("carpentry")))
    })
    .await;
    until("Windhoek dropping the second file", 60, || {
        a.store.stub(&id2).unwrap().is_some()
    })
    .await;

    // The queue is kept on disk: it is there after the hub restarts from its files.
    drop(lan);
    for g in gateways {
        g.shutdown().await;
    }
    hub.shutdown().await;
    drop(hub_store);
    // The stopped hub's last tasks let go of the store's lock a moment later.
    let start = std::time::Instant::now();
    let reopened = loop {
        match Store::open(d.join("hub"), StoreOptions::keyed(d.join("hub.key"))) {
            Err(pathway_shared::store::StoreError::InUse { .. })
                if start.elapsed() < std::time::Duration::from_secs(10) =>
            {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await
            }
            other => break other.unwrap(),
        }
    };
    let queue = reopened.reviews().unwrap();
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(
        (queue[0].facility.as_str(), queue[0].reviewed.is_none()),
        ("WHK", true)
    );
}
