//! The indicators in a real headless Chromium, against the real `pathway-hub` and a gateway
//! that synced a sample facility to it: an auditor reads the nation, switches to the facility
//! and to another month, and exports CSV; the facility's manager reads the same figures at the
//! gateway; both in English and Thai. The hub's figures for the facility are the gateway's,
//! counted on each side from the records each holds. The manager records a release with the
//! first night's accommodation, and a national administrator follows it up at the hub.
//! Screenshots in
//! `target/screenshots/indicators-*.png`.

use std::time::{Duration, Instant};

use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::clock::now_ms;
use pathway_shared::indicators::report::Period;
use pathway_shared::model::{ProgrammeCategory, Role};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::free_tcp_port;
use pathway_tests::national::{ADMIN, NationalSite};
use pathway_tests::sample::{SampleConfig, SampleFacility};
use serde_json::json;

mod browser;
use browser::{Browser, chromedriver, screenshots};

/// The text of the row `id` of a page.
fn row(page: &str, id: &str) -> String {
    let at = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no {id} in {page}"));
    let end = page[at..].find("</tr>").map_or(page.len(), |e| at + e);
    page[at..end].to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_and_a_manager_read_the_same_indicators() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut site = tokio::task::block_in_place(|| NationalSite::start(d));
    let auditor = tokio::task::block_in_place(|| site.add_admin("auditor.one", "auditor"));
    let hub = format!("https://localhost:{}", site.admin.port());

    let sample = SampleFacility::generate(&SampleConfig {
        seed: 7,
        facility_id: "WHK".into(),
        facility_name: "Windhoek Correctional Facility".into(),
        cases: 80,
        marks: 1_200,
        ..SampleConfig::default()
    });
    // The country as its administrator set it up: the facility and the catalogue.
    let (st, v) = site
        .admin_call(
            "POST",
            "/api/facilities",
            Some(
                json!({"id": "WHK", "name": "Windhoek Correctional Facility",
                "name_th": "ทัณฑสถานวินด์ฮุก", "region": "Khomas", "time_zone": "Africa/Windhoek"}),
            ),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    for p in &sample.programmes {
        let category = serde_json::to_value(p.category).unwrap();
        let category = match p.category {
            ProgrammeCategory::AccreditedBehavioural => "accredited_behavioural".to_owned(),
            ProgrammeCategory::MentalHealth => "mental_health".to_owned(),
            ProgrammeCategory::SubstanceUse => "substance_use".to_owned(),
            _ => category.as_str().unwrap().to_lowercase(),
        };
        let (st, v) = site
            .admin_call(
                "POST",
                "/api/programmes",
                Some(
                    json!({"code": p.code, "title": p.title, "title_th": p.title_th,
                    "category": category, "duration_weeks": p.duration_weeks.max(1),
                    "sessions_per_week": p.sessions_per_week.max(1)}),
                ),
            )
            .await;
        assert!(st == 201 || st == 409, "{st} {v}");
    }

    // The facility's gateway, holding its records, syncs them to the hub.
    let status = format!("127.0.0.1:{}", free_tcp_port()).parse().unwrap();
    let config = tokio::task::block_in_place(|| {
        site.enrol_and_install(("gw-whk", "WHK"), site.hub_addr, &d.join("gw"), status)
    });
    let port = NationalSite::console_on_free_port(&config);
    let cfg = GatewayConfig::load(&config).unwrap();
    {
        let store = Store::open(&cfg.data_dir, StoreOptions::keyed(cfg.key_file())).unwrap();
        sample.load(&store, now_ms()).unwrap();
    }
    let started = now_ms();
    let gateway = Gateway::start(&cfg).unwrap();
    let until = Instant::now();
    while gateway
        .status
        .borrow()
        .sync
        .in_sync_at
        .is_none_or(|t| t < started)
    {
        assert!(until.elapsed() < Duration::from_secs(120), "never level");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let base = format!("https://localhost:{port}");

    let (_driver, driver) = chromedriver();
    let b = Browser::start(&driver).await;
    let shots = screenshots();
    let this_month = Period::month_of(pathway_shared::indicators::report::day_of(now_ms())).code();
    // The latest month the sample marked registers in.
    let marked = sample
        .registers
        .iter()
        .filter(|r| !r.marks.is_empty())
        .map(|r| r.month.clone())
        .max()
        .unwrap();

    // The auditor: the nation, then the facility this month.
    b.log_in_with(&hub, "auditor.one", &auditor).await;
    b.until_shows("href=\"/indicators\"").await;
    b.open(&format!("{hub}/indicators?period={this_month}"))
        .await;
    let nation = b.until_shows("id=\"headline\"").await;
    assert!(nation.contains("Purposeful activity"), "{nation}");
    assert!(
        nation.contains("Windhoek Correctional Facility"),
        "{nation}"
    );
    assert!(
        nation.contains("attended ÷ marks"),
        "the formula is beside it: {nation}"
    );
    // This month is not over: provisional, saying why.
    assert!(nation.contains("id=\"provisional\""), "{nation}");
    assert!(nation.contains("the period is not over yet"), "{nation}");
    b.screenshot(&shots.join("indicators-hub-nation.png")).await;

    b.choose("select[name=area]", "facility:WHK").await;
    b.choose("select[name=period]", &marked).await;
    b.click("form.choose button").await;
    let hub_page = b
        .until_shows(&format!("area=facility:WHK&amp;period={marked}"))
        .await;
    let hub_attendance = row(&hub_page, "fig-attendance");
    assert!(hub_attendance.contains('%'), "{hub_page}");
    b.screenshot(&shots.join("indicators-hub-facility.png"))
        .await;

    // The CSV of what is on screen: a row per figure, small cells left blank.
    assert!(hub_page.contains("id=\"csv\""), "{hub_page}");
    let (st, csv) = site
        .admin_raw_as(
            ("auditor.one", &auditor),
            "GET",
            &format!("/indicators.csv?area=facility:WHK&period={marked}"),
            "",
        )
        .await;
    assert_eq!(st, 200, "{csv}");
    assert!(
        csv.starts_with("area,facility,programme,period,indicator"),
        "{csv}"
    );
    assert!(csv.contains("attendance (Attendance)"), "{csv}");
    assert!(csv.contains(&format!("facility:WHK,,,{marked}")), "{csv}");

    // The month before, in Thai.
    b.open(&format!("{hub}/lang/th")).await;
    let last_year = Period::parse(&format!(
        "{}-01",
        time::OffsetDateTime::now_utc().year() - 1
    ))
    .unwrap()
    .code();
    b.open(&format!(
        "{hub}/indicators?area=facility:WHK&period={last_year}"
    ))
    .await;
    let th = b.until_shows("id=\"headline\"").await;
    assert!(
        th.contains("ตัวชี้วัด") && th.contains("อัตราการเข้าเรียน"),
        "{th}"
    );
    b.screenshot(&shots.join("indicators-hub-thai.png")).await;

    // The facility's manager, at the gateway: the same figure for this month.
    let manager = sample
        .staff
        .iter()
        .find(|s| s.roles.contains(&Role::FacilityManager))
        .unwrap();
    b.log_in(&base, &manager.username).await;
    b.until_shows("href=\"/indicators\"").await;
    b.open(&format!("{base}/lang/en")).await;
    b.open(&format!("{base}/indicators?period={marked}")).await;
    let local = b.until_shows("id=\"headline\"").await;
    let local_attendance = row(&local, "fig-attendance");
    let figure = |r: &str| {
        r.split("class=\"num\">")
            .nth(1)
            .and_then(|s| s.split('<').next())
            .map(str::to_owned)
    };
    assert_eq!(
        figure(&local_attendance),
        figure(&hub_attendance),
        "the hub counts what the facility counts:\n{local_attendance}\n{hub_attendance}"
    );
    b.screenshot(&shots.join("indicators-gateway-manager.png"))
        .await;
    b.open(&format!("{base}/lang/th")).await;
    b.open(&format!("{base}/indicators")).await;
    let th = b.until_shows("id=\"headline\"").await;
    assert!(th.contains("กิจกรรมที่เป็นประโยชน์"), "{th}");
    b.screenshot(&shots.join("indicators-gateway-thai.png"))
        .await;

    // The manager records a release, with where the person sleeps the first night.
    let person = sample
        .cases
        .iter()
        .find(|c| c.release.is_none())
        .unwrap()
        .person_id
        .clone();
    b.open(&format!("{base}/lang/en")).await;
    b.open(&format!("{base}/people/{person}")).await;
    b.until_shows("id=\"open-release\"").await;
    b.click("#open-release").await;
    b.choose("#release-first-night", "temporary").await;
    b.click("#release-confirm").await;
    b.click("#save-release").await;
    let released = b.until_shows("id=\"released\"").await;
    assert!(released.contains("Temporary accommodation"), "{released}");
    b.scroll_to("#released").await;
    b.screenshot(&shots.join("indicators-gateway-release.png"))
        .await;

    // At the hub, once it has arrived, a national administrator follows the person up.
    let since = now_ms();
    let until = Instant::now();
    while gateway
        .status
        .borrow()
        .sync
        .in_sync_at
        .is_none_or(|t| t < since)
    {
        assert!(
            until.elapsed() < Duration::from_secs(60),
            "the release never reached the hub"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    b.log_in_with(&hub, ADMIN, &site.admin_password).await;
    b.until_shows("href=\"/follow-ups\"").await;
    b.open(&format!("{hub}/lang/en")).await;
    b.open(&format!("{hub}/follow-ups?facility=WHK&month={this_month}"))
        .await;
    let due = b.until_shows(&format!("id=\"follow-{person}\"")).await;
    assert!(due.contains("Follow-up due"), "{due}");
    b.screenshot(&shots.join("indicators-hub-follow-ups.png"))
        .await;
    b.choose(
        &format!("#follow-{person} select[name=accommodation]"),
        "settled",
    )
    .await;
    b.choose(&format!("#follow-{person} select[name=ete]"), "yes")
        .await;
    b.click(&format!("#follow-{person} button.record")).await;
    let done = b.until_shows("✔ settled accommodation").await;
    assert!(done.contains(ADMIN), "{done}");
    b.open(&format!("{hub}/lang/th")).await;
    b.open(&format!("{hub}/follow-ups?facility=WHK&month={this_month}"))
        .await;
    let th = b.until_shows("ที่พักถาวร").await;
    assert!(th.contains("การติดตามผล"), "{th}");
    b.screenshot(&shots.join("indicators-hub-follow-ups-thai.png"))
        .await;

    gateway.shutdown().await;
}
