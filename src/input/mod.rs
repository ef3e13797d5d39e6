//! Reading the exports: finding each table's files, reading them row by row (CSV in UTF-8 or GBK, gzip,
//! Parquet), parsing every cell into its canonical type, and sorting rows into accepted and rejected.

pub mod accounting;
pub mod converted;
pub mod csv_lines;
pub mod discover;
pub mod fast;
pub mod footer;
pub mod lineage;
pub mod load;
pub mod loaded;
pub mod mapping;
pub mod parse;
pub mod plausible;
pub mod reader;
pub mod summary;
pub mod timestamps;

pub use discover::{SourceFile, SourceFormat, discover};
pub use load::{
    FileStats, LoadedTable, ReadOptions, Reject, load_files, load_files_to, load_files_with, load_table, load_table_to,
};
pub use loaded::{AsOfSource, LoadOptions, Loaded};
