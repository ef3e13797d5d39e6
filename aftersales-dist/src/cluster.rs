//! The cluster's processes: Ballista's scheduler and executor, started from their libraries with their own
//! command-line options, so `aftersales-dist` is the one binary a cluster needs.

use anyhow::{Result, anyhow};
use ballista_core::object_store::{
    runtime_env_with_s3_support, session_config_with_s3_support, session_state_with_s3_support,
};
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
    // Sessions that reach S3 prefixes (`s3.*` options, else the standard AWS environment variables).
    let config = config
        .with_override_config_producer(std::sync::Arc::new(session_config_with_s3_support))
        .with_override_session_builder(std::sync::Arc::new(session_state_with_s3_support));
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
    let mut config: ExecutorProcessConfig = opt.try_into().map_err(|e| anyhow!("{e}"))?;
    config.override_config_producer = Some(std::sync::Arc::new(session_config_with_s3_support));
    config.override_runtime_producer = Some(std::sync::Arc::new(runtime_env_with_s3_support));
    start_executor_process(std::sync::Arc::new(config))
        .await
        .map_err(|e| anyhow!("executor: {e}"))
}
