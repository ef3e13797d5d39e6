//! aftersales: e-commerce after-sales exports → return rates, reasons, SLA clocks, risk flags, carrier
//! performance and the gold after-sales badge. The contract is SPEC.md; module map:
//!
//! - `config`: the TOML file, raw → typed, and the business calendar;
//! - `tables`: the five input tables' schemas, one module each;
//! - `input`: finding, reading and parsing exports into accepted and rejected rows; `staging`: back-office
//!   exports (Taobao, Amazon, Shopify …) mapped to the canonical tables by the config's sources;
//! - `checks`: warnings about kept rows (data_quality);
//! - `pipeline`: wiring: loading, checks and the metric steps; `schedule`: runs declared steps on lanes (threads);
//!   `output`: the atomic output folder, run.json;
//! - `metrics`: one module per metric family; `report` + `charts`: the quarter's page and its pictures;
//! - `queries`: users' SQL files over the tables;
//! - `workdir`: the run's Parquet working copies, scanned lazily by the stages; `litter`: clearing the folders a
//!   killed run left;
//! - `hive`: the Hive-partitioned copy the distributed path (aftersales-dist) reads, and `finish`'s side of it;
//! - `generate`: synthetic exports with planted patterns;
//! - `commands` + `cli`: the thin command line; `allocator`: how freed memory is kept; `crash`: what a panic
//!   prints (a request for a report, not a backtrace).

pub mod aggregates;
pub mod allocator;
pub mod charts;
pub mod checks;
pub mod cli;
pub mod commands;
pub mod config;
pub mod crash;
pub mod engine;
pub mod generate;
pub mod hive;
pub mod i18n;
pub mod input;
pub mod litter;
pub mod metrics;
pub mod output;
pub mod pipeline;
pub mod progress;
pub mod queries;
pub mod report;
pub mod schedule;
pub mod sla_rules;
pub mod stages;
pub mod staging;
pub mod tables;
pub mod time;
pub mod workdir;
