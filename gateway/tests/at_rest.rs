//! A stolen box gives nothing away: with the store sealed under its key file (outside the data
//! folder), none of the names, prison numbers, notes, health notes or password hashes written
//! through the staff API can be found in the raw files of the data folder, and the data folder
//! does not open with another key or with none.

use axum::http::StatusCode;
use pathway_shared::store::{Store, StoreOptions};
use serde_json::json;

mod common;
use common::*;

/// Whether any file under `dir` holds `needle`.
fn found_in(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut hits = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            hits.extend(found_in(&path, needle));
        } else if std::fs::read(&path)
            .unwrap()
            .windows(needle.len())
            .any(|w| w == needle)
        {
            hits.push(path);
        }
    }
    hits
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_readable_is_left_in_the_data_folder() {
    let site = site();
    let records = login(&site, "records").await;
    let (s, v) = call(
        &site,
        "POST",
        "/api/cases",
        Some(&records),
        Some(
            json!({
                "prison_number": "2026/77123", "given_name": "Ndapewa", "family_name": "Shikongo",
                "custody_status": "sentenced", "unit": "Unit B", "cell": "12",
            })
            .to_string(),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let person = v["person_id"].as_str().unwrap().to_owned();
    let notes = format!("/api/cases/{person}/notes");
    let nurse = login(&site, "nurse").await;
    let caseworker = login(&site, "caseworker").await;
    for (token, body) in [
        (
            &nurse,
            json!({"text": "relapsed on heroin last week", "note_type": "health"}),
        ),
        (
            &caseworker,
            json!({"text": "fears her brother-in-law", "restricted": true}),
        ),
    ] {
        let (s, v) = call(&site, "POST", &notes, Some(token), Some(body.to_string())).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    site.store.flush().unwrap();
    let data = site._dir.path().join("data");
    for needle in [
        "Ndapewa",
        "Shikongo",
        "2026/77123",
        "relapsed on heroin",
        "brother-in-law",
        "$argon2id$",
        "correct horse",
    ] {
        let hits = found_in(&data, needle.as_bytes());
        assert!(hits.is_empty(), "`{needle}` is readable in {hits:?}");
    }
    // The key file is outside the data folder, owner-only.
    let key = site._dir.path().join("store.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The records read back through the store.
    let read = login(&site, "caseworker").await;
    let (s, v) = call(
        &site,
        "GET",
        &format!("/api/cases/{person}"),
        Some(&read),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["given_name"], "Ndapewa");

    // Copied away, the data folder opens with neither another key nor none.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(&data, &copy.path().join("data"));
    let other = copy.path().join("other.key");
    drop(Store::open(copy.path().join("another"), StoreOptions::keyed(&other)).unwrap());
    let err = Store::open(copy.path().join("data"), StoreOptions::keyed(&other))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("does not open this store"), "{err}");
    let err = Store::open(copy.path().join("data"), StoreOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("encrypted"), "{err}");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let dest = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &dest);
        } else {
            std::fs::copy(&path, &dest).unwrap();
        }
    }
}
