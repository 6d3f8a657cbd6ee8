//! A spinner on the terminal for a step that may take more than a second (a backup, a courier
//! file, the CA's key), cleared when the step ends. Nothing is drawn when stderr is not a
//! terminal.

use std::time::Duration;

/// The spinner, until dropped.
pub(crate) struct Working(indicatif::ProgressBar);

impl Working {
    pub(crate) fn start(what: impl Into<String>) -> Working {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(what.into());
        bar.enable_steady_tick(Duration::from_millis(120));
        Working(bar)
    }
}

impl Drop for Working {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
