//! What `run`, `validate` and `convert` print about the loaded tables: a line of counts per table, how a staged
//! table's columns were fed, and the message for tables over the reject limit.

use super::LoadedTable;

/// One line per table: rows read = accepted + rejected (+ filtered by reason).
pub fn summary_line(t: &LoadedTable) -> String {
    let filtered = if t.rows_filtered() > 0 {
        let mut by: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
        for f in &t.files {
            for (k, v) in &f.filtered {
                *by.entry(k).or_default() += v;
            }
        }
        format!(
            " + {} filtered ({})",
            t.rows_filtered(),
            by.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    format!(
        "{:<10} {:>10} read = {:>10} accepted + {:>8} rejected ({:.2}%){filtered}{}",
        t.kind.name(),
        t.rows_read(),
        t.rows_accepted(),
        t.rows_rejected(),
        t.reject_rate() * 100.0,
        if t.read_as_converted() {
            "  as checked by `aftersales convert` (file unchanged)"
        } else {
            ""
        }
    )
}

/// How a staged table's columns were fed (`validate` prints it): per source, each canonical column's origin and
/// how often cleaning, value maps and time formats acted on it.
pub fn staging_lines(t: &LoadedTable) -> Vec<String> {
    let mut lines = Vec::new();
    for r in &t.staging {
        lines.push(format!(
            "{} ← source '{}' ({} file{}{}{})",
            t.kind.name(),
            r.source,
            r.files.len(),
            if r.files.len() == 1 { "" } else { "s" },
            if r.preamble_lines > 0 {
                format!(", {} preamble lines skipped", r.preamble_lines)
            } else {
                String::new()
            },
            if r.blank_lines > 0 {
                format!(", {} blank lines", r.blank_lines)
            } else {
                String::new()
            }
        ));
        for c in &r.columns {
            let mut notes: Vec<String> = c
                .cleaned
                .nonzero()
                .into_iter()
                .map(|(rule, n)| format!("{rule} {n}"))
                .collect();
            if c.mapped > 0 {
                notes.push(if c.mapped_by_wildcard > 0 {
                    format!("mapped {} (\"*\" {})", c.mapped, c.mapped_by_wildcard)
                } else {
                    format!("mapped {}", c.mapped)
                });
            }
            if c.times_converted > 0 {
                notes.push(format!("numeric times {}", c.times_converted));
            }
            lines.push(format!(
                "  {:<20} ← {}{}",
                c.canonical,
                c.from,
                if notes.is_empty() {
                    String::new()
                } else {
                    format!("   [{}]", notes.join(", "))
                }
            ));
        }
        if !r.filtered.is_empty() {
            lines.push(format!(
                "  filtered: {}",
                r.filtered
                    .iter()
                    .map(|(k, v)| format!("{k} {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    lines
}

/// A message for tables over the reject limit, with the first problems of each so the user can act at once.
pub fn reject_limit_message(over: &[&LoadedTable], limit: f64) -> String {
    let mut msg = String::new();
    for t in over {
        msg.push_str(&format!(
            "{}: {} of {} rows rejected ({:.2}%), more than max_reject_rate {:.2}%. First problems:\n",
            t.kind.name(),
            t.rows_rejected(),
            t.rows_read(),
            t.reject_rate() * 100.0,
            limit * 100.0
        ));
        for r in t.rejects.iter().take(5) {
            msg.push_str(&format!(
                "  {} row {}, column {}, value '{}': {}\n",
                r.source_file, r.row_number, r.column, r.value, r.problem
            ));
        }
    }
    msg.push_str(
        "Fix the export or the config mapping, raise max_reject_rate, or pass --keep-going to use the accepted rows.",
    );
    msg
}
