//! One file per subcommand.

pub mod convert;
pub mod finish;
pub mod generate;
pub mod init;
pub mod page;
pub mod query;
pub mod run;
pub mod validate;

use std::path::Path;

use anyhow::{Context, Result};

use crate::cli::InputArgs;
use crate::config::Config;
use crate::pipeline::{CannotStart, LoadOptions};
use crate::time;

/// The config: `--config`, else `<data>/aftersales.toml` when present, else the built-in defaults.
pub fn resolve_inputs(args: &InputArgs) -> Result<LoadOptions> {
    let default_cfg = args.data.join("aftersales.toml");
    let config = match &args.config {
        Some(p) => Config::load(p).context(CannotStart)?,
        None if default_cfg.is_file() => Config::load(&default_cfg).context(CannotStart)?,
        None => Config::default(),
    };
    if !args.data.is_dir() {
        return Err(anyhow::anyhow!(
            "data folder {} does not exist{}",
            args.data.display(),
            if args.data == Path::new("sample_data") {
                " (with no --data, the bundled sample_data/ is used: run from the repository root or pass --data DIR)"
            } else {
                ""
            }
        ))
        .context(CannotStart);
    }
    let as_of = match &args.as_of {
        None => None,
        Some(s) => Some(
            time::parse_ts(s, config.timezone)
                .map_err(|e| anyhow::anyhow!("--as-of: {e}"))
                .context(CannotStart)?,
        ),
    };
    Ok(LoadOptions {
        data_dir: args.data.clone(),
        config,
        as_of,
        // Commands that write an output folder put the working copies beside it instead (same disk).
        work_in: Some(std::env::temp_dir()),
        hold_inputs: crate::workdir::HoldInputs::Auto,
    })
}
