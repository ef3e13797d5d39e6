//! Which polars engine runs the metric plans. In-memory by default; `AFTERSALES_ENGINE=streaming` runs them on
//! the streaming engine instead — a switch for measuring (BENCHMARKS.md compares both per stage), not a setting
//! users need.

use std::sync::OnceLock;

use polars::prelude::*;

fn streaming() -> bool {
    static STREAMING: OnceLock<bool> = OnceLock::new();
    *STREAMING.get_or_init(|| std::env::var("AFTERSALES_ENGINE").as_deref() == Ok("streaming"))
}

pub trait Run {
    /// `collect` on the chosen engine.
    fn run(self) -> PolarsResult<DataFrame>;
}

impl Run for LazyFrame {
    fn run(self) -> PolarsResult<DataFrame> {
        if streaming() {
            Ok(self.collect_with_engine(Engine::Streaming)?.unwrap_single())
        } else {
            self.collect()
        }
    }
}
