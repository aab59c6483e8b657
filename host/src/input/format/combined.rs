//! The Apache/Nginx combined access log:
//! `ip ident user [time] "method path protocol" status bytes "referrer" "user agent"`.
//! The common log format (without referrer and user agent) reads too, as long as those two
//! fields are not selected.

use memchr::{memchr, memchr2, memrchr};

use super::{Field, Fields};
use crate::input::error::{BadLine, SpecError};

/// A named field of a combined-log line, in line order.
///
/// # Examples
///
/// ```
/// use topk_host::input::CombinedField;
///
/// assert_eq!(CombinedField::from_name("user_agent"), Some(CombinedField::UserAgent));
/// assert_eq!(CombinedField::from_name("url"), Some(CombinedField::Path));
/// assert_eq!(CombinedField::from_name("cookie"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CombinedField {
    /// Client address (`%h`).
    Ip,
    /// RFC 1413 identity (`%l`), usually `-`.
    Ident,
    /// Authenticated user (`%u`), usually `-`.
    User,
    /// Request time without brackets, `17/May/2015:10:05:03 +0000`.
    Time,
    /// The whole request line, `GET /index.html HTTP/1.1`.
    Request,
    /// The request method, `GET`.
    Method,
    /// The request path, `/index.html`.
    Path,
    /// The protocol, `HTTP/1.1`.
    Protocol,
    /// The response status, `200`.
    Status,
    /// Response size in bytes, or `-`.
    Bytes,
    /// The `Referer` header.
    Referrer,
    /// The `User-Agent` header.
    UserAgent,
}

impl CombinedField {
    /// Every field name the format accepts (aliases included).
    pub const NAMES: &'static str = "ip (host), ident, user, time, request, method, path (url), protocol, status, bytes (size), referrer (referer), user_agent (agent)";

    /// Looks up a field by name or alias.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "ip" | "host" | "client_ip" => CombinedField::Ip,
            "ident" => CombinedField::Ident,
            "user" => CombinedField::User,
            "time" | "timestamp" => CombinedField::Time,
            "request" => CombinedField::Request,
            "method" => CombinedField::Method,
            "path" | "url" => CombinedField::Path,
            "protocol" => CombinedField::Protocol,
            "status" => CombinedField::Status,
            "bytes" | "size" => CombinedField::Bytes,
            "referrer" | "referer" => CombinedField::Referrer,
            "user_agent" | "agent" | "useragent" => CombinedField::UserAgent,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Selection {
    fields: [Option<CombinedField>; 3],
    names: [String; 3],
    /// Optional ranges the line parser finds for this selection. The line's shape is checked
    /// either way.
    optional: OptionalSpans,
}

/// Field ranges that cost work beyond checking a line's shape, so they are found only when
/// selected.
#[derive(Debug, Clone, Copy, Default)]
struct OptionalSpans {
    /// Method, path or protocol: the request is split at its spaces.
    request_parts: bool,
    /// The user agent: its closing quote is searched for.
    user_agent: bool,
}

impl Selection {
    pub(crate) fn parse(selectors: &[Option<String>; 3]) -> Result<Self, SpecError> {
        let mut fields = [None; 3];
        let mut names: [String; 3] = Default::default();
        for (slot, selector) in selectors.iter().enumerate() {
            let Some(selector) = selector else { continue };
            let field = CombinedField::from_name(selector).ok_or_else(|| {
                SpecError::new(format!("unknown combined-log field `{selector}`; the fields are: {}", CombinedField::NAMES))
            })?;
            fields[slot] = Some(field);
            names[slot] = selector.clone();
        }
        let selected = |candidates: &[CombinedField]| fields.iter().flatten().any(|field| candidates.contains(field));
        let optional = OptionalSpans {
            request_parts: selected(&[CombinedField::Method, CombinedField::Path, CombinedField::Protocol]),
            user_agent: selected(&[CombinedField::UserAgent]),
        };
        Ok(Selection { fields, names, optional })
    }

    pub(crate) fn extract(&self, line: &[u8]) -> Result<Fields, BadLine> {
        let mut spans = [None::<(usize, usize)>; 12];
        parse_line(line, self.optional, &mut spans)?;

        let mut fields: Fields = [None; 3];
        for (slot, (field, name)) in self.fields.iter().zip(&self.names).enumerate() {
            let Some(field) = field else { continue };
            match spans[*field as usize] {
                Some((start, end)) => fields[slot] = Some(Field::Line(start, end)),
                None => return Err(BadLine::missing(name)),
            }
        }
        Ok(fields)
    }
}

fn malformed(problem: &str, at: usize) -> BadLine {
    BadLine::malformed(format!("not a combined-log line: {problem} at byte {at}"))
}

/// Checks that `line` has the shape of a combined-log line (or of a common-log line, which ends
/// after the size) and stores the range of each field. The whole line is checked whichever
/// field is selected, so a line is counted or rejected the same way for every selection. A
/// field the line lacks stays `None`, such as the method and path of a request written as `-`.
/// Text after the user agent is accepted, because servers often append fields there, and so is
/// a user agent without its closing quote at the end of the line.
fn parse_line(line: &[u8], optional: OptionalSpans, spans: &mut [Option<(usize, usize)>; 12]) -> Result<(), BadLine> {
    let set = |spans: &mut [Option<(usize, usize)>; 12], field: CombinedField, start: usize, end: usize| {
        spans[field as usize] = Some((start, end));
    };

    // ip ident user: three non-empty space-separated tokens.
    let mut pos = 0;
    for field in [CombinedField::Ip, CombinedField::Ident, CombinedField::User] {
        let end = pos + memchr(b' ', &line[pos..]).ok_or_else(|| malformed("missing space after the client fields", pos))?;
        if end == pos {
            return Err(malformed("empty client field", pos));
        }
        set(spans, field, pos, end);
        pos = end + 1;
    }

    // [time]
    if line.get(pos) != Some(&b'[') {
        return Err(malformed("expected `[` before the time", pos));
    }
    let close = pos + memchr(b']', &line[pos..]).ok_or_else(|| malformed("missing `]` after the time", pos))?;
    set(spans, CombinedField::Time, pos + 1, close);
    pos = close + 1;

    // "request"
    if line.get(pos) != Some(&b' ') || line.get(pos + 1) != Some(&b'"') {
        return Err(malformed("expected ` \"` before the request", pos));
    }
    let (start, end) = quoted(line, pos + 1)?;
    set(spans, CombinedField::Request, start, end);
    if optional.request_parts {
        split_request(line, start, end, spans);
    }
    pos = end + 1;

    // status bytes: three digits, then digits or `-` (Apache's `%b` writes `-` for no body).
    for field in [CombinedField::Status, CombinedField::Bytes] {
        if line.get(pos) != Some(&b' ') {
            return Err(malformed("expected a space before the status and size", pos));
        }
        pos += 1;
        let end = memchr(b' ', &line[pos..]).map_or(line.len(), |offset| pos + offset);
        let value = &line[pos..end];
        let valid = match field {
            CombinedField::Status => value.len() == 3 && value.iter().all(u8::is_ascii_digit),
            _ => value == b"-" || (!value.is_empty() && value.iter().all(u8::is_ascii_digit)),
        };
        if !valid {
            let problem = if field == CombinedField::Status { "the status is not three digits" } else { "the size is neither digits nor `-`" };
            return Err(malformed(problem, pos));
        }
        set(spans, field, pos, end);
        pos = end;
    }

    // "referrer" "user agent": absent in the common log format.
    for field in [CombinedField::Referrer, CombinedField::UserAgent] {
        if pos >= line.len() {
            return Ok(());
        }
        if line.get(pos) != Some(&b' ') || line.get(pos + 1) != Some(&b'"') {
            return Err(malformed("expected ` \"` before the referrer and user agent", pos));
        }
        if field == CombinedField::UserAgent {
            // The user agent is the last field checked and may be cut off with the line (seen
            // in real logs), so its closing quote is optional and searched for only when the
            // field is selected. A cut-off user agent is everything after the opening quote.
            if optional.user_agent {
                let (start, end) = quoted(line, pos + 1).unwrap_or((pos + 2, line.len()));
                set(spans, field, start, end);
            }
            return Ok(());
        }
        let (start, end) = quoted(line, pos + 1)?;
        set(spans, field, start, end);
        pos = end + 1;
    }
    Ok(())
}

/// Returns the content range of the quoted string whose opening quote is at `open`. Apache
/// escapes `"` and `\` inside it with a backslash, and the range keeps those escapes.
fn quoted(line: &[u8], open: usize) -> Result<(usize, usize), BadLine> {
    let start = open + 1;
    let mut pos = start;
    loop {
        match memchr2(b'"', b'\\', &line[pos.min(line.len())..]) {
            Some(offset) if line[pos + offset] == b'"' => return Ok((start, pos + offset)),
            Some(offset) => pos += offset + 2,
            None => return Err(malformed("unterminated quoted field", open)),
        }
    }
}

/// Splits `method path protocol`. The path is everything between the first and the last
/// space, so a path with spaces stays whole. A request without spaces (`-`) has neither method
/// nor path.
fn split_request(line: &[u8], start: usize, end: usize, spans: &mut [Option<(usize, usize)>; 12]) {
    let request = &line[start..end];
    let Some(first) = memchr(b' ', request) else { return };
    spans[CombinedField::Method as usize] = Some((start, start + first));

    let rest = &request[first + 1..];
    match memrchr(b' ', rest) {
        Some(last) if rest[last + 1..].starts_with(b"HTTP/") => {
            spans[CombinedField::Path as usize] = Some((start + first + 1, start + first + 1 + last));
            spans[CombinedField::Protocol as usize] = Some((start + first + 1 + last + 1, end));
        }
        _ => spans[CombinedField::Path as usize] = Some((start + first + 1, end)),
    }
}
