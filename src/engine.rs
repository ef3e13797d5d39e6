//! Which polars engine runs a metric plan. Each plan is collected with the engine measured faster for it
//! (BENCHMARKS.md): the in-memory engine by default, the streaming engine for the plans that scan every shipment leg
//! or order line into a group-by without `n_unique` (carriers, spikes), where it is faster with identical tables;
//! `return_rates`' distinct-order counts are slower and far larger on it.
//!
//! `AFTERSALES_ENGINE=memory|streaming` runs every plan on one engine: a switch for measuring, not a setting
//! users need.

use std::sync::OnceLock;

use polars::prelude::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forced {
    No,
    Memory,
    Streaming,
}

fn forced() -> Forced {
    static FORCED: OnceLock<Forced> = OnceLock::new();
    *FORCED.get_or_init(|| match std::env::var("AFTERSALES_ENGINE").as_deref() {
        Ok("streaming") => Forced::Streaming,
        Ok("memory") => Forced::Memory,
        _ => Forced::No,
    })
}

pub trait Run {
    /// `collect` on the in-memory engine (unless forced otherwise).
    fn run(self) -> PolarsResult<DataFrame>;
    /// `collect` on the streaming engine (unless forced otherwise).
    fn run_streaming(self) -> PolarsResult<DataFrame>;
}

impl Run for LazyFrame {
    fn run(self) -> PolarsResult<DataFrame> {
        if forced() == Forced::Streaming {
            return streaming(self);
        }
        self.collect()
    }

    fn run_streaming(self) -> PolarsResult<DataFrame> {
        if forced() == Forced::Memory {
            return self.collect();
        }
        streaming(self)
    }
}

fn streaming(lf: LazyFrame) -> PolarsResult<DataFrame> {
    Ok(lf.collect_with_engine(Engine::Streaming)?.unwrap_single())
}

/// Collects plans one after another on the streaming engine, for a `concat` of several plans over the same large
/// input: side by side in one plan their hash tables are all held at once and outgrow the caches and the memory.
/// The streaming engine, for plans that scan a whole working
/// copy into a join with a small result, where the in-memory engine would first read every row of the scanned
/// columns.
pub fn one_at_a_time_streaming(parts: Vec<LazyFrame>) -> PolarsResult<Vec<LazyFrame>> {
    parts
        .into_iter()
        .map(|lf| lf.run_streaming().map(DataFrame::lazy))
        .collect()
}

/// Join arguments for a join whose right side is the small one (a tenth of the lines, a few positions): the
/// streaming engine builds its hash table on the right. Left to choose, it first samples up to 10 M rows of both
/// inputs, buffering the big side.
pub fn small_right(how: JoinType) -> JoinArgs {
    JoinArgs::new(how).with_build_side(Some(JoinBuildSide::ForceRight))
}
