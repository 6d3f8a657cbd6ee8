//! The hub's administration holds up like the gateway's LAN service, against the real
//! `pathway-hub`: an unauthenticated log-in flood and a flood of slow request bodies, each a
//! bounded loop on loopback that stops by itself. During each, the hub's memory stays bounded
//! and an administrator's correct log-in from another address is answered within 2 s. Prints
//! the hub's peak RSS under each flood.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use pathway_tests::national::{ADMIN, NationalSite};
use tokio::io::AsyncWriteExt;

fn from(i: u32) -> IpAddr {
    IpAddr::V4(std::net::Ipv4Addr::new(
        127,
        1,
        (i / 250) as u8,
        (i % 250 + 1) as u8,
    ))
}

/// Samples the hub's RSS until `stop`; returns the peak, MB.
fn watch_rss(pid: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<f64> {
    std::thread::spawn(move || {
        let mut peak: f64 = 0.0;
        while !stop.load(Ordering::Relaxed) {
            peak = peak.max(pathway_tests::rss_mb_of(&pid.to_string()));
            std::thread::sleep(Duration::from_millis(50));
        }
        peak
    })
}

/// The administrator logs in from an address of their own: how long the answer took, and its
/// status.
async fn admin_logs_in(
    site: &NationalSite,
    tls: &tokio_rustls::TlsConnector,
    at: IpAddr,
) -> (Duration, u16) {
    let t = Instant::now();
    let addr = SocketAddr::from(([127, 0, 0, 1], site.admin.port()));
    let mut c = pathway_tests::https::Client::connect(addr, at, tls)
        .await
        .expect("the administration answers");
    let body = serde_json::json!({"username": ADMIN, "password": site.admin_password});
    let (s, _) = c
        .send("POST", "/api/login", "", &body.to_string())
        .await
        .expect("an answer");
    (t.elapsed(), s)
}

/// 150 log-ins at once with a wrong password, from 150 addresses, for `username(i)`.
fn login_flood(
    addr: SocketAddr,
    tls: &tokio_rustls::TlsConnector,
    username: fn(u32) -> String,
) -> Vec<tokio::task::JoinHandle<u16>> {
    (0..150u32)
        .map(|i| {
            let tls = tls.clone();
            tokio::spawn(async move {
                let Ok(mut c) = pathway_tests::https::Client::connect(addr, from(i), &tls).await
                else {
                    return 0;
                };
                let body = serde_json::json!({"username": username(i), "password": "guess"});
                c.send("POST", "/api/login", "", &body.to_string())
                    .await
                    .map_or(0, |(s, _)| s)
            })
        })
        .collect()
}

/// 2,000 connections from 40 addresses that send a log-in's headers, then a byte every 5 s
/// for at most 40 s; each ends with when the server cut it off, if it did.
fn slow_flood(
    addr: SocketAddr,
    tls: &tokio_rustls::TlsConnector,
) -> Vec<tokio::task::JoinHandle<Option<Duration>>> {
    (0..2_000u32)
        .map(|i| {
            let tls = tls.clone();
            tokio::spawn(async move {
                let socket = tokio::net::TcpSocket::new_v4().ok()?;
                socket.bind(SocketAddr::new(from(1_000 + i % 40), 0)).ok()?;
                let tcp = socket.connect(addr).await.ok()?;
                let mut s = tls.connect("localhost".try_into().ok()?, tcp).await.ok()?;
                let head = "POST /api/login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{";
                s.write_all(head.as_bytes()).await.ok()?;
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(40) {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    if s.write_all(b" ").await.is_err() || s.flush().await.is_err() {
                        return Some(started.elapsed());
                    }
                }
                None
            })
        })
        .collect()
}

/// How many of `flood` the server cut off.
async fn cut_off(flood: Vec<tokio::task::JoinHandle<Option<Duration>>>) -> usize {
    let mut cut = 0;
    for f in flood {
        cut += usize::from(f.await.ok().flatten().is_some());
    }
    cut
}

/// How `flood` was answered: counts by status code.
async fn answers(flood: Vec<tokio::task::JoinHandle<u16>>, into: &mut [usize; 600]) {
    for f in flood {
        into[usize::from(f.await.unwrap_or(0)).min(599)] += 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_holds_up_under_log_in_and_slow_body_floods() {
    // The floods open thousands of sockets from this process.
    pathway_shared::web::conns::fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let site = tokio::task::block_in_place(|| NationalSite::start(dir.path()));
    let pid = site.hub_pid().unwrap();
    let ca = std::fs::read_to_string(site.ca_dir.join("ca.pem")).unwrap();
    let tls = pathway_tests::https::connector(&ca).unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], site.admin.port()));
    let before = pathway_tests::rss_mb_of(&pid.to_string());
    // The administrator's usual desk: it has logged in before.
    let (took, status) = admin_logs_in(&site, &tls, from(9_999)).await;
    assert_eq!(status, 200);
    println!("a log-in with no flood: {took:?}");

    // 1. 150 log-ins at once with wrong passwords, from 150 addresses, three rounds.
    let stop = Arc::new(AtomicBool::new(false));
    let rss = watch_rss(pid, stop.clone());
    let mut answered = [0usize; 600];
    for round in 0..3 {
        let flood = login_flood(addr, &tls, |i| format!("user{i}"));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (took, status) = admin_logs_in(&site, &tls, from(9_999)).await;
        assert_eq!(
            status, 200,
            "round {round}: the administrator at their desk is let in"
        );
        assert!(
            took < Duration::from_secs(2),
            "round {round}: answered in {took:?}"
        );
        // From a desk never used before, the answer comes at once too (in, or "busy, retry").
        let (took, status) = admin_logs_in(&site, &tls, from(9_000 + round)).await;
        assert!(status == 200 || status == 503, "round {round}: {status}");
        assert!(
            took < Duration::from_secs(2),
            "round {round}: answered in {took:?}"
        );
        answers(flood, &mut answered).await;
    }
    stop.store(true, Ordering::Relaxed);
    let login_peak = rss.join().unwrap();
    println!(
        "log-in flood (450 attempts, 150 at once): hub RSS {before:.0} MB before, peak {login_peak:.0} MB; answers 401: {}, 429: {}, 503: {}",
        answered[401], answered[429], answered[503]
    );
    assert!(answered[503] > 0, "a full queue is refused at once");
    assert!(login_peak < 300.0, "peak {login_peak:.0} MB");

    // 2. 2,000 slow bodies from 40 addresses: headers, then a byte now and then.
    let stop = Arc::new(AtomicBool::new(false));
    let rss = watch_rss(pid, stop.clone());
    let slow = slow_flood(addr, &tls);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (took, status) = admin_logs_in(&site, &tls, from(9_500)).await;
    assert_eq!(
        status, 200,
        "an administrator is let in during the slow flood"
    );
    assert!(took < Duration::from_secs(2), "answered in {took:?}");
    let cut = cut_off(slow).await;
    stop.store(true, Ordering::Relaxed);
    let slow_peak = rss.join().unwrap();
    println!(
        "slow-body flood (2,000 connections from 40 addresses): hub RSS peak {slow_peak:.0} MB; {cut} cut off by the hub within 40 s; an administrator let in after {took:?}"
    );
    assert!(slow_peak < 300.0, "peak {slow_peak:.0} MB");
    assert!(cut > 0, "slow bodies are cut off");
}

/// The same two floods against a gateway's LAN service: a staff member at a terminal that has
/// logged in before gets in within 2 s during both, and the gateway's memory stays bounded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateway_holds_up_under_log_in_and_slow_body_floods() {
    pathway_shared::web::conns::fd_limit();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let site = tokio::task::block_in_place(|| NationalSite::start(d));
    let (st, v) = site
        .admin_call(
            "POST",
            "/api/facilities",
            Some(serde_json::json!({"id": "WHK", "name": "Windhoek"})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let (st, v) = site
        .admin_call(
            "POST",
            "/api/facilities/WHK/staff",
            Some(serde_json::json!({"username": "teacher", "display_name": "T", "roles": ["instructor"]})),
        )
        .await;
    assert_eq!(st, 201, "{v}");
    let otp = v["one_time_password"].as_str().unwrap().to_owned();
    let root = d.join("box");
    let status: SocketAddr = format!("127.0.0.1:{}", pathway_tests::free_tcp_port())
        .parse()
        .unwrap();
    let config = tokio::task::block_in_place(|| {
        site.enrol_and_install(("gw-whk01-a", "WHK"), site.hub_addr, &root, status)
    });
    let lan_port = NationalSite::console_on_free_port(&config);
    let mut gw = pathway_tests::spawn_gateway(&config);
    let pid = gw.id();
    let ca = std::fs::read_to_string(site.ca_dir.join("ca.pem")).unwrap();
    let tls = pathway_tests::https::connector(&ca).unwrap();
    let addr = SocketAddr::from(([127, 0, 0, 1], lan_port));
    let desk = from(9_999);
    let log_in = |tls: tokio_rustls::TlsConnector, otp: String| async move {
        let t = Instant::now();
        let Ok(mut c) = pathway_tests::https::Client::connect(addr, desk, &tls).await else {
            return (t.elapsed(), 0);
        };
        let body = serde_json::json!({"username": "teacher", "password": otp});
        let s = c
            .send("POST", "/api/login", "", &body.to_string())
            .await
            .map_or(0, |(s, _)| s);
        (t.elapsed(), s)
    };
    // The account reaches the gateway (nothing waits for it at the hub any more); the
    // teacher's terminal logs in once.
    let start = Instant::now();
    loop {
        let body = pathway_tests::http::request(site.hub_status, "GET", "/status")
            .await
            .map(|(_, b)| b)
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let p = &v["status"]["peers"]["gw-whk01-a"];
        let waiting: u64 = p["sync"]["outgoing"]
            .as_array()
            .map(|a| a.iter().filter_map(|b| b["changes"].as_u64()).sum())
            .unwrap_or(1);
        if p["online"] == true && waiting == 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the account never arrived: {p}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let (_, status) = log_in(tls.clone(), otp.clone()).await;
    assert_eq!(status, 200, "the teacher logs in");
    let before = pathway_tests::rss_mb_of(&pid.to_string());

    let stop = Arc::new(AtomicBool::new(false));
    let rss = watch_rss(pid, stop.clone());
    let mut answered = [0usize; 600];
    for round in 0..3 {
        let flood = login_flood(addr, &tls, |_| "teacher".to_owned());
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (took, status) = log_in(tls.clone(), otp.clone()).await;
        assert_eq!(
            status, 200,
            "round {round}: the teacher at their terminal is let in"
        );
        assert!(
            took < Duration::from_secs(2),
            "round {round}: answered in {took:?}"
        );
        answers(flood, &mut answered).await;
    }
    stop.store(true, Ordering::Relaxed);
    let login_peak = rss.join().unwrap();
    println!(
        "gateway log-in flood (450 attempts, 150 at once): RSS {before:.0} MB before, peak {login_peak:.0} MB; answers 401: {}, 429: {}, 503: {}",
        answered[401], answered[429], answered[503]
    );
    assert!(login_peak < 200.0, "peak {login_peak:.0} MB");

    let stop = Arc::new(AtomicBool::new(false));
    let rss = watch_rss(pid, stop.clone());
    let slow = slow_flood(addr, &tls);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (took, status) = log_in(tls.clone(), otp.clone()).await;
    assert_eq!(status, 200, "the teacher is let in during the slow flood");
    assert!(took < Duration::from_secs(2), "answered in {took:?}");
    let cut = cut_off(slow).await;
    stop.store(true, Ordering::Relaxed);
    let slow_peak = rss.join().unwrap();
    println!(
        "gateway slow-body flood (2,000 connections from 40 addresses): RSS peak {slow_peak:.0} MB; {cut} cut off within 40 s; the teacher let in after {took:?}"
    );
    assert!(slow_peak < 200.0, "peak {slow_peak:.0} MB");
    let _ = gw.kill();
    let _ = gw.wait();
}
