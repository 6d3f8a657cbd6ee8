//! A run's register on paper: two weeks of sessions for the people with a place, with boxes
//! to fill in by hand, on one A4 page (landscape). For the days the box is off: the marks are
//! entered afterwards, flagged as from the paper register.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, html};
use pathway_shared::model::{
    ABSENCE_REASONS, AttendanceRegister, ProgrammeRun, WaitStatus, iso_date, month_of, parse_date,
    register_id, run_id,
};

use super::words::{Names, code, date};
use super::{Viewer, fail};
use crate::lan::messages::{t, tf};
use crate::lan::{ApiError, CASE_READERS, Lan, Staged, blocking_durable, today_iso};

const PRINT_CSS: &str = "@page{size:A4 landscape;margin:10mm}body{font-family:sans-serif;font-size:10pt;margin:0}table{border-collapse:collapse;width:100%}td,th{border:1px solid #000;padding:2px 4px;text-align:left}td.box{width:3.2em;height:1.6em}th.s{font-size:8pt;text-align:center}.legend{font-size:9pt}.noprint{margin:1em 0}@media print{.noprint{display:none}}";

#[derive(serde::Deserialize, Default)]
pub(super) struct From {
    #[serde(default)]
    from: Option<String>,
}

pub(super) async fn print_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(run): Path<String>,
    Query(q): Query<From>,
) -> Response {
    let (_, today) = today_iso(lan.clock.now(), lan.offset_minutes(lan.clock.now()));
    let start = q
        .from
        .as_deref()
        .and_then(|d| parse_date(d).ok())
        .unwrap_or(today);
    let monday = start - time::Duration::days(i64::from(start.weekday().number_days_from_monday()));
    let last = monday + time::Duration::days(13);
    let (lan2, who2, run2) = (lan.clone(), who.clone(), run.clone());
    let loaded = blocking_durable(move || {
        if !who2.has(CASE_READERS) {
            return Err(ApiError::forbidden(
                "your role does not include who takes part in programmes",
            ));
        }
        let r = lan2
            .store
            .get::<ProgrammeRun>(&run_id(&lan2.facility, &run2))?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run `{run2}` here")))?;
        if !crate::lan::sensitive::may_see_people(&lan2.health_programmes, &lan2.store, &who2, &r)?
        {
            return Err(ApiError::forbidden(
                "who takes part in this programme is health content",
            ));
        }
        let mut names = Names::new(&lan2.store, &lan2.facility, l);
        let title = format!("{} · {}", names.programme(&r.programme_code), r.place);
        let instructor = names.staff(&r.instructor);
        let roster = lan2.roster.people(&lan2.store, &lan2.facility)?;
        let mut people: Vec<(String, String)> = r
            .waiting_list
            .values()
            .filter(|w| w.status == WaitStatus::Allocated)
            .map(|w| {
                roster.people.get(&w.person_id).map_or_else(
                    || (w.person_id.clone(), String::new()),
                    |p| (p.name(), p.prison_number.clone()),
                )
            })
            .collect();
        people.sort();
        let mut sessions = Vec::new();
        for month in [month_of(monday), month_of(last)]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
        {
            if let Some(reg) =
                lan2.store
                    .get::<AttendanceRegister>(&register_id(&lan2.facility, &r.id, &month))?
            {
                sessions.extend(reg.sessions.into_values().filter(|s| {
                    !s.cancelled && parse_date(&s.date).is_ok_and(|d| d >= monday && d <= last)
                }));
            }
        }
        sessions.sort_by(|a, b| (&a.date, &a.start_time).cmp(&(&b.date, &b.start_time)));
        let target = format!(
            "{} printed {}",
            run_id(&lan2.facility, &r.id),
            iso_date(monday)
        );
        let pending =
            lan2.audit
                .stage(&who2.username, "print_register", &target, lan2.clock.now())?;
        Ok(Staged {
            value: (title, instructor, people, sessions),
            pending,
        })
    })
    .await;
    let (title, instructor, people, sessions) = match loaded {
        Ok(x) => x,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let reasons: Vec<String> = ABSENCE_REASONS
        .iter()
        .map(|r| t(l, &format!("absence.{r}")).to_owned())
        .collect();
    html! {
        (DOCTYPE)
        html lang=(l.code()) {
            head { meta charset="utf-8"; title { (title) } style { (PRINT_CSS) } }
            body {
                p.noprint {
                    a href={ "/runs/" (run) } { "← " (t(l, "print.back")) } " · "
                    a href={ "?from=" (iso_date(monday - time::Duration::days(14))) } { (t(l, "timetable.previous")) } " · "
                    a href={ "?from=" (iso_date(monday + time::Duration::days(14))) } { (t(l, "timetable.next")) }
                    " · " (t(l, "print.how"))
                }
                h1 { (title) }
                p { (t(l, "field.instructor")) ": " (instructor) " · " (tf(l, "print.dates", &[("from", &date(l, &iso_date(monday))), ("to", &date(l, &iso_date(last)))])) }
                table id="paper-register" {
                    tr {
                        th { (t(l, "session.person")) } th { (t(l, "case.prison_number")) }
                        @for s in &sessions { th.s { (date(l, &s.date)) br; (s.start_time) } }
                    }
                    @for (name, number) in &people {
                        tr { td { (name) } td { (number) } @for _ in &sessions { td.box {} } }
                    }
                    // Room for someone given a place after printing.
                    @for _ in 0..2 { tr { td {} td {} @for _ in &sessions { td.box {} } } }
                }
                p.legend {
                    (t(l, "print.codes")) ": ✔ " (code(l, "outcome", "attended"))
                    " · E " (code(l, "outcome", "absent_excused"))
                    " · U " (code(l, "outcome", "absent_unexcused"))
                    " · R " (code(l, "outcome", "refused"))
                    br; (t(l, "session.reason")) ": " (reasons.join(" · "))
                }
                p { (t(l, "print.signed")) " ____________________   " (t(l, "today.date")) " ____________" }
            }
        }
    }
    .into_response()
}
