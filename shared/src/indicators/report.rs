//! The figures: each indicator as a numerator over a denominator for a set of facilities and
//! months, with the number of people behind it, so a figure about fewer than
//! [`SMALL_CELL`] people can be left out of an export.

use std::collections::{BTreeMap, BTreeSet};

use time::Date;

use crate::model::{ReleasePlan, month_of, parse_date};

use super::{Counters, Dim, Totals};

/// Figures about fewer people than this are suppressed in exports.
pub const SMALL_CELL: i64 = 5;

/// A month (`2026-11`) or a quarter (`2026-Q4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month(i32, u8),
    Quarter(i32, u8),
}

impl Period {
    /// `2026-11` or `2026-Q4`.
    pub fn parse(s: &str) -> Option<Period> {
        let (y, rest) = s.trim().split_once('-')?;
        let y: i32 = y.parse().ok().filter(|y| (1970..=9999).contains(y))?;
        if let Some(q) = rest.strip_prefix('Q').or_else(|| rest.strip_prefix('q')) {
            let q: u8 = q.parse().ok().filter(|q| (1..=4).contains(q))?;
            return Some(Period::Quarter(y, q));
        }
        let m: u8 = rest.parse().ok().filter(|m| (1..=12).contains(m))?;
        Some(Period::Month(y, m))
    }

    /// The last whole month before `now` (ms): what figures are asked for unless said.
    pub fn last_whole_month(now: i64) -> Period {
        let today = day_of(now);
        let first = today.replace_day(1).unwrap_or(today);
        Period::month_of(first.previous_day().unwrap_or(first))
    }

    /// The month `day` falls in.
    pub fn month_of(day: Date) -> Period {
        Period::Month(day.year(), u8::from(day.month()))
    }

    pub fn code(self) -> String {
        match self {
            Period::Month(y, m) => format!("{y:04}-{m:02}"),
            Period::Quarter(y, q) => format!("{y:04}-Q{q}"),
        }
    }

    /// The months it holds, as registers name them.
    pub fn months(self) -> Vec<String> {
        match self {
            Period::Month(y, m) => vec![format!("{y:04}-{m:02}")],
            Period::Quarter(y, q) => (1..=3)
                .map(|i| format!("{y:04}-{:02}", (q - 1) * 3 + i))
                .collect(),
        }
    }

    /// The first day of its first month, and the first day after it.
    pub fn days(self) -> (Date, Date) {
        let months = self.months();
        let first = parse_date(&format!("{}-01", months[0])).unwrap_or(Date::MIN);
        let last = parse_date(&format!("{}-01", months[months.len() - 1])).unwrap_or(first);
        (first, next_month(last))
    }

    /// The twelve months ending with its last.
    pub fn trend(self) -> Vec<String> {
        let (_, after) = self.days();
        let mut out = Vec::new();
        let mut at = after.previous_day().unwrap_or(after);
        for _ in 0..12 {
            out.push(month_of(at));
            let first = at.replace_day(1).unwrap_or(at);
            at = first.previous_day().unwrap_or(first);
        }
        out.reverse();
        out
    }
}

fn next_month(d: Date) -> Date {
    let (y, m) = (d.year(), u8::from(d.month()));
    let (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    time::Month::try_from(m)
        .ok()
        .and_then(|m| Date::from_calendar_date(y, m, 1).ok())
        .unwrap_or(d)
}

/// The counters of some facilities over some months, with the open counts resolved up to
/// `today`.
#[derive(Debug, Clone, Default)]
pub struct Sums {
    pub all: Counters,
    pub by_programme: BTreeMap<String, Counters>,
    pub by_referral: BTreeMap<(String, String), Counters>,
    /// When the last attendance edit window of these months closes (ms; 0: none).
    pub window_closes: i64,
}

/// Sums, month by month, over `facilities`, for each of `months`. `today` bounds the counts of
/// people still held; `programme_of` resolves a run to its programme.
pub fn sums_by_month(
    totals: &Totals,
    facilities: &BTreeSet<String>,
    months: &[String],
    today: Date,
) -> BTreeMap<String, Sums> {
    let mut out: BTreeMap<String, Sums> = months
        .iter()
        .map(|m| (m.clone(), Sums::default()))
        .collect();
    let wanted: BTreeSet<&str> = months.iter().map(String::as_str).collect();
    let today_month = month_of(today);
    for f in facilities {
        let from = super::Key {
            facility: f.clone(),
            month: String::new(),
            dim: Dim::All,
        };
        let mut run_programme: BTreeMap<&str, &str> = BTreeMap::new();
        let keys: Vec<_> = totals
            .by
            .range(from..)
            .take_while(|(k, _)| &k.facility == f)
            .collect();
        for (k, _) in &keys {
            if let Dim::RunOf { run, programme } = &k.dim {
                run_programme.insert(run, programme);
            }
        }
        for (k, c) in keys {
            if k.month.is_empty() {
                // Open counts: each month they reach.
                for (m, s) in out.iter_mut() {
                    if *m > today_month {
                        continue;
                    }
                    let (first, after) =
                        Period::parse(m).map(Period::days).unwrap_or((today, today));
                    match &k.dim {
                        Dim::HeldFrom(d) => {
                            let Ok(d) = parse_date(d) else { continue };
                            let end = after.min(today.next_day().unwrap_or(today));
                            if d < after && d < end {
                                s.all.held += c.held;
                                s.all.person_days += c.held * (end - d.max(first)).whole_days();
                            }
                        }
                        Dim::EngagedFrom(from) if from.as_str() <= m.as_str() => {
                            s.all.engaged += c.engaged;
                        }
                        Dim::EnrolledFrom(from, p) if from.as_str() <= m.as_str() => {
                            s.by_programme.entry(p.clone()).or_default().enrolled += c.enrolled;
                        }
                        _ => {}
                    }
                }
                continue;
            }
            if !wanted.contains(k.month.as_str()) {
                continue;
            }
            let Some(s) = out.get_mut(&k.month) else {
                continue;
            };
            match &k.dim {
                Dim::All => s.all.add(c, 1),
                Dim::Programme(p) => {
                    s.by_programme.entry(p.clone()).or_default().add(c, 1);
                    s.all.ended += c.ended;
                    s.all.completed += c.completed;
                }
                Dim::Run(run) => {
                    let p = run_programme.get(run.as_str()).copied().unwrap_or("");
                    s.by_programme.entry(p.to_owned()).or_default().add(c, 1);
                    let all = &mut s.all;
                    all.capacity += c.capacity;
                    all.allocated += c.allocated;
                    all.marks += c.marks;
                    all.attended += c.attended;
                    all.unacceptable += c.unacceptable;
                    all.attended_minutes += c.attended_minutes;
                    all.people_marked += c.people_marked;
                }
                Dim::Referral { partner, service } => {
                    s.by_referral
                        .entry((partner.clone(), service.clone()))
                        .or_default()
                        .add(c, 1);
                    let all = &mut s.all;
                    all.made += c.made;
                    all.accepted += c.accepted;
                    all.referrals_completed += c.referrals_completed;
                    for (d, n) in &c.decision_days {
                        *all.decision_days.entry(*d).or_default() += n;
                    }
                }
                Dim::Window(_) => s.window_closes = s.window_closes.max(c.window_closes),
                _ => {}
            }
        }
    }
    out
}

/// The sums of several months as one.
pub fn merge(months: impl IntoIterator<Item = Sums>) -> Sums {
    let mut out = Sums::default();
    for s in months {
        out.all.add(&s.all, 1);
        for (p, c) in s.by_programme {
            out.by_programme.entry(p).or_default().add(&c, 1);
        }
        for (r, c) in s.by_referral {
            out.by_referral.entry(r).or_default().add(&c, 1);
        }
        out.window_closes = out.window_closes.max(s.window_closes);
    }
    out
}

/// One figure: `numerator ÷ denominator`, about `people` people.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// The indicator's code (`attendance`, `release_accommodation`).
    pub code: String,
    pub numerator: f64,
    pub denominator: f64,
    pub people: i64,
    /// A rate (shown as a percentage) or a quantity per unit (hours per person per week).
    pub percent: bool,
}

impl Figure {
    /// The value, if there is a denominator.
    pub fn value(&self) -> Option<f64> {
        (self.denominator > 0.0).then(|| self.numerator / self.denominator)
    }

    /// About fewer than [`SMALL_CELL`] people (but some).
    pub fn small(&self) -> bool {
        self.people > 0 && self.people < SMALL_CELL
    }

    /// The value as people read it: `72.4%`, `3.5`, or `–` without a denominator.
    pub fn shown(&self) -> String {
        match self.value() {
            None => "–".into(),
            Some(v) if self.percent => format!("{:.1}%", v * 100.0),
            Some(v) => format!("{v:.2}"),
        }
    }
}

fn rate(code: &str, numerator: i64, denominator: i64, people: i64) -> Figure {
    Figure {
        code: code.into(),
        numerator: numerator as f64,
        denominator: denominator as f64,
        people,
        percent: true,
    }
}

/// The median of a histogram of days.
pub fn median_days(hist: &BTreeMap<u32, i64>) -> Option<u32> {
    let n: i64 = hist.values().sum();
    if n <= 0 {
        return None;
    }
    let mut seen = 0;
    for (d, c) in hist {
        seen += c;
        if seen * 2 >= n {
            return Some(*d);
        }
    }
    None
}

/// Every headline figure of `s`, in the order pages show them.
pub fn figures(s: &Counters) -> Vec<Figure> {
    let mut out = vec![
        Figure {
            code: "activity_hours".into(),
            // hours × 7 ÷ person-days = hours ÷ average people held ÷ weeks.
            numerator: s.attended_minutes as f64 / 60.0 * 7.0,
            denominator: s.person_days as f64,
            people: s.held,
            percent: false,
        },
        rate("engagement", s.engaged, s.held, s.held),
        rate("places_filled", s.allocated, s.capacity, s.allocated),
        rate("attendance", s.attended, s.marks, s.people_marked),
        rate(
            "unacceptable_absence",
            s.unacceptable,
            s.marks,
            s.people_marked,
        ),
        rate("completion", s.completed, s.ended, s.ended),
        rate("referrals_accepted", s.accepted, s.made, s.made),
        rate("referrals_completed", s.referrals_completed, s.made, s.made),
    ];
    for (i, item) in ReleasePlan::ITEMS.iter().enumerate() {
        out.push(rate(
            &format!("release_{item}"),
            s.arranged[i],
            s.released,
            s.released,
        ));
    }
    out.push(rate(
        "first_night_settled",
        s.first_night_settled,
        s.released,
        s.released,
    ));
    out.push(rate(
        "first_night_temporary",
        s.first_night_temporary,
        s.released,
        s.released,
    ));
    out.push(rate(
        "first_night_none",
        s.first_night_none,
        s.released,
        s.released,
    ));
    out.push(rate("followed_up", s.followed_up, s.released, s.released));
    out.push(rate(
        "settled_6w",
        s.settled_6w,
        s.followed_up,
        s.followed_up,
    ));
    out.push(rate(
        "housed_6w",
        s.settled_6w + s.temporary_6w,
        s.followed_up,
        s.followed_up,
    ));
    out.push(rate("ete_6w", s.ete_6w, s.followed_up, s.followed_up));
    out
}

/// The figures of one programme: people enrolled, attendance, hours attended, completion.
pub fn programme_figures(c: &Counters) -> Vec<Figure> {
    vec![
        rate(
            "attendance",
            c.attended,
            c.marks,
            c.people_marked.max(c.enrolled),
        ),
        Figure {
            code: "hours_attended".into(),
            numerator: c.attended_minutes as f64 / 60.0,
            denominator: 1.0,
            people: c.people_marked.max(c.enrolled),
            percent: false,
        },
        rate("completion", c.completed, c.ended, c.ended),
    ]
}

/// Today, as a date, for a time in ms.
pub fn day_of(ms: i64) -> Date {
    parse_date(&crate::model::date_of_ms(ms)).unwrap_or(Date::MIN)
}
