//! Logging for the daemons and the CLI: to the systemd journal when the process runs under it,
//! to stderr otherwise. Never fails because the journal is missing.
//!
//! Code logs with `tracing`. Under the journal, [`JournalLayer`] sends each event as one journal
//! entry whose structured fields stay fields: the event's own (`peer`, `class`, `doc`, …) and
//! those of the spans it happened in (a hub's per-gateway span gives `PEER` and `FACILITY`),
//! named as journald requires (`journalctl -u pathway-hub FACILITY=WHK`). Records of crates that
//! log with `log` (rustls) arrive through tracing's log bridge.

use std::fmt::Write as _;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Where logs went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSink {
    Journal,
    Stderr,
}

fn filter() -> tracing_subscriber::EnvFilter {
    tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
}

/// Sets up logging for the process `name`. `RUST_LOG` filters (default `info`).
pub fn init(name: &str) -> LogSink {
    let journal = systemd_journal_logger::connected_to_journal()
        .then(systemd_journal_logger::JournalLog::new)
        .and_then(Result::ok)
        .map(|j| j.with_syslog_identifier(name.to_owned()));
    if let Some(j) = journal {
        let installed = tracing_subscriber::registry()
            .with(filter())
            .with(JournalLayer::new(j))
            .try_init();
        if installed.is_ok() {
            return LogSink::Journal;
        }
    }
    // A second call in one process (tests) keeps the first subscriber.
    // Colours only on a terminal: a log file or a pipe gets plain text.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    LogSink::Stderr
}

/// The fields of a span or an event, as text, in the order they were given.
#[derive(Default, Clone)]
struct Fields(Vec<(&'static str, String)>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.push((field.name(), value.to_owned()));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let mut s = String::new();
        let _ = write!(s, "{value:?}");
        self.0.push((field.name(), s));
    }
}

/// The journal name of a field: ASCII upper case, digits and `_`, not starting with `_`.
fn journal_key(name: &str) -> String {
    let mut k: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    while k.starts_with('_') || k.starts_with(|c: char| c.is_ascii_digit()) {
        k.remove(0);
    }
    k.truncate(64);
    k
}

/// Sends every event to a `log::Log` (the journal) as one record: its message, and as
/// structured key-values its fields and its spans' fields (the innermost span's value wins).
pub struct JournalLayer {
    sink: Box<dyn log::Log>,
}

impl JournalLayer {
    pub fn new(sink: impl log::Log + 'static) -> JournalLayer {
        JournalLayer {
            sink: Box::new(sink),
        }
    }
}

fn level(l: &tracing::Level) -> log::Level {
    match *l {
        tracing::Level::ERROR => log::Level::Error,
        tracing::Level::WARN => log::Level::Warn,
        tracing::Level::INFO => log::Level::Info,
        tracing::Level::DEBUG => log::Level::Debug,
        tracing::Level::TRACE => log::Level::Trace,
    }
}

impl<S> Layer<S> for JournalLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut f = Fields::default();
        attrs.record(&mut f);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(f);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(f) = span.extensions_mut().get_mut::<Fields>()
        {
            values.record(f);
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut own = Fields::default();
        event.record(&mut own);
        let mut message = String::new();
        let mut kv: Vec<(String, String)> = Vec::new();
        let put = |name: &str, value: String, kv: &mut Vec<(String, String)>| {
            let key = journal_key(name);
            if key.is_empty() || kv.iter().any(|(k, _)| *k == key) {
                return;
            }
            kv.push((key, value));
        };
        for (name, value) in own.0 {
            match name {
                "message" => message = value,
                // What tracing's log bridge adds for records that came from `log`.
                n if n.starts_with("log.") => {}
                n => put(n, value, &mut kv),
            }
        }
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope {
                if let Some(f) = span.extensions().get::<Fields>() {
                    for (name, value) in &f.0 {
                        put(name, value.clone(), &mut kv);
                    }
                }
            }
        }
        let meta = event.metadata();
        // A message with no text says its fields, as stderr does.
        if message.is_empty() {
            message = kv
                .iter()
                .map(|(k, v)| format!("{}={v}", k.to_ascii_lowercase()))
                .collect::<Vec<_>>()
                .join(" ");
        }
        let pairs: Vec<(&str, &str)> = kv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.sink.log(
            &log::Record::builder()
                .level(level(meta.level()))
                .target(meta.target())
                .module_path(meta.module_path())
                .file(meta.file())
                .line(meta.line())
                .args(format_args!("{message}"))
                .key_values(&pairs)
                .build(),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// One journal entry: its message and fields.
    type Entry = (String, Vec<(String, String)>);

    /// What a journal would receive.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<Entry>>>);

    impl log::Log for Captured {
        fn enabled(&self, _: &log::Metadata<'_>) -> bool {
            true
        }
        fn log(&self, record: &log::Record<'_>) {
            struct Collect(Vec<(String, String)>);
            impl<'k> log::kv::VisitSource<'k> for Collect {
                fn visit_pair(
                    &mut self,
                    key: log::kv::Key<'k>,
                    value: log::kv::Value<'k>,
                ) -> Result<(), log::kv::Error> {
                    self.0.push((key.to_string(), value.to_string()));
                    Ok(())
                }
            }
            let mut c = Collect(Vec::new());
            let _ = record.key_values().visit(&mut c);
            self.0
                .lock()
                .unwrap()
                .push((record.args().to_string(), c.0));
        }
        fn flush(&self) {}
    }

    #[test]
    fn span_and_event_fields_become_journal_fields() {
        let captured = Captured::default();
        let subscriber = tracing_subscriber::registry().with(JournalLayer::new(captured.clone()));
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("gateway", peer = "gw-whk01-a", facility = "WHK");
            let _in = span.enter();
            tracing::warn!(class = ?crate::model::Class::Records, doc = "case/WHK-000001", "refused changes");
            tracing::info!(changes = 3);
        });
        let got = captured.0.lock().unwrap().clone();
        assert_eq!(got.len(), 2);
        let (message, fields) = &got[0];
        assert_eq!(message, "refused changes");
        let field = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(field("PEER"), Some("gw-whk01-a"));
        assert_eq!(field("FACILITY"), Some("WHK"));
        assert_eq!(field("CLASS"), Some("Records"));
        assert_eq!(field("DOC"), Some("case/WHK-000001"));
        assert!(got[1].0.contains("changes=3"), "{:?}", got[1]);
    }

    #[test]
    fn field_names_are_made_valid_for_the_journal() {
        assert_eq!(journal_key("peer"), "PEER");
        assert_eq!(journal_key("log.target"), "LOG_TARGET");
        assert_eq!(journal_key("_private"), "PRIVATE");
        assert_eq!(journal_key("9lives"), "LIVES");
        assert_eq!(journal_key(&"x".repeat(80)).len(), 64);
    }
}
