//! `pathway`: the command line for facility IT and national administrators.

use std::path::PathBuf;

mod demo;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pathway_shared::model::{Kind, parse_date};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::sample::{SampleConfig, SampleFacility};

#[derive(Parser)]
#[command(
    version,
    about = "Pathway's command line for facility IT and national administrators"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a hub and two gateways on loopback over a simulated bad link, with sample data.
    Demo {
        /// Link profile between each gateway and the hub: lan, rural-3g or vsat-bad.
        #[arg(long, default_value = "vsat-bad")]
        profile: String,
        /// Case files per facility.
        #[arg(long, default_value_t = 1_000)]
        cases: usize,
        /// Attendance marks per facility.
        #[arg(long, default_value_t = 10_000)]
        marks: usize,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        /// Keep the demo's stores and certificates here instead of a temporary folder.
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Write a sample facility (catalogue, runs, staff, registers, case files) into a store.
    Sample {
        /// Folder of the store to write into (created if missing).
        #[arg(long)]
        data_dir: PathBuf,
        /// The store's key file (`store_key` in the daemon's configuration); made if missing.
        #[arg(long)]
        key: Option<PathBuf>,
        #[arg(long, default_value = "WHK")]
        facility: String,
        #[arg(long, default_value_t = 2_000)]
        cases: usize,
        #[arg(long, default_value_t = 20_000)]
        marks: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The day the sample is "as of" (ISO date, today if not given): sessions are marked up
        /// to the day before, and today's and the next two weeks' wait to be marked.
        #[arg(long)]
        today: Option<String>,
    },
    /// Count the documents in a store, by partition and kind.
    Inspect {
        #[arg(long)]
        data_dir: PathBuf,
        /// The store's key file (`store_key` in the daemon's configuration), if it is encrypted.
        #[arg(long)]
        key: Option<PathBuf>,
        /// Partitions to count: `national` and `facility:<id>`.
        #[arg(long = "partition", default_values_t = ["national".to_owned()])]
        partitions: Vec<String>,
    },
}

fn open(dir: &PathBuf, key: Option<PathBuf>) -> anyhow::Result<Store> {
    let options = StoreOptions {
        key_file: key,
        ..StoreOptions::default()
    };
    Store::open(dir, options).with_context(|| format!("opening the store at {}", dir.display()))
}

fn main() -> anyhow::Result<()> {
    pathway_shared::telemetry::init("pathway");
    match Cli::parse().command {
        Command::Demo {
            profile,
            cases,
            marks,
            duration,
            dir,
        } => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            rt.block_on(demo::run(demo::DemoArgs {
                profile,
                cases,
                marks,
                duration: duration.map(std::time::Duration::from_secs),
                dir,
            }))?;
        }
        Command::Sample {
            data_dir,
            key,
            facility,
            cases,
            marks,
            seed,
            today,
        } => {
            let today = match today {
                Some(d) => parse_date(&d)
                    .with_context(|| format!("--today {d} is not an ISO date (YYYY-MM-DD)"))?,
                None => time::OffsetDateTime::now_utc().date(),
            };
            let cfg = SampleConfig {
                seed,
                facility_id: facility,
                cases,
                marks,
                today,
                ..SampleConfig::default()
            };
            let sample = SampleFacility::generate(&cfg);
            let store = open(&data_dir, key)?;
            let now = today.midnight().assume_utc().unix_timestamp() * 1000;
            sample.load(&store, now)?;
            println!(
                "wrote facility {}: {} case files, {} runs, {} registers with {} marks, {} staff, {} programmes, {} partners",
                cfg.facility_id,
                sample.cases.len(),
                sample.runs.len(),
                sample.registers.len(),
                sample.marks(),
                sample.staff.len(),
                sample.programmes.len(),
                sample.partners.len()
            );
        }
        Command::Inspect {
            data_dir,
            key,
            partitions,
        } => {
            let store = open(&data_dir, key)?;
            println!(
                "store {} (actor {}, feed at {})",
                data_dir.display(),
                store.actor(),
                store.durable_seq()
            );
            for p in &partitions {
                for kind in Kind::ALL {
                    let n = store.list(p, kind)?.len();
                    if n > 0 {
                        println!("{p:<20} {kind:<10} {n:>8}");
                    }
                }
            }
        }
    }
    Ok(())
}
