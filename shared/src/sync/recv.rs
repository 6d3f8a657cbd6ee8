//! The receiving side of a session: checking what the peer may write, applying frames in
//! chain order, and acknowledging only what is durable.

use std::collections::BTreeMap;

use automerge::Change;

use super::append_only::check_audit_append;
use super::authorize::{Verdict, authorize, check_staff_authority};
use super::send::advance_heads;
use super::transfer::hand_over;
use super::{Event, Session, Side, SyncError, cursor_name};
use crate::model::{AuditBlock, Class, DocId, Kind, Millis, TransferRecord, audit_id};
use crate::store::{Incoming, MAX_CHANGE_BYTES, ReviewReason, Stub};
use crate::wire::{self, ErrorCode, Frame, Item, WireError};

#[derive(Default)]
pub(super) struct RecvClass {
    /// Everything the peer sent up to here is held, whatever chain it came by.
    pub(super) cursor: u64,
    /// The chain being applied, and the `to` of its last frame applied.
    pub(super) epoch: Option<u32>,
    pub(super) chain: u64,
}

impl Session {
    /// Checks an incoming document against what the peer may write (see [`authorize`]) and
    /// decodes its changes. The error is the reason the peer is given.
    fn admit(
        &self,
        doc: &str,
        kind: u8,
        scope: &str,
        changes: Vec<Vec<u8>>,
    ) -> Result<(Verdict, Vec<Change>), String> {
        let existing = match DocId::parse(doc) {
            Ok(id) => self
                .store
                .meta(&id)
                .map_err(|e| format!("cannot read {id}: {e}"))?,
            Err(_) => None,
        };
        let verdict = authorize(&self.side, doc, kind, scope, existing.as_ref(), |f| {
            DocId::parse(doc).is_ok_and(|id| self.moved_from(&id, f))
        })?;
        if let Some(big) = changes.iter().find(|c| c.len() > MAX_CHANGE_BYTES) {
            return Err(format!(
                "a change of {} bytes is larger than the {MAX_CHANGE_BYTES}-byte limit",
                big.len()
            ));
        }
        let changes = changes
            .into_iter()
            .map(Change::from_bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("a change does not decode: {e}"))?;
        if matches!(self.side, Side::Hub { .. }) && verdict.meta.kind == Kind::AuditLog {
            let previous = |facility: &str, block: u64| {
                self.store
                    .get::<AuditBlock>(&audit_id(facility, block))
                    .ok()
                    .flatten()
                    .and_then(|b| b.last().cloned())
            };
            match existing {
                Some(_) => self
                    .store
                    .read(&verdict.id, |d, _| {
                        check_audit_append(d, &changes, previous)
                    })
                    .map_err(|e| format!("cannot read {}: {e}", verdict.id))?
                    .unwrap_or(Ok(0))?,
                None => check_audit_append(&automerge::Automerge::new(), &changes, previous)?,
            };
        }
        if matches!(self.side, Side::Hub { .. })
            && verdict.meta.kind == Kind::StaffAccount
            && existing.is_some()
        {
            self.store
                .read(&verdict.id, |d, _| check_staff_authority(d, &changes))
                .map_err(|e| format!("cannot read {}: {e}", verdict.id))?
                .unwrap_or(Ok(()))?;
        }
        Ok((verdict, changes))
    }

    /// Whether the case file `id` was transferred out of `facility`.
    fn moved_from(&self, id: &DocId, facility: &str) -> bool {
        self.store
            .read(id, |d, _| {
                autosurgeon::hydrate_prop::<_, BTreeMap<String, TransferRecord>, _, _>(
                    d,
                    automerge::ROOT,
                    "transfers",
                )
            })
            .ok()
            .flatten()
            .and_then(Result::ok)
            .is_some_and(|t| t.values().any(|r| r.from_facility == facility))
    }

    pub(super) fn on_changes(
        &mut self,
        class: u8,
        (epoch, first): (u32, bool),
        from: u64,
        to: u64,
        payload: &[u8],
        now: Millis,
    ) -> Result<(), SyncError> {
        let Some(c) = Class::from_u8(class) else {
            self.fail(
                ErrorCode::Malformed,
                format!("changes for unknown class {class}"),
            );
            return Err(WireError::Body(format!("unknown class {class}")).into());
        };
        let repair = from == 0 && to == 0;
        tracing::debug!(peer = %self.peer, class, from, to, cursor = self.recv[usize::from(class.min(2))].cursor, "frame received");
        let r = &self.recv[c as usize];
        let continues = match r.epoch {
            Some(e) if e == epoch => from == r.chain,
            Some(e) if e > epoch => false,
            _ => first && from <= r.cursor,
        };
        if !repair && !continues {
            // A frame of the chain before this one was lost, or this one belongs to an older
            // chain: take nothing from it. The sender starts a new chain from our cursor once
            // its frames in flight time out.
            self.ack(c);
            return Ok(());
        }
        let items = match wire::unpack_items(payload) {
            Ok(i) => i,
            Err(e) => {
                self.fail(ErrorCode::Malformed, e.to_string());
                return Err(e.into());
            }
        };
        let mut incoming = Vec::new();
        for item in items {
            match item {
                Item::Doc {
                    doc,
                    kind,
                    scope,
                    changes,
                } => match self.admit(&doc, kind, &scope, changes) {
                    Ok((verdict, changes)) => {
                        if verdict.after_move {
                            tracing::warn!(peer = %self.peer, doc = %verdict.id, "edit to a moved case file merged; flagged for review");
                            if let Side::Hub { facility } = &self.side {
                                let detail = format!(
                                    "{} change(s) from {facility} after the file had moved",
                                    changes.len()
                                );
                                self.store.note_review(
                                    &verdict.id,
                                    facility,
                                    ReviewReason::EditAfterMove,
                                    &detail,
                                    now,
                                )?;
                            }
                            self.events.push_back(Event::AfterMove {
                                doc: verdict.id.clone(),
                            });
                        }
                        incoming.push(Incoming {
                            doc: verdict.id,
                            meta: verdict.meta,
                            class: c,
                            changes,
                        });
                    }
                    Err(reason) => {
                        if let Side::Hub { facility } = &self.side
                            && let Ok(id) = DocId::parse(&doc)
                            && id.kind() == Some(Kind::AuditLog)
                        {
                            // Never silent: the trail a facility tried to rewrite is for a person
                            // to look at.
                            tracing::warn!(peer = %self.peer, %doc, %reason, "audit trail change refused");
                            self.store.note_review(
                                &id,
                                facility,
                                ReviewReason::AuditRewritten,
                                &reason,
                                now,
                            )?;
                        }
                        self.refuse(doc, reason)
                    }
                },
                Item::Drop {
                    doc,
                    moved_to,
                    at,
                    by,
                } => {
                    if self.side != Side::Gateway {
                        self.refuse(doc, "only the hub moves documents".into());
                        continue;
                    }
                    let Ok(id) = DocId::parse(&doc) else { continue };
                    let held = self.store.meta(&id)?.is_some();
                    self.store.retire(
                        &id,
                        &Stub {
                            moved_to: moved_to.clone(),
                            at,
                            by: by.clone(),
                        },
                    )?;
                    if held {
                        tracing::info!(doc = %id, %moved_to, "case file moved away; stub kept");
                        self.events.push_back(Event::Dropped {
                            doc: id,
                            moved_to,
                            by,
                            at,
                        });
                    }
                }
            }
        }
        let received: Vec<(DocId, Vec<Change>)> = incoming
            .iter()
            .map(|i| (i.doc.clone(), i.changes.clone()))
            .collect();
        self.stats.changes_received += received.iter().map(|r| r.1.len() as u64).sum::<u64>();
        let applied = self.store.apply_many(incoming)?;
        let mut complete = true;
        let mut case_files = Vec::new();
        for ((doc, changes), applied) in received.into_iter().zip(applied) {
            if doc.kind() == Some(Kind::CaseFile) && applied.missing.is_empty() {
                case_files.push(doc.clone());
            }
            // The peer holds what it sent us: never echo it back. The stored heads only ever
            // count what the peer acknowledged or sent; frames still in flight stay out of them.
            let stored = self.store.peer_heads(&self.peer, &doc)?;
            self.store
                .set_peer_heads(&self.peer, &doc, &advance_heads(&stored, &changes))?;
            for st in &mut self.send {
                if let Some(sent) = st.sent_heads.get_mut(&doc) {
                    *sent = advance_heads(sent, &changes);
                }
            }
            if !applied.missing.is_empty() {
                tracing::debug!(peer = %self.peer, %doc, missing = applied.missing.len(), "dependencies missing");
            }
            if !applied.missing.is_empty() {
                // Held in memory, not stored: ask for what is missing and do not acknowledge
                // the frame until it is whole.
                complete = false;
                self.control(Frame::Need {
                    doc: doc.to_string(),
                    have: applied.heads.iter().map(|h| h.0).collect(),
                });
            }
        }
        if let Side::Hub { facility } = &self.side {
            // A transfer out recorded at the facility that holds the person: the hub makes it
            // now, before the frame is acknowledged, so a stop in between makes it on the resend.
            for doc in &case_files {
                hand_over(&self.store, doc, facility, now)?;
            }
        }
        if repair {
            return Ok(());
        }
        let r = &mut self.recv[c as usize];
        if complete {
            r.epoch = Some(epoch);
            r.chain = to;
            if to > r.cursor {
                r.cursor = to;
                self.store
                    .set_cursor(&cursor_name(&self.peer, "recv", c), to)?;
                self.received(now)?;
            }
        }
        self.ack(c);
        self.acked_changes = true;
        Ok(())
    }

    /// After a frame that arrived at `arrived` was handled: if it was a change frame this side
    /// acknowledged, its time from arrival to acknowledgement is counted.
    pub fn note_handled(&mut self, arrived: Millis, now: Millis) {
        if std::mem::take(&mut self.acked_changes) {
            self.stats.ack_latency.record(now - arrived);
        }
    }

    pub(super) fn ack(&mut self, c: Class) {
        let r = &self.recv[c as usize];
        self.control(Frame::Ack {
            class: c as u8,
            epoch: r.epoch.unwrap_or(u32::MAX),
            chain: r.chain,
            upto: r.cursor,
        });
    }

    pub(super) fn refuse(&mut self, doc: String, reason: String) {
        self.stats.refused += 1;
        tracing::warn!(peer = %self.peer, %doc, %reason, "refused changes");
        self.events.push_back(Event::Refused {
            doc: doc.clone(),
            reason: reason.clone(),
        });
        self.control(Frame::Refused { doc, reason });
    }
}
