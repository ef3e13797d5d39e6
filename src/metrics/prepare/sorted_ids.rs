//! Which order lines belong to an order with a case or a refund, decided by walking two sorted lists rather than
//! by a hash join.
//!
//! Why: preparation keeps the order lines whose order_id is among the cases' and refunds' (about one line in six).
//! As a polars semi join that is a probe of a hash table of every distinct order id for each line, each probe a
//! cache miss: most of the time of reading the lines, more than decoding their columns. Order exports are sorted by
//! order_id (or nearly: in runs), so each line's id is
//! compared with the sorted ids from where the previous line's search ended — a merge, in cache. Rows out of
//! order cost a binary search instead, so the answer never depends on the order; only the speed does.

use polars::prelude::*;

/// The distinct non-null values of string columns, sorted by their bytes (as polars sorts strings).
#[derive(Debug, Default)]
pub struct SortedIds {
    bytes: Vec<u8>,
    /// `ends[i]` is where the i-th id ends in `bytes` (it starts where the one before ends).
    ends: Vec<usize>,
}

impl SortedIds {
    /// The distinct non-null values of `columns` (String columns).
    pub fn new(columns: &[&StringChunked]) -> SortedIds {
        let mut all: Vec<&[u8]> = columns
            .iter()
            .flat_map(|c| c.downcast_iter())
            .flat_map(|a| a.iter().flatten().map(str::as_bytes))
            .collect();
        // Exports of cases and refunds are usually in order already: then sorting is only checked.
        if !all.is_sorted() {
            all.sort_unstable();
        }
        all.dedup();
        let mut ids = SortedIds {
            bytes: Vec::with_capacity(all.iter().map(|b| b.len()).sum()),
            ends: Vec::with_capacity(all.len()),
        };
        for b in all {
            ids.bytes.extend_from_slice(b);
            ids.ends.push(ids.bytes.len());
        }
        ids
    }

    /// The number of ids.
    pub(super) fn len(&self) -> usize {
        self.ends.len()
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// The position of the first id ≥ `v` at or after `from`, searched from `from` by doubling steps then halving
    /// (a walk of a step or two when `v` is close to the id at `from`, as in a merge).
    fn seek(&self, from: usize, v: &[u8]) -> usize {
        let n = self.len();
        if from >= n || self.get(from) >= v {
            return from;
        }
        // get(lo) < v; find hi with get(hi) ≥ v (or n).
        let (mut lo, mut step) = (from, 1);
        let mut hi = loop {
            let next = lo + step;
            if next >= n {
                break n;
            }
            if self.get(next) >= v {
                break next;
            }
            lo = next;
            step *= 2;
        };
        // get(lo) < v ≤ get(hi)
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid) < v {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }

    /// Calls `f` with each row's place among the ids (None: a null, or a value that is not one of them). Rows in
    /// ascending order are found by walking forward from the previous row's place; a row smaller than the one
    /// before it starts again from the first id.
    fn walk(&self, column: &StringChunked, mut f: impl FnMut(Option<usize>)) {
        let mut at = 0usize;
        let mut previous: Option<&[u8]> = None;
        for a in column.downcast_iter() {
            for v in a.iter() {
                let Some(v) = v.map(str::as_bytes) else {
                    f(None);
                    continue;
                };
                if previous.is_some_and(|p| v < p) {
                    at = 0;
                }
                at = self.seek(at, v);
                f((at < self.len() && self.get(at) == v).then_some(at));
                previous = Some(v);
            }
        }
    }

    /// For each row of `column`, whether its value is one of the ids (a null: false).
    pub fn contains(&self, column: &StringChunked) -> BooleanChunked {
        let mut out: Vec<bool> = Vec::with_capacity(column.len());
        self.walk(column, |at| out.push(at.is_some()));
        BooleanChunked::from_slice(column.name().clone(), &out)
    }

    /// For each row of `column`, its value's place among the ids.
    pub fn places(&self, column: &StringChunked) -> Vec<Option<u32>> {
        let mut out = Vec::with_capacity(column.len());
        self.walk(column, |at| out.push(at.map(|a| a as u32)));
        out
    }
}

/// A boolean expression: whether `column` (a String column) holds one of `ids`. Evaluated per batch, so the
/// streaming engine can apply it while it reads.
pub fn is_in_sorted(column: Expr, ids: std::sync::Arc<SortedIds>) -> Expr {
    column.map(
        move |c| Ok(ids.contains(c.str()?).into_column()),
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(values: &[Option<&str>]) -> StringChunked {
        StringChunked::from_iter_options("id".into(), values.iter().copied())
    }

    #[test]
    fn ids_are_distinct_and_sorted_by_bytes_across_columns() {
        let a = chunked(&[Some("O3"), Some("O1"), None, Some("O3")]);
        let b = chunked(&[Some("O2"), Some("O10"), Some("O1")]);
        let ids = SortedIds::new(&[&a, &b]);
        let got: Vec<&[u8]> = (0..ids.len()).map(|i| ids.get(i)).collect();
        // "O10" sorts before "O2" by bytes.
        assert_eq!(got, vec![&b"O1"[..], b"O10", b"O2", b"O3"]);
    }

    #[test]
    fn membership_of_sorted_rows_with_repeats_and_gaps() {
        let ids = SortedIds::new(&[&chunked(&[Some("O02"), Some("O05"), Some("O09")])]);
        let rows = chunked(&[
            Some("O01"),
            Some("O02"),
            Some("O02"),
            Some("O03"),
            Some("O05"),
            Some("O08"),
            Some("O09"),
            Some("O10"),
            Some("O11"),
        ]);
        let got: Vec<bool> = ids.contains(&rows).iter().map(Option::unwrap).collect();
        assert_eq!(got, [false, true, true, false, true, false, true, false, false]);
    }

    #[test]
    fn rows_out_of_order_and_nulls_get_the_same_answer() {
        let ids = SortedIds::new(&[&chunked(&[Some("b"), Some("d"), Some("f")])]);
        let rows = chunked(&[
            Some("f"),
            Some("a"),
            None,
            Some("d"),
            Some("b"),
            Some("e"),
            Some("b"),
            Some("g"),
        ]);
        let got: Vec<bool> = ids.contains(&rows).iter().map(Option::unwrap).collect();
        assert_eq!(got, [true, false, false, true, true, false, true, false]);
    }

    #[test]
    fn no_ids_match_nothing() {
        let ids = SortedIds::new(&[&chunked(&[None])]);
        assert_eq!(ids.len(), 0);
        let got: Vec<bool> = ids
            .contains(&chunked(&[Some("a"), None]))
            .iter()
            .map(Option::unwrap)
            .collect();
        assert_eq!(got, [false, false]);
    }

    /// The same answer as a plain search for every row, with ids far apart (the walk takes long steps) and every
    /// other row out of order.
    #[test]
    fn agrees_with_a_plain_search_on_long_jumps_and_rows_out_of_order() {
        let ids: Vec<String> = (0..2000)
            .filter(|i| i % 7 == 0 || i % 97 == 3)
            .map(|i| format!("O{i:06}"))
            .collect();
        let rows: Vec<String> = (0..2000)
            .flat_map(|i| [format!("O{i:06}"), format!("O{:06}", (i * 31) % 2000)])
            .collect();
        let ids_c = StringChunked::from_iter_values("id".into(), ids.iter().map(String::as_str));
        let rows_c = StringChunked::from_iter_values("id".into(), rows.iter().map(String::as_str));
        let set = SortedIds::new(&[&ids_c]);
        let ours: Vec<bool> = set.contains(&rows_c).iter().map(Option::unwrap).collect();
        let expected: Vec<bool> = rows.iter().map(|r| ids.contains(r)).collect();
        assert_eq!(ours, expected);
        assert_eq!(
            ours.iter().filter(|b| **b).count(),
            expected.iter().filter(|b| **b).count()
        );
    }
}
