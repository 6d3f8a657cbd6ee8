//! lanbench: the gateway's LAN service under a staff workload. A real `pathway-gateway` process
//! holding the standard sample facility (sealed at rest) serves HTTPS on loopback; 100 clients
//! (keep-alive connections, each from a loopback address of its own, as devices are) send 80%
//! reads (case files 42.5%, the sessions open for marking 15%, a search by a person's name 10%,
//! the case officer's caseload 2.5% as JSON and 2.5% as the console's page, a run's class list
//! page 5%, the instructor's week's timetable page 2.5%) and 20% durable writes (a session's
//! marks 10%, case notes 10%). Every case-file read, search, caseload, class list and write is
//! audited, so each of them is a durable write too.
//!
//! Two phases of `--duration` seconds each:
//! - **saturated**: every client sends its next request as soon as the last is answered. This
//!   gives the most requests/s the gateway serves. Its latencies are mostly queueing: with 100
//!   clients always waiting, the mean latency is 100 / (requests/s) whatever the service time.
//! - **paced**: the clients together offer `--rate` requests/s on a fixed schedule (open loop),
//!   as staff do, who do not wait for each other. Latency is counted from when a request was
//!   due, not from when it went out, so a gateway that falls behind is not flattered.
//!
//! `rps` is the saturated rate; `p50_ms`/`p99_ms` are the paced latencies; `rss_mb` is the
//! gateway's peak over both phases. The paced phase offers half the saturated rate measured in
//! the same run unless `--rate` says otherwise: the target is judged there (at least 2,000
//! requests/s saturated, p99 at most 20 ms paced, RSS at most 150 MB, on 2 cores with the
//! clients on the same cores).
//!
//! `cargo run --release -p pathway-tests --bin lanbench [-- --duration 20 --rate 1000 --json]`

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use pathway_shared::identity::Ca;
use pathway_shared::model::{Role, WaitStatus};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::https::Client;
use pathway_tests::sample::{DEMO_PASSWORD, SampleConfig, SampleFacility};
use pathway_tests::{now_ms, offline_gateway_config, percentile, rss_mb_of, workspace_binary};

#[derive(Parser)]
struct Args {
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Requests/s the clients offer together in the paced phase; 0 skips it. Without it, the
    /// paced phase offers half the saturated rate just measured.
    #[arg(long)]
    rate: Option<u64>,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// A session to mark: run, month, session id, and the people allocated to the run.
type Markable = (String, String, String, Vec<String>);

#[derive(Clone)]
struct Work {
    people: Arc<Vec<String>>,
    /// People's names, as staff type them into the search.
    names: Arc<Vec<String>>,
    sessions: Arc<Vec<Markable>>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let sample = SampleFacility::generate(&SampleConfig::default());
    {
        // Sealed under the key file the gateway's configuration names (`store.key` beside it).
        let store = Store::open(d.join("data"), StoreOptions::keyed(d.join("store.key")))?;
        sample.load(&store, now_ms())?;
    }
    let ca = Ca::generate("lanbench CA")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;
    // No hub is reachable: the appliance works offline, as the LAN service must.
    let cfg = offline_gateway_config(d, &ca, addr)?;
    let mut child = Command::new(workspace_binary("pathway-gateway")?)
        .arg("--config")
        .arg(&cfg)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id();
    let result = run(&args, addr, &ca.creds.cert_pem, &sample, pid).await;
    let _ = child.kill();
    let _ = child.wait();
    result
}

async fn run(
    args: &Args,
    addr: std::net::SocketAddr,
    ca_pem: &str,
    sample: &SampleFacility,
    pid: u32,
) -> anyhow::Result<()> {
    let tls = pathway_tests::https::connector(ca_pem)?;
    // Wait for the gateway to listen.
    let start = Instant::now();
    let device =
        |i: usize| std::net::IpAddr::from([127, 0, 1 + (i / 250) as u8, 1 + (i % 250) as u8]);
    while Client::connect(addr, device(0), &tls).await.is_err() {
        anyhow::ensure!(
            start.elapsed() < Duration::from_secs(30),
            "the gateway did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let user = |role: Role| -> Vec<String> {
        sample
            .staff
            .iter()
            .filter(|s| s.roles.contains(&role))
            .map(|s| s.username.clone())
            .collect()
    };
    let (officers, teachers) = (user(Role::CaseOfficer), user(Role::Instructor));
    let today = pathway_shared::model::iso_date(time::OffsetDateTime::now_utc().date());
    let work = Work {
        people: Arc::new(sample.cases.iter().map(|c| c.person_id.clone()).collect()),
        names: Arc::new(
            sample
                .cases
                .iter()
                .map(|c| format!("{} {}", c.given_name.to_lowercase(), c.family_name))
                .collect(),
        ),
        sessions: Arc::new(
            sample
                .registers
                .iter()
                .flat_map(|r| {
                    // A health programme's register is its own instructor's and health staff's:
                    // the teachers here mark the others.
                    let run = sample.runs.iter().find(|x| x.id == r.run_id).filter(|x| {
                        !sample
                            .programmes
                            .iter()
                            .any(|p| p.code == x.programme_code && p.category.is_health())
                    });
                    let people: Vec<String> = run
                        .map(|x| {
                            x.waiting_list
                                .values()
                                .filter(|w| w.status == WaitStatus::Allocated)
                                .map(|w| w.person_id.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    // Sessions that took place: nobody is marked before the day or at a
                    // cancelled session.
                    r.sessions
                        .iter()
                        .filter(|(_, s)| !s.cancelled && s.date <= today)
                        .map(|(s, _)| s)
                        .map(move |s| {
                            (r.run_id.clone(), r.month.clone(), s.clone(), people.clone())
                        })
                        .collect::<Vec<_>>()
                })
                .filter(|s| !s.3.is_empty())
                .collect(),
        ),
    };
    // Log everyone in first: argon2id is slow on purpose and is not what this measures.
    let mut clients = Vec::new();
    for i in 0..args.clients {
        let mut c = Client::connect(addr, device(i), &tls).await?;
        let mut tokens = Vec::new();
        for u in [&officers[i % officers.len()], &teachers[i % teachers.len()]] {
            let body = serde_json::json!({"username": u, "password": DEMO_PASSWORD}).to_string();
            let (s, b) = c.send("POST", "/api/login", "", &body).await?;
            anyhow::ensure!(s == 200, "log-in as {u}: {s} {b}");
            let v: serde_json::Value = serde_json::from_str(&b)?;
            tokens.push(v["token"].as_str().context("token")?.to_owned());
        }
        clients.push(Agent { client: c, tokens });
    }
    let peak = Arc::new(Mutex::new(0.0f64));
    let watch = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let rss = rss_mb_of(&pid.to_string());
                let mut p = peak.lock().unwrap();
                *p = p.max(rss);
            }
        })
    };
    let duration = Duration::from_secs(args.duration);
    let (clients, saturated) = phase(clients, &work, duration, None).await?;
    let rate = args.rate.unwrap_or((saturated.rps() / 2.0).round() as u64);
    let paced = if rate > 0 {
        let every = Duration::from_secs_f64(args.clients as f64 / rate as f64);
        Some(phase(clients, &work, duration, Some(every)).await?.1)
    } else {
        None
    };
    watch.abort();
    let rss = *peak.lock().unwrap();
    let p = paced.as_ref().unwrap_or(&saturated);
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "rps": saturated.rps(),
                "p50_ms": p.pct(50.0),
                "p99_ms": p.pct(99.0),
                "rss_mb": rss,
                "rate": rate,
                "paced_rps": paced.as_ref().map(Outcome::rps),
                "saturated_p50_ms": saturated.pct(50.0),
                "saturated_p99_ms": saturated.pct(99.0),
                "requests": saturated.lat.len() + paced.as_ref().map_or(0, |p| p.lat.len()),
                "errors": saturated.errors.len() + paced.as_ref().map_or(0, |p| p.errors.len()),
                "clients": args.clients,
                "duration_s": args.duration,
            })
        );
        return Ok(());
    }
    println!(
        "lanbench: {} clients, 80% reads / 20% durable writes, every case read and write audited; gateway peak RSS {rss:.1} MB",
        args.clients
    );
    println!(
        "{:<24} {:>10} {:>10} {:>10} {:>8}",
        "phase", "req/s", "p50 ms", "p99 ms", "errors"
    );
    let mut rows = vec![("saturated".to_owned(), &saturated)];
    if let Some(p) = &paced {
        rows.push((format!("paced at {rate} req/s"), p));
    }
    for (name, o) in rows {
        println!(
            "{name:<24} {:>10.0} {:>10.1} {:>10.1} {:>8}",
            o.rps(),
            o.pct(50.0),
            o.pct(99.0),
            o.errors.len()
        );
        for (k, l) in KINDS.iter().zip(&o.by_kind) {
            println!(
                "  {k:<22} {:>10} {:>10.1} {:>10.1}",
                format!("{} req", l.len()),
                percentile(l, 50.0),
                percentile(l, 99.0)
            );
        }
        for e in o.errors.iter().take(5) {
            println!("  error: {e}");
        }
    }
    Ok(())
}

/// Kinds of request, for the latency breakdown.
const KINDS: [&str; 9] = [
    "case file (audited)",
    "open sessions",
    "search by name (audited)",
    "caseload (audited)",
    "marks (written, audited)",
    "note (written, audited)",
    "class list page (audited)",
    "timetable page",
    "caseload page (audited)",
];

fn kind(method: &str, path: &str) -> usize {
    match (method, path.ends_with("/notes"), path.ends_with("/marks")) {
        ("GET", ..) if path.starts_with("/api/cases/") => 0,
        ("GET", ..) if path.starts_with("/api/cases?") => 2,
        ("GET", ..) if path.starts_with("/api/caseload") => 3,
        ("GET", ..) if path.starts_with("/runs/") => 6,
        ("GET", ..) if path.starts_with("/timetable") => 7,
        ("GET", ..) if path.starts_with("/caseload") => 8,
        ("GET", ..) => 1,
        (_, false, true) => 4,
        _ => 5,
    }
}

/// A logged-in client: its connection and its tokens (a case officer's, an instructor's).
struct Agent {
    client: Client,
    tokens: Vec<String>,
}

/// What one phase measured.
struct Outcome {
    /// Sorted latencies of the requests answered with success, ms.
    lat: Vec<f64>,
    /// The same, by kind of request (see [`KINDS`]).
    by_kind: [Vec<f64>; 9],
    errors: Vec<String>,
    elapsed: f64,
}

impl Outcome {
    fn rps(&self) -> f64 {
        self.lat.len() as f64 / self.elapsed
    }

    fn pct(&self, p: f64) -> f64 {
        percentile(&self.lat, p)
    }
}

/// Runs the workload for `duration`: back to back, or each client every `every` (staggered).
/// Returns the clients for the next phase.
async fn phase(
    agents: Vec<Agent>,
    work: &Work,
    duration: Duration,
    every: Option<Duration>,
) -> anyhow::Result<(Vec<Agent>, Outcome)> {
    let started = Instant::now();
    let deadline = started + duration;
    let n = agents.len() as u32;
    let mut tasks = Vec::new();
    for (i, mut agent) in agents.into_iter().enumerate() {
        let work = work.clone();
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(i as u64);
            let (mut lat, mut errors) = (Vec::new(), Vec::new());
            let mut by_kind: [Vec<f64>; 9] = Default::default();
            let mut due = started + every.map_or(Duration::ZERO, |e| e * i as u32 / n);
            let mut k = 0u64;
            while due < deadline {
                if every.is_some() {
                    tokio::time::sleep_until(due.into()).await;
                } else {
                    due = Instant::now();
                }
                k += 1;
                let (method, path, token, body) = request(&work, &agent.tokens, &mut rng, i, k);
                match agent.client.send(method, &path, token, &body).await {
                    Ok((s, _)) if s < 300 => {
                        let ms = due.elapsed().as_secs_f64() * 1_000.0;
                        lat.push(ms);
                        by_kind[kind(method, &path)].push(ms);
                    }
                    Ok((s, b)) => errors.push(format!("{method} {path}: {s} {b}")),
                    Err(e) => {
                        errors.push(format!("{method} {path}: {e}"));
                        return (None, lat, by_kind, errors);
                    }
                }
                if let Some(e) = every {
                    due += e;
                }
            }
            (Some(agent), lat, by_kind, errors)
        }));
    }
    let mut out = Outcome {
        lat: Vec::new(),
        by_kind: Default::default(),
        errors: Vec::new(),
        elapsed: 0.0,
    };
    let mut agents = Vec::new();
    for t in tasks {
        let (agent, lat, by_kind, errors) = t.await?;
        for (all, mine) in out.by_kind.iter_mut().zip(by_kind) {
            all.extend(mine);
        }
        agents.extend(agent);
        out.lat.extend(lat);
        out.errors.extend(errors);
    }
    out.elapsed = started.elapsed().as_secs_f64();
    out.lat.sort_by(f64::total_cmp);
    for l in &mut out.by_kind {
        l.sort_by(f64::total_cmp);
    }
    anyhow::ensure!(
        !agents.is_empty(),
        "every client lost its connection: {:?}",
        out.errors.first()
    );
    Ok((agents, out))
}

/// The next request of client `i` (its `k`-th): method, path, token and body.
fn request<'a>(
    work: &Work,
    tokens: &'a [String],
    rng: &mut fastrand::Rng,
    i: usize,
    k: u64,
) -> (&'static str, String, &'a String, String) {
    let roll = rng.u8(..40);
    let person = &work.people[rng.usize(..work.people.len())];
    match roll {
        0..=16 => (
            "GET",
            format!("/api/cases/{person}"),
            &tokens[0],
            String::new(),
        ),
        17..=22 => ("GET", "/api/sessions".to_owned(), &tokens[1], String::new()),
        23..=26 => {
            let name = &work.names[rng.usize(..work.names.len())];
            let q: String = name
                .bytes()
                .map(|b| match b {
                    b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => (b as char).to_string(),
                    _ => format!("%{b:02X}"),
                })
                .collect();
            (
                "GET",
                format!("/api/cases?q={q}"),
                &tokens[0],
                String::new(),
            )
        }
        27 => ("GET", "/api/caseload".to_owned(), &tokens[0], String::new()),
        28 => ("GET", "/caseload".to_owned(), &tokens[0], String::new()),
        29..=30 => {
            let run = &work.sessions[rng.usize(..work.sessions.len())].0;
            ("GET", format!("/runs/{run}"), &tokens[1], String::new())
        }
        31 => ("GET", "/timetable".to_owned(), &tokens[1], String::new()),
        32..=35 => {
            let (run, month, session, people) = &work.sessions[rng.usize(..work.sessions.len())];
            let marks: Vec<_> = people
                            .iter()
                            .take(3)
                            .map(|p| serde_json::json!({"person": p, "outcome": if rng.bool() { "attended" } else { "absent_excused" }}))
                            .collect();
            (
                "POST",
                format!("/api/registers/{run}/{month}/sessions/{session}/marks"),
                &tokens[1],
                serde_json::json!({ "marks": marks }).to_string(),
            )
        }
        _ => (
            "POST",
            format!("/api/cases/{person}/notes"),
            &tokens[0],
            serde_json::json!({"text": format!("bench note {i}-{k}")}).to_string(),
        ),
    }
}
