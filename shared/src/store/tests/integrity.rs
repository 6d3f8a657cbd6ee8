//! The store's promises that once failed: one copy of a document in memory, a document
//! indexed whatever order its changes came in, paired writes whole, no change too large to send.

use super::*;

#[test]
fn a_held_slot_is_never_evicted_so_a_document_has_one_copy() {
    let dir = tempfile::tempdir().unwrap();
    let options = StoreOptions {
        cache_docs: 4,
        ..StoreOptions::default()
    };
    let id = case_id("P1");
    {
        let store = open_with(dir.path(), options.clone());
        store.put(&case("P1", "WHK"), 1).unwrap();
        let others: Vec<CaseFile> = (0..20).map(|i| case(&format!("Q{i}"), "WHK")).collect();
        store.put_many(&others, 1).unwrap();
        let note = |text: &str| CaseNote {
            author: "a".into(),
            text: text.into(),
            ..Default::default()
        };
        std::thread::scope(|s| {
            store
                .edit::<CaseFile, _, StoreError>(&id, 2, |e| {
                    // While this writer holds the case file, another thread touches more
                    // documents than the cache holds.
                    s.spawn(|| {
                        for c in &others {
                            store.get::<CaseFile>(&c.doc_id()).unwrap();
                        }
                    })
                    .join()
                    .unwrap();
                    assert!(
                        lock(&store.inner.cache).contains(&id),
                        "a slot in use was evicted"
                    );
                    // A second writer on the same case file waits for this one instead of
                    // loading a copy of its own.
                    s.spawn(|| {
                        store
                            .edit::<CaseFile, _, StoreError>(&id, 3, |e| {
                                e.put(&["notes", "n2"], &note("second"))
                            })
                            .unwrap()
                    });
                    e.put(&["notes", "n1"], &note("first"))
                })
                .unwrap();
        });
        assert!(store.cached_docs() <= 4, "{} cached", store.cached_docs());
    }
    let store = open_with(dir.path(), options);
    let c = store.get::<CaseFile>(&id).unwrap().unwrap();
    assert_eq!(c.notes.len(), 2, "both writers' notes are in the history");
    let changes = store.changes_since(&id, &[]).unwrap().unwrap();
    let mut seqs: Vec<u64> = changes
        .iter()
        .filter(|c| c.actor_id() == store.actor())
        .map(|c| c.seq())
        .collect();
    let n = seqs.len();
    seqs.dedup();
    assert_eq!(seqs.len(), n, "two changes share a sequence number");
}

#[test]
fn a_new_document_whose_first_changes_waited_is_found_after_a_restart() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = open(da.path());
    let id = case_id("P1");
    a.put(&case("P1", "WHK"), 1).unwrap();
    set_language(&a, &id, "Thai", 2);
    let (mut changes, meta) = a
        .read(&id, |d, m| (d.get_changes(&[]), m.clone()))
        .unwrap()
        .unwrap();
    let last = changes.pop().unwrap();
    {
        let b = open(db.path());
        // Held in memory, not stored, not in the feed.
        let applied = b.apply_changes(&id, &meta, vec![last]).unwrap();
        assert_eq!(applied.stored, 0);
        assert!(!applied.missing.is_empty());
        assert!(b.feed_after(0, 10).unwrap().is_empty());
        assert_eq!(b.apply_changes(&id, &meta, changes).unwrap().stored, 3);
    }
    let b = open(db.path());
    assert_eq!(b.meta(&id).unwrap(), Some(meta));
    assert_eq!(
        b.list("facility:WHK", Kind::CaseFile).unwrap(),
        vec![id.clone()]
    );
    assert_eq!(b.get::<CaseFile>(&id).unwrap().unwrap().language, "Thai");
}

/// The second half of a paired write, with no state to hand back.
fn beside<G>(id: &DocId, scope: Scope, edit: G) -> Result<Beside<G, ()>, StoreError>
where
    G: FnOnce(&mut Editor<'_, '_>) -> Result<(), StoreError>,
{
    Ok(Beside {
        id: id.clone(),
        scope,
        edit,
        state: (),
    })
}

#[test]
fn a_paired_write_stores_both_documents_or_neither() {
    let dir = tempfile::tempdir().unwrap();
    let id = case_id("P1");
    let other = case_id("P2");
    let scope = case("P2", "WHK").scope();
    {
        let store = open(dir.path());
        store.put(&case("P1", "WHK"), 1).unwrap();
        // The second document's edit fails: the first's is not kept either.
        let err = store
            .edit_with_staged::<CaseFile, CaseFile, (), StoreError, _, _>(
                &id,
                2,
                |e| e.put(&["language"], &"Thai".to_owned()),
                || {
                    beside(&other, scope.clone(), |e| {
                        e.put(&["nothing", "here"], &"x".to_owned())
                    })
                },
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::Path { .. }), "{err}");
        assert_eq!(store.get::<CaseFile>(&id).unwrap().unwrap().language, "");
        assert_eq!(store.get::<CaseFile>(&other).unwrap(), None);
        // A second document of the wrong kind: nothing is kept.
        store.put(&case("P3", "WHK"), 1).unwrap();
        let err = store
            .edit_with_staged::<CaseFile, Programme, (), StoreError, _, _>(
                &id,
                3,
                |e| e.put(&["language"], &"Thai".to_owned()),
                || {
                    beside(&case_id("P3"), Scope::National, |e| {
                        e.put(&["title"], &"x".to_owned())
                    })
                },
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::WrongKind { .. }), "{err}");
        assert_eq!(store.get::<CaseFile>(&id).unwrap().unwrap().language, "");
        // Both succeed: one flush covers both, and both are there after a restart.
        let ((), (), pending) = store
            .edit_with_staged::<CaseFile, CaseFile, (), StoreError, _, _>(
                &id,
                4,
                |e| e.put(&["language"], &"Thai".to_owned()),
                || {
                    beside(&other, scope, |e| {
                        e.put(&["language"], &"Oshiwambo".to_owned())
                    })
                },
            )
            .unwrap();
        pending.durable().unwrap();
        let err = store
            .edit_with_staged::<CaseFile, CaseFile, (), StoreError, _, _>(
                &id,
                5,
                |_| Ok(()),
                || beside(&id, Scope::National, |_| Ok(())),
            )
            .unwrap_err();
        assert!(matches!(err, StoreError::SameDocument(_)), "{err}");
    }
    let store = open(dir.path());
    assert_eq!(
        store.get::<CaseFile>(&id).unwrap().unwrap().language,
        "Thai"
    );
    assert_eq!(
        store.get::<CaseFile>(&other).unwrap().unwrap().language,
        "Oshiwambo"
    );
    assert_eq!(store.list("facility:WHK", Kind::CaseFile).unwrap().len(), 3);
}

#[test]
fn a_change_too_large_for_a_frame_is_refused_at_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = case_id("P1");
    store.put(&case("P1", "WHK"), 1).unwrap();
    let before = store.feed_after(0, 100).unwrap().len();
    // Text that does not compress, just over the limit.
    let mut rng = fastrand::Rng::with_seed(7);
    let big: String = (0..MAX_CHANGE_BYTES + 1024)
        .map(|_| rng.alphanumeric())
        .collect();
    let err = store
        .edit::<CaseFile, _, StoreError>(&id, 2, |e| e.put(&["language"], &big))
        .unwrap_err();
    match &err {
        StoreError::TooLarge { doc, bytes, limit } => {
            assert_eq!(doc, &id);
            assert!(*bytes > *limit && *limit == MAX_CHANGE_BYTES);
        }
        other => panic!("expected TooLarge, got {other}"),
    }
    assert!(err.to_string().contains("smaller edits"), "{err}");
    // Nothing was stored, and the document is still readable and writable.
    assert_eq!(store.feed_after(0, 100).unwrap().len(), before);
    assert_eq!(store.get::<CaseFile>(&id).unwrap().unwrap().language, "");
    set_language(&store, &id, "Thai", 3);
    assert_eq!(
        store.get::<CaseFile>(&id).unwrap().unwrap().language,
        "Thai"
    );
}
