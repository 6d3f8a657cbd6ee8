//! storebench: durable acknowledged edits per second, acknowledgement latency, and memory with
//! the document cache bounded, on the standard sample facility.
//!
//! Run with `cargo run --release -p pathway-tests --bin storebench [-- --json]`.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Parser;
use pathway_shared::model::{Aggregate, CaseFile, CaseNote, NeedDomain, NeedLevel};
use pathway_shared::store::{Store, StoreError, StoreOptions};
use pathway_tests::sample::{SampleConfig, SampleFacility};
use pathway_tests::{now_ms, percentile, rss_mb};

#[derive(Parser)]
struct Args {
    /// Case files in the sample facility.
    #[arg(long, default_value_t = 2_000)]
    cases: usize,
    /// Small edits to make, spread over the case files.
    #[arg(long, default_value_t = 10_000)]
    edits: usize,
    /// Concurrent writers: staff requests in flight at once.
    #[arg(long, default_value_t = 16)]
    writers: usize,
    /// Documents the store keeps loaded.
    #[arg(long, default_value_t = 256)]
    cache_docs: usize,
    /// Store content as it is, instead of sealed under a key file as the daemons store it.
    #[arg(long)]
    plaintext: bool,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        dir.path().join("data"),
        StoreOptions {
            cache_docs: args.cache_docs,
            key_file: (!args.plaintext).then(|| dir.path().join("store.key")),
            ..StoreOptions::default()
        },
    )?;
    let sample = SampleFacility::generate(&SampleConfig {
        cases: args.cases,
        marks: 0,
        ..SampleConfig::default()
    });
    let load_start = Instant::now();
    store.put_many(&sample.cases, now_ms())?;
    let load_s = load_start.elapsed().as_secs_f64();
    let ids = Arc::new(sample.cases.iter().map(|c| c.doc_id()).collect::<Vec<_>>());
    drop(sample);

    let flushes_before = store.flushes();
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(args.edits)));
    let start = Instant::now();
    let handles: Vec<_> = (0..args.writers)
        .map(|w| {
            let (store, ids, latencies) = (store.clone(), ids.clone(), latencies.clone());
            let mine = (w..args.edits).step_by(args.writers).collect::<Vec<_>>();
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut rng = fastrand::Rng::with_seed(w as u64);
                let mut local = Vec::with_capacity(mine.len());
                for n in mine {
                    let id = &ids[rng.usize(..ids.len())];
                    let t = Instant::now();
                    let now = now_ms();
                    store.edit::<CaseFile, _, StoreError>(id, now, |e| {
                        if n % 2 == 0 {
                            let note = CaseNote {
                                author: "bench".into(),
                                at: now,
                                text: "Attended review.".into(),
                                ..Default::default()
                            };
                            e.put(&["notes", &format!("bench-{n}")], &note)
                        } else {
                            let d = NeedDomain::ALL[n % NeedDomain::ALL.len()].code();
                            let level = [NeedLevel::Low, NeedLevel::Medium, NeedLevel::High][n % 3];
                            e.put(&["needs", d, "level"], &level)
                        }
                    })?;
                    local.push(t.elapsed().as_secs_f64() * 1e3);
                }
                latencies
                    .lock()
                    .map_err(|_| anyhow::anyhow!("poisoned"))?
                    .extend(local);
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("writer panicked"))??;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let flushes = store.flushes() - flushes_before;
    let mut lat = Arc::try_unwrap(latencies)
        .map_err(|_| anyhow::anyhow!("writers still running"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("poisoned"))?;
    lat.sort_by(f64::total_cmp);

    for id in ids.iter() {
        anyhow::ensure!(store.get::<CaseFile>(id)?.is_some(), "{id} missing");
    }
    let rss = rss_mb();
    let rate = args.edits as f64 / elapsed;
    let (p50, p99) = (percentile(&lat, 50.0), percentile(&lat, 99.0));
    let edits_per_flush = args.edits as f64 / flushes.max(1) as f64;
    if args.json {
        println!(
            "{}",
            serde_json::json!({
                "cases": args.cases, "edits": args.edits, "writers": args.writers,
                "durable_edits_per_s": rate.round(), "ack_p50_ms": p50, "ack_p99_ms": p99,
                "flushes": flushes, "edits_per_flush": edits_per_flush,
                "rss_mb": rss, "cached_docs": store.cached_docs(), "initial_load_s": load_s,
                "encrypted": store.encrypted(),
            })
        );
    } else {
        println!(
            "storebench: {} edits over {} case files, {} writers, cache {} docs, content {}",
            args.edits,
            args.cases,
            args.writers,
            args.cache_docs,
            if store.encrypted() {
                "sealed at rest"
            } else {
                "in plaintext"
            }
        );
        println!("{:<34} {:>12}", "metric", "value");
        println!("{:<34} {:>12.2}", "initial load of case files (s)", load_s);
        println!("{:<34} {:>12.0}", "durable edits/s", rate);
        println!("{:<34} {:>12.2}", "ack latency p50 (ms)", p50);
        println!("{:<34} {:>12.2}", "ack latency p99 (ms)", p99);
        println!("{:<34} {:>12}", "group commits (flushes)", flushes);
        println!("{:<34} {:>12.1}", "edits per flush", edits_per_flush);
        println!("{:<34} {:>12.1}", "RSS after touching all (MB)", rss);
        println!("{:<34} {:>12}", "documents loaded", store.cached_docs());
    }
    Ok(())
}
