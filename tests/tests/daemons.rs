//! The real binaries: `pathway-hub` and `pathway-gateway` as processes with their TOML configs,
//! through the link simulator. `kill -9` of the gateway and then of the hub in the middle of a
//! sync loses nothing that was acknowledged, and sync resumes after each restart.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pathway_shared::identity::Ca;
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::harness::differences;
use pathway_tests::linksim::{LinkSim, Profile};
use pathway_tests::sample::{SampleConfig, SampleFacility};

fn write(p: &Path, s: &str) {
    std::fs::write(p, s).unwrap();
}

/// A workspace binary beside this test's executable; `.ci/run` builds them first.
fn binary(name: &str) -> PathBuf {
    pathway_tests::workspace_binary(name).unwrap_or_else(|e| panic!("{e}"))
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(bin: &str, config: &Path) -> Child {
    Command::new(bin)
        .arg("--config")
        .arg(config)
        .env(
            "RUST_LOG",
            std::env::var("PATHWAY_CHILD_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

fn interrupt(child: &mut Child) {
    let _ = Command::new("kill")
        .arg("-INT")
        .arg(child.id().to_string())
        .status();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill9(child: &mut Child) {
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}

/// Waits until `bytes()` passes `at_least`.
async fn until_bytes(sim: &LinkSim, at_least: u64, secs: u64) {
    let start = Instant::now();
    while sim.bytes_up() < at_least {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "sync stalled at {} bytes",
            sim.bytes_up()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the link has been quiet (keep-alives aside) for longer than a dead connection
/// takes to notice (QUIC idle timeout, 30 s).
async fn until_quiet(sim: &LinkSim, secs: u64) {
    let start = Instant::now();
    let mut last = (sim.bytes_up() + sim.bytes_down(), Instant::now());
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = sim.bytes_up() + sim.bytes_down();
        if now > last.0 + 2_000 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(40) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "the link never went quiet"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_of_gateway_and_hub_mid_sync_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::generate("Pathway test CA").unwrap();
    write(&d.join("ca.pem"), &ca.creds.cert_pem);
    let hub_creds = ca.issue_hub("hub.pathway.test").unwrap();
    write(&d.join("hub.pem"), &hub_creds.cert_pem);
    write(&d.join("hub.key"), &hub_creds.key_pem);
    let gw_creds = ca.issue_gateway("gw-whk", "WHK", 30).unwrap();
    write(&d.join("gw.pem"), &gw_creds.cert_pem);
    write(&d.join("gw.key"), &gw_creds.key_pem);
    let port = free_udp_port();
    let hub_status: std::net::SocketAddr = format!("127.0.0.1:{}", pathway_tests::free_tcp_port())
        .parse()
        .unwrap();
    let gw_status: std::net::SocketAddr = format!("127.0.0.1:{}", pathway_tests::free_tcp_port())
        .parse()
        .unwrap();
    let hub_cfg = d.join("hub.toml");
    write(
        &hub_cfg,
        &format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"hub-data\"\nstatus_listen = \"{hub_status}\"\n[tls]\nca = \"ca.pem\"\ncert = \"hub.pem\"\nkey = \"hub.key\"\n"
        ),
    );
    // A slow link, so the kills land mid-sync.
    let profile = Profile {
        rate_bps: 256_000,
        delay: Duration::from_millis(100),
        ..Profile::named("lan").unwrap()
    };
    let profile = Profile {
        queue_bytes: 64 << 10,
        ..profile
    };
    let sim = LinkSim::start(profile, format!("127.0.0.1:{port}").parse().unwrap(), 1)
        .await
        .unwrap();
    let gw_cfg = d.join("gw.toml");
    write(
        &gw_cfg,
        &format!(
            "gateway_id = \"gw-whk\"\nfacility = \"WHK\"\ndata_dir = \"gw-data\"\nstatus_listen = \"{gw_status}\"\n[hub]\naddr = \"{}\"\nname = \"hub.pathway.test\"\n[tls]\nca = \"ca.pem\"\ncert = \"gw.pem\"\nkey = \"gw.key\"\n[link]\nbackoff_min = \"200ms\"\nbackoff_max = \"2s\"\n",
            sim.addr
        ),
    );
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 1_000,
        marks: 10_000,
        ..SampleConfig::default()
    });
    {
        let hub =
            Store::open(d.join("hub-data"), StoreOptions::keyed(d.join("store.key"))).unwrap();
        sample.load_national(&hub, 1).unwrap();
        let gw = Store::open(d.join("gw-data"), StoreOptions::keyed(d.join("store.key"))).unwrap();
        sample.load_facility(&gw, 1).unwrap();
    }
    let (hub_bin, gw_bin) = (binary("pathway-hub"), binary("pathway-gateway"));
    let (hub_bin, gw_bin) = (hub_bin.to_str().unwrap(), gw_bin.to_str().unwrap());
    let mut hub = spawn(hub_bin, &hub_cfg);
    let mut gw = spawn(gw_bin, &gw_cfg);
    until_bytes(&sim, 40_000, 60).await;
    kill9(&mut gw);
    let at_gw_kill = sim.bytes_up();
    gw = spawn(gw_bin, &gw_cfg);
    until_bytes(&sim, at_gw_kill + 60_000, 60).await;
    kill9(&mut hub);
    hub = spawn(hub_bin, &hub_cfg);
    until_quiet(&sim, 180).await;
    // The operators' view of the same moment, from the daemons themselves.
    let words = pathway_tests::http::get(gw_status, "/status.txt").await;
    assert!(words.contains("hub: online"), "{words}");
    assert!(words.contains("nothing waiting to go"), "{words}");
    let metrics = pathway_tests::http::get(hub_status, "/metrics").await;
    assert!(
        metrics.contains("pathway_peer_online{peer=\"gw-whk\"} 1"),
        "{metrics}"
    );
    // Any local process reads the status; an action needs the operator token the daemon wrote
    // beside its key (owner-only), which `pathway` reads as root.
    let (code, _) = pathway_tests::http::request(gw_status, "POST", "/sync-now")
        .await
        .unwrap();
    assert_eq!(code, 401, "no token, no action");
    let token_file = d.join("operator.token");
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(
        std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let auth = format!("Bearer {}", token.trim());
    let (code, _) = pathway_tests::http::request_with(
        gw_status,
        "POST",
        "/sync-now",
        &[("authorization", &auth)],
    )
    .await
    .unwrap();
    assert_eq!(code, 200, "sync now");
    // A form on some other web page cannot ask for one.
    let (code, body) = pathway_tests::http::request_with(
        gw_status,
        "POST",
        "/sync-now",
        &[
            ("origin", "http://intranet.example"),
            ("authorization", &auth),
        ],
    )
    .await
    .unwrap();
    assert_eq!(code, 403, "a cross-site post: {body}");
    interrupt(&mut gw);
    interrupt(&mut hub);
    let hub_store =
        Store::open(d.join("hub-data"), StoreOptions::keyed(d.join("store.key"))).unwrap();
    let gw_store =
        Store::open(d.join("gw-data"), StoreOptions::keyed(d.join("store.key"))).unwrap();
    let diff = differences(&hub_store, &gw_store, "WHK");
    eprintln!(
        "{} bytes up, {} down; {} documents differ",
        sim.bytes_up(),
        sim.bytes_down(),
        diff.len()
    );
    assert!(
        diff.is_empty(),
        "not converged after kills: {:?}",
        &diff[..diff.len().min(5)]
    );
    assert_eq!(
        hub_store
            .list("facility:WHK", pathway_shared::model::Kind::CaseFile)
            .unwrap()
            .len(),
        1_000
    );
}
