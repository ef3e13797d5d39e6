//! Hand-written kernels that beat polars on the hot paths, each behind a small interface so the family reads like
//! its spec: `cell_groups` groups a quarter's rows into cells by hand (polars row-encodes and hashes the five-column
//! key on every row); `first_of_order` marks an order's first row in a group without hash sets of order ids;
//! `order_cells` composes the two into return_rates' cells, whose sums roll up to every group; `entity_weeks` makes
//! the spike detector's (key, week) rows and their trailing baselines from the weekly sums, keyed by dense ids
//! instead of text. BENCHMARKS.md ("kept optimisations") says what each bought.

pub mod cell_groups;
pub mod entity_weeks;
pub mod first_of_order;
pub mod order_cells;
