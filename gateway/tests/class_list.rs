//! A run's class list from the console, as an instructor builds it: people found by name and
//! put on the waiting list, their standing shown (a clash with another run, a release before
//! the run ends, the programme completed before), places given up to capacity with a clash
//! confirmed first, and a place ended with an outcome. Every refusal names the field and
//! stores nothing.

use axum::http::StatusCode;
use pathway_shared::model::*;
use serde_json::{Value, json};

mod common;
use common::*;

async fn new_run(
    site: &Site,
    token: &str,
    days: &[&str],
    from: &str,
    to: &str,
    capacity: u32,
) -> String {
    let body = json!({
        "programme_code": "LIT-1", "place": format!("Room {from}"), "capacity": capacity,
        "start_date": day(site, 0), "end_date": day(site, 27), "days": days,
        "start_time": from, "end_time": to,
    });
    let (s, v) = call(
        site,
        "POST",
        "/api/runs",
        Some(token),
        Some(body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["run"].as_str().unwrap().to_owned()
}

async fn eligibility(site: &Site, token: &str, run: &str, person: &str) -> Value {
    let (s, v) = call(
        site,
        "GET",
        &format!("/api/runs/{run}/eligibility/{person}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

fn allocated(site: &Site, run: &str) -> usize {
    site.store
        .get::<ProgrammeRun>(&run_id(FAC, run))
        .unwrap()
        .unwrap()
        .allocated()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instructor_builds_a_class_from_the_waiting_list_with_clashes_warned() {
    let site = site();
    let teacher = login(&site, "teacher").await;
    let morning = new_run(&site, &teacher, &["mon", "wed", "fri"], "09:00", "10:30", 5).await;
    let overlapping = new_run(&site, &teacher, &["wed"], "10:00", "11:00", 1).await;
    let afternoon = new_run(&site, &teacher, &["mon", "wed"], "14:00", "15:00", 5).await;

    // Found by name on the run's page, and added from there.
    let (s, html) = page(&site, &format!("/runs/{morning}?q=ndapewa"), &teacher).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains("id=\"found\"") && html.contains("Ndapewa"),
        "{html}"
    );
    let (s, to) = form(
        &site,
        &format!("/runs/{morning}/waiting-list"),
        &teacher,
        &format!("person={PERSON}"),
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            format!("/runs/{morning}?saved=listed").as_str()
        )
    );
    let (s, to) = form(
        &site,
        &format!("/runs/{morning}/allocate"),
        &teacher,
        &format!("person={PERSON}"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{to}");
    assert_eq!(allocated(&site, &morning), 1);

    // The overlapping run shows the clash by the other run's name, and asks before giving.
    form(
        &site,
        &format!("/runs/{overlapping}/waiting-list"),
        &teacher,
        &format!("person={PERSON}"),
    )
    .await;
    let (_, html) = page(&site, &format!("/runs/{overlapping}"), &teacher).await;
    assert!(
        html.contains("has a place on Programme LIT-1 · Room 09:00 at the same time"),
        "{html}"
    );
    assert!(
        html.contains("name=\"confirm\""),
        "a clash is confirmed before the place is given"
    );
    let (s, html) = form(
        &site,
        &format!("/runs/{overlapping}/allocate"),
        &teacher,
        &format!("person={PERSON}"),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("at the same time"), "{html}");
    assert_eq!(
        allocated(&site, &overlapping),
        0,
        "nothing given without the confirmation"
    );
    let v = eligibility(&site, &teacher, &afternoon, PERSON).await;
    assert_eq!(v["clashes"], json!([]), "the afternoon does not clash: {v}");
    let (s, _) = form(
        &site,
        &format!("/runs/{overlapping}/allocate"),
        &teacher,
        &format!("person={PERSON}&confirm=yes"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);

    // Capacity and a second allocation are refused by field, storing nothing.
    let other = "WHK-000002";
    call(
        &site,
        "POST",
        &format!("/api/runs/{overlapping}/waiting-list"),
        Some(&teacher),
        Some(json!({"person": other}).to_string()),
    )
    .await;
    for (person, why) in [(other, "full"), (PERSON, "already")] {
        let (s, v) = call(
            &site,
            "POST",
            &format!("/api/runs/{overlapping}/allocate"),
            Some(&teacher),
            Some(json!({"person": person, "confirm": true}).to_string()),
        )
        .await;
        assert_eq!(
            (s, v["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("person")),
            "{why}: {v}"
        );
    }
    assert_eq!(allocated(&site, &overlapping), 1);
    let case = site
        .store
        .get::<CaseFile>(&case_id(other))
        .unwrap()
        .unwrap();
    assert!(
        case.enrolments.is_empty(),
        "no enrolment for a refused place"
    );

    // A release before the run ends is shown.
    edit_at_hub::<CaseFile>(&site, &case_id(other), |c| {
        c.expected_release_date = Some(Stamped::new(day(&site, 10), "records", 1));
    });
    // The roster reads changes from the hub in the background; here, at once.
    site.lan
        .roster
        .refresh(&site.store, &case_id(other))
        .unwrap();
    let v = eligibility(&site, &teacher, &afternoon, other).await;
    assert_eq!(v["released_before_end"], json!(day(&site, 10)), "{v}");

    // Ending a place with "completed" from the class list: the programme shows as done.
    let (s, _) = form(
        &site,
        &format!("/runs/{morning}/end"),
        &teacher,
        &format!("person={PERSON}&outcome=completed"),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let v = eligibility(&site, &teacher, &afternoon, PERSON).await;
    assert_eq!(v["completed_before"], json!(true), "{v}");
    let (_, html) = page(&site, &format!("/runs/{afternoon}?q={PERSON}"), &teacher).await;
    assert!(html.contains("completed this programme before"), "{html}");

    // Who may not give places is refused, and offered nothing.
    let officer = login(&site, "officer").await;
    let (s, _) = form(
        &site,
        &format!("/runs/{afternoon}/waiting-list"),
        &officer,
        &format!("person={other}"),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let caseworker = login(&site, "caseworker").await;
    let (_, html) = page(&site, &format!("/runs/{overlapping}"), &caseworker).await;
    assert!(
        !html.contains("/allocate\""),
        "a case officer lists people but gives no places"
    );
}

/// A run's capacity set here and at the hub apart shows both values on the run's page and a
/// flag on the list of runs until an instructor or the manager keeps one (audited); capacity
/// never goes below the places given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capacity_set_apart_shows_both_until_one_is_kept() {
    let site = site();
    let teacher = login(&site, "teacher").await;
    let run = new_run(&site, &teacher, &["mon"], "09:00", "10:00", 5).await;
    let id = run_id(FAC, &run);
    // Two edits from the same first version, made apart: one sets 12, the other 8.
    edit_at_hub::<ProgrammeRun>(&site, &id, |r| r.capacity = 12);
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = pathway_shared::store::Store::open(
        hub_dir.path(),
        pathway_shared::store::StoreOptions::default(),
    )
    .unwrap();
    let meta = site.store.meta(&id).unwrap().unwrap();
    let first: Vec<_> = site
        .store
        .changes_since(&id, &[])
        .unwrap()
        .unwrap()
        .into_iter()
        .take(1)
        .collect();
    hub.apply_changes(&id, &meta, first).unwrap();
    hub.update(&id, 20, |r: &mut ProgrammeRun| {
        r.capacity = 8;
        Ok::<_, ()>(())
    })
    .unwrap();
    let theirs = hub.changes_since(&id, &[]).unwrap().unwrap();
    site.store.apply_changes(&id, &meta, theirs).unwrap();

    let (_, html) = page(&site, &format!("/runs/{run}"), &teacher).await;
    assert!(html.contains("id=\"conflict-capacity\""), "{html}");
    let (_, list) = page(&site, "/runs", &teacher).await;
    assert!(list.contains("class=\"due contested\""), "{list}");
    let (s, _) = form(&site, &format!("/runs/{run}/edit"), &teacher, "capacity=12").await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(&site, &format!("/runs/{run}"), &teacher).await;
    assert!(!html.contains("id=\"conflict-capacity\""), "kept: {html}");
    assert_eq!(
        site.store
            .get::<ProgrammeRun>(&id)
            .unwrap()
            .unwrap()
            .capacity,
        12
    );
    assert!(audit_actions(&site.store).contains(&"change_run".to_owned()));

    // Never below the places given.
    call(
        &site,
        "POST",
        &format!("/api/runs/{run}/waiting-list"),
        Some(&teacher),
        Some(json!({"person": PERSON}).to_string()),
    )
    .await;
    call(
        &site,
        "POST",
        &format!("/api/runs/{run}/allocate"),
        Some(&teacher),
        Some(json!({"person": PERSON}).to_string()),
    )
    .await;
    let (s, v) = call(
        &site,
        "PUT",
        &format!("/api/runs/{run}"),
        Some(&teacher),
        Some(json!({"capacity": 0}).to_string()),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("capacity")),
        "{v}"
    );
}
