//! The hub's administration through its router: each role's limits as a table, staff accounts,
//! the catalogue, the review queue, the audit trail, bad input, and the OpenAPI description.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use pathway_hub::admin::{self, Admin, AdminRole};
use pathway_shared::clock::Clock;
use pathway_shared::crypt::password_matches;
use pathway_shared::model::{
    CaseFile, CaseNote, Facility, NoteType, Programme, StaffAccount, case_id, programme_id,
    staff_id,
};
use pathway_shared::status::NodeStatus;
use pathway_shared::store::{ReviewReason, Store, StoreOptions};
use serde_json::{Value, json};
use tower::ServiceExt;

const PASSWORD: &str = "a long enough password";

struct Site {
    _dir: tempfile::TempDir,
    store: Store,
    app: axum::Router,
}

fn site() -> Site {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("hub"), StoreOptions::default()).unwrap();
    store
        .put(
            &Facility {
                id: "WHK".into(),
                name: "Windhoek Correctional Facility".into(),
                ..Default::default()
            },
            1,
        )
        .unwrap();
    store
        .put(
            &Programme {
                code: "LIT-1".into(),
                title: "Adult literacy".into(),
                duration_weeks: 12,
                sessions_per_week: 2,
                ..Default::default()
            },
            1,
        )
        .unwrap();
    let mut file = CaseFile {
        person_id: "WHK-000001".into(),
        given_name: "Johannes".into(),
        family_name: "Shikongo".into(),
        holding_facility: "WHK".into(),
        ..Default::default()
    };
    for (id, kind, text) in [
        ("n1", NoteType::General, "attends every class"),
        ("n2", NoteType::Health, "takes medication for epilepsy"),
    ] {
        file.notes.insert(
            id.into(),
            CaseNote {
                note_type: kind,
                text: text.into(),
                author: "case.officer".into(),
                ..Default::default()
            },
        );
    }
    store.put(&file, 1).unwrap();
    for (u, r) in [
        ("admin.national", AdminRole::NationalAdmin),
        ("operator", AdminRole::SyncOperator),
        ("auditor", AdminRole::Auditor),
    ] {
        admin::add_admin(&store, u, u, r, PASSWORD).unwrap();
    }
    let status: pathway_shared::status::Source = Arc::new(NodeStatus::default);
    let app = admin::router(Admin::new(
        store.clone(),
        (status, pathway_hub::LiveSessions::default()),
        Clock::system(),
    ));
    Site {
        _dir: dir,
        store,
        app,
    }
}

async fn call(
    site: &Site,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = match body {
        Some(b) => {
            req = req.header("content-type", "application/json");
            Body::from(b.to_string())
        }
        None => Body::empty(),
    };
    let resp = site
        .app
        .clone()
        .oneshot(req.body(body).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn login(site: &Site, user: &str) -> String {
    let (s, v) = call(
        site,
        "POST",
        "/api/login",
        None,
        Some(json!({ "username": user, "password": PASSWORD })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_role_can_do_only_what_it_is_for() {
    let site = site();
    let admin = login(&site, "admin.national").await;
    let operator = login(&site, "operator").await;
    let auditor = login(&site, "auditor").await;
    let staff = || json!({ "username": "new.teacher", "display_name": "Anna Nghipondoka", "roles": ["instructor"] });
    let programme = || json!({ "code": "VOC-9", "title": "Welding", "category": "vocational", "duration_weeks": 10, "sessions_per_week": 3 });
    #[rustfmt::skip]
    let table: Vec<(&str, &str, &str, Option<Value>, StatusCode)> = vec![
        // A sync operator sees the fleet and sync metadata, never case content or accounts.
        (&operator, "GET", "/api/fleet", None, StatusCode::OK),
        (&operator, "GET", "/api/reviews", None, StatusCode::OK),
        (&operator, "GET", "/api/cases/WHK-000001", None, StatusCode::FORBIDDEN),
        (&operator, "GET", "/api/facilities/WHK/staff", None, StatusCode::FORBIDDEN),
        (&operator, "GET", "/api/audit", None, StatusCode::FORBIDDEN),
        (&operator, "POST", "/api/facilities/WHK/staff", Some(staff()), StatusCode::FORBIDDEN),
        (&operator, "POST", "/api/programmes/LIT-1/withdraw", None, StatusCode::FORBIDDEN),
        // An auditor reads the audit trail and accounts, and writes nothing.
        (&auditor, "GET", "/api/audit", None, StatusCode::OK),
        (&auditor, "GET", "/api/facilities/WHK/staff", None, StatusCode::OK),
        (&auditor, "GET", "/api/cases/WHK-000001", None, StatusCode::FORBIDDEN),
        (&auditor, "POST", "/api/facilities/WHK/staff", Some(staff()), StatusCode::FORBIDDEN),
        (&auditor, "POST", "/api/programmes", Some(programme()), StatusCode::FORBIDDEN),
        (&auditor, "POST", "/api/programmes/LIT-1/withdraw", None, StatusCode::FORBIDDEN),
        (&auditor, "POST", "/api/reviews/reviewed", Some(json!({"key": "x"})), StatusCode::FORBIDDEN),
        (&auditor, "POST", "/api/facilities/WHK/staff/x/disable", None, StatusCode::FORBIDDEN),
        (&operator, "GET", "/api/revoked", None, StatusCode::OK),
        (&operator, "POST", "/api/gateways/gw-whk-a/revoke", Some(json!({"reason": "lost"})), StatusCode::FORBIDDEN),
        (&auditor, "POST", "/api/gateways/gw-whk-a/revoke", Some(json!({"reason": "lost"})), StatusCode::FORBIDDEN),
        (&admin, "POST", "/api/gateways/gw-whk-a/revoke", Some(json!({"reason": ""})), StatusCode::UNPROCESSABLE_ENTITY),
        (&admin, "POST", "/api/cases/WHK-000001/transfer", Some(json!({"to_facility": "NOPE", "reason": "x"})), StatusCode::UNPROCESSABLE_ENTITY),
        (&auditor, "POST", "/api/cases/WHK-000001/transfer", Some(json!({"to_facility": "WHK", "reason": "x"})), StatusCode::FORBIDDEN),
        (&operator, "POST", "/api/facilities", Some(json!({"id": "OSH", "name": "Oluno"})), StatusCode::FORBIDDEN),
        (&auditor, "POST", "/api/partners", Some(json!({"id": "p", "name": "P", "kind": "ngo", "services": ["x"]})), StatusCode::FORBIDDEN),
        (&admin, "POST", "/api/facilities", Some(json!({"id": "osh!", "name": "Oluno"})), StatusCode::UNPROCESSABLE_ENTITY),
        (&admin, "POST", "/api/partners", Some(json!({"id": "hostel", "name": "Hostel", "kind": "hotel", "services": ["beds"]})), StatusCode::UNPROCESSABLE_ENTITY),
        (&admin, "POST", "/api/programmes/LIT-1", Some(json!({"duration_weeks": 0})), StatusCode::UNPROCESSABLE_ENTITY),
        // A national administrator does the national work.
        (&admin, "POST", "/api/facilities", Some(json!({"id": "OSH", "name": "Oluno Correctional Facility", "capacity": 900})), StatusCode::CREATED),
        (&admin, "POST", "/api/facilities", Some(json!({"id": "OSH", "name": "Again"})), StatusCode::CONFLICT),
        (&admin, "POST", "/api/partners", Some(json!({"id": "namibia-hostels", "name": "Namibia Hostels", "kind": "housing_provider", "services": ["emergency housing"]})), StatusCode::CREATED),
        (&admin, "POST", "/api/programmes/LIT-1", Some(json!({"title": "Adult literacy, level 1"})), StatusCode::OK),
        (&admin, "POST", "/api/gateways/gw-whk-a/revoke", Some(json!({"reason": "the box was lost"})), StatusCode::OK),
        (&admin, "POST", "/api/programmes", Some(programme()), StatusCode::CREATED),
        (&admin, "POST", "/api/facilities/WHK/staff", Some(staff()), StatusCode::CREATED),
        (&admin, "GET", "/api/cases/WHK-000001", None, StatusCode::OK),
        // Nobody without a session.
        ("", "GET", "/api/fleet", None, StatusCode::UNAUTHORIZED),
        ("not-a-token", "GET", "/api/reviews", None, StatusCode::UNAUTHORIZED),
    ];
    for (token, method, path, body, want) in table {
        let token = (!token.is_empty()).then_some(token);
        let (got, v) = call(&site, method, path, token, body).await;
        assert_eq!(got, want, "{method} {path}: {v}");
    }
    // Nothing the refused calls tried was stored.
    assert!(
        site.store
            .get::<Programme>(&programme_id("LIT-1"))
            .unwrap()
            .is_some_and(|p| !p.withdrawn)
    );
    // The case file a national administrator reads leaves out health content; the read is audited.
    let (_, file) = call(&site, "GET", "/api/cases/WHK-000001", Some(&admin), None).await;
    assert_eq!(file["given_name"], "Johannes");
    assert!(file["notes"].get("n1").is_some());
    assert!(
        file["notes"].get("n2").is_none(),
        "health notes stay at the facility"
    );
    let (_, trail) = call(&site, "GET", "/api/audit", Some(&auditor), None).await;
    assert_eq!(trail["chain"]["intact"], true, "{trail}");
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    let (_, list) = call(&site, "GET", "/api/revoked", Some(&operator), None).await;
    assert_eq!(list["gw-whk-a"]["by"], "admin.national", "{list}");
    for a in [
        "read_case",
        "create_staff",
        "create_programme",
        "login",
        "revoke_gateway",
    ] {
        assert!(actions.contains(&a), "{a} not audited: {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_accounts_are_made_changed_disabled_and_reset_at_the_hub() {
    let site = site();
    let admin = login(&site, "admin.national").await;
    let (s, v) = call(&site, "POST", "/api/facilities/WHK/staff", Some(&admin),
        Some(json!({ "username": "new.teacher", "display_name": "Anna Nghipondoka", "roles": ["instructor", "case_officer"] }))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let otp = v["one_time_password"].as_str().unwrap().to_owned();
    assert!(v.get("password_hash").is_none());
    let id = staff_id("WHK", "new.teacher");
    let stored: StaffAccount = site.store.get(&id).unwrap().unwrap();
    assert!(stored.must_change_password);
    assert!(password_matches(&stored.password_hash, &otp));
    assert_eq!(stored.roles.len(), 2);

    // Bad input names the field and stores nothing.
    for (body, field) in [
        (
            json!({ "username": "Bad Name", "display_name": "x", "roles": ["instructor"] }),
            "username",
        ),
        (
            json!({ "username": "ok.name", "display_name": "  ", "roles": ["instructor"] }),
            "display_name",
        ),
        (
            json!({ "username": "ok.name", "display_name": "Ok", "roles": ["warden"] }),
            "roles",
        ),
        (
            json!({ "username": "ok.name", "display_name": "Ok", "roles": [] }),
            "roles",
        ),
    ] {
        let (s, v) = call(
            &site,
            "POST",
            "/api/facilities/WHK/staff",
            Some(&admin),
            Some(body),
        )
        .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{v}"
        );
    }
    assert!(
        site.store
            .meta(&staff_id("WHK", "ok.name"))
            .unwrap()
            .is_none()
    );
    let (s, _) = call(
        &site,
        "POST",
        "/api/facilities/NOPE/staff",
        Some(&admin),
        Some(json!({ "username": "ok.name", "display_name": "Ok", "roles": ["instructor"] })),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &site,
        "POST",
        "/api/facilities/WHK/staff",
        Some(&admin),
        Some(
            json!({ "username": "new.teacher", "display_name": "Again", "roles": ["instructor"] }),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "an account is never overwritten");

    let (s, _) = call(
        &site,
        "POST",
        "/api/facilities/WHK/staff/new.teacher/roles",
        Some(&admin),
        Some(json!({ "roles": ["instructor"] })),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &site,
        "POST",
        "/api/facilities/WHK/staff/new.teacher/disable",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let stored: StaffAccount = site.store.get(&id).unwrap().unwrap();
    assert!(stored.disabled);
    assert_eq!(stored.roles.len(), 1);
    let (s, v) = call(
        &site,
        "POST",
        "/api/facilities/WHK/staff/new.teacher/reset-password",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let again = v["one_time_password"].as_str().unwrap();
    let stored: StaffAccount = site.store.get(&id).unwrap().unwrap();
    assert!(password_matches(&stored.password_hash, again));
    assert!(!password_matches(&stored.password_hash, &otp));
    let (s, _) = call(
        &site,
        "POST",
        "/api/facilities/WHK/staff/nobody/disable",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Withdrawn, never deleted.
    let (s, v) = call(
        &site,
        "POST",
        "/api/programmes/LIT-1/withdraw",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(
        site.store
            .get::<Programme>(&programme_id("LIT-1"))
            .unwrap()
            .unwrap()
            .withdrawn
    );
    let (s, v) = call(&site, "POST", "/api/programmes", Some(&admin),
        Some(json!({ "code": "X", "title": "t", "category": "knitting", "duration_weeks": 1, "sessions_per_week": 1 }))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_review_queue_is_read_and_marked_and_wrong_passwords_are_refused() {
    let site = site();
    site.store
        .note_review(
            &case_id("WHK-000001"),
            "WHK",
            ReviewReason::EditAfterMove,
            "2 change(s)",
            5,
        )
        .unwrap();
    let admin = login(&site, "admin.national").await;
    let (_, v) = call(&site, "GET", "/api/reviews", Some(&admin), None).await;
    let key = v["items"][0]["key"].as_str().unwrap().to_owned();
    assert_eq!(v["items"][0]["reason"], "edit_after_move");
    let (s, v) = call(
        &site,
        "POST",
        "/api/reviews/reviewed",
        Some(&admin),
        Some(json!({ "key": key })),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["reviewed"]["by"], "admin.national");
    let (s, v) = call(
        &site,
        "POST",
        "/api/reviews/reviewed",
        Some(&admin),
        Some(json!({ "key": "nothing" })),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("key"))
    );
    let (s, _) = call(
        &site,
        "POST",
        "/api/login",
        None,
        Some(json!({ "username": "admin.national", "password": "wrong" })),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(
        &site,
        "POST",
        "/api/login",
        None,
        Some(json!({ "username": "x".repeat(65), "password": "p" })),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

/// Every route in the code is described, and every described operation is routed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_matches_the_routes() {
    let site = site();
    let (s, doc) = call(&site, "GET", "/api/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let paths = doc["paths"].as_object().unwrap();
    let source = include_str!("../src/admin/mod.rs");
    for route in source.split('"').filter(|p| p.starts_with("/api/")) {
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
                Some(json!({})),
            )
            .await;
            assert!(
                !(s == StatusCode::NOT_FOUND && v.is_null()),
                "{method} {path} is not routed"
            );
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
}

async fn upload(site: &Site, path: &str, token: &str, csv: String) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "text/csv")
        .body(Body::from(csv))
        .unwrap();
    let resp = site.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 8 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn people_csv(n: usize) -> String {
    let mut csv = String::from(
        "Prison_Number,Given_Name,Family_Name,Date_of_Birth,Admission_Date,Custody_Status,Unit,Cell\n",
    );
    for i in 0..n {
        csv.push_str(&format!(
            "NA-{i:05},Given{i},Family{i},1990-01-{:02},2025-06-01,sentenced,Block {},{}\n",
            1 + i % 28,
            i % 5,
            i % 40
        ));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_imports_once_and_a_bad_file_stores_nothing() {
    let site = site();
    let admin = login(&site, "admin.national").await;
    let operator = login(&site, "operator").await;
    let path = "/api/facilities/WHK/import/people";
    let count = || {
        site.store
            .list("facility:WHK", pathway_shared::model::Kind::CaseFile)
            .unwrap()
            .len()
    };
    let before = count();

    // Bad rows are named by line and column; nothing is stored.
    let mut bad = people_csv(50);
    bad.push_str("NA-00003,Again,Twice,1990-01-01,2025-06-01,,,\n");
    bad.push_str("NA-90001,Ok,Person,1990-13-45,2025-06-01,,,\n");
    bad.push_str("NA-90002,Ok,Person,,2025-06-01,on_holiday,,\n");
    bad.push_str("NA-90003,,Person,,2025-06-01,,Block 1,\n");
    let (s, v) = upload(&site, path, &admin, bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let rows: Vec<(u64, &str)> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["column"].as_str().unwrap()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (52, "prison_number"),
            (53, "date_of_birth"),
            (54, "custody_status"),
            (55, "given_name"),
            (55, "cell")
        ],
        "{v}"
    );
    assert_eq!(count(), before, "nothing stored from a bad file");
    let (s, v) = upload(&site, path, &admin, "prison,name\nx,y\n".into()).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        v["rows"][0]["message"]
            .as_str()
            .unwrap()
            .contains("prison_number"),
        "{v}"
    );
    let (s, _) = upload(&site, path, &operator, people_csv(3)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // A good file, then the same file again: the second changes nothing.
    let csv = people_csv(2_000);
    let (s, v) = upload(&site, path, &admin, csv.clone()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["created"].as_u64(), v["unchanged"].as_u64()),
        (Some(2_000), Some(0))
    );
    assert_eq!(count(), before + 2_000);
    let heads = site.store.feed_after(0, usize::MAX).unwrap().len();
    let (s, v) = upload(&site, path, &admin, csv).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["created"].as_u64(), v["unchanged"].as_u64()),
        (Some(0), Some(2_000))
    );
    assert_eq!(
        site.store.feed_after(0, usize::MAX).unwrap().len(),
        heads,
        "not one change written"
    );
    let one: CaseFile = site.store.get(&case_id("WHK-H000007")).unwrap().unwrap();
    assert_eq!(
        (one.prison_number.as_str(), one.given_name.as_str()),
        ("NA-00006", "Given6")
    );
    assert_eq!(one.location.unwrap().value.unit, "Block 1");
    // The same number with another name is a bad row, not an overwrite.
    let (s, v) = upload(
        &site,
        path,
        &admin,
        "prison_number,given_name,family_name,admission_date\nna-00006,Someone,Else,2025-01-01\n"
            .into(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(
        v["rows"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Given6 Family6"),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_accounts_import_with_one_time_passwords() {
    let site = site();
    let admin = login(&site, "admin.national").await;
    let path = "/api/facilities/WHK/import/staff";
    let csv = "username,display_name,roles\nteacher.a,Anna Shipanga,instructor\nofficer.b,Ben Iipumbu,case_officer; prison_officer\n";
    let (s, v) = upload(&site, path, &admin, csv.into()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["created"], 2);
    let otp = v["one_time_passwords"]["officer.b"].as_str().unwrap();
    let b: StaffAccount = site
        .store
        .get(&staff_id("WHK", "officer.b"))
        .unwrap()
        .unwrap();
    assert!(password_matches(&b.password_hash, otp) && b.must_change_password);
    assert_eq!(b.roles.len(), 2);
    let (s, v) = upload(&site, path, &admin, csv.into()).await;
    assert_eq!(
        (s, v["created"].as_u64(), v["unchanged"].as_u64()),
        (StatusCode::OK, Some(0), Some(2))
    );
    let (s, v) = upload(
        &site,
        path,
        &admin,
        "username,display_name,roles\nBad Name,X,instructor\nok.c,Ok,warden\n".into(),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let cols: Vec<&str> = v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["column"].as_str().unwrap())
        .collect();
    assert_eq!(cols, ["username", "roles"], "{v}");
    assert!(site.store.meta(&staff_id("WHK", "ok.c")).unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_an_administrators_password_is_slowed_and_audited() {
    let site = site();
    let attempt = |password: &str| json!({ "username": "admin.national", "password": password });
    for _ in 0..5 {
        let (s, _) = call(&site, "POST", "/api/login", None, Some(attempt("guess"))).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    // Past the free failures, even the right password waits: nothing is checked.
    let (s, v) = call(&site, "POST", "/api/login", None, Some(attempt(PASSWORD))).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(v["error"].as_str().unwrap().contains("try again in"), "{v}");
    // Another administrator, at a desk of their own, is not held up.
    let mut req = Request::builder()
        .method("POST")
        .uri("/api/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"username": "auditor", "password": PASSWORD}).to_string(),
        ))
        .unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::from((
            [10, 0, 0, 9],
            50_000,
        ))));
    let resp = site.app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let auditor = serde_json::from_slice::<Value>(&body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (_, trail) = call(&site, "GET", "/api/audit", Some(&auditor), None).await;
    let actions: Vec<&str> = trail["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Failures for one username reach the trail once a minute, with the count since.
    assert_eq!(
        actions.iter().filter(|a| **a == "login_failed").count(),
        1,
        "{actions:?}"
    );
    assert!(actions.contains(&"login_throttled"), "{actions:?}");
}

/// The registry, the catalogue and the partners check the whole input first: a refusal names
/// the field and stores nothing; an edit changes only what it names; registering a gateway
/// needs a facility in the registry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_country_is_set_up_through_checked_input() {
    let site = site();
    let admin = login(&site, "admin.national").await;
    let t = Some(admin.as_str());
    let facilities = |site: &Site| {
        site.store
            .list("national", pathway_shared::model::Kind::Facility)
            .unwrap()
            .len()
    };
    let before = facilities(&site);
    for (body, status, field) in [
        (json!({"id": "wh k", "name": "Windhoek"}), 422, "id"),
        (
            json!({"id": "WHK", "name": "Windhoek again", "time_zone": "Africa/Windhoek"}),
            409,
            "",
        ),
        (
            json!({"id": "OSH", "name": "Oshakati", "time_zone": "Africa/Nowhere"}),
            422,
            "time_zone",
        ),
        (json!({"id": "OSH", "name": "x".repeat(121)}), 422, "name"),
        (
            json!({"id": "OSH", "name": "Oshakati", "capacity": 1_000_000}),
            422,
            "capacity",
        ),
        (json!({"id": "OSH", "nom": "Oshakati"}), 400, "nom"),
    ] {
        let (s, v) = call(&site, "POST", "/api/facilities", t, Some(body.clone())).await;
        assert_eq!(s.as_u16(), status, "{body}: {v}");
        match status {
            422 => assert_eq!(v["field"], field, "{body}: {v}"),
            400 => assert!(
                v["error"].as_str().unwrap_or_default().contains(field),
                "{v}"
            ),
            _ => {}
        }
    }
    assert_eq!(facilities(&site), before, "nothing stored");
    let (s, v) = call(
        &site,
        "POST",
        "/api/facilities",
        t,
        Some(json!({"id": "osh", "name": "Oshakati Correctional Facility", "name_th": "ทัณฑสถานโอชากาตี", "region": "Oshana", "time_zone": "Africa/Windhoek"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["id"].as_str(), v["time_zone"].as_str()),
        (Some("OSH"), Some("Africa/Windhoek"))
    );
    let (s, v) = call(
        &site,
        "POST",
        "/api/facilities/OSH",
        t,
        Some(json!({"time_zone": "Asia/Bangkok"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["time_zone"].as_str(), v["name_th"].as_str()),
        (Some("Asia/Bangkok"), Some("ทัณฑสถานโอชากาตี"))
    );
    // A site whose link opens once a week is stale only after a week.
    let (s, v) = call(
        &site,
        "POST",
        "/api/facilities/OSH",
        t,
        Some(json!({"stale_after_hours": 9_999})),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["field"].as_str()),
        (422, Some("stale_after_hours")),
        "{v}"
    );
    let (s, v) = call(
        &site,
        "POST",
        "/api/facilities/OSH",
        t,
        Some(json!({"stale_after_hours": 168})),
    )
    .await;
    assert_eq!(
        (s, v["stale_after_hours"].as_u64()),
        (StatusCode::OK, Some(168)),
        "{v}"
    );

    // Programmes: a title over its limit, a bad code, a duplicate; Thai titles kept.
    for (body, status, field) in [
        (
            json!({"code": "NEW-1", "title": "t".repeat(121), "category": "education", "duration_weeks": 4, "sessions_per_week": 1}),
            422,
            "title",
        ),
        (
            json!({"code": "NEW-1", "title": "New", "title_th": "ท".repeat(121), "category": "education", "duration_weeks": 4, "sessions_per_week": 1}),
            422,
            "title_th",
        ),
        (
            json!({"code": "new one", "title": "New", "category": "education", "duration_weeks": 4, "sessions_per_week": 1}),
            422,
            "code",
        ),
        (
            json!({"code": "LIT-1", "title": "Again", "category": "education", "duration_weeks": 4, "sessions_per_week": 1}),
            409,
            "",
        ),
    ] {
        let (s, v) = call(&site, "POST", "/api/programmes", t, Some(body.clone())).await;
        assert_eq!(s.as_u16(), status, "{body}: {v}");
        if !field.is_empty() {
            assert_eq!(v["field"], field, "{body}: {v}");
        }
    }
    let (s, v) = call(
        &site,
        "POST",
        "/api/programmes",
        t,
        Some(json!({"code": "WLD-1", "title": "Welding", "title_th": "งานเชื่อม", "category": "vocational", "duration_weeks": 30, "sessions_per_week": 2})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["title_th"], "งานเชื่อม");

    // Partners: made, deactivated (audited), listed.
    let (s, v) = call(
        &site,
        "POST",
        "/api/partners",
        t,
        Some(json!({"id": "namcot", "name": "NamCot", "kind": "housing_provider", "services": []})),
    )
    .await;
    assert_eq!(
        (s.as_u16(), v["field"].as_str()),
        (422, Some("services")),
        "{v}"
    );
    let (s, v) = call(&site, "POST", "/api/partners", t, Some(json!({"id": "namcot", "name": "NamCot", "kind": "housing_provider", "services": ["emergency housing"]}))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = call(&site, "POST", "/api/partners/namcot/deactivate", t, None).await;
    assert_eq!(
        (s, v["active"].as_bool()),
        (StatusCode::OK, Some(false)),
        "{v}"
    );
    let (_, v) = call(&site, "GET", "/api/partners", t, None).await;
    assert_eq!(v[0]["active"], false);

    // A gateway registered for a facility the registry lacks is refused; then for OSH.
    let (s, _) = call(
        &site,
        "POST",
        "/api/gateways",
        t,
        Some(json!({"gateway": "gw-x", "facility": "NOPE"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = call(
        &site,
        "POST",
        "/api/gateways",
        t,
        Some(json!({"gateway": "GW X", "facility": "OSH"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = call(
        &site,
        "POST",
        "/api/gateways",
        t,
        Some(json!({"gateway": "gw-osh01-a", "facility": "OSH"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = call(
        &site,
        "POST",
        "/api/gateways",
        t,
        Some(json!({"gateway": "gw-osh01-a", "facility": "OSH"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "registering again changes nothing");
    let (s, _) = call(
        &site,
        "POST",
        "/api/gateways",
        t,
        Some(json!({"gateway": "gw-osh01-a", "facility": "WHK"})),
    )
    .await;
    assert_eq!(s, StatusCode::CONFLICT, "a gateway serves one facility");
    // An operator may not register one.
    let op = login(&site, "operator").await;
    let (s, _) = call(
        &site,
        "POST",
        "/api/gateways",
        Some(&op),
        Some(json!({"gateway": "gw-osh01-b", "facility": "OSH"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Every change is in the audit trail.
    let (_, v) = call(&site, "GET", "/api/audit", t, None).await;
    let actions: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for a in [
        "create_facility",
        "edit_facility",
        "create_programme",
        "create_partner",
        "deactivate_partner",
        "register_gateway",
    ] {
        assert!(actions.contains(&a), "{a} audited: {actions:?}");
    }
}

/// Every request riding on the session cookie that would change something must come from the
/// dashboard's own pages, whatever its body: a raw-body import, a courier file or a log-in
/// posted from another site is refused and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cookie_borne_write_from_another_site_is_refused_whatever_its_body() {
    let site = site();
    let token = login(&site, "admin.national").await;
    let send = |path: &'static str, origin: &'static str, body: String| {
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header("host", "hub.pathway.na")
            .header("origin", origin)
            .header("cookie", format!("{}={token}", admin::COOKIE))
            .header("content-type", "text/plain")
            .body(Body::from(body))
            .unwrap();
        let app = site.app.clone();
        async move { app.oneshot(req).await.unwrap().status() }
    };
    let people = |site: &Site| {
        site.store
            .list("facility:WHK", pathway_shared::model::Kind::CaseFile)
            .unwrap()
            .len()
    };
    let before = people(&site);
    let csv = people_csv(1);
    for path in [
        "/api/facilities/WHK/import/people",
        "/api/courier",
        "/api/gateways/gw-whk/certificate",
        "/login",
    ] {
        assert_eq!(
            send(path, "https://evil.example", csv.clone()).await,
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(people(&site), before, "nothing imported");
    // From the dashboard's own page, the same import goes through.
    assert_eq!(
        send(
            "/api/facilities/WHK/import/people",
            "https://hub.pathway.na",
            csv
        )
        .await,
        StatusCode::OK
    );
    assert_eq!(people(&site), before + 1);
}

/// A national administrator reads a case file as the facility's case officer would: a
/// mental-health group the person is enrolled in is health content, and is not shown; an
/// education enrolment is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_health_programme_enrolment_is_not_shown_at_the_hub() {
    use pathway_shared::model::{Enrolment, ProgrammeCategory};
    let site = site();
    site.store
        .put(
            &Programme {
                code: "MHS-1".into(),
                title: "Coping and emotional wellbeing group".into(),
                category: ProgrammeCategory::MentalHealth,
                duration_weeks: 8,
                sessions_per_week: 1,
                ..Default::default()
            },
            2,
        )
        .unwrap();
    let id = case_id("WHK-000001");
    site.store
        .update::<CaseFile, _, pathway_shared::store::StoreError>(&id, 3, |c| {
            for (key, code) in [("e1", "MHS-1"), ("e2", "LIT-1")] {
                c.enrolments.insert(
                    key.into(),
                    Enrolment {
                        run_id: format!("{code}-run"),
                        programme_code: code.into(),
                        facility_id: "WHK".into(),
                        ..Default::default()
                    },
                );
            }
            Ok(())
        })
        .unwrap();
    let token = login(&site, "admin.national").await;
    let (s, v) = call(&site, "GET", "/api/cases/WHK-000001", Some(&token), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let shown = v["enrolments"].to_string();
    assert!(shown.contains("LIT-1"), "{shown}");
    assert!(
        !shown.contains("MHS-1"),
        "the mental-health group is not shown: {shown}"
    );
}

/// A page or file body as text, for a logged-in administrator.
async fn text(site: &axum::Router, path: &str, token: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = site.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 4 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_after_release_is_checked_audited_and_counted() {
    use pathway_shared::indicators::tracker::Tracker;
    use pathway_shared::model::ReleaseRecord;
    let site = site();
    let mut released = CaseFile {
        person_id: "WHK-000009".into(),
        given_name: "Maria".into(),
        family_name: "Nangolo".into(),
        holding_facility: "WHK".into(),
        admission_date: "2026-01-05".into(),
        release: Some(ReleaseRecord {
            on: "2026-10-01".into(),
            by: "case.officer".into(),
            first_night: "temporary".into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    released.prison_number = "N-9".into();
    site.store.put(&released, 2).unwrap();
    let status: pathway_shared::status::Source = Arc::new(NodeStatus::default);
    let app = admin::router(
        Admin::new(
            site.store.clone(),
            (status, pathway_hub::LiveSessions::default()),
            Clock::system(),
        )
        .with_indicators(Arc::new(Tracker::open(site.store.clone()).unwrap())),
    );
    let with_app = Site {
        _dir: tempfile::tempdir().unwrap(),
        store: site.store.clone(),
        app: app.clone(),
    };
    let admin = login(&with_app, "admin.national").await;
    let operator = login(&with_app, "operator").await;
    let path = "/api/cases/WHK-000009/follow-up";
    let good = json!({"on": "2026-11-12", "accommodation": "settled", "ete": "yes", "note": "works at the bakery"});

    // Only a national administrator; each field checked and named; only after a release.
    let (s, _) = call(&with_app, "POST", path, Some(&operator), Some(good.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    for (field, body) in [
        (
            "accommodation",
            json!({"accommodation": "castle", "ete": "yes"}),
        ),
        ("ete", json!({"accommodation": "settled", "ete": "maybe"})),
        (
            "on",
            json!({"on": "2026-09-30", "accommodation": "settled", "ete": "yes"}),
        ),
        (
            "on",
            json!({"on": "soon", "accommodation": "settled", "ete": "yes"}),
        ),
    ] {
        let (s, v) = call(&with_app, "POST", path, Some(&admin), Some(body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["field"], field, "{v}");
    }
    let (s, v) = call(
        &with_app,
        "POST",
        "/api/cases/WHK-000001/follow-up",
        Some(&admin),
        Some(good.clone()),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not released: {v}");
    assert!(
        site.store
            .get::<CaseFile>(&case_id("WHK-000009"))
            .unwrap()
            .unwrap()
            .follow_up
            .is_none(),
        "nothing refused is stored"
    );

    let (s, v) = call(&with_app, "POST", path, Some(&admin), Some(good)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let file = site
        .store
        .get::<CaseFile>(&case_id("WHK-000009"))
        .unwrap()
        .unwrap();
    let f = file.follow_up.unwrap();
    assert_eq!(
        (f.accommodation.as_str(), f.ete.as_str(), f.by.as_str()),
        ("settled", "yes", "admin.national")
    );
    let (_, trail) = call(
        &with_app,
        "GET",
        "/api/audit?action=follow_up",
        Some(&admin),
        None,
    )
    .await;
    assert!(trail.to_string().contains("case/WHK-000009"), "{trail}");

    // Listed as done for its release month; counted in October's release figures.
    let (s, page) = text(&app, "/follow-ups?facility=WHK&month=2026-10", &admin).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert!(
        page.contains("Maria Nangolo") && page.contains("✔"),
        "{page}"
    );
    let (s, page) = text(&app, "/indicators?area=facility:WHK&period=2026-10", &admin).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    for (fig, expect) in [
        ("fig-followed_up", "1 ÷ 1"),
        ("fig-settled_6w", "1 ÷ 1"),
        ("fig-ete_6w", "1 ÷ 1"),
        ("fig-first_night_temporary", "1 ÷ 1"),
    ] {
        let at = page.find(fig).unwrap_or_else(|| panic!("no {fig}"));
        assert!(
            page[at..at + 400].contains(expect),
            "{fig}: {}",
            &page[at..at + 400]
        );
    }
    // One person: the export leaves the figures out.
    let (_, csv) = text(
        &app,
        "/indicators.csv?area=facility:WHK&period=2026-10",
        &admin,
    )
    .await;
    let line = csv
        .lines()
        .find(|l| l.contains("followed_up"))
        .unwrap_or_else(|| panic!("{csv}"));
    assert!(line.contains("suppressed: fewer than 5 people"), "{line}");
    assert!(!line.contains(",1,1,"), "{line}");
    // The JSON API: the same figures, the one person's cells left out as in the CSV.
    let (s, v) = call(
        &with_app,
        "GET",
        "/api/indicators?area=facility:WHK&period=2026-10",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let followed = v["figures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "followed_up")
        .unwrap();
    assert_eq!(followed["suppressed"], true, "{followed}");
    assert!(followed["value"].is_null(), "{followed}");
    let (s, v) = call(
        &with_app,
        "GET",
        "/api/indicators?period=2026-13",
        Some(&admin),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["field"], "period");
    // The operator sees no indicators (case content) and no follow-ups.
    let (s, _) = text(&app, "/follow-ups", &operator).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = text(&app, "/indicators", &operator).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(&with_app, "GET", "/api/indicators", Some(&operator), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}
