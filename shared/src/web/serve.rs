//! Serving a front end over HTTPS with the same defences at the gateway and the hub:
//! connections capped per address and in all ([`conns`](super::conns)), and deadlines on the
//! TLS handshake, on each request's headers and on its body ([`BodyDeadline`]), so slow
//! clients cannot hold descriptors or memory.

use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use axum_server::tls_rustls::RustlsConfig;
use http_body::{Frame, SizeHint};
use tokio_util::sync::CancellationToken;

use super::conns::{self, Capped};

/// Longest a request body may go without a byte arriving.
pub const BODY_IDLE: Duration = Duration::from_secs(10);
/// After this long, a body must have come at [`BODY_MIN_RATE`] on average.
pub const BODY_GRACE: Duration = Duration::from_secs(20);
/// Bytes per second a body must average after [`BODY_GRACE`]; a LAN or a 64 kbit/s link does.
pub const BODY_MIN_RATE: u64 = 1_024;

/// Serves `app` over HTTPS on `addr` with `tls` (which a renewed certificate reloads) until
/// `cancel` fires, with every defence of this module; handlers see the client's address
/// (`ConnectInfo<SocketAddr>`). Returns the bound address.
pub fn serve_https(
    addr: SocketAddr,
    tls: RustlsConfig,
    app: Router,
    cancel: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = std::net::TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let handle = axum_server::Handle::new();
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
        .handshake_timeout(conns::HANDSHAKE_TIMEOUT)
        .acceptor(Capped::new());
    let mut server = axum_server::from_tcp(listener)?
        .acceptor(acceptor)
        .first_request_timeout(conns::HEADER_TIMEOUT)
        .handle(handle.clone());
    server
        .http_builder()
        .http1()
        .header_read_timeout(conns::HEADER_TIMEOUT);
    let app = app.layer(axum::middleware::from_fn(body_deadline));
    let task = tokio::spawn(async move {
        tokio::spawn(async move {
            cancel.cancelled().await;
            handle.graceful_shutdown(Some(Duration::from_secs(5)));
        });
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        if let Err(e) = server.serve(app).await {
            tracing::warn!(error = %e, "HTTPS service stopped");
        }
    });
    Ok((local, task))
}

/// Puts [`BodyDeadline`] on every request's body.
pub async fn body_deadline(req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let body = Body::new(BodyDeadline::new(body));
    next.run(Request::from_parts(parts, body)).await
}

/// A request body that fails (and so ends the request) when no byte comes for [`BODY_IDLE`],
/// or when, past [`BODY_GRACE`], it has come slower than [`BODY_MIN_RATE`] on average.
pub struct BodyDeadline {
    inner: Body,
    started: tokio::time::Instant,
    idle: Pin<Box<tokio::time::Sleep>>,
    received: u64,
}

impl BodyDeadline {
    pub fn new(inner: Body) -> BodyDeadline {
        BodyDeadline {
            inner,
            started: tokio::time::Instant::now(),
            idle: Box::pin(tokio::time::sleep(BODY_IDLE)),
            received: 0,
        }
    }
}

/// Why a body was cut off.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request body stalled: nothing for {0:?}")]
    Stalled(Duration),
    #[error("the request body came too slowly: {0} bytes in {1:?}")]
    TooSlow(u64, Duration),
    #[error(transparent)]
    Inner(#[from] axum::Error),
}

impl http_body::Body for BodyDeadline {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let n = frame.data_ref().map_or(0, |d| d.len() as u64);
                self.received += n;
                let elapsed = self.started.elapsed();
                if elapsed > BODY_GRACE
                    && self.received < BODY_MIN_RATE.saturating_mul(elapsed.as_secs())
                {
                    return Poll::Ready(Some(Err(BodyError::TooSlow(self.received, elapsed))));
                }
                let next = tokio::time::Instant::now() + BODY_IDLE;
                self.idle.as_mut().reset(next);
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => match self.idle.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::Stalled(BODY_IDLE)))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
