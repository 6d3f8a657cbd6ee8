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

fn main() -> std::process::ExitCode {
    let run = tokio::runtime::Runtime::new().map_err(anyhow::Error::from);
    match run.and_then(|rt| rt.block_on(serve())) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One paragraph, the cause last: what systemd's journal and a terminal show.
            eprintln!("pathway-hub: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<()> {
    let args = Args::parse();
    pathway_shared::telemetry::init("pathway-hub");
    let file = HubFileConfig::load(&args.config).context("the hub cannot start")?;
    // Every file is read and checked before the store is opened (and its folder made).
    let creds = Credentials {
        cert_pem: HubFileConfig::read(&file.tls.cert)?,
        key_pem: HubFileConfig::read(&file.tls.key)?,
    };
    pathway_shared::identity::check_pair(&creds, "hub certificate").with_context(|| {
        format!(
            "the hub cannot start: {} and {} are not a pair; install both from the same issue",
            file.tls.key.display(),
            file.tls.cert.display()
        )
    })?;
    let cfg = HubConfig {
        listen: file.listen,
        ca_pem: HubFileConfig::read(&file.tls.ca)?,
        creds,
        revoked: file.revoked,
        max_gateways: file.max_gateways,
    };
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
    let hub = Hub::bind(cfg, store).context("starting the hub's QUIC endpoint")?;
    tracing::info!(listen = %hub.local_addr()?, "hub running");
    let stop = tokio_util::sync::CancellationToken::new();
    if let Some(addr) = file.status_listen {
        let (addr, _) = status::serve(addr, status::router(hub.status_source()), stop.clone())
            .await
            .with_context(|| format!("serving the sync status on {addr}"))?;
        tracing::info!(%addr, "sync status at http://{addr}/status.txt");
    }
    pathway_shared::systemd::ready();
    pathway_shared::signal::stop_requested().await;
    pathway_shared::systemd::notify("STOPPING=1");
    stop.cancel();
    hub.shutdown().await;
    tracing::info!("hub stopped");
    Ok(())
}
