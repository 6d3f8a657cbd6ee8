//! The indicators as a report: for the nation, a region or a facility, for a month or a
//! quarter, the headline figures, why they are provisional, the facilities compared, programmes
//! (health programmes together) and referrals, and a 12-month trend. `page.rs` shows it.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{Facility, Kind, Millis, Partner, Programme, date_of_ms, offset_minutes};
use crate::store::{Store, StoreError};

use super::Counters;
use super::report::{
    Figure, Period, Sums, day_of, figures, median_days, merge, programme_figures, sums_by_month,
};
use super::tracker::Tracker;

/// Where the figures are of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Area {
    Nation,
    Region(String),
    Facility(String),
}

impl Area {
    /// `nation`, `region:<name>` or `facility:<id>`.
    pub fn parse(s: &str) -> Option<Area> {
        match s.split_once(':') {
            None if s == "nation" => Some(Area::Nation),
            Some(("region", r)) if !r.is_empty() => Some(Area::Region(r.to_owned())),
            Some(("facility", f)) if !f.is_empty() => Some(Area::Facility(f.to_owned())),
            _ => None,
        }
    }

    pub fn code(&self) -> String {
        match self {
            Area::Nation => "nation".into(),
            Area::Region(r) => format!("region:{r}"),
            Area::Facility(f) => format!("facility:{f}"),
        }
    }
}

/// The names figures are shown with, from the national documents.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub facilities: BTreeMap<String, Facility>,
    pub programmes: BTreeMap<String, Programme>,
    pub partners: BTreeMap<String, Partner>,
}

impl Names {
    pub fn read(store: &Store) -> Result<Names, StoreError> {
        let mut n = Names::default();
        for id in store.list("national", Kind::Facility)? {
            if let Some(f) = store.get::<Facility>(&id)? {
                n.facilities.insert(f.id.clone(), f);
            }
        }
        for id in store.list("national", Kind::Programme)? {
            if let Some(p) = store.get::<Programme>(&id)? {
                n.programmes.insert(p.code.clone(), p);
            }
        }
        for id in store.list("national", Kind::Partner)? {
            if let Some(p) = store.get::<Partner>(&id)? {
                n.partners.insert(p.id.clone(), p);
            }
        }
        Ok(n)
    }

    pub(super) fn facility(&self, id: &str, th: bool) -> String {
        match self.facilities.get(id) {
            Some(f) if th && !f.name_th.is_empty() => f.name_th.clone(),
            Some(f) => f.name.clone(),
            None => id.to_owned(),
        }
    }

    pub(super) fn programme(&self, code: &str, th: bool) -> String {
        match self.programmes.get(code) {
            Some(p) if th && !p.title_th.is_empty() => p.title_th.clone(),
            Some(p) => p.title.clone(),
            None => code.to_owned(),
        }
    }

    pub(super) fn health(&self, code: &str) -> bool {
        self.programmes
            .get(code)
            .is_some_and(|p| p.category.is_health())
    }

    pub(super) fn regions(&self) -> BTreeSet<String> {
        self.facilities
            .values()
            .map(|f| f.region.clone())
            .filter(|r| !r.is_empty())
            .collect()
    }
}

/// Why a figure may still change.
#[derive(Debug, Clone, PartialEq)]
pub enum Why {
    /// The facility's gateway reported changes not yet at the hub.
    Waiting {
        facility: String,
        changes: u64,
        as_of: Millis,
    },
    /// The facility's gateway is not in session: changes made since it was last heard from
    /// may not be here. `None`: never heard from.
    NotHeard {
        facility: String,
        since: Option<Millis>,
    },
    /// Attendance for the period can still be marked at the facility, up to and including the
    /// day (the facility's date).
    WindowOpen { facility: String, last_day: String },
    /// The period is not over.
    NotOver,
}

/// One facility's figures in a comparison.
#[derive(Debug, Clone)]
pub struct FacilityRow {
    pub id: String,
    pub figures: Vec<Figure>,
    pub provisional: bool,
}

/// What the page and the CSV show.
#[derive(Debug, Clone)]
pub struct Report {
    pub area: Area,
    pub period: Period,
    pub headline: Vec<Figure>,
    pub median_decision_days: Option<u32>,
    pub provisional: Vec<Why>,
    pub facilities: Vec<FacilityRow>,
    /// By programme (health programmes together, as `health`), figures then people enrolled.
    pub programmes: Vec<(String, Vec<Figure>, i64)>,
    /// By partner and service: made, accepted, completed, median days to a decision.
    pub referrals: Vec<((String, String), Counters)>,
    /// The headline figures of each of the twelve months ending with the period.
    pub trend: Vec<(String, Vec<Figure>)>,
}

/// The figures the trend and the comparison show.
pub(super) const TREND: [&str; 4] = [
    "activity_hours",
    "engagement",
    "attendance",
    "places_filled",
];

fn pick(all: Vec<Figure>, codes: &[&str]) -> Vec<Figure> {
    codes
        .iter()
        .filter_map(|c| all.iter().find(|f| f.code == *c).cloned())
        .collect()
}

/// The report of `area` for `period`, as of `now`. `heard` says, for a facility, why the node
/// may not hold all of its changes (the hub: its gateway's word; a gateway: nothing).
pub fn build(
    tracker: &Tracker,
    names: &Names,
    (area, period): (Area, Period),
    now: Millis,
    heard: &dyn Fn(&str) -> Option<Why>,
) -> Report {
    let today = day_of(now);
    let ids: Vec<String> = match &area {
        // Facilities in the registry, and any whose records arrived before it named them.
        Area::Nation => {
            let mut all: BTreeSet<String> = names.facilities.keys().cloned().collect();
            all.extend(tracker.with(|t| t.facilities()));
            all.into_iter().collect()
        }
        Area::Region(r) => names
            .facilities
            .values()
            .filter(|f| &f.region == r)
            .map(|f| f.id.clone())
            .collect(),
        Area::Facility(f) => vec![f.clone()],
    };
    let trend_months = period.trend();
    let wanted: BTreeSet<String> = period.months().into_iter().collect();
    let mut provisional = Vec::new();
    if period.days().1 > today {
        provisional.push(Why::NotOver);
    }
    let mut rows = Vec::new();
    let mut by_month: BTreeMap<String, Vec<Sums>> = BTreeMap::new();
    let mut in_period = Vec::new();
    for id in &ids {
        let one: BTreeSet<String> = [id.clone()].into_iter().collect();
        let months = tracker.with(|t| sums_by_month(t, &one, &trend_months, today));
        let mine = merge(
            months
                .iter()
                .filter(|(m, _)| wanted.contains(*m))
                .map(|(_, s)| s.clone()),
        );
        let mut row_provisional = false;
        if let Some(why) = heard(id) {
            provisional.push(why);
            row_provisional = true;
        }
        if mine.window_closes > now {
            let offset = names
                .facilities
                .get(id)
                .and_then(|f| jiff::tz::TimeZone::get(&f.time_zone).ok())
                .map(|z| offset_minutes(&z, mine.window_closes))
                .unwrap_or(0);
            let last = mine.window_closes + i64::from(offset) * 60_000 - 1;
            provisional.push(Why::WindowOpen {
                facility: id.clone(),
                last_day: date_of_ms(last),
            });
            row_provisional = true;
        }
        rows.push(FacilityRow {
            id: id.clone(),
            figures: pick(figures(&mine.all), &TREND),
            provisional: row_provisional,
        });
        for (m, s) in months {
            by_month.entry(m).or_default().push(s);
        }
        in_period.push(mine);
    }
    let total = merge(in_period);
    let mut programmes: BTreeMap<String, Counters> = BTreeMap::new();
    for (code, c) in &total.by_programme {
        if code.is_empty() {
            continue;
        }
        let key = if names.health(code) {
            "health".to_owned()
        } else {
            code.clone()
        };
        programmes.entry(key).or_default().add(c, 1);
    }
    Report {
        median_decision_days: median_days(&total.all.decision_days),
        headline: figures(&total.all),
        provisional,
        facilities: if matches!(area, Area::Facility(_)) {
            Vec::new()
        } else {
            rows
        },
        programmes: programmes
            .into_iter()
            .map(|(code, c)| (code, programme_figures(&c), c.enrolled))
            .collect(),
        referrals: total.by_referral.into_iter().collect(),
        trend: by_month
            .into_iter()
            .map(|(m, s)| (m, pick(figures(&merge(s).all), &TREND)))
            .collect(),
        area,
        period,
    }
}
