//! The sample facility is deterministic, the size asked for, and round-trips through a store.

use pathway_shared::model::{
    Aggregate, AttendanceRegister, CaseFile, Kind, ProgrammeRun, WaitStatus,
};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::sample::{SampleConfig, SampleFacility};

#[test]
fn the_same_seed_gives_the_same_facility() {
    let cfg = SampleConfig {
        cases: 300,
        marks: 3_000,
        ..SampleConfig::default()
    };
    let a = SampleFacility::generate(&cfg);
    assert_eq!(a, SampleFacility::generate(&cfg));
    assert_ne!(
        a.cases,
        SampleFacility::generate(&SampleConfig {
            seed: 2,
            ..cfg.clone()
        })
        .cases
    );
    assert_eq!(a.cases.len(), 300);
    assert_eq!(a.marks(), 3_000);
    // Every mark is for someone allocated to that run, at a session in the register.
    for reg in &a.registers {
        let run = a.runs.iter().find(|r| r.id == reg.run_id).unwrap();
        for m in reg.marks.values() {
            assert!(reg.sessions.contains_key(&m.session_id));
            assert_eq!(run.waiting_list[&m.person_id].status, WaitStatus::Allocated);
        }
    }
}

#[test]
fn a_sample_round_trips_through_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 100,
        marks: 1_000,
        ..SampleConfig::default()
    });
    sample.load(&store, 1).unwrap();
    assert_eq!(
        store.list("facility:WHK", Kind::CaseFile).unwrap().len(),
        100
    );
    assert_eq!(
        store.list("national", Kind::Programme).unwrap().len(),
        sample.programmes.len()
    );
    for c in &sample.cases {
        assert_eq!(&store.get::<CaseFile>(&c.doc_id()).unwrap().unwrap(), c);
    }
    for r in &sample.registers {
        assert_eq!(
            &store
                .get::<AttendanceRegister>(&r.doc_id())
                .unwrap()
                .unwrap(),
            r
        );
    }
    for r in &sample.runs {
        assert_eq!(&store.get::<ProgrammeRun>(&r.doc_id()).unwrap().unwrap(), r);
    }
}
