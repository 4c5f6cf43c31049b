//! CSV records with bounded size. The csv crate grows a record's buffer without limit, so a
//! few megabytes of `.gz` holding one enormous field would force an allocation as large as the
//! field. This reader drives the csv crate's own state machine (`csv_core`, the same defaults:
//! `,` delimiter, `"` quotes doubled to escape, any line terminator, blank lines skipped) and
//! refuses a record over `max_bytes` or `max_fields` before allocating more.

use std::io::BufRead;

#[derive(Debug, thiserror::Error)]
pub enum CsvError {
    #[error("the record is larger than {} (a field without its closing quote?)", crate::util::human_size(*.limit as u64))]
    TooLarge { limit: usize },
    #[error("the record has more than {limit} fields")]
    TooManyFields { limit: usize },
    #[error("field {} is not valid UTF-8 text", .field + 1)]
    Utf8 { field: usize },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub struct Records<R> {
    core: csv_core::Reader,
    input: R,
    out: Vec<u8>,
    ends: Vec<usize>,
    max_bytes: usize,
    max_fields: usize,
    /// The line the last record started on (1-based, as `csv::Position::line`).
    line: u64,
    done: bool,
}

impl<R: BufRead> Records<R> {
    pub fn new(input: R, max_bytes: usize, max_fields: usize) -> Self {
        Records {
            core: csv_core::Reader::new(),
            input,
            out: vec![0; 4096.min(max_bytes.max(1))],
            ends: vec![0; 64.min(max_fields.max(1))],
            max_bytes,
            max_fields,
            line: 1,
            done: false,
        }
    }

    /// The line the last record read started on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Reads the next record into `rec`; `false` at the end of the input.
    pub fn read(&mut self, rec: &mut csv::StringRecord) -> Result<bool, CsvError> {
        use csv_core::ReadRecordResult::*;
        rec.clear();
        if self.done {
            return Ok(false);
        }
        self.line = self.core.line();
        let (mut outlen, mut endlen) = (0, 0);
        loop {
            let input = self.input.fill_buf()?;
            let (res, nin, nout, nend) =
                self.core
                    .read_record(input, &mut self.out[outlen..], &mut self.ends[endlen..]);
            self.input.consume(nin);
            outlen += nout;
            endlen += nend;
            match res {
                InputEmpty => continue,
                OutputFull => {
                    if self.out.len() >= self.max_bytes {
                        return Err(CsvError::TooLarge {
                            limit: self.max_bytes,
                        });
                    }
                    let grown = (self.out.len() * 2).min(self.max_bytes);
                    self.out.resize(grown, 0);
                }
                OutputEndsFull => {
                    if self.ends.len() >= self.max_fields {
                        return Err(CsvError::TooManyFields {
                            limit: self.max_fields,
                        });
                    }
                    let grown = (self.ends.len() * 2).min(self.max_fields);
                    self.ends.resize(grown, 0);
                }
                Record => {
                    let mut start = 0;
                    for (i, &end) in self.ends[..endlen].iter().enumerate() {
                        let field = std::str::from_utf8(&self.out[start..end])
                            .map_err(|_| CsvError::Utf8 { field: i })?;
                        rec.push_field(field);
                        start = end;
                    }
                    return Ok(true);
                }
                End => {
                    self.done = true;
                    return Ok(false);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &[u8], max_bytes: usize, max_fields: usize) -> Result<Vec<Vec<String>>, String> {
        let mut r = Records::new(text, max_bytes, max_fields);
        let mut rec = csv::StringRecord::new();
        let mut out = Vec::new();
        while r.read(&mut rec).map_err(|e| e.to_string())? {
            out.push(rec.iter().map(str::to_string).collect());
        }
        Ok(out)
    }

    #[test]
    fn reads_what_the_csv_crate_reads() {
        let text = b"a,b,c\r\n1,\"x, \"\"quoted\"\"\nsecond line\",3\n\n4,5\r\n\"\",,\n";
        let ours = all(text, 1 << 20, 100).unwrap();
        let theirs: Vec<Vec<String>> = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&text[..])
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
        assert_eq!(ours, theirs);
        assert_eq!(ours[1][1], "x, \"quoted\"\nsecond line");
    }

    #[test]
    fn lines_are_where_records_start() {
        let mut r = Records::new(&b"h1,h2\n\"a\nb\",c\nd,e\n"[..], 1024, 8);
        let mut rec = csv::StringRecord::new();
        let mut lines = Vec::new();
        while r.read(&mut rec).unwrap() {
            lines.push(r.line());
        }
        assert_eq!(lines, vec![1, 2, 4]);
    }

    #[test]
    fn oversized_records_are_refused_before_they_are_allocated() {
        let huge = format!("a,b\n1,\"{}\"\n", "x".repeat(100_000));
        let e = all(huge.as_bytes(), 64 * 1024, 8).unwrap_err();
        assert!(e.contains("larger than 64.0 KiB"), "{e}");
        let wide = format!("{}\n", vec!["f"; 100].join(","));
        let e = all(wide.as_bytes(), 1 << 20, 50).unwrap_err();
        assert!(e.contains("more than 50 fields"), "{e}");
        let bad = b"a\n\xff\xfe\n";
        assert_eq!(
            all(bad, 1024, 8).unwrap_err(),
            "field 1 is not valid UTF-8 text"
        );
    }
}
