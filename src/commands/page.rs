//! `aftersales page MERCHANT_ID --from OUT`: one merchant's page, rendered from a finished run's output folder
//! (its tables, run.json and config.toml) without loading or computing anything: the same bytes `run` writes for
//! that merchant, for any merchant of the quarter, another quarter or the other language.

use std::path::Path;

use anyhow::{Context, Result, bail};
use polars::prelude::*;

use crate::cli::PageArgs;
use crate::output::finished::FinishedRun;
use crate::pipeline::CannotStart;
use crate::report;

/// The tables a merchant page reads, cut to the quarter where the page only reads the quarter's rows.
fn page_tables(quarter: &str) -> Vec<(&'static str, Option<Expr>)> {
    let q = || lit(quarter.to_string());
    let quarter_rows = || Some(col("period_kind").eq(lit("quarter")).and(col("period").eq(q())));
    vec![
        ("badges", None),
        ("merchant_risk", None),
        ("return_rates", quarter_rows()),
        ("sla_compliance", quarter_rows()),
        ("badge_evidence", Some(col("quarter").eq(q()))),
        ("risk_flags", None),
        ("flag_evidence", None),
        ("flag_episodes", None),
    ]
}

pub fn page(args: &PageArgs, quiet: bool) -> Result<i32> {
    let run = FinishedRun::open(&args.from).context(CannotStart)?;
    let config = run.config().context(CannotStart)?;
    let run_lang = run.lang().context(CannotStart)?;
    let as_of = run.as_of().context(CannotStart)?;
    let lang = args.lang.unwrap_or(run_lang);
    let quarter = match (&args.quarter, run.quarter()) {
        (Some(q), _) if !super::run::is_quarter(q) => {
            return Err(anyhow::anyhow!("--quarter '{q}': expected a quarter like 2026Q3")).context(CannotStart);
        }
        (Some(q), _) => q.clone(),
        (None, Some(q)) => q,
        (None, None) => {
            return Err(anyhow::anyhow!(
                "{}: run.json names no report quarter (the run wrote no report); say which with --quarter",
                args.from.display()
            ))
            .context(CannotStart);
        }
    };
    let tables = run
        .read(&page_tables(&quarter), "a merchant page")
        .context(CannotStart)?;
    let inputs = report::inputs(&config, None, &tables, as_of, lang, &quarter)?;
    let as_of_text = crate::time::format_local(as_of, config.timezone);
    let Some((file, html)) = report::merchant_page(&inputs, lang, &as_of_text, &quarter, &args.merchant_id)? else {
        let known = report::quarter_file_names(&inputs, &quarter)?;
        let mut near: Vec<&String> = known
            .keys()
            .filter(|k| k.to_lowercase().contains(&args.merchant_id.to_lowercase()))
            .take(5)
            .collect();
        if near.is_empty() {
            near = known.keys().take(5).collect();
        }
        return Err(anyhow::anyhow!(
            "merchant '{}' has no row in badges for {quarter} in {}: {} merchants have one (merchants/index.json \
             lists them), e.g. {}",
            args.merchant_id,
            args.from.display(),
            known.len(),
            near.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .context(CannotStart);
    };
    let target = match &args.out {
        Some(p) => p.clone(),
        None if Some(&quarter) == run.quarter().as_ref() && lang == run_lang => args.from.join("merchants").join(&file),
        None => {
            let stem = file.trim_end_matches(".html");
            args.from
                .join("merchants")
                .join(format!("{stem}.{quarter}.{}.html", lang.code()))
        }
    };
    let said = write_new(&target, html.as_bytes())?;
    if !quiet {
        eprintln!(
            "{} {} ({quarter}, {}) from the run in {} (as_of {}, config {})",
            said,
            target.display(),
            lang.code(),
            args.from.display(),
            run.as_of_text(),
            run.config_digest()
        );
    }
    Ok(0)
}

/// Writes `bytes` to `target` through a temporary file beside it. A file already there with the same bytes is
/// left as it is; one with other bytes is never replaced.
fn write_new(target: &Path, bytes: &[u8]) -> Result<&'static str> {
    if target.exists() {
        if std::fs::read(target).is_ok_and(|old| old == bytes) {
            return Ok("already there, the same page:");
        }
        bail!(
            "{} exists and holds another page; nothing was replaced: remove it, or write elsewhere with --out",
            target.display()
        );
    }
    let dir = crate::output::parent_of(target);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create folder {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    // A temporary file is private (0600); the page is as readable as the run's pages.
    #[cfg(unix)]
    std::fs::set_permissions(tmp.path(), std::os::unix::fs::PermissionsExt::from_mode(0o644))?;
    tmp.persist_noclobber(target)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {}", target.display(), e.error))?;
    Ok("wrote")
}
