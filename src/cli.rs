//! The command line (SPEC §6).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "aftersales",
    version,
    about = "E-commerce after-sales figures from order, case, shipment and refund exports"
)]
pub struct Cli {
    /// No progress or summary on stderr.
    #[arg(long, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole pipeline: load, check, compute, write the output folder.
    Run(RunArgs),
    /// Load and check only: print a summary and write the rejected rows and warnings.
    Validate(ValidateArgs),
    /// Write deterministic synthetic exports with planted patterns.
    Generate(GenerateArgs),
    /// Load and check the exports, and write the accepted rows as typed Parquet (<out>/<table>.parquet): a
    /// working copy that later runs scan far faster than CSV.
    Convert(ConvertArgs),
    /// The distributed path's last step: the tables from the aggregates aftersales-dist wrote over a Hive copy
    /// (docs/scale-out.md).
    Finish(FinishArgs),
    /// Run one SQL file over the input and output tables; print the result, or write it with --out. With
    /// --from OUT, over a finished run's output tables instead (nothing is recomputed).
    Query(QueryArgs),
    /// Render one merchant's page from a finished run's output folder (its tables, run.json and config.toml):
    /// the page `run` writes, for any merchant, quarter or language.
    Page(PageArgs),
    /// Write a commented config for a platform's standard exports (tmall, amazon, shopify) into a folder, with
    /// a subfolder for each export to drop the downloads into.
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The platform whose back-office exports the config reads: tmall (also Taobao), amazon, shopify.
    #[arg(long)]
    pub preset: String,
    /// The folder to set up (created); its aftersales.toml is never overwritten.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct InputArgs {
    /// Folder with orders, cases, shipments, refunds (and optionally merchants) exports.
    #[arg(long, default_value = "sample_data")]
    pub data: PathBuf,
    /// TOML config; default: <data>/aftersales.toml when it exists, else built-in defaults.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The export moment, e.g. "2026-12-31 23:59:59" (local time) or with an offset; default: config, else the
    /// latest timestamp in the inputs.
    #[arg(long = "as-of")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Output folder, replaced atomically.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// The report's quarter, e.g. 2026Q3; default: the latest quarter that has ended at as_of.
    #[arg(long)]
    pub quarter: Option<String>,
    /// The report's language: zh-CN or en; default: the config's `language`, else zh-CN.
    #[arg(long, value_parser = parse_lang)]
    pub lang: Option<crate::i18n::Lang>,
    /// Which merchants get a page under merchants/: notable (something to act on in the quarter), all, none;
    /// default: the config's `merchant_pages`, else notable. Any other page: `aftersales page ID --from OUT`.
    #[arg(long = "merchant-pages", value_parser = parse_merchant_pages)]
    pub merchant_pages: Option<crate::config::MerchantPages>,
    /// Go on even when more than max_reject_rate of a table's rows are rejected (exit 0 instead of 1).
    #[arg(long = "keep-going")]
    pub keep_going: bool,
    /// Folder of SQL files run after the metrics (results in <out>/queries/<name>.parquet).
    #[arg(long, default_value = "queries")]
    pub queries: PathBuf,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The SQL file.
    pub file: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// A finished run's output folder: the query reads its tables (tables/*.parquet) instead of loading the
    /// exports and computing them again. Input tables are not there; --data, --config and --as-of do not apply.
    #[arg(long, conflicts_with_all = ["data", "config", "as_of"])]
    pub from: Option<PathBuf>,
    /// Write the result as Parquet here instead of printing it.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder for rejects/, data_quality.parquet and run.json, replaced atomically.
    #[arg(long, default_value = "validation")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write the exports into (created; existing export files are overwritten).
    #[arg(long)]
    pub out: PathBuf,
    /// 1.0 ≈ 1 million order lines; 0.03 ≈ 30 thousand.
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Also write a copy of the cases table as a Chinese-header GBK export (cases_zh_gbk.csv) with its config.
    #[arg(long = "zh-copy")]
    pub zh_copy: bool,
}

#[derive(Debug, Args)]
pub struct FinishArgs {
    /// The Hive copy the aggregates were computed from (`convert --layout hive`): its config and manifest give
    /// the zone, as_of and maturity.
    #[arg(long)]
    pub data: PathBuf,
    /// The folder aftersales-dist wrote the aggregates into.
    #[arg(long)]
    pub aggregates: PathBuf,
    /// The folder `aftersales-dist evidence` wrote the candidates into (after a first `finish`): adds
    /// flag_evidence and badge_evidence.
    #[arg(long)]
    pub evidence: Option<PathBuf>,
    /// The report's quarter, e.g. 2026Q3; default: the latest quarter that has ended at as_of.
    #[arg(long)]
    pub quarter: Option<String>,
    /// The report's language: zh-CN or en; default: the config's `language`, else zh-CN.
    #[arg(long, value_parser = parse_lang)]
    pub lang: Option<crate::i18n::Lang>,
    /// Output folder, replaced atomically.
    #[arg(long, default_value = "out")]
    pub out: PathBuf,
    /// Which merchants get a page under merchants/: notable (something to act on in the quarter), all, none;
    /// default: the config's `merchant_pages`, else notable. Any other page: `aftersales page ID --from OUT`.
    #[arg(long = "merchant-pages", value_parser = parse_merchant_pages)]
    pub merchant_pages: Option<crate::config::MerchantPages>,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    #[command(flatten)]
    pub input: InputArgs,
    /// Folder for <table>.parquet, replaced atomically.
    #[arg(long)]
    pub out: PathBuf,
    /// Write even when more than max_reject_rate of a table's rows are rejected.
    #[arg(long = "keep-going")]
    pub keep_going: bool,
    /// `flat`: one <table>.parquet each, for `aftersales run`; `hive`: <table>/month=YYYY-MM/ folders with local
    /// periods precomputed, for the distributed path (aftersales-dist, docs/scale-out.md).
    #[arg(long, value_enum, default_value = "flat")]
    pub layout: Layout,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    Flat,
    Hive,
}

#[derive(Debug, Args)]
pub struct PageArgs {
    /// The merchant's id, as in the tables' merchant_id.
    pub merchant_id: String,
    /// The output folder of a finished `run` (or `finish`).
    #[arg(long)]
    pub from: PathBuf,
    /// Where to write the page; default: <FROM>/merchants/ under the name the run gives it (with the quarter and
    /// language in the name when they are not the run's). An existing different file is never replaced.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The page's quarter, e.g. 2026Q2; default: the run's report quarter.
    #[arg(long)]
    pub quarter: Option<String>,
    /// The page's language: zh-CN or en; default: the run's.
    #[arg(long, value_parser = parse_lang)]
    pub lang: Option<crate::i18n::Lang>,
}

fn parse_merchant_pages(s: &str) -> Result<crate::config::MerchantPages, String> {
    crate::config::MerchantPages::parse(s)
}

fn parse_lang(s: &str) -> Result<crate::i18n::Lang, String> {
    crate::i18n::Lang::parse(s)
}
