//! lanbench: the gateway's LAN service under a staff workload. A real `pathway-gateway` process
//! holding the standard sample facility serves HTTPS on loopback; 100 clients (keep-alive
//! connections) send 80% reads (case files, the sessions open for marking) and 20% durable
//! writes (a session's marks, case notes). Every case-file read and every write is audited, so
//! each of them is a durable write too. Prints requests/s, p50/p99 latency and the gateway's RSS.
//!
//! `cargo run --release -p pathway-tests --bin lanbench [-- --duration 20 --json]`

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use pathway_shared::identity::Ca;
use pathway_shared::model::{Role, WaitStatus};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::sample::{DEMO_PASSWORD, SampleConfig, SampleFacility};
use pathway_tests::{now_ms, offline_gateway_config, percentile, rss_mb_of};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[derive(Parser)]
struct Args {
    /// Seconds of load.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// One JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// One keep-alive HTTPS connection.
struct Client {
    io: BufReader<Tls>,
}

impl Client {
    async fn connect(
        addr: std::net::SocketAddr,
        tls: &tokio_rustls::TlsConnector,
    ) -> anyhow::Result<Client> {
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let s = tls.connect("localhost".try_into()?, tcp).await?;
        Ok(Client {
            io: BufReader::new(s),
        })
    }

    /// Sends a request; returns the status and the body.
    async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
    ) -> anyhow::Result<(u16, String)> {
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.io.get_mut().write_all(req.as_bytes()).await?;
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("status line")?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.io.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse()?;
            }
        }
        let mut buf = vec![0; len];
        self.io.read_exact(&mut buf).await?;
        Ok((status, String::from_utf8_lossy(&buf).into_owned()))
    }
}

fn binary(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let p = exe.parent().context("bin folder")?.join(name);
    anyhow::ensure!(
        p.exists(),
        "{} is missing: run `cargo build --release --workspace` first",
        p.display()
    );
    Ok(p)
}

/// A session to mark: run, month, session id, and the people allocated to the run.
type Markable = (String, String, String, Vec<String>);

#[derive(Clone)]
struct Work {
    people: Arc<Vec<String>>,
    sessions: Arc<Vec<Markable>>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let d = dir.path();
    let sample = SampleFacility::generate(&SampleConfig::default());
    {
        let store = Store::open(d.join("data"), StoreOptions::default())?;
        sample.load(&store, now_ms())?;
    }
    let ca = Ca::generate("lanbench CA")?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse()?;
    // No hub is reachable: the appliance works offline, as the LAN service must.
    let cfg = offline_gateway_config(d, &ca, addr)?;
    let mut child = Command::new(binary("pathway-gateway")?)
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
    let mut roots = rustls::RootCertStore::empty();
    {
        use rustls::pki_types::pem::PemObject;
        for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
            roots.add(c?)?;
        }
    }
    let client_cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client_cfg));
    // Wait for the gateway to listen.
    let start = Instant::now();
    while Client::connect(addr, &tls).await.is_err() {
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
    let work = Work {
        people: Arc::new(sample.cases.iter().map(|c| c.person_id.clone()).collect()),
        sessions: Arc::new(
            sample
                .registers
                .iter()
                .flat_map(|r| {
                    let run = sample.runs.iter().find(|x| x.id == r.run_id);
                    let people: Vec<String> = run
                        .map(|x| {
                            x.waiting_list
                                .values()
                                .filter(|w| w.status == WaitStatus::Allocated)
                                .map(|w| w.person_id.clone())
                                .collect()
                        })
                        .unwrap_or_default();
                    r.sessions
                        .keys()
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
        let mut c = Client::connect(addr, &tls).await?;
        let mut tokens = Vec::new();
        for u in [&officers[i % officers.len()], &teachers[i % teachers.len()]] {
            let body = serde_json::json!({"username": u, "password": DEMO_PASSWORD}).to_string();
            let (s, b) = c.send("POST", "/api/login", "", &body).await?;
            anyhow::ensure!(s == 200, "log-in as {u}: {s} {b}");
            let v: serde_json::Value = serde_json::from_str(&b)?;
            tokens.push(v["token"].as_str().context("token")?.to_owned());
        }
        clients.push((c, tokens));
    }
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let deadline = Instant::now() + Duration::from_secs(args.duration);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, (mut c, tokens)) in clients.into_iter().enumerate() {
        let (work, latencies, errors) = (work.clone(), latencies.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(i as u64);
            let mut mine = Vec::new();
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let roll = rng.u8(..10);
                let person = &work.people[rng.usize(..work.people.len())];
                let (method, path, token, body) = match roll {
                    0..=4 => ("GET", format!("/api/cases/{person}"), &tokens[0], String::new()),
                    5..=7 => ("GET", "/api/sessions".to_owned(), &tokens[1], String::new()),
                    8 => {
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
                        serde_json::json!({"text": format!("bench note {i}-{n}")}).to_string(),
                    ),
                };
                let t = Instant::now();
                match c.send(method, &path, token, &body).await {
                    Ok((s, _)) if s < 300 => mine.push(t.elapsed().as_secs_f64() * 1_000.0),
                    Ok((s, b)) => errors.lock().unwrap().push(format!("{method} {path}: {s} {b}")),
                    Err(e) => {
                        errors.lock().unwrap().push(format!("{method} {path}: {e}"));
                        break;
                    }
                }
            }
            latencies.lock().unwrap().extend(mine);
        }));
    }
    let mut peak_rss = 0.0f64;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        peak_rss = peak_rss.max(rss_mb_of(&pid.to_string()));
    }
    for t in tasks {
        t.await?;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    let errors = errors.lock().unwrap().clone();
    let rps = lat.len() as f64 / elapsed;
    let (p50, p99) = (percentile(&lat, 50.0), percentile(&lat, 99.0));
    if args.json {
        println!(
            "{}",
            serde_json::json!({"rps": rps, "p50_ms": p50, "p99_ms": p99, "rss_mb": peak_rss, "requests": lat.len(), "errors": errors.len(), "clients": args.clients, "duration_s": elapsed})
        );
    } else {
        println!(
            "lanbench: {} clients, {:.0} s, 80% reads / 20% durable writes, every case read and write audited",
            args.clients, elapsed
        );
        println!(
            "{:>10} {:>10} {:>10} {:>10} {:>8}",
            "req/s", "p50 ms", "p99 ms", "RSS MB", "errors"
        );
        println!(
            "{rps:>10.0} {p50:>10.1} {p99:>10.1} {peak_rss:>10.1} {:>8}",
            errors.len()
        );
        for e in errors.iter().take(5) {
            println!("  error: {e}");
        }
    }
    Ok(())
}
