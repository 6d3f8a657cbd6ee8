//! Who may see the people of a health programme's run, over the catalogue's health programmes
//! (`pathway_shared::sensitive`, which the case file's redaction uses at both daemons).

use pathway_shared::model::{ProgrammeRun, Role};
use pathway_shared::store::{Store, StoreError};

use super::auth::Staff;

pub use pathway_shared::sensitive::HealthProgrammes;

/// Whether `who` may see who is on `run`: anyone who sees case files, except that the people of
/// a health programme's run are seen only by health staff, the facility manager and the run's
/// own instructor.
pub fn may_see_people(
    health: &HealthProgrammes,
    store: &Store,
    who: &Staff,
    run: &ProgrammeRun,
) -> Result<bool, StoreError> {
    if !who.has(super::CASE_READERS) {
        return Ok(false);
    }
    if who.has(&[Role::HealthStaff, Role::FacilityManager]) || run.instructor == who.username {
        return Ok(true);
    }
    Ok(!health.codes(store)?.contains(&run.programme_code))
}
