//! `pathway-gateway`: the appliance daemon at a prison.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pathway_gateway::{Gateway, GatewayConfig};
use pathway_shared::status;

/// Threads touching large documents fragment glibc's per-thread arenas: under 100 staff
/// clients the gateway held ~700 MB with glibc's allocator, ~340 MB with mimalloc v3 and
/// ~240 MB with mimalloc v2 (16 store threads). `.cargo/config.toml` builds mimalloc to commit
/// arena memory as it is used (`MI_DEFAULT_ARENA_EAGER_COMMIT=0`): ~130 MB instead of ~155 MB
/// under lanbench.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "Pathway's appliance daemon: keeps a facility's data on its LAN and syncs it with the hub"
)]
struct Args {
    /// The configuration file (TOML); see pathway-gateway.example.toml.
    #[arg(long, default_value = "/etc/pathway/gateway.toml")]
    config: PathBuf,
}

fn main() -> std::process::ExitCode {
    match serve() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One paragraph, the cause last: what systemd's journal and a terminal show.
            eprintln!("pathway-gateway: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve() -> anyhow::Result<()> {
    // Store work runs on blocking threads. It is CPU work on a 2-core box, and each thread
    // keeps its own allocator heap, so a pool the size of the box serves as many requests/s
    // as a large one in less memory (lanbench, 100 clients: 16 threads ~390 MB, 4 ~180 MB,
    // 2 ~145 MB, all within 5% of each other in requests/s); the rest queue.
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    pathway_shared::telemetry::init("pathway-gateway");
    let cfg = GatewayConfig::load(&args.config).context("the gateway cannot start")?;
    let gw =
        Gateway::start(&cfg).with_context(|| format!("gateway {} cannot start", cfg.gateway_id))?;
    tracing::info!(gateway = %cfg.gateway_id, facility = %cfg.facility, hub = %cfg.hub.addr, "gateway running");
    let stop = tokio_util::sync::CancellationToken::new();
    if let Some(addr) = cfg.status_listen {
        let (addr, _) = status::serve(addr, gw.operator_routes(), stop.clone())
            .await
            .with_context(|| format!("serving the sync status on {addr}"))?;
        tracing::info!(%addr, "sync status at http://{addr}/status.txt");
    }
    pathway_shared::systemd::ready();
    pathway_shared::signal::stop_requested().await;
    pathway_shared::systemd::notify("STOPPING=1");
    stop.cancel();
    gw.shutdown().await;
    tracing::info!("gateway stopped");
    Ok(())
}
