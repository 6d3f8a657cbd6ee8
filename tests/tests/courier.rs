//! Courier files, with real stores and real certificates: a gateway that never had a link
//! exports its changes, the hub imports them (twice: the second changes nothing), the receipt
//! moves the gateway's cursors, and the link that comes later sends none of it again. Edited,
//! cut, misdirected and foreign files are refused and store nothing.

use pathway_shared::courier::{self, CourierError, HubEnd, HubSelf};
use pathway_shared::identity::{Ca, Credentials};
use pathway_shared::model::*;
use pathway_shared::store::{ReviewReason, StoreError};
use pathway_shared::sync::SyncConfig;
use pathway_tests::harness::{LinkProfile, Net};
use pathway_tests::sample::{SampleConfig, SampleFacility};

const HUB_NAME: &str = "hub.pathway.test";

struct Keys {
    ca: Ca,
    hub: Credentials,
    gw: Credentials,
}

fn keys() -> Keys {
    let ca = Ca::generate("Pathway test CA").unwrap();
    Keys {
        hub: ca.issue_hub(HUB_NAME).unwrap(),
        gw: ca.issue_gateway("gw-WHK", "WHK", 30).unwrap(),
        ca,
    }
}

fn hub_end(k: &Keys) -> HubEnd<'_> {
    HubEnd {
        node: "hub",
        name: HUB_NAME,
        cert_pem: &k.hub.cert_pem,
    }
}

fn hub_self(k: &Keys) -> HubSelf<'_> {
    HubSelf {
        node: "hub",
        ca_pem: &k.ca.creds.cert_pem,
        creds: &k.hub,
    }
}

fn network() -> (Net, SampleFacility) {
    let net = Net::new(7, &["WHK"], LinkProfile::default(), SyncConfig::default());
    let s = SampleFacility::generate(&SampleConfig {
        seed: 7,
        facility_id: "WHK".into(),
        cases: 30,
        marks: 200,
        ..SampleConfig::default()
    });
    s.load_national(&net.hub.store, 1).unwrap();
    s.load_facility(&net.gateways[0].0.store, 1).unwrap();
    (net, s)
}

fn note(store: &pathway_shared::store::Store, person: &str, id: &str, now: Millis) {
    let n = CaseNote {
        author: "t".into(),
        at: now,
        text: format!("note {id}"),
        ..Default::default()
    };
    store
        .edit::<CaseFile, _, StoreError>(&case_id(person), now, |e| e.put(&["notes", id], &n))
        .unwrap();
}

#[test]
fn a_courier_round_trip_carries_everything_once() {
    let k = keys();
    let (mut net, s) = network();
    let gw = net.gateways[0].0.store.clone();
    let hub = net.hub.store.clone();
    let person = s.cases[0].person_id.clone();
    note(&gw, &person, "by-hand", 5);

    let (file, summary) =
        courier::export(&gw, ("gw-WHK", &k.gw), &hub_end(&k), "Officer Nangolo", 10).unwrap();
    assert!(summary.changes > 100, "carried {} changes", summary.changes);
    eprintln!(
        "courier file: {} changes in {} KiB",
        summary.changes,
        file.len() >> 10
    );

    let admit_all = |_: &pathway_shared::identity::GatewayIdentity| Ok(());
    let first = courier::import(&hub, &hub_self(&k), &file, "admin", admit_all, 20).unwrap();
    assert!(!first.again);
    assert_eq!(first.gateway.facility, "WHK");
    assert_eq!(first.receipt_body.taken.changes, summary.changes);
    assert!(first.receipt_body.taken.refused.is_empty());
    let held = |store: &pathway_shared::store::Store| store.durable_seq();
    let hub_seq = held(&hub);
    assert!(
        hub.get::<CaseFile>(&case_id(&person))
            .unwrap()
            .unwrap()
            .notes
            .contains_key("by-hand"),
        "the note carried by hand is at the hub"
    );
    // The review queue says who carried it.
    let item = hub
        .reviews()
        .unwrap()
        .into_iter()
        .find(|i| i.reason == ReviewReason::CarriedByHand)
        .expect("the courier file is listed for review");
    assert!(item.detail.contains("Officer Nangolo"), "{}", item.detail);

    // Imported again: nothing changes, the same receipt comes back.
    let again = courier::import(&hub, &hub_self(&k), &file, "admin", admit_all, 30).unwrap();
    assert!(again.again);
    assert_eq!(again.receipt, first.receipt);
    assert_eq!(held(&hub), hub_seq, "a second import wrote nothing");

    // The receipt, carried back.
    let carried_to = {
        let taken = courier::take_receipt(
            &gw,
            ("gw-WHK", &k.gw, &k.ca.creds.cert_pem),
            &hub_end(&k),
            &first.receipt,
            40,
        )
        .unwrap();
        assert!(!taken.again);
        assert_eq!(taken.imported_by, "admin");
        // The hub's changes came back on the receipt: the national catalogue is here now.
        assert!(
            taken.back.as_ref().is_ok_and(|n| *n > 0),
            "{:?}",
            taken.back
        );
        taken.cursors
    };
    assert!(carried_to.iter().any(|c| *c > 0));
    assert_eq!(
        gw.list("national", Kind::Programme).unwrap().len(),
        s.programmes.len(),
        "the catalogue came back on the receipt"
    );

    // Then a link: one new note goes, and nothing carried goes again either way.
    note(&gw, &person, "after", 50);
    net.connect(0);
    net.run_until_quiet(net.now + 10 * 60_000);
    let (gw_stats, hub_stats) = net.stats(0).unwrap();
    assert_eq!(
        gw_stats.changes_sent, 1,
        "only the note made after the export crossed the link"
    );
    assert_eq!(
        hub_stats.changes_sent, 0,
        "nothing the receipt carried back crossed the link again"
    );
    assert!(net.differences(0).is_empty(), "{:?}", net.differences(0));
}

/// With no link ever, the hub's changes travel on receipts and the gateway's next file
/// acknowledges them: each later receipt carries only what is new at the hub.
#[test]
fn the_hubs_changes_come_back_on_receipts_and_are_acknowledged() {
    let k = keys();
    let (net, s) = network();
    let gw = net.gateways[0].0.store.clone();
    let hub = net.hub.store.clone();
    let person = s.cases[0].person_id.clone();
    let admit_all = |_: &pathway_shared::identity::GatewayIdentity| Ok(());
    let round = |id: &str, t: Millis| {
        note(&gw, &person, id, t);
        let (file, _) = courier::export(
            &gw,
            ("gw-WHK", &k.gw),
            &hub_end(&k),
            "Officer Nangolo",
            t + 1,
        )
        .unwrap();
        let done = courier::import(&hub, &hub_self(&k), &file, "admin", admit_all, t + 2).unwrap();
        let took = courier::take_receipt(
            &gw,
            ("gw-WHK", &k.gw, &k.ca.creds.cert_pem),
            &hub_end(&k),
            &done.receipt,
            t + 3,
        )
        .unwrap();
        (done.receipt_body.back_changes, took.back.unwrap())
    };
    let (sent, applied) = round("one", 10);
    assert!(sent > 0 && applied > 0, "{sent} {applied}");
    // The second file acknowledges the first receipt's changes: nothing comes back again.
    let (sent, _) = round("two", 20);
    assert_eq!(sent, 0, "the first receipt's changes were acknowledged");
    // A change made at the hub afterwards comes back on the next receipt, alone.
    let mut p = s.programmes[0].clone();
    p.title = "Adult literacy, level 1 (revised)".into();
    hub.put(&p, 25).unwrap();
    let (sent, applied) = round("three", 30);
    assert_eq!((sent, applied), (1, 1));
    assert_eq!(
        gw.get::<Programme>(&p.doc_id()).unwrap().unwrap().title,
        p.title
    );
    assert!(
        net.differences(0).is_empty(),
        "hub and gateway agree without a link: {:?}",
        net.differences(0)
    );
}

#[test]
fn bad_courier_files_are_refused_and_store_nothing() {
    let k = keys();
    let (net, s) = network();
    let gw = net.gateways[0].0.store.clone();
    let hub = net.hub.store.clone();
    note(&gw, &s.cases[0].person_id, "x", 5);
    let (file, _) = courier::export(&gw, ("gw-WHK", &k.gw), &hub_end(&k), "carrier", 10).unwrap();
    let admit_all = |_: &pathway_shared::identity::GatewayIdentity| Ok(());
    let before = hub.durable_seq();
    let import = |bytes: &[u8]| courier::import(&hub, &hub_self(&k), bytes, "admin", admit_all, 20);

    // Edited in the middle, and at the end.
    for at in [file.len() / 2, file.len() - 10] {
        let mut edited = file.clone();
        edited[at] ^= 0x20;
        let e = import(&edited).unwrap_err();
        assert!(
            matches!(e, CourierError::Signature | CourierError::Damaged(_)),
            "edited at {at}: {e}"
        );
    }
    // Cut short.
    let e = import(&file[..file.len() * 2 / 3]).unwrap_err();
    assert!(matches!(e, CourierError::Damaged(_)), "{e}");
    assert!(e.to_string().contains("cut short"), "{e}");
    // Not a courier file at all.
    assert!(matches!(
        import(b"PK\x03\x04 a zip file").unwrap_err(),
        CourierError::NotCourier
    ));
    // Written for another hub of the same CA.
    let other_hub = k.ca.issue_hub("other.pathway.test").unwrap();
    let (for_other, _) = courier::export(
        &gw,
        ("gw-WHK", &k.gw),
        &HubEnd {
            node: "hub",
            name: "other.pathway.test",
            cert_pem: &other_hub.cert_pem,
        },
        "carrier",
        11,
    )
    .unwrap();
    assert!(matches!(
        import(&for_other).unwrap_err(),
        CourierError::Sealed(_)
    ));
    // From a gateway of another CA.
    let foreign = Ca::generate("Another CA").unwrap();
    let foreign_gw = foreign.issue_gateway("gw-WHK", "WHK", 30).unwrap();
    let (forged, _) =
        courier::export(&gw, ("gw-WHK", &foreign_gw), &hub_end(&k), "carrier", 12).unwrap();
    let e = import(&forged).unwrap_err();
    assert!(matches!(e, CourierError::Sender { .. }), "{e}");
    // Refused by the hub's own checks (revoked, in session).
    let e = courier::import(
        &hub,
        &hub_self(&k),
        &file,
        "admin",
        |g| Err(format!("gateway {} is revoked", g.gateway)),
        20,
    )
    .unwrap_err();
    assert!(e.to_string().contains("revoked"), "{e}");
    assert_eq!(hub.durable_seq(), before, "nothing refused was stored");
    assert!(hub.reviews().unwrap().is_empty());

    // A receipt: not taken by another gateway, nor as a changes file.
    let ok = import(&file).unwrap();
    let other_gw = k.ca.issue_gateway("gw-WHK-b", "WHK", 30).unwrap();
    let e = courier::take_receipt(
        &gw,
        ("gw-WHK-b", &other_gw, &k.ca.creds.cert_pem),
        &hub_end(&k),
        &ok.receipt,
        30,
    )
    .unwrap_err();
    assert!(matches!(e, CourierError::NotForUs { .. }), "{e}");
    let e = import(&ok.receipt).unwrap_err();
    assert!(
        matches!(e, CourierError::Sender { .. } | CourierError::Kind { .. }),
        "{e}"
    );
    // A receipt for a file this store did not write (another gateway's store, same id).
    let stranger = pathway_tests::harness::Node::new("gw-WHK");
    let e = courier::take_receipt(
        &stranger.store,
        ("gw-WHK", &k.gw, &k.ca.creds.cert_pem),
        &hub_end(&k),
        &ok.receipt,
        30,
    )
    .unwrap_err();
    assert!(matches!(e, CourierError::NotOurs(_)), "{e}");
}

/// A site that made nothing new still gets the hub's news: a file with none of the gateway's
/// changes is written, and its receipt brings what the hub holds for the gateway (here a
/// staff account made nationally); the next empty file acknowledges it, so nothing comes twice.
#[test]
fn a_gateway_with_nothing_new_fetches_the_hubs_changes_by_courier() {
    let k = keys();
    let (net, _) = network();
    let gw = net.gateways[0].0.store.clone();
    let hub = net.hub.store.clone();
    let admit_all = |_: &pathway_shared::identity::GatewayIdentity| Ok(());
    let round = |t: Millis| {
        let (file, summary) =
            courier::export(&gw, ("gw-WHK", &k.gw), &hub_end(&k), "Officer Nangolo", t).unwrap();
        let done = courier::import(&hub, &hub_self(&k), &file, "admin", admit_all, t + 1).unwrap();
        let took = courier::take_receipt(
            &gw,
            ("gw-WHK", &k.gw, &k.ca.creds.cert_pem),
            &hub_end(&k),
            &done.receipt,
            t + 2,
        )
        .unwrap();
        (summary.changes, done.receipt_body.taken.changes, took)
    };
    // Everything the gateway made reaches the hub first.
    let (carried, _, _) = round(10);
    assert!(carried > 0);
    // Then nothing new here, and a staff account made at the hub.
    let (carried, _, _) = round(20);
    assert_eq!(carried, 0, "nothing of the gateway's left to carry");
    let account = StaffAccount {
        username: "t.shikongo".into(),
        display_name: "Tangi Shikongo".into(),
        facility_id: "WHK".into(),
        ..StaffAccount::default()
    };
    hub.put(&account, 25).unwrap();
    let before = gw.durable_seq();
    let (carried, taken, took) = round(30);
    assert_eq!((carried, taken), (0, 0));
    let back = took.back.unwrap();
    assert!(back >= 1, "the account came back on the receipt: {back}");
    assert!(gw.durable_seq() > before);
    assert_eq!(
        gw.get::<StaffAccount>(&account.doc_id())
            .unwrap()
            .unwrap()
            .display_name,
        "Tangi Shikongo"
    );
    // Acknowledged by the next empty file: its receipt carries nothing again.
    let (_, _, took) = round(40);
    assert_eq!(took.back.unwrap(), 0);
    assert_eq!(took.receipt.back_changes, 0);
    assert!(net.differences(0).is_empty(), "{:?}", net.differences(0));
}

/// The whole courier from the command line, with the real daemons: a gateway enrolled with a
/// hub it can never reach exports through its running daemon, the hub's administration takes
/// the file (twice), and the receipt, taken by the daemon, empties "waiting to go"; then the
/// gateway is renewed by courier, its next receipt carrying the new certificate.
#[test]
fn from_the_command_line_a_site_with_no_link_syncs_by_hand() {
    use pathway_tests::national::{ADMIN, NationalSite, pathway};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let site = NationalSite::start(d);
    let root = d.join("root");
    let status: std::net::SocketAddr = format!("127.0.0.1:{}", pathway_tests::free_tcp_port())
        .parse()
        .unwrap();
    // The hub is not where this gateway dials: the site has no link at all.
    let config = site.enrol_and_install(
        ("gw-whk01-a", "WHK"),
        "127.0.0.1:9".parse().unwrap(),
        &root,
        status,
    );
    let etc = root.join("etc/pathway");
    assert!(
        etc.join("hub.pem").exists(),
        "the bundle carried the hub's certificate"
    );
    let cfg = config.to_str().unwrap();
    let (_, report) = pathway(&["doctor", "--config", cfg, "--hub-timeout", "1"], &[]);
    assert!(report.contains("ok   courier"), "{report}");
    let mut csv = String::from("prison_number,given_name,family_name,admission_date\n");
    for i in 0..25 {
        csv.push_str(&format!("W/{i:04},Given{i},Family{i},2024-03-01\n"));
    }
    std::fs::write(d.join("people.csv"), csv).unwrap();
    let people = d.join("people.csv");
    let (ok, said) = pathway(
        &[
            "import",
            "people",
            people.to_str().unwrap(),
            "--config",
            cfg,
            "--by",
            "IT",
        ],
        &[],
    );
    assert!(ok, "{said}");
    let mut gw = pathway_tests::spawn_gateway(cfg);
    let waiting = || pathway(&["status", "--config", cfg], &[]).1;
    let started = Instant::now();
    while !waiting().contains("waiting to go") {
        assert!(started.elapsed() < Duration::from_secs(30), "{}", waiting());
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !waiting().contains("nothing waiting to go"),
        "{}",
        waiting()
    );

    let file = d.join("whk.courier");
    let (ok, said) = pathway(
        &[
            "courier",
            "export",
            "--config",
            cfg,
            "--out",
            file.to_str().unwrap(),
            "--carried-by",
            "Officer Nangolo",
        ],
        &[],
    );
    assert!(ok && said.contains("written to"), "{said}");
    assert!(
        said.contains(" change(s), "),
        "the running daemon's export says how many changes it holds: {said}"
    );
    eprintln!("{said}");
    let receipt = d.join("whk.receipt");
    let ca_pem = site.ca_dir.join("ca.pem");
    let hub = format!("localhost:{}", site.admin.port());
    let import = || {
        pathway(
            &[
                "courier",
                "import",
                file.to_str().unwrap(),
                "--receipt",
                receipt.to_str().unwrap(),
                "--hub",
                &hub,
                "--ca",
                ca_pem.to_str().unwrap(),
                "--user",
                ADMIN,
            ],
            &[("PATHWAY_ADMIN_PASSWORD", &site.admin_password)],
        )
    };
    let (ok, said) = import();
    assert!(ok && said.contains("carried by Officer Nangolo"), "{said}");
    eprintln!("{said}");
    let first = std::fs::read(&receipt).unwrap();
    let (ok, said) = import();
    assert!(ok && said.contains("nothing changed"), "{said}");
    assert_eq!(
        std::fs::read(&receipt).unwrap(),
        first,
        "the same receipt again"
    );

    let take = || {
        pathway(
            &[
                "courier",
                "receipt",
                receipt.to_str().unwrap(),
                "--config",
                cfg,
            ],
            &[],
        )
    };
    let (ok, said) = take();
    assert!(ok && said.contains("will not be sent again"), "{said}");
    eprintln!("{said}");
    let started = Instant::now();
    while !waiting().contains("nothing waiting to go") {
        assert!(started.elapsed() < Duration::from_secs(10), "{}", waiting());
        std::thread::sleep(Duration::from_millis(200));
    }
    let (ok, said) = take();
    assert!(ok && said.contains("already taken"), "{said}");
    let _ = gw.kill();
    let _ = gw.wait();

    // A site with no link is renewed by courier: the hub knows the certificate from the file,
    // `pathway ca renew` sends the renewal, the next receipt carries it, and the gateway (here
    // stopped) installs it.
    let (ok, said) = pathway(
        &[
            "ca",
            "renew",
            "gw-whk01-a",
            "--dir",
            site.ca_dir.to_str().unwrap(),
            "--hub",
            &hub,
            "--user",
            ADMIN,
        ],
        &[("PATHWAY_ADMIN_PASSWORD", &site.admin_password)],
    );
    assert!(ok && said.contains("courier"), "{said}");
    let cert_path = etc.join("gateway.pem");
    let old_cert = std::fs::read_to_string(&cert_path).unwrap();
    // The gateway has made nothing new: the file carries none of its changes, and is written
    // all the same for the renewal to come back on its receipt.
    let (ok, said) = pathway(
        &[
            "courier",
            "export",
            "--config",
            cfg,
            "--out",
            file.to_str().unwrap(),
            "--carried-by",
            "Officer Nangolo",
        ],
        &[],
    );
    assert!(ok && said.contains("the file carries none"), "{said}");
    let (ok, said) = import();
    assert!(ok && said.contains("renewed certificate"), "{said}");
    let (ok, said) = take();
    assert!(
        ok && said.contains("no change the hub did not already hold"),
        "{said}"
    );
    assert!(
        ok && said.contains("renewed certificate, now installed"),
        "{said}"
    );
    let new_cert = std::fs::read_to_string(&cert_path).unwrap();
    assert_ne!(new_cert, old_cert, "the certificate file was replaced");
    assert_eq!(
        std::fs::read_to_string(cert_path.with_extension("pem.previous")).unwrap(),
        old_cert
    );
    let (_, report) = pathway(&["doctor", "--config", cfg, "--hub-timeout", "1"], &[]);
    assert!(
        report.contains("ok   certificates") && report.contains("ok   expiry"),
        "the renewed certificate is this gateway's and valid for long: {report}"
    );
}
