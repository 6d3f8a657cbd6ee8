//! Certificate renewal over the link, with the real daemons and the real `pathway`: the national
//! administrator runs `pathway ca renew` at the CA; the running gateway installs the renewed
//! certificate (same key, valid for longer) without a new bundle, and presents it from its next
//! connection. A renewal for a gateway that has never connected, or that is revoked, is refused
//! with a sentence saying why. The hub's and the console's certificates are renewed in place
//! (`pathway ca renew-cert`) for the same name and key.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pathway_shared::identity::expires_at;
use pathway_tests::national::{ADMIN, NationalSite, pathway};
use pathway_tests::workspace_binary;

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

/// The certificate the hub saw `gateway` present last, as its administration gives it.
fn presented(site: &NationalSite, gateway: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let v: serde_json::Value = rt.block_on(async {
        let ca = std::fs::read_to_string(site.ca_dir.join("ca.pem")).unwrap();
        let tls = pathway_tests::https::connector(&ca).unwrap();
        let mut c = pathway_tests::https::Client::connect_to("localhost", site.admin.port(), &tls)
            .await
            .unwrap();
        let login = serde_json::json!({"username": ADMIN, "password": site.admin_password});
        let (_, b) = c
            .send("POST", "/api/login", "", &login.to_string())
            .await
            .unwrap();
        let token = serde_json::from_str::<serde_json::Value>(&b).unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let (st, b) = c
            .send(
                "GET",
                &format!("/api/gateways/{gateway}/certificate"),
                &token,
                "",
            )
            .await
            .unwrap();
        assert_eq!(st, 200, "{b}");
        serde_json::from_str(&b).unwrap()
    });
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

    let mut gw = Command::new(workspace_binary("pathway-gateway").unwrap())
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
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
    assert!(ok && said.contains("restart"), "{said}");
    let hub_new = std::fs::read_to_string(&hub_pem).unwrap();
    assert!(expires_at(&hub_new, "hub").unwrap() > expires_at(&hub_old, "hub").unwrap());
    assert_eq!(
        std::fs::read_to_string(site.ca_dir.join("hub.pem")).unwrap(),
        hub_new,
        "bundles made from now on carry the renewed hub certificate"
    );
    site.stop_hub();
    site.start_hub();
    wait("the gateway back online", 60, || {
        hub_sees(&site, "gw-whk01-a")["online"] == true
    });
    assert_eq!(presented(&site, "gw-whk01-a"), new.trim());
    let hub_until = pathway_shared::model::date_of_ms(expires_at(&hub_new, "hub").unwrap());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (_, text) = rt
        .block_on(pathway_tests::http::request(
            site.hub_status,
            "GET",
            "/status.txt",
        ))
        .unwrap();
    assert!(
        text.contains(&format!("the hub's certificate is valid until {hub_until}")),
        "{text}"
    );
    // A gateway's certificate is not renewed as a server's.
    let (ok, said) = pathway(
        &["ca", "renew-cert", s(&cert_path), "--dir", s(&site.ca_dir)],
        &[],
    );
    assert!(
        !ok && said.contains("pathway ca renew gw-whk01-a"),
        "{said}"
    );
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
