//! refunds — one row per refund payment.

use super::{ColumnKind::*, ColumnSpec, TableSchema, spec};

pub const METHODS: &[&str] = &["original_route", "platform_balance", "third_party"];
pub const STATUSES: &[&str] = &["pending", "completed", "failed"];

pub static COLUMNS: [ColumnSpec; 9] = [
    spec("refund_id", Id, true),
    spec("case_id", Id, false),
    spec("order_id", Id, true),
    spec("merchant_id", Id, true),
    spec(
        "amount",
        Money {
            positive: true,
            places: 2,
        },
        true,
    ),
    spec("method", Enum(METHODS), false),
    spec("approved_at", Ts, true),
    spec("refunded_at", Ts, false),
    spec("status", Enum(STATUSES), true),
];

pub static SCHEMA: TableSchema = TableSchema {
    table: "refunds",
    columns: &COLUMNS,
    key: &["refund_id"],
};

pub const ORDERED_PAIRS: &[(&str, &str)] = &[("approved_at", "refunded_at")];
