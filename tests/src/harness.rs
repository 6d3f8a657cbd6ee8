//! An in-memory network for sync tests and benchmarks: a hub and gateways, each with a real
//! store on disk, joined by links with latency, bandwidth, loss, duplication, reordering and
//! cuts, under virtual time. Seeded and deterministic: the same seed gives the same run.

use std::collections::BTreeMap;

use pathway_shared::model::{Kind, Millis};
use pathway_shared::store::{Store, StoreOptions};
use pathway_shared::sync::{Event, Session, Side, Stats, SyncConfig};

/// A link's behaviour, the same both ways.
#[derive(Debug, Clone, Default)]
pub struct LinkProfile {
    /// One-way delay.
    pub latency: Millis,
    /// Bits per second; 0 is unlimited.
    pub rate_bps: u64,
    /// Probability a frame is lost.
    pub loss: f64,
    /// Probability a frame is delivered twice.
    pub duplicate: f64,
    /// Probability a frame is held back behind later ones.
    pub reorder: f64,
}

pub struct Node {
    pub name: String,
    pub store: Store,
    _dir: tempfile::TempDir,
}

impl Node {
    pub fn new(name: &str) -> Node {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Store::open(dir.path(), StoreOptions::default()).expect("store opens");
        Node {
            name: name.to_owned(),
            store,
            _dir: dir,
        }
    }
}

struct Packet {
    at: Millis,
    order: u64,
    to_hub: bool,
    bytes: Vec<u8>,
}

struct Conn {
    hub: Session,
    gw: Session,
    packets: Vec<Packet>,
    /// When each direction's link is free again: [up, down].
    busy: [Millis; 2],
}

/// Bytes that crossed a link, each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Traffic {
    pub up: u64,
    pub down: u64,
    pub frames: u64,
    /// The largest frame seen.
    pub max_frame: u64,
}

impl Traffic {
    pub fn total(&self) -> u64 {
        self.up + self.down
    }

    /// What crossed since `before`.
    pub fn since(&self, before: Traffic) -> Traffic {
        Traffic {
            up: self.up - before.up,
            down: self.down - before.down,
            frames: self.frames - before.frames,
            max_frame: self.max_frame,
        }
    }
}

pub struct Net {
    /// First, so that sessions (and their store handles) are dropped before the stores' folders
    /// are removed, even when a test panics.
    conns: Vec<Option<Conn>>,
    pub now: Millis,
    pub hub: Node,
    pub gateways: Vec<(Node, String)>,
    pub link: LinkProfile,
    pub cfg: SyncConfig,
    pub traffic: Vec<Traffic>,
    pub events: Vec<(usize, bool, Event)>,
    /// How far each gateway's clock reads ahead of the hub's (negative: behind). Its sessions
    /// are handed `now` as its own clock reads it.
    pub clock_ahead: Vec<Millis>,
    rng: fastrand::Rng,
    order: u64,
}

impl Net {
    /// A hub and one gateway per facility id.
    pub fn new(seed: u64, facilities: &[&str], link: LinkProfile, cfg: SyncConfig) -> Net {
        let gateways: Vec<(Node, String)> = facilities
            .iter()
            .map(|f| (Node::new(&format!("gw-{f}")), (*f).to_owned()))
            .collect();
        let n = gateways.len();
        Net {
            now: 1_000,
            hub: Node::new("hub"),
            gateways,
            link,
            cfg,
            traffic: vec![Traffic::default(); n],
            events: Vec::new(),
            clock_ahead: vec![0; n],
            conns: (0..n).map(|_| None).collect(),
            rng: fastrand::Rng::with_seed(seed),
            order: 0,
        }
    }

    /// Opens a session between the hub and gateway `i`, resuming from stored cursors.
    pub fn connect(&mut self, i: usize) {
        let (gw, facility) = &self.gateways[i];
        let hub = Session::new(
            self.hub.store.clone(),
            Side::Hub {
                facility: facility.clone(),
            },
            "hub",
            &gw.name,
            // As a real hub: no policy of its own; it applies the one the gateway's hello
            // declares.
            SyncConfig {
                policy: Default::default(),
                ..self.cfg.clone()
            },
        )
        .expect("hub session");
        let gws = Session::new(
            gw.store.clone(),
            Side::Gateway,
            &gw.name,
            "hub",
            self.cfg.clone(),
        )
        .expect("gateway session");
        self.conns[i] = Some(Conn {
            hub,
            gw: gws,
            packets: Vec::new(),
            busy: [self.now; 2],
        });
    }

    pub fn connect_all(&mut self) {
        for i in 0..self.gateways.len() {
            self.connect(i);
        }
    }

    /// Cuts gateway `i`'s link: the sessions end and every frame in flight is lost.
    pub fn cut(&mut self, i: usize) {
        self.conns[i] = None;
    }

    pub fn is_connected(&self, i: usize) -> bool {
        self.conns[i].is_some()
    }

    /// Sync statistics of the gateway's and the hub's sessions for gateway `i`.
    pub fn stats(&self, i: usize) -> Option<(Stats, Stats)> {
        self.conns[i]
            .as_ref()
            .map(|c| (c.gw.stats().clone(), c.hub.stats().clone()))
    }

    /// The sync state as gateway `i`'s session sees it, while it is connected.
    pub fn gateway_state(&self, i: usize) -> Option<pathway_shared::sync::SyncState> {
        self.conns[i].as_ref().map(|c| c.gw.state())
    }

    pub fn in_flight(&self, i: usize) -> usize {
        self.conns[i].as_ref().map_or(0, |c| {
            c.packets.len() + c.gw.in_flight() + c.hub.in_flight()
        })
    }

    /// Lets every session send what it can and delivers what is due at `self.now`.
    /// Returns whether anything moved.
    fn tick(&mut self) -> bool {
        let mut moved = false;
        for i in 0..self.conns.len() {
            let Some(mut conn) = self.conns[i].take() else {
                continue;
            };
            let ahead = self.clock_ahead[i];
            // Send.
            for to_hub in [true, false] {
                loop {
                    let now = self.now;
                    let dir = usize::from(!to_hub);
                    if conn.busy[dir] > now {
                        break;
                    }
                    let (session, own) = if to_hub {
                        (&mut conn.gw, now + ahead)
                    } else {
                        (&mut conn.hub, now)
                    };
                    let Some(t) = session.poll_transmit(own).expect("poll") else {
                        break;
                    };
                    moved = true;
                    let len = t.bytes.len() as u64;
                    let tx_time = if self.link.rate_bps == 0 {
                        0
                    } else {
                        (len * 8 * 1000).div_ceil(self.link.rate_bps) as Millis
                    };
                    conn.busy[dir] = now + tx_time;
                    let tr = &mut self.traffic[i];
                    if to_hub {
                        tr.up += len
                    } else {
                        tr.down += len
                    }
                    tr.frames += 1;
                    tr.max_frame = tr.max_frame.max(len);
                    if self.rng.f64() < self.link.loss {
                        continue;
                    }
                    let copies = if self.rng.f64() < self.link.duplicate {
                        2
                    } else {
                        1
                    };
                    let mut at = now + tx_time + self.link.latency;
                    if self.rng.f64() < self.link.reorder {
                        at += self.link.latency.max(10);
                    }
                    for _ in 0..copies {
                        self.order += 1;
                        conn.packets.push(Packet {
                            at,
                            order: self.order,
                            to_hub,
                            bytes: t.bytes.clone(),
                        });
                    }
                }
            }
            // Deliver what is due, in arrival order.
            conn.packets.sort_by_key(|p| (p.at, p.order));
            while conn.packets.first().is_some_and(|p| p.at <= self.now) {
                let p = conn.packets.remove(0);
                moved = true;
                let (session, own) = if p.to_hub {
                    (&mut conn.hub, self.now)
                } else {
                    (&mut conn.gw, self.now + ahead)
                };
                let _ = session.handle_frame(&p.bytes, own);
            }
            for (session, at_hub, own) in [
                (&mut conn.gw, false, self.now + ahead),
                (&mut conn.hub, true, self.now),
            ] {
                if session.poll_timeout().is_some_and(|t| t <= own) {
                    session.handle_timeout(own);
                    moved = true;
                }
                while let Some(e) = session.poll_event() {
                    self.events.push((i, at_hub, e));
                }
            }
            self.conns[i] = Some(conn);
        }
        moved
    }

    /// The next moment something is due: a delivery, a link freeing up, or a timeout.
    fn next_due(&self) -> Option<Millis> {
        self.conns
            .iter()
            .zip(&self.clock_ahead)
            .filter_map(|(c, ahead)| c.as_ref().map(|c| (c, *ahead)))
            .flat_map(|(c, ahead)| {
                let busy = c.busy.iter().copied().filter(|b| *b > self.now);
                c.packets
                    .iter()
                    .map(|p| p.at)
                    .chain(busy)
                    .chain(c.gw.poll_timeout().map(|t| t - ahead))
                    .chain(c.hub.poll_timeout())
            })
            .min()
    }

    fn idle(&self) -> bool {
        self.conns.iter().flatten().all(|c| {
            c.packets.is_empty()
                && c.gw.poll_timeout().is_none()
                && c.hub.poll_timeout().is_none()
                && c.busy.iter().all(|b| *b <= self.now)
        })
    }

    /// Runs until nothing is in flight and nothing is due, or until `deadline`. Returns the time
    /// it took.
    pub fn run_until_quiet(&mut self, deadline: Millis) -> Millis {
        let start = self.now;
        loop {
            while self.tick() {}
            if self.idle() {
                break;
            }
            match self.next_due() {
                Some(t) if t <= deadline => self.now = t.max(self.now + 1),
                _ => break,
            }
        }
        self.now - start
    }

    /// Runs for `ms` of virtual time. Like the real driver, each session is polled at least
    /// once a second, so windows that open are noticed.
    pub fn run_for(&mut self, ms: Millis) {
        let until = self.now + ms;
        loop {
            while self.tick() {}
            let poll = (self.now + 1_000).min(until);
            let next = self.next_due().map_or(poll, |t| t.min(poll));
            if self.now >= until {
                break;
            }
            self.now = next.max(self.now + 1).min(until);
        }
    }

    /// Documents that differ between the hub and gateway `i`. Empty when they have converged.
    pub fn differences(&self, i: usize) -> Vec<String> {
        let (gw, facility) = &self.gateways[i];
        differences(&self.hub.store, &gw.store, facility)
    }
}

/// Documents that differ between a hub's and a gateway's stores over everything in the
/// gateway's scope: national documents and the facility's own. Empty when they have converged.
pub fn differences(hub: &Store, gw: &Store, facility: &str) -> Vec<String> {
    let mut out = Vec::new();
    for partition in ["national".to_owned(), format!("facility:{facility}")] {
        for kind in Kind::ALL {
            let mut ids: BTreeMap<String, ()> = BTreeMap::new();
            for s in [hub, gw] {
                for id in s.list(&partition, kind).expect("list") {
                    ids.insert(id.to_string(), ());
                }
            }
            for id in ids.keys() {
                let id = pathway_shared::model::DocId::parse(id).expect("id");
                let heads = |s: &Store| s.read(&id, |d, _| d.get_heads()).expect("read");
                if heads(hub) != heads(gw) {
                    out.push(id.to_string());
                }
            }
        }
    }
    out
}
