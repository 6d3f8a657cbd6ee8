//! A person's case file: it lives in the scope of the facility that holds the person and moves
//! with the person on transfer.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};

use super::catalogue::id;
use super::release::{FollowUp, PlanItem, ReleasePlan, ReleaseRecord};
use super::stamped::Stamped;
use super::{Aggregate, DocId, Kind, Millis, Scope, Visibility};

/// The pathway domains a needs assessment covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NeedDomain {
    Accommodation,
    EducationTrainingEmployment,
    Health,
    MentalHealth,
    SubstanceUse,
    FinanceAndId,
    FamilyAndRelationships,
    AttitudesAndBehaviour,
}

impl NeedDomain {
    pub const ALL: [NeedDomain; 8] = [
        NeedDomain::Accommodation,
        NeedDomain::EducationTrainingEmployment,
        NeedDomain::Health,
        NeedDomain::MentalHealth,
        NeedDomain::SubstanceUse,
        NeedDomain::FinanceAndId,
        NeedDomain::FamilyAndRelationships,
        NeedDomain::AttitudesAndBehaviour,
    ];

    /// The key the domain is stored under in [`CaseFile::needs`].
    pub fn code(self) -> &'static str {
        match self {
            NeedDomain::Accommodation => "accommodation",
            NeedDomain::EducationTrainingEmployment => "education_training_employment",
            NeedDomain::Health => "health",
            NeedDomain::MentalHealth => "mental_health",
            NeedDomain::SubstanceUse => "substance_use",
            NeedDomain::FinanceAndId => "finance_and_id",
            NeedDomain::FamilyAndRelationships => "family_and_relationships",
            NeedDomain::AttitudesAndBehaviour => "attitudes_and_behaviour",
        }
    }

    pub fn from_code(code: &str) -> Option<NeedDomain> {
        NeedDomain::ALL.into_iter().find(|d| d.code() == code)
    }

    /// Health, mental-health and substance-use data is readable only by health staff.
    pub fn is_sensitive(self) -> bool {
        matches!(
            self,
            NeedDomain::Health | NeedDomain::MentalHealth | NeedDomain::SubstanceUse
        )
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all(deserialize = "snake_case"))]
pub enum NeedLevel {
    #[default]
    NotAssessed,
    None,
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct NeedAssessment {
    pub level: NeedLevel,
    pub notes: String,
    pub assessed_by: String,
    pub assessed_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Reconcile, Hydrate, serde::Serialize)]
pub enum GoalStatus {
    #[default]
    Active,
    Completed,
    Archived,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct PlanGoal {
    pub title: String,
    /// The [`NeedDomain::code`] the goal addresses.
    pub domain: String,
    pub target_date: Option<String>,
    pub status: GoalStatus,
    pub created_by: String,
    pub created_at: Millis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Reconcile, Hydrate, serde::Serialize)]
pub enum EnrolmentStatus {
    #[default]
    Pending,
    Active,
    Suspended,
    Completed,
    Withdrawn,
}

impl EnrolmentStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            EnrolmentStatus::Completed | EnrolmentStatus::Withdrawn
        )
    }
}

/// A person's place on a programme run.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct Enrolment {
    pub run_id: String,
    pub programme_code: String,
    pub facility_id: String,
    pub status: EnrolmentStatus,
    pub start_date: Option<String>,
    pub end_date: Option<String>,
    /// Why the enrolment ended (completed, transferred, released, withdrawn by self…).
    pub end_reason: Option<String>,
    pub certificate_awarded: bool,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all(deserialize = "snake_case"))]
pub enum NoteType {
    #[default]
    General,
    Education,
    Work,
    Resettlement,
    Safeguarding,
    /// Health, mental-health or substance-use content: readable only by health staff.
    Health,
}

/// A case note. Append-only: a correction is a new note.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct CaseNote {
    pub author: String,
    pub at: Millis,
    pub facility_id: String,
    pub note_type: NoteType,
    pub text: String,
    /// Readable only by the case officer and the facility manager.
    pub restricted: bool,
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Reconcile,
    Hydrate,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all(deserialize = "snake_case"))]
pub enum ReferralStatus {
    #[default]
    Requested,
    Accepted,
    InProgress,
    Completed,
    Declined,
    Cancelled,
}

impl ReferralStatus {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ReferralStatus::Completed | ReferralStatus::Declined | ReferralStatus::Cancelled
        )
    }

    /// Whether a referral may move from `self` to `to`.
    pub fn may_become(self, to: ReferralStatus) -> bool {
        use ReferralStatus::*;
        matches!(
            (self, to),
            (Requested, Accepted | Declined | Cancelled)
                | (Accepted, InProgress | Cancelled)
                | (InProgress, Completed | Cancelled)
        )
    }
}

/// One step in a referral's history.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct ReferralEvent {
    pub to: ReferralStatus,
    pub by: String,
    pub at: Millis,
    pub note: String,
}

/// A referral to a partner. Its status is a fold over its history, never a stored field, so a
/// concurrent illegal transition is kept and flagged for review instead of lost.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct Referral {
    pub partner_id: String,
    pub service: String,
    pub reason: String,
    /// Safety referrals travel in the sync's urgent class.
    pub urgent: bool,
    /// A referral to a health service (a clinic): readable only by health staff, history and
    /// notes included.
    #[autosurgeon(missing = "Default::default")]
    pub health: bool,
    /// Keyed by event id; ordered by time, then id.
    pub history: BTreeMap<String, ReferralEvent>,
}

/// The state of a referral, folded from its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralState {
    pub status: ReferralStatus,
    /// Events that were not legal from the state before them: kept, shown for review.
    pub flagged: Vec<String>,
}

/// A transition a referral cannot make.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("a referral that is {from:?} cannot become {to:?}")]
pub struct IllegalTransition {
    pub from: ReferralStatus,
    pub to: ReferralStatus,
}

impl Referral {
    /// A new referral, with its request as the first event.
    pub fn request(
        partner_id: &str,
        service: &str,
        reason: &str,
        urgent: bool,
        event_id: &str,
        by: &str,
        at: Millis,
    ) -> Referral {
        let mut r = Referral {
            partner_id: partner_id.to_owned(),
            service: service.to_owned(),
            reason: reason.to_owned(),
            urgent,
            health: false,
            history: BTreeMap::new(),
        };
        r.history.insert(
            event_id.to_owned(),
            ReferralEvent {
                to: ReferralStatus::Requested,
                by: by.to_owned(),
                at,
                note: String::new(),
            },
        );
        r
    }

    pub fn state(&self) -> ReferralState {
        let mut events: Vec<(&String, &ReferralEvent)> = self.history.iter().collect();
        events.sort_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)));
        let mut status = None;
        let mut flagged = Vec::new();
        for (id, ev) in events {
            match status {
                None if ev.to == ReferralStatus::Requested => status = Some(ev.to),
                Some(s) if ReferralStatus::may_become(s, ev.to) => status = Some(ev.to),
                _ => flagged.push(id.clone()),
            }
        }
        ReferralState {
            status: status.unwrap_or_default(),
            flagged,
        }
    }

    /// Moves the referral on, if the move is legal from its current state.
    pub fn advance(
        &mut self,
        to: ReferralStatus,
        event_id: &str,
        by: &str,
        at: Millis,
        note: &str,
    ) -> Result<(), IllegalTransition> {
        let from = self.state().status;
        if !from.may_become(to) {
            return Err(IllegalTransition { from, to });
        }
        self.history.insert(
            event_id.to_owned(),
            ReferralEvent {
                to,
                by: by.to_owned(),
                at,
                note: note.to_owned(),
            },
        );
        Ok(())
    }
}

/// A move between facilities, kept in the case file's history.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct TransferRecord {
    pub from_facility: String,
    pub to_facility: String,
    pub at: Millis,
    pub by: String,
    pub reason: String,
    /// When the hub moved the case file: set by the hub, once. A transfer recorded at a
    /// facility waits for it.
    #[autosurgeon(missing = "Default::default")]
    pub moved_at: Option<Millis>,
}

/// Why the person is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustodyStatus {
    /// Held awaiting trial.
    #[default]
    Remand,
    /// Convicted, awaiting sentence.
    AwaitingSentence,
    Sentenced,
    /// Returned to custody after release on licence or parole.
    Recalled,
    /// Held here until a move to another facility or country.
    AwaitingTransfer,
}

impl CustodyStatus {
    /// Every status's code, as files, forms and the API write it.
    pub const CODES: &'static [&'static str] = &[
        "remand",
        "awaiting_sentence",
        "sentenced",
        "recalled",
        "awaiting_transfer",
    ];
}

/// Where in the facility a person is held.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub unit: String,
    pub cell: String,
}

/// The security or risk level the facility assessed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityLevel {
    Minimum,
    #[default]
    Medium,
    High,
    Maximum,
}

/// A security level as assessed on a day.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct SecurityAssessment {
    pub level: SecurityLevel,
    /// ISO date of the assessment.
    pub assessed_on: String,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct CaseFile {
    pub person_id: String,
    pub prison_number: String,
    pub given_name: String,
    pub family_name: String,
    /// ISO date.
    pub date_of_birth: Option<String>,
    pub language: String,
    pub holding_facility: String,
    pub admission_date: String,
    /// ISO date; a [`Stamped`] value, so a date set at both ends apart shows as a conflict.
    pub expected_release_date: Option<Stamped<String>>,
    /// Keyed by [`NeedDomain::code`].
    pub needs: BTreeMap<String, NeedAssessment>,
    /// Keyed by goal id.
    pub goals: BTreeMap<String, PlanGoal>,
    /// Keyed by enrolment id.
    pub enrolments: BTreeMap<String, Enrolment>,
    /// Keyed by note id; append-only.
    pub notes: BTreeMap<String, CaseNote>,
    /// Keyed by referral id.
    pub referrals: BTreeMap<String, Referral>,
    pub release_plan: ReleasePlan,
    /// Keyed by transfer id.
    pub transfers: BTreeMap<String, TransferRecord>,
    /// Set when the person left custody.
    pub release: Option<ReleaseRecord>,
    /// ISO date the person was sentenced, if they were.
    #[autosurgeon(missing = "Default::default")]
    pub sentence_date: Option<String>,
    /// Set at the facility and at the hub: a [`Stamped`] value, so a conflict shows.
    #[autosurgeon(missing = "Default::default")]
    pub custody_status: Option<Stamped<CustodyStatus>>,
    /// Where the person is now.
    #[autosurgeon(missing = "Default::default")]
    pub location: Option<Stamped<Location>>,
    /// Every placement, keyed by move id (the time and mover): the location's history.
    #[autosurgeon(missing = "Default::default")]
    pub moves: BTreeMap<String, Stamped<Location>>,
    #[autosurgeon(missing = "Default::default")]
    pub security: Option<Stamped<SecurityAssessment>>,
    /// The username of the person's case officer.
    #[autosurgeon(missing = "Default::default")]
    pub case_officer: Option<String>,
    /// How the person was doing six weeks after release, as national staff recorded it at the
    /// hub.
    #[autosurgeon(missing = "Default::default")]
    pub follow_up: Option<FollowUp>,
}

impl CaseFile {
    /// The keys whose values are [`Stamped`], where a conflict is shown rather than resolved.
    pub const CONTESTED: [&'static str; 4] = [
        "expected_release_date",
        "custody_status",
        "location",
        "security",
    ];

    /// The expected release date, if one is set.
    pub fn release_date(&self) -> Option<&str> {
        self.expected_release_date
            .as_ref()
            .map(|d| d.value.as_str())
    }
}

impl CaseFile {
    /// Removes what `visibility` does not allow: sensitive needs, health notes, goals in health
    /// domains, referrals to health services, the health handover and enrolments in the health
    /// programmes of the catalogue (`health_programmes`, their codes) without `health`;
    /// restricted notes without `restricted_notes`. The one redaction both daemons use.
    pub fn redact(
        &mut self,
        visibility: Visibility,
        health_programmes: &std::collections::BTreeSet<String>,
    ) {
        if !visibility.health {
            self.enrolments
                .retain(|_, e| !health_programmes.contains(&e.programme_code));
            self.needs.retain(|code, _| {
                !NeedDomain::from_code(code).is_some_and(NeedDomain::is_sensitive)
            });
            self.notes.retain(|_, n| n.note_type != NoteType::Health);
            self.goals.retain(|_, g| {
                !NeedDomain::from_code(&g.domain).is_some_and(NeedDomain::is_sensitive)
            });
            self.release_plan.health_handover = PlanItem::default();
            self.referrals.retain(|_, r| !r.health);
        }
        if !visibility.restricted_notes {
            self.notes.retain(|_, n| !n.restricted);
        }
    }

    /// Notes, oldest first.
    pub fn notes_in_order(&self) -> Vec<(&String, &CaseNote)> {
        let mut v: Vec<_> = self.notes.iter().collect();
        v.sort_by(|a, b| (a.1.at, a.0).cmp(&(b.1.at, b.0)));
        v
    }
}

impl Aggregate for CaseFile {
    const KIND: Kind = Kind::CaseFile;
    fn doc_id(&self) -> DocId {
        case_id(&self.person_id)
    }
    fn scope(&self) -> Scope {
        Scope::Person {
            person: self.person_id.clone(),
            facility: self.holding_facility.clone(),
        }
    }
}

pub fn case_id(person: &str) -> DocId {
    id(Kind::CaseFile, &[person])
}
