//! `aftersales query FILE.sql`: one SQL file over the input and output tables, computed for the query; with
//! `--from OUT`, over a finished run's output tables (tables/*.parquet, scanned: nothing is loaded or computed).

use anyhow::{Context, Result};

use crate::cli::QueryArgs;
use crate::output::finished::FinishedRun;
use crate::pipeline::{self, CannotStart};
use crate::progress::Progress;
use crate::queries::{Catalog, QueryFile};

pub fn query(args: &QueryArgs, quiet: bool) -> Result<i32> {
    let q = QueryFile::read(&args.file).map_err(|e| e.context(CannotStart))?;
    let progress = Progress::new(quiet);
    let mut df = match &args.from {
        Some(from) => {
            let run = FinishedRun::open(from).context(CannotStart)?;
            let names = run.table_names().context(CannotStart)?;
            let tables = names
                .iter()
                .map(|n| Ok((n.clone(), run.scan(n)?)))
                .collect::<Result<Vec<_>>>()?;
            progress.println(format!(
                "reading the tables of the run in {} (as_of {}, config {}); nothing is recomputed",
                from.display(),
                run.as_of_text(),
                run.config_digest()
            ));
            Catalog::new(tables)
                .with_note(
                    "--from reads a finished run's output tables only; the input tables (orders, cases, shipments, \
                     refunds, merchants) need a run without --from",
                )
                .run(&q)?
        }
        None => {
            let opts = super::resolve_inputs(&args.input)?;
            let loaded = pipeline::load_and_check(&opts, &progress)?;
            let mut stages = loaded.stages.clone();
            let tables = pipeline::compute_metrics(&loaded, &opts.config, &progress, &mut stages)?;
            progress.finish();
            pipeline::catalog(&loaded, &tables)?.run(&q)?
        }
    };
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
