//! Link policy: when each class may use the link, and how many bytes it may spend. Pure
//! functions of the time handed in; the sync session consults them before each data frame.
//! Urgent changes are never held back by a budget or a window.

use serde::{Deserialize, Serialize};

use crate::model::{Class, Millis};
use crate::wire::LinkTerms;

/// A daily time window, in minutes after the facility's local midnight; `from > to` wraps past
/// midnight (22:00–05:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub class: Class,
    pub from_minute: u16,
    pub to_minute: u16,
}

impl Window {
    /// Minutes after midnight of a time of day written `HH:MM` (24-hour).
    pub fn minute(hhmm: &str) -> Option<u16> {
        let t =
            time::Time::parse(hhmm, time::macros::format_description!("[hour]:[minute]")).ok()?;
        Some(u16::from(t.hour()) * 60 + u16::from(t.minute()))
    }

    /// Minutes east of UTC of an offset written `+HH:MM` or `-HH:MM`.
    pub fn offset_minutes(offset: &str) -> Option<i32> {
        let o = time::UtcOffset::parse(
            offset,
            time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
        )
        .ok()?;
        Some(o.whole_minutes().into())
    }

    fn contains(&self, minute: u16) -> bool {
        if self.from_minute <= self.to_minute {
            (self.from_minute..self.to_minute).contains(&minute)
        } else {
            minute >= self.from_minute || minute < self.to_minute
        }
    }
}

/// The policy for one gateway's link. It governs both directions: the gateway declares it in
/// its hello, and the hub applies it to what it sends that gateway. Each side counts the
/// budgets against its own sends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkPolicy {
    /// Cap on the bits per second a side sends; 0 is none. quinn has no rate cap of its own, so
    /// the driver paces its writes to it.
    pub rate_bps: u64,
    /// The facility's offset from UTC, in minutes: windows, days and months are local.
    pub utc_offset_minutes: i32,
    /// A class with one or more windows may send only inside them; a class with none, any time.
    pub windows: Vec<Window>,
    /// Bytes per local day, per class (urgent, records, bulk); `None` is unlimited.
    pub daily_bytes: [Option<u64>; 3],
    /// Bytes per calendar month, per class.
    pub monthly_bytes: [Option<u64>; 3],
}

/// Whether a class's windows are open at some moment, and when that changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowState {
    pub open: bool,
    /// `None`: it never changes (a window that is always, or never, open).
    pub changes_at: Option<Millis>,
}

/// Bytes spent, per class, in the current local day and calendar month. Kept in the store, so a
/// restart or a reconnect does not hand out a fresh budget.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    day: i64,
    month: i64,
    pub today: [u64; 3],
    pub this_month: [u64; 3],
}

const DAY_MS: Millis = 86_400_000;

impl Usage {
    /// Starts a new day or month when `local` (local time) is in one.
    fn roll(&mut self, local: Millis) {
        let day = local.div_euclid(DAY_MS);
        let month = time::OffsetDateTime::from_unix_timestamp(local.div_euclid(1_000))
            .map_or(0, |t| {
                i64::from(t.year()) * 12 + i64::from(u8::from(t.month()))
            });
        if day != self.day {
            self.day = day;
            self.today = [0; 3];
        }
        if month != self.month {
            self.month = month;
            self.this_month = [0; 3];
        }
    }

    fn add(&mut self, class: Class, bytes: u64, local: Millis) {
        self.roll(local);
        self.today[class as usize] += bytes;
        self.this_month[class as usize] += bytes;
    }
}

/// Why a class may not send now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Held {
    OutsideWindow,
    DailyBudget,
    MonthlyBudget,
}

impl LinkPolicy {
    /// The policy as a gateway declares it in its hello.
    pub fn terms(&self) -> LinkTerms {
        LinkTerms {
            rate_bps: self.rate_bps,
            utc_offset_minutes: self.utc_offset_minutes,
            windows: self
                .windows
                .iter()
                .map(|w| (w.class as u8, w.from_minute, w.to_minute))
                .collect(),
            daily_bytes: self.daily_bytes,
            monthly_bytes: self.monthly_bytes,
        }
    }

    /// The policy a gateway declared. A window with an unknown class or a minute past the end
    /// of the day is left out; an offset beyond ±24 h counts as none.
    pub fn from_terms(t: &LinkTerms) -> LinkPolicy {
        LinkPolicy {
            rate_bps: t.rate_bps,
            utc_offset_minutes: if t.utc_offset_minutes.abs() < 24 * 60 {
                t.utc_offset_minutes
            } else {
                0
            },
            windows: t
                .windows
                .iter()
                .filter(|(_, from, to)| *from < 24 * 60 && *to < 24 * 60)
                .filter_map(|(c, from, to)| {
                    Some(Window {
                        class: Class::from_u8(*c)?,
                        from_minute: *from,
                        to_minute: *to,
                    })
                })
                .collect(),
            daily_bytes: t.daily_bytes,
            monthly_bytes: t.monthly_bytes,
        }
    }

    fn local(&self, now: Millis) -> Millis {
        now + Millis::from(self.utc_offset_minutes) * 60_000
    }

    /// Counts `bytes` sent in `class` at `now`.
    pub fn spend(&self, usage: &mut Usage, class: Class, bytes: u64, now: Millis) {
        usage.add(class, bytes, self.local(now));
    }

    /// `class`'s windows at `now`: `None` if it has none (it may send at any time); otherwise
    /// whether one is open, and when that next changes (to the minute). Budgets aside.
    pub fn window_at(&self, class: Class, now: Millis) -> Option<WindowState> {
        let windows: Vec<&Window> = self.windows.iter().filter(|w| w.class == class).collect();
        if windows.is_empty() || class == Class::Urgent {
            return None;
        }
        let local = self.local(now);
        let minute = local.rem_euclid(DAY_MS) / 60_000;
        let open_at = |m: i64| {
            let m = m.rem_euclid(1_440) as u16;
            windows.iter().any(|w| w.contains(m))
        };
        let open = open_at(minute);
        // The first minute, within a day, at which it is the other way.
        let start_of_minute = now - local.rem_euclid(60_000);
        Some(WindowState {
            open,
            changes_at: (1..=1_440)
                .find(|d| open_at(minute + d) != open)
                .map(|d| start_of_minute + d * 60_000),
        })
    }

    /// Whether `class` may send a data frame now.
    pub fn check(&self, class: Class, now: Millis, usage: &mut Usage) -> Result<(), Held> {
        if class == Class::Urgent {
            return Ok(());
        }
        let local = self.local(now);
        usage.roll(local);
        let minute = (local.rem_euclid(DAY_MS) / 60_000) as u16;
        let mut windows = self.windows.iter().filter(|w| w.class == class).peekable();
        if windows.peek().is_some() && !windows.any(|w| w.contains(minute)) {
            return Err(Held::OutsideWindow);
        }
        let i = class as usize;
        if self.daily_bytes[i].is_some_and(|b| usage.today[i] >= b) {
            return Err(Held::DailyBudget);
        }
        if self.monthly_bytes[i].is_some_and(|b| usage.this_month[i] >= b) {
            return Err(Held::MonthlyBudget);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_wrap_midnight_and_budgets_spare_urgent() {
        let bulk_night = Window {
            class: Class::Bulk,
            from_minute: Window::minute("22:00").unwrap(),
            to_minute: Window::minute("05:00").unwrap(),
        };
        // Thailand: UTC+7. The times below are local.
        let p = LinkPolicy {
            rate_bps: 0,
            utc_offset_minutes: 7 * 60,
            windows: vec![bulk_night],
            daily_bytes: [Some(1), Some(1_000), None],
            monthly_bytes: [None, Some(1_500), None],
        };
        let mut u = Usage::default();
        let at = |h: i64, m: i64| 100 * DAY_MS + (h * 60 + m - 7 * 60) * 60_000;
        assert_eq!(
            p.check(Class::Bulk, at(21, 59), &mut u),
            Err(Held::OutsideWindow)
        );
        assert_eq!(p.check(Class::Bulk, at(23, 0), &mut u), Ok(()));
        assert_eq!(p.check(Class::Bulk, at(4, 59), &mut u), Ok(()));
        assert_eq!(
            p.check(Class::Bulk, at(5, 0), &mut u),
            Err(Held::OutsideWindow)
        );
        assert_eq!(p.check(Class::Records, at(12, 0), &mut u), Ok(()));
        p.spend(&mut u, Class::Records, 1_000, at(12, 0));
        p.spend(&mut u, Class::Urgent, 5_000, at(12, 0));
        assert_eq!(
            p.check(Class::Records, at(12, 1), &mut u),
            Err(Held::DailyBudget)
        );
        assert_eq!(
            p.check(Class::Urgent, at(12, 1), &mut u),
            Ok(()),
            "urgent is never held"
        );
        // A new day resets the daily budget, not the monthly one. Day 100 after the epoch is
        // 11 April 1970; the month ends with day 119.
        assert_eq!(p.check(Class::Records, at(12, 0) + DAY_MS, &mut u), Ok(()));
        p.spend(&mut u, Class::Records, 600, at(12, 0) + DAY_MS);
        assert_eq!(
            p.check(Class::Records, at(12, 0) + 2 * DAY_MS, &mut u),
            Err(Held::MonthlyBudget)
        );
        assert_eq!(
            p.check(Class::Records, at(0, 0) + 20 * DAY_MS, &mut u),
            Ok(())
        );
        // When the night window opens and closes.
        assert_eq!(
            p.window_at(Class::Bulk, at(21, 0) + 30_000),
            Some(WindowState {
                open: false,
                changes_at: Some(at(22, 0))
            })
        );
        assert_eq!(
            p.window_at(Class::Bulk, at(23, 15)),
            Some(WindowState {
                open: true,
                changes_at: Some(at(5, 0) + DAY_MS)
            })
        );
        assert_eq!(p.window_at(Class::Records, at(23, 15)), None, "no window");
        let always = LinkPolicy {
            windows: vec![Window {
                class: Class::Bulk,
                from_minute: 0,
                to_minute: 0,
            }],
            ..p.clone()
        };
        assert_eq!(
            always.window_at(Class::Bulk, at(3, 0)),
            Some(WindowState {
                open: false,
                changes_at: None
            }),
            "an empty window never opens"
        );
        assert_eq!(Window::minute("24:00"), None);
        assert_eq!(Window::minute("22:30"), Some(1350));
        assert_eq!(Window::offset_minutes("+07:00"), Some(420));
        assert_eq!(Window::offset_minutes("-03:30"), Some(-210));
        assert_eq!(
            Window::offset_minutes("07:00"),
            None,
            "the sign is required"
        );
    }
}
