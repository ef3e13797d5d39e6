//! Where the plans run: `standalone` (a Ballista scheduler and executor inside this process), `df://host:port`
//! (a Ballista cluster), or `local` (plain DataFusion, no Ballista: the reference the other two are checked
//! against).

use anyhow::{Context, Result, bail};
use ballista::prelude::{SessionConfigExt, SessionContextExt};
use datafusion::arrow::array::Int64Array;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::execution::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

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

/// A context on `engine` whose stages have `partitions` partitions each.
pub async fn context(engine: &Engine, partitions: usize) -> Result<SessionContext> {
    let ballista_state = || {
        let config = SessionConfig::new_with_ballista().with_target_partitions(partitions);
        SessionStateBuilder::new()
            .with_config(config)
            .with_default_features()
            .build()
    };
    Ok(match engine {
        Engine::Local => SessionContext::new_with_config(SessionConfig::new().with_target_partitions(partitions)),
        Engine::Standalone => SessionContext::standalone_with_state(ballista_state())
            .await
            .context("cannot start the in-process cluster")?,
        Engine::Remote(url) => SessionContext::remote_with_state(url, ballista_state())
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
