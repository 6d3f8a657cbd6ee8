//! The facility's case work over the API and the console, against a real store: admitting a
//! person (a held number refused by name), finding people by name in Thai and Latin script,
//! the caseload's due items, health content kept from those who may not see it, and a field
//! set at the facility and at the hub apart shown with both values until someone chooses.

use axum::http::StatusCode;
use pathway_shared::model::*;
use pathway_shared::store::{Store, StoreOptions};
use serde_json::{Value, json};

mod common;
use common::*;

async fn admit(site: &Site, token: &str, body: Value) -> (StatusCode, Value) {
    call(
        site,
        "POST",
        "/api/cases",
        Some(token),
        Some(body.to_string()),
    )
    .await
}

fn person(number: &str, given: &str, family: &str) -> Value {
    json!({
        "prison_number": number, "given_name": given, "family_name": family,
        "custody_status": "sentenced", "unit": "Unit B", "cell": "12",
    })
}

fn case_files(site: &Site) -> usize {
    site.store
        .list(&format!("facility:{FAC}"), Kind::CaseFile)
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_opens_a_case_file_and_refuses_a_held_number_by_name() {
    let site = site();
    let records = login(&site, "records").await;
    let mut anna = person("2026/555", "Anna", "Shikongo");
    anna["expected_release_date"] = json!(day(&site, 400));
    anna["security_level"] = json!("high");
    anna["case_officer"] = json!("caseworker");
    let (s, v) = admit(&site, &records, anna).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["person_id"].as_str().unwrap().to_owned();
    assert_eq!(id, "WHK-000003", "the next number after the two held");

    let cw = login(&site, "caseworker").await;
    let (s, case) = call(&site, "GET", &format!("/api/cases/{id}"), Some(&cw), None).await;
    assert_eq!(s, StatusCode::OK, "{case}");
    assert_eq!(case["custody_status"]["value"], "sentenced");
    assert_eq!(case["custody_status"]["by"], "records");
    assert_eq!(case["location"]["value"]["cell"], "12");
    assert_eq!(case["security"]["value"]["level"], "high");
    assert_eq!(case["admission_date"], day(&site, 0));
    assert_eq!(case["moves"].as_object().unwrap().len(), 1);

    let before = case_files(&site);
    let (s, v) = admit(&site, &records, person(" 2026/555 ", "Other", "Person")).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    assert_eq!(v["field"], "prison_number");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("Anna Shikongo (WHK-000003)"),
        "{v}"
    );

    let with = |k: &str, val: Value| {
        let mut p = person("2026/777", "Bad", "Input");
        p[k] = val;
        p
    };
    let bad = [
        ("given_name", with("given_name", json!("A\u{202e}nna"))),
        ("given_name", with("given_name", json!("\u{200b} "))),
        ("family_name", with("family_name", json!("x".repeat(101)))),
        ("date_of_birth", with("date_of_birth", json!("9999-12-31"))),
        ("date_of_birth", with("date_of_birth", json!("31/12/1990"))),
        ("custody_status", with("custody_status", json!("jailed"))),
        ("unit", with("unit", json!(""))),
        ("security_level", with("security_level", json!("extreme"))),
        (
            "expected_release_date",
            with("expected_release_date", json!("2000-01-01")),
        ),
    ];
    for (field, body) in bad {
        let (s, v) = admit(&site, &records, body.clone()).await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{body}: {v}"
        );
    }
    let teacher = login(&site, "teacher").await;
    let (s, _) = admit(&site, &teacher, person("2026/778", "Not", "Allowed")).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "an instructor does not admit people"
    );
    assert_eq!(case_files(&site), before, "nothing refused was stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_are_found_by_name_in_thai_and_latin_script_by_number_and_by_id() {
    let site = site();
    let records = login(&site, "records").await;
    for (n, g, f) in [
        ("A-1", "José", "Müller"),
        ("A-2", "สมชาย", "ใจดี"),
        ("A-3", "Renée", "Ōtsuka"),
        ("B-44", "Jose", "Nangolo"),
    ] {
        let (s, v) = admit(&site, &records, person(n, g, f)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let cw = login(&site, "caseworker").await;
    let names = |v: &Value| -> Vec<String> {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                format!(
                    "{} {}",
                    p["given_name"].as_str().unwrap(),
                    p["family_name"].as_str().unwrap()
                )
            })
            .collect()
    };
    for (q, expect) in [
        ("jose", vec!["José Müller", "Jose Nangolo"]),
        ("JOSÉ muller", vec!["José Müller"]),
        ("renee otsuka", vec!["Renée Ōtsuka"]),
        ("สมชาย", vec!["สมชาย ใจดี"]),
        ("ใจดี สมชาย", vec!["สมชาย ใจดี"]),
        ("b-44", vec!["Jose Nangolo"]),
        ("WHK-000001", vec!["Ndapewa "]),
        ("nobody", vec![]),
    ] {
        let url = format!("/api/cases?q={}", urlencode(q));
        let (s, v) = call(&site, "GET", &url, Some(&cw), None).await;
        assert_eq!(s, StatusCode::OK, "{q}: {v}");
        let mut got = names(&v);
        got.sort();
        let mut want: Vec<String> = expect.iter().map(|s| (*s).to_owned()).collect();
        want.sort();
        assert_eq!(got, want, "search {q:?}");
    }
    // The console finds by name too, shows names, and the search is audited with who was shown.
    let (s, html) = page(&site, &format!("/people?q={}", urlencode("müller")), &cw).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("José Müller") && html.contains("A-1"),
        "{html}"
    );
    let audit = site
        .store
        .list(&format!("facility:{FAC}"), Kind::AuditLog)
        .unwrap();
    let block = site.store.get::<AuditBlock>(&audit[0]).unwrap().unwrap();
    assert!(
        block
            .entries
            .values()
            .any(|e| e.action == "search_cases" && e.target.contains("WHK-000003")),
        "the search's audit entry names who was shown"
    );
    let it = login(&site, "it").await;
    let (s, _) = page(&site, "/people?q=jose", &it).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "facility IT finds nobody in the console either"
    );
    let (s, v) = call(
        &site,
        "GET",
        &format!("/api/cases?q={}", "x".repeat(101)),
        Some(&cw),
        None,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("q"))
    );
    let (s, _) = call(
        &site,
        "GET",
        "/api/cases?q=jose&page=18446744073709551615",
        Some(&cw),
        None,
    )
    .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a page past the end is empty, never a wrap"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caseload_lists_the_officers_people_with_what_is_due() {
    let site = site();
    let records = login(&site, "records").await;
    let mut soon = person("C-1", "Soon", "Released");
    soon["expected_release_date"] = json!(day(&site, 30));
    soon["case_officer"] = json!("caseworker");
    let mut calm = person("C-2", "Nothing", "Due");
    calm["expected_release_date"] = json!(day(&site, 900));
    calm["case_officer"] = json!("caseworker");
    let mut other = person("C-3", "Someone", "Else");
    other["case_officer"] = json!("manager");
    let mut ids = Vec::new();
    for p in [soon, calm, other] {
        let (s, v) = admit(&site, &records, p).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        ids.push(v["person_id"].as_str().unwrap().to_owned());
    }
    let cw = login(&site, "caseworker").await;
    let calm_id = &ids[1];
    let (s, v) = call(
        &site,
        "POST",
        &format!("/api/cases/{calm_id}/goals"),
        Some(&cw),
        Some(json!({"title": "Open a bank account", "domain": "finance_and_id", "target_date": day(&site, 5)}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = call(
        &site,
        "POST",
        &format!("/api/cases/{calm_id}/referrals"),
        Some(&cw),
        Some(json!({"partner_id": "housing-trust", "service": "emergency housing", "reason": "no address on release"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    let dues = |v: &Value| -> Vec<(String, Vec<String>)> {
        v.as_array()
            .unwrap_or_else(|| panic!("a caseload: {v}"))
            .iter()
            .map(|r| {
                (
                    r["given_name"].as_str().unwrap().to_owned(),
                    r["due"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|d| d.as_str().unwrap().to_owned())
                        .collect(),
                )
            })
            .collect()
    };
    let (s, v) = call(&site, "GET", "/api/caseload", Some(&cw), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        dues(&v),
        vec![
            ("Soon".to_owned(), vec!["release_soon".to_owned()]),
            ("Nothing".to_owned(), vec![]),
        ],
        "only the officer's own people, those with something due first"
    );
    // Fifteen days on: the goal is past its date and the referral has waited too long.
    site.time.advance(15 * 86_400_000);
    let cw = login(&site, "caseworker").await;
    let (_, v) = call(&site, "GET", "/api/caseload", Some(&cw), None).await;
    let got = dues(&v);
    assert!(
        got.contains(&(
            "Nothing".to_owned(),
            vec!["goal_overdue".to_owned(), "referral_waiting".to_owned()]
        )),
        "{got:?}"
    );
    let (s, html) = page(&site, "/caseload", &cw).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("Soon Released") && html.contains("a goal is past its date"),
        "{html}"
    );
    let teacher = login(&site, "teacher").await;
    let (s, _) = call(&site, "GET", "/api/caseload", Some(&teacher), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_content_follows_the_data_into_assessments_and_referrals() {
    let site = site();
    let rows = [
        row(
            "caseworker",
            "PUT",
            format!("/api/cases/{PERSON}/needs/substance_use"),
            json!({"level": "high"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "health staff",
        ),
        row(
            "nurse",
            "PUT",
            format!("/api/cases/{PERSON}/needs/substance_use"),
            json!({"level": "high", "notes": "CLINIC-NEED"}),
            StatusCode::NO_CONTENT,
            "",
        ),
        row(
            "caseworker",
            "PUT",
            format!("/api/cases/{PERSON}/needs/accommodation"),
            json!({"level": "medium", "notes": "hostel wait list"}),
            StatusCode::NO_CONTENT,
            "",
        ),
        row(
            "caseworker",
            "PUT",
            format!("/api/cases/{PERSON}/needs/housing"),
            json!({"level": "medium"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"domain\"",
        ),
        row(
            "caseworker",
            "PUT",
            format!("/api/cases/{PERSON}/needs/accommodation"),
            json!({"level": "huge"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"level\"",
        ),
        row(
            "teacher",
            "PUT",
            format!("/api/cases/{PERSON}/needs/accommodation"),
            json!({"level": "low"}),
            StatusCode::FORBIDDEN,
            "",
        ),
        row(
            "caseworker",
            "POST",
            format!("/api/cases/{PERSON}/referrals"),
            json!({"partner_id": "central-clinic", "service": "substance use treatment", "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "health staff",
        ),
        row(
            "nurse",
            "POST",
            format!("/api/cases/{PERSON}/referrals"),
            json!({"partner_id": "central-clinic", "service": "substance use treatment", "reason": "CLINIC-REASON"}),
            StatusCode::CREATED,
            "referral",
        ),
        row(
            "caseworker",
            "POST",
            format!("/api/cases/{PERSON}/referrals"),
            json!({"partner_id": "housing-trust", "service": "CV workshop", "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "emergency housing",
        ),
        row(
            "caseworker",
            "POST",
            format!("/api/cases/{PERSON}/referrals"),
            json!({"partner_id": "nope", "service": "x", "reason": "x"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"partner_id\"",
        ),
        row(
            "caseworker",
            "POST",
            format!("/api/cases/{PERSON}/goals"),
            json!({"title": "Get clean", "domain": "substance_use"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "health staff",
        ),
    ];
    check(&site, &rows).await;
    for (user, sees) in [
        ("officer", false),
        ("teacher", false),
        ("caseworker", false),
        ("nurse", true),
    ] {
        let t = login(&site, user).await;
        let (s, v) = call(
            &site,
            "GET",
            &format!("/api/cases/{PERSON}"),
            Some(&t),
            None,
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        let text = v.to_string();
        for secret in ["CLINIC-NEED", "CLINIC-REASON", "substance use treatment"] {
            assert_eq!(text.contains(secret), sees, "{user} and {secret}");
        }
        let (_, html) = page(&site, &format!("/people/{PERSON}"), &t).await;
        for secret in ["CLINIC-NEED", "CLINIC-REASON", "Central Community Clinic"] {
            assert_eq!(
                html.contains(secret),
                sees,
                "{user} and {secret} on the case page"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_field_set_at_the_facility_and_the_hub_apart_shows_both_until_one_is_chosen() {
    let site = site();
    let records = login(&site, "records").await;
    let (s, v) = admit(&site, &records, person("M-1", "Meme", "Kandjii")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = case_id(v["person_id"].as_str().unwrap());
    // The hub holds a copy, as after a sync.
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = Store::open(hub_dir.path(), StoreOptions::default()).unwrap();
    let copy = |from: &Store, to: &Store| {
        let (changes, meta) = from
            .read(&id, |d, m| (d.get_changes(&[]), m.clone()))
            .unwrap()
            .unwrap();
        assert!(
            to.apply_changes(&id, &meta, changes)
                .unwrap()
                .missing
                .is_empty()
        );
    };
    copy(&site.store, &hub);
    // Apart: the hub moves the person to Unit D and sets a release date; the facility moves
    // them to Unit C and sets another.
    hub.update(&id, 10, |c: &mut CaseFile| {
        c.location = Some(Stamped::new(
            Location {
                unit: "Unit D".into(),
                cell: "4".into(),
            },
            "hub.admin",
            10,
        ));
        c.expected_release_date = Some(Stamped::new("2031-01-01".into(), "hub.admin", 10));
        Ok::<_, ()>(())
    })
    .unwrap();
    let placement = format!(
        "/api/cases/{}/placement",
        id.as_str().trim_start_matches("case/")
    );
    let place = |body: Value| {
        call(
            &site,
            "PUT",
            &placement,
            Some(&records),
            Some(body.to_string()),
        )
    };
    let (s, v) =
        place(json!({"unit": "Unit C", "cell": "9", "expected_release_date": "2030-06-30"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    copy(&hub, &site.store);
    let person_page = format!("/people/{}", id.as_str().trim_start_matches("case/"));
    let (s, html) = page(&site, &person_page, &records).await;
    assert_eq!(s, StatusCode::OK);
    for shown in [
        "conflict-location",
        "Unit D · 4",
        "Unit C · 9",
        "conflict-expected_release_date",
        "1 Jan 2031",
        "30 Jun 2030",
        "hub.admin",
    ] {
        assert!(html.contains(shown), "{shown} on the case page");
    }
    // Someone chooses Unit C: the conflict is gone, the choice is in the audit trail.
    let (s, v) = place(json!({"unit": "Unit C", "cell": "9"})).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (_, html) = page(&site, &person_page, &records).await;
    assert!(
        !html.contains("conflict-location"),
        "the chosen field shows one value"
    );
    assert!(
        html.contains("conflict-expected_release_date"),
        "the other still waits"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_made_here_has_its_sessions_its_places_and_its_endings() {
    let site = site();
    let start = day(&site, 0);
    let end = day(&site, 27);
    let run = |extra: Value| {
        let mut b = json!({
            "programme_code": "LIT-1", "place": "Classroom 2", "capacity": 1,
            "start_date": start, "end_date": end, "days": ["mon", "wed", "fri"],
            "start_time": "09:00", "end_time": "10:30",
        });
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    let rows = [
        row(
            "caseworker",
            "POST",
            "/api/runs",
            run(json!({})),
            StatusCode::FORBIDDEN,
            "",
        ),
        row(
            "teacher",
            "POST",
            "/api/runs",
            run(json!({"programme_code": "OLD-1"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"programme_code\"",
        ),
        row(
            "teacher",
            "POST",
            "/api/runs",
            run(json!({"capacity": 0})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"capacity\"",
        ),
        row(
            "teacher",
            "POST",
            "/api/runs",
            run(json!({"end_date": day(&site, -3)})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"end_date\"",
        ),
        row(
            "teacher",
            "POST",
            "/api/runs",
            run(json!({"days": ["funday"]})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"days\"",
        ),
        row(
            "teacher",
            "POST",
            "/api/runs",
            run(json!({"start_time": "25:00"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"start_time\"",
        ),
        row(
            "teacher",
            "POST",
            "/api/runs",
            run(json!({"end_time": "08:00"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"end_time\"",
        ),
        row(
            "manager",
            "POST",
            "/api/runs",
            run(json!({})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"instructor\"",
        ),
        row(
            "manager",
            "POST",
            "/api/runs",
            run(json!({"instructor": "nurse"})),
            StatusCode::UNPROCESSABLE_ENTITY,
            "\"field\":\"instructor\"",
        ),
    ];
    let runs_before = site
        .store
        .list(&format!("facility:{FAC}"), Kind::ProgrammeRun)
        .unwrap()
        .len();
    check(&site, &rows).await;
    assert_eq!(
        site.store
            .list(&format!("facility:{FAC}"), Kind::ProgrammeRun)
            .unwrap()
            .len(),
        runs_before,
        "no refused run was stored"
    );
    let teacher = login(&site, "teacher").await;
    let (s, v) = call(
        &site,
        "POST",
        "/api/runs",
        Some(&teacher),
        Some(run(json!({})).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["run"].as_str().unwrap().to_owned();
    let made = site
        .store
        .get::<ProgrammeRun>(&run_id(FAC, &id))
        .unwrap()
        .unwrap();
    assert_eq!(made.instructor, "teacher", "the maker teaches it");
    // Its sessions are the schedule's days, in one register per month.
    let first = parse_date(&start).unwrap();
    let want = made.schedule.dates(first, parse_date(&end).unwrap());
    let mut got = Vec::new();
    for reg in site
        .store
        .list(&format!("facility:{FAC}"), Kind::AttendanceRegister)
        .unwrap()
    {
        let r = site.store.get::<AttendanceRegister>(&reg).unwrap().unwrap();
        if r.run_id == id {
            got.extend(r.sessions.values().map(|s| s.date.clone()));
        }
    }
    got.sort();
    assert_eq!(got, want.iter().map(|d| iso_date(*d)).collect::<Vec<_>>());
    assert!(got.len() >= 11, "four weeks of three days: {}", got.len());

    // A session cancelled with a reason, one added; a bad day is named.
    let sessions = format!("/api/runs/{id}/sessions");
    let first_session = got[0].clone();
    let (s, v) = call(
        &site,
        "POST",
        &sessions,
        Some(&teacher),
        Some(
            json!({"date": first_session, "action": "cancel", "reason": "Lockdown on the unit"})
                .to_string(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(
        &site,
        "POST",
        &sessions,
        Some(&teacher),
        Some(json!({"date": day(&site, 1), "action": "add", "reason": "Catch-up"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = call(
        &site,
        "POST",
        &sessions,
        Some(&teacher),
        Some(json!({"date": day(&site, 200), "action": "cancel", "reason": "x"}).to_string()),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("date")),
        "{v}"
    );
    let reg = site
        .store
        .get::<AttendanceRegister>(&register_id(FAC, &id, &first_session[..7]))
        .unwrap()
        .unwrap();
    let cancelled = &reg.sessions[&first_session];
    assert!(cancelled.cancelled && cancelled.note == "Lockdown on the unit");

    // A place from the waiting list makes the enrolment active; ending it gives the place back.
    let cw = login(&site, "caseworker").await;
    let body = json!({"person": PERSON}).to_string();
    let (s, v) = call(
        &site,
        "POST",
        &format!("/api/runs/{id}/waiting-list"),
        Some(&cw),
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let (s, v) = call(
        &site,
        "POST",
        &format!("/api/runs/{id}/allocate"),
        Some(&teacher),
        Some(body),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let case = site
        .store
        .get::<CaseFile>(&case_id(PERSON))
        .unwrap()
        .unwrap();
    let (key, en) = case
        .enrolments
        .iter()
        .find(|(_, e)| e.run_id == id)
        .expect("an enrolment on the run");
    assert_eq!(en.status, EnrolmentStatus::Active);
    let end_url = format!("/api/cases/{PERSON}/enrolments/{key}/end");
    let (s, v) = call(
        &site,
        "POST",
        &end_url,
        Some(&teacher),
        Some(json!({"outcome": "expelled"}).to_string()),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("outcome"))
    );
    let (s, v) = call(
        &site,
        "POST",
        &end_url,
        Some(&teacher),
        Some(json!({"outcome": "withdrawn_by_person", "note": "moved to work party"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    let case = site
        .store
        .get::<CaseFile>(&case_id(PERSON))
        .unwrap()
        .unwrap();
    let en = &case.enrolments[key];
    assert_eq!(en.status, EnrolmentStatus::Withdrawn);
    assert_eq!(
        en.end_reason.as_deref(),
        Some("withdrawn_by_person: moved to work party")
    );
    let run_now = site
        .store
        .get::<ProgrammeRun>(&run_id(FAC, &id))
        .unwrap()
        .unwrap();
    assert_eq!(run_now.allocated(), 0, "the place went back to the run");
    let (s, _) = call(
        &site,
        "POST",
        &end_url,
        Some(&teacher),
        Some(json!({"outcome": "completed"}).to_string()),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "an ended enrolment does not end twice"
    );
}

/// A form post riding on the session cookie from a page elsewhere is refused; every answer
/// forbids scripts, framing and caching.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_posts_from_elsewhere_are_refused_and_nothing_is_cached() {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;
    let site = site();
    let token = login(&site, "caseworker").await;
    let post = |origin: &'static str| {
        Request::builder()
            .method("POST")
            .uri(format!("/people/{PERSON}/notes"))
            .header("host", "gw.local")
            .header("origin", origin)
            .header("cookie", format!("pathway_session={token}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from("text=planted+note&note_type=general"))
            .unwrap()
    };
    let resp = site
        .app
        .clone()
        .oneshot(post("https://intranet.local"))
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = site
        .app
        .clone()
        .oneshot(post("https://gw.local"))
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::SEE_OTHER,
        "the console's own form is taken"
    );
    let case = site
        .store
        .get::<CaseFile>(&case_id(PERSON))
        .unwrap()
        .unwrap();
    assert_eq!(
        case.notes
            .values()
            .filter(|n| n.text == "planted note")
            .count(),
        1,
        "only the post from the console's own page was saved"
    );
    let req = Request::builder()
        .uri(format!("/api/cases/{PERSON}"))
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = site.app.clone().oneshot(req).await.unwrap();
    let h = resp.headers();
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["x-content-type-options"], "nosniff");
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
}

/// Taking part in a mental-health or substance-use programme is health content: such an
/// enrolment leaves the case file for staff without health access, and who is on such a run's
/// register is shown only to health staff, the facility manager and its instructor, and
/// audited. A refused read of a case file is audited too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_part_in_a_health_programme_is_health_content() {
    let site = site();
    let store = &site.store;
    store
        .put(
            &Programme {
                code: "SUB-1".into(),
                title: "Recovery group".into(),
                category: ProgrammeCategory::SubstanceUse,
                ..Default::default()
            },
            5,
        )
        .unwrap();
    let mut run = ProgrammeRun {
        id: "run-h".into(),
        facility_id: FAC.into(),
        programme_code: "SUB-1".into(),
        instructor: "teacher".into(),
        capacity: 8,
        status: RunStatus::Running,
        ..Default::default()
    };
    run.waiting_list.insert(
        PERSON.into(),
        WaitingEntry {
            person_id: PERSON.into(),
            status: WaitStatus::Allocated,
            ..Default::default()
        },
    );
    store.put(&run, 5).unwrap();
    let mut register = AttendanceRegister {
        facility_id: FAC.into(),
        run_id: "run-h".into(),
        month: "2026-11".into(),
        ..Default::default()
    };
    register.sessions.insert(
        "s1".into(),
        RegisterSession {
            date: "2026-11-23".into(),
            ..Default::default()
        },
    );
    store.put(&register, 5).unwrap();
    store
        .update(&case_id(PERSON), 6, |c: &mut CaseFile| {
            for (key, code) in [("e-h", "SUB-1"), ("e-l", "LIT-1")] {
                c.enrolments.insert(
                    key.into(),
                    Enrolment {
                        programme_code: code.into(),
                        facility_id: FAC.into(),
                        ..Default::default()
                    },
                );
            }
            Ok::<_, ()>(())
        })
        .unwrap();

    let enrolments = |v: &Value| -> Vec<String> {
        v["enrolments"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let case = format!("/api/cases/{PERSON}");
    let officer = login(&site, "officer").await;
    let (s, v) = call(&site, "GET", &case, Some(&officer), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(enrolments(&v), ["e-l"]);
    let nurse = login(&site, "nurse").await;
    let (_, v) = call(&site, "GET", &case, Some(&nurse), None).await;
    assert_eq!(enrolments(&v), ["e-h", "e-l"]);

    let it = login(&site, "it").await;
    let (s, _) = call(&site, "GET", &case, Some(&it), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let refused = audit_entries(store)
        .into_iter()
        .find(|e| e.action == "read_refused")
        .expect("a refused read is audited");
    assert_eq!(
        (refused.actor.as_str(), refused.target.as_str()),
        ("it", case_id(PERSON).as_str())
    );

    let register_page = "/sessions/run-h/2026-11/s1";
    let (s, html) = page(&site, register_page, &officer).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{html}");
    assert!(!html.contains("Ndapewa"));
    let (s, _) = page(&site, register_page, &it).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let teacher = login(&site, "teacher").await;
    let (s, html) = page(&site, register_page, &teacher).await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Ndapewa"), "its instructor marks the group");
    let seen = audit_entries(store)
        .into_iter()
        .filter(|e| e.action == "read_register")
        .count();
    assert_eq!(seen, 1, "who saw the register is in the trail");

    let (s, html) = page(&site, "/runs/run-h", &officer).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("people-hidden") && !html.contains("Ndapewa"),
        "{html}"
    );
    let manager = login(&site, "manager").await;
    let (_, html) = page(&site, "/runs/run-h", &manager).await;
    assert!(html.contains("Ndapewa"));
    assert!(audit_actions(store).iter().any(|a| a == "read_run"));
}

/// A release-plan item and a need written at the facility and at the hub apart show both
/// sides on the case page, count as waiting on the caseload, and end with the one kept (an
/// audited write).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_item_and_a_need_written_apart_show_both_until_one_is_kept() {
    let site = site();
    let records = login(&site, "records").await;
    let (s, v) = admit(&site, &records, person("M-2", "Tuyeni", "Haufiku")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pid = v["person_id"].as_str().unwrap().to_owned();
    let id = case_id(&pid);
    let manager = login(&site, "manager").await;
    let (s, _) = call(
        &site,
        "PUT",
        &format!("/api/cases/{pid}/case-officer"),
        Some(&manager),
        Some(json!({"officer": "caseworker"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = Store::open(hub_dir.path(), StoreOptions::default()).unwrap();
    let copy = |from: &Store, to: &Store| {
        let (changes, meta) = from
            .read(&id, |d, m| (d.get_changes(&[]), m.clone()))
            .unwrap()
            .unwrap();
        to.apply_changes(&id, &meta, changes).unwrap();
    };
    copy(&site.store, &hub);
    hub.update(&id, 10, |c: &mut CaseFile| {
        c.release_plan.accommodation = PlanItem {
            status: PlanItemStatus::InProgress,
            details: "Hostel in Katutura".into(),
            updated_by: "hub.partner".into(),
            updated_at: 10,
            date: String::new(),
        };
        c.needs.insert(
            NeedDomain::EducationTrainingEmployment.code().into(),
            NeedAssessment {
                level: NeedLevel::High,
                notes: "no work history".into(),
                assessed_by: "hub.partner".into(),
                assessed_at: 10,
            },
        );
        Ok::<_, ()>(())
    })
    .unwrap();
    let cw = login(&site, "caseworker").await;
    let (s, _) = form(
        &site,
        &format!("/people/{pid}/plan/accommodation"),
        &cw,
        "status=done&details=Sister%27s+house",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, _) = form(
        &site,
        &format!("/people/{pid}/needs"),
        &cw,
        "domain=education_training_employment&level=low",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    copy(&hub, &site.store);
    site.lan.roster.refresh(&site.store, &id).unwrap();

    let (_, html) = page(&site, &format!("/people/{pid}"), &cw).await;
    for shown in [
        "conflict-plan-accommodation",
        "Hostel in Katutura",
        "Sister's house",
        "conflict-need-education_training_employment",
        "no work history",
    ] {
        assert!(html.contains(shown), "{shown}: {html}");
    }
    let (_, caseload) = page(&site, "/caseload", &cw).await;
    assert!(
        caseload.contains("a field waits for a choice"),
        "{caseload}"
    );

    // The case officer keeps the hub's plan item: one value, the choice audited.
    let (s, _) = form(
        &site,
        &format!("/people/{pid}/plan/accommodation"),
        &cw,
        "status=in_progress&details=Hostel+in+Katutura&date=",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&site, &format!("/people/{pid}"), &cw).await;
    assert!(!html.contains("conflict-plan-accommodation"), "kept");
    assert!(
        html.contains("conflict-need-education_training_employment"),
        "the need still waits"
    );
    let case = site.store.get::<CaseFile>(&id).unwrap().unwrap();
    assert_eq!(
        case.release_plan.accommodation.details,
        "Hostel in Katutura"
    );
    assert_eq!(
        audit_actions(&site.store)
            .iter()
            .filter(|a| *a == "release_plan")
            .count(),
        2
    );
}

/// A one-time password given here and at the hub apart: only one can hold, so the staff page
/// flags the account until it is reset again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_reset_here_and_at_the_hub_apart_is_flagged() {
    let site = site();
    let id = staff_id(FAC, "teacher");
    let hub = HubCopy::of(&site, &id);
    let manager = login(&site, "manager").await;
    let (s, _) = form(&site, "/staff/teacher/reset", &manager, "").await;
    assert_eq!(s, StatusCode::OK);
    hub.edit_and_sync::<StaffAccount>(&site, |a| {
        a.password_hash = "$argon2id$hub".into();
        a.must_change_password = true;
    });
    let (_, html) = page(&site, "/staff", &manager).await;
    assert!(html.contains("class=\"due contested\""), "{html}");
    let (s, _) = form(&site, "/staff/teacher/reset", &manager, "").await;
    assert_eq!(s, StatusCode::OK);
    let (_, html) = page(&site, "/staff", &manager).await;
    assert!(
        !html.contains("class=\"due contested\""),
        "reset again: one password"
    );
}
