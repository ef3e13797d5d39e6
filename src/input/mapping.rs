//! How a table fed through the staging layer got its columns: per source, each canonical column's origin (an
//! export column, an expression, a constant, a lookup) and what cleaning, value maps and time formats did to it.
//! The staging layer fills it; `validate` prints it and run.json records it.

use std::collections::BTreeMap;

/// How often each rule changed a cell of one column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub trim: u64,
    pub excel_guard: u64,
    pub fullwidth: u64,
    pub numbers: u64,
    pub null_values: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.trim += o.trim;
        self.excel_guard += o.excel_guard;
        self.fullwidth += o.fullwidth;
        self.numbers += o.numbers;
        self.null_values += o.null_values;
    }
    /// (rule, count) for the rules that acted.
    pub fn nonzero(&self) -> Vec<(&'static str, u64)> {
        [
            ("trim", self.trim),
            ("excel_guard", self.excel_guard),
            ("fullwidth", self.fullwidth),
            ("numbers", self.numbers),
            ("null_values", self.null_values),
        ]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .collect()
    }
}

/// What `validate` and run.json show of one source: where each canonical column came from and what was done.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SourceReport {
    pub source: String,
    pub files: Vec<String>,
    pub columns: Vec<ColumnReport>,
    pub filtered: BTreeMap<String, u64>,
    /// Lines before the header, and blank lines or rows of bare delimiters, over all files.
    pub preamble_lines: u64,
    pub blank_lines: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColumnReport {
    pub canonical: String,
    pub from: String,
    /// Cells of the export columns it reads that cleaning changed.
    pub cleaned: Counts,
    /// Labels the value map turned into canonical values, and of them those taken by `"*"`.
    pub mapped: u64,
    pub mapped_by_wildcard: u64,
    /// Numbers read as times through `time_format`.
    pub times_converted: u64,
}
