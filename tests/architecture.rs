//! The module graph has no import cycles: no module reaches, through `crate::…` or `super::…` paths, a module that
//! reaches it back (a parent's `mod.rs` and its children aside: a child uses what its room declares). Regression:
//! `metrics::cell_groups` ↔ `metrics::return_rates` (the kernel took its key columns from its caller) and
//! `input::load` → `input::fast` → `input::load` (the lineage column names).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`input::load`) → source text, for every file under src/ but lib.rs and main.rs.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = std::path::PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut mods = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap().with_extension("");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        if parts.last().map(String::as_str) == Some("mod") {
            parts.pop();
        }
        if parts == ["lib"] || parts == ["main"] {
            continue;
        }
        mods.insert(parts.join("::"), std::fs::read_to_string(&f).unwrap());
    }
    mods
}

/// The code without comments and without its `mod tests` (tests may use their module's callers).
fn code(src: &str) -> String {
    let code: String = src
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    match code.find("#[cfg(test)]\nmod tests") {
        Some(i) => code[..i].to_string(),
        None => code,
    }
}

/// The paths a `{a, b::c, d::{e}}` group names under `prefix`.
fn expand(prefix: &str, rest: &str, out: &mut Vec<String>) {
    let mut depth = 0;
    let mut items = Vec::new();
    let mut cur = String::new();
    for ch in rest.chars().skip(1) {
        match ch {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(std::mem::take(&mut cur));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    let head = regex::Regex::new(r"^([A-Za-z_][A-Za-z_0-9]*)(::(.*))?$").unwrap();
    for it in items {
        let it = it.trim().to_string();
        if let Some(m) = head.captures(&it) {
            let p = format!("{prefix}::{}", &m[1]);
            if let Some(rest) = m.get(3).map(|r| r.as_str().trim()).filter(|r| r.starts_with('{')) {
                expand(&p, rest, out);
            }
            out.push(p);
        }
    }
}

/// The module a path lands in: its longest prefix that is a module.
fn node<'a>(mods: &'a BTreeMap<String, String>, path: &str) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    (1..=parts.len())
        .rev()
        .find_map(|k| mods.get_key_value(&parts[..k].join("::")).map(|(k, _)| k.as_str()))
}

fn edges(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let krate = regex::Regex::new(r"crate::((?:[a-z_][a-z_0-9]*::)*)([a-z_][a-z_0-9]*|\{)").unwrap();
    let sup = regex::Regex::new(r"\bsuper::((?:[a-z_][a-z_0-9]*::)*)([a-z_][a-z_0-9]*|\{)").unwrap();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, src) in mods {
        let code = code(src);
        let parent = m.rsplit_once("::").map_or("", |(p, _)| p);
        let mut refs = Vec::new();
        for (re, base) in [(&krate, String::new()), (&sup, parent.to_string())] {
            for c in re.captures_iter(&code) {
                let mut prefix = base.clone();
                if !prefix.is_empty() && !c[1].is_empty() {
                    prefix.push_str("::");
                }
                prefix.push_str(c[1].trim_end_matches(':'));
                if &c[2] == "{" {
                    let at = c.get(2).unwrap().start();
                    expand(prefix.trim_matches(':'), &code[at..], &mut refs);
                } else if prefix.is_empty() {
                    refs.push(c[2].to_string());
                } else {
                    refs.push(format!("{prefix}::{}", &c[2]));
                }
            }
        }
        for r in refs {
            if let Some(n) = node(mods, &r)
                && n != m
                && !m.starts_with(&format!("{n}::"))
                && !n.starts_with(&format!("{m}::"))
            {
                out.entry(m.clone()).or_default().insert(n.to_string());
            }
        }
    }
    out
}

/// A cycle through `start`, if any: the path back to it.
fn cycle(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    fn dfs(
        edges: &BTreeMap<String, BTreeSet<String>>,
        at: &str,
        start: &str,
        path: &mut Vec<String>,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        for next in edges.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if dfs(edges, next, start, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_string()];
    dfs(edges, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn the_module_graph_has_no_cycles() {
    let mods = modules();
    let edges = edges(&mods);
    // The graph is read: the loader reaches its readers and the families reach their kernels.
    assert!(
        edges["input::load"].contains("input::fast"),
        "{:?}",
        edges["input::load"]
    );
    assert!(edges["metrics::return_rates"].contains("metrics::kernels::cell_groups"));
    let cycles: Vec<Vec<String>> = mods.keys().filter_map(|m| cycle(&edges, m)).collect();
    assert!(cycles.is_empty(), "import cycles: {cycles:#?}");
}

#[test]
fn the_cycle_finder_finds_a_planted_cycle() {
    let mut mods = modules();
    mods.insert(
        "metrics::kernels::cell_groups".into(),
        "use crate::metrics::return_rates::CELL;".into(),
    );
    let edges = edges(&mods);
    let c = cycle(&edges, "metrics::kernels::cell_groups").expect("a cycle");
    assert_eq!(c, ["metrics::kernels::cell_groups", "metrics::return_rates"]);
}
