//! A finished run's output folder read back — run.json, config.toml (the config file's copy) and
//! tables/*.parquet — for `aftersales page` and `aftersales query --from`, which answer from a run instead of
//! computing it again. Whatever is missing (an older output, a folder that is not one) is named in the error,
//! with what to do.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use polars::prelude::*;

use crate::config::{Config, RawConfig};
use crate::i18n::Lang;
use crate::time::Micros;

pub struct FinishedRun {
    pub dir: PathBuf,
    json: serde_json::Value,
}

impl FinishedRun {
    /// The output folder `dir` of a finished `run` or `finish`: its run.json must be there and say where the pages'
    /// settings are (outputs from before `aftersales page` existed do not).
    pub fn open(dir: &Path) -> Result<FinishedRun> {
        let file = dir.join("run.json");
        if !dir.is_dir() {
            bail!(
                "{} is not a folder: --from takes the output folder of a finished run",
                dir.display()
            );
        }
        let text = std::fs::read_to_string(&file).with_context(|| {
            format!(
                "{} has no run.json: --from takes the output folder of a finished `aftersales run` (or `finish`)",
                dir.display()
            )
        })?;
        let json: serde_json::Value =
            serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", file.display()))?;
        Ok(FinishedRun {
            dir: dir.to_path_buf(),
            json,
        })
    }

    /// The run's as_of, exactly (run.json's `pages.as_of_us`).
    pub fn as_of(&self) -> Result<Micros> {
        self.pages_field("as_of_us")?
            .as_i64()
            .ok_or_else(|| anyhow!("{}: pages.as_of_us is not an integer", self.run_json().display()))
    }

    /// as_of as run.json prints it (local time with its offset).
    pub fn as_of_text(&self) -> &str {
        self.json["as_of"].as_str().unwrap_or("?")
    }

    /// The report's quarter (None: the run wrote no report, e.g. `finish` without evidence).
    pub fn quarter(&self) -> Option<String> {
        self.json["quarter"].as_str().map(str::to_string)
    }

    /// The language the run's pages are in.
    pub fn lang(&self) -> Result<Lang> {
        let code = self.pages_field("language")?.as_str().unwrap_or_default();
        Lang::parse(code).map_err(|e| anyhow!("{}: pages.language: {e}", self.run_json().display()))
    }

    pub fn config_digest(&self) -> &str {
        self.json["config"]["digest"].as_str().unwrap_or("?")
    }

    /// The config the run used: its copy, config.toml, checked again (with the original path, so that relative
    /// paths in it mean what they meant). Its digest must be the one run.json records.
    pub fn config(&self) -> Result<Config> {
        let copy = self.dir.join("config.toml");
        let bytes = std::fs::read(&copy).with_context(|| {
            format!(
                "{} has no config.toml (the copy of the run's config): it was written before `aftersales page` \
                 existed; run `aftersales run` again to get one",
                self.dir.display()
            )
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| anyhow!("{} is not valid UTF-8", copy.display()))?;
        let raw: RawConfig = toml::from_str(text).map_err(|e| anyhow!("{} is not valid: {e}", copy.display()))?;
        let source = self.json["config"]["path"].as_str().map(PathBuf::from);
        let config = Config::from_raw(raw, source.as_deref(), &bytes)?;
        if config.digest != self.config_digest() {
            bail!(
                "{} has digest {}, but run.json says the run used {}: the copy was changed after the run",
                copy.display(),
                config.digest,
                self.config_digest()
            );
        }
        Ok(config)
    }

    /// The names of the tables in tables/ (without `.parquet`), sorted.
    pub fn table_names(&self) -> Result<Vec<String>> {
        let dir = self.dir.join("tables");
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .with_context(|| format!("{} has no tables/ folder", self.dir.display()))?
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".parquet").map(str::to_string)
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// A lazy scan of tables/<name>.parquet.
    pub fn scan(&self, name: &str) -> Result<LazyFrame> {
        let path = self.dir.join("tables").join(format!("{name}.parquet"));
        crate::workdir::scan(&path).map_err(|e| anyhow!("cannot read {}: {e}", path.display()))
    }

    /// The tables `need` names, each with the filter given (None: every row); every missing table is named at
    /// once.
    pub fn read(&self, need: &[(&'static str, Option<Expr>)], purpose: &str) -> Result<Vec<(&'static str, DataFrame)>> {
        let there = self.table_names()?;
        let missing: Vec<&str> = need
            .iter()
            .map(|(n, _)| *n)
            .filter(|n| !there.iter().any(|t| t == n))
            .collect();
        if !missing.is_empty() {
            bail!(
                "{} lacks {} under tables/, which {purpose} needs; it has {}. Was it written by an older aftersales? \
                 Run `aftersales run` again.",
                self.dir.display(),
                missing
                    .iter()
                    .map(|m| format!("{m}.parquet"))
                    .collect::<Vec<_>>()
                    .join(", "),
                if there.is_empty() {
                    "none".to_string()
                } else {
                    there.join(", ")
                }
            );
        }
        need.iter()
            .map(|(name, filter)| {
                let mut lf = self.scan(name)?;
                if let Some(f) = filter {
                    lf = lf.filter(f.clone());
                }
                let df = lf
                    .collect()
                    .map_err(|e| anyhow!("reading tables/{name}.parquet: {e}"))?;
                Ok((*name, df))
            })
            .collect()
    }

    fn run_json(&self) -> PathBuf {
        self.dir.join("run.json")
    }

    fn pages_field(&self, key: &str) -> Result<&serde_json::Value> {
        let v = &self.json["pages"][key];
        if v.is_null() {
            bail!(
                "{} has no pages.{key}: the output was written before `aftersales page` existed; run `aftersales \
                 run` again",
                self.run_json().display()
            );
        }
        Ok(v)
    }
}
