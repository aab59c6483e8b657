//! Turns one record value into the event the counter needs: item, dimension value, event time.

use std::borrow::Cow;

use crate::json::{scalar, Document, Scalar};

use crate::params::{RecordFormat, TimeUnit};

/// The fields of one parsed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<'a> {
    /// The counted item, as bytes.
    pub item: Cow<'a, [u8]>,
    /// The dimension value, when the module splits summaries by dimension.
    pub dimension: Option<Cow<'a, [u8]>>,
    /// Event time in milliseconds since the Unix epoch, when the record carries one.
    pub time_ms: Option<i64>,
}

/// Explains why a record was counted as malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// The value is not a JSON document.
    #[error("record value is not valid JSON")]
    NotJson,
    /// The value is not UTF-8 text, which the regular expression needs.
    #[error("record value is not UTF-8 text")]
    NotText,
    /// The regular expression did not match, or its item group captured nothing.
    #[error("record value does not match the regex")]
    NoMatch,
    /// A field the parameters point to is missing, null, an array or an object.
    #[error("field {0} is missing or not a string, number or boolean")]
    MissingField(String),
    /// The event time is not a number of the configured unit within the supported range.
    #[error("event time {0:?} is not a number of seconds or milliseconds since the Unix epoch")]
    BadTime(String),
    /// No `event_time` field is configured and the record has no Fluvio timestamp (-1).
    #[error(
        "record has no timestamp; set the event_time parameter to read the time from the record"
    )]
    NoTimestamp,
    /// Counting the record would push the summary's total count past `u64::MAX`.
    #[error("the summary's total count would overflow")]
    CountOverflow,
}

/// Extracts the event from a record value according to `format`.
///
/// # Errors
///
/// [`Malformed`] when the value does not parse, the expression does not match, or a field the
/// parameters point to is missing or has the wrong type.
///
/// # Examples
///
/// ```
/// use topk_smartmodule::extract::extract;
/// use topk_smartmodule::params::{RecordFormat, TimeUnit};
///
/// let format = RecordFormat::Json { item: "/host".into(), dimension: None, event_time: Some("/time".into()) };
/// let event = extract(&format, TimeUnit::Seconds, br#"{"host":"a.example","time":807256800}"#).unwrap();
/// assert_eq!(&*event.item, b"a.example");
/// assert_eq!(event.time_ms, Some(807_256_800_000));
/// ```
pub fn extract<'a>(
    format: &RecordFormat,
    unit: TimeUnit,
    value: &'a [u8],
) -> Result<Event<'a>, Malformed> {
    match format {
        RecordFormat::Json {
            item,
            dimension,
            event_time,
        } => {
            let document = Document::parse(value).ok_or(Malformed::NotJson)?;

            let item = scalar_bytes(&document, item)?;
            let dimension = dimension
                .as_ref()
                .map(|pointer| scalar_bytes(&document, pointer))
                .transpose()?;
            let time_ms = match event_time {
                Some(pointer) => Some(json_time(&document, pointer, unit)?),
                None => None,
            };
            Ok(Event {
                item,
                dimension,
                time_ms,
            })
        }
        RecordFormat::Text { regex } => {
            let text = std::str::from_utf8(value).map_err(|_| Malformed::NotText)?;
            let captures = regex.captures(text).ok_or(Malformed::NoMatch)?;

            let item = captures
                .name("item")
                .or_else(|| captures.get(1))
                .ok_or(Malformed::NoMatch)?;
            let dimension = captures
                .name("dimension")
                .map(|found| Cow::Borrowed(found.as_str().as_bytes()));
            let time_ms = match captures.name("time") {
                Some(found) => Some(parse_time(found.as_str(), unit)?),
                None => None,
            };
            Ok(Event {
                item: Cow::Borrowed(item.as_str().as_bytes()),
                dimension,
                time_ms,
            })
        }
    }
}

/// Returns the event time of a record that [`extract`] rejected, when it has a valid one.
///
/// A record with a valid event time but no item (a heartbeat such as `{"time": 807260400}`) is
/// not counted, but its time still moves the watermark, so panes of an idle partition close.
///
/// # Examples
///
/// ```
/// use topk_smartmodule::extract::event_time;
/// use topk_smartmodule::params::{RecordFormat, TimeUnit};
///
/// let format = RecordFormat::Json { item: "/host".into(), dimension: None, event_time: Some("/time".into()) };
/// assert_eq!(event_time(&format, TimeUnit::Seconds, br#"{"time":2}"#), Some(2_000));
/// ```
pub fn event_time(format: &RecordFormat, unit: TimeUnit, value: &[u8]) -> Option<i64> {
    match format {
        RecordFormat::Json {
            event_time: Some(pointer),
            ..
        } => {
            let document = Document::parse(value)?;
            json_time(&document, pointer, unit).ok()
        }
        RecordFormat::Text { regex } => {
            let text = std::str::from_utf8(value).ok()?;
            let found = regex.captures(text)?.name("time")?;
            parse_time(found.as_str(), unit).ok()
        }
        RecordFormat::Json {
            event_time: None, ..
        } => None,
    }
}

/// Returns a string field's bytes, or the JSON text of a number or boolean as written.
fn scalar_bytes<'a>(document: &Document<'a>, pointer: &str) -> Result<Cow<'a, [u8]>, Malformed> {
    match document.pointer(pointer).and_then(scalar) {
        Some(Scalar::String(Cow::Borrowed(text))) => Ok(Cow::Borrowed(text.as_bytes())),
        Some(Scalar::String(Cow::Owned(text))) => Ok(Cow::Owned(text.into_bytes())),
        Some(Scalar::Literal(text)) => Ok(Cow::Borrowed(text.as_bytes())),
        None => Err(Malformed::MissingField(pointer.to_string())),
    }
}

fn json_time(document: &Document<'_>, pointer: &str, unit: TimeUnit) -> Result<i64, Malformed> {
    match document.pointer(pointer).and_then(scalar) {
        Some(Scalar::Literal(text)) => parse_time(text, unit),
        Some(Scalar::String(text)) => parse_time(&text, unit),
        None => Err(Malformed::MissingField(pointer.to_string())),
    }
}

fn parse_time(text: &str, unit: TimeUnit) -> Result<i64, Malformed> {
    text.trim()
        .parse::<f64>()
        .ok()
        .and_then(|value| scale_time(value, unit))
        .ok_or_else(|| Malformed::BadTime(text.to_string()))
}

/// Converts to milliseconds, rejecting values outside ±10^15 ms (about 31,000 years), which
/// keeps pane arithmetic far from i64 overflow.
fn scale_time(value: f64, unit: TimeUnit) -> Option<i64> {
    let ms = match unit {
        TimeUnit::Seconds => value * 1_000.0,
        TimeUnit::Milliseconds => value,
    };
    (ms.is_finite() && ms.abs() <= 1e15).then(|| ms.floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(item: &str, dimension: Option<&str>, time: Option<&str>) -> RecordFormat {
        RecordFormat::Json {
            item: item.into(),
            dimension: dimension.map(Into::into),
            event_time: time.map(Into::into),
        }
    }

    #[test]
    fn json_number_item() {
        let event = extract(
            &json("/status", None, None),
            TimeUnit::Milliseconds,
            br#"{"status":404}"#,
        )
        .unwrap();
        assert_eq!(&*event.item, b"404");
    }

    #[test]
    fn json_nested_pointer() {
        let format = json("/request/url", Some("/status"), Some("/ts"));
        let event = extract(
            &format,
            TimeUnit::Milliseconds,
            br#"{"request":{"url":"/a"},"status":"200","ts":"1500"}"#,
        )
        .unwrap();
        assert_eq!(&*event.item, b"/a");
        assert_eq!(event.dimension.as_deref(), Some(&b"200"[..]));
        assert_eq!(event.time_ms, Some(1500));
    }

    #[test]
    fn json_missing_field() {
        let error = extract(
            &json("/host", None, None),
            TimeUnit::Milliseconds,
            br#"{"ip":"x"}"#,
        )
        .unwrap_err();
        assert_eq!(error, Malformed::MissingField("/host".into()));
    }

    #[test]
    fn json_bad_time() {
        let error = extract(
            &json("/a", None, Some("/t")),
            TimeUnit::Seconds,
            br#"{"a":"x","t":"soon"}"#,
        )
        .unwrap_err();
        assert_eq!(error, Malformed::BadTime("soon".into()));
    }

    #[test]
    fn json_invalid() {
        assert_eq!(
            extract(&json("/a", None, None), TimeUnit::Seconds, b"{not json").unwrap_err(),
            Malformed::NotJson
        );
    }

    #[test]
    fn text_groups() {
        let regex =
            regex::Regex::new(r"^(?P<item>\S+) (?P<time>\d+) (?P<dimension>\d{3})$").unwrap();
        let format = RecordFormat::Text { regex };
        let event = extract(&format, TimeUnit::Seconds, b"host.example 12 404").unwrap();
        assert_eq!(&*event.item, b"host.example");
        assert_eq!(event.time_ms, Some(12_000));
        assert_eq!(event.dimension.as_deref(), Some(&b"404"[..]));
        assert_eq!(
            extract(&format, TimeUnit::Seconds, b"no match").unwrap_err(),
            Malformed::NoMatch
        );
    }
}
