//! A week's timetable: every session of the facility's runs from Monday to Sunday (local
//! dates), for one instructor or for the people held in one unit, each marked ✔ once its
//! register holds marks, cancelled sessions struck through.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use pathway_shared::model::{WaitStatus, iso_date, month_of, parse_date, register_id};

use super::words::{Names, code, date};
use super::{Viewer, fail, page};
use crate::lan::class_list::Runs;
use crate::lan::messages::{Lang, t, tf};
use crate::lan::{ApiResult, Lan, blocking, today_iso};

#[derive(serde::Deserialize, Default)]
pub(super) struct Which {
    /// Any day of the week shown; this week if none.
    #[serde(default)]
    week: Option<String>,
    #[serde(default)]
    instructor: Option<String>,
    #[serde(default)]
    unit: Option<String>,
}

/// One session in the week.
struct Slot {
    run: String,
    month: String,
    session: String,
    time: String,
    title: String,
    instructor: String,
    cancelled: bool,
    marked: usize,
    /// People on the run (for a unit: from that unit).
    people: usize,
}

struct Week {
    monday: time::Date,
    days: BTreeMap<time::Date, Vec<Slot>>,
    instructors: Vec<(String, String)>,
    units: BTreeSet<String>,
}

fn week(
    lan: &Lan,
    l: Lang,
    monday: time::Date,
    instructor: Option<&str>,
    unit: Option<&str>,
) -> ApiResult<Week> {
    let runs = Runs::read(lan)?;
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    let units: BTreeSet<String> = roster
        .people
        .values()
        .filter_map(|p| p.unit.clone())
        .collect();
    let mut names = Names::new(&lan.store, &lan.facility, l);
    let mut instructors: Vec<(String, String)> = runs
        .all()
        .iter()
        .map(|r| r.instructor.clone())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|u| {
            let n = names.staff(&u);
            (u, n)
        })
        .collect();
    instructors.sort_by(|a, b| a.1.cmp(&b.1));
    let sunday = monday + time::Duration::days(6);
    let months: BTreeSet<String> = [month_of(monday), month_of(sunday)].into();
    let mut days: BTreeMap<time::Date, Vec<Slot>> = (0..7)
        .map(|i| (monday + time::Duration::days(i), Vec::new()))
        .collect();
    for r in runs.all() {
        if instructor.is_some_and(|i| i != r.instructor) {
            continue;
        }
        let on_run: Vec<&String> = r
            .waiting_list
            .values()
            .filter(|w| w.status == WaitStatus::Allocated)
            .map(|w| &w.person_id)
            .filter(|p| {
                unit.is_none_or(|u| {
                    roster.people.get(*p).and_then(|p| p.unit.as_deref()) == Some(u)
                })
            })
            .collect();
        if unit.is_some() && on_run.is_empty() {
            continue;
        }
        if r.schedule.end_date < iso_date(monday) || r.schedule.start_date > iso_date(sunday) {
            continue;
        }
        let title = format!("{} · {}", names.programme(&r.programme_code), r.place);
        for month in &months {
            // Counted once per change of the register, not at every visit.
            let Some(reg) = crate::lan::attendance::register_counts(
                lan,
                &register_id(&lan.facility, &r.id, month),
            )?
            else {
                continue;
            };
            for (id, s) in &reg.sessions {
                let Ok(day) = parse_date(&s.date) else {
                    continue;
                };
                let Some(slots) = days.get_mut(&day) else {
                    continue;
                };
                slots.push(Slot {
                    run: r.id.clone(),
                    month: month.clone(),
                    session: id.clone(),
                    time: format!("{}–{}", s.start_time, s.end_time),
                    title: title.clone(),
                    instructor: names.staff(&r.instructor),
                    cancelled: s.cancelled,
                    marked: reg.marked.get(id).copied().unwrap_or(0),
                    people: on_run.len(),
                });
            }
        }
    }
    for slots in days.values_mut() {
        slots.sort_by(|a, b| (&a.time, &a.title).cmp(&(&b.time, &b.title)));
    }
    Ok(Week {
        monday,
        days,
        instructors,
        units,
    })
}

pub(super) async fn timetable_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Query(which): Query<Which>,
) -> Response {
    let (_, today) = today_iso(lan.clock.now(), lan.offset_minutes(lan.clock.now()));
    let day = which
        .week
        .as_deref()
        .and_then(|w| parse_date(w).ok())
        .unwrap_or(today);
    let monday = day - time::Duration::days(i64::from(day.weekday().number_days_from_monday()));
    let unit = which.unit.clone().filter(|u| !u.is_empty());
    // An instructor sees their own week unless they ask for a unit or another instructor.
    let instructor = which
        .instructor
        .clone()
        .filter(|i| !i.is_empty())
        .or_else(|| {
            (unit.is_none()
                && which.instructor.is_none()
                && who.has(&[pathway_shared::model::Role::Instructor]))
            .then(|| who.username.clone())
        });
    let (lan2, i2, u2) = (lan.clone(), instructor.clone(), unit.clone());
    let loaded = blocking(move || week(&lan2, l, monday, i2.as_deref(), u2.as_deref())).await;
    let w = match loaded {
        Ok(w) => w,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let shift = |days: i64| {
        let mut q = format!("?week={}", iso_date(w.monday + time::Duration::days(days)));
        if let Some(i) = &instructor {
            q.push_str(&format!("&instructor={i}"));
        }
        if let Some(u) = &unit {
            q.push_str(&format!("&unit={}", u.replace(' ', "+")));
        }
        q
    };
    let may_mark = who.has(crate::lan::attendance::MARKERS);
    let body = html! {
        form method="get" action="/timetable" id="which" {
            input type="hidden" name="week" value=(iso_date(w.monday));
            label { (t(l, "field.instructor")) " " select name="instructor" id="tt-instructor" {
                option value="" { "—" }
                @for (u, n) in &w.instructors { option value=(u) selected[instructor.as_deref() == Some(u.as_str())] { (n) } }
            } }
            " "
            label { (t(l, "field.unit")) " " select name="unit" id="tt-unit" {
                option value="" { "—" }
                @for u in &w.units { option value=(u) selected[unit.as_deref() == Some(u.as_str())] { (u) } }
            } }
            " " button type="submit" { (t(l, "timetable.show")) }
        }
        p {
            a href=(shift(-7)) id="previous-week" { "← " (t(l, "timetable.previous")) }
            " · " strong { (tf(l, "timetable.week_of", &[("date", &date(l, &iso_date(w.monday)))])) } " · "
            a href=(shift(7)) id="next-week" { (t(l, "timetable.next")) " →" }
        }
        table id="timetable" {
            @for (day, slots) in &w.days {
                tr.day[*day == today] {
                    th { (code(l, "day", &format!("{:?}", pathway_shared::model::Weekday::of(*day)).to_lowercase())) br; small { (date(l, &iso_date(*day))) } }
                    td {
                        @if slots.is_empty() { small { "—" } }
                        @for s in slots {
                            div.slot {
                                @if s.cancelled { del { (s.time) " " (s.title) } " " small { (t(l, "runs.cancelled")) } }
                                @else {
                                    (s.time) " " a href={ "/runs/" (s.run) } { (s.title) }
                                    " · " small { (s.instructor) " · " (tf(l, "timetable.people", &[("n", &s.people.to_string())])) }
                                    " "
                                    @if s.marked > 0 { span.ok.marked { "✔ " (tf(l, "today.marks", &[("n", &s.marked.to_string())])) } }
                                    @else if may_mark && *day <= today {
                                        a href={ "/sessions/" (s.run) "/" (s.month) "/" (s.session) } { (t(l, "today.mark")) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(&lan, l, Some(&who), t(l, "timetable.title"), body).into_response()
}
