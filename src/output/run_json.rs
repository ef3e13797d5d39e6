//! run.json: what a run read, decided and wrote — the command, the config's digest, as_of and where it came from,
//! every input file's rows (read = accepted + rejected + filtered, with the reasons), how staged tables were mapped,
//! the warnings by check, the outputs and each stage's seconds and peak memory.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;

use super::OutputDir;
use crate::config::Config;
use crate::input::{AsOfSource, Loaded, LoadedTable};
use crate::stages::Stages;
use crate::time;

pub struct RunInfo<'a> {
    pub command: &'a str,
    pub data_dir: &'a Path,
    pub config: &'a Config,
    pub quarter: Option<&'a str>,
    pub status: &'a str,
}

pub fn run_json(info: &RunInfo<'_>, loaded: &Loaded, out: &OutputDir, stages: &Stages) -> serde_json::Value {
    let tz = info.config.timezone;
    let inputs: Vec<_> = loaded
        .tables
        .values()
        .flat_map(|t| {
            t.files.iter().map(move |f| {
                json!({
                    "table": t.kind.name(),
                    "file": f.file,
                    "rows_read": f.rows_read,
                    "rows_accepted": f.rows_accepted,
                    "rows_rejected": f.rows_rejected,
                    "rows_filtered": f.rows_filtered,
                    "filtered": f.filtered,
                    "rows_checked_by": if t.read_as_converted() {
                        "aftersales convert (converted.json: the file is unchanged since)"
                    } else {
                        "this run"
                    },
                })
            })
        })
        .collect();
    let tables: serde_json::Map<String, serde_json::Value> = loaded
        .tables
        .values()
        .map(|t| {
            (
                t.kind.name().to_string(),
                {
                    let mut v = json!({"rows_read": t.rows_read(), "rows_accepted": t.rows_accepted(), "rows_rejected": t.rows_rejected(), "rows_filtered": t.rows_filtered()});
                    if !t.staging.is_empty() {
                        v["staging"] = staging_json(t);
                    }
                    v
                },
            )
        })
        .collect();
    let mut warnings: BTreeMap<String, u64> = BTreeMap::new();
    if let Ok(c) = loaded.data_quality.column("check").and_then(|c| c.str().cloned()) {
        for v in c.iter().flatten() {
            *warnings.entry(v.to_string()).or_default() += 1;
        }
    }
    let findings_by = match &loaded.findings_from {
        None => "this run".to_string(),
        Some(p) => format!(
            "aftersales convert ({}: the tables are unchanged since; rows are those of the exports it converted)",
            p.display()
        ),
    };
    json!({
        "command": info.command,
        "version": env!("CARGO_PKG_VERSION"),
        "status": info.status,
        "as_of": time::format_local(loaded.as_of, tz),
        "as_of_source": match loaded.as_of_source {
            AsOfSource::CommandLine => "command line",
            AsOfSource::Config => "config",
            AsOfSource::LatestInInputs => "latest timestamp in the inputs",
        },
        "timezone": tz.name(),
        "plausible": loaded.plausible.map(|b| json!({
            "earliest": time::format_local(b.earliest, tz),
            "latest": time::format_local(b.latest, tz),
            "latest_deadline": time::format_local(b.latest_deadline(), tz),
            "latest_from": match b.percentile {
                Some(p) => format!("31 days after the 99.99th percentile of event timestamps, {}", time::format_local(p, tz)),
                None => "config".to_string(),
            },
        })),
        "quarter": info.quarter,
        "data_dir": info.data_dir.display().to_string(),
        "config": {
            "path": info.config.source.as_ref().map(|p| p.display().to_string()),
            "digest": info.config.digest,
        },
        "inputs": inputs,
        "tables": tables,
        "warnings": warnings,
        "warnings_checked_by": findings_by,
        "outputs": out.written.iter().map(|(p, n)| json!({"path": p, "rows": n})).collect::<Vec<_>>(),
        "stage_seconds": stage_seconds(stages),
    })
}

/// run.json's `pages`: what the report and the merchant pages were rendered with, so that `aftersales page` renders
/// any page the same way from the output folder (with config.toml, the config file's copy).
pub fn pages_json(
    lang: crate::i18n::Lang,
    as_of: time::Micros,
    merchant_pages: crate::config::MerchantPages,
) -> serde_json::Value {
    json!({
        "language": lang.code(),
        "as_of_us": as_of,
        "merchant_pages": merchant_pages.name(),
        "config_copy": "config.toml",
    })
}

/// run.json's `stage_seconds`: each stage's start (seconds after the run started) and seconds, to the millisecond,
/// peak memory and lane.
pub fn stage_seconds(stages: &Stages) -> serde_json::Value {
    stages
        .list
        .iter()
        .map(|s| {
            json!({
                "stage": s.name,
                "started_s": (s.started_s * 1000.0).round() / 1000.0,
                "seconds": (s.seconds * 1000.0).round() / 1000.0,
                "peak_rss_mb": s.peak_rss_mb,
                "concurrent": s.concurrent,
            })
        })
        .collect()
}

/// run.json's account of a staged table's sources.
fn staging_json(t: &LoadedTable) -> serde_json::Value {
    serde_json::Value::Array(
        t.staging
            .iter()
            .map(|r| {
                json!({
                    "source": r.source,
                    "files": r.files,
                    "preamble_lines": r.preamble_lines,
                    "blank_lines": r.blank_lines,
                    "filtered": r.filtered,
                    "columns": r.columns.iter().map(|c| {
                        let cleaned: serde_json::Map<String, serde_json::Value> =
                            c.cleaned.nonzero().into_iter().map(|(k, v)| (k.to_string(), json!(v))).collect();
                        json!({
                            "column": c.canonical,
                            "from": c.from,
                            "cleaned": cleaned,
                            "mapped": c.mapped,
                            "mapped_by_wildcard": c.mapped_by_wildcard,
                            "times_converted": c.times_converted,
                        })
                    }).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
