//! The staff console in a real headless Chromium, driven over WebDriver (chromedriver), through
//! a facility's day: an instructor marks today's session by name, is warned before a late mark
//! and makes a programme run; a records officer admits a person; their case officer finds them
//! by name, records a needs assessment, makes a referral and sees them on the caseload; a health
//! worker sees the health domain the case officer does not; pages in Thai. Screenshots are
//! saved under `target/screenshots/`. Chromium and chromedriver come from Debian's packages,
//! which `.ci/run` installs.

use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::identity::Ca;
use pathway_shared::model::{CaseFile, Role, WaitStatus, case_id};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::offline_gateway_config;
use pathway_tests::sample::{SampleConfig, SampleFacility};

mod browser;
use browser::{Browser, chromedriver, screenshots};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facilitys_day_in_chromium_in_english_and_thai() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let today = time::OffsetDateTime::now_utc().date();
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 60,
        marks: 600,
        today,
        ..SampleConfig::default()
    });
    {
        let store = Store::open(d.join("data"), StoreOptions::keyed(d.join("store.key"))).unwrap();
        sample.load(&store, 1).unwrap();
    }
    let ca = Ca::generate("Pathway test CA").unwrap();
    let path = offline_gateway_config(d, &ca, "127.0.0.1:0".parse().unwrap()).unwrap();
    let cfg = GatewayConfig::load(&path).unwrap();
    let gateway = Gateway::start(&cfg).unwrap();
    let base = format!("https://localhost:{}", gateway.lan_addr.unwrap().port());

    let (_driver, driver) = chromedriver();
    let b = Browser::start(&driver).await;
    let shots = screenshots();
    let staff = |role: Role| {
        sample
            .staff
            .iter()
            .find(|s| s.roles.contains(&role))
            .unwrap()
            .username
            .clone()
    };
    let iso = pathway_shared::model::iso_date;

    // An instructor whose run meets today, and one of the people on it.
    let (run, reg) = sample
        .registers
        .iter()
        .filter(|r| r.sessions.contains_key(&iso(today)))
        .find_map(|reg| {
            let run = sample.runs.iter().find(|r| r.id == reg.run_id)?;
            (run.allocated() > 0).then_some((run, reg))
        })
        .expect("the sample has a session today with people on it");
    let on_run = run
        .waiting_list
        .values()
        .find(|w| w.status == WaitStatus::Allocated)
        .unwrap();
    let learner = sample
        .cases
        .iter()
        .find(|c| c.person_id == on_run.person_id)
        .unwrap();
    let learner_name = format!("{} {}", learner.given_name, learner.family_name);
    b.log_in(&base, &run.instructor).await;
    let page = b.until_shows("id=\"mine\"").await;
    assert!(
        !page.contains("id=\"certificate\""),
        "an instructor is not shown the box's certificate"
    );
    b.screenshot(&shots.join("instructor-today.png")).await;
    b.open(&format!(
        "{base}/sessions/{}/{}/{}",
        run.id,
        reg.month,
        iso(today)
    ))
    .await;
    let page = b.until_shows("id=\"save-attendance\"").await;
    assert!(
        page.contains(&learner_name),
        "the register lists people by name"
    );
    b.choose(
        &format!("select[name=\"mark.{}\"]", learner.person_id),
        "attended",
    )
    .await;
    b.click("#save-attendance").await;
    b.until_shows("id=\"saved\"").await;
    b.screenshot(&shots.join("instructor-marks-today-by-name.png"))
        .await;

    // A session ten or more days ago: a mark is warned before it is saved, and shown late.
    let (old_month, old_session) = sample
        .registers
        .iter()
        .filter(|r| r.run_id == run.id)
        .flat_map(|r| {
            r.sessions
                .iter()
                .map(move |(id, s)| (r.month.clone(), id.clone(), s.date.clone()))
        })
        .filter(|(_, _, date)| {
            let d = pathway_shared::model::parse_date(date).unwrap();
            d <= today - time::Duration::days(10)
        })
        .map(|(m, id, _)| (m, id))
        .next_back()
        .expect("an old session of the run");
    let old = format!("{base}/sessions/{}/{old_month}/{old_session}", run.id);
    b.open(&old).await;
    b.until_shows("id=\"late-warning\"").await;
    b.choose(
        &format!("select[name=\"mark.{}\"]", learner.person_id),
        "absent_excused",
    )
    .await;
    b.click("#save-attendance").await;
    b.until_shows("tick the box to confirm").await;
    b.open(&old).await;
    b.until_shows("id=\"late-warning\"").await;
    b.choose(
        &format!("select[name=\"mark.{}\"]", learner.person_id),
        "absent_excused",
    )
    .await;
    b.click("#confirm-late").await;
    b.screenshot(&shots.join("instructor-late-mark-warned.png"))
        .await;
    b.click("#save-attendance").await;
    let page = b.until_shows("id=\"saved\"").await;
    assert!(
        page.contains("class=\"late\""),
        "the late mark is shown as late"
    );

    // The instructor makes a run that meets today.
    b.open(&format!("{base}/runs/new")).await;
    b.until_shows("id=\"create-run\"").await;
    b.type_into("#place", "Workshop 9").await;
    b.set("end-date", &iso(today + time::Duration::days(60)))
        .await;
    let day = format!("{:?}", today.weekday()).to_lowercase()[..3].to_owned();
    b.click(&format!("#day-{day}")).await;
    b.click("#create-run").await;
    let page = b.until_shows("id=\"saved\"").await;
    assert!(page.contains("Workshop 9"));
    b.screenshot(&shots.join("instructor-creates-run.png"))
        .await;
    b.click("header button").await;

    // A records officer admits a person for a case officer.
    let officer = staff(Role::CaseOfficer);
    b.until_shows("id=\"login\"").await;
    b.log_in(&base, &staff(Role::RecordsOfficer)).await;
    b.until_shows("id=\"sync\"").await;
    b.open(&format!("{base}/admit")).await;
    b.until_shows("id=\"admit\"").await;
    b.type_into("#prison_number", "2026/9001").await;
    b.type_into("#given_name", "Tuyeni").await;
    b.type_into("#family_name", "Amupolo").await;
    b.choose("#custody_status", "sentenced").await;
    b.set(
        "expected_release_date",
        &iso(today + time::Duration::days(50)),
    )
    .await;
    b.type_into("#unit", "Unit C").await;
    b.type_into("#cell", "14").await;
    b.type_into("#case_officer", &officer).await;
    b.screenshot(&shots.join("records-officer-admits.png"))
        .await;
    b.click("#admit").await;
    b.until_shows("Case file opened").await;
    b.click("header button").await;

    // The case officer finds them by name, assesses a need, refers, sees the caseload.
    b.until_shows("id=\"login\"").await;
    b.log_in(&base, &officer).await;
    b.until_shows("id=\"sync\"").await;
    b.open(&format!("{base}/people?q=tuyeni")).await;
    b.until_shows("Tuyeni Amupolo").await;
    b.screenshot(&shots.join("case-officer-search.png")).await;
    b.click("#found a").await;
    b.until_shows("id=\"open-assess\"").await;
    b.click("#open-assess").await;
    b.choose("#need-domain", "accommodation").await;
    b.choose("#need-level", "high").await;
    b.click("#save-need").await;
    b.until_shows("Assessment saved").await;
    b.click("#open-referral").await;
    b.type_into("#referral-reason", "No address to go to on release.")
        .await;
    b.click("#save-referral").await;
    let page = b.until_shows("Referral sent").await;
    assert!(page.contains("No address to go to on release."));
    b.screenshot(&shots.join("case-officer-case-page.png"))
        .await;
    b.open(&format!("{base}/caseload")).await;
    let page = b.until_shows("id=\"caseload\"").await;
    assert!(page.contains("Tuyeni Amupolo") && page.contains("release within 12 weeks"));
    b.screenshot(&shots.join("case-officer-caseload.png")).await;
    let person = &sample.cases[0].person_id;
    b.open(&format!("{base}/people/{person}")).await;
    let page = b.until_shows("id=\"needs\"").await;
    assert!(
        !page.contains("Substance use"),
        "the case officer sees no health domain"
    );
    b.click("header button").await;

    // A health worker sees the health domains, in English and in Thai.
    b.until_shows("id=\"login\"").await;
    b.log_in(&base, &staff(Role::HealthStaff)).await;
    b.until_shows("id=\"sync\"").await;
    b.open(&format!("{base}/people/{person}")).await;
    let page = b.until_shows("id=\"needs\"").await;
    assert!(
        page.contains("Substance use"),
        "health staff see the health domains"
    );
    b.screenshot(&shots.join("health-worker-case-page.png"))
        .await;
    b.open(&format!("{base}/lang/th")).await;
    b.open(&format!("{base}/people/{person}")).await;
    b.until_shows("การใช้สารเสพติด").await;
    b.screenshot(&shots.join("health-worker-case-page-th.png"))
        .await;
    b.open(&format!("{base}/today")).await;
    b.until_shows("วันนี้").await;
    b.screenshot(&shots.join("today-th.png")).await;
    b.click("header button").await;

    // Facility IT is warned, in Thai, that this box's certificate (30 days) is due for renewal.
    b.until_shows("id=\"login\"").await;
    b.log_in(&base, &staff(Role::FacilityIt)).await;
    let page = b.until_shows("id=\"certificate\"").await;
    assert!(
        page.contains("ใบรับรองของเครื่องนี้จะหมดอายุวันที่"),
        "the warning is in Thai"
    );
    b.screenshot(&shots.join("facility-it-certificate-due-th.png"))
        .await;
    b.open(&format!("{base}/lang/en")).await;
    b.open(&format!("{base}/today")).await;
    let page = b.until_shows("id=\"certificate\"").await;
    assert!(
        page.contains("certificate expires on") && page.contains("in 30 days"),
        "the warning names the date and the days left"
    );
    b.screenshot(&shots.join("facility-it-certificate-due.png"))
        .await;
    // Facility IT gives a teacher who forgot their password a one-time password, here.
    b.open(&format!("{base}/staff")).await;
    b.until_shows("id=\"staff\"").await;
    let teacher = staff(Role::Instructor);
    b.click(&format!("#reset-{}", teacher.replace('.', "\\.")))
        .await;
    let page = b.until_shows("id=\"otp\"").await;
    assert!(page.contains("not shown again"), "{page}");
    b.screenshot(&shots.join("facility-it-resets-a-password.png"))
        .await;
    b.0.close().await.unwrap();

    let case = gateway
        .store
        .get::<CaseFile>(&case_id(&learner.person_id))
        .unwrap()
        .unwrap();
    assert_eq!(case.person_id, learner.person_id);
    for f in [
        "instructor-marks-today-by-name.png",
        "case-officer-case-page.png",
        "health-worker-case-page-th.png",
    ] {
        let bytes = std::fs::read(shots.join(f)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{f} is a PNG");
    }
    gateway.shutdown().await;
}
