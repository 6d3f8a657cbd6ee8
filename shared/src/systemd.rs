//! The systemd service protocol, for the daemons: readiness once they serve, and a keep-alive
//! for the watchdog (`WatchdogSec=` in the unit), so that a daemon that hangs is restarted.
//! Outside systemd (`NOTIFY_SOCKET` unset) every call does nothing.

use std::time::Duration;

/// Sends `state` (`READY=1`, `WATCHDOG=1`, `STOPPING=1`) to systemd, if it is listening.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = std::os::unix::net::UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let sent = match bytes.strip_prefix(b"@") {
        // An abstract socket: a leading NUL instead of '@'.
        Some(name) => {
            use std::os::linux::net::SocketAddrExt;
            std::os::unix::net::SocketAddr::from_abstract_name(name)
                .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
        }
        None => sock.send_to(state.as_bytes(), &path),
    };
    if let Err(e) = sent {
        tracing::debug!(error = %e, "systemd notification not sent");
    }
}

/// How often to send the watchdog keep-alive: half the unit's `WatchdogSec=`, or `None`
/// if the watchdog is off (or meant for another process).
pub fn watchdog_every() -> Option<Duration> {
    if let Some(pid) = std::env::var("WATCHDOG_PID").ok()
        && pid.trim() != std::process::id().to_string()
    {
        return None;
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Tells systemd the daemon is ready, then keeps the watchdog fed from the async runtime
/// (so a runtime that stops turning stops feeding it) until the process ends.
pub fn ready() {
    notify("READY=1");
    if let Some(every) = watchdog_every() {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                notify("WATCHDOG=1");
            }
        });
    }
}
