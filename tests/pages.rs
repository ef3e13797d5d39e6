//! Merchant pages on demand and queries over a finished run: `aftersales page ID --from OUT` gives the bytes
//! `run` wrote, for any merchant; `merchant_pages` chooses what `run` writes; page names never collide;
//! `query --from OUT` answers as `query` does without recomputing; an output folder that cannot answer says what
//! it lacks.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;

/// The sample run in English with every merchant's page (`--merchant-pages all`).
fn all_pages() -> PathBuf {
    static ALL: OnceLock<tempfile::TempDir> = OnceLock::new();
    ALL.get_or_init(|| {
        run_pipeline_with(
            &repo().join("sample_data"),
            &["--lang", "en", "--merchant-pages", "all"],
        )
    })
    .path()
    .join("out")
}

fn index(out: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(out.join("merchants/index.json")).unwrap()).unwrap()
}

fn page(id: &str, from: &Path, more: &[&str]) -> std::process::Output {
    let mut args = vec!["page", id, "--from", from.to_str().unwrap()];
    args.extend_from_slice(more);
    aftersales(&args)
}

/// The page `page` renders is the page `run` wrote, byte for byte: for the planted spiking merchant, a gold one,
/// the SLA breacher and merchants with nothing to act on (which a default run does not write).
#[test]
fn a_page_rendered_from_the_run_equals_the_page_the_run_wrote() {
    let out = all_pages();
    let idx = index(&out);
    let listed = idx["merchants"].as_array().unwrap();
    assert_eq!(idx["merchant_pages"], "all");
    let quiet: Vec<&str> = listed
        .iter()
        .filter(|m| m["notable"].as_array().unwrap().is_empty())
        .map(|m| m["merchant_id"].as_str().unwrap())
        .take(2)
        .collect();
    assert_eq!(quiet.len(), 2, "the sample has merchants with nothing to act on");
    let tmp = tempfile::tempdir().unwrap();
    for id in ["M0002", "M0001", "M0004"].iter().chain(&quiet) {
        let target = tmp.path().join(format!("{id}.html"));
        let o = page(id, &out, &["--out", target.to_str().unwrap()]);
        assert!(o.status.success(), "{id}: {}", stderr(&o));
        let written = std::fs::read(out.join(format!("merchants/{id}.html"))).unwrap();
        let rendered = std::fs::read(&target).unwrap();
        assert!(written == rendered, "{id}: the page differs from the run's");
    }
    // Without --out, the run's quarter and language go where the run puts them: there already, the same bytes,
    // so nothing is replaced. Another quarter gets its own name, and a different file is never overwritten.
    let o = page("M0002", &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = page("M0002", &out, &["--quarter", "2026Q2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let q2 = std::fs::read_to_string(out.join("merchants/M0002.2026Q2.en.html")).unwrap();
    assert!(q2.contains("after-sales 2026Q2</title>"), "{:.300}", q2);
    // Readable like the run's pages, not private like the temporary file it was written through.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(out.join("merchants/M0002.2026Q2.en.html"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o644, "{mode:o}");
    }
    let clash = tmp.path().join("clash.html");
    std::fs::write(&clash, "not this page").unwrap();
    let o = page("M0002", &out, &["--out", clash.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("exists and holds another page; nothing was replaced"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&clash).unwrap(), "not this page");
}

/// An id the quarter does not have is named, with ids it does have.
#[test]
fn a_page_for_an_unknown_merchant_names_the_merchants_there_are() {
    let o = page("M9999", &all_pages(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("merchant 'M9999' has no row in badges for 2026Q3"), "{e}");
    assert!(e.contains("M0001"), "{e}");
}

/// `SHOP-X.1` and `SHOP-X_1` (the hand-made base set's two merchants renamed) once shared `SHOP-X_1.html`: the
/// second page silently replaced the first. Now the id that needed its `.` replaced carries 8 hex digits of its
/// SHA-256 (sha256("SHOP-X.1") begins 8df96213, worked out with Python's hashlib), each page names its own
/// merchant, and the index lists both.
#[test]
fn ids_that_differ_only_in_punctuation_get_two_pages_and_the_index_lists_both() {
    let data = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/data/base"), data.path());
    for f in ["orders.csv", "cases.csv", "refunds.csv"] {
        let p = data.path().join(f);
        let text = std::fs::read_to_string(&p).unwrap();
        std::fs::write(&p, text.replace(",M1,", ",SHOP-X.1,").replace(",M2,", ",SHOP-X_1,")).unwrap();
    }
    let run = run_pipeline_with(data.path(), &["--lang", "en", "--merchant-pages", "all"]);
    let out = run.path().join("out");
    let idx = index(&out);
    let files: Vec<(String, String)> = idx["merchants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["merchant_id"].as_str().unwrap().to_string(),
                m["file"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("SHOP-X.1".to_string(), "SHOP-X_1-8df96213.html".to_string()),
            ("SHOP-X_1".to_string(), "SHOP-X_1.html".to_string()),
        ]
    );
    for (id, file) in &files {
        let page = std::fs::read_to_string(out.join("merchants").join(file)).unwrap();
        assert!(page.contains(&format!("<title>{id}")), "{file}: {:.300}", page);
    }
    // The same name from `page`.
    let o = page("SHOP-X.1", &out, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// `merchant_pages = "none"` in the config: no merchants/ folder at all, and run.json says so.
#[test]
fn merchant_pages_none_writes_no_merchants_folder() {
    let data = tempfile::tempdir().unwrap();
    copy_dir(&repo().join("tests/data/base"), data.path());
    std::fs::write(data.path().join("aftersales.toml"), "merchant_pages = \"none\"\n").unwrap();
    let run = run_pipeline(data.path());
    let out = run.path().join("out");
    assert!(out.join("report.html").is_file());
    assert!(!out.join("merchants").exists());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run.json")).unwrap()).unwrap();
    assert_eq!(json["pages"]["merchant_pages"], "none");
    // A config that misspells it is told the choices.
    std::fs::write(data.path().join("aftersales.toml"), "merchant_pages = \"some\"\n").unwrap();
    let o = aftersales(&[
        "run",
        "--data",
        data.path().to_str().unwrap(),
        "--out",
        run.path().join("o2").to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("merchant_pages 'some': expected \"notable\""),
        "{}",
        stderr(&o)
    );
}

/// `query --from OUT` reads the run's tables: the same rows as `query`, which computes them, and it says whose
/// tables they are.
#[test]
fn query_from_a_finished_run_returns_the_rows_query_computes() {
    let data = repo().join("tests/data/base");
    let run = run_pipeline(&data);
    let out = run.path().join("out");
    let sql = run.path().join("rates.sql");
    std::fs::write(
        &sql,
        "SELECT r.period_kind, r.period, r.level, r.key, r.units_sold, r.return_rate, b.status\n\
         FROM return_rates r LEFT JOIN badges b ON r.key = b.merchant_id AND r.period = b.quarter\n\
         ORDER BY r.period_kind, r.period, r.level, r.key\n",
    )
    .unwrap();
    let (a, b) = (run.path().join("a.parquet"), run.path().join("b.parquet"));
    let o = aftersales(&[
        "query",
        sql.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = aftersales_env(
        &[
            "query",
            sql.to_str().unwrap(),
            "--from",
            out.to_str().unwrap(),
            "--out",
            b.to_str().unwrap(),
        ],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let (a, b) = (read_parquet(&a), read_parquet(&b));
    assert!(a.height() > 10, "{a}");
    assert!(a.equals_missing(&b), "{a}\n{b}");
    // Not quiet: it says which run it read.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_aftersales"))
        .args(["query", sql.to_str().unwrap(), "--from", out.to_str().unwrap()])
        .output()
        .unwrap();
    let e = stderr(&o);
    assert!(
        e.contains("reading the tables of the run in") && e.contains("config sha256:"),
        "{e}"
    );
    // An input table is not in a run's output: the error says so.
    std::fs::write(&sql, "SELECT count(*) FROM orders\n").unwrap();
    let o = aftersales(&["query", sql.to_str().unwrap(), "--from", out.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--from reads a finished run's output tables only"),
        "{}",
        stderr(&o)
    );
}

/// Output folders that cannot answer: not a run's folder, one written before pages on demand (no config.toml), one
/// missing a table. Each is named with what is missing, exit 2, no panic.
#[test]
fn an_output_folder_that_lacks_what_page_needs_is_named_with_what_is_missing() {
    let data = repo().join("tests/data/base");
    let run = run_pipeline(&data);
    let out = run.path().join("out");
    let o = page("M1", &out, &["--out", run.path().join("m1.html").to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    let empty = tempfile::tempdir().unwrap();
    let o = page("M1", empty.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no run.json"), "{}", stderr(&o));

    let old = tempfile::tempdir().unwrap();
    copy_dir(&out, old.path());
    std::fs::remove_file(old.path().join("config.toml")).unwrap();
    let o = page("M1", old.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("has no config.toml"), "{}", stderr(&o));

    let partial = tempfile::tempdir().unwrap();
    copy_dir(&out, partial.path());
    std::fs::remove_file(partial.path().join("tables/flag_episodes.parquet")).unwrap();
    std::fs::remove_file(partial.path().join("tables/badge_evidence.parquet")).unwrap();
    let o = page("M1", partial.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("lacks badge_evidence.parquet, flag_episodes.parquet under tables/"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
}
