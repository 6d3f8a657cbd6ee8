//! The national side in a real headless Chromium: a national administrator logs in to the hub's
//! dashboard, creates a staff account for a facility and withdraws a programme; the account and
//! the withdrawal reach the facility's gateway over real QUIC; the new staff member logs in at
//! the gateway with the one-time password, must choose their own, and gets in. Screenshots in
//! `target/screenshots/`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fantoccini::Locator;
use pathway_gateway::{Gateway, GatewayConfig};
use pathway_hub::admin::{self, Admin, AdminRole};
use pathway_hub::{Hub, HubConfig};
use pathway_shared::clock::{Clock, now_ms};
use pathway_shared::identity::Ca;
use pathway_shared::model::{Programme, StaffAccount, programme_id, staff_id};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::gateway_config;
use pathway_tests::sample::{SampleConfig, SampleFacility};

mod browser;
use browser::{Browser, chromedriver, screenshots};

const HUB_NAME: &str = "hub.pathway.test";
const ADMIN_PASSWORD: &str = "national admin password";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_makes_a_staff_account_that_logs_in_at_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 20,
        marks: 100,
        today: time::OffsetDateTime::now_utc().date(),
        ..SampleConfig::default()
    });
    let ca = Ca::generate("Pathway test CA").unwrap();
    let hub_store = Store::open(d.join("hub"), StoreOptions::keyed(d.join("hub.key"))).unwrap();
    sample.load_national(&hub_store, now_ms()).unwrap();
    admin::add_admin(
        &hub_store,
        "admin.national",
        "Selma Hamutenya",
        AdminRole::NationalAdmin,
        ADMIN_PASSWORD,
    )
    .unwrap();
    // The hub's own certificate, made for 20 days: the dashboard says it is due.
    let hub_creds = ca.issue_server(HUB_NAME, 20).unwrap();
    let hub = Hub::bind(
        HubConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            ca_pem: ca.creds.cert_pem.clone(),
            creds: hub_creds,
            revoked: vec![],
            max_gateways: 4,
        },
        hub_store.clone(),
    )
    .unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    let tls =
        pathway_shared::identity::lan_server_tls(&ca.issue_hub("localhost").unwrap()).unwrap();
    let (admin_addr, _) = admin::serve_https(
        "127.0.0.1:0".parse().unwrap(),
        admin::RustlsConfig::from_config(Arc::new(tls)),
        admin::router(Admin::new(
            hub_store.clone(),
            (hub.status_source(), hub.live_sessions()),
            Clock::system(),
        )),
        stop.clone(),
    )
    .unwrap();
    let hub_base = format!("https://localhost:{}", admin_addr.port());

    let gdir = d.join("gw");
    std::fs::create_dir_all(&gdir).unwrap();
    {
        let store = Store::open(
            gdir.join("data"),
            StoreOptions::keyed(gdir.join("store.key")),
        )
        .unwrap();
        sample.load_facility(&store, now_ms()).unwrap();
    }
    let path = gateway_config(
        &gdir,
        &ca,
        ("gw-whk", "WHK"),
        "127.0.0.1:0".parse().unwrap(),
        (hub.local_addr().unwrap(), HUB_NAME),
    )
    .unwrap();
    let gateway = Gateway::start(&GatewayConfig::load(&path).unwrap()).unwrap();
    let gw_base = format!("https://localhost:{}", gateway.lan_addr.unwrap().port());

    let (_driver, driver) = chromedriver();
    let b = Browser::start(&driver).await;
    let shots = screenshots();

    // The national administrator's dashboard.
    b.log_in_with(&hub_base, "admin.national", ADMIN_PASSWORD)
        .await;
    b.until_shows("Selma Hamutenya").await;
    b.until_shows("gw-whk").await;
    // Its certificate (made for 30 days) is due: the fleet says so and what to run.
    let page = b.until_shows("id=\"renew-gw-whk\"").await;
    assert!(
        page.contains("renew: expires") && page.contains("pathway ca renew gw-whk"),
        "the fleet marks the certificate due for renewal"
    );
    assert!(
        page.contains("id=\"hub-certificate\"")
            && page.contains("The hub's certificate expires on")
            && page.contains("pathway ca renew-cert hub.pem"),
        "the dashboard warns of the hub's own certificate"
    );
    b.screenshot(&shots.join("hub-dashboard.png")).await;

    // The gateway's own page: its last 30 days, drawn on the server (here a month of hours as
    // the fleet keeps them: a backlog that builds while the link is down and drains after).
    let hour_now = now_ms() / 3_600_000;
    for h in 0..pathway_hub::fleet::HISTORY_HOURS {
        let hour = hour_now - h;
        let down = (h / 24) % 7 == 3;
        let seen = pathway_hub::fleet::Hour {
            to_it: if down {
                40 + (h % 24) as u64 * 5
            } else {
                (h % 5) as u64
            },
            from_it: Some(if down { 0 } else { (h % 3) as u64 * 10 }),
            contact: !down,
            level: !down && h % 4 == 0,
        };
        hub_store
            .update_local(
                pathway_hub::fleet::HISTORY,
                &format!("gw-whk/{hour:010}"),
                |_: Option<pathway_hub::fleet::Hour>| {
                    Ok::<_, pathway_shared::store::StoreError>((Some(seen), ()))
                },
            )
            .unwrap();
    }
    b.open(&format!("{hub_base}/gateways/gw-whk")).await;
    let page = b.until_shows("id=\"history\"").await;
    assert!(page.contains("<polyline"), "the chart is drawn");
    b.screenshot(&shots.join("hub-gateway-30-days.png")).await;

    // A new staff account at WHK, from its staff page.
    b.open(&format!("{hub_base}/facilities/WHK/staff")).await;
    b.until_shows("id=\"create-staff\"").await;
    b.type_into("#new-staff input[name=username]", "new.teacher")
        .await;
    b.type_into("#new-staff input[name=display_name]", "Maria Amukoto")
        .await;
    b.click("#new-staff input[name=roles][value=instructor]")
        .await;
    b.click("#create-staff").await;
    b.until_shows("id=\"otp\"").await;
    let otp =
        b.0.find(Locator::Css("#otp"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
    assert_eq!(
        otp.trim().len(),
        12,
        "a one-time password is shown: {otp:?}"
    );
    b.screenshot(&shots.join("hub-staff-created.png")).await;

    // A programme withdrawn.
    let programme = sample.programmes.iter().find(|p| !p.withdrawn).unwrap();
    b.open(&format!("{hub_base}/programmes")).await;
    b.click(&format!("#withdraw-{}", programme.code)).await;
    b.until_shows("withdrawn").await;
    b.open(&format!("{hub_base}/lang/th")).await;
    b.open(&format!("{hub_base}/programmes")).await;
    b.until_shows("ยกเลิกแล้ว").await;
    b.screenshot(&shots.join("hub-dashboard-th.png")).await;
    // The language cookie is the host's (here both are localhost): back to English.
    b.open(&format!("{hub_base}/lang/en")).await;

    // Both reach the gateway on its next sync.
    let account = staff_id("WHK", "new.teacher");
    let start = Instant::now();
    loop {
        let withdrawn = gateway
            .store
            .get::<Programme>(&programme_id(&programme.code))
            .unwrap()
            .is_some_and(|p| p.withdrawn);
        let arrived = gateway.store.get::<StaffAccount>(&account).unwrap();
        if let Some(a) = arrived.filter(|_| withdrawn) {
            assert!(a.must_change_password);
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the changes never reached the gateway"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // The new staff member logs in at the facility and must choose a password first.
    b.log_in_with(&gw_base, "new.teacher", otp.trim()).await;
    b.until_shows("id=\"save-password\"").await;
    b.screenshot(&shots.join("gateway-choose-password.png"))
        .await;
    b.type_into("input[name=current_password]", otp.trim())
        .await;
    b.type_into("input[name=new_password]", "maria's own secret")
        .await;
    b.type_into("input[name=repeat]", "maria's own secret")
        .await;
    b.click("#save-password").await;
    b.until_shows("Maria Amukoto").await;
    b.screenshot(&shots.join("gateway-new-staff-in.png")).await;

    b.0.close().await.unwrap();
    stop.cancel();
    gateway.shutdown().await;
    hub.shutdown().await;
}
