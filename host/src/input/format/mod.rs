//! Line formats and field selection: which bytes of a line are the item, the dimension and the
//! event time.
//!
//! One [`FormatSpec`] names the format and three selectors written in that format's syntax: a
//! JSON pointer for NDJSON (`/client/ip`), a header column name for CSV, TSV and Zeek, a field
//! name for the combined log (`ip`, `path`, ...). An [`Extractor`] built from it reads the
//! header of a source (CSV, TSV, Zeek) and then turns each line into zero or more [`Event`]s
//! that borrow the line, or a [`BadLine`] with its [`Reason`](crate::input::Reason).

mod combined;
mod delimited;
mod json;
mod text;

use std::fmt;
use std::str::FromStr;

use crate::input::error::{BadLine, Reason, SpecError};
use crate::input::time::TimeFormat;

pub use combined::CombinedField;

/// A line format.
///
/// # Examples
///
/// ```
/// use topk_host::input::Format;
///
/// assert_eq!("csv".parse::<Format>().unwrap(), Format::Csv);
/// assert!("xml".parse::<Format>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON value per line; fields are JSON pointers (RFC 6901), such as `/client/ip`.
    Ndjson,
    /// Comma-separated values with a header line and RFC 4180 quoting; fields are column names.
    /// A quoted field cannot span lines.
    Csv,
    /// Tab-separated values with a header line and no quoting; fields are column names.
    Tsv,
    /// The Apache/Nginx combined access log; fields are `ip`, `ident`, `user`, `time`,
    /// `request`, `method`, `path`, `protocol`, `status`, `bytes`, `referrer`, `user_agent`.
    Combined,
    /// A Zeek TSV log with `#separator`, `#unset_field` and `#fields` header lines; fields are
    /// names from `#fields`.
    Zeek,
    /// Raw text: every match of a regular expression in a line is one item.
    Text,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
            "csv" => Ok(Format::Csv),
            "tsv" => Ok(Format::Tsv),
            "combined" | "apache" | "nginx" => Ok(Format::Combined),
            "zeek" => Ok(Format::Zeek),
            "text" => Ok(Format::Text),
            _ => Err(format!("invalid format `{text}`: expected ndjson, csv, tsv, combined, zeek or text")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
            Format::Tsv => "tsv",
            Format::Combined => "combined",
            Format::Zeek => "zeek",
            Format::Text => "text",
        })
    }
}

/// The default tokenizer of the text format: runs of non-whitespace.
pub const DEFAULT_TOKEN_PATTERN: &str = r"\S+";

/// Specification of what to read from each line: the format and its item, dimension and time
/// selectors.
///
/// # Examples
///
/// ```
/// use topk_host::input::{Format, FormatSpec};
///
/// let spec = FormatSpec::new(Format::Ndjson, "/client/ip").with_dimension("/status");
/// assert_eq!(spec.dimension.as_deref(), Some("/status"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatSpec {
    /// The line format.
    pub format: Format,
    /// Selector of the item; ignored by the text format, whose items are the tokens.
    pub item: String,
    /// Selector of the dimension field, if any.
    pub dimension: Option<String>,
    /// Selector of the event-time field; without one, the caller uses arrival time.
    pub time: Option<String>,
    /// Format of the time field.
    pub time_format: TimeFormat,
    /// Item values that mean "no value": lines whose item equals one are skipped, not counted
    /// and not malformed (for example `NA` in R-exported CSV files).
    pub skip_values: Vec<Vec<u8>>,
    /// Regular expression whose matches are the items of the text format; `None` means
    /// [`DEFAULT_TOKEN_PATTERN`].
    pub tokenize: Option<String>,
    /// Lowercases the item (ASCII bytes in binary formats, Unicode in the text format) before
    /// counting.
    pub lowercase: bool,
    /// Regular expression of lines to skip whole (separators, comments), in any format.
    pub skip_lines: Option<String>,
    /// Checks every NDJSON line completely. Off by default: the scan stops once the selected
    /// values are found and only checks that the line ends with its closing bracket.
    pub strict: bool,
}

impl FormatSpec {
    /// Creates a specification with an item selector, no dimension, no time and no skip values.
    pub fn new(format: Format, item: impl Into<String>) -> Self {
        FormatSpec {
            format,
            item: item.into(),
            dimension: None,
            time: None,
            time_format: TimeFormat::Auto,
            skip_values: Vec::new(),
            tokenize: None,
            lowercase: false,
            skip_lines: None,
            strict: false,
        }
    }

    /// Sets the dimension selector.
    pub fn with_dimension(mut self, selector: impl Into<String>) -> Self {
        self.dimension = Some(selector.into());
        self
    }

    /// Sets the event-time selector and its format.
    pub fn with_time(mut self, selector: impl Into<String>, format: TimeFormat) -> Self {
        self.time = Some(selector.into());
        self.time_format = format;
        self
    }
}

/// One counted occurrence: the item and, when selected, the dimension value and event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event<'a> {
    /// The item's bytes.
    pub item: &'a [u8],
    /// The dimension value, when a dimension is selected.
    pub dimension: Option<&'a [u8]>,
    /// Event time in milliseconds since the Unix epoch, when a time field is selected.
    pub time_ms: Option<i64>,
}

/// Result of a line that was not a [`BadLine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// This many events were passed to the sink (the text format may pass 0 or several).
    Events(usize),
    /// The item had no value (JSON `null`, a Zeek unset field, a configured skip value), or
    /// the line matched the skip-lines expression.
    Skipped,
    /// A comment or directive line (`#` lines of a Zeek log after its header).
    Comment,
}

/// Reusable buffers for values that cannot be borrowed from the line (unescaped JSON strings,
/// lowercased items). One per thread.
#[derive(Debug, Default)]
pub struct Scratch {
    fields: [Vec<u8>; 3],
    lowered: Vec<u8>,
}

/// Location of a selected value: a byte range of the line, a scratch buffer, or nowhere because
/// the value is null or unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Line(usize, usize),
    Scratch,
    Absent,
}

/// Index of each selector in the selector arrays.
const ITEM: usize = 0;
const DIMENSION: usize = 1;
const TIME: usize = 2;

/// Selected values of one line, `None` where nothing is selected.
type Fields = [Option<Field>; 3];

#[derive(Debug, Clone)]
enum Kind {
    Json(json::Pointers),
    Delimited(delimited::Delimited),
    Combined(combined::Selection),
    Text(text::Tokenizer),
}

/// A compiled [`FormatSpec`] plus the header state of one source. Clone it per source before
/// reading that source's header; once [`needs_header`](Self::needs_header) is false it is
/// immutable and can be shared across threads.
///
/// # Examples
///
/// ```
/// use topk_host::input::{Extractor, Format, FormatSpec, Outcome, Scratch};
///
/// let mut extractor = Extractor::new(&FormatSpec::new(Format::Csv, "ip")).unwrap();
/// extractor.read_header(b"time,ip,path").unwrap();
/// assert!(!extractor.needs_header());
///
/// let mut scratch = Scratch::default();
/// let mut items = Vec::new();
/// let outcome = extractor
///     .extract(b"1431857103,10.0.0.1,/", &mut scratch, |event| items.push(event.item.to_vec()))
///     .unwrap();
/// assert_eq!(outcome, Outcome::Events(1));
/// assert_eq!(items, [b"10.0.0.1".to_vec()]);
/// ```
#[derive(Debug, Clone)]
pub struct Extractor {
    kind: Kind,
    names: [Option<String>; 3],
    time_format: TimeFormat,
    skip_values: Vec<Vec<u8>>,
    lowercase: bool,
    skip_lines: Option<regex::bytes::Regex>,
}

impl Extractor {
    /// Compiles a specification.
    ///
    /// # Errors
    ///
    /// [`SpecError`] naming the selector that is invalid for the format: a JSON pointer not
    /// starting with `/`, an unknown combined-log field, a dimension or time on the text
    /// format, an invalid regular expression.
    pub fn new(spec: &FormatSpec) -> Result<Self, SpecError> {
        let names = [Some(spec.item.clone()), spec.dimension.clone(), spec.time.clone()];

        let kind = match spec.format {
            Format::Ndjson => Kind::Json(json::Pointers::parse(&names, spec.strict)?),
            Format::Csv => Kind::Delimited(delimited::Delimited::csv(b',', true, &names)),
            Format::Tsv => Kind::Delimited(delimited::Delimited::csv(b'\t', false, &names)),
            Format::Zeek => Kind::Delimited(delimited::Delimited::zeek(&names)),
            Format::Combined => Kind::Combined(combined::Selection::parse(&names)?),
            Format::Text => {
                if spec.dimension.is_some() || spec.time.is_some() {
                    return Err(SpecError::new(
                        "the text format has no fields: remove the dimension and time selectors, or use another format",
                    ));
                }
                Kind::Text(text::Tokenizer::new(spec.tokenize.as_deref().unwrap_or(DEFAULT_TOKEN_PATTERN))?)
            }
        };
        if spec.tokenize.is_some() && spec.format != Format::Text {
            return Err(SpecError::new(format!("a tokenizer applies only to the text format, not to {}", spec.format)));
        }

        let skip_lines = match &spec.skip_lines {
            Some(pattern) => Some(
                regex::bytes::Regex::new(pattern)
                    .map_err(|error| SpecError::new(format!("invalid skip-lines regular expression `{pattern}`: {error}")))?,
            ),
            None => None,
        };

        Ok(Extractor {
            kind,
            skip_lines,
            names,
            time_format: spec.time_format,
            skip_values: spec.skip_values.clone(),
            lowercase: spec.lowercase,
        })
    }

    /// Returns true while the source's header has not been read (the first line of CSV and
    /// TSV, the `#` lines up to `#fields` of Zeek).
    pub fn needs_header(&self) -> bool {
        match &self.kind {
            Kind::Delimited(delimited) => !delimited.has_header(),
            _ => false,
        }
    }

    /// Reads one header line; call it while [`needs_header`](Self::needs_header) is true.
    ///
    /// # Errors
    ///
    /// [`SpecError`] when the header lacks a selected column (naming the columns it has), or
    /// a Zeek header line is not a directive.
    pub fn read_header(&mut self, line: &[u8]) -> Result<(), SpecError> {
        match &mut self.kind {
            Kind::Delimited(delimited) => delimited.read_header(line),
            _ => Ok(()),
        }
    }

    /// Extracts the events of one line (without its line terminator) and passes each to `sink`.
    ///
    /// # Errors
    ///
    /// [`BadLine`] when the line is malformed, a text value is not UTF-8, a selected field is
    /// missing or the time is invalid. Nothing is passed to `sink` then.
    pub fn extract<F>(&self, line: &[u8], scratch: &mut Scratch, mut sink: F) -> Result<Outcome, BadLine>
    where
        F: FnMut(Event<'_>),
    {
        if self.skip_lines.as_ref().is_some_and(|pattern| pattern.is_match(line)) {
            return Ok(Outcome::Skipped);
        }

        let fields = match &self.kind {
            Kind::Text(tokenizer) => return self.extract_tokens(tokenizer, line, scratch, &mut sink),
            Kind::Json(pointers) => pointers.extract(line, &mut scratch.fields)?,
            Kind::Delimited(delimited) => {
                if delimited.is_comment(line) {
                    return Ok(Outcome::Comment);
                }
                delimited.extract(line, &mut scratch.fields)?
            }
            Kind::Combined(selection) => selection.extract(line)?,
        };
        let Scratch { fields: buffers, lowered } = scratch;

        let time_ms = match self.resolve(fields, TIME, line, buffers)? {
            Some(value) => Some(self.time_format.parse_ms(value)?),
            None => None,
        };
        let dimension = self.resolve(fields, DIMENSION, line, buffers)?;
        let Some(mut item) = self.resolve_item(fields, line, buffers) else {
            return Ok(Outcome::Skipped);
        };
        if self.lowercase {
            lowered.clear();
            lowered.extend(item.iter().map(u8::to_ascii_lowercase));
            item = lowered;
        }
        if self.is_skip_value(item) {
            return Ok(Outcome::Skipped);
        }

        sink(Event { item, dimension, time_ms });
        Ok(Outcome::Events(1))
    }

    fn extract_tokens<F>(&self, tokenizer: &text::Tokenizer, line: &[u8], scratch: &mut Scratch, sink: &mut F) -> Result<Outcome, BadLine>
    where
        F: FnMut(Event<'_>),
    {
        let mut events = 0;
        tokenizer.tokens(line, self.lowercase, &mut scratch.lowered, |token| {
            if !self.is_skip_value(token) {
                sink(Event { item: token, dimension: None, time_ms: None });
                events += 1;
            }
        })?;
        Ok(Outcome::Events(events))
    }

    fn is_skip_value(&self, item: &[u8]) -> bool {
        !self.skip_values.is_empty() && self.skip_values.iter().any(|value| value == item)
    }

    /// Returns the item's bytes, or `None` when it has no value (null, unset).
    fn resolve_item<'a>(&self, fields: Fields, line: &'a [u8], buffers: &'a [Vec<u8>; 3]) -> Option<&'a [u8]> {
        match fields[ITEM] {
            Some(Field::Line(start, end)) => Some(&line[start..end]),
            Some(Field::Scratch) => Some(&buffers[ITEM]),
            Some(Field::Absent) | None => None,
        }
    }

    /// Returns a dimension or time value; a null or unset value is a missing field.
    fn resolve<'a>(&self, fields: Fields, slot: usize, line: &'a [u8], buffers: &'a [Vec<u8>; 3]) -> Result<Option<&'a [u8]>, BadLine> {
        match fields[slot] {
            None => Ok(None),
            Some(Field::Line(start, end)) => Ok(Some(&line[start..end])),
            Some(Field::Scratch) => Ok(Some(&buffers[slot])),
            Some(Field::Absent) => {
                let name = self.names[slot].as_deref().unwrap_or_default();
                Err(BadLine::new(Reason::MissingField, format!("field `{name}` is null or unset")))
            }
        }
    }
}
