//! What a re-import would change for a person already held: each cell of the file that
//! differs from the case file, and how to write it when asked (`--update`).

use crate::model::{
    CaseFile, CustodyStatus, Location, Millis, SecurityAssessment, SecurityLevel, Stamped,
};

/// A cell of the file that differs from what is held for that person.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Difference {
    pub line: u64,
    pub prison_number: String,
    pub person_id: String,
    /// The column.
    pub column: String,
    /// What the store holds; empty if nothing.
    pub held: String,
    /// What the file says.
    pub file: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = if self.held.is_empty() {
            "nothing"
        } else {
            &self.held
        };
        write!(
            f,
            "line {}, {} ({}): {} is {held} here, {} in the file",
            self.line, self.prison_number, self.person_id, self.column, self.file
        )
    }
}

/// The optional cells of a row for a person already held; `None` is an empty cell, which
/// changes nothing.
pub(super) struct Given {
    pub(super) date_of_birth: Option<String>,
    pub(super) language: String,
    pub(super) expected_release_date: Option<String>,
    pub(super) sentence_date: Option<String>,
    pub(super) custody: Option<CustodyStatus>,
    pub(super) security: Option<SecurityLevel>,
    pub(super) location: Option<Location>,
}

/// Writes one cell's value into a case file, as `by` at `now`.
type Apply = Box<dyn Fn(&mut CaseFile, &str, Millis)>;

/// One cell that differs from what is held, and how to write it.
pub(super) struct Change {
    pub(super) column: &'static str,
    pub(super) held: String,
    pub(super) file: String,
    pub(super) apply: Apply,
}

fn code_text<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

impl Given {
    /// The cells that differ from `f`.
    pub(super) fn against(self, f: &CaseFile) -> Vec<Change> {
        let mut out = Vec::new();
        let mut differ = |column, held: String, file: String, apply: Apply| {
            if held != file {
                out.push(Change {
                    column,
                    held,
                    file,
                    apply,
                });
            }
        };
        if let Some(d) = self.date_of_birth {
            let held = f.date_of_birth.clone().unwrap_or_default();
            differ(
                "date_of_birth",
                held,
                d.clone(),
                Box::new(move |f, _, _| f.date_of_birth = Some(d.clone())),
            );
        }
        if !self.language.is_empty() {
            let l = self.language;
            differ(
                "language",
                f.language.clone(),
                l.clone(),
                Box::new(move |f, _, _| f.language.clone_from(&l)),
            );
        }
        if let Some(d) = self.expected_release_date {
            let held = f.release_date().unwrap_or_default().to_owned();
            differ(
                "expected_release_date",
                held,
                d.clone(),
                Box::new(move |f, by, now| {
                    f.expected_release_date = Some(Stamped::new(d.clone(), by, now));
                }),
            );
        }
        if let Some(d) = self.sentence_date {
            let held = f.sentence_date.clone().unwrap_or_default();
            differ(
                "sentence_date",
                held,
                d.clone(),
                Box::new(move |f, _, _| f.sentence_date = Some(d.clone())),
            );
        }
        if let Some(c) = self.custody {
            let held = f
                .custody_status
                .as_ref()
                .map(|s| code_text(&s.value))
                .unwrap_or_default();
            differ(
                "custody_status",
                held,
                code_text(&c),
                Box::new(move |f, by, now| {
                    f.custody_status = Some(Stamped::new(c, by, now));
                }),
            );
        }
        if let Some(level) = self.security {
            let held = f
                .security
                .as_ref()
                .map(|s| code_text(&s.value.level))
                .unwrap_or_default();
            differ(
                "security_level",
                held,
                code_text(&level),
                Box::new(move |f, by, now| {
                    let assessed_on = crate::model::iso_date(
                        time::OffsetDateTime::from_unix_timestamp(now / 1000)
                            .map_or(time::Date::MIN, |t| t.date()),
                    );
                    f.security = Some(Stamped::new(
                        SecurityAssessment { level, assessed_on },
                        by,
                        now,
                    ));
                }),
            );
        }
        if let Some(place) = self.location {
            let shown = |l: &Location| format!("{} {}", l.unit, l.cell);
            let held = f
                .location
                .as_ref()
                .map(|l| shown(&l.value))
                .unwrap_or_default();
            differ(
                "unit, cell",
                held,
                shown(&place),
                Box::new(move |f, by, now| {
                    f.moves.insert(
                        format!("{now}-import"),
                        Stamped::new(place.clone(), by, now),
                    );
                    f.location = Some(Stamped::new(place.clone(), by, now));
                }),
            );
        }
        out
    }
}
