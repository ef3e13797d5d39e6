//! The fuzz target's kept corpus (fuzz/corpus/load_table, and any crash found since in fuzz/regressions) replayed
//! as an ordinary test: each input loads without a panic and with every line and row accounted for
//! (`aftersales::input::accounting`). How the corpus was made and how long it ran: docs/inputs.md, "Fuzzing".

use aftersales::input::accounting::{Case, check};

#[test]
fn every_kept_fuzz_input_loads_with_every_line_and_row_accounted_for() {
    let root = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("fuzz");
    let dir = tempfile::tempdir().unwrap();
    let mut n = 0;
    let mut loaded = 0;
    for sub in ["corpus/load_table", "regressions/load_table"] {
        let Ok(entries) = std::fs::read_dir(root.join(sub)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for p in paths {
            let data = std::fs::read(&p).unwrap();
            let Some(case) = Case::from_bytes(&data) else { continue };
            n += 1;
            if check(&case, dir.path()).unwrap_or_else(|e| panic!("{}: {e:#}", p.display())) {
                loaded += 1;
            }
        }
    }
    assert!(
        n >= 10,
        "the kept corpus has {n} inputs; expected the committed corpus under fuzz/corpus/load_table"
    );
    assert!(
        loaded > 0,
        "no kept input was loaded: the corpus exercises refusals only"
    );
}
