//! The facility's own time: at a Thai facility (Asia/Bangkok, UTC+7), a note written at 23:30
//! UTC is shown at 06:30 the next day, and that next day is "today" for sessions and marks.

use axum::http::StatusCode;
use serde_json::json;

mod common;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_note_at_2330_utc_is_under_the_next_local_day_in_bangkok() {
    let site = site_in(jiff::tz::TimeZone::get("Asia/Bangkok").unwrap());
    // 2026-12-07 23:30 UTC: 2026-12-08 06:30 in Bangkok.
    let at = 1_796_686_200_000;
    site.time.advance(at - site.lan.clock.now());
    let cw = login(&site, "caseworker").await;
    let (s, v) = call(
        &site,
        "POST",
        &format!("/api/cases/{PERSON}/notes"),
        Some(&cw),
        Some(json!({"text": "Spoke about the hostel", "note_type": "general"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, html) = page(&site, &format!("/people/{PERSON}"), &cw).await;
    // The console opens in Thai here: the Buddhist year, Bangkok's hour.
    assert!(html.contains("8 ธ.ค. 2569 06:30"), "{html}");
    assert!(!html.contains("7 ธ.ค. 2569 23:30"), "not UTC");

    // The run made "from today" starts on the 8th, and its session of the 8th takes marks now.
    let teacher = login(&site, "teacher").await;
    let (_, html) = page(&site, "/runs/new", &teacher).await;
    assert!(
        html.contains("value=\"2026-12-08\""),
        "today's date in the form: {html}"
    );
    let body = json!({
        "programme_code": "LIT-1", "place": "Room 1", "capacity": 5,
        "start_date": "2026-12-08", "end_date": "2026-12-20", "days": ["tue"],
        "start_time": "08:00", "end_time": "09:00",
    });
    let (s, v) = call(
        &site,
        "POST",
        "/api/runs",
        Some(&teacher),
        Some(body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let run = v["run"].as_str().unwrap().to_owned();
    for step in ["waiting-list", "allocate"] {
        let (s, v) = call(
            &site,
            "POST",
            &format!("/api/runs/{run}/{step}"),
            Some(&teacher),
            Some(json!({"person": PERSON}).to_string()),
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let (s, v) = call(
        &site,
        "POST",
        &format!("/api/registers/{run}/2026-12/sessions/2026-12-08/marks"),
        Some(&teacher),
        Some(json!({"marks": [{"person": PERSON, "outcome": "attended"}]}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "the 8th has begun in Bangkok: {v}");
    let (_, today) = page(&site, "/today", &teacher).await;
    assert!(today.contains("8 ธ.ค. 2569"), "{today}");
}
