//! Parsing one cell into its canonical type (SPEC §1 types). A failure is a sentence naming the value and what
//! was expected; the caller adds the file, row and column.

use std::borrow::Cow;
use std::collections::HashMap;

use chrono_tz::Tz;

use super::reader::{Cell, show_decimal};
use crate::tables::{ColumnKind, MAX_CELL_BYTES, MAX_MONEY};
use crate::time::{self, Micros};

/// A parsed cell. Text borrows from the cell (or the config's value map, or the schema's allowed values) when it
/// can: a row's text cells are copied once, into the column, not into a String first.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    Int(i64),
    /// Money in cents.
    Cents(i128),
    Ts(Micros),
}

/// `map`: the config's export label → canonical value for this column, if any.
pub fn parse_cell<'a>(
    cell: &Cell<'a>,
    kind: &ColumnKind,
    tz: Tz,
    map: Option<&'a HashMap<String, String>>,
) -> Result<Value<'a>, String> {
    if let Cell::BadUtf8(_) = cell {
        return Err("is not valid UTF-8 text; if the export is GBK (common for Chinese spreadsheets), set encoding = \"gbk\" for this table".into());
    }
    if let Cell::Null = cell {
        return Ok(Value::Null);
    }
    if let Cell::Str(s) = cell
        && s.len() > MAX_CELL_BYTES
    {
        return Err(format!(
            "the cell is {} bytes long, more than the {MAX_CELL_BYTES} a value can be: not data (a runaway quote or a pasted file?)",
            s.len()
        ));
    }
    match kind {
        ColumnKind::Id | ColumnKind::Text => Ok(match cell {
            Cell::Str(s) => {
                let t = trim(s);
                if t.is_empty() {
                    Value::Null
                } else {
                    Value::Str(Cow::Borrowed(t))
                }
            }
            other => Value::Str(Cow::Owned(other.show())),
        }),
        ColumnKind::Int { min, max } => {
            let v = match cell {
                Cell::Int(i) => *i,
                Cell::Float(f) if f.fract() == 0.0 && f.abs() < 9e15 => *f as i64,
                Cell::Str(s) => {
                    let t = trim(s);
                    if t.is_empty() {
                        return Ok(Value::Null);
                    }
                    t.parse::<i64>().map_err(|_| format!("'{t}' is not a whole number"))?
                }
                other => return Err(format!("'{}' is not a whole number", other.show())),
            };
            if v < *min || v > *max {
                return Err(if *max >= crate::tables::MAX_QTY {
                    format!("{v} is out of range: expected a whole number ≥ {min}")
                } else {
                    format!("{v} is out of range: expected a whole number from {min} to {max}")
                });
            }
            Ok(Value::Int(v))
        }
        ColumnKind::Money { positive, places } => {
            let places = *places as usize;
            let unit = 10i128.pow(places as u32);
            let v = match cell {
                Cell::Str(s) => {
                    let t = trim(s);
                    if t.is_empty() {
                        return Ok(Value::Null);
                    }
                    parse_money(t, places)?
                }
                Cell::Int(i) => *i as i128 * unit,
                Cell::Float(f) => {
                    // Spreadsheet-made Parquet stores prices as doubles; accept them only when they are whole units
                    // of the column's last decimal place.
                    let scaled = f * unit as f64;
                    let c = scaled.round();
                    if !f.is_finite() || (scaled - c).abs() > 1e-6 || c.abs() > 1e30 {
                        return Err(format!("{f} is not an amount with at most {places} decimal places"));
                    }
                    c as i128
                }
                Cell::Decimal(d, scale) => rescale(*d, *scale, places).ok_or_else(|| {
                    format!(
                        "{} has more than {places} decimal places: money must be exact",
                        cell.show()
                    )
                })?,
                other => return Err(format!("'{}' is not an amount", other.show())),
            };
            let shown = || show_money(v, places);
            if *positive && v <= 0 {
                return Err(format!("{} is out of range: expected an amount > 0", shown()));
            }
            if !*positive && v < 0 {
                return Err(format!("{} is out of range: expected an amount ≥ 0", shown()));
            }
            if v > MAX_MONEY * unit {
                return Err(format!(
                    "{} is out of range: more than {MAX_MONEY} is not a price or refund of one order line (a typo?)",
                    shown()
                ));
            }
            Ok(Value::Cents(v))
        }
        ColumnKind::Ts => in_calendar(match cell {
            Cell::Str(s) => {
                if trim(s).is_empty() {
                    return Ok(Value::Null);
                }
                time::parse_ts(s, tz).map(Value::Ts)
            }
            Cell::Utc(t) => Ok(Value::Ts(*t)),
            Cell::Naive(_) | Cell::Date(_) => {
                let wall = match cell {
                    Cell::Date(d) => (*d as i64).checked_mul(86_400_000_000).ok_or("date out of range")?,
                    Cell::Naive(t) => *t,
                    _ => return Err(format!("'{}' is not a timestamp", cell.show())),
                };
                let naive = chrono::DateTime::from_timestamp_micros(wall)
                    .ok_or("timestamp out of range")?
                    .naive_utc();
                match time::local_to_utc(tz, naive) {
                    chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => {
                        Ok(Value::Ts(x.and_utc().timestamp_micros()))
                    }
                    chrono::LocalResult::None => Err(format!("'{naive}' does not exist in {tz} (daylight-saving gap)")),
                }
            }
            other => Err(format!("'{}' is not a timestamp", other.show())),
        }),
        ColumnKind::Enum(allowed) => {
            let raw = match cell {
                Cell::Str(s) => Cow::Borrowed(*s),
                other => Cow::Owned(other.show()),
            };
            let t = trim(&raw);
            if t.is_empty() {
                return Ok(Value::Null);
            }
            if let Some(v) = map.and_then(|m| m.get(t)) {
                return Ok(Value::Str(Cow::Borrowed(v)));
            }
            // Lowercase ASCII is its own lowercase: no copy for the common case.
            let lower = if t.is_ascii() && !t.bytes().any(|b| b.is_ascii_uppercase()) {
                Cow::Borrowed(t)
            } else {
                Cow::Owned(t.to_lowercase())
            };
            if let Some(v) = map.and_then(|m| m.get(lower.as_ref())) {
                return Ok(Value::Str(Cow::Borrowed(v)));
            }
            match allowed.iter().find(|a| **a == lower) {
                Some(a) => Ok(Value::Str(Cow::Borrowed(a))),
                None => Err(format!(
                    "'{t}' is not a known value: expected one of {} (map export labels under [tables.<table>.values.<column>] in the config)",
                    allowed.join(", ")
                )),
            }
        }
    }
}

/// A timestamp outside years 1–9999 (a typed Parquet i64::MAX, say) is not the time of anything.
/// `str::trim`, without its walk over the characters when both end bytes are printable ASCII (nearly every cell):
/// every whitespace character is either ASCII at or below a space or starts with a byte of 0x80 or more.
#[inline]
pub(crate) fn trim(s: &str) -> &str {
    match s.as_bytes() {
        [first, .., last] if (b'!'..0x80).contains(first) && (b'!'..0x80).contains(last) => s,
        [only] if (b'!'..0x80).contains(only) => s,
        _ => s.trim(),
    }
}

fn in_calendar(v: Result<Value<'_>, String>) -> Result<Value<'_>, String> {
    match v {
        Ok(Value::Ts(t)) if !(time::MIN_MICROS..=time::MAX_MICROS).contains(&t) => Err(format!(
            "{t} µs since 1970 is not a date between the years 1 and 9999: expected a timestamp"
        )),
        other => other,
    }
}

/// `d × 10^-scale` as an integer of 10^-places units, when that is exact (trailing zeros beyond `places` drop).
fn rescale(d: i128, scale: usize, places: usize) -> Option<i128> {
    if scale <= places {
        d.checked_mul(10i128.checked_pow((places - scale) as u32)?)
    } else {
        let div = 10i128.checked_pow((scale - places) as u32)?;
        (d % div == 0).then_some(d / div)
    }
}

/// `12`, `12.5`, `12.50`, `-3.00`, `+1` → an integer of 10^-places units (cents for 2). More fraction digits
/// than `places` is refused, never rounded.
pub fn parse_money(t: &str, places: usize) -> Result<i128, String> {
    let err = || {
        format!("'{t}' is not an amount: expected a decimal number with at most {places} decimal places, e.g. 129.90")
    };
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, f),
        None => (body, ""),
    };
    if int.is_empty() && frac.is_empty()
        || !int.bytes().all(|c| c.is_ascii_digit())
        || !frac.bytes().all(|c| c.is_ascii_digit())
    {
        return Err(err());
    }
    if frac.len() > places {
        return Err(if places == 2 {
            format!("'{t}' has more than 2 decimal places: money must be exact to the cent")
        } else {
            format!("'{t}' has more than {places} decimal places: money must be exact")
        });
    }
    if int.len() > 16 {
        return Err(err());
    }
    let i: i128 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| err())?
    };
    let f: i128 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i128>().map_err(|_| err())? * 10i128.pow((places - frac.len()) as u32)
    };
    let c = i * 10i128.pow(places as u32) + f;
    Ok(if neg { -c } else { c })
}

/// Money for messages: at least 2 decimal places, more only where the value has them (`-1.00`, `0.0010`→`0.001`).
pub fn show_money(v: i128, places: usize) -> String {
    let s = show_decimal(v, places);
    let keep = s.trim_end_matches('0');
    let min_len = s.len() - places.saturating_sub(2);
    if keep.len() < min_len {
        s[..min_len].to_string()
    } else {
        keep.to_string()
    }
}

pub fn show_cents(c: i128) -> String {
    show_decimal(c, 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_agrees_with_str_trim_at_every_kind_of_end() {
        let spaces: Vec<char> = (0..=0x3000u32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        assert_eq!(spaces.len(), 25, "Unicode's White_Space set");
        let mut cases = vec![
            String::new(),
            "a".into(),
            "ab".into(),
            "商家".into(),
            "a\u{1f}".into(),
            "~".into(),
        ];
        for w in &spaces {
            for core in ["", "x", "x y", "商"] {
                cases.push(format!("{w}{core}"));
                cases.push(format!("{core}{w}"));
                cases.push(format!("{w}{core}{w}"));
            }
        }
        for c in &cases {
            assert_eq!(trim(c), c.trim(), "{c:?}");
        }
    }

    #[test]
    fn money_is_exact_to_the_cent() {
        assert_eq!(parse_money("129.9", 2), Ok(12990));
        assert_eq!(parse_money("0.05", 2), Ok(5));
        assert_eq!(parse_money("-3", 2), Ok(-300));
        assert_eq!(parse_money(".5", 2), Ok(50));
        assert!(
            parse_money("1.005", 2)
                .unwrap_err()
                .contains("more than 2 decimal places")
        );
        assert!(parse_money("12,50", 2).is_err());
        assert!(parse_money("¥5", 2).is_err());
        assert_eq!(show_cents(-305), "-3.05");
        // Unit prices carry up to 4 places: £0.001 is 10 ten-thousandths.
        assert_eq!(parse_money("0.001", 4), Ok(10));
        assert_eq!(parse_money("12.5", 4), Ok(125_000));
        assert!(
            parse_money("0.00001", 4)
                .unwrap_err()
                .contains("more than 4 decimal places")
        );
    }

    /// A typed Parquet timestamp of i64::MAX (or a date of i32::MAX days) is no time of anything: refused, never a
    /// panic in formatting or calendar arithmetic later.
    #[test]
    fn extreme_typed_timestamps_are_refused() {
        let tz = chrono_tz::Asia::Shanghai;
        for cell in [
            Cell::Utc(i64::MAX),
            Cell::Utc(i64::MIN),
            Cell::Naive(i64::MAX),
            Cell::Date(i32::MAX),
        ] {
            let err = parse_cell(&cell, &ColumnKind::Ts, tz, None).unwrap_err();
            assert!(!err.is_empty(), "{cell:?}");
        }
        let err = parse_cell(&Cell::Utc(i64::MAX), &ColumnKind::Ts, tz, None).unwrap_err();
        assert!(err.contains("not a date between the years 1 and 9999"), "{err}");
        assert!(parse_cell(&Cell::Utc(0), &ColumnKind::Ts, tz, None).is_ok());
    }

    #[test]
    fn parquet_decimals_of_any_scale_are_exact_or_refused() {
        let money = ColumnKind::Money {
            positive: true,
            places: 2,
        };
        let tz = chrono_tz::Asia::Shanghai;
        // 12.3400 at scale 4 is 12.34 exactly; 12.3450 is not a whole cent.
        assert_eq!(
            parse_cell(&Cell::Decimal(123_400, 4), &money, tz, None),
            Ok(Value::Cents(1234))
        );
        let err = parse_cell(&Cell::Decimal(123_450, 4), &money, tz, None).unwrap_err();
        assert_eq!(err, "12.3450 has more than 2 decimal places: money must be exact");
        assert_eq!(
            parse_cell(&Cell::Decimal(7, 0), &money, tz, None),
            Ok(Value::Cents(700))
        );
        let huge = parse_cell(&Cell::Str("123456789.00"), &money, tz, None).unwrap_err();
        assert!(huge.contains("out of range: more than 100000000"), "{huge}");
        let long = "x".repeat(MAX_CELL_BYTES + 1);
        let err = parse_cell(&Cell::Str(&long), &ColumnKind::Text, tz, None).unwrap_err();
        assert!(err.contains("more than the 65536"), "{err}");
    }

    #[test]
    fn enums_ignore_case_and_spaces_and_follow_the_map() {
        let kind = ColumnKind::Enum(crate::tables::cases::CASE_TYPES);
        let tz = chrono_tz::Asia::Shanghai;
        assert_eq!(
            parse_cell(&Cell::Str(" Return "), &kind, tz, None),
            Ok(Value::Str("return".into()))
        );
        let map: HashMap<String, String> = [("退货".to_string(), "return".to_string())].into();
        assert_eq!(
            parse_cell(&Cell::Str("退货"), &kind, tz, Some(&map)),
            Ok(Value::Str("return".into()))
        );
        let err = parse_cell(&Cell::Str("refund"), &kind, tz, None).unwrap_err();
        assert!(
            err.starts_with("'refund' is not a known value: expected one of return, exchange, refund_only"),
            "{err}"
        );
    }
}
