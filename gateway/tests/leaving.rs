//! Case work towards leaving, from the console: the release plan edited by pathway with a
//! date (none before the admission), the manager giving caseloads one person at a time and by
//! unit, and a transfer and a release, each confirmed, travelling urgent.

use axum::http::StatusCode;
use pathway_shared::model::*;
use serde_json::json;

mod common;
use common::*;

async fn admit(site: &Site, token: &str, number: &str, given: &str, unit: &str) -> String {
    let body = json!({
        "prison_number": number, "given_name": given, "family_name": "Shikongo",
        "admission_date": day(site, -100), "custody_status": "sentenced", "unit": unit, "cell": "4",
    });
    let (s, v) = call(
        site,
        "POST",
        "/api/cases",
        Some(token),
        Some(body.to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["person_id"].as_str().unwrap().to_owned()
}

fn case(site: &Site, person: &str) -> CaseFile {
    site.store
        .get::<CaseFile>(&case_id(person))
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_case_officer_plans_a_release_and_the_manager_gives_caseloads() {
    let site = site();
    let records = login(&site, "records").await;
    let a = admit(&site, &records, "W-100", "Tangeni", "Unit C").await;
    let b = admit(&site, &records, "W-101", "Hilma", "Unit C").await;
    let elsewhere = admit(&site, &records, "W-102", "Selma", "Unit D").await;

    // The manager gives the unit's people to the case officer; the officer's caseload has them.
    let manager = login(&site, "manager").await;
    let (_, html) = page(&site, "/caseload", &manager).await;
    assert!(
        html.contains("id=\"by-unit\"") && html.contains("Unit C"),
        "{html}"
    );
    let (s, to) = form(
        &site,
        "/caseload/by-unit",
        &manager,
        "unit=Unit+C&officer=caseworker",
    )
    .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/caseload?saved=unit_given")
    );
    assert_eq!(case(&site, &a).case_officer.as_deref(), Some("caseworker"));
    assert_eq!(case(&site, &b).case_officer.as_deref(), Some("caseworker"));
    assert_eq!(
        case(&site, &elsewhere).case_officer,
        None,
        "another unit is left alone"
    );
    let cw = login(&site, "caseworker").await;
    let (_, html) = page(&site, "/caseload", &cw).await;
    assert!(
        html.contains("Tangeni") && html.contains("Hilma") && !html.contains("Selma"),
        "{html}"
    );
    // One at a time; only a case officer can be given people.
    let (s, _) = form(
        &site,
        &format!("/people/{elsewhere}/case-officer"),
        &manager,
        "officer=caseworker",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, v) = call(
        &site,
        "PUT",
        &format!("/api/cases/{elsewhere}/case-officer"),
        Some(&manager),
        Some(json!({"officer": "teacher"}).to_string()),
    )
    .await;
    assert_eq!(
        (s, v["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("officer")),
        "{v}"
    );
    let (s, _) = form(
        &site,
        "/caseload/by-unit",
        &cw,
        "unit=Unit+D&officer=caseworker",
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a case officer does not give caseloads"
    );

    // The release plan by pathway, with the address and the date.
    let (_, html) = page(&site, &format!("/people/{a}"), &cw).await;
    for item in [
        "accommodation",
        "employment",
        "id_documents",
        "finance",
        "family",
    ] {
        assert!(
            html.contains(&format!("action=\"/people/{a}/plan/{item}\"")),
            "{item}: {html}"
        );
    }
    assert!(
        !html.contains("plan-health_handover"),
        "the health handover is for health staff"
    );
    let (s, _) = form(
        &site,
        &format!("/people/{a}/plan/accommodation"),
        &cw,
        &format!(
            "status=done&details=Hostel+bed%2C+12+Sam+Nujoma+Ave&date={}",
            day(&site, 30)
        ),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let item = case(&site, &a).release_plan.accommodation;
    assert_eq!(
        (item.status, item.details.as_str(), item.date.clone()),
        (
            PlanItemStatus::Done,
            "Hostel bed, 12 Sam Nujoma Ave",
            day(&site, 30)
        )
    );
    let (s, html) = form(
        &site,
        &format!("/people/{a}/plan/finance"),
        &cw,
        &format!("status=in_progress&date={}", day(&site, -200)),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("before the admission"), "{html}");
    assert_eq!(
        case(&site, &a).release_plan.finance,
        PlanItem::default(),
        "nothing partial"
    );
    let nurse = login(&site, "nurse").await;
    let (_, html) = page(&site, &format!("/people/{a}"), &nurse).await;
    assert!(html.contains("plan-health_handover"), "{html}");

    // A transfer, confirmed, to a facility of the registry; it travels urgent.
    let (_, html) = page(&site, &format!("/people/{a}"), &cw).await;
    assert!(html.contains("Oluno Correctional Facility"), "{html}");
    let (s, _) = form(
        &site,
        &format!("/people/{a}/transfer"),
        &cw,
        "to_facility=OSH&reason=Closer+to+family",
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "not confirmed");
    assert!(case(&site, &a).transfers.is_empty());
    let (s, _) = form(
        &site,
        &format!("/people/{a}/transfer"),
        &cw,
        "to_facility=OSH&reason=Closer+to+family&confirm=yes",
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let t = case(&site, &a).transfers.into_values().next().unwrap();
    assert_eq!(
        (t.to_facility.as_str(), t.reason.as_str()),
        ("OSH", "Closer to family")
    );
    let (_, html) = page(&site, &format!("/people/{a}"), &cw).await;
    assert!(html.contains("id=\"transfer-pending\""), "{html}");

    // A release, confirmed; none before the admission.
    let (s, _) = form(
        &site,
        &format!("/people/{b}/release"),
        &cw,
        &format!("on={}&confirm=yes", day(&site, -101)),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = form(
        &site,
        &format!("/people/{b}/release"),
        &cw,
        &format!("on={}&note=Met+by+sister&confirm=yes", day(&site, 0)),
    )
    .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(case(&site, &b).release.map(|r| r.on), Some(day(&site, 0)));
    let last = site
        .store
        .feed_after(0, 100_000)
        .unwrap()
        .into_iter()
        .rev()
        .find(|e| e.doc == case_id(&b))
        .unwrap();
    assert_eq!(last.class, Class::Urgent);
    let (_, html) = page(&site, &format!("/people/{b}"), &cw).await;
    assert!(
        html.contains("id=\"released\"") && !html.contains("id=\"open-release\""),
        "{html}"
    );
}
