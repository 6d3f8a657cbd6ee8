//! The national indicators for national administrators and auditors: the nation, a region or
//! a facility, a month or a quarter, and its CSV export. A facility's figures are provisional
//! while its gateway has reported changes not yet here, or has not been heard from since the
//! period's attendance could still be marked.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use pathway_shared::indicators::page;
use pathway_shared::indicators::report::Period;
use pathway_shared::indicators::view::{self, Area, Names, Report, Why};
use pathway_shared::model::{AttendanceRegister, Millis};
use pathway_shared::status::NodeStatus;
use serde::Deserialize;

use super::{page as layout, refused, viewer};
use crate::admin::words::{Lang, lang, t, when};
use crate::admin::{Admin, AdminError, AdminRole, AdminUser, blocking};

pub(super) fn routes() -> Router<Arc<Admin>> {
    Router::new()
        .route("/indicators", get(indicators_page))
        .route("/indicators.csv", get(indicators_csv))
}

/// The area and period asked for (`?area=facility:WHK&period=2026-Q4`).
#[derive(Deserialize, Default)]
pub(crate) struct Choice {
    #[serde(default)]
    area: String,
    #[serde(default)]
    period: String,
}

/// The area and period asked for: the nation and the last whole month unless given.
fn chosen(q: &Choice, now: Millis) -> Result<(Area, Period), AdminError> {
    let area = match q.area.trim() {
        "" => Area::Nation,
        a => Area::parse(a).ok_or_else(|| {
            AdminError::field(
                "area",
                format!("`{a}` is not an area: nation, region:<name> or facility:<id>"),
            )
        })?,
    };
    let period = match q.period.trim() {
        "" => Period::last_whole_month(now),
        p => Period::parse(p).ok_or_else(|| {
            AdminError::field(
                "period",
                format!("`{p}` is not a month (2026-11) or a quarter (2026-Q4)"),
            )
        })?,
    };
    Ok((area, period))
}

/// Why the hub may not hold all of `facility`'s changes for a period ending `period_end`:
/// its gateway reported changes waiting, or has not been heard from since the period's last
/// attendance could be marked.
fn heard(status: &NodeStatus, facility: &str, period_end: Millis) -> Option<Why> {
    let peers: Vec<_> = status
        .peers
        .values()
        .filter(|p| p.facility.as_deref() == Some(facility))
        .collect();
    let last = peers.iter().filter_map(|p| p.sync.last_contact).max();
    if peers.is_empty() || last.is_none() {
        return Some(Why::NotHeard {
            facility: facility.to_owned(),
            since: None,
        });
    }
    for p in &peers {
        if let (Some(incoming), Some(at)) = (p.sync.incoming, p.sync.incoming_at) {
            let changes: u64 = incoming.iter().map(|b| b.changes).sum();
            if changes > 0 {
                return Some(Why::Waiting {
                    facility: facility.to_owned(),
                    changes,
                    as_of: at,
                });
            }
        }
    }
    let closed = period_end + (1 + AttendanceRegister::EDIT_WINDOW_DAYS) * 86_400_000;
    let said_level = peers
        .iter()
        .filter(|p| p.sync.incoming.is_some())
        .filter_map(|p| p.sync.incoming_at)
        .max();
    let online = peers.iter().any(|p| p.online);
    match said_level {
        Some(_) if online => None,
        Some(at) if at >= closed => None,
        _ => Some(Why::NotHeard {
            facility: facility.to_owned(),
            since: last,
        }),
    }
}

/// The report `q` asks for, as `who` may read it: auditors and national administrators.
pub(crate) async fn report_for(
    admin: &Arc<Admin>,
    who: &AdminUser,
    q: &Choice,
) -> Result<(Report, Arc<Names>), AdminError> {
    if !matches!(who.role, AdminRole::Auditor | AdminRole::NationalAdmin) {
        return Err(AdminError::forbidden(
            "only an auditor or a national administrator reads the indicators",
        ));
    }
    let now = admin.clock.now();
    let choice = chosen(q, now)?;
    let Some(tracker) = admin.indicators.get().cloned() else {
        return Err(AdminError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "this hub does not count indicators",
        ));
    };
    let status = (admin.status)();
    let a = admin.clone();
    blocking(move || {
        // Anything that arrived since the last count is counted first.
        tracker.catch_up()?;
        let names = Names::read(&a.store)?;
        let end = choice.1.days().1.midnight().assume_utc().unix_timestamp() * 1000;
        let r = view::build(&tracker, &names, choice, now, &|f| heard(&status, f, end));
        Ok((r, Arc::new(names)))
    })
    .await
}

/// The report asked for, or the refusal to show as a page.
async fn report(
    admin: &Arc<Admin>,
    headers: &HeaderMap,
    q: &Choice,
) -> Result<(AdminUser, Lang, Report, Arc<Names>), Response> {
    let l = lang(headers);
    let who = viewer(admin, headers).await?;
    match report_for(admin, &who, q).await {
        Ok((r, names)) => Ok((who, l, r, names)),
        Err(e) => Err(refused(l, &who, e)),
    }
}

async fn indicators_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = q.unwrap_or_default();
    let (who, l, r, names) = match report(&admin, &headers, &q).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let now = admin.clock.now();
    let body = html! {
        h1 { (t(l, "nav_indicators")) }
        (page::render(&r, &names, l == Lang::Th, ("/indicators", None), now, &when))
    };
    layout(l, Some(&who), body).into_response()
}

async fn indicators_csv(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(q) = q.unwrap_or_default();
    let (_, _, r, names) = match report(&admin, &headers, &q).await {
        Ok(r) => r,
        Err(resp) => return resp,
    };
    let file = format!("attachment; filename=\"{}\"", page::csv_file_name(&r));
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
        ],
        page::csv(&r, &names),
    )
        .into_response()
}
