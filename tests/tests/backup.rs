//! `pathway backup` while staff write, `kill -9`, a lost disk, `pathway restore`, sync: every
//! acknowledged note is at the hub and back at the gateway, the restored store writes as a new
//! node, and what it writes after the restore reaches the hub.

use std::ffi::OsStr;
use std::time::{Duration, Instant};

use pathway_hub::{Hub, HubConfig};
use pathway_shared::clock::now_ms;
use pathway_shared::identity::Ca;
use pathway_shared::model::{CaseFile, Role, case_id};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::https::Client;
use pathway_tests::sample::{DEMO_PASSWORD, SampleConfig, SampleFacility};
use pathway_tests::{gateway_config, run_pathway, until};
use serde_json::{Value, json};

const HUB_NAME: &str = "hub.pathway.test";

async fn lan(addr: std::net::SocketAddr, ca: &str, user: &str) -> (Client, String) {
    let tls = pathway_tests::https::connector(ca).unwrap();
    let start = Instant::now();
    let mut c = loop {
        match Client::connect(addr, "127.0.0.1".parse().unwrap(), &tls).await {
            Ok(c) => break c,
            Err(_) if start.elapsed() < Duration::from_secs(20) => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(e) => panic!("the gateway never answered on {addr}: {e}"),
        }
    };
    let body = json!({"username": user, "password": DEMO_PASSWORD}).to_string();
    // A restored or rebuilt gateway asks staff to wait (503) until it has caught up.
    let (s, b) = loop {
        let (s, b) = c.send("POST", "/api/login", "", &body).await.unwrap();
        if s != 503 || start.elapsed() > Duration::from_secs(60) {
            break (s, b);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(s, 200, "{b}");
    let v: Value = serde_json::from_str(&b).unwrap();
    (c, v["token"].as_str().unwrap().to_owned())
}

fn notes_with(file: &CaseFile, mark: &str) -> usize {
    file.notes
        .values()
        .filter(|n| n.text.starts_with(mark))
        .count()
}

/// Waits until the gateway's LAN service shows `n` notes starting with `mark` on `person`.
async fn held_at_gateway(c: &mut Client, token: &str, person: &str, mark: &str, n: usize) {
    let start = Instant::now();
    loop {
        let (s, b) = c
            .send("GET", &format!("/api/cases/{person}"), token, "")
            .await
            .unwrap();
        assert_eq!(s, 200, "{b}");
        let v: Value = serde_json::from_str(&b).unwrap();
        let got = v["notes"]
            .as_object()
            .unwrap()
            .values()
            .filter(|x| x["text"].as_str().unwrap_or("").starts_with(mark))
            .count();
        if got == n {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the gateway holds {got} of {n} {mark} notes"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The facility's audit chain as the hub holds it: whole, with no entry written twice.
fn audit_intact(hub: &Store) {
    let mut blocks = Vec::new();
    for id in hub
        .list("facility:WHK", pathway_shared::model::Kind::AuditLog)
        .unwrap()
    {
        blocks.push(
            hub.get::<pathway_shared::model::AuditBlock>(&id)
                .unwrap()
                .unwrap(),
        );
    }
    blocks.sort_by_key(|b| b.block);
    let checked = pathway_shared::model::verify_chain(&blocks)
        .unwrap_or_else(|b| panic!("the audit chain breaks at {}: {}", b.seq, b.what));
    assert!(checked > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_staff_write_restores_a_gateway_that_lost_its_disk() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 20,
        marks: 100,
        today: time::OffsetDateTime::now_utc().date(),
        ..SampleConfig::default()
    });
    let ca = Ca::generate("Pathway test CA").unwrap();
    let hub_store = Store::open(d.join("hub"), StoreOptions::default()).unwrap();
    sample.load_national(&hub_store, now_ms()).unwrap();
    let hub = Hub::bind(
        HubConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ca_pem: ca.creds.cert_pem.clone(),
            creds: ca.issue_hub(HUB_NAME).unwrap(),
            revoked: vec![],
            max_gateways: 4,
        },
        hub_store.clone(),
    )
    .unwrap();
    let g = d.join("gw");
    std::fs::create_dir_all(&g).unwrap();
    let old_actor = {
        let store = Store::open(g.join("data"), StoreOptions::keyed(g.join("store.key"))).unwrap();
        sample.load_facility(&store, now_ms()).unwrap();
        store.actor().to_hex_string()
    };
    let lan_port = pathway_tests::free_tcp_port();
    let status_port = pathway_tests::free_tcp_port();
    let config = gateway_config(
        &g,
        &ca,
        ("gw-whk", "WHK"),
        format!("127.0.0.1:{lan_port}").parse().unwrap(),
        (hub.local_addr().unwrap(), HUB_NAME),
    )
    .unwrap();
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "status_listen = \"\"",
        &format!("status_listen = \"127.0.0.1:{status_port}\""),
    );
    std::fs::write(&config, text).unwrap();
    let start_gateway = || pathway_tests::spawn_gateway(&config);
    let mut gw = start_gateway();
    let lan_addr = format!("127.0.0.1:{lan_port}").parse().unwrap();
    let officer = sample
        .staff
        .iter()
        .find(|s| s.roles.contains(&Role::CaseOfficer))
        .unwrap()
        .username
        .clone();
    let (mut c, token) = lan(lan_addr, &ca.creds.cert_pem, &officer).await;
    let person = sample.cases[0].person_id.clone();
    let path = format!("/api/cases/{person}/notes");

    // Staff write notes; a backup is taken halfway.
    let backup = d.join("gw.pathway-backup");
    let mut acked = 0;
    let mut backup_taken = None;
    for i in 0..60 {
        let body = json!({"text": format!("bk-{i}: attended the job club")}).to_string();
        let (s, b) = c.send("POST", &path, &token, &body).await.unwrap();
        assert_eq!(s, 201, "{b}");
        acked += 1;
        if i == 30 {
            let (cfg, out) = (config.clone(), backup.clone());
            let (ok, said) = tokio::task::spawn_blocking(move || {
                run_pathway(
                    &[
                        OsStr::new("backup"),
                        OsStr::new("--config"),
                        cfg.as_os_str(),
                        OsStr::new("--out"),
                        out.as_os_str(),
                    ],
                    &[],
                )
            })
            .await
            .unwrap();
            assert!(ok, "{said}");
            backup_taken = Some(acked);
        }
    }
    let id = case_id(&person);
    until("every acknowledged note at the hub", 60, || {
        hub_store
            .get::<CaseFile>(&id)
            .unwrap()
            .is_some_and(|f| notes_with(&f, "bk-") == acked)
    })
    .await;

    // The box dies and its disk with it.
    drop(c);
    gw.kill().unwrap();
    gw.wait().unwrap();
    // With the wrong key file in the configuration, the backup is refused before anything is
    // touched: the store stays where it is, and the advice is the way back.
    let key = g.join("store.key");
    let kept_key = g.join("store.key.kept");
    std::fs::rename(&key, &kept_key).unwrap();
    std::fs::write(&key, format!("{}\n", "ab".repeat(32))).unwrap();
    let (ok, said) = run_pathway(
        &[
            OsStr::new("restore"),
            OsStr::new("--config"),
            config.as_os_str(),
            OsStr::new("--from"),
            backup.as_os_str(),
            OsStr::new("--replace"),
        ],
        &[],
    );
    assert!(!ok && said.contains("does not open it"), "{said}");
    assert!(
        g.join("data").read_dir().unwrap().next().is_some(),
        "the store stays in place"
    );
    std::fs::rename(&kept_key, &key).unwrap();
    std::fs::remove_dir_all(g.join("data")).unwrap();
    let (ok, said) = run_pathway(
        &[
            OsStr::new("restore"),
            OsStr::new("--config"),
            config.as_os_str(),
            OsStr::new("--from"),
            backup.as_os_str(),
        ],
        &[],
    );
    assert!(ok, "{said}");
    assert!(said.contains("new node"), "{said}");
    {
        let store = Store::open(g.join("data"), StoreOptions::keyed(g.join("store.key"))).unwrap();
        assert_ne!(
            store.actor().to_hex_string(),
            old_actor,
            "a restored store writes as a new node"
        );
        let restored: CaseFile = store.get(&id).unwrap().unwrap();
        let held = notes_with(&restored, "bk-");
        assert!(
            held >= backup_taken.unwrap() && held < acked,
            "the backup holds the notes up to it: {held}"
        );
    }

    // Back in service: the rest comes back from the hub, and new notes reach it.
    let mut gw = start_gateway();
    let (mut c, token) = lan(lan_addr, &ca.creds.cert_pem, &officer).await;
    let (s, b) = c
        .send(
            "POST",
            &path,
            &token,
            &json!({"text": "after-restore: all well"}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(s, 201, "{b}");
    until("the note written after the restore at the hub", 60, || {
        hub_store
            .get::<CaseFile>(&id)
            .unwrap()
            .is_some_and(|f| notes_with(&f, "after-restore") == 1)
    })
    .await;
    held_at_gateway(&mut c, &token, &person, "bk-", acked).await;
    audit_intact(&hub_store);

    // The disk dies again, with no backup this time: the store is rebuilt from the hub.
    drop(c);
    gw.kill().unwrap();
    gw.wait().unwrap();
    std::fs::remove_dir_all(g.join("data")).unwrap();
    let (ok, said) = run_pathway(
        &[
            OsStr::new("rebuild"),
            OsStr::new("--config"),
            config.as_os_str(),
        ],
        &[],
    );
    assert!(ok && said.contains("An empty store is ready"), "{said}");
    let mut gw = start_gateway();
    let (mut c, token) = lan(lan_addr, &ca.creds.cert_pem, &officer).await;
    held_at_gateway(&mut c, &token, &person, "bk-", acked).await;
    held_at_gateway(&mut c, &token, &person, "after-restore", 1).await;
    let (s, b) = c
        .send(
            "POST",
            &path,
            &token,
            &json!({"text": "after-rebuild: fine"}).to_string(),
        )
        .await
        .unwrap();
    assert_eq!(s, 201, "{b}");
    until("the note written after the rebuild at the hub", 60, || {
        hub_store
            .get::<CaseFile>(&id)
            .unwrap()
            .is_some_and(|f| notes_with(&f, "after-rebuild") == 1)
    })
    .await;
    audit_intact(&hub_store);
    let _ = gw.kill();
    let _ = gw.wait();
    hub.shutdown().await;
}
