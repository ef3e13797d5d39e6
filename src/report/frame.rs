//! Small readers that take columns out of an output table into plain vectors for charts and the report. A missing
//! column is an error naming the table, because it means the table and the report disagree.

use anyhow::{Context, Result, anyhow};
use polars::prelude::*;

pub struct Table<'a> {
    pub name: &'a str,
    pub df: DataFrame,
}

impl<'a> Table<'a> {
    pub fn find(tables: &'a [(&'static str, DataFrame)], name: &'a str) -> Result<Table<'a>> {
        let df = tables
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| d.clone())
            .with_context(|| format!("the report needs table {name}, which was not computed"))?;
        Ok(Table { name, df })
    }

    /// The rows where every `(column, value)` string equality holds.
    pub fn rows(&self, eq: &[(&str, &str)]) -> Result<Table<'a>> {
        let mut lf = self.df.clone().lazy();
        for (c, v) in eq {
            lf = lf.filter(col(*c).eq(lit(*v)));
        }
        let df = lf
            .collect()
            .map_err(|e| anyhow!("filtering {} by {eq:?}: {e}", self.name))?;
        Ok(Table { name: self.name, df })
    }

    pub fn height(&self) -> usize {
        self.df.height()
    }

    fn column(&self, c: &str, to: DataType) -> Result<Series> {
        let s = self
            .df
            .column(c)
            .map_err(|_| anyhow!("table {} has no column {c}", self.name))?
            .as_materialized_series()
            .cast(&to)
            .map_err(|e| anyhow!("table {} column {c} as {to}: {e}", self.name))?;
        Ok(s)
    }

    pub fn f64s(&self, c: &str) -> Result<Vec<Option<f64>>> {
        Ok(self.column(c, DataType::Float64)?.f64()?.iter().collect())
    }

    pub fn i64s(&self, c: &str) -> Result<Vec<Option<i64>>> {
        Ok(self.column(c, DataType::Int64)?.i64()?.iter().collect())
    }

    pub fn bools(&self, c: &str) -> Result<Vec<Option<bool>>> {
        Ok(self.column(c, DataType::Boolean)?.bool()?.iter().collect())
    }

    /// Any column as text: decimals keep their exact digits (`1234.50`), dates print as `2026-09-07`.
    pub fn strs(&self, c: &str) -> Result<Vec<Option<String>>> {
        Ok(self
            .column(c, DataType::String)?
            .str()?
            .iter()
            .map(|v| v.map(str::to_string))
            .collect())
    }

    /// A list-of-strings column.
    pub fn lists(&self, c: &str) -> Result<Vec<Vec<String>>> {
        let s = self
            .df
            .column(c)
            .map_err(|_| anyhow!("table {} has no column {c}", self.name))?
            .as_materialized_series()
            .clone();
        let l = s
            .list()
            .map_err(|_| anyhow!("table {} column {c} is not a list", self.name))?;
        let mut out = Vec::with_capacity(l.len());
        for v in l.series_iter() {
            let mut items = Vec::new();
            if let Some(inner) = v {
                for x in inner.str()?.iter().flatten() {
                    items.push(x.to_string());
                }
            }
            out.push(items);
        }
        Ok(out)
    }

    /// The single value of a column in a one-row selection; None when there is no row.
    pub fn one_f64(&self, c: &str) -> Result<Option<f64>> {
        Ok(self.f64s(c)?.into_iter().next().flatten())
    }

    pub fn one_str(&self, c: &str) -> Result<Option<String>> {
        Ok(self.strs(c)?.into_iter().next().flatten())
    }
}
