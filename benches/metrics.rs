//! One benchmark per metric family, and the charts + report, on generated data (scale 0.05 ≈ 50 k order lines,
//! 5 k cases, 40 k shipment legs), loaded once. Each family is timed from the shared `Prepared` frames the
//! pipeline builds once per run, the way `pipeline::compute_metrics` calls it.

use aftersales::config::Config;
use aftersales::generate::{self, Options};
use aftersales::metrics::{self, carriers, merchants, reasons, return_rates, sla, spikes};
use aftersales::pipeline::{self, LoadOptions, load_and_check};
use aftersales::progress::Progress;
use aftersales::report;
use aftersales::tables::TableKind;
use criterion::{Criterion, criterion_group, criterion_main};
use polars::prelude::IntoLazy;

fn bench_metrics(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("csv");
    let opts = Options {
        scale: 0.05,
        seed: 1,
        zh_copy: false,
    };
    generate::generate(&data, &opts, &Progress::hidden()).unwrap();
    let config = Config::load(&data.join("aftersales.toml")).unwrap();
    let load = LoadOptions {
        data_dir: data.clone(),
        config: config.clone(),
        as_of: None,
        work_in: Some(data.clone()),
        hold_inputs: aftersales::workdir::HoldInputs::Auto,
    };
    let loaded = load_and_check(&load, &Progress::hidden()).unwrap();
    let table = |k: TableKind| &loaded.tables[&k];
    let prepare = || {
        metrics::Prepared::new(
            table(TableKind::Orders).lazy().unwrap(),
            table(TableKind::Cases).lazy().unwrap(),
            table(TableKind::Shipments).lazy().unwrap(),
            table(TableKind::Refunds).lazy().unwrap(),
            &config,
            loaded.as_of,
            loaded.time_span,
            loaded.work.as_ref(),
        )
        .unwrap()
    };
    let mut p = prepare();
    p.merchants = loaded.tables.get(&TableKind::Merchants).map(|t| t.data().unwrap());
    let (rates, weeks) = return_rates::return_rates(&p).unwrap();
    let clocks = sla::sla_clocks(&p, &config.sla_rules, &config.calendar, None)
        .unwrap()
        .scan;
    let compliance = sla::sla_compliance(&p, &clocks, &config.sla_rules).unwrap();
    let evaluation = spikes::spike_evaluation(&p, &config.risk, &weeks).unwrap();
    let owners = spikes::flag_owners(&evaluation, &weeks).unwrap();
    let flags = spikes::risk_flags(&evaluation, &owners, &config.risk).unwrap();
    let mut stages = Default::default();
    let tables = pipeline::compute_metrics(&loaded, &config, &Progress::hidden(), &mut stages).unwrap();

    let mut g = c.benchmark_group("metrics_scale_0.05");
    g.sample_size(10);
    g.bench_function("prepare", |b| b.iter(prepare));
    g.bench_function("return_rates", |b| b.iter(|| return_rates::return_rates(&p).unwrap()));
    g.bench_function("reason_breakdown", |b| {
        b.iter(|| reasons::reason_breakdown(&p).unwrap())
    });
    g.bench_function("sla_clocks", |b| {
        b.iter(|| sla::sla_clocks(&p, &config.sla_rules, &config.calendar, None).unwrap())
    });
    g.bench_function("sla_compliance", |b| {
        b.iter(|| sla::sla_compliance(&p, &clocks, &config.sla_rules).unwrap())
    });
    g.bench_function("spike_evaluation", |b| {
        b.iter(|| spikes::spike_evaluation(&p, &config.risk, &weeks).unwrap())
    });
    g.bench_function("merchant_risk_and_badges", |b| {
        b.iter(|| {
            let sku_merchants = merchants::flagged_sku_merchants(weeks.0.clone().lazy(), &flags).unwrap();
            let facts = merchants::QuarterFacts::new(&p, &rates, &compliance, &flags, &sku_merchants).unwrap();
            (
                facts.merchant_risk(&config.risk).unwrap(),
                facts.badges(&config.badge).unwrap(),
            )
        })
    });
    g.bench_function("carrier_legs", |b| b.iter(|| carriers::LegGroups::new(&p).unwrap()));
    let legs = carriers::LegGroups::new(&p).unwrap();
    g.bench_function("carrier_performance", |b| {
        b.iter(|| carriers::carrier_performance(&p, &legs).unwrap())
    });
    g.bench_function("carrier_lanes", |b| b.iter(|| carriers::carrier_lanes(&legs).unwrap()));
    let inputs = report::InputFacts::of(&loaded).unwrap();
    let ctx = report::RunContext {
        data_dir: &data,
        config: &config,
        inputs: &inputs,
        lang: config.language,
        merchant_pages: config.merchant_pages,
    };
    g.bench_function("charts_and_report", |b| {
        b.iter(|| report::build(&ctx, &tables, None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_metrics);
criterion_main!(benches);
