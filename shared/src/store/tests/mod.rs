use super::*;
use crate::model::*;

/// Defects that once corrupted or hid records, each proven here.
mod integrity;
mod node_local;

fn open(dir: &Path) -> Store {
    open_with(dir, StoreOptions::default())
}

/// Opens the store at `dir`. A store just dropped in this process may still hold sled's file
/// lock for a moment (its background threads let go of the database after the last handle);
/// a restarted daemon is a new process and never sees this. So a test that reopens waits for
/// the lock, within a deadline.
fn open_with(dir: &Path, options: StoreOptions) -> Store {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match Store::open(dir, options.clone()) {
            Ok(store) => return store,
            // The previous handle's lock is let go a moment after it drops.
            Err(StoreError::InUse { .. }) if std::time::Instant::now() < deadline => {
                std::thread::yield_now();
            }
            Err(e) => panic!("{e}"),
        }
    }
}

fn case(person: &str, facility: &str) -> CaseFile {
    CaseFile {
        person_id: person.into(),
        prison_number: format!("PN-{person}"),
        given_name: "Test".into(),
        family_name: "Person".into(),
        holding_facility: facility.into(),
        admission_date: "2026-01-05".into(),
        ..CaseFile::default()
    }
}

fn set_language(store: &Store, id: &DocId, language: &str, now: Millis) -> Ack {
    store
        .edit::<CaseFile, _, StoreError>(id, now, |e| e.put(&["language"], &language.to_owned()))
        .unwrap()
        .1
}

#[test]
fn the_editor_reads_and_writes_typed_values_at_paths() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let id = case_id("P1");
    store.put(&case("P1", "WHK"), 1).unwrap();
    let note = CaseNote {
        author: "a".into(),
        text: "hello".into(),
        ..Default::default()
    };
    let (old, _) = store
        .edit::<CaseFile, _, StoreError>(&id, 2, |e| {
            let old: Option<CaseNote> = e.get(&["notes", "n1"])?;
            e.put(&["notes", "n1"], &note)?;
            Ok(old)
        })
        .unwrap();
    assert_eq!(old, None);
    assert_eq!(
        store.get::<CaseFile>(&id).unwrap().unwrap().notes["n1"],
        note
    );
    let err = store
        .edit::<CaseFile, (), StoreError>(&id, 3, |e| e.put(&["nothing", "here"], &note))
        .unwrap_err();
    assert!(err.to_string().contains("no map at `nothing`"), "{err}");
    let err = store
        .edit::<CaseFile, Option<CaseNote>, StoreError>(&id, 3, |e| e.get(&["language"]))
        .unwrap_err();
    assert!(matches!(err, StoreError::Value { .. }), "{err}");
    let err = store
        .edit::<Programme, (), StoreError>(&id, 3, |_| Ok(()))
        .unwrap_err();
    assert!(matches!(err, StoreError::WrongKind { .. }), "{err}");
}

#[test]
fn writes_survive_reopen_and_number_the_feed() {
    let dir = tempfile::tempdir().unwrap();
    let id = case_id("P1");
    {
        let store = open(dir.path());
        let ack = store.put(&case("P1", "WHK"), 1_000).unwrap();
        assert!(ack.seq.is_some());
        let (_, ack2) = store
            .update(&id, 2_000, |c: &mut CaseFile| {
                c.language = "Oshiwambo".into();
                Ok::<_, ()>(())
            })
            .unwrap();
        assert!(ack2.seq > ack.seq);
        // An update that changes nothing writes nothing.
        let (_, ack3) = store
            .update(&id, 3_000, |_: &mut CaseFile| Ok::<_, ()>(()))
            .unwrap();
        assert_eq!(ack3.seq, None);
    }
    let store = open(dir.path());
    let c: CaseFile = store.get(&id).unwrap().unwrap();
    assert_eq!(c.language, "Oshiwambo");
    let feed = store.feed_after(0, 100).unwrap();
    // genesis, first put, one update
    assert_eq!(
        feed.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert!(feed.iter().all(|e| e.doc == id));
    assert_eq!(
        store.list("facility:WHK", Kind::CaseFile).unwrap(),
        vec![id.clone()]
    );
    assert!(
        store
            .list("facility:OSH", Kind::CaseFile)
            .unwrap()
            .is_empty()
    );
    // The next write continues the feed.
    let ack = set_language(&store, &id, "English", 4_000);
    assert_eq!(ack.seq, Some(4));
}

#[test]
fn wrong_kind_missing_doc_and_rejected_update_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.put(&case("P1", "WHK"), 1).unwrap();
    let err = store.get::<Programme>(&case_id("P1")).unwrap_err();
    assert!(matches!(err, StoreError::WrongKind { .. }), "{err}");
    let err = store
        .update(&case_id("P9"), 1, |_: &mut CaseFile| Ok::<_, ()>(()))
        .unwrap_err();
    assert!(matches!(err, UpdateError::Store(StoreError::NotFound(_))));
    let err = store
        .update(&case_id("P1"), 1, |c: &mut CaseFile| {
            c.language = "changed".into();
            Err::<(), _>("refused")
        })
        .unwrap_err();
    assert!(matches!(err, UpdateError::Rejected("refused")));
    assert_eq!(
        store
            .get::<CaseFile>(&case_id("P1"))
            .unwrap()
            .unwrap()
            .language,
        ""
    );
}

#[test]
fn undecodable_bytes_name_the_document_and_spare_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        store.put(&case("P1", "WHK"), 1).unwrap();
        store.put(&case("P2", "WHK"), 1).unwrap();
        store.compact(&case_id("P1")).unwrap();
        store
            .inner
            .db
            .insert(
                keys::snapshot(&case_id("P1")),
                &b"\x85\x6f\x4a\x83garbage"[..],
            )
            .unwrap();
        store
            .inner
            .db
            .insert(keys::chunk(&case_id("P2"), 999), &b"not a change"[..])
            .unwrap();
        store.put(&case("P3", "WHK"), 1).unwrap();
    }
    let store = open(dir.path());
    for p in ["P1", "P2"] {
        let err = store.get::<CaseFile>(&case_id(p)).unwrap_err().to_string();
        assert!(
            err.contains(&format!("case/{p}")) && err.contains(&dir.path().display().to_string()),
            "{err}"
        );
    }
    assert_eq!(
        store
            .get::<CaseFile>(&case_id("P3"))
            .unwrap()
            .unwrap()
            .person_id,
        "P3"
    );
}

#[test]
fn a_store_that_cannot_be_opened_names_its_path() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("not-a-dir");
    std::fs::write(&file, b"x").unwrap();
    let err = Store::open(&file, StoreOptions::default()).err().unwrap();
    assert!(matches!(err, StoreError::Open { .. }));
    assert!(err.to_string().contains("not-a-dir"), "{err}");
}

#[test]
fn compaction_keeps_content_and_history() {
    let dir = tempfile::tempdir().unwrap();
    let id = case_id("P1");
    let opts = StoreOptions {
        compact_after_chunks: 1_000,
        ..StoreOptions::default()
    };
    let heads;
    {
        let store = open_with(dir.path(), opts.clone());
        store.put(&case("P1", "WHK"), 1).unwrap();
        for i in 0..50 {
            store
                .update(&id, i, |c: &mut CaseFile| {
                    c.notes.insert(
                        format!("n{i}"),
                        CaseNote {
                            text: format!("note {i}"),
                            at: i,
                            ..Default::default()
                        },
                    );
                    Ok::<_, ()>(())
                })
                .unwrap();
        }
        store.compact(&id).unwrap();
        assert_eq!(
            store.inner.db.scan_prefix(keys::chunk_prefix(&id)).count(),
            0
        );
        heads = store.read(&id, |d, _| d.get_heads()).unwrap().unwrap();
        store.flush().unwrap();
    }
    let store = open_with(dir.path(), opts);
    assert_eq!(
        store.read(&id, |d, _| d.get_heads()).unwrap().unwrap(),
        heads
    );
    assert_eq!(store.get::<CaseFile>(&id).unwrap().unwrap().notes.len(), 50);
}

#[test]
fn a_large_document_is_compacted_once_its_chunks_add_up_to_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let id = case_id("P1");
    let store = Store::open(
        dir.path(),
        StoreOptions {
            compact_after_chunks: 4,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let mut big = case("P1", "WHK");
    big.notes = (0..200)
        .map(|i| {
            let note = CaseNote {
                text: format!("an earlier note, number {i}, long enough to take some room"),
                at: i,
                ..Default::default()
            };
            (format!("old{i}"), note)
        })
        .collect();
    store.put(&big, 1).unwrap();
    store.compact(&id).unwrap();
    let snapshot = store.inner.db.get(keys::snapshot(&id)).unwrap().unwrap();
    let stored = || -> Vec<usize> {
        let kvs = store.inner.db.scan_prefix(keys::chunk_prefix(&id));
        kvs.map(|kv| kv.unwrap().1.len()).collect()
    };
    // Small appends are not compacted at 4 chunks, as a small document would be, but on the
    // append that brings the chunks up to the snapshot's size.
    let mut i = 0;
    loop {
        let before = stored();
        i += 1;
        store
            .update(&id, 1_000 + i, |c: &mut CaseFile| {
                c.notes.insert(format!("n{i}"), CaseNote::default());
                Ok::<_, ()>(())
            })
            .unwrap();
        let after = stored();
        if after.is_empty() {
            let largest = before.iter().max().copied().unwrap_or_default();
            assert!(
                before.iter().sum::<usize>() + largest >= snapshot.len(),
                "compacted after {i} appends, with {} of {} bytes",
                before.iter().sum::<usize>(),
                snapshot.len()
            );
            break;
        }
        assert_eq!(after.len(), i as usize);
        assert!(after.iter().sum::<usize>() < snapshot.len());
    }
    assert!(i > 4 * 4, "only {i} appends");
    assert_eq!(
        store.get::<CaseFile>(&id).unwrap().unwrap().notes.len(),
        200 + i as usize
    );
}

#[test]
fn a_document_loaded_from_many_chunks_is_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let id = case_id("P1");
    let store = Store::open(
        dir.path(),
        StoreOptions {
            compact_after_chunks: 1_000,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    store.put(&case("P1", "WHK"), 1).unwrap();
    let chunks = || store.inner.db.scan_prefix(keys::chunk_prefix(&id)).count();
    let mut i = 0;
    // Small chunks are cheap to apply: a load leaves them be.
    let mut note = |store: &Store, text: String| {
        i += 1;
        store
            .update(&id, i, |c: &mut CaseFile| {
                let note = CaseNote {
                    text,
                    ..Default::default()
                };
                c.notes.insert(format!("n{i}"), note);
                Ok::<_, ()>(())
            })
            .unwrap();
    };
    note(&store, "short".into());
    let before = chunks();
    store.unload(&id);
    assert!(store.read(&id, |_, _| ()).unwrap().is_some());
    assert_eq!(chunks(), before);
    // Past 8 KiB of chunks, the load folds them into a snapshot.
    for _ in 0..20 {
        note(&store, "a long note ".repeat(40));
    }
    assert_eq!(chunks(), before + 20);
    store.unload(&id);
    assert_eq!(store.get::<CaseFile>(&id).unwrap().unwrap().notes.len(), 21);
    assert_eq!(chunks(), 0);
    assert!(store.inner.db.get(keys::snapshot(&id)).unwrap().is_some());
}

#[test]
fn the_cache_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        StoreOptions {
            cache_docs: 8,
            ..StoreOptions::default()
        },
    )
    .unwrap();
    let cases: Vec<CaseFile> = (0..100).map(|i| case(&format!("P{i}"), "WHK")).collect();
    store.put_many(&cases, 1).unwrap();
    for c in &cases {
        assert!(store.get::<CaseFile>(&c.doc_id()).unwrap().is_some());
    }
    assert!(store.cached_docs() <= 8, "{} cached", store.cached_docs());
    assert_eq!(
        store.list("facility:WHK", Kind::CaseFile).unwrap().len(),
        100
    );
}

#[test]
fn scope_moves_with_the_person_and_cursors_persist() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.put(&case("P1", "WHK"), 1).unwrap();
    // Read once, so the metadata is held in memory: a move must not leave it stale.
    let before = store.meta(&case_id("P1")).unwrap().unwrap();
    assert_eq!(before.scope.partition(), "facility:WHK");
    store
        .set_scope(
            &case_id("P1"),
            Scope::Person {
                person: "P1".into(),
                facility: "OSH".into(),
            },
        )
        .unwrap();
    assert!(
        store
            .list("facility:WHK", Kind::CaseFile)
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.list("facility:OSH", Kind::CaseFile).unwrap(),
        vec![case_id("P1")]
    );
    assert_eq!(
        store
            .meta(&case_id("P1"))
            .unwrap()
            .unwrap()
            .scope
            .partition(),
        "facility:OSH"
    );
    assert_eq!(store.cursor("hub").unwrap(), 0);
    store.set_cursor("hub", 10).unwrap();
    assert_eq!(store.cursor("hub").unwrap(), 10);
    let heads = store
        .read(&case_id("P1"), |d, _| d.get_heads())
        .unwrap()
        .unwrap();
    store.set_peer_heads("hub", &case_id("P1"), &heads).unwrap();
    assert_eq!(store.peer_heads("hub", &case_id("P1")).unwrap(), heads);
    // Retired with its person moving on: no metadata is left, in memory either.
    store
        .retire(
            &case_id("P1"),
            &Stub {
                moved_to: "OSH".into(),
                at: 2,
                by: "officer".into(),
            },
        )
        .unwrap();
    assert!(store.meta(&case_id("P1")).unwrap().is_none());
}

#[test]
fn a_read_never_returns_a_value_older_than_the_last_change() {
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let small = StoreOptions {
        cache_view_bytes: 8_000,
        ..StoreOptions::default()
    };
    let (a, b) = (
        Store::open(da.path(), small.clone()).unwrap(),
        Store::open(db.path(), small).unwrap(),
    );
    let id = case_id("P1");
    a.put(&case("P1", "WHK"), 1).unwrap();
    let get = |s: &Store| s.get::<CaseFile>(&id).unwrap().map(|c| c.language);
    assert_eq!(get(&a), Some(String::new()));
    // A local edit, then a whole-value write.
    set_language(&a, &id, "Oshiwambo", 2);
    assert_eq!(get(&a).as_deref(), Some("Oshiwambo"));
    let mut c = a.get::<CaseFile>(&id).unwrap().unwrap();
    c.language = "Afrikaans".into();
    a.put(&c, 3).unwrap();
    assert_eq!(get(&a).as_deref(), Some("Afrikaans"));
    // Changes from a peer.
    let (changes, meta) = a
        .read(&id, |d, m| (d.get_changes(&[]), m.clone()))
        .unwrap()
        .unwrap();
    b.apply_changes(&id, &meta, changes).unwrap();
    assert_eq!(get(&b).as_deref(), Some("Afrikaans"));
    set_language(&a, &id, "Thai", 4);
    let heads = b.read(&id, |d, _| d.get_heads()).unwrap().unwrap();
    let newer = a.changes_since(&id, &heads).unwrap().unwrap();
    b.apply_changes(&id, &meta, newer).unwrap();
    assert_eq!(get(&b).as_deref(), Some("Thai"));
    // Many other reads push views out of the budget; the value read again is the same.
    for i in 0..20 {
        a.put(&case(&format!("Q{i}"), "WHK"), 5).unwrap();
        a.get::<CaseFile>(&case_id(&format!("Q{i}"))).unwrap();
    }
    assert_eq!(get(&a).as_deref(), Some("Thai"));
    // A retired document is gone, not served from a view.
    a.retire(
        &id,
        &Stub {
            moved_to: "OSH".into(),
            at: 6,
            by: "hub".into(),
        },
    )
    .unwrap();
    assert_eq!(get(&a), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_waiters_share_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let writes = 200;
    let ids: Vec<DocId> = (0..writes).map(|i| case_id(&format!("P{i}"))).collect();
    for (i, id) in ids.iter().enumerate() {
        let pending = store
            .put_staged(&case(&format!("P{i}"), "WHK"), 1)
            .unwrap()
            .1;
        pending.durable_async().await.unwrap();
        assert!(store.get::<CaseFile>(id).unwrap().is_some());
    }
    let before = store.flushes();
    // Many writers at once, each waiting asynchronously: far fewer flushes than writes.
    let tasks: Vec<_> = ids
        .iter()
        .cloned()
        .map(|id| {
            let store = store.clone();
            tokio::spawn(async move {
                let (_, _, pending) = store
                    .edit_staged::<CaseFile, _, StoreError>(&id, 2, |e| {
                        e.put(&["language"], &"Thai".to_owned())
                    })
                    .unwrap();
                pending.durable_async().await.unwrap();
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let flushes = store.flushes() - before;
    assert!(
        flushes < writes as u64,
        "{flushes} flushes for {writes} writes"
    );
    drop(store);
    let store = open(dir.path());
    for id in &ids {
        assert_eq!(store.get::<CaseFile>(id).unwrap().unwrap().language, "Thai");
    }
}
