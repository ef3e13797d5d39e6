//! The cluster's processes: Ballista's scheduler and executor, started from their libraries with their own
//! command-line options, so `aftersales-dist` is the one binary a cluster needs.

use anyhow::{Result, anyhow};
use clap::Parser;

#[derive(clap::Args)]
pub struct Passthrough {
    /// Options for Ballista's own process (see `-- --help`).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

fn argv(role: &str, p: Passthrough) -> Vec<String> {
    std::iter::once(format!("aftersales-dist {role}"))
        .chain(p.args)
        .collect()
}

pub async fn scheduler(p: Passthrough) -> Result<()> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::{Config, SchedulerConfig};
    let opt = Config::parse_from(argv("scheduler", p));
    let addr = format!("{}:{}", opt.bind_host, opt.bind_port)
        .parse()
        .map_err(|e| anyhow!("scheduler address: {e}"))?;
    let config: SchedulerConfig = opt.try_into().map_err(|e| anyhow!("{e}"))?;
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(|e| anyhow!("{e}"))?;
    ballista_scheduler::scheduler_process::start_server(cluster, addr, std::sync::Arc::new(config))
        .await
        .map_err(|e| anyhow!("scheduler: {e}"))
}

pub async fn executor(p: Passthrough) -> Result<()> {
    use ballista_executor::config::Config;
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    let opt = Config::parse_from(argv("executor", p));
    let config: ExecutorProcessConfig = opt.try_into().map_err(|e| anyhow!("{e}"))?;
    start_executor_process(std::sync::Arc::new(config))
        .await
        .map_err(|e| anyhow!("executor: {e}"))
}
