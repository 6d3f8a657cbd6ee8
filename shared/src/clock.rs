//! Where a node reads the time. Library code that needs "now" is handed a [`Clock`] (or the
//! time itself) instead of reading the wall clock, so tests can move time: session expiry,
//! lock-outs and the attendance edit window are tested by jumping, not by waiting.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::model::Millis;

/// Milliseconds since the Unix epoch, by the system clock. Binaries and drivers read it; the
/// rest is handed a [`Clock`].
pub fn now_ms() -> Millis {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as Millis)
}

/// A source of "now", in milliseconds since the Unix epoch. Cheap to clone.
#[derive(Clone)]
pub struct Clock(Arc<dyn Fn() -> Millis + Send + Sync>);

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(Arc::new(now_ms))
    }

    /// A clock that shows what `manual` is set to, for tests.
    pub fn manual(start: Millis) -> (Clock, ManualClock) {
        let at = Arc::new(AtomicI64::new(start));
        let read = at.clone();
        (
            Clock(Arc::new(move || read.load(Ordering::Acquire))),
            ManualClock(at),
        )
    }

    pub fn now(&self) -> Millis {
        (self.0)()
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::system()
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({})", self.now())
    }
}

/// The hand that moves a [`Clock::manual`].
#[derive(Clone, Debug)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// Moves the clock on by `ms`.
    pub fn advance(&self, ms: Millis) {
        self.0.fetch_add(ms, Ordering::AcqRel);
    }

    pub fn set(&self, at: Millis) {
        self.0.store(at, Ordering::Release);
    }
}
