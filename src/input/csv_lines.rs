//! CSV read as a person sees the file: physical lines first, records second (SPEC §2, "physical rows are the unit
//! of account").
//!
//! A general CSV parser follows an opening quote wherever it leads, so one stray `"` in a buyer comment swallows
//! every row up to the next quote — thousands of rows silently become one bad field. Here a record may span
//! several lines only when it is well formed and has as many fields as the header; otherwise its first line is
//! rejected on its own and reading resumes on the next line. Every physical line ends up in exactly one place:
//! the header, a record (accepted or rejected by the loader), a damaged line (rejected here), or a blank line.
//!
//! Damage found per line, before any field is split: a NUL byte, bytes invalid in the declared encoding, a line
//! longer than [`MAX_LINE_BYTES`] (skipped without being held in memory). Damage that cannot be contained — the
//! stream itself cannot be read (I/O, a broken gzip member), or the header is damaged — refuses the file whole.

use std::collections::VecDeque;
use std::io::BufRead;

use crate::config::Encoding;

/// Longest physical line read; a longer one is rejected as damage and skipped to its end unread. No real export
/// row comes near: the widest (Taobao's order report, ~60 columns with addresses and remarks) stays under 4 KB.
pub const MAX_LINE_BYTES: usize = 1 << 20;
/// Most lines one record may span through quoted line breaks (a multi-line buyer remark); a quote still open after
/// that is damage, and the first line is rejected on its own.
pub const MAX_RECORD_LINES: usize = 100;
/// Characters of a damaged line kept in the reject's `value`.
const SHOWN_CHARS: usize = 200;

#[derive(Debug, Clone, Copy)]
pub struct CsvOptions {
    pub delimiter: u8,
    /// false: `"` is an ordinary character (never-quoted exports such as Amazon's flat files).
    pub quoting: bool,
    pub encoding: Encoding,
}

/// One step of the reader.
#[derive(Debug, PartialEq)]
pub enum Item {
    /// A record starting on physical line `line` (1-based, counting every line of the file), its fields as UTF-8
    /// where valid (a field may hold invalid UTF-8 in a UTF-8 file: the loader rejects that cell by name).
    Record { line: u64, fields: Fields },
    /// A physical line that cannot be a record, with its text (shortened) and why.
    Damaged { line: u64, text: String, problem: String },
}

/// A record's fields, unescaped, one after the other in one buffer.
#[derive(Debug, Clone, Default)]
pub struct Fields {
    buf: Vec<u8>,
    ends: Vec<usize>,
    /// Whether one delimiter byte follows each field in `buf` (the text kept as it is), or none (unescaped).
    skip_delimiters: bool,
}

/// Equal when the fields are, however they are laid out in the buffer.
impl PartialEq for Fields {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Fields {}

impl Fields {
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.spans().map(|(a, b)| &self.buf[a..b])
    }
    /// Where each field starts and ends in `buf`.
    fn spans(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        let skip = usize::from(self.skip_delimiters);
        let starts = std::iter::once(0).chain(self.ends.iter().map(move |e| e + skip));
        starts.zip(self.ends.iter().copied())
    }
    /// Each field as text, or its bytes where they are not valid UTF-8. The buffer is validated once: when it is
    /// valid, a field whose two ends fall on character boundaries is valid too (a field split inside a character
    /// — possible only when the unescaped fields sit side by side — is checked on its own).
    pub fn texts(&self) -> impl Iterator<Item = Result<&str, &[u8]>> + '_ {
        let whole = std::str::from_utf8(&self.buf).ok();
        self.spans().map(move |(a, b)| match whole {
            Some(s) if s.is_char_boundary(a) && s.is_char_boundary(b) => Ok(&s[a..b]),
            _ => std::str::from_utf8(&self.buf[a..b]).map_err(|_| &self.buf[a..b]),
        })
    }
    fn end_field(&mut self) {
        self.ends.push(self.buf.len());
    }
}

/// Counts of a file's physical lines by where they went;
/// `lines == preamble + header + record_lines + damaged + blank`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineAccount {
    pub lines: u64,
    pub preamble: u64,
    pub header_lines: u64,
    pub records: u64,
    pub record_lines: u64,
    pub damaged: u64,
    pub blank: u64,
}

struct Line {
    number: u64,
    /// UTF-8 text for GBK files (decoded), raw bytes for UTF-8 files; without the line break.
    bytes: Vec<u8>,
    damage: Option<String>,
}

pub struct CsvLines<R: BufRead> {
    input: R,
    opts: CsvOptions,
    next_number: u64,
    pending: VecDeque<Line>,
    eof: bool,
    /// Fields of the header; records of another width never span lines.
    pub expected_fields: Option<usize>,
    pub account: LineAccount,
    /// Buffers handed back after use, so a line and a record cost no allocation in the common case.
    spare_line: Vec<u8>,
    spare_fields: Fields,
}

/// What splitting a record's text gave.
enum Split {
    Fields(Fields),
    /// The text ends inside a quoted field: the record may go on on the next line.
    OpenQuote,
    Malformed(String),
}

impl<R: BufRead> CsvLines<R> {
    pub fn new(input: R, opts: CsvOptions) -> Self {
        CsvLines {
            input,
            opts,
            next_number: 1,
            pending: VecDeque::new(),
            eof: false,
            expected_fields: None,
            account: LineAccount::default(),
            spare_line: Vec::new(),
            spare_fields: Fields::default(),
        }
    }

    /// The next physical line, or None at the end. An error is the stream's own (I/O, gzip): not containable.
    fn raw_line(&mut self) -> std::io::Result<Option<Line>> {
        if let Some(l) = self.pending.pop_front() {
            return Ok(Some(l));
        }
        if self.eof {
            return Ok(None);
        }
        let mut buf: Vec<u8> = std::mem::take(&mut self.spare_line);
        buf.clear();
        let mut too_long = false;
        let mut total: usize = 0;
        let mut saw_any = false;
        loop {
            let chunk = match self.input.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                self.eof = true;
                break;
            }
            saw_any = true;
            let (take, done) = match memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            total += take;
            if !too_long {
                if buf.len() + take > MAX_LINE_BYTES {
                    too_long = true;
                    let room = (SHOWN_CHARS * 4).saturating_sub(buf.len()).min(take);
                    buf.extend_from_slice(&chunk[..room]);
                } else {
                    buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.input.consume(take);
            if done {
                break;
            }
        }
        if !saw_any {
            return Ok(None);
        }
        let number = self.next_number;
        self.next_number += 1;
        self.account.lines += 1;
        if too_long {
            return Ok(Some(Line {
                number,
                bytes: buf,
                damage: Some(format!(
                    "line is {total} bytes long, more than the {MAX_LINE_BYTES} a row of an export can be: skipped whole (a missing line break, or binary data?)"
                )),
            }));
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if memchr(0, &buf).is_some() {
            return Ok(Some(Line {
                number,
                bytes: buf,
                damage: Some("line contains a NUL byte (binary data or a UTF-16 file?)".into()),
            }));
        }
        if self.opts.encoding == Encoding::Windows1252 {
            // Every byte is a character in Windows-1252: decoding cannot fail.
            let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(&buf);
            let t = text.into_owned().into_bytes();
            return Ok(Some(Line {
                number,
                bytes: t,
                damage: None,
            }));
        }
        if self.opts.encoding == Encoding::Gbk {
            match encoding_rs::GBK.decode_without_bom_handling_and_without_replacement(&buf) {
                Some(text) => {
                    let t = text.into_owned().into_bytes();
                    return Ok(Some(Line {
                        number,
                        bytes: t,
                        damage: None,
                    }));
                }
                None => {
                    return Ok(Some(Line {
                        number,
                        bytes: buf,
                        damage: Some(
                            "line holds bytes that are not valid GBK/GB18030 (a cut multi-byte character, or a file in another encoding?)"
                                .into(),
                        ),
                    }));
                }
            }
        }
        if number == 1 && buf.starts_with(b"\xEF\xBB\xBF") {
            buf.drain(..3);
        }
        Ok(Some(Line {
            number,
            bytes: buf,
            damage: None,
        }))
    }

    /// The next record or damaged line; None at the end of the file.
    pub fn next_item(&mut self) -> std::io::Result<Option<Item>> {
        loop {
            let Some(first) = self.raw_line()? else { return Ok(None) };
            if let Some(problem) = first.damage {
                self.account.damaged += 1;
                return Ok(Some(Item::Damaged {
                    line: first.number,
                    text: shown(&first.bytes),
                    problem,
                }));
            }
            if first.bytes.is_empty() {
                self.account.blank += 1;
                continue;
            }
            // The record's text: the first line, and the lines a quoted field runs onto. On a reject the first
            // line is the text's first `first_len` bytes again.
            let mut first = first;
            let first_len = first.bytes.len();
            let mut text = std::mem::take(&mut first.bytes);
            let mut taken: Vec<Line> = Vec::new();
            loop {
                match split(&text, self.opts, std::mem::take(&mut self.spare_fields)) {
                    Split::Fields(fields) => {
                        let fits = self.expected_fields.is_none_or(|n| n == fields.len());
                        if taken.is_empty() || fits {
                            self.account.records += 1;
                            self.account.record_lines += 1 + taken.len() as u64;
                            self.spare_line = text;
                            return Ok(Some(Item::Record {
                                line: first.number,
                                fields,
                            }));
                        }
                        let n = fields.len();
                        let expected = self.expected_fields.unwrap_or(0);
                        return Ok(Some(self.reject_alone(
                            first,
                            &text[..first_len],
                            taken,
                            format!(
                                "a quoted field opens on this line and its closing quote is {} line{} below, giving {n} fields where the header has {expected}: an unbalanced quote; this line is rejected on its own and reading goes on with the next line",
                                text_lines(&text) - 1,
                                if text_lines(&text) == 2 { "" } else { "s" }
                            ),
                        )));
                    }
                    Split::Malformed(why) => {
                        if taken.is_empty() {
                            self.account.damaged += 1;
                            return Ok(Some(Item::Damaged {
                                line: first.number,
                                text: shown(&text),
                                problem: why,
                            }));
                        }
                        return Ok(Some(self.reject_alone(
                            first,
                            &text[..first_len],
                            taken,
                            format!(
                                "a quoted field opens on this line and does not close cleanly ({why}): an unbalanced quote; this line is rejected on its own and reading goes on with the next line"
                            ),
                        )));
                    }
                    Split::OpenQuote => {
                        let next = if taken.len() + 1 < MAX_RECORD_LINES && text.len() <= MAX_LINE_BYTES {
                            self.raw_line()?
                        } else {
                            None
                        };
                        match next {
                            Some(l) if l.damage.is_none() => {
                                text.push(b'\n');
                                text.extend_from_slice(&l.bytes);
                                taken.push(l);
                            }
                            other => {
                                let ended = match &other {
                                    None if self.eof && self.pending.is_empty() => "the file ends".to_string(),
                                    None => format!("{MAX_RECORD_LINES} lines pass"),
                                    Some(l) => format!("line {} is damaged", l.number),
                                };
                                if let Some(l) = other {
                                    taken.push(l);
                                }
                                return Ok(Some(self.reject_alone(
                                    first,
                                    &text[..first_len],
                                    taken,
                                    format!(
                                        "a field opens with a quote (\") that is still open when {ended}: an unbalanced quote; this line is rejected on its own and reading goes on with the next line (set quoting = false for exports that never quote)"
                                    ),
                                )));
                            }
                        }
                    }
                }
            }
        }
    }

    /// The first line of a record that could not be completed is damaged; the lines read after it go back to be
    /// read again, each on its own.
    fn reject_alone(&mut self, first: Line, first_text: &[u8], taken: Vec<Line>, problem: String) -> Item {
        for l in taken.into_iter().rev() {
            self.pending.push_front(l);
        }
        self.account.damaged += 1;
        Item::Damaged {
            line: first.number,
            text: shown(first_text),
            problem,
        }
    }

    /// Hands a record's fields back for the next record to fill.
    pub fn recycle(&mut self, fields: Fields) {
        self.spare_fields = fields;
    }

    /// Passes over the first `n` physical lines whatever they hold (a report's preamble before its header), counted
    /// as `preamble`.
    pub fn skip_lines(&mut self, n: u64) -> std::io::Result<()> {
        for _ in 0..n {
            if self.raw_line()?.is_none() {
                break;
            }
            self.account.preamble += 1;
        }
        Ok(())
    }

    /// Reads the header record: blank lines before it are skipped; a damaged header refuses the file.
    pub fn header(&mut self) -> std::io::Result<Result<(u64, Fields), String>> {
        match self.next_item()? {
            None => Ok(Err("the file is empty; expected a header row naming the columns".into())),
            Some(Item::Damaged { line, problem, .. }) => Ok(Err(format!(
                "the header (line {line}) is damaged: {problem}; no row of the file can be read without it"
            ))),
            Some(Item::Record { line, fields }) => {
                self.account.records -= 1;
                self.account.record_lines -= 1;
                self.account.header_lines += 1;
                self.expected_fields = Some(fields.len());
                Ok(Ok((line, fields)))
            }
        }
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    memchr::memchr(needle, hay)
}

fn text_lines(text: &[u8]) -> usize {
    1 + text.iter().filter(|b| **b == b'\n').count()
}

fn shown(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.replace('\0', "\\0");
    match s.char_indices().nth(SHOWN_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s,
    }
}

/// Splits one record's text into fields. Quoted fields (a `"` at the very start of a field) may hold the
/// delimiter, line breaks and doubled quotes; after the closing quote only spaces may come before the delimiter.
/// A quote anywhere else is an ordinary character, as spreadsheets write `5" screen`.
fn split(text: &[u8], opts: CsvOptions, mut fields: Fields) -> Split {
    let d = opts.delimiter;
    fields.buf.clear();
    fields.ends.clear();
    if !opts.quoting || memchr(b'"', text).is_none() {
        // Most lines hold no quote at all: the fields are the text between delimiters, found in one pass.
        fields.buf.extend_from_slice(text);
        fields.ends.extend(memchr::memchr_iter(d, text));
        fields.ends.push(text.len());
        // `ends` marks where each field stops in `buf`; a delimiter is not part of the buffer's fields, so the
        // buffer keeps them and `iter` skips one byte after each end.
        fields.skip_delimiters = true;
        return Split::Fields(fields);
    }
    fields.skip_delimiters = false;
    let mut i = 0;
    let n = text.len();
    loop {
        if opts.quoting && i < n && text[i] == b'"' {
            i += 1;
            loop {
                if i >= n {
                    return Split::OpenQuote;
                }
                if text[i] == b'"' {
                    if i + 1 < n && text[i + 1] == b'"' {
                        fields.buf.push(b'"');
                        i += 2;
                        continue;
                    }
                    i += 1;
                    break;
                }
                fields.buf.push(text[i]);
                i += 1;
            }
            while i < n && text[i] == b' ' && d != b' ' {
                i += 1;
            }
            if i < n && text[i] != d {
                return Split::Malformed(format!(
                    "text after a closing quote at byte {}: a quoted field must end at a delimiter",
                    i + 1
                ));
            }
        } else {
            let end = memchr(d, &text[i..]).map_or(n, |p| i + p);
            fields.buf.extend_from_slice(&text[i..end]);
            i = end;
        }
        fields.end_field();
        if i >= n {
            return Split::Fields(fields);
        }
        // text[i] is the delimiter
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CsvOptions {
        CsvOptions {
            delimiter: b',',
            quoting: true,
            encoding: Encoding::Utf8,
        }
    }

    fn read_all(data: &[u8], o: CsvOptions) -> (Vec<Item>, LineAccount) {
        let mut r = CsvLines::new(data, o);
        r.header().unwrap().unwrap();
        let mut items = Vec::new();
        while let Some(it) = r.next_item().unwrap() {
            items.push(it);
        }
        (items, r.account)
    }

    fn rec(line: u64, f: &[&str]) -> Item {
        let mut fields = Fields::default();
        for s in f {
            fields.buf.extend_from_slice(s.as_bytes());
            fields.end_field();
        }
        Item::Record { line, fields }
    }

    #[test]
    fn a_field_is_text_only_when_its_own_bytes_are_valid_utf8() {
        // Unescaped fields side by side: the buffer "é" is valid, but split inside the character each half is not.
        let mut split = Fields::default();
        split.buf.extend_from_slice(&[0xC3]);
        split.end_field();
        split.buf.extend_from_slice(&[0xA9]);
        split.end_field();
        let got: Vec<_> = split.texts().collect();
        assert_eq!(got, vec![Err(&[0xC3u8][..]), Err(&[0xA9u8][..])]);
        // Kept text with delimiters: valid fields stay text, an invalid one is its bytes, the others untouched.
        let mut kept = Fields {
            skip_delimiters: true,
            ..Fields::default()
        };
        for f in [&b"\xE5\x95\x86\xE5\xAE\xB6"[..], b"x\xFFy", b""] {
            kept.buf.extend_from_slice(f);
            kept.end_field();
            kept.buf.push(b',');
        }
        kept.buf.pop();
        let got: Vec<_> = kept.texts().collect();
        assert_eq!(got, vec![Ok("商家"), Err(&b"x\xFFy"[..]), Ok("")]);
    }

    fn damaged_lines(items: &[Item]) -> Vec<u64> {
        items
            .iter()
            .filter_map(|i| match i {
                Item::Damaged { line, .. } => Some(*line),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_stray_quote_loses_its_own_line_only() {
        let mut data = String::from("a,b,c\n");
        for i in 1..=300 {
            if i == 100 {
                data.push_str("x100,\"oops,z\n");
            } else {
                data.push_str(&format!("x{i},y,z\n"));
            }
        }
        let (items, acc) = read_all(data.as_bytes(), opts());
        assert_eq!(items.len(), 300);
        assert_eq!(damaged_lines(&items), vec![101]);
        assert_eq!(items[100], rec(102, &["x101", "y", "z"]));
        assert_eq!(acc.lines, 301);
        assert_eq!(acc.header_lines + acc.record_lines + acc.damaged + acc.blank, acc.lines);
    }

    #[test]
    fn quoted_line_breaks_and_doubled_quotes_make_one_record() {
        let data = b"a,b,c\n1,\"two\nlines, \"\"quoted\"\"\",3\n4,5,6\n";
        let (items, acc) = read_all(data, opts());
        assert_eq!(
            items,
            vec![rec(2, &["1", "two\nlines, \"quoted\"", "3"]), rec(4, &["4", "5", "6"])]
        );
        assert_eq!(acc.record_lines, 3);
        assert_eq!(acc.records, 2);
    }

    #[test]
    fn a_quote_closing_into_the_wrong_width_is_damage_of_the_first_line() {
        // The quote on line 2 closes on line 3, but the joined record has 4 fields, not 3.
        let data = b"a,b,c\n1,\"x,2\n3,\",4,9\n5,6,7\n";
        let (items, _) = read_all(data, opts());
        assert_eq!(damaged_lines(&items), vec![2, 3]);
        assert_eq!(items[2], rec(4, &["5", "6", "7"]));
    }

    #[test]
    fn nul_bytes_long_lines_and_bad_gbk_are_rejected_alone() {
        let mut data = b"a,b\nM1\0,2\nok,1\n".to_vec();
        data.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        data.extend_from_slice(b"\nlast,3");
        let (items, acc) = read_all(&data, opts());
        assert_eq!(damaged_lines(&items), vec![2, 4]);
        assert_eq!(items[1], rec(3, &["ok", "1"]));
        assert_eq!(items[3], rec(5, &["last", "3"]));
        assert_eq!(acc.lines, 5);

        let gbk = CsvOptions {
            encoding: Encoding::Gbk,
            ..opts()
        };
        // 商家 in GBK, then a lone lead byte 0x81 at the end of a line.
        let data = b"a,b\n\xc9\xcc\xbc\xd2,1\nbad\x81,2\nok,3\n";
        let (items, _) = read_all(data, gbk);
        assert_eq!(items[0], rec(2, &["商家", "1"]));
        assert_eq!(damaged_lines(&items), vec![3]);
        assert_eq!(items[2], rec(4, &["ok", "3"]));
    }

    #[test]
    fn quoting_off_keeps_quotes_as_text() {
        let o = CsvOptions {
            delimiter: b'\t',
            quoting: false,
            encoding: Encoding::Utf8,
        };
        let (items, _) = read_all(b"a\tb\n\"great\tok\n", o);
        assert_eq!(items, vec![rec(2, &["\"great", "ok"])]);
    }

    #[test]
    fn blank_lines_count_as_lines_but_not_rows() {
        let (items, acc) = read_all(b"\xEF\xBB\xBFa,b\n\n1,2\r\n\n3,4", opts());
        assert_eq!(items, vec![rec(3, &["1", "2"]), rec(5, &["3", "4"])]);
        assert_eq!(acc.blank, 2);
        assert_eq!(acc.lines, 5);
    }

    #[test]
    fn a_quote_open_at_the_end_of_the_file() {
        let (items, acc) = read_all(b"a,b\n1,\"x\n2,3\n", opts());
        assert_eq!(damaged_lines(&items), vec![2]);
        assert_eq!(items[1], rec(3, &["2", "3"]));
        assert_eq!(acc.lines, 3);
    }
}
