//! `pathway-hub`: the national server every gateway syncs with.

use std::path::PathBuf;

use anyhow::Context;
use clap::Parser;
use pathway_hub::admin::{self, Admin, AdminRole};
use pathway_hub::config::HubFileConfig;
use pathway_hub::{Hub, HubConfig};
use pathway_shared::clock::Clock;
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
    #[arg(long, default_value = "/etc/pathway/hub.toml", global = true)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Makes an administrator account (the first one, or any later) and prints its password.
    /// Run it while the hub is stopped: the store admits one process at a time.
    AddAdmin {
        /// The log-in name: 2 to 64 lowercase letters, digits, `.`, `-` or `_` (as in `pathway revoke --user`).
        #[arg(long)]
        username: String,
        /// The name the dashboard shows.
        #[arg(long, default_value = "")]
        name: String,
        /// national-admin, sync-operator or auditor.
        #[arg(long, default_value = "national-admin")]
        role: String,
        /// Read the password from this file instead of making one.
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
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
    if let Some(Command::AddAdmin {
        username,
        name,
        role,
        password_file,
    }) = args.command
    {
        return add_admin(&file, &username, &name, &role, password_file);
    }
    // Every file is read and checked before the store is opened (and its folder made).
    let creds = read_credentials(&file).context("the hub cannot start")?;
    let name = pathway_shared::identity::hub_name(&creds.cert_pem)?;
    let cfg = HubConfig {
        listen: file.listen,
        ca_pem: HubFileConfig::read(&file.tls.ca)?,
        creds,
        revoked: file.revoked.clone(),
        max_gateways: file.max_gateways,
    };
    let admin_tls = match &file.admin {
        Some(_) => Some(admin::RustlsConfig::from_config(std::sync::Arc::new(
            pathway_shared::identity::lan_server_tls(&cfg.creds)
                .context("the hub cannot start: its certificate cannot serve HTTPS")?,
        ))),
        None => None,
    };
    let store = open_store(&file).context("the hub cannot start")?;
    let keys = admin::HubKeys {
        ca_pem: cfg.ca_pem.clone(),
        creds: cfg.creds.clone(),
    };
    let hub = Hub::bind(cfg, store.clone()).context("starting the hub's QUIC endpoint")?;
    tracing::info!(listen = %hub.local_addr()?, "hub running");
    let indicators = hub
        .count_indicators()
        .context("the hub cannot read its indicators' counters")?;
    let stop = tokio_util::sync::CancellationToken::new();
    if let Some(addr) = file.status_listen {
        let routes =
            status::router(hub.status_source()).merge(status::backup_router(hub.store().clone()));
        let (addr, _) = status::serve(addr, routes, stop.clone())
            .await
            .with_context(|| format!("serving the sync status on {addr}"))?;
        tracing::info!(%addr, "sync status at http://{addr}/status.txt");
    }
    if let (Some(a), Some(tls)) = (&file.admin, admin_tls.clone()) {
        let admin = Admin::new(
            store,
            (hub.status_source(), hub.live_sessions()),
            Clock::system(),
        )
        .with_keys(keys)
        .with_indicators(indicators.clone());
        let (addr, _) = admin::serve_https(a.listen, tls, admin::router(admin), stop.clone())
            .with_context(|| format!("serving the administration on {}", a.listen))?;
        tracing::info!(%addr, "administration at https://{addr}/");
    }
    pathway_shared::systemd::ready();
    // SIGHUP (`systemctl reload pathway-hub`): the certificate files are read again, so a
    // renewed certificate is presented from the next connection without a session cut.
    let stopping = pathway_shared::signal::stop_requested();
    tokio::pin!(stopping);
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let reload = async {
            match hangup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = &mut stopping => break,
            Some(()) = reload => match reload_certificate(&file, &name, &hub, admin_tls.as_ref()) {
                Ok(until) => tracing::info!(valid_until = %until, "SIGHUP: hub certificate read again"),
                Err(e) => tracing::warn!(reason = %format!("{e:#}"), "SIGHUP: the certificate in use is kept"),
            },
        }
    }
    pathway_shared::systemd::notify("STOPPING=1");
    stop.cancel();
    hub.shutdown().await;
    tracing::info!("hub stopped");
    Ok(())
}

/// The hub's certificate and key, read from the files the configuration names and checked to
/// be a pair.
fn read_credentials(file: &HubFileConfig) -> anyhow::Result<Credentials> {
    let creds = Credentials {
        cert_pem: HubFileConfig::read(&file.tls.cert)?,
        key_pem: HubFileConfig::read(&file.tls.key)?,
    };
    pathway_shared::identity::check_pair(&creds, "hub certificate").with_context(|| {
        format!(
            "{} and {} are not a pair; install both from the same issue",
            file.tls.key.display(),
            file.tls.cert.display()
        )
    })?;
    Ok(creds)
}

/// Reads the certificate files again and presents them from the next connection, over QUIC
/// and on the administration; the name gateways dial must not change. Returns the date the
/// certificate is valid until.
fn reload_certificate(
    file: &HubFileConfig,
    name: &str,
    hub: &Hub,
    admin_tls: Option<&admin::RustlsConfig>,
) -> anyhow::Result<String> {
    let creds = read_credentials(file)?;
    let now = pathway_shared::identity::hub_name(&creds.cert_pem)?;
    anyhow::ensure!(
        now == name,
        "{} is for {now}, but gateways dial {name}",
        file.tls.cert.display()
    );
    let https = pathway_shared::identity::lan_server_tls(&creds)?;
    hub.replace_certificate(&creds)?;
    if let Some(tls) = admin_tls {
        tls.reload_from_config(std::sync::Arc::new(https));
    }
    Ok(pathway_shared::model::date_of_ms(
        pathway_shared::identity::expires_at(&creds.cert_pem, "hub certificate")?,
    ))
}

fn open_store(file: &HubFileConfig) -> Result<Store, pathway_shared::store::StoreError> {
    Store::open(
        &file.data_dir,
        StoreOptions {
            cache_docs: 4096,
            sled_cache_bytes: 256 << 20,
            key_file: Some(file.key_file().to_path_buf()),
            ..StoreOptions::default()
        },
    )
}

fn add_admin(
    file: &HubFileConfig,
    username: &str,
    name: &str,
    role: &str,
    password_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    let role = AdminRole::parse(role).with_context(|| {
        format!("`{role}` is not a role: use national-admin, sync-operator or auditor")
    })?;
    let (password, made) = match password_file {
        Some(p) => (
            std::fs::read_to_string(&p)
                .with_context(|| format!("cannot read the password from {}", p.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
            false,
        ),
        None => (pathway_shared::crypt::random_token()[..20].to_owned(), true),
    };
    let store = open_store(file)
        .context("cannot add an administrator (stop the hub first if it is running)")?;
    let name = if name.trim().is_empty() {
        username
    } else {
        name
    };
    admin::add_admin(&store, username, name, role, &password)
        .context("cannot add the administrator")?;
    println!("administrator {username} ({}) added", role.code());
    if made {
        println!("password: {password}");
        println!("give it to {name} in person; it is not shown again");
    }
    Ok(())
}
