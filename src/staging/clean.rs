//! Cell cleaning: what spreadsheet back offices wrap around values, taken off before a value is read. Each rule
//! is declared per source (`clean = [...]`) and counted per column, so `validate` can say how often it acted.

use std::borrow::Cow;

pub use crate::config::staging::Clean;
pub use crate::input::mapping::Counts;

fn is_space(c: char) -> bool {
    c.is_whitespace() || c == '\u{feff}'
}

/// Whether a byte can start or end a cell that needs no trimming: printable ASCII other than a space.
fn solid(b: u8) -> bool {
    b > b' ' && b < 0x7f
}

/// One cell through the rules; None when it ends empty or is one of the source's null words. Most cells need
/// nothing: each rule first looks at a byte or two before it does any work.
pub fn clean_cell<'a>(cell: &'a str, rules: Clean, nulls: &[String], counts: &mut Counts) -> Option<Cow<'a, str>> {
    let mut v: Cow<'a, str> = Cow::Borrowed(cell);
    let edges_solid = |s: &str| {
        let b = s.as_bytes();
        !b.is_empty() && solid(b[0]) && solid(b[b.len() - 1])
    };
    if rules.trim && !edges_solid(&v) {
        let t = v.trim_matches(is_space);
        if t.len() != v.len() {
            counts.trim += 1;
            v = Cow::Owned(t.to_string());
        }
    }
    if rules.excel_guard && matches!(v.as_bytes().first(), Some(b'=' | b'\'' | b' ' | b'\t')) {
        let t = v.trim_matches(is_space);
        if let Some(inner) = t.strip_prefix("=\"").and_then(|r| r.strip_suffix('"')) {
            counts.excel_guard += 1;
            v = Cow::Owned(inner.to_string());
        } else if let Some(inner) = t.strip_prefix('\'') {
            counts.excel_guard += 1;
            v = Cow::Owned(inner.to_string());
        }
    }
    if rules.fullwidth
        && !v.is_ascii()
        && v.chars()
            .any(|c| ('\u{ff01}'..='\u{ff5e}').contains(&c) || c == '\u{3000}')
    {
        counts.fullwidth += 1;
        v = Cow::Owned(
            v.chars()
                .map(|c| match c {
                    '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
                    '\u{3000}' => ' ',
                    c => c,
                })
                .collect(),
        );
    }
    if rules.numbers {
        let b = v.as_bytes();
        // Only a number with a separator, a parenthesis or a currency mark can change; timestamps, ids and plain
        // numbers (most cells) have none of them.
        let decorated = b
            .iter()
            .any(|c| matches!(c, b',' | b'(' | b'$' | b'R' | b'C' | b'U') || *c >= 0x80);
        if decorated
            && b.iter().any(u8::is_ascii_digit)
            && let Some(n) = plain_number(&v)
        {
            counts.numbers += 1;
            v = Cow::Owned(n);
        }
    }
    if !edges_solid(&v) && v.trim_matches(is_space).is_empty() {
        return None;
    }
    if !nulls.is_empty() {
        let t = v.trim_matches(is_space);
        if nulls.iter().any(|n| n == t) {
            counts.null_values += 1;
            return None;
        }
    }
    Some(v)
}

const CURRENCY: &[&str] = &["US$", "RMB", "CNY", "USD", "¥", "￥", "元", "$", "€", "£"];

/// A number written with currency marks, thousands separators or accounting parentheses, as a plain number
/// (`¥1,099.00` → `1099.00`, `(12.50)` → `-12.50`); None when the text is not such a number or is plain already.
fn plain_number(s: &str) -> Option<String> {
    let mut t = s.trim_matches(is_space);
    let mut changed = false;
    let mut neg = false;
    if let Some(inner) = t.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        t = inner.trim();
        neg = true;
        changed = true;
    }
    if let Some(r) = t.strip_prefix('-') {
        neg = !neg;
        t = r.trim_start();
    } else if let Some(r) = t.strip_prefix('+') {
        t = r.trim_start();
    }
    loop {
        let before = t;
        for c in CURRENCY {
            if let Some(r) = t.strip_prefix(c) {
                t = r.trim_start();
            }
            if let Some(r) = t.strip_suffix(c) {
                t = r.trim_end();
            }
        }
        if before == t {
            break;
        }
        changed = true;
    }
    if let Some(r) = t.strip_prefix('-') {
        neg = !neg;
        t = r;
        changed = true;
    }
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    if frac.is_some_and(|f| f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit())) || int.is_empty() {
        return None;
    }
    let digits: String = if int.contains(',') {
        let groups: Vec<&str> = int.split(',').collect();
        let ok = (1..=3).contains(&groups[0].len())
            && groups[1..].iter().all(|g| g.len() == 3)
            && groups.iter().all(|g| g.bytes().all(|b| b.is_ascii_digit()));
        if !ok {
            return None;
        }
        changed = true;
        groups.concat()
    } else if int.bytes().all(|b| b.is_ascii_digit()) {
        int.to_string()
    } else {
        return None;
    };
    if !changed {
        return None;
    }
    let mut out = String::with_capacity(digits.len() + 4);
    if neg {
        out.push('-');
    }
    out.push_str(&digits);
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Clean {
        Clean {
            excel_guard: true,
            trim: true,
            numbers: true,
            fullwidth: true,
        }
    }

    fn run(s: &str) -> (Option<String>, Counts) {
        let mut c = Counts::default();
        let v = clean_cell(s, all(), &["无退款申请".to_string()], &mut c).map(|v| v.into_owned());
        (v, c)
    }

    #[test]
    fn back_office_wrappers_come_off_and_are_counted() {
        assert_eq!(
            run("=\"3412000000000000001\"").0.as_deref(),
            Some("3412000000000000001")
        );
        assert_eq!(run("=\"3412000000000000001\"").1.excel_guard, 1);
        assert_eq!(run("'13925130165").0.as_deref(), Some("13925130165"));
        let (v, c) = run("3412000000000000001\t");
        assert_eq!((v.as_deref(), c.trim), (Some("3412000000000000001"), 1));
        assert_eq!(run("1,099.00").0.as_deref(), Some("1099.00"));
        assert_eq!(run("¥1,099.00").0.as_deref(), Some("1099.00"));
        assert_eq!(run("1,099.00元").0.as_deref(), Some("1099.00"));
        assert_eq!(run("RMB 5").0.as_deref(), Some("5"));
        assert_eq!(run("-$12.50").0.as_deref(), Some("-12.50"));
        assert_eq!(run("$-12.50").0.as_deref(), Some("-12.50"));
        assert_eq!(run("(12.50)").0.as_deref(), Some("-12.50"));
        assert_eq!(run("１２３").0.as_deref(), Some("123"));
        assert_eq!(run("无退款申请").0, None);
        assert_eq!(run("无退款申请").1.null_values, 1);
        assert_eq!(run("=\"\"").0, None);
    }

    #[test]
    fn text_that_only_looks_numeric_is_left_alone() {
        for s in [
            "Hello, World",
            "1,23",
            "12,345,67",
            "A-100",
            "2026-08-03",
            "1.099,00",
            "12.50",
        ] {
            let (v, c) = run(s);
            assert_eq!(v.as_deref(), Some(s), "{s}");
            assert_eq!(c, Counts::default(), "{s}");
        }
    }
}
