//! Where the plans run: `standalone` (a Ballista scheduler and executor inside this process), `df://host:port`
//! (a Ballista cluster), or `local` (plain DataFusion, no Ballista: the reference the other two are checked
//! against).

use anyhow::{Context, Result, bail};
use ballista::prelude::SessionContextExt;
use ballista_core::object_store::{session_config_with_s3_support, session_state_with_s3_support};
use datafusion::arrow::array::Int64Array;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::prelude::SessionContext;

#[derive(Clone, Debug)]
pub enum Engine {
    Local,
    Standalone,
    Remote(String),
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        match s {
            "local" => Ok(Engine::Local),
            "standalone" => Ok(Engine::Standalone),
            url if url.starts_with("df://") => Ok(Engine::Remote(url.to_string())),
            other => Err(format!(
                "unknown engine {other:?}: expected local, standalone or a cluster's df://host:port"
            )),
        }
    }
}

/// A context on `engine` whose stages have `partitions` partitions each. Every engine reads and writes local
/// folders and S3 prefixes alike (Ballista's object-store registry, configured from the standard AWS environment
/// variables, as the scheduler and executor roles are).
pub async fn context(engine: &Engine, partitions: usize) -> Result<SessionContext> {
    let state = || -> Result<_> {
        let config = session_config_with_s3_support().with_target_partitions(partitions);
        Ok(session_state_with_s3_support(config)?)
    };
    Ok(match engine {
        Engine::Local => SessionContext::new_with_state(state()?),
        Engine::Standalone => SessionContext::standalone_with_state(state()?)
            .await
            .context("cannot start the in-process cluster")?,
        Engine::Remote(url) => SessionContext::remote_with_state(url, state()?)
            .await
            .with_context(|| format!("cannot reach the Ballista scheduler at {url}"))?,
    })
}

/// The one Int64 value of a one-row, one-column result.
pub fn single_i64(batches: &[RecordBatch]) -> Result<i64> {
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    if rows != 1 {
        bail!("expected one row, got {rows}");
    }
    let b = batches.iter().find(|b| b.num_rows() == 1).expect("one row");
    let a = b
        .column(0)
        .as_any()
        .downcast_ref::<Int64Array>()
        .context("expected an Int64 count")?;
    Ok(a.value(0))
}
