//! The inputs' first and last timestamps: the default as_of (SPEC §3), the span the run's local dates cover and
//! the quarters return_rates goes through.

use anyhow::Result;
use polars::prelude::*;
use std::collections::BTreeMap;

use super::LoadedTable;
use crate::tables::TableKind;
use crate::time::Micros;

/// The earliest and latest of some instants.
pub type Span = (Micros, Micros);

/// What [`scan`] finds.
pub struct Timestamps {
    /// The latest event timestamp among all accepted rows (the default as_of, SPEC §3).
    pub latest: Option<Micros>,
    /// The earliest and latest value of any timestamp column (promised_at too): the span the run's local dates
    /// are taken over (`metrics::Zone`).
    pub span: Option<Span>,
    /// The earliest and latest ordered_at: the quarters return_rates goes through.
    pub ordered: Option<Span>,
}

pub fn scan(tables: &BTreeMap<TableKind, LoadedTable>) -> Result<Timestamps> {
    let mut latest: Option<Micros> = None;
    let mut span: Option<Span> = None;
    let mut ordered: Option<Span> = None;
    for (kind, t) in tables {
        let cols: Vec<&str> = kind.schema().ts_columns().collect();
        // The footers of the files this program wrote say it without reading the columns (`input::footer`);
        // the columns they cannot tell about are read.
        let files = t.own_parquet_files();
        let mut found: Vec<(&str, Option<Span>)> = Vec::new();
        let mut unknown: Vec<&str> = Vec::new();
        for c in &cols {
            match files
                .as_deref()
                .and_then(|f| crate::input::footer::timestamp_span(f, c))
            {
                Some(s) => found.push((c, s)),
                None => unknown.push(c),
            }
        }
        if !unknown.is_empty() {
            let exprs = unknown.iter().flat_map(|c| {
                [
                    col(*c).min().cast(DataType::Int64).alias(format!("min {c}")),
                    col(*c).max().cast(DataType::Int64).alias(format!("max {c}")),
                ]
            });
            let read = t.lazy()?.select(exprs.collect::<Vec<_>>()).collect()?;
            for c in &unknown {
                let get = |which: &str| -> Result<Option<i64>> {
                    Ok(read
                        .column(&format!("{which} {c}"))?
                        .as_materialized_series()
                        .i64()?
                        .get(0))
                };
                found.push((c, get("min")?.zip(get("max")?)));
            }
        }
        for (c, s) in found {
            let Some((lo, hi)) = s else {
                continue;
            };
            span = Some(span.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            if *kind == TableKind::Orders && c == "ordered_at" {
                ordered = Some((lo, hi));
            }
            if kind.schema().event_ts_columns().any(|e| e == c) {
                latest = Some(latest.map_or(hi, |b| b.max(hi)));
            }
        }
    }
    Ok(Timestamps { latest, span, ordered })
}
