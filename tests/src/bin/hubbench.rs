//! hubbench, first phase: a country's first sync in one stampede. A real `pathway-hub` process
//! (made as a national administrator makes one: `ca init`, `ca issue-hub`, `add-admin`) and
//! `--gateways` gateways, each enrolled and installed from its bundle (`enrol`, `install`),
//! holding a sample facility of `--case-files` case files (and ten marks per case file) made
//! offline, all started in the same second in this process over real QUIC and TLS on loopback.
//! It reports the time until every gateway is level with the hub, the hub's CPU time over that
//! time, and the hub's peak RSS. (The steady and indicator phases of the benchmark are still
//! to come.)
//!
//! `cargo run --release -p pathway-tests --bin hubbench [-- --gateways 10 --case-files 1000 --json]`

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::national::NationalSite;
use pathway_tests::sample::{SampleConfig, SampleFacility};
use pathway_tests::{free_tcp_port, now_ms, rss_mb_of};

#[derive(Parser)]
struct Args {
    /// Gateways, one facility each.
    #[arg(long, default_value_t = 10)]
    gateways: usize,
    /// Case files at each facility.
    #[arg(long, default_value_t = 1_000)]
    case_files: usize,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout: u64,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// The process's CPU time (user and system), in seconds; Linux counts it in 1/100 s.
fn cpu_s(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            // The fields after the command name, which is in parentheses.
            let rest = s.rsplit_once(") ")?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let site = NationalSite::start(d);
    let hub = site.hub_pid().context("the hub did not start")?;
    let mut configs = Vec::new();
    let setup = Instant::now();
    for i in 0..args.gateways {
        let facility = format!("F{i:03}");
        let gateway = format!("gw-f{i:03}");
        let status = format!("127.0.0.1:{}", free_tcp_port()).parse()?;
        let path = site.enrol_and_install(
            (&gateway, &facility),
            site.hub_addr,
            &d.join(&gateway),
            status,
        );
        let cfg = GatewayConfig::load(&path)?;
        let sample = SampleFacility::generate(&SampleConfig {
            seed: i as u64 + 1,
            facility_id: facility.clone(),
            facility_name: format!("Facility {facility}"),
            cases: args.case_files,
            marks: args.case_files * 10,
            ..SampleConfig::default()
        });
        let store = Store::open(&cfg.data_dir, StoreOptions::keyed(cfg.key_file()))?;
        sample.load_facility(&store, now_ms())?;
        drop(store);
        configs.push(cfg);
    }
    if !args.json {
        eprintln!(
            "{} gateways × {} case files made in {:.0} s; starting them all",
            args.gateways,
            args.case_files,
            setup.elapsed().as_secs_f64()
        );
    }
    let cpu_before = cpu_s(hub);
    let started_ms = now_ms();
    let start = Instant::now();
    let mut gateways = Vec::new();
    for cfg in &configs {
        gateways.push(Gateway::start(cfg)?);
    }
    let mut peak_rss = 0.0f64;
    let level_s = loop {
        peak_rss = peak_rss.max(rss_mb_of(&hub.to_string()));
        let level = gateways
            .iter()
            .filter(|g| {
                g.status
                    .borrow()
                    .sync
                    .in_sync_at
                    .is_some_and(|t| t >= started_ms)
            })
            .count();
        if level == gateways.len() {
            break start.elapsed().as_secs_f64();
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(args.timeout),
            "{level} of {} gateways level after {} s",
            gateways.len(),
            args.timeout
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let hub_cpu = cpu_s(hub) - cpu_before;
    for g in gateways {
        g.shutdown().await;
    }
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "gateways": args.gateways,
                "case_files": args.gateways * args.case_files,
                "stampede_level_s": level_s,
                "hub_cpu_s": hub_cpu,
                "rss_mb": peak_rss,
            })
        );
    } else {
        println!(
            "{:>9} {:>11} {:>10} {:>10} {:>12}",
            "gateways", "case files", "level s", "hub CPU s", "hub RSS MB"
        );
        println!(
            "{:>9} {:>11} {:>10.1} {:>10.1} {:>12.0}",
            args.gateways,
            args.gateways * args.case_files,
            level_s,
            hub_cpu,
            peak_rss
        );
    }
    Ok(())
}
