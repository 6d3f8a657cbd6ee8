//! The indicators as people read them: for the nation, a region or a facility, for a month or
//! a quarter, each figure beside its formula, marked provisional while it may still change,
//! with a 12-month trend, the facilities compared, programmes and referrals, in English and
//! Thai; and the same as CSV, with small cells suppressed. The hub and the gateway put it in
//! their own pages.

use std::collections::{BTreeMap, BTreeSet};

use maud::{Markup, html};

use crate::model::{Facility, Kind, Millis, Partner, Programme, date_of_ms, offset_minutes};
use crate::store::{Store, StoreError};

use super::Counters;
use super::report::{
    Figure, Period, SMALL_CELL, Sums, day_of, figures, median_days, merge, programme_figures,
    sums_by_month,
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

    fn facility(&self, id: &str, th: bool) -> String {
        match self.facilities.get(id) {
            Some(f) if th && !f.name_th.is_empty() => f.name_th.clone(),
            Some(f) => f.name.clone(),
            None => id.to_owned(),
        }
    }

    fn programme(&self, code: &str, th: bool) -> String {
        match self.programmes.get(code) {
            Some(p) if th && !p.title_th.is_empty() => p.title_th.clone(),
            Some(p) => p.title.clone(),
            None => code.to_owned(),
        }
    }

    fn health(&self, code: &str) -> bool {
        self.programmes
            .get(code)
            .is_some_and(|p| p.category.is_health())
    }

    fn regions(&self) -> BTreeSet<String> {
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
const TREND: [&str; 4] = [
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

/// The page's words, English then Thai.
pub fn t(th: bool, key: &str) -> &'static str {
    let (en, thai) = match key {
        "title" => ("Indicators", "ตัวชี้วัด"),
        "area" => ("Where", "พื้นที่"),
        "nation" => ("The whole country", "ทั้งประเทศ"),
        "region" => ("Region", "ภาค"),
        "period" => ("Month or quarter", "เดือนหรือไตรมาส"),
        "show" => ("Show", "แสดง"),
        "csv" => (
            "Export CSV (cells under 5 people suppressed)",
            "ส่งออก CSV (ช่องที่มีน้อยกว่า 5 คนถูกซ่อน)",
        ),
        "figure" => ("Indicator", "ตัวชี้วัด"),
        "value" => ("Figure", "ค่า"),
        "from" => ("From", "จาก"),
        "formula" => ("How it is counted", "วิธีคำนวณ"),
        "provisional" => ("Provisional", "เบื้องต้น"),
        "final" => (
            "These figures are final: the period is over, its attendance can no longer be marked, and no facility has changes waiting to arrive here.",
            "ตัวเลขเหล่านี้เป็นตัวเลขสุดท้าย: ช่วงเวลาสิ้นสุดแล้ว ไม่สามารถบันทึกการเข้าเรียนเพิ่มได้ และไม่มีรายการจากเรือนจำใดรอส่งมาที่นี่",
        ),
        "days_held" => ("days held", "วันที่ถูกคุมขัง"),
        "provisional_head" => (
            "These figures are provisional and may still change:",
            "ตัวเลขเหล่านี้เป็นตัวเลขเบื้องต้นและอาจเปลี่ยนแปลง:",
        ),
        "not_over" => ("the period is not over yet", "ช่วงเวลานี้ยังไม่สิ้นสุด"),
        "waiting" => (
            "changes wait at the facility, not yet at the hub:",
            "มีรายการรอที่เรือนจำ ยังไม่ถึงศูนย์กลาง:",
        ),
        "as_of" => ("as it reported at", "ตามที่รายงานเมื่อ"),
        "not_heard" => (
            "the facility's gateway is not connected; changes made since it was last heard from may not be here:",
            "เกตเวย์ของเรือนจำไม่ได้เชื่อมต่อ รายการหลังการติดต่อครั้งล่าสุดอาจยังมาไม่ถึง:",
        ),
        "never_heard" => ("never heard from", "ไม่เคยติดต่อ"),
        "last_heard" => ("last heard from", "ติดต่อครั้งล่าสุด"),
        "window" => (
            "attendance can still be marked up to and including",
            "ยังบันทึกการเข้าเรียนได้จนถึงวันที่",
        ),
        "facilities" => ("Facilities compared", "เปรียบเทียบเรือนจำ"),
        "programmes" => ("By programme", "แยกตามหลักสูตร"),
        "programme" => ("Programme", "หลักสูตร"),
        "enrolled" => ("People enrolled", "ผู้ลงทะเบียน"),
        "health" => (
            "Health programmes (together; who attends is never shown)",
            "หลักสูตรด้านสุขภาพ (รวมกัน ไม่แสดงผู้เข้าร่วม)",
        ),
        "referrals" => (
            "Referrals by partner and service",
            "การส่งต่อแยกตามหน่วยงานและบริการ",
        ),
        "partner" => ("Partner", "หน่วยงาน"),
        "service" => ("Service", "บริการ"),
        "made" => ("Made", "ส่งต่อ"),
        "accepted" => ("Accepted", "รับแล้ว"),
        "completed" => ("Completed", "เสร็จสิ้น"),
        "median_days" => ("Median days to a decision", "ค่ามัธยฐานวันจนได้คำตอบ"),
        "trend" => ("The last 12 months", "12 เดือนที่ผ่านมา"),
        "month" => ("Month", "เดือน"),
        "none" => ("Nothing recorded in this period.", "ไม่มีข้อมูลในช่วงเวลานี้"),
        "people" => ("people", "คน"),
        "small" => (
            "fewer than 5 people: suppressed in exports",
            "น้อยกว่า 5 คน: ซ่อนเมื่อส่งออก",
        ),
        "per_week" => ("hours per person per week", "ชั่วโมงต่อคนต่อสัปดาห์"),
        "hours" => ("hours", "ชั่วโมง"),
        _ => ("", ""),
    };
    if th { thai } else { en }
}

/// An indicator's name and formula, English then Thai.
pub fn label(th: bool, code: &str) -> (&'static str, &'static str) {
    let (name, formula, name_th, formula_th) = match code {
        "activity_hours" => (
            "Purposeful activity",
            "attended session hours ÷ people held on average ÷ weeks (hours × 7 ÷ days held)",
            "กิจกรรมที่เป็นประโยชน์",
            "ชั่วโมงที่เข้าร่วม ÷ จำนวนผู้ต้องขังเฉลี่ย ÷ จำนวนสัปดาห์",
        ),
        "engagement" => (
            "Engagement",
            "people with an active enrolment ÷ people held, month by month",
            "การมีส่วนร่วม",
            "ผู้ที่ลงทะเบียนอยู่ ÷ ผู้ต้องขัง รายเดือน",
        ),
        "places_filled" => (
            "Places filled",
            "places allocated ÷ places offered, on runs in the period",
            "ที่นั่งที่ใช้",
            "ที่นั่งที่จัดสรร ÷ ที่นั่งทั้งหมด",
        ),
        "attendance" => (
            "Attendance",
            "attended ÷ marks, sessions cancelled left out",
            "อัตราการเข้าเรียน",
            "เข้าเรียน ÷ การบันทึกทั้งหมด ไม่นับคาบที่ยกเลิก",
        ),
        "unacceptable_absence" => (
            "Unacceptable absence",
            "(refused + absent without a reason) ÷ marks",
            "การขาดโดยไม่มีเหตุผล",
            "(ปฏิเสธ + ขาดโดยไม่มีเหตุผล) ÷ การบันทึกทั้งหมด",
        ),
        "completion" => (
            "Completion",
            "completed ÷ enrolments ended by completion, the person's or staff's choice (release and transfer left out)",
            "การจบหลักสูตร",
            "จบหลักสูตร ÷ การลงทะเบียนที่สิ้นสุด (ไม่นับการปล่อยตัวและการย้าย)",
        ),
        "referrals_accepted" => (
            "Referrals accepted",
            "accepted ÷ referrals made in the period",
            "การส่งต่อที่ได้รับ",
            "ได้รับ ÷ การส่งต่อในช่วงเวลา",
        ),
        "referrals_completed" => (
            "Referrals completed",
            "completed ÷ referrals made in the period",
            "การส่งต่อที่เสร็จสิ้น",
            "เสร็จสิ้น ÷ การส่งต่อในช่วงเวลา",
        ),
        "release_accommodation" => (
            "Released with accommodation arranged",
            "released with the plan's accommodation done on the day ÷ released",
            "ปล่อยตัวพร้อมที่พัก",
            "ผู้ได้รับการปล่อยตัวที่มีที่พัก ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_employment" => (
            "Released with work, education or training arranged",
            "released with employment, education or training done on the day ÷ released",
            "ปล่อยตัวพร้อมงานหรือการศึกษา",
            "ผู้ได้รับการปล่อยตัวที่มีงาน/การศึกษา ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_id_documents" => (
            "Released with ID documents",
            "released with ID documents done on the day ÷ released",
            "ปล่อยตัวพร้อมเอกสารประจำตัว",
            "มีเอกสารประจำตัว ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_finance" => (
            "Released with finance arranged",
            "released with finance done on the day ÷ released",
            "ปล่อยตัวพร้อมการเงิน",
            "มีการจัดการการเงิน ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_family" => (
            "Released with family contact arranged",
            "released with family done on the day ÷ released",
            "ปล่อยตัวพร้อมการติดต่อครอบครัว",
            "มีการติดต่อครอบครัว ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "release_health_handover" => (
            "Released with a health handover",
            "released with the health handover done on the day ÷ released",
            "ปล่อยตัวพร้อมการส่งต่อสุขภาพ",
            "มีการส่งต่อสุขภาพ ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "first_night_settled" => (
            "First night: a settled home",
            "released to settled accommodation ÷ released",
            "คืนแรก: ที่พักถาวร",
            "ที่พักถาวร ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "first_night_temporary" => (
            "First night: temporary accommodation",
            "released to temporary accommodation ÷ released",
            "คืนแรก: ที่พักชั่วคราว",
            "ที่พักชั่วคราว ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "first_night_none" => (
            "First night: no accommodation",
            "released with nowhere to stay ÷ released",
            "คืนแรก: ไม่มีที่พัก",
            "ไม่มีที่พัก ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "followed_up" => (
            "Followed up six weeks after release",
            "released people whose six-week follow-up is recorded ÷ released",
            "ติดตามผล 6 สัปดาห์หลังปล่อยตัว",
            "ผู้ที่บันทึกการติดตามผลแล้ว ÷ ผู้ได้รับการปล่อยตัว",
        ),
        "settled_6w" => (
            "In settled accommodation six weeks on",
            "in settled accommodation at the follow-up ÷ followed up",
            "มีที่พักถาวรหลัง 6 สัปดาห์",
            "มีที่พักถาวร ÷ ผู้ที่ติดตามผลแล้ว",
        ),
        "housed_6w" => (
            "Housed six weeks on",
            "in settled or temporary accommodation at the follow-up ÷ followed up",
            "มีที่พักหลัง 6 สัปดาห์",
            "มีที่พักถาวรหรือชั่วคราว ÷ ผู้ที่ติดตามผลแล้ว",
        ),
        "ete_6w" => (
            "In work, education or training six weeks on",
            "in employment, education or training at the follow-up ÷ followed up",
            "มีงานหรือการศึกษาหลัง 6 สัปดาห์",
            "มีงาน การศึกษา หรือการฝึกอบรม ÷ ผู้ที่ติดตามผลแล้ว",
        ),
        "hours_attended" => (
            "Hours attended",
            "session hours attended",
            "ชั่วโมงที่เข้าเรียน",
            "ชั่วโมงที่เข้าเรียน",
        ),
        _ => ("", "", "", ""),
    };
    if th {
        (name_th, formula_th)
    } else {
        (name, formula)
    }
}

fn shown(th: bool, f: &Figure) -> String {
    if f.code == "activity_hours" {
        format!("{} {}", f.shown(), t(th, "per_week"))
    } else if f.code == "hours_attended" {
        format!("{:.1} {}", f.numerator, t(th, "hours"))
    } else {
        f.shown()
    }
}

fn why_words(th: bool, names: &Names, w: &Why, when: &dyn Fn(Millis) -> String) -> String {
    match w {
        Why::NotOver => t(th, "not_over").to_owned(),
        Why::Waiting {
            facility,
            changes,
            as_of,
        } => format!(
            "{} {} ({changes}, {} {})",
            t(th, "waiting"),
            names.facility(facility, th),
            t(th, "as_of"),
            when(*as_of)
        ),
        Why::NotHeard { facility, since } => format!(
            "{} {} ({})",
            t(th, "not_heard"),
            names.facility(facility, th),
            match since {
                Some(at) => format!("{} {}", t(th, "last_heard"), when(*at)),
                None => t(th, "never_heard").to_owned(),
            }
        ),
        Why::WindowOpen { facility, last_day } => format!(
            "{}: {} {last_day}",
            names.facility(facility, th),
            t(th, "window")
        ),
    }
}

/// The choices of area for a reader who may see `areas` (the hub: every one; a facility: its
/// own), and of period: the last 24 months and 8 quarters to `now`.
fn choices(
    names: &Names,
    th: bool,
    own: Option<&str>,
    now: Millis,
) -> (Vec<(String, String)>, Vec<String>) {
    let areas = match own {
        Some(f) => vec![(Area::Facility(f.to_owned()).code(), names.facility(f, th))],
        None => {
            let mut a = vec![("nation".to_owned(), t(th, "nation").to_owned())];
            for r in names.regions() {
                a.push((
                    Area::Region(r.clone()).code(),
                    format!("{}: {r}", t(th, "region")),
                ));
            }
            for id in names.facilities.keys() {
                a.push((Area::Facility(id.clone()).code(), names.facility(id, th)));
            }
            a
        }
    };
    let (y, m) = (day_of(now).year(), u8::from(day_of(now).month()));
    // The last 24 months, newest first.
    let mut periods: Vec<String> = Period::Month(y, m).trend().into_iter().rev().collect();
    periods.extend(Period::Month(y - 1, m).trend().into_iter().rev());
    let mut q = (y, (m - 1) / 3 + 1);
    for _ in 0..8 {
        periods.push(Period::Quarter(q.0, q.1).code());
        q = if q.1 == 1 {
            (q.0 - 1, 4)
        } else {
            (q.0, q.1 - 1)
        };
    }
    periods.dedup();
    (areas, periods)
}

/// The page's body. `own`: the facility a gateway's manager sees (no other choices);
/// `action`: the page's path; `when`: a time as the node shows times.
pub fn render(
    r: &Report,
    names: &Names,
    th: bool,
    (action, own): (&str, Option<&str>),
    now: Millis,
    when: &dyn Fn(Millis) -> String,
) -> Markup {
    let (areas, periods) = choices(names, th, own, now);
    let area = r.area.code();
    let period = r.period.code();
    html! {
        form.choose method="get" action=(action) {
            label { (t(th, "area")) " "
                select name="area" {
                    @for (code, name) in &areas {
                        option value=(code) selected[*code == area] { (name) }
                    }
                }
            }
            " "
            label { (t(th, "period")) " "
                select name="period" {
                    @for p in &periods {
                        option value=(p) selected[*p == period] { (p) }
                    }
                }
            }
            " " button type="submit" { (t(th, "show")) }
        }
        p { a #csv href=(format!("{action}.csv?area={area}&period={period}")) { (t(th, "csv")) } }
        @if r.provisional.is_empty() {
            p #final { (t(th, "final")) }
        } @else {
            section #provisional {
                p { strong.due { (t(th, "provisional")) } " " (t(th, "provisional_head")) }
                ul { @for w in &r.provisional { li { (why_words(th, names, w, when)) } } }
            }
        }
        table #headline {
            thead { tr { th { (t(th, "figure")) } th { (t(th, "value")) } th { (t(th, "from")) } th { (t(th, "formula")) } } }
            tbody {
                @for f in &r.headline {
                    @let (name, formula) = label(th, &f.code);
                    tr id=(format!("fig-{}", f.code)) {
                        td { (name) @if !r.provisional.is_empty() { " " small.due { "(" (t(th, "provisional")) ")" } } }
                        td.num { (shown(th, f)) }
                        td.num { (from(th, f))
                            @if f.small() { br; small { (t(th, "small")) } } }
                        td { small { (formula) } }
                    }
                }
                tr #fig-median_days {
                    td { (t(th, "median_days")) }
                    td.num { @match r.median_decision_days { Some(d) => (d), None => "–" } }
                    td {} td {}
                }
            }
        }
        h2 { (t(th, "trend")) }
        table #trend {
            thead { tr { th { (t(th, "month")) } @for c in TREND { th { (label(th, c).0) } } } }
            tbody {
                @for (m, figs) in &r.trend {
                    tr { td { (m) } @for f in figs { td.num { (shown(th, f)) } } }
                }
            }
        }
        @if !r.facilities.is_empty() {
            h2 { (t(th, "facilities")) }
            table #facilities {
                thead { tr { th { (t(th, "area")) } @for c in TREND { th { (label(th, c).0) } } } }
                tbody {
                    @for row in &r.facilities {
                        tr {
                            td { a href=(format!("{action}?area=facility:{}&period={period}", row.id)) { (names.facility(&row.id, th)) }
                                @if row.provisional { " " small.due { "(" (t(th, "provisional")) ")" } } }
                            @for f in &row.figures { td.num { (shown(th, f)) } }
                        }
                    }
                }
            }
        }
        h2 { (t(th, "programmes")) }
        @if r.programmes.is_empty() { p { (t(th, "none")) } } @else {
            table #programmes {
                thead { tr { th { (t(th, "programme")) } th { (t(th, "enrolled")) } th { (label(th, "attendance").0) } th { (label(th, "hours_attended").0) } th { (label(th, "completion").0) } } }
                tbody {
                    @for (code, figs, enrolled) in &r.programmes {
                        tr {
                            td { @if code == "health" { (t(th, "health")) } @else { (names.programme(code, th)) } }
                            td.num { (enrolled) }
                            @for f in figs { td.num { (shown(th, f)) } }
                        }
                    }
                }
            }
        }
        h2 { (t(th, "referrals")) }
        @if r.referrals.is_empty() { p { (t(th, "none")) } } @else {
            table #referrals {
                thead { tr { th { (t(th, "partner")) } th { (t(th, "service")) } th { (t(th, "made")) } th { (t(th, "accepted")) } th { (t(th, "completed")) } th { (t(th, "median_days")) } } }
                tbody {
                    @for ((partner, service), c) in &r.referrals {
                        tr {
                            td { (names.partners.get(partner).map(|p| p.name.clone()).unwrap_or_else(|| partner.clone())) }
                            td { (service) }
                            td.num { (c.made) } td.num { (c.accepted) } td.num { (c.referrals_completed) }
                            td.num { @match median_days(&c.decision_days) { Some(d) => (d), None => "–" } }
                        }
                    }
                }
            }
        }
    }
}

/// What a figure is counted from: `550 ÷ 645`; for activity, the hours and the days held.
fn from(th: bool, f: &Figure) -> String {
    if f.code == "activity_hours" {
        format!(
            "{:.0} {} × 7 ÷ {} {}",
            f.numerator / 7.0,
            t(th, "hours"),
            fmt_n(f.denominator),
            t(th, "days_held")
        )
    } else {
        format!("{} ÷ {}", fmt_n(f.numerator), fmt_n(f.denominator))
    }
}

fn fmt_n(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// The report as CSV: the area's figures, then each facility's and each programme's, one row
/// per figure with its formula; a figure about fewer than [`SMALL_CELL`] people is left blank
/// and marked suppressed.
pub fn csv(r: &Report, names: &Names) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let provisional = if r.provisional.is_empty() {
        "no"
    } else {
        "yes"
    };
    let _ = w.write_record([
        "area",
        "facility",
        "programme",
        "period",
        "indicator",
        "numerator",
        "denominator",
        "value",
        "provisional",
        "note",
        "formula",
    ]);
    let mut row = |facility: &str, programme: &str, f: &Figure| {
        let (name, formula) = label(false, &f.code);
        let suppressed = f.small();
        let n = |v: f64| if suppressed { String::new() } else { fmt_n(v) };
        let value = match f.value() {
            _ if suppressed => String::new(),
            None => String::new(),
            Some(v) if f.percent => format!("{:.4}", v),
            Some(v) => format!("{v:.4}"),
        };
        let note = if suppressed {
            format!("suppressed: fewer than {SMALL_CELL} people")
        } else {
            String::new()
        };
        let _ = w.write_record([
            r.area.code().as_str(),
            facility,
            programme,
            r.period.code().as_str(),
            &format!("{} ({})", f.code, name),
            &n(f.numerator),
            &n(f.denominator),
            &value,
            provisional,
            &note,
            formula,
        ]);
    };
    for f in &r.headline {
        row("", "", f);
    }
    for fr in &r.facilities {
        let name = format!("{} ({})", fr.id, names.facility(&fr.id, false));
        for f in &fr.figures {
            row(&name, "", f);
        }
    }
    for (code, figs, _) in &r.programmes {
        for f in figs {
            row("", code, f);
        }
    }
    let bytes = w.into_inner().unwrap_or_default();
    String::from_utf8(bytes).unwrap_or_default()
}
