//! The fleet: every gateway the hub knows of, whether or not it is connected or ever was, and
//! what waits at the hub to reach each one. A gateway is known once a national administrator
//! registers it (the dashboard or `POST /api/gateways`, after `pathway enrol`) or once it
//! presents its certificate (over QUIC or on a courier file); both are kept in node-local
//! tables, so the list survives a restart. For a gateway not in session, the changes waiting to
//! reach it are counted from the hub's own feed against the gateway's acknowledged cursors
//! (`hub_backlog`), so an offline gateway never shows "nothing waiting" while something does.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use pathway_shared::model::{Facility, Millis, facility_id};
use pathway_shared::store::{Store, StoreError};
use pathway_shared::sync::{Session, Tally, hub_backlog};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use pathway_shared::status::PeerStatus;

use crate::{HubStatus, LiveSessions, lock, revoke};

/// Node-local table: the gateways a national administrator registered, by id.
pub const ENROLLED: &str = "fleet";

/// A gateway registered at the hub before (or after) it first connected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    pub facility: String,
    pub at: Millis,
    pub by: String,
}

/// Node-local table: per gateway and hour, what the fleet saw (`{gateway}/{hour}`), 30 days.
pub const HISTORY: &str = "fleet_history";
/// Hours of history kept and drawn.
pub const HISTORY_HOURS: i64 = 30 * 24;
const HOUR: Millis = 3_600_000;
/// How often the current hour is saved, so a restart loses at most this much of it.
const SAVE_EVERY: Millis = 10 * 60_000;

/// One hour of one gateway, as the fleet saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hour {
    /// The most changes waiting to reach it.
    pub to_it: u64,
    /// The most it reported waiting to come from it, if it reported.
    pub from_it: Option<u64>,
    /// It was heard from.
    pub contact: bool,
    /// Both sides were level at some moment.
    pub level: bool,
}

/// The hour being seen of one gateway: which, what so far, and when it was last saved.
type Seeing = (i64, Hour, Millis);

fn hour_key(gateway: &str, hour: i64) -> String {
    format!("{gateway}/{hour:010}")
}

/// The last [`HISTORY_HOURS`] hours of `gateway` held, oldest first, as (hour, what was seen).
pub fn history(store: &Store, gateway: &str, now: Millis) -> Result<Vec<(i64, Hour)>, StoreError> {
    let from = now / HOUR - HISTORY_HOURS + 1;
    Ok(store
        .local_from::<Hour>(HISTORY, &format!("{gateway}/"), &format!("{from:010}"))?
        .into_iter()
        .filter_map(|(k, h)| Some((k.rsplit('/').next()?.parse().ok()?, h)))
        .collect())
}

/// How often the backlog of each gateway not in session is counted again.
pub const COUNT_EVERY: Duration = Duration::from_secs(2);

/// Registers `gateway` of `facility`. Returns `false` if it was registered already for the same
/// facility; a gateway registered for another facility is refused (its certificate names one).
pub fn register(
    store: &Store,
    gateway: &str,
    facility: &str,
    by: &str,
    now: Millis,
) -> Result<Result<bool, String>, StoreError> {
    store.update_local(ENROLLED, gateway, |old: Option<Enrolled>| {
        Ok::<_, StoreError>(match old {
            Some(e) if e.facility == facility => (None, Ok(false)),
            Some(e) => (None, Err(e.facility)),
            None => (
                Some(Enrolled {
                    facility: facility.to_owned(),
                    at: now,
                    by: by.to_owned(),
                }),
                Ok(true),
            ),
        })
    })
}

/// How many gateways a national administrator registered.
pub fn registered(store: &Store) -> Result<usize, StoreError> {
    Ok(store.local_all::<Enrolled>(ENROLLED)?.len())
}

/// Every gateway the hub knows, with its facility: the registered ones and, with `presented`,
/// those that presented a certificate (read at start; a gateway that connects later is listed
/// by its session).
fn known(store: &Store, presented: bool) -> Result<BTreeMap<String, String>, StoreError> {
    let mut all: BTreeMap<String, String> = store
        .local_all::<Enrolled>(ENROLLED)?
        .into_iter()
        .map(|(gw, e)| (gw, e.facility))
        .collect();
    if !presented {
        return Ok(all);
    }
    for (gw, pem) in store.local_all::<String>(revoke::PRESENTED)? {
        let facility = pathway_shared::identity::first_cert(&pem, "gateway certificate")
            .ok()
            .and_then(|der| pathway_shared::identity::gateway_identity(&der).ok())
            .map(|id| id.facility);
        if let Some(f) = facility {
            all.entry(gw).or_insert(f);
        }
    }
    Ok(all)
}

/// The hub's fleet: the status of every known gateway, and the count of what waits to reach
/// each one. Counted on every read of the status (carried on from the
/// last count, so a read costs the feed entries written since) and every [`COUNT_EVERY`] in
/// the background, so a write at the hub shows as waiting the moment it is acknowledged.
#[derive(Clone)]
pub struct Fleet {
    store: Store,
    status: Arc<Mutex<HubStatus>>,
    live: LiveSessions,
    /// Per gateway, its last count; held while counting, so counts take turns.
    tallies: Arc<Mutex<BTreeMap<String, Tally>>>,
    /// Per gateway, the hour being seen.
    hours: Arc<Mutex<BTreeMap<String, Seeing>>>,
}

/// Whether `hours` (oldest first, ending with the last hour that ended) show a backlog that
/// grew through a whole day: 24 hours held, none level, never shrinking, larger at the end.
pub fn grew_all_day(hours: &[(i64, Hour)], last_hour: i64) -> bool {
    let day: Vec<&Hour> = hours
        .iter()
        .filter(|(h, _)| *h > last_hour - 24 && *h <= last_hour)
        .map(|(_, h)| h)
        .collect();
    day.len() == 24
        && day.iter().all(|h| !h.level)
        && day.windows(2).all(|w| w[1].to_it >= w[0].to_it)
        && day[23].to_it > day[0].to_it
}

impl Fleet {
    /// The fleet of a hub that starts: every gateway registered or seen before is listed, with
    /// what the hub kept of its sync (last contact, delivery, level) and the expiry of the
    /// certificate it presented last.
    pub fn start(store: Store, status: Arc<Mutex<HubStatus>>, live: LiveSessions) -> Fleet {
        let fleet = Fleet {
            store,
            status,
            live,
            tallies: Arc::default(),
            hours: Arc::default(),
        };
        if let Err(e) = fleet.list(true) {
            tracing::warn!(error = %e, "cannot read the fleet");
        }
        fleet
    }

    /// Lists the known gateways missing from the status.
    fn list(&self, presented: bool) -> Result<(), StoreError> {
        let known = known(&self.store, presented)?;
        let mut st = lock(&self.status);
        for (gw, facility) in known {
            let p = st.peers.entry(gw.clone()).or_insert_with(|| PeerStatus {
                sync: Session::stored_state(&self.store, &gw),
                certificate_expires: self
                    .store
                    .local::<String>(revoke::PRESENTED, &gw)
                    .ok()
                    .flatten()
                    .and_then(|pem| {
                        pathway_shared::identity::expires_at(&pem, "gateway certificate").ok()
                    }),
                ..PeerStatus::default()
            });
            if p.facility.is_none() {
                p.facility = Some(facility);
            }
        }
        Ok(())
    }

    /// Lists gateways registered since, and counts what waits to reach each gateway, carried
    /// on from its last count. For a gateway not in session the count is its backlog; for one
    /// in session, whose session counts its own a few times a second, the larger of the two
    /// per class is shown, so a write at the hub is waiting from the moment it is acknowledged,
    /// even before the session's next count and even if the gateway has gone without a word.
    pub fn refresh(&self) -> Result<(), StoreError> {
        let mut tallies = lock(&self.tallies);
        self.list(false)?;
        let gateways: Vec<(String, String)> = lock(&self.status)
            .peers
            .iter()
            .filter_map(|(gw, p)| Some((gw.clone(), p.facility.clone()?)))
            .collect();
        for (gw, facility) in gateways {
            let tally = hub_backlog(&self.store, &gw, &facility, tallies.remove(&gw))?;
            let stale_after = self
                .store
                .get::<Facility>(&facility_id(&facility))?
                .map(|f| f.stale_after_hours)
                .filter(|h| *h > 0)
                .map(|h| Millis::from(h) * HOUR);
            let mut st = lock(&self.status);
            // The status lock is held where a session is put in place: none began meanwhile.
            if let Some(p) = st.peers.get_mut(&gw) {
                p.stale_after = stale_after;
                if self.live.is_live(&gw) {
                    for (shown, counted) in p.sync.outgoing.iter_mut().zip(tally.backlog) {
                        if counted.changes > shown.changes {
                            *shown = counted;
                        }
                    }
                } else {
                    p.sync.outgoing = tally.backlog;
                    p.sync.measured_at = Some(pathway_shared::clock::now_ms());
                }
            }
            tallies.insert(gw, tally);
        }
        Ok(())
    }

    /// Notes what each gateway's status says in its current hour, and saves an hour that
    /// ended (dropping hours older than [`HISTORY_HOURS`]) or one not saved for a while.
    fn note_hours(&self, now: Millis) -> Result<(), StoreError> {
        let seen: Vec<(String, Hour)> = lock(&self.status)
            .peers
            .iter()
            .map(|(gw, p)| {
                let sum =
                    |b: &[pathway_shared::sync::Backlog; 3]| b.iter().map(|b| b.changes).sum();
                let h = Hour {
                    to_it: sum(&p.sync.outgoing),
                    from_it: p.sync.incoming.as_ref().map(sum),
                    contact: p.hearing(now),
                    level: p.sync.in_sync_at.is_some_and(|t| t / HOUR == now / HOUR),
                };
                (gw.clone(), h)
            })
            .collect();
        let hour = now / HOUR;
        let mut save = Vec::new();
        {
            let mut hours = lock(&self.hours);
            for (gw, h) in seen {
                let e = hours
                    .entry(gw.clone())
                    .or_insert((hour, Hour::default(), now));
                if e.0 != hour {
                    save.push((gw.clone(), e.0, e.1, true));
                    *e = (hour, Hour::default(), now);
                }
                let cur = &mut e.1;
                cur.to_it = cur.to_it.max(h.to_it);
                cur.from_it = cur.from_it.max(h.from_it);
                cur.contact |= h.contact;
                cur.level |= h.level;
                if now - e.2 >= SAVE_EVERY {
                    e.2 = now;
                    save.push((gw, hour, *cur, false));
                }
            }
        }
        for (gw, at, h, ended) in save {
            self.store
                .update_local(HISTORY, &hour_key(&gw, at), |_: Option<Hour>| {
                    Ok::<_, StoreError>((Some(h), ()))
                })?;
            if ended {
                let keep_from = hour - HISTORY_HOURS;
                self.store.remove_local_before(
                    HISTORY,
                    &format!("{gw}/"),
                    &format!("{keep_from:010}"),
                )?;
            }
        }
        Ok(())
    }

    /// Counts every [`COUNT_EVERY`] until `cancel`, so `/metrics` and alerts are fresh even
    /// when nobody reads the status.
    pub async fn run(self, cancel: CancellationToken) {
        let mut tick = tokio::time::interval(COUNT_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = cancel.cancelled() => return,
                _ = tick.tick() => {}
            }
            let fleet = self.clone();
            let counted = tokio::task::spawn_blocking(move || {
                fleet.refresh()?;
                fleet.note_hours(pathway_shared::clock::now_ms())
            });
            match counted.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cannot count what waits for the gateways")
                }
                Err(e) => tracing::warn!(error = %e, "the fleet count stopped"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(f: impl Fn(i64) -> Hour) -> Vec<(i64, Hour)> {
        (100..124).map(|h| (h, f(h))).collect()
    }

    #[test]
    fn a_backlog_is_growing_only_through_a_whole_day_never_level() {
        let grows = |h: i64| Hour {
            to_it: h as u64,
            ..Hour::default()
        };
        assert!(grew_all_day(&day(grows), 123));
        // A level moment, a dip, a flat day, or a day not all held: not growing.
        let level = |h: i64| Hour {
            level: h == 110,
            ..grows(h)
        };
        assert!(!grew_all_day(&day(level), 123));
        let dip = |h: i64| Hour {
            to_it: if h == 115 { 1 } else { h as u64 },
            ..Hour::default()
        };
        assert!(!grew_all_day(&day(dip), 123));
        assert!(!grew_all_day(
            &day(|_| Hour {
                to_it: 5,
                ..Hour::default()
            }),
            123
        ));
        assert!(!grew_all_day(&day(grows)[1..], 123));
    }
}
