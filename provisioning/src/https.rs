//! A plain HTTPS/1.1 client for the LAN service: one keep-alive connection per client, from a
//! loopback address of its own, trusting only the national CA. Tests and lanbench share it.

use std::sync::Arc;

use anyhow::Context;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// A TLS connector that trusts the CA in `ca_pem` (ring provider).
pub fn connector(ca_pem: &str) -> anyhow::Result<tokio_rustls::TlsConnector> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(c?)?;
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(cfg)))
}

/// Why the TLS handshake with `host:port` failed, with what to do about it.
fn refused(e: std::io::Error, host: &str, port: u16) -> anyhow::Error {
    use rustls::{CertificateError, Error};
    let advice = match e.get_ref().and_then(|e| e.downcast_ref::<Error>()) {
        Some(Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            presented,
            ..
        })) => format!(
            "its certificate is for {}, not {host}: give that name (with :{port}), as DNS or /etc/hosts knows it",
            presented
                .iter()
                .map(|n| n.trim_start_matches("DnsName(\"").trim_end_matches("\")"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer | CertificateError::BadSignature)) => {
            "its certificate is not from this national CA: is the CA file right, and is this the hub?".into()
        }
        _ => "is the CA file right, and is this the hub's administration port?".into(),
    };
    anyhow::Error::new(e).context(format!("no TLS session with {host}:{port}: {advice}"))
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// One keep-alive HTTPS connection.
pub struct Client {
    io: BufReader<Tls>,
    host: String,
}

impl Client {
    /// Connects from the loopback address `from`: each client is a device of its own, as
    /// staff terminals are (the gateway caps connections per address).
    pub async fn connect(
        addr: std::net::SocketAddr,
        from: std::net::IpAddr,
        tls: &tokio_rustls::TlsConnector,
    ) -> anyhow::Result<Client> {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(std::net::SocketAddr::new(from, 0))?;
        let tcp = socket.connect(addr).await?;
        tcp.set_nodelay(true)?;
        let s = tls.connect("localhost".try_into()?, tcp).await?;
        Ok(Client {
            io: BufReader::new(s),
            host: "localhost".into(),
        })
    }

    /// Connects to `host:port` (a name in the server's certificate, or an address).
    pub async fn connect_to(
        host: &str,
        port: u16,
        tls: &tokio_rustls::TlsConnector,
    ) -> anyhow::Result<Client> {
        let tcp = tokio::net::TcpStream::connect((host, port))
            .await
            .with_context(|| format!("cannot reach {host}:{port}"))?;
        tcp.set_nodelay(true)?;
        let name = rustls::pki_types::ServerName::try_from(host.to_owned())?;
        let s = tls
            .connect(name, tcp)
            .await
            .map_err(|e| refused(e, host, port))?;
        Ok(Client {
            io: BufReader::new(s),
            host: format!("{host}:{port}"),
        })
    }

    /// Sends a JSON request; returns the status and the body.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        body: &str,
    ) -> anyhow::Result<(u16, String)> {
        let (s, b) = self
            .send_bytes(method, path, token, ("application/json", body.as_bytes()))
            .await?;
        Ok((s, String::from_utf8_lossy(&b).into_owned()))
    }

    /// Sends a request with a body of `content_type`; returns the status and the body.
    pub async fn send_bytes(
        &mut self,
        method: &str,
        path: &str,
        token: &str,
        (content_type, body): (&str, &[u8]),
    ) -> anyhow::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        // One write: a server that answers before reading the body (a 503) keeps the
        // connection only if the body came with the headers.
        let mut req = head.into_bytes();
        req.extend_from_slice(body);
        self.io.get_mut().write_all(&req).await?;
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .context("status line")?;
        let mut len = 0usize;
        loop {
            line.clear();
            self.io.read_line(&mut line).await?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(v) = l.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse()?;
            }
        }
        let mut buf = vec![0; len];
        self.io.read_exact(&mut buf).await?;
        Ok((status, buf))
    }
}
