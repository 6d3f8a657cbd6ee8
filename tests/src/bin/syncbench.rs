//! syncbench: what the sync engine costs on the wire for the standard workload, in memory under
//! virtual time with real stores.
//!
//! (A) initial sync of the sample facility (2,000 case files, 20,000 marks) facility → hub;
//! (B) then 500 edits at the facility and 200 at the hub, both ways;
//! (C) then the same 50 case files edited on both sides at once.
//! Also: an unchanged reconnect, and (A) again with a cut halfway.
//!
//! Run with `cargo run --release -p pathway-tests --bin syncbench [-- --json]`.

use clap::Parser;
use pathway_shared::model::*;
use pathway_shared::store::{Store, StoreError};
use pathway_shared::sync::SyncConfig;
use pathway_tests::harness::{LinkProfile, Net, Traffic};
use pathway_tests::sample::{SampleConfig, SampleFacility};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 2_000)]
    cases: usize,
    #[arg(long, default_value_t = 20_000)]
    marks: usize,
    /// One-way delay of the simulated link, to count round trips.
    #[arg(long, default_value_t = 300)]
    latency_ms: i64,
    /// zstd level for frames.
    #[arg(long, default_value_t = SyncConfig::default().zstd_level)]
    zstd_level: i32,
    #[arg(long)]
    json: bool,
}

const CUT_RATE_BPS: u64 = 256_000;

fn note(store: &Store, person: &str, id: &str, now: Millis) -> Result<(), StoreError> {
    let n = CaseNote {
        author: "bench".into(),
        at: now,
        facility_id: "WHK".into(),
        text: "Attended the weekly review; plan unchanged.".into(),
        ..Default::default()
    };
    store
        .edit::<CaseFile, _, StoreError>(&case_id(person), now, |e| e.put(&["notes", id], &n))
        .map(drop)
}

fn setup(args: &Args, sample: &SampleFacility, rate_bps: u64) -> anyhow::Result<Net> {
    let link = LinkProfile {
        latency: args.latency_ms,
        rate_bps,
        ..LinkProfile::default()
    };
    let net = Net::new(
        1,
        &["WHK"],
        link,
        SyncConfig {
            zstd_level: args.zstd_level,
            ..SyncConfig::default()
        },
    );
    sample.load_national(&net.hub.store, 1)?;
    sample.load_facility(&net.gateways[0].0.store, 1)?;
    Ok(net)
}

struct Phase {
    name: &'static str,
    traffic: Traffic,
    ms: i64,
    converged: bool,
}

fn run(net: &mut Net, name: &'static str) -> Phase {
    let before = net.traffic[0];
    let ms = net.run_until_quiet(net.now + 24 * 3_600_000);
    Phase {
        name,
        traffic: net.traffic[0].since(before),
        ms,
        converged: net.differences(0).is_empty(),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let sample = SampleFacility::generate(&SampleConfig {
        cases: args.cases,
        marks: args.marks,
        ..SampleConfig::default()
    });
    let rtt = 2 * args.latency_ms;
    let mut net = setup(&args, &sample, 0)?;
    let gw = net.gateways[0].0.store.clone();
    let hub = net.hub.store.clone();

    net.connect(0);
    let a = run(&mut net, "A initial");

    // (B) 500 edits at the facility, 200 at the hub.
    let mut rng = fastrand::Rng::with_seed(2);
    let now = net.now;
    for i in 0..500 {
        if i % 2 == 0 {
            note(
                &gw,
                &sample.cases[rng.usize(..sample.cases.len())].person_id,
                &format!("b-gw-{i}"),
                now + i,
            )?;
        } else {
            let reg = &sample.registers[rng.usize(..sample.registers.len())];
            let Some((key, mark)) = reg.marks.iter().nth(rng.usize(..reg.marks.len().max(1)))
            else {
                continue;
            };
            let m = Mark {
                outcome: MarkOutcome::AbsentExcused,
                marked_at: now + i,
                ..mark.clone()
            };
            gw.edit::<AttendanceRegister, _, StoreError>(&reg.doc_id(), now + i, |e| {
                e.put(&["marks", key], &m)
            })?;
        }
    }
    for i in 0..200 {
        if i % 2 == 0 {
            note(
                &hub,
                &sample.cases[rng.usize(..sample.cases.len())].person_id,
                &format!("b-hub-{i}"),
                now + i,
            )?;
        } else {
            let p = &sample.programmes[rng.usize(..sample.programmes.len())];
            hub.edit::<Programme, _, StoreError>(&p.doc_id(), now + i, |e| {
                e.put(
                    &["eligibility_notes"],
                    &format!("Revised {i}: at least 3 months left to serve."),
                )
            })?;
        }
    }
    let b = run(&mut net, "B incremental");

    // (C) the same 50 case files edited on both sides at once.
    let now = net.now;
    for (i, c) in sample.cases.iter().take(50).enumerate() {
        note(&gw, &c.person_id, &format!("c-gw-{i}"), now)?;
        note(&hub, &c.person_id, &format!("c-hub-{i}"), now)?;
        let level = [NeedLevel::Low, NeedLevel::High][i % 2];
        gw.edit::<CaseFile, _, StoreError>(&c.doc_id(), now, |e| {
            e.put(&["needs", "accommodation", "level"], &level)
        })?;
        hub.edit::<CaseFile, _, StoreError>(&c.doc_id(), now, |e| {
            e.put(&["needs", "accommodation", "level"], &NeedLevel::Medium)
        })?;
    }
    let c = run(&mut net, "C concurrent");

    net.cut(0);
    net.connect(0);
    let r = run(&mut net, "unchanged reconnect");

    // (A) again on fresh nodes over a 256 kbit/s link, cut halfway through. What is sent
    // again is what crossed in all, less what (A) needs without a cut.
    let mut cut_net = setup(&args, &sample, CUT_RATE_BPS)?;
    cut_net.connect(0);
    let half = a.traffic.up / 2;
    while cut_net.traffic[0].up < half {
        cut_net.run_for(100);
    }
    let sent_before_cut = cut_net.traffic[0].up;
    cut_net.cut(0);
    cut_net.connect(0);
    let cut = run(&mut cut_net, "A with a cut");
    let resent = (sent_before_cut + cut.traffic.up).saturating_sub(a.traffic.up);

    let phases = [&a, &b, &c, &r, &cut];
    let converged = phases.iter().all(|p| p.converged);
    let edits_b = 700u64;
    let cfg = SyncConfig::default();
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "initial_bytes": a.traffic.total(),
                "initial_bytes_up": a.traffic.up,
                "initial_bytes_down": a.traffic.down,
                "initial_round_trips": (a.ms as f64 / rtt as f64).ceil(),
                "incremental_bytes": b.traffic.total(),
                "incremental_edits": edits_b,
                "incremental_bytes_per_edit": b.traffic.total() as f64 / edits_b as f64,
                "concurrent_bytes": c.traffic.total(),
                "unchanged_reconnect_bytes": r.traffic.total(),
                "resent_after_cut_bytes": resent,
                "sent_before_cut_bytes": sent_before_cut,
                "window_bytes": cfg.window_frames * cfg.frame_bytes,
                "frame_bytes": cfg.frame_bytes,
                "max_frame_bytes": a.traffic.max_frame,
                "converged": converged,
            })
        );
        return Ok(());
    }
    println!(
        "syncbench: {} case files, {} marks; link one-way delay {} ms (RTT {rtt} ms), no loss",
        args.cases,
        sample.marks(),
        args.latency_ms
    );
    println!(
        "{:<22} {:>12} {:>12} {:>8} {:>12} {:>10}",
        "phase", "bytes up", "bytes down", "frames", "round trips", "converged"
    );
    for p in phases {
        println!(
            "{:<22} {:>12} {:>12} {:>8} {:>12.1} {:>10}",
            p.name,
            p.traffic.up,
            p.traffic.down,
            p.traffic.frames,
            p.ms as f64 / rtt as f64,
            p.converged
        );
    }
    println!(
        "B: {:.1} bytes per edit over {edits_b} edits",
        b.traffic.total() as f64 / edits_b as f64
    );
    println!(
        "A with a cut ({} kbit/s): {sent_before_cut} bytes sent before the cut, {resent} bytes sent again (window {} bytes)",
        CUT_RATE_BPS / 1000,
        cfg.window_frames * cfg.frame_bytes
    );
    println!(
        "frame target {} bytes, largest frame {} bytes",
        cfg.frame_bytes, a.traffic.max_frame
    );
    Ok(())
}
