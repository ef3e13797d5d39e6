//! The five input tables of SPEC §1: their columns, types and keys. One module per table holds its schema and
//! the fixes that belong to it alone (e.g. numbering order lines); loading and row checks are shared in `input`.

pub mod cases;
pub mod merchants;
pub mod orders;
pub mod refunds;
pub mod shipments;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TableKind {
    Orders,
    Cases,
    Shipments,
    Refunds,
    Merchants,
}

impl TableKind {
    pub const ALL: [TableKind; 5] = [
        TableKind::Orders,
        TableKind::Cases,
        TableKind::Shipments,
        TableKind::Refunds,
        TableKind::Merchants,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TableKind::Orders => "orders",
            TableKind::Cases => "cases",
            TableKind::Shipments => "shipments",
            TableKind::Refunds => "refunds",
            TableKind::Merchants => "merchants",
        }
    }

    pub fn from_name(s: &str) -> Option<TableKind> {
        TableKind::ALL.into_iter().find(|t| t.name() == s)
    }

    /// The merchants table is optional; the four exports are not.
    pub fn required(self) -> bool {
        self != TableKind::Merchants
    }

    pub fn schema(self) -> &'static TableSchema {
        match self {
            TableKind::Orders => &orders::SCHEMA,
            TableKind::Cases => &cases::SCHEMA,
            TableKind::Shipments => &shipments::SCHEMA,
            TableKind::Refunds => &refunds::SCHEMA,
            TableKind::Merchants => &merchants::SCHEMA,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum ColumnKind {
    /// An identifier: kept as text, surrounding spaces removed.
    Id,
    /// Free text (names, categories, carriers, regions).
    Text,
    /// An integer in `min..=max`.
    Int { min: i64, max: i64 },
    /// A decimal with at most `places` fraction digits (2 for amounts; 4 for unit prices, as catalogues list
    /// £0.001 items), stored as Decimal(18, places); `positive` demands > 0, else ≥ 0; at most [`MAX_MONEY`].
    Money { positive: bool, places: u32 },
    /// A timestamp (see `time::parse_ts`), stored as a UTC instant.
    Ts,
    /// One of the listed lowercase values.
    Enum(&'static [&'static str]),
}

#[derive(Debug)]
pub struct ColumnSpec {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub required: bool,
}

pub const fn spec(name: &'static str, kind: ColumnKind, required: bool) -> ColumnSpec {
    ColumnSpec { name, kind, required }
}

#[derive(Debug)]
pub struct TableSchema {
    pub table: &'static str,
    pub columns: &'static [ColumnSpec],
    /// Columns whose values together must not repeat.
    pub key: &'static [&'static str],
}

impl TableSchema {
    pub fn column(&self, name: &str) -> Option<&ColumnSpec> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn ts_columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().filter(|c| c.kind == ColumnKind::Ts).map(|c| c.name)
    }

    /// Timestamps of things that happened. `promised_at` is a promised deadline, which may lie after the export
    /// moment: it neither sets the default as_of nor is warned as after_as_of.
    pub fn event_ts_columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ts_columns().filter(|c| *c != "promised_at")
    }
}

/// Largest quantity on a line or a case: far beyond any real order, so that a typo (an id in the quantity column)
/// is rejected instead of multiplying a merchant's sales.
pub const MAX_QTY: i64 = 1_000_000;
/// Largest unit price or refund amount, in currency units: beyond anything sold through an after-sales desk, so a
/// typo (an order id pasted into the amount) is rejected instead of poisoning GMV and refund totals.
pub const MAX_MONEY: i128 = 100_000_000;
/// Longest text or id cell, in bytes: a longer one is not data (a whole file pasted into a cell, a runaway quote).
pub const MAX_CELL_BYTES: usize = 64 * 1024;
