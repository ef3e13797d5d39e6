//! Where a run's time and memory go: wall seconds and peak resident memory per stage, for run.json's
//! `stage_seconds` (the per-stage table in BENCHMARKS.md is read from there).
//!
//! Peak memory per stage comes from Linux: `/proc/self/status` VmHWM is the process's high-water mark, and writing
//! `5` to `/proc/self/clear_refs` resets it to the current size, so resetting at a stage's start and reading at its
//! end gives that stage's own peak. Where either is unavailable (another OS, a locked-down /proc) the stage's peak
//! is left out rather than guessed.
//!
//! Resetting the high-water mark also resets what `/usr/bin/time` and `getrusage` report as the process's peak,
//! so only `aftersales run` turns it on ([`track_stage_peaks`]); there run.json's `total` row holds the run's
//! peak. `validate` and `convert` leave the kernel's counter alone.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

static TRACK_PEAKS: AtomicBool = AtomicBool::new(false);

/// Measure each stage's own peak memory from now on (see the module docs for what this changes).
pub fn track_stage_peaks() {
    TRACK_PEAKS.store(true, Ordering::Relaxed);
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    pub name: String,
    pub seconds: f64,
    /// When it started, in seconds after the run started: with `seconds`, which stages overlapped (two lanes share
    /// the cores, so a stage's seconds depend on what ran beside it).
    pub started_s: f64,
    /// The largest resident set during the stage, in MiB.
    pub peak_rss_mb: Option<u64>,
    /// Ran on a thread of its own beside other stages (the spike detector, carriers, reasons, the queries): its
    /// seconds overlap theirs, and its peak is the process's peak over the stages it ran beside (their peaks
    /// include its memory).
    pub concurrent: bool,
}

/// The stages of one run, in the order they ran. Stages must not nest: each one resets the high-water mark.
#[derive(Debug, Clone)]
pub struct Stages {
    pub list: Vec<Stage>,
    /// When the run started: stages' `started_s` count from here.
    origin: Instant,
    /// The largest peak seen so far, including the gaps between stages: the run's peak for the `total` row.
    max_rss_mb: Option<u64>,
}

impl Default for Stages {
    /// The stages of a run that starts now.
    fn default() -> Stages {
        Stages {
            list: Vec::new(),
            origin: Instant::now(),
            max_rss_mb: None,
        }
    }
}

/// When a step on another thread started and how long it took, for [`Stages::push_concurrent_since`].
#[derive(Debug, Clone, Copy)]
pub struct Timed {
    pub started: Instant,
    pub seconds: f64,
}

impl Timed {
    /// A step that started at `started` and ends now.
    pub fn since(started: Instant) -> Timed {
        Timed {
            started,
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// A started stage; hand it back to [`Stages::end`].
pub struct StageClock {
    started: Instant,
    peak_tracked: bool,
}

impl Stages {
    pub fn start(&mut self) -> StageClock {
        // What happened since the last stage ended still counts towards the run's peak.
        self.fold(peak_rss_mb());
        StageClock {
            started: Instant::now(),
            peak_tracked: TRACK_PEAKS.load(Ordering::Relaxed) && reset_peak(),
        }
    }

    pub fn end(&mut self, name: &str, clock: StageClock) {
        let peak = if clock.peak_tracked { peak_rss_mb() } else { None };
        self.fold(peak);
        debug_mark(&format!("after {name}"));
        self.list.push(Stage {
            name: name.to_string(),
            seconds: clock.started.elapsed().as_secs_f64(),
            started_s: self.since_origin(clock.started),
            peak_rss_mb: peak,
            concurrent: false,
        });
    }

    /// Records a stage that ran on a thread of its own beside the ones recorded since `since` (their peaks include
    /// its memory): when it started, its own seconds, and the largest of their peaks as its peak.
    pub fn push_concurrent_since(&mut self, since: usize, name: &str, timed: Timed) {
        let peak = self.list[since.min(self.list.len())..]
            .iter()
            .filter_map(|s| s.peak_rss_mb)
            .max();
        let started_s = self.since_origin(timed.started);
        self.list.push(Stage {
            name: name.to_string(),
            seconds: timed.seconds,
            started_s,
            peak_rss_mb: peak,
            concurrent: true,
        });
    }

    /// Closes the run: a `total` row with the whole run's seconds and peak.
    pub fn total(&mut self, started: Instant) {
        self.fold(peak_rss_mb());
        self.list.push(Stage {
            name: "total".into(),
            seconds: started.elapsed().as_secs_f64(),
            started_s: self.since_origin(started),
            peak_rss_mb: self.max_rss_mb,
            concurrent: false,
        });
    }

    /// Seconds from the run's start to `at` (0 for an instant before it).
    fn since_origin(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.origin).as_secs_f64()
    }

    fn fold(&mut self, peak: Option<u64>) {
        if let Some(p) = peak {
            self.max_rss_mb = Some(self.max_rss_mb.map_or(p, |m| m.max(p)));
        }
    }
}

/// Resets the kernel's high-water mark to the current resident size; false when the kernel refused.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// VmHWM of this process, in MiB.
fn peak_rss_mb() -> Option<u64> {
    status_mb("VmHWM:")
}

/// A memory field of `/proc/self/status` (given in kB there), in MiB.
fn status_mb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024)
}

/// With `AFTERSALES_DEBUG_MEMORY` set, prints the seconds since the previous mark and the current and peak resident
/// memory on stderr at the end of every stage and of every step on another lane (`schedule`): the moments between
/// run.json's per-stage figures. Inside a stage, `perf` says more than marks would.
pub fn debug_mark(label: &str) {
    if std::env::var_os("AFTERSALES_DEBUG_MEMORY").is_none() {
        return;
    }
    // Seconds since the previous mark, so the steps of a stage can be timed too, and the CPU seconds the process
    // spent meanwhile: cpu ÷ wall shows how much of the two cores a step keeps busy.
    static LAST: std::sync::Mutex<Option<(std::time::Instant, f64)>> = std::sync::Mutex::new(None);
    let now = std::time::Instant::now();
    let cpu = cpu_seconds().unwrap_or(0.0);
    let (since, cpu_since) = LAST
        .lock()
        .map(|mut last| {
            last.replace((now, cpu))
                .map_or((0.0, 0.0), |(t, c)| ((now - t).as_secs_f64(), cpu - c))
        })
        .unwrap_or((0.0, 0.0));
    let mb = |f: &str| status_mb(f).unwrap_or(0);
    eprintln!(
        "[memory] +{since:6.2} s (cpu {cpu_since:5.2} s) {label}: rss {} MB, peak {} MB",
        mb("VmRSS:"),
        mb("VmHWM:")
    );
}

/// User + system CPU seconds of this process so far (Linux: /proc/self/stat, in clock ticks of 1/100 s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which may contain spaces): state is the 3rd field, utime the 14th.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut f = rest.split_whitespace().skip(11);
    let utime: f64 = f.next()?.parse().ok()?;
    let stime: f64 = f.next()?.parse().ok()?;
    Some((utime + stime) / 100.0)
}
