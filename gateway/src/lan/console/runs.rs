//! The console's programme runs: the list (an instructor's own first, with places filled and
//! the waiting list), a new run from the catalogue, and a run's page: its people by name,
//! allocation from the waiting list, its sessions with cancel and add.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use pathway_shared::model::{
    Kind, Programme, ProgrammeRun, Role, StaffAccount, Tally, WaitStatus, parse_date, run_id,
};

use super::class_list::ClassList;
use super::words::{Names, code, date};
use super::{Saved, Viewer, fail, page};
use crate::lan::class_list::LISTERS;
use crate::lan::messages::{t, tf};
use crate::lan::runs::{
    RUN_MAKERS, RunChange, RunInput, SessionChange, change_run, change_session, create_run,
    day_codes,
};
use crate::lan::{ApiError, ApiResult, Lan, Staged, blocking, blocking_durable, today_iso};

/// The values a run's capacity and instructor hold when set here and at the hub apart (one
/// value each otherwise).
fn contested_run(lan: &Lan, run: &str) -> ApiResult<(Vec<u32>, Vec<String>)> {
    use automerge::ReadDoc;
    let scalars = |d: &automerge::Automerge, key: &str| -> Vec<automerge::ScalarValue> {
        d.get_all(automerge::ROOT, key)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(v, _)| match v {
                automerge::Value::Scalar(s) => Some(s.into_owned()),
                automerge::Value::Object(_) => None,
            })
            .collect()
    };
    Ok(lan
        .store
        .read(&run_id(&lan.facility, run), |d, _| {
            let capacity = scalars(d, "capacity")
                .into_iter()
                .filter_map(|s| match s {
                    automerge::ScalarValue::Uint(n) => u32::try_from(n).ok(),
                    automerge::ScalarValue::Int(n) => u32::try_from(n).ok(),
                    _ => None,
                })
                .collect();
            let instructor = scalars(d, "instructor")
                .into_iter()
                .filter_map(|s| match s {
                    automerge::ScalarValue::Str(s) => Some(s.to_string()),
                    _ => None,
                })
                .collect();
            (capacity, instructor)
        })?
        .unwrap_or_default())
}

/// The facility's active instructors: (username, name).
fn instructors(lan: &Lan) -> ApiResult<Vec<(String, String)>> {
    let mut out = Vec::new();
    for id in lan
        .store
        .list(&format!("facility:{}", lan.facility), Kind::StaffAccount)?
    {
        if let Some(s) = lan.store.get::<StaffAccount>(&id)?
            && !s.disabled
            && s.roles.contains(&Role::Instructor)
        {
            out.push((s.username, s.display_name));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

fn days_words(l: crate::lan::messages::Lang, r: &ProgrammeRun) -> String {
    r.schedule
        .days
        .iter()
        .map(|d| code(l, "day", &format!("{d:?}").to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(super) async fn runs_page(State(lan): State<Arc<Lan>>, Viewer { who, l }: Viewer) -> Response {
    let lan2 = lan.clone();
    let loaded = blocking(move || {
        let mut runs = Vec::new();
        for id in lan2
            .store
            .list(&format!("facility:{}", lan2.facility), Kind::ProgrammeRun)?
        {
            if let Some(r) = lan2.store.get::<ProgrammeRun>(&id)? {
                runs.push(r);
            }
        }
        let mut names = Names::new(&lan2.store, &lan2.facility, l);
        let mut titled: Vec<(ProgrammeRun, String, String, bool)> = Vec::new();
        for r in runs {
            let title = names.programme(&r.programme_code);
            let instructor = names.staff(&r.instructor);
            let (capacities, instructors) = contested_run(&lan2, &r.id)?;
            let contested = capacities.len() > 1 || instructors.len() > 1;
            titled.push((r, title, instructor, contested));
        }
        Ok(titled)
    })
    .await;
    let mut runs = match loaded {
        Ok(r) => r,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    runs.sort_by(|a, b| {
        (a.0.instructor != who.username, &a.1, &a.0.id).cmp(&(
            b.0.instructor != who.username,
            &b.1,
            &b.0.id,
        ))
    });
    let body = html! {
        @if who.has(RUN_MAKERS) { p { a href="/runs/new" id="new-run" { (t(l, "runs.new")) } } }
        table id="runs" {
            tr { th { (t(l, "today.run")) } th { (t(l, "field.instructor")) } th { (t(l, "runs.when")) } th { (t(l, "runs.places")) } th { (t(l, "runs.waiting")) } }
            @for (r, title, instructor, contested) in &runs {
                tr {
                    td {
                        a href={ "/runs/" (r.id) } { (title) " · " (r.place) }
                        @if *contested { " " span.due.contested { "▲ " (t(l, "due.conflict")) } }
                    }
                    td { (instructor) }
                    td { (days_words(l, r)) " " (r.schedule.start_time) "–" (r.schedule.end_time) }
                    td { (tf(l, "runs.filled", &[("n", &r.allocated().to_string()), ("of", &r.capacity.to_string())])) }
                    td { (r.waiting_list.values().filter(|w| w.status == WaitStatus::Waiting).count()) }
                }
            }
        }
    };
    page(&lan, l, Some(&who), t(l, "runs.title"), body).into_response()
}

pub(super) async fn new_run_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
) -> Response {
    let lan2 = lan.clone();
    let programmes = blocking(move || {
        let mut out = Vec::new();
        for id in lan2.store.list("national", Kind::Programme)? {
            if let Some(p) = lan2.store.get::<Programme>(&id)?.filter(|p| !p.withdrawn) {
                out.push(p);
            }
        }
        out.sort_by(|a, b| a.title.cmp(&b.title));
        Ok(out)
    })
    .await;
    let programmes = match programmes {
        Ok(p) => p,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let (today, _) = today_iso(lan.clock.now(), lan.offset_minutes(lan.clock.now()));
    let body = html! {
        form method="post" action="/runs/new" {
            p { label { (t(l, "field.programme_code")) br;
                select name="programme_code" id="programme" { @for p in &programmes { option value=(p.code) { (p.title) } } }
            } }
            p { label { (t(l, "field.place")) br; input type="text" name="place" id="place" required; } }
            p { label { (t(l, "field.capacity")) br; input type="number" name="capacity" id="capacity" min="1" max="200" value="12" required; } }
            p { label { (t(l, "field.start_date")) br; input type="date" name="start_date" id="start-date" value=(today) required; } }
            p { label { (t(l, "field.end_date")) br; input type="date" name="end_date" id="end-date" required; } }
            fieldset { legend { (t(l, "field.days")) }
                @for d in day_codes() { label { input type="checkbox" name="days" value=(d) id={ "day-" (d) }; " " (code(l, "day", d)) } " " }
            }
            p { label { (t(l, "field.start_time")) br; input type="time" name="start_time" id="start-time" value="09:00" required; } }
            p { label { (t(l, "field.end_time")) br; input type="time" name="end_time" id="end-time" value="11:00" required; } }
            p { button type="submit" id="create-run" { (t(l, "runs.create")) } }
        }
    };
    page(&lan, l, Some(&who), t(l, "runs.new"), body).into_response()
}

pub(super) async fn new_run_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let get = |k: &str| {
        fields
            .iter()
            .find(|(f, _)| f == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let capacity = get("capacity");
    let r = RunInput {
        programme_code: get("programme_code"),
        place: get("place"),
        capacity: capacity.trim().parse().unwrap_or(0),
        start_date: get("start_date"),
        end_date: get("end_date"),
        days: fields
            .iter()
            .filter(|(f, _)| f == "days")
            .map(|(_, v)| v.clone())
            .collect(),
        start_time: get("start_time"),
        end_time: get("end_time"),
        instructor: Some(get("instructor")).filter(|s| !s.is_empty()),
    };
    let (lan2, who2) = (lan.clone(), who.clone());
    match blocking_durable(move || create_run(&lan2, &who2, &r)).await {
        Ok(id) => Redirect::to(&format!("/runs/{id}?saved=run")).into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}

/// A session of a run, as the run page lists it.
struct SessionLine {
    month: String,
    id: String,
    date: String,
    time: String,
    cancelled: bool,
    note: String,
}

pub(super) async fn run_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(run): Path<String>,
    Query(saved): Query<Saved>,
) -> Response {
    let (lan2, run2, who2) = (lan.clone(), run.clone(), who.clone());
    let query = saved.q.clone().unwrap_or_default();
    let query2 = query.clone();
    let loaded = blocking_durable(move || {
        let r = lan2
            .store
            .get::<ProgrammeRun>(&run_id(&lan2.facility, &run2))?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run `{run2}` here")))?;
        // Who takes part is shown only to those who may see it, and the showing is audited.
        let shown =
            crate::lan::sensitive::may_see_people(&lan2.health_programmes, &lan2.store, &who2, &r)?;
        let mut names = Names::new(&lan2.store, &lan2.facility, l);
        let title = names.programme(&r.programme_code);
        let instructor = names.staff(&r.instructor);
        // Sessions of the last two weeks and the next four.
        let (_, today) = today_iso(lan2.clock.now(), lan2.offset_minutes(lan2.clock.now()));
        let (from, to) = (
            today - time::Duration::days(14),
            today + time::Duration::days(28),
        );
        let mut sessions = Vec::new();
        // Attendance counts every month of the run so far.
        let mut tally = BTreeMap::new();
        let first = parse_date(&r.schedule.start_date).map_or(from, |d| d.min(from));
        let mut month = first.replace_day(1).unwrap_or(first);
        while month <= to {
            let key = pathway_shared::model::month_of(month);
            let reg_id = pathway_shared::model::register_id(&lan2.facility, &r.id, &key);
            // Counted once per change of the register, not at every visit.
            if let Some(counts) = crate::lan::attendance::register_counts(&lan2, &reg_id)? {
                for (person, t) in &counts.tally {
                    let sum: &mut Tally = tally.entry(person.clone()).or_default();
                    sum.attended += t.attended;
                    sum.counted += t.counted;
                }
                for (id, s) in &counts.sessions {
                    if parse_date(&s.date).is_ok_and(|d| d >= from && d <= to) {
                        sessions.push(SessionLine {
                            month: key.clone(),
                            id: id.clone(),
                            time: format!("{}–{}", s.start_time, s.end_time),
                            date: s.date.clone(),
                            cancelled: s.cancelled,
                            note: s.note.clone(),
                        });
                    }
                }
            }
            month = month.replace_day(28).unwrap_or(month) + time::Duration::days(7);
            month = month.replace_day(1).unwrap_or(month);
        }
        sessions.sort_by(|a, b| (&a.date, &a.time).cmp(&(&b.date, &b.time)));
        let (class, pending) = if shown {
            let mut pending = lan2.audit.stage(
                &who2.username,
                "read_run",
                run_id(&lan2.facility, &r.id).as_str(),
                lan2.clock.now(),
            )?;
            // People found to add are shown, and audited, only to those who add them.
            let found = if who2.has(LISTERS) && !query2.trim().is_empty() {
                let hits = crate::lan::find::search(&lan2, &who2, &query2)?;
                pending = hits.pending;
                hits.value
            } else {
                Vec::new()
            };
            (Some(ClassList::read(&lan2, l, &r, &found)?), pending)
        } else {
            (None, lan2.store.pending_none())
        };
        let contests = contested_run(&lan2, &r.id)?;
        // Only the instructors of contested values are named here; the whole list is on the
        // change page.
        let teachers: Vec<(String, String)> = contests
            .1
            .iter()
            .map(|u| (u.clone(), names.staff(u)))
            .collect();
        Ok(Staged {
            value: (
                r, title, instructor, class, sessions, tally, contests, teachers,
            ),
            pending,
        })
    })
    .await;
    let (r, title, instructor, class, sessions, tally, (capacities, taught_by), teachers) =
        match loaded {
            Ok(x) => x,
            Err(e) => return fail(&lan, l, Some(&who), e),
        };
    let may = who.has(RUN_MAKERS);
    let (today, _) = today_iso(lan.clock.now(), lan.offset_minutes(lan.clock.now()));
    let body = html! {
        @if let Some(s) = &saved.saved { p.ok id="saved" { (code(l, "saved", s)) } }
        @if capacities.len() > 1 {
            div.conflict id="conflict-capacity" {
                p { strong { (t(l, "field.capacity")) } ": " (t(l, "case.conflict")) }
                ul { @for n in &capacities { li { strong { (n) } @if may {
                    " " form.inline method="post" action={ "/runs/" (r.id) "/edit" } {
                        input type="hidden" name="capacity" value=(n);
                        button type="submit" { (t(l, "case.keep")) }
                    }
                } } } }
            }
        }
        @if taught_by.len() > 1 {
            div.conflict id="conflict-instructor" {
                p { strong { (t(l, "field.instructor")) } ": " (t(l, "case.conflict")) }
                ul { @for u in &taught_by { li { strong { (teachers.iter().find(|t| &t.0 == u).map_or(u.as_str(), |t| t.1.as_str())) } @if may {
                    " " form.inline method="post" action={ "/runs/" (r.id) "/edit" } {
                        input type="hidden" name="instructor" value=(u);
                        button type="submit" { (t(l, "case.keep")) }
                    }
                } } } }
            }
        }
        dl.facts {
            dt { (t(l, "field.instructor")) } dd { (instructor) }
            dt { (t(l, "field.place")) } dd { (r.place) }
            dt { (t(l, "runs.when")) } dd { (days_words(l, &r)) " " (r.schedule.start_time) "–" (r.schedule.end_time) ", " (date(l, &r.schedule.start_date)) " – " (date(l, &r.schedule.end_date)) }
            dt { (t(l, "runs.places")) } dd { (tf(l, "runs.filled", &[("n", &r.allocated().to_string()), ("of", &r.capacity.to_string())])) }
        }
        h2 { (t(l, "runs.people")) }
        @match &class {
            None => { p id="people-hidden" { (t(l, "runs.people_hidden")) } }
            Some(c) => { (c.render(l, &who, &r, &query, &tally)) }
        }
        h2 { (t(l, "runs.sessions")) }
        @if class.is_some() { p { a href={ "/runs/" (r.id) "/print" } id="print-register" { "🖶 " (t(l, "print.link")) } } }
        table id="run-sessions" {
            @for s in &sessions {
                tr {
                    td { (date(l, &s.date)) } td { (s.time) }
                    td {
                        @if s.cancelled { (t(l, "runs.cancelled")) ": " (s.note) } @else {
                            @if s.date <= today {
                                a href={ "/sessions/" (r.id) "/" (s.month) "/" (s.id) } { (t(l, "today.mark")) }
                            }
                            @if may {
                                " "
                                form.inline method="post" action={ "/runs/" (r.id) "/sessions" } {
                                    input type="hidden" name="action" value="cancel";
                                    input type="hidden" name="date" value=(s.date);
                                    input type="text" name="reason" required placeholder=(t(l, "field.reason")) aria-label=(t(l, "field.reason"));
                                    " " button type="submit" { (t(l, "runs.cancel")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if may {
            p { a href={ "/runs/" (r.id) "/edit" } id="change-run" { (t(l, "runs.change")) } }
            details { summary { (t(l, "runs.add_session")) }
                form method="post" action={ "/runs/" (r.id) "/sessions" } {
                    input type="hidden" name="action" value="add";
                    p { label { (t(l, "today.date")) br; input type="date" name="date" required; } }
                    p { label { (t(l, "field.reason")) br; input type="text" name="reason" required; } }
                    p { button type="submit" { (t(l, "runs.add_session")) } }
                }
            }
        }
    };
    page(&lan, l, Some(&who), &format!("{title} · {}", r.place), body).into_response()
}

/// "8 of 10 sessions (80%)", or "no sessions yet".
pub(super) fn attendance_words(l: crate::lan::messages::Lang, tally: Option<&Tally>) -> String {
    match tally.and_then(|c| Some((c, c.percent()?))) {
        Some((c, pct)) => tf(
            l,
            "runs.attendance",
            &[
                ("n", &c.attended.to_string()),
                ("of", &c.counted.to_string()),
                ("pct", &pct.to_string()),
            ],
        ),
        None => t(l, "runs.no_attendance").to_owned(),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct SessionForm {
    action: String,
    date: String,
    reason: String,
}

pub(super) async fn session_change_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(run): Path<String>,
    Form(f): Form<SessionForm>,
) -> Response {
    let c = SessionChange {
        date: f.date,
        action: f.action,
        reason: f.reason,
        start_time: None,
        end_time: None,
    };
    let (lan2, who2, run2) = (lan.clone(), who.clone(), run.clone());
    match blocking_durable(move || change_session(&lan2, &who2, &run2, &c)).await {
        Ok(_) => Redirect::to(&format!("/runs/{run}?saved=session")).into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}

#[derive(serde::Deserialize)]
pub(super) struct ChangeForm {
    #[serde(default)]
    capacity: Option<String>,
    #[serde(default)]
    instructor: Option<String>,
}

pub(super) async fn change_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(run): Path<String>,
    Form(f): Form<ChangeForm>,
) -> Response {
    let capacity = match f
        .capacity
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        None => None,
        Some(c) => match c.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                return fail(
                    &lan,
                    l,
                    Some(&who),
                    ApiError::field_words(
                        "capacity",
                        "input.between",
                        vec![("min", "1".into()), ("max", "200".into())],
                    ),
                );
            }
        },
    };
    let c = RunChange {
        capacity,
        instructor: f.instructor,
    };
    let (lan2, who2, run2) = (lan.clone(), who.clone(), run.clone());
    match blocking_durable(move || change_run(&lan2, &who2, &run2, &c)).await {
        Ok(()) => Redirect::to(&format!("/runs/{run}?saved=run_changed")).into_response(),
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}

/// The form that changes a run's capacity or instructor.
pub(super) async fn change_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(run): Path<String>,
) -> Response {
    let (lan2, run2) = (lan.clone(), run.clone());
    let loaded = blocking(move || {
        let r = lan2
            .store
            .get::<ProgrammeRun>(&run_id(&lan2.facility, &run2))?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run `{run2}` here")))?;
        let title = Names::new(&lan2.store, &lan2.facility, l).programme(&r.programme_code);
        Ok((r, title, instructors(&lan2)?))
    })
    .await;
    let (r, title, teachers) = match loaded {
        Ok(x) => x,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let body = html! {
        form method="post" action={ "/runs/" (r.id) "/edit" } {
            p { label { (t(l, "field.capacity")) br; input type="number" name="capacity" id="change-capacity" min=(r.allocated().max(1)) max="200" value=(r.capacity); } }
            p { label { (t(l, "field.instructor")) br; select name="instructor" id="change-instructor" {
                @for (u, n) in &teachers { option value=(u) selected[*u == r.instructor] { (n) } }
            } } }
            p { button type="submit" id="save-run" { (t(l, "runs.save")) } }
        }
    };
    page(&lan, l, Some(&who), &format!("{title} · {}", r.place), body).into_response()
}
