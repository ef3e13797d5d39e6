//! merchants — optional, one row per merchant (names are often Chinese).

use super::{ColumnKind::*, ColumnSpec, TableSchema, spec};

pub static COLUMNS: [ColumnSpec; 3] = [
    spec("merchant_id", Id, true),
    spec("merchant_name", Text, false),
    spec("primary_category", Text, false),
];

pub static SCHEMA: TableSchema = TableSchema {
    table: "merchants",
    columns: &COLUMNS,
    key: &["merchant_id"],
};
