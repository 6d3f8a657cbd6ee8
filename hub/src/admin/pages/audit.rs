//! The hub's audit trail for the auditor (and national administrators): newest first, filtered
//! by person, staff member, facility, action and dates, with whether the chain is intact.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::html;
use serde::Deserialize;

use super::{page, refused, viewer};
use crate::admin::audit::Filter;
use crate::admin::words::{AUDIT_ACTIONS, action_word, lang, t, when};
use crate::admin::{Admin, AdminError, AdminRole, blocking};

pub(super) fn routes() -> Router<Arc<Admin>> {
    Router::new().route("/audit", get(audit_page))
}

/// The filters as the form sends them: empty means any.
#[derive(Deserialize, Default)]
struct AuditQuery {
    #[serde(default)]
    person: String,
    #[serde(default)]
    staff: String,
    #[serde(default)]
    facility: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
}

/// Entries shown at most.
const SHOWN: usize = 500;

fn day(field: &str, s: &str, end: bool) -> Result<Option<i64>, AdminError> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let d = pathway_shared::model::parse_date(s.trim())
        .map_err(|_| AdminError::field(field, format!("`{s}` is not a date (YYYY-MM-DD)")))?;
    let d = if end { d.next_day().unwrap_or(d) } else { d };
    Ok(Some(d.midnight().assume_utc().unix_timestamp() * 1_000))
}

async fn audit_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    q: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let l = lang(&headers);
    let who = match viewer(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    if !matches!(who.role, AdminRole::Auditor | AdminRole::NationalAdmin) {
        return refused(
            l,
            &who,
            AdminError::forbidden(
                "only an auditor or a national administrator reads the audit trail",
            ),
        );
    }
    let Query(q) = q.unwrap_or_default();
    let filter = match (day("from", &q.from, false), day("to", &q.to, true)) {
        (Ok(from), Ok(to)) => Filter {
            person: q.person.trim().to_owned(),
            staff: q.staff.trim().to_owned(),
            facility: q.facility.trim().to_uppercase(),
            action: q.action.trim().to_owned(),
            from,
            to,
        },
        (Err(e), _) | (_, Err(e)) => return refused(l, &who, e),
    };
    let a = admin.clone();
    let read = blocking(move || Ok((a.audit.find(&filter, SHOWN)?, a.audit.verify()?))).await;
    let (entries, chain) = match read {
        Ok(r) => r,
        Err(e) => return refused(l, &who, e),
    };
    let body = html! {
        h1 { (t(l, "nav_audit")) }
        @match &chain {
            Ok(n) => p.ok #chain { "✔ " (t(l, "chain_intact")) " (" (n) ")" },
            Err(b) => p.bad #chain { "✖ " (t(l, "chain_broken")) " " (b.seq) ": " (b.what) },
        }
        form.row method="get" action="/audit" {
            label { (t(l, "person")) " " input name="person" value=(q.person) placeholder="WHK-000123"; }
            label { (t(l, "staff_member")) " " input name="staff" value=(q.staff); }
            label { (t(l, "facility")) " " input name="facility" value=(q.facility) size="6"; }
            label { (t(l, "action")) " "
                select name="action" {
                    option value="" { (t(l, "any")) }
                    @for (code, _, _) in AUDIT_ACTIONS {
                        option value=(code) selected[q.action == *code] { (action_word(l, code)) }
                    }
                }
            }
            label { (t(l, "from_day")) " " input name="from" type="date" value=(q.from); }
            label { (t(l, "to_day")) " " input name="to" type="date" value=(q.to); }
            button id="filter" { (t(l, "filter")) }
        }
        @if entries.is_empty() { p { (t(l, "no_entries")) } }
        @else {
            section { table #audit {
                tr { th { "#" } th { (t(l, "at_time")) } th { (t(l, "who")) } th { (t(l, "action")) } th { (t(l, "record")) } }
                @for e in &entries {
                    tr { td { (e.seq) } td { (when(e.at)) } td { (e.actor) } td { (action_word(l, &e.action)) br; small { code { (e.action) } } } td { (e.target) } }
                }
            } }
            @if entries.len() == SHOWN { p { small { (t(l, "newest_only")) } } }
        }
    };
    page(l, Some(&who), body).into_response()
}
