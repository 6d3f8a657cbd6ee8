//! QUIC transport: endpoints with mutual TLS, and the one driver that runs a sync [`Session`]
//! over a connection. This is the only async and network code around the sync engine; the
//! gateway's uplink and the hub's per-gateway task both call [`drive`].
//!
//! Each priority class travels on its own unidirectional stream in each direction, with QUIC
//! stream priorities (urgent highest). A frame on a stream is a 4-byte big-endian length, then
//! the frame (tokio-util's `LengthDelimitedCodec`). quinn has no rate cap, so the driver paces
//! its own writes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::identity::{self, Credentials, IdentityError};
use crate::model::Class;
use crate::policy::LinkPolicy;
use crate::status::{LinkStats, Observed};
use crate::sync::{Session, Stats, SyncConfig, SyncError};
use crate::wire::MAX_FRAME;

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error(transparent)]
    Identity(#[from] IdentityError),
    #[error("QUIC endpoint: {0}")]
    Endpoint(#[from] std::io::Error),
    #[error("connecting: {0}")]
    Connect(#[from] quinn::ConnectError),
    #[error("connection: {0}")]
    Connection(#[from] quinn::ConnectionError),
    #[error("stream write: {0}")]
    Write(std::io::Error),
    #[error("TLS setup: {0}")]
    Crypto(String),
    #[error(transparent)]
    Sync(#[from] SyncError),
}

impl TransportError {
    /// Whether the session ended because one side stopped on purpose (a clean close, code 0,
    /// or this side's own close): nothing to warn about.
    pub fn is_clean_close(&self) -> bool {
        matches!(
            self,
            TransportError::Connection(
                quinn::ConnectionError::ApplicationClosed(quinn::ApplicationClose { error_code, .. })
            ) if u64::from(*error_code) == 0
        ) || matches!(
            self,
            TransportError::Connection(quinn::ConnectionError::LocallyClosed)
        )
    }
}

/// Transport settings for long, lossy links.
fn transport_config() -> Arc<quinn::TransportConfig> {
    let mut t = quinn::TransportConfig::default();
    t.initial_rtt(Duration::from_millis(600));
    t.keep_alive_interval(Some(Duration::from_secs(5)));
    // Longer than a VSAT link's usual outage, short enough that a dead hub is noticed.
    if let Ok(idle) = quinn::IdleTimeout::try_from(Duration::from_secs(30)) {
        t.max_idle_timeout(Some(idle));
    }
    Arc::new(t)
}

/// The hub's endpoint on `addr`, accepting only clients with certificates from the CA.
/// The hub's QUIC server configuration: its certificate, and every gateway's certificate must
/// chain to the national CA. Replaced on a running endpoint when the certificate is renewed.
pub fn server_config(
    ca_pem: &str,
    hub: &Credentials,
) -> Result<quinn::ServerConfig, TransportError> {
    let tls = identity::server_tls(ca_pem, hub)?;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| TransportError::Crypto(e.to_string()))?;
    let mut cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    cfg.transport_config(transport_config());
    Ok(cfg)
}

pub fn server_endpoint(
    addr: SocketAddr,
    ca_pem: &str,
    hub: &Credentials,
) -> Result<quinn::Endpoint, TransportError> {
    let cfg = server_config(ca_pem, hub)?;
    // A reset key that survives restarts: after a crash the restarted hub can tell gateways at
    // once that their old connections are gone, instead of leaving them to time out.
    let secret = ring::digest::digest(&ring::digest::SHA256, hub.key_pem.as_bytes());
    let reset_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_ref());
    let endpoint_cfg = quinn::EndpointConfig::new(Arc::new(reset_key));
    let socket = std::net::UdpSocket::bind(addr)?;
    Ok(quinn::Endpoint::new(
        endpoint_cfg,
        Some(cfg),
        socket,
        Arc::new(quinn::TokioRuntime),
    )?)
}

/// A gateway's endpoint, presenting its certificate and pinning the CA.
pub fn client_endpoint(
    bind: SocketAddr,
    ca_pem: &str,
    gateway: &Credentials,
) -> Result<quinn::Endpoint, TransportError> {
    endpoint_speaking(bind, identity::client_tls(ca_pem, gateway)?)
}

/// The same endpoint for a check of the hub ([`identity::PROBE_ALPN`]): the hub closes the
/// connection once it has checked the certificate, with [`CLOSE_REVOKED`] for a revoked
/// gateway, and makes no session of it.
pub fn probe_endpoint(
    bind: SocketAddr,
    ca_pem: &str,
    gateway: &Credentials,
) -> Result<quinn::Endpoint, TransportError> {
    let mut tls = identity::client_tls(ca_pem, gateway)?;
    tls.alpn_protocols = vec![identity::PROBE_ALPN.to_vec()];
    endpoint_speaking(bind, tls)
}

/// The code with which the hub closes a connection from a revoked gateway.
pub const CLOSE_REVOKED: u32 = 2;

/// The code with which the hub closes a session replaced by another connection with the same
/// certificate while both boxes are live: one identity on two boxes.
pub const CLOSE_DUPLICATE: u32 = 4;

impl TransportError {
    /// Whether the hub ended the session because another box presents the same certificate.
    pub fn is_duplicate(&self) -> bool {
        matches!(
            self,
            TransportError::Connection(
                quinn::ConnectionError::ApplicationClosed(quinn::ApplicationClose { error_code, .. })
            ) if u64::from(*error_code) == u64::from(CLOSE_DUPLICATE)
        )
    }
}

/// Whether `conn` is a check of the hub rather than a sync connection.
pub fn is_probe(conn: &quinn::Connection) -> bool {
    conn.handshake_data()
        .and_then(|h| h.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|h| h.protocol)
        .is_some_and(|p| p == identity::PROBE_ALPN)
}

/// How the hub answered a check on `conn`: `None` if it let the gateway in (or said nothing
/// within `wait`), or the code and reason with which it refused it.
pub async fn probe_refusal(conn: &quinn::Connection, wait: Duration) -> Option<(u32, String)> {
    match tokio::time::timeout(wait, conn.closed()).await {
        Ok(quinn::ConnectionError::ApplicationClosed(close))
            if u64::from(close.error_code) != 0 =>
        {
            Some((
                u32::try_from(u64::from(close.error_code)).unwrap_or(u32::MAX),
                String::from_utf8_lossy(&close.reason).into_owned(),
            ))
        }
        _ => None,
    }
}

fn endpoint_speaking(
    bind: SocketAddr,
    tls: rustls::ClientConfig,
) -> Result<quinn::Endpoint, TransportError> {
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| TransportError::Crypto(e.to_string()))?;
    let mut cfg = quinn::ClientConfig::new(Arc::new(crypto));
    cfg.transport_config(transport_config());
    let mut ep = quinn::Endpoint::client(bind)?;
    ep.set_default_client_config(cfg);
    Ok(ep)
}

/// The sync engine's settings over QUIC. Streams are reliable within a connection, so a frame
/// that waits for its acknowledgement is queued behind a slow or cut link, not lost: a chain is
/// resent only as a last resort, never as routine traffic on a metered link.
pub fn sync_config(policy: LinkPolicy) -> SyncConfig {
    SyncConfig {
        policy,
        retransmit_after: 10 * 60_000,
        ..SyncConfig::default()
    }
}

/// Paces writes to a rate: a token bucket one frame deep.
struct Pacer {
    rate_bps: u64,
    free_at: tokio::time::Instant,
}

impl Pacer {
    async fn pace(&mut self, bytes: usize) {
        if self.rate_bps == 0 {
            return;
        }
        let now = tokio::time::Instant::now();
        let start = self.free_at.max(now);
        self.free_at = start + Duration::from_micros(bytes as u64 * 8 * 1_000_000 / self.rate_bps);
        tokio::time::sleep_until(start).await;
    }
}

/// The framing of every stream: a 4-byte big-endian length, then the frame.
fn codec() -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(MAX_FRAME)
        .new_codec()
}

/// A frame as read, with when it arrived (ms).
type Arrived = (Vec<u8>, crate::model::Millis);

async fn read_frames(stream: quinn::RecvStream, tx: mpsc::Sender<Arrived>) {
    let mut frames = FramedRead::new(stream, codec());
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(bytes) => {
                if tx.send((bytes.to_vec(), now_ms())).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                if e.kind() == std::io::ErrorKind::InvalidData {
                    // Longer than a frame may be: hand the session bytes it refuses, so it
                    // reports the peer and closes.
                    let _ = tx.send((vec![0; 2], now_ms())).await;
                }
                return;
            }
        }
    }
}

/// Link figures from quinn's connection stats; throughput over the time since `last`.
struct LinkMeter {
    last: (tokio::time::Instant, u64, u64),
    /// Datagrams received so far, and when their count last grew.
    rx: (u64, crate::model::Millis),
}

impl LinkMeter {
    fn read(&mut self, conn: &quinn::Connection) -> LinkStats {
        let s = conn.stats();
        let now = tokio::time::Instant::now();
        let (t0, tx0, rx0) = self.last;
        let secs = now.duration_since(t0).as_secs_f64().max(0.001);
        let per_s = |d: u64| (d as f64 / secs) as u64;
        if s.udp_rx.datagrams > self.rx.0 {
            self.rx = (s.udp_rx.datagrams, now_ms());
        }
        let l = LinkStats {
            rtt_ms: s.path.rtt.as_millis() as u64,
            loss: s.path.lost_packets as f64 / s.path.sent_packets.max(1) as f64,
            up_bps: per_s(s.udp_tx.bytes.saturating_sub(tx0)),
            down_bps: per_s(s.udp_rx.bytes.saturating_sub(rx0)),
            sent_bytes: s.udp_tx.bytes,
            received_bytes: s.udp_rx.bytes,
            congestion_events: s.path.congestion_events,
            heard_at: self.rx.1,
        };
        self.last = (now, s.udp_tx.bytes, s.udp_rx.bytes);
        l
    }
}

/// Runs `session` over `conn` until the connection ends, `cancel` fires, or the session fails.
/// `observe` sees every session event, and the link's figures every second.
pub async fn drive(
    conn: quinn::Connection,
    mut session: Session,
    cancel: CancellationToken,
    mut observe: impl FnMut(Observed<'_>, &Session),
) -> Result<Stats, TransportError> {
    let mut meter = LinkMeter {
        last: (tokio::time::Instant::now(), 0, 0),
        rx: (0, 0),
    };
    let mut last_meter = tokio::time::Instant::now();
    let (tx, mut rx) = mpsc::channel::<Arrived>(64);
    let accept = {
        let conn = conn.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            while let Ok(stream) = conn.accept_uni().await {
                tokio::spawn(read_frames(stream, tx.clone()));
            }
        })
    };
    drop(tx);
    let mut streams: [Option<FramedWrite<quinn::SendStream, LengthDelimitedCodec>>; 3] =
        [None, None, None];
    let mut pacer = Pacer {
        rate_bps: session.rate_bps(),
        free_at: tokio::time::Instant::now(),
    };
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    // Every way out of the loop comes back here, so the accept task is always stopped and a
    // failed session always closes its connection: a peer must never be left talking to a
    // connection nobody reads.
    let result: Result<(), TransportError> = async {
    loop {
        // Send everything the session has, urgent first.
        loop {
            let t = match tokio::task::block_in_place(|| session.poll_transmit(now_ms())) {
                Ok(Some(t)) => t,
                Ok(None) => break,
                Err(e) => return Err(e.into()),
            };
            let i = t.class as usize;
            if streams[i].is_none() {
                let s = conn.open_uni().await?;
                let _ = s.set_priority(match t.class {
                    Class::Urgent => 2,
                    Class::Records => 1,
                    Class::Bulk => 0,
                });
                streams[i] = Some(FramedWrite::new(s, codec()));
            }
            tracing::trace!(peer = %session.peer(), class = ?t.class, bytes = t.bytes.len(), "writing");
            // At the hub the cap arrives with the gateway's hello.
            pacer.rate_bps = session.rate_bps();
            pacer.pace(t.bytes.len() + 4).await;
            if let Some(s) = streams[i].as_mut() {
                s.send(Bytes::from(t.bytes))
                    .await
                    .map_err(TransportError::Write)?;
            }
        }
        while let Some(e) = session.poll_event() {
            observe(Observed::Event(&e), &session);
        }
        if session.is_closed() {
            // Let the error frame reach the peer before the connection goes.
            tokio::time::sleep(Duration::from_millis(200)).await;
            return Ok(());
        }
        let timeout = session
            .poll_timeout()
            .map(|t| Duration::from_millis(t.saturating_sub(now_ms()).max(0) as u64));
        tracing::trace!(peer = %session.peer(), ?timeout, "waiting");
        tokio::select! {
            biased;
            _ = cancel.cancelled() => return Ok(()),
            frame = rx.recv() => match frame {
                Some((bytes, arrived)) => {
                    let handled = tokio::task::block_in_place(|| session.handle_frame(&bytes, now_ms()));
                    session.note_handled(arrived, now_ms());
                    if let Err(e) = handled {
                        tracing::warn!(peer = %session.peer(), error = %e, "sync session failed");
                        while let Some(t) = session.poll_transmit(now_ms()).ok().flatten() {
                            if let Some(s) = streams[Class::Urgent as usize].as_mut() {
                                let _ = s.send(Bytes::from(t.bytes)).await;
                            }
                        }
                        while let Some(e) = session.poll_event() {
                            observe(Observed::Event(&e), &session);
                        }
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        return Err(e.into());
                    }
                }
                None => return Err(conn.closed().await.into()),
            },
            _ = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(3600))), if timeout.is_some() => {
                session.handle_timeout(now_ms());
            }
            // New local changes are picked up on the next walk of the feed.
            _ = tick.tick() => {
                if last_meter.elapsed() >= Duration::from_secs(1) {
                    last_meter = tokio::time::Instant::now();
                    let link = meter.read(&conn);
                    observe(Observed::Link(link), &session);
                }
            }
        }
    }
    }
    .await;
    if result.is_ok() && cancel.is_cancelled() {
        // Stopped on purpose (a shutdown, or the hub cutting a revoked gateway): the streams
        // the peer still holds open would keep the connection alive, so close it.
        conn.close(0u32.into(), b"session ended");
    }
    if let Err(e) = &result {
        if e.is_clean_close() {
            tracing::info!(peer = %session.peer(), "sync connection closed");
        } else {
            tracing::warn!(peer = %session.peer(), error = %e, "sync connection ended");
        }
        conn.close(1u32.into(), b"sync session failed");
    }
    accept.abort();
    let link = meter.read(&conn);
    observe(Observed::Link(link), &session);
    let stats = session.stats().clone();
    for s in streams.iter_mut().flatten() {
        let _ = s.get_mut().finish();
    }
    result.map(|()| stats)
}
