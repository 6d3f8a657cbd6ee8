//! The console's pages on people: finding a person, their case file as the role allows (codes
//! as words, staff and partners by name, dates as dates), conflicts waiting for a choice, and
//! the case work forms (whose posts are in [`casework`](super::casework)).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use pathway_shared::model::{
    CaseFile, Kind, NeedDomain, Partner, PartnerKind, ReferralStatus, ReleasePlan, Role,
};

use super::contests::{Choice, Contest, conflicts, item_conflicts};
use super::intake::{RECORDS, placement_form};
use super::words::{Names, code, date, when};
use super::{Saved, Viewer, fail, page};
use crate::lan::auth::Staff;
use crate::lan::cases::LEVEL_CODES;
use crate::lan::enrolments::{ENDERS, OUTCOME_CODES};
use crate::lan::find::search;
use crate::lan::messages::{Lang, t, tf};
use crate::lan::{ApiError, Lan, blocking_durable, open_case};

pub(super) async fn people(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Query(q): Query<Saved>,
) -> Response {
    let query = q.q.unwrap_or_default();
    let (lan2, who2, q2) = (lan.clone(), who.clone(), query.clone());
    let found = match blocking_durable(move || search(&lan2, &who2, &q2)).await {
        Ok(f) => f,
        Err(e) => return fail(&lan, l, Some(&who), e),
    };
    // Each person's programmes now, by title; a health programme only to those who may see it.
    let health = if who.visibility().health {
        Default::default()
    } else {
        lan.health_programmes.codes(&lan.store).unwrap_or_default()
    };
    let mut names = Names::new(&lan.store, &lan.facility, l);
    let programmes: Vec<String> = found
        .iter()
        .map(|p| {
            p.programmes
                .iter()
                .filter(|c| !health.contains(*c))
                .map(|c| names.programme(c))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    let body = html! {
        form method="get" action="/people" {
            label { (t(l, "people.query")) " " input type="search" name="q" value=(query) id="q"; }
            " " button type="submit" id="search" { (t(l, "people.search")) }
        }
        @if !query.trim().is_empty() {
            @if found.is_empty() { p { (t(l, "people.none")) } } @else {
                table id="found" {
                    tr { th { (t(l, "session.person")) } th { (t(l, "case.prison_number")) } th { (t(l, "people.born")) }
                         th { (t(l, "case.location")) } th { (t(l, "people.programmes")) } }
                    @for (p, progs) in found.iter().zip(&programmes) {
                        tr {
                            td { a href={ "/people/" (p.person_id) } { (p.name()) } }
                            td { (p.prison_number) }
                            td { (p.date_of_birth.as_deref().map(|d| date(l, d)).unwrap_or_default()) }
                            td { (p.location.clone().unwrap_or_default()) }
                            td { (progs) }
                        }
                    }
                }
            }
        }
    };
    page(&lan, l, Some(&who), t(l, "people.title"), body).into_response()
}

const NOTE_TYPES: [&str; 6] = [
    "general",
    "education",
    "work",
    "resettlement",
    "safeguarding",
    "health",
];

fn referral_code(s: ReferralStatus) -> &'static str {
    match s {
        ReferralStatus::Requested => "requested",
        ReferralStatus::Accepted => "accepted",
        ReferralStatus::InProgress => "in_progress",
        ReferralStatus::Completed => "completed",
        ReferralStatus::Declined => "declined",
        ReferralStatus::Cancelled => "cancelled",
    }
}

const STATUSES: [ReferralStatus; 5] = [
    ReferralStatus::Accepted,
    ReferralStatus::InProgress,
    ReferralStatus::Completed,
    ReferralStatus::Declined,
    ReferralStatus::Cancelled,
];

/// A value's code: its serde name in snake case (`NotAssessed` → `not_assessed`).
pub(super) fn code_of<T: serde::Serialize>(v: &T) -> String {
    let name = serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Everything the case page shows besides the case file: names, partners, conflicts.
struct Context {
    names: Vec<(String, String)>,
    /// Release-plan items and needs written at both ends apart.
    contests: Vec<Contest>,
    leaving: super::leaving::Choices,
    partners: Vec<Partner>,
    conflicts: Vec<(&'static str, Vec<Choice>)>,
}

fn context(
    lan: &Lan,
    l: Lang,
    who: &Staff,
    person: &str,
    case: &CaseFile,
) -> Result<Context, ApiError> {
    let mut names = Names::new(&lan.store, &lan.facility, l);
    let mut users: Vec<String> = Vec::new();
    users.extend(case.notes.values().map(|n| n.author.clone()));
    users.extend(case.needs.values().map(|n| n.assessed_by.clone()));
    users.extend(
        case.referrals
            .values()
            .flat_map(|r| r.history.values().map(|e| e.by.clone())),
    );
    users.extend(case.case_officer.clone());
    users.extend(
        ReleasePlan::ITEMS
            .iter()
            .filter_map(|k| case.release_plan.item(k))
            .map(|i| i.updated_by.clone()),
    );
    users.sort();
    users.dedup();
    let mut pairs: Vec<(String, String)> = users
        .into_iter()
        .map(|u| {
            let n = names.staff(&u);
            (u, n)
        })
        .collect();
    let mut partners = Vec::new();
    for id in lan.store.list("national", Kind::Partner)? {
        if let Some(p) = lan.store.get::<Partner>(&id)?
            && p.active
            && (p.kind != PartnerKind::Clinic || who.has(&[Role::HealthStaff]))
        {
            partners.push(p);
        }
    }
    partners.sort_by(|a, b| a.name.cmp(&b.name));
    for r in case.referrals.values() {
        let n = names.partner_name(&r.partner_id);
        pairs.push((format!("partner:{}", r.partner_id), n));
    }
    for e in case.enrolments.values() {
        let n = names.programme(&e.programme_code);
        pairs.push((format!("programme:{}", e.programme_code), n));
    }
    let conflicts = conflicts(lan, l, person, &mut names)?;
    Ok(Context {
        contests: item_conflicts(lan, l, who, person, &mut names)?,
        names: pairs,
        leaving: super::leaving::Choices::read(lan, l, who)?,
        partners,
        conflicts,
    })
}

impl Context {
    fn name<'a>(&'a self, key: &'a str) -> &'a str {
        self.names
            .iter()
            .find(|(k, _)| k == key)
            .map_or(key, |(_, n)| n.as_str())
    }
}

fn case_body(
    lan: &Lan,
    l: Lang,
    who: &Staff,
    person: &str,
    case: &CaseFile,
    cx: &Context,
    saved: Option<&str>,
) -> Markup {
    let off = lan.offset_minutes(lan.clock.now());
    let may_work = who.has(&[Role::CaseOfficer, Role::FacilityManager, Role::HealthStaff]);
    let may_move = who.has(&[Role::CaseOfficer, Role::FacilityManager]);
    let health = who.has(&[Role::HealthStaff]);
    let domains: Vec<NeedDomain> = NeedDomain::ALL
        .into_iter()
        .filter(|d| health || !d.is_sensitive())
        .collect();
    html! {
        @if let Some(s) = saved { p.ok id="saved" { (code(l, "saved", s)) } }
        @for c in &cx.contests {
            div.conflict id={ "conflict-" (c.id) } {
                p { strong { (c.label) } ": " (t(l, "case.conflict")) }
                ul {
                    @for choice in &c.choices {
                        li {
                            strong { (choice.words) } " — " (tf(l, "case.set_by", &[("who", &choice.by), ("when", &choice.at)]))
                            @if who.has(c.choosers) {
                                " "
                                form.inline method="post" action=(c.action) {
                                    @for (f, v) in &choice.fields { input type="hidden" name=(f) value=(v); }
                                    button type="submit" { (t(l, "case.keep")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        @for (key, choices) in &cx.conflicts {
            div.conflict id={ "conflict-" (key) } {
                p { strong { (code(l, "field", key)) } ": " (t(l, "case.conflict")) }
                ul {
                    @for c in choices {
                        li {
                            strong { (c.words) } " — " (tf(l, "case.set_by", &[("who", &c.by), ("when", &c.at)]))
                            @if who.has(RECORDS) {
                                " "
                                form.inline method="post" action={ "/people/" (person) "/placement" } {
                                    @for (f, v) in &c.fields { input type="hidden" name=(f) value=(v); }
                                    button type="submit" { (t(l, "case.keep")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        dl.facts {
            dt { (t(l, "case.prison_number")) } dd { (case.prison_number) " (" (case.person_id) ")" }
            @if let Some(d) = &case.date_of_birth { dt { (t(l, "field.date_of_birth")) } dd { (date(l, d)) } }
            dt { (t(l, "field.admission_date")) } dd { (date(l, &case.admission_date)) }
            dt { (t(l, "field.custody_status")) }
            dd id="custody" {
                @match &case.custody_status {
                    Some(c) => { (code(l, "custody", &code_of(&c.value))) " (" (tf(l, "custody.since", &[("date", &when(l, c.at, off))])) ")" }
                    None => { (t(l, "custody.not_recorded")) }
                }
            }
            @if let Some(d) = &case.sentence_date { dt { (t(l, "field.sentence_date")) } dd { (date(l, d)) } }
            @if let Some(r) = case.release_date() { dt { (t(l, "case.release")) } dd id="release" { (date(l, r)) } }
            @if let Some(loc) = &case.location { dt { (t(l, "case.location")) } dd id="location" { (loc.value.unit) " · " (loc.value.cell) } }
            @if let Some(s) = &case.security {
                dt { (t(l, "field.security_level")) }
                dd { (code(l, "security", &code_of(&s.value.level))) " (" (tf(l, "case.assessed_on", &[("date", &date(l, &s.value.assessed_on))])) ")" }
            }
            @if let Some(o) = &case.case_officer { dt { (t(l, "field.case_officer")) } dd { (cx.name(o)) } }
        }
        @if case.moves.len() > 1 {
            details { summary { (t(l, "case.moves")) }
                ul { @for m in case.moves.values() { li { (when(l, m.at, off)) ": " (m.value.unit) " · " (m.value.cell) } } }
            }
        }
        (placement_form(l, who, person))

        h2 { (t(l, "case.needs")) }
        table id="needs" {
            tr { th { (t(l, "field.domain")) } th { (t(l, "field.level")) } th { (t(l, "field.notes")) } th { (t(l, "case.assessed")) } }
            @for d in &domains {
                @if let Some(n) = case.needs.get(d.code()) {
                    tr {
                        td { (code(l, "domain", d.code())) }
                        td { (code(l, "level", &code_of(&n.level))) }
                        td { (n.notes) }
                        td { (cx.name(&n.assessed_by)) ", " (when(l, n.assessed_at, off)) }
                    }
                }
            }
        }
        @if may_work {
            details { summary id="open-assess" { (t(l, "case.assess")) }
                form method="post" action={ "/people/" (person) "/needs" } {
                    p { label { (t(l, "field.domain")) " " select name="domain" id="need-domain" { @for d in &domains { option value=(d.code()) { (code(l, "domain", d.code())) } } } } }
                    p { label { (t(l, "field.level")) " " select name="level" id="need-level" { @for c in LEVEL_CODES { option value=(c) { (code(l, "level", c)) } } } } }
                    p { label { (t(l, "field.notes")) br; textarea name="notes" rows="2" {} } }
                    p { button type="submit" id="save-need" { (t(l, "case.save_need")) } }
                }
            }
        }

        h2 { (t(l, "case.goals")) }
        @if case.goals.is_empty() { p { (t(l, "case.no_goals")) } }
        ul id="goals" {
            @for g in case.goals.values() {
                li {
                    (g.title) " · " (code(l, "domain", &g.domain)) " · " (code(l, "goal", &code_of(&g.status)))
                    @if let Some(d) = &g.target_date { " · " (tf(l, "case.by_date", &[("date", &date(l, d))])) }
                }
            }
        }
        @if may_work {
            details { summary id="open-goal" { (t(l, "case.add_goal")) }
                form method="post" action={ "/people/" (person) "/goals" } {
                    p { label { (t(l, "field.title")) br; input type="text" name="title" id="goal-title" required; } }
                    p { label { (t(l, "field.domain")) " " select name="domain" { @for d in &domains { option value=(d.code()) { (code(l, "domain", d.code())) } } } } }
                    p { label { (t(l, "field.target_date")) br; input type="date" name="target_date"; } }
                    p { button type="submit" id="save-goal" { (t(l, "case.save_goal")) } }
                }
            }
        }

        @if !case.enrolments.is_empty() {
            h2 { (t(l, "case.enrolments")) }
            ul id="enrolments" { @for (id, e) in &case.enrolments {
                li { (cx.name(&format!("programme:{}", e.programme_code))) " · " (code(l, "enrolment", &code_of(&e.status)))
                    @if let Some(d) = &e.start_date { " · " (date(l, d)) }
                    @if let Some(d) = &e.end_date { " – " (date(l, d)) }
                    @if let Some(r) = &e.end_reason {
                        @let (c, note) = r.split_once(": ").unwrap_or((r.as_str(), ""));
                        " · " (code(l, "ending", c)) @if !note.is_empty() { " (" (note) ")" }
                    }
                    @if !e.status.is_final() && who.has(ENDERS) {
                        form method="post" action={ "/people/" (person) "/enrolments/" (id) "/end" } {
                            select name="outcome" aria-label=(t(l, "case.end_enrolment")) {
                                @for c in OUTCOME_CODES { option value=(c) { (code(l, "ending", c)) } }
                            }
                            " " label { input type="checkbox" name="confirm" value="yes" required; " " (t(l, "case.confirm")) }
                            " " button type="submit" { (t(l, "case.end_enrolment")) }
                        }
                    }
                }
            } }
        }

        h2 { (t(l, "case.referrals")) }
        @if case.referrals.is_empty() { p { (t(l, "case.no_referrals")) } }
        ul id="referrals" {
            @for (id, r) in &case.referrals {
                @let status = r.state().status;
                @let asked = r.history.values().map(|e| e.at).min().unwrap_or_default();
                li {
                    strong { (cx.name(&format!("partner:{}", r.partner_id))) } " · " (r.service) " · "
                    (code(l, "referral", referral_code(status))) " · " (tf(l, "case.requested_on", &[("when", &when(l, asked, off))]))
                    @if !r.reason.is_empty() { br; (r.reason) }
                    @if may_move && !status.is_final() {
                        form method="post" action={ "/people/" (person) "/referrals/" (id) } {
                            select name="to" aria-label=(t(l, "case.move_to")) {
                                @for to in STATUSES.iter().filter(|to| status.may_become(**to)) {
                                    option value=(referral_code(*to)) { (code(l, "referral", referral_code(*to))) }
                                }
                            }
                            " " input type="text" name="note" placeholder=(t(l, "case.reason_optional"));
                            " " label { input type="checkbox" name="confirm" value="yes" required; " " (t(l, "case.confirm")) }
                            " " button type="submit" { (t(l, "case.move_to")) }
                        }
                    }
                }
            }
        }
        @if may_work && !cx.partners.is_empty() {
            details { summary id="open-referral" { (t(l, "case.new_referral")) }
                form method="post" action={ "/people/" (person) "/referrals" } {
                    p { label { (t(l, "field.service")) br;
                        select name="partner_service" id="referral-service" {
                            @for p in &cx.partners { @for s in &p.services {
                                option value={ (p.id) "|" (s) } { (p.name) " — " (s) }
                            } }
                        }
                    } }
                    p { label { (t(l, "field.reason")) br; textarea name="reason" id="referral-reason" rows="2" required {} } }
                    p { label { input type="checkbox" name="urgent" value="true"; " " (t(l, "case.urgent")) } }
                    p { button type="submit" id="save-referral" { (t(l, "case.save_referral")) } }
                }
            }
        }

        (super::leaving::section(lan, l, who, person, case, &cx.leaving, &|u| cx.name(u).to_owned()))

        h2 { (t(l, "case.notes")) }
        @if case.notes.is_empty() { p { (t(l, "case.no_notes")) } }
        ul id="notes" {
            @for (_, n) in case.notes_in_order() {
                li {
                    (when(l, n.at, off)) " · " (code(l, "notetype", &code_of(&n.note_type))) " · " strong { (cx.name(&n.author)) }
                    @if n.restricted { " (" (t(l, "case.restricted_mark")) ")" }
                    br; (n.text)
                }
            }
        }
        @if may_work {
            h2 { (t(l, "case.add_note")) }
            form method="post" action={ "/people/" (person) "/notes" } {
                p { label { (t(l, "case.note_text")) br; textarea name="text" id="note-text" rows="4" {} } }
                p { label { (t(l, "case.note_type")) " "
                    select name="note_type" {
                        @for nt in NOTE_TYPES.iter().filter(|nt| **nt != "health" || health) {
                            option value=(nt) { (t(l, &format!("notetype.{nt}"))) }
                        }
                    }
                } }
                @if may_move {
                    p { label { input type="checkbox" name="restricted" value="true"; " " (t(l, "case.restricted")) } }
                }
                p { button type="submit" id="save-note" { (t(l, "case.save_note")) } }
            }
        }
    }
}

pub(super) async fn person_page(
    State(lan): State<Arc<Lan>>,
    Viewer { who, l }: Viewer,
    Path(person): Path<String>,
    Query(saved): Query<Saved>,
) -> Response {
    let (lan2, who2, p2) = (lan.clone(), who.clone(), person.clone());
    let loaded = blocking_durable(move || {
        let staged = open_case(&lan2, &who2, &p2)?;
        let cx = context(&lan2, l, &who2, &p2, &staged.value)?;
        Ok(staged.map(|case| (case, cx)))
    })
    .await;
    match loaded {
        Ok((case, cx)) => {
            let body = case_body(&lan, l, &who, &person, &case, &cx, saved.saved.as_deref());
            let title = format!("{} {}", case.given_name, case.family_name);
            page(&lan, l, Some(&who), &title, body).into_response()
        }
        Err(e) => fail(&lan, l, Some(&who), e),
    }
}
