//! `pathway import people|staff FILE`: a facility's existing register, from a file (a USB
//! stick), into its gateway's store, with a progress bar. Run it with the gateway stopped (the
//! store admits one process at a time); the rows reach the hub on the next sync.

use std::path::Path;

use anyhow::Context;
use pathway_gateway::audit::Audit;
use pathway_gateway::config::GatewayConfig;
use pathway_shared::clock::now_ms;
use pathway_shared::import::{ImportError, PeopleImport, Report, import_people, import_staff};
use pathway_shared::store::{Store, StoreError, StoreOptions};

/// What to import.
#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum What {
    /// People in custody: prison_number, given_name, family_name, admission_date, and
    /// optionally date_of_birth, language, expected_release_date, sentence_date,
    /// custody_status, security_level, unit, cell.
    People,
    /// Staff accounts: username, display_name, roles (separated by `;`).
    Staff,
}

pub(crate) fn run(
    config: &Path,
    what: What,
    file: &Path,
    by: &str,
    update: bool,
) -> anyhow::Result<()> {
    let cfg = GatewayConfig::load(config)?;
    let bytes = std::fs::read(file).with_context(|| {
        format!(
            "cannot read {}; check the path and the USB stick",
            file.display()
        )
    })?;
    let store = Store::open(&cfg.data_dir, StoreOptions::keyed(cfg.key_file())).map_err(|e| match e {
        StoreError::InUse { .. } => anyhow::anyhow!(
            "the gateway is running and holds its store: stop it (systemctl stop pathway-gateway), import, then start it again"
        ),
        e => anyhow::Error::from(e).context("cannot open the gateway's store"),
    })?;
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} written ({eta} left)")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = |done: usize, total: usize| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    };
    let now = now_ms();
    let result = match what {
        What::People => import_people(
            &store,
            PeopleImport {
                facility: &cfg.facility,
                id_prefix: "",
                by,
                now,
                update,
            },
            &bytes,
            progress,
        ),
        What::Staff => import_staff(&store, &cfg.facility, &bytes, now, progress),
    };
    bar.finish_and_clear();
    let report = match result {
        Ok(r) => r,
        Err(ImportError::Rows(rows)) => {
            for r in &rows {
                eprintln!("{}: {r}", file.display());
            }
            anyhow::bail!(
                "{} row(s) are wrong and nothing was imported; correct them and run the same command again",
                rows.len()
            );
        }
        Err(ImportError::Store(e)) => return Err(e).context("the import stopped"),
    };
    let action = match what {
        What::People => "import_people",
        What::Staff => "import_staff",
    };
    let target = format!(
        "{} ({} new, {} unchanged, {} updated)",
        file.display(),
        report.created,
        report.unchanged,
        report.updated
    );
    Audit::open(store.clone(), &cfg.facility)?
        .record(by, action, &target, now)
        .context("writing the import in the audit trail")?;
    print_report(&report);
    Ok(())
}

fn print_report(r: &Report) {
    let rows = match r.rows {
        1 => "1 row".to_owned(),
        n => format!("{n} rows"),
    };
    println!(
        "{rows}: {} imported, {} already held and left as they are",
        r.created, r.unchanged
    );
    if !r.differences.is_empty() {
        let people: std::collections::BTreeSet<&str> =
            r.differences.iter().map(|d| d.person_id.as_str()).collect();
        if r.updated > 0 {
            println!("{} people changed to what the file says:", r.updated);
        } else {
            println!(
                "{} people are held with details that differ from the file; nothing of theirs was changed:",
                people.len()
            );
        }
        for d in &r.differences {
            println!("  {d}");
        }
        if r.updated == 0 {
            println!("check each line; to apply them, run the same command again with --update");
        }
    }
    if !r.one_time_passwords.is_empty() {
        println!("one-time passwords (give each in person; each is changed at the first log-in):");
        for (user, p) in &r.one_time_passwords {
            println!("  {user:<24} {p}");
        }
    }
}
