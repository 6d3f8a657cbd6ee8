//! The real `pathway-gateway` as a service, tried as facility IT would: it tells systemd when
//! it is ready and keeps the watchdog fed; SIGTERM (what systemd
//! sends) and SIGINT stop it cleanly within seconds even while the hub cannot be reached; a
//! missing configuration, a key that is not the certificate's, a certificate of another
//! facility, or a second daemon on the same data folder are each refused at once, with a
//! sentence naming the file and what to do, and nothing is created first.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pathway_shared::identity::Ca;
use pathway_tests::{offline_gateway_config, workspace_binary};

fn start(config: &Path) -> Child {
    Command::new(workspace_binary("pathway-gateway").unwrap())
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs the gateway on `config` until it exits by itself (within 20 s): its exit status and
/// what it said.
fn refused(config: &Path) -> (bool, String) {
    let mut child = start(config);
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("the gateway kept running on a broken setup");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sends `signal` once the gateway has started; returns how long it took to exit, and whether
/// it exited cleanly.
fn stop_with(signal: &str, config: &Path) -> (Duration, bool) {
    let mut child = start(config);
    // Let it start and begin dialling the (unreachable) hub.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        child.try_wait().unwrap().is_none(),
        "the gateway did not start"
    );
    let sent = Instant::now();
    Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (sent.elapsed(), status.success());
        }
        if sent.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("{signal}: still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn sigterm_and_sigint_stop_the_gateway_cleanly_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let cfg = offline_gateway_config(dir.path(), &ca, "127.0.0.1:0".parse().unwrap()).unwrap();
    for signal in ["TERM", "INT"] {
        let (took, clean) = stop_with(signal, &cfg);
        assert!(clean, "SIG{signal}: the gateway did not exit cleanly");
        assert!(
            took < Duration::from_secs(5),
            "SIG{signal}: {took:?} to stop"
        );
    }
}

#[test]
fn a_broken_setup_is_refused_with_the_file_named_and_nothing_created() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let cfg = offline_gateway_config(d, &ca, "127.0.0.1:0".parse().unwrap()).unwrap();

    // No configuration where it was said to be.
    let (ok, said) = refused(&d.join("nowhere/gateway.toml"));
    assert!(!ok);
    assert!(
        said.contains(&d.join("nowhere/gateway.toml").display().to_string())
            && said.contains("pathway install BUNDLE"),
        "{said}"
    );

    // The key of another certificate.
    let other = ca.issue_gateway("gw-whk", "WHK", 30).unwrap();
    let good_key = std::fs::read_to_string(d.join("gw.key")).unwrap();
    std::fs::write(d.join("gw.key"), &other.key_pem).unwrap();
    let (ok, said) = refused(&cfg);
    assert!(!ok);
    assert!(
        said.contains("does not belong to the certificate") && said.contains("gw.key"),
        "{said}"
    );
    std::fs::write(d.join("gw.key"), good_key).unwrap();

    // A certificate of another facility.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(
        &cfg,
        text.replace("facility = \"WHK\"", "facility = \"OSH\""),
    )
    .unwrap();
    let (ok, said) = refused(&cfg);
    assert!(!ok);
    assert!(
        said.contains("facility `WHK`") && said.contains("`OSH`"),
        "{said}"
    );
    std::fs::write(&cfg, &text).unwrap();
    assert!(
        !d.join("data").exists(),
        "a refused start created the data folder"
    );

    // A second daemon on the same data folder.
    let mut first = start(&cfg);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !d.join("data").exists() {
        assert!(Instant::now() < deadline, "the first gateway did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    let (ok, said) = refused(&cfg);
    assert!(!ok);
    assert!(said.contains("another process has the store"), "{said}");
    let _ = first.kill();
    let _ = first.wait();
}

#[test]
fn the_gateway_tells_systemd_it_is_ready_and_feeds_the_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let cfg = offline_gateway_config(dir.path(), &ca, "127.0.0.1:0".parse().unwrap()).unwrap();
    let socket = dir.path().join("notify.sock");
    let systemd = std::os::unix::net::UnixDatagram::bind(&socket).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut child = Command::new(workspace_binary("pathway-gateway").unwrap())
        .arg("--config")
        .arg(&cfg)
        .env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "400000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut heard = Vec::new();
    let mut buf = [0u8; 256];
    while heard
        .iter()
        .filter(|m: &&String| m.as_str() == "WATCHDOG=1")
        .count()
        < 2
    {
        let n = systemd.recv(&mut buf).expect("systemd heard nothing");
        heard.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert_eq!(heard[0], "READY=1", "{heard:?}");
    Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .unwrap();
    loop {
        let n = systemd.recv(&mut buf).expect("no STOPPING=1");
        if &buf[..n] == b"STOPPING=1" {
            break;
        }
    }
    assert!(child.wait().unwrap().success());
    // The units shipped ask for it.
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../packaging/systemd/pathway-gateway.service"),
    )
    .unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "Restart=on-failure",
        "LimitNOFILE=65536",
    ] {
        assert!(unit.contains(line), "the unit lacks {line}");
    }
}
