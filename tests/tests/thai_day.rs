//! A Thai facility's day in a real headless Chromium, in Thai first and then in English: an
//! instructor makes a run, builds its class from the waiting list, marks today's session with
//! "all present" and two absences with reasons, and sees the week's timetable; a case officer
//! edits a release plan and transfers a person; the manager gives a unit to a case officer and
//! resets a password; every time shown is Bangkok time. Screenshots go to
//! `target/screenshots/thai-*.png`.

use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::identity::Ca;
use pathway_shared::model::{CaseFile, Facility, Role, case_id, iso_date};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::gateway_config;
use pathway_tests::sample::{Country, SampleConfig, SampleFacility};

mod browser;
use browser::{Browser, chromedriver, screenshots};

/// Bangkok's offset, for the test's own expectations (Thailand keeps no summer time).
fn bangkok_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc().to_offset(time::UtcOffset::from_hms(7, 0, 0).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thai_facilitys_day_in_chromium() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let today = bangkok_now().date();
    let sample = SampleFacility::generate(&SampleConfig {
        seed: 2,
        facility_id: "BKK".into(),
        facility_name: "Bangkok Central Prison".into(),
        facility_name_th: "เรือนจำกลางกรุงเทพ".into(),
        country: Country::Thailand,
        cases: 60,
        marks: 600,
        today,
    });
    {
        let store = Store::open(d.join("data"), StoreOptions::keyed(d.join("store.key"))).unwrap();
        sample.load(&store, 1).unwrap();
        let other = Facility {
            id: "CMI".into(),
            name: "Chiang Mai Central Prison".into(),
            name_th: "เรือนจำกลางเชียงใหม่".into(),
            time_zone: "Asia/Bangkok".into(),
            ..Facility::default()
        };
        store.put(&other, 1).unwrap();
    }
    let ca = Ca::generate("Pathway test CA").unwrap();
    let nowhere = ("127.0.0.1:9".parse().unwrap(), "hub");
    let path = gateway_config(
        d,
        &ca,
        ("gw-bkk", "BKK"),
        "127.0.0.1:0".parse().unwrap(),
        nowhere,
    )
    .unwrap();
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
            .clone()
    };
    let instructor = staff(Role::Instructor);

    // Thai first, before anyone chooses.
    b.log_in(&base, &instructor.username).await;
    let page = b.until_shows("href=\"/timetable\"").await;
    assert!(
        page.contains("lang=\"th\"") && page.contains("ตารางกิจกรรม"),
        "{page}"
    );

    // A new run, every day from today, then its class from the waiting list.
    b.open(&format!("{base}/runs/new")).await;
    b.until_shows("id=\"create-run\"").await;
    b.type_into("#place", "ห้องเรียน 9").await;
    b.set("end-date", &iso_date(today + time::Duration::days(28)))
        .await;
    for day in ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] {
        b.click(&format!("#day-{day}")).await;
    }
    b.set("start-time", "07:00").await;
    b.set("end-time", "08:00").await;
    b.click("#create-run").await;
    b.until_shows("id=\"saved\"").await;
    let url = b.0.current_url().await.unwrap();
    let run = url
        .path()
        .strip_prefix("/runs/")
        .expect("the new run's page")
        .to_owned();
    let people: Vec<&CaseFile> = sample.cases.iter().take(3).collect();
    for p in &people {
        b.open(&format!("{base}/runs/{run}")).await;
        b.until_shows("id=\"find-person\"").await;
        b.type_into("#find-person", &p.prison_number).await;
        b.click("#find").await;
        b.until_shows("id=\"found\"").await;
        b.click("#found form button").await;
        b.until_shows("id=\"saved\"").await;
        b.click(&format!(
            "#run-people form[action=\"/runs/{run}/allocate\"] button"
        ))
        .await;
        b.until_shows("ให้ที่นั่งแล้ว").await;
    }
    let page = b.until_shows("id=\"run-people\"").await;
    for p in &people {
        assert!(page.contains(&p.given_name), "{page}");
    }
    b.screenshot(&shots.join("thai-instructor-class-list.png"))
        .await;

    // Today's session: everyone present, then two absences with reasons.
    let today_iso = iso_date(today);
    let session = format!("{base}/sessions/{run}/{}/{today_iso}", &today_iso[..7]);
    b.open(&session).await;
    b.until_shows("id=\"all-present\"").await;
    b.click("#all-present").await;
    b.until_shows("value=\"attended\" selected").await;
    for (p, reason) in [(people[0], "court"), (people[1], "sick")] {
        b.choose(
            &format!("select[name=\"mark.{}\"]", p.person_id),
            "absent_excused",
        )
        .await;
        b.choose(&format!("select[name=\"reason.{}\"]", p.person_id), reason)
            .await;
    }
    b.screenshot(&shots.join("thai-register-all-present-two-absent.png"))
        .await;
    b.click("#save-attendance").await;
    b.until_shows("id=\"saved\"").await;
    b.open(&format!("{base}/timetable")).await;
    let page = b.until_shows("id=\"timetable\"").await;
    assert!(
        page.contains("ห้องเรียน 9") && page.contains("เช็กชื่อแล้ว 3 คน"),
        "{page}"
    );
    b.screenshot(&shots.join("thai-timetable.png")).await;
    b.open(&format!("{base}/runs/{run}/print")).await;
    b.until_shows("id=\"paper-register\"").await;
    b.screenshot(&shots.join("thai-paper-register.png")).await;

    // A case officer edits a release plan and transfers a person.
    let officer = staff(Role::CaseOfficer);
    let theirs = sample
        .cases
        .iter()
        .find(|c| c.case_officer.as_deref() == Some(&officer.username))
        .unwrap();
    b.log_in(&base, &officer.username).await;
    b.until_shows("href=\"/timetable\"").await;
    b.open(&format!("{base}/people/{}", theirs.person_id)).await;
    b.until_shows("id=\"plan\"").await;
    b.click("#plan-accommodation summary").await;
    b.choose("#plan-accommodation select[name=status]", "done")
        .await;
    b.type_into(
        "#plan-accommodation input[name=details]",
        "บ้านพักชั่วคราว 12 ถนนพหลโยธิน",
    )
    .await;
    b.click("#plan-accommodation button").await;
    b.until_shows("บันทึกแผนก่อนปล่อยตัวแล้ว").await;
    // A note written now shows at Bangkok's time.
    b.type_into("#note-text", "พูดคุยเรื่องที่พักหลังปล่อยตัว").await;
    b.click("#save-note").await;
    let page = b.until_shows("พูดคุยเรื่องที่พักหลังปล่อยตัว").await;
    let now = bangkok_now();
    let shown = |t: time::OffsetDateTime| format!("{:02}:{:02}", t.hour(), t.minute());
    assert!(
        page.contains(&shown(now)) || page.contains(&shown(now - time::Duration::minutes(1))),
        "the note's time is Bangkok's ({}): {page}",
        shown(now)
    );
    b.click("#open-transfer").await;
    b.choose("#transfer-to", "CMI").await;
    b.type_into("#transfer-reason", "ใกล้ครอบครัว").await;
    b.click("#transfer-confirm").await;
    b.scroll_to("#plan").await;
    b.screenshot(&shots.join("thai-case-officer-transfer.png"))
        .await;
    b.click("#save-transfer").await;
    b.until_shows("id=\"transfer-pending\"").await;
    b.scroll_to("#plan").await;
    b.screenshot(&shots.join("thai-case-officer-release-plan.png"))
        .await;

    // The manager gives a unit's people to a case officer and resets a password, in English.
    let manager = staff(Role::FacilityManager);
    b.log_in(&base, &manager.username).await;
    b.until_shows("href=\"/timetable\"").await;
    b.open(&format!("{base}/lang/en")).await;
    b.open(&format!("{base}/caseload")).await;
    b.until_shows("id=\"by-unit\"").await;
    b.choose("#unit", "แดน 3").await;
    b.choose("#unit-officer", &officer.username).await;
    b.click("#give-unit").await;
    b.until_shows("The unit's people were given to the case officer.")
        .await;
    b.screenshot(&shots.join("thai-manager-caseloads-english.png"))
        .await;
    b.open(&format!("{base}/staff")).await;
    b.click(&format!("[id=\"reset-{}\"]", instructor.username))
        .await;
    b.until_shows("id=\"otp\"").await;
    b.screenshot(&shots.join("thai-manager-reset-password.png"))
        .await;

    let store_closed = gateway.store.clone();
    let moved: CaseFile = store_closed
        .get(&case_id(&theirs.person_id))
        .unwrap()
        .unwrap();
    assert_eq!(
        moved
            .transfers
            .values()
            .next()
            .map(|t| t.to_facility.as_str()),
        Some("CMI")
    );
    let in_unit: Vec<CaseFile> = sample
        .cases
        .iter()
        .filter(|c| c.location.as_ref().is_some_and(|l| l.value.unit == "แดน 3"))
        .filter_map(|c| {
            store_closed
                .get::<CaseFile>(&case_id(&c.person_id))
                .unwrap()
        })
        .collect();
    assert!(!in_unit.is_empty());
    assert!(
        in_unit.iter().all(
            |c| c.case_officer.as_deref() == Some(officer.username.as_str()) || c.release.is_some()
        ),
        "the unit's people are the officer's"
    );
    drop(store_closed);
    gateway.shutdown().await;
}
