//! Changes carried by hand, for a site with no link: the same session, run without a network.
//!
//! - [`export`] walks the feed from the peer's acknowledged cursor, exactly as a live session
//!   would, and returns the frames it would send, plus what they carry ([`Carried`]), which the
//!   exporting node keeps until the receipt comes back. Nothing in the store changes.
//! - [`import`] applies those frames at the peer as a live session would (the same checks, the
//!   same chain order, the same moves at the hub, durably) and returns what it holds now
//!   ([`Taken`]), which goes back in the receipt.
//! - [`take_receipt`] feeds that acknowledgement to the exporting node: its cursor moves and it
//!   records the heads the peer now holds, so nothing carried is sent again over the link.
//!
//! The files themselves (signing, sealing) are `crate::courier`'s.

use std::collections::VecDeque;

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};

use super::send::{InFlight, SendClass};
use super::{Event, Session, Side, SyncConfig, SyncError, cursor_name};
use crate::model::{Class, DocId, Millis};
use crate::store::Store;
use crate::wire::{Frame, WireError};

/// One exported frame: where it ends in the exporter's feed, and the heads of each document
/// the peer holds once it has applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedFrame {
    pub to: u64,
    pub docs: Vec<(DocId, Vec<[u8; 32]>)>,
}

/// What an export carried, per class, kept by the exporter until the receipt.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Carried {
    /// The peer's acknowledged cursor the export started from.
    pub from: [u64; 3],
    pub frames: [Vec<CarriedFrame>; 3],
    /// Changes the frames carry.
    pub changes: u64,
}

impl Carried {
    /// The last seq carried, per class (the start when a class carried nothing).
    pub fn to(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.frames[i].last().map_or(self.from[i], |f| f.to))
    }
}

/// The frames of an export, in the order they are to be applied, and what they carry.
pub struct Exported {
    pub frames: Vec<Vec<u8>>,
    pub carried: Carried,
}

/// What the importing node holds of the exporter's feed after an import: per class the chain
/// applied (its last `to`) and the cursor, as an acknowledgement says them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Taken {
    pub chain: [u64; 3],
    pub upto: [u64; 3],
    /// Whether a frame of the class was applied (a chain of epoch 0 was taken).
    pub applied: [bool; 3],
    /// Changes applied.
    pub changes: u64,
    /// Documents refused, with the reason.
    pub refused: Vec<(String, String)>,
    /// Case files changed after they had moved away (listed for review at the hub).
    pub after_move: Vec<String>,
}

/// Tuning for frames that travel on a disk, not a link: larger frames, no window, no policy.
fn courier_config() -> SyncConfig {
    SyncConfig {
        frame_bytes: 512 << 10,
        window_frames: usize::MAX,
        ..SyncConfig::default()
    }
}

/// A session that starts where the stored cursors say, as if the peer's hello had just
/// confirmed them, without writing anything.
fn resumed(store: &Store, side: Side, local: &str, peer: &str) -> Result<Session, SyncError> {
    let mut s = Session::new(store.clone(), side, local, peer, courier_config())?;
    for c in Class::ALL {
        let at = store.cursor(&cursor_name(peer, "send", c))?;
        s.send[c as usize] = SendClass {
            acked: at,
            next: at,
            last_to: at,
            peer_cursor: at,
            high: at,
            first: true,
            ..SendClass::default()
        };
    }
    s.hello_due = false;
    s.connected = true;
    Ok(s)
}

/// The frames that carry to `peer` every change of this node's feed it has not acknowledged.
pub fn export(
    store: &Store,
    side: Side,
    (local, peer): (&str, &str),
    now: Millis,
) -> Result<Exported, SyncError> {
    let mut s = resumed(store, side, local, peer)?;
    let mut frames = Vec::new();
    let mut carried = Carried {
        from: s.acked(),
        ..Carried::default()
    };
    for c in Class::ALL {
        while let Some(bytes) = s.build(c, now)? {
            frames.push(bytes);
        }
        carried.frames[c as usize] = s.send[c as usize]
            .inflight
            .iter()
            .map(|f| CarriedFrame {
                to: f.to,
                docs: f
                    .docs
                    .iter()
                    .map(|(d, h)| (d.clone(), h.iter().map(|h| h.0).collect()))
                    .collect(),
            })
            .collect();
    }
    carried.changes = s.stats.changes_sent;
    Ok(Exported { frames, carried })
}

/// Why carried frames were not taken.
#[derive(Debug, thiserror::Error)]
pub enum CourierError {
    #[error("the file holds a {0} frame; a courier file holds only changes")]
    NotChanges(&'static str),
    #[error(
        "the file's {class:?} changes start at #{from}, but this node holds the sender's feed only up to #{held}: an earlier file has not been imported"
    )]
    Gap { class: Class, from: u64, held: u64 },
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// Applies `frames`, exported by `peer`, as a live session with it would: checked, in chain
/// order, durable on return. Frames that are not changes, or that start past what this node
/// holds, are refused before anything is applied.
pub fn import(
    store: &Store,
    side: Side,
    (local, peer): (&str, &str),
    frames: &[Vec<u8>],
    now: Millis,
) -> Result<Taken, CourierError> {
    let mut s = resumed(store, side, local, peer)?;
    let mut first = [None::<u64>; 3];
    let mut decoded = Vec::with_capacity(frames.len());
    for bytes in frames {
        match Frame::decode(bytes)? {
            Frame::Changes {
                class,
                epoch,
                first: starts,
                from,
                to,
                payload,
            } => {
                if let Some(c) = Class::from_u8(class) {
                    first[c as usize].get_or_insert(from);
                }
                decoded.push((class, (epoch, starts), from, to, payload));
            }
            other => return Err(CourierError::NotChanges(frame_name(&other))),
        }
    }
    for c in Class::ALL {
        let held = s.recv[c as usize].cursor;
        if let Some(from) = first[c as usize].filter(|f| *f > held) {
            return Err(CourierError::Gap {
                class: c,
                from,
                held,
            });
        }
    }
    for (class, chain, from, to, payload) in decoded {
        s.on_changes(class, chain, from, to, &payload, now)?;
    }
    let mut taken = Taken {
        changes: s.stats.changes_received,
        ..Taken::default()
    };
    for c in Class::ALL {
        let r = &s.recv[c as usize];
        taken.chain[c as usize] = r.chain;
        taken.upto[c as usize] = r.cursor;
        taken.applied[c as usize] = r.epoch == Some(0);
    }
    while let Some(e) = s.poll_event() {
        match e {
            Event::Refused { doc, reason } => taken.refused.push((doc, reason)),
            Event::AfterMove { doc } => taken.after_move.push(doc.to_string()),
            _ => {}
        }
    }
    Ok(taken)
}

fn frame_name(f: &Frame) -> &'static str {
    match f {
        Frame::Hello(_) => "hello",
        Frame::Changes { .. } => "changes",
        Frame::Ack { .. } => "acknowledgement",
        Frame::Refused { .. } => "refusal",
        Frame::Need { .. } => "need",
        Frame::Error { .. } => "error",
        Frame::Pending { .. } => "pending",
    }
}

/// Takes the peer's receipt for what `carried` carried: the cursor moves to what the peer
/// holds and the peer is known to hold the carried heads, so none of it is sent again. Returns
/// the cursor per class after.
pub fn take_receipt(
    store: &Store,
    side: Side,
    (local, peer): (&str, &str),
    carried: &Carried,
    taken: &Taken,
    now: Millis,
) -> Result<[u64; 3], SyncError> {
    let mut s = resumed(store, side, local, peer)?;
    for c in Class::ALL {
        let i = c as usize;
        let st = &mut s.send[i];
        // The frames as if they had just been sent in this session's first chain.
        st.inflight = carried.frames[i]
            .iter()
            .map(|f| InFlight {
                to: f.to,
                sent_at: now,
                docs: f
                    .docs
                    .iter()
                    .map(|(d, h)| (d.clone(), h.iter().map(|h| ChangeHash(*h)).collect()))
                    .collect(),
            })
            .collect::<VecDeque<_>>();
        let epoch = if taken.applied[i] { 0 } else { u32::MAX };
        s.on_ack(c as u8, epoch, taken.chain[i], taken.upto[i], now)?;
    }
    Ok(s.acked())
}
