//! The console's attendance pages: today's sessions (the instructor's own first) and a
//! session's register, people by name and number, with a warning before a late mark is saved.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use pathway_shared::model::{
    ABSENCE_REASONS, AttendanceRegister, MarkOutcome, ProgrammeRun, RegisterSession, WaitStatus,
    register_id, run_id,
};

use super::words::{date, when};
use super::{Saved, Viewer, fail, page};
use crate::lan::auth::Staff;
use crate::lan::messages::{Lang, t, tf};
use crate::lan::{
    ApiError, ApiResult, CASE_READERS, Lan, MarkInput, SessionRow, Staged, blocking,
    blocking_durable, sessions_near, today_iso,
};

pub(super) async fn today(State(lan): State<Arc<Lan>>, Viewer { who, l }: Viewer) -> Response {
    let lan2 = lan.clone();
    let rows = match blocking(move || {
        let rows = sessions_near(&lan2, lan2.clock.now())?;
        let marked = marked(&lan2, &rows)?;
        Ok((rows, marked))
    })
    .await
    {
        Ok(r) => r,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let (rows, marked) = rows;
    let (today, _) = today_iso(lan.clock.now(), lan.offset_minutes(lan.clock.now()));
    let table = |rows: Vec<&SessionRow>| {
        html! {
            @if rows.is_empty() { p { (t(l, "today.none")) } } @else {
                table {
                    tr { th { (t(l, "today.run")) } th { (t(l, "today.date")) } th { (t(l, "today.time")) } th { (t(l, "today.marked")) } th {} }
                    @for r in rows {
                        tr {
                            td { (r.title) } td { (date(l, &r.date)) } td { (r.time) }
                            td.marked {
                                @match marked.get(&(r.run.clone(), r.session.clone())) {
                                    Some(n) if *n > 0 => { "✔ " (tf(l, "today.marks", &[("n", &n.to_string())])) }
                                    _ => { (t(l, "today.not_marked")) }
                                }
                            }
                            td { @if who.has(crate::lan::attendance::MARKERS) {
                                a.mark href={ "/sessions/" (r.run) "/" (r.month) "/" (r.session) } { (t(l, "today.mark")) }
                            } }
                        }
                    }
                }
            }
        }
    };
    let mine = |r: &&SessionRow| r.instructor == who.username;
    let (now_rows, recent): (Vec<&SessionRow>, Vec<&SessionRow>) =
        rows.iter().partition(|r| r.date == today);
    let (my_today, others_today): (Vec<&SessionRow>, Vec<&SessionRow>) =
        now_rows.into_iter().partition(mine);
    let (my_recent, others_recent): (Vec<&SessionRow>, Vec<&SessionRow>) =
        recent.into_iter().partition(mine);
    let teaches = rows.iter().any(|r| r.instructor == who.username);
    let body = html! {
        @if teaches {
            h2 id="mine" { (t(l, "today.mine")) } (table(my_today))
            h2 { (t(l, "today.recent")) } (table(my_recent))
            h2 { (t(l, "today.others")) } (table(others_today))
        } @else {
            h2 { (t(l, "today.today")) } (table(others_today))
            h2 { (t(l, "today.recent")) } (table(others_recent))
        }
    };
    page(&lan, l, Some(&who), t(l, "today.title"), body).into_response()
}

/// How many people are marked at each session listed, by run and session.
fn marked(lan: &Lan, rows: &[SessionRow]) -> ApiResult<HashMap<(String, String), usize>> {
    let mut out = HashMap::new();
    for r in rows {
        let n = lan
            .store
            .get::<AttendanceRegister>(&register_id(&lan.facility, &r.run, &r.month))?
            .map_or(0, |reg| {
                reg.marks
                    .values()
                    .filter(|m| m.session_id == r.session)
                    .count()
            });
        out.insert((r.run.clone(), r.session.clone()), n);
    }
    Ok(out)
}

#[derive(serde::Deserialize, Default)]
pub(super) struct AllPresent {
    /// `present`: every unmarked line starts as attended, for staff to change the exceptions.
    #[serde(default)]
    all: Option<String>,
}

const OUTCOMES: [(&str, MarkOutcome); 5] = [
    ("attended", MarkOutcome::Attended),
    ("absent_excused", MarkOutcome::AbsentExcused),
    ("absent_unexcused", MarkOutcome::AbsentUnexcused),
    ("refused", MarkOutcome::Refused),
    ("cancelled", MarkOutcome::Cancelled),
];

/// One person on a session's register: name, number, current mark.
struct Line {
    person: String,
    name: String,
    number: String,
    outcome: Option<MarkOutcome>,
    reason: String,
    late: bool,
    from_paper: bool,
}

/// A session with its run's title and the register's lines.
fn session_lines(
    lan: &Lan,
    l: Lang,
    who: &Staff,
    run: &str,
    month: &str,
    session: &str,
) -> Result<(RegisterSession, String, Vec<Line>), ApiError> {
    if !who.has(CASE_READERS) {
        return Err(ApiError::forbidden(
            "your role does not include who takes part in programmes",
        ));
    }
    let reg = lan
        .store
        .get::<AttendanceRegister>(&register_id(&lan.facility, run, month))?
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                format!("no register for run `{run}` in {month}"),
            )
        })?;
    let s = reg.sessions.get(session).cloned().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("session `{session}` is not in this register"),
        )
    })?;
    let run_doc = lan.store.get::<ProgrammeRun>(&run_id(&lan.facility, run))?;
    if let Some(r) = &run_doc
        && !crate::lan::sensitive::may_see_people(&lan.health_programmes, &lan.store, who, r)?
    {
        return Err(ApiError::forbidden(
            "who takes part in this programme is health content",
        ));
    }
    let mut names = super::words::Names::new(&lan.store, &lan.facility, l);
    let title = run_doc.as_ref().map_or_else(
        || run.to_owned(),
        |r| format!("{} · {}", names.programme(&r.programme_code), r.place),
    );
    let mut people: Vec<String> = run_doc
        .map(|r| {
            r.waiting_list
                .values()
                .filter(|w| w.status == WaitStatus::Allocated)
                .map(|w| w.person_id.clone())
                .collect()
        })
        .unwrap_or_default();
    for m in reg.marks.values().filter(|m| m.session_id == session) {
        if !people.contains(&m.person_id) {
            people.push(m.person_id.clone());
        }
    }
    let roster = lan.roster.people(&lan.store, &lan.facility)?;
    let mut lines: Vec<Line> = people
        .into_iter()
        .map(|p| {
            let mark = reg.marks.get(&AttendanceRegister::mark_key(session, &p));
            let known = roster.people.get(&p);
            Line {
                name: known.map_or_else(|| p.clone(), |k| k.name()),
                number: known.map(|k| k.prison_number.clone()).unwrap_or_default(),
                outcome: mark.map(|m| m.outcome),
                reason: mark.map(|m| m.reason.clone()).unwrap_or_default(),
                late: mark.is_some_and(|m| m.late),
                from_paper: mark.is_some_and(|m| m.from_paper),
                person: p,
            }
        })
        .collect();
    lines.sort_by(|a, b| (&a.name, &a.person).cmp(&(&b.name, &b.person)));
    Ok((s, title, lines))
}

pub(super) async fn session_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path((run, month, session)): Path<(String, String, String)>,
    Query(saved): Query<Saved>,
    Query(all): Query<AllPresent>,
) -> Response {
    let lan2 = lan.clone();
    let (run2, month2, session2) = (run.clone(), month.clone(), session.clone());
    let who2 = who.clone();
    // Who is on a register is audited like a case-file read.
    let loaded = blocking_durable(move || {
        let lines = session_lines(&lan2, l, &who2, &run2, &month2, &session2)?;
        let target = format!(
            "{} session {session2}",
            register_id(&lan2.facility, &run2, &month2)
        );
        let pending =
            lan2.audit
                .stage(&who2.username, "read_register", &target, lan2.clock.now())?;
        Ok(Staged {
            value: lines,
            pending,
        })
    })
    .await;
    let (s, title, lines) = match loaded {
        Ok(x) => x,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    let closes = s.window_closes(lan.offset_minutes(lan.clock.now()));
    let (day_now, _) = today_iso(lan.clock.now(), lan.offset_minutes(lan.clock.now()));
    let late = closes.is_some_and(|c| lan.clock.now() > c);
    let body = html! {
        p { strong { (title) } }
        p { (date(l, &s.date)) " " (s.start_time) "–" (s.end_time) }
        @if s.cancelled { p.err { (t(l, "session.cancelled")) } }
        @if saved.saved.is_some() { p.ok id="saved" { (t(l, "session.saved")) } }
        @if late {
            p.err id="late-warning" {
                (tf(l, "session.late", &[("closed", &closes.map(|c| when(l, c, lan.offset_minutes(lan.clock.now()))).unwrap_or_default())]))
            }
        }
        @if lines.is_empty() { p { (t(l, "session.nobody")) } } @else {
            @if !s.cancelled && lines.iter().any(|l| l.outcome.is_none()) {
                p { a href="?all=present" id="all-present" { (t(l, "session.all_present")) } " " small { (t(l, "session.all_present_hint")) } }
            }
            form method="post" {
                table id="register" {
                    tr { th { (t(l, "session.person")) } th { (t(l, "case.prison_number")) } th { (t(l, "session.outcome")) } th { (t(l, "session.reason")) } }
                    @for line in &lines {
                        @let outcome = line.outcome.or(all.all.as_deref().filter(|a| *a == "present").map(|_| MarkOutcome::Attended));
                        tr {
                            td { a href={ "/people/" (line.person) } { (line.name) } }
                            td { (line.number) }
                            td {
                                select name={ "mark." (line.person) } aria-label=(line.name) {
                                    option value="" selected[outcome.is_none()] { (t(l, "session.unmarked")) }
                                    @for (code, o) in OUTCOMES {
                                        option value=(code) selected[outcome == Some(o)] { (t(l, &format!("outcome.{code}"))) }
                                    }
                                }
                                @if line.late { " " span.late { (t(l, "session.late_mark")) } }
                                @if line.from_paper { " " span.late { (t(l, "session.paper_mark")) } }
                            }
                            td {
                                select name={ "reason." (line.person) } aria-label={ (line.name) " · " (t(l, "session.reason")) } {
                                    option value="" selected[line.reason.is_empty()] { "—" }
                                    @for r in ABSENCE_REASONS {
                                        option value=(r) selected[line.reason == r] { (t(l, &format!("absence.{r}"))) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if late {
                    p { label { input type="checkbox" name="confirm_late" value="yes" id="confirm-late"; " " (t(l, "session.confirm_late")) } }
                }
                @if s.date < day_now {
                    p { label { input type="checkbox" name="from_paper" value="yes" id="from-paper"; " " (t(l, "session.from_paper")) } }
                }
                p { button type="submit" id="save-attendance" { (t(l, "session.save")) } }
            }
        }
    };
    page(&lan, l, Some(&who), t(l, "session.title"), body).into_response()
}

pub(super) async fn session_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path((run, month, session)): Path<(String, String, String)>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let confirmed = fields
        .iter()
        .any(|(k, v)| k == "confirm_late" && v == "yes");
    let from_paper = fields.iter().any(|(k, v)| k == "from_paper" && v == "yes");
    let reason = |person: &str| {
        fields
            .iter()
            .find(|(k, _)| k.strip_prefix("reason.") == Some(person))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let marks: Vec<MarkInput> = fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .filter_map(|(k, v)| {
            let person = k.strip_prefix("mark.")?;
            Some(MarkInput {
                person: person.to_owned(),
                outcome: v.clone(),
                // A reason left on a line marked present is not one.
                reason: if v == "attended" {
                    String::new()
                } else {
                    reason(person)
                },
                from_paper,
            })
        })
        .collect();
    let (lan2, who2) = (lan.clone(), who.clone());
    let (r2, m2, s2) = (run.clone(), month.clone(), session.clone());
    let result = blocking_durable(move || {
        if !confirmed {
            let (s, _, _) = session_lines(&lan2, l, &who2, &r2, &m2, &s2)?;
            if s.window_closes(lan2.offset_minutes(lan2.clock.now()))
                .is_some_and(|c| lan2.clock.now() > c)
            {
                return Err(ApiError::field_words(
                    "confirm_late",
                    "session.late_unconfirmed",
                    vec![],
                ));
            }
        }
        crate::lan::write_marks(&lan2, &who2, &r2, &m2, &s2, marks)
    })
    .await;
    match result {
        Ok(_) => {
            Redirect::to(&format!("/sessions/{run}/{month}/{session}?saved=1")).into_response()
        }
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}
