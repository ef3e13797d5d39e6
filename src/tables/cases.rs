//! cases — one row per after-sales case (售后单).

use super::{ColumnKind::*, ColumnSpec, MAX_QTY, TableSchema, spec};

pub const CASE_TYPES: &[&str] = &[
    "return",
    "exchange",
    "refund_only",
    "repair",
    "complaint",
    "damage_claim",
    "loss_claim",
];
pub const REASON_CODES: &[&str] = &[
    "quality_defect",
    "not_as_described",
    "wrong_item",
    "missing_parts",
    "damaged_in_transit",
    "lost_in_transit",
    "late_delivery",
    "size_fit",
    "changed_mind",
    "other",
];
pub const CHANNELS: &[&str] = &["app", "web", "wechat", "phone", "chat", "other"];
pub const DECISIONS: &[&str] = &["approved", "rejected"];
pub const INSPECTION_RESULTS: &[&str] = &["defect_confirmed", "no_defect", "buyer_damage"];
pub const DISPUTE_OUTCOMES: &[&str] = &["buyer_favoured", "merchant_favoured", "settled"];
pub const STATUSES: &[&str] = &["open", "closed", "cancelled"];

pub static COLUMNS: [ColumnSpec; 22] = [
    spec("case_id", Id, true),
    spec("order_id", Id, true),
    spec("sku", Id, true),
    spec("merchant_id", Id, true),
    spec("case_type", Enum(CASE_TYPES), true),
    spec("reason_code", Enum(REASON_CODES), true),
    // Absent or empty means 1 unit (SPEC §1).
    spec("quantity", Int { min: 1, max: MAX_QTY }, false),
    spec("channel", Enum(CHANNELS), false),
    spec("opened_at", Ts, true),
    spec("merchant_ack_at", Ts, false),
    spec("first_response_at", Ts, false),
    spec("decided_at", Ts, false),
    spec("decision", Enum(DECISIONS), false),
    spec("return_received_at", Ts, false),
    spec("inspected_at", Ts, false),
    spec("inspection_result", Enum(INSPECTION_RESULTS), false),
    spec("escalated_at", Ts, false),
    spec("dispute_outcome", Enum(DISPUTE_OUTCOMES), false),
    spec("resolved_at", Ts, false),
    spec("closed_at", Ts, false),
    spec("status", Enum(STATUSES), true),
    spec("satisfaction", Int { min: 1, max: 5 }, false),
];

pub static SCHEMA: TableSchema = TableSchema {
    table: "cases",
    columns: &COLUMNS,
    key: &["case_id"],
};

/// (start, stop) pairs whose stop must not come before the start; each is a data-quality warning when it does.
pub const ORDERED_PAIRS: &[(&str, &str)] = &[
    ("opened_at", "merchant_ack_at"),
    ("opened_at", "first_response_at"),
    ("opened_at", "decided_at"),
    ("opened_at", "escalated_at"),
    ("opened_at", "resolved_at"),
    ("opened_at", "closed_at"),
    ("return_received_at", "inspected_at"),
];

use polars::prelude::*;

/// A case without a quantity concerns 1 unit (SPEC §1).
pub fn apply_defaults(df: DataFrame) -> PolarsResult<DataFrame> {
    df.lazy().with_column(col("quantity").fill_null(lit(1i64))).collect()
}
