//! What the LAN tests share: a site with one staff member per role, a case file with
//! something of every sensitivity, and helpers to call the API as a staff member.

#![allow(dead_code)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use pathway_gateway::audit::Audit;
use pathway_gateway::lan::auth::hash_password;
use pathway_gateway::lan::{self, Lan};
use pathway_shared::clock::{Clock, ManualClock};
use pathway_shared::model::*;
use pathway_shared::store::{Store, StoreOptions};
use serde_json::{Value, json};
use tower::ServiceExt;

pub(crate) const FAC: &str = "WHK";
pub(crate) const STATUSES: [&str; 5] = [
    "accepted",
    "in_progress",
    "completed",
    "declined",
    "cancelled",
];
pub(crate) const PERSON: &str = "WHK-000001";
pub(crate) const ROLES: [(&str, Role); 7] = [
    ("officer", Role::PrisonOfficer),
    ("records", Role::RecordsOfficer),
    ("teacher", Role::Instructor),
    ("caseworker", Role::CaseOfficer),
    ("nurse", Role::HealthStaff),
    ("manager", Role::FacilityManager),
    ("it", Role::FacilityIt),
];

pub(crate) struct Site {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) store: Store,
    pub(crate) app: axum::Router,
    pub(crate) lan: Arc<Lan>,
    /// Moves the service's clock: expiry and lock-outs are tested by jumping, not waiting.
    pub(crate) time: ManualClock,
}

/// The site's store is at `data/` and seals content under `store.key` beside it, as a
/// gateway's does.
pub(crate) fn site() -> Site {
    site_in(jiff::tz::TimeZone::UTC)
}

/// A site whose facility keeps the time of `zone`.
pub(crate) fn site_in(zone: jiff::tz::TimeZone) -> Site {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path().join("data"),
        StoreOptions::keyed(dir.path().join("store.key")),
    )
    .unwrap();
    let hash = hash_password("correct horse");
    for (name, role) in ROLES {
        store
            .put(
                &StaffAccount {
                    username: name.into(),
                    facility_id: FAC.into(),
                    display_name: name.into(),
                    roles: [role].into(),
                    password_hash: hash.clone(),
                    ..Default::default()
                },
                1,
            )
            .unwrap();
    }
    for (id, name) in [(FAC, "Windhoek"), ("OSH", "Oluno")] {
        let f = Facility {
            id: id.into(),
            name: format!("{name} Correctional Facility"),
            ..Default::default()
        };
        store.put(&f, 1).unwrap();
    }
    for p in [
        Partner {
            id: "housing-trust".into(),
            name: "Khomas Housing Trust".into(),
            kind: PartnerKind::HousingProvider,
            services: ["emergency housing".to_owned()].into(),
            active: true,
            ..Default::default()
        },
        Partner {
            id: "central-clinic".into(),
            name: "Central Community Clinic".into(),
            kind: PartnerKind::Clinic,
            services: ["substance use treatment".to_owned()].into(),
            active: true,
            ..Default::default()
        },
    ] {
        store.put(&p, 1).unwrap();
    }
    for (code, withdrawn) in [("LIT-1", false), ("OLD-1", true)] {
        let p = Programme {
            code: code.into(),
            title: format!("Programme {code}"),
            certificate: Some("Certificate".into()),
            withdrawn,
            ..Default::default()
        };
        store.put(&p, 1).unwrap();
    }
    let note = |t: NoteType, restricted: bool, text: &str| CaseNote {
        author: "caseworker".into(),
        at: 2,
        facility_id: FAC.into(),
        note_type: t,
        text: text.into(),
        restricted,
    };
    let mut case = CaseFile {
        person_id: PERSON.into(),
        holding_facility: FAC.into(),
        given_name: "Ndapewa".into(),
        ..Default::default()
    };
    case.needs.insert(
        NeedDomain::SubstanceUse.code().into(),
        NeedAssessment {
            notes: "SUBSTANCE-DETAIL".into(),
            ..Default::default()
        },
    );
    case.needs.insert(
        NeedDomain::Accommodation.code().into(),
        NeedAssessment {
            notes: "needs a hostel place".into(),
            ..Default::default()
        },
    );
    case.notes
        .insert("n1".into(), note(NoteType::General, false, "GENERAL-NOTE"));
    case.notes
        .insert("n2".into(), note(NoteType::Health, false, "HEALTH-NOTE"));
    case.notes.insert(
        "n3".into(),
        note(NoteType::Safeguarding, true, "RESTRICTED-NOTE"),
    );
    case.release_plan.health_handover.details = "HANDOVER-DETAIL".into();
    // One fresh referral per role and target status, for the transition matrix.
    for (user, _) in ROLES {
        for to in STATUSES {
            let requested = ReferralEvent {
                to: ReferralStatus::Requested,
                by: "caseworker".into(),
                at: 1,
                note: String::new(),
            };
            let r = Referral {
                partner_id: "housing-trust".into(),
                history: [("e0".to_owned(), requested)].into(),
                ..Default::default()
            };
            case.referrals.insert(format!("r-{user}-{to}"), r);
        }
    }
    store.put(&case, 2).unwrap();
    let mut register = AttendanceRegister {
        facility_id: FAC.into(),
        run_id: "run-1".into(),
        month: "2026-11".into(),
        ..Default::default()
    };
    register.sessions.insert(
        "s1".into(),
        RegisterSession {
            date: "2026-11-23".into(),
            ..Default::default()
        },
    );
    store.put(&register, 3).unwrap();
    let run = ProgrammeRun {
        id: "run-1".into(),
        facility_id: FAC.into(),
        programme_code: "LIT-1".into(),
        capacity: 1,
        status: RunStatus::Open,
        ..Default::default()
    };
    store.put(&run, 3).unwrap();
    let mut other = CaseFile {
        person_id: "WHK-000002".into(),
        holding_facility: FAC.into(),
        ..Default::default()
    };
    other.given_name = "Other".into();
    store.put(&other, 3).unwrap();
    let (_, uplink) = tokio::sync::watch::channel(Default::default());
    let (clock, time) = Clock::manual(pathway_shared::clock::now_ms());
    let lan = Arc::new(Lan {
        audit: Arc::new(Audit::open(store.clone(), FAC).unwrap()),
        store: store.clone(),
        facility: FAC.into(),
        sessions: Default::default(),
        guard: Arc::new(lan::login::Guard::new(lan::login::Limits::LAN)),
        uplink,
        open_sessions: Default::default(),
        roster: Default::default(),
        health_programmes: Default::default(),
        zone,
        clock,
        certificate: pathway_gateway::renewal::Presented::new(
            pathway_shared::identity::Ca::generate("Pathway test CA")
                .and_then(|ca| ca.issue_gateway("gw-whk", FAC, 825))
                .unwrap(),
        ),
        indicators: Arc::new(
            pathway_shared::indicators::tracker::Tracker::open(store.clone()).unwrap(),
        ),
    });
    Site {
        _dir: dir,
        store,
        app: lan::router(lan.clone()),
        lan,
        time,
    }
}

pub(crate) async fn call(
    site: &Site,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value) {
    call_from(site, None, method, path, token, body).await
}

/// [`call`] from the client address `from`, as the LAN listener would give it.
pub(crate) async fn call_from(
    site: &Site,
    from: Option<&str>,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<String>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(ip) = from {
        let addr: std::net::SocketAddr = format!("{ip}:50000").parse().unwrap();
        req = req.extension(axum::extract::ConnectInfo(addr));
    }
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let resp = site
        .app
        .clone()
        .oneshot(req.body(body.map_or(Body::empty(), Body::from)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

pub(crate) async fn login(site: &Site, user: &str) -> String {
    let (s, v) = call(
        site,
        "POST",
        "/api/login",
        None,
        Some(json!({"username": user, "password": "correct horse"}).to_string()),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{user}: {v}");
    v["token"].as_str().unwrap().to_owned()
}

/// One request as a staff member and what must come back: the status, and text the answer
/// must hold (`""` for any). `body` is JSON, or a raw string when it is not an object.
pub(crate) struct Row {
    pub(crate) user: &'static str,
    pub(crate) method: &'static str,
    pub(crate) path: String,
    pub(crate) body: Value,
    pub(crate) status: StatusCode,
    pub(crate) expect: &'static str,
}

pub(crate) fn row(
    user: &'static str,
    method: &'static str,
    path: impl Into<String>,
    body: Value,
    status: StatusCode,
    expect: &'static str,
) -> Row {
    Row {
        user,
        method,
        path: path.into(),
        body,
        status,
        expect,
    }
}

/// Runs each row in order, logging each user in once, and reports every row that differs.
pub(crate) async fn check(site: &Site, rows: &[Row]) {
    let mut tokens = std::collections::HashMap::new();
    let mut wrong = Vec::new();
    for r in rows {
        if !tokens.contains_key(r.user) {
            tokens.insert(r.user, login(site, r.user).await);
        }
        let body = match &r.body {
            Value::Null => None,
            Value::String(raw) => Some(raw.clone()),
            v => Some(v.to_string()),
        };
        let (s, v) = call(site, r.method, &r.path, Some(&tokens[r.user]), body).await;
        let answer = v.to_string();
        if s != r.status || !answer.contains(r.expect) {
            wrong.push(format!(
                "{} {} {} as {}: expected {} with {:?}, got {s} {answer}",
                r.method,
                r.path,
                r.body.to_string().chars().take(60).collect::<String>(),
                r.user,
                r.status,
                r.expect
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// A console page as `token` sees it: the status and the HTML.
pub(crate) async fn page(site: &Site, path: &str, token: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let resp = site.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 4 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// A console form posted as `token` from the console's own page: the status and where it
/// sends the browser next (or, for a refusal, the page's HTML).
pub(crate) async fn form(site: &Site, path: &str, token: &str, body: &str) -> (StatusCode, String) {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("host", "gw.local")
        .header("origin", "https://gw.local")
        .header("cookie", format!("pathway_session={token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = site.app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    if let Some(to) = resp.headers().get("location") {
        return (status, to.to_str().unwrap_or_default().to_owned());
    }
    let bytes = axum::body::to_bytes(resp.into_body(), 4 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// Today at the site (UTC), moved by `days`, as an ISO date.
pub(crate) fn day(site: &Site, days: i64) -> String {
    let now = site.lan.clock.now();
    let d = time::OffsetDateTime::from_unix_timestamp(now / 1000)
        .unwrap()
        .date()
        + time::Duration::days(days);
    iso_date(d)
}

/// Every audit entry's action, in order.
pub(crate) fn audit_actions(store: &Store) -> Vec<String> {
    audit_entries(store).into_iter().map(|e| e.action).collect()
}

/// Every audit entry, in order.
pub(crate) fn audit_entries(store: &Store) -> Vec<AuditEntry> {
    let mut ids = store
        .list(&format!("facility:{FAC}"), Kind::AuditLog)
        .unwrap();
    ids.sort();
    ids.iter()
        .flat_map(|id| {
            store
                .get::<AuditBlock>(id)
                .unwrap()
                .unwrap()
                .entries
                .into_values()
        })
        .collect()
}

/// Edits document `id` as the hub would: on a copy holding everything the gateway has, whose
/// changes then arrive at the gateway as from a peer.
pub(crate) fn edit_at_hub<T: Aggregate>(site: &Site, id: &DocId, edit: impl FnOnce(&mut T)) {
    let hub_dir = tempfile::tempdir().unwrap();
    let hub = Store::open(hub_dir.path(), StoreOptions::default()).unwrap();
    let meta = site.store.meta(id).unwrap().unwrap();
    let all = site.store.changes_since(id, &[]).unwrap().unwrap();
    hub.apply_changes(id, &meta, all).unwrap();
    let heads = site.store.read(id, |d, _| d.get_heads()).unwrap().unwrap();
    hub.update(id, pathway_shared::clock::now_ms(), |v: &mut T| {
        edit(v);
        Ok::<_, ()>(())
    })
    .unwrap();
    let news = hub.changes_since(id, &heads).unwrap().unwrap();
    site.store.apply_changes(id, &meta, news).unwrap();
}

/// The hub's copy of one document as it is now, to be edited there while the facility edits
/// its own: the two edits are made apart, as over a link that is down.
pub(crate) struct HubCopy {
    _dir: tempfile::TempDir,
    hub: Store,
    id: DocId,
    heads: Vec<automerge::ChangeHash>,
}

impl HubCopy {
    pub(crate) fn of(site: &Site, id: &DocId) -> HubCopy {
        let dir = tempfile::tempdir().unwrap();
        let hub = Store::open(dir.path(), StoreOptions::default()).unwrap();
        let meta = site.store.meta(id).unwrap().unwrap();
        hub.apply_changes(
            id,
            &meta,
            site.store.changes_since(id, &[]).unwrap().unwrap(),
        )
        .unwrap();
        let heads = site.store.read(id, |d, _| d.get_heads()).unwrap().unwrap();
        HubCopy {
            _dir: dir,
            hub,
            id: id.clone(),
            heads,
        }
    }

    /// Edits the hub's copy, then brings the edit to the site, as a sync would.
    pub(crate) fn edit_and_sync<T: Aggregate>(self, site: &Site, edit: impl FnOnce(&mut T)) {
        self.hub
            .update(&self.id, pathway_shared::clock::now_ms(), |v: &mut T| {
                edit(v);
                Ok::<_, ()>(())
            })
            .unwrap();
        let meta = site.store.meta(&self.id).unwrap().unwrap();
        let news = self
            .hub
            .changes_since(&self.id, &self.heads)
            .unwrap()
            .unwrap();
        site.store.apply_changes(&self.id, &meta, news).unwrap();
    }
}
