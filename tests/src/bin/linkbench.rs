//! linkbench: the syncbench workload (phases A, B, C) between a real hub and a real gateway —
//! real QUIC, mutual TLS, sled — through the link simulator, on a ladder of link profiles.
//!
//! For each profile and phase: bytes each way counted at the simulator, time to converge, the
//! physical floor (bytes ÷ rate + outage time + one RTT per round trip), and time ÷ floor.
//!
//! Run with `cargo run --release -p pathway-tests --bin linkbench [-- --profile vsat-bad] [--json]`.

use std::time::{Duration, Instant};

use clap::Parser;
use pathway_gateway::uplink::{self, UplinkConfig};
use pathway_hub::{Hub, HubConfig};
use pathway_shared::identity::Ca;
use pathway_shared::model::*;
use pathway_shared::store::{Store, StoreError, StoreOptions};
use pathway_shared::sync::SyncConfig;
use pathway_tests::harness::differences;
use pathway_tests::linksim::{LinkSim, Profile};
use pathway_tests::sample::{SampleConfig, SampleFacility};
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
struct Args {
    /// Run one profile: lan, rural-3g or vsat-bad.
    #[arg(long)]
    profile: Option<String>,
    #[arg(long, default_value_t = 2_000)]
    cases: usize,
    #[arg(long, default_value_t = 20_000)]
    marks: usize,
    /// One JSON object per line, per profile and phase.
    #[arg(long)]
    json: bool,
}

struct Row {
    profile: String,
    phase: &'static str,
    up: u64,
    down: u64,
    secs: f64,
    floor: f64,
    converged: bool,
}

fn note(store: &Store, person: &str, id: &str) -> Result<(), StoreError> {
    let n = CaseNote {
        author: "bench".into(),
        text: "Attended the weekly review; plan unchanged.".into(),
        ..Default::default()
    };
    store
        .edit::<CaseFile, _, StoreError>(&case_id(person), 1, |e| e.put(&["notes", id], &n))
        .map(drop)
}

/// Time for `bytes` at the profile's rate, one RTT per round trip, and the outages in between.
fn floor(p: &Profile, up: u64, down: u64, round_trips: u64, start_in_run: Duration) -> f64 {
    let rtt = 2.0 * p.delay.as_secs_f64();
    let transfer = if p.rate_bps == 0 {
        0.0
    } else {
        up.max(down) as f64 * 8.0 / p.rate_bps as f64
    };
    let busy = transfer + rtt * round_trips as f64;
    // Outages that fall inside the busy time, counted from where the phase started in the
    // outage schedule, stretch it.
    let mut t = busy;
    for _ in 0..8 {
        let out = p.outage_within(start_in_run + Duration::from_secs_f64(t))
            - p.outage_within(start_in_run);
        t = busy + out.as_secs_f64();
    }
    t
}

/// Waits until the hub and the gateway hold the same heads for every document in `docs`.
async fn converge_docs(
    hub: &Store,
    gw: &Store,
    docs: &[DocId],
    limit: Duration,
) -> (Duration, bool) {
    let start = Instant::now();
    loop {
        let at = start.elapsed();
        let same = tokio::task::block_in_place(|| {
            docs.iter().all(|id| {
                let heads = |s: &Store| s.read(id, |d, _| d.get_heads()).ok().flatten();
                heads(hub) == heads(gw)
            })
        });
        if same {
            return (at, true);
        }
        if start.elapsed() > limit {
            return (start.elapsed(), false);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn converge(
    hub: &Store,
    gw: &Store,
    facility: &str,
    want_cases: usize,
    limit: Duration,
) -> (Duration, bool) {
    let start = Instant::now();
    loop {
        let n = hub
            .list(&format!("facility:{facility}"), Kind::CaseFile)
            .map(|v| v.len())
            .unwrap_or(0);
        // The comparison reads every document; convergence happened by the time it began.
        let at = start.elapsed();
        if n >= want_cases
            && tokio::task::block_in_place(|| differences(hub, gw, facility)).is_empty()
        {
            return (at, true);
        }
        if n >= want_cases {
            // A full comparison reads every document: do not let it crowd out the sync.
            tokio::time::sleep(Duration::from_millis(400)).await;
        }
        if start.elapsed() > limit {
            return (start.elapsed(), false);
        }
        if std::env::var("PATHWAY_DEBUG").is_ok() && start.elapsed().as_millis() % 5_000 < 120 {
            let d = differences(hub, gw, facility);
            eprintln!(
                "[{:?}] cases at hub {n}/{want_cases}, {} differ, e.g. {:?}",
                start.elapsed(),
                d.len(),
                d.first()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run_profile(
    profile: Profile,
    args: &Args,
    sample: &SampleFacility,
) -> anyhow::Result<Vec<Row>> {
    let dir = tempfile::tempdir()?;
    let ca = Ca::generate("linkbench CA")?;
    let hub_store = Store::open(dir.path().join("hub"), StoreOptions::default())?;
    let gw_store = Store::open(dir.path().join("gw"), StoreOptions::default())?;
    sample.load_national(&hub_store, 1)?;
    sample.load_facility(&gw_store, 1)?;
    let hub = Hub::bind(
        HubConfig {
            listen: "127.0.0.1:0".parse()?,
            ca_pem: ca.creds.cert_pem.clone(),
            creds: ca.issue_hub("hub.bench")?,
            revoked: vec![],
            max_gateways: 4,
        },
        hub_store.clone(),
    )?;
    let sim = LinkSim::start(profile.clone(), hub.local_addr()?, 42).await?;
    let sim_start = Instant::now();
    let cancel = CancellationToken::new();
    let cfg = UplinkConfig {
        renewal: None,
        audit: std::sync::Arc::new(pathway_gateway::audit::Audit::open(
            gw_store.clone(),
            "WHK",
        )?),
        gateway_id: "gw-bench".into(),
        hub_addr: sim.addr,
        hub_name: "hub.bench".into(),
        ca_pem: ca.creds.cert_pem.clone(),
        creds: ca.issue_gateway("gw-bench", "WHK", 30)?,
        backoff_min: Duration::from_millis(500),
        backoff_max: Duration::from_secs(5),
        policy: pathway_shared::policy::LinkPolicy {
            rate_bps: profile.rate_bps,
            ..Default::default()
        },
        sync_now: Default::default(),
    };
    let (_task, status) = uplink::spawn(gw_store.clone(), cfg, cancel.clone());
    if std::env::var("PATHWAY_DEBUG").is_ok() {
        let st = status.clone();
        let hs = hub.status_handle();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                eprintln!("gateway: {:?}", st.borrow());
                eprintln!("hub: {:?}", hs.lock().map(|s| s.clone()).ok());
            }
        });
    }
    let window = SyncConfig::default().window_frames as u64;
    let limit = Duration::from_secs(1_800);
    let mut rows = Vec::new();
    let mut phase = |name: &'static str,
                     before: (u64, u64),
                     took: Duration,
                     converged: bool,
                     started: Duration,
                     frames: u64| {
        let (up, down) = (sim.bytes_up() - before.0, sim.bytes_down() - before.1);
        // QUIC + TLS handshake and hello for the first phase; then a round trip per window.
        let rts = if name.starts_with('A') { 3 } else { 1 } + frames.div_ceil(window);
        rows.push(Row {
            profile: profile.name.clone(),
            phase: name,
            up,
            down,
            secs: took.as_secs_f64(),
            floor: floor(&profile, up, down, rts, started),
            converged,
        });
    };

    // (A)
    let frames = |h: &Hub| {
        h.status()
            .peers
            .get("gw-bench")
            .map_or(0, |g| g.stats.frames_received + g.stats.frames_sent)
    };
    let started = sim_start.elapsed();
    let (took, ok) = converge(&hub_store, &gw_store, "WHK", sample.cases.len(), limit).await;
    phase("A", (0, 0), took, ok, started, frames(&hub));

    // (B) 500 edits at the facility, 200 at the hub; timed from the last edit.
    let before = (sim.bytes_up(), sim.bytes_down());
    let f0 = frames(&hub);
    let mut rng = fastrand::Rng::with_seed(2);
    let mut touched = Vec::new();
    for i in 0..700 {
        let person = &sample.cases[rng.usize(..sample.cases.len())].person_id;
        let store = if i < 500 { &gw_store } else { &hub_store };
        note(store, person, &format!("b-{i}"))?;
        touched.push(case_id(person));
    }
    let started = sim_start.elapsed();
    let (took, ok) = converge_docs(&hub_store, &gw_store, &touched, limit).await;
    phase("B", before, took, ok, started, frames(&hub) - f0);

    // (C) the same 50 case files on both sides at once.
    let before = (sim.bytes_up(), sim.bytes_down());
    let f0 = frames(&hub);
    let mut touched = Vec::new();
    for (i, c) in sample.cases.iter().take(50).enumerate() {
        note(&gw_store, &c.person_id, &format!("c-gw-{i}"))?;
        note(&hub_store, &c.person_id, &format!("c-hub-{i}"))?;
        touched.push(case_id(&c.person_id));
    }
    let started = sim_start.elapsed();
    let (took, ok) = converge_docs(&hub_store, &gw_store, &touched, limit).await;
    phase("C", before, took, ok, started, frames(&hub) - f0);

    cancel.cancel();
    hub.shutdown().await;
    let _ = args;
    Ok(rows)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    pathway_shared::telemetry::init("linkbench");
    let names: Vec<String> = match &args.profile {
        Some(p) => vec![p.clone()],
        None => Profile::NAMES.iter().map(|s| (*s).to_owned()).collect(),
    };
    let sample = SampleFacility::generate(&SampleConfig {
        cases: args.cases,
        marks: args.marks,
        ..SampleConfig::default()
    });
    if !args.json {
        println!(
            "linkbench: {} case files, {} marks; real QUIC + mutual TLS through the link simulator",
            args.cases,
            sample.marks()
        );
        println!(
            "{:<10} {:<6} {:>10} {:>10} {:>10} {:>10} {:>8} {:>10}",
            "profile",
            "phase",
            "bytes up",
            "bytes down",
            "converge s",
            "floor s",
            "ratio",
            "converged"
        );
    }
    for name in names {
        let profile = Profile::named(&name).ok_or_else(|| {
            anyhow::anyhow!("unknown profile `{name}`; try one of {:?}", Profile::NAMES)
        })?;
        for r in run_profile(profile, &args, &sample).await? {
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "profile": r.profile, "phase": r.phase, "bytes_up": r.up, "bytes_down": r.down,
                        "converge_s": r.secs, "floor_s": r.floor, "ratio": r.secs / r.floor.max(1e-9), "converged": r.converged,
                    })
                );
            } else {
                let ratio = if r.floor < 0.01 {
                    "-".to_owned()
                } else {
                    format!("{:.2}", r.secs / r.floor)
                };
                println!(
                    "{:<10} {:<6} {:>10} {:>10} {:>10.2} {:>10.2} {:>8} {:>10}",
                    r.profile, r.phase, r.up, r.down, r.secs, r.floor, ratio, r.converged
                );
            }
        }
    }
    Ok(())
}
