//! Imports of existing registers: the people already in custody at a facility, and its staff,
//! from CSV files as spreadsheets write them. Every row is checked before anything is stored;
//! a bad row is reported by line and column and the whole file is refused. A row already held
//! (the same prison number, or username, with the same details) is left alone, so importing
//! the same file twice changes nothing; a held person's row whose cells differ (a corrected
//! cell, a new release date) is listed cell by cell, and applied only when asked. An empty
//! cell changes nothing and invents nothing: a person without a custody status has none. The hub and a gateway's `pathway import` both use it.

use std::collections::BTreeMap;

use crate::model::{
    CaseFile, CustodyStatus, Kind, Location, Millis, SecurityAssessment, SecurityLevel, Stamped,
    from_code, parse_date,
};
use crate::store::{Store, StoreError};

mod changes;
mod staff;
pub use changes::Difference;
use changes::{Change, Given};
pub use staff::{STAFF_ROLES, import_staff, one_time_password, role_from_code, username_ok};

/// Most rows one file may hold.
pub const MAX_ROWS: usize = 100_000;
/// Rows written per batch (one flush each).
const BATCH: usize = 500;

/// One thing wrong with a file: its line (1 is the header), the column, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: u64,
    pub column: String,
    pub message: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file was refused; nothing was stored. At most 100 errors are listed.
    #[error("{} row(s) are wrong, nothing was imported; first: {}", .0.len(), .0[0])]
    Rows(Vec<RowError>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    pub rows: usize,
    /// Records written.
    pub created: usize,
    /// Rows already held, as they are.
    pub unchanged: usize,
    /// Rows already held whose cells differ from what is held: applied only with `update`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub differences: Vec<Difference>,
    /// Case files changed to what the file says (with `update`).
    pub updated: usize,
    /// For a staff import: the one-time password of each new account, by username.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub one_time_passwords: BTreeMap<String, String>,
}

/// A CSV file's rows as maps from the header's names (trimmed, lower case) to trimmed values,
/// each with its line; or every structural error.
/// A row's cells by column name, with its line.
type Cells = (u64, BTreeMap<String, String>);

fn rows(bytes: &[u8], required: &[&str], optional: &[&str]) -> Result<Vec<Cells>, Vec<RowError>> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| {
            vec![RowError {
                line: 0,
                column: String::new(),
                message: format!(
                    "the file is not UTF-8 text (byte {}); save it from the spreadsheet as \"CSV UTF-8\"",
                    e.valid_up_to()
                ),
            }]
        })?;
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|c| c.to_lowercase()).collect(),
        Err(e) => {
            return Err(vec![RowError {
                line: 1,
                column: String::new(),
                message: format!("the header cannot be read: {e}"),
            }]);
        }
    };
    let mut errors = Vec::new();
    for r in required {
        if !header.iter().any(|h| h == r) {
            errors.push(RowError {
                line: 1,
                column: (*r).to_owned(),
                message: format!("the header has no column `{r}`"),
            });
        }
    }
    for h in &header {
        if !required.contains(&h.as_str()) && !optional.contains(&h.as_str()) {
            errors.push(RowError {
                line: 1,
                column: h.clone(),
                message: format!(
                    "`{h}` is not a column this import knows; the columns are {}",
                    required
                        .iter()
                        .chain(optional)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut out = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let line = r.position().map_or(0, |p| p.line());
                if r.iter().all(str::is_empty) {
                    continue;
                }
                let map = header
                    .iter()
                    .cloned()
                    .zip(r.iter().map(str::to_owned))
                    .collect();
                out.push((line, map));
            }
            Err(e) => errors.push(RowError {
                line: e.position().map_or(0, |p| p.line()),
                column: String::new(),
                message: format!("the row cannot be read: {e}"),
            }),
        }
        if out.len() > MAX_ROWS {
            errors.push(RowError {
                line: 0,
                column: String::new(),
                message: format!("a file holds at most {MAX_ROWS} rows; split it"),
            });
            break;
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

/// Collects a row's checks.
struct Row<'a> {
    line: u64,
    cells: &'a BTreeMap<String, String>,
    errors: &'a mut Vec<RowError>,
}

impl<'a> Row<'a> {
    fn fail(&mut self, column: &str, message: impl Into<String>) {
        self.errors.push(RowError {
            line: self.line,
            column: column.to_owned(),
            message: message.into(),
        });
    }

    fn get(&self, column: &str) -> &'a str {
        self.cells.get(column).map_or("", String::as_str)
    }

    /// Text a person typed: `max` characters at most, nothing invisible; `""` if empty and
    /// allowed.
    fn text(&mut self, column: &str, max: usize, needed: bool) -> String {
        let v = self.get(column).to_owned();
        if v.is_empty() {
            if needed {
                self.fail(column, format!("{column} is empty"));
            }
            return v;
        }
        if v.chars().count() > max {
            self.fail(column, format!("{column} has more than {max} characters"));
        } else if v.chars().any(|c| {
            c.is_control()
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
        }) {
            self.fail(
                column,
                format!("{column} holds an invisible control character"),
            );
        }
        v
    }

    /// An ISO date between 1900 and 2200, or `None` if empty and allowed.
    fn date(&mut self, column: &str, needed: bool) -> Option<String> {
        let v = self.get(column).to_owned();
        if v.is_empty() {
            if needed {
                self.fail(column, format!("{column} is empty"));
            }
            return None;
        }
        match parse_date(&v) {
            Ok(d) if (1900..=2200).contains(&d.year()) => Some(v),
            _ => {
                self.fail(column, format!("`{v}` is not a date written as 2026-11-23"));
                None
            }
        }
    }

    fn code<T: serde::de::DeserializeOwned>(&mut self, column: &str, words: &str) -> Option<T> {
        let v = self.get(column).to_lowercase().replace([' ', '-'], "_");
        if v.is_empty() {
            return None;
        }
        let got = from_code(&v);
        if got.is_none() {
            self.fail(column, format!("`{v}` is not one of {words}"));
        }
        got
    }
}

/// Folds a prison number for comparison (case and spaces do not make another number).
fn fold(n: &str) -> String {
    n.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

const PEOPLE_REQUIRED: &[&str] = &[
    "prison_number",
    "given_name",
    "family_name",
    "admission_date",
];
const PEOPLE_OPTIONAL: &[&str] = &[
    "date_of_birth",
    "language",
    "expected_release_date",
    "sentence_date",
    "custody_status",
    "security_level",
    "unit",
    "cell",
];

/// Who is held at `facility`, as this node's store knows it: folded prison number → file.
fn held(store: &Store, facility: &str) -> Result<BTreeMap<String, CaseFile>, StoreError> {
    let mut out = BTreeMap::new();
    for id in store.list(&format!("facility:{facility}"), Kind::CaseFile)? {
        if let Some(f) = store.get::<CaseFile>(&id)? {
            out.insert(fold(&f.prison_number), f);
        }
    }
    Ok(out)
}

/// Who imports people, where, and how.
#[derive(Debug, Clone, Copy)]
pub struct PeopleImport<'a> {
    pub facility: &'a str,
    /// New person ids are `<facility>-<prefix><number>`: each node that imports has its own
    /// prefix (the hub `H`, a gateway none), so ids made apart never meet.
    pub id_prefix: &'a str,
    /// Who is importing, written on each record.
    pub by: &'a str,
    pub now: Millis,
    /// Change people already held to what the file says where their cells differ.
    pub update: bool,
}

/// Imports people in custody from a CSV file as `how` says. `progress(done, total)` follows
/// the writes.
pub fn import_people(
    store: &Store,
    how: PeopleImport<'_>,
    bytes: &[u8],
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, ImportError> {
    let PeopleImport {
        facility,
        id_prefix,
        by,
        now,
        update,
    } = how;
    let rows = rows(bytes, PEOPLE_REQUIRED, PEOPLE_OPTIONAL).map_err(ImportError::Rows)?;
    let held = held(store, facility)?;
    let stem = format!("{facility}-{id_prefix}");
    let mut next = held
        .values()
        .filter_map(|f| f.person_id.strip_prefix(&stem)?.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    let mut errors = Vec::new();
    let mut new = Vec::new();
    let mut seen: BTreeMap<String, u64> = BTreeMap::new();
    let mut unchanged = 0;
    let mut differences = Vec::new();
    let mut changed: Vec<(String, Vec<Change>)> = Vec::new();
    for (line, cells) in &rows {
        let mut r = Row {
            line: *line,
            cells,
            errors: &mut errors,
        };
        let number = r.text("prison_number", 32, true);
        let given = r.text("given_name", 100, true);
        let family = r.text("family_name", 100, true);
        let admission = r.date("admission_date", true);
        let dob = r.date("date_of_birth", false);
        let release = r.date("expected_release_date", false);
        let sentence = r.date("sentence_date", false);
        let language = r.text("language", 40, false);
        let custody: Option<CustodyStatus> =
            r.code("custody_status", &CustodyStatus::CODES.join(", "));
        let security: Option<SecurityLevel> =
            r.code("security_level", "minimum, medium, high, maximum");
        let (unit, cell) = (r.text("unit", 40, false), r.text("cell", 40, false));
        if unit.is_empty() != cell.is_empty() {
            r.fail(
                if unit.is_empty() { "unit" } else { "cell" },
                "give both unit and cell, or neither",
            );
        }
        let key = fold(&number);
        if key.is_empty() {
            continue;
        }
        if let Some(first) = seen.insert(key.clone(), *line) {
            r.fail("prison_number", format!("{number} is also on line {first}"));
            continue;
        }
        if let Some(f) = held.get(&key) {
            let same_dob = dob.is_none() || f.date_of_birth.is_none() || f.date_of_birth == dob;
            if f.given_name == given && f.family_name == family && same_dob {
                let given_cells = Given {
                    date_of_birth: dob,
                    language,
                    expected_release_date: release,
                    sentence_date: sentence,
                    custody,
                    security,
                    location: (!unit.is_empty()).then_some(Location { unit, cell }),
                };
                let changes = given_cells.against(f);
                if changes.is_empty() {
                    unchanged += 1;
                } else {
                    differences.extend(changes.iter().map(|c| Difference {
                        line: *line,
                        prison_number: f.prison_number.clone(),
                        person_id: f.person_id.clone(),
                        column: c.column.to_owned(),
                        held: c.held.clone(),
                        file: c.file.clone(),
                    }));
                    changed.push((f.person_id.clone(), changes));
                }
            } else {
                r.fail(
                    "prison_number",
                    format!(
                        "{number} is held by {} {} ({}); correct the row, or the case file",
                        f.given_name, f.family_name, f.person_id
                    ),
                );
            }
            continue;
        }
        let Some(admission) = admission else { continue };
        next += 1;
        let person = format!("{stem}{next:06}");
        let stamp = |v| Stamped::new(v, by, now);
        let mut file = CaseFile {
            person_id: person,
            prison_number: number,
            given_name: given,
            family_name: family,
            date_of_birth: dob,
            language,
            holding_facility: facility.to_owned(),
            admission_date: admission.clone(),
            expected_release_date: release.map(stamp),
            sentence_date: sentence,
            // Absent from the file: not recorded, never guessed.
            custody_status: custody.map(|c| Stamped::new(c, by, now)),
            security: security.map(|level| {
                Stamped::new(
                    SecurityAssessment {
                        level,
                        assessed_on: admission,
                    },
                    by,
                    now,
                )
            }),
            ..CaseFile::default()
        };
        if !unit.is_empty() {
            let place = Location { unit, cell };
            file.moves.insert(
                format!("{now}-import"),
                Stamped::new(place.clone(), by, now),
            );
            file.location = Some(Stamped::new(place, by, now));
        }
        new.push(file);
    }
    if !errors.is_empty() {
        errors.truncate(100);
        return Err(ImportError::Rows(errors));
    }
    write_all(store, &new, now, &mut progress)?;
    let mut updated = 0;
    if update {
        for (person, changes) in &changed {
            store
                .update(&crate::model::case_id(person), now, |f: &mut CaseFile| {
                    for c in changes {
                        (c.apply)(f, by, now);
                    }
                    Ok::<_, std::convert::Infallible>(())
                })
                .map_err(|e| match e {
                    crate::store::UpdateError::Store(e) => e,
                    crate::store::UpdateError::Rejected(never) => match never {},
                })?;
            updated += 1;
        }
    }
    Ok(Report {
        rows: rows.len(),
        created: new.len(),
        unchanged,
        differences,
        updated,
        ..Report::default()
    })
}

fn write_all<T: crate::model::Aggregate>(
    store: &Store,
    values: &[T],
    now: Millis,
    progress: &mut impl FnMut(usize, usize),
) -> Result<(), StoreError> {
    progress(0, values.len());
    for (i, chunk) in values.chunks(BATCH).enumerate() {
        store.put_many(chunk, now)?;
        progress((i * BATCH + chunk.len()).min(values.len()), values.len());
    }
    Ok(())
}
