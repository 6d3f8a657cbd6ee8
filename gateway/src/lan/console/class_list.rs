//! A run's class list in the console: its people by name with their standing (another run at
//! the same time, a release before the run ends, the programme completed before), a place
//! given from the waiting list (a clash confirmed first), a place ended with an outcome, and
//! people found by name or number put on the waiting list.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::Response;
use maud::{Markup, html};
use pathway_shared::model::{ProgrammeRun, Tally, WaitStatus};

use super::words::{Names, code, date};
use super::{Viewer, write_then_back};
use crate::lan::auth::Staff;
use crate::lan::class_list::{
    ALLOCATORS, Eligibility, LISTERS, Runs, add_to_list, allocate, end_place,
};
use crate::lan::enrolments::{ENDERS, EndInput, OUTCOME_CODES};
use crate::lan::messages::{Lang, t, tf};
use crate::lan::roster::Person;
use crate::lan::{ApiResult, Lan};

/// One person on the class list, or found to add to it.
pub(super) struct Line {
    person: String,
    name: String,
    number: String,
    born: Option<String>,
    location: Option<String>,
    /// `None` for someone found who is not on the list.
    status: Option<WaitStatus>,
    eligibility: Eligibility,
}

/// The class list and the people found by a search, each with their standing; and the titles
/// of the runs that clash, by run id.
pub(super) struct ClassList {
    lines: Vec<Line>,
    found: Vec<Line>,
    titles: BTreeMap<String, String>,
}

impl ClassList {
    pub(super) fn read(
        lan: &Lan,
        l: Lang,
        run: &ProgrammeRun,
        found: &[Arc<Person>],
    ) -> ApiResult<Self> {
        let runs = Runs::read(lan)?;
        let roster = lan.roster.people(&lan.store, &lan.facility)?;
        let line = |person: &str, status| -> ApiResult<Line> {
            let p = roster.people.get(person);
            Ok(Line {
                person: person.to_owned(),
                name: p.map_or_else(|| person.to_owned(), |p| p.name()),
                number: p.map(|p| p.prison_number.clone()).unwrap_or_default(),
                born: p.and_then(|p| p.date_of_birth.clone()),
                location: p.and_then(|p| p.location.clone()),
                status,
                eligibility: runs.eligibility(lan, person, run)?,
            })
        };
        let mut lines = Vec::new();
        for w in run.waiting_list.values() {
            if matches!(w.status, WaitStatus::Allocated | WaitStatus::Waiting) {
                lines.push(line(&w.person_id, Some(w.status))?);
            }
        }
        // Those with a place first, then the waiting list, each by name.
        lines.sort_by(|a, b| {
            (a.status != Some(WaitStatus::Allocated), &a.name, &a.person).cmp(&(
                b.status != Some(WaitStatus::Allocated),
                &b.name,
                &b.person,
            ))
        });
        let mut found_lines = Vec::new();
        for p in found {
            let status = run.waiting_list.get(&p.person_id).map(|w| w.status);
            found_lines.push(line(&p.person_id, status)?);
        }
        let mut names = Names::new(&lan.store, &lan.facility, l);
        let titles = runs
            .all()
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    format!("{} · {}", names.programme(&r.programme_code), r.place),
                )
            })
            .collect();
        Ok(ClassList {
            lines,
            found: found_lines,
            titles,
        })
    }

    /// The list's section of the run page.
    pub(super) fn render(
        &self,
        l: Lang,
        who: &Staff,
        run: &ProgrammeRun,
        query: &str,
        tally: &BTreeMap<String, Tally>,
    ) -> Markup {
        let full = run.allocated() >= run.capacity as usize;
        html! {
            @if self.lines.is_empty() { p { (t(l, "session.nobody")) } }
            table id="run-people" {
                @for line in &self.lines {
                    tr {
                        td { a href={ "/people/" (line.person) } { (line.name) } br; small { (line.number) } }
                        td { (code(l, "wait", &wait_code(line.status))) }
                        td.attendance { (super::runs::attendance_words(l, tally.get(&line.person))) }
                        td.standing { (self.standing(l, &line.eligibility)) }
                        td { (self.actions(l, who, run, line, full)) }
                    }
                }
            }
            @if who.has(LISTERS) {
                h3 { (t(l, "class.add")) }
                form method="get" action={ "/runs/" (run.id) } {
                    label { (t(l, "people.query")) " " input type="search" name="q" value=(query) id="find-person"; }
                    " " button type="submit" id="find" { (t(l, "people.search")) }
                }
                @if !query.trim().is_empty() && self.found.is_empty() { p { (t(l, "people.none")) } }
                @if !self.found.is_empty() {
                    table id="found" {
                        @for line in &self.found {
                            tr {
                                td { (line.name) br; small { (line.number) } }
                                td { (line.born.as_deref().map(|d| date(l, d)).unwrap_or_default()) br; small { (line.location.clone().unwrap_or_default()) } }
                                td.standing { (self.standing(l, &line.eligibility)) }
                                td {
                                    @match line.status {
                                        Some(s @ (WaitStatus::Allocated | WaitStatus::Waiting)) => { (code(l, "wait", &wait_code(Some(s)))) }
                                        _ => {
                                            form.inline method="post" action={ "/runs/" (run.id) "/waiting-list" } {
                                                input type="hidden" name="person" value=(line.person);
                                                button type="submit" { (t(l, "class.add_button")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    fn standing(&self, l: Lang, e: &Eligibility) -> Markup {
        let clashes: Vec<&str> = e
            .clashes
            .iter()
            .map(|r| self.titles.get(r).map_or(r.as_str(), String::as_str))
            .collect();
        html! {
            @if e.is_clear() { span.ok { "✔ " (t(l, "class.clear")) } }
            @if !clashes.is_empty() { span.err.clash { "▲ " (tf(l, "class.clash", &[("runs", &clashes.join(", "))])) } br; }
            @if let Some(d) = &e.released_before_end { span.warn { "▲ " (tf(l, "class.release", &[("date", &date(l, d))])) } br; }
            @if e.completed_before { span.warn { "▲ " (t(l, "class.completed")) } }
        }
    }

    fn actions(&self, l: Lang, who: &Staff, run: &ProgrammeRun, line: &Line, full: bool) -> Markup {
        html! {
            @if who.has(ALLOCATORS) && line.status == Some(WaitStatus::Waiting) {
                @if full { small { (t(l, "class.full")) } } @else {
                    form.inline method="post" action={ "/runs/" (run.id) "/allocate" } {
                        input type="hidden" name="person" value=(line.person);
                        @if !line.eligibility.clashes.is_empty() {
                            label { input type="checkbox" name="confirm" value="yes" required; " " (t(l, "class.confirm_clash")) } " "
                        }
                        button type="submit" { (t(l, "runs.allocate")) }
                    }
                }
            }
            @if who.has(ENDERS) && line.status == Some(WaitStatus::Allocated) {
                form.inline method="post" action={ "/runs/" (run.id) "/end" } {
                    input type="hidden" name="person" value=(line.person);
                    select name="outcome" aria-label=(t(l, "case.end_enrolment")) {
                        @for c in OUTCOME_CODES { option value=(c) { (code(l, "ending", c)) } }
                    }
                    " " button type="submit" { (t(l, "case.end_enrolment")) }
                }
            }
        }
    }
}

fn wait_code(s: Option<WaitStatus>) -> String {
    s.map(|s| format!("{s:?}").to_lowercase())
        .unwrap_or_default()
}

#[derive(serde::Deserialize)]
pub(super) struct PlaceForm {
    person: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    outcome: String,
}

pub(super) async fn add_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(run): Path<String>,
    Form(f): Form<PlaceForm>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/runs", run),
        "listed",
        move |lan, who, run| add_to_list(lan, who, run, &f.person),
    )
    .await
}

pub(super) async fn allocate_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(run): Path<String>,
    Form(f): Form<PlaceForm>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/runs", run),
        "allocated",
        move |lan, who, run| allocate(lan, who, run, &f.person, f.confirm == "yes"),
    )
    .await
}

pub(super) async fn end_form(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(run): Path<String>,
    Form(f): Form<PlaceForm>,
) -> Response {
    write_then_back(
        lan,
        who,
        l,
        ("/runs", run),
        "place_ended",
        move |lan, who, run| {
            let input = EndInput {
                outcome: f.outcome,
                note: String::new(),
            };
            end_place(lan, who, run, &f.person, &input)
        },
    )
    .await
}
