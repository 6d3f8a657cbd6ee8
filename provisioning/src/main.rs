//! `pathway`: the command line for facility IT and national administrators.

use std::path::PathBuf;

mod backup;
mod certificate;
mod cli;
mod courier;
mod credential;
mod daemon;
mod demo;
mod doctor;
mod enrol;
mod files;
mod import;
mod renew;
mod revoke;
mod secret;
mod working;

use anyhow::Context;
use clap::Parser;
use cli::{CaCommand, Cli, Command, CourierCommand};
use pathway_provisioning::sample::{SampleConfig, SampleFacility};
use pathway_shared::model::{Kind, parse_date};
use pathway_shared::store::{Store, StoreOptions};

/// The CA passphrase: PATHWAY_CA_PASSPHRASE, or a line typed at the prompt.
fn passphrase() -> anyhow::Result<String> {
    secret::ask("CA passphrase", "PATHWAY_CA_PASSPHRASE")
}

/// The configuration a command reads unless told: the gateway's, or with `--hub` the hub's.
fn default_config(hub: bool) -> PathBuf {
    PathBuf::from(if hub {
        "/etc/pathway/hub.toml"
    } else {
        "/etc/pathway/gateway.toml"
    })
}

/// The passphrase of the CA in `dir`, asked only once it is known there is a CA there.
fn passphrase_of(dir: &std::path::Path) -> anyhow::Result<String> {
    let sealed = dir.join("ca.key.sealed");
    anyhow::ensure!(
        sealed.exists(),
        "no CA at {}: give the CA's folder with --dir, or make a CA with `pathway ca init --dir {}`",
        sealed.display(),
        dir.display()
    );
    passphrase()
}

fn open(dir: &PathBuf, key: Option<PathBuf>) -> anyhow::Result<Store> {
    let options = StoreOptions {
        key_file: key,
        ..StoreOptions::default()
    };
    Store::open(dir, options).with_context(|| format!("opening the store at {}", dir.display()))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// An error is printed as one paragraph, its causes after it, whatever `RUST_BACKTRACE` says:
/// the people reading it need the advice, not the stack.
fn main() -> std::process::ExitCode {
    pathway_shared::telemetry::init("pathway");
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Ca {
            command: CaCommand::Init { dir, name },
        } => enrol::ca_init(&dir, &name, &passphrase()?)?,
        Command::Ca {
            command: CaCommand::IssueHub { dir, name, out },
        } => enrol::issue_hub(&dir, &passphrase_of(&dir)?, &name, &out)?,
        Command::Ca {
            command:
                CaCommand::Renew {
                    gateway,
                    dir,
                    hub,
                    user,
                    days,
                },
        } => {
            let ca = enrol::load_ca(&dir, &passphrase_of(&dir)?)?;
            let password = revoke::admin_password(&user)?;
            let login = revoke::AdminLogin {
                hub: &hub,
                ca: &dir.join("ca.pem"),
                user: &user,
                password: &password,
            };
            println!(
                "{}",
                runtime()?.block_on(renew::run(&ca, &gateway, days, &login))?
            );
        }
        Command::Ca {
            command: CaCommand::RenewCert { file, dir, days },
        } => {
            anyhow::ensure!(
                file.is_file(),
                "no certificate at {}: copy the certificate file to renew here first",
                file.display()
            );
            let ca = enrol::load_ca(&dir, &passphrase_of(&dir)?)?;
            println!("{}", renew::in_place(&ca, &dir, &file, days)?);
        }
        Command::Enrol {
            ca_dir,
            facility,
            gateway,
            hub_addr,
            hub_name,
            hub_cert,
            lan_name,
            days,
            out,
            hub_admin,
            user,
            time_zone,
        } => {
            let out = out.unwrap_or_else(|| PathBuf::from(format!("{gateway}.pathway-bundle")));
            let lan_name =
                lan_name.unwrap_or_else(|| format!("{}.pathway.local", facility.to_lowercase()));
            // Registered first: a facility the registry lacks is named before a bundle is made.
            let registered = match (&hub_admin, &user) {
                (Some(hub), Some(user)) => {
                    let password = revoke::admin_password(user)?;
                    Some(runtime()?.block_on(revoke::register(
                        &gateway,
                        &facility,
                        revoke::AdminLogin {
                            hub,
                            ca: &ca_dir.join("ca.pem"),
                            user,
                            password: &password,
                        },
                    ))?)
                }
                _ => None,
            };
            let code = enrol::enrol(&enrol::Enrolment {
                hub_cert: hub_cert.as_deref(),
                ca_dir: &ca_dir,
                passphrase: &passphrase_of(&ca_dir)?,
                facility: &facility,
                gateway: &gateway,
                hub_addr,
                hub_name: &hub_name,
                lan_name: &lan_name,
                days,
                out: &out,
                time_zone: time_zone.as_deref(),
            })?;
            println!("bundle for {gateway} at {facility}: {}", out.display());
            println!("one-time code (give it to facility IT apart from the bundle): {code}");
            let ca_pem = std::fs::read_to_string(ca_dir.join("ca.pem"))?;
            println!(
                "national CA fingerprint (SHA-256), to read to facility IT for `pathway install --ca-fingerprint`: {}",
                pathway_shared::identity::fingerprint(&ca_pem, "CA certificate")?
            );
            match registered {
                Some(said) => println!("{said}"),
                None => println!(
                    "next: register {gateway} at the hub (dashboard: \"Register a gateway\", or enrol with --hub-admin HOST:PORT --user NAME) so the fleet lists it before it first connects"
                ),
            }
        }
        Command::Install {
            bundle,
            code,
            root,
            lan_listen,
            status_listen,
            ca_fingerprint,
            store_key,
        } => {
            let installed = enrol::install(&enrol::Install {
                bundle: &bundle,
                code: &code,
                root: &root,
                lan_listen,
                status_listen,
                ca_fingerprint: ca_fingerprint.as_deref(),
                store_key,
            })?;
            let (config, fingerprint) = (installed.config, installed.fingerprint);
            match &installed.key_sealed {
                Some(cred) => println!(
                    "the store's key is sealed with systemd-creds in {} (never on disk in the clear); keep a copy for the backups: `systemd-creds decrypt --name=store.key {} -`",
                    cred.display(),
                    cred.display()
                ),
                None => println!(
                    "the store's key will be a file beside the configuration, made on the first start (--store-key sealed keeps it sealed with systemd-creds): keep a copy apart from the backups"
                ),
            }
            match ca_fingerprint {
                Some(_) => {
                    println!("the bundle's national CA matches the fingerprint you were given")
                }
                None => println!(
                    "national CA fingerprint (SHA-256): {fingerprint}\n  compare it with what the national admin reads to you; if it differs, remove this install and ask for a new bundle (next time give it as --ca-fingerprint)"
                ),
            }
            let start = if root == std::path::Path::new("/") {
                "`systemctl start pathway-gateway`".to_owned()
            } else {
                format!(
                    "`pathway-gateway --config {}` (under --root the unit is written, not enabled)",
                    config.display()
                )
            };
            println!(
                "installed: {}; start it with {start}, then check it with `pathway doctor --config {}`",
                config.display(),
                config.display()
            );
        }
        Command::Doctor {
            config,
            hub,
            min_free_mb,
            hub_timeout,
        } => {
            let config = config.unwrap_or_else(|| default_config(hub));
            let lines = if hub {
                runtime()?.block_on(doctor::hub_doctor(&config, min_free_mb))
            } else {
                runtime()?.block_on(doctor::doctor(&doctor::Options {
                    config,
                    min_free_mb,
                    hub_timeout: std::time::Duration::from_secs(hub_timeout),
                }))
            };
            for l in &lines {
                println!("{l}");
            }
            let failed = lines
                .iter()
                .filter(|l| l.verdict == doctor::Verdict::Fail)
                .count();
            if failed > 0 {
                anyhow::bail!("{failed} check(s) failed; the advice is on each FAIL line above");
            }
        }
        Command::Import {
            what,
            file,
            config,
            by,
            update,
        } => import::run(&config, what, &file, &by, update)?,
        Command::Revoke {
            gateway,
            reason,
            hub,
            ca,
            user,
        } => {
            let password = revoke::admin_password(&user)?;
            let said = runtime()?.block_on(revoke::run(revoke::Revoke {
                gateway: &gateway,
                reason: &reason,
                login: revoke::AdminLogin {
                    hub: &hub,
                    ca: &ca,
                    user: &user,
                    password: &password,
                },
            }))?;
            println!("{said}");
        }
        Command::Courier(CourierCommand::Export {
            config,
            out,
            carried_by,
        }) => println!(
            "{}",
            runtime()?.block_on(courier::export(&config, &out, &carried_by))?
        ),
        Command::Courier(CourierCommand::Import {
            file,
            receipt,
            hub,
            ca,
            user,
        }) => {
            let password = revoke::admin_password(&user)?;
            let login = revoke::AdminLogin {
                hub: &hub,
                ca: &ca,
                user: &user,
                password: &password,
            };
            println!(
                "{}",
                runtime()?.block_on(courier::import(&file, &login, &receipt))?
            );
        }
        Command::Courier(CourierCommand::Receipt { file, config }) => {
            println!("{}", runtime()?.block_on(courier::receipt(&config, &file))?)
        }
        Command::Backup { config, out } => {
            println!("{}", runtime()?.block_on(backup::backup(&config, &out))?);
        }
        Command::Restore {
            config,
            from,
            replace,
            trust_unauthenticated,
        } => println!(
            "{}",
            backup::restore(&config, &from, replace, trust_unauthenticated)?
        ),
        Command::Rebuild { config } => println!("{}", backup::rebuild(&config)?),
        Command::InstallCert { file, config } => {
            println!(
                "{}",
                runtime()?.block_on(certificate::install(&config, &file))?
            );
        }
        Command::Status { config, hub } => {
            let config = config.unwrap_or_else(|| default_config(hub));
            print!("{}", runtime()?.block_on(doctor::status(&config, hub))?);
        }
        Command::Demo {
            profile,
            cases,
            marks,
            duration,
            dir,
        } => {
            runtime()?.block_on(demo::run(demo::DemoArgs {
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
