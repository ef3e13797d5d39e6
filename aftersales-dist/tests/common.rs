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
pub const TABLES: [&str; 13] = [
    "return_rates",
    "reason_breakdown",
    "sla_clocks",
    "sla_compliance",
    "spike_evaluation",
    "risk_flags",
    "flag_episodes",
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
    both_paths_on(data, work, engine, None)
}

/// Where the distributed jobs find the copy and write their staged tables when these are not the local folders:
/// an S3 prefix for each, the copy uploaded there by `upload`, and the environment every process needs to reach it.
pub struct Remote<'a> {
    pub data: String,
    pub work: String,
    pub env: Vec<(&'static str, String)>,
    pub upload: &'a dyn Fn(&Path),
}

/// [`both_paths`], with the copy and the work place on `remote` when given.
pub fn both_paths_on(data: &Path, work: &Path, engine: &str, remote: Option<&Remote>) -> (PathBuf, PathBuf) {
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
    let data_place = match remote {
        Some(r) => {
            (r.upload)(&hive);
            r.data.clone()
        }
        None => hive.display().to_string(),
    };
    let env: Vec<(&str, String)> = remote.map(|r| r.env.clone()).unwrap_or_default();
    let dist_job = |what: &str, extra: &[String]| {
        let mut cmd = Command::new(dist());
        cmd.args([what, "--engine", engine, "--data", &data_place]).args(extra);
        if let Some(r) = remote {
            cmd.args(["--work", &r.work]);
        }
        cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
        run(&mut cmd);
    };
    let s = |p: &Path| p.display().to_string();
    dist_job("aggregate", &["--out".into(), s(&agg)]);
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
    let mut extra = vec![
        "--aggregates".into(),
        s(&agg),
        "--tables".into(),
        s(&dist_out.join("tables")),
        "--out".into(),
        s(&evidence),
    ];
    if let Some(r) = remote {
        // The clocks as the executors see them: where the aggregate job staged them.
        extra.extend([
            "--clocks".into(),
            format!("{}/sla_clocks", r.work.trim_end_matches('/')),
        ]);
    }
    dist_job("evidence", &extra);
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

/// A started process, killed when dropped (a failing test leaves nothing running).
pub struct Process(pub std::process::Child, pub &'static str);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `program args`, its output into `log`, with `env` added.
pub fn spawn(program: &Path, args: &[String], env: &[(&str, String)], log: &Path, what: &'static str) -> Process {
    let log = std::fs::File::create(log).unwrap();
    let child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the {what}: {e}"));
    Process(child, what)
}

/// Waits (at most a minute) until `ready`, failing at once when one of `procs` exits.
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool, procs: &mut [&mut Process]) {
    let started = std::time::Instant::now();
    while !ready() {
        for p in procs.iter_mut() {
            if let Ok(Some(status)) = p.0.try_wait() {
                panic!("the {} exited ({status}) while waiting for {what}", p.1);
            }
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The answer to `GET path` on a local port, headers and body.
pub fn http(port: u16, method: &str, path: &str) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5))).ok()?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    Some(body)
}

/// Files anywhere under `dir`.
pub fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| if e.path().is_dir() { files_under(&e.path()) } else { 1 })
                .sum()
        })
        .unwrap_or(0)
}

/// A Ballista cluster on loopback: one scheduler and `n` executors, each its own aftersales-dist process on free
/// ports with its own work folder, every process given `env`. Shut down when dropped.
pub struct Cluster {
    pub port: u16,
    pub work_dirs: Vec<PathBuf>,
    // Executors first: they are dropped (killed) before the scheduler.
    executors: Vec<Process>,
    scheduler: Process,
}

impl Cluster {
    pub fn start(n: usize, dir: &Path, env: &[(&str, String)]) -> Cluster {
        let port = free_port();
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let mut scheduler = spawn(
            &dist(),
            &[
                s(&[
                    "scheduler",
                    "--",
                    "--bind-host",
                    "127.0.0.1",
                    "--external-host",
                    "127.0.0.1",
                ]),
                vec!["--bind-port".into(), port.to_string()],
            ]
            .concat(),
            env,
            &dir.join("scheduler.log"),
            "scheduler",
        );
        wait_until("the scheduler's port", || port_open(port), &mut [&mut scheduler]);
        let mut executors = Vec::new();
        let mut work_dirs = Vec::new();
        for i in 0..n {
            let work = dir.join(format!("executor{i}"));
            std::fs::create_dir_all(&work).unwrap();
            let args = [
                s(&[
                    "executor",
                    "--",
                    "--scheduler-host",
                    "127.0.0.1",
                    "--bind-host",
                    "127.0.0.1",
                ]),
                s(&[
                    "--external-host",
                    "127.0.0.1",
                    "--scheduler-connect-timeout-seconds",
                    "30",
                ]),
                vec!["--scheduler-port".into(), port.to_string()],
                vec!["--bind-port".into(), free_port().to_string()],
                vec!["--bind-grpc-port".into(), free_port().to_string()],
                vec!["--work-dir".into(), work.display().to_string()],
            ]
            .concat();
            executors.push(spawn(
                &dist(),
                &args,
                env,
                &dir.join(format!("executor{i}.log")),
                "executor",
            ));
            work_dirs.push(work);
        }
        let mut c = Cluster {
            port,
            work_dirs,
            executors,
            scheduler,
        };
        // Every executor registered with the scheduler before a job starts.
        let mut procs: Vec<&mut Process> = c.executors.iter_mut().collect();
        procs.push(&mut c.scheduler);
        wait_until(
            "the executors to register",
            || http(port, "GET", "/api/executors").is_some_and(|body| body.matches("\"id\"").count() >= n),
            &mut procs,
        );
        c
    }

    pub fn url(&self) -> String {
        format!("df://127.0.0.1:{}", self.port)
    }

    /// Each executor ran tasks of the jobs: each wrote shuffle files into its own work folder.
    pub fn assert_every_executor_worked(&self) {
        for dir in &self.work_dirs {
            assert!(
                files_under(dir) > 0,
                "executor with work folder {} ran no task",
                dir.display()
            );
        }
    }

    /// Stops every process; the scheduler's port is free again after.
    pub fn shut_down(self) {
        let port = self.port;
        drop(self);
        wait_until("the scheduler to stop", || !port_open(port), &mut []);
    }
}
