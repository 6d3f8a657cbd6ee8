//! Failed log-ins (the gateway's staff, the hub's administrators), counted per key (a client's address, a username): after a few free
//! failures each further attempt must wait, the wait doubling with every failure up to a cap.
//! A key's failures are forgotten once it has gone [`FORGET_AFTER`] without one, and the map is
//! pruned, so a flood of made-up usernames or addresses cannot grow it without bound.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::model::Millis;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Failures are forgotten this long after the last one.
pub const FORGET_AFTER: Millis = 15 * 60_000;
/// The first wait, once the free failures are spent; it doubles with each failure after.
const FIRST_WAIT: Millis = 1_000;

#[derive(Clone, Copy)]
struct Strikes {
    failures: u32,
    last: Millis,
    /// Attempts refused while waiting, since the last failure that was checked.
    refused: u64,
}

impl Strikes {
    /// When the next attempt may be checked.
    fn free_at(&self, free: u32, max_wait: Millis) -> Millis {
        if self.failures < free {
            return 0;
        }
        let doublings = (self.failures - free).min(30);
        let wait = FIRST_WAIT.saturating_mul(1 << doublings).min(max_wait);
        self.last.saturating_add(wait)
    }
}

/// See the module's notes.
pub struct Throttle {
    strikes: Mutex<HashMap<String, Strikes>>,
    /// Failures before the first wait.
    free: u32,
    /// The longest wait.
    max_wait: Millis,
    /// Most keys held; past it, forgotten keys are dropped first, then the oldest.
    cap: usize,
}

/// An attempt refused without being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// Milliseconds until an attempt will be checked again.
    pub ms: Millis,
    /// Whether this is the first refusal since the last checked failure (the one to audit).
    pub first: bool,
}

impl Throttle {
    pub fn new(free: u32, max_wait: Millis, cap: usize) -> Throttle {
        Throttle {
            strikes: Mutex::new(HashMap::new()),
            free,
            max_wait,
            cap: cap.max(1),
        }
    }

    /// `Err` if `key` must still wait; the refusal is counted.
    pub fn check(&self, key: &str, now: Millis) -> Result<(), Wait> {
        let mut map = lock(&self.strikes);
        let Some(s) = map.get_mut(key) else {
            return Ok(());
        };
        let at = s.free_at(self.free, self.max_wait);
        if now >= at {
            return Ok(());
        }
        s.refused += 1;
        Err(Wait {
            ms: at - now,
            first: s.refused == 1,
        })
    }

    /// Counts a failed attempt; returns how many attempts were refused before it since the
    /// last one.
    pub fn fail(&self, key: &str, now: Millis) -> u64 {
        let mut map = lock(&self.strikes);
        if map.len() >= self.cap && !map.contains_key(key) {
            self.prune(&mut map, now);
        }
        let s = map.entry(key.to_owned()).or_insert(Strikes {
            failures: 0,
            last: now,
            refused: 0,
        });
        if now.saturating_sub(s.last) > FORGET_AFTER {
            s.failures = 0;
        }
        s.failures = s.failures.saturating_add(1);
        s.last = now;
        std::mem::take(&mut s.refused)
    }

    /// Forgets `key`'s failures (after a good log-in).
    pub fn clear(&self, key: &str) {
        lock(&self.strikes).remove(key);
    }

    /// Keys that must wait now.
    pub fn waiting(&self, now: Millis) -> usize {
        lock(&self.strikes)
            .values()
            .filter(|s| s.free_at(self.free, self.max_wait) > now)
            .count()
    }

    fn prune(&self, map: &mut HashMap<String, Strikes>, now: Millis) {
        map.retain(|_, s| now.saturating_sub(s.last) <= FORGET_AFTER);
        if map.len() >= self.cap {
            // Still full of recent failures: drop the older half.
            let mut lasts: Vec<Millis> = map.values().map(|s| s.last).collect();
            lasts.sort_unstable();
            let cut = lasts[lasts.len() / 2];
            map.retain(|_, s| s.last > cut);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.strikes).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_begin_after_the_free_failures_and_double_to_the_cap() {
        let t = Throttle::new(3, 8_000, 100);
        for i in 0..3 {
            assert!(t.check("a", i).is_ok());
            t.fail("a", i);
        }
        // Three failures at 0, 1, 2 ms: the next may come 1 s after the last.
        assert_eq!(
            t.check("a", 500),
            Err(Wait {
                ms: 502,
                first: true
            })
        );
        assert!(!t.check("a", 600).unwrap_err().first);
        assert!(t.check("a", 1_002).is_ok());
        assert_eq!(t.fail("a", 1_002), 2, "two refusals came before it");
        assert_eq!(t.check("a", 1_003).unwrap_err().ms, 1_999);
        for k in 0..10 {
            t.fail("a", 10_000 + k);
        }
        assert_eq!(t.check("a", 10_009).unwrap_err().ms, 8_000, "capped");
        assert!(t.check("b", 10_009).is_ok(), "other keys are free");
        assert_eq!(t.waiting(10_009), 1);
        // Quiet for long enough, the failures are forgotten.
        t.fail("a", 10_009 + FORGET_AFTER + 1);
        assert!(t.check("a", 10_009 + FORGET_AFTER + 2).is_ok());
    }

    #[test]
    fn a_flood_of_keys_stays_within_the_cap() {
        let t = Throttle::new(3, 8_000, 1_000);
        for i in 0..50_000u32 {
            t.fail(&format!("user-{i}"), i64::from(i));
        }
        assert!(t.len() <= 1_000, "{} keys held", t.len());
        t.clear("user-49999");
        assert!(t.check("user-49999", 50_000).is_ok());
    }
}
