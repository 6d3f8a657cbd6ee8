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
    let app = admin::router(Admin::new(store.clone(), status, Clock::system()));
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
        // A national administrator does the national work.
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
    for a in ["read_case", "create_staff", "create_programme", "login"] {
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
