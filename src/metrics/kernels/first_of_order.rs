//! Distinct orders per group without `n_unique`: for rows sorted by order (only checked when they already are), an
//! order's first row in a group is found by comparing each row with the rows of its order before it — orders have a
//! few lines, so this is one pass over the rows for every count, where `n_unique(order_id)` holds a hash set of
//! strings per group. An order with more than [`MAX_RUN`] rows makes the caller sort once per grouping instead
//! ([`OrderCount::Sort`], [`first_after_sort`]).
//!
//! Interface: [`by_order`] sorts (or checks) and numbers the rows per order; [`first_of_order_flags`] gives, per
//! grouping, whether each row is its order's first in its group. return_rates sums those flags per cell.

use anyhow::Result;
use polars::prelude::*;

use super::cell_groups::same_string;

/// How to find an order's first row in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OrderCount {
    /// The rows are sorted by order_id, numbered per order in `_order`, and no order has more than this many
    /// rows: a row is its order's first in a group when none of its order's rows before it is of the group.
    Runs(usize),
    /// Some order has more than [`MAX_RUN`] rows: sort by the group's columns within each order instead.
    Long,
}

/// An order with more rows than this makes [`cells`] sort once per period kind and level instead of comparing
/// each row with the rows of its order before it (a cost that grows with the square of an order's rows).
pub(super) const MAX_RUN: usize = 32;

/// The rows sorted by order_id (only checked when they already are) and numbered per order in `_order`, with how
/// to find an order's first row in a group. One pass over the order ids.
pub(super) fn by_order(rows: DataFrame) -> Result<(DataFrame, OrderCount)> {
    // Numbered in one pass over the ids as they are; only when one is smaller than the id before it (byte order,
    // as polars sorts strings) are the rows sorted and numbered again. The column is required: no nulls.
    let number = |rows: &DataFrame| -> Result<Option<(Vec<u32>, usize)>> {
        let ids = rows.column("order_id")?.str()?.rechunk().into_owned();
        if ids.null_count() > 0 {
            return Ok(None);
        }
        let a = ids.downcast_iter().next().expect("one chunk");
        let mut order = Vec::with_capacity(a.len());
        let (mut number, mut run, mut longest) = (0u32, 0usize, 0usize);
        for i in 0..a.len() {
            if i > 0 {
                match a.value(i - 1).cmp(a.value(i)) {
                    std::cmp::Ordering::Less => {
                        number += 1;
                        run = 0;
                    }
                    std::cmp::Ordering::Equal => {}
                    std::cmp::Ordering::Greater => return Ok(None),
                }
            }
            run += 1;
            longest = longest.max(run);
            order.push(number);
        }
        Ok(Some((order, longest)))
    };
    let (mut rows, (order, longest)) = match number(&rows)? {
        Some(n) => (rows, n),
        None => {
            let rows = rows.sort(["order_id"], SortMultipleOptions::default())?;
            match number(&rows)? {
                Some(n) => (rows, n),
                None => anyhow::bail!("order lines without an order_id reached return_rates"),
            }
        }
    };
    rows.with_column(UInt32Chunked::from_vec("_order".into(), order).into_column())?;
    let how = if longest <= MAX_RUN {
        OrderCount::Runs(longest.max(1))
    } else {
        OrderCount::Long
    };
    Ok((rows, how))
}

/// For rows in order runs (`_order`, see [`by_order`]), one boolean column per `(name, same)`: whether the row is
/// the first of its order among the rows that agree with it on the columns `same` (nulls equal to nulls) — and,
/// with `only`, is itself one of the rows with `only` true (`only` is then among `same`, so rows of the other
/// kind do not hide it). The columns' equalities between a row and each earlier row of its order are worked out
/// once for all the flags.
pub(super) fn first_of_order_flags(
    rows: &DataFrame,
    specs: &[(String, Vec<&str>)],
    only: Option<&str>,
) -> Result<Vec<Column>> {
    let mut names: Vec<&str> = Vec::new();
    for (_, same) in specs {
        for c in same {
            if !names.contains(c) {
                names.push(c);
            }
        }
    }
    let held = names
        .iter()
        .map(|c| Held::new(rows.column(c)?))
        .collect::<Result<Vec<_>>>()?;
    let keys: Vec<EqColumn> = held.iter().map(Held::view).collect();
    let masks: Vec<u32> = specs
        .iter()
        .map(|(_, same)| {
            same.iter()
                .map(|c| 1u32 << names.iter().position(|n| n == c).expect("listed above"))
                .fold(0, |a, b| a | b)
        })
        .collect();
    let order = rows.column("_order")?.u32()?.rechunk().into_owned();
    let order = order.cont_slice()?;
    let only: Option<Vec<bool>> = match only {
        Some(c) => Some(rows.column(c)?.bool()?.iter().map(|v| v == Some(true)).collect()),
        None => None,
    };
    // Two halves, split where an order starts, on two threads.
    let n = rows.height();
    let mut mid = n / 2;
    while mid > 0 && mid < n && order[mid] == order[mid - 1] {
        mid += 1;
    }
    let range = |lo: usize, hi: usize| -> Vec<u64> {
        let mut seen_bits = Vec::with_capacity(hi - lo);
        let mut start = lo;
        for i in lo..hi {
            if i > lo && order[i] != order[i - 1] {
                start = i;
            }
            let mut seen = 0u64; // bit f: an earlier row of the order agrees on flag f's columns
            for j in start..i {
                let mut equal = 0u32;
                for (b, k) in keys.iter().enumerate() {
                    if k.eq(i, j) {
                        equal |= 1 << b;
                    }
                }
                for (f, m) in masks.iter().enumerate() {
                    if equal & m == *m {
                        seen |= 1 << f;
                    }
                }
            }
            if only.as_ref().is_some_and(|o| !o[i]) {
                seen = u64::MAX;
            }
            seen_bits.push(seen);
        }
        seen_bits
    };
    let (a, b) = std::thread::scope(|scope| {
        let second = scope.spawn(|| range(mid, n));
        (range(0, mid), second.join().expect("the flags' thread"))
    });
    Ok(specs
        .iter()
        .enumerate()
        .map(|(f, (name, _))| {
            BooleanChunked::from_iter_values(
                name.as_str().into(),
                a.iter().chain(b.iter()).map(|seen| seen & (1 << f) == 0),
            )
            .into_column()
        })
        .collect())
}

/// A column's values held in the form [`EqColumn`] compares.
pub(super) enum Held {
    Int(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Str(StringChunked, Option<Vec<bool>>),
}

impl Held {
    fn new(c: &Column) -> Result<Held> {
        Ok(match c.dtype() {
            DataType::String => {
                let s = c.str()?.rechunk().into_owned();
                let valid = (s.null_count() > 0).then(|| s.iter().map(|v| v.is_some()).collect());
                Held::Str(s, valid)
            }
            DataType::Boolean => Held::Bool(c.bool()?.iter().collect()),
            _ => Held::Int(c.cast(&DataType::Int64)?.i64()?.iter().collect()),
        })
    }

    fn view(&self) -> EqColumn<'_> {
        match self {
            Held::Int(v) => EqColumn::Int(v),
            Held::Bool(v) => EqColumn::Bool(v),
            Held::Str(s, valid) => EqColumn::Str(s.downcast_iter().next().expect("one chunk"), valid.as_deref()),
        }
    }
}

/// A column two rows are compared on.
pub(super) enum EqColumn<'a> {
    Int(&'a [Option<i64>]),
    Bool(&'a [Option<bool>]),
    /// The values and, when some are null, which are not.
    Str(&'a <StringType as PolarsDataType>::Array, Option<&'a [bool]>),
}

impl EqColumn<'_> {
    /// Equal values, or both null.
    #[inline]
    fn eq(&self, i: usize, j: usize) -> bool {
        match self {
            EqColumn::Int(v) => v[i] == v[j],
            EqColumn::Bool(v) => v[i] == v[j],
            EqColumn::Str(a, valid) => {
                if let Some(v) = valid
                    && !(v[i] && v[j])
                {
                    return v[i] == v[j];
                }
                same_string(a, i, j)
            }
        }
    }
}

/// Whether a row is the first of its order among the rows that agree on `same`, when the rows are sorted by
/// `_order` and `same`: it differs from the row before it on one of them (or is the first row).
pub(super) fn first_after_sort(same: &[&str]) -> Expr {
    let equal = |c: &str| col(c).eq_missing(col(c).shift(lit(1i64)));
    same.iter().fold(equal("_order"), |all, c| all.and(equal(c))).not()
}
