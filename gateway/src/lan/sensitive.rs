//! Health content the case file cannot tell by itself: that someone is enrolled in, or on the
//! register of, a programme of a health category (mental health, substance use). The catalogue
//! says which programmes those are; it is national and changes only in the sync, so the set is
//! read again only after changes came from the hub.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use pathway_shared::model::{CaseFile, Kind, Programme, ProgrammeRun};
use pathway_shared::store::{Store, StoreError};

use super::auth::Staff;
use crate::lock;

/// The codes of the catalogue's health programmes, as last read.
#[derive(Default)]
pub struct HealthProgrammes {
    read: Mutex<Option<(u64, Arc<BTreeSet<String>>)>>,
}

impl HealthProgrammes {
    /// The codes of programmes of a health category.
    pub fn codes(&self, store: &Store) -> Result<Arc<BTreeSet<String>>, StoreError> {
        let from_peers = store.changes_from_peers();
        if let Some((at, codes)) = lock(&self.read).as_ref()
            && *at == from_peers
        {
            return Ok(codes.clone());
        }
        let mut codes = BTreeSet::new();
        for id in store.list("national", Kind::Programme)? {
            if let Some(p) = store.get::<Programme>(&id)?
                && p.category.is_health()
            {
                codes.insert(p.code);
            }
        }
        let codes = Arc::new(codes);
        *lock(&self.read) = Some((from_peers, codes.clone()));
        Ok(codes)
    }

    /// Removes enrolments in health programmes from `case` unless `who` sees health content.
    pub fn redact(
        &self,
        store: &Store,
        who: &Staff,
        case: &mut CaseFile,
    ) -> Result<(), StoreError> {
        if who.visibility().health || case.enrolments.is_empty() {
            return Ok(());
        }
        let codes = self.codes(store)?;
        case.enrolments
            .retain(|_, e| !codes.contains(&e.programme_code));
        Ok(())
    }

    /// Whether `who` may see who is on `run`: anyone who sees case files, except that the people
    /// of a health programme's run are seen only by health staff, the facility manager and the
    /// run's own instructor.
    pub fn may_see_people(
        &self,
        store: &Store,
        who: &Staff,
        run: &ProgrammeRun,
    ) -> Result<bool, StoreError> {
        use pathway_shared::model::Role;
        if !who.has(super::CASE_READERS) {
            return Ok(false);
        }
        if who.has(&[Role::HealthStaff, Role::FacilityManager]) || run.instructor == who.username {
            return Ok(true);
        }
        Ok(!self.codes(store)?.contains(&run.programme_code))
    }
}
