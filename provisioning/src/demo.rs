//! `pathway demo`: a throwaway national site on loopback, made with the same steps as a real
//! one (`ca init`, `ca issue-hub`, `add-admin`, then per facility `enrol` and `install` from
//! the bundle and its one-time code, and the gateway started from the installed
//! configuration), two gateways behind the link simulator, with sample data and staff writing
//! notes. It shows, live, what has reached the hub, what is waiting, and the link's state.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use pathway_gateway::{Gateway, GatewayConfig};
use pathway_hub::admin::{self, Admin, AdminRole};
use pathway_hub::{Hub, HubConfig};
use pathway_linksim::{LinkSim, Profile};
use pathway_provisioning::sample::{Country, SampleConfig, SampleFacility};
use pathway_shared::clock::now_ms;
use pathway_shared::identity::Credentials;
use pathway_shared::model::{CaseFile, CaseNote, Kind, case_id};
use pathway_shared::status::{self, ago};
use pathway_shared::store::{Store, StoreError, StoreOptions};

/// The hub's name: its certificate serves both QUIC and the dashboard on loopback.
const HUB_NAME: &str = "localhost";
/// The throwaway CA's passphrase.
const DEMO_CA_PASSPHRASE: &str = "pathway demo national CA";
/// Every demo administrator's password (administrators need 12 characters or more).
const DEMO_ADMIN_PASSWORD: &str = "pathway-demo-admin";

pub(crate) struct DemoArgs {
    pub(crate) profile: String,
    pub(crate) cases: usize,
    pub(crate) marks: usize,
    pub(crate) duration: Option<Duration>,
    pub(crate) dir: Option<PathBuf>,
}

struct Site {
    facility: String,
    gateway: Gateway,
    sim: LinkSim,
    sample: SampleFacility,
    /// Notes staff wrote here: (person, note id).
    notes: Vec<(String, String)>,
}

/// Loopback, any free port.
fn local_any() -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], 0))
}

fn write(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

pub(crate) async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let profile = Profile::named(&args.profile).with_context(|| {
        format!(
            "unknown link profile `{}`; try one of {:?}",
            args.profile,
            Profile::NAMES
        )
    })?;
    let tmp;
    let dir = match &args.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = tempfile::tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    println!(
        "Pathway demo in {} — link profile {} — Ctrl-C to stop",
        dir.display(),
        profile.name
    );
    // The national side, as its administrator makes it.
    let ca_dir = dir.join("ca");
    crate::enrol::ca_init(&ca_dir, "Pathway demo CA", DEMO_CA_PASSPHRASE)?;
    let hub_dir = dir.join("hub");
    crate::enrol::issue_hub(&ca_dir, DEMO_CA_PASSPHRASE, HUB_NAME, &hub_dir)?;
    let read = |p: PathBuf| {
        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    };
    let hub_creds = Credentials {
        cert_pem: read(hub_dir.join("hub.pem"))?,
        key_pem: read(hub_dir.join("hub.key"))?,
    };
    let ca_pem = read(hub_dir.join("ca.pem"))?;

    // Case content is sealed at rest under a key file beside (not inside) each data folder.
    let hub_store = Store::open(
        hub_dir.join("data"),
        StoreOptions::keyed(hub_dir.join("store.key")),
    )?;
    let hub = Hub::bind(
        HubConfig {
            listen: "127.0.0.1:0".parse()?,
            ca_pem: ca_pem.clone(),
            creds: hub_creds.clone(),
            revoked: vec![],
            max_gateways: 16,
        },
        hub_store.clone(),
    )?;
    let hub_addr = hub.local_addr()?;
    let stop = tokio_util::sync::CancellationToken::new();
    let (hub_status, _) = status::serve(
        local_any(),
        status::router(hub.status_source()),
        stop.clone(),
    )
    .await?;
    println!(
        "hub listening on {hub_addr} (QUIC, mutual TLS); status http://{hub_status}/status.txt, metrics http://{hub_status}/metrics"
    );
    // The national side: the dashboard and its API, with one administrator per role.
    for (user, name, role) in [
        (
            "admin.national",
            "National administrator",
            AdminRole::NationalAdmin,
        ),
        ("sync.operator", "Sync operator", AdminRole::SyncOperator),
        ("auditor", "Auditor", AdminRole::Auditor),
    ] {
        admin::add_admin(&hub_store, user, name, role, DEMO_ADMIN_PASSWORD)?;
    }
    let admin_tls = pathway_shared::identity::lan_server_tls(&hub_creds)?;
    let (admin_addr, _) = admin::serve_https(
        local_any(),
        admin::RustlsConfig::from_config(std::sync::Arc::new(admin_tls)),
        admin::router(
            Admin::new(
                hub_store.clone(),
                (hub.status_source(), hub.live_sessions()),
                pathway_shared::clock::Clock::system(),
            )
            .with_keys(admin::HubKeys {
                ca_pem: ca_pem.clone(),
                creds: hub_creds.clone(),
            })
            .with_indicators(hub.count_indicators()?),
        ),
        stop.clone(),
    )?;
    println!(
        "hub dashboard https://localhost:{}/ (API under /api); log in as admin.national, sync.operator or auditor, password {DEMO_ADMIN_PASSWORD}",
        admin_addr.port()
    );
    println!(
        "national indicators https://localhost:{}/indicators (auditor or admin.national); six-week follow-ups https://localhost:{}/follow-ups (admin.national)",
        admin_addr.port(),
        admin_addr.port()
    );

    let mut sites = Vec::new();
    // Both pilots: a Namibian facility (English first) and a Thai one (Thai first, Thai names,
    // Bangkok time).
    for (i, (fac, name, name_th, country)) in [
        (
            "WHK",
            "Windhoek Correctional Facility",
            "",
            Country::Namibia,
        ),
        (
            "BKK",
            "Bangkok Central Prison",
            "เรือนจำกลางกรุงเทพ",
            Country::Thailand,
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let sample = SampleFacility::generate(&SampleConfig {
            seed: i as u64 + 1,
            facility_id: fac.into(),
            facility_name: name.into(),
            facility_name_th: name_th.into(),
            country,
            cases: args.cases,
            marks: args.marks,
            today: time::OffsetDateTime::now_utc().date(),
        });
        // The catalogue and the facility registry are national: written at the hub.
        if i == 0 {
            sample.load_national(&hub_store, now_ms())?;
        } else {
            hub_store.put(&sample.facility, now_ms())?;
        }
        let sim = LinkSim::start(profile.clone(), hub_addr, 100 + i as u64).await?;
        let gw_id = format!("gw-{}", fac.to_lowercase());
        // The box, as facility IT sets it up: the bundle and its one-time code, installed.
        let gdir = dir.join(&gw_id);
        std::fs::create_dir_all(&gdir)?;
        let bundle = gdir.join(format!("{gw_id}.pathway-bundle"));
        let code = crate::enrol::enrol(&crate::enrol::Enrolment {
            ca_dir: &ca_dir,
            passphrase: DEMO_CA_PASSPHRASE,
            facility: fac,
            gateway: &gw_id,
            hub_addr: sim.addr,
            hub_name: HUB_NAME,
            lan_name: "localhost",
            // As long as a real box's, so a fresh demo shows no renewal warning.
            days: 825,
            out: &bundle,
            hub_cert: None,
            time_zone: Some(sample.facility.time_zone.as_str()).filter(|tz| !tz.is_empty()),
        })?;
        let root = gdir.join("root");
        let config = crate::enrol::install(&crate::enrol::Install {
            bundle: &bundle,
            code: &code,
            root: &root,
            lan_listen: local_any(),
            status_listen: local_any(),
            ca_fingerprint: None,
            // The demo's gateways run outside systemd: a key file.
            store_key: crate::enrol::KeyKeeping::File,
        })?
        .config;
        // The demo's links come and go within seconds: reconnect as quickly.
        let mut toml = read(config.clone())?;
        toml.push_str("\n[link]\nbackoff_min = \"500ms\"\nbackoff_max = \"10s\"\n");
        write(&config, &toml)?;
        let cfg = GatewayConfig::load(&config)?;
        // The facility's records exist before the gateway first reaches the hub.
        {
            let store = Store::open(&cfg.data_dir, StoreOptions::keyed(cfg.key_file()))?;
            sample.load_facility(&store, now_ms())?;
        }
        let gateway = Gateway::start(&cfg)?;
        let (status_addr, _) =
            status::serve(local_any(), gateway.operator_routes(), stop.clone()).await?;
        println!(
            "{gw_id}: {} case files, {} marks, via {} → hub; status http://{status_addr}/status.txt",
            sample.cases.len(),
            sample.marks(),
            sim.addr
        );
        if let Some(lan) = gateway.lan_addr {
            println!(
                "    staff console https://localhost:{}/ (API under /api; CA {}); every password is {}",
                lan.port(),
                root.join("etc/pathway/ca.pem").display(),
                pathway_provisioning::sample::DEMO_PASSWORD
            );
            for (role, username) in sample.one_per_role() {
                println!("      {role:<18} {username}");
            }
        }
        sites.push(Site {
            facility: fac.to_owned(),
            gateway,
            sim,
            sample,
            notes: Vec::new(),
        });
    }

    let start = Instant::now();
    let mut rng = fastrand::Rng::with_seed(7);
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tick.tick() => {}
        }
        if args.duration.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        // Shown before this round's notes are written: the status has had the two seconds since
        // the last round to take in that round's.
        print_status(&sites, &hub_store, &profile, start.elapsed())?;
        // Staff at each facility write a case note now and then.
        for s in &mut sites {
            if rng.u8(..2) == 0 {
                n += 1;
                let person = s.sample.cases[rng.usize(..s.sample.cases.len())]
                    .person_id
                    .clone();
                let id = format!("demo-{n}");
                let note = CaseNote {
                    author: "case.officer".into(),
                    at: now_ms(),
                    facility_id: s.facility.clone(),
                    text: "Met to review the release plan.".into(),
                    ..Default::default()
                };
                let store = &s.gateway.store;
                tokio::task::block_in_place(|| {
                    store.edit::<CaseFile, _, StoreError>(&case_id(&person), now_ms(), |e| {
                        e.put(&["notes", &id], &note)
                    })
                })?;
                s.notes.push((person, id));
            }
        }
    }
    println!("stopping…");
    stop.cancel();
    for s in sites {
        s.gateway.shutdown().await;
    }
    hub.shutdown().await;
    Ok(())
}

fn print_status(
    sites: &[Site],
    hub: &Store,
    profile: &Profile,
    elapsed: Duration,
) -> anyhow::Result<()> {
    println!();
    println!("t={:>4}s  link profile {}", elapsed.as_secs(), profile.name);
    println!(
        "{:<8} {:<22} {:<8} {:>12} {:>13} {:>13} {:>14} {:>10} {:>10}",
        "gateway",
        "link (simulated)",
        "online",
        "last ack",
        "cases at hub",
        "marks at hub",
        "notes reached",
        "sent",
        "received"
    );
    for s in sites {
        let st = s.gateway.status.borrow().clone();
        let partition = format!("facility:{}", s.facility);
        let cases = hub.list(&partition, Kind::CaseFile)?.len();
        let registers: BTreeMap<_, _> = s
            .sample
            .registers
            .iter()
            .map(|r| (pathway_shared::model::Aggregate::doc_id(r), r.marks.len()))
            .collect();
        let marks: usize = hub
            .list(&partition, Kind::AttendanceRegister)?
            .iter()
            .filter_map(|id| registers.get(id))
            .sum();
        let reached = s
            .notes
            .iter()
            .filter(|(p, id)| {
                hub.get::<CaseFile>(&case_id(p))
                    .ok()
                    .flatten()
                    .is_some_and(|c| c.notes.contains_key(id))
            })
            .count();
        let contact = st
            .sync
            .last_delivered
            .iter()
            .flatten()
            .max()
            .map_or("never".to_owned(), |t| ago(now_ms(), *t) + " ago");
        // The link as the simulator has it now, and the session as the gateway sees it.
        let link = match (s.sim.is_down(), s.sim.next_change()) {
            (true, Some(left)) => format!("DOWN, back in {}s", left.as_secs() + 1),
            (false, Some(left)) => format!("up, outage in {}s", left.as_secs() + 1),
            (down, None) => (if down { "DOWN" } else { "up" }).to_owned(),
        };
        let now = now_ms();
        let online = if st.hearing(now) {
            "yes".to_owned()
        } else if st.online {
            format!(
                "silent {}",
                st.heard_at().map_or("?".into(), |t| ago(now, t))
            )
        } else {
            "no".to_owned()
        };
        println!(
            "{:<8} {:<22} {:<8} {:>12} {:>13} {:>13} {:>14} {:>10} {:>10}",
            s.facility,
            link,
            online,
            contact,
            format!("{cases}/{}", s.sample.cases.len()),
            format!("{marks}/{}", s.sample.marks()),
            format!(
                "{reached}/{} ({} waiting)",
                s.notes.len(),
                s.notes.len() - reached
            ),
            format!("{}K", s.sim.bytes_up() / 1024),
            format!("{}K", s.sim.bytes_down() / 1024),
        );
        println!("         {}", st.summary("hub", now_ms()));
    }
    Ok(())
}
