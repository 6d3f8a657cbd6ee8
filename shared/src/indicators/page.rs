//! The indicators as people read them: the report (`view.rs`) in English and Thai, each figure
//! beside its formula, marked provisional while it may still change; and the same as CSV, with
//! small cells suppressed. The hub and the gateway put it in their own pages.

use maud::{Markup, html};

use crate::model::Millis;

use super::report::{Figure, Period, SMALL_CELL, day_of, median_days};
use super::view::{Area, Names, Report, TREND, Why};
use super::words::{label, t};

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

/// The CSV's file name: `pathway-indicators-facility-WHK-2026-11.csv`.
pub fn csv_file_name(r: &Report) -> String {
    format!(
        "pathway-indicators-{}-{}.csv",
        r.area.code().replace(':', "-"),
        r.period.code()
    )
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
