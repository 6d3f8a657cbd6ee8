//! The review queue: things a person must look at that the sync could not settle alone, kept
//! beside the documents at the node that found them (the hub) and never synced. An edit that
//! reached the hub from a facility a case file had left, or a transfer the hub could not make,
//! is merged or kept as it came and listed here until an administrator marks it reviewed.

use serde::{Deserialize, Serialize};

use super::{Store, StoreError};
use crate::model::Millis;

/// Why an item is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// Edits from a facility after the case file had moved away from it: merged.
    EditAfterMove,
    /// A transfer recorded at a facility that the hub could not make (`detail` says why).
    TransferNotMade,
    /// Changes carried by hand from a facility (`detail` says who carried them and how many).
    CarriedByHand,
    /// A facility's changes that would rewrite or remove audit entries the hub holds, or break
    /// the chain: refused (`detail` says which entry and how).
    AuditRewritten,
}

impl ReviewReason {
    pub fn code(self) -> &'static str {
        match self {
            ReviewReason::EditAfterMove => "edit_after_move",
            ReviewReason::TransferNotMade => "transfer_not_made",
            ReviewReason::CarriedByHand => "carried_by_hand",
            ReviewReason::AuditRewritten => "audit_rewritten",
        }
    }
}

/// Who marked an item reviewed, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reviewed {
    pub by: String,
    pub at: Millis,
}

/// One item of the queue: one document, one facility, one reason. Further occurrences add to
/// it, and reopen it if it had been reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    /// The item's key in the queue.
    pub key: String,
    pub doc: String,
    /// The facility whose changes or record this is about.
    pub facility: String,
    pub reason: ReviewReason,
    pub detail: String,
    pub first_at: Millis,
    pub last_at: Millis,
    /// How many times it happened (frames of edits, or transfer attempts).
    pub count: u64,
    pub reviewed: Option<Reviewed>,
}

const TABLE: &str = "review";

impl Store {
    /// Adds to the review queue (or to its open item for the same document, facility and
    /// reason). Durable on return.
    pub fn note_review(
        &self,
        doc: &impl std::fmt::Display,
        facility: &str,
        reason: ReviewReason,
        detail: &str,
        now: Millis,
    ) -> Result<ReviewItem, StoreError> {
        let key = format!("{doc}|{facility}|{}", reason.code());
        self.update_local(TABLE, &key.clone(), |old: Option<ReviewItem>| {
            let item = match old {
                Some(mut it) => {
                    it.last_at = now;
                    it.count += 1;
                    it.detail = detail.to_owned();
                    it.reviewed = None;
                    it
                }
                None => ReviewItem {
                    key,
                    doc: doc.to_string(),
                    facility: facility.to_owned(),
                    reason,
                    detail: detail.to_owned(),
                    first_at: now,
                    last_at: now,
                    count: 1,
                    reviewed: None,
                },
            };
            Ok::<_, StoreError>((Some(item.clone()), item))
        })
    }

    /// Every item of the queue, open ones first, newest first within each.
    pub fn reviews(&self) -> Result<Vec<ReviewItem>, StoreError> {
        let mut all: Vec<ReviewItem> = self.local_all(TABLE)?.into_iter().map(|(_, i)| i).collect();
        all.sort_by_key(|i| (i.reviewed.is_some(), std::cmp::Reverse(i.last_at)));
        Ok(all)
    }

    /// Marks an item reviewed. `None` if there is no such item. Durable on return.
    pub fn mark_reviewed(
        &self,
        key: &str,
        by: &str,
        now: Millis,
    ) -> Result<Option<ReviewItem>, StoreError> {
        self.update_local(TABLE, key, |old: Option<ReviewItem>| {
            let Some(mut item) = old else {
                return Ok::<_, StoreError>((None, None));
            };
            item.reviewed = Some(Reviewed {
                by: by.to_owned(),
                at: now,
            });
            Ok((Some(item.clone()), Some(item)))
        })
    }
}
