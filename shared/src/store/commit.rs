//! Group commit: a write is acknowledged only after a `flush()` that covers it, and every writer
//! waiting at the same moment shares that one flush.
//!
//! Writers apply their batch, take a ticket, and wait. The first waiter to find no flush running
//! becomes the leader: it flushes everything written so far and wakes the rest. Writes that land
//! while a flush runs are covered by the next one, so the number of fsyncs follows the disk's
//! speed, not the request rate.

use std::sync::{Condvar, Mutex, MutexGuard};

#[derive(Default)]
struct State {
    /// Ticket of the last batch applied to sled.
    written: u64,
    /// Feed seq of the last change in a batch applied to sled.
    written_seq: u64,
    /// Every ticket up to this one is durable.
    durable: u64,
    /// Every feed seq up to this one is durable.
    durable_seq: u64,
    flushing: bool,
    flushes: u64,
}

pub(super) struct GroupCommit {
    state: Mutex<State>,
    flushed: Condvar,
    /// Counts flushes ended (done or failed), for async waiters.
    ended: tokio::sync::watch::Sender<u64>,
}

/// Where a batch stands.
pub(super) enum Check {
    Durable,
    /// A flush is running; it or the next one covers the batch.
    Flushing,
    /// Nobody is flushing: the waiter must.
    Idle,
}

impl GroupCommit {
    pub(super) fn new(durable_seq: u64) -> GroupCommit {
        GroupCommit {
            state: Mutex::new(State {
                written_seq: durable_seq,
                durable_seq,
                ..State::default()
            }),
            flushed: Condvar::new(),
            ended: tokio::sync::watch::Sender::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records that a batch is in sled, and returns its ticket. Callers hold the store's write
    /// lock, so tickets follow the order in which batches reached sled.
    pub(super) fn written(&self, last_seq: u64) -> u64 {
        let mut s = self.lock();
        s.written += 1;
        s.written_seq = s.written_seq.max(last_seq);
        s.written
    }

    pub(super) fn durable_seq(&self) -> u64 {
        self.lock().durable_seq
    }

    /// Flushes done so far: with acknowledged writes, this tells how many shared each flush.
    pub(super) fn flushes(&self) -> u64 {
        self.lock().flushes
    }

    /// Wakes on the end of every flush from now on.
    pub(super) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.ended.subscribe()
    }

    pub(super) fn check(&self, ticket: u64) -> Check {
        let s = self.lock();
        if s.durable >= ticket {
            Check::Durable
        } else if s.flushing {
            Check::Flushing
        } else {
            Check::Idle
        }
    }

    /// Returns once the batch with `ticket` is on disk.
    pub(super) fn wait(
        &self,
        ticket: u64,
        flush: impl Fn() -> Result<(), sled::Error>,
    ) -> Result<(), sled::Error> {
        let mut s = self.lock();
        loop {
            if s.durable >= ticket {
                return Ok(());
            }
            if s.flushing {
                s = self.flushed.wait(s).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            s.flushing = true;
            let (target, target_seq) = (s.written, s.written_seq);
            drop(s);
            let result = flush();
            s = self.lock();
            s.flushing = false;
            if result.is_ok() {
                s.flushes += 1;
                s.durable = s.durable.max(target);
                s.durable_seq = s.durable_seq.max(target_seq);
            }
            self.flushed.notify_all();
            self.ended.send_modify(|n| *n += 1);
            result?;
        }
    }
}
