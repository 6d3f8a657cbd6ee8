//! `GET /api/indicators`: the figures the indicators page shows, as JSON, for a ministry's own
//! tools. Small cells are left out as in the CSV.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use pathway_shared::indicators::report::Figure;
use pathway_shared::indicators::view::Why;
use pathway_shared::indicators::words::label;
use serde_json::{Value, json};

use crate::admin::pages::indicators::{Choice, report_for};
use crate::admin::{Admin, AdminResult, AdminUser};

fn figure(f: &Figure) -> Value {
    let (name, formula) = label(false, &f.code);
    let small = f.small();
    json!({
        "code": f.code,
        "name": name,
        "formula": formula,
        "numerator": (!small).then_some(f.numerator),
        "denominator": (!small).then_some(f.denominator),
        "value": if small { None } else { f.value() },
        "percent": f.percent,
        "suppressed": small,
    })
}

fn why(w: &Why) -> Value {
    match w {
        Why::NotOver => json!({"reason": "period_not_over"}),
        Why::Waiting {
            facility,
            changes,
            as_of,
        } => {
            json!({"reason": "changes_waiting", "facility": facility, "changes": changes, "as_of_ms": as_of})
        }
        Why::NotHeard { facility, since } => {
            json!({"reason": "not_heard_from", "facility": facility, "last_contact_ms": since})
        }
        Why::WindowOpen { facility, last_day } => {
            json!({"reason": "attendance_window_open", "facility": facility, "until": last_day})
        }
    }
}

/// `GET /api/indicators?area=&period=`: auditors and national administrators.
pub(crate) async fn indicators(
    State(admin): State<Arc<Admin>>,
    who: AdminUser,
    q: Result<Query<Choice>, axum::extract::rejection::QueryRejection>,
) -> AdminResult<Json<Value>> {
    let Query(q) = q.unwrap_or_default();
    let (r, _) = report_for(&admin, &who, &q).await?;
    Ok(Json(json!({
        "area": r.area.code(),
        "period": r.period.code(),
        "provisional": r.provisional.iter().map(why).collect::<Vec<_>>(),
        "figures": r.headline.iter().map(figure).collect::<Vec<_>>(),
        "median_days_to_decision": r.median_decision_days,
        "facilities": r.facilities.iter().map(|f| json!({
            "facility": f.id,
            "provisional": f.provisional,
            "figures": f.figures.iter().map(figure).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "trend": r.trend.iter().map(|(m, figs)| json!({
            "month": m,
            "figures": figs.iter().map(figure).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })))
}
