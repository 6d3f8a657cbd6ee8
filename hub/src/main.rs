//! `pathway-hub`: the national server every gateway syncs with.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pathway_hub::config::HubFileConfig;
use pathway_hub::{Hub, HubConfig};
use pathway_shared::identity::Credentials;
use pathway_shared::status;
use pathway_shared::store::{Store, StoreOptions};

#[derive(Parser)]
#[command(
    version,
    about = "Pathway's national hub: brings every facility's data together"
)]
struct Args {
    /// The configuration file (TOML); see pathway-hub.example.toml.
    #[arg(long, default_value = "/etc/pathway/hub.toml")]
    config: PathBuf,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    pathway_shared::telemetry::init("pathway-hub");
    let file = HubFileConfig::load(&args.config)?;
    let store = Store::open(
        &file.data_dir,
        StoreOptions {
            cache_docs: 4096,
            sled_cache_bytes: 256 << 20,
            key_file: Some(file.store_key.clone()),
            ..StoreOptions::default()
        },
    )
    .context("the hub cannot start")?;
    let cfg = HubConfig {
        listen: file.listen,
        ca_pem: HubFileConfig::read(&file.tls.ca)?,
        creds: Credentials {
            cert_pem: HubFileConfig::read(&file.tls.cert)?,
            key_pem: HubFileConfig::read(&file.tls.key)?,
        },
        revoked: file.revoked,
        max_gateways: file.max_gateways,
    };
    let hub = Hub::bind(cfg, store).context("starting the hub's QUIC endpoint")?;
    tracing::info!(listen = %hub.local_addr()?, "hub running");
    let stop = tokio_util::sync::CancellationToken::new();
    if let Some(addr) = file.status_listen {
        let (addr, _) = status::serve(addr, status::router(hub.status_source()), stop.clone())
            .await
            .with_context(|| format!("serving the sync status on {addr}"))?;
        tracing::info!(%addr, "sync status at http://{addr}/status.txt");
    }
    tokio::signal::ctrl_c().await?;
    stop.cancel();
    hub.shutdown().await;
    tracing::info!("hub stopped");
    Ok(())
}
