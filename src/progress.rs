//! Progress on stderr for long work; silent with --quiet or when stderr is not a terminal.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Progress {
        if quiet {
            return Progress { bar: None, quiet };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template("{spinner} {msg} [{elapsed}] {human_pos} rows").expect("template"));
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress { bar: Some(bar), quiet }
    }

    pub fn hidden() -> Progress {
        Progress { bar: None, quiet: true }
    }

    pub fn set_message(&self, msg: String) {
        if let Some(b) = &self.bar {
            b.set_message(msg);
        }
    }

    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }

    pub fn reset(&self) {
        if let Some(b) = &self.bar {
            b.set_position(0);
        }
    }

    /// A line of the summary: printed above the bar, or not at all when quiet.
    pub fn println(&self, line: impl AsRef<str>) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.suspend(|| eprintln!("{}", line.as_ref())),
            None => eprintln!("{}", line.as_ref()),
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
