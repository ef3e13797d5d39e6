//! The report's languages: `language = "zh-CN" | "en"` in the config, `--lang` on the command line.
//!
//! Every sentence the page and the charts show comes from a catalogue, `locales/<code>.toml`, embedded in the
//! binary: sections of `key = "text"`, where `{name}` marks a value filled in when the page is made. Keys are
//! `section.key`. Table and column names in the Parquet files are an API and stay English in both languages; the
//! catalogues name the platforms' own terms (退货率, 售后率, 金牌售后 …). Both catalogues hold the same keys with
//! the same placeholders (tested), and a key missing at run time shows as `⟦key⟧`, which the report tests look for.

use std::collections::BTreeMap;
use std::sync::LazyLock;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    ZhCn,
    En,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::ZhCn, Lang::En];

    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhCn => "zh-CN",
            Lang::En => "en",
        }
    }

    pub fn parse(s: &str) -> Result<Lang, String> {
        match s.trim() {
            "zh-CN" | "zh" | "zh-cn" => Ok(Lang::ZhCn),
            "en" | "en-US" | "en-GB" => Ok(Lang::En),
            other => Err(format!("language '{other}': expected \"zh-CN\" or \"en\"")),
        }
    }

    pub fn messages(self) -> &'static Messages {
        static ZH: LazyLock<Messages> =
            LazyLock::new(|| Messages::parse(include_str!("../locales/zh-CN.toml")).expect("zh-CN catalogue (tested)"));
        static EN: LazyLock<Messages> =
            LazyLock::new(|| Messages::parse(include_str!("../locales/en.toml")).expect("en catalogue (tested)"));
        match self {
            Lang::ZhCn => &ZH,
            Lang::En => &EN,
        }
    }
}

/// One language's catalogue.
#[derive(Debug)]
pub struct Messages {
    map: BTreeMap<String, String>,
}

impl Messages {
    fn parse(text: &str) -> Result<Messages, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut map = BTreeMap::new();
        fn walk(prefix: &str, t: &toml::Table, out: &mut BTreeMap<String, String>) -> Result<(), String> {
            for (k, v) in t {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::String(s) => {
                        out.insert(key, s.clone());
                    }
                    toml::Value::Table(t) => walk(&key, t, out)?,
                    _ => return Err(format!("{key}: expected text or a section")),
                }
            }
            Ok(())
        }
        walk("", &table, &mut map)?;
        Ok(Messages { map })
    }

    /// The text of `key`, or `⟦key⟧` when the catalogue lacks it.
    pub fn t(&self, key: &str) -> String {
        self.map.get(key).cloned().unwrap_or_else(|| format!("⟦{key}⟧"))
    }

    /// The text of `key` with each `{name}` replaced by its value.
    pub fn f(&self, key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
        let mut s = self.t(key);
        for (name, value) in args {
            s = s.replace(&format!("{{{name}}}"), &value.to_string());
        }
        s
    }

    /// The text of `key` when the catalogue has it (names of reasons, rules and criteria that a config may add).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }
}

thread_local! {
    static CURRENT: std::cell::Cell<Lang> = const { std::cell::Cell::new(Lang::ZhCn) };
}

/// Runs `f` with `lang` as this thread's language for [`tr`] and [`trf`]: the charts draw their texts deep inside
/// plotters' callbacks, where passing the catalogue down every helper would obscure the drawing.
pub fn with_lang<T>(lang: Lang, f: impl FnOnce() -> T) -> T {
    let before = CURRENT.with(|c| c.replace(lang));
    let out = f();
    CURRENT.with(|c| c.set(before));
    out
}

/// The text of `key` in this thread's language ([`with_lang`]).
pub fn tr(key: &str) -> String {
    CURRENT.with(|c| c.get()).messages().t(key)
}

/// The name of a code (`reason.size_fit`, `rule.merchant_ack` …) in this thread's language; the code itself when the
/// catalogue has no name for it (a code a config adds).
pub fn name_of(section: &str, code: &str) -> String {
    CURRENT
        .with(|c| c.get())
        .messages()
        .get(&format!("{section}.{code}"))
        .map_or_else(|| code.to_string(), str::to_string)
}

/// The text of `key` in this thread's language, with its values.
pub fn trf(key: &str, args: &[(&str, &dyn std::fmt::Display)]) -> String {
    CURRENT.with(|c| c.get()).messages().f(key, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placeholders(s: &str) -> Vec<String> {
        let mut out: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string()))
            .collect();
        out.sort();
        out
    }

    /// Both catalogues parse, hold the same keys, and each key has the same placeholders in both.
    #[test]
    fn the_catalogues_agree_key_for_key_and_placeholder_for_placeholder() {
        let (zh, en) = (Lang::ZhCn.messages(), Lang::En.messages());
        let zk: Vec<&str> = zh.keys().collect();
        let ek: Vec<&str> = en.keys().collect();
        let only_zh: Vec<&&str> = zk.iter().filter(|k| !ek.contains(k)).collect();
        let only_en: Vec<&&str> = ek.iter().filter(|k| !zk.contains(k)).collect();
        assert!(
            only_zh.is_empty() && only_en.is_empty(),
            "only in zh-CN: {only_zh:?}; only in en: {only_en:?}"
        );
        for k in ek {
            assert_eq!(placeholders(&zh.t(k)), placeholders(&en.t(k)), "{k}");
        }
    }

    #[test]
    fn a_missing_key_shows_itself_and_values_fill_their_places() {
        let en = Lang::En.messages();
        assert_eq!(en.t("no.such.key"), "⟦no.such.key⟧");
        assert_eq!(
            en.f("page.title", &[("quarter", &"2026Q3")]),
            "After-sales report 2026Q3"
        );
        assert_eq!(
            Lang::ZhCn.messages().f("page.title", &[("quarter", &"2026Q3")]),
            "售后报告 2026Q3"
        );
        assert_eq!(Lang::parse("zh-CN"), Ok(Lang::ZhCn));
        assert!(Lang::parse("fr").unwrap_err().contains("expected \"zh-CN\" or \"en\""));
    }
}
