//! A country set up from nothing in the dashboard, in a real headless Chromium against the real
//! `pathway-hub`: from a fresh hub with one administrator, two facilities, two programmes, two
//! partners and a staff account are made in the dashboard alone (a bad time zone is refused,
//! naming the field, in Thai too), the gateway is registered there, enrolled and installed; the
//! staff member logs in at the gateway with the one-time password. Screenshots in English and
//! Thai in `target/screenshots/`.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use pathway_tests::national::{ADMIN, NationalSite};

mod browser;
use browser::{Browser, chromedriver, screenshots};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_country_is_set_up_from_nothing_in_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let site = tokio::task::block_in_place(|| NationalSite::start(d));
    let hub = format!("https://localhost:{}", site.admin.port());
    let (_driver, driver) = chromedriver();
    let b = Browser::start(&driver).await;
    let shots = screenshots();

    b.log_in_with(&hub, ADMIN, &site.admin_password).await;
    // A fresh hub says what to do first.
    let page = b.until_shows("id=\"first-steps\"").await;
    assert!(page.contains("Add the facilities"), "{page}");
    b.screenshot(&shots.join("country-first-steps.png")).await;

    // Two facilities; a time zone that does not exist is refused, naming the field.
    b.open(&format!("{hub}/facilities")).await;
    let facility = |code: &'static str, name: &'static str, th: &'static str, tz: &'static str| {
        let b = &b;
        let hub = &hub;
        async move {
            b.open(&format!("{hub}/facilities")).await;
            b.type_into("input[name=id]", code).await;
            b.type_into("input[name=name]", name).await;
            b.type_into("input[name=name_th]", th).await;
            b.type_into("input[name=region]", "Khomas").await;
            b.type_into("input[name=time_zone]", tz).await;
            b.click("#add-facility").await;
        }
    };
    facility(
        "WHK",
        "Windhoek Correctional Facility",
        "ทัณฑสถานวินด์ฮุก",
        "Mars/Olympus",
    )
    .await;
    let page = b.until_shows("id=\"field\"").await;
    assert!(
        page.contains("Time zone") && page.contains("Mars/Olympus"),
        "{page}"
    );
    b.screenshot(&shots.join("country-bad-time-zone.png")).await;
    facility(
        "WHK",
        "Windhoek Correctional Facility",
        "ทัณฑสถานวินด์ฮุก",
        "Africa/Windhoek",
    )
    .await;
    b.until_shows("id=\"facility-WHK\"").await;
    facility(
        "OLU",
        "Oluno Correctional Facility",
        "ทัณฑสถานโอลูโน",
        "Africa/Windhoek",
    )
    .await;
    b.until_shows("id=\"facility-OLU\"").await;
    b.screenshot(&shots.join("country-facilities.png")).await;

    // Two programmes, titled in both languages.
    for (code, title, th) in [
        (
            "LIT-1",
            "Adult literacy, level 1",
            "การอ่านออกเขียนได้สำหรับผู้ใหญ่ ระดับ 1",
        ),
        ("WLD-1", "Welding and fabrication", "งานเชื่อมและขึ้นรูปโลหะ"),
    ] {
        b.open(&format!("{hub}/programmes")).await;
        b.type_into("input[name=code]", code).await;
        b.type_into("input[name=title]", title).await;
        b.type_into("input[name=title_th]", th).await;
        b.click("#add-programme").await;
        b.until_shows(&format!("id=\"programme-{code}\"")).await;
    }
    // Two partners.
    for (id, name, kind, services) in [
        (
            "namcot",
            "NamCot Housing Trust",
            "housing_provider",
            "emergency housing",
        ),
        (
            "wkshop",
            "Katutura Works",
            "employer",
            "apprenticeships\nCV workshop",
        ),
    ] {
        b.open(&format!("{hub}/partners")).await;
        b.type_into("input[name=id]", id).await;
        b.type_into("input[name=name]", name).await;
        b.choose("select[name=kind]", kind).await;
        b.type_into("textarea[name=services]", services).await;
        b.click("#add-partner").await;
        b.until_shows(&format!("id=\"partner-{id}\"")).await;
    }
    b.screenshot(&shots.join("country-partners.png")).await;

    // A staff account at Windhoek, with a one-time password.
    b.open(&format!("{hub}/facilities/WHK/staff")).await;
    b.type_into("#new-staff input[name=username]", "maria.a")
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
            .unwrap()
            .trim()
            .to_owned();
    assert_eq!(otp.len(), 12, "a one-time password: {otp:?}");
    b.open(&format!("{hub}/facilities/WHK/staff?q=maria")).await;
    b.until_shows("id=\"staff-maria.a\"").await;
    b.screenshot(&shots.join("country-staff.png")).await;

    // The gateway registered in the dashboard, then enrolled and installed: the fleet lists it
    // before it ever connects.
    b.open(&format!("{hub}/")).await;
    b.type_into("input[name=gateway]", "gw-whk01-a").await;
    b.choose("#fleet select[name=facility]", "WHK").await;
    b.click("#register-gateway").await;
    let page = b.until_shows("id=\"gw-gw-whk01-a\"").await;
    assert!(page.contains("never connected"), "{page}");
    assert!(
        !page.contains("id=\"first-steps\""),
        "every first step is done"
    );
    b.screenshot(&shots.join("country-fleet.png")).await;

    let root = d.join("box");
    let status: std::net::SocketAddr = format!("127.0.0.1:{}", pathway_tests::free_tcp_port())
        .parse()
        .unwrap();
    let config = tokio::task::block_in_place(|| {
        site.enrol_and_install(("gw-whk01-a", "WHK"), site.hub_addr, &root, status)
    });
    let lan_port = NationalSite::console_on_free_port(&config);
    let mut gw = pathway_tests::spawn_gateway(&config);
    // The account reaches the gateway; its new staff member logs in with the one-time password
    // and must choose their own.
    let gw_base = format!("https://localhost:{lan_port}");
    let start = Instant::now();
    loop {
        b.log_in_with(&gw_base, "maria.a", &otp).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        if b.0
            .source()
            .await
            .unwrap_or_default()
            .contains("id=\"save-password\"")
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the account never let its owner in at the gateway"
        );
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    b.screenshot(&shots.join("country-gateway-first-login.png"))
        .await;

    // The same pages in Thai.
    b.open(&format!("{hub}/lang/th")).await;
    b.until_shows("เกตเวย์").await;
    b.screenshot(&shots.join("country-fleet-th.png")).await;
    b.open(&format!("{hub}/facilities")).await;
    b.until_shows("ทัณฑสถานวินด์ฮุก").await;
    b.screenshot(&shots.join("country-facilities-th.png")).await;
    b.open(&format!("{hub}/programmes")).await;
    b.until_shows("งานเชื่อมและขึ้นรูปโลหะ").await;
    b.screenshot(&shots.join("country-programmes-th.png")).await;
    facility("KHM", "Khomas Unit", "", "Nowhere/Here").await;
    let page = b.until_shows("id=\"field\"").await;
    assert!(
        page.contains("เขตเวลา"),
        "the refusal names the field in Thai: {page}"
    );
    b.screenshot(&shots.join("country-bad-time-zone-th.png"))
        .await;
    b.open(&format!("{hub}/audit")).await;
    let page = b.until_shows("id=\"audit\"").await;
    for action in [
        "create_facility",
        "create_programme",
        "create_partner",
        "create_staff",
        "register_gateway",
    ] {
        assert!(
            page.contains(&format!("<code>{action}</code>")),
            "{action} is in the audit trail"
        );
    }
    assert!(page.contains("สร้างบัญชีเจ้าหน้าที่"), "actions in words");
    // Filtered by facility and action.
    b.open(&format!("{hub}/audit?facility=OLU&action=create_facility"))
        .await;
    let page = b.until_shows("id=\"audit\"").await;
    assert!(
        page.contains("facility/OLU") && !page.contains("facility/WHK"),
        "{page}"
    );
    b.screenshot(&shots.join("country-audit-th.png")).await;
    b.open(&format!("{hub}/lang/en")).await;

    b.0.close().await.unwrap();
    let _ = gw.kill();
    let _ = gw.wait();
}
