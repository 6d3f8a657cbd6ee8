//! A run's class list: people put on its waiting list, what stands in the way of a place
//! (another run at the same time, a release before the run ends, the programme completed
//! before), places given within capacity, and a place ended with an outcome.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use pathway_shared::model::{
    CaseFile, Kind, Programme, ProgrammeRun, Role, WaitStatus, WaitingEntry, case_id, programme_id,
    run_id,
};
use serde::{Deserialize, Serialize};

use super::auth::Staff;
use super::enrolments::{EndInput, end};
use super::{ApiError, ApiResult, Lan, Staged, blocking, blocking_durable};

/// Who gives places and ends them.
pub const ALLOCATORS: &[Role] = &[Role::Instructor, Role::FacilityManager];
/// Who puts people on a waiting list.
pub const LISTERS: &[Role] = &[Role::Instructor, Role::CaseOfficer, Role::FacilityManager];

/// What stands in the way of a person's place on a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Eligibility {
    /// Other runs the person has a place on that meet at the same time, by run id.
    pub clashes: Vec<String>,
    /// The person's expected release date, when it falls before the run's last session.
    pub released_before_end: Option<String>,
    /// The person completed this programme before.
    pub completed_before: bool,
}

impl Eligibility {
    pub fn is_clear(&self) -> bool {
        self.clashes.is_empty() && self.released_before_end.is_none() && !self.completed_before
    }
}

/// The facility's runs, read once to judge many people against one run.
pub struct Runs(Vec<ProgrammeRun>);

impl Runs {
    pub fn read(lan: &Lan) -> ApiResult<Runs> {
        let mut runs = Vec::new();
        for id in lan
            .store
            .list(&format!("facility:{}", lan.facility), Kind::ProgrammeRun)?
        {
            if let Some(r) = lan.store.get::<ProgrammeRun>(&id)? {
                runs.push(r);
            }
        }
        Ok(Runs(runs))
    }

    pub fn all(&self) -> &[ProgrammeRun] {
        &self.0
    }

    /// `person`'s standing for a place on `run`.
    pub fn eligibility(
        &self,
        lan: &Lan,
        person: &str,
        run: &ProgrammeRun,
    ) -> ApiResult<Eligibility> {
        let clashes = self
            .0
            .iter()
            .filter(|other| other.id != run.id)
            .filter(|other| {
                other
                    .waiting_list
                    .get(person)
                    .is_some_and(|w| w.status == WaitStatus::Allocated)
            })
            .filter(|other| other.schedule.clashes_with(&run.schedule))
            .map(|other| other.id.clone())
            .collect();
        // From the roster: no case file is read for each person on a list.
        let roster = lan.roster.people(&lan.store, &lan.facility)?;
        let known = roster.people.get(person);
        let released_before_end = known
            .and_then(|p| p.release_date.clone())
            .filter(|d| *d < run.schedule.end_date);
        let completed_before = known.is_some_and(|p| p.completed.contains(&run.programme_code));
        Ok(Eligibility {
            clashes,
            released_before_end,
            completed_before,
        })
    }
}

/// Puts `person` on `run`'s waiting list as `who`; one entry per person, however many times.
pub fn add_to_list(lan: &Lan, who: &Staff, run: &str, person: &str) -> ApiResult<Staged<()>> {
    if !who.has(LISTERS) {
        return Err(ApiError::forbidden(
            "your role cannot change this waiting list",
        ));
    }
    known_person(lan, person)?;
    let now = lan.clock.now();
    lan.audited_edit::<ProgrammeRun, _>(
        who,
        "add_to_waiting_list",
        &run_id(&lan.facility, run),
        now,
        |e| match e.get::<WaitingEntry>(&["waiting_list", person])? {
            // Added again (a retry, or two staff at once): one entry, as it is.
            Some(w) if matches!(w.status, WaitStatus::Waiting | WaitStatus::Allocated) => Ok(()),
            _ => {
                let entry = WaitingEntry {
                    person_id: person.to_owned(),
                    added_at: now,
                    added_by: who.username.clone(),
                    status: WaitStatus::Waiting,
                };
                Ok(e.put(&["waiting_list", person], &entry)?)
            }
        },
    )
}

fn known_person(lan: &Lan, person: &str) -> ApiResult<()> {
    if person.trim().is_empty() {
        return Err(ApiError::field_words("person", "input.empty", vec![]));
    }
    if lan.store.meta(&case_id(person))?.is_none() {
        return Err(ApiError::field_words(
            "person",
            "input.no_person",
            vec![("value", person.chars().take(64).collect())],
        ));
    }
    Ok(())
}

/// Gives `person`, who waits on `run`'s list, a place within capacity, as `who`. A clash with
/// another run the person has a place on is refused unless `confirmed`; the case file's
/// enrolment becomes active.
pub fn allocate(
    lan: &Lan,
    who: &Staff,
    run: &str,
    person: &str,
    confirmed: bool,
) -> ApiResult<Staged<()>> {
    if !who.has(ALLOCATORS) {
        return Err(ApiError::forbidden(
            "only an instructor or the facility manager gives places",
        ));
    }
    known_person(lan, person)?;
    let id = run_id(&lan.facility, run);
    let the_run = lan
        .store
        .get::<ProgrammeRun>(&id)?
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run `{run}` here")))?;
    if !confirmed {
        let runs = Runs::read(lan)?;
        let e = runs.eligibility(lan, person, &the_run)?;
        if !e.clashes.is_empty() {
            let mut clashing = Vec::new();
            for r in runs.all().iter().filter(|r| e.clashes.contains(&r.id)) {
                let title = lan
                    .store
                    .get::<Programme>(&programme_id(&r.programme_code))?
                    .map_or_else(|| r.programme_code.clone(), |p| p.title);
                clashing.push(format!("{title} · {}", r.place));
            }
            return Err(ApiError::field_words(
                "confirm",
                "input.clash",
                vec![("runs", clashing.join(", "))],
            ));
        }
    }
    let now = lan.clock.now();
    lan.audited_edit::<ProgrammeRun, _>(who, "allocate", &id, now, |e| {
        let Some(mut entry) = e.get::<WaitingEntry>(&["waiting_list", person])? else {
            return Err(ApiError::field_words("person", "input.not_waiting", vec![]));
        };
        if entry.status == WaitStatus::Allocated {
            return Err(ApiError::field_words(
                "person",
                "input.already_allocated",
                vec![],
            ));
        }
        let capacity = e.get::<u32>(&["capacity"])?.unwrap_or(0);
        let list = e
            .get::<BTreeMap<String, WaitingEntry>>(&["waiting_list"])?
            .unwrap_or_default();
        let taken = list
            .values()
            .filter(|w| w.status == WaitStatus::Allocated)
            .count();
        if taken >= capacity as usize {
            return Err(ApiError::field_words(
                "person",
                "input.run_full",
                vec![("n", taken.to_string()), ("of", capacity.to_string())],
            ));
        }
        entry.status = WaitStatus::Allocated;
        Ok(e.put(&["waiting_list", person], &entry)?)
    })?;
    // The case file's enrolment follows; its flush covers the run's edit before it.
    super::enrolments::activate(lan, who, person, &the_run)
}

/// Ends `person`'s place on `run` with an outcome, as `who`: their active enrolment on the run
/// ends, which gives the place back unless the course was completed.
pub fn end_place(
    lan: &Lan,
    who: &Staff,
    run: &str,
    person: &str,
    input: &EndInput,
) -> ApiResult<Staged<()>> {
    known_person(lan, person)?;
    let case = lan
        .store
        .get::<CaseFile>(&case_id(person))?
        .unwrap_or_default();
    let Some((key, _)) = case
        .enrolments
        .iter()
        .find(|(_, e)| e.run_id == run && !e.status.is_final())
    else {
        return Err(ApiError::field_words(
            "person",
            "input.no_enrolment",
            vec![],
        ));
    };
    end(lan, who, person, key, input)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PersonBody {
    person: String,
    /// Give the place although the person has a place on another run at the same time.
    #[serde(default)]
    confirm: bool,
}

/// `POST /api/runs/{run}/waiting-list`.
pub(super) async fn add_waiting(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(run): Path<String>,
    body: Result<Json<PersonBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(b) = body?;
    blocking_durable(move || add_to_list(&lan, &who, &run, &b.person)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/runs/{run}/allocate`.
pub(super) async fn allocate_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path(run): Path<String>,
    body: Result<Json<PersonBody>, JsonRejection>,
) -> ApiResult<StatusCode> {
    let Json(b) = body?;
    blocking_durable(move || allocate(&lan, &who, &run, &b.person, b.confirm)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/runs/{run}/eligibility/{person}`: what stands in the way of a place.
pub(super) async fn eligibility_api(
    State(lan): State<Arc<Lan>>,
    who: Staff,
    Path((run, person)): Path<(String, String)>,
) -> ApiResult<Json<Eligibility>> {
    if !who.has(LISTERS) {
        return Err(ApiError::forbidden(
            "your role does not give places on runs",
        ));
    }
    blocking(move || {
        let the_run = lan
            .store
            .get::<ProgrammeRun>(&run_id(&lan.facility, &run))?
            .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, format!("no run `{run}` here")))?;
        known_person(&lan, &person)?;
        Ok(Json(
            Runs::read(&lan)?.eligibility(&lan, &person, &the_run)?,
        ))
    })
    .await
}
