//! hubbench: a country's hub under its gateways. A real `pathway-hub` process (made as a
//! national administrator makes one: `ca init`, `ca issue-hub`, `add-admin`) and `--gateways`
//! gateways, each enrolled and installed from its bundle (`enrol`, `install`), holding a sample
//! facility (`--case-files` in all, ten marks each), in this process over real QUIC and TLS on
//! loopback. Set-up: every gateway's first sync (timed, reported, not a target). Then:
//!
//! 1. **stampede**: every gateway, stopped, makes `--offline-changes` changes (case notes), and
//!    all start in the same second: the time until every one is level, the hub's CPU time, and
//!    the p99 time at the hub from a change frame's arrival to its acknowledgement (applied
//!    durably), over every gateway's session;
//! 2. **steady**: a third of the gateways (at most 50) write case notes continuously for
//!    `--steady-s` seconds while the rest stay connected and idle: changes written ÷ the time
//!    until every one of them is at the hub;
//! 3. **indicators**: the national indicators page after one more change reached the hub
//!    (counted incrementally), and after a restart of the hub (every document's counters
//!    summed from its table: cold).
//!
//! The hub's peak RSS over all of it. `--json` prints one object.
//!
//! `cargo run --release -p pathway-tests --bin hubbench [-- --gateways 30 --case-files 6000 --json]`

use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::model::{CaseFile, CaseNote, Kind, Millis, NoteType};
use pathway_shared::store::{Pending, Store, StoreError, StoreOptions};
use pathway_shared::sync::Latency;
use pathway_tests::national::{ADMIN, NationalSite};
use pathway_tests::sample::{SampleConfig, SampleFacility};
use pathway_tests::{free_tcp_port, now_ms, rss_mb_of};

#[derive(Parser)]
struct Args {
    /// Gateways, one facility each.
    #[arg(long, default_value_t = 10)]
    gateways: usize,
    /// Case files in all, shared among the facilities.
    #[arg(long, default_value_t = 10_000)]
    case_files: usize,
    /// Changes each gateway makes while stopped, before the stampede.
    #[arg(long, default_value_t = 200)]
    offline_changes: usize,
    /// Seconds the steady phase writes for.
    #[arg(long, default_value_t = 20)]
    steady_s: u64,
    /// Give up waiting for gateways to be level after this many seconds.
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

/// Watches the hub's RSS.
struct Hub {
    pid: u32,
    peak_rss: f64,
}

impl Hub {
    fn sample(&mut self) {
        self.peak_rss = self.peak_rss.max(rss_mb_of(&self.pid.to_string()));
    }
}

/// Waits until every gateway reports a level session that began after `since`; returns the
/// seconds from `start`.
async fn until_level(
    gateways: &[Gateway],
    since: Millis,
    start: Instant,
    hub: &mut Hub,
    timeout: u64,
) -> anyhow::Result<f64> {
    loop {
        hub.sample();
        let level = gateways
            .iter()
            .filter(|g| {
                let s = g.status.borrow();
                s.online && s.sync.in_sync_at.is_some_and(|t| t >= since)
            })
            .count();
        if level == gateways.len() {
            return Ok(start.elapsed().as_secs_f64());
        }
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(timeout),
            "{level} of {} gateways level after {timeout} s",
            gateways.len(),
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Writes `n` case notes across `facility`'s case files in `store`, one change each;
/// durable on return.
fn notes(store: &Store, facility: &str, n: usize, tag: &str) -> anyhow::Result<()> {
    let cases = store.list(&format!("facility:{facility}"), Kind::CaseFile)?;
    anyhow::ensure!(!cases.is_empty(), "no case files at {facility}");
    let mut last: Option<Pending> = None;
    for i in 0..n {
        let note = CaseNote {
            author: "bench".into(),
            at: now_ms(),
            facility_id: facility.to_owned(),
            note_type: NoteType::General,
            text: format!("attended the workshop ({tag} {i})"),
            ..CaseNote::default()
        };
        let key = format!("{tag}-{i}");
        let (_, _, pending) = store.edit_staged::<CaseFile, _, StoreError>(
            &cases[i % cases.len()],
            now_ms(),
            |e| e.put(&["notes", &key], &note),
        )?;
        last = Some(pending);
    }
    if let Some(p) = last {
        p.durable()?;
    }
    Ok(())
}

/// How long the hub took from each change frame's arrival to its acknowledgement, over every
/// gateway's session, from its status.
async fn hub_ack_latency(site: &NationalSite) -> anyhow::Result<Latency> {
    let (status, body) = pathway_tests::http::request(site.hub_status, "GET", "/status").await?;
    anyhow::ensure!(status == 200, "hub status: {status}");
    let v: serde_json::Value = serde_json::from_str(&body)?;
    let mut all = Latency::default();
    for peer in v["status"]["peers"]
        .as_object()
        .context("no peers in the hub's status")?
        .values()
    {
        let counts = &peer["stats"]["ack_latency"]["counts"];
        let mut one = Latency::default();
        for (i, c) in counts
            .as_array()
            .context("no ack latency")?
            .iter()
            .enumerate()
        {
            if let Some(slot) = one.counts.get_mut(i) {
                *slot = c.as_u64().unwrap_or(0);
            }
        }
        all.add(&one);
    }
    Ok(all)
}

/// A logged-in connection to the hub's administration.
struct Dashboard {
    client: pathway_tests::https::Client,
    token: String,
}

impl Dashboard {
    async fn open(site: &NationalSite) -> anyhow::Result<Dashboard> {
        let ca = std::fs::read_to_string(site.ca_dir.join("ca.pem"))?;
        let tls = pathway_tests::https::connector(&ca)?;
        let mut client =
            pathway_tests::https::Client::connect_to("localhost", site.admin.port(), &tls).await?;
        let login = serde_json::json!({"username": ADMIN, "password": site.admin_password});
        let (_, b) = client
            .send("POST", "/api/login", "", &login.to_string())
            .await?;
        let token = serde_json::from_str::<serde_json::Value>(&b)?["token"]
            .as_str()
            .context("no token")?
            .to_owned();
        Ok(Dashboard { client, token })
    }

    /// The national indicators page for this month: how long it took, in ms.
    async fn indicators_ms(&mut self) -> anyhow::Result<f64> {
        let start = Instant::now();
        let (status, body) = self
            .client
            .send("GET", "/indicators?area=nation", &self.token, "")
            .await?;
        anyhow::ensure!(status == 200, "indicators: {status} {body}");
        anyhow::ensure!(body.contains("id=\"headline\""), "no figures: {body}");
        Ok(start.elapsed().as_secs_f64() * 1000.0)
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let mut site = NationalSite::start(d);
    let mut hub = Hub {
        pid: site.hub_pid().context("the hub did not start")?,
        peak_rss: 0.0,
    };
    let per = (args.case_files / args.gateways.max(1)).max(1);
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
            cases: per,
            marks: per * 10,
            ..SampleConfig::default()
        });
        let store = Store::open(&cfg.data_dir, StoreOptions::keyed(cfg.key_file()))?;
        sample.load_facility(&store, now_ms())?;
        drop(store);
        configs.push((facility, cfg));
    }
    let say = |what: &str| {
        if !args.json {
            eprintln!("{what}");
        }
    };
    say(&format!(
        "{} gateways × {per} case files made in {:.0} s; their first sync",
        args.gateways,
        setup.elapsed().as_secs_f64()
    ));

    // Set-up: the first sync.
    let since = now_ms();
    let start = Instant::now();
    let mut gateways = Vec::new();
    for (_, cfg) in &configs {
        gateways.push(Gateway::start(cfg)?);
    }
    let first_sync_s = until_level(&gateways, since, start, &mut hub, args.timeout).await?;
    say(&format!(
        "first sync: {first_sync_s:.1} s; the offline changes"
    ));
    for g in gateways.drain(..) {
        g.shutdown().await;
    }
    for (facility, cfg) in &configs {
        let store = Store::open(&cfg.data_dir, StoreOptions::keyed(cfg.key_file()))?;
        notes(&store, facility, args.offline_changes, "offline")?;
    }

    // 1. The stampede.
    let cpu_before = cpu_s(hub.pid);
    let since = now_ms();
    let start = Instant::now();
    for (_, cfg) in &configs {
        gateways.push(Gateway::start(cfg)?);
    }
    let stampede_level_s = until_level(&gateways, since, start, &mut hub, args.timeout).await?;
    let stampede_cpu = cpu_s(hub.pid) - cpu_before;
    let ack_p99_ms = hub_ack_latency(&site).await?.quantile(0.99).unwrap_or(0);
    say(&format!(
        "stampede: level in {stampede_level_s:.1} s, hub CPU {stampede_cpu:.1} s, ack p99 ≤ {ack_p99_ms} ms; steady writing"
    ));

    // 2. Steady: a third of the gateways write, the rest stay connected.
    let writers = (args.gateways / 3).clamp(1, 50);
    let cpu_before = cpu_s(hub.pid);
    let since = now_ms();
    let start = Instant::now();
    let until = start + Duration::from_secs(args.steady_s);
    let mut tasks = Vec::new();
    for (i, (facility, _)) in configs.iter().enumerate().take(writers) {
        let store = gateways[i].store.clone();
        let facility = facility.clone();
        tasks.push(tokio::task::spawn_blocking(
            move || -> anyhow::Result<usize> {
                let mut written = 0;
                let mut round = 0;
                while Instant::now() < until {
                    notes(&store, &facility, 20, &format!("steady-{round}"))?;
                    written += 20;
                    round += 1;
                }
                Ok(written)
            },
        ));
    }
    let mut written = 0;
    for t in tasks {
        written += t.await??;
    }
    let steady_s = until_level(&gateways, since, start, &mut hub, args.timeout).await?;
    let steady_cpu = cpu_s(hub.pid) - cpu_before;
    let changes_per_s = written as f64 / steady_s;
    say(&format!(
        "steady: {written} changes from {writers} gateways at the hub in {steady_s:.1} s ({changes_per_s:.0}/s), hub CPU {steady_cpu:.1} s; indicators"
    ));

    // 3. Indicators: after one change, then cold after a restart.
    let mut dash = Dashboard::open(&site).await?;
    dash.indicators_ms().await?;
    let since = now_ms();
    notes(&gateways[0].store, &configs[0].0, 1, "one")?;
    until_level(&gateways, since, Instant::now(), &mut hub, args.timeout).await?;
    let indicators_incremental_ms = dash.indicators_ms().await?;
    for g in gateways.drain(..) {
        g.shutdown().await;
    }
    let restart = Instant::now();
    site.start_hub();
    hub.pid = site.hub_pid().context("the hub did not start again")?;
    let up_s = restart.elapsed().as_secs_f64();
    let mut dash = Dashboard::open(&site).await?;
    let first_ms = dash.indicators_ms().await?;
    let indicators_cold_s = up_s + first_ms / 1000.0;
    hub.sample();

    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "gateways": args.gateways,
                "case_files": args.gateways * per,
                "first_sync_s": first_sync_s,
                "stampede_level_s": stampede_level_s,
                "stampede_hub_cpu_s": stampede_cpu,
                "ack_p99_ms": ack_p99_ms,
                "changes_per_s": changes_per_s,
                "steady_hub_cpu_s": steady_cpu,
                "hub_cpu_us_per_change": steady_cpu / written.max(1) as f64 * 1e6,
                "rss_mb": hub.peak_rss,
                "indicators_cold_s": indicators_cold_s,
                "indicators_incremental_ms": indicators_incremental_ms,
            })
        );
    } else {
        println!("gateways                  {}", args.gateways);
        println!("case files                {}", args.gateways * per);
        println!("first sync (set-up)       {first_sync_s:.1} s");
        println!("stampede: all level       {stampede_level_s:.1} s (target ≤ 60 s)");
        println!("stampede: hub CPU         {stampede_cpu:.1} s");
        println!("ack p99                   ≤ {ack_p99_ms} ms (target ≤ 500 ms)");
        println!("steady: changes/s         {changes_per_s:.0} (target ≥ 20,000)");
        println!(
            "steady: hub CPU           {steady_cpu:.1} s over {steady_s:.1} s ({:.0} µs per change)",
            steady_cpu / written.max(1) as f64 * 1e6
        );
        println!(
            "hub peak RSS              {:.0} MB (target ≤ 2,048 MB)",
            hub.peak_rss
        );
        println!(
            "indicators cold           {indicators_cold_s:.2} s (target ≤ 10 s; hub start {up_s:.2} s + page {first_ms:.0} ms)"
        );
        println!("indicators after a change {indicators_incremental_ms:.0} ms (target ≤ 100 ms)");
    }
    Ok(())
}
