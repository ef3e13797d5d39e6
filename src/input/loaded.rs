//! What loading and checking a run's inputs gives the stages after it: the checked tables, as_of and where it came
//! from, the data's time span, the data-quality findings, and the working folder the tables' scans read from.
//! `pipeline::load_and_check` makes it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use polars::prelude::DataFrame;

use super::LoadedTable;
use crate::config::Config;
use crate::stages::Stages;
use crate::tables::TableKind;
use crate::time::Micros;
use crate::workdir::WorkDir;

#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub data_dir: PathBuf,
    pub config: Config,
    /// From the command line; wins over the config's as_of.
    pub as_of: Option<Micros>,
    /// Where the run's working copies go (a hidden folder made inside it, removed at the end): each table is
    /// written there once loaded and scanned from there by later stages. None keeps every table in memory.
    pub work_in: Option<PathBuf>,
    /// With `work_in`: how much of the input tables stays in memory instead of going to working copies.
    pub hold_inputs: crate::workdir::HoldInputs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOfSource {
    CommandLine,
    Config,
    LatestInInputs,
}

impl AsOfSource {
    /// `as_of` when it was set by hand (which adds the `after_as_of` check); None when it came from the inputs.
    pub fn explicit(self, as_of: Micros) -> Option<Micros> {
        (self != AsOfSource::LatestInInputs).then_some(as_of)
    }
}

pub struct Loaded {
    pub tables: BTreeMap<TableKind, LoadedTable>,
    pub as_of: Micros,
    pub as_of_source: AsOfSource,
    /// The earliest and latest value of any timestamp column; None when there is none.
    pub time_span: Option<(Micros, Micros)>,
    /// The earliest and latest ordered_at of the order lines; None when there are none.
    pub ordered_span: Option<(Micros, Micros)>,
    pub data_quality: DataFrame,
    /// The window event timestamps had to fall in (rows outside it were rejected); None without timestamps.
    pub plausible: Option<crate::input::plausible::Bounds>,
    /// The `data_quality.parquet` of `aftersales convert` the findings were read from, when this run did not
    /// check (see `input::converted`); None when it did.
    pub findings_from: Option<PathBuf>,
    pub stages: Stages,
    /// The working copies' folder; the tables' scans read from it, so it lives as long as they do.
    pub work: Option<WorkDir>,
}

impl Loaded {
    /// Tables whose reject rate is above the limit.
    pub fn over_reject_limit(&self, limit: f64) -> Vec<&LoadedTable> {
        self.tables.values().filter(|t| t.reject_rate() > limit).collect()
    }

    /// Said after the warning count: where the warnings were found.
    pub fn findings_note(&self) -> String {
        if self.findings_from.is_none() {
            return String::new();
        }
        // The calendar's findings are always this run's (they depend on the config).
        let from_convert = crate::checks::row_findings(&self.data_quality).map_or(0, |d| d.height());
        if from_convert == self.data_quality.height() {
            " (found by `aftersales convert`)".into()
        } else {
            format!(" ({from_convert} found by `aftersales convert`)")
        }
    }
}
