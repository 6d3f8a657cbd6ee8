//! Keeps the indicators' totals level with the store: reads the feed from where it last
//! stopped, and for each case file, run or register that changed, takes its old counters away
//! and adds its new ones. Each document's counters and the feed position are kept in
//! node-local tables, so a restart sums the table instead of loading every document.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use crate::model::{
    AttendanceRegister, DocId, Facility, Kind, Millis, ProgrammeRun, facility_id, offset_minutes,
};
use crate::store::{Store, StoreError};

use super::facts::{self, Facts};
use super::{Dim, Key, Totals};

/// Each document's counters, keyed by document id.
pub const FACTS_TABLE: &str = "indicator_facts";
const CURSOR_TABLE: &str = "indicator_cursor";
/// Feed entries read at a time.
const BATCH: usize = 4_096;

pub struct Tracker {
    store: Store,
    state: Mutex<State>,
    /// One catch-up at a time: two over the same changes would each take away the same old
    /// counters.
    counting: Mutex<()>,
}

#[derive(Default)]
struct State {
    totals: Totals,
    /// The feed seq up to which every change is counted.
    cursor: u64,
}

fn lock(m: &Mutex<State>) -> std::sync::MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whether documents of `kind` count towards the indicators.
fn counted(kind: Option<Kind>) -> bool {
    matches!(
        kind,
        Some(Kind::CaseFile | Kind::ProgrammeRun | Kind::AttendanceRegister)
    )
}

impl Tracker {
    /// The totals as last kept: every document's counters summed from the table. Call
    /// [`Tracker::catch_up`] to count what changed since.
    pub fn open(store: Store) -> Result<Tracker, StoreError> {
        let mut state = State {
            cursor: store.local::<u64>(CURSOR_TABLE, "seq")?.unwrap_or(0),
            ..State::default()
        };
        for (_, f) in store.local_all::<Facts>(FACTS_TABLE)? {
            state.totals.apply(&f, 1);
        }
        Ok(Tracker {
            store,
            state: Mutex::new(state),
            counting: Mutex::new(()),
        })
    }

    /// The feed seq up to which the totals count every change.
    pub fn cursor(&self) -> u64 {
        lock(&self.state).cursor
    }

    /// Counts every change the feed holds past the cursor; returns the documents counted
    /// afresh. Durable on return.
    pub fn catch_up(&self) -> Result<usize, StoreError> {
        let _one = self.counting.lock().unwrap_or_else(|e| e.into_inner());
        let mut counted_docs = 0;
        let mut zones: HashMap<String, i32> = HashMap::new();
        loop {
            let from = lock(&self.state).cursor;
            let entries = self.store.feed_after(from, BATCH)?;
            let Some(last) = entries.last().map(|e| e.seq) else {
                return Ok(counted_docs);
            };
            let docs: BTreeSet<DocId> = entries
                .into_iter()
                .filter(|e| counted(e.doc.kind()))
                .map(|e| e.doc)
                .collect();
            let mut fresh = Vec::with_capacity(docs.len());
            for id in &docs {
                let new = self.facts_of(id, &mut zones)?;
                let old = self
                    .store
                    .local::<Facts>(FACTS_TABLE, id.as_str())?
                    .unwrap_or_default();
                if old != new {
                    fresh.push((id.as_str().to_owned(), old, new));
                }
            }
            counted_docs += docs.len();
            let records: Vec<(String, Option<Facts>)> = fresh
                .iter()
                .map(|(id, _, new)| (id.clone(), (!new.is_empty()).then(|| new.clone())))
                .collect();
            self.store.put_local_unflushed(FACTS_TABLE, &records)?;
            // The cursor's write waits for a flush, which carries the counters before it.
            self.store
                .update_local::<u64, (), StoreError>(CURSOR_TABLE, "seq", |_| {
                    Ok((Some(last), ()))
                })?;
            let mut state = lock(&self.state);
            for (_, old, new) in &fresh {
                state.totals.apply(old, -1);
                state.totals.apply(new, 1);
            }
            state.cursor = last;
        }
    }

    /// The people released from `facility` in `month` (`2026-10`), with whether their
    /// six-week follow-up is recorded.
    pub fn released(&self, facility: &str, month: &str) -> Vec<(String, bool)> {
        let from = Key {
            facility: facility.to_owned(),
            month: month.to_owned(),
            dim: Dim::Released(String::new()),
        };
        self.with(|t| {
            t.by.range(from..)
                .take_while(|(k, _)| k.facility == facility && k.month == month)
                .filter_map(|(k, c)| match &k.dim {
                    Dim::Released(p) => Some((p.clone(), c.followed_up > 0)),
                    _ => None,
                })
                .collect()
        })
    }

    /// Reads the totals.
    pub fn with<R>(&self, f: impl FnOnce(&Totals) -> R) -> R {
        f(&lock(&self.state).totals)
    }

    fn facts_of(&self, id: &DocId, zones: &mut HashMap<String, i32>) -> Result<Facts, StoreError> {
        Ok(match id.kind() {
            Some(Kind::CaseFile) => match self.store.read(id, |doc, _| {
                autosurgeon::hydrate::<_, facts::CaseFacts>(doc)
            })? {
                Some(Ok(c)) => facts::case_facts(&c),
                Some(Err(e)) => {
                    // One file that does not read must not stop a nation's figures.
                    tracing::warn!(doc = %id, error = %e, "a case file left out of the indicators");
                    Facts::new()
                }
                None => Facts::new(),
            },
            Some(Kind::ProgrammeRun) => self
                .store
                .get::<ProgrammeRun>(id)?
                .map(|r| facts::run_facts(&r))
                .unwrap_or_default(),
            Some(Kind::AttendanceRegister) => match self.store.get::<AttendanceRegister>(id)? {
                Some(r) => {
                    let offset = match zones.get(&r.facility_id) {
                        Some(o) => *o,
                        None => {
                            let o = self.zone_offset(&r.facility_id, crate::clock::now_ms())?;
                            zones.insert(r.facility_id.clone(), o);
                            o
                        }
                    };
                    facts::register_facts(&r, offset)
                }
                None => Facts::new(),
            },
            _ => Facts::new(),
        })
    }

    /// The facility's distance from UTC now, from its zone in the registry (UTC if unset).
    fn zone_offset(&self, facility: &str, now: Millis) -> Result<i32, StoreError> {
        let zone = self
            .store
            .get::<Facility>(&facility_id(facility))?
            .and_then(|f| jiff::tz::TimeZone::get(&f.time_zone).ok());
        Ok(zone.map(|z| offset_minutes(&z, now)).unwrap_or(0))
    }
}

/// Counts what arrived every `every`, until `cancel`: the daemons keep their figures current
/// so a page only counts the last few seconds' changes.
pub async fn keep_counting(
    tracker: std::sync::Arc<Tracker>,
    every: std::time::Duration,
    cancel: tokio_util::sync::CancellationToken,
) {
    // Each failure is logged once, not every round, and the recovery once.
    let mut failing: Option<String> = None;
    loop {
        let t = tracker.clone();
        let outcome = match tokio::task::spawn_blocking(move || t.catch_up()).await {
            Ok(Ok(_)) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(e) => Some(format!("the counting task failed: {e}")),
        };
        match (&failing, &outcome) {
            (_, Some(e)) if failing.as_ref() != Some(e) => {
                tracing::warn!(error = %e, "cannot count the indicators; trying again")
            }
            (Some(_), None) => tracing::info!("counting the indicators again"),
            _ => {}
        }
        failing = outcome;
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
