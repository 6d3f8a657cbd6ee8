//! The import benchmark: a register of N people (default 10,000) from CSV into a sealed store
//! on disk, as the hub and `pathway import` do it; then the same file again (which changes
//! nothing); then a file of staff accounts (each hashed with argon2id). Prints the figures.

use std::time::Instant;

use clap::Parser;
use pathway_shared::import::{PeopleImport, import_people, import_staff};
use pathway_shared::store::{Store, StoreOptions};
use pathway_tests::{now_ms, rss_mb};

#[derive(Parser)]
struct Args {
    /// People in the register.
    #[arg(long, default_value_t = 10_000)]
    people: usize,
    /// Staff accounts.
    #[arg(long, default_value_t = 200)]
    staff: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        dir.path().join("data"),
        StoreOptions::keyed(dir.path().join("store.key")),
    )?;
    let mut csv = String::from(
        "prison_number,given_name,family_name,date_of_birth,admission_date,custody_status,unit,cell\n",
    );
    for i in 0..args.people {
        csv.push_str(&format!(
            "NA-{i:06},Given{i},Family{i},1990-01-{:02},2025-06-01,sentenced,Block {},{}\n",
            1 + i % 28,
            i % 8,
            i % 60
        ));
    }
    let t = Instant::now();
    let first = import_people(
        &store,
        PeopleImport {
            facility: "WHK",
            id_prefix: "H",
            by: "bench",
            now: now_ms(),
            update: false,
        },
        csv.as_bytes(),
        |_, _| {},
    )?;
    let took = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let again = import_people(
        &store,
        PeopleImport {
            facility: "WHK",
            id_prefix: "H",
            by: "bench",
            now: now_ms(),
            update: false,
        },
        csv.as_bytes(),
        |_, _| {},
    )?;
    let again_took = t.elapsed().as_secs_f64();
    let mut staff = String::from("username,display_name,roles\n");
    for i in 0..args.staff {
        staff.push_str(&format!("officer.{i},Officer {i},prison_officer\n"));
    }
    let t = Instant::now();
    let s = import_staff(&store, "WHK", staff.as_bytes(), now_ms(), |_, _| {})?;
    let staff_took = t.elapsed().as_secs_f64();
    println!(
        "people:  {} rows ({} KiB) imported in {took:.2} s = {:.0} rows/s",
        first.created,
        csv.len() >> 10,
        first.created as f64 / took
    );
    println!(
        "again:   {} rows unchanged in {again_took:.2} s, {} written",
        again.unchanged, again.created
    );
    println!(
        "staff:   {} accounts in {staff_took:.2} s = {:.0} accounts/s (argon2id each)",
        s.created,
        s.created as f64 / staff_took
    );
    println!("peak RSS {:.0} MB", rss_mb());
    Ok(())
}
