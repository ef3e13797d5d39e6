//! What the equality tests share: the two binaries, running the local and the distributed path, and comparing
//! their tables row by row.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use datafusion::arrow::array::{Array, Float64Array};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The tables the distributed path produces so far (`aftersales finish`).
pub const TABLES: [&str; 12] = [
    "return_rates",
    "reason_breakdown",
    "sla_clocks",
    "sla_compliance",
    "spike_evaluation",
    "risk_flags",
    "merchant_risk",
    "badges",
    "carrier_performance",
    "carrier_lanes",
    "flag_evidence",
    "badge_evidence",
];

/// The main crate's binary, built by the workspace's `cargo test` / `cargo build` into the same target folder.
pub fn aftersales() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let debug = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    let bin = debug.join("aftersales");
    assert!(
        bin.is_file(),
        "{} is missing: build the main crate first (`cargo build`, or `cargo test` as .ci/run does)",
        bin.display()
    );
    bin
}

pub fn dist() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_aftersales-dist"))
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the workspace")
        .to_path_buf()
}

pub fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Local run, Hive copy, the aggregates on `engine`, `finish`, the evidence pass on `engine` and `finish --evidence`,
/// in `work`; returns (local out, dist out).
pub fn both_paths(data: &Path, work: &Path, engine: &str) -> (PathBuf, PathBuf) {
    let local = work.join("local");
    let hive = work.join("hive");
    let agg = work.join("agg");
    let dist_out = work.join("dist");
    run(Command::new(aftersales())
        .args(["--quiet", "run", "--data"])
        .arg(data)
        .arg("--out")
        .arg(&local));
    run(Command::new(aftersales())
        .args(["--quiet", "convert", "--layout", "hive", "--data"])
        .arg(data)
        .arg("--out")
        .arg(&hive));
    run(Command::new(dist())
        .args(["aggregate", "--engine", engine, "--data"])
        .arg(&hive)
        .arg("--out")
        .arg(&agg));
    let finish = |evidence: Option<&Path>| {
        let mut cmd = Command::new(aftersales());
        cmd.args(["--quiet", "finish", "--data"])
            .arg(&hive)
            .arg("--aggregates")
            .arg(&agg)
            .arg("--out")
            .arg(&dist_out);
        if let Some(e) = evidence {
            cmd.arg("--evidence").arg(e);
        }
        run(&mut cmd);
    };
    finish(None);
    // The second pass: the records behind the flags and failed criteria the first finish wrote.
    let evidence = work.join("evidence");
    run(Command::new(dist())
        .args(["evidence", "--engine", engine, "--data"])
        .arg(&hive)
        .arg("--aggregates")
        .arg(&agg)
        .arg("--tables")
        .arg(dist_out.join("tables"))
        .arg("--out")
        .arg(&evidence));
    finish(Some(&evidence));
    assert_same_outputs(&local, &dist_out, data, &hive);
    (local, dist_out)
}

pub fn read(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches.first().map(|b| b.schema()).expect("a table with a batch");
    concat_batches(&schema, &batches).unwrap()
}

/// Every table of [`TABLES`] equal in both outputs: same columns in the same order, same rows in the same order;
/// integers, text, decimals and instants exactly, floats to 1e-9 relative. Returns the rows compared per table.
pub fn assert_same_tables(local: &Path, dist: &Path) -> Vec<(String, usize)> {
    let mut compared = Vec::new();
    for t in TABLES {
        let a = read(&local.join("tables").join(format!("{t}.parquet")));
        let b = read(&dist.join("tables").join(format!("{t}.parquet")));
        let names = |r: &RecordBatch| r.schema().fields().iter().map(|f| f.name().clone()).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b), "{t}: the columns differ");
        assert_eq!(
            a.num_rows(),
            b.num_rows(),
            "{t}: {} rows locally, {} distributed",
            a.num_rows(),
            b.num_rows()
        );
        assert!(a.num_rows() > 0, "{t}: no rows to compare");
        for (i, field) in a.schema().fields().iter().enumerate() {
            let (x, y) = (a.column(i), b.column(i));
            assert_eq!(x.data_type(), y.data_type(), "{t}.{}: the types differ", field.name());
            assert_column(t, field.name(), x.as_ref(), y.as_ref());
        }
        compared.push((t.to_string(), a.num_rows()));
    }
    compared
}

fn assert_column(table: &str, name: &str, x: &dyn Array, y: &dyn Array) {
    if *x.data_type() == DataType::Float64 {
        let (x, y) = (
            x.as_any().downcast_ref::<Float64Array>().unwrap(),
            y.as_any().downcast_ref::<Float64Array>().unwrap(),
        );
        for row in 0..x.len() {
            let (p, q) = (
                x.is_valid(row).then(|| x.value(row)),
                y.is_valid(row).then(|| y.value(row)),
            );
            let same = match (p, q) {
                (None, None) => true,
                (Some(p), Some(q)) => {
                    p == q || (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-9 * p.abs().max(q.abs())
                }
                _ => false,
            };
            assert!(same, "{table}.{name} row {row}: {p:?} locally, {q:?} distributed");
        }
        return;
    }
    let opts = FormatOptions::default().with_null("∅");
    let (fx, fy) = (
        ArrayFormatter::try_new(x, &opts).unwrap(),
        ArrayFormatter::try_new(y, &opts).unwrap(),
    );
    for row in 0..x.len() {
        let (p, q) = (fx.value(row).to_string(), fy.value(row).to_string());
        assert_eq!(p, q, "{table}.{name} row {row}: {p} locally, {q} distributed");
    }
}

/// What comparing the sample's tables must have covered: every table, the sample's year of periods and keys in
/// return_rates, and its planted spikes (a spiking merchant and SKU) among the flags.
pub fn assert_sample_compared(compared: &[(String, usize)]) {
    let rows = |t: &str| {
        compared
            .iter()
            .find(|(name, _)| name == t)
            .map(|(_, n)| *n)
            .unwrap_or(0)
    };
    assert_eq!(compared.len(), TABLES.len(), "{compared:?}");
    assert!(rows("return_rates") > 10_000, "{compared:?}");
    assert!(rows("risk_flags") >= 2, "{compared:?}");
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The rest of the output equal too: the same files; charts, merchant pages, rejects and data_quality byte for
/// byte; report.html byte for byte once each side's input folder is named alike (the page says where its inputs
/// were: the exports for the local run, the Hive copy for finish). run.json differs by nature (command, timings).
pub fn assert_same_outputs(local: &Path, dist: &Path, local_data: &Path, hive: &Path) {
    let (a, b) = (files(local), files(dist));
    assert_eq!(a, b, "the output folders hold different files");
    for f in a
        .iter()
        .filter(|f| !f.starts_with("tables/") && *f != "run.json" && *f != "report.html")
    {
        assert!(
            std::fs::read(local.join(f)).unwrap() == std::fs::read(dist.join(f)).unwrap(),
            "{f} differs between the local run and finish"
        );
    }
    let page = |p: &Path, data: &Path| {
        let text = std::fs::read_to_string(p.join("report.html")).unwrap();
        let cfg = data.join("aftersales.toml");
        text.replace(&cfg.display().to_string(), "<config>")
            .replace(&data.display().to_string(), "<data>")
    };
    let (x, y) = (page(local, local_data), page(dist, hive));
    assert!(x.len() > 10_000, "a report of {} bytes", x.len());
    if x != y {
        let line = x.lines().zip(y.lines()).position(|(p, q)| p != q).unwrap_or(0);
        panic!(
            "report.html differs at line {}:\n{:.300}\n{:.300}",
            line + 1,
            x.lines().nth(line).unwrap_or(""),
            y.lines().nth(line).unwrap_or("")
        );
    }
}
