//! Certificates renewed by hand: the national administrator renews a copy of a certificate
//! file at the CA (`pathway ca renew-cert`: the same name and key), and facility IT hands it
//! back with `pathway install-cert`. It is the way back for a gateway certificate that has
//! expired (the hub no longer lets it in, so no renewal reaches it over the link), and the way
//! to renew the console's. The key the certificate fits says which it is:
//!
//! - the gateway's own is taken as a renewal over the link would be (`renewal::take`): the
//!   running uplink dials again to present it;
//! - the console's must be the national CA's, for the name staff type, valid for longer; the
//!   running LAN service serves it from the next handshake.
//!
//! The running daemon takes it on its status port (`POST /certificate`); with the daemon
//! stopped, `pathway install-cert` takes it here directly.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum_server::tls_rustls::RustlsConfig;
use pathway_shared::identity::{
    Credentials, check_pair, expires_at, hub_name, issued_by, lan_server_tls,
};
use pathway_shared::model::date_of_ms;

use crate::lock;
use crate::renewal::{self, Renewal};

/// The console's certificate, and the running LAN service's TLS if there is one.
pub struct Console {
    pub cert_path: PathBuf,
    key_pem: String,
    /// The certificate in use.
    current: Mutex<String>,
    /// Reloaded when a renewal is installed; `None` with the daemon stopped.
    tls: Option<RustlsConfig>,
}

impl Console {
    pub fn new(cert_path: PathBuf, creds: &Credentials, tls: Option<RustlsConfig>) -> Console {
        Console {
            cert_path,
            key_pem: creds.key_pem.clone(),
            current: Mutex::new(creds.cert_pem.clone()),
            tls,
        }
    }
}

/// What a certificate renewed by hand is checked against and installed into.
pub struct ByHand {
    pub own: Renewal,
    pub console: Option<Console>,
    /// Whether this is the running daemon (the words say what happens next).
    pub running: bool,
}

fn fits(pem: &str, key_pem: &str) -> bool {
    check_pair(
        &Credentials {
            cert_pem: pem.to_owned(),
            key_pem: key_pem.to_owned(),
        },
        "certificate",
    )
    .is_ok()
}

impl ByHand {
    /// Installs `pem` if it is a renewal of this gateway's certificate or its console's, and
    /// says what was done; refuses, with why, one that is neither.
    pub fn take(&self, pem: &str) -> Result<String, String> {
        pathway_shared::identity::first_cert(pem, "the file")
            .map_err(|e| format!("it is not a certificate: {e}"))?;
        if fits(pem, &self.own.creds.current().key_pem) {
            return Ok(match renewal::take(&self.own, pem, "pathway install-cert")? {
                Some(until) if self.running => format!(
                    "installed: this gateway's certificate is valid until {until}, and the gateway dials the hub again to present it"
                ),
                Some(until) => format!(
                    "installed in {}: this gateway's certificate is valid until {until} (the old one kept as .previous); start the gateway (systemctl start pathway-gateway) to present it",
                    self.own.cert_path.display()
                ),
                None => "nothing installed: the gateway already uses this certificate, or one valid for as long".to_owned(),
            });
        }
        match &self.console {
            Some(c) if fits(pem, &c.key_pem) => self.take_console(c, pem),
            _ => Err(
                "this is not a certificate for this gateway's key nor its console's: it was renewed for another box, or from another certificate".to_owned(),
            ),
        }
    }

    fn take_console(&self, c: &Console, pem: &str) -> Result<String, String> {
        issued_by(&self.own.ca_pem, pem)
            .map_err(|e| format!("the console's certificate is not valid: {e}"))?;
        let mut current = lock(&c.current);
        let name = |p: &str| hub_name(p).map_err(|e| e.to_string());
        let (new, old) = (name(pem)?, name(&current)?);
        if new != old {
            return Err(format!(
                "the certificate is for {new}, but the console is reached as {old}"
            ));
        }
        let until = |p: &str| expires_at(p, "certificate").unwrap_or(0);
        if until(pem) <= until(&current) {
            return Ok(
                "nothing installed: the console's certificate is already valid for as long"
                    .to_owned(),
            );
        }
        let tls = lan_server_tls(&Credentials {
            cert_pem: pem.to_owned(),
            key_pem: c.key_pem.clone(),
        })
        .map_err(|e| e.to_string())?;
        renewal::install(&c.cert_path, pem)
            .map_err(|e| format!("cannot write {}: {e}", c.cert_path.display()))?;
        *current = pem.to_owned();
        let date = date_of_ms(until(pem));
        tracing::info!(path = %c.cert_path.display(), valid_until = %date, "console certificate installed");
        Ok(match &c.tls {
            Some(running) => {
                running.reload_from_config(Arc::new(tls));
                format!(
                    "installed: the console's certificate is valid until {date}, and served from now on"
                )
            }
            None => format!(
                "installed in {}: the console's certificate is valid until {date} (the old one kept as .previous), served from the gateway's next start",
                c.cert_path.display()
            ),
        })
    }
}

/// `POST /certificate` on the status port: a certificate renewed by hand (PEM). Refused to a
/// page of another site.
pub fn router(by_hand: Arc<ByHand>) -> axum::Router {
    use axum::http::{HeaderMap, StatusCode};
    axum::Router::new().route(
        "/certificate",
        axum::routing::post(move |headers: HeaderMap, body: String| async move {
            if !pathway_shared::web::same_site(&headers) {
                return (
                    StatusCode::FORBIDDEN,
                    "refused: a page of another site cannot install a certificate\n".to_owned(),
                );
            }
            let by_hand = by_hand.clone();
            match tokio::task::spawn_blocking(move || by_hand.take(&body)).await {
                Ok(Ok(words)) => (StatusCode::OK, format!("{words}\n")),
                Ok(Err(why)) => (StatusCode::UNPROCESSABLE_ENTITY, format!("{why}\n")),
                Err(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the certificate was not installed; see the gateway's log\n".to_owned(),
                ),
            }
        }),
    )
}
