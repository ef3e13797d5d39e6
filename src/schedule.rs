//! The run's stage schedule: a declared list of steps, each with its name, the steps whose products it reads, and
//! the lane (thread) it runs on. `pipeline` declares the metric families' steps, `commands::run` adds writing, the
//! report and the users' queries; [`run`] runs the list.
//!
//! Each lane is one thread that runs its steps in the list's order; a step waits until the steps it names in
//! `after` are done. Every step may only name steps listed before it ([`run`] refuses the list otherwise), so some
//! lane can always go on: the earliest unfinished step's dependencies and its lane's earlier steps are all done.
//! Products pass between steps in slots the steps' closures share ([`Slot`]), not through the runner.
//!
//! Time and memory: the main lane's steps are stages of their own in run.json, each with its own peak; a wait of
//! the main lane for another lane's product is a stage too (`wait_before_<step>`). The other lanes' steps are
//! recorded with their own seconds and marked concurrent (their memory is inside the main lane's peaks).

use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

use anyhow::{Context, Result};

use crate::progress::Progress;
use crate::stages::{Stages, Timed};

/// The thread a step runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lane {
    /// The calling thread; its steps' peaks are measured.
    Main,
    /// A second thread for families that feed nothing on the main lane's path, filling the moments the main lane
    /// leaves a core idle.
    Beside,
    /// The users' queries: they write nothing the tables or the report need.
    Queries,
}

/// One step of a schedule.
pub struct Step<'a> {
    pub name: &'static str,
    pub lane: Lane,
    /// Steps whose products this one reads; each must be listed before it.
    pub after: Vec<&'static str>,
    /// What the progress line says while the step runs (main lane only).
    pub doing: String,
    run: Box<dyn FnOnce() -> Result<()> + Send + 'a>,
}

impl<'a> Step<'a> {
    /// A step computing `name`; its errors say "computing <name>".
    pub fn new(
        name: &'static str,
        lane: Lane,
        after: &[&'static str],
        run: impl FnOnce() -> Result<()> + Send + 'a,
    ) -> Self {
        Step {
            name,
            lane,
            after: after.to_vec(),
            doing: format!("computing {name}"),
            run: Box::new(move || run().with_context(|| format!("computing {name}"))),
        }
    }

    /// A step whose errors keep their own words (writing, drawing), with its own progress line.
    pub fn plain(
        name: &'static str,
        lane: Lane,
        after: &[&'static str],
        doing: &str,
        run: impl FnOnce() -> Result<()> + Send + 'a,
    ) -> Self {
        Step {
            name,
            lane,
            after: after.to_vec(),
            doing: doing.to_string(),
            run: Box::new(run),
        }
    }
}

/// A product one step sets and later steps read.
pub struct Slot<T>(OnceLock<T>, &'static str);

impl<T> Slot<T> {
    pub const fn new(name: &'static str) -> Self {
        Slot(OnceLock::new(), name)
    }

    pub fn set(&self, value: T) {
        if self.0.set(value).is_err() {
            panic!("the product {} is set twice: two steps of the schedule make it", self.1);
        }
    }

    /// The product; a step reading it must name the step that sets it in `after`.
    pub fn get(&self) -> &T {
        self.0
            .get()
            .unwrap_or_else(|| panic!("{} is read before it is made: the schedule lacks an `after`", self.1))
    }

    pub fn take(self) -> Option<T> {
        self.0.into_inner()
    }
}

/// Which steps are done, and whether one failed (then every lane stops at its next step).
#[derive(Default)]
struct Board {
    done: Vec<&'static str>,
    failed: bool,
}

#[derive(Default)]
struct Shared {
    board: Mutex<Board>,
    changed: Condvar,
}

impl Shared {
    /// Waits until every step in `after` is done; false when a step failed meanwhile.
    fn wait_for(&self, after: &[&'static str]) -> bool {
        let mut b = self.board.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if b.failed {
                return false;
            }
            if after.iter().all(|a| b.done.contains(a)) {
                return true;
            }
            b = self.changed.wait(b).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Some(ready) while no step failed.
    fn ready(&self, after: &[&'static str]) -> Option<bool> {
        let b = self.board.lock().unwrap_or_else(|e| e.into_inner());
        (!b.failed).then(|| after.iter().all(|a| b.done.contains(a)))
    }

    fn finish(&self, name: &'static str, ok: bool) {
        let mut b = self.board.lock().unwrap_or_else(|e| e.into_inner());
        if ok {
            b.done.push(name);
        } else {
            b.failed = true;
        }
        self.changed.notify_all();
    }
}

/// Marks the schedule failed if a step panics, so the other lanes stop waiting for its product.
struct PanicGuard<'s>(&'s Shared);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.finish("", false);
        }
    }
}

/// Checks that names are unique and each step names only steps listed before it.
fn check(steps: &[Step]) -> Result<()> {
    for (i, s) in steps.iter().enumerate() {
        let before = &steps[..i];
        anyhow::ensure!(
            !before.iter().any(|b| b.name == s.name),
            "the schedule lists the step {} twice",
            s.name
        );
        for a in &s.after {
            anyhow::ensure!(
                before.iter().any(|b| b.name == *a),
                "the step {} waits for {a}, which is not listed before it",
                s.name
            );
        }
    }
    Ok(())
}

/// Runs the steps, each lane on its own thread (the main lane on this one), and records them in `stages`. Returns
/// the first error any step gave; the other lanes stop before their next step.
pub fn run(steps: Vec<Step<'_>>, stages: &mut Stages, progress: &Progress) -> Result<()> {
    check(&steps)?;
    let shared = Shared::default();
    let mut lanes: Vec<(Lane, Vec<Step>)> = Vec::new();
    for s in steps {
        match lanes.iter_mut().find(|(l, _)| *l == s.lane) {
            Some((_, list)) => list.push(s),
            None => lanes.push((s.lane, vec![s])),
        }
    }
    let main = lanes
        .iter()
        .position(|(l, _)| *l == Lane::Main)
        .map(|i| lanes.remove(i).1)
        .unwrap_or_default();
    let first_concurrent = stages.list.len();
    let shared = &shared;
    let (main_result, others) = std::thread::scope(|scope| {
        let handles: Vec<_> = lanes
            .into_iter()
            .map(|(lane, list)| {
                scope.spawn(move || -> (Result<()>, Vec<(&'static str, Timed)>) {
                    let _guard = PanicGuard(shared);
                    let mut seconds = Vec::new();
                    for step in list {
                        if !shared.wait_for(&step.after) {
                            return (Ok(()), seconds);
                        }
                        let started = Instant::now();
                        let result = (step.run)();
                        seconds.push((step.name, Timed::since(started)));
                        crate::stages::debug_mark(&format!("after {} ({lane:?} lane)", step.name));
                        shared.finish(step.name, result.is_ok());
                        if result.is_err() {
                            return (result, seconds);
                        }
                    }
                    (Ok(()), seconds)
                })
            })
            .collect();
        let main_result = (|| -> Result<()> {
            let _guard = PanicGuard(shared);
            for step in main {
                match shared.ready(&step.after) {
                    None => return Ok(()),
                    Some(true) => {}
                    Some(false) => {
                        let clock = stages.start();
                        progress.set_message(format!("{}: waiting for the other threads", step.doing));
                        let ok = shared.wait_for(&step.after);
                        stages.end(&format!("wait_before_{}", step.name), clock);
                        if !ok {
                            return Ok(());
                        }
                    }
                }
                let clock = stages.start();
                progress.set_message(step.doing.clone());
                let result = (step.run)();
                shared.finish(step.name, result.is_ok());
                result?;
                stages.end(step.name, clock);
            }
            Ok(())
        })();
        let others: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect();
        (main_result, others)
    });
    main_result?;
    for (result, seconds) in others {
        result?;
        for (name, timed) in seconds {
            stages.push_concurrent_since(first_concurrent, name, timed);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A product made on one lane and read on another arrives before it is read, and every step is recorded:
    /// the main lane's in order, the other lanes' marked concurrent.
    #[test]
    fn a_step_reads_a_product_made_on_another_lane() {
        let a: Slot<u32> = Slot::new("a");
        let b: Slot<u32> = Slot::new("b");
        let c: Slot<u32> = Slot::new("c");
        let steps = vec![
            Step::new("a", Lane::Beside, &[], || {
                std::thread::sleep(std::time::Duration::from_millis(50));
                a.set(20);
                Ok(())
            }),
            Step::new("b", Lane::Main, &[], || {
                b.set(1);
                Ok(())
            }),
            Step::new("c", Lane::Main, &["a", "b"], || {
                c.set(a.get() + b.get() + 1);
                Ok(())
            }),
        ];
        let mut stages = Stages::default();
        run(steps, &mut stages, &Progress::hidden()).unwrap();
        assert_eq!(c.take(), Some(22));
        let names: Vec<(&str, bool)> = stages.list.iter().map(|s| (s.name.as_str(), s.concurrent)).collect();
        assert_eq!(
            names,
            [("b", false), ("wait_before_c", false), ("c", false), ("a", true)]
        );
    }

    /// A failing step stops the lanes waiting for it and its error comes back with the step's name.
    #[test]
    fn a_failing_step_stops_the_steps_after_it_and_names_itself() {
        let ran = AtomicUsize::new(0);
        let steps = vec![
            Step::new("breaks", Lane::Beside, &[], || anyhow::bail!("no such column")),
            Step::new("free", Lane::Main, &[], || {
                ran.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }),
            Step::new("needs_it", Lane::Main, &["breaks"], || {
                ran.fetch_add(10, Ordering::Relaxed);
                Ok(())
            }),
        ];
        let err = run(steps, &mut Stages::default(), &Progress::hidden()).unwrap_err();
        assert_eq!(format!("{err:#}"), "computing breaks: no such column");
        // "free" may have run before the failure was seen; "needs_it" never runs.
        assert!(ran.load(Ordering::Relaxed) <= 1);
    }

    #[test]
    fn a_step_waiting_for_a_later_or_unknown_step_is_refused_before_anything_runs() {
        let later = vec![
            Step::new("x", Lane::Main, &["y"], || panic!("must not run")),
            Step::new("y", Lane::Beside, &[], || Ok(())),
        ];
        let err = run(later, &mut Stages::default(), &Progress::hidden()).unwrap_err();
        assert_eq!(err.to_string(), "the step x waits for y, which is not listed before it");
        let twice = vec![
            Step::new("x", Lane::Main, &[], || Ok(())),
            Step::new("x", Lane::Beside, &[], || Ok(())),
        ];
        let err = run(twice, &mut Stages::default(), &Progress::hidden()).unwrap_err();
        assert_eq!(err.to_string(), "the schedule lists the step x twice");
    }

    /// A panicking step on another lane does not leave the main lane waiting for ever: the panic reaches the
    /// caller.
    #[test]
    fn a_panic_on_another_lane_reaches_the_caller() {
        let steps = vec![
            Step::new("boom", Lane::Beside, &[], || panic!("planted")),
            Step::new("waits", Lane::Main, &["boom"], || Ok(())),
        ];
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(steps, &mut Stages::default(), &Progress::hidden())
        }));
        assert!(caught.is_err());
    }
}
