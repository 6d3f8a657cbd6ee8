//! The facility's programme runs and the national catalogue, as lists a page at a time.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use pathway_shared::model::{Kind, Programme, ProgrammeRun, RunStatus, WaitStatus, from_code};
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::{ApiError, ApiResult, Lan, blocking};

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
