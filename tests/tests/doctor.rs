//! `pathway doctor` on a deliberately broken gateway names each broken thing with what to do
//! (a key others can read, an expired certificate, a full disk, no daemon, an unreachable
//! hub), and on a running one reports the daemon and its sync state; `pathway status` prints
//! the sync state in words.

use std::path::Path;
use std::time::{Duration, Instant};

use pathway_shared::identity::Ca;
use pathway_tests::offline_gateway_config;

fn pathway(args: &[&str], config: &Path) -> (bool, String) {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.extend([std::ffi::OsStr::new("--config"), config.as_os_str()]);
    pathway_tests::run_pathway(&all, &[])
}

fn line<'a>(report: &'a str, start: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no `{start}` line in:\n{report}"))
}

/// A gateway setup whose status port is `status`.
fn setup(d: &Path, ca: &Ca, status: &str) -> std::path::PathBuf {
    let cfg = offline_gateway_config(d, ca, "127.0.0.1:0".parse().unwrap()).unwrap();
    pathway_tests::with_status_port(&cfg, status).unwrap();
    cfg
}

#[test]
fn doctor_names_each_broken_thing() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let status = format!("127.0.0.1:{}", pathway_tests::free_tcp_port());
    let cfg = setup(d, &ca, &status);
    let expired = ca.issue_gateway("gw-whk", "WHK", -1).unwrap();
    std::fs::write(d.join("gw.pem"), &expired.cert_pem).unwrap();
    std::fs::write(d.join("gw.key"), &expired.key_pem).unwrap();
    std::fs::set_permissions(d.join("gw.key"), std::fs::Permissions::from_mode(0o644)).unwrap();

    let (ok, report) = pathway(
        &[
            "doctor",
            "--min-free-mb",
            "1000000000",
            "--hub-timeout",
            "2",
        ],
        &cfg,
    );
    assert!(!ok, "{report}");
    assert!(line(&report, "ok   config").contains("gw-whk"), "{report}");
    let perms = line(&report, "FAIL permissions");
    assert!(
        perms.contains("gw.key") && perms.contains("chmod 600"),
        "{report}"
    );
    assert!(
        line(&report, "FAIL expiry").contains("expired on"),
        "{report}"
    );
    assert!(line(&report, "FAIL disk").contains("below"), "{report}");
    assert!(
        line(&report, "FAIL daemon").contains("not running"),
        "{report}"
    );
    assert!(
        line(&report, "FAIL hub").contains("no answer from 127.0.0.1:9"),
        "{report}"
    );
    assert!(report.contains("5 check(s) failed"), "{report}");

    // A key of another certificate is named too.
    let other = ca.issue_gateway("gw-whk", "WHK", 30).unwrap();
    std::fs::write(d.join("gw.key"), &other.key_pem).unwrap();
    let (_, report) = pathway(&["doctor", "--hub-timeout", "1"], &cfg);
    assert!(
        line(&report, "FAIL certificates").contains("does not belong"),
        "{report}"
    );
    assert!(
        line(&report, "ok   store").contains("no store yet"),
        "{report}"
    );
    assert!(!d.join("store.key").exists(), "doctor made no key file");

    // A store sealed under another key file does not open: named, with what to do.
    drop(
        pathway_shared::store::Store::open(
            d.join("data"),
            pathway_shared::store::StoreOptions::keyed(d.join("other.key")),
        )
        .unwrap(),
    );
    // Another store's key file, where this store's should be.
    drop(
        pathway_shared::store::Store::open(
            d.join("elsewhere"),
            pathway_shared::store::StoreOptions::keyed(d.join("store.key")),
        )
        .unwrap(),
    );
    let (_, report) = pathway(&["doctor", "--hub-timeout", "1"], &cfg);
    let store = line(&report, "FAIL store");
    // A wrong or lost key: no backup helps, the way back is the key or a rebuild.
    assert!(
        store.contains("does not open") && store.contains("pathway rebuild"),
        "{report}"
    );
}

#[test]
fn doctor_and_status_read_the_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let status = format!("127.0.0.1:{}", pathway_tests::free_tcp_port());
    let cfg = setup(d, &ca, &status);
    let (ok, said) = pathway(&["status"], &cfg);
    assert!(!ok && said.contains("not running"), "{said}");
    let mut gw = pathway_tests::spawn_gateway(&cfg);
    let started = Instant::now();
    let words = loop {
        let (ok, said) = pathway(&["status"], &cfg);
        if ok {
            break said;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{said}");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(words.contains("hub: "), "{words}");
    let (_, report) = pathway(&["doctor", "--hub-timeout", "1"], &cfg);
    assert!(
        line(&report, "ok   permissions").contains("owner only"),
        "{report}"
    );
    assert!(line(&report, "ok   certificates").len() > 10, "{report}");
    assert!(line(&report, "ok   disk").contains("MB free"), "{report}");
    assert!(
        line(&report, "ok   lan expiry").contains("console's certificate is valid until"),
        "{report}"
    );
    assert!(
        line(&report, "ok   windows").contains("no sync windows"),
        "{report}"
    );
    assert!(
        line(&report, "ok   store").contains("audit trail verifies"),
        "the running daemon checked its store: {report}"
    );
    assert!(
        line(&report, "WARN last sync").contains("hub"),
        "the hub was never reached: {report}"
    );
    let _ = gw.kill();
    let _ = gw.wait();
}

/// The hub a gateway reaches presents a certificate that expires within 30 days: `doctor` at
/// the facility warns, with what the national admin runs, though the hub is reached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_warns_of_the_hubs_certificate_expiring() {
    use pathway_hub::{Hub, HubConfig};
    use pathway_shared::store::{Store, StoreOptions};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let hub_store = Store::open(d.join("hub"), StoreOptions::keyed(d.join("hub.key"))).unwrap();
    let hub = Hub::bind(
        HubConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ca_pem: ca.creds.cert_pem.clone(),
            creds: ca.issue_server("hub", 10).unwrap(),
            revoked: vec![],
            max_gateways: 4,
        },
        hub_store,
    )
    .unwrap();
    let gw = d.join("gw");
    std::fs::create_dir_all(&gw).unwrap();
    let cfg = pathway_tests::gateway_config(
        &gw,
        &ca,
        ("gw-whk", "WHK"),
        "127.0.0.1:0".parse().unwrap(),
        (hub.local_addr().unwrap(), "hub"),
    )
    .unwrap();
    let report =
        tokio::task::spawn_blocking(move || pathway(&["doctor", "--hub-timeout", "10"], &cfg).1)
            .await
            .unwrap();
    let warned = line(&report, "WARN hub");
    assert!(
        warned.contains("reached")
            && warned.contains("hub's certificate expires on")
            && warned.contains("in 10 days")
            && warned.contains("pathway ca renew-cert hub.pem"),
        "{report}"
    );
    hub.shutdown().await;
}

/// `pathway doctor --hub` on the real hub: each check passes while it runs (the store held by
/// it, the administration answering over HTTPS); stopped, the daemon is named as not running
/// and its store is opened to check it; a key others can read fails with the fix.
#[test]
fn doctor_checks_the_hubs_setup_too() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let mut site = pathway_tests::national::NationalSite::start(dir.path());
    let cfg = site.hub_dir.join("hub.toml");
    // `pathway COMMAND --hub --config hub.toml`.
    let on_hub = |command: &str| {
        pathway_tests::run_pathway(
            &[
                std::ffi::OsStr::new(command),
                "--hub".as_ref(),
                "--config".as_ref(),
                cfg.as_os_str(),
            ],
            &[],
        )
    };
    // Once the hub has started.
    let started = Instant::now();
    let (ok, report) = loop {
        let (ok, report) = on_hub("doctor");
        if ok || started.elapsed() > Duration::from_secs(30) {
            break (ok, report);
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(ok, "{report}");
    for (start, says) in [
        ("ok   config", "gateways reach it on"),
        ("ok   certificates", "every gateway's [hub] name"),
        ("ok   permissions", "owner only"),
        ("ok   expiry", "the hub's certificate is valid until"),
        ("ok   store", "held by the running hub"),
        ("ok   daemon", "the hub is running"),
        ("ok   admin", "answers over HTTPS"),
    ] {
        assert!(line(&report, start).contains(says), "{report}");
    }
    let (ok, words) = on_hub("status");
    assert!(
        ok && words.contains("the hub's certificate is valid until")
            && words.contains("no gateway is registered and none has connected"),
        "`pathway status --hub` prints the hub's status: {words}"
    );

    site.stop_hub();
    let (ok, words) = on_hub("status");
    assert!(
        !ok && words.contains("pathway-hub is not running"),
        "{words}"
    );
    let (ok, report) = on_hub("doctor");
    assert!(!ok, "{report}");
    assert!(
        line(&report, "FAIL daemon").contains("systemctl start pathway-hub"),
        "{report}"
    );
    assert!(
        line(&report, "ok   store").contains("opens (the hub is stopped)"),
        "{report}"
    );
    let key = site.hub_dir.join("hub.key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (_, report) = on_hub("doctor");
    assert!(
        line(&report, "FAIL permissions").contains("chmod 600"),
        "{report}"
    );
}
