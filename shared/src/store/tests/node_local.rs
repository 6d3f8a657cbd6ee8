//! What a node keeps for itself beside its documents: the review queue, and backups.

use super::*;

#[test]
fn the_review_queue_survives_a_restart_and_keeps_one_item_per_document_facility_and_reason() {
    use crate::store::ReviewReason;
    let dir = tempfile::tempdir().unwrap();
    let doc = case_id("WHK-000001");
    {
        let store = open(dir.path());
        store
            .note_review(&doc, "WHK", ReviewReason::EditAfterMove, "1 change(s)", 10)
            .unwrap();
        store
            .note_review(&doc, "WHK", ReviewReason::EditAfterMove, "2 change(s)", 20)
            .unwrap();
        store
            .note_review(&doc, "WHK", ReviewReason::TransferNotMade, "NOPE", 30)
            .unwrap();
    }
    let store = open(dir.path());
    let items = store.reviews().unwrap();
    assert_eq!(items.len(), 2, "{items:?}");
    let edits = items
        .iter()
        .find(|i| i.reason == ReviewReason::EditAfterMove)
        .unwrap();
    assert_eq!((edits.count, edits.first_at, edits.last_at), (2, 10, 20));
    assert_eq!(edits.detail, "2 change(s)");
    let key = edits.key.clone();
    store.mark_reviewed(&key, "admin", 40).unwrap().unwrap();
    assert!(
        store
            .mark_reviewed("no|such|item", "admin", 40)
            .unwrap()
            .is_none()
    );
    drop(store);
    let store = open(dir.path());
    let items = store.reviews().unwrap();
    assert!(items[0].reviewed.is_none(), "open items come first");
    assert_eq!(items[1].reviewed.as_ref().unwrap().by, "admin");
    // Another late edit reopens it.
    store
        .note_review(&doc, "WHK", ReviewReason::EditAfterMove, "1 change(s)", 50)
        .unwrap();
    assert!(
        store
            .reviews()
            .unwrap()
            .iter()
            .all(|i| i.reviewed.is_none())
    );
}

#[test]
fn a_backup_restores_as_a_new_node_and_a_cut_or_edited_one_is_refused() {
    use crate::store::RestoreError;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir.path().join("a"));
    let file = CaseFile {
        person_id: "WHK-000001".into(),
        given_name: "Ndapewa".into(),
        ..CaseFile::default()
    };
    store.put(&file, 5).unwrap();
    let last = store.durable_seq();
    let mut bytes = Vec::new();
    let stats = store.backup(&mut bytes).unwrap();
    assert_eq!(stats.last_seq, last);
    let old_actor = store.actor().clone();
    drop(store);
    let good = dir.path().join("good");
    std::fs::write(&good, &bytes).unwrap();
    for (name, damaged) in [
        ("cut", bytes[..bytes.len() - 10].to_vec()),
        ("edited", {
            let mut b = bytes.clone();
            b[20] ^= 1;
            b
        }),
        ("foreign", b"PK\x03\x04 a zip file".to_vec()),
    ] {
        let f = dir.path().join(name);
        std::fs::write(&f, damaged).unwrap();
        let err = Store::restore(&dir.path().join(format!("into-{name}")), &f).unwrap_err();
        assert!(
            matches!(err, RestoreError::Damaged(_) | RestoreError::NotABackup(_)),
            "{name}: {err}"
        );
    }
    assert!(matches!(
        Store::restore(&dir.path().join("a"), &good),
        Err(RestoreError::NotEmpty { .. })
    ));
    Store::restore(&dir.path().join("b"), &good).unwrap();
    let restored = open(&dir.path().join("b"));
    assert_ne!(
        *restored.actor(),
        old_actor,
        "a restored store writes as a new node"
    );
    let got: CaseFile = restored.get(&case_id("WHK-000001")).unwrap().unwrap();
    assert_eq!(got.given_name, "Ndapewa");
    restored
        .edit::<CaseFile, _, StoreError>(&case_id("WHK-000001"), 6, |e| {
            e.put(&["given_name"], &"Ndapewa M.".to_owned())
        })
        .unwrap();
    assert!(
        restored.durable_seq() > last + (1 << 39),
        "the restored feed starts far above the old one"
    );
}
