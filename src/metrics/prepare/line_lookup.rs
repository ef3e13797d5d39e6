//! How a case and a refund find their order line (docs/tables.md): a case the lowest line_no of its (order_id,
//! sku), a refund its case's line, or else the lowest line_no of its order. Worked out by hand on the touched
//! lines (the lines of orders with a case or a refund) grouped by order.
//!
//! Why not joins: as polars plans this was an inner join of the cases with the touched lines on order_id, a sort
//! and a unique per case, a join back by line number, a group_by of the touched lines by order_id for each order's
//! first line and a join of the refunds with it — most of preparation's time, nearly all of it hashing order ids.
//! Here every order's lines are a range of rows, found by its
//! place among the sorted ids ([`SortedIds`]), and a case looks through its order's few lines.

use std::sync::Arc;

use anyhow::{Context, Result, bail};
use polars::prelude::*;

use super::sorted_ids::SortedIds;

/// The lines of orders with a case or a refund, grouped by order, with each order's range of rows.
pub struct TouchedLines {
    /// The order lines (at least order_id, line_no, sku), the rows of an order together and in the order of the
    /// ids; within an order, in the order they were read.
    pub lines: DataFrame,
    ids: Arc<SortedIds>,
    /// Each line's line_no, read once for both lookups.
    line_no: Vec<i64>,
    /// The rows of the i-th id's order are `starts[i]..starts[i + 1]` (empty for an order without lines).
    starts: Vec<IdxSize>,
}

impl TouchedLines {
    /// `lines`: order lines whose order_id is among `ids`, in any order.
    pub fn new(lines: DataFrame, ids: Arc<SortedIds>) -> Result<TouchedLines> {
        let places = ids.places(lines.column("order_id")?.str()?);
        let mut counts = vec![0 as IdxSize; ids.len() + 1];
        let mut grouped = true;
        let mut last = 0u32;
        for p in &places {
            let Some(p) = *p else {
                bail!("an order line reached the line lookup whose order has no case or refund");
            };
            grouped &= p >= last;
            last = p;
            counts[p as usize + 1] += 1;
        }
        let mut starts = counts;
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let lines = if grouped {
            lines
        } else {
            // Rare (exports list an order's lines together): a stable sort by the order's place.
            let mut next: Vec<IdxSize> = starts[..ids.len()].to_vec();
            let mut order = vec![0 as IdxSize; places.len()];
            for (row, p) in places.iter().enumerate() {
                let p = p.expect("checked above") as usize;
                order[next[p] as usize] = row as IdxSize;
                next[p] += 1;
            }
            lines.take(&IdxCa::from_vec("".into(), order))?
        };
        let line_no = lines
            .column("line_no")?
            .cast(&DataType::Int64)?
            .i64()?
            .iter()
            .map(|v| v.context("an order line without line_no reached the line lookup"))
            .collect::<Result<_>>()?;
        Ok(TouchedLines {
            lines,
            ids,
            line_no,
            starts,
        })
    }

    /// For each order_id row, the rows of its order's lines (empty when the order has none here).
    pub fn order_rows(&self, order_id: &StringChunked) -> Vec<std::ops::Range<usize>> {
        self.ids
            .places(order_id)
            .into_iter()
            .map(|p| p.map_or(0..0, |p| self.rows(p)))
            .collect()
    }

    fn rows(&self, place: u32) -> std::ops::Range<usize> {
        self.starts[place as usize] as usize..self.starts[place as usize + 1] as usize
    }

    /// For each (order_id, sku) row, the row of its line: the lowest line_no of that order with that sku; null
    /// when there is none (or either is null).
    pub fn case_lines(&self, order_id: &StringChunked, sku: &StringChunked) -> Result<IdxCa> {
        let (line_no, line_sku) = (&self.line_no, self.lines.column("sku")?.str()?.rechunk());
        let line_sku = line_sku.downcast_iter().next().expect("one chunk");
        let places = self.ids.places(order_id);
        let mut out: Vec<Option<IdxSize>> = Vec::with_capacity(places.len());
        for (place, sku) in places.into_iter().zip(sku.iter()) {
            let (Some(place), Some(sku)) = (place, sku) else {
                out.push(None);
                continue;
            };
            let mut best: Option<usize> = None;
            for r in self.rows(place) {
                if line_sku.get(r) == Some(sku) && best.is_none_or(|b| line_no[r] < line_no[b]) {
                    best = Some(r);
                }
            }
            out.push(best.map(|r| r as IdxSize));
        }
        Ok(IdxCa::from_iter_options("".into(), out.into_iter()))
    }

    /// For each touched line, the units of its sku the whole order holds (Σ quantity over the order's lines with
    /// that sku): the most units a return of that sku in that order can take back (SPEC §4.1).
    pub fn sku_units_in_order(&self) -> Result<Int64Chunked> {
        let sku = self.lines.column("sku")?.str()?.rechunk();
        let sku = sku.downcast_iter().next().context("one chunk")?;
        let quantity = self.lines.column("quantity")?.cast(&DataType::Int64)?;
        let quantity: Vec<i64> = quantity.i64()?.iter().map(|q| q.unwrap_or(0)).collect();
        let mut out = vec![0i64; self.lines.height()];
        for place in 0..self.ids.len() as u32 {
            let rows = self.rows(place);
            for r in rows.clone() {
                out[r] = rows
                    .clone()
                    .filter(|&o| sku.get(o) == sku.get(r))
                    .map(|o| quantity[o])
                    .sum();
            }
        }
        Ok(Int64Chunked::from_vec("sku_units".into(), out))
    }

    /// For each order_id row, the row of its order's lowest line_no; null when the order has no line.
    pub fn first_lines(&self, order_id: &StringChunked) -> IdxCa {
        let line_no = &self.line_no;
        let first: Vec<Option<IdxSize>> = (0..self.ids.len() as u32)
            .map(|place| self.rows(place).min_by_key(|&r| line_no[r]).map(|r| r as IdxSize))
            .collect();
        let places = self.ids.places(order_id);
        IdxCa::from_iter_options("".into(), places.into_iter().map(|p| p.and_then(|p| first[p as usize])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[Option<&str>]) -> StringChunked {
        StringChunked::from_iter_options("s".into(), values.iter().copied())
    }

    fn rows(ca: &IdxCa) -> Vec<Option<IdxSize>> {
        ca.iter().collect()
    }

    /// O1's lines listed 3, 1, 2 with SKU-A on lines 3 and 2 (the test in tests/metrics_rates.rs), O2's lines on
    /// both sides of O1's, O3 a case's order without lines.
    fn lookup() -> TouchedLines {
        let lines = df![
            "order_id" => ["O2", "O1", "O1", "O1", "O2"],
            "line_no" => [2i64, 3, 1, 2, 1],
            "sku" => ["SKU-C", "SKU-A", "SKU-B", "SKU-A", "SKU-C"],
        ]
        .unwrap();
        let ids = SortedIds::new(&[&strings(&[Some("O1"), Some("O2"), Some("O3")])]);
        TouchedLines::new(lines, Arc::new(ids)).unwrap()
    }

    #[test]
    fn lines_out_of_order_are_grouped_by_order_in_the_order_read() {
        let t = lookup();
        let order: Vec<&str> = t
            .lines
            .column("order_id")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        let line_no: Vec<i64> = t
            .lines
            .column("line_no")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .flatten()
            .collect();
        assert_eq!(order, ["O1", "O1", "O1", "O2", "O2"]);
        assert_eq!(line_no, [3, 1, 2, 2, 1]);
        assert_eq!((t.rows(0), t.rows(1), t.rows(2)), (0..3, 3..5, 5..5));
    }

    #[test]
    fn a_case_reaches_the_lowest_line_of_its_sku_or_none() {
        let t = lookup();
        let order_id = strings(&[
            Some("O1"),
            Some("O1"),
            Some("O2"),
            Some("O1"),
            Some("O3"),
            None,
            Some("O9"),
        ]);
        let sku = strings(&[
            Some("SKU-A"),
            Some("SKU-B"),
            Some("SKU-C"),
            Some("SKU-C"),
            Some("SKU-A"),
            Some("SKU-A"),
            Some("SKU-A"),
        ]);
        // Rows after grouping: O1 line 3 (0), line 1 (1), line 2 (2); O2 line 2 (3), line 1 (4).
        assert_eq!(
            rows(&t.case_lines(&order_id, &sku).unwrap()),
            [Some(2), Some(1), Some(4), None, None, None, None]
        );
        let null_sku = strings(&[None]);
        assert_eq!(rows(&t.case_lines(&strings(&[Some("O1")]), &null_sku).unwrap()), [None]);
    }

    #[test]
    fn a_refund_without_a_case_reaches_the_lowest_line_of_its_order() {
        let t = lookup();
        let order_id = strings(&[Some("O2"), Some("O1"), Some("O3"), None, Some("O1")]);
        assert_eq!(rows(&t.first_lines(&order_id)), [Some(4), Some(1), None, None, Some(1)]);
    }

    /// Gathering by the rows (nulls included) gives the line's columns, or nulls: how preparation puts each case's
    /// line beside it.
    #[test]
    fn gathering_by_a_null_row_gives_nulls() {
        let t = lookup();
        let rows = t
            .case_lines(
                &strings(&[Some("O3"), Some("O2")]),
                &strings(&[Some("SKU-A"), Some("SKU-C")]),
            )
            .unwrap();
        let got = t.lines.take(&rows).unwrap();
        let line_no: Vec<Option<i64>> = got.column("line_no").unwrap().i64().unwrap().iter().collect();
        assert_eq!(line_no, [None, Some(1)]);
    }
}
