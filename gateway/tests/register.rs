//! A session's register from the console: everyone marked present in one step, then the
//! exceptions changed with a reason for each absence; today's sessions and the week's
//! timetable say which are marked.

use axum::http::StatusCode;
use pathway_shared::model::*;
use serde_json::json;

mod common;
use common::*;

const OTHER: &str = "WHK-000002";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_present_then_the_exceptions_with_reasons() {
    let site = site();
    let teacher = login(&site, "teacher").await;
    let body = json!({
        "programme_code": "LIT-1", "place": "Workshop", "capacity": 3,
        "start_date": day(&site, -3), "end_date": day(&site, 27),
        "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
        "start_time": "00:00", "end_time": "00:30",
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
    for p in [PERSON, OTHER] {
        for step in ["waiting-list", "allocate"] {
            let (s, v) = call(
                &site,
                "POST",
                &format!("/api/runs/{run}/{step}"),
                Some(&teacher),
                Some(json!({"person": p}).to_string()),
            )
            .await;
            assert_eq!(s, StatusCode::NO_CONTENT, "{step} {p}: {v}");
        }
    }
    let today = day(&site, 0);
    let session = format!("/sessions/{run}/{}/{today}", &today[..7]);

    let (_, home) = page(&site, "/today", &teacher).await;
    assert!(home.contains("not marked yet"), "{home}");
    let (_, html) = page(&site, &session, &teacher).await;
    assert!(html.contains("id=\"all-present\""), "{html}");
    let (_, html) = page(&site, &format!("{session}?all=present"), &teacher).await;
    assert_eq!(
        html.matches("<option value=\"attended\" selected>").count(),
        2,
        "{html}"
    );
    assert!(html.contains("At court"), "absence reasons are offered");

    // The exception: one absent at court. A reason left on a line marked present is dropped.
    let form_body = format!(
        "mark.{PERSON}=attended&reason.{PERSON}=sick&mark.{OTHER}=absent_excused&reason.{OTHER}=court"
    );
    let (s, to) = form(&site, &session, &teacher, &form_body).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    let reg = site
        .store
        .get::<AttendanceRegister>(&register_id(FAC, &run, &today[..7]))
        .unwrap()
        .unwrap();
    let mark = |p: &str| reg.marks[&AttendanceRegister::mark_key(&today, p)].clone();
    assert_eq!(
        (mark(PERSON).outcome, mark(PERSON).reason.as_str()),
        (MarkOutcome::Attended, "")
    );
    assert_eq!(
        (mark(OTHER).outcome, mark(OTHER).reason.as_str()),
        (MarkOutcome::AbsentExcused, "court")
    );
    let (_, home) = page(&site, "/today", &teacher).await;
    assert!(home.contains("✔ 2 marked"), "{home}");
    let (_, html) = page(&site, &session, &teacher).await;
    assert!(
        html.contains("<option value=\"court\" selected>"),
        "the reason shows again: {html}"
    );

    // The run's page counts attendance, and follows a mark changed later.
    let (_, run_page) = page(&site, &format!("/runs/{run}"), &teacher).await;
    assert!(
        run_page.contains("attended 1 of 1 sessions (100%)")
            && run_page.contains("attended 0 of 1 sessions (0%)"),
        "{run_page}"
    );
    let (s, _) = form(&site, &session, &teacher, &format!("mark.{OTHER}=attended")).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, run_page) = page(&site, &format!("/runs/{run}"), &teacher).await;
    assert!(
        !run_page.contains("attended 0 of 1"),
        "the count follows the change: {run_page}"
    );
    let (s, _) = form(
        &site,
        &session,
        &teacher,
        &format!("mark.{OTHER}=absent_excused&reason.{OTHER}=court"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, run_page) = page(&site, &format!("/runs/{run}"), &teacher).await;
    assert!(
        run_page.contains("attended 0 of 1 sessions (0%)"),
        "{run_page}"
    );

    // The week's timetable ticks the marked session, for its instructor and for the manager.
    let (_, week) = page(&site, "/timetable", &teacher).await;
    assert!(
        week.contains("Workshop") && week.contains("✔ 2 marked"),
        "{week}"
    );
    let manager = login(&site, "manager").await;
    let (_, week) = page(&site, "/timetable?instructor=teacher", &manager).await;
    assert!(week.contains("✔ 2 marked"), "{week}");
    let (_, week) = page(&site, "/timetable?unit=Nowhere", &manager).await;
    assert!(
        !week.contains("Workshop"),
        "nobody from that unit is on the run"
    );

    // On paper for the days the box is off: two weeks on one A4 page, entered afterwards and
    // flagged as from the paper register.
    let (s, paper) = page(&site, &format!("/runs/{run}/print"), &teacher).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        paper.contains("size:A4 landscape")
            && paper.contains("Ndapewa")
            && paper.contains("id=\"paper-register\""),
        "{paper}"
    );
    let yesterday = day(&site, -1);
    let earlier = format!("/sessions/{run}/{}/{yesterday}", &yesterday[..7]);
    let (_, html) = page(&site, &earlier, &teacher).await;
    assert!(html.contains("id=\"from-paper\""), "{html}");
    let (s, _) = form(
        &site,
        &earlier,
        &teacher,
        &format!("mark.{PERSON}=attended&from_paper=yes"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&site, &earlier, &teacher).await;
    assert!(html.contains("from paper"), "{html}");

    // Over the API, a reason is named when wrong, and nothing is written.
    let reg = site
        .store
        .get::<AttendanceRegister>(&register_id(FAC, &run, &today[..7]))
        .unwrap()
        .unwrap();
    let api = format!(
        "/api/registers/{run}/{}/sessions/{today}/marks",
        &today[..7]
    );
    for (marks, field) in [
        (
            json!([{"person": PERSON, "outcome": "absent_unexcused", "reason": "holiday"}]),
            "marks[0].reason",
        ),
        (
            json!([{"person": OTHER, "outcome": "refused"}, {"person": PERSON, "outcome": "attended", "reason": "sick"}]),
            "marks[1].reason",
        ),
    ] {
        let (s, v) = call(
            &site,
            "POST",
            &api,
            Some(&teacher),
            Some(json!({"marks": marks}).to_string()),
        )
        .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(field)),
            "{v}"
        );
    }
    let again = site
        .store
        .get::<AttendanceRegister>(&register_id(FAC, &run, &today[..7]))
        .unwrap()
        .unwrap();
    assert_eq!(again.marks, reg.marks, "a refused request writes nothing");
}
