//! Every acknowledged write survives `kill -9`: a child process writes and acknowledges as fast
//! as it can, is killed with SIGKILL at a random moment, and the reopened store must hold every
//! write it acknowledged. Several rounds on the same store, so recovery is itself recovered.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pathway_shared::model::{CaseFile, DocId};
use pathway_shared::store::{Store, StoreOptions};

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let seed = std::env::var("PATHWAY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(7);
    eprintln!("seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut total_acked = 0;
    for round in 0..5 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_storeworker"))
            .args([dir.path().to_str().unwrap(), &round.to_string(), "8"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 {
                // A line cut by the kill has no newline: it was never a complete acknowledgement.
                if line.ends_with('\n') {
                    tx.send(line.trim_end().to_owned()).ok();
                }
                line.clear();
            }
        });
        let ready = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("worker became ready");
        assert_eq!(ready, "ready");
        let run_for = Duration::from_millis(rng.u64(300..1_500));
        let start = Instant::now();
        while start.elapsed() < run_for {
            std::thread::sleep(Duration::from_millis(10));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();
        let acks: Vec<(DocId, String)> = rx
            .try_iter()
            .map(|l| {
                let mut p = l.split(' ');
                assert_eq!(p.next(), Some("ack"), "{l}");
                (
                    DocId::parse(p.next().unwrap()).unwrap(),
                    p.next().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(
            acks.len() > 50,
            "round {round}: only {} writes acknowledged in {run_for:?}",
            acks.len()
        );
        let store = Store::open(dir.path(), StoreOptions::default()).unwrap();
        for (doc, note) in &acks {
            let c: CaseFile = store.get(doc).unwrap().unwrap();
            assert!(
                c.notes.contains_key(note),
                "round {round}: acknowledged note {note} in {doc} was lost"
            );
        }
        eprintln!(
            "round {round}: {} acknowledged writes after {run_for:?}, all present",
            acks.len()
        );
        total_acked += acks.len();
    }
    eprintln!("{total_acked} acknowledged writes across 5 kills, none lost");
}
