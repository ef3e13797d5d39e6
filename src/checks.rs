//! Warnings about kept rows with suspicious content (SPEC §2) → `data_quality.parquet`.
//!
//! Grain: one row per (table, input row, check, column). Columns: `table`, `source_file`, `row_number`, `key`
//! (the row's id), `check`, `column`, `value`, `message`. Checks:
//! - `unknown_order`: a case, shipment or refund whose order_id is not in orders;
//! - `unknown_order_line`: a case whose order exists but has no line with the case's sku;
//! - `unknown_case`: a shipment or refund whose case_id is not in cases;
//! - `stop_before_start`: a stop time before its start time (e.g. merchant_ack_at before opened_at);
//! - `case_quantity_over_order`: a case asking for more units of an sku than its order holds over all its lines
//!   (returned units are capped there, SPEC §4.1);
//! - `merchant_not_of_order`: a case whose merchant sells none of its order's lines of that sku, or a refund whose
//!   merchant sells no line of its order;
//! - `after_as_of`: a timestamp later than as_of (only possible when as_of is set by hand);
//! - `calendar_year_not_described`: a working-day SLA rule whose clocks start or stop in a year the business
//!   calendar does not describe (no bundled calendar covers it and the config lists no day in it): its public
//!   holidays count as working days. One row per (rule, year), without a source row ([`calendar_years`]).
//!
//! Warned rows stay in the tables; each metric leaves out what a warning would corrupt (an SLA clock whose stop is
//! before its start is `invalid`, not `met`).

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use chrono_tz::Tz;
use polars::prelude::*;

use crate::engine::Run;
use crate::input::LoadedTable;
use crate::input::lineage::{ROW_NUMBER, SOURCE_IDX};
use crate::metrics::prepare::line_lookup::TouchedLines;
use crate::metrics::prepare::sorted_ids::{SortedIds, is_in_sorted};
use crate::tables::{TableKind, cases, refunds, shipments};
use crate::time::Micros;

fn show_ts(name: &str, tz: Tz) -> Expr {
    col(name)
        .dt()
        .convert_time_zone(crate::time::polars_tz(tz))
        .dt()
        .strftime("%Y-%m-%d %H:%M:%S")
}

fn key_of(kind: TableKind) -> Expr {
    match kind {
        TableKind::Orders => concat_str(
            [col("order_id"), lit("#"), col("line_no").cast(DataType::String)],
            "",
            true,
        ),
        k => col(k.schema().key[0]),
    }
}

struct Warn<'a> {
    t: &'a LoadedTable,
    lf: LazyFrame,
}

impl Warn<'_> {
    fn finish(self, check: &str, column: &str, value: Expr, message: Expr) -> LazyFrame {
        let files = DataFrame::new_infer_height(vec![
            UInt32Chunked::from_vec(SOURCE_IDX.into(), (0..self.t.files.len() as u32).collect())
                .into_series()
                .into_column(),
            StringChunked::from_iter_values("source_file".into(), self.t.files.iter().map(|f| f.file.as_str()))
                .into_series()
                .into_column(),
        ])
        .expect("file table");
        self.lf
            .select([
                lit(self.t.kind.name()).alias("table"),
                col(SOURCE_IDX),
                col(ROW_NUMBER).alias("row_number"),
                key_of(self.t.kind).alias("key"),
                lit(check.to_string()).alias("check"),
                lit(column.to_string()).alias("column"),
                value.cast(DataType::String).alias("value"),
                message.alias("message"),
            ])
            .join(
                files.lazy(),
                [col(SOURCE_IDX)],
                [col(SOURCE_IDX)],
                JoinArgs::new(JoinType::Left),
            )
            .select([
                col("table"),
                col("source_file"),
                col("row_number"),
                col("key"),
                col("check"),
                col("column"),
                col("value"),
                col("message"),
            ])
    }
}

/// All warnings, sorted by table, file and row. `as_of` is only checked when it was set by hand (`explicit_as_of`).
pub fn data_quality(
    tables: &BTreeMap<TableKind, LoadedTable>,
    as_of: Micros,
    explicit_as_of: bool,
    tz: Tz,
) -> Result<DataFrame> {
    let mut parts: Vec<LazyFrame> = Vec::new();
    let orders = tables.get(&TableKind::Orders).map(|t| t.lazy()).transpose()?;
    // The distinct order ids, sorted once for the three tables that reference them: a row's id is looked up by
    // walking them beside the rows (`SortedIds`), where an anti join hashed every order line's id to find them
    // and every row's to probe them.
    let order_ids = tables
        .get(&TableKind::Orders)
        .map(|t| sorted_ids_of(t, "order_id"))
        .transpose()?;
    // The lines of orders that have a case or a refund (a tenth of all lines), read once for the checks that
    // compare a case or refund with its order's lines.
    let touched = match &orders {
        Some(o) => {
            let mut ids: Vec<StringChunked> = Vec::new();
            for k in [TableKind::Cases, TableKind::Refunds] {
                if let Some(t) = tables.get(&k) {
                    let df = t.lazy()?.select([col("order_id")]).collect()?;
                    ids.push(df.column("order_id")?.str()?.clone());
                }
            }
            if ids.is_empty() {
                None
            } else {
                // Kept by walking the sorted ids beside the lines as they are read, as preparation does
                // (`metrics::prepare::sorted_ids`): a semi join hashes every line's order id.
                let ids = std::sync::Arc::new(SortedIds::new(&ids.iter().collect::<Vec<_>>()));
                Some(
                    o.clone()
                        .select([
                            col("order_id"),
                            col("line_no"),
                            col("sku"),
                            col("quantity"),
                            col("merchant_id"),
                        ])
                        .filter(is_in_sorted(col("order_id"), ids.clone()))
                        .run_streaming()
                        .map_err(anyhow::Error::from)
                        .and_then(|lines| TouchedLines::new(lines, ids))?,
                )
            }
        }
        None => None,
    };
    let case_ids = tables
        .get(&TableKind::Cases)
        .map(|t| sorted_ids_of(t, "case_id"))
        .transpose()?;

    for kind in [TableKind::Cases, TableKind::Shipments, TableKind::Refunds] {
        let Some(t) = tables.get(&kind) else { continue };
        let lf = t.lazy()?;
        if let Some(ids) = &order_ids {
            // order_id is required in the three tables: no null to tell apart from an unknown id.
            let unknown = lf.clone().filter(is_in_sorted(col("order_id"), ids.clone()).not());
            parts.push(Warn { t, lf: unknown }.finish(
                "unknown_order",
                "order_id",
                col("order_id"),
                concat_str(
                    [
                        lit("order_id '"),
                        col("order_id"),
                        lit("' is not in orders: the row is kept but reaches no order line"),
                    ],
                    "",
                    true,
                ),
            ));
            if let Some(touched) = &touched {
                order_line_checks(t, kind, &lf, touched, &mut parts)?;
            }
        }
        if kind != TableKind::Cases
            && let Some(cids) = &case_ids
        {
            let unknown = lf.clone().filter(
                col("case_id")
                    .is_not_null()
                    .and(is_in_sorted(col("case_id"), cids.clone()).not()),
            );
            parts.push(Warn { t, lf: unknown }.finish(
                "unknown_case",
                "case_id",
                col("case_id"),
                concat_str([lit("case_id '"), col("case_id"), lit("' is not in cases")], "", true),
            ));
        }
        let pairs: &[(&str, &str)] = match kind {
            TableKind::Cases => cases::ORDERED_PAIRS,
            TableKind::Shipments => shipments::ORDERED_PAIRS,
            _ => refunds::ORDERED_PAIRS,
        };
        for (start, stop) in pairs {
            let bad = lf.clone().filter(col(*stop).lt(col(*start)));
            parts.push(Warn { t, lf: bad }.finish(
                "stop_before_start",
                stop,
                show_ts(stop, tz),
                concat_str(
                    [
                        lit(format!("{stop} ")),
                        show_ts(stop, tz),
                        lit(format!(" is before {start} ")),
                        show_ts(start, tz),
                        lit(": clocks between them are invalid"),
                    ],
                    "",
                    true,
                ),
            ));
        }
    }
    if explicit_as_of {
        let as_of_lit = lit(as_of).cast(crate::time::ts_dtype());
        let shown = crate::time::format_local(as_of, tz);
        for (kind, t) in tables {
            for c in kind.schema().event_ts_columns() {
                let late = t.lazy()?.filter(col(c).gt(as_of_lit.clone()));
                parts.push(Warn { t, lf: late }.finish(
                    "after_as_of",
                    c,
                    show_ts(c, tz),
                    concat_str(
                        [
                            lit(format!("{c} ")),
                            show_ts(c, tz),
                            lit(format!(" is after as_of {shown}: the export moment")),
                        ],
                        "",
                        true,
                    ),
                ));
            }
        }
    }
    if parts.is_empty() {
        return Ok(empty_data_quality());
    }
    // One check at a time: run side by side, their joins' hash tables were all held at once. Streaming, because
    // each scans a whole working copy (the in-memory engine would read every row's columns first).
    let all = concat(crate::engine::one_at_a_time_streaming(parts)?, UnionArgs::default())?
        .sort(
            ["table", "source_file", "row_number", "check"],
            SortMultipleOptions::default().with_maintain_order(true),
        )
        .run()?;
    Ok(all)
}

/// The distinct values of a table's text column, sorted, for `is_in_sorted`.
fn sorted_ids_of(t: &LoadedTable, column: &str) -> Result<std::sync::Arc<SortedIds>> {
    let df = t.lazy()?.select([col(column)]).collect()?;
    Ok(std::sync::Arc::new(SortedIds::new(&[df.column(column)?.str()?])))
}

/// The checks of a case or refund against its order's lines, worked out by hand: each row looks through its
/// order's few lines (`touched`: the lines of orders with a case or refund, grouped by order; see
/// `metrics::prepare::line_lookup`), as preparation does, instead of joining on string keys. A row whose order has no lines
/// is `unknown_order`'s.
fn order_line_checks(
    t: &LoadedTable,
    kind: TableKind,
    lf: &LazyFrame,
    touched: &TouchedLines,
    parts: &mut Vec<LazyFrame>,
) -> Result<()> {
    let is_case = match kind {
        TableKind::Cases => true,
        TableKind::Refunds => false,
        _ => return Ok(()),
    };
    let mut read: Vec<Expr> = [SOURCE_IDX, ROW_NUMBER, "order_id", "merchant_id", kind.schema().key[0]]
        .into_iter()
        .map(col)
        .collect();
    if is_case {
        read.extend([col("sku"), col("quantity").cast(DataType::Int64)]);
    }
    let mut rows = lf.clone().select(read).collect()?;
    let n = rows.height();
    let order_rows = touched.order_rows(rows.column("order_id")?.str()?);
    let merchant = rows.column("merchant_id")?.str()?.clone();
    let lines = &touched.lines;
    let line_merchant = lines.column("merchant_id")?.str()?.clone();
    let line_sku = lines.column("sku")?.str()?.clone();
    let line_qty: Vec<i64> = lines
        .column("quantity")?
        .cast(&DataType::Int64)?
        .i64()?
        .iter()
        .map(|q| q.unwrap_or(0))
        .collect();
    let (mut no_line, mut over, mut not_seller) = (vec![false; n], vec![false; n], vec![false; n]);
    let mut units = vec![0i64; n];
    let (sku, quantity) = if is_case {
        (
            Some(rows.column("sku")?.str()?.clone()),
            Some(rows.column("quantity")?.i64()?.clone()),
        )
    } else {
        (None, None)
    };
    for (i, range) in order_rows.into_iter().enumerate() {
        if range.is_empty() {
            continue;
        }
        let m = merchant.get(i);
        match (&sku, &quantity) {
            (Some(sku), Some(quantity)) => {
                let s = sku.get(i);
                let (mut any, mut seller) = (false, false);
                for l in range {
                    if line_sku.get(l) == s {
                        any = true;
                        units[i] += line_qty[l];
                        seller |= line_merchant.get(l) == m;
                    }
                }
                no_line[i] = !any;
                over[i] = any && quantity.get(i).unwrap_or(1) > units[i];
                not_seller[i] = any && !seller;
            }
            _ => not_seller[i] = !range.into_iter().any(|l| line_merchant.get(l) == m),
        }
    }
    rows.with_column(Int64Chunked::from_vec("_units".into(), units).into_column())?;
    let keep =
        |mask: &[bool]| -> Result<LazyFrame> { Ok(rows.filter(&BooleanChunked::from_slice("".into(), mask))?.lazy()) };
    let (whose, sku_part) = if is_case {
        ("case", vec![lit("' with sku '"), col("sku")])
    } else {
        ("refund", Vec::new())
    };
    let mut message = vec![
        lit("merchant '"),
        col("merchant_id"),
        lit("' sells no line of order '"),
        col("order_id"),
    ];
    message.extend(sku_part);
    message.push(lit(format!(
        "': the {whose} counts for the order line's merchant in rates, for this merchant in its own figures"
    )));
    parts.push(
        Warn {
            t,
            lf: keep(&not_seller)?,
        }
        .finish(
            "merchant_not_of_order",
            "merchant_id",
            col("merchant_id"),
            concat_str(message, "", true),
        ),
    );
    if !is_case {
        return Ok(());
    }
    let asked = col("quantity").fill_null(lit(1i64));
    parts.push(Warn { t, lf: keep(&over)? }.finish(
        "case_quantity_over_order",
        "quantity",
        asked.clone(),
        concat_str(
            [
                lit("the case asks for "),
                asked.cast(DataType::String),
                lit(" units of sku '"),
                col("sku"),
                lit("' but order '"),
                col("order_id"),
                lit("' holds "),
                col("_units").cast(DataType::String),
                lit(": returned units are capped at what the order holds"),
            ],
            "",
            true,
        ),
    ));
    parts.push(Warn { t, lf: keep(&no_line)? }.finish(
        "unknown_order_line",
        "sku",
        col("sku"),
        concat_str(
            [
                lit("order '"),
                col("order_id"),
                lit("' has no line with sku '"),
                col("sku"),
                lit("': the case counts in no category, merchant or sku rate"),
            ],
            "",
            true,
        ),
    ));
    Ok(())
}

pub fn empty_data_quality() -> DataFrame {
    let s = |n: &str| Series::new_empty(n.into(), &DataType::String).into_column();
    DataFrame::new_infer_height(vec![
        s("table"),
        s("source_file"),
        Series::new_empty("row_number".into(), &DataType::UInt64).into_column(),
        s("key"),
        s("check"),
        s("column"),
        s("value"),
        s("message"),
    ])
    .expect("schema")
}

/// Reads the findings `convert` stored beside a converted copy, refusing a file of other columns.
pub fn read_findings(path: &std::path::Path) -> Result<DataFrame> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let df = anyhow::Context::with_context(ParquetReader::new(f).finish(), || {
        format!("cannot read the data-quality findings in {}", path.display())
    })?;
    let want = empty_data_quality();
    anyhow::ensure!(
        df.schema() == want.schema(),
        "{} does not have the columns of data_quality.parquet ({:?}); delete converted.json beside it to check the \
         tables again",
        path.display(),
        want.get_column_names()
    );
    // The calendar's findings depend on the config, not the tables: the run finds them again.
    row_findings(&df)
}

/// The findings about rows: all but the calendar's, which depend on the config (a converted copy keeps these).
pub fn row_findings(df: &DataFrame) -> Result<DataFrame> {
    Ok(df
        .clone()
        .lazy()
        .filter(col("check").neq(lit(CALENDAR_CHECK)))
        .collect()?)
}

/// The check name of [`calendar_years`]' findings.
pub const CALENDAR_CHECK: &str = "calendar_year_not_described";

/// `calendar_year_not_described` rows (see the module docs): for each working-day rule, the local years from its
/// earliest start to its latest start or stop that the calendar does not describe. Depends on the config, so it is
/// found on every run, also when the other findings come from a converted copy.
pub fn calendar_years(
    tables: &BTreeMap<TableKind, LoadedTable>,
    rules: &[crate::sla_rules::SlaRule],
    calendar: &crate::config::Calendar,
    tz: Tz,
) -> Result<DataFrame> {
    let mut spans = BTreeMap::new();
    for rule in rules.iter().filter(|r| r.clock_kind() == "working_days") {
        let Some(t) = tables.get(&rule.table) else {
            continue;
        };
        let columns = [rule.start.as_str(), rule.stop.as_str()];
        for (c, span) in columns.into_iter().zip(column_spans(t.lazy()?, &columns)?) {
            if let Some(span) = span {
                spans.insert((rule.table, c.to_string()), span);
            }
        }
    }
    calendar_findings(&spans, rules, calendar, tz)
}

/// The earliest and latest value (µs) of each of `columns` (timestamps), read in one scan; None for a column
/// without a value.
pub fn column_spans(lf: LazyFrame, columns: &[&str]) -> Result<Vec<Option<(i64, i64)>>> {
    let bound = |c: &str, i: usize, lo: bool| {
        let e = if lo { col(c).min() } else { col(c).max() };
        e.cast(DataType::Int64)
            .alias(format!("{}{i}", if lo { "lo" } else { "hi" }))
    };
    let exprs: Vec<Expr> = columns
        .iter()
        .enumerate()
        .flat_map(|(i, c)| [bound(c, i, true), bound(c, i, false)])
        .collect();
    if exprs.is_empty() {
        return Ok(vec![]);
    }
    let spans = lf.select(exprs).collect()?;
    let get = |c: String| -> Result<Option<i64>> { Ok(spans.column(&c)?.as_materialized_series().i64()?.get(0)) };
    (0..columns.len())
        .map(|i| Ok(get(format!("lo{i}"))?.zip(get(format!("hi{i}"))?)))
        .collect()
}

/// [`calendar_years`] from the spans of the rules' start and stop columns ((table, column) → (earliest, latest)
/// µs): what a run finds in its tables, and a Hive copy carries for `aftersales finish`.
pub fn calendar_findings(
    spans: &BTreeMap<(TableKind, String), (i64, i64)>,
    rules: &[crate::sla_rules::SlaRule],
    calendar: &crate::config::Calendar,
    tz: Tz,
) -> Result<DataFrame> {
    use chrono::Datelike;
    let mut rows: Vec<[Option<String>; 5]> = Vec::new();
    for rule in rules.iter().filter(|r| r.clock_kind() == "working_days") {
        let Some(&(lo, start_hi)) = spans.get(&(rule.table, rule.start.clone())) else {
            continue;
        };
        let hi = spans
            .get(&(rule.table, rule.stop.clone()))
            .map_or(start_hi, |&(_, s)| s.max(start_hi));
        let year = |t: i64| {
            chrono::DateTime::from_timestamp_micros(t)
                .map(|d| d.with_timezone(&tz).year())
                .unwrap_or(1970)
        };
        for y in year(lo)..=year(hi) {
            if calendar.describes(y) {
                continue;
            }
            let fix = match calendar.base {
                Some(b) => format!(
                    "the bundled calendar '{b}' has no {y} yet: list {y}'s holidays and extra_workdays under [calendar]"
                ),
                None => format!(
                    "set calendar = \"cn\" (China's official calendar, bundled) or list {y}'s holidays and extra_workdays under [calendar]"
                ),
            };
            rows.push([
                Some(rule.table.name().to_string()),
                Some(rule.name.clone()),
                Some(rule.start.clone()),
                Some(y.to_string()),
                Some(format!(
                    "rule {} counts working days in {y}, a year the business calendar does not describe: its public \
                     holidays count as working days; {fix}",
                    rule.name
                )),
            ]);
        }
    }
    let col_of = |i: usize| rows.iter().map(|r| r[i].clone()).collect::<Vec<_>>();
    let out = DataFrame::new_infer_height(vec![
        Column::new("table".into(), col_of(0)),
        Column::new("source_file".into(), vec![None::<String>; rows.len()]),
        Series::new_null("row_number".into(), rows.len())
            .cast(&DataType::UInt64)?
            .into_column(),
        Column::new("key".into(), col_of(1)),
        Column::new("check".into(), vec![CALENDAR_CHECK; rows.len()]),
        Column::new("column".into(), col_of(2)),
        Column::new("value".into(), col_of(3)),
        Column::new("message".into(), col_of(4)),
    ])?;
    Ok(out)
}
