//! Writes case notes as fast as it can from several threads and prints `ack <doc> <note>` on its
//! own line after each write is acknowledged. The crash test kills it with SIGKILL and checks that
//! every acknowledged note survived.
//!
//! Usage: `storeworker <store dir> <round> <threads>`

use std::io::Write;
use std::sync::Arc;

use pathway_shared::model::{Aggregate, CaseFile, CaseNote};
use pathway_shared::store::{Store, StoreError, StoreOptions};
use pathway_tests::sample::{SampleConfig, SampleFacility};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, dir, round, threads] = &args[..] else {
        anyhow::bail!("usage: storeworker <store dir> <round> <threads>");
    };
    let threads: usize = threads.parse()?;
    let store = Store::open(dir, StoreOptions::default())?;
    let sample = SampleFacility::generate(&SampleConfig {
        cases: 200,
        marks: 0,
        ..SampleConfig::default()
    });
    if store.get::<CaseFile>(&sample.cases[0].doc_id())?.is_none() {
        store.put_many(&sample.cases, 1)?;
    }
    let ids = Arc::new(sample.cases.iter().map(|c| c.doc_id()).collect::<Vec<_>>());
    println!("ready");
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (store, ids, round) = (store.clone(), ids.clone(), round.clone());
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut rng = fastrand::Rng::with_seed(t as u64);
                for n in 0.. {
                    let id = &ids[rng.usize(..ids.len())];
                    let note = format!("r{round}-t{t}-n{n}");
                    let value = CaseNote {
                        author: "worker".into(),
                        at: n,
                        text: note.clone(),
                        ..Default::default()
                    };
                    store.edit::<CaseFile, _, StoreError>(id, n, |e| {
                        e.put(&["notes", &note], &value)
                    })?;
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "ack {id} {note}")?;
                    out.flush()?;
                }
                Ok(())
            })
        })
        .collect();
    for h in handles {
        h.join().map_err(|_| anyhow::anyhow!("writer panicked"))??;
    }
    Ok(())
}
