//! Leaving custody: the release plan by resettlement pathway, the release as recorded on the
//! day, and the six-week follow-up recorded at the hub.

use std::collections::BTreeMap;

use autosurgeon::{Hydrate, Reconcile};

use super::Millis;

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
pub enum PlanItemStatus {
    #[default]
    NotStarted,
    InProgress,
    Done,
    NotNeeded,
}

#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct PlanItem {
    pub status: PlanItemStatus,
    /// The address, employer, clinic or contact arranged, in the officer's words.
    pub details: String,
    pub updated_by: String,
    pub updated_at: Millis,
    /// ISO date it takes effect (the tenancy starts, the job starts, the appointment), or empty.
    #[autosurgeon(missing = "Default::default")]
    pub date: String,
}

/// What must be in place on the day of release, by resettlement pathway.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct ReleasePlan {
    pub accommodation: PlanItem,
    /// Employment, education or training.
    pub employment: PlanItem,
    /// Health continuity. Sensitive: readable only by health staff.
    pub health_handover: PlanItem,
    pub id_documents: PlanItem,
    /// Money: a bank account, benefits, debts.
    #[autosurgeon(missing = "Default::default")]
    pub finance: PlanItem,
    /// Family and children: contact, care arrangements.
    #[autosurgeon(missing = "Default::default")]
    pub family: PlanItem,
}

impl ReleasePlan {
    /// Every item's code, in the order staff work through them.
    pub const ITEMS: [&'static str; 6] = [
        "accommodation",
        "employment",
        "id_documents",
        "finance",
        "family",
        "health_handover",
    ];

    /// The item for `code`, one of [`ReleasePlan::ITEMS`].
    pub fn item(&self, code: &str) -> Option<&PlanItem> {
        Some(match code {
            "accommodation" => &self.accommodation,
            "employment" => &self.employment,
            "id_documents" => &self.id_documents,
            "finance" => &self.finance,
            "family" => &self.family,
            "health_handover" => &self.health_handover,
            _ => return None,
        })
    }

    /// The items that are neither done nor not needed, the health handover left out (it is
    /// health content).
    pub fn open_items(&self) -> impl Iterator<Item = &'static str> + '_ {
        Self::ITEMS
            .into_iter()
            .filter(|c| *c != "health_handover")
            .filter(|c| {
                self.item(c).is_some_and(|i| {
                    !matches!(i.status, PlanItemStatus::Done | PlanItemStatus::NotNeeded)
                })
            })
    }
}

/// A person's release from custody, as the facility recorded it.
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct ReleaseRecord {
    /// ISO date.
    pub on: String,
    pub by: String,
    pub at: Millis,
    /// Where the person went and who met them, in the officer's words.
    pub note: String,
    /// Where the person sleeps the first night: one of [`ReleaseRecord::FIRST_NIGHT`], or empty
    /// (not recorded).
    #[autosurgeon(missing = "Default::default")]
    pub first_night: String,
    /// The release plan as it stood on the day: each item's status, by item code
    /// ([`ReleasePlan::ITEMS`]), so what was arranged at release is not changed by later edits.
    #[autosurgeon(missing = "Default::default")]
    pub plan_on_the_day: BTreeMap<String, PlanItemStatus>,
}

/// A released person's situation six weeks on, recorded at the hub (audited there).
#[derive(Debug, Clone, PartialEq, Default, Reconcile, Hydrate, serde::Serialize)]
pub struct FollowUp {
    /// ISO date the situation was learnt.
    pub on: String,
    pub by: String,
    pub at: Millis,
    /// Where the person lives: one of [`FollowUp::ACCOMMODATION`].
    pub accommodation: String,
    /// In employment, education or training: one of [`FollowUp::ETE`].
    pub ete: String,
    pub note: String,
}

impl FollowUp {
    /// Days after release a follow-up is due.
    pub const DUE_AFTER_DAYS: i64 = 42;
    pub const ACCOMMODATION: [&'static str; 4] = ["settled", "temporary", "none", "unknown"];
    pub const ETE: [&'static str; 3] = ["yes", "no", "unknown"];
}

impl ReleaseRecord {
    /// Accommodation on the first night of release: a settled home, temporary accommodation,
    /// or none.
    pub const FIRST_NIGHT: [&'static str; 3] = ["settled", "temporary", "none"];
}
