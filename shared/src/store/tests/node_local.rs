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
        let err =
            Store::restore(&dir.path().join(format!("into-{name}")), &f, None, false).unwrap_err();
        assert!(
            matches!(err, RestoreError::Damaged(_) | RestoreError::NotABackup(_)),
            "{name}: {err}"
        );
    }
    assert!(matches!(
        Store::restore(&dir.path().join("a"), &good, None, false),
        Err(RestoreError::NotEmpty { .. })
    ));
    Store::restore(&dir.path().join("b"), &good, None, false).unwrap();
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

/// A sealed store's backup is authenticated under its key: the key file is checked against it
/// before anything is written, and a backup with entries taken out and its checksum made again
/// (an unkeyed one) is refused unless trusted by hand.
#[test]
fn a_sealed_stores_backup_opens_only_with_its_key_and_cannot_be_forged() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("store.key");
    let store = Store::open(dir.path().join("a"), StoreOptions::keyed(&key)).unwrap();
    store
        .put(
            &CaseFile {
                person_id: "WHK-000001".into(),
                given_name: "Ndapewa".into(),
                ..CaseFile::default()
            },
            5,
        )
        .unwrap();
    let mut bytes = Vec::new();
    store.backup(&mut bytes).unwrap();
    drop(store);
    assert!(bytes.starts_with(b"PWBACKUP2\n"));
    let good = dir.path().join("good");
    std::fs::write(&good, &bytes).unwrap();
    // Another store's key: named, and nothing made.
    let other = dir.path().join("other.key");
    drop(Store::open(dir.path().join("o"), StoreOptions::keyed(&other)).unwrap());
    let into = dir.path().join("into");
    let err = Store::restore(&into, &good, Some(&other), false).unwrap_err();
    assert!(matches!(err, RestoreError::WrongKey { .. }), "{err}");
    assert!(err.to_string().contains("pathway rebuild"), "{err}");
    assert!(!into.exists(), "nothing written");
    // No key at all: named.
    let err = Store::restore(&into, &good, None, false).unwrap_err();
    assert!(matches!(err, RestoreError::KeyNeeded { .. }), "{err}");
    // A forged one: the same entries as an unkeyed backup with a fresh checksum.
    let mut forged = b"PWBACKUP1\n".to_vec();
    forged.extend_from_slice(&bytes[10..bytes.len() - 32]);
    let digest = ring::digest::digest(&ring::digest::SHA256, &forged);
    forged.extend_from_slice(digest.as_ref());
    let f = dir.path().join("forged");
    std::fs::write(&f, &forged).unwrap();
    let err = Store::restore(&into, &f, Some(&key), false).unwrap_err();
    assert!(matches!(err, RestoreError::Unauthenticated(_)), "{err}");
    // One bit changed in the body: refused.
    let mut edited = bytes.clone();
    edited[30] ^= 1;
    let e = dir.path().join("edited");
    std::fs::write(&e, &edited).unwrap();
    assert!(matches!(
        Store::restore(&into, &e, Some(&key), false),
        Err(RestoreError::Damaged(_))
    ));
    // With its own key it restores, and opens.
    Store::restore(&into, &good, Some(&key), false).unwrap();
    let restored = Store::open(&into, StoreOptions::keyed(&key)).unwrap();
    let got: CaseFile = restored.get(&case_id("WHK-000001")).unwrap().unwrap();
    assert_eq!(got.given_name, "Ndapewa");
}

/// A sealed store seals its node-local records too (the hub's administrators and their hashes,
/// its audit trail, its review queue): nothing of them is readable in the data folder, and they
/// read back; a record moved to another key does not open.
#[test]
fn node_local_records_are_sealed_at_rest() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("store.key");
    let data = dir.path().join("data");
    let secret = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a-hash-nobody-should-read".to_owned();
    {
        let store = Store::open(&data, StoreOptions::keyed(&key)).unwrap();
        store
            .update_local("admins", "admin.national", |_: Option<String>| {
                Ok::<_, StoreError>((Some(secret.clone()), ()))
            })
            .unwrap();
        store.flush().unwrap();
        let back: Option<String> = store.local("admins", "admin.national").unwrap();
        assert_eq!(back.as_deref(), Some(secret.as_str()));
    }
    let mut found = false;
    for f in walk(&data) {
        let bytes = std::fs::read(&f).unwrap_or_default();
        found |= bytes.windows(20).any(|w| w == &secret.as_bytes()[..20]);
    }
    assert!(!found, "the hash is not readable in the data folder");
    let store = Store::open(&data, StoreOptions::keyed(&key)).unwrap();
    let back: Option<String> = store.local("admins", "admin.national").unwrap();
    assert_eq!(back.as_deref(), Some(secret.as_str()));
}

#[allow(unused_qualifications)]
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
