//! The LAN API against a real store: what each role sees and may do, bad input named by field,
//! attendance marked twice ending as one mark, and an audit trail that notices
//! tampering.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use pathway_gateway::audit::Audit;
use pathway_gateway::lan;
use pathway_shared::model::*;
use pathway_shared::store::{Store, StoreError, StoreOptions};
use serde_json::{Value, json};
use tower::ServiceExt;

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_sees_only_what_it_may() {
    let site = site();
    for (user, role) in ROLES {
        let t = login(&site, user).await;
        let (s, v) = call(
            &site,
            "GET",
            &format!("/api/cases/{PERSON}"),
            Some(&t),
            None,
        )
        .await;
        if role == Role::FacilityIt {
            assert_eq!(
                s,
                StatusCode::FORBIDDEN,
                "facility IT sees no case content: {v}"
            );
            continue;
        }
        assert_eq!(s, StatusCode::OK, "{user}: {v}");
        let text = v.to_string();
        assert!(
            text.contains("GENERAL-NOTE") && text.contains("hostel"),
            "{user}"
        );
        let health = role == Role::HealthStaff;
        for secret in ["HEALTH-NOTE", "SUBSTANCE-DETAIL", "HANDOVER-DETAIL"] {
            assert_eq!(text.contains(secret), health, "{user} and {secret}");
        }
        let restricted = matches!(role, Role::CaseOfficer | Role::FacilityManager);
        assert_eq!(
            text.contains("RESTRICTED-NOTE"),
            restricted,
            "{user} and the restricted note"
        );
    }
    let (s, _) = call(&site, "GET", &format!("/api/cases/{PERSON}"), None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let cw = login(&site, "caseworker").await;
    let (s, v) = call(
        &site,
        "GET",
        "/api/cases?q=000001&per_page=5",
        Some(&cw),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["total"].as_u64(), v["items"][0]["given_name"].as_str()),
        (Some(1), Some("Ndapewa"))
    );
    let it = login(&site, "it").await;
    let (s, _) = call(&site, "GET", "/api/cases?q=WHK", Some(&it), None).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "facility IT does not search case files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notes_follow_roles_and_bad_input_names_the_field() {
    let site = site();
    let notes = format!("/api/cases/{PERSON}/notes");
    let big = json!({"text": "x".repeat(100_000)}).to_string();
    use StatusCode as S;
    check(
        &site,
        &[
            row(
                "teacher",
                "POST",
                &notes,
                json!({"text": "hello"}),
                S::FORBIDDEN,
                "",
            ),
            row(
                "caseworker",
                "POST",
                &notes,
                json!({"text": "  "}),
                S::UNPROCESSABLE_ENTITY,
                r#""field":"text""#,
            ),
            row(
                "caseworker",
                "POST",
                &notes,
                json!({"text": "x", "note_type": "health"}),
                S::UNPROCESSABLE_ENTITY,
                r#""field":"note_type""#,
            ),
            row(
                "caseworker",
                "POST",
                &notes,
                json!({"text": "x", "note_type": "gossip"}),
                S::UNPROCESSABLE_ENTITY,
                "`gossip` is not one of general",
            ),
            row(
                "nurse",
                "POST",
                &notes,
                json!({"text": "x", "restricted": true}),
                S::UNPROCESSABLE_ENTITY,
                r#""field":"restricted""#,
            ),
            row(
                "caseworker",
                "POST",
                &notes,
                json!({"txt": "x"}),
                S::UNPROCESSABLE_ENTITY,
                "txt",
            ),
            row(
                "caseworker",
                "POST",
                &notes,
                Value::String(big),
                S::PAYLOAD_TOO_LARGE,
                "",
            ),
            row(
                "caseworker",
                "POST",
                "/api/cases/NOBODY/notes",
                json!({"text": "x"}),
                S::NOT_FOUND,
                "NOBODY",
            ),
        ],
    )
    .await;
    let notes_now = || {
        site.store
            .get::<CaseFile>(&case_id(PERSON))
            .unwrap()
            .unwrap()
            .notes
            .len()
    };
    assert_eq!(notes_now(), 3, "nothing partial was stored");
    check(
        &site,
        &[
            row(
                "caseworker",
                "POST",
                &notes,
                json!({"text": "Housing referral made", "restricted": true}),
                S::CREATED,
                "",
            ),
            row(
                "nurse",
                "POST",
                &notes,
                json!({"text": "Clinic booked", "note_type": "health"}),
                S::CREATED,
                "",
            ),
        ],
    )
    .await;
    assert_eq!(notes_now(), 5);
}

/// Gives `people` places on the fixture's run-1, as the hub's copy would carry them.
fn place(site: &Site, people: &[&str]) {
    site.store
        .update::<ProgrammeRun, _, StoreError>(&run_id(FAC, "run-1"), 4, |r| {
            for p in people {
                r.waiting_list.insert(
                    (*p).to_owned(),
                    WaitingEntry {
                        person_id: (*p).to_owned(),
                        status: WaitStatus::Allocated,
                        ..Default::default()
                    },
                );
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_marked_twice_has_one_mark_per_person() {
    let site = site();
    place(&site, &["P1", "P2", "P3", "P4"]);
    let path = "/api/registers/run-1/2026-11/sessions/s1/marks";
    let teacher = login(&site, "teacher").await;
    // Someone with no place on the run, or an id that is no id, is refused by name.
    for person in ["WHK-000002", "<script>", &"9".repeat(60_000)] {
        let m = json!({"marks": [{"person": person, "outcome": "attended"}]});
        let (s, v) = call(&site, "POST", path, Some(&teacher), Some(m.to_string())).await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("marks[0].person")),
            "{v}"
        );
    }
    let marks = json!({"marks": [{"person": "P1", "outcome": "attended"}, {"person": "P2", "outcome": "absent_excused"}]});
    for _ in 0..2 {
        let (s, v) = call(&site, "POST", path, Some(&teacher), Some(marks.to_string())).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let bad = json!({"marks": [{"person": "P3", "outcome": "attended"}, {"person": "P4", "outcome": "asleep"}]});
    let (s, v) = call(&site, "POST", path, Some(&teacher), Some(bad.to_string())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["field"], "marks[1].outcome");
    let (s, _) = call(
        &site,
        "POST",
        "/api/registers/run-1/2026-11/sessions/s9/marks",
        Some(&teacher),
        Some(marks.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let nurse = login(&site, "nurse").await;
    let (s, _) = call(&site, "POST", path, Some(&nurse), Some(marks.to_string())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let reg = site
        .store
        .get::<AttendanceRegister>(&register_id(FAC, "run-1", "2026-11"))
        .unwrap()
        .unwrap();
    assert_eq!(
        reg.marks.len(),
        2,
        "one mark per person, none from the refused request"
    );
}

/// The open sessions are kept between refreshes; a schedule change from the hub still shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_sessions_follow_the_schedule_from_the_hub() {
    let site = site();
    // 2026-11-24 12:00 UTC: the session of the 23rd is open for marking.
    let mut now = 1_795_521_600_000;
    let shown = |rows: &[lan::SessionRow]| -> Vec<(String, String)> {
        let rows = rows.iter().map(|r| (r.session.clone(), r.title.clone()));
        rows.collect()
    };
    let first = lan::sessions_near(&site.lan, now).unwrap();
    assert_eq!(
        shown(&first),
        [("s1".to_owned(), "Programme LIT-1 · ".to_owned())]
    );
    place(&site, &["P1"]);
    let teacher = login(&site, "teacher").await;
    let marks = json!({"marks": [{"person": "P1", "outcome": "attended"}]});
    let path = "/api/registers/run-1/2026-11/sessions/s1/marks";
    let (s, v) = call(&site, "POST", path, Some(&teacher), Some(marks.to_string())).await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The hub cancels s1 and schedules s2 for the 24th, from its own copy of the register.
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = Store::open(hub_dir.path(), StoreOptions::default()).unwrap();
    let id = register_id(FAC, "run-1", "2026-11");
    let meta = site.store.meta(&id).unwrap().unwrap();
    let all = site.store.changes_since(&id, &[]).unwrap().unwrap();
    hub.apply_changes(&id, &meta, all).unwrap();
    let gateway_heads = site.store.read(&id, |d, _| d.get_heads()).unwrap().unwrap();
    hub.update(&id, 5, |r: &mut AttendanceRegister| {
        r.sessions.get_mut("s1").unwrap().cancelled = true;
        let s2 = RegisterSession {
            date: "2026-11-24".into(),
            start_time: "09:00".into(),
            ..Default::default()
        };
        r.sessions.insert("s2".into(), s2);
        Ok::<_, ()>(())
    })
    .unwrap();
    let news = hub.changes_since(&id, &gateway_heads).unwrap().unwrap();
    site.store.apply_changes(&id, &meta, news).unwrap();

    // A refresh runs on a thread of its own once the rows are 5 s old.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        now += 6_000;
        let rows = lan::sessions_near(&site.lan, now).unwrap();
        if shown(&rows) == [("s2".to_owned(), "Programme LIT-1 · ".to_owned())] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still shown: {:?}",
            shown(&rows)
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_trail_records_reads_and_writes_and_detects_tampering() {
    let site = site();
    let cw = login(&site, "caseworker").await;
    call(
        &site,
        "GET",
        &format!("/api/cases/{PERSON}"),
        Some(&cw),
        None,
    )
    .await;
    call(
        &site,
        "POST",
        &format!("/api/cases/{PERSON}/notes"),
        Some(&cw),
        Some(json!({"text": "seen"}).to_string()),
    )
    .await;
    assert_eq!(
        audit_actions(&site.store),
        ["login", "read_case", "add_note"]
    );
    assert_eq!(site.lan.audit.verify().unwrap(), 3);
    // A reopened gateway continues the same chain.
    let again = Audit::open(site.store.clone(), FAC).unwrap();
    again
        .record(
            "system",
            "restart",
            "gateway",
            pathway_shared::clock::now_ms(),
        )
        .unwrap();
    assert_eq!(again.verify().unwrap(), 4);
    // Someone with the disk rewrites who read the case file.
    let id = site
        .store
        .list(&format!("facility:{FAC}"), Kind::AuditLog)
        .unwrap()[0]
        .clone();
    let key = AuditBlock::key(2);
    site.store
        .edit::<AuditBlock, _, StoreError>(&id, 9, |e| {
            let mut entry: AuditEntry = e.get(&["entries", &key])?.unwrap();
            entry.actor = "nobody".to_owned();
            e.put(&["entries", &key], &entry)
        })
        .unwrap();
    let err = again.verify().unwrap_err().to_string();
    assert!(err.contains("entry 2"), "{err}");
    // Or overwrites an entry with bytes that are not an entry at all.
    site.store
        .edit::<AuditBlock, _, StoreError>(&id, 10, |e| {
            e.put(&["entries", &key], &"not an entry".to_owned())
        })
        .unwrap();
    let err = again.verify().unwrap_err().to_string();
    assert!(err.contains("audit entry"), "{err}");
}

/// Both ends of the chain are anchored: it must start at entry 1, and it must reach what the
/// hub is known to hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_the_oldest_or_the_newest_audit_entries_is_noticed() {
    let site = site();
    for _ in 0..3 {
        login(&site, "caseworker").await;
    }
    let block = audit_id(FAC, 0);
    assert_eq!(site.lan.audit.verify().unwrap(), 3);
    // The hub holds the block as it is now; then entry 4 reaches it too, and is lost here
    // (a restore from an old copy, or someone cutting the newest entries).
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = Store::open(hub_dir.path(), StoreOptions::default()).unwrap();
    let meta = site.store.meta(&block).unwrap().unwrap();
    hub.apply_changes(
        &block,
        &meta,
        site.store.changes_since(&block, &[]).unwrap().unwrap(),
    )
    .unwrap();
    let heads = |s: &Store| s.read(&block, |d, _| d.get_heads()).unwrap().unwrap();
    site.store
        .set_peer_heads("hub", &block, &heads(&hub))
        .unwrap();
    assert_eq!(site.lan.audit.verify().unwrap(), 3, "level with the hub");
    hub.edit::<AuditBlock, _, StoreError>(&block, 9, |e| {
        let mut fourth: AuditEntry = e.get(&["entries", &AuditBlock::key(3)])?.unwrap();
        fourth.seq = 4;
        e.put(&["entries", &AuditBlock::key(4)], &fourth)
    })
    .unwrap();
    site.store
        .set_peer_heads("hub", &block, &heads(&hub))
        .unwrap();
    let err = site.lan.audit.verify().unwrap_err().to_string();
    assert!(err.contains("the hub holds changes"), "{err}");

    // The oldest entries cut away: the chain no longer starts at entry 1.
    let mut blocks = AuditBlock {
        facility_id: FAC.into(),
        ..Default::default()
    };
    let kept = site.store.get::<AuditBlock>(&block).unwrap().unwrap();
    blocks
        .entries
        .extend(kept.entries.into_iter().filter(|(_, e)| e.seq > 1));
    let err = verify_chain([&blocks]).unwrap_err().to_string();
    assert!(err.contains("entries 1 to 1 are missing"), "{err}");
}

/// Every role against every move of a requested referral: only the case officer and the
/// facility manager move referrals, and only along legal transitions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn referral_moves_follow_roles_and_the_state_machine() {
    let site = site();
    for (user, role) in ROLES {
        let t = login(&site, user).await;
        for to in STATUSES {
            let path = format!("/api/cases/{PERSON}/referrals/r-{user}-{to}/status");
            let (s, v) = call(
                &site,
                "POST",
                &path,
                Some(&t),
                Some(json!({"to": to}).to_string()),
            )
            .await;
            let mover = matches!(role, Role::CaseOfficer | Role::FacilityManager);
            let legal = ReferralStatus::Requested.may_become(from_code(to).unwrap());
            let want = match (mover, legal) {
                (false, _) => StatusCode::FORBIDDEN,
                (true, true) => StatusCode::OK,
                (true, false) => StatusCode::UNPROCESSABLE_ENTITY,
            };
            assert_eq!(s, want, "{user} moving a requested referral to {to}: {v}");
        }
    }
    let case = site
        .store
        .get::<CaseFile>(&case_id(PERSON))
        .unwrap()
        .unwrap();
    assert_eq!(
        case.referrals["r-caseworker-accepted"].state().status,
        ReferralStatus::Accepted
    );
    assert_eq!(
        case.referrals["r-caseworker-completed"].state().status,
        ReferralStatus::Requested,
        "an illegal move changes nothing"
    );
    let (s, _) = call(
        &site,
        "POST",
        "/api/cases/NOBODY/referrals/x/status",
        Some(&login(&site, "caseworker").await),
        Some(json!({"to": "accepted"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// The console as a browser without scripts uses it: form log-in, a cookie, pages in English
/// and Thai, a note added through a form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_works_with_plain_forms_in_english_and_thai() {
    let site = site();
    let form = |method: &str, path: &str, cookie: &str, body: &str| {
        Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    let send = |req: Request<Body>| {
        let app = site.app.clone();
        async move {
            let resp = app.oneshot(req).await.unwrap();
            let status = resp.status();
            let cookies: Vec<String> = resp
                .headers()
                .get_all("set-cookie")
                .iter()
                .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
                .collect();
            let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
                .await
                .unwrap();
            (status, cookies, String::from_utf8_lossy(&body).into_owned())
        }
    };
    let (s, _, body) = send(form(
        "POST",
        "/login",
        "",
        "username=caseworker&password=wrong&lang=en",
    ))
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("wrong"), "{body}");
    let (s, cookies, _) = send(form(
        "POST",
        "/login",
        "",
        "username=caseworker&password=correct+horse&lang=th",
    ))
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let cookie = cookies.join("; ");
    assert!(cookie.contains("pathway_lang=th"), "{cookie}");
    let (s, _, body) = send(form("GET", &format!("/people/{PERSON}"), &cookie, "")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("บันทึกรายกรณี"), "Thai headings: {body}");
    assert!(body.contains("RESTRICTED-NOTE") && !body.contains("HEALTH-NOTE"));
    assert!(!body.contains("<script"), "no scripts");
    let (s, _, _) = send(form(
        "POST",
        &format!("/people/{PERSON}/notes"),
        &cookie,
        "text=Met+about+housing&note_type=general",
    ))
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let en = cookie.replace("pathway_lang=th", "pathway_lang=en");
    let (_, _, body) = send(form(
        "GET",
        &format!("/people/{PERSON}?saved=note"),
        &en,
        "",
    ))
    .await;
    assert!(
        body.contains("Met about housing") && body.contains("Note saved."),
        "{body}"
    );
    let (s, _, _) = send(form("GET", "/today", "", "")).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "no session: to the log-in page");
    let (s, _, body) = send(form("GET", "/today", &en, "")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        body.contains("Nothing has reached the hub yet") || body.contains("Not yet in contact"),
        "{body}"
    );
}

/// Runs, waiting lists within capacity, release plans and transfers out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_release_plans_and_transfers_follow_roles_and_rules() {
    let site = site();
    let teacher = login(&site, "teacher").await;
    let (s, v) = call(
        &site,
        "GET",
        "/api/runs?status=open&per_page=10",
        Some(&teacher),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["total"], 1);
    assert_eq!(v["items"][0]["capacity"], 1);
    let (s, v) = call(&site, "GET", "/api/runs?per_page=500", Some(&teacher), None).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("per_page"))
    );
    let (s, v) = call(
        &site,
        "GET",
        "/api/runs?status=dreaming",
        Some(&teacher),
        None,
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("status"))
    );
    // A value of the wrong type is refused in JSON too, naming the parameter.
    for path in [
        "/api/runs?page=two",
        "/api/programmes?include_withdrawn=perhaps",
        "/api/cases?per_page=-1",
    ] {
        let (s, v) = call(&site, "GET", path, Some(&teacher), None).await;
        let field = path.split(['?', '=']).nth(1);
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::BAD_REQUEST, field),
            "{path}: {v}"
        );
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
    let add = |p: &str| Some(json!({"person": p}).to_string());
    for _ in 0..2 {
        let (s, v) = call(
            &site,
            "POST",
            "/api/runs/run-1/waiting-list",
            Some(&teacher),
            add(PERSON),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    call(
        &site,
        "POST",
        "/api/runs/run-1/waiting-list",
        Some(&teacher),
        add("WHK-000002"),
    )
    .await;
    let (s, v) = call(
        &site,
        "POST",
        "/api/runs/run-1/waiting-list",
        Some(&teacher),
        add("NOBODY"),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("person"))
    );
    let (s, _) = call(
        &site,
        "POST",
        "/api/runs/run-1/allocate",
        Some(&teacher),
        add(PERSON),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(
        &site,
        "POST",
        "/api/runs/run-1/allocate",
        Some(&teacher),
        add("WHK-000002"),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("person")),
        "capacity 1: {v}"
    );
    let run = site
        .store
        .get::<ProgrammeRun>(&run_id(FAC, "run-1"))
        .unwrap()
        .unwrap();
    assert_eq!(run.waiting_list.len(), 2, "one entry per person");
    assert_eq!(run.allocated(), 1);
    let it = login(&site, "it").await;
    let (s, _) = call(
        &site,
        "POST",
        "/api/runs/run-1/waiting-list",
        Some(&it),
        add(PERSON),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let cw = login(&site, "caseworker").await;
    let nurse = login(&site, "nurse").await;
    let plan = |item: &str| format!("/api/cases/{PERSON}/release-plan/{item}");
    let done = Some(json!({"status": "done", "details": "hostel bed confirmed"}).to_string());
    let (s, _) = call(
        &site,
        "PUT",
        &plan("accommodation"),
        Some(&cw),
        done.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = call(
        &site,
        "PUT",
        &plan("health_handover"),
        Some(&cw),
        done.clone(),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the health handover is for health staff"
    );
    let (s, _) = call(
        &site,
        "PUT",
        &plan("health_handover"),
        Some(&nurse),
        done.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = call(
        &site,
        "PUT",
        &plan("accommodation"),
        Some(&cw),
        Some(json!({"status": "sorted"}).to_string()),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("status"))
    );
    let (s, _) = call(&site, "PUT", &plan("spaceship"), Some(&cw), done).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let out = format!("/api/cases/{PERSON}/transfer-out");
    let (s, v) = call(
        &site,
        "POST",
        &out,
        Some(&cw),
        Some(json!({"to_facility": FAC, "reason": "x"}).to_string()),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("to_facility"))
    );
    // A facility not in the registry, a reason of 60,000 characters or of invisible ones.
    for (body, field) in [
        (
            json!({"to_facility": "NOPE-FAC!", "reason": "x"}),
            "to_facility",
        ),
        (
            json!({"to_facility": "OSH", "reason": "y".repeat(60_000)}),
            "reason",
        ),
        (
            json!({"to_facility": "OSH", "reason": "\u{200b} \u{200b}"}),
            "reason",
        ),
        (
            json!({"to_facility": "OSH", "reason": "ok\u{202e}kO"}),
            "reason",
        ),
    ] {
        let (s, v) = call(&site, "POST", &out, Some(&cw), Some(body.to_string())).await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{v}"
        );
    }
    let (s, _) = call(
        &site,
        "POST",
        &out,
        Some(&teacher),
        Some(json!({"to_facility": "OSH", "reason": "x"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = call(
        &site,
        "POST",
        &out,
        Some(&cw),
        Some(json!({"to_facility": "OSH", "reason": "closer to family"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let case = site
        .store
        .get::<CaseFile>(&case_id(PERSON))
        .unwrap()
        .unwrap();
    assert_eq!(case.release_plan.accommodation.status, PlanItemStatus::Done);
    assert_eq!(case.transfers.len(), 1);
    let last = site
        .store
        .feed_after(0, 100_000)
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.doc == case_id(PERSON))
        .unwrap();
    assert_eq!(
        last.class,
        Class::Urgent,
        "a transfer out travels in the urgent class"
    );
}

/// The OpenAPI description is served, and it and the router agree: every route in the code is
/// described, and every described operation is routed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_matches_the_routes() {
    let site = site();
    let (s, doc) = call(&site, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let source = include_str!("../src/lan/mod.rs");
    for route in source.split('"').filter(|p| p.starts_with("/api/")) {
        if route == "/api/openapi.json" {
            continue;
        }
        assert!(paths.contains_key(route), "{route} is not in openapi.json");
    }
    for (path, ops) in paths {
        let concrete = path.replace(['{', '}'], "");
        for method in ops.as_object().unwrap().keys() {
            let (s, v) = call(
                &site,
                &method.to_uppercase(),
                &concrete,
                None,
                Some("{}".into()),
            )
            .await;
            // Unrouted paths answer 404 with no body; routed ones refuse with a JSON error.
            assert!(
                !(s == StatusCode::NOT_FOUND && v.is_null()),
                "{method} {path} is not routed"
            );
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
}

/// A release is recorded once, by the roles that may, and travels urgently; the catalogue is
/// readable, filterable and paginated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_is_urgent_and_the_catalogue_pages() {
    let site = site();
    for (code, withdrawn) in [("LIT-1", false), ("OLD-1", true), ("VOC-1", false)] {
        site.store
            .put(
                &Programme {
                    code: code.into(),
                    title: code.into(),
                    withdrawn,
                    ..Default::default()
                },
                4,
            )
            .unwrap();
    }
    let officer = login(&site, "officer").await;
    let (s, v) = call(
        &site,
        "GET",
        "/api/programmes?per_page=1&page=2",
        Some(&officer),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["total"].as_u64(), v["items"][0]["code"].as_str()),
        (Some(2), Some("VOC-1"))
    );
    let (_, v) = call(
        &site,
        "GET",
        "/api/programmes?include_withdrawn=true",
        Some(&officer),
        None,
    )
    .await;
    assert_eq!(
        v["total"], 3,
        "a withdrawn programme stays readable on request"
    );

    let path = format!("/api/cases/{PERSON}/release");
    let (s, _) = call(
        &site,
        "POST",
        &path,
        Some(&officer),
        Some(json!({"on": "2026-11-23"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let cw = login(&site, "caseworker").await;
    let (s, v) = call(
        &site,
        "POST",
        &path,
        Some(&cw),
        Some(json!({"on": "yesterday"}).to_string()),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("on"))
    );
    for (body, field) in [
        (json!({"on": "9999-12-31"}), "on"),
        (
            json!({"on": "2026-11-23", "note": "n".repeat(60_000)}),
            "note",
        ),
    ] {
        let (s, v) = call(&site, "POST", &path, Some(&cw), Some(body.to_string())).await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{v}"
        );
    }
    let (s, _) = call(
        &site,
        "POST",
        &path,
        Some(&cw),
        Some(json!({"on": "2026-11-23", "note": "met by hostel staff"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let case = site
        .store
        .get::<CaseFile>(&case_id(PERSON))
        .unwrap()
        .unwrap();
    assert_eq!(case.release.map(|r| r.on), Some("2026-11-23".to_owned()));
    // From then on the file is read-only here: it is held in the national record.
    for (p, body) in [
        (path.clone(), json!({"on": "2026-11-24"})),
        (
            format!("/api/cases/{PERSON}/notes"),
            json!({"text": "one more"}),
        ),
    ] {
        let (s, v) = call(&site, "POST", &p, Some(&cw), Some(body.to_string())).await;
        assert_eq!(s, StatusCode::CONFLICT, "{p}: {v}");
        assert!(v["error"].as_str().unwrap().contains("read-only"), "{v}");
    }
    let last = site
        .store
        .feed_after(0, 100_000)
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.doc == case_id(PERSON))
        .unwrap();
    assert_eq!(last.class, Class::Urgent);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_with_characters_no_id_holds_is_refused() {
    let site = site();
    let cw = login(&site, "caseworker").await;
    for path in [
        "/api/cases/WHK%2F000001",
        "/api/cases/WHK-000001%00/notes",
        "/api/cases/%E0%B8%81",
    ] {
        let method = if path.ends_with("notes") {
            "POST"
        } else {
            "GET"
        };
        let body = (method == "POST").then(|| json!({"text": "x"}).to_string());
        let (s, v) = call(&site, method, path, Some(&cw), body).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{path}: {v}");
        assert!(v["error"].as_str().unwrap().contains("not an id"), "{v}");
    }
}

/// A console page as the browser of `token`'s session gets it.
async fn console_page(site: &Site, token: &str, uri: &str) -> String {
    let req = Request::builder()
        .uri(uri)
        .header("cookie", format!("pathway_session={token}"))
        .body(Body::empty())
        .unwrap();
    let resp = site.app.clone().oneshot(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// Each role's home is its own work, and no page offers an action the role cannot take: a
/// table of role × page × what is offered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_comes_home_to_its_own_work_and_is_offered_only_what_it_may_do() {
    let site = site();
    // 2026-11-24 12:00 UTC: the fixture's session of the 23rd is open for marking.
    let then = 1_795_521_600_000;
    site.time.advance(then - site.lan.clock.now());
    // A health need assessed high, so health staff have work.
    site.store
        .update::<CaseFile, _, StoreError>(&case_id(PERSON), 5, |c| {
            if let Some(n) = c.needs.get_mut(NeedDomain::SubstanceUse.code()) {
                n.level = NeedLevel::High;
            }
            Ok(())
        })
        .unwrap();
    site.lan
        .roster
        .refresh(&site.store, &case_id(PERSON))
        .unwrap();
    for (user, home) in [
        ("manager", "/summary"),
        ("teacher", "/today"),
        ("officer", "/today"),
        ("caseworker", "/caseload"),
        ("nurse", "/health"),
        ("it", "/staff"),
        ("records", "/people"),
    ] {
        let token = login(&site, user).await;
        let req = Request::builder()
            .uri("/")
            .header("cookie", format!("pathway_session={token}"))
            .body(Body::empty())
            .unwrap();
        let resp = site.app.clone().oneshot(req).await.unwrap();
        let to = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert_eq!(to, home, "{user}");
        let (s, _) = page(&site, home, &token).await;
        assert_eq!(s, StatusCode::OK, "{user}'s home {home}");
    }
    let person = format!("/people/{PERSON}");
    // (page, what it offers, who is offered it)
    let table: &[(&str, &str, &[&str])] = &[
        (
            "/today",
            "class=\"mark\"",
            &["teacher", "officer", "manager"],
        ),
        (
            "/runs/run-1",
            "id=\"find-person\"",
            &["teacher", "caseworker", "manager"],
        ),
        (
            "/runs/run-1",
            "action=\"/runs/run-1/sessions\"",
            &["teacher", "manager"],
        ),
        (
            &person,
            "action=\"/people/WHK-000001/plan/accommodation\"",
            &["caseworker", "manager"],
        ),
        (
            &person,
            "action=\"/people/WHK-000001/plan/health_handover\"",
            &["nurse"],
        ),
        (&person, "id=\"open-transfer\"", &["caseworker", "manager"]),
        (&person, "id=\"open-release\"", &["caseworker", "manager"]),
        (&person, "id=\"assign\"", &["manager"]),
        (&person, "id=\"save-placement\"", &["records", "manager"]),
        ("/caseload", "id=\"by-unit\"", &["manager"]),
        ("/summary", "id=\"overdue\"", &["manager"]),
        ("/indicators", "id=\"headline\"", &["manager"]),
        ("/indicators.csv", "area,facility,programme", &["manager"]),
        ("/health", "id=\"health-work\"", &["nurse"]),
        ("/staff", "id=\"reset-teacher\"", &["manager", "it"]),
    ];
    for (user, _) in ROLES {
        let token = login(&site, user).await;
        for (path, offer, whom) in table {
            let (_, html) = page(&site, path, &token).await;
            assert_eq!(
                html.contains(offer),
                whom.contains(&user),
                "{user} on {path}: {offer}"
            );
        }
    }
    let nurse = login(&site, "nurse").await;
    let (_, html) = page(&site, "/health", &nurse).await;
    assert!(html.contains("Ndapewa") && html.contains("High"), "{html}");
    let manager = login(&site, "manager").await;
    let (_, html) = page(&site, "/summary", &manager).await;
    assert!(html.contains("id=\"places\""), "{html}");
}

/// Search results tell people with one name apart (date of birth, unit and cell, what they are
/// on now), and a health programme someone is on is shown only to those who may see it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_results_show_programmes_but_health_ones_only_to_health_staff() {
    let site = site();
    site.store
        .put(
            &Programme {
                code: "MHS-1".into(),
                title: "Coping group".into(),
                category: ProgrammeCategory::MentalHealth,
                ..Default::default()
            },
            5,
        )
        .unwrap();
    site.store
        .update::<CaseFile, _, StoreError>(&case_id(PERSON), 5, |c| {
            for (k, code) in [("e1", "MHS-1"), ("e2", "LIT-1")] {
                c.enrolments.insert(
                    k.into(),
                    Enrolment {
                        programme_code: code.into(),
                        status: EnrolmentStatus::Active,
                        ..Default::default()
                    },
                );
            }
            c.date_of_birth = Some("1990-04-02".into());
            Ok(())
        })
        .unwrap();
    for (user, sees_health) in [("caseworker", false), ("nurse", true)] {
        let token = login(&site, user).await;
        let page = console_page(&site, &token, "/people?q=ndapewa").await;
        assert!(
            page.contains("Programme LIT-1") && page.contains("1990"),
            "{user}: {page}"
        );
        assert_eq!(page.contains("Coping group"), sees_health, "{user}");
    }
}
