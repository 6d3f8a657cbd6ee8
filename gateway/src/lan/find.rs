//! Finding people and the caseloads, from the [`roster`](super::roster): a search by name (Thai
//! or Latin script, accents and case ignored), prison number or id, and a case officer's own
//! people with what is due on each. Both are audited with who was shown.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use pathway_shared::model::Role;
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::records::{Page, paginate};
use super::roster::{Due, Person, words};
use super::{ApiError, ApiResult, CASE_READERS, Lan, Staged, blocking_durable, today_iso};
use pathway_shared::store::Pending;

/// Longest search query, in characters.
pub const MAX_QUERY_CHARS: usize = 100;
/// Most people a search returns.
pub const MAX_HITS: usize = 200;

/// People whose name, number or id hold every word of `query`, by family then given name;
/// the search is audited with the ids shown. Roles that see case files only.
pub fn search(lan: &Lan, who: &Staff, query: &str) -> ApiResult<Staged<Vec<Arc<Person>>>> {
    if !who.has(CASE_READERS) {
        return Err(ApiError::forbidden("your role does not include case files"));
    }
    if query.chars().count() > MAX_QUERY_CHARS {
        return Err(ApiError::field_words(
            "q",
            "input.too_long",
            vec![("max", MAX_QUERY_CHARS.to_string())],
        ));
    }
    let words = words(query);
    if words.is_empty() {
        return Ok(Staged {
            value: Vec::new(),
            pending: lan.store.pending_none(),
        });
    }
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    let mut hits: Vec<Arc<Person>> = roster
        .people
        .values()
        .filter(|p| p.matches(&words))
        .take(MAX_HITS)
        .cloned()
        .collect();
    hits.sort_by(|a, b| {
        (&a.family_name, &a.given_name, &a.person_id).cmp(&(
            &b.family_name,
            &b.given_name,
            &b.person_id,
        ))
    });
    let pending = audit_shown(lan, who, "search_cases", query, &hits)?;
    Ok(Staged {
        value: hits,
        pending,
    })
}

/// Records who was shown what: the query (or list) and the first ids shown. The answer waits
/// for the entry's flush (without holding a thread).
pub(super) fn audit_shown(
    lan: &Lan,
    who: &Staff,
    action: &str,
    what: &str,
    shown: &[Arc<Person>],
) -> ApiResult<Pending> {
    let ids: Vec<&str> = shown
        .iter()
        .take(20)
        .map(|p| p.person_id.as_str())
        .collect();
    let more = shown.len().saturating_sub(ids.len());
    let mut target = format!("{what}: {}", ids.join(","));
    if more > 0 {
        target.push_str(&format!(" and {more} more"));
    }
    Ok(lan
        .audit
        .stage(&who.username, action, &target, lan.clock.now())?)
}

/// A person on a caseload, with what is due.
#[derive(Serialize, Clone)]
pub struct CaseloadRow {
    #[serde(flatten)]
    pub person: Arc<Person>,
    pub due: Vec<Due>,
}

/// The case officer's own people, those with something due first, then by release date.
pub fn caseload(lan: &Lan, who: &Staff) -> ApiResult<Staged<Vec<CaseloadRow>>> {
    if !who.has(&[Role::CaseOfficer, Role::FacilityManager]) {
        return Err(ApiError::forbidden(
            "caseloads are for case officers and the facility manager",
        ));
    }
    let now = lan.clock.now();
    let (_, today) = today_iso(now, lan.offset_minutes(lan.clock.now()));
    let health = who.visibility().health;
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    let mut rows: Vec<CaseloadRow> = roster
        .people
        .values()
        .filter(|p| p.case_officer.as_deref() == Some(who.username.as_str()))
        .map(|p| CaseloadRow {
            due: p.due(today, now, health),
            person: p.clone(),
        })
        .collect();
    rows.sort_by(|a, b| {
        (
            a.due.is_empty(),
            &a.person.release_date,
            &a.person.person_id,
        )
            .cmp(&(
                b.due.is_empty(),
                &b.person.release_date,
                &b.person.person_id,
            ))
    });
    let people: Vec<Arc<Person>> = rows.iter().map(|r| r.person.clone()).collect();
    let pending = audit_shown(lan, who, "caseload", "own caseload", &people)?;
    Ok(Staged {
        value: rows,
        pending,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CaseQuery {
    q: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
}

/// `GET /api/cases?q=&page=&per_page=`: see [`search`].
pub(super) async fn find_cases(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    q: Result<Query<CaseQuery>, QueryRejection>,
) -> ApiResult<Json<Page<Arc<Person>>>> {
    let Query(q) = q?;
    let hits =
        blocking_durable(move || search(&lan, &who, q.q.as_deref().unwrap_or_default())).await?;
    Ok(Json(paginate(hits, q.page, q.per_page)?))
}

/// `GET /api/caseload`: see [`caseload`].
pub(super) async fn caseload_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
) -> ApiResult<Json<Vec<CaseloadRow>>> {
    blocking_durable(move || caseload(&lan, &who))
        .await
        .map(Json)
}
