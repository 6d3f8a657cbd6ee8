//! Certificate renewal over the link, with the real daemons and the real `pathway`: the national
//! administrator runs `pathway ca renew` at the CA; the running gateway installs the renewed
//! certificate (same key, valid for longer) without a new bundle, and presents it from its next
//! connection. A renewal for a gateway that has never connected, or that is revoked, is refused
//! with a sentence saying why. The hub's and the console's certificates are renewed in place
//! (`pathway ca renew-cert`) for the same name and key.

use std::path::Path;
use std::time::{Duration, Instant};

use pathway_shared::identity::expires_at;
use pathway_tests::national::{ADMIN, NationalSite, pathway};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn wait(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} did not happen within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn hub_sees(site: &NationalSite, gateway: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let body = rt
        .block_on(pathway_tests::http::request(
            site.hub_status,
            "GET",
            "/status",
        ))
        .map(|(_, b)| b)
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    v["status"]["peers"][gateway].clone()
}

fn renew(site: &NationalSite, gateway: &str, days: &str) -> (bool, String) {
    let hub = format!("localhost:{}", site.admin.port());
    pathway(
        &[
            "ca",
            "renew",
            gateway,
            "--dir",
            s(&site.ca_dir),
            "--hub",
            &hub,
            "--user",
            ADMIN,
            "--days",
            days,
        ],
        &[("PATHWAY_ADMIN_PASSWORD", &site.admin_password)],
    )
}

/// The certificate the HTTPS server at `addr` serves as `localhost`, as a browser trusting the
/// CA of `ca_pem` sees it.
fn served_at(ca_pem: &str, addr: std::net::SocketAddr) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let tls = pathway_tests::https::connector(ca_pem).unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = tls.connect(name, tcp).await.unwrap();
        let der = conn.get_ref().1.peer_certificates().unwrap()[0].clone();
        pathway_shared::identity::der_to_pem(&der)
    })
}

/// The certificate the hub saw `gateway` present last, as its administration gives it.
fn presented(site: &NationalSite, gateway: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (st, v) =
        rt.block_on(site.admin_call("GET", &format!("/api/gateways/{gateway}/certificate"), None));
    assert_eq!(st, 200, "{v}");
    v["cert_pem"].as_str().unwrap_or_default().trim().to_owned()
}

#[test]
fn a_running_gateway_takes_its_renewed_certificate_over_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut site = NationalSite::start(d);
    let root = d.join("root");
    let gw_status = format!("127.0.0.1:{}", pathway_tests::free_tcp_port());
    let config = site.enrol_and_install(
        ("gw-whk01-a", "WHK"),
        site.hub_addr,
        &root,
        gw_status.parse().unwrap(),
    );
    let cert_path = root.join("etc/pathway/gateway.pem");
    let key_before = std::fs::read(root.join("etc/pathway/gateway.key")).unwrap();
    let old = std::fs::read_to_string(&cert_path).unwrap();

    // Before it has ever connected, the hub has nothing to renew from.
    let (ok, said) = renew(&site, "gw-whk01-a", "1000");
    assert!(!ok && said.contains("has not connected"), "{said}");

    let mut gw = pathway_tests::spawn_gateway(&config);
    wait("the first sync", 45, || {
        hub_sees(&site, "gw-whk01-a")["online"] == true
    });

    let (ok, said) = renew(&site, "gw-whk01-a", "1000");
    assert!(ok, "{said}");
    assert!(said.contains("renewed until"), "{said}");
    let started = Instant::now();
    wait("the renewed certificate installed", 60, || {
        std::fs::read_to_string(&cert_path).is_ok_and(|c| c != old)
    });
    let installed_after = started.elapsed();
    let new = std::fs::read_to_string(&cert_path).unwrap();
    let gained = expires_at(&new, "new").unwrap() - expires_at(&old, "old").unwrap();
    assert!(
        gained > 170 * 86_400_000,
        "valid for longer: {gained} ms more"
    );
    assert_eq!(
        std::fs::read_to_string(cert_path.with_extension("pem.previous")).unwrap(),
        old,
        "the old certificate is kept beside it"
    );
    assert_eq!(
        std::fs::read(root.join("etc/pathway/gateway.key")).unwrap(),
        key_before,
        "the private key never changed"
    );

    // The gateway reconnects at once to present it, without a restart: the hub sees the new
    // certificate and its expiry.
    wait("the hub sees the renewed certificate", 30, || {
        presented(&site, "gw-whk01-a") == new.trim()
    });
    let presented_after = started.elapsed();
    wait("the gateway back online", 30, || {
        hub_sees(&site, "gw-whk01-a")["online"] == true
    });
    assert_eq!(
        hub_sees(&site, "gw-whk01-a")["certificate_expires"],
        expires_at(&new, "new").unwrap(),
        "the hub's status has the new expiry"
    );
    // The hub's own certificate, renewed in place at the CA (same name and key): the hub
    // restarted on it is taken by the gateway, and a later connection presents the gateway's
    // renewed certificate too.
    let hub_pem = site.hub_dir.join("hub.pem");
    let hub_old = std::fs::read_to_string(&hub_pem).unwrap();
    let (ok, said) = pathway(
        &[
            "ca",
            "renew-cert",
            s(&hub_pem),
            "--dir",
            s(&site.ca_dir),
            "--days",
            "1200",
        ],
        &[],
    );
    assert!(
        ok && said.contains("systemctl reload pathway-hub"),
        "{said}"
    );
    let hub_new = std::fs::read_to_string(&hub_pem).unwrap();
    assert!(expires_at(&hub_new, "hub").unwrap() > expires_at(&hub_old, "hub").unwrap());
    assert_eq!(
        std::fs::read_to_string(site.ca_dir.join("hub.pem")).unwrap(),
        hub_new,
        "bundles made from now on carry the renewed hub certificate"
    );
    // `systemctl reload pathway-hub` (SIGHUP): the hub presents the renewed certificate from
    // the next connection, its status and its administration say so, and the live session
    // goes on.
    let attempts = hub_sees(&site, "gw-whk01-a")["attempts"].clone();
    let reload_at = Instant::now();
    site.reload_hub();
    let hub_until = pathway_shared::model::date_of_ms(expires_at(&hub_new, "hub").unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status_text = || {
        rt.block_on(pathway_tests::http::request(
            site.hub_status,
            "GET",
            "/status.txt",
        ))
        .map(|(_, b)| b)
        .unwrap_or_default()
    };
    wait("the hub's status gives the renewed certificate", 10, || {
        status_text().contains(&format!("the hub's certificate is valid until {hub_until}"))
    });
    println!(
        "hub certificate read again {:?} after SIGHUP",
        reload_at.elapsed()
    );
    let served = served_at(
        &std::fs::read_to_string(site.ca_dir.join("ca.pem")).unwrap(),
        site.admin,
    );
    assert_eq!(
        served.trim(),
        hub_new.trim(),
        "the administration serves it"
    );
    assert_eq!(
        hub_sees(&site, "gw-whk01-a")["attempts"],
        attempts,
        "the gateway's session was not cut"
    );
    // A later connection (the hub restarted) presents the gateway's renewed certificate.
    site.stop_hub();
    site.start_hub();
    wait("the gateway back online", 60, || {
        hub_sees(&site, "gw-whk01-a")["online"] == true
    });
    assert_eq!(presented(&site, "gw-whk01-a"), new.trim());
    // A gateway's own certificate renewed by hand (the way back for one that has expired): a
    // copy renewed at the CA, installed with `pathway install-cert` through the running
    // daemon, which presents it at once.
    let copy = d.join("gateway-copy.pem");
    std::fs::copy(&cert_path, &copy).unwrap();
    let (ok, said) = pathway(
        &[
            "ca",
            "renew-cert",
            s(&copy),
            "--dir",
            s(&site.ca_dir),
            "--days",
            "1500",
        ],
        &[],
    );
    assert!(ok && said.contains("pathway install-cert"), "{said}");
    let by_hand_at = Instant::now();
    let (ok, said) = pathway(&["install-cert", s(&copy), "--config", s(&config)], &[]);
    assert!(ok && said.contains("dials the hub again"), "{said}");
    let by_hand = std::fs::read_to_string(&cert_path).unwrap();
    assert_eq!(by_hand, std::fs::read_to_string(&copy).unwrap());
    wait("the hub sees the certificate renewed by hand", 30, || {
        presented(&site, "gw-whk01-a") == by_hand.trim()
    });
    println!(
        "certificate renewed by hand presented to the hub {:?} after `pathway install-cert` started",
        by_hand_at.elapsed()
    );
    let new = by_hand;
    // The console's certificate the same way; doctor gives its new date.
    let lan_pem = root.join("etc/pathway/lan.pem");
    let (ok, said) = pathway(
        &[
            "ca",
            "renew-cert",
            s(&lan_pem),
            "--dir",
            s(&site.ca_dir),
            "--days",
            "1300",
        ],
        &[],
    );
    assert!(ok, "{said}");
    let lan_until = pathway_shared::model::date_of_ms(
        expires_at(&std::fs::read_to_string(&lan_pem).unwrap(), "lan").unwrap(),
    );
    let (ok, said) = pathway(
        &["doctor", "--config", s(&config), "--hub-timeout", "5"],
        &[],
    );
    assert!(said.contains("ok   hub"), "{ok} {said}");
    assert!(
        said.contains(&format!("console's certificate is valid until {lan_until}")),
        "{said}"
    );
    let until = pathway_shared::model::date_of_ms(expires_at(&new, "new").unwrap());
    let (ok, said) = pathway(&["status", "--config", s(&config)], &[]);
    assert!(
        ok && said.contains(&format!("certificate is valid until {until}")),
        "`pathway status` names the renewed certificate's expiry: {said}"
    );
    println!(
        "renewed certificate installed {installed_after:?} after `pathway ca renew`, presented to the hub {presented_after:?} after it"
    );

    // A revoked gateway is not renewed.
    let hub = format!("localhost:{}", site.admin.port());
    let ca_pem = site.ca_dir.join("ca.pem");
    let (ok, said) = pathway(
        &[
            "revoke",
            "gw-whk01-a",
            "--reason",
            "the box was stolen",
            "--hub",
            &hub,
            "--ca",
            s(&ca_pem),
            "--user",
            ADMIN,
        ],
        &[("PATHWAY_ADMIN_PASSWORD", &site.admin_password)],
    );
    assert!(ok, "{said}");
    let (ok, said) = renew(&site, "gw-whk01-a", "1000");
    assert!(!ok && said.contains("revoked"), "{said}");
    let _ = gw.kill();
    let _ = gw.wait();
}

/// A gateway whose certificate has expired (the hub refuses it, so no renewal reaches it over
/// the link) gets it back by hand with no new bundle: the national CA renews a copy of the
/// file for the same key, and `pathway install-cert` checks and installs it, with the daemon
/// stopped or through the running daemon; the console's certificate the same way. A
/// certificate for another key is refused and changes nothing.
#[test]
fn an_expired_certificate_renewed_by_hand_is_installed_without_a_new_bundle() {
    use pathway_shared::identity::Ca;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let status: std::net::SocketAddr = format!("127.0.0.1:{}", pathway_tests::free_tcp_port())
        .parse()
        .unwrap();
    let lan_port = pathway_tests::free_tcp_port();
    let cfg = pathway_tests::offline_gateway_config(
        d,
        &ca,
        format!("127.0.0.1:{lan_port}").parse().unwrap(),
    )
    .unwrap();
    pathway_tests::with_status_port(&cfg, &status.to_string()).unwrap();
    let expired = ca.issue_gateway("gw-whk", "WHK", -1).unwrap();
    std::fs::write(d.join("gw.pem"), &expired.cert_pem).unwrap();
    std::fs::write(d.join("gw.key"), &expired.key_pem).unwrap();
    let run = |args: &[&str]| {
        let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
        all.extend([std::ffi::OsStr::new("--config"), cfg.as_os_str()]);
        pathway_tests::run_pathway(&all, &[])
    };
    let (_, report) = run(&["doctor", "--hub-timeout", "1"]);
    assert!(
        report.contains("FAIL expiry") && report.contains("pathway install-cert"),
        "{report}"
    );

    // A file that is no certificate, then another box's certificate: refused, nothing changes.
    let junk = d.join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let (ok, said) = run(&["install-cert", s(&junk)]);
    assert!(!ok && said.contains("it is not a certificate"), "{said}");
    let stranger = d.join("stranger.pem");
    std::fs::write(
        &stranger,
        ca.issue_gateway("gw-whk", "WHK", 400).unwrap().cert_pem,
    )
    .unwrap();
    let (ok, said) = run(&["install-cert", s(&stranger)]);
    assert!(
        !ok && said.contains("not a certificate for this gateway's key"),
        "{said}"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("gw.pem")).unwrap(),
        expired.cert_pem
    );

    // A CA folder with no CA in it is named before any passphrase is asked for.
    let (ok, said) = pathway_tests::run_pathway(
        &[
            std::ffi::OsStr::new("ca"),
            "renew-cert".as_ref(),
            d.join("gw.pem").as_os_str(),
            "--dir".as_ref(),
            d.as_os_str(),
        ],
        &[],
    );
    assert!(!ok && said.contains("no CA at"), "{said}");

    // Renewed by the CA for the same key; installed with the daemon stopped.
    let renewed = d.join("renewed.pem");
    std::fs::write(&renewed, ca.renew_gateway(&expired.cert_pem, 400).unwrap()).unwrap();
    let (ok, said) = run(&["install-cert", s(&renewed)]);
    assert!(ok && said.contains("installed in"), "{said}");
    assert_eq!(
        std::fs::read_to_string(d.join("gw.pem")).unwrap(),
        std::fs::read_to_string(&renewed).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(d.join("gw.pem.previous")).unwrap(),
        expired.cert_pem
    );
    let (_, report) = run(&["doctor", "--hub-timeout", "1"]);
    assert!(report.contains("ok   expiry"), "{report}");
    let (ok, said) = run(&["install-cert", s(&renewed)]);
    assert!(ok && said.contains("nothing installed"), "{said}");

    // Through the running daemon: its status reports the new expiry at once.
    let mut gw = pathway_tests::spawn_gateway(&cfg);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let expiry = || {
        let body = rt
            .block_on(pathway_tests::http::request(status, "GET", "/status"))
            .map(|(_, b)| b)
            .unwrap_or_default();
        serde_json::from_str::<serde_json::Value>(&body).unwrap_or_default()["status"]
            ["certificate_expires"]
            .as_i64()
    };
    wait("the daemon's status port", 30, || expiry().is_some());
    let later = ca
        .renew_gateway(&std::fs::read_to_string(&renewed).unwrap(), 800)
        .unwrap();
    std::fs::write(&renewed, &later).unwrap();
    let (ok, said) = run(&["install-cert", s(&renewed)]);
    assert!(ok && said.contains("dials the hub again"), "{said}");
    assert_eq!(expiry(), Some(expires_at(&later, "later").unwrap()));

    // The console's certificate.
    let lan = d.join("lan-renewed.pem");
    std::fs::write(
        &lan,
        ca.renew_server(&std::fs::read_to_string(d.join("lan.pem")).unwrap(), 900)
            .unwrap(),
    )
    .unwrap();
    // The certificate the console serves, as a staff browser sees it.
    let served = || {
        served_at(
            &ca.creds.cert_pem,
            format!("127.0.0.1:{lan_port}").parse().unwrap(),
        )
    };
    let before = served();
    let (ok, said) = run(&["install-cert", s(&lan)]);
    assert!(ok && said.contains("served from now on"), "{said}");
    let lan_pem = std::fs::read_to_string(&lan).unwrap();
    assert_eq!(std::fs::read_to_string(d.join("lan.pem")).unwrap(), lan_pem);
    let now_served = served();
    assert_ne!(now_served, before);
    assert_eq!(
        expires_at(&now_served, "served").unwrap(),
        expires_at(&lan_pem, "renewed").unwrap(),
        "the running console serves the renewed certificate without a restart"
    );
    let _ = gw.kill();
    let _ = gw.wait();
}
