//! `pathway-hub`: the national server every gateway syncs with.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pathway_shared::model::Kind;
use pathway_shared::store::{Store, StoreOptions};

#[derive(Parser)]
#[command(
    version,
    about = "Pathway's national hub: brings every facility's data together"
)]
struct Args {
    /// Folder of the hub's document store.
    #[arg(long, default_value = "/var/lib/pathway-hub")]
    data_dir: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    pathway_shared::telemetry::init("pathway-hub");
    let store = Store::open(
        &args.data_dir,
        StoreOptions {
            cache_docs: 4096,
            sled_cache_bytes: 256 << 20,
            ..StoreOptions::default()
        },
    )
    .with_context(|| {
        format!(
            "opening the store; check that {} is writable",
            args.data_dir.display()
        )
    })?;
    let programmes = store.list("national", Kind::Programme)?.len();
    tracing::info!(actor = %store.actor(), programmes, durable_seq = store.durable_seq(), "hub store open");
    tokio::signal::ctrl_c().await?;
    store.flush()?;
    tracing::info!("hub stopped");
    Ok(())
}
