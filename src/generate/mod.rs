//! Deterministic synthetic exports with planted patterns (SPEC §6 `generate`).
//!
//! One calendar year (2026) of orders, exported at 2026-12-31 23:59:59 Asia/Shanghai. Every event that would
//! happen after that moment is cut off, so the export holds open cases, running clocks, pending refunds and
//! parcels in transit, as a real export does. Rows are written day by day as they are made: memory stays flat
//! from a few thousand rows to hundreds of millions. The same seed and scale give the same bytes.
//!
//! Planted patterns (see `PLANTED` and sample_data/README.md), each meant to be found again by counting the output:
//! - `M0002` returns spike for order cohorts of ISO weeks 2026-W36..W38 (quality defects, ×4);
//! - sku `M0006-S001` returns spike for order cohorts of 2026-W30..W31 (×6, while on promotion: ~90% of its
//!   merchant's orders in those weeks);
//! - carrier 极兔速递 damages about 3× as many parcels as the others;
//! - `M0004` often misses the 2-hour acknowledgement and the refund payout SLA;
//! - `M0001`, `M0003`, `M0005`, `M0007`, `M0009` are fast, careful and well rated: gold-badge material;
//! - Double 11: order volume climbs from 1 November and peaks at about 8× on 11 November (618 peaks at 3×);
//! - about 0.3% of acknowledgements are stamped minutes before the request (clock skew between systems).
//!
//! Returns cluster as real ones do, so that flags measured on this data are not flattered: each merchant's case
//! propensity varies week to week (a gamma multiplier with mean 1, CV 0.3, per merchant and ISO week), and a later
//! line of an order whose earlier line was returned comes back in the same return half the time.

pub mod names;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{Datelike, NaiveDate, TimeZone as _};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::time::Micros;

pub const EXPORT_AT_LOCAL: &str = "2026-12-31 23:59:59";
pub const SPIKE_MERCHANT: &str = "M0002";
pub const SPIKE_MERCHANT_WEEKS: std::ops::RangeInclusive<u32> = 36..=38;
pub const SPIKE_SKU: &str = "M0006-S001";
pub const SPIKE_SKU_WEEKS: std::ops::RangeInclusive<u32> = 30..=31;
pub const DAMAGE_PRONE_CARRIER: &str = "极兔速递";
pub const SLA_BREACHER: &str = "M0004";
pub const GOLD_MERCHANTS: [&str; 5] = ["M0001", "M0003", "M0005", "M0007", "M0009"];

const TZ: Tz = chrono_tz::Asia::Shanghai;
const HOUR: i64 = 3_600_000_000;
const MIN: i64 = 60_000_000;
const DAY: i64 = 24 * HOUR;
/// Scale 1 ≈ this many order lines.
const LINES_AT_SCALE_1: f64 = 1_000_000.0;

pub struct Options {
    pub scale: f64,
    pub seed: u64,
    pub zh_copy: bool,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub orders: u64,
    pub order_lines: u64,
    pub cases: u64,
    pub shipments: u64,
    pub refunds: u64,
    pub merchants: u64,
}

struct Category {
    name: &'static str,
    case_rate: f64,
    price_range: (i64, i64),
    apparel: bool,
}

const CATEGORIES: &[Category] = &[
    Category {
        name: "服装",
        case_rate: 0.16,
        price_range: (3_990, 59_900),
        apparel: true,
    },
    Category {
        name: "鞋靴",
        case_rate: 0.14,
        price_range: (6_990, 89_900),
        apparel: true,
    },
    Category {
        name: "数码",
        case_rate: 0.06,
        price_range: (4_990, 699_900),
        apparel: false,
    },
    Category {
        name: "家电",
        case_rate: 0.05,
        price_range: (9_900, 499_900),
        apparel: false,
    },
    Category {
        name: "美妆",
        case_rate: 0.04,
        price_range: (2_990, 79_900),
        apparel: false,
    },
    Category {
        name: "食品",
        case_rate: 0.025,
        price_range: (990, 19_900),
        apparel: false,
    },
    Category {
        name: "家居",
        case_rate: 0.07,
        price_range: (1_990, 159_900),
        apparel: false,
    },
    Category {
        name: "母婴",
        case_rate: 0.06,
        price_range: (2_990, 99_900),
        apparel: false,
    },
    Category {
        name: "运动户外",
        case_rate: 0.09,
        price_range: (4_990, 199_900),
        apparel: true,
    },
    Category {
        name: "图书",
        case_rate: 0.03,
        price_range: (1_500, 19_900),
        apparel: false,
    },
];

struct Carrier {
    name: &'static str,
    share: f64,
    damage: f64,
}

const CARRIERS: &[Carrier] = &[
    Carrier {
        name: "顺丰速运",
        share: 0.20,
        damage: 0.005,
    },
    Carrier {
        name: "中通快递",
        share: 0.22,
        damage: 0.006,
    },
    Carrier {
        name: "圆通速递",
        share: 0.18,
        damage: 0.006,
    },
    Carrier {
        name: "韵达快递",
        share: 0.14,
        damage: 0.006,
    },
    Carrier {
        name: "申通快递",
        share: 0.10,
        damage: 0.006,
    },
    Carrier {
        name: "京东物流",
        share: 0.06,
        damage: 0.004,
    },
    Carrier {
        name: DAMAGE_PRONE_CARRIER,
        share: 0.10,
        damage: 0.018,
    },
];
const LOSS_RATE: f64 = 0.002;
const RTS_RATE: f64 = 0.003;

const REGIONS: &[&str] = &[
    "浙江", "广东", "江苏", "上海", "北京", "四川", "湖北", "山东", "福建", "河南", "湖南", "陕西",
];

struct Merchant {
    id: String,
    name: String,
    category: usize,
    origin: &'static str,
    weight: f64,
    skus: Vec<Sku>,
    sku_cum: Vec<f64>,
    carrier_cum: Vec<f64>,
    quality: f64,
    ack_late: f64,
    resp_late: f64,
    refund_late: f64,
    dispute: f64,
    satisfaction: f64,
    /// Per ISO week (index = week number): a multiplier on the merchant's case propensity, gamma with mean 1 and
    /// coefficient of variation [`WEEKLY_CV`]. Real returns cluster — a bad batch, a busy week, one buyer — so a
    /// merchant's weekly counts vary more than a binomial says; measuring flags on data without it flatters them.
    week_mult: Vec<f64>,
}

/// Coefficient of variation of a merchant's week-to-week case propensity.
pub const WEEKLY_CV: f64 = 0.3;
/// Chance that a delivered line of an order whose earlier line was returned comes back in the same return.
pub const RETURNED_TOGETHER: f64 = 0.5;

struct Sku {
    id: String,
    category: usize,
    price: i64,
}

fn cumulative(weights: impl IntoIterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    let mut v: Vec<f64> = weights
        .into_iter()
        .map(|w| {
            acc += w;
            acc
        })
        .collect();
    let total = acc.max(f64::MIN_POSITIVE);
    v.iter_mut().for_each(|x| *x /= total);
    v
}

fn pick(cum: &[f64], u: f64) -> usize {
    cum.partition_point(|c| *c < u).min(cum.len() - 1)
}

fn local_midnight(d: NaiveDate) -> Micros {
    TZ.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap())
        .unwrap()
        .timestamp_micros()
}

/// Relative order volume of a day: weekends a little higher, Spring Festival lower, 618 and Double 11 peaks.
fn day_weight(d: NaiveDate) -> f64 {
    let mut w = if d.weekday().number_from_monday() >= 6 {
        1.15
    } else {
        1.0
    };
    let (m, day) = (d.month(), d.day());
    if m == 2 && (14..=23).contains(&day) {
        w *= 0.5;
    }
    if m == 6 && (1..=17).contains(&day) {
        w *= 1.3;
    }
    if m == 6 && day == 18 {
        w *= 3.0;
    }
    if m == 11 && (1..=10).contains(&day) {
        w *= 1.6;
    }
    if m == 11 && day == 11 {
        w *= 8.0;
    }
    if m == 11 && day == 12 {
        w *= 2.0;
    }
    if m == 12 && day == 12 {
        w *= 2.0;
    }
    w
}

struct Writers {
    orders: BufWriter<File>,
    cases: BufWriter<File>,
    shipments: BufWriter<File>,
    refunds: BufWriter<File>,
    zh: Option<BufWriter<File>>,
}

fn create(dir: &Path, name: &str) -> Result<BufWriter<File>> {
    let p = dir.join(name);
    Ok(BufWriter::with_capacity(
        1 << 20,
        File::create(&p).with_context(|| format!("cannot create {}", p.display()))?,
    ))
}

struct Gen {
    rng: ChaCha8Rng,
    export_at: Micros,
    merchants: Vec<Merchant>,
    merchant_cum: Vec<f64>,
    counts: Counts,
    next_case: u64,
    next_ship: u64,
    next_refund: u64,
}

/// Timestamps: orders and shipments as naive local time, cases and refunds with a +08:00 offset — both forms of
/// SPEC §1 appear in one export set, as they do when exports come from different systems.
fn fmt_naive(t: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .unwrap()
        .with_timezone(&TZ)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn fmt_offset(t: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .unwrap()
        .with_timezone(&TZ)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

fn fmt_zh(t: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(t)
        .unwrap()
        .with_timezone(&TZ)
        .format("%Y/%-m/%-d %H:%M:%S")
        .to_string()
}

fn money(c: i64) -> String {
    format!("{}.{:02}", c / 100, c % 100)
}

fn opt(t: Option<Micros>, f: fn(Micros) -> String) -> String {
    t.map(f).unwrap_or_default()
}

pub fn generate(out: &Path, opts: &Options, progress: &crate::progress::Progress) -> Result<Counts> {
    anyhow::ensure!(
        opts.scale > 0.0 && opts.scale.is_finite(),
        "--scale {}: expected a number above 0",
        opts.scale
    );
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let export_at = crate::time::parse_ts(EXPORT_AT_LOCAL, TZ).expect("constant");
    let mut merchants = make_merchants(&mut rng, opts.scale);
    // Drawn from a stream of their own, after the merchants, so the merchants themselves do not depend on them.
    let mut weekly = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5745_454b_4c59);
    let shape = 1.0 / (WEEKLY_CV * WEEKLY_CV);
    let gamma = rand_distr::Gamma::new(shape, 1.0 / shape).expect("positive shape and scale");
    for m in &mut merchants {
        m.week_mult = (0..=53)
            .map(|_| rand_distr::Distribution::sample(&gamma, &mut weekly))
            .collect();
    }
    let merchant_cum = cumulative(merchants.iter().map(|m| m.weight));

    let mut mw = create(out, "merchants.csv")?;
    writeln!(mw, "merchant_id,merchant_name,primary_category")?;
    for m in &merchants {
        writeln!(mw, "{},{},{}", m.id, m.name, CATEGORIES[m.category].name)?;
    }
    mw.flush()?;

    let mut w = Writers {
        orders: create(out, "orders.csv")?,
        cases: create(out, "cases.csv")?,
        shipments: create(out, "shipments.csv")?,
        refunds: create(out, "refunds.csv")?,
        zh: if opts.zh_copy {
            Some(create(out, "cases_zh_gbk.csv")?)
        } else {
            None
        },
    };
    writeln!(
        w.orders,
        "order_id,line_no,merchant_id,sku,category,quantity,unit_price,ordered_at"
    )?;
    writeln!(
        w.cases,
        "{}",
        crate::tables::cases::COLUMNS
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(",")
    )?;
    writeln!(
        w.shipments,
        "shipment_id,order_id,case_id,direction,carrier,origin_region,dest_region,shipped_at,promised_at,delivered_at,outcome"
    )?;
    writeln!(
        w.refunds,
        "refund_id,case_id,order_id,merchant_id,amount,method,approved_at,refunded_at,status"
    )?;
    if let Some(z) = &mut w.zh {
        z.write_all(&gbk(&names::ZH_CASE_HEADER.join(",")))?;
        z.write_all(b"\r\n")?;
    }

    let mut g = Gen {
        rng,
        export_at,
        merchants,
        merchant_cum,
        counts: Counts::default(),
        next_case: 0,
        next_ship: 0,
        next_refund: 0,
    };
    g.counts.merchants = g.merchants.len() as u64;
    let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let days: Vec<NaiveDate> = first.iter_days().take_while(|d| d.year() == 2026).collect();
    let total_weight: f64 = days.iter().map(|d| day_weight(*d)).sum();
    // Average lines per order is 1.4 (see `lines_in_order`).
    let orders_per_weight = opts.scale * LINES_AT_SCALE_1 / 1.4 / total_weight;
    let mut order_seq: u64 = 0;
    for d in days {
        let expected = day_weight(d) * orders_per_weight;
        let n_orders = (expected * (0.95 + 0.1 * g.rng.random::<f64>())).round() as u64;
        let day_start = local_midnight(d);
        let week = d.iso_week().week();
        for _ in 0..n_orders {
            order_seq += 1;
            g.order(&mut w, order_seq, day_start, week)?;
        }
        progress.inc(n_orders);
    }
    w.orders.flush()?;
    w.cases.flush()?;
    w.shipments.flush()?;
    w.refunds.flush()?;
    if let Some(z) = &mut w.zh {
        z.flush()?;
    }
    std::fs::write(out.join("aftersales.toml"), config_text(None))?;
    if opts.zh_copy {
        std::fs::write(out.join("zh_export.toml"), config_text(Some("cases_zh_gbk.csv")))?;
    }
    Ok(g.counts)
}

fn gbk(s: &str) -> Vec<u8> {
    encoding_rs::GBK.encode(s).0.into_owned()
}

/// China's 2026 public holidays and make-up workdays (调休), as announced by the State Council: the bundled
/// calendar's 2026 (`calendar = "cn"`, tested equal), written out in the sample config so that any reader of the
/// config sees the days.
pub const HOLIDAYS_2026: &[&str] = &[
    "2026-01-01",
    "2026-01-02",
    "2026-01-03", // 元旦
    "2026-02-15",
    "2026-02-16",
    "2026-02-17",
    "2026-02-18",
    "2026-02-19",
    "2026-02-20",
    "2026-02-21",
    "2026-02-22",
    "2026-02-23", // 春节
    "2026-04-04",
    "2026-04-05",
    "2026-04-06", // 清明
    "2026-05-01",
    "2026-05-02",
    "2026-05-03",
    "2026-05-04",
    "2026-05-05", // 劳动节
    "2026-06-19",
    "2026-06-20",
    "2026-06-21", // 端午
    "2026-09-25",
    "2026-09-26",
    "2026-09-27", // 中秋
    "2026-10-01",
    "2026-10-02",
    "2026-10-03",
    "2026-10-04",
    "2026-10-05",
    "2026-10-06",
    "2026-10-07", // 国庆
];
pub const EXTRA_WORKDAYS_2026: &[&str] = &[
    "2026-01-04",
    "2026-02-14",
    "2026-02-28",
    "2026-05-09",
    "2026-09-20",
    "2026-10-10",
];

fn config_text(zh_cases: Option<&str>) -> String {
    let list = |v: &[&str]| v.iter().map(|d| format!("\"{d}\"")).collect::<Vec<_>>().join(", ");
    let mut s = format!(
        "# Written by `aftersales generate`. Times without an offset are local to this zone.\n\
         timezone = \"Asia/Shanghai\"\n\n\
         # China's 2026 public holidays and make-up workdays (调休), for working-day clocks: the same days as\n\
         # calendar = \"cn\", the bundled official calendar (2018–2026), written out.\n\
         [calendar]\nholidays = [{}]\nextra_workdays = [{}]\n",
        list(HOLIDAYS_2026),
        list(EXTRA_WORKDAYS_2026)
    );
    if let Some(path) = zh_cases {
        s.push_str(&names::zh_cases_config(path));
    }
    s
}

fn make_merchants(rng: &mut ChaCha8Rng, scale: f64) -> Vec<Merchant> {
    let n = ((300.0 * scale.sqrt()).round() as usize).max(40);
    let cat_cum = cumulative([0.2, 0.1, 0.12, 0.06, 0.1, 0.08, 0.12, 0.07, 0.09, 0.06]);
    let carrier_base: Vec<f64> = CARRIERS.iter().map(|c| c.share).collect();
    (0..n)
        .map(|i| {
            let id = format!("M{:04}", i + 1);
            let mut category = pick(&cat_cum, rng.random());
            // Planted merchants sell apparel or shoes, where after-sales volume is high enough for every quarter's
            // badge to be judged (≥ 20 cases) even in the small sample set.
            match id.as_str() {
                "M0001" | "M0002" | "M0004" | "M0005" | "M0006" | "M0009" => category = 0,
                "M0003" | "M0007" => category = 1,
                _ => {}
            }
            let name = names::merchant_name(i, CATEGORIES[category].name);
            let n_skus = rng.random_range(12..=60);
            let second = (category + 1 + rng.random_range(0..CATEGORIES.len() - 1)) % CATEGORIES.len();
            let skus: Vec<Sku> = (0..n_skus)
                .map(|k| {
                    let c = if k < 3 || rng.random::<f64>() < 0.85 {
                        category
                    } else {
                        second
                    };
                    let (lo, hi) = CATEGORIES[c].price_range;
                    // Log-uniform prices, rounded to end in .90 as shops price them.
                    let p = (lo as f64 * ((hi as f64 / lo as f64).powf(rng.random::<f64>()))) as i64;
                    Sku {
                        id: format!("{id}-S{:03}", k + 1),
                        category: c,
                        price: (p / 100) * 100 + 90,
                    }
                })
                .collect();
            let sku_cum = cumulative((0..n_skus).map(|k| 1.0 / (k as f64 + 2.0)));
            // Each merchant favours two carriers; 极兔速递 keeps a fair share everywhere so its damage shows.
            let fav = [rng.random_range(0..CARRIERS.len()), rng.random_range(0..CARRIERS.len())];
            let carrier_cum = cumulative(
                carrier_base
                    .iter()
                    .enumerate()
                    .map(|(c, s)| if fav.contains(&c) { s * 2.5 } else { *s }),
            );
            let gold = GOLD_MERCHANTS.contains(&id.as_str());
            let breacher = id == SLA_BREACHER;
            let u = |rng: &mut ChaCha8Rng, a: f64, b: f64| a + (b - a) * rng.random::<f64>();
            Merchant {
                weight: 1.0 / (i as f64 + 5.0).powf(0.9),
                origin: REGIONS[rng.random_range(0..REGIONS.len())],
                quality: if gold { 0.9 } else { u(rng, 0.85, 1.25) },
                ack_late: if gold {
                    0.005
                } else if breacher {
                    0.45
                } else {
                    u(rng, 0.03, 0.12)
                },
                resp_late: if gold {
                    0.005
                } else if breacher {
                    0.25
                } else {
                    u(rng, 0.02, 0.10)
                },
                refund_late: if gold {
                    0.0
                } else if breacher {
                    0.35
                } else {
                    u(rng, 0.01, 0.05)
                },
                dispute: if gold {
                    0.002
                } else if breacher {
                    0.06
                } else {
                    u(rng, 0.01, 0.05)
                },
                satisfaction: if gold {
                    5.0
                } else if breacher {
                    3.6
                } else {
                    u(rng, 3.8, 4.5)
                },
                id,
                name,
                category,
                skus,
                sku_cum,
                carrier_cum,
                week_mult: Vec::new(),
            }
        })
        .collect()
}

const CASE_TYPES: [(&str, f64); 5] = [
    ("return", 0.55),
    ("exchange", 0.12),
    ("refund_only", 0.19),
    ("repair", 0.06),
    ("complaint", 0.08),
];

impl Gen {
    fn u(&mut self) -> f64 {
        self.rng.random::<f64>()
    }
    fn between(&mut self, a: i64, b: i64) -> i64 {
        self.rng.random_range(a..=b)
    }
    fn cut(&self, t: Micros) -> Option<Micros> {
        (t <= self.export_at).then_some(t)
    }

    fn order(&mut self, w: &mut Writers, seq: u64, day_start: Micros, week: u32) -> Result<()> {
        self.counts.orders += 1;
        let u = self.u();
        let mi = pick(&self.merchant_cum, u);
        // Orders come through the day, most in the evening.
        let hour_frac = {
            let a = self.u();
            let b = self.u();
            (0.35 + 0.65 * a.max(b)).min(0.9999)
        };
        let ordered_at = day_start + (hour_frac * DAY as f64) as i64;
        let order_id = format!("O{seq:09}");
        let n_lines = match self.u() {
            x if x < 0.72 => 1,
            x if x < 0.92 => 2,
            _ => 3,
        };
        // Forward parcel: one per order.
        let m = &self.merchants[mi];
        let carrier = pick(&m.carrier_cum, self.rng.random());
        let origin = m.origin;
        let dest = REGIONS[self.rng.random_range(0..REGIONS.len())];
        let shipped_at = ordered_at + self.between(2 * HOUR, 40 * HOUR);
        let transit = self.between(20 * HOUR, 4 * DAY);
        let promised = shipped_at + 3 * DAY;
        let r = self.u();
        let outcome = if r < CARRIERS[carrier].damage {
            "damaged"
        } else if r < CARRIERS[carrier].damage + LOSS_RATE {
            "lost"
        } else if r < CARRIERS[carrier].damage + LOSS_RATE + RTS_RATE {
            "returned_to_sender"
        } else {
            "delivered"
        };
        let delivered_at = shipped_at + transit;
        let shipped = self.cut(shipped_at).is_some();
        if shipped {
            let delivered = (outcome != "lost").then(|| self.cut(delivered_at)).flatten();
            let shown_outcome = if outcome != "lost" && delivered.is_none() {
                "in_transit"
            } else {
                outcome
            };
            self.next_ship += 1;
            self.counts.shipments += 1;
            writeln!(
                w.shipments,
                "S{:09},{order_id},,forward,{},{origin},{dest},{},{},{},{shown_outcome}",
                self.next_ship,
                CARRIERS[carrier].name,
                fmt_naive(shipped_at),
                fmt_naive(promised),
                opt(delivered, fmt_naive)
            )?;
        }
        let mut claim_made = false;
        // A return of an earlier line of this order: (case type, reason), which a later line may share.
        let mut returned: Option<(&'static str, &'static str)> = None;
        for line in 1..=n_lines {
            self.counts.order_lines += 1;
            let m = &self.merchants[mi];
            let mut si = pick(&m.sku_cum, self.rng.random());
            // The spiking SKU was on promotion in its spike weeks: most of its merchant's orders were for it.
            let promoted = m.id == "M0006" && SPIKE_SKU_WEEKS.contains(&week) && self.rng.random::<f64>() < 0.9;
            if promoted {
                si = 0;
            }
            let m = &self.merchants[mi];
            let sku = &m.skus[si];
            let (sku_id, cat, price) = (sku.id.clone(), sku.category, sku.price);
            let merchant_id = m.id.clone();
            let qty: i64 = match self.u() {
                x if x < 0.8 => 1,
                x if x < 0.95 => 2,
                _ => self.between(3, 5),
            };
            writeln!(
                w.orders,
                "{order_id},{line},{merchant_id},{sku_id},{},{qty},{},{}",
                CATEGORIES[cat].name,
                money(price),
                fmt_naive(ordered_at)
            )?;
            let ctx = LineCtx {
                order_id: &order_id,
                merchant: mi,
                sku: &sku_id,
                qty,
                price,
                carrier,
            };
            if shipped && !claim_made && (outcome == "damaged" || outcome == "lost") && self.u() < 0.9 {
                claim_made = true;
                let (t, reason) = if outcome == "damaged" {
                    ("damage_claim", "damaged_in_transit")
                } else {
                    ("loss_claim", "lost_in_transit")
                };
                let base = if outcome == "lost" {
                    shipped_at + 5 * DAY
                } else {
                    delivered_at
                };
                self.case(w, &ctx, t, reason, base)?;
                continue;
            }
            if outcome != "delivered" {
                continue;
            }
            // Buyers send back several lines of one order in one go (a whole outfit, a set).
            if let Some((ct, reason)) = returned
                && self.u() < RETURNED_TOGETHER
            {
                self.case(w, &ctx, ct, reason, delivered_at)?;
                continue;
            }
            let mut p =
                CATEGORIES[cat].case_rate * self.merchants[mi].quality * self.merchants[mi].week_mult[week as usize];
            let mut spike = false;
            if merchant_id == SPIKE_MERCHANT && SPIKE_MERCHANT_WEEKS.contains(&week) {
                p *= 4.0;
                spike = true;
            }
            if sku_id == SPIKE_SKU && SPIKE_SKU_WEEKS.contains(&week) {
                p *= 6.0;
                spike = true;
            }
            if self.u() >= p.min(0.95) {
                continue;
            }
            // A defective batch comes back as returns, not as complaints.
            let ct = if spike && self.u() < 0.9 {
                "return"
            } else {
                CASE_TYPES[pick(&cumulative(CASE_TYPES.iter().map(|c| c.1)), self.u())].0
            };
            let reason = if spike && (ct == "return" || ct == "exchange") && self.u() < 0.7 {
                "quality_defect"
            } else {
                self.reason(ct, CATEGORIES[cat].apparel)
            };
            if ct == "return" || ct == "exchange" {
                returned = Some((ct, reason));
            }
            self.case(w, &ctx, ct, reason, delivered_at)?;
        }
        // A few refunds outside any case (price protection, 价保).
        if shipped && self.u() < 0.004 {
            let approved = ordered_at + self.between(DAY, 10 * DAY);
            if let Some(a) = self.cut(approved) {
                let lag = self.between(HOUR, 2 * DAY);
                let refunded = self.cut(a + lag);
                let amount = self.between(100, 2_000);
                self.next_refund += 1;
                self.counts.refunds += 1;
                writeln!(
                    w.refunds,
                    "R{:09},,{order_id},{},{},platform_balance,{},{},{}",
                    self.next_refund,
                    self.merchants[mi].id,
                    money(amount),
                    fmt_offset(a),
                    opt(refunded, fmt_offset),
                    if refunded.is_some() { "completed" } else { "pending" }
                )?;
            }
        }
        Ok(())
    }

    fn reason(&mut self, case_type: &str, apparel: bool) -> &'static str {
        let table: &[(&'static str, f64)] = match case_type {
            "return" | "exchange" if apparel => &[
                ("size_fit", 0.42),
                ("changed_mind", 0.2),
                ("quality_defect", 0.15),
                ("not_as_described", 0.11),
                ("wrong_item", 0.04),
                ("missing_parts", 0.02),
                ("other", 0.06),
            ],
            "return" | "exchange" => &[
                ("quality_defect", 0.3),
                ("not_as_described", 0.2),
                ("changed_mind", 0.25),
                ("wrong_item", 0.07),
                ("missing_parts", 0.08),
                ("other", 0.1),
            ],
            "refund_only" => &[
                ("late_delivery", 0.2),
                ("missing_parts", 0.2),
                ("quality_defect", 0.2),
                ("not_as_described", 0.2),
                ("other", 0.2),
            ],
            "repair" => &[("quality_defect", 1.0)],
            _ => &[("late_delivery", 0.3), ("not_as_described", 0.3), ("other", 0.4)],
        };
        let cum = cumulative(table.iter().map(|t| t.1));
        table[pick(&cum, self.u())].0
    }

    fn case(
        &mut self,
        w: &mut Writers,
        l: &LineCtx<'_>,
        case_type: &'static str,
        reason: &'static str,
        base: Micros,
    ) -> Result<()> {
        let m = &self.merchants[l.merchant];
        let (ack_late, resp_late, refund_late, dispute_p, sat) =
            (m.ack_late, m.resp_late, m.refund_late, m.dispute, m.satisfaction);
        let merchant_id = m.id.clone();
        // 7-day no-reason returns: most requests come within a week of delivery.
        let lag = (-(1.0 - self.u()).ln() * 2.2 * DAY as f64) as i64;
        let opened_at = base + lag.min(12 * DAY) + self.between(10 * MIN, 10 * HOUR);
        if opened_at > self.export_at {
            return Ok(());
        }
        self.next_case += 1;
        self.counts.cases += 1;
        let case_id = format!("C{:09}", self.next_case);
        let qty = if self.u() < 0.85 { l.qty } else { 1 };
        let channel = ["app", "app", "app", "web", "wechat", "chat", "phone", "other"][self.rng.random_range(0..8)];
        let cancelled = self.u() < 0.05;
        let ack = (case_type != "complaint").then(|| {
            if self.u() < ack_late {
                self.between(2 * HOUR + MIN, 12 * HOUR)
            } else {
                self.between(2 * MIN, 110 * MIN)
            }
        });
        let resp = if self.u() < resp_late {
            self.between(25 * HOUR, 60 * HOUR)
        } else {
            self.between(5 * MIN, 22 * HOUR)
        };
        let mut t = CaseTimes {
            ack: ack.map(|a| opened_at + a),
            resp: Some(opened_at + resp),
            ..CaseTimes::default()
        };
        // Clock skew between systems: a few acknowledgements are stamped minutes before the request itself
        // (real exports have them; they become stop_before_start warnings and invalid clocks).
        if t.ack.is_some() && self.u() < 0.003 {
            t.ack = Some(opened_at - self.between(MIN, 5 * MIN));
        }
        let mut decision = None;
        let mut inspection = None;
        let mut dispute = None;
        let mut refund_base = None;
        let mut satisfaction = None;
        if cancelled {
            t.closed = Some(opened_at + self.between(10 * MIN, 20 * HOUR));
            t.resp = t.resp.filter(|r| Some(*r) <= t.closed);
            t.ack = t.ack.filter(|a| Some(*a) <= t.closed);
        } else {
            let decides = matches!(
                case_type,
                "return" | "exchange" | "refund_only" | "damage_claim" | "loss_claim"
            );
            let mut resolved = opened_at + self.between(DAY, 5 * DAY);
            if decides {
                let late = self.u() < 0.04;
                let dt = opened_at
                    + if late {
                        self.between(25 * HOUR, 50 * HOUR)
                    } else {
                        self.between(30 * MIN, 20 * HOUR)
                    };
                t.decided = Some(dt);
                let reject_p = if matches!(case_type, "damage_claim" | "loss_claim") {
                    0.02
                } else {
                    0.08
                };
                let approved = self.u() >= reject_p;
                decision = Some(if approved { "approved" } else { "rejected" });
                resolved = dt + self.between(HOUR, DAY);
                if approved && (case_type == "return" || case_type == "exchange") {
                    let ship = dt + self.between(6 * HOUR, 3 * DAY);
                    let recv = ship + self.between(DAY, 4 * DAY);
                    self.parcel(w, l, Some(&case_id), "return", ship, recv)?;
                    t.received = Some(recv);
                    let insp = recv
                        + if self.u() < 0.04 {
                            self.between(49 * HOUR, 90 * HOUR)
                        } else {
                            self.between(2 * HOUR, 40 * HOUR)
                        };
                    t.inspected = Some(insp);
                    inspection = Some(match (reason, self.u()) {
                        (_, x) if x < 0.03 => "buyer_damage",
                        ("quality_defect" | "not_as_described" | "wrong_item" | "missing_parts", x) if x < 0.85 => {
                            "defect_confirmed"
                        }
                        _ => "no_defect",
                    });
                    resolved = insp + self.between(HOUR, 12 * HOUR);
                    if case_type == "exchange" {
                        let ship = insp + self.between(2 * HOUR, DAY);
                        self.parcel(w, l, Some(&case_id), "replacement", ship, insp + 3 * DAY)?;
                    } else {
                        refund_base = Some(insp + self.between(10 * MIN, 6 * HOUR));
                    }
                } else if approved {
                    refund_base = Some(dt + self.between(10 * MIN, 2 * HOUR));
                }
            }
            let dp = if decision == Some("rejected") {
                (dispute_p * 6.0).min(0.6)
            } else {
                dispute_p
            };
            if self.u() < dp {
                let esc = t.decided.unwrap_or(opened_at) + self.between(2 * HOUR, 3 * DAY);
                t.escalated = Some(esc);
                resolved = resolved.max(esc + self.between(DAY, 4 * DAY));
                dispute = Some(match self.u() {
                    x if x < 0.5 => "buyer_favoured",
                    x if x < 0.85 => "merchant_favoured",
                    _ => "settled",
                });
            }
            if case_type == "complaint" {
                resolved = opened_at
                    + if self.u() < 0.1 {
                        self.between(73 * HOUR, 7 * DAY)
                    } else {
                        self.between(2 * HOUR, 70 * HOUR)
                    };
            }
            t.resolved = Some(resolved);
            t.closed = Some(resolved + self.between(0, 2 * DAY));
            if self.u() < 0.55 {
                // Happy shops get consistently good ratings; the rest vary more.
                let spread = if sat >= 4.9 { 0.8 } else { 1.2 };
                let s = (sat + self.rng.random_range(-spread..spread)).round().clamp(1.0, 5.0);
                // Rejected requests and lost disputes leave buyers unhappier.
                let s = if decision == Some("rejected") {
                    (s - 1.0).max(1.0)
                } else {
                    s
                };
                satisfaction = Some(s as i64);
            }
            if let Some(rb) = refund_base {
                self.refund(w, l, &case_id, &merchant_id, qty, rb, refund_late)?;
            }
        }
        // Cut everything at the export moment: what had not happened yet is not in the export.
        let cut = |x: Option<Micros>| x.filter(|v| *v <= self.export_at);
        let closed = cut(t.closed);
        let status = match (cancelled, closed) {
            (true, Some(_)) => "cancelled",
            (false, Some(_)) => "closed",
            _ => "open",
        };
        let decided = cut(t.decided);
        let inspected = cut(t.inspected);
        let resolved = cut(t.resolved);
        let row = CaseRow {
            case_id: &case_id,
            order_id: l.order_id,
            sku: l.sku,
            merchant_id: &merchant_id,
            case_type,
            reason,
            qty,
            channel,
            opened_at,
            ack: cut(t.ack),
            resp: cut(t.resp),
            decided,
            decision: decided.and(decision),
            received: cut(t.received),
            inspected,
            inspection: inspected.and(inspection),
            escalated: cut(t.escalated),
            dispute: resolved.and(dispute),
            resolved,
            closed,
            status,
            satisfaction: closed.and(satisfaction),
        };
        row.write(&mut w.cases)?;
        if let Some(z) = &mut w.zh {
            row.write_zh(z)?;
        }
        Ok(())
    }

    fn parcel(
        &mut self,
        w: &mut Writers,
        l: &LineCtx<'_>,
        case_id: Option<&str>,
        direction: &str,
        shipped: Micros,
        delivered: Micros,
    ) -> Result<()> {
        if shipped > self.export_at {
            return Ok(());
        }
        let (origin, dest) = (
            self.merchants[l.merchant].origin,
            REGIONS[self.rng.random_range(0..REGIONS.len())],
        );
        let (from, to) = if direction == "return" {
            (dest, origin)
        } else {
            (origin, dest)
        };
        let r = self.u();
        let c = &CARRIERS[l.carrier];
        let mut outcome = if r < c.damage {
            "damaged"
        } else if r < c.damage + LOSS_RATE {
            "lost"
        } else {
            "delivered"
        };
        let d = if outcome == "lost" { None } else { self.cut(delivered) };
        if outcome != "lost" && d.is_none() {
            outcome = "in_transit";
        }
        self.next_ship += 1;
        self.counts.shipments += 1;
        writeln!(
            w.shipments,
            "S{:09},{},{},{direction},{},{from},{to},{},{},{},{outcome}",
            self.next_ship,
            l.order_id,
            case_id.unwrap_or(""),
            c.name,
            fmt_naive(shipped),
            fmt_naive(shipped + 3 * DAY),
            opt(d, fmt_naive)
        )?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn refund(
        &mut self,
        w: &mut Writers,
        l: &LineCtx<'_>,
        case_id: &str,
        merchant_id: &str,
        qty: i64,
        approved: Micros,
        late_p: f64,
    ) -> Result<()> {
        if approved > self.export_at {
            return Ok(());
        }
        // Most payouts land in 0–4 calendar days; a late one takes 12–18 days (past 7 working days).
        let lag = if self.u() < late_p {
            self.between(12 * DAY, 18 * DAY)
        } else {
            self.between(10 * MIN, 4 * DAY)
        };
        let failed = self.u() < 0.005;
        let refunded = if failed { None } else { self.cut(approved + lag) };
        let status = if failed {
            "failed"
        } else if refunded.is_some() {
            "completed"
        } else {
            "pending"
        };
        let method = [
            "original_route",
            "original_route",
            "original_route",
            "platform_balance",
            "third_party",
        ][self.rng.random_range(0..5)];
        self.next_refund += 1;
        self.counts.refunds += 1;
        writeln!(
            w.refunds,
            "R{:09},{case_id},{},{merchant_id},{},{method},{},{},{status}",
            self.next_refund,
            l.order_id,
            money(l.price * qty),
            fmt_offset(approved),
            opt(refunded, fmt_offset)
        )?;
        Ok(())
    }
}

/// The order line a case, parcel or refund is made for.
struct LineCtx<'a> {
    order_id: &'a str,
    merchant: usize,
    sku: &'a str,
    qty: i64,
    price: i64,
    carrier: usize,
}

#[derive(Default)]
struct CaseTimes {
    ack: Option<Micros>,
    resp: Option<Micros>,
    decided: Option<Micros>,
    received: Option<Micros>,
    inspected: Option<Micros>,
    escalated: Option<Micros>,
    resolved: Option<Micros>,
    closed: Option<Micros>,
}

struct CaseRow<'a> {
    case_id: &'a str,
    order_id: &'a str,
    sku: &'a str,
    merchant_id: &'a str,
    case_type: &'static str,
    reason: &'static str,
    qty: i64,
    channel: &'static str,
    opened_at: Micros,
    ack: Option<Micros>,
    resp: Option<Micros>,
    decided: Option<Micros>,
    decision: Option<&'static str>,
    received: Option<Micros>,
    inspected: Option<Micros>,
    inspection: Option<&'static str>,
    escalated: Option<Micros>,
    dispute: Option<&'static str>,
    resolved: Option<Micros>,
    closed: Option<Micros>,
    status: &'static str,
    satisfaction: Option<i64>,
}

impl CaseRow<'_> {
    fn fields(&self, ts: fn(Micros) -> String, label: &dyn Fn(&str, &str) -> String) -> Vec<String> {
        let o = |t: Option<Micros>| opt(t, ts);
        let e = |c: &str, v: Option<&str>| v.map(|v| label(c, v)).unwrap_or_default();
        vec![
            self.case_id.to_string(),
            self.order_id.to_string(),
            self.sku.to_string(),
            self.merchant_id.to_string(),
            label("case_type", self.case_type),
            label("reason_code", self.reason),
            self.qty.to_string(),
            label("channel", self.channel),
            ts(self.opened_at),
            o(self.ack),
            o(self.resp),
            o(self.decided),
            e("decision", self.decision),
            o(self.received),
            o(self.inspected),
            e("inspection_result", self.inspection),
            o(self.escalated),
            e("dispute_outcome", self.dispute),
            o(self.resolved),
            o(self.closed),
            label("status", self.status),
            self.satisfaction.map(|s| s.to_string()).unwrap_or_default(),
        ]
    }

    fn write(&self, w: &mut impl Write) -> Result<()> {
        writeln!(w, "{}", self.fields(fmt_offset, &|_, v| v.to_string()).join(","))?;
        Ok(())
    }

    /// The same row as a Chinese spreadsheet export: Chinese labels, `2026/3/1 14:05:00` times, GBK, CRLF.
    fn write_zh(&self, w: &mut impl Write) -> Result<()> {
        let line = self.fields(fmt_zh, &|c, v| names::zh_label(c, v).to_string()).join(",");
        w.write_all(&gbk(&line))?;
        w.write_all(b"\r\n")?;
        Ok(())
    }
}
