//! CSV, TSV and Zeek logs: a header names the columns, each data line is split on a separator.

use memchr::{memchr, memchr_iter};

use super::{Field, Fields};
use crate::input::error::{BadLine, SpecError};

#[derive(Debug, Clone)]
pub(crate) struct Delimited {
    separator: u8,
    /// RFC 4180 double-quote quoting (CSV only).
    quoting: bool,
    /// Zeek log: `#` lines are directives, `#fields` is the header.
    zeek: bool,
    /// Zeek `#unset_field` value (default `-`): the field has no value.
    unset: Vec<u8>,
    /// Zeek `#empty_field` value (default `(empty)`): the field is the empty string.
    empty: Vec<u8>,
    names: [Option<String>; 3],
    /// Column index of each selector, known once the header is read.
    columns: Option<[Option<usize>; 3]>,
}

impl Delimited {
    pub(crate) fn csv(separator: u8, quoting: bool, names: &[Option<String>; 3]) -> Self {
        Delimited { separator, quoting, zeek: false, unset: Vec::new(), empty: Vec::new(), names: names.clone(), columns: None }
    }

    pub(crate) fn zeek(names: &[Option<String>; 3]) -> Self {
        Delimited {
            separator: b'\t',
            quoting: false,
            zeek: true,
            unset: b"-".to_vec(),
            empty: b"(empty)".to_vec(),
            names: names.clone(),
            columns: None,
        }
    }

    pub(crate) fn has_header(&self) -> bool {
        self.columns.is_some()
    }

    /// Returns true for a Zeek directive line (`#close`, `#types`) after the header.
    pub(crate) fn is_comment(&self, line: &[u8]) -> bool {
        self.zeek && line.first() == Some(&b'#')
    }

    pub(crate) fn read_header(&mut self, line: &[u8]) -> Result<(), SpecError> {
        if !self.zeek {
            // A UTF-8 byte order mark may precede the first column name.
            let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
            let names = self.split_header(line);
            return self.resolve(&names);
        }

        let Some(directive) = line.strip_prefix(b"#") else {
            return Err(SpecError::new(format!(
                "invalid Zeek log: data line {:?} before the `#fields` header",
                String::from_utf8_lossy(&line[..line.len().min(80)])
            )));
        };
        if let Some(value) = directive.strip_prefix(b"separator ") {
            self.separator = parse_separator(value)?;
        } else if let Some(value) = self.directive_value(directive, b"unset_field") {
            self.unset = value.to_vec();
        } else if let Some(value) = self.directive_value(directive, b"empty_field") {
            self.empty = value.to_vec();
        } else if let Some(value) = self.directive_value(directive, b"fields") {
            let names = value.split(|&b| b == self.separator).map(|name| String::from_utf8_lossy(name).into_owned()).collect::<Vec<_>>();
            self.resolve(&names)?;
        }
        Ok(())
    }

    /// Returns the value of `#name<separator>value`.
    fn directive_value<'l>(&self, directive: &'l [u8], name: &[u8]) -> Option<&'l [u8]> {
        let rest = directive.strip_prefix(name)?;
        rest.strip_prefix(&[self.separator][..])
    }

    fn split_header(&self, line: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        // A malformed header keeps the columns read so far; the selected ones may be among them.
        let _ = self.walk(line, |start, end, _| {
            names.push(String::from_utf8_lossy(&line[start..end]).trim().to_string());
            true
        });
        names
    }

    fn resolve(&mut self, header: &[String]) -> Result<(), SpecError> {
        let mut columns = [None; 3];
        for (slot, name) in self.names.iter().enumerate() {
            let Some(name) = name else { continue };
            match header.iter().position(|column| column == name) {
                Some(index) => columns[slot] = Some(index),
                None => {
                    return Err(SpecError::new(format!(
                        "column `{name}` is not in the header; the columns are: {}",
                        header.join(", ")
                    )))
                }
            }
        }
        self.columns = Some(columns);
        Ok(())
    }

    pub(crate) fn extract(&self, line: &[u8], buffers: &mut [Vec<u8>; 3]) -> Result<Fields, BadLine> {
        let columns = self.columns.ok_or_else(|| BadLine::malformed("the header has not been read"))?;
        let last = columns.iter().flatten().copied().max().unwrap_or(0);

        let mut spans: [Option<(usize, usize, bool)>; 3] = [None; 3];
        let mut index = 0;
        self.walk(line, |start, end, quoted| {
            for slot in 0..3 {
                if columns[slot] == Some(index) {
                    spans[slot] = Some((start, end, quoted));
                }
            }
            index += 1;
            index <= last
        })?;

        let mut fields: Fields = [None; 3];
        for slot in 0..3 {
            if columns[slot].is_none() {
                continue;
            }
            let Some((start, end, quoted)) = spans[slot] else {
                return Err(BadLine::missing(self.names[slot].as_deref().unwrap_or_default()));
            };
            fields[slot] = Some(self.field(line, start, end, quoted, &mut buffers[slot]));
        }
        Ok(fields)
    }

    fn field(&self, line: &[u8], start: usize, end: usize, quoted: bool, buffer: &mut Vec<u8>) -> Field {
        let raw = &line[start..end];
        if quoted && memchr(b'"', raw).is_some() {
            // A doubled quote inside a quoted field stands for one quote.
            buffer.clear();
            let mut previous_quote = false;
            for &byte in raw {
                if byte == b'"' && previous_quote {
                    previous_quote = false;
                    continue;
                }
                previous_quote = byte == b'"';
                buffer.push(byte);
            }
            Field::Scratch
        } else if self.zeek && raw == self.unset.as_slice() {
            Field::Absent
        } else if self.zeek && raw == self.empty.as_slice() {
            Field::Line(start, start)
        } else {
            Field::Line(start, end)
        }
    }

    /// Splits `line` into fields, calling `visit(start, end, quoted)` with each field's content
    /// range until it returns false. Returns whether the whole line was walked.
    fn walk<F>(&self, line: &[u8], mut visit: F) -> Result<bool, BadLine>
    where
        F: FnMut(usize, usize, bool) -> bool,
    {
        if !self.quoting || memchr(b'"', line).is_none() {
            let mut start = 0;
            for end in memchr_iter(self.separator, line) {
                if !visit(start, end, false) {
                    return Ok(false);
                }
                start = end + 1;
            }
            visit(start, line.len(), false);
            return Ok(true);
        }

        let mut pos = 0;
        loop {
            if line.get(pos) == Some(&b'"') {
                let start = pos + 1;
                let end = quoted_end(line, start)?;
                let after = end + 1;
                match line.get(after) {
                    None => {
                        visit(start, end, true);
                        return Ok(true);
                    }
                    Some(&byte) if byte == self.separator => {
                        if !visit(start, end, true) {
                            return Ok(false);
                        }
                        pos = after + 1;
                    }
                    Some(_) => {
                        return Err(BadLine::malformed(format!(
                            "invalid CSV at byte {after}: a closing quote must be followed by a separator or the end of the line"
                        )))
                    }
                }
            } else {
                match memchr(self.separator, &line[pos..]) {
                    Some(offset) => {
                        if !visit(pos, pos + offset, false) {
                            return Ok(false);
                        }
                        pos += offset + 1;
                    }
                    None => {
                        visit(pos, line.len(), false);
                        return Ok(true);
                    }
                }
            }
        }
    }
}

/// Returns the index of the quote closing a quoted field whose content starts at `start`.
fn quoted_end(line: &[u8], start: usize) -> Result<usize, BadLine> {
    let mut pos = start;
    loop {
        match memchr(b'"', &line[pos..]) {
            Some(offset) => {
                let quote = pos + offset;
                if line.get(quote + 1) == Some(&b'"') {
                    pos = quote + 2;
                } else {
                    return Ok(quote);
                }
            }
            None => {
                return Err(BadLine::malformed(format!(
                    "invalid CSV: the quoted field at byte {} is not closed on this line (a quoted field cannot span lines)",
                    start - 1
                )))
            }
        }
    }
}

/// Parses a Zeek `#separator` value such as `\x09`.
fn parse_separator(value: &[u8]) -> Result<u8, SpecError> {
    let text = String::from_utf8_lossy(value);
    let text = text.trim();
    if let Some(hex) = text.strip_prefix("\\x") {
        if let Ok(byte) = u8::from_str_radix(hex, 16) {
            return Ok(byte);
        }
    }
    match text.as_bytes() {
        [byte] => Ok(*byte),
        _ => Err(SpecError::new(format!("invalid Zeek #separator `{text}`: expected one byte or \\xHH"))),
    }
}
