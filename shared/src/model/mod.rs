//! Domain types. Every aggregate is one Automerge document, mapped with `autosurgeon`.
//!
//! Three rules keep offline merges predictable:
//! - collections are maps keyed by a stable id (never positional lists), so concurrent
//!   additions all survive and concurrent edits of one item meet field by field;
//! - a value with a natural key (an attendance mark is keyed by session and person) is stored
//!   under that key, so two offline writers end with one value, never two rows;
//! - a workflow whose state matters (a referral) is stored as its history and folded on read,
//!   so a concurrent illegal transition is kept and flagged instead of lost.

mod audit;
mod case;
mod catalogue;
mod facility;
mod ids;
mod release;
pub mod set;
mod stamped;

pub use audit::*;
pub use case::*;
pub use catalogue::*;
pub use facility::*;
pub use ids::{Class, DocId, DocIdError, Kind, Scope, ScopeError};
pub use release::*;
pub use stamped::{Stamped, contested, sides};

use autosurgeon::{Hydrate, Reconcile};

/// Milliseconds since the Unix epoch. Clocks are handed in; nothing here reads the wall clock.
pub type Millis = i64;

/// One aggregate stored as one document.
///
/// `Default` must be deterministic: the store writes `Self::default()` as the document's genesis
/// change under an actor derived from the document id, so two nodes that create the same document
/// apart produce the same first change, and their later edits merge field by field.
pub trait Aggregate:
    Reconcile + Hydrate + Default + Clone + serde::Serialize + Send + Sync + 'static
{
    const KIND: Kind;
    fn doc_id(&self) -> DocId;
    fn scope(&self) -> Scope;
}

/// What a reader may see of a case file. Built from a staff member's roles by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Visibility {
    /// Health, mental-health and substance-use data.
    pub health: bool,
    /// Case notes marked restricted.
    pub restricted_notes: bool,
}

/// The value of a code-named enum from its code as staff and the API write it (`absent_excused`,
/// `in_progress`). The codes are serde's (`#[serde(rename_all(deserialize = "snake_case"))]`
/// on the enum), so there is one table of names, the enum itself.
pub fn from_code<T: serde::de::DeserializeOwned>(code: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(code.to_owned())).ok()
}

/// Parses an ISO 8601 calendar date (`2026-11-23`).
pub fn parse_date(s: &str) -> Result<time::Date, time::error::Parse> {
    time::Date::parse(s, &time::format_description::well_known::Iso8601::DATE)
}

/// A date as ISO 8601 (`2026-11-23`).
pub fn iso_date(d: time::Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The calendar date (UTC) of a time in ms since the epoch, as ISO 8601.
pub fn date_of_ms(ms: Millis) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|t| iso_date(t.date()))
        .unwrap_or_else(|_| format!("(a time out of range: {ms} ms)"))
}

/// The month a date falls in, as an attendance register names it (`2026-11`).
pub fn month_of(d: time::Date) -> String {
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}
