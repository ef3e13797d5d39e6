//! `aftersales query FILE.sql`: one SQL file over the input and output tables.

use anyhow::Result;

use crate::cli::QueryArgs;
use crate::pipeline::{self, CannotStart};
use crate::progress::Progress;
use crate::queries::QueryFile;

pub fn query(args: &QueryArgs, quiet: bool) -> Result<i32> {
    let q = QueryFile::read(&args.file).map_err(|e| e.context(CannotStart))?;
    let opts = super::resolve_inputs(&args.input)?;
    let progress = Progress::new(quiet);
    let loaded = pipeline::load_and_check(&opts, &progress)?;
    let mut stages = loaded.stages.clone();
    let tables = pipeline::compute_metrics(&loaded, &opts.config, &progress, &mut stages)?;
    progress.finish();
    let mut df = pipeline::catalog(&loaded, &tables)?.run(&q)?;
    match &args.out {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            // Written beside the target and renamed into place, like every output.
            let tmp = path.with_extension("parquet.tmp");
            polars::prelude::ParquetWriter::new(std::fs::File::create(&tmp)?).finish(&mut df)?;
            std::fs::rename(&tmp, path)?;
            progress.println(format!("{} rows written to {}", df.height(), path.display()));
        }
        None => println!("{df}"),
    }
    Ok(0)
}
