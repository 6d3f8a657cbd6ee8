//! Log-in against an attacker on the prison LAN: a device that keeps failing waits (longer each
//! time) while the real user on another device gets in; spraying one password across accounts
//! is caught per device; guessing one account from many devices makes it wait at most a
//! minute; oversized fields are refused before any work and a flood leaves a bounded audit
//! trail; a session ends when its account changes at the hub; status counts it all.

use axum::http::StatusCode;
use pathway_shared::model::*;
use serde_json::{Value, json};

mod common;
use common::*;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60_000;

async fn attempt(site: &Site, from: &str, user: &str, password: &str) -> (StatusCode, Value) {
    call_from(
        site,
        Some(from),
        "POST",
        "/api/login",
        None,
        Some(json!({"username": user, "password": password}).to_string()),
    )
    .await
}

fn count(site: &Site, action: &str) -> usize {
    audit_actions(&site.store)
        .iter()
        .filter(|a| a.as_str() == action)
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_that_keeps_failing_waits_but_the_real_user_gets_in() {
    let site = site();
    for _ in 0..5 {
        let (s, _) = attempt(&site, "10.0.0.66", "teacher", "guess").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, v) = attempt(&site, "10.0.0.66", "teacher", "correct horse").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert!(v["error"].as_str().unwrap().contains("try again in"), "{v}");
    // The teacher at their own terminal is not locked out.
    let (s, v) = attempt(&site, "10.0.0.7", "teacher", "correct horse").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The attacker's device keeps trying: refused unchecked, and audited once per wait.
    for _ in 0..50 {
        let (s, _) = attempt(&site, "10.0.0.66", "teacher", "guess").await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    }
    // Failures for one username reach the trail once a minute, with how many came since.
    assert_eq!(count(&site, "login_failed"), 1);
    assert_eq!(count(&site, "login_throttled"), 1);
    assert_eq!(count(&site, "login"), 1);
    let entry = audit_entries(&site.store)
        .into_iter()
        .find(|e| e.action == "login_throttled")
        .unwrap();
    assert_eq!(entry.target, "teacher from 10.0.0.66");
    let status = site.lan.guard.status(site.lan.clock.now());
    assert_eq!((status.failed, status.refused), (5, 51));
    assert_eq!(status.clients_waiting, 1);
    assert!(
        status.summary().contains("5 failed"),
        "{}",
        status.summary()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_password_sprayed_across_accounts_from_one_device_is_held_back() {
    let site = site();
    for user in ["officer", "records", "teacher", "caseworker", "nurse"] {
        let (s, _) = attempt(&site, "10.0.0.66", user, "Winter2026").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
    }
    let (s, _) = attempt(&site, "10.0.0.66", "manager", "Winter2026").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waits_double_and_end_on_the_services_clock() {
    let site = site();
    for _ in 0..5 {
        attempt(&site, "10.0.0.66", "teacher", "guess").await;
    }
    for wait in [1, 2, 4, 8] {
        let (s, _) = attempt(&site, "10.0.0.66", "teacher", "guess").await;
        assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "waits {wait} s");
        site.time.advance(wait * SECOND);
        let (s, _) = attempt(&site, "10.0.0.66", "teacher", "guess").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "checked after {wait} s");
    }
    // Quiet for a quarter of an hour, the device starts afresh.
    site.time.advance(16 * MINUTE);
    let (s, _) = attempt(&site, "10.0.0.66", "teacher", "correct horse").await;
    assert_eq!(s, StatusCode::OK);
}

/// Guessing one account from many devices (a new address for each guess) never keeps its
/// owner out: the username's wait is per device, and each device's own failures make it wait.
/// The trail stays bounded: one entry a minute for the username, with the count since.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessing_one_account_from_many_devices_never_keeps_its_owner_out() {
    let site = site();
    for d in 0..26 {
        let (s, v) = attempt(&site, &format!("10.0.1.{d}"), "manager", "guess").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
        site.time.advance(5 * SECOND);
        // The manager, on their own device, with the right password, between the guesses.
        let (s, v) = attempt(&site, "10.0.0.7", "manager", "correct horse").await;
        assert_eq!(s, StatusCode::OK, "after {} guesses: {v}", d + 1);
    }
    let failed = audit_entries(&site.store)
        .into_iter()
        .filter(|e| e.action == "login_failed")
        .collect::<Vec<_>>();
    assert!(
        failed.len() <= 3,
        "{} entries for 26 failures",
        failed.len()
    );
    assert!(
        failed
            .iter()
            .any(|e| e.target.contains("more failures since the last entry")),
        "{failed:?}"
    );
    // One device guessing the same account is made to wait.
    for _ in 0..10 {
        attempt(&site, "10.0.2.1", "manager", "guess").await;
    }
    let (s, _) = attempt(&site, "10.0.2.1", "manager", "correct horse").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_attempts_leaves_a_bounded_trail() {
    let site = site();
    let entries = audit_actions(&site.store).len();
    let long = "x".repeat(60_000);
    for _ in 0..300 {
        let (s, v) = attempt(&site, "10.0.0.66", &long, "guess").await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(v["field"], "username");
    }
    let (s, v) = attempt(&site, "10.0.0.66", "teacher", &"p".repeat(5_000)).await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("password"))
    );
    assert_eq!(audit_actions(&site.store).len(), entries, "nothing written");
    for i in 0..3_000 {
        attempt(&site, "10.0.0.66", &format!("user{i}"), "guess").await;
    }
    let written = audit_actions(&site.store).len() - entries;
    assert_eq!(written, 5 + 1, "five failures and one entry for the wait");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_when_its_account_changes_at_the_hub() {
    let site = site();
    let caseworker = login(&site, "caseworker").await;
    let teacher = login(&site, "teacher").await;
    let nurse = login(&site, "nurse").await;
    let me = |t: &str| {
        let (site, t) = (&site, t.to_owned());
        async move { call(site, "GET", "/api/me", Some(&t), None).await.0 }
    };
    assert_eq!(me(&caseworker).await, StatusCode::OK);
    edit_at_hub(
        &site,
        &staff_id(FAC, "caseworker"),
        |a: &mut StaffAccount| a.disabled = true,
    );
    edit_at_hub(&site, &staff_id(FAC, "teacher"), |a: &mut StaffAccount| {
        a.roles = [Role::PrisonOfficer].into()
    });
    assert_eq!(me(&caseworker).await, StatusCode::UNAUTHORIZED, "disabled");
    assert_eq!(
        me(&teacher).await,
        StatusCode::UNAUTHORIZED,
        "roles changed"
    );
    assert_eq!(me(&nurse).await, StatusCode::OK, "others go on");
    let (s, _) = attempt(&site, "10.0.0.7", "caseworker", "correct horse").await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a disabled account cannot log in"
    );
    let teacher = login(&site, "teacher").await;
    let (s, v) = call(&site, "GET", "/api/me", Some(&teacher), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["roles"], json!(["PrisonOfficer"]));
    // A password reset at the hub ends the nurse's session too.
    edit_at_hub(&site, &staff_id(FAC, "nurse"), |a: &mut StaffAccount| {
        a.password_hash = pathway_gateway::lan::auth::hash_password("new one")
    });
    assert_eq!(me(&nurse).await, StatusCode::UNAUTHORIZED);
}

/// A session ends after 30 idle minutes or 8 hours in all, on the service's clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_end_on_the_services_clock() {
    let site = site();
    let me = |t: String| {
        let site = &site;
        async move { call(site, "GET", "/api/me", Some(&t), None).await.0 }
    };
    let token = login(&site, "officer").await;
    site.time.advance(29 * MINUTE);
    assert_eq!(me(token.clone()).await, StatusCode::OK);
    site.time.advance(31 * MINUTE);
    assert_eq!(me(token).await, StatusCode::UNAUTHORIZED);

    let token = login(&site, "officer").await;
    for _ in 0..23 {
        site.time.advance(20 * MINUTE);
        assert_eq!(me(token.clone()).await, StatusCode::OK);
    }
    site.time.advance(20 * MINUTE + 1);
    assert_eq!(me(token).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_past_the_queue_are_refused_at_once_and_one_device_has_one_in_flight() {
    let site = std::sync::Arc::new(site());
    let mut tasks = Vec::new();
    for d in 0..40 {
        let site = site.clone();
        tasks.push(tokio::spawn(async move {
            let t = std::time::Instant::now();
            let (s, _) = attempt(&site, &format!("10.0.2.{d}"), "teacher", "guess").await;
            (s, t.elapsed())
        }));
    }
    // Two at once from one device: one is checked, the other told to wait for it.
    let (a, b) = tokio::join!(
        attempt(&site, "10.0.3.1", "nurse", "guess"),
        attempt(&site, "10.0.3.1", "nurse", "guess2"),
    );
    // (Or both refused at once, when the queue is already full.)
    let both = [a.0, b.0];
    let checked = both
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    assert!(checked <= 1, "two checks at once from one device: {both:?}");
    assert!(
        both.iter().all(|s| [
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE
        ]
        .contains(s)),
        "{both:?}"
    );
    let mut busy = 0;
    for t in tasks {
        let (s, took) = t.await.unwrap();
        match s {
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                assert!(took < std::time::Duration::from_millis(200), "{took:?}");
            }
            s => assert_eq!(s, StatusCode::UNAUTHORIZED),
        }
    }
    assert!(busy > 0, "forty checks at once never filled the queue");
}

/// An account given a one-time password at the hub logs in, but may do nothing until its owner
/// chooses a password of their own; then the old session is gone and the new one works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_time_password_must_be_changed_before_anything_else() {
    let site = site();
    edit_at_hub(&site, &staff_id(FAC, "teacher"), |a: &mut StaffAccount| {
        a.password_hash = pathway_gateway::lan::auth::hash_password("k7mq2xv9tz4h");
        a.must_change_password = true;
    });
    let (s, v) = attempt(&site, "10.0.0.8", "teacher", "k7mq2xv9tz4h").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["staff"]["must_change_password"], true);
    let first = v["token"].as_str().unwrap().to_owned();
    let (s, v) = call(&site, "GET", "/api/me", Some(&first), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    assert!(v["error"].as_str().unwrap().contains("/api/password"));
    let change = |current: &str, new: &str| {
        json!({"current_password": current, "new_password": new}).to_string()
    };
    for (current, new, status, field) in [
        (
            "wrong one",
            "a brand new secret",
            StatusCode::FORBIDDEN,
            "current_password",
        ),
        (
            "k7mq2xv9tz4h",
            "short",
            StatusCode::UNPROCESSABLE_ENTITY,
            "new_password",
        ),
        (
            "k7mq2xv9tz4h",
            "k7mq2xv9tz4h",
            StatusCode::UNPROCESSABLE_ENTITY,
            "new_password",
        ),
    ] {
        let (s, v) = call(
            &site,
            "POST",
            "/api/password",
            Some(&first),
            Some(change(current, new)),
        )
        .await;
        assert_eq!((s, v["field"].as_str()), (status, Some(field)), "{v}");
    }
    let still: StaffAccount = site.store.get(&staff_id(FAC, "teacher")).unwrap().unwrap();
    assert!(still.must_change_password, "nothing changed on a refusal");
    let (s, v) = call(
        &site,
        "POST",
        "/api/password",
        Some(&first),
        Some(change("k7mq2xv9tz4h", "my own long secret")),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let second = v["token"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&site, "GET", "/api/me", Some(&first), None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(&site, "GET", "/api/me", Some(&second), None).await.0,
        StatusCode::OK
    );
    let now: StaffAccount = site.store.get(&staff_id(FAC, "teacher")).unwrap().unwrap();
    assert!(!now.must_change_password);
    assert_eq!(count(&site, "change_password"), 1);
    let (s, _) = attempt(&site, "10.0.0.9", "teacher", "my own long secret").await;
    assert_eq!(s, StatusCode::OK);
}

/// A password change ends every other session of the account; a common password, or one that
/// holds the username, is refused; a wrong current password is audited and a device guessing it
/// is made to wait.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_ends_other_sessions_and_guessing_the_current_one_is_held_back() {
    let site = site();
    let (s, v) = attempt(&site, "10.0.0.8", "teacher", "correct horse").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let here = v["token"].as_str().unwrap().to_owned();
    let (_, v) = attempt(&site, "10.0.0.9", "teacher", "correct horse").await;
    let elsewhere = v["token"].as_str().unwrap().to_owned();
    let change = |current: &str, new: &str| {
        Some(json!({"current_password": current, "new_password": new}).to_string())
    };
    for weak in ["aaaaaaaaaa", "Password123", "1234567890", "teacher-teacher"] {
        let (s, v) = call(
            &site,
            "POST",
            "/api/password",
            Some(&here),
            change("correct horse", weak),
        )
        .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("new_password")),
            "{weak}: {v}"
        );
    }
    let (s, v) = call(
        &site,
        "POST",
        "/api/password",
        Some(&here),
        change("correct horse", "blue kettle mango"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        call(&site, "GET", "/api/me", Some(&elsewhere), None)
            .await
            .0,
        StatusCode::UNAUTHORIZED,
        "the session on the other device ended"
    );
    let now = v["token"].as_str().unwrap().to_owned();
    // Guessing the current password from a device: audited, then held back.
    let mut statuses = Vec::new();
    for _ in 0..7 {
        let (s, _) = call(
            &site,
            "POST",
            "/api/password",
            Some(&now),
            change("guess guess", "another long one"),
        )
        .await;
        statuses.push(s);
    }
    assert!(statuses.contains(&StatusCode::FORBIDDEN), "{statuses:?}");
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    assert!(count(&site, "password_change_failed") >= 1);
}

/// A forgotten password is reset at the facility, offline: the manager gives a one-time
/// password, which works at once and must be changed first; the account's sessions end; only
/// the manager and facility IT may; it is audited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_manager_resets_a_forgotten_password_at_the_facility() {
    let site = site();
    let (_, v) = attempt(&site, "10.0.0.8", "teacher", "correct horse").await;
    let teacher = v["token"].as_str().unwrap().to_owned();
    let (s, _) = call(
        &site,
        "POST",
        "/api/staff/manager/reset-password",
        Some(&teacher),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a teacher may not");
    let (_, v) = attempt(&site, "10.0.0.9", "manager", "correct horse").await;
    let manager = v["token"].as_str().unwrap().to_owned();
    let (s, v) = call(
        &site,
        "POST",
        "/api/staff/teacher/reset-password",
        Some(&manager),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let otp = v["one_time_password"].as_str().unwrap().to_owned();
    assert_eq!(
        call(&site, "GET", "/api/me", Some(&teacher), None).await.0,
        StatusCode::UNAUTHORIZED,
        "the teacher's session ended"
    );
    let (s, v) = attempt(&site, "10.0.0.8", "teacher", &otp).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["staff"]["must_change_password"], true);
    let (s, _) = call(
        &site,
        "POST",
        "/api/staff/nobody/reset-password",
        Some(&manager),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(count(&site, "reset_staff_password"), 1);
}
