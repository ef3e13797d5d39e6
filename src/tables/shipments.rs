//! shipments — one row per parcel leg (forward, return, replacement).

use super::{ColumnKind::*, ColumnSpec, TableSchema, spec};

pub const DIRECTIONS: &[&str] = &["forward", "return", "replacement"];
pub const OUTCOMES: &[&str] = &["delivered", "damaged", "lost", "returned_to_sender", "in_transit"];

pub static COLUMNS: [ColumnSpec; 11] = [
    spec("shipment_id", Id, true),
    spec("order_id", Id, true),
    spec("case_id", Id, false),
    spec("direction", Enum(DIRECTIONS), true),
    spec("carrier", Text, true),
    spec("origin_region", Text, false),
    spec("dest_region", Text, false),
    spec("shipped_at", Ts, true),
    spec("promised_at", Ts, false),
    spec("delivered_at", Ts, false),
    spec("outcome", Enum(OUTCOMES), true),
];

pub static SCHEMA: TableSchema = TableSchema {
    table: "shipments",
    columns: &COLUMNS,
    key: &["shipment_id"],
};

pub const ORDERED_PAIRS: &[(&str, &str)] = &[("shipped_at", "delivered_at"), ("shipped_at", "promised_at")];
