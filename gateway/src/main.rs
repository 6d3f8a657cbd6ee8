//! `pathway-gateway`: the appliance daemon at a prison.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pathway_shared::model::Kind;
use pathway_shared::store::{Store, StoreOptions};

#[derive(Parser)]
#[command(
    version,
    about = "Pathway's appliance daemon: keeps a facility's programme and case data on its LAN"
)]
struct Args {
    /// Folder of the gateway's document store.
    #[arg(long, default_value = "/var/lib/pathway-gateway")]
    data_dir: PathBuf,
    /// The facility this gateway serves.
    #[arg(long)]
    facility: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    pathway_shared::telemetry::init("pathway-gateway");
    let store = Store::open(&args.data_dir, StoreOptions::default()).with_context(|| {
        format!(
            "opening the store; check that {} is writable",
            args.data_dir.display()
        )
    })?;
    let partition = format!("facility:{}", args.facility);
    let cases = store.list(&partition, Kind::CaseFile)?.len();
    let registers = store.list(&partition, Kind::AttendanceRegister)?.len();
    tracing::info!(facility = %args.facility, actor = %store.actor(), cases, registers, durable_seq = store.durable_seq(), "gateway store open");
    tokio::signal::ctrl_c().await?;
    store.flush()?;
    tracing::info!("gateway stopped");
    Ok(())
}
