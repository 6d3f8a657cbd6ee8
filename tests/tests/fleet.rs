//! The fleet never says "nothing waiting" for a gateway it has not heard from. With the real
//! `pathway`, `pathway-hub` and `pathway-gateway`: a gateway registered at enrolment is listed
//! before it ever connects; a gateway that stops, while the hub writes for its facility, shows
//! the change waiting to reach it on every surface (`/status.txt`, `/status`, `/metrics`, the
//! administration's fleet and dashboard, `pathway status --hub`) at once, and still after the
//! hub restarts.

use std::path::Path;
use std::time::{Duration, Instant};

use pathway_tests::national::{ADMIN, HUB_NAME, NationalSite, pathway};
use serde_json::{Value, json};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn wait(what: &str, secs: u64, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "{what} did not happen within {secs} s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A GET at the hub's status port; empty while the hub is not answering.
fn status_get(site: &NationalSite, path: &str) -> String {
    rt().block_on(pathway_tests::http::request(site.hub_status, "GET", path))
        .map(|(_, b)| b)
        .unwrap_or_default()
}

/// What every surface says waits to reach `gw`, in order: the words, the JSON status, the
/// metrics, the administration's fleet, the dashboard's row, `pathway status --hub`.
struct Surfaces {
    words: String,
    json: u64,
    metrics: u64,
    fleet: u64,
    dashboard: String,
    cli: String,
}

fn surfaces(site: &NationalSite, gw: &str, config: &Path) -> Surfaces {
    let sum = |p: &Value| -> u64 {
        p["sync"]["outgoing"]
            .as_array()
            .map(|a| a.iter().filter_map(|b| b["changes"].as_u64()).sum())
            .unwrap_or(0)
    };
    let words = status_get(site, "/status.txt")
        .lines()
        .find(|l| l.starts_with(&format!("{gw}:")) || l.starts_with(&format!("ALERT {gw}:")))
        .unwrap_or_default()
        .to_owned();
    let status: Value = serde_json::from_str(&status_get(site, "/status")).unwrap_or_default();
    let metrics = status_get(site, "/metrics")
        .lines()
        .filter(|l| {
            l.starts_with("pathway_backlog_changes{")
                && l.contains(&format!("peer=\"{gw}\""))
                && l.contains("direction=\"out\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum();
    let (_, fleet) = rt().block_on(site.admin_call("GET", "/api/fleet", None));
    let (_, page) = rt().block_on(site.admin_page("/"));
    let row = page
        .split("<tr id=\"")
        .find(|r| r.starts_with(&format!("gw-{gw}\"")))
        .unwrap_or_default()
        .split("</tr>")
        .next()
        .unwrap_or_default()
        .to_owned();
    let (_, cli) = pathway(&["status", "--hub", "--config", s(config)], &[]);
    Surfaces {
        words,
        json: sum(&status["status"]["peers"][gw]),
        metrics,
        fleet: sum(&fleet["peers"][gw]),
        dashboard: row,
        cli,
    }
}

#[test]
fn an_offline_gateway_shows_what_waits_to_reach_it_everywhere_and_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut site = NationalSite::start(d);
    let hub_config = site.hub_dir.join("hub.toml");
    let (st, v) = rt().block_on(site.admin_call(
        "POST",
        "/api/facilities",
        Some(json!({"id": "WHK", "name": "Windhoek Correctional Facility"})),
    ));
    assert_eq!(st, 201, "{v}");

    // Enrolled with --hub-admin: registered at the hub, so the fleet lists it before it ever
    // connects, and says so.
    let admin = format!("localhost:{}", site.admin.port());
    let (ok, said) = pathway(
        &[
            "enrol",
            "--ca-dir",
            s(&site.ca_dir),
            "--facility",
            "WHK",
            "--gateway",
            "gw-whk01-b",
            "--hub-addr",
            &site.hub_addr.to_string(),
            "--hub-name",
            HUB_NAME,
            "--out",
            s(&d.join("b.pathway-bundle")),
            "--hub-admin",
            &admin,
            "--user",
            ADMIN,
        ],
        &[("PATHWAY_ADMIN_PASSWORD", &site.admin_password)],
    );
    assert!(ok && said.contains("registered at the hub"), "{said}");
    // A facility the registry lacks is named, and no bundle is made.
    let (ok, said) = pathway(
        &[
            "enrol",
            "--ca-dir",
            s(&site.ca_dir),
            "--facility",
            "NOPE",
            "--gateway",
            "gw-nope",
            "--hub-addr",
            &site.hub_addr.to_string(),
            "--hub-name",
            HUB_NAME,
            "--out",
            s(&d.join("nope.pathway-bundle")),
            "--hub-admin",
            &admin,
            "--user",
            ADMIN,
        ],
        &[("PATHWAY_ADMIN_PASSWORD", &site.admin_password)],
    );
    assert!(!ok && said.contains("`NOPE` is not a facility"), "{said}");
    assert!(!d.join("nope.pathway-bundle").exists());
    let never = surfaces(&site, "gw-whk01-b", &hub_config);
    assert!(
        never.words.contains("gw-whk01-b: never reached"),
        "{}",
        never.words
    );
    assert!(
        never.dashboard.contains("never connected"),
        "{}",
        never.dashboard
    );

    // The other gateway syncs until it is level, then stops.
    let root = d.join("root");
    let gw_status = format!("127.0.0.1:{}", pathway_tests::free_tcp_port());
    let config = site.enrol_and_install(
        ("gw-whk01-a", "WHK"),
        site.hub_addr,
        &root,
        gw_status.parse().unwrap(),
    );
    let mut gw = pathway_tests::spawn_gateway(&config);
    wait("the gateway level with the hub", 60, || {
        let w = surfaces(&site, "gw-whk01-a", &hub_config).words;
        w.contains("gw-whk01-a: online") && w.contains("nothing waiting to go to gw-whk01-a")
    });
    let _ = gw.kill();
    let _ = gw.wait();

    // A staff account made at the hub for its facility: waiting to reach it, on every surface,
    // from the moment the hub acknowledged it.
    let (st, v) = rt().block_on(site.admin_call(
        "POST",
        "/api/facilities/WHK/staff",
        Some(json!({"username": "ndapewa", "display_name": "Ndapewa Shikongo", "roles": ["instructor"]})),
    ));
    assert_eq!(st, 201, "{v}");
    let check = |site: &NationalSite, when: &str| {
        let s = surfaces(site, "gw-whk01-a", &hub_config);
        for (surface, words) in [("/status.txt", &s.words), ("pathway status --hub", &s.cli)] {
            assert!(
                !words.contains("nothing waiting to go"),
                "{when}, {surface} says nothing waits to reach it: {words}"
            );
        }
        // The dashboard's cell of changes waiting to reach it.
        let cell = s
            .dashboard
            .split("<td class=\"to-it\"><strong>")
            .nth(1)
            .and_then(|c| c.split('<').next())
            .unwrap_or_default();
        assert!(
            cell.trim_end_matches('+')
                .parse::<u64>()
                .is_ok_and(|n| n >= 1),
            "{when}, the dashboard says {cell:?} wait to reach it: {}",
            s.dashboard
        );
        assert!(
            s.words.contains("waiting to go to gw-whk01-a"),
            "{when}: {}",
            s.words
        );
        assert!(
            s.json >= 1 && s.metrics >= 1 && s.fleet >= 1,
            "{when}: JSON {}, metrics {}, fleet {}",
            s.json,
            s.metrics,
            s.fleet
        );
        assert!(
            s.cli.contains("waiting to go to gw-whk01-a"),
            "{when}: {}",
            s.cli
        );
    };
    check(&site, "right after the write");

    // The hub restarts: both gateways are still listed, and what waits is still counted.
    site.start_hub();
    wait("the hub back", 30, || {
        !status_get(&site, "/status.txt").is_empty()
    });
    check(&site, "after a restart of the hub");
    let never = surfaces(&site, "gw-whk01-b", &hub_config);
    assert!(never.words.contains("never reached"), "{}", never.words);
}

/// What the status port at `addr` says, JSON; `Null` while it does not answer.
fn status_json(addr: std::net::SocketAddr) -> Value {
    rt().block_on(pathway_tests::http::request(addr, "GET", "/status"))
        .ok()
        .and_then(|(_, b)| serde_json::from_str(&b).ok())
        .unwrap_or_default()
}

fn two_boxes_metric(addr: std::net::SocketAddr, peer: &str) -> bool {
    rt().block_on(pathway_tests::http::request(addr, "GET", "/metrics"))
        .map(|(_, b)| b.contains(&format!("pathway_peer_two_boxes{{peer=\"{peer}\"}} 1")))
        .unwrap_or(false)
}

#[test]
fn one_certificate_on_two_boxes_is_an_alert_at_the_hub_and_at_both_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let site = NationalSite::start(d);
    let (root1, root2) = (d.join("box1"), d.join("box2"));
    let status1: std::net::SocketAddr = format!("127.0.0.1:{}", pathway_tests::free_tcp_port())
        .parse()
        .unwrap();
    let status2: std::net::SocketAddr = format!("127.0.0.1:{}", pathway_tests::free_tcp_port())
        .parse()
        .unwrap();
    let config1 = site.enrol_and_install(("gw-whk01-a", "WHK"), site.hub_addr, &root1, status1);
    // Its /etc/pathway copied to a second machine: the same certificate and key, a store of
    // its own.
    let etc2 = root2.join("etc/pathway");
    std::fs::create_dir_all(&etc2).unwrap();
    std::fs::create_dir_all(root2.join("var/lib/pathway")).unwrap();
    for f in std::fs::read_dir(root1.join("etc/pathway")).unwrap() {
        let f = f.unwrap();
        if f.file_type().unwrap().is_file() {
            std::fs::copy(f.path(), etc2.join(f.file_name())).unwrap();
        }
    }
    let config2 = etc2.join("gateway.toml");
    let text = std::fs::read_to_string(&config2)
        .unwrap()
        .replace(s(&root1), s(&root2))
        .replace(&status1.to_string(), &status2.to_string());
    std::fs::write(&config2, text).unwrap();

    let started = Instant::now();
    let mut box1 = pathway_tests::spawn_gateway(&config1);
    let mut box2 = pathway_tests::spawn_gateway(&config2);
    wait("the alert at the hub and at both boxes", 30, || {
        let hub = &status_json(site.hub_status)["status"]["peers"]["gw-whk01-a"];
        let at = |a| status_json(a)["status"]["peers"]["hub"]["two_boxes"].is_object();
        hub["two_boxes"].is_object() && at(status1) && at(status2)
    });
    let seen_after = started.elapsed();
    let words = status_get(&site, "/status.txt");
    assert!(
        words.contains("ALERT gw-whk01-a: one gateway certificate is in use on two boxes"),
        "{words}"
    );
    assert!(two_boxes_metric(site.hub_status, "gw-whk01-a"));
    for a in [status1, status2] {
        let words = rt()
            .block_on(pathway_tests::http::request(a, "GET", "/status.txt"))
            .map(|(_, b)| b)
            .unwrap_or_default();
        assert!(words.contains("in use on two boxes"), "{words}");
        assert!(two_boxes_metric(a, "hub"));
    }
    let (_, page) = rt().block_on(site.admin_page("/"));
    assert!(page.contains("one certificate on two boxes"), "{page}");
    println!(
        "one identity on two boxes: seen at the hub and both boxes {:.1} s after they started",
        seen_after.as_secs_f64()
    );
    for b in [&mut box1, &mut box2] {
        let _ = b.kill();
        let _ = b.wait();
    }
}
