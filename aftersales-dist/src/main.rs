//! aftersales-dist: the heavy, decomposable stages of aftersales as DataFusion plans over a Hive copy
//! (`aftersales convert --layout hive`), run in-process or on an Apache DataFusion Ballista cluster; the small global
//! stages stay in `aftersales finish`, which reads the aggregates written here (docs/scale-out.md).
//!
//! One binary plays every role: `aggregate` (the job), `scheduler` and `executor` (a cluster's processes, with
//! Ballista's own options after `--`).

use std::process::ExitCode;

use clap::Parser;

mod aggregate;
mod cluster;
mod copy;
mod engine;
mod evidence;
mod job;
mod plans;
mod sla;
mod storage;

#[derive(Parser)]
#[command(name = "aftersales-dist", version, about)]
enum Cli {
    /// Scan a Hive copy and write the aggregates `aftersales finish` reads.
    Aggregate(aggregate::Args),
    /// After `aftersales finish`: the records behind its flags and failed badge criteria, for `finish --evidence`.
    Evidence(evidence::Args),
    /// Run a Ballista scheduler (its options after `--`, e.g. `-- --bind-host 127.0.0.1 --bind-port 50050`).
    Scheduler(cluster::Passthrough),
    /// Run a Ballista executor (its options after `--`, e.g. `-- --scheduler-host 127.0.0.1 --bind-port 50051`).
    Executor(cluster::Passthrough),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Ballista's planners recurse deeply on wide unions; its own binaries run with 32 MB stacks.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(32 * 1024 * 1024)
        .build()
        .expect("a tokio runtime");
    let result = runtime.block_on(async {
        match cli {
            Cli::Aggregate(a) => aggregate::run(a).await,
            Cli::Evidence(a) => evidence::run(a).await,
            Cli::Scheduler(p) => cluster::scheduler(p).await,
            Cli::Executor(p) => cluster::executor(p).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
