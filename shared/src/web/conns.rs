//! Connections to an HTTPS front end (the gateway's LAN service, the hub's administration),
//! counted before any TLS work: at most [`PER_CLIENT`] open at once from one address and a total
//! kept below the process's file descriptor limit and [`MAX_TOTAL`], so a few slow or idle
//! clients cannot take every descriptor (or the memory each connection holds) from the staff,
//! the administrators and the sync. A connection past either cap is closed at once.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Most connections open at once from one address. A staff browser opens six.
pub const PER_CLIENT: usize = 64;
/// Descriptors kept back from the front end for the store, the sync and logs.
const RESERVED_FDS: u64 = 256;
/// Most connections open at once in all: each holds its TLS buffers (some 30 KiB), so this
/// bounds what idle or slow clients can make the daemon hold to about 120 MiB.
pub const MAX_TOTAL: usize = 4_096;
/// How long a client may take to finish the TLS handshake, then to send its first request's
/// headers, and any later request's headers.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Counts {
    by_client: HashMap<IpAddr, usize>,
    total: usize,
}

/// The acceptor that counts; see the module's notes.
#[derive(Clone)]
pub struct Capped {
    counts: Arc<Mutex<Counts>>,
    total: usize,
}

impl Capped {
    /// Caps the total at the file descriptor limit less what the rest of the daemon needs.
    pub fn new() -> Capped {
        let fds = fd_limit().saturating_sub(RESERVED_FDS).max(64) as usize;
        Capped::with_total(fds.min(MAX_TOTAL))
    }

    pub fn with_total(total: usize) -> Capped {
        Capped {
            counts: Arc::default(),
            total,
        }
    }

    fn admit(&self, ip: IpAddr) -> Option<Slot> {
        let mut c = super::lock(&self.counts);
        let mine = c.by_client.get(&ip).copied().unwrap_or(0);
        if mine >= PER_CLIENT || c.total >= self.total {
            return None;
        }
        c.by_client.insert(ip, mine + 1);
        c.total += 1;
        Some(Slot {
            counts: self.counts.clone(),
            ip,
        })
    }
}

impl Default for Capped {
    fn default() -> Capped {
        Capped::new()
    }
}

/// The soft limit on open file descriptors, raised to the hard limit first.
pub fn fd_limit() -> u64 {
    rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1_024)
}

/// A connection's place in the counts, given back when it closes.
struct Slot {
    counts: Arc<Mutex<Counts>>,
    ip: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut c = super::lock(&self.counts);
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.by_client.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                c.by_client.remove(&self.ip);
            }
        }
    }
}

/// A TCP stream holding its [`Slot`].
pub struct Counted {
    tcp: TcpStream,
    _slot: Slot,
}

impl<S: Send + 'static> Accept<TcpStream, S> for Capped {
    type Stream = Counted;
    type Service = S;
    type Future = std::future::Ready<io::Result<(Counted, S)>>;

    fn accept(&self, tcp: TcpStream, service: S) -> Self::Future {
        let admitted = tcp.peer_addr().and_then(|peer| {
            self.admit(peer.ip()).ok_or_else(|| {
                tracing::debug!(client = %peer.ip(), "connection refused: too many open");
                io::Error::other("too many connections")
            })
        });
        std::future::ready(admitted.and_then(|slot| {
            tcp.set_nodelay(true)?;
            Ok((Counted { tcp, _slot: slot }, service))
        }))
    }
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_cannot_take_every_place() {
        let cap = Capped::with_total(100);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.66".parse().unwrap(), "10.0.0.7".parse().unwrap());
        let held: Vec<Slot> = (0..PER_CLIENT).map_while(|_| cap.admit(a)).collect();
        assert_eq!(held.len(), PER_CLIENT);
        assert!(cap.admit(a).is_none(), "past the per-client cap");
        let others: Vec<Slot> = (0..100).map_while(|_| cap.admit(b)).collect();
        assert_eq!(others.len(), 100 - PER_CLIENT, "the total is capped too");
        drop(held);
        assert!(
            cap.admit(a).is_some(),
            "places come back when connections close"
        );
    }
}
