//! The spike detector's entity weeks by hand: one row per (key, week) that sold anything, of one level (merchant
//! or sku), with the week's sums, the sums over the entity's previous B weeks and the entity's category.
//!
//! Why not polars: at the sku level almost every weekly sum of sold lines is an (sku, week) of its own (1.45 M sums
//! → 1.33 M rows at scale 10), so the level is a grouping, a join of the early returns, a sort and a rolling sum
//! over a million rows keyed by text — most of the spike stage's time. Here the key is hashed once per sum into a
//! dense id in key order, each (id, week) is a slot of a dense array (a few dozen weeks per key), and reading the
//! slots in order gives the rows already in (key, week) order, where the trailing sums are a running window.
//! [`entity_weeks`] declines (returns None) inputs it is not built for — a null key, week or category, another
//! column type, a dense array too large — and the caller uses polars, which gives the same rows (tests check both).
//!
//! Output columns, in (key, week) order: `key` (the key's text), `_by` (key rank × `stride` + week_code: the order
//! as one integer), `_week` (week_code), n, units_sold, r, r_carrier, units_returned (0 when nothing came back),
//! r_b, n_b (Σ r and n over the key's rows in weeks w − b … w − 1; 0 when none), entity_category (the category the
//! key sold most units in, the smallest among equals).

use std::collections::HashMap;

use anyhow::Result;
use polars::prelude::*;

use super::cell_groups::same_string;

/// A string column's one chunk.
type Strings = <StringType as PolarsDataType>::Array;

/// A hash table with polars' fast hasher (no defence against chosen keys is needed for a batch run's own data).
type Table<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// The dense array of (key, week) slots is at most this long (256 MB of u32).
const MAX_SLOTS: usize = 1 << 26;

/// No row of the output.
const NONE: u32 = u32::MAX;

/// What the kernel reads: `sold` (key, category, week_code, n, quantity: the weekly sums of sold lines, possibly
/// more than one row per group) and `early` (key, week_code, r, r_carrier, units_returned: the early weeks).
pub struct Inputs<'a> {
    pub sold: &'a DataFrame,
    pub early: &'a DataFrame,
    /// The level's key column in both: merchant_id or sku.
    pub key: &'a str,
    /// B: the weeks of an entity's own baseline.
    pub baseline_weeks: i64,
    /// The distance between two keys' ranks in `_by`.
    pub stride: i64,
}

/// The entity weeks of one level (see the module docs), or None when the inputs do not suit.
pub fn entity_weeks(i: &Inputs) -> Result<Option<DataFrame>> {
    let (sold, early) = (i.sold, i.early);
    let int64 = [
        ("n", sold),
        ("quantity", sold),
        ("r", early),
        ("r_carrier", early),
        ("units_returned", early),
    ];
    let suits = [(i.key, sold, DataType::String), ("category", sold, DataType::String)]
        .into_iter()
        .chain([(i.key, early, DataType::String)])
        .chain([
            ("week_code", sold, DataType::Int32),
            ("week_code", early, DataType::Int32),
        ])
        .chain(int64.map(|(c, f)| (c, f, DataType::Int64)))
        .all(|(c, f, t)| f.column(c).is_ok_and(|c| c.dtype() == &t && c.null_count() == 0));
    if sold.height() == 0 || !suits {
        return Ok(None);
    }
    let strs = |f: &DataFrame, c: &str| -> Result<StringChunked> { Ok(f.column(c)?.str()?.rechunk().into_owned()) };
    let ints = |f: &DataFrame, c: &str| -> Result<Int64Chunked> { Ok(f.column(c)?.i64()?.rechunk().into_owned()) };
    let weeks = |f: &DataFrame| -> Result<Int32Chunked> { Ok(f.column("week_code")?.i32()?.rechunk().into_owned()) };
    let (keys, cats, sold_weeks) = (strs(sold, i.key)?, strs(sold, "category")?, weeks(sold)?);
    let (n, quantity) = (ints(sold, "n")?, ints(sold, "quantity")?);
    let key_arr = keys.downcast_iter().next().expect("one chunk");
    let cat_arr = cats.downcast_iter().next().expect("one chunk");
    let (n, quantity, sold_week) = (n.cont_slice()?, quantity.cont_slice()?, sold_weeks.cont_slice()?);

    // Each sold row's key id, numbered in order of first appearance, and each id's first row.
    let mut ids = KeyIds::default();
    let id_of: Vec<u32> = (0..sold.height()).map(|row| ids.id(key_arr, row)).collect();
    // Ranks in key order: a byte order of the text, as polars sorts strings.
    let mut by_text: Vec<u32> = (0..ids.first_row.len() as u32).collect();
    by_text.sort_unstable_by(|&a, &b| {
        key_arr
            .value(ids.first_row[a as usize])
            .cmp(key_arr.value(ids.first_row[b as usize]))
    });
    let mut rank = vec![0u32; by_text.len()];
    for (r, &id) in by_text.iter().enumerate() {
        rank[id as usize] = r as u32;
    }

    let (w0, w1) = sold_week
        .iter()
        .fold((i32::MAX, i32::MIN), |(lo, hi), &w| (lo.min(w), hi.max(w)));
    let span = (w1 as i64 - w0 as i64 + 1) as usize;
    let slots = by_text.len().saturating_mul(span);
    if slots > MAX_SLOTS {
        return Ok(None);
    }
    let slot = |id: u32, week: i32| rank[id as usize] as usize * span + (week - w0) as usize;

    // Each (key, week) a row, numbered in slot order — (key, week) order — so that everything after reads its
    // rows in sequence: the slots that sold anything are marked first, then numbered.
    let mut row_at = vec![NONE; slots];
    for (&id, &week) in id_of.iter().zip(sold_week) {
        row_at[slot(id, week)] = 0;
    }
    let (mut row_rank, mut row_week) = (Vec::new(), Vec::new());
    for (at, row) in row_at.iter_mut().enumerate() {
        if *row != NONE {
            *row = row_rank.len() as u32;
            row_rank.push((at / span) as u32);
            row_week.push(w0 + (at % span) as i32);
        }
    }
    let rows = row_rank.len();
    let mut sums = vec![[0i64; 5]; rows]; // n, units_sold, r, r_carrier, units_returned
    for (line, (&id, &week)) in id_of.iter().zip(sold_week).enumerate() {
        let s = &mut sums[row_at[slot(id, week)] as usize];
        s[0] += n[line];
        s[1] += quantity[line];
    }
    // The early returns of a (key, week) that sold nothing are not an entity week (as in a left join from sold).
    let (early_keys, early_weeks) = (strs(early, i.key)?, weeks(early)?);
    let early_arr = early_keys.downcast_iter().next().expect("one chunk");
    let early_week = early_weeks.cont_slice()?;
    let came_back = ["r", "r_carrier", "units_returned"]
        .map(|c| ints(early, c))
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
    let came_back: Vec<&[i64]> = came_back.iter().map(|c| c.cont_slice()).collect::<PolarsResult<_>>()?;
    for line in 0..early.height() {
        let week = early_week[line];
        let Some(id) = ids.find(early_arr, line) else {
            continue;
        };
        if week < w0 || week > w1 {
            continue;
        }
        let at = row_at[slot(id, week)];
        if at != NONE {
            for (k, c) in came_back.iter().enumerate() {
                sums[at as usize][2 + k] += c[line];
            }
        }
    }
    drop(row_at);

    // Each row's trailing sums over its key's previous b weeks: a window that moves forward with the rows of one
    // key.
    let mut trailing = vec![[0i64; 2]; rows]; // r_b, n_b
    let (mut lo, mut sum_r, mut sum_n) = (0usize, 0i64, 0i64);
    for at in 0..rows {
        if at == 0 || row_rank[at - 1] != row_rank[at] {
            (lo, sum_r, sum_n) = (at, 0, 0);
        } else {
            (sum_r, sum_n) = (sum_r + sums[at - 1][2], sum_n + sums[at - 1][0]);
        }
        while (row_week[lo] as i64) < row_week[at] as i64 - i.baseline_weeks {
            (sum_r, sum_n) = (sum_r - sums[lo][2], sum_n - sums[lo][0]);
            lo += 1;
        }
        trailing[at] = [sum_r, sum_n];
    }

    // The text of each key and of its category, gathered once per key, then once per row from those few.
    let category_row = entity_categories(&ids, &id_of, cat_arr, quantity);
    let idx = |v: Vec<IdxSize>| IdxCa::from_vec("".into(), v);
    let per_key = |of_id: &dyn Fn(usize) -> IdxSize| idx(by_text.iter().map(|&id| of_id(id as usize)).collect());
    let per_row = idx(row_rank.iter().map(|&r| r as IdxSize).collect());
    let key_col = keys
        .take(&per_key(&|id| ids.first_row[id] as IdxSize))?
        .take(&per_row)?
        .with_name(i.key.into());
    let cat_col = cats
        .take(&per_key(&|id| category_row[id]))?
        .take(&per_row)?
        .with_name("entity_category".into());
    let by: Vec<i64> = row_rank
        .iter()
        .zip(&row_week)
        .map(|(&r, &w)| r as i64 * i.stride + w as i64)
        .collect();
    let sum =
        |name: &str, k: usize| Int64Chunked::from_vec(name.into(), sums.iter().map(|s| s[k]).collect()).into_column();
    let base = |name: &str, k: usize| {
        Int64Chunked::from_vec(name.into(), trailing.iter().map(|t| t[k]).collect()).into_column()
    };
    let columns = vec![
        key_col.into_column(),
        Int64Chunked::from_vec("_by".into(), by).into_column(),
        Int32Chunked::from_vec("_week".into(), row_week).into_column(),
        sum("n", 0),
        sum("units_sold", 1),
        sum("r", 2),
        sum("r_carrier", 3),
        sum("units_returned", 4),
        base("r_b", 0),
        base("n_b", 1),
        cat_col.into_column(),
    ];
    Ok(Some(DataFrame::new(rows, columns)?))
}

/// Key ids by text: a key of up to 12 bytes is found by its view (the string itself, see `same_string`), a longer
/// one by its bytes.
#[derive(Default)]
struct KeyIds<'a> {
    short: Table<u128, u32>,
    long: Table<&'a [u8], u32>,
    /// Each id's first row in the array the ids were made from.
    first_row: Vec<usize>,
}

impl<'a> KeyIds<'a> {
    /// The id of row `row`'s key in `keys` (the array the ids are made from), a new one when unseen.
    fn id(&mut self, keys: &'a Strings, row: usize) -> u32 {
        let next = self.first_row.len() as u32;
        let view = keys.views()[row];
        let id = if view.length <= 12 {
            *self.short.entry(view.as_u128()).or_insert(next)
        } else {
            *self.long.entry(keys.value(row).as_bytes()).or_insert(next)
        };
        if id == next {
            self.first_row.push(row);
        }
        id
    }

    /// The id of row `row`'s key in another array `keys`, if the ids hold it.
    fn find(&self, keys: &Strings, row: usize) -> Option<u32> {
        let view = keys.views()[row];
        if view.length <= 12 {
            self.short.get(&view.as_u128()).copied()
        } else {
            self.long.get(keys.value(row).as_bytes()).copied()
        }
    }
}

/// Per key id, a sold row holding the key's category: the one it sold most units in (the smallest among equals).
/// A key's rows almost always share one category: a row whose category is that of the key's first row adds to the
/// key's own total, any other goes through a table of (key, category).
fn entity_categories(ids: &KeyIds, id_of: &[u32], cats: &Strings, quantity: &[i64]) -> Vec<IdxSize> {
    let mut own = vec![0i64; ids.first_row.len()];
    let mut others: Table<(u32, &[u8]), (i64, usize)> = HashMap::default();
    for (row, &id) in id_of.iter().enumerate() {
        if same_string(cats, row, ids.first_row[id as usize]) {
            own[id as usize] += quantity[row];
        } else {
            others.entry((id, cats.value(row).as_bytes())).or_insert((0, row)).0 += quantity[row];
        }
    }
    let mut best: Vec<(i64, usize)> = ids.first_row.iter().zip(&own).map(|(&row, &q)| (q, row)).collect();
    for ((id, cat), (q, row)) in others {
        let b = &mut best[id as usize];
        if q > b.0 || (q == b.0 && cat < cats.value(b.1).as_bytes()) {
            *b = (q, row);
        }
    }
    best.into_iter().map(|(_, row)| row as IdxSize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sold weeks 1, 2, 5, 12, 13 of sku "a" (week 5 in two rows, as a week across two months is) and week 3 of
    /// "b"; early returns for a@2, a@5, b@3 and b@4 (b sold nothing in week 4: dropped). Baseline of 8 weeks, the
    /// weeks w − 8 … w − 1. Worked by hand: a@2 ← a@1; a@5 ← a@1, a@2; a@12 (weeks 4–11) ← a@5; a@13 (5–12) ← a@5,
    /// a@12; b@3 ← none. "a" sold 1 + 1 + 2 units as shoes and 1 + 2 + 1 as bags (a tie: bags, the smaller, though
    /// its first row is shoes); "b" is toys.
    fn inputs() -> (DataFrame, DataFrame) {
        let sold = df![
            "sku" => ["a", "b", "a", "a", "a", "a", "a"],
            "category" => ["shoes", "toys", "bags", "shoes", "bags", "bags", "shoes"],
            "week_code" => [12i32, 3, 1, 5, 5, 2, 13],
            "n" => [40i64, 90, 10, 20, 10, 20, 50],
            "quantity" => [1i64, 9, 1, 1, 2, 1, 2],
        ]
        .unwrap();
        let early = df![
            "sku" => ["b", "a", "a", "b"],
            "week_code" => [3i32, 2, 5, 4],
            "r" => [9i64, 2, 3, 7],
            "r_carrier" => [1i64, 0, 1, 0],
            "units_returned" => [9i64, 2, 4, 7],
        ]
        .unwrap();
        (sold, early)
    }

    fn run(sold: &DataFrame, early: &DataFrame) -> Option<DataFrame> {
        let i = Inputs {
            sold,
            early,
            key: "sku",
            baseline_weeks: 8,
            stride: 1000,
        };
        entity_weeks(&i).unwrap()
    }

    fn i64s(df: &DataFrame, c: &str) -> Vec<i64> {
        df.column(c).unwrap().i64().unwrap().iter().flatten().collect()
    }

    #[test]
    fn an_entity_week_holds_its_sums_and_the_sums_of_its_own_previous_eight_weeks() {
        let (sold, early) = inputs();
        let out = run(&sold, &early).expect("these inputs suit the kernel");
        let strs = |c: &str| -> Vec<String> {
            out.column(c)
                .unwrap()
                .str()
                .unwrap()
                .iter()
                .map(|v| v.unwrap().to_string())
                .collect()
        };
        assert_eq!(strs("sku"), ["a", "a", "a", "a", "a", "b"]);
        assert_eq!(i64s(&out, "_by"), [1, 2, 5, 12, 13, 1003]);
        assert_eq!(i64s(&out, "n"), [10, 20, 30, 40, 50, 90]);
        assert_eq!(i64s(&out, "r"), [0, 2, 3, 0, 0, 9]);
        assert_eq!(i64s(&out, "r_carrier"), [0, 0, 1, 0, 0, 1]);
        assert_eq!(i64s(&out, "units_returned"), [0, 2, 4, 0, 0, 9]);
        assert_eq!(i64s(&out, "r_b"), [0, 0, 2, 3, 3, 0]);
        assert_eq!(i64s(&out, "n_b"), [0, 10, 30, 30, 70, 0]);
        assert_eq!(
            strs("entity_category"),
            ["bags", "bags", "bags", "bags", "bags", "toys"]
        );
    }

    #[test]
    fn a_null_key_or_codes_of_another_type_are_left_to_polars() {
        let (mut sold, early) = inputs();
        sold.with_column(Column::new(
            "sku".into(),
            [Some("a"), None, Some("a"), Some("a"), Some("a"), Some("a"), Some("a")],
        ))
        .unwrap();
        assert!(run(&sold, &early).is_none(), "a null sku");
        let (mut sold, early) = inputs();
        sold.with_column(Column::new("week_code".into(), [12i64, 3, 1, 5, 5, 2, 13]))
            .unwrap();
        assert!(run(&sold, &early).is_none(), "Int64 week codes");
    }
}
