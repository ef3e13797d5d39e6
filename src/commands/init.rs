//! `aftersales init --preset NAME DIR`: a commented config for a platform's standard exports, and a folder per
//! export for the user's downloads. The presets live in `presets/` and are the configs the export tests run.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::InitArgs;
use crate::config::{Config, RawConfig};
use crate::pipeline::CannotStart;

/// (name, other names, config text).
pub const PRESETS: &[(&str, &[&str], &str)] = &[
    (
        "tmall",
        &["taobao", "天猫", "淘宝"],
        include_str!("../../presets/tmall.toml"),
    ),
    ("amazon", &[], include_str!("../../presets/amazon.toml")),
    ("shopify", &[], include_str!("../../presets/shopify.toml")),
];

pub fn preset(name: &str) -> Option<&'static str> {
    let n = name.trim().to_lowercase();
    PRESETS
        .iter()
        .find(|(p, aka, _)| *p == n || aka.contains(&n.as_str()))
        .map(|(_, _, text)| *text)
}

pub fn init(args: &InitArgs) -> Result<i32> {
    let Some(text) = preset(&args.preset) else {
        return Err(anyhow::anyhow!(
            "no preset named '{}'. Presets are {}",
            args.preset,
            PRESETS.iter().map(|(p, _, _)| *p).collect::<Vec<_>>().join(", ")
        )
        .context(CannotStart));
    };
    let target = args.dir.join("aftersales.toml");
    if target.exists() {
        return Err(anyhow::anyhow!(
            "{} exists already; init never overwrites a config (remove it or choose another folder)",
            target.display()
        )
        .context(CannotStart));
    }
    std::fs::create_dir_all(&args.dir).with_context(|| format!("cannot create {}", args.dir.display()))?;
    let folders = export_folders(text)?;
    for f in &folders {
        std::fs::create_dir_all(args.dir.join(f))
            .with_context(|| format!("cannot create {}/{f}", args.dir.display()))?;
    }
    std::fs::write(&target, text).with_context(|| format!("cannot write {}", target.display()))?;
    let mut templates = Vec::new();
    // A lookup file the user keeps (the catalogue) starts as its header, so the columns it needs are plain to see.
    for (path, header) in lookup_templates(text)? {
        let p = args.dir.join(&path);
        if !p.exists() {
            std::fs::write(&p, format!("{header}\n")).with_context(|| format!("cannot write {}", p.display()))?;
            templates.push(format!("  fill in {} (its columns: {header})", p.display()));
        }
    }
    println!("wrote {}", target.display());
    for f in &folders {
        println!("  put the downloads of this export in {}/", args.dir.join(f).display());
    }
    for t in &templates {
        println!("{t}");
    }
    println!(
        "then: aftersales validate --data {}   (prints where each column comes from)",
        args.dir.display()
    );
    Ok(0)
}

/// The folders a preset reads its exports from (paths without an extension); files (a catalogue) are the user's.
pub fn export_folders(text: &str) -> Result<Vec<String>> {
    let raw: RawConfig = toml::from_str(text).context("a bundled preset does not parse")?;
    let mut out: Vec<String> = Vec::new();
    let mut add = |p: &str| {
        if Path::new(p).extension().is_none() && !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    };
    for t in raw.tables.values() {
        for s in &t.sources {
            add(&s.file.path);
        }
    }
    for l in raw.lookups.values() {
        add(&l.file.path);
    }
    Ok(out)
}

/// The lookup files a preset reads that are files of the user's own (a `.csv` path, not an export folder), with the
/// header they need: the key, then every column a source looks up in them.
pub fn lookup_templates(text: &str) -> Result<Vec<(String, String)>> {
    let raw: RawConfig = toml::from_str(text).context("a bundled preset does not parse")?;
    let mut out = Vec::new();
    for (name, l) in &raw.lookups {
        if !l.file.path.ends_with(".csv") {
            continue;
        }
        let mut cols = vec![l.key.clone()];
        for t in raw.tables.values() {
            for s in &t.sources {
                for (canonical, c) in &s.columns {
                    if let crate::config::staging::RawColumnSource::Spec(spec) = c
                        && spec.lookup.as_deref() == Some(name.as_str())
                    {
                        let col = spec.lookup_column.clone().unwrap_or_else(|| canonical.clone());
                        if !cols.contains(&col) {
                            cols.push(col);
                        }
                    }
                }
            }
        }
        out.push((l.file.path.clone(), cols.join(",")));
    }
    Ok(out)
}

/// Every preset parses and checks (used by the tests; a preset that does not is a bug of this program).
pub fn check_all() -> Result<()> {
    for (name, _, text) in PRESETS {
        let raw: RawConfig = toml::from_str(text).with_context(|| format!("preset {name}"))?;
        if let Err(e) = Config::from_raw(raw, Some(Path::new("preset.toml")), text.as_bytes()) {
            bail!("preset {name}: {e:#}");
        }
    }
    Ok(())
}
