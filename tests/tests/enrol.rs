//! From a box in a storeroom to a running gateway, with the real `pathway` and
//! `pathway-gateway`: `ca init` (the key sealed under the passphrase), `enrol` (a bundle and a
//! one-time code), `install --root` (configuration, certificates, owner-only keys, the unit),
//! then the daemon starts from the installed configuration. A wrong code, an edited, truncated
//! or foreign bundle is refused with what is wrong, and nothing is written.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use pathway_tests::national::NationalSite;
use pathway_tests::workspace_binary;

fn pathway(args: &[&str]) -> (bool, String) {
    pathway_tests::national::pathway(args, &[])
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// Makes a CA in `dir` and a bundle for gw-whk01-a; returns the bundle and its code.
fn enrolled(dir: &Path) -> (std::path::PathBuf, String) {
    let ca = dir.join("ca");
    let (ok, said) = pathway(&[
        "ca",
        "init",
        "--dir",
        s(&ca),
        "--name",
        "Namibia Pathway CA",
    ]);
    assert!(ok, "{said}");
    let bundle = dir.join("gw-whk01-a.pathway-bundle");
    let (ok, said) = pathway(&[
        "enrol",
        "--ca-dir",
        s(&ca),
        "--facility",
        "WHK",
        "--gateway",
        "gw-whk01-a",
        "--hub-addr",
        "127.0.0.1:9",
        "--hub-name",
        "hub.pathway.test",
        "--out",
        s(&bundle),
    ]);
    assert!(ok, "{said}");
    assert!(said.contains("national CA fingerprint (SHA-256)"), "{said}");
    let code = said
        .lines()
        .find_map(|l| l.split("bundle): ").nth(1))
        .unwrap_or_else(|| panic!("no code in: {said}"))
        .trim()
        .to_owned();
    (bundle, code)
}

#[test]
fn a_box_is_enrolled_installed_and_started_from_its_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bundle, code) = enrolled(d);
    let sealed = std::fs::read_to_string(d.join("ca/ca.key.sealed")).unwrap();
    assert!(
        !sealed.contains("PRIVATE KEY"),
        "the CA key is in the clear"
    );
    assert_eq!(mode(&d.join("ca/ca.key.sealed")), 0o600);
    let text = std::fs::read_to_string(&bundle).unwrap();
    assert!(!text.contains("PRIVATE KEY") && !text.contains(&code));
    // Twice would orphan every gateway of the first CA.
    let (ok, said) = pathway(&["ca", "init", "--dir", s(&d.join("ca"))]);
    assert!(!ok && said.contains("already holds a CA"), "{said}");

    let root = d.join("root");
    let status = format!("127.0.0.1:{}", pathway_tests::free_tcp_port());
    // The code typed in lower case without dashes still opens it.
    let typed = code.replace('-', "").to_lowercase();
    let (ok, said) = pathway(&[
        "install",
        s(&bundle),
        "--code",
        &typed,
        "--root",
        s(&root),
        "--lan-listen",
        "127.0.0.1:0",
        "--status-listen",
        &status,
    ]);
    assert!(ok, "{said}");
    let etc = root.join("etc/pathway");
    for key in ["gateway.key", "lan.key", "gateway.toml"] {
        assert_eq!(mode(&etc.join(key)), 0o600, "{key}");
    }
    assert_eq!(mode(&root.join("var/lib/pathway-gateway")), 0o700);
    let unit =
        std::fs::read_to_string(root.join("etc/systemd/system/pathway-gateway.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/pathway-gateway --config /etc/pathway/gateway.toml"));

    // Before the first start, doctor finds the files sound: the store and its key are made on
    // that start, not missing.
    let config = etc.join("gateway.toml");
    let (_, report) = pathway(&["doctor", "--config", s(&config), "--hub-timeout", "1"]);
    assert!(
        report.contains("ok   permissions") && report.contains("ok   store"),
        "{report}"
    );

    // The daemon starts from what was installed, and doctor finds its files sound.
    let mut gw = pathway_tests::spawn_gateway(&config);
    let started = Instant::now();
    loop {
        let (ok, said) = pathway(&["status", "--config", s(&config)]);
        if ok {
            assert!(said.contains("hub: "), "{said}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{said}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let (_, report) = pathway(&["doctor", "--config", s(&config), "--hub-timeout", "1"]);
    assert!(report.contains("ok   certificates"), "{report}");
    assert!(report.contains("ok   permissions"), "{report}");
    assert!(report.contains("gw-whk01-a"), "{report}");
    let _ = gw.kill();
    let _ = gw.wait();
}

#[test]
fn bad_bundles_and_wrong_codes_are_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bundle, code) = enrolled(d);
    let root = d.join("root");
    let install = |b: &Path, code: &str| {
        pathway(&[
            "install",
            s(b),
            "--code",
            code,
            "--root",
            s(&root),
            "--lan-listen",
            "127.0.0.1:0",
        ])
    };
    let (ok, said) = install(&bundle, "AAAA-BBBB-CCCC-DDDD-EEEE");
    assert!(
        !ok && said.contains("the code does not open this bundle"),
        "{said}"
    );
    let text = std::fs::read_to_string(&bundle).unwrap();
    let edited = d.join("edited.pathway-bundle");
    std::fs::write(&edited, text.replace("127.0.0.1:9", "203.0.113.9:4433")).unwrap();
    let (ok, said) = install(&edited, &code);
    assert!(!ok && said.contains("altered"), "{said}");
    let cut = d.join("cut.pathway-bundle");
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let (ok, said) = install(&cut, &code);
    assert!(
        !ok && said.contains("not a Pathway enrolment bundle"),
        "{said}"
    );
    assert!(!root.exists(), "a refused install wrote something");

    // A bundle from another country's CA, on a box enrolled with this one.
    let (ok, said) = install(&bundle, &code);
    assert!(ok, "{said}");
    let other = d.join("other");
    std::fs::create_dir_all(&other).unwrap();
    let (foreign, foreign_code) = enrolled(&other);
    let (ok, said) = install(&foreign, &foreign_code);
    assert!(!ok && said.contains("another national CA"), "{said}");
}

/// The whole way on loopback: `ca init` → `ca issue-hub` → `enrol` → `install --root` → the
/// hub and the gateway started from their files as the units start them → the first sync, as
/// both daemons' status says.
#[test]
fn from_ca_init_to_the_first_sync_with_the_real_daemons() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let site = NationalSite::start(d);
    let hub_status = site.hub_status.to_string();
    let root = d.join("root");
    let gw_status = format!("127.0.0.1:{}", pathway_tests::free_tcp_port());
    site.enrol_and_install(
        ("gw-whk01-a", "WHK"),
        site.hub_addr,
        &root,
        gw_status.parse().unwrap(),
    );
    let etc = root.join("etc/pathway");
    for key in ["gateway.key", "lan.key", "gateway.toml"] {
        assert_eq!(mode(&etc.join(key)), 0o600, "{key}");
    }
    let config = etc.join("gateway.toml");
    let mut gw = pathway_tests::spawn_gateway(&config);

    let started = Instant::now();
    let rt = tokio::runtime::Runtime::new().unwrap();
    loop {
        let (_, said) = pathway(&["status", "--config", s(&config)]);
        let at_hub = rt
            .block_on(pathway_tests::http::request(
                hub_status.parse().unwrap(),
                "GET",
                "/status",
            ))
            .map(|(_, b)| b)
            .unwrap_or_default();
        let hub_sees: serde_json::Value = serde_json::from_str(&at_hub).unwrap_or_default();
        let gw_at_hub = &hub_sees["status"]["peers"]["gw-whk01-a"];
        if said.contains("online") && gw_at_hub["online"] == true {
            assert_eq!(
                gw_at_hub["facility"], "WHK",
                "the hub took the facility from the certificate"
            );
            assert!(gw_at_hub["sync"]["last_contact"].is_number(), "{gw_at_hub}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(45),
            "no first sync: gateway says {said}; hub says {at_hub}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let (_, report) = pathway(&["doctor", "--config", s(&config), "--hub-timeout", "5"]);
    assert!(report.contains("ok   hub"), "{report}");
    let _ = gw.kill();
    let _ = gw.wait();
}

/// `--root` given relative to where facility IT stands still yields a configuration whose
/// files are where they were written (the configuration reads paths from its own folder).
#[test]
fn a_relative_root_installs_a_configuration_that_finds_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bundle, code) = enrolled(d);
    let out = Command::new(workspace_binary("pathway").unwrap())
        .current_dir(d)
        .args(["install", s(&bundle), "--code", &code, "--root", "image"])
        .args(["--lan-listen", "127.0.0.1:0"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cfg =
        pathway_gateway::GatewayConfig::load(&d.join("image/etc/pathway/gateway.toml")).unwrap();
    let image = d.join("image").canonicalize().unwrap();
    assert_eq!(
        cfg.data_dir.canonicalize().unwrap(),
        image.join("var/lib/pathway-gateway")
    );
    assert!(cfg.store_key.starts_with(&image) || cfg.store_key.starts_with(d.join("image")));
    assert!(cfg.tls.cert.exists(), "{}", cfg.tls.cert.display());
}

/// `enrol` prints the national CA's fingerprint for the admin to read to facility IT; `install
/// --ca-fingerprint` refuses a bundle from another CA before writing anything, and takes the
/// right one (case, colons and spaces do not matter).
#[test]
fn install_checks_the_ca_fingerprint_facility_it_was_given() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bundle, code) = enrolled(d);
    let pem = std::fs::read_to_string(d.join("ca/ca.pem")).unwrap();
    let right = pathway_shared::identity::fingerprint(&pem, "CA").unwrap();
    let wrong = right.replace(&right[..2], if &right[..2] == "00" { "11" } else { "00" });
    let root = d.join("root");
    let install = |fp: &str| {
        pathway(&[
            "install",
            s(&bundle),
            "--code",
            &code,
            "--root",
            s(&root),
            "--lan-listen",
            "127.0.0.1:0",
            "--status-listen",
            "127.0.0.1:0",
            "--ca-fingerprint",
            fp,
        ])
    };
    let (ok, said) = install(&wrong);
    assert!(!ok && said.contains("do not install it"), "{said}");
    assert!(
        !root.join("etc/pathway/gateway.toml").exists(),
        "nothing written"
    );
    let (ok, said) = install(&right.to_lowercase().replace(':', " "));
    assert!(ok && said.contains("matches the fingerprint"), "{said}");
}

/// `install --store-key sealed` never writes the store's key in the clear: systemd-creds seals a
/// new one beside the configuration and a unit drop-in loads it; the daemon, given it as
/// systemd gives a service its credentials (`$CREDENTIALS_DIRECTORY/store.key`), seals its store
/// under it, and doctor says where the key is kept. Runs with systemd-creds' host key (no TPM).
#[test]
fn a_sealed_store_key_is_never_on_disk_in_the_clear() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bundle, code) = enrolled(d);
    let root = d.join("root");
    let status = format!("127.0.0.1:{}", pathway_tests::free_tcp_port());
    let (ok, said) = pathway(&[
        "install",
        s(&bundle),
        "--code",
        &code,
        "--root",
        s(&root),
        "--lan-listen",
        "127.0.0.1:0",
        "--status-listen",
        &status,
        "--store-key",
        "sealed",
    ]);
    assert!(ok, "{said}");
    assert!(said.contains("sealed with systemd-creds"), "{said}");
    let etc = root.join("etc/pathway");
    let cred = etc.join("store.key.cred");
    assert_eq!(mode(&cred), 0o600);
    let drop_in = std::fs::read_to_string(
        root.join("etc/systemd/system/pathway-gateway.service.d/store-key.conf"),
    )
    .unwrap();
    assert!(
        drop_in.contains(&format!(
            "LoadCredentialEncrypted=store.key:{}",
            cred.display()
        )),
        "{drop_in}"
    );
    // What systemd does at the service's start: the credential, decrypted, in a folder of its
    // own.
    let creds = d.join("credentials");
    std::fs::create_dir_all(&creds).unwrap();
    let out = Command::new("systemd-creds")
        .args(["decrypt", "--name=store.key"])
        .arg(&cred)
        .arg(creds.join("store.key"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let config = etc.join("gateway.toml");
    let mut gw = Command::new(workspace_binary("pathway-gateway").unwrap())
        .args(["--config", s(&config)])
        .env("CREDENTIALS_DIRECTORY", &creds)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let (ok, said) = pathway(&["status", "--config", s(&config)]);
        if ok {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "{said}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = gw.kill();
    let _ = gw.wait();
    assert!(!etc.join("store.key").exists(), "no key file in the clear");
    // The store is sealed under the credential: it opens with it, and not without.
    let data = root.join("var/lib/pathway-gateway");
    assert!(
        pathway_shared::store::Store::open(
            &data,
            pathway_shared::store::StoreOptions::keyed(creds.join("store.key"))
        )
        .is_ok()
    );
    let (_, report) = pathway(&["doctor", "--config", s(&config), "--hub-timeout", "1"]);
    assert!(
        report.contains("ok   at rest") && report.contains("sealed with systemd-creds"),
        "{report}"
    );
}

/// `enrol --time-zone` carries the facility's zone in the bundle, and `install` writes it in the
/// configuration; a zone that does not exist is refused at enrol, naming it.
#[test]
fn the_facilitys_time_zone_travels_in_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = d.join("ca");
    let (ok, said) = pathway(&["ca", "init", "--dir", s(&ca), "--name", "Thai Pathway CA"]);
    assert!(ok, "{said}");
    let enrol = |tz: &str, out: &Path| {
        pathway(&[
            "enrol",
            "--ca-dir",
            s(&ca),
            "--facility",
            "BKK",
            "--gateway",
            "gw-bkk01-a",
            "--hub-addr",
            "127.0.0.1:9",
            "--hub-name",
            "hub.pathway.test",
            "--time-zone",
            tz,
            "--out",
            s(out),
        ])
    };
    // Ids follow the hub's rules, so the gateway can be registered and revoked by them.
    for (facility, gateway, why) in [
        ("bkk", "gw-bkk01-a", "is not a facility code"),
        ("BKK", "GW-BKK", "is not a gateway id"),
    ] {
        let (ok, said) = pathway(&[
            "enrol",
            "--ca-dir",
            s(&ca),
            "--facility",
            facility,
            "--gateway",
            gateway,
            "--hub-addr",
            "127.0.0.1:9",
            "--hub-name",
            "hub.pathway.test",
            "--out",
            s(&d.join("ids.pathway-bundle")),
        ]);
        assert!(!ok && said.contains(why), "{said}");
    }
    let (ok, said) = enrol("Mars/Olympus", &d.join("bad.pathway-bundle"));
    assert!(
        !ok && said.contains("`Mars/Olympus` is not a time zone"),
        "{said}"
    );
    let bundle = d.join("gw.pathway-bundle");
    let (ok, said) = enrol("Asia/Bangkok", &bundle);
    assert!(ok, "{said}");
    let code = said
        .lines()
        .find_map(|l| l.split("bundle): ").nth(1))
        .unwrap()
        .trim()
        .to_owned();
    let root = d.join("root");
    let (ok, said) = pathway(&[
        "install",
        s(&bundle),
        "--code",
        &code,
        "--root",
        s(&root),
        "--lan-listen",
        "127.0.0.1:0",
        "--status-listen",
        "127.0.0.1:0",
        "--store-key",
        "file",
    ]);
    assert!(ok, "{said}");
    let cfg = pathway_gateway::config::GatewayConfig::load(&root.join("etc/pathway/gateway.toml"))
        .unwrap();
    assert_eq!(cfg.time_zone.as_deref(), Some("Asia/Bangkok"));
}
