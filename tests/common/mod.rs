//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

/// The checkout under test. Read at run time (cargo sets it for every test process): the build cache is shared
/// between clones, and a test binary that cargo finds fresh may have been compiled in another clone, whose path
/// `env!` would have baked in.
pub fn repo() -> PathBuf {
    PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()))
}

pub fn data(rel: &str) -> PathBuf {
    repo().join("tests/data").join(rel)
}

/// A temporary data folder: the hand-made base set, with the files of `tests/data/bad/<case>` laid over it.
pub fn case_dir(case: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&data("base"), dir.path());
    if let Some(c) = case {
        copy_dir(&data(&format!("bad/{c}")), dir.path());
    }
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

pub fn aftersales(args: &[&str]) -> Output {
    aftersales_env(args, &[])
}

pub fn aftersales_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_aftersales"));
    c.args(args).arg("--quiet").current_dir(repo());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run aftersales")
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn read_parquet(path: &Path) -> DataFrame {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    ParquetReader::new(f).finish().unwrap()
}

pub fn run_json(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap()
}

/// The entry of run.json's list `list` (`stage_seconds`, `outputs`, …) whose `field` is `value`.
pub fn run_json_entry(run: &serde_json::Value, list: &str, field: &str, value: &str) -> serde_json::Value {
    run[list]
        .as_array()
        .unwrap_or_else(|| panic!("run.json has no list {list}"))
        .iter()
        .find(|e| e[field] == value)
        .unwrap_or_else(|| panic!("run.json {list} has no entry with {field} = {value}"))
        .clone()
}

/// Every table in run.json keeps read = accepted + rejected + filtered, and so does every input file.
pub fn assert_counts_balance(run: &serde_json::Value) {
    for f in run["inputs"].as_array().unwrap() {
        let (r, a, j, x) = (
            f["rows_read"].as_u64().unwrap(),
            f["rows_accepted"].as_u64().unwrap(),
            f["rows_rejected"].as_u64().unwrap(),
            f["rows_filtered"].as_u64().unwrap(),
        );
        assert_eq!(r, a + j + x, "{f}");
        let by_reason: u64 = f["filtered"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(x, by_reason, "{f}");
    }
    for (name, t) in run["tables"].as_object().unwrap() {
        let (r, a, j, x) = (
            t["rows_read"].as_u64().unwrap(),
            t["rows_accepted"].as_u64().unwrap(),
            t["rows_rejected"].as_u64().unwrap(),
            t["rows_filtered"].as_u64().unwrap(),
        );
        assert_eq!(r, a + j + x, "{name}: {t}");
    }
}

pub fn str_col(df: &DataFrame, name: &str) -> Vec<String> {
    df.column(name)
        .unwrap()
        .as_materialized_series()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

/// The one row of `df` where every (column, value) matches (string comparison), as column → text.
pub fn row(df: &DataFrame, keys: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut mask = BooleanChunked::full("m".into(), true, df.height());
    for (c, v) in keys {
        let s = df
            .column(c)
            .unwrap()
            .as_materialized_series()
            .cast(&DataType::String)
            .unwrap();
        let eq: BooleanChunked = s.str().unwrap().iter().map(|x| Some(x == Some(*v))).collect();
        mask = &mask & &eq;
    }
    let hit = df.filter(&mask).unwrap();
    assert_eq!(
        hit.height(),
        1,
        "expected one row for {keys:?}, found {}:\n{hit}",
        hit.height()
    );
    hit.columns()
        .iter()
        .map(|c| {
            let s = c.as_materialized_series();
            let v = if let DataType::List(_) = s.dtype() {
                // A list of strings as ["a", "b"].
                s.list().unwrap().get_as_series(0).map(|inner| {
                    let items: Vec<String> = inner
                        .str()
                        .unwrap()
                        .iter()
                        .map(|x| format!("{:?}", x.unwrap_or("")))
                        .collect();
                    format!("[{}]", items.join(", "))
                })
            } else {
                s.cast(&DataType::String)
                    .unwrap()
                    .str()
                    .unwrap()
                    .get(0)
                    .map(str::to_string)
            };
            (c.name().to_string(), v.unwrap_or_else(|| "null".into()))
        })
        .collect()
}

/// Asserts a float column of a row (given as text) within 1e-6.
pub fn assert_close(r: &BTreeMap<String, String>, col: &str, want: f64) {
    let got: f64 = r[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} = {} is not a number", r[col]));
    assert!((got - want).abs() < 1e-6, "{col}: got {got}, want {want}");
}

pub fn count_rows(df: &DataFrame, keys: &[(&str, &str)]) -> usize {
    let mut mask = BooleanChunked::full("m".into(), true, df.height());
    for (c, v) in keys {
        let s = df
            .column(c)
            .unwrap()
            .as_materialized_series()
            .cast(&DataType::String)
            .unwrap();
        let eq: BooleanChunked = s.str().unwrap().iter().map(|x| Some(x == Some(*v))).collect();
        mask = &mask & &eq;
    }
    df.filter(&mask).unwrap().height()
}

/// One table of a folder loaded as a run loads it (staging sources or canonical files), with the config text given
/// written as the folder's aftersales.toml.
pub fn load_with_config(
    dir: &Path,
    config: &str,
    kind: aftersales::tables::TableKind,
) -> anyhow::Result<aftersales::input::LoadedTable> {
    std::fs::write(dir.join("aftersales.toml"), config).unwrap();
    let config = aftersales::config::Config::load(&dir.join("aftersales.toml"))?;
    Ok(aftersales::staging::load_table(
        dir,
        kind,
        &config.table(kind),
        config.timezone,
        &aftersales::progress::Progress::hidden(),
        None,
        &aftersales::staging::Lookups::default(),
    )?
    .expect("the table has a source"))
}

/// Runs the pipeline on a data folder into a fresh temporary output folder.
pub fn run_pipeline(data: &Path) -> tempfile::TempDir {
    run_pipeline_with(data, &[])
}

/// `run` on `data` into a fresh folder (`out/` inside it), with more arguments (e.g. `--as-of`).
pub fn run_pipeline_with(data: &Path, more: &[&str]) -> tempfile::TempDir {
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("out");
    let mut args = vec![
        "run",
        "--data",
        data.to_str().unwrap(),
        "--out",
        target.to_str().unwrap(),
    ];
    args.extend_from_slice(more);
    let o = aftersales(&args);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

pub fn table(out: &tempfile::TempDir, name: &str) -> DataFrame {
    read_parquet(&out.path().join(format!("out/tables/{name}.parquet")))
}

/// The pipeline's output on sample_data/, computed once per test binary (the run takes seconds in the dev
/// profile, and several tests read it).
pub fn sample_out() -> &'static Path {
    static OUT: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    OUT.get_or_init(|| run_pipeline(&repo().join("sample_data"))).path()
}

pub fn sample_table(name: &str) -> DataFrame {
    read_parquet(&sample_out().join(format!("out/tables/{name}.parquet")))
}

/// "129.90" → 12990, exactly.
pub fn cents(s: &str) -> i128 {
    let (i, f) = s.split_once('.').unwrap_or((s, "0"));
    let f = format!("{f:0<2}");
    let sign = if i.starts_with('-') { -1 } else { 1 };
    sign * (i.trim_start_matches('-').parse::<i128>().unwrap() * 100 + f[..2].parse::<i128>().unwrap())
}

/// A data folder loaded and checked as `aftersales run` does (working copies in `work`, when given), and prepared
/// for the metric families: the config, what was loaded (it owns the working copies the scans read) and the
/// prepared tables.
pub fn load_and_prepare(
    dir: &Path,
    work: Option<&Path>,
) -> (
    aftersales::config::Config,
    aftersales::pipeline::Loaded,
    aftersales::metrics::Prepared,
) {
    use aftersales::tables::TableKind;
    let config = aftersales::config::Config::load(&dir.join("aftersales.toml")).unwrap();
    let load = aftersales::pipeline::LoadOptions {
        data_dir: dir.to_path_buf(),
        config: config.clone(),
        as_of: None,
        work_in: work.map(Path::to_path_buf),
        // With a working folder, every table goes to a working copy (the path a run over large inputs takes).
        hold_inputs: aftersales::workdir::HoldInputs::UpTo(0),
    };
    let loaded = aftersales::pipeline::load_and_check(&load, &aftersales::progress::Progress::hidden()).unwrap();
    let table = |k: TableKind| loaded.tables[&k].lazy().unwrap();
    let mut p = aftersales::metrics::Prepared::new(
        table(TableKind::Orders),
        table(TableKind::Cases),
        table(TableKind::Shipments),
        table(TableKind::Refunds),
        &config,
        loaded.as_of,
        loaded.time_span,
        loaded.work.as_ref(),
    )
    .unwrap();
    p.merchants = loaded.tables.get(&TableKind::Merchants).map(|t| t.data().unwrap());
    (config, loaded, p)
}

/// A data_quality.parquet without its `calendar_year_not_described` rows: the row-level findings. Fixtures run
/// without a calendar get one calendar row per working-day rule and year (tested in tests/sla.rs and
/// `base_set_is_clean`); the other tests look at their own rows.
#[allow(dead_code)]
pub fn row_findings(path: &Path) -> DataFrame {
    use polars::prelude::{IntoLazy, col, lit};
    read_parquet(path)
        .lazy()
        .filter(col("check").neq(lit("calendar_year_not_described")))
        .collect()
        .unwrap()
}
