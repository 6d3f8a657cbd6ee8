//! `pathway import` at a gateway: a register from a file into the gateway's store, checked
//! first (a bad row named by line and column, nothing stored), idempotent, a corrected row
//! listed and applied only with `--update`, refused with advice while the gateway runs.

use std::ffi::OsStr;

use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::identity::Ca;
use pathway_shared::model::{CaseFile, CustodyStatus, Kind, StaffAccount, case_id, staff_id};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::{offline_gateway_config, run_pathway};

fn import(what: &str, file: &std::path::Path, config: &std::path::Path) -> (bool, String) {
    import_with(what, file, config, &[])
}

fn import_with(
    what: &str,
    file: &std::path::Path,
    config: &std::path::Path,
    extra: &[&str],
) -> (bool, String) {
    let mut args = vec![
        OsStr::new("import"),
        OsStr::new(what),
        file.as_os_str(),
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("--by"),
        OsStr::new("it.whk"),
    ];
    args.extend(extra.iter().map(OsStr::new));
    run_pathway(&args, &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_register_on_a_usb_stick_imports_once_into_the_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = Ca::generate("Pathway test CA").unwrap();
    let config = offline_gateway_config(d, &ca, "127.0.0.1:0".parse().unwrap()).unwrap();
    let mut csv =
        String::from("prison_number,given_name,family_name,admission_date,date_of_birth\n");
    for i in 0..300 {
        csv.push_str(&format!(
            "W/{i:04},Given{i},Family{i},2024-03-01,1988-05-{:02}\n",
            1 + i % 28
        ));
    }
    let people = d.join("people.csv");
    std::fs::write(&people, &csv).unwrap();
    let bad = d.join("bad.csv");
    std::fs::write(&bad, "prison_number,given_name,family_name,admission_date,date_of_birth\nW/9000,Ok,Row,2024-03-01,\nW/9001,Bad,Date,2024-03-01,1988-02-30\n").unwrap();

    let (ok, out) = import("people", &bad, &config);
    assert!(!ok, "{out}");
    assert!(out.contains("line 3, column date_of_birth"), "{out}");
    assert!(out.contains("nothing was imported"), "{out}");

    let (ok, out) = import("people", &people, &config);
    assert!(ok, "{out}");
    assert!(
        out.contains("300 rows: 300 imported, 0 already held"),
        "{out}"
    );
    let (ok, out) = import("people", &people, &config);
    assert!(ok, "{out}");
    assert!(
        out.contains("300 rows: 0 imported, 300 already held"),
        "{out}"
    );

    // A corrected register: one person's cell and custody status. Listed, not applied...
    let corrected = d.join("corrected.csv");
    let mut fixed = String::from(
        "prison_number,given_name,family_name,admission_date,date_of_birth,custody_status,unit,cell\n",
    );
    fixed.push_str("W/0001,Given1,Family1,2024-03-01,1988-05-02,recalled,Unit A,7\n");
    fixed.push_str("W/0002,Given2,Family2,2024-03-01,1988-05-03,,,\n");
    std::fs::write(&corrected, &fixed).unwrap();
    let (ok, out) = import("people", &corrected, &config);
    assert!(ok, "{out}");
    assert!(out.contains("2 rows: 0 imported, 1 already held"), "{out}");
    assert!(
        out.contains(
            "line 2, W/0001 (WHK-000002): custody_status is nothing here, recalled in the file"
        ) && out.contains("unit, cell is nothing here, Unit A 7 in the file")
            && out.contains("--update"),
        "{out}"
    );
    // ...until asked.
    let (ok, out) = import_with("people", &corrected, &config, &["--update"]);
    assert!(
        ok && out.contains("1 people changed to what the file says"),
        "{out}"
    );

    let staff = d.join("staff.csv");
    std::fs::write(
        &staff,
        "username,display_name,roles\nteacher.n,Ndapewa Kamati,instructor\n",
    )
    .unwrap();
    let (ok, out) = import("staff", &staff, &config);
    assert!(ok && out.contains("teacher.n"), "{out}");

    let cfg = GatewayConfig::load(&config).unwrap();
    let store = Store::open(&cfg.data_dir, StoreOptions::keyed(&cfg.store_key)).unwrap();
    assert_eq!(
        store.list("facility:WHK", Kind::CaseFile).unwrap().len(),
        300
    );
    let first: CaseFile = store.get(&case_id("WHK-000001")).unwrap().unwrap();
    assert_eq!(
        (first.prison_number.as_str(), first.given_name.as_str()),
        ("W/0000", "Given0")
    );
    assert_eq!(first.custody_status, None, "not in the file: not recorded");
    let corrected: CaseFile = store.get(&case_id("WHK-000002")).unwrap().unwrap();
    assert_eq!(
        (
            corrected.custody_status.map(|c| c.value),
            corrected.location.map(|l| l.value.cell)
        ),
        (Some(CustodyStatus::Recalled), Some("7".to_owned()))
    );
    let t: StaffAccount = store.get(&staff_id("WHK", "teacher.n")).unwrap().unwrap();
    assert!(t.must_change_password);
    drop(store);

    // With the gateway running the store is held: the command says what to do.
    let gateway = Gateway::start(&cfg).unwrap();
    let (ok, out) = import("people", &people, &config);
    assert!(!ok && out.contains("stop it"), "{out}");
    gateway.shutdown().await;
}
