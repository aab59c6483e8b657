//! A single-pass NDJSON scanner that finds up to three JSON pointers in a line without
//! building a document. Values outside the selected paths are checked and skipped, and
//! selected strings are borrowed from the line unless they contain escapes.
//!
//! By default the scan stops once every selected value is found, and the rest of the line is
//! only checked to end with the bracket that closes its first one. That catches truncated
//! lines but not every syntax error after the selected fields; strict mode checks the whole
//! line.

use memchr::memchr2;

use super::{Field, Fields};
use crate::input::error::{BadLine, Reason, SpecError};

/// Nesting deeper than this is rejected, which bounds the scanner's recursion.
const MAX_DEPTH: usize = 128;

/// The parsed JSON pointers of the item, dimension and time selectors.
#[derive(Debug, Clone)]
pub(crate) struct Pointers {
    /// Reference tokens per selector; `None` where nothing is selected.
    paths: [Option<Vec<Vec<u8>>>; 3],
    names: [String; 3],
    strict: bool,
}

impl Pointers {
    /// Parses RFC 6901 pointers (`/a/b`, `~1` for `/`, `~0` for `~`). A selector without a
    /// leading `/` names a top-level key, so `ip` means `/ip`.
    pub(crate) fn parse(selectors: &[Option<String>; 3], strict: bool) -> Result<Self, SpecError> {
        let mut paths: [Option<Vec<Vec<u8>>>; 3] = Default::default();
        let mut names: [String; 3] = Default::default();
        for (slot, selector) in selectors.iter().enumerate() {
            let Some(selector) = selector else { continue };
            names[slot] = selector.clone();
            paths[slot] = Some(parse_pointer(selector)?);
        }
        Ok(Pointers { paths, names, strict })
    }

    /// Scans `line` and returns where each selected value is.
    pub(crate) fn extract(&self, line: &[u8], buffers: &mut [Vec<u8>; 3]) -> Result<Fields, BadLine> {
        let mut active = 0u8;
        for (slot, path) in self.paths.iter().enumerate() {
            if path.is_some() {
                active |= 1 << slot;
            }
        }

        let mut scanner = Scanner { line, pos: 0, pointers: self, found: [None; 3], pending: active, done: false, buffers, key: Vec::new() };
        scanner.value(0, active)?;
        if scanner.done {
            check_closing_bracket(line)?;
        } else {
            scanner.skip_whitespace();
            if scanner.pos != line.len() {
                return Err(scanner.error("unexpected characters after the JSON value"));
            }
        }

        let found = scanner.found;
        let mut fields: Fields = [None; 3];
        for slot in 0..3 {
            if self.paths[slot].is_some() {
                match found[slot] {
                    Some(field) => fields[slot] = Some(field),
                    None => return Err(BadLine::missing(&self.names[slot])),
                }
            }
        }
        Ok(fields)
    }
}

fn parse_pointer(selector: &str) -> Result<Vec<Vec<u8>>, SpecError> {
    if selector.is_empty() {
        return Ok(Vec::new());
    }
    let body = match selector.strip_prefix('/') {
        Some(body) => body,
        None if !selector.contains('/') => selector,
        None => {
            return Err(SpecError::new(format!(
                "invalid JSON pointer `{selector}`: it must start with `/`, as in `/client/ip`"
            )))
        }
    };

    let mut tokens = Vec::new();
    for token in body.split('/') {
        let mut decoded = String::with_capacity(token.len());
        let mut chars = token.chars();
        while let Some(c) = chars.next() {
            if c != '~' {
                decoded.push(c);
                continue;
            }
            match chars.next() {
                Some('0') => decoded.push('~'),
                Some('1') => decoded.push('/'),
                _ => {
                    return Err(SpecError::new(format!(
                        "invalid JSON pointer `{selector}`: `~` must be followed by 0 or 1"
                    )))
                }
            }
        }
        tokens.push(decoded.into_bytes());
    }
    Ok(tokens)
}

/// Checks that a line whose scan stopped early ends with the bracket closing its first one.
fn check_closing_bracket(line: &[u8]) -> Result<(), BadLine> {
    let is_space = |byte: &u8| matches!(byte, b' ' | b'\t' | b'\r' | b'\n');
    let first = line.iter().find(|byte| !is_space(byte));
    let last = line.iter().rev().find(|byte| !is_space(byte));
    match (first, last) {
        (Some(b'{'), Some(b'}')) | (Some(b'['), Some(b']')) => Ok(()),
        _ => Err(BadLine::malformed("invalid JSON: the line does not end with the bracket that closes its first one (truncated?)")),
    }
}

struct Scanner<'a, 'b> {
    line: &'a [u8],
    pos: usize,
    pointers: &'b Pointers,
    found: [Option<Field>; 3],
    /// Selector slots not found yet.
    pending: u8,
    /// All selected values are found and the scan stops (not in strict mode).
    done: bool,
    buffers: &'b mut [Vec<u8>; 3],
    key: Vec<u8>,
}

impl Scanner<'_, '_> {
    fn error(&self, problem: &str) -> BadLine {
        BadLine::malformed(format!("invalid JSON at byte {}: {problem}", self.pos))
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\r' | b'\n') = self.line.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Slots of `active` whose pointer ends at `depth`: the value here is their target.
    fn targets(&self, depth: usize, active: u8) -> u8 {
        let mut targets = 0;
        for slot in 0..3 {
            if active & (1 << slot) != 0 && self.pointers.paths[slot].as_ref().is_some_and(|path| path.len() == depth) {
                targets |= 1 << slot;
            }
        }
        targets
    }

    /// Slots of `active` whose next reference token at `depth` equals `token`.
    fn descend(&self, depth: usize, active: u8, token: &[u8]) -> u8 {
        let mut next = 0;
        for slot in 0..3 {
            if active & (1 << slot) == 0 {
                continue;
            }
            if let Some(path) = &self.pointers.paths[slot] {
                if path.len() > depth && path[depth] == token {
                    next |= 1 << slot;
                }
            }
        }
        next
    }

    fn value(&mut self, depth: usize, active: u8) -> Result<(), BadLine> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested deeper than 128 levels"));
        }
        self.skip_whitespace();
        let targets = self.targets(depth, active);
        let start = self.pos;

        match self.line.get(self.pos) {
            Some(b'"') => {
                let (content_start, content_end, escaped) = self.string()?;
                if targets != 0 {
                    self.record_string(targets, content_start, content_end, escaped)?;
                }
                return Ok(());
            }
            Some(b'{') => self.object(depth, active & !targets)?,
            Some(b'[') => self.array(depth, active & !targets)?,
            Some(b't') => self.literal(b"true")?,
            Some(b'f') => self.literal(b"false")?,
            Some(b'n') => {
                self.literal(b"null")?;
                self.record(targets, Field::Absent);
                return Ok(());
            }
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(_) => return Err(self.error("expected a JSON value")),
            None => return Err(self.error("unexpected end of line")),
        }

        self.record(targets, Field::Line(start, self.pos));
        Ok(())
    }

    fn record(&mut self, targets: u8, field: Field) {
        for slot in 0..3 {
            if targets & (1 << slot) != 0 && self.found[slot].is_none() {
                self.found[slot] = Some(field);
            }
        }
        self.mark_found(targets);
    }

    fn mark_found(&mut self, targets: u8) {
        self.pending &= !targets;
        if self.pending == 0 && !self.pointers.strict {
            self.done = true;
        }
    }

    fn record_string(&mut self, targets: u8, start: usize, end: usize, escaped: bool) -> Result<(), BadLine> {
        let raw = &self.line[start..end];
        if std::str::from_utf8(raw).is_err() {
            return Err(BadLine::new(Reason::InvalidUtf8, format!("JSON string at byte {start} is not UTF-8")));
        }
        if !escaped {
            self.record(targets, Field::Line(start, end));
            return Ok(());
        }

        for slot in 0..3 {
            if targets & (1 << slot) != 0 && self.found[slot].is_none() {
                let buffer = &mut self.buffers[slot];
                buffer.clear();
                unescape(raw, buffer).map_err(|problem| BadLine::malformed(format!("invalid JSON string at byte {start}: {problem}")))?;
                self.found[slot] = Some(Field::Scratch);
            }
        }
        self.mark_found(targets);
        Ok(())
    }

    /// Skips a string starting at the opening quote; returns the content range and whether
    /// it contains escapes.
    fn string(&mut self) -> Result<(usize, usize, bool), BadLine> {
        let start = self.pos + 1;
        let mut pos = start;
        let mut escaped = false;
        loop {
            match memchr2(b'"', b'\\', &self.line[pos..]) {
                Some(offset) if self.line[pos + offset] == b'"' => {
                    let end = pos + offset;
                    self.pos = end + 1;
                    return Ok((start, end, escaped));
                }
                Some(offset) => {
                    escaped = true;
                    pos += offset + 2;
                    if pos > self.line.len() {
                        break;
                    }
                }
                None => break,
            }
        }
        self.pos = self.line.len();
        Err(self.error("unterminated string"))
    }

    fn object(&mut self, depth: usize, active: u8) -> Result<(), BadLine> {
        self.pos += 1;
        self.skip_whitespace();
        if self.line.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }

        loop {
            self.skip_whitespace();
            if self.line.get(self.pos) != Some(&b'"') {
                return Err(self.error("expected a string key"));
            }
            let (key_start, key_end, escaped) = self.string()?;
            let child_active = if active == 0 {
                0
            } else if escaped {
                let mut key = std::mem::take(&mut self.key);
                key.clear();
                unescape(&self.line[key_start..key_end], &mut key).map_err(|problem| self.error(problem))?;
                let child = self.descend(depth, active, &key);
                self.key = key;
                child
            } else {
                self.descend(depth, active, &self.line[key_start..key_end])
            };

            self.skip_whitespace();
            if self.line.get(self.pos) != Some(&b':') {
                return Err(self.error("expected `:` after an object key"));
            }
            self.pos += 1;
            self.value(depth + 1, child_active)?;
            if self.done {
                return Ok(());
            }

            self.skip_whitespace();
            match self.line.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `}` in an object")),
            }
        }
    }

    fn array(&mut self, depth: usize, active: u8) -> Result<(), BadLine> {
        self.pos += 1;
        self.skip_whitespace();
        if self.line.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(());
        }

        let mut index = 0usize;
        loop {
            let child_active = if active == 0 { 0 } else { self.descend(depth, active, index.to_string().as_bytes()) };
            self.value(depth + 1, child_active)?;
            if self.done {
                return Ok(());
            }
            index += 1;

            self.skip_whitespace();
            match self.line.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected `,` or `]` in an array")),
            }
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), BadLine> {
        if self.line[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("invalid literal; expected true, false or null"))
        }
    }

    fn number(&mut self) -> Result<(), BadLine> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.line.get(self.pos) {
            self.pos += 1;
        }
        let text = &self.line[start..self.pos];
        let digits = text.iter().filter(|b| b.is_ascii_digit()).count();
        if digits == 0 || text.ends_with(b"-") || text.ends_with(b".") {
            return Err(self.error("invalid number"));
        }
        Ok(())
    }
}

/// Decodes the escapes of a JSON string's content into `out` (UTF-8).
fn unescape(raw: &[u8], out: &mut Vec<u8>) -> Result<(), &'static str> {
    let mut i = 0;
    while i < raw.len() {
        let byte = raw[i];
        if byte != b'\\' {
            out.push(byte);
            i += 1;
            continue;
        }

        let escape = *raw.get(i + 1).ok_or("a backslash ends the string")?;
        i += 2;
        let decoded = match escape {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let high = hex4(raw.get(i..i + 4))?;
                i += 4;
                let code = if (0xD800..0xDC00).contains(&high) {
                    if raw.get(i..i + 2) != Some(b"\\u") {
                        return Err("a high surrogate is not followed by a low surrogate");
                    }
                    let low = hex4(raw.get(i + 2..i + 6))?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err("a high surrogate is not followed by a low surrogate");
                    }
                    i += 6;
                    0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00)
                } else {
                    high
                };
                let c = char::from_u32(code).ok_or("a \\u escape is a lone surrogate")?;
                let mut utf8 = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                continue;
            }
            _ => return Err("unknown escape sequence"),
        };
        out.push(decoded);
    }
    Ok(())
}

fn hex4(digits: Option<&[u8]>) -> Result<u32, &'static str> {
    let digits = digits.ok_or("a \\u escape has fewer than 4 hex digits")?;
    let text = std::str::from_utf8(digits).map_err(|_| "a \\u escape has invalid hex digits")?;
    u32::from_str_radix(text, 16).map_err(|_| "a \\u escape has invalid hex digits")
}
