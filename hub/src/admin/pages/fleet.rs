//! The fleet as operators read it: first the gateways that are not level (sorted by how long),
//! then every known gateway with each figure and its age. Colour and words both, so it reads in
//! greyscale; nothing is shown as level or empty that the hub has not seen.

use maud::{Markup, html};
use pathway_shared::model::{Facility, Millis, RevocationList};
use pathway_shared::status::{Alert, NodeStatus, PeerStatus};

use super::certificate_words;
use crate::admin::words::{Lang, ago_words, clock_words, t};

/// How a gateway stands, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Standing {
    /// Its certificate is in use on two boxes.
    TwoBoxes,
    /// Not level with the hub for its facility's time (24 h unless set), or never.
    NotLevel,
    /// Not in session now, but level lately.
    Offline,
    /// In session.
    Online,
}

fn standing(p: &PeerStatus, now: Millis) -> Standing {
    if p.two_boxes.as_ref().is_some_and(|t| t.stands(now)) {
        return Standing::TwoBoxes;
    }
    if p.stale(now) {
        Standing::NotLevel
    } else if p.hearing(now) {
        Standing::Online
    } else {
        Standing::Offline
    }
}

fn standing_words(l: Lang, s: Standing, p: &PeerStatus, now: Millis) -> Markup {
    let (class, words) = match s {
        Standing::TwoBoxes => ("bad", t(l, "st_two_boxes").to_owned()),
        Standing::NotLevel => (
            "bad",
            match p.sync.in_sync_at {
                Some(at) => format!(
                    "{} {}",
                    t(l, "st_not_level_for"),
                    ago_words(l, now, at, false)
                ),
                None if p.sync.last_contact.is_none() => t(l, "st_never_connected").to_owned(),
                None => t(l, "st_never_level").to_owned(),
            },
        ),
        Standing::Offline => ("warn", t(l, "st_offline").to_owned()),
        Standing::Online => ("ok", t(l, "st_online").to_owned()),
    };
    let mark = match class {
        "bad" => "✖",
        "warn" => "▲",
        _ => "✔",
    };
    html! { span class=(class) { (mark) " " (words) } }
}

/// A time as its age ("3 h ago"), or "never".
fn age(l: Lang, now: Millis, at: Option<Millis>) -> String {
    at.map_or_else(
        || t(l, "never").to_owned(),
        |at| ago_words(l, now, at, true),
    )
}

fn waiting_cell(l: Lang, p: &PeerStatus, now: Millis) -> Markup {
    let n: u64 = p.sync.outgoing.iter().map(|b| b.changes).sum();
    let more = p.sync.outgoing.iter().any(|b| b.at_least);
    let oldest = p.sync.outgoing.iter().filter_map(|b| b.oldest).min();
    html! {
        strong { (n) @if more { "+" } }
        @if let Some(o) = oldest.filter(|_| n > 0) {
            br; small { (t(l, "oldest")) " " (ago_words(l, now, o, true)) }
        }
        @if let Some(ms) = p.time_to_drain_ms() {
            br; small { "≈ " (ago_words(l, ms, 0, false)) " " (t(l, "drain")) }
        }
        @if let Some(at) = p.sync.measured_at {
            br; small { (t(l, "counted")) " " (ago_words(l, now, at, true)) }
        } @else {
            br; small { (t(l, "not_counted")) }
        }
    }
}

fn from_it_cell(l: Lang, p: &PeerStatus, now: Millis) -> Markup {
    match (&p.sync.incoming, p.sync.incoming_at) {
        (Some(b), Some(at)) => {
            let n: u64 = b.iter().map(|b| b.changes).sum();
            html! { strong { (n) } br; small { (t(l, "as_reported")) " " (ago_words(l, now, at, true)) } }
        }
        _ => html! { small { (t(l, "not_reported")) } },
    }
}

fn link_cell(l: Lang, p: &PeerStatus) -> Markup {
    match &p.link {
        Some(k) => html! {
            (k.rtt_ms) " ms RTT" br;
            small { (t(l, "loss")) " " (format!("{:.1}%", k.loss * 100.0)) ", "
                (k.down_bps * 8 / 1000) "/" (k.up_bps * 8 / 1000) " kbit/s" }
        },
        None => html! {},
    }
}

/// The fleet section: gateways not level first, then every known gateway.
pub(super) fn section(
    l: Lang,
    status: &NodeStatus,
    facilities: &[Facility],
    revoked: &RevocationList,
    admin_role: bool,
) -> Markup {
    let now = status.now;
    let name_of = |f: &str| {
        facilities
            .iter()
            .find(|x| x.id == f)
            .map_or(f.to_owned(), |x| {
                format!("{} ({f})", super::setup::facility_name(l, x))
            })
    };
    let mut rows: Vec<(&String, &PeerStatus, Standing)> = status
        .peers
        .iter()
        .filter(|(id, _)| !revoked.revoked.contains_key(*id))
        .map(|(id, p)| (id, p, standing(p, now)))
        .collect();
    // Worst first; among those not level, the longest first (never level before all).
    rows.sort_by_key(|(id, p, s)| (*s, p.sync.in_sync_at.unwrap_or(0), (*id).clone()));
    let not_level: Vec<_> = rows
        .iter()
        .filter(|(_, _, s)| *s <= Standing::NotLevel)
        .collect();
    html! {
        section #fleet {
            h2 { (t(l, "fleet")) }
            @if rows.is_empty() { p { (t(l, "no_gateways")) } }
            @else if not_level.is_empty() {
                p.ok #not-level { "✔ " (t(l, "all_level")) }
            } @else {
                div.alert #not-level {
                    strong { "✖ " (t(l, "not_level_head")) " (" (not_level.len()) ")" }
                    ul {
                        @for (id, p, s) in &not_level {
                            li {
                                strong { (id) } " — " (p.facility.as_deref().map(&name_of).unwrap_or_default())
                                ": " (standing_words(l, *s, p, now))
                                "; " (t(l, "waiting_short")) " " (p.sync.outgoing.iter().map(|b| b.changes).sum::<u64>())
                            }
                        }
                    }
                }
            }
            @if !rows.is_empty() {
                table {
                    tr { th { (t(l, "gateway")) } th { (t(l, "status")) } th { (t(l, "last_contact")) }
                         th { (t(l, "level")) } th { (t(l, "waiting")) } th { (t(l, "from_it")) }
                         th { (t(l, "sent_to")) } th { (t(l, "received_from")) } th { (t(l, "link")) }
                         th { (t(l, "refused_writes")) } th { (t(l, "clock")) } th { (t(l, "certificate")) } th {} }
                    @for (id, p, s) in &rows {
                        tr id=(format!("gw-{id}")) {
                            td { strong { a href=(format!("/gateways/{id}")) { (id) } } br; small { (p.facility.as_deref().map(&name_of).unwrap_or_default()) } }
                            td { (standing_words(l, *s, p, now))
                                @if let Some(two) = p.two_boxes.as_ref().filter(|t| t.stands(now)) {
                                    br; small { (t(l, "two_boxes_do")) " " (two.addresses.join(", ")) }
                                }
                                @for a in p.alerts(now).into_iter().filter(|a| !matches!(a, Alert::TwoBoxes | Alert::Stale)) {
                                    br; small.bad { "✖ " (t(l, &format!("alert_{}", a.code()))) }
                                }
                            }
                            td { (age(l, now, p.heard_at())) }
                            td { (age(l, now, p.sync.in_sync_at)) }
                            td.to-it { (waiting_cell(l, p, now)) }
                            td { (from_it_cell(l, p, now)) }
                            td { (age(l, now, p.sync.last_delivered.iter().flatten().max().copied())) }
                            td { (age(l, now, p.sync.last_received)) }
                            td { (link_cell(l, p)) }
                            td { @if p.refused.is_empty() { "0" } @else { span.bad { "✖ " (p.refused.len()) } } }
                            td { (clock_words(l, p.clock_ahead_ms)) }
                            td { (certificate_words(l, id, p.certificate_expires, now)) }
                            td {
                                @if admin_role {
                                    form method="post" action=(format!("/ui/gateways/{id}/revoke")) {
                                        input name="reason" placeholder=(t(l, "reason")) required;
                                        " "
                                        button id=(format!("revoke-{id}")) { (t(l, "revoke")) }
                                    }
                                }
                            }
                        }
                    }
                }
                p { small { (t(l, "refreshes")) } }
            }
            @if !revoked.revoked.is_empty() {
                h3 { (t(l, "revoked")) }
                p { small { (t(l, "revoked_note")) } }
                ul {
                    @for (gw, r) in &revoked.revoked {
                        li { strong { (gw) } " — " (crate::admin::words::when(r.at)) ", " (t(l, "revoked_by")) " " (r.by) ": " (r.reason) }
                    }
                }
            }
            @if admin_role && !facilities.is_empty() {
                h3 { (t(l, "register_gateway")) }
                p { small { (t(l, "register_note")) } }
                form.row method="post" action="/ui/gateways" {
                    label { (t(l, "gateway")) " " input name="gateway" placeholder="gw-whk01-a" required; }
                    label { (t(l, "facility")) " "
                        select name="facility" {
                            @for f in facilities { option value=(f.id) { (super::setup::facility_name(l, f)) " (" (f.id) ")" } }
                        }
                    }
                    button id="register-gateway" { (t(l, "register")) }
                }
            }
        }
    }
}

/// The last 30 days of one gateway, hour by hour: what waited to reach it and to come from it
/// (lines), and the hours it was heard from (the band below), as SVG drawn on the server.
fn chart(l: Lang, hours: &[(i64, crate::fleet::Hour)], now: Millis) -> Markup {
    const W: i64 = crate::fleet::HISTORY_HOURS;
    const H: i64 = 120;
    let last = now / 3_600_000;
    let top = hours
        .iter()
        .map(|(_, h)| h.to_it.max(h.from_it.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1);
    let x = |hour: i64| W - 1 - (last - hour);
    let y = |n: u64| H - 2 - (n as i64 * (H - 4) / top as i64);
    let line = |f: &dyn Fn(&crate::fleet::Hour) -> Option<u64>| -> String {
        hours
            .iter()
            .filter_map(|(hr, h)| Some(format!("{},{}", x(*hr), y(f(h)?))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let to_it = line(&|h| Some(h.to_it));
    let from_it = line(&|h| h.from_it);
    html! {
        figure #history {
            svg xmlns="http://www.w3.org/2000/svg" width=(W) height=(H + 30) viewBox=(format!("0 0 {W} {}", H + 30)) role="img" aria-label=(t(l, "chart_label")) {
                rect x="0" y="0" width=(W) height=(H) fill="#f6f6f6" stroke="#ccc" {}
                polyline points=(to_it) fill="none" stroke="#1f4e99" stroke-width="2" {}
                polyline points=(from_it) fill="none" stroke="#c06000" stroke-width="2" stroke-dasharray="4 2" {}
                @for (hr, h) in hours {
                    rect x=(x(*hr)) y=(H + 4) width="1" height="10" fill=(if h.contact { "#2a8a2a" } else { "#bbb" }) {}
                    @if h.level { rect x=(x(*hr)) y=(H + 16) width="1" height="6" fill="#1f4e99" {} }
                }
                text x="2" y="12" font-size="11" { (top) }
            }
            figcaption {
                span style="color:#1f4e99" { "━ " (t(l, "waiting")) } "  "
                span style="color:#c06000" { "╍ " (t(l, "from_it")) } "  "
                span style="color:#2a8a2a" { "▮ " (t(l, "chart_contact")) } "  "
                small { (t(l, "chart_span")) }
            }
        }
    }
}

/// `/gateways/{gateway}`: one gateway, every figure with its age, its alerts, what it refused,
/// and its last 30 days.
pub(super) async fn gateway_page(
    axum::extract::State(admin): axum::extract::State<std::sync::Arc<crate::admin::Admin>>,
    headers: axum::http::HeaderMap,
    axum::extract::Path(gw): axum::extract::Path<String>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let l = crate::admin::words::lang(&headers);
    let who = match super::viewer(&admin, &headers).await {
        Ok(w) => w,
        Err(r) => return r,
    };
    let status = (admin.status)();
    let Some(p) = status.peers.get(&gw).cloned() else {
        let e = crate::admin::AdminError::not_found(format!("the hub knows no gateway `{gw}`"));
        return super::refused(l, &who, e);
    };
    let (store, id, now) = (admin.store.clone(), gw.clone(), status.now);
    let hours =
        match crate::admin::blocking(move || Ok(crate::fleet::history(&store, &id, now)?)).await {
            Ok(h) => h,
            Err(e) => return super::refused(l, &who, e),
        };
    let s = standing(&p, now);
    let body = html! {
        h1 { (gw) }
        p { (standing_words(l, s, &p, now)) }
        @for a in p.alerts(now) { p.bad { "✖ " (t(l, &format!("alert_{}", a.code()))) } }
        (chart(l, &hours, now))
        table {
            tr { th { (t(l, "last_contact")) } td { (age(l, now, p.heard_at())) } }
            tr { th { (t(l, "level")) } td { (age(l, now, p.sync.in_sync_at)) } }
            tr { th { (t(l, "waiting")) } td { (waiting_cell(l, &p, now)) } }
            tr { th { (t(l, "from_it")) } td { (from_it_cell(l, &p, now)) } }
            tr { th { (t(l, "sent_to")) } td { (age(l, now, p.sync.last_delivered.iter().flatten().max().copied())) } }
            tr { th { (t(l, "received_from")) } td { (age(l, now, p.sync.last_received)) } }
            tr { th { (t(l, "link")) } td { (link_cell(l, &p)) } }
            tr { th { (t(l, "clock")) } td { (clock_words(l, p.clock_ahead_ms)) } }
            tr { th { (t(l, "certificate")) } td { (certificate_words(l, &gw, p.certificate_expires, now)) } }
        }
        @if !p.refused.is_empty() {
            h2 { (t(l, "refused_writes")) }
            ul { @for r in p.refused.iter().rev().take(20) { li { code { (r.doc) } ": " (r.reason) } } }
        }
        p { a href="/" { (t(l, "back")) } }
    };
    super::page_refreshing(l, Some(&who), body, Some(60)).into_response()
}
