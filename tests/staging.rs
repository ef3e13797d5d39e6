//! The staging layer's accounting and messages on small hand-made exports: every raw row is accepted, rejected
//! (naming the raw file, its physical row, the canonical column and the inputs) or filtered under a reason.

mod common;

use aftersales::tables::TableKind;
use common::*;

use common::load_with_config as load;

const ORDERS: &str = r#"
[lookups.cat]
path = "cat.csv"
key = "sku"

[[tables.orders.sources]]
path = "export.csv"
clean = ["excel_guard", "numbers"]
[tables.orders.sources.columns]
order_id = "单号"
sku = "编码"
quantity = "数量"
unit_price = { sql = """CAST("金额" AS DOUBLE) / CAST("数量" AS DOUBLE)""" }
ordered_at = "时间"
merchant_id = { value = "shop-1" }
category = { lookup = "cat", key = "编码" }
[[tables.orders.sources.skip]]
reason = "unpaid"
when = """"状态" = '未付款'"""
"#;

#[test]
fn a_row_staging_cannot_finish_is_rejected_alone_with_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cat.csv"), "sku,category\nA,家电\nB,服饰\n").unwrap();
    std::fs::write(
        dir.path().join("export.csv"),
        "单号,编码,数量,金额,时间,状态\n\
         =\"1001\",A,2,\"1,000.00\",2026-08-03 09:05,已付款\n\
         1002,A,2,abc,2026-08-03 09:06,已付款\n\
         1003,Z,1,5.00,2026-08-03 09:07,已付款\n\
         1004,B,1,5.00,2026-08-03 09:08,未付款\n\
         1005,B,1,\"5.00,2026-08-03 09:09,已付款\n\
         1006,B,3,30.00,2026-08-03 09:10,已付款\n",
    )
    .unwrap();
    let t = load(dir.path(), ORDERS, TableKind::Orders).unwrap();
    // 6 data lines (2–7): 2 accepted (1001, 1006), 3 rejected, 1 filtered.
    assert_eq!(
        (t.rows_read(), t.rows_accepted(), t.rows_rejected(), t.rows_filtered()),
        (6, 2, 3, 1)
    );
    assert_eq!(t.files[0].filtered["unpaid"], 1);
    let by_row: Vec<(u64, &str)> = t.rejects.iter().map(|r| (r.row_number, r.column.as_str())).collect();
    assert_eq!(by_row, [(3, "unit_price"), (4, "category"), (6, "(row)")]);
    // The strict CAST fails on line 3 only, and the reject shows the cells the expression read.
    let cast = &t.rejects[0];
    assert!(
        cast.value.contains("金额='abc'") && cast.value.contains("数量='2'"),
        "{}",
        cast.value
    );
    assert!(
        cast.problem.contains("the expression `CAST(\"金额\" AS DOUBLE)"),
        "{}",
        cast.problem
    );
    // A key the lookup does not hold names the lookup, its file and the key.
    let miss = &t.rejects[1];
    assert_eq!(miss.value, "Z");
    assert!(
        miss.problem.contains("no row of lookup cat") && miss.problem.contains("sku = 'Z'"),
        "{}",
        miss.problem
    );
    // The unbalanced quote on line 6 costs line 6 only: 1006 on line 7 is read.
    assert!(
        t.rejects[2].problem.contains("unbalanced quote"),
        "{}",
        t.rejects[2].problem
    );
    let df = t.frame().unwrap();
    assert_eq!(str_col(&df, "order_id"), ["1001", "1006"]);
    // 1,000.00 / 2 = 500.00 and 30.00 / 3 = 10.00 per unit.
    assert_eq!(str_col(&df, "unit_price"), ["500.0000", "10.0000"]);
    assert_eq!(str_col(&df, "_row_number"), ["2", "7"]);
    let rep = &t.staging[0];
    let col = |n: &str| rep.columns.iter().find(|c| c.canonical == n).unwrap();
    assert_eq!(col("order_id").cleaned.excel_guard, 1);
    assert_eq!(col("unit_price").cleaned.numbers, 1);
}

#[test]
fn an_export_without_a_column_the_source_reads_is_refused_naming_what_it_has() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cat.csv"), "sku,category\nA,家电\n").unwrap();
    std::fs::write(
        dir.path().join("export.csv"),
        "单号,编码,数量,时间,状态\n1,A,1,2026-08-03,已付款\n",
    )
    .unwrap();
    let err = format!("{:#}", load(dir.path(), ORDERS, TableKind::Orders).unwrap_err());
    assert!(
        err.contains("reads column '金额' (for columns.unit_price) that the file does not have")
            && err.contains("Its columns are '单号', '编码', '数量', '时间', '状态'"),
        "{err}"
    );
}

#[test]
fn staging_config_problems_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let err = format!(
        "{:#}",
        load(
            dir.path(),
            r#"
[[tables.orders.sources]]
path = "x.csv"
clean = ["excel", "trim"]
format = "ods"
[tables.orders.sources.columns]
order_id = "单号"
sku = { sql = "CAST(" }
quantity = { lookup = "nowhere", key = "k" }
unit_price = { value = "1", column = "价格" }
colour = "颜色"
[tables.orders.sources.values.quantity]
"一" = "1"
[[tables.orders.sources.skip]]
reason = "x"
"#,
            TableKind::Orders,
        )
        .unwrap_err()
    );
    for part in [
        "clean: 'excel' is not a cleaning rule",
        "format = 'ods': expected one of csv, xlsx, parquet",
        "columns.sku: the SQL expression `CAST(` cannot be read",
        "columns.quantity: no [lookups.nowhere] in the config",
        "columns.unit_price: give exactly one of column, sql, value or lookup",
        "no column named 'colour' in orders",
        "no source for required columns",
        "values.quantity: quantity is not an enum column",
        "skip 'x': give exactly one of when",
    ] {
        assert!(err.contains(part), "missing {part:?} in:\n{err}");
    }
}

mod accounting {
    use super::*;
    use proptest::prelude::*;

    /// Pieces a damaged back-office export is made of: cells with quotes, guards, delimiters, tabs, line breaks,
    /// NUL bytes, bytes invalid in UTF-8, numbers with separators, and the skip rule's label.
    fn piece() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            Just(b"1".to_vec()),
            Just(b"A".to_vec()),
            Just(b"=\"42\"".to_vec()),
            Just(b"\"1,099.00\"".to_vec()),
            Just(b"\"".to_vec()),
            Just(b",".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"\t".to_vec()),
            Just(b"\0".to_vec()),
            Just(vec![0xff, 0xfe]),
            Just("未付款".as_bytes().to_vec()),
            Just(b"2026-08-03 09:05".to_vec()),
            Just(b"abc".to_vec()),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever the export holds, every row read is accepted, rejected or filtered, and every reject and
        /// accepted row names a line of the file.
        #[test]
        fn every_raw_row_is_accepted_rejected_or_filtered(body in proptest::collection::vec(piece(), 0..120)) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("cat.csv"), "sku,category\nA,家电\n1,服饰\n").unwrap();
            let mut bytes = "单号,编码,数量,金额,时间,状态\n".as_bytes().to_vec();
            for p in &body {
                bytes.extend_from_slice(p);
            }
            let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
            std::fs::write(dir.path().join("export.csv"), &bytes).unwrap();
            let t = load(dir.path(), ORDERS, TableKind::Orders).unwrap();
            prop_assert_eq!(t.rows_read(), t.rows_accepted() + t.rows_rejected() + t.rows_filtered());
            prop_assert_eq!(t.rows_rejected(), t.rejects.len() as u64);
            prop_assert_eq!(t.rows_accepted(), t.height() as u64);
            for r in &t.rejects {
                prop_assert!(r.row_number >= 2 && r.row_number <= lines, "reject at {} of {}", r.row_number, lines);
            }
            let df = t.frame().unwrap();
            for r in str_col(&df, "_row_number") {
                let r: u64 = r.parse().unwrap();
                prop_assert!(r >= 2 && r <= lines);
            }
        }
    }
}

#[test]
fn gb18030_four_byte_characters_and_windows_1252_exports_are_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cat.csv"), "sku,category\nA,家电\n").unwrap();
    // 𠀀 (U+20000) is outside GBK: GB18030 writes it in four bytes, 0x95 0x32 0x82 0x36.
    let mut gb = "单号,编码,数量,金额,时间,状态\n".encode_gb18030();
    gb.extend_from_slice(b"1001,A,1,5.00,2026-08-03 09:05,");
    gb.extend_from_slice(&[0x95, 0x32, 0x82, 0x36]);
    gb.extend_from_slice(b"\n");
    std::fs::write(dir.path().join("export.csv"), &gb).unwrap();
    let cfg = ORDERS.replace("path = \"export.csv\"", "path = \"export.csv\"\nencoding = \"gb18030\"");
    let cfg = cfg.replace("\"状态\" = '未付款'", "\"状态\" = '𠀀'");
    let t = load(dir.path(), &cfg, TableKind::Orders).unwrap();
    // The one row's 状态 is 𠀀, so the skip rule (状态 = '𠀀') reads it back exactly.
    assert_eq!((t.rows_read(), t.rows_filtered()), (1, 1));

    // Windows-1252: a European marketplace's report, £ and é as single bytes (0xA3, 0xE9).
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cat.csv"), "sku,category\nA,Caf\u{e9}\n").unwrap();
    let mut w = b"\xe9tat,sku,qty,price,time,id\n".to_vec();
    w.extend_from_slice(b"pay\xe9,A,2,\xa33.50,2026-08-03 09:05,1001\n");
    std::fs::write(dir.path().join("export.csv"), &w).unwrap();
    let t = load(
        dir.path(),
        r#"
[lookups.cat]
path = "cat.csv"
key = "sku"
[[tables.orders.sources]]
path = "export.csv"
encoding = "windows-1252"
clean = ["numbers"]
[tables.orders.sources.columns]
order_id = "id"
sku = "sku"
quantity = "qty"
unit_price = "price"
ordered_at = "time"
merchant_id = "état"
category = { lookup = "cat", key = "sku" }
"#,
        TableKind::Orders,
    )
    .unwrap();
    let df = t.frame().unwrap();
    assert_eq!(str_col(&df, "merchant_id"), ["payé"]);
    assert_eq!(str_col(&df, "unit_price"), ["3.5000"]);
    assert_eq!(str_col(&df, "category"), ["Café"]);
}

trait Gb18030 {
    fn encode_gb18030(&self) -> Vec<u8>;
}

impl Gb18030 for str {
    fn encode_gb18030(&self) -> Vec<u8> {
        encoding_rs::GB18030.encode(self).0.into_owned()
    }
}

mod cleaning {
    use aftersales::staging::clean::{Clean, Counts, clean_cell};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Any text through every rule: no panic, at most one count per rule, and what the numbers rule makes of a
        /// cell is a plain number (digits, one optional point, an optional leading minus).
        #[test]
        fn cleaning_any_text_never_panics_and_numbers_come_out_plain(
            cell in "(\\PC|[ \t,.$¥￥元()=\"'０-９])*",
        ) {
            let all = Clean { excel_guard: true, trim: true, numbers: true, fullwidth: true };
            let mut c = Counts::default();
            let out = clean_cell(&cell, all, &["无".to_string()], &mut c).map(|v| v.into_owned());
            for n in [c.trim, c.excel_guard, c.fullwidth, c.numbers, c.null_values] {
                prop_assert!(n <= 1);
            }
            if c.numbers == 1 {
                let v = out.unwrap();
                let body = v.strip_prefix('-').unwrap_or(&v);
                let (int, frac) = body.split_once('.').unwrap_or((body, "0"));
                prop_assert!(!int.is_empty() && int.bytes().all(|b| b.is_ascii_digit()), "{v}");
                prop_assert!(frac.bytes().all(|b| b.is_ascii_digit()), "{v}");
            }
        }
    }
}
