//! Logging for the daemons and the CLI: to the systemd journal when the process runs under it,
//! to stderr otherwise. Never fails because the journal is missing.
//!
//! Code logs with `tracing`. Under the journal, no tracing subscriber is installed, so tracing's
//! log bridge hands every event to the `log` facade, where `systemd-journal-logger` receives it.

/// Where logs went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSink {
    Journal,
    Stderr,
}

/// Sets up logging for the process `name`. `RUST_LOG` filters (default `info`).
pub fn init(name: &str) -> LogSink {
    let journal = systemd_journal_logger::connected_to_journal()
        .then(systemd_journal_logger::JournalLog::new)
        .and_then(Result::ok)
        .map(|j| j.with_syslog_identifier(name.to_owned()).install());
    if let Some(Ok(())) = journal {
        let level = std::env::var("RUST_LOG")
            .ok()
            .and_then(|l| l.parse().ok())
            .unwrap_or(log::LevelFilter::Info);
        log::set_max_level(level);
        return LogSink::Journal;
    }
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // A second call in one process (tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    LogSink::Stderr
}
