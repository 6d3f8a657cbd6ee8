//! Pathway's test tooling: sample data, fault injection helpers and benchmark support.

pub mod harness;
pub use pathway_linksim as linksim;
pub use pathway_provisioning::{http, https, sample};
pub mod national;

/// Resident set size of this process in MiB, from `/proc/self/status`.
pub fn rss_mb() -> f64 {
    rss_mb_of("self")
}

/// Resident set size of process `pid` (or `self`) in MiB, from `/proc`.
pub fn rss_mb_of(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Writes, into `dir`, the certificates and the TOML of a gateway of facility WHK that serves
/// staff on `lan_listen` and has no reachable hub (it works offline), with its store in
/// `dir/data`. Returns the config's path.
pub fn offline_gateway_config(
    dir: &std::path::Path,
    ca: &pathway_shared::identity::Ca,
    lan_listen: std::net::SocketAddr,
) -> anyhow::Result<std::path::PathBuf> {
    let nowhere = ("127.0.0.1:9".parse()?, "hub");
    gateway_config(dir, ca, ("gw-whk", "WHK"), lan_listen, nowhere)
}

/// Starts the built `pathway-gateway` on the configuration at `cfg`, its output discarded.
pub fn spawn_gateway(cfg: impl AsRef<std::ffi::OsStr>) -> std::process::Child {
    std::process::Command::new(
        workspace_binary("pathway-gateway").expect("pathway-gateway is built"),
    )
    .arg("--config")
    .arg(cfg)
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("the gateway starts")
}

/// Gives the configuration at `cfg` (from [`gateway_config`]) a status port on `status`.
pub fn with_status_port(cfg: &std::path::Path, status: &str) -> std::io::Result<()> {
    let text = std::fs::read_to_string(cfg)?;
    std::fs::write(
        cfg,
        text.replace(
            "status_listen = \"\"",
            &format!("status_listen = \"{status}\""),
        ),
    )
}

/// The same for gateway `gateway` of `facility`, syncing with the hub at `hub` (its address
/// and the name in its certificate).
pub fn gateway_config(
    dir: &std::path::Path,
    ca: &pathway_shared::identity::Ca,
    (gateway, facility): (&str, &str),
    lan_listen: std::net::SocketAddr,
    (hub_addr, hub_name): (std::net::SocketAddr, &str),
) -> anyhow::Result<std::path::PathBuf> {
    let gw = ca.issue_gateway(gateway, facility, 30)?;
    let lan = ca.issue_hub("localhost")?;
    for (f, s) in [
        ("ca.pem", &ca.creds.cert_pem),
        ("gw.pem", &gw.cert_pem),
        ("gw.key", &gw.key_pem),
        ("lan.pem", &lan.cert_pem),
        ("lan.key", &lan.key_pem),
    ] {
        std::fs::write(dir.join(f), s)?;
        if f.ends_with(".key") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o600))?;
        }
    }
    let cfg = dir.join("gw.toml");
    std::fs::write(
        &cfg,
        format!(
            "gateway_id = \"{gateway}\"\nfacility = \"{facility}\"\ndata_dir = \"data\"\nstatus_listen = \"\"\n[hub]\naddr = \"{hub_addr}\"\nname = \"{hub_name}\"\n[tls]\nca = \"ca.pem\"\ncert = \"gw.pem\"\nkey = \"gw.key\"\n[lan]\nlisten = \"{lan_listen}\"\ncert = \"lan.pem\"\nkey = \"lan.key\"\n[link]\nbackoff_min = \"200ms\"\nbackoff_max = \"2s\"\n"
        ),
    )?;
    Ok(cfg)
}

/// Runs the workspace's `pathway` command with `args` and the environment `env`: whether it
/// succeeded, and what it printed (stdout, then stderr).
pub fn run_pathway(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (bool, String) {
    let mut cmd =
        std::process::Command::new(workspace_binary("pathway").expect("pathway is built"));
    cmd.args(args).env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("pathway runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// A TCP port on loopback that was free a moment ago.
pub fn free_tcp_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

/// Milliseconds since the Unix epoch, for binaries (library code is handed its clock).
pub use pathway_shared::clock::now_ms;

/// The `p`-th percentile (0–100) of sorted samples.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

/// A workspace binary (`pathway-gateway`, `pathway-hub`) of the same profile as the running
/// test or benchmark, or an error saying which command builds it. Tests never run cargo
/// themselves: `.ci/run` builds the binaries before the tests.
pub fn workspace_binary(name: &str) -> anyhow::Result<std::path::PathBuf> {
    let exe = std::env::current_exe()?;
    // A benchmark runs from target/<profile>/, a test from target/<profile>/deps/.
    let dir = exe
        .ancestors()
        .skip(1)
        .find(|d| !d.ends_with("deps"))
        .ok_or_else(|| anyhow::anyhow!("no folder above {}", exe.display()))?;
    let path = dir.join(name);
    let release = dir.ends_with("release");
    anyhow::ensure!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins{}` first",
        path.display(),
        if release { " --release" } else { "" }
    );
    Ok(path)
}

/// Binds a hub on `addr` with `store`, waiting up to 5 s for the address if a hub that just
/// stopped there still holds it (its socket is let go once its last task ends).
pub fn bind_hub(
    addr: std::net::SocketAddr,
    ca: &pathway_shared::identity::Ca,
    creds: &pathway_shared::identity::Credentials,
    store: &pathway_shared::store::Store,
) -> pathway_hub::Hub {
    let start = std::time::Instant::now();
    loop {
        let cfg = pathway_hub::HubConfig {
            listen: addr,
            ca_pem: ca.creds.cert_pem.clone(),
            creds: creds.clone(),
            revoked: vec![],
            max_gateways: 8,
        };
        match pathway_hub::Hub::bind(cfg, store.clone()) {
            Ok(h) => return h,
            Err(e) if start.elapsed() < std::time::Duration::from_secs(5) => {
                let _ = e;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => panic!("cannot bind a hub on {addr}: {e}"),
        }
    }
}

/// Waits until `ok`, polling every 50 ms; panics naming `what` after `secs` seconds.
pub async fn until(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(secs),
            "{what} did not happen within {secs} s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
