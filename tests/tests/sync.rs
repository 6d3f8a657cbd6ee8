//! The sync engine, in memory under virtual time, with real stores: convergence under loss,
//! duplication, reordering and cuts; no resend of acknowledged changes; scope enforcement;
//! moves; versions and hostile bytes.

use pathway_shared::model::*;
use pathway_shared::store::{ReviewReason, StoreError};
use pathway_shared::sync::{Event, Session, Side, SyncConfig, move_case};
use pathway_shared::wire::{ErrorCode, Frame, Hello, Item, pack_items};
use pathway_tests::harness::{LinkProfile, Net, Node};
use pathway_tests::sample::{SampleConfig, SampleFacility};

const MINUTE: Millis = 60_000;

fn sample(facility: &str, cases: usize, marks: usize, seed: u64) -> SampleFacility {
    SampleFacility::generate(&SampleConfig {
        seed,
        facility_id: facility.into(),
        cases,
        marks,
        ..SampleConfig::default()
    })
}

/// A hub holding the national catalogue and two gateways holding their facilities.
fn network(seed: u64, link: LinkProfile) -> (Net, SampleFacility, SampleFacility) {
    let net = Net::new(seed, &["WHK", "OSH"], link, SyncConfig::default());
    let (a, b) = (
        sample("WHK", 40, 300, seed),
        sample("OSH", 30, 200, seed + 1),
    );
    // The catalogue and the facility registry are national: written at the hub.
    a.load_national(&net.hub.store, 1).unwrap();
    net.hub.store.put(&b.facility, 1).unwrap();
    a.load_facility(&net.gateways[0].0.store, 1).unwrap();
    b.load_facility(&net.gateways[1].0.store, 1).unwrap();
    (net, a, b)
}

fn note(
    store: &pathway_shared::store::Store,
    person: &str,
    id: &str,
    now: Millis,
) -> Result<(), StoreError> {
    let n = CaseNote {
        author: "t".into(),
        at: now,
        text: format!("note {id}"),
        ..Default::default()
    };
    store
        .edit::<CaseFile, _, StoreError>(&case_id(person), now, |e| e.put(&["notes", id], &n))
        .map(drop)
}

fn assert_converged(net: &Net) {
    for i in 0..net.gateways.len() {
        let d = net.differences(i);
        assert!(
            d.is_empty(),
            "gateway {i} differs from the hub on {} documents, e.g. {:?}",
            d.len(),
            &d[..d.len().min(5)]
        );
    }
}

#[test]
fn a_hub_and_two_gateways_converge_and_each_gateway_gets_exactly_its_scope() {
    let (mut net, a, b) = network(
        1,
        LinkProfile {
            latency: 300,
            ..Default::default()
        },
    );
    net.connect_all();
    net.run_until_quiet(net.now + 60 * MINUTE);
    assert_converged(&net);
    // Each gateway holds the national documents and its own facility, nothing of the other.
    let whk = &net.gateways[0].0.store;
    assert_eq!(
        whk.list("national", Kind::Programme).unwrap().len(),
        a.programmes.len()
    );
    assert!(whk.list("facility:OSH", Kind::CaseFile).unwrap().is_empty());
    assert_eq!(
        net.hub
            .store
            .list("facility:OSH", Kind::CaseFile)
            .unwrap()
            .len(),
        b.cases.len()
    );
    assert_eq!(
        net.hub
            .store
            .list("facility:WHK", Kind::CaseFile)
            .unwrap()
            .len(),
        a.cases.len()
    );
}

/// Random edits everywhere over a link that drops, duplicates, reorders and is cut; every seed
/// must converge. Set PATHWAY_SEED to run one seed.
/// A change written at the gateway is waiting to go the moment it is written, not at the next
/// count of the backlog; once the hub holds it, the gateway says nothing waits.
#[test]
fn a_change_is_waiting_to_go_as_soon_as_it_is_written() {
    let link = LinkProfile {
        latency: 400,
        rate_bps: 64_000,
        ..Default::default()
    };
    let (mut net, a, _) = network(11, link);
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    // Polled as the real driver polls: the backlog is counted again from the hub's cursors.
    net.run_for(6_000);
    let waiting = |net: &Net| {
        let s = net.gateway_state(0).expect("connected");
        s.outgoing.iter().map(|b| b.changes).sum::<u64>()
    };
    assert_eq!(waiting(&net), 0);
    let store = net.gateways[0].0.store.clone();
    for (k, c) in a.cases.iter().take(3).enumerate() {
        note(&store, &c.person_id, &format!("w{k}"), net.now).unwrap();
        net.run_for(50);
        assert_eq!(
            waiting(&net),
            k as u64 + 1,
            "note {k} not counted as waiting"
        );
    }
    net.run_until_quiet(net.now + 5 * MINUTE);
    net.run_for(6_000);
    assert_eq!(waiting(&net), 0, "delivered notes still counted as waiting");
    // The count is carried on from write to write and delivery to delivery, and only now and
    // then made afresh: over 20 minutes of writes, it is right each time.
    for round in 0..20 {
        let c = &a.cases[round % a.cases.len()];
        note(&store, &c.person_id, &format!("r{round}"), net.now).unwrap();
        net.run_for(50);
        assert_eq!(waiting(&net), 1, "round {round}: the new note waits");
        net.run_until_quiet(net.now + MINUTE);
        net.run_for(6_000);
        assert_eq!(waiting(&net), 0, "round {round}: delivered");
    }
    assert_converged(&net);
}

/// The count of what waits for the hub, carried on over writes and acknowledgements, always
/// agrees with a count made afresh, through an initial copy and edits on a lossy link.
#[test]
fn a_carried_count_of_the_backlog_agrees_with_a_fresh_one() {
    let link = LinkProfile {
        latency: 300,
        rate_bps: 128_000,
        loss: 0.05,
        ..Default::default()
    };
    let (mut net, a, _) = network(12, link);
    let store = net.gateways[0].0.store.clone();
    let mut carried = None;
    net.connect_all();
    for step in 0..400 {
        if step % 7 == 0 {
            let c = &a.cases[step % a.cases.len()];
            note(&store, &c.person_id, &format!("c{step}"), net.now).unwrap();
        }
        net.run_for(100);
        let on = pathway_shared::sync::gateway_backlog(&store, "hub", carried.take()).unwrap();
        let fresh = pathway_shared::sync::gateway_backlog(&store, "hub", None).unwrap();
        for (x, y) in on.backlog.iter().zip(&fresh.backlog) {
            assert_eq!((x.changes, x.bytes), (y.changes, y.bytes), "step {step}");
        }
        carried = Some(on);
    }
    net.run_until_quiet(net.now + 30 * MINUTE);
    let on = pathway_shared::sync::gateway_backlog(&store, "hub", carried).unwrap();
    assert!(
        on.backlog
            .iter()
            .all(|b| b.changes == 0 && b.oldest.is_none())
    );
    assert_converged(&net);
}

#[test]
fn random_edits_over_a_hostile_link_converge() {
    let seeds: Vec<u64> = match std::env::var("PATHWAY_SEED") {
        Ok(s) => vec![s.parse().unwrap()],
        Err(_) => (1..=6).collect(),
    };
    for seed in seeds {
        eprintln!("seed {seed}");
        let link = LinkProfile {
            latency: 200,
            rate_bps: 512_000,
            loss: 0.05,
            duplicate: 0.05,
            reorder: 0.1,
        };
        let (mut net, a, b) = network(seed, link);
        let mut rng = fastrand::Rng::with_seed(seed);
        net.connect_all();
        for round in 0..12 {
            let now = net.now;
            for _ in 0..rng.usize(1..15) {
                match rng.u8(..4) {
                    0 => note(
                        &net.gateways[0].0.store,
                        &a.cases[rng.usize(..a.cases.len())].person_id,
                        &format!("a{round}-{}", rng.u32(..)),
                        now,
                    )
                    .unwrap(),
                    1 => note(
                        &net.gateways[1].0.store,
                        &b.cases[rng.usize(..b.cases.len())].person_id,
                        &format!("b{round}-{}", rng.u32(..)),
                        now,
                    )
                    .unwrap(),
                    // The hub edits a facility's case file too (a national administrator's fix),
                    // once it has arrived.
                    2 => note(
                        &net.hub.store,
                        &a.cases[rng.usize(..a.cases.len())].person_id,
                        &format!("h{round}-{}", rng.u32(..)),
                        now,
                    )
                    .or_else(|e| {
                        if matches!(e, StoreError::NotFound(_)) {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })
                    .unwrap(),
                    _ => {
                        let p = &a.programmes[rng.usize(..a.programmes.len())];
                        let title = format!("{} (rev {round})", p.title);
                        net.hub
                            .store
                            .edit::<Programme, _, StoreError>(&p.doc_id(), now, |e| {
                                e.put(&["title"], &title)
                            })
                            .ok();
                    }
                }
            }
            if rng.u8(..3) == 0 {
                let i = rng.usize(..2);
                net.cut(i);
                net.run_for(rng.i64(1_000..30_000));
                net.connect(i);
            }
            net.run_for(rng.i64(500..20_000));
        }
        // Heal: reconnect everything and let it settle.
        net.connect_all();
        let took = net.run_until_quiet(net.now + 120 * MINUTE);
        if std::env::var("PATHWAY_DEBUG").is_ok() {
            for i in 0..2 {
                eprintln!(
                    "took {took} gw{i} inflight {} stats {:?}",
                    net.in_flight(i),
                    net.stats(i)
                );
                for d in net.differences(i) {
                    let id = DocId::parse(&d).unwrap();
                    let n = |s: &pathway_shared::store::Store| {
                        s.read(&id, |d, _| d.get_changes(&[]).len()).unwrap()
                    };
                    eprintln!(
                        "  {d}: hub {:?} gw {:?}",
                        n(&net.hub.store),
                        n(&net.gateways[i].0.store)
                    );
                }
            }
        }
        assert_converged(&net);
    }
}

#[test]
fn after_a_cut_acknowledged_changes_are_not_sent_again() {
    let link = LinkProfile {
        latency: 300,
        rate_bps: 256_000,
        ..Default::default()
    };
    let s = sample("WHK", 600, 6_000, 3);
    let fresh = || {
        let net = Net::new(3, &["WHK"], link.clone(), SyncConfig::default());
        s.load_national(&net.hub.store, 1).unwrap();
        s.load_facility(&net.gateways[0].0.store, 1).unwrap();
        net
    };
    // Without a cut, for reference.
    let mut whole = fresh();
    whole.connect(0);
    whole.run_until_quiet(whole.now + 60 * MINUTE);
    let needed = whole.traffic[0].up;
    // With a cut in the middle of the initial copy.
    let mut net = fresh();
    net.connect(0);
    while net.traffic[0].up < needed / 2 {
        net.run_for(100);
    }
    net.cut(0);
    net.connect(0);
    net.run_until_quiet(net.now + 60 * MINUTE);
    assert_converged(&net);
    let resent = net.traffic[0].up.saturating_sub(needed);
    let cfg = SyncConfig::default();
    let window = (cfg.window_frames * cfg.frame_bytes) as u64;
    eprintln!(
        "initial copy {needed} bytes; with a cut halfway, {resent} bytes sent again (window {window})"
    );
    assert!(
        resent <= window,
        "resent {resent} bytes, more than one window ({window})"
    );
    // An unchanged reconnect costs almost nothing.
    net.cut(0);
    let before = net.traffic[0];
    net.connect(0);
    net.run_until_quiet(net.now + MINUTE);
    let bytes = net.traffic[0].since(before).total();
    assert!(bytes <= 512, "unchanged reconnect cost {bytes} bytes");
}

#[test]
fn out_of_scope_writes_are_refused_and_the_session_goes_on() {
    let (mut net, a, b) = network(
        4,
        LinkProfile {
            latency: 100,
            ..Default::default()
        },
    );
    let whk = net.gateways[0].0.store.clone();
    // WHK writes a case file of a person held at OSH.
    let mut foreign = b.cases[0].clone();
    foreign.notes.clear();
    whk.put(&foreign, 5).unwrap();
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    note(&whk, &a.cases[1].person_id, "after-refusal", net.now).unwrap();
    net.run_until_quiet(net.now + 30 * MINUTE);
    let refused = |doc: &DocId| {
        net.events.iter().any(|(i, at_hub, e)| {
            *i == 0
                && *at_hub
                && matches!(e, Event::Refused { doc: d, .. } if d == &doc.to_string())
        })
    };
    assert!(refused(&foreign.doc_id()));
    assert!(
        net.events
            .iter()
            .any(|(i, at_hub, e)| *i == 0 && !*at_hub && matches!(e, Event::RefusedByPeer { .. }))
    );
    // Not applied: OSH's case file at the hub is OSH's own.
    assert_eq!(
        net.hub
            .store
            .get::<CaseFile>(&foreign.doc_id())
            .unwrap()
            .unwrap(),
        b.cases[0]
    );
    // The rest of the session went on.
    let c: CaseFile = net
        .hub
        .store
        .get(&case_id(&a.cases[1].person_id))
        .unwrap()
        .unwrap();
    assert!(c.notes.contains_key("after-refusal"));
    assert_converged(&net);

    // A gateway never sends national changes, but a hostile one might: the hub refuses them.
    let prog = a.programmes[0].doc_id();
    whk.edit::<Programme, _, StoreError>(&prog, net.now, |e| e.put(&["withdrawn"], &true))
        .unwrap();
    let changes = whk
        .changes_since(
            &prog,
            &net.hub
                .store
                .read(&prog, |d, _| d.get_heads())
                .unwrap()
                .unwrap(),
        )
        .unwrap()
        .unwrap();
    let item = Item::Doc {
        doc: prog.to_string(),
        kind: Kind::Programme.as_u8(),
        scope: "national".into(),
        changes: changes.iter().map(|c| c.raw_bytes().to_vec()).collect(),
    };
    let mut hub = Session::new(
        net.hub.store.clone(),
        Side::Hub {
            facility: "WHK".into(),
        },
        "hub",
        "gw-evil",
        SyncConfig::default(),
    )
    .unwrap();
    hub.handle_frame(
        &Frame::Hello(Hello {
            node: "gw-evil".into(),
            have: [0; 3],
            heard: false,
            link: None,
            clock: 0,
        })
        .encode(),
        0,
    )
    .unwrap();
    hub.handle_frame(
        &Frame::Changes {
            class: 1,
            epoch: 0,
            first: true,
            from: 0,
            to: 5,
            payload: pack_items(&[item], 3),
        }
        .encode(),
        0,
    )
    .unwrap();
    assert!(
        !net.hub
            .store
            .get::<Programme>(&prog)
            .unwrap()
            .unwrap()
            .withdrawn
    );
    assert_eq!(hub.stats().refused, 1);
    let mut replies = Vec::new();
    while let Some(t) = hub.poll_transmit(0).unwrap() {
        replies.push(Frame::decode(&t.bytes).unwrap());
    }
    assert!(
        replies
            .iter()
            .any(|f| matches!(f, Frame::Refused { reason, .. } if reason.contains("national"))),
        "{replies:?}"
    );
    assert!(
        replies.iter().any(|f| matches!(
            f,
            Frame::Ack {
                class: 1,
                upto: 5,
                ..
            }
        )),
        "the frame is acknowledged: the session goes on"
    );
}

#[test]
fn a_moved_case_file_arrives_whole_and_leaves_the_old_facility() {
    let (mut net, a, _) = network(
        5,
        LinkProfile {
            latency: 100,
            ..Default::default()
        },
    );
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    let person = a.cases[2].person_id.clone();
    let id = case_id(&person);
    note(&net.gateways[0].0.store, &person, "before-move", net.now).unwrap();
    net.run_until_quiet(net.now + 30 * MINUTE);
    move_case(
        &net.hub.store,
        &person,
        "OSH",
        ("admin.national", "transfer"),
        "tr-1",
        net.now,
    )
    .unwrap();
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert_converged(&net);
    let hub_heads = net
        .hub
        .store
        .read(&id, |d, _| d.get_heads())
        .unwrap()
        .unwrap();
    let osh = &net.gateways[1].0.store;
    assert_eq!(
        osh.read(&id, |d, _| d.get_heads()).unwrap().unwrap(),
        hub_heads,
        "OSH holds the whole history"
    );
    let moved: CaseFile = osh.get(&id).unwrap().unwrap();
    assert!(moved.notes.contains_key("before-move"));
    assert_eq!(moved.holding_facility, "OSH");
    let whk = &net.gateways[0].0.store;
    assert!(whk.get::<CaseFile>(&id).unwrap().is_none());
    let stub = whk.stub(&id).unwrap().unwrap();
    assert_eq!(stub.moved_to, "facility:OSH");
    assert!(
        net.events
            .iter()
            .any(|(i, _, e)| *i == 0 && matches!(e, Event::Dropped { doc, .. } if doc == &id))
    );
}

#[test]
fn an_unknown_protocol_version_gets_a_clear_error() {
    let node = Node::new("gw");
    let mut s = Session::new(
        node.store.clone(),
        Side::Gateway,
        "gw",
        "hub",
        SyncConfig::default(),
    )
    .unwrap();
    let _hello = s.poll_transmit(0).unwrap().unwrap();
    let mut future = Frame::Ack {
        class: 0,
        epoch: 0,
        chain: 1,
        upto: 1,
    }
    .encode();
    future[1] = 9;
    assert!(s.handle_frame(&future, 0).is_err());
    let reply = Frame::decode(&s.poll_transmit(0).unwrap().unwrap().bytes).unwrap();
    assert!(
        matches!(reply, Frame::Error { code: ErrorCode::UnsupportedVersion, ref message } if message.contains("version 9")),
        "{reply:?}"
    );
    assert!(s.is_closed());
}

#[test]
fn hostile_bytes_never_panic_a_session() {
    let node = Node::new("hub");
    let mut rng = fastrand::Rng::with_seed(9);
    for _ in 0..2_000 {
        let mut s = Session::new(
            node.store.clone(),
            Side::Hub {
                facility: "WHK".into(),
            },
            "hub",
            "gw",
            SyncConfig::default(),
        )
        .unwrap();
        let len = rng.usize(0..200);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.u8(..)).collect();
        if rng.bool() && bytes.len() > 2 {
            bytes[0] = b'P';
            bytes[1] = 1;
        }
        let _ = s.handle_frame(&bytes, 0);
        while let Ok(Some(_)) = s.poll_transmit(0) {}
    }
}

#[test]
fn an_urgent_change_overtakes_a_backlog_of_records() {
    let link = LinkProfile {
        latency: 350,
        rate_bps: 256_000,
        ..Default::default()
    };
    let mut net = Net::new(6, &["WHK"], link, SyncConfig::default());
    let s = sample("WHK", 2_000, 20_000, 6);
    s.load_national(&net.hub.store, 1).unwrap();
    s.load_facility(&net.gateways[0].0.store, 1).unwrap();
    net.connect(0);
    net.run_for(3_000);
    // A release is recorded while megabytes of records are still queued.
    let person = &s.cases[s.cases.len() - 1].person_id;
    let release = PlanItem {
        status: PlanItemStatus::Done,
        details: "Released to supported housing".into(),
        ..Default::default()
    };
    net.gateways[0]
        .0
        .store
        .edit::<CaseFile, _, StoreError>(&case_id(person), net.now, |e| {
            e.set_class(Class::Urgent);
            e.put(&["release_plan", "accommodation"], &release)
        })
        .unwrap();
    net.run_for(4_000);
    let at_hub = net.hub.store.get::<CaseFile>(&case_id(person)).unwrap();
    assert_eq!(
        at_hub.map(|c| c.release_plan.accommodation.status),
        Some(PlanItemStatus::Done),
        "the urgent change arrived first"
    );
    let cases_at_hub = net
        .hub
        .store
        .list("facility:WHK", Kind::CaseFile)
        .unwrap()
        .len();
    assert!(
        cases_at_hub < s.cases.len() / 2,
        "records were still flowing: {cases_at_hub} of {} case files",
        s.cases.len()
    );
    net.run_until_quiet(net.now + 60 * MINUTE);
    assert_converged(&net);
}

#[test]
fn a_spent_budget_stops_records_but_not_urgent() {
    let link = LinkProfile {
        latency: 300,
        rate_bps: 512_000,
        ..Default::default()
    };
    let budget = 20_000;
    let policy = pathway_shared::policy::LinkPolicy {
        daily_bytes: [None, Some(budget), None],
        ..Default::default()
    };
    let cfg = SyncConfig {
        policy,
        ..SyncConfig::default()
    };
    let mut net = Net::new(7, &["WHK"], link, cfg.clone());
    let s = sample("WHK", 600, 6_000, 7);
    s.load_national(&net.hub.store, 1).unwrap();
    s.load_facility(&net.gateways[0].0.store, 1).unwrap();
    net.connect(0);
    net.run_for(60_000);
    let up = net.traffic[0].up;
    assert!(
        up <= budget + cfg.frame_bytes as u64 + 1_000,
        "records stopped at the budget: {up} bytes sent"
    );
    assert!(
        net.hub
            .store
            .list("facility:WHK", Kind::CaseFile)
            .unwrap()
            .len()
            < s.cases.len()
    );
    // A reconnect is a new session, not a new budget: what the day spent is in the store.
    net.cut(0);
    net.connect(0);
    net.run_for(60_000);
    let after = net.traffic[0].up;
    assert!(
        after - up < 1_000,
        "a reconnect spent {} more bytes of records",
        after - up
    );
    // An urgent change still goes.
    let person = &s.cases[s.cases.len() - 1].person_id;
    // Details of its own, so the edit is a change whatever the sample held.
    let release = PlanItem {
        status: PlanItemStatus::Done,
        details: "a hostel place from the day of release".into(),
        ..Default::default()
    };
    net.gateways[0]
        .0
        .store
        .edit::<CaseFile, _, StoreError>(&case_id(person), net.now, |e| {
            e.set_class(Class::Urgent);
            e.put(&["release_plan", "accommodation"], &release)
        })
        .unwrap();
    net.run_for(30_000);
    let at_hub = net.hub.store.get::<CaseFile>(&case_id(person)).unwrap();
    assert_eq!(
        at_hub.map(|c| c.release_plan.accommodation.status),
        Some(PlanItemStatus::Done)
    );
}

#[test]
fn a_window_opens_and_closes_on_time() {
    use pathway_shared::policy::{LinkPolicy, Window};
    let minute = |hhmm| Window::minute(hhmm).unwrap();
    let policy = LinkPolicy {
        windows: vec![Window {
            class: Class::Records,
            from_minute: minute("10:00"),
            to_minute: minute("10:05"),
        }],
        ..Default::default()
    };
    let mut net = Net::new(
        8,
        &["WHK"],
        LinkProfile {
            latency: 200,
            ..Default::default()
        },
        SyncConfig {
            policy,
            ..SyncConfig::default()
        },
    );
    let s = sample("WHK", 30, 200, 8);
    s.load_facility(&net.gateways[0].0.store, 1).unwrap();
    // The hub's catalogue travels in the records class too, and the gateway's window governs
    // what the hub sends it: the harness gives the hub no policy but what the hello declares.
    s.load_national(&net.hub.store, 1).unwrap();
    let at = |h: i64, m: i64| 20 * 86_400_000 + (h * 60 + m) * MINUTE;
    net.now = at(9, 50);
    net.connect(0);
    net.run_for(9 * MINUTE);
    assert!(
        net.hub
            .store
            .list("facility:WHK", Kind::CaseFile)
            .unwrap()
            .is_empty(),
        "closed before 10:00"
    );
    assert!(
        net.gateways[0]
            .0
            .store
            .list("national", Kind::Programme)
            .unwrap()
            .is_empty(),
        "the hub held the catalogue until 10:00"
    );
    net.run_for(3 * MINUTE);
    assert_converged(&net);
    // After 10:05 a new note waits for the next day's window.
    net.now = at(10, 6);
    note(
        &net.gateways[0].0.store,
        &s.cases[0].person_id,
        "late",
        net.now,
    )
    .unwrap();
    net.run_for(30 * MINUTE);
    assert!(
        !net.hub
            .store
            .get::<CaseFile>(&case_id(&s.cases[0].person_id))
            .unwrap()
            .unwrap()
            .notes
            .contains_key("late")
    );
    net.run_for(at(10, 1) + 86_400_000 - net.now);
    assert!(
        net.hub
            .store
            .get::<CaseFile>(&case_id(&s.cases[0].person_id))
            .unwrap()
            .unwrap()
            .notes
            .contains_key("late"),
        "sent when the window reopened"
    );
}

/// Frames that wait in a slow link's queue longer than the resend timer: the resent frames
/// carry newer edits than the originals, and the originals' late acknowledgements must not be
/// taken as proof that the newer edits arrived.
#[test]
fn a_late_acknowledgement_after_a_resend_loses_no_edit() {
    for seed in 1..=8 {
        let link = LinkProfile {
            latency: 1_800,
            rate_bps: 64_000,
            loss: 0.1,
            ..LinkProfile::default()
        };
        let cfg = SyncConfig {
            frame_bytes: 4 << 10,
            retransmit_after: 3_000,
            ..SyncConfig::default()
        };
        let mut net = Net::new(seed, &["WHK", "OSH"], link, cfg);
        let (a, b) = (
            sample("WHK", 40, 300, seed),
            sample("OSH", 30, 200, seed + 1),
        );
        a.load_national(&net.hub.store, 1).unwrap();
        net.hub.store.put(&b.facility, 1).unwrap();
        a.load_facility(&net.gateways[0].0.store, 1).unwrap();
        b.load_facility(&net.gateways[1].0.store, 1).unwrap();
        let mut rng = fastrand::Rng::with_seed(seed);
        net.connect_all();
        for round in 0..40 {
            let now = net.now;
            let p = &a.cases[rng.usize(..a.cases.len())].person_id;
            note(&net.gateways[0].0.store, p, &format!("a{round}"), now).unwrap();
            net.run_for(rng.i64(100..400));
        }
        let took = net.run_until_quiet(net.now + 120 * MINUTE);
        eprintln!("seed {seed}: quiet after {took} ms");
        assert_converged(&net);
    }
}

/// Staff keep writing while the session walks the feed: a change made to a document after the
/// walk put that document in a frame, but before the walk reached the change's own entry, must
/// still be sent. Real threads, so this is a stress test: it runs a few rounds.
#[test]
fn edits_made_while_a_frame_is_built_are_not_skipped() {
    for seed in 1..=3 {
        let link = LinkProfile {
            latency: 5,
            ..LinkProfile::default()
        };
        let (mut net, a, _) = network(seed, link);
        net.connect_all();
        net.run_until_quiet(net.now + 10 * MINUTE);
        let store = net.gateways[0].0.store.clone();
        // A handful of case files, edited over and over, so that edits land mid-walk.
        let people: Vec<String> = a
            .cases
            .iter()
            .take(8)
            .map(|c| c.person_id.clone())
            .collect();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (store, people, stop) = (store.clone(), people.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    note(&store, &people[i % people.len()], &format!("w{i}"), 10).unwrap();
                    i += 1;
                }
                i
            })
        };
        let start = std::time::Instant::now();
        while start.elapsed() < std::time::Duration::from_millis(1_500) {
            net.run_for(50);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writer.join().unwrap();
        net.run_until_quiet(net.now + 30 * MINUTE);
        eprintln!("seed {seed}: {written} edits while syncing");
        assert_converged(&net);
    }
}

/// The audit trail goes to the hub in the bulk class and can be checked there, link by link.
#[test]
fn the_audit_trail_reaches_the_hub_in_bulk_and_verifies_there() {
    use pathway_gateway::audit::{Audit, verify_store};
    let (mut net, _, _) = network(3, LinkProfile::default());
    let store = net.gateways[0].0.store.clone();
    let audit = Audit::open(store.clone(), "WHK").unwrap();
    for i in 0..2_500 {
        audit
            .record(
                "caseworker",
                "read_case",
                &format!("case/WHK-{i:06}"),
                1_000 + i,
            )
            .unwrap();
    }
    assert_eq!(audit.verify().unwrap(), 2_500);
    let bulk = store
        .feed_after(0, 100_000)
        .unwrap()
        .into_iter()
        .filter(|e| e.doc.as_str().starts_with("audit/"))
        .all(|e| e.class == Class::Bulk);
    assert!(bulk, "audit blocks travel in the bulk class");
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert_converged(&net);
    assert_eq!(verify_store(&net.hub.store, "WHK").unwrap(), 2_500);
    // A block edited at the hub no longer verifies.
    let id = audit_id("WHK", 1);
    net.hub
        .store
        .edit::<AuditBlock, _, StoreError>(&id, 9, |e| {
            let key = AuditBlock::key(1_500);
            let mut entry: AuditEntry = e.get(&["entries", &key])?.unwrap();
            entry.target = "case/elsewhere".to_owned();
            e.put(&["entries", &key], &entry)
        })
        .unwrap();
    let err = verify_store(&net.hub.store, "WHK").unwrap_err().to_string();
    assert!(err.contains("entry 1500"), "{err}");
}

/// The trail is append-only at the hub: an audit block edited in a gateway's store behind the
/// gateway's back (an entry rewritten, then one removed) is refused at the hub, which keeps its
/// own copy, lists it for review and tells the gateway; entries appended afterwards in a new
/// block still arrive and link.
#[test]
fn an_audit_trail_rewritten_at_a_gateway_is_refused_at_the_hub_and_reviewed() {
    use pathway_gateway::audit::{Audit, verify_store};
    let (mut net, _, _) = network(9, LinkProfile::default());
    let store = net.gateways[0].0.store.clone();
    let audit = Audit::open(store.clone(), "WHK").unwrap();
    for i in 0..1_200 {
        audit
            .record(
                "caseworker",
                "read_case",
                &format!("case/WHK-{i:06}"),
                1_000 + i,
            )
            .unwrap();
    }
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert_eq!(verify_store(&net.hub.store, "WHK").unwrap(), 1_200);
    let refused = |net: &Net, doc: &DocId| {
        net.events.iter().any(|(i, at_hub, e)| {
            *i == 0 && *at_hub && matches!(e, Event::Refused { doc: d, .. } if d == doc.as_str())
        })
    };
    let reviewed = |net: &Net, doc: &DocId| {
        net.hub
            .store
            .reviews()
            .unwrap()
            .into_iter()
            .find(|r| r.doc == doc.as_str() && r.reason == ReviewReason::AuditRewritten)
    };

    // Entry 700 rewritten (its hash recomputed, so it looks whole on its own).
    let first = audit_id("WHK", 0);
    store
        .edit::<AuditBlock, _, StoreError>(&first, net.now, |e| {
            let key = AuditBlock::key(700);
            let mut entry: AuditEntry = e.get(&["entries", &key])?.unwrap();
            entry.target = "case/elsewhere".to_owned();
            entry.hash = entry.compute_hash();
            e.put(&["entries", &key], &entry)
        })
        .unwrap();
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert!(refused(&net, &first), "the rewrite is refused");
    let item = reviewed(&net, &first).expect("listed for review");
    assert!(
        item.detail.contains("entry 700 would be rewritten"),
        "{}",
        item.detail
    );
    assert_eq!(verify_store(&net.hub.store, "WHK").unwrap(), 1_200);
    let held: AuditBlock = net.hub.store.get(&first).unwrap().unwrap();
    assert_eq!(
        held.entries[&AuditBlock::key(700)].target,
        "case/WHK-000699"
    );

    // Appends in the next block still arrive: the trail goes on at the hub.
    for i in 0..5 {
        audit
            .record(
                "caseworker",
                "read_case",
                &format!("case/WHK-9{i:05}"),
                9_000 + i,
            )
            .unwrap();
    }
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert_eq!(verify_store(&net.hub.store, "WHK").unwrap(), 1_205);

    // An entry removed from the block the gateway is writing: refused too.
    let second = audit_id("WHK", 1);
    store
        .edit::<AuditBlock, _, StoreError>(&second, net.now, |e| {
            let mut block: AuditBlock = e.whole()?;
            block.entries.remove(&AuditBlock::key(1_100));
            e.replace(&block)
        })
        .unwrap();
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert!(refused(&net, &second));
    let item = reviewed(&net, &second).expect("listed for review");
    assert!(
        item.detail.contains("entry 1100 would be removed"),
        "{}",
        item.detail
    );
    assert_eq!(verify_store(&net.hub.store, "WHK").unwrap(), 1_205);
}

/// The hub takes a new document's scope from its id and the gateway's certificate, never from
/// the frame: a gateway cannot open a case file for another facility's person (and so cannot
/// keep the real one out), and a staff account's roles and disabled flag are the hub's.
#[test]
fn a_gateway_cannot_claim_another_facilitys_person_nor_set_roles() {
    let (mut net, a, _) = network(
        6,
        LinkProfile {
            latency: 100,
            ..Default::default()
        },
    );
    let (whk, osh) = (
        net.gateways[0].0.store.clone(),
        net.gateways[1].0.store.clone(),
    );
    let person = |facility: &str| CaseFile {
        person_id: "OSH-900001".into(),
        given_name: "Ndapewa".into(),
        holding_facility: facility.into(),
        ..Default::default()
    };
    // WHK opens a case file under OSH's numbering, in its own scope.
    whk.put(&person("WHK"), 5).unwrap();
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    let id = case_id("OSH-900001");
    let refused_at_hub = |net: &Net, gw: usize, doc: &str| {
        net.events.iter().any(|(i, at_hub, e)| {
            *i == gw && *at_hub && matches!(e, Event::Refused { doc: d, .. } if d == doc)
        })
    };
    assert!(refused_at_hub(&net, 0, id.as_str()));
    assert_eq!(net.hub.store.meta(&id).unwrap(), None);
    // The real file, opened at OSH, is taken.
    osh.put(&person("OSH"), net.now).unwrap();
    net.run_until_quiet(net.now + 30 * MINUTE);
    let held = net.hub.store.get::<CaseFile>(&id).unwrap().unwrap();
    assert_eq!(held.holding_facility, "OSH");
    assert_eq!(
        net.hub.store.meta(&id).unwrap().unwrap().scope.facility(),
        Some("OSH")
    );

    // WHK gives one of its staff a manager's role and re-enables another: refused. A password
    // changed at the facility is the gateway's to change, and arrives.
    let (one, two) = (a.staff[0].doc_id(), a.staff[1].doc_id());
    whk.edit::<StaffAccount, _, StoreError>(&one, net.now, |e| {
        e.put(&["roles", "FacilityManager"], &true)
    })
    .unwrap();
    whk.edit::<StaffAccount, _, StoreError>(&two, net.now, |e| {
        e.put(&["password_hash"], &"changed-at-the-facility".to_owned())
    })
    .unwrap();
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert!(refused_at_hub(&net, 0, one.as_str()));
    let at_hub = |id: &DocId| net.hub.store.get::<StaffAccount>(id).unwrap().unwrap();
    assert!(!at_hub(&one).roles.contains(&Role::FacilityManager));
    assert_eq!(at_hub(&one).roles, a.staff[0].roles);
    assert_eq!(at_hub(&two).password_hash, "changed-at-the-facility");
}

/// A change as large as the store allows still crosses in one frame; the store refuses a
/// larger one at the writer, so no session ever loops on a change it cannot send.
#[test]
fn the_largest_change_the_store_keeps_reaches_the_hub() {
    let (mut net, a, _) = network(
        7,
        LinkProfile {
            latency: 100,
            ..Default::default()
        },
    );
    let whk = net.gateways[0].0.store.clone();
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    let person = &a.cases[0].person_id;
    let mut rng = fastrand::Rng::with_seed(7);
    // Text that does not compress, as close to the limit as one change allows.
    let big: String = (0..pathway_shared::store::MAX_CHANGE_BYTES - 4096)
        .map(|_| rng.alphanumeric())
        .collect();
    let n = CaseNote {
        author: "t".into(),
        text: big.clone(),
        ..Default::default()
    };
    whk.edit::<CaseFile, _, StoreError>(&case_id(person), net.now, |e| {
        e.put(&["notes", "long"], &n)
    })
    .unwrap();
    net.run_until_quiet(net.now + 60 * MINUTE);
    let c = net
        .hub
        .store
        .get::<CaseFile>(&case_id(person))
        .unwrap()
        .unwrap();
    assert_eq!(c.notes["long"].text.len(), big.len());
    assert_converged(&net);
}

/// The hub applies the link policy a gateway declares in its hello, rate cap included, to what
/// it sends that gateway.
#[test]
fn the_hub_takes_the_gateways_link_policy_from_its_hello() {
    use pathway_shared::policy::LinkPolicy;
    let dirs = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let open = |d: &tempfile::TempDir| {
        pathway_shared::store::Store::open(d.path(), Default::default()).unwrap()
    };
    let policy = LinkPolicy {
        rate_bps: 64_000,
        utc_offset_minutes: 120,
        daily_bytes: [None, Some(1_000_000), None],
        ..Default::default()
    };
    let mut gw = Session::new(
        open(&dirs.0),
        Side::Gateway,
        "gw-whk",
        "hub",
        SyncConfig {
            policy: policy.clone(),
            ..SyncConfig::default()
        },
    )
    .unwrap();
    let mut hub = Session::new(
        open(&dirs.1),
        Side::Hub {
            facility: "WHK".into(),
        },
        "hub",
        "gw-whk",
        SyncConfig::default(),
    )
    .unwrap();
    assert_eq!(hub.rate_bps(), 0, "no cap before the gateway says");
    let hello = gw.poll_transmit(0).unwrap().unwrap();
    hub.handle_frame(&hello.bytes, 0).unwrap();
    assert_eq!(hub.rate_bps(), 64_000);
    // The hub's own hello declares nothing: the gateway keeps its policy.
    let back = hub.poll_transmit(0).unwrap().unwrap();
    gw.handle_frame(&back.bytes, 0).unwrap();
    assert_eq!(gw.rate_bps(), 64_000);
}

/// A transfer out as the facility records it (what the LAN service writes).
fn record_transfer(store: &pathway_shared::store::Store, person: &str, to: &str, now: Millis) {
    let record = TransferRecord {
        from_facility: "WHK".into(),
        to_facility: to.into(),
        at: now,
        by: "officer.whk".into(),
        reason: "closer to family".into(),
        moved_at: None,
    };
    store
        .edit::<CaseFile, _, StoreError>(&case_id(person), now, |e| {
            e.set_class(Class::Urgent);
            e.put(&["transfers", &format!("{now}-officer.whk")], &record)
        })
        .unwrap();
}

#[test]
fn a_transfer_recorded_at_a_facility_moves_the_file_and_a_late_edit_goes_to_review() {
    let (mut net, a, _) = network(
        11,
        LinkProfile {
            latency: 200,
            ..Default::default()
        },
    );
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    let person = a.cases[3].person_id.clone();
    let id = case_id(&person);
    let whk = net.gateways[0].0.store.clone();
    let osh = net.gateways[1].0.store.clone();
    record_transfer(&whk, &person, "OSH", net.now);
    // The hub makes the move as soon as the transfer is stored there.
    let deadline = net.now + 10 * MINUTE;
    while net.hub.store.meta(&id).unwrap().unwrap().scope.facility() != Some("OSH") {
        assert!(net.now < deadline, "the hub never moved the case file");
        net.run_for(50);
    }
    // WHK writes a note before it hears of the move.
    net.cut(0);
    note(&whk, &person, "late-note", net.now).unwrap();
    net.connect(0);
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert_converged(&net);

    let moved: CaseFile = osh.get(&id).unwrap().expect("OSH holds the file");
    assert_eq!(moved.holding_facility, "OSH");
    assert!(
        moved.notes.contains_key("late-note"),
        "the late edit merged"
    );
    let t = moved.transfers.values().next().unwrap();
    assert!(t.moved_at.is_some(), "the transfer is marked made");
    assert_eq!(
        moved.transfers.len(),
        1,
        "one transfer, not a second record"
    );
    assert!(whk.get::<CaseFile>(&id).unwrap().is_none());
    let stub = whk.stub(&id).unwrap().unwrap();
    assert_eq!(stub.moved_to, "facility:OSH");
    assert_eq!(
        stub.by, "officer.whk",
        "the stub says who transferred the person"
    );

    let reviews = net.hub.store.reviews().unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0].doc, id.to_string());
    assert_eq!(reviews[0].facility, "WHK");
    assert_eq!(reviews[0].reason, ReviewReason::EditAfterMove);
    assert!(reviews[0].reviewed.is_none());
    let done = net
        .hub
        .store
        .mark_reviewed(&reviews[0].key, "admin.national", net.now)
        .unwrap()
        .unwrap();
    assert_eq!(done.reviewed.unwrap().by, "admin.national");
}

#[test]
fn a_transfer_to_a_facility_not_in_the_registry_is_not_made_and_is_listed_for_review() {
    let (mut net, a, _) = network(12, LinkProfile::default());
    net.connect_all();
    net.run_until_quiet(net.now + 30 * MINUTE);
    let person = a.cases[1].person_id.clone();
    let id = case_id(&person);
    let whk = net.gateways[0].0.store.clone();
    record_transfer(&whk, &person, "NOPE", net.now);
    net.run_until_quiet(net.now + 30 * MINUTE);
    assert_eq!(
        net.hub.store.meta(&id).unwrap().unwrap().scope.facility(),
        Some("WHK"),
        "the file stays where it is"
    );
    assert!(whk.get::<CaseFile>(&id).unwrap().is_some());
    let reviews = net.hub.store.reviews().unwrap();
    assert_eq!(reviews.len(), 1, "{reviews:?}");
    assert_eq!(reviews[0].reason, ReviewReason::TransferNotMade);
    assert!(reviews[0].detail.contains("NOPE"), "{}", reviews[0].detail);
}

/// A gateway whose clock is minutes wrong syncs as usual, and its status says how far off it is.
#[test]
fn a_clock_minutes_wrong_is_reported_and_changes_nothing_else() {
    let (hub, gw) = (Node::new("hub"), Node::new("gw"));
    let side = Side::Hub {
        facility: "WHK".into(),
    };
    let mut at_hub =
        Session::new(hub.store.clone(), side, "hub", "gw", SyncConfig::default()).unwrap();
    let mut at_gw = Session::new(
        gw.store.clone(),
        Side::Gateway,
        "gw",
        "hub",
        SyncConfig::default(),
    )
    .unwrap();
    let t = 1_796_000_000_000;
    let skew = 7 * MINUTE;
    // The hub's clock reads seven minutes later than the gateway's.
    let hello = at_hub.poll_transmit(t + skew).unwrap().unwrap();
    at_gw.handle_frame(&hello.bytes, t).unwrap();
    let back = at_gw.poll_transmit(t).unwrap().unwrap();
    at_hub.handle_frame(&back.bytes, t + skew).unwrap();
    assert!(at_gw.is_connected() && at_hub.is_connected());
    assert_eq!(at_gw.peer_clock_ahead(), Some(skew));
    assert_eq!(at_hub.peer_clock_ahead(), Some(-skew));
    let mut st = pathway_shared::status::PeerStatus::default();
    st.observe(
        &pathway_shared::status::Observed::Link(Default::default()),
        &at_gw,
    );
    let words = st.summary("hub", t);
    assert!(
        words.contains("this node's clock is 7 min behind hub's"),
        "{words}"
    );
}

/// Gateways whose clocks are hours wrong, one ahead and one behind the hub's, sync as usual over
/// a lossy link, through a cut: every document converges, notes written by each clock arrive.
#[test]
fn clocks_hours_wrong_either_way_sync_as_usual() {
    const HOUR: Millis = 60 * MINUTE;
    let (mut net, a, b) = network(
        7,
        LinkProfile {
            latency: 300,
            loss: 0.02,
            ..Default::default()
        },
    );
    net.clock_ahead = vec![5 * HOUR, -9 * HOUR];
    net.connect_all();
    net.run_until_quiet(net.now + 60 * MINUTE);
    assert_converged(&net);

    let (pa, pb) = (&a.cases[0].person_id, &b.cases[0].person_id);
    let gw_now = |net: &Net, i: usize| net.now + net.clock_ahead[i];
    note(&net.gateways[0].0.store, pa, "fast-1", gw_now(&net, 0)).unwrap();
    note(&net.gateways[1].0.store, pb, "slow-1", gw_now(&net, 1)).unwrap();
    net.run_until_quiet(net.now + 30 * MINUTE);
    net.cut(0);
    net.cut(1);
    net.run_for(10 * MINUTE);
    note(&net.gateways[0].0.store, pa, "fast-2", gw_now(&net, 0)).unwrap();
    note(&net.gateways[1].0.store, pb, "slow-2", gw_now(&net, 1)).unwrap();
    net.connect_all();
    net.run_until_quiet(net.now + 60 * MINUTE);
    assert_converged(&net);
    for (person, ids) in [(pa, ["fast-1", "fast-2"]), (pb, ["slow-1", "slow-2"])] {
        let case = net
            .hub
            .store
            .get::<CaseFile>(&case_id(person))
            .unwrap()
            .unwrap();
        for id in ids {
            assert!(case.notes.contains_key(id), "{id} reached the hub");
        }
    }
}
