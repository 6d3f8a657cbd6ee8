//! The appliance daemon's library: configuration and the uplink to the hub.

pub mod audit;
pub mod by_hand;
pub mod config;
pub mod courier;
pub mod lan;
pub mod preflight;
pub mod renewal;
pub mod uplink;

use std::sync::Arc;

use pathway_shared::clock::now_ms;
use pathway_shared::status::{self, NodeStatus};
use pathway_shared::store::{Store, StoreOptions};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

pub use config::GatewayConfig;

/// Locks `m`; a panic elsewhere while it was held leaves its value as it was.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// How long a stop waits for the uplink to close its session.
pub const STOP_WITHIN: std::time::Duration = std::time::Duration::from_secs(3);

/// A running gateway: its store and its uplink.
pub struct Gateway {
    pub id: String,
    pub store: Store,
    /// Where the staff service listens on the LAN, if it is on.
    pub lan_addr: Option<std::net::SocketAddr>,
    pub status: watch::Receiver<uplink::UplinkStatus>,
    cancel: CancellationToken,
    uplink: tokio::task::JoinHandle<()>,
    sync_now: Arc<tokio::sync::Notify>,
    /// The LAN service's log-in guard, when it is on: status reports it.
    guard: Option<Arc<lan::login::Guard>>,
    /// What courier files are signed and sealed with.
    courier: Arc<courier::Keys>,
    /// The certificate and key the uplink presents to the hub; renewal replaces the certificate.
    presented: Arc<renewal::Presented>,
    /// What takes a certificate renewed by hand (this gateway's, or its console's).
    by_hand: Arc<by_hand::ByHand>,
    audit: Arc<audit::Audit>,
    /// What a caller of the status port's actions must present (`Authorization: Bearer`).
    operator_token: Arc<String>,
}

/// Lets a status-port action through only with the operator token: any local process may read
/// the status, but a backup, a courier file, a certificate, a store check or a sync is for the
/// daemon's user and root, who can read the token file.
async fn operator_only(
    token: &str,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let given = req
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // Digests compared, so the time taken says nothing of the token.
    let digest = |s: &str| ring::digest::digest(&ring::digest::SHA256, s.as_bytes());
    let ok = given.is_some_and(|g| digest(g).as_ref() == digest(token).as_ref());
    if !ok {
        return (
            axum::http::StatusCode::UNAUTHORIZED,
            "this action needs the operator token: run it through `pathway` as root (it reads operator.token beside the store's key)\n",
        )
            .into_response();
    }
    next.run(req).await
}

/// The facility's time zone: the configuration's, else its entry in the national registry (as
/// synced from the hub), else a fixed offset (`link.utc_offset`).
fn facility_zone(cfg: &GatewayConfig, store: &Store, fixed_minutes: i32) -> jiff::tz::TimeZone {
    let registry = || {
        store
            .get::<pathway_shared::model::Facility>(&pathway_shared::model::facility_id(
                &cfg.facility,
            ))
            .ok()
            .flatten()
            .map(|f| f.time_zone)
            .filter(|tz| !tz.is_empty())
    };
    cfg.time_zone
        .clone()
        .or_else(registry)
        .and_then(|tz| jiff::tz::TimeZone::get(&tz).ok())
        .unwrap_or_else(|| {
            jiff::tz::Offset::from_seconds(fixed_minutes * 60)
                .map_or(jiff::tz::TimeZone::UTC, jiff::tz::TimeZone::fixed)
        })
}

/// Writes a new operator token to `path`, owner-only, replacing any before it.
fn write_operator_token(path: &std::path::Path) -> std::io::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let token = pathway_shared::crypt::random_token();
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(format!("{token}\n").as_bytes())?;
    f.sync_all()?;
    Ok(token)
}

/// A gateway that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Files(#[from] preflight::PreflightError),
    #[error(transparent)]
    Store(#[from] pathway_shared::store::StoreError),
    #[error("LAN certificate: {0}")]
    Tls(#[from] pathway_shared::identity::IdentityError),
    #[error("the LAN service cannot listen: {0}")]
    Listen(#[from] std::io::Error),
    #[error("cannot write the operator token {path}: {source}")]
    Token {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}

/// For a restored or rebuilt store: a flag that stays up until the store has caught up with the
/// hub (a session in which both sides reported nothing waiting), and the watcher that then
/// finds the audit trail's tail again and lowers it. `None` for a store in its normal state.
fn catching_up(
    store: &Store,
    audit: &Arc<audit::Audit>,
    mut status: watch::Receiver<uplink::UplinkStatus>,
) -> Option<Arc<std::sync::atomic::AtomicBool>> {
    if !store.catching_up() {
        return None;
    }
    tracing::warn!(
        "this store was restored or rebuilt: staff are asked to wait until it has caught up with the hub"
    );
    let flag = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (store, audit, up) = (store.clone(), audit.clone(), flag.clone());
    let started = now_ms();
    tokio::spawn(async move {
        loop {
            let level = {
                let st = status.borrow_and_update();
                st.online && st.sync.in_sync_at.is_some_and(|t| t > started)
            };
            if level {
                let done = tokio::task::spawn_blocking(move || {
                    audit.reload()?;
                    store.caught_up()
                })
                .await;
                match done {
                    Ok(Ok(())) => {
                        up.store(false, std::sync::atomic::Ordering::Release);
                        tracing::info!("caught up with the hub: serving staff again");
                    }
                    _ => tracing::error!(
                        "caught up with the hub, but the store could not be marked so; restart the gateway"
                    ),
                }
                return;
            }
            if status.changed().await.is_err() {
                return;
            }
        }
    });
    Some(flag)
}

impl Gateway {
    /// Checks its files (before anything is created), opens the store and starts the uplink.
    pub fn start(cfg: &GatewayConfig) -> Result<Gateway, StartError> {
        let files = preflight::check(cfg)?;
        let token_path = cfg.operator_token_path();
        let operator_token =
            Arc::new(
                write_operator_token(&token_path).map_err(|source| StartError::Token {
                    path: token_path.clone(),
                    source,
                })?,
            );
        let sync_now = Arc::new(tokio::sync::Notify::new());
        let store = Store::open(
            &cfg.data_dir,
            StoreOptions {
                key_file: Some(cfg.key_file().to_path_buf()),
                // Reads are served from the typed-value cache; documents are loaded for writes
                // and for values it lacks. Half the default keeps a facility of 2,000 case files
                // under 150 MB under load at the same requests/s (lanbench: 512 → 155–158 MB,
                // 256 → 148–149 MB, 1,900–2,250 req/s either way).
                cache_docs: 256,
                ..StoreOptions::default()
            },
        )?;
        let audit = Arc::new(audit::Audit::open(store.clone(), &cfg.facility)?);
        let presented = renewal::Presented::new(files.creds.clone());
        let courier = Arc::new(courier::Keys::new(
            cfg,
            files.ca_pem.clone(),
            presented.clone(),
        ));
        let up = uplink::UplinkConfig {
            audit: audit.clone(),
            gateway_id: cfg.gateway_id.clone(),
            hub_addr: cfg.hub.addr,
            hub_name: cfg.hub.name.clone(),
            renewal: Some(renewal::Renewal::new(
                cfg,
                files.ca_pem.clone(),
                presented.clone(),
            )),
            ca_pem: files.ca_pem,
            creds: files.creds,
            backoff_min: cfg.link.backoff_min,
            backoff_max: cfg.link.backoff_max,
            policy: cfg
                .link
                .policy()
                .map_err(|message| config::ConfigError::Invalid {
                    path: cfg.data_dir.clone(),
                    message,
                })?,
            sync_now: sync_now.clone(),
        };
        let cancel = CancellationToken::new();
        let zone = facility_zone(cfg, &store, up.policy.utc_offset_minutes);
        let mut up = up;
        if cfg.link.utc_offset == "+00:00" {
            // Sync windows are in the facility's local time too, unless the link says otherwise.
            up.policy.utc_offset_minutes = lan::offset_minutes(&zone, now_ms());
        }
        let (uplink, status) = uplink::spawn(store.clone(), up, cancel.clone());
        let mut guard: Option<Arc<lan::login::Guard>> = None;
        let mut console = None;
        let lan_addr = match (&cfg.lan, &files.lan) {
            (Some(l), Some(lan_creds)) => {
                let tls = pathway_shared::identity::lan_server_tls(lan_creds)?;
                let indicators = Arc::new(pathway_shared::indicators::tracker::Tracker::open(
                    store.clone(),
                )?);
                // The facility's figures are kept counting, so the manager's page is quick.
                tokio::spawn(pathway_shared::indicators::tracker::keep_counting(
                    indicators.clone(),
                    std::time::Duration::from_secs(30),
                    cancel.clone(),
                ));
                let service = Arc::new(lan::Lan {
                    audit: audit.clone(),
                    store: store.clone(),
                    facility: cfg.facility.clone(),
                    sessions: Arc::default(),
                    guard: guard
                        .insert(Arc::new(lan::login::Guard::new(lan::login::Limits::LAN)))
                        .clone(),
                    uplink: status.clone(),
                    open_sessions: Default::default(),
                    roster: Default::default(),
                    health_programmes: Default::default(),
                    zone,
                    clock: pathway_shared::clock::Clock::system(),
                    certificate: presented.clone(),
                    indicators: indicators.clone(),
                });
                let app = lan::router(service);
                let app = match catching_up(&store, &audit, status.clone()) {
                    Some(flag) => app.layer(axum::middleware::from_fn(move |req, next| {
                        lan::catching_up::refuse_while(flag.clone(), req, next)
                    })),
                    None => app,
                };
                let tls = axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(tls));
                console = Some(by_hand::Console::new(
                    l.cert.clone(),
                    lan_creds,
                    Some(tls.clone()),
                ));
                let (addr, _) =
                    pathway_shared::web::serve_https(l.listen, tls, app, cancel.clone())?;
                Some(addr)
            }
            _ => None,
        };
        Ok(Gateway {
            id: cfg.gateway_id.clone(),
            store,
            lan_addr,
            status,
            cancel,
            uplink,
            sync_now,
            guard,
            by_hand: Arc::new(by_hand::ByHand {
                own: courier.own.clone(),
                console,
                running: true,
            }),
            courier,
            presented,
            audit,
            operator_token,
        })
    }

    /// Where the status server reads from: the uplink's view of the hub.
    pub fn status_source(&self) -> status::Source {
        let (id, rx) = (self.id.clone(), self.status.clone());
        let guard = self.guard.clone();
        let presented = self.presented.clone();
        Arc::new(move || {
            let now = now_ms();
            NodeStatus {
                node: id.clone(),
                now,
                peers: [(uplink::HUB.to_owned(), rx.borrow().clone())].into(),
                logins: guard.as_ref().map(|g| g.status(now)),
                certificate_expires: presented.expires(),
                ..NodeStatus::default()
            }
        })
    }

    /// What facility IT and operators reach on the status port: the status routes,
    /// `POST /backup`, the courier routes, `POST /certificate`, `POST /store-check` and
    /// `POST /sync-now`.
    pub fn operator_routes(&self) -> axum::Router {
        let notify = self.sync_now.clone();
        let audit = self.audit.clone();
        let token = self.operator_token.clone();
        let actions = axum::Router::new()
            .merge(status::backup_router(self.store.clone()))
            .merge(courier::router(self.store.clone(), self.courier.clone()))
            .merge(by_hand::router(self.by_hand.clone()))
            .route(
                "/sync-now",
                axum::routing::post(move |headers: axum::http::HeaderMap| async move {
                    // A form on any web page can post here; only the port's own pages (or a
                    // client that is no browser) may ask for a sync.
                    if !lan::guard::same_site(&headers) {
                        return (
                            axum::http::StatusCode::FORBIDDEN,
                            "refused: a page of another site cannot ask for a sync\n",
                        );
                    }
                    notify.notify_one();
                    (axum::http::StatusCode::OK, "dialling the hub now\n")
                }),
            )
            .route(
                "/store-check",
                axum::routing::post(move |headers: axum::http::HeaderMap| async move {
                    use axum::http::StatusCode;
                    if !lan::guard::same_site(&headers) {
                        return (
                            StatusCode::FORBIDDEN,
                            "refused: a page of another site cannot check the store\n".to_owned(),
                        );
                    }
                    match tokio::task::spawn_blocking(move || audit.integrity()).await {
                        Ok(Ok(words)) => (StatusCode::OK, format!("{words}\n")),
                        Ok(Err(words)) => (StatusCode::CONFLICT, format!("{words}\n")),
                        Err(_) => (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            "the check stopped unexpectedly; see the gateway's log\n".to_owned(),
                        ),
                    }
                }),
            )
            .layer(axum::middleware::from_fn(
                move |req: axum::extract::Request, next: axum::middleware::Next| {
                    let token = token.clone();
                    async move { operator_only(&token, req, next).await }
                },
            ));
        status::router(self.status_source()).merge(actions)
    }

    /// "Sync now": dial the hub at once instead of waiting out a backoff. While a session is
    /// live, changes already go as soon as they are written.
    pub fn sync_now(&self) {
        self.sync_now.notify_one();
    }

    /// Stops the uplink (waiting at most [`STOP_WITHIN`] for its session to close) and
    /// flushes the store. Every acknowledged write is already durable; this only closes the
    /// session cleanly.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if tokio::time::timeout(STOP_WITHIN, &mut self.uplink)
            .await
            .is_err()
        {
            tracing::warn!("the uplink did not stop in time; stopping without it");
            self.uplink.abort();
        }
        let _ = self.store.flush();
    }
}
