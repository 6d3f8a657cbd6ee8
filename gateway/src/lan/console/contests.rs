//! A case file's fields written at the facility and at the hub apart, as the case page shows
//! them: the four stamped fields (release date, custody status, location, security) and the
//! release-plan items and needs, each with every side's value, who set it and when, and the
//! form that keeps one.

use pathway_shared::model::{
    CustodyStatus, Location, NeedDomain, ReleasePlan, Role, SecurityAssessment, case_id, contested,
    sides,
};

use super::people::code_of;
use super::words::{Names, code, date, when};
use crate::lan::auth::Staff;
use crate::lan::messages::{Lang, t};
use crate::lan::{ApiError, Lan};

/// One of the values a contested field holds, in words, with the form fields that choose it.
pub(super) struct Choice {
    pub(super) words: String,
    pub(super) by: String,
    pub(super) at: String,
    pub(super) fields: Vec<(&'static str, String)>,
}

/// A field written at the facility and at the hub apart: its label, the form that keeps one
/// value, who may choose, and the values.
pub(super) struct Contest {
    /// The field's words.
    pub(super) label: String,
    /// An id for the page.
    pub(super) id: String,
    /// Where "keep this" posts the chosen value.
    pub(super) action: String,
    pub(super) choosers: &'static [Role],
    pub(super) choices: Vec<Choice>,
}

/// A scalar of a side as text.
fn text(side: &std::collections::BTreeMap<String, automerge::ScalarValue>, field: &str) -> String {
    match side.get(field) {
        Some(automerge::ScalarValue::Str(s)) => s.to_string(),
        Some(automerge::ScalarValue::Int(i)) => i.to_string(),
        _ => String::new(),
    }
}

/// The release-plan items and needs written at both ends apart, as contests. Health ones only
/// to those who may see health content.
pub(super) fn item_conflicts(
    lan: &Lan,
    l: Lang,
    who: &Staff,
    person: &str,
    names: &mut Names<'_>,
) -> Result<Vec<Contest>, ApiError> {
    let off = lan.offset_minutes(lan.clock.now());
    let health = who.visibility().health;
    let (plan, needs) = lan
        .store
        .read(&case_id(person), |d, _| {
            let plan: Vec<(&str, _)> = ReleasePlan::ITEMS
                .iter()
                .filter(|k| health || **k != "health_handover")
                .map(|k| (*k, sides(d, &["release_plan", k], "updated_at")))
                .collect();
            let needs: Vec<(&str, _)> = NeedDomain::ALL
                .iter()
                .filter(|n| health || !n.is_sensitive())
                .map(|n| (n.code(), sides(d, &["needs", n.code()], "assessed_at")))
                .collect();
            (plan, needs)
        })?
        .unwrap_or_default();
    let mut out = Vec::new();
    let when_of = |side: &std::collections::BTreeMap<String, automerge::ScalarValue>, f: &str| {
        when(l, text(side, f).parse().unwrap_or_default(), off)
    };
    for (item, item_sides) in plan.into_iter().filter(|(_, s)| s.len() > 1) {
        let choices = item_sides
            .iter()
            .map(|side| {
                let status = code_of_variant(&text(side, "status"));
                let (details, on) = (text(side, "details"), text(side, "date"));
                Choice {
                    words: format!(
                        "{}{}{}",
                        code(l, "planstatus", &status),
                        if details.is_empty() {
                            String::new()
                        } else {
                            format!(" — {details}")
                        },
                        if on.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", date(l, &on))
                        }
                    ),
                    by: names.staff(&text(side, "updated_by")),
                    at: when_of(side, "updated_at"),
                    fields: vec![("status", status), ("details", details), ("date", on)],
                }
            })
            .collect();
        out.push(Contest {
            label: format!("{}: {}", t(l, "case.release_plan"), code(l, "plan", item)),
            id: format!("plan-{item}"),
            action: format!("/people/{person}/plan/{item}"),
            choosers: crate::lan::resettlement::plan_editors(item),
            choices,
        });
    }
    for (domain, need_sides) in needs.into_iter().filter(|(_, s)| s.len() > 1) {
        let choices = need_sides
            .iter()
            .map(|side| {
                let level = code_of_variant(&text(side, "level"));
                let notes = text(side, "notes");
                Choice {
                    words: format!(
                        "{}{}",
                        code(l, "level", &level),
                        if notes.is_empty() {
                            String::new()
                        } else {
                            format!(" — {notes}")
                        }
                    ),
                    by: names.staff(&text(side, "assessed_by")),
                    at: when_of(side, "assessed_at"),
                    fields: vec![
                        ("domain", domain.to_owned()),
                        ("level", level),
                        ("notes", notes),
                    ],
                }
            })
            .collect();
        out.push(Contest {
            label: format!("{}: {}", t(l, "case.needs"), code(l, "domain", domain)),
            id: format!("need-{domain}"),
            action: format!("/people/{person}/needs"),
            choosers: crate::lan::cases::CASE_WORKERS,
            choices,
        });
    }
    Ok(out)
}

/// An enum variant's name as stored (`NotStarted`) as its code (`not_started`).
fn code_of_variant(stored: &str) -> String {
    let mut out = String::new();
    for (i, c) in stored.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// The contested fields of a case file that hold more than one value.
pub(super) fn conflicts(
    lan: &Lan,
    l: Lang,
    person: &str,
    names: &mut Names<'_>,
) -> Result<Vec<(&'static str, Vec<Choice>)>, ApiError> {
    let off = lan.offset_minutes(lan.clock.now());
    let raw = lan
        .store
        .read(&case_id(person), |d, _| {
            let release = contested::<String>(d, "expected_release_date");
            let custody = contested::<CustodyStatus>(d, "custody_status");
            let location = contested::<Location>(d, "location");
            let security = contested::<SecurityAssessment>(d, "security");
            (release, custody, location, security)
        })?
        .unwrap_or_default();
    let (release, custody, location, security) = raw;
    let mut out = Vec::new();
    let mut add = |key: &'static str, choices: Vec<Choice>| {
        if choices.len() > 1 {
            out.push((key, choices));
        }
    };
    let mut stamp = |by: &str, at| (names.staff(by), when(l, at, off));
    let mut choices = Vec::new();
    for s in release {
        let (by, at) = stamp(&s.by, s.at);
        choices.push(Choice {
            words: date(l, &s.value),
            by,
            at,
            fields: vec![("expected_release_date", s.value)],
        });
    }
    add("expected_release_date", choices);
    let mut choices = Vec::new();
    for s in custody {
        let (by, at) = stamp(&s.by, s.at);
        let c = code_of(&s.value);
        choices.push(Choice {
            words: code(l, "custody", &c),
            by,
            at,
            fields: vec![("custody_status", c)],
        });
    }
    add("custody_status", choices);
    let mut choices = Vec::new();
    for s in location {
        let (by, at) = stamp(&s.by, s.at);
        choices.push(Choice {
            words: format!("{} · {}", s.value.unit, s.value.cell),
            by,
            at,
            fields: vec![("unit", s.value.unit), ("cell", s.value.cell)],
        });
    }
    add("location", choices);
    let mut choices = Vec::new();
    for s in security {
        let (by, at) = stamp(&s.by, s.at);
        let c = code_of(&s.value.level);
        choices.push(Choice {
            words: format!(
                "{} ({})",
                code(l, "security", &c),
                date(l, &s.value.assessed_on)
            ),
            by,
            at,
            fields: vec![("security_level", c)],
        });
    }
    add("security", choices);
    Ok(out)
}
