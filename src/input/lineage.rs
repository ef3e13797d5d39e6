//! The lineage columns every loaded frame carries beside the table's own: which file a row came from (an index
//! into `LoadedTable::files`) and its physical row there. Rejects, warnings and evidence name rows by them.

pub const SOURCE_IDX: &str = "_source_idx";
pub const ROW_NUMBER: &str = "_row_number";
