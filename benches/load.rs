//! Loading and checking: CSV, the same CSV through the staging layer, and the typed Parquet working copy, on
//! generated data (scale 0.05 ≈ 50 k order
//! lines, 5 k cases). The end-to-end scale figures (scale 1 and up, peak memory) come from benches/scale.sh and
//! are written in BENCHMARKS.md.

use aftersales::config::Config;
use aftersales::generate::{self, Options};
use aftersales::pipeline::{LoadOptions, load_and_check};
use aftersales::progress::Progress;
use aftersales::workdir::HoldInputs;
use criterion::{Criterion, criterion_group, criterion_main};

fn bench_load(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("csv");
    generate::generate(
        &csv,
        &Options {
            scale: 0.05,
            seed: 1,
            zh_copy: false,
        },
        &Progress::hidden(),
    )
    .unwrap();
    let config = Config::load(&csv.join("aftersales.toml")).unwrap();
    let opts = LoadOptions {
        data_dir: csv.clone(),
        config: config.clone(),
        as_of: None,
        // As `run` does: tables held in memory up to a quarter of the memory available, else working copies.
        work_in: Some(dir.path().to_path_buf()),
        hold_inputs: HoldInputs::Auto,
    };
    // The Parquet copy, as `aftersales convert` writes it.
    let pq = dir.path().join("parquet");
    std::fs::create_dir_all(&pq).unwrap();
    let loaded = load_and_check(&opts, &Progress::hidden()).unwrap();
    for (kind, t) in &loaded.tables {
        let f = std::fs::File::create(pq.join(format!("{}.parquet", kind.name()))).unwrap();
        polars::prelude::ParquetWriter::new(f)
            .finish(&mut t.data().unwrap())
            .unwrap();
    }
    let pq_opts = LoadOptions {
        data_dir: pq,
        config,
        as_of: None,
        // As `run` does: tables held in memory up to a quarter of the memory available, else working copies.
        work_in: Some(dir.path().to_path_buf()),
        hold_inputs: HoldInputs::Auto,
    };

    // The same CSV exports read through the staging layer (`sources` naming every column, cells cleaned): what a
    // back-office export costs beyond a canonical file.
    let staged_dir = dir.path().join("staged");
    std::fs::create_dir_all(&staged_dir).unwrap();
    let mut staged = std::fs::read_to_string(csv.join("aftersales.toml")).unwrap();
    for t in ["orders", "cases", "shipments", "refunds"] {
        let file = csv.join(format!("{t}.csv"));
        let text = std::fs::read_to_string(&file).unwrap();
        let header = text.lines().next().unwrap();
        staged.push_str(&format!(
            "\n[[tables.{t}.sources]]\npath = {:?}\nclean = [\"trim\", \"numbers\"]\n[tables.{t}.sources.columns]\n",
            file.display().to_string()
        ));
        for col in header.split(',') {
            staged.push_str(&format!("{col} = {col:?}\n"));
        }
    }
    std::fs::write(staged_dir.join("aftersales.toml"), &staged).unwrap();
    std::fs::copy(csv.join("merchants.csv"), staged_dir.join("merchants.csv")).unwrap();
    let staged_opts = LoadOptions {
        data_dir: staged_dir.clone(),
        config: Config::load(&staged_dir.join("aftersales.toml")).unwrap(),
        as_of: None,
        work_in: Some(dir.path().to_path_buf()),
        hold_inputs: HoldInputs::Auto,
    };

    let mut g = c.benchmark_group("load_and_check");
    g.sample_size(10);
    g.bench_function("csv_scale_0.05", |b| {
        b.iter(|| load_and_check(&opts, &Progress::hidden()).unwrap())
    });
    g.bench_function("staged_csv_scale_0.05", |b| {
        b.iter(|| load_and_check(&staged_opts, &Progress::hidden()).unwrap())
    });
    g.bench_function("parquet_scale_0.05", |b| {
        b.iter(|| load_and_check(&pq_opts, &Progress::hidden()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_load);
criterion_main!(benches);
