//! Programme runs (their waiting lists, allocation within capacity), release plans and
//! transfers out: the rest of the staff API.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    CaseFile, Class, Facility, Kind, PlanItem, PlanItemStatus, Programme, ProgrammeRun,
    ReleaseRecord, Role, RunStatus, TransferRecord, WaitStatus, case_id, facility_id, from_code,
    iso_date,
};
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::input::{date, prose};
use super::{ApiError, ApiResult, Lan, MAX_NOTE_CHARS, blocking, blocking_durable};

/// Longest reason for a transfer, in characters.
pub const MAX_REASON_CHARS: usize = 2_000;

/// Most items one page of a list may hold.
pub const MAX_PER_PAGE: usize = 100;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RunQuery {
    status: Option<String>,
    programme: Option<String>,
    page: Option<usize>,
    per_page: Option<usize>,
}

/// One page of a list.
#[derive(Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: usize,
    pub per_page: usize,
    pub total: usize,
}

/// Cuts `items` to the page asked for; pages count from 1.
pub fn paginate<T>(
    items: Vec<T>,
    page: Option<usize>,
    per_page: Option<usize>,
) -> ApiResult<Page<T>> {
    let page = page.unwrap_or(1);
    let per_page = per_page.unwrap_or(20);
    if page == 0 {
        return Err(ApiError::field("page", "pages count from 1"));
    }
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ApiError::field(
            "per_page",
            format!("between 1 and {MAX_PER_PAGE}"),
        ));
    }
    let total = items.len();
    let items = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    Ok(Page {
        items,
        page,
        per_page,
        total,
    })
}

#[derive(Serialize)]
pub(super) struct RunSummary {
    id: String,
    programme_code: String,
    instructor: String,
    place: String,
    status: RunStatus,
    capacity: u32,
    allocated: usize,
    waiting: usize,
}

fn run_status(s: &str) -> ApiResult<RunStatus> {
    from_code(s).ok_or_else(|| {
        ApiError::field(
            "status",
            format!("`{s}` is not one of planned, open, running, completed, cancelled"),
        )
    })
}

/// `GET /api/runs?status=&programme=&page=&per_page=`: the facility's programme runs.
pub(super) async fn list_runs(
    State(lan): State<Arc<Lan>>,
    _: Staff,
    q: Result<Query<RunQuery>, QueryRejection>,
) -> ApiResult<Json<Page<RunSummary>>> {
    let Query(q) = q?;
    let status = q.status.as_deref().map(run_status).transpose()?;
    blocking(move || {
        let mut runs = Vec::new();
        for id in lan
            .store
            .list(&format!("facility:{}", lan.facility), Kind::ProgrammeRun)?
        {
            let Some(r) = lan.store.get::<ProgrammeRun>(&id)? else {
                continue;
            };
            if status.is_some_and(|s| s != r.status)
                || q.programme.as_ref().is_some_and(|p| *p != r.programme_code)
            {
                continue;
            }
            runs.push(RunSummary {
                allocated: r.allocated(),
                waiting: r
                    .waiting_list
                    .values()
                    .filter(|w| w.status == WaitStatus::Waiting)
                    .count(),
                id: r.id,
                programme_code: r.programme_code,
                instructor: r.instructor,
                place: r.place,
                status: r.status,
                capacity: r.capacity,
            });
        }
        runs.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(Json(paginate(runs, q.page, q.per_page)?))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PlanBody {
    status: String,
    #[serde(default)]
    details: String,
}

/// `PUT /api/cases/{person}/release-plan/{item}`: one item of the release plan. The health
/// handover is for health staff; the rest for the case officer and the manager.
pub(super) async fn set_plan_item(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path((person, item)): Path<(String, String)>,
    body: Result<Json<PlanBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(b) = body?;
    if ![
        "accommodation",
        "employment",
        "health_handover",
        "id_documents",
    ]
    .contains(&item.as_str())
    {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            format!(
                "`{item}` is not a release plan item (accommodation, employment, health_handover, id_documents)"
            ),
        ));
    }
    let allowed: &[Role] = if item == "health_handover" {
        &[Role::HealthStaff]
    } else {
        &[Role::CaseOfficer, Role::FacilityManager]
    };
    if !who.has(allowed) {
        return Err(ApiError::forbidden(
            "your role cannot change this part of the release plan",
        ));
    }
    let status: PlanItemStatus = from_code(&b.status).ok_or_else(|| {
        ApiError::field(
            "status",
            format!(
                "`{}` is not one of not_started, in_progress, done, not_needed",
                b.status
            ),
        )
    })?;
    let details = match b.details.trim() {
        "" => String::new(),
        d => prose("details", d, MAX_NOTE_CHARS)?,
    };
    blocking_durable(move || {
        let now = lan.clock.now();
        let id = case_id(&person);
        let value = PlanItem {
            status,
            details,
            updated_by: who.username.clone(),
            updated_at: now,
        };
        Ok(lan
            .audited_edit::<CaseFile, _>(&who, "release_plan", &id, now, |e| {
                Ok(e.put(&["release_plan", &item], &value)?)
            })?
            .map(|()| StatusCode::NO_CONTENT))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TransferBody {
    to_facility: String,
    reason: String,
}

/// `POST /api/cases/{person}/transfer-out`: records that a person leaves for another facility.
/// It travels in the urgent class, so the hub moves the case file on before anything else.
pub(super) async fn transfer_out(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<TransferBody>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let Json(b) = body?;
    if !who.has(&[Role::CaseOfficer, Role::FacilityManager]) {
        return Err(ApiError::forbidden("your role cannot transfer people"));
    }
    let to = b.to_facility.trim().to_owned();
    if to.is_empty() || to == lan.facility {
        return Err(ApiError::field(
            "to_facility",
            "another facility's id is needed",
        ));
    }
    let reason = prose("reason", &b.reason, MAX_REASON_CHARS)?;
    blocking_durable(move || {
        // Only a facility in the national registry can receive a person.
        if lan.store.get::<Facility>(&facility_id(&to))?.is_none() {
            return Err(ApiError::field(
                "to_facility",
                format!("`{to}` is not a facility in the national registry"),
            ));
        }
        let now = lan.clock.now();
        let id = case_id(&person);
        let transfer = format!("{now}-{}", who.username);
        let record = TransferRecord {
            from_facility: lan.facility.clone(),
            to_facility: to,
            at: now,
            by: who.username.clone(),
            reason,
            moved_at: None,
        };
        Ok(lan
            .audited_edit::<CaseFile, _>(&who, "transfer_out", &id, now, |e| {
                e.set_class(Class::Urgent);
                Ok(e.put(&["transfers", &transfer], &record)?)
            })?
            .map(|()| {
                (
                    StatusCode::CREATED,
                    Json(serde_json::json!({ "transfer": transfer })),
                )
            }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ReleaseBody {
    on: String,
    #[serde(default)]
    note: String,
}

/// `POST /api/cases/{person}/release`: records that a person left custody. Urgent: the hub and
/// the partners waiting on the release plan hear of it first.
pub(super) async fn release(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(person): Path<String>,
    body: Result<Json<ReleaseBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(b) = body?;
    if !who.has(&[Role::CaseOfficer, Role::FacilityManager]) {
        return Err(ApiError::forbidden("your role cannot record a release"));
    }
    let on = iso_date(date("on", &b.on)?);
    let note = match b.note.trim() {
        "" => String::new(),
        n => prose("note", n, MAX_NOTE_CHARS)?,
    };
    blocking_durable(move || {
        let now = lan.clock.now();
        let id = case_id(&person);
        let record = ReleaseRecord {
            on,
            by: who.username.clone(),
            at: now,
            note,
        };
        Ok(lan
            .audited_edit::<CaseFile, _>(&who, "release", &id, now, |e| {
                e.set_class(Class::Urgent);
                Ok(e.put(&["release"], &Some(record))?)
            })?
            .map(|()| StatusCode::NO_CONTENT))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CatalogueQuery {
    category: Option<String>,
    #[serde(default)]
    include_withdrawn: bool,
    page: Option<usize>,
    per_page: Option<usize>,
}

/// `GET /api/programmes?category=&include_withdrawn=&page=&per_page=`: the national catalogue,
/// read-only at a facility.
pub(super) async fn catalogue(
    State(lan): State<Arc<Lan>>,
    _: Staff,
    q: Result<Query<CatalogueQuery>, QueryRejection>,
) -> ApiResult<Json<Page<Programme>>> {
    let Query(q) = q?;
    blocking(move || {
        let mut items = Vec::new();
        for id in lan.store.list("national", Kind::Programme)? {
            let Some(p) = lan.store.get::<Programme>(&id)? else {
                continue;
            };
            let category = format!("{:?}", p.category).to_lowercase();
            if (p.withdrawn && !q.include_withdrawn)
                || q.category
                    .as_ref()
                    .is_some_and(|c| c.replace('_', "") != category)
            {
                continue;
            }
            items.push(p);
        }
        items.sort_by(|a, b| a.code.cmp(&b.code));
        Ok(Json(paginate(items, q.page, q.per_page)?))
    })
    .await
}
