//! The roster: who is held here, in memory, for finding a person by name, number or id and for
//! the caseloads. Built from the case files on first use; a case file edited on the LAN is read
//! again at once ([`Roster::refresh`]), and once changes have come from the hub the whole roster
//! is read again in the background while requests are served the last one.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use pathway_shared::model::{
    CaseFile, DocId, GoalStatus, Kind, Millis, NeedDomain, NeedLevel, ReferralStatus, ReleasePlan,
    contested, parse_date, sides,
};
use pathway_shared::store::{Store, StoreError};
use unicode_normalization::UnicodeNormalization;

/// What the roster keeps of one case file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Person {
    pub person_id: String,
    pub given_name: String,
    pub family_name: String,
    pub prison_number: String,
    pub case_officer: Option<String>,
    pub location: Option<String>,
    /// The unit part of the location, for caseloads given by unit.
    #[serde(skip)]
    pub unit: Option<String>,
    /// So that people with one name are told apart.
    pub date_of_birth: Option<String>,
    /// The programmes the person is on now (codes); a health programme among them is health
    /// content, shown only to those who may see it.
    #[serde(skip)]
    pub programmes: Vec<String>,
    /// The programmes the person completed (codes).
    #[serde(skip)]
    pub completed: Vec<String>,
    pub release_date: Option<String>,
    /// Active goals: their target date and whether their domain is a health domain.
    #[serde(skip)]
    goals: Vec<(time::Date, bool)>,
    /// When each referral still waiting for an answer was made, and whether it is health
    /// content (a referral to a clinical service).
    #[serde(skip)]
    referrals_waiting: Vec<(Millis, bool)>,
    /// A release-plan item is neither done nor not needed (the health handover apart).
    #[serde(skip)]
    plan_open: bool,
    /// A field set at both ends apart, waiting for someone to choose.
    pub conflicts: usize,
    /// Needs in the health domains assessed medium or high: (domain code, level). Health
    /// content, for health staff only.
    #[serde(skip)]
    pub health_needs: Vec<(String, NeedLevel)>,
    /// Name, number and id, folded for matching.
    #[serde(skip)]
    key: String,
}

/// Something on a person's case that needs doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Due {
    GoalOverdue,
    ReferralWaiting,
    ReleaseSoon,
    Conflict,
}

/// A referral unanswered this long is due a chase.
pub const REFERRAL_WAIT_DAYS: i64 = 14;
/// A release this close with a plan item still open is due.
pub const RELEASE_WEEKS: i64 = 12;

impl Person {
    fn of(case: &CaseFile, conflicts: usize) -> Person {
        let goals = case
            .goals
            .values()
            .filter(|g| g.status == GoalStatus::Active)
            .filter_map(|g| {
                let d = parse_date(g.target_date.as_deref()?).ok()?;
                let health = NeedDomain::from_code(&g.domain).is_some_and(NeedDomain::is_sensitive);
                Some((d, health))
            })
            .collect();
        let referrals_waiting = case
            .referrals
            .values()
            .filter(|r| r.state().status == ReferralStatus::Requested)
            .filter_map(|r| Some((r.history.values().map(|e| e.at).min()?, r.health)))
            .collect();
        let plan_open = case.release_plan.open_items().next().is_some();
        let location = case
            .location
            .as_ref()
            .map(|l| format!("{} · {}", l.value.unit, l.value.cell));
        Person {
            key: fold(&format!(
                "{} {} {} {}",
                case.given_name, case.family_name, case.prison_number, case.person_id
            )),
            person_id: case.person_id.clone(),
            given_name: case.given_name.clone(),
            family_name: case.family_name.clone(),
            prison_number: case.prison_number.clone(),
            case_officer: case.case_officer.clone(),
            unit: case.location.as_ref().map(|l| l.value.unit.clone()),
            location,
            date_of_birth: case.date_of_birth.clone(),
            programmes: case
                .enrolments
                .values()
                .filter(|e| e.status == pathway_shared::model::EnrolmentStatus::Active)
                .map(|e| e.programme_code.clone())
                .collect(),
            completed: case
                .enrolments
                .values()
                .filter(|e| e.status == pathway_shared::model::EnrolmentStatus::Completed)
                .map(|e| e.programme_code.clone())
                .collect(),
            release_date: case.release_date().map(str::to_owned),
            goals,
            referrals_waiting,
            plan_open,
            conflicts,
            health_needs: case
                .needs
                .iter()
                .filter(|(d, _)| NeedDomain::from_code(d).is_some_and(NeedDomain::is_sensitive))
                .filter(|(_, n)| matches!(n.level, NeedLevel::Medium | NeedLevel::High))
                .map(|(d, n)| (d.clone(), n.level))
                .collect(),
        }
    }

    /// What is due today, as a reader who may (`health`) or may not see health content: a
    /// health goal or a referral to a clinical service says nothing to one who may not.
    pub fn due(&self, today: time::Date, now: Millis, health: bool) -> Vec<Due> {
        let mut due = Vec::new();
        if self.goals.iter().any(|(d, h)| *d < today && (health || !h)) {
            due.push(Due::GoalOverdue);
        }
        if self
            .referrals_waiting
            .iter()
            .any(|(at, h)| now - at > REFERRAL_WAIT_DAYS * 86_400_000 && (health || !h))
        {
            due.push(Due::ReferralWaiting);
        }
        let soon = self
            .release_date
            .as_deref()
            .and_then(|d| parse_date(d).ok())
            .is_some_and(|d| d >= today && d <= today + time::Duration::weeks(RELEASE_WEEKS));
        if soon && self.plan_open {
            due.push(Due::ReleaseSoon);
        }
        if self.conflicts > 0 {
            due.push(Due::Conflict);
        }
        due
    }

    /// Referrals to clinical services still waiting for an answer, and since when.
    pub fn clinic_referrals_waiting(&self) -> impl Iterator<Item = Millis> + '_ {
        self.referrals_waiting
            .iter()
            .filter(|(_, health)| *health)
            .map(|(at, _)| *at)
    }

    /// Whether every word of `query` (already [`fold`]ed) is in the person's name, number or id.
    pub fn matches(&self, words: &[String]) -> bool {
        words.iter().all(|w| self.key.contains(w.as_str()))
    }

    pub fn name(&self) -> String {
        format!("{} {}", self.given_name, self.family_name)
    }
}

/// Text folded for matching: compatibility forms, accents (Latin combining marks) and case are
/// ignored; Thai is kept as written.
pub fn fold(s: &str) -> String {
    s.nfkd()
        .filter(|c| !('\u{300}'..='\u{36f}').contains(c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// The words of a query, folded.
pub fn words(query: &str) -> Vec<String> {
    fold(query).split_whitespace().map(str::to_owned).collect()
}

/// The roster as last read.
#[derive(Default, Clone)]
pub struct Rows {
    /// [`Store::changes_from_peers`] when the roster was read whole.
    from_peers: u64,
    /// Keyed by person id.
    pub people: BTreeMap<String, Arc<Person>>,
}

/// Who is held here; see the module's notes.
#[derive(Default)]
pub struct Roster {
    rows: Mutex<Option<Arc<Rows>>>,
    rebuilding: AtomicBool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A case file's roster entry, read from the store.
fn read_person(store: &Store, id: &DocId) -> Result<Option<Person>, StoreError> {
    store
        .read(id, |d, _| {
            let case: CaseFile = autosurgeon::hydrate(d).ok()?;
            // Health items are left out: the count is shown to everyone who sees the person.
            let plan = ReleasePlan::ITEMS
                .iter()
                .filter(|k| **k != "health_handover")
                .filter(|k| sides(d, &["release_plan", k], "updated_at").len() > 1)
                .count();
            let needs = NeedDomain::ALL
                .iter()
                .filter(|n| !n.is_sensitive())
                .filter(|n| sides(d, &["needs", n.code()], "assessed_at").len() > 1)
                .count();
            let conflicts = CaseFile::CONTESTED
                .iter()
                .filter(|k| contested::<serde_json::Value>(d, k).len() > 1)
                .count()
                + plan
                + needs;
            Some(Person::of(&case, conflicts))
        })
        .map(Option::flatten)
}

fn read_all(store: &Store, facility: &str) -> Result<Rows, StoreError> {
    let from_peers = store.changes_from_peers();
    let mut people = BTreeMap::new();
    for id in store.list(&format!("facility:{facility}"), Kind::CaseFile)? {
        if let Some(p) = read_person(store, &id)? {
            people.insert(p.person_id.clone(), Arc::new(p));
        }
    }
    Ok(Rows { from_peers, people })
}

impl Roster {
    /// Everyone held here, sorted by person id. The first call reads every case file; later
    /// ones are served what was last read while, if changes have come from the hub since, a
    /// thread of its own reads it all again.
    pub fn people(
        self: &Arc<Self>,
        store: &Store,
        facility: &str,
    ) -> Result<Arc<Rows>, StoreError> {
        let last = lock(&self.rows).clone();
        let Some(rows) = last else {
            let rows = Arc::new(read_all(store, facility)?);
            *lock(&self.rows) = Some(rows.clone());
            return Ok(rows);
        };
        if rows.from_peers != store.changes_from_peers()
            && !self.rebuilding.swap(true, Ordering::AcqRel)
        {
            let (me, store, facility) = (self.clone(), store.clone(), facility.to_owned());
            std::thread::spawn(move || {
                match read_all(&store, &facility) {
                    Ok(rows) => *lock(&me.rows) = Some(Arc::new(rows)),
                    Err(e) => tracing::warn!(error = %e, "roster not read again; the last stays"),
                }
                me.rebuilding.store(false, Ordering::Release);
            });
        }
        Ok(rows)
    }

    /// Reads one case file again after an edit here, so search and caseloads show it at once.
    /// Before the roster was first read there is nothing to update.
    pub fn refresh(&self, store: &Store, id: &DocId) -> Result<(), StoreError> {
        let person = read_person(store, id)?;
        let mut rows = lock(&self.rows);
        let Some(current) = rows.as_mut() else {
            return Ok(());
        };
        let rows = Arc::make_mut(current);
        match person {
            Some(p) => {
                rows.people.insert(p.person_id.clone(), Arc::new(p));
            }
            None => {
                if let Some(person) = id.as_str().strip_prefix("case/") {
                    rows.people.remove(person);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pathway_shared::model::{Referral, ReferralEvent};

    /// A referral to a clinic waiting for weeks is due only to a reader who may see it: for a
    /// case officer the caseload says nothing of it.
    #[test]
    fn a_clinic_referral_waiting_says_nothing_to_a_reader_who_may_not_see_it() {
        let mut case = CaseFile {
            person_id: "WHK-000001".into(),
            ..Default::default()
        };
        let made = 1_000;
        case.referrals.insert(
            "r1".into(),
            Referral {
                partner_id: "clinic".into(),
                health: true,
                history: [(
                    "e1".to_owned(),
                    ReferralEvent {
                        to: ReferralStatus::Requested,
                        by: "nurse".into(),
                        at: made,
                        note: String::new(),
                    },
                )]
                .into(),
                ..Default::default()
            },
        );
        let p = Person::of(&case, 0);
        let today = time::macros::date!(2026 - 12 - 07);
        let later = made + 20 * 86_400_000;
        assert!(!p.due(today, later, false).contains(&Due::ReferralWaiting));
        assert!(p.due(today, later, true).contains(&Due::ReferralWaiting));
    }
}
