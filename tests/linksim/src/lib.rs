//! A user-space UDP link simulator: it stands between a client and a server on loopback and
//! imposes a rate, one-way delay, jitter, random loss and scheduled outages, each way. The kernel
//! here has no netem. Random decisions come from a seeded generator, so a seed gives the same
//! sequence of drops and delays.
//!
//! Packets queue behind the link's rate like a router's buffer; past [`Profile::queue_bytes`] they
//! are dropped at the tail, which is what a congestion controller expects of a real bottleneck.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// A link's impairments, the same each way.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    pub name: String,
    /// Bits per second; 0 is unlimited.
    pub rate_bps: u64,
    pub delay: Duration,
    pub jitter: Duration,
    /// Probability of losing a packet.
    pub loss: f64,
    /// `(every, for)`: the link is down for `for` at the end of each `every`.
    pub outage: Option<(Duration, Duration)>,
    /// Bytes the bottleneck buffers before dropping.
    pub queue_bytes: usize,
}

impl Profile {
    /// The labelled ladder of links the tests and benchmarks use.
    pub fn named(name: &str) -> Option<Profile> {
        let p = |rate_bps, delay_ms, loss, outage: Option<(u64, u64)>| Profile {
            name: name.to_owned(),
            rate_bps,
            delay: Duration::from_millis(delay_ms),
            jitter: Duration::from_millis(delay_ms / 20),
            loss,
            outage: outage.map(|(e, f)| (Duration::from_secs(e), Duration::from_secs(f))),
            queue_bytes: if rate_bps == 0 {
                usize::MAX
            } else {
                ((rate_bps / 8) as usize).max(64 << 10)
            },
        };
        match name {
            "lan" => Some(p(0, 0, 0.0, None)),
            "rural-3g" => Some(p(1_000_000, 150, 0.005, None)),
            "vsat-bad" => Some(p(256_000, 350, 0.02, Some((60, 20)))),
            _ => None,
        }
    }

    pub const NAMES: [&'static str; 3] = ["lan", "rural-3g", "vsat-bad"];

    /// Total outage time within `elapsed` from the start.
    pub fn outage_within(&self, elapsed: Duration) -> Duration {
        let Some((every, down)) = self.outage else {
            return Duration::ZERO;
        };
        let full = elapsed.as_secs_f64() / every.as_secs_f64();
        let whole = full.floor();
        let into = elapsed.as_secs_f64() - whole * every.as_secs_f64();
        let partial = (into - (every - down).as_secs_f64()).max(0.0);
        Duration::from_secs_f64(whole * down.as_secs_f64() + partial)
    }

    fn down_at(&self, since_start: Duration) -> bool {
        self.outage.is_some_and(|(every, down)| {
            let into = since_start.as_nanos() % every.as_nanos().max(1);
            into >= (every - down).as_nanos()
        })
    }
}

/// Bytes offered to the link each way (what the endpoints put on the wire).
#[derive(Debug, Default)]
pub struct Counters {
    pub up: AtomicU64,
    pub down: AtomicU64,
    pub dropped: AtomicU64,
}

pub struct LinkSim {
    pub addr: SocketAddr,
    pub counters: Arc<Counters>,
    cancel: CancellationToken,
    profile: Profile,
    /// When the outage schedule began.
    start: Instant,
}

impl Drop for LinkSim {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// One direction of the link: a queue that releases packets at the link's pace.
struct Pipe {
    profile: Profile,
    rng: fastrand::Rng,
    free_at: Instant,
    last_deliver: Instant,
    queued: Arc<AtomicU64>,
    start: Instant,
    tx: mpsc::UnboundedSender<(Instant, Vec<u8>, usize)>,
}

impl Pipe {
    fn offer(&mut self, bytes: Vec<u8>, dropped: &AtomicU64) {
        let now = Instant::now();
        let len = bytes.len();
        if self.profile.down_at(now - self.start)
            || self.rng.f64() < self.profile.loss
            || self.queued.load(Ordering::Relaxed) as usize + len > self.profile.queue_bytes
        {
            dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let tx_time = (len as u64 * 8 * 1_000_000)
            .checked_div(self.profile.rate_bps)
            .map_or(Duration::ZERO, Duration::from_micros);
        self.free_at = self.free_at.max(now) + tx_time;
        let jitter = self.profile.jitter.mul_f64(self.rng.f64());
        let deliver = (self.free_at + self.profile.delay + jitter).max(self.last_deliver);
        self.last_deliver = deliver;
        self.queued.fetch_add(len as u64, Ordering::Relaxed);
        let _ = self.tx.send((deliver, bytes, len));
    }
}

fn pipe(
    profile: &Profile,
    seed: u64,
    start: Instant,
    socket: Arc<UdpSocket>,
    to: SocketAddr,
    cancel: CancellationToken,
) -> Pipe {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>, usize)>();
    let queued = Arc::new(AtomicU64::new(0));
    let q = queued.clone();
    let p = profile.clone();
    tokio::spawn(async move {
        loop {
            let item = tokio::select! { _ = cancel.cancelled() => return, i = rx.recv() => i };
            let Some((at, bytes, len)) = item else { return };
            tokio::time::sleep_until(at).await;
            q.fetch_sub(len as u64, Ordering::Relaxed);
            // An outage that began while the packet was in flight loses it too.
            if !p.down_at(Instant::now() - start) {
                let _ = socket.send_to(&bytes, to).await;
            }
        }
    });
    Pipe {
        profile: profile.clone(),
        rng: fastrand::Rng::with_seed(seed),
        free_at: start,
        last_deliver: start,
        queued,
        start,
        tx,
    }
}

impl LinkSim {
    /// Starts a simulator on a free loopback port that forwards to `target`.
    pub async fn start(
        profile: Profile,
        target: SocketAddr,
        seed: u64,
    ) -> std::io::Result<LinkSim> {
        LinkSim::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), profile, target, seed).await
    }

    /// Starts a simulator on `listen` that forwards to `target`. Both must be loopback: the
    /// simulator never carries traffic off this machine.
    pub async fn start_on(
        listen: SocketAddr,
        profile: Profile,
        target: SocketAddr,
        seed: u64,
    ) -> std::io::Result<LinkSim> {
        for (what, a) in [("listen", listen), ("target", target)] {
            if !a.ip().is_loopback() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "{what} address {a} is not loopback; the link simulator only binds loopback"
                    ),
                ));
            }
        }
        let front = Arc::new(UdpSocket::bind(listen).await?);
        let addr = front.local_addr()?;
        let counters = Arc::new(Counters::default());
        let cancel = CancellationToken::new();
        let start = Instant::now();
        let shown = profile.clone();
        let (c, k) = (counters.clone(), cancel.clone());
        tokio::spawn(async move {
            // One upstream socket per client address, so the server sees each client apart.
            let mut clients: HashMap<SocketAddr, Pipe> = HashMap::new();
            let mut buf = vec![0u8; 65_536];
            let mut n_clients = 0u64;
            loop {
                let (len, from) = tokio::select! {
                    _ = k.cancelled() => return,
                    r = front.recv_from(&mut buf) => match r { Ok(r) => r, Err(_) => continue },
                };
                let pipe_for = match clients.entry(from) {
                    std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                    std::collections::hash_map::Entry::Vacant(v) => {
                        let Ok(up) = UdpSocket::bind("127.0.0.1:0").await else {
                            continue;
                        };
                        let up = Arc::new(up);
                        n_clients += 1;
                        let up_pipe = pipe(
                            &profile,
                            seed.wrapping_add(n_clients * 2),
                            start,
                            up.clone(),
                            target,
                            k.clone(),
                        );
                        let mut down_pipe = pipe(
                            &profile,
                            seed.wrapping_add(n_clients * 2 + 1),
                            start,
                            front.clone(),
                            from,
                            k.clone(),
                        );
                        let (c2, k2) = (c.clone(), k.clone());
                        tokio::spawn(async move {
                            let mut buf = vec![0u8; 65_536];
                            loop {
                                let r = tokio::select! { _ = k2.cancelled() => return, r = up.recv_from(&mut buf) => r };
                                let Ok((len, _)) = r else { continue };
                                c2.down.fetch_add(len as u64, Ordering::Relaxed);
                                down_pipe.offer(buf[..len].to_vec(), &c2.dropped);
                            }
                        });
                        v.insert(up_pipe)
                    }
                };
                c.up.fetch_add(len as u64, Ordering::Relaxed);
                pipe_for.offer(buf[..len].to_vec(), &c.dropped);
            }
        });
        Ok(LinkSim {
            addr,
            counters,
            cancel,
            profile: shown,
            start,
        })
    }

    /// Whether a scheduled outage is on now, by this simulator's own schedule.
    pub fn is_down(&self) -> bool {
        self.profile.down_at(self.start.elapsed())
    }

    /// How long until the link next goes down or comes back, if it has outages.
    pub fn next_change(&self) -> Option<Duration> {
        let (every, down) = self.profile.outage?;
        let into = Duration::from_nanos(
            (self.start.elapsed().as_nanos() % every.as_nanos().max(1)) as u64,
        );
        let up_for = every - down;
        Some(if into < up_for {
            up_for - into
        } else {
            every - into
        })
    }

    pub fn bytes_up(&self) -> u64 {
        self.counters.up.load(Ordering::Relaxed)
    }

    pub fn bytes_down(&self) -> u64 {
        self.counters.down.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_time_is_counted_per_period() {
        let p = Profile::named("vsat-bad").unwrap();
        assert_eq!(p.outage_within(Duration::from_secs(30)), Duration::ZERO);
        assert_eq!(
            p.outage_within(Duration::from_secs(50)),
            Duration::from_secs(10)
        );
        assert_eq!(
            p.outage_within(Duration::from_secs(130)),
            Duration::from_secs(40)
        );
        assert!(p.down_at(Duration::from_secs(45)) && !p.down_at(Duration::from_secs(65)));
    }

    #[tokio::test]
    async fn the_simulator_delays_and_drops_as_configured() {
        let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let mut profile = Profile::named("lan").unwrap();
        profile.delay = Duration::from_millis(100);
        profile.loss = 0.5;
        let sim = LinkSim::start(profile, server.local_addr().unwrap(), 7)
            .await
            .unwrap();
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let t = Instant::now();
        for i in 0..200u8 {
            client.send_to(&[i], sim.addr).await.unwrap();
        }
        let mut got = 0;
        let mut buf = [0u8; 16];
        while let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(400), server.recv_from(&mut buf)).await
        {
            if got == 0 {
                assert!(t.elapsed() >= Duration::from_millis(100), "delayed");
            }
            got += 1;
        }
        assert!((60..140).contains(&got), "about half of 200 arrive: {got}");
        assert_eq!(sim.bytes_up(), 200);
    }
}
