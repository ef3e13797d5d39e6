//! Charts and the quarterly report on the sample data: every chart file is there, the right size and not blank;
//! the SVGs are XML with their titles and Chinese names as text; report.html stands alone and its headline
//! numbers are the tables' own; the planted patterns show up where a manager would look for them.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::*;
use polars::prelude::{DataFrame, IntoLazy, col, lit};

/// Every chart, with a phrase its title must contain for 2026Q4, the quarter of as_of (asked for by --quarter: by
/// default the report covers 2026Q3, the latest ended quarter).
const CHARTS: [(&str, &str); 8] = [
    ("return_rate_by_month", "Return rate by order month"),
    ("return_reasons_pareto", "After-sales reasons, 2026Q4"),
    (
        "sla_compliance_by_rule",
        "SLA compliance by rule, platform, clocks started in 2026Q4",
    ),
    ("sla_worst_merchants_heatmap", "lowest of"),
    (
        "carrier_damage_loss",
        "Carrier damage and loss rates, all legs shipped in 2026Q4",
    ),
    ("merchant_funnel", "funnel plot"),
    ("return_spikes", "2026Q4"),
    ("badge_results", "Gold after-sales badge (金牌售后), 2026Q4"),
];

/// The sample run's report for 2026Q4, the quarter of as_of (not ended: provisional).
fn out() -> PathBuf {
    quarter_out("2026Q4", &Q4)
}

static Q4: OnceLock<tempfile::TempDir> = OnceLock::new();
static Q3: OnceLock<tempfile::TempDir> = OnceLock::new();

/// The sample run with `--quarter q`.
fn quarter_out(q: &str, cell: &'static OnceLock<tempfile::TempDir>) -> PathBuf {
    cell.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        // In English: the assertions below read the English catalogue; the Chinese page has tests of its own.
        let o = aftersales(&[
            "run",
            "--out",
            dir.path().join("out").to_str().unwrap(),
            "--quarter",
            q,
            "--lang",
            "en",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        dir
    })
    .path()
    .join("out")
}

/// The sample run for 2026Q3, the quarter with the planted spikes.
fn q3_out() -> PathBuf {
    quarter_out("2026Q3", &Q3).parent().unwrap().to_path_buf()
}

fn report(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("report.html")).unwrap()
}

fn merchant_names() -> Vec<String> {
    let m = read_parquet(&out().join("tables/merchant_risk.parquet"));
    let names: BTreeSet<String> = str_col(&m, "merchant_name")
        .into_iter()
        .filter(|n| !n.is_empty())
        .collect();
    names.into_iter().collect()
}

/// (width, height, share of pixels that are not white) of a PNG.
fn png_facts(path: &Path) -> (u32, u32, f64) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let inked = px.chunks(channels).filter(|p| p[..3].iter().any(|&v| v < 240)).count();
    (
        info.width,
        info.height,
        inked as f64 / (info.width * info.height) as f64,
    )
}

/// All text of an SVG's <text> elements.
fn svg_texts(path: &Path) -> Vec<String> {
    let src = std::fs::read_to_string(path).unwrap();
    let doc = roxmltree::Document::parse(&src).unwrap_or_else(|e| panic!("{} is not XML: {e}", path.display()));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(root.attribute("width"), Some("1200"), "{}", path.display());
    assert_eq!(root.attribute("height"), Some("700"), "{}", path.display());
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| {
            let t: String = n
                .descendants()
                .filter(|d| d.is_text())
                .filter_map(|d| d.text())
                .collect();
            t.trim().to_string()
        })
        .collect()
}

#[test]
fn every_chart_is_written_as_a_1200_by_700_png_that_is_not_blank() {
    for (name, _) in CHARTS {
        let path = out().join(format!("charts/{name}.png"));
        let (w, h, inked) = png_facts(&path);
        assert_eq!((w, h), (1200, 700), "{name}");
        // The title alone inks about 0.4% of the canvas; a chart with nothing to draw for the quarter (no spikes in
        // 2026Q4) adds its message, anything with axes takes several percent.
        let floor = if name == "return_spikes" { 0.006 } else { 0.02 };
        assert!(inked > floor, "{name}: only {:.3}% of pixels drawn", inked * 100.0);
    }
}

#[test]
fn every_svg_parses_as_xml_and_carries_its_title_as_text() {
    for (name, phrase) in CHARTS {
        let texts = svg_texts(&out().join(format!("charts/{name}.svg")));
        assert!(
            texts.iter().any(|t| t.contains(phrase)),
            "{name}.svg has no text containing '{phrase}'; texts: {:?}",
            &texts[..texts.len().min(5)]
        );
    }
}

#[test]
fn chinese_merchant_names_are_text_in_the_svg() {
    let names = merchant_names();
    let texts = svg_texts(&out().join("charts/sla_worst_merchants_heatmap.svg"));
    let shown: Vec<&String> = texts.iter().filter(|t| names.contains(t)).collect();
    // The heat map lists the 15 lowest merchants by name.
    assert_eq!(shown.len(), 15, "merchant names in the heat map: {shown:?}");
    assert!(
        shown
            .iter()
            .all(|n| n.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)))
    );
    // Carriers are Chinese too.
    let carriers = svg_texts(&out().join("charts/carrier_damage_loss.svg"));
    assert!(carriers.iter().any(|t| t == "极兔速递"), "{carriers:?}");
}

#[test]
fn the_embedded_font_has_a_glyph_for_every_character_the_charts_draw() {
    use ab_glyph::Font;
    let font = ab_glyph::FontRef::try_from_slice(include_bytes!("../assets/fonts/wqy-microhei.ttc")).unwrap();
    let mut checked = 0;
    for dir in [out(), q3_out().join("out")] {
        for (name, _) in CHARTS {
            for text in svg_texts(&dir.join(format!("charts/{name}.svg"))) {
                for c in text.chars().filter(|c| !c.is_whitespace()) {
                    // Glyph 0 is .notdef: the missing-glyph box.
                    assert_ne!(font.glyph_id(c).0, 0, "{name}: no glyph for {c:?} in {text:?}");
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 5000, "{checked}");
}

#[test]
fn the_report_is_one_file_that_references_nothing_outside_itself() {
    let html = report(&out());
    assert!(html.starts_with("<!DOCTYPE html>"));
    for bad in ["http://", "https://", "<link", "<script", "@import", "<iframe"] {
        assert!(!html.contains(bad), "report.html contains {bad}");
    }
    // The one url() is the page's own font, embedded.
    assert_eq!(html.matches("url(").count(), 1);
    assert_eq!(html.matches("url(data:font/ttf;base64,").count(), 1);
    // Every src is an embedded PNG, one per chart.
    let srcs: Vec<&str> = html.split(" src=\"").skip(1).collect();
    assert_eq!(srcs.len(), CHARTS.len());
    assert!(srcs.iter().all(|s| s.starts_with("data:image/png;base64,")));
    for (name, _) in CHARTS {
        assert!(
            html.contains(&format!("id=\"chart-{name}\"")),
            "{name} missing from the page"
        );
    }
    let hrefs = html.matches("href=").count();
    assert_eq!(hrefs, 0, "links would leave the page");
}

/// The exact f64 of `column` in the one row of `df` matching every (column, value).
fn f64_at(df: &DataFrame, keys: &[(&str, &str)], column: &str) -> f64 {
    let mut lf = df.clone().lazy();
    for (c, v) in keys {
        lf = lf.filter(col(*c).eq(lit(*v)));
    }
    let hit = lf.collect().unwrap();
    assert_eq!(hit.height(), 1, "{keys:?}");
    hit.column(column).unwrap().f64().unwrap().get(0).unwrap()
}

/// The `data-value` and the shown text of a headline row.
fn headline(html: &str, id: &str) -> (String, String) {
    let start = html
        .find(&format!("data-figure=\"{id}\""))
        .unwrap_or_else(|| panic!("no headline {id}"));
    let row = &html[start..start + html[start..].find("</tr>").unwrap()];
    let v = row.split("data-value=\"").nth(1).unwrap();
    let raw = v[..v.find('"').unwrap()].to_string();
    let shown = v[v.find('>').unwrap() + 1..v.find("</td>").unwrap()].to_string();
    (raw, shown)
}

#[test]
fn headline_numbers_equal_the_table_values() {
    let html = report(&out());
    let rates = read_parquet(&out().join("tables/return_rates.parquet"));
    let q4 = row(
        &rates,
        &[("period_kind", "quarter"), ("period", "2026Q4"), ("level", "platform")],
    );
    let q4_keys = [("period_kind", "quarter"), ("period", "2026Q4"), ("level", "platform")];
    for id in ["return_rate", "after_sales_rate", "refund_value_rate"] {
        let (raw, shown) = headline(&html, id);
        let want = f64_at(&rates, &q4_keys, id);
        assert_eq!(raw.parse::<f64>().unwrap(), want, "{id}");
        assert_eq!(shown, format!("{:.2}%", want * 100.0), "{id}");
    }
    let (raw, shown) = headline(&html, "units_sold");
    assert_eq!(raw, q4["units_sold"]);
    let units: u64 = q4["units_sold"].parse().unwrap();
    assert_eq!(shown.replace(',', "").parse::<u64>().unwrap(), units);
    // Money: the decimal's exact digits, shown with the yuan sign.
    let (raw, shown) = headline(&html, "refunded");
    assert_eq!(raw, q4["refunded"]);
    assert_eq!(shown.trim_start_matches('¥').replace(',', ""), q4["refunded"]);

    let sla = read_parquet(&out().join("tables/sla_compliance.parquet"));
    let ack = f64_at(
        &sla,
        &[
            ("period_kind", "quarter"),
            ("period", "2026Q4"),
            ("level", "platform"),
            ("rule", "merchant_ack"),
        ],
        "compliance",
    );
    assert_eq!(headline(&html, "sla_merchant_ack").0.parse::<f64>().unwrap(), ack);

    let carriers = read_parquet(&out().join("tables/carrier_performance.parquet"));
    let net = f64_at(
        &carriers,
        &[
            ("period_kind", "quarter"),
            ("period", "2026Q4"),
            ("direction", "all"),
            ("carrier", "顺丰速运"),
        ],
        "network_damage_rate",
    );
    assert_eq!(headline(&html, "network_damage_rate").0.parse::<f64>().unwrap(), net);

    let badges = read_parquet(&out().join("tables/badges.parquet"));
    // 2026Q4 has not ended: its rows say `provisional`, and the headline counts where merchants stand so far.
    assert_eq!(count_rows(&badges, &[("quarter", "2026Q4"), ("status", "gold")]), 0);
    let gold = count_rows(&badges, &[("quarter", "2026Q4"), ("status_so_far", "gold")]);
    assert_eq!(headline(&html, "gold_merchants").0, gold.to_string());
    // The previous quarter is shown beside it.
    let rate_row = &html[html.find("data-figure=\"return_rate\"").unwrap()..];
    let rate_row = &rate_row[..rate_row.find("</tr>").unwrap()];
    let q3_rate = f64_at(
        &rates,
        &[("period_kind", "quarter"), ("period", "2026Q3"), ("level", "platform")],
        "return_rate",
    );
    assert!(rate_row.contains(&format!("{:.2}%", q3_rate * 100.0)), "{rate_row}");
}

#[test]
fn the_q3_report_shows_the_planted_spikes_the_damage_prone_carrier_and_the_gold_merchants() {
    let dir = q3_out().join("out");
    let html = report(&dir);
    let flags = &html[html.find("id=\"flags\"").expect("a flags table")..];
    // Up to the next section (the flags' evidence tables sit inside the flags table).
    let flags = &flags[..flags.find("<h3>").unwrap()];
    // The planted spiking merchant and SKU, named: the SKU in both of its weeks; M0002 in its strongest week
    // (at the sample's volume its other two weeks stay below 10 returned lines: tests/risk_badges.rs).
    assert_eq!(flags.matches("<td>M0002 广州青禾服装旗舰店</td>").count(), 1, "{flags}");
    assert_eq!(flags.matches("<td>M0006-S001 (M0006 ").count(), 2, "{flags}");
    // Above them, the same flags as episodes: the SKU's two weeks are one episode, resolved, high, with its
    // q-value in plain words.
    let episodes = &html[html.find("id=\"episodes\"").expect("an episodes table")..];
    let episodes = &episodes[..episodes.find("</table>").unwrap()];
    let sku = &episodes[episodes.find("<td>M0006-S001 (M0006 ").expect("the SKU's episode")..];
    let sku = &sku[..sku.find("</tr>").unwrap()];
    assert!(sku.contains("<td>2026-W30 – 2026-W31 (2)</td>"), "{sku}");
    assert!(sku.contains("<td>resolved</td>"), "{sku}");
    assert!(sku.contains("fewer than 1 in 1,000 such flags is luck"), "{sku}");
    assert_eq!(episodes.matches("data-alert-id=").count(), 3, "{episodes}");
    let worse = &html[html.find("id=\"worse-carriers\"").expect("a worse-carriers table")..];
    let worse = &worse[..worse.find("</table>").unwrap()];
    assert!(worse.contains("<td>极兔速递</td>"), "{worse}");
    assert_eq!(worse.matches("<tr>").count(), 2, "one carrier only: {worse}");
    let gold = &html[html.find("id=\"gold\"").expect("a gold table")..];
    let gold = &gold[..gold.find("</table>").unwrap()];
    for m in ["M0001", "M0003", "M0005", "M0007", "M0009"] {
        let badges = read_parquet(&dir.join("tables/badges.parquet"));
        let is_gold = count_rows(
            &badges,
            &[("quarter", "2026Q3"), ("merchant_id", m), ("status", "gold")],
        ) == 1;
        assert_eq!(gold.contains(&format!("<td>{m}</td>")), is_gold, "{m}");
    }
    // SLA breacher M0004 is never gold.
    assert!(!gold.contains("<td>M0004</td>"));
    // The funnel labels the flagged merchant by its Chinese name, as text in the SVG.
    let texts = svg_texts(&dir.join("charts/merchant_funnel.svg"));
    assert!(texts.iter().any(|t| t == "广州青禾服装旗舰店"), "{texts:?}");
    let (_, _, inked) = png_facts(&dir.join("charts/return_spikes.png"));
    assert!(inked > 0.02, "three spike panels: {inked}");
    let spikes = svg_texts(&dir.join("charts/return_spikes.svg"));
    assert!(
        spikes.iter().any(|t| t.contains("merchant M0002 广州青禾服装旗舰店")),
        "{spikes:?}"
    );
}

#[test]
fn a_quarter_without_data_still_gets_a_report_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let o = aftersales(&[
        "run",
        "--out",
        dir.path().join("out").to_str().unwrap(),
        "--quarter",
        "2025Q1",
        "--lang",
        "en",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = report(&dir.path().join("out"));
    let (raw, shown) = headline(&html, "return_rate");
    assert_eq!((raw.as_str(), shown.as_str()), ("", "—"));
    assert!(html.contains("No merchant or SKU return spike was flagged in 2025Q1."));
    let texts = svg_texts(&dir.path().join("out/charts/return_reasons_pareto.svg"));
    assert!(
        texts.iter().any(|t| t == "No counted cases opened in 2025Q1"),
        "{texts:?}"
    );
    let run = run_json(&dir.path().join("out"));
    assert_eq!(run["quarter"], "2025Q1");
}

/// SPEC §5: by default the latest quarter that has ended at as_of. The sample's as_of is in December 2026, so
/// 2026Q3 — ended on 1 October and mature since 31 October (30 days): final, no provisional banner.
#[test]
fn the_default_quarter_is_the_latest_quarter_that_has_ended() {
    let run = run_json(&sample_out().join("out"));
    assert_eq!(run["as_of"].as_str().unwrap()[..7].to_string(), "2026-12");
    assert_eq!(run["quarter"], "2026Q3");
    let html = report(&sample_out().join("out"));
    // Chinese by default.
    assert!(html.contains("<html lang=\"zh-CN\">"));
    assert!(html.contains("<title>售后报告 2026Q3</title>"));
    assert!(!html.contains("id=\"provisional\""));
}

/// The case: an export taken on 5 October 2026 with no --quarter. The report covers 2026Q3, not five days
/// of Q4; Q3 has ended but its September orders can still be returned until 31 October, so its badges are
/// provisional in badges.parquet and merchant_risk.parquet, and the page says so above the figures and on the
/// gold headline.
#[test]
fn an_export_taken_days_into_a_quarter_reports_the_quarter_before_marked_provisional() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = aftersales(&["run", "--out", out.to_str().unwrap(), "--as-of", "2026-10-05 09:00:00"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(run_json(&out)["quarter"], "2026Q3");
    let html = report(&out);
    let banner = &html[html.find("id=\"provisional\"").expect("a provisional banner")..];
    assert!(
        banner.contains("截至数据时间 2026Q3 的最后一个月尚未成熟（其订单在 2026-10-31 之前仍可能退货）"),
        "{}",
        banner.chars().take(200).collect::<String>()
    );
    let badges = read_parquet(&out.join("tables/badges.parquet"));
    let q3 = count_rows(&badges, &[("quarter", "2026Q3")]);
    assert!(q3 > 0);
    assert_eq!(
        count_rows(&badges, &[("quarter", "2026Q3"), ("status", "provisional")]),
        q3
    );
    assert_eq!(
        count_rows(&badges, &[("quarter", "2026Q2"), ("status", "provisional")]),
        0
    );
    let risk = read_parquet(&out.join("tables/merchant_risk.parquet"));
    let provisional: Vec<bool> = risk
        .clone()
        .lazy()
        .filter(col("quarter").eq(lit("2026Q3")))
        .collect()
        .unwrap()
        .column("provisional")
        .unwrap()
        .bool()
        .unwrap()
        .iter()
        .map(|p| p == Some(true))
        .collect();
    assert!(!provisional.is_empty() && provisional.iter().all(|p| *p));
    let gold_row = &html[html.find("data-figure=\"gold_merchants\"").unwrap()..];
    assert!(gold_row[..gold_row.find("</tr>").unwrap()].contains("暂定："));
}

#[test]
fn the_gold_table_and_near_misses_match_badges() {
    let dir = q3_out().join("out");
    let html = report(&dir);
    let badges = read_parquet(&dir.join("tables/badges.parquet"));
    let q3 = badges
        .clone()
        .lazy()
        .filter(
            col("quarter")
                .eq(lit("2026Q3"))
                .and(col("status").eq(lit("not_awarded"))),
        )
        .filter(col("failed_criteria").list().len().eq(lit(1)))
        .collect()
        .unwrap();
    let ids = str_col(&q3, "merchant_id");
    let near = match html.find("id=\"near-misses\"") {
        Some(i) => {
            let t = &html[i..];
            t[..t.find("<h2").unwrap()].to_string()
        }
        None => String::new(),
    };
    // One row per near miss (its evidence rows are indented inside a table of their own).
    assert_eq!(near.matches("\n  <tr><td>").count(), ids.len(), "{near}");
    for id in &ids {
        let r = row(&badges, &[("quarter", "2026Q3"), ("merchant_id", id)]);
        assert!(near.contains(&format!("<td>{id}</td>")), "{id}");
        // The gap sentence is the table's own.
        let gap = r["gaps"].trim_matches(|c| c == '[' || c == ']' || c == '"').to_string();
        assert!(near.contains(&gap), "{gap} not in {near}");
    }
}

/// Under each flag and each near miss the page lists the first records behind it and says how many there are and
/// where: the count is the evidence table's own for that flag or criterion, and the shown case ids are rows of it.
#[test]
fn flags_and_near_misses_show_their_first_evidence_and_where_the_rest_are() {
    let dir = q3_out().join("out");
    let html = report(&dir);
    let (fe, be) = (
        read_parquet(&dir.join("tables/flag_evidence.parquet")),
        read_parquet(&dir.join("tables/badge_evidence.parquet")),
    );
    let flags_table = &html[html.find("id=\"flags\"").expect("flags on the Q3 page")..];
    let flags_table = &flags_table[..flags_table.find("<h3>Merchants at high risk").unwrap()];
    let mut seen = 0;
    for part in html.split("data-evidence-total=\"").skip(1) {
        let total: usize = part[..part.find('"').unwrap()].parse().unwrap();
        let source = &part[part.find(" in tables/").unwrap() + 4..part.find(".</span>").unwrap()];
        let (file, filter) = source.split_once(": ").unwrap();
        let keys: Vec<(&str, &str)> = filter.split(", ").map(|kv| kv.split_once(" = ").unwrap()).collect();
        let table = if file == "tables/flag_evidence.parquet" {
            &fe
        } else {
            &be
        };
        assert_eq!(count_rows(table, &keys), total, "{source}");
        assert!(total > 0);
        seen += 1;
    }
    // Every flag of the quarter has its block, and the near misses theirs.
    let blocks_under_flags = flags_table.matches("data-evidence-total=").count();
    assert_eq!(
        blocks_under_flags,
        flags_table.matches("<td class=\"high\">").count() + flags_table.matches("<td>medium</td>").count()
    );
    assert!(seen > blocks_under_flags, "evidence blocks: {seen}");
    // A case id shown under the first flag is one of that flag's evidence rows.
    let first_case = flags_table
        .split("<tr><td>C")
        .nth(1)
        .map(|s| format!("C{}", &s[..s.find('<').unwrap()]));
    let case = first_case.expect("a case under the first flag");
    assert!(str_col(&fe, "case_id").contains(&case), "{case}");
}

/// Both languages render every text from their catalogue: no `⟦key⟧` left on the page or in any chart, and the
/// Chinese page uses the platforms' own terms where the English one has its words — in the page and in the charts'
/// text. Numbers and table references are the same in both.
#[test]
fn the_report_renders_in_chinese_and_in_english() {
    let zh_dir = tempfile::tempdir().unwrap();
    let zh_out = zh_dir.path().join("out");
    let o = aftersales(&[
        "run",
        "--out",
        zh_out.to_str().unwrap(),
        "--quarter",
        "2026Q3",
        "--lang",
        "zh-CN",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let en_out = q3_out().join("out");
    let (zh, en) = (report(&zh_out), report(&en_out));
    for (page, dir) in [(&zh, &zh_out), (&en, &en_out)] {
        assert!(!page.contains('⟦'), "a text without a catalogue entry");
        for (name, _) in CHARTS {
            let texts = svg_texts(&dir.join(format!("charts/{name}.svg")));
            assert!(texts.iter().all(|t| !t.contains('⟦')), "{name}: {texts:?}");
        }
    }
    assert!(zh.contains("<html lang=\"zh-CN\">") && en.contains("<html lang=\"en\">"));
    for term in [
        "退货率",
        "售后率",
        "退款率",
        "纠纷率",
        "金牌售后",
        "异常退货预警",
        "商家响应时效",
        "核心指标",
        "数据质量",
    ] {
        assert!(zh.contains(term), "{term} missing from the Chinese page");
    }
    for word in [
        "Return rate",
        "Headline figures",
        "Data quality",
        "Merchant risk: return spikes",
    ] {
        assert!(en.contains(word) && !zh.contains(word), "{word}");
    }
    // The same figure in both: the return-rate headline's exact value.
    let raw = |page: &str| {
        let row = &page[page.find("data-figure=\"return_rate\"").unwrap()..];
        let v = &row[row.find("data-value=\"").unwrap() + 12..];
        v[..v.find('"').unwrap()].to_string()
    };
    assert_eq!(raw(&zh), raw(&en));
    // Chart texts: titles, axes and legends in Chinese.
    let zh_texts = |name: &str| svg_texts(&zh_out.join(format!("charts/{name}.svg"))).join(" | ");
    assert!(
        zh_texts("return_reasons_pareto").contains("售后原因，2026Q3"),
        "{}",
        zh_texts("return_reasons_pareto")
    );
    assert!(zh_texts("return_reasons_pareto").contains("尺码不合适"));
    assert!(zh_texts("sla_compliance_by_rule").contains("商家响应时效"));
    assert!(zh_texts("badge_results").contains("金牌售后，2026Q3"));
    assert!(zh_texts("return_spikes").contains("每周退货率"));
    // A flag's sentence, in each language, from the same figures.
    assert!(zh.contains("售出的 27 个订单行中有 19 个在 14 天内发起退货（70.4%）"));
    assert!(en.contains("19 of 27 order lines bought in 2026-W31 were returned within 14 days (70.4%)"));
    assert!(en.contains("fewer than 1 in 1,000 such flags is luck"));
}

/// The page carries the glyphs it uses (SPEC §5): the Chinese page embeds a font — a valid TrueType file with the
/// tables a browser's sanitiser demands — that has a glyph for every character of the page's visible text, so it
/// shows no missing-glyph boxes on a machine with no CJK font (this one has none; `.ci/run` opens the page in
/// Chromium as well).
#[test]
fn the_chinese_page_embeds_a_glyph_for_every_character_it_shows() {
    use ab_glyph::Font;
    use base64::Engine;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let o = aftersales(&["run", "--out", out.to_str().unwrap(), "--quarter", "2026Q3"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let html = report(&out);
    let b64 = &html[html.find("url(data:font/ttf;base64,").unwrap() + 25..];
    let b64 = &b64[..b64.find(')').unwrap()];
    let ttf = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    assert!(ttf.len() < 400_000, "{} bytes: a subset, not the whole font", ttf.len());
    let tags: Vec<&[u8]> = (0..usize::from(u16::from_be_bytes([ttf[4], ttf[5]])))
        .map(|i| &ttf[12 + 16 * i..12 + 16 * i + 4])
        .collect();
    for t in [
        &b"OS/2"[..],
        b"cmap",
        b"glyf",
        b"head",
        b"hhea",
        b"hmtx",
        b"loca",
        b"maxp",
        b"name",
        b"post",
    ] {
        assert!(tags.contains(&t), "no {} table", String::from_utf8_lossy(t));
    }
    let font = ab_glyph::FontRef::try_from_slice(&ttf).unwrap();
    // The visible text: the page without its style, tags and embedded data.
    let body = &html[html.find("<body>").unwrap()..];
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let chinese = text.chars().filter(|c| ('\u{4e00}'..='\u{9fff}').contains(c)).count();
    assert!(chinese > 500, "{chinese}");
    for c in text.chars().filter(|c| !c.is_whitespace()) {
        assert_ne!(font.glyph_id(c).0, 0, "no glyph for {c:?} in the embedded font");
    }
}

/// The notable merchants of the quarter, worked out from the tables alone: a flag whose week's Monday is in the
/// quarter (its own or one of its SKUs'), an episode reaching into the quarter, risk watch or high, gold so far, or
/// eligible and short by exactly one criterion.
fn notable_from_tables(dir: &Path, quarter: &str) -> BTreeSet<String> {
    let t = |n: &str| read_parquet(&dir.join(format!("tables/{n}.parquet")));
    let quarter_of = |date: &str| {
        let m: u32 = date[5..7].parse().unwrap();
        format!("{}Q{}", &date[..4], (m - 1) / 3 + 1)
    };
    let mut ids = BTreeSet::new();
    let flags = t("risk_flags");
    for (w, m) in str_col(&flags, "week_start").iter().zip(str_col(&flags, "merchant_id")) {
        if quarter_of(w) == quarter {
            ids.insert(m);
        }
    }
    let ep = t("flag_episodes");
    let (first, last, m) = (
        str_col(&ep, "first_week_start"),
        str_col(&ep, "last_week_start"),
        str_col(&ep, "merchant_id"),
    );
    for i in 0..ep.height() {
        if quarter_of(&first[i]).as_str() <= quarter && quarter <= quarter_of(&last[i]).as_str() {
            ids.insert(m[i].clone());
        }
    }
    let risk = t("merchant_risk");
    let (rq, rm, rl) = (
        str_col(&risk, "quarter"),
        str_col(&risk, "merchant_id"),
        str_col(&risk, "risk_level"),
    );
    for i in 0..risk.height() {
        if rq[i] == quarter && (rl[i] == "watch" || rl[i] == "high") {
            ids.insert(rm[i].clone());
        }
    }
    let b = t("badges");
    let (bq, bm, bs) = (
        str_col(&b, "quarter"),
        str_col(&b, "merchant_id"),
        str_col(&b, "status_so_far"),
    );
    let failed = b.column("failed_criteria").unwrap().list().unwrap().clone();
    for i in 0..b.height() {
        let n_failed = failed.get_as_series(i).map_or(0, |s| s.len());
        if bq[i] == quarter && (bs[i] == "gold" || (bs[i] == "not_awarded" && n_failed == 1)) {
            ids.insert(bm[i].clone());
        }
    }
    ids
}

/// A page for each merchant with something to act on in the quarter (`merchant_pages = "notable"`, the default),
/// and merchants/index.json listing every merchant of the quarter with its file. M0002's 2026Q3 page (the
/// planted spiking merchant, in English here): its return rate and the platform's are the tables' own, its
/// flags of the quarter are listed with their evidence, every failed criterion is marked ✗ with its gap and its
/// records, and the page is as self-contained as the report (no link, no script, its own font).
#[test]
fn each_notable_merchant_gets_a_page_of_its_quarter_with_its_flags_and_criteria() {
    let dir = q3_out().join("out");
    let badges = read_parquet(&dir.join("tables/badges.parquet"));
    let q3: Vec<String> = (0..badges.height())
        .filter(|&i| str_col(&badges, "quarter")[i] == "2026Q3")
        .map(|i| str_col(&badges, "merchant_id")[i].clone())
        .collect();
    let mut pages: Vec<String> = std::fs::read_dir(dir.join("merchants"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|f| f != "index.json")
        .collect();
    pages.sort();
    let notable = notable_from_tables(&dir, "2026Q3");
    let expected: Vec<String> = notable.iter().map(|id| format!("{id}.html")).collect();
    assert_eq!(pages, expected);
    // The planted ones are among them (spiking M0002 and M0006, the gold-worthy), and far from every merchant is.
    for id in ["M0002", "M0006", "M0001", "M0005"] {
        assert!(notable.contains(id), "{id}");
    }
    assert!(
        notable.len() * 2 < q3.len(),
        "{} notable of {}",
        notable.len(),
        q3.len()
    );
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("merchants/index.json")).unwrap()).unwrap();
    let listed = index["merchants"].as_array().unwrap();
    assert_eq!(listed.len(), q3.len());
    for m in listed {
        let id = m["merchant_id"].as_str().unwrap();
        assert_eq!(m["file"], format!("{id}.html"));
        assert_eq!(m["written"], notable.contains(id), "{id}");
        assert_eq!(
            m["notable"].as_array().unwrap().is_empty(),
            !notable.contains(id),
            "{m}"
        );
    }
    let page = std::fs::read_to_string(dir.join("merchants/M0002.html")).unwrap();
    assert!(
        page.contains("<title>M0002 广州青禾服装旗舰店: after-sales 2026Q3</title>"),
        "{}",
        &page[..400]
    );
    for bad in ["http://", "https://", "href=", "<script", "⟦"] {
        assert!(!page.contains(bad), "{bad}");
    }
    assert_eq!(page.matches("url(data:font/ttf;base64,").count(), 1);
    let rates = read_parquet(&dir.join("tables/return_rates.parquet"));
    let rate = |level: &str, key: &str| {
        f64_at(
            &rates,
            &[
                ("period_kind", "quarter"),
                ("period", "2026Q3"),
                ("level", level),
                ("key", key),
            ],
            "return_rate",
        )
    };
    let row = &page[page.find("Return rate (units returned / units sold)").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains(&format!("{:.2}%", rate("merchant", "M0002") * 100.0)),
        "{row}"
    );
    assert!(
        row.contains(&format!("{:.2}%", rate("platform", "all") * 100.0)),
        "{row}"
    );
    // The merchant's flags of the quarter: the planted spike's strongest week, with its evidence block, and
    // above it the episode with what the merchant is asked to check, and the dispute test in words.
    let flags = &page[page.find("id=\"flags\"").unwrap()..];
    let flags = &flags[..flags.find("<h2").unwrap()];
    assert_eq!(
        flags
            .matches("<td>merchant</td><td>M0002 广州青禾服装旗舰店</td>")
            .count(),
        1,
        "{flags}"
    );
    assert_eq!(flags.matches("data-evidence-total=").count(), 1);
    let episodes = &page[page.find("id=\"episodes\"").expect("the merchant's episodes")..];
    let episodes = &episodes[..episodes.find("</table>").unwrap()];
    assert!(episodes.contains("<td>2026-W37</td>"), "{episodes}");
    assert!(
        episodes.contains("Please check the quality of the goods you sold from 2026-W37 to 2026-W37"),
        "{episodes}"
    );
    let dispute = &page[page.find("id=\"dispute-test\"").expect("the dispute test")..];
    assert!(
        dispute.starts_with("id=\"dispute-test\">Dispute test: "),
        "{dispute:.200}"
    );
    // Each failed criterion: ✗, its gap, and its records.
    let b = row_of(&badges, "M0002");
    let failed: Vec<&str> = b.split(',').filter(|c| !c.is_empty()).collect();
    let criteria = &page[page.find("id=\"criteria\"").unwrap()..];
    assert_eq!(criteria.matches("<td>✗</td>").count(), failed.len(), "{failed:?}");
    assert_eq!(criteria.matches("data-evidence-total=").count(), failed.len());
    assert!(!failed.is_empty(), "the planted merchant fails criteria in 2026Q3");
}

/// M0002's failed criteria in 2026Q3, joined by ",".
fn row_of(badges: &DataFrame, id: &str) -> String {
    let hit = badges
        .clone()
        .lazy()
        .filter(col("quarter").eq(lit("2026Q3")).and(col("merchant_id").eq(lit(id))))
        .select([col("failed_criteria").list().join(lit(","), true)])
        .collect()
        .unwrap();
    str_col(&hit, "failed_criteria")[0].clone()
}

/// Every SLA rule switched off (an export with no times for any): sla_compliance has no rows but keeps its
/// columns, and the page says the rules are not measured instead of failing to read the table.
#[test]
fn a_config_with_every_sla_rule_switched_off_still_gets_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&repo().join("sample_data"), &data);
    let mut cfg = std::fs::read_to_string(data.join("aftersales.toml")).unwrap();
    for rule in [
        "merchant_ack",
        "first_response",
        "review_decision",
        "return_inspection",
        "complaint_resolution",
        "repair_response",
        "refund_payout",
    ] {
        cfg.push_str(&format!("\n[[sla.rules]]\nname = \"{rule}\"\nenabled = false\n"));
    }
    std::fs::write(data.join("aftersales.toml"), cfg).unwrap();
    let out = dir.path().join("out");
    let o = aftersales(&[
        "--quiet",
        "run",
        "--lang",
        "en",
        "--data",
        data.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let compliance = read_parquet(&out.join("tables/sla_compliance.parquet"));
    assert_eq!(compliance.height(), 0);
    assert!(compliance.column("compliance").is_ok(), "the table keeps its columns");
    let page = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        page.contains("Not measured: the merchant_ack rule is switched off"),
        "the page says why there is no figure"
    );
}
