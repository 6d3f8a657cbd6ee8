//! Health content a case file cannot tell by itself: that someone is enrolled in, or on the
//! register of, a programme of a health category (mental health, substance use). The catalogue
//! says which programmes those are; it is national and changes only in the sync, so the set is
//! read again only after changes came from a peer (or, at the hub, were written there).

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::model::{CaseFile, Kind, Programme, Visibility};
use crate::store::{Store, StoreError};

/// The codes of the catalogue's health programmes, as last read.
#[derive(Default)]
pub struct HealthProgrammes {
    read: Mutex<Option<(u64, Arc<BTreeSet<String>>)>>,
}

impl HealthProgrammes {
    /// The codes of programmes of a health category.
    pub fn codes(&self, store: &Store) -> Result<Arc<BTreeSet<String>>, StoreError> {
        // The feed's end moves with every change, from a peer or written here.
        let seen = store.durable_seq();
        let mut read = self.read.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, codes)) = read.as_ref()
            && *at == seen
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
        *read = Some((seen, codes.clone()));
        Ok(codes)
    }

    /// [`CaseFile::redact`] with the catalogue's health programmes.
    pub fn redact(
        &self,
        store: &Store,
        visibility: Visibility,
        case: &mut CaseFile,
    ) -> Result<(), StoreError> {
        let codes = if visibility.health {
            Arc::default()
        } else {
            self.codes(store)?
        };
        case.redact(visibility, &codes);
        Ok(())
    }
}
