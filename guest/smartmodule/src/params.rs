//! The SmartModule's parameters (`-e key=value` or `with:` in a transforms file), parsed and checked.

use std::collections::BTreeMap;

use regex::Regex;
use topk_sketch::Config;

/// Every parameter name the module accepts, in the order the documentation lists them.
pub const PARAMETER_NAMES: [&str; 14] = [
    "format",
    "item",
    "regex",
    "dimension",
    "event_time",
    "event_time_unit",
    "capacity",
    "pane_size",
    "allowed_lateness",
    "emit_every",
    "emit_on_pane_close",
    "max_open_summaries",
    "source",
    "skip_counted",
];

/// Largest sketch capacity the module accepts. At full size a map slot takes 40 bytes on wasm32
/// (16 for hash and count, 24 for the inline item), so one such summary fills 40 MiB.
const MAX_CAPACITY: u32 = 1 << 20;

/// Largest number of summaries kept open at once.
const MAX_OPEN_SUMMARIES: usize = 4096;

/// Describes a parameter that is missing or has a value the module does not accept.
///
/// The message names the parameter, the value and what the parameter accepts, so Fluvio can show
/// it as it is when `init` fails.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use topk_smartmodule::params::Params;
///
/// let raw = BTreeMap::from([
///     ("item".to_string(), "/host".to_string()),
///     ("capacity".to_string(), "1000".to_string()),
/// ]);
/// let error = Params::parse(&raw).unwrap_err();
/// assert!(error.to_string().contains("capacity"));
/// assert!(error.to_string().contains("power of two"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// A parameter has a value outside what it accepts.
    #[error("invalid parameter {name}={value:?}: {accepted}")]
    Invalid {
        /// Name of the parameter.
        name: &'static str,
        /// The rejected value.
        value: String,
        /// The accepted values, as text.
        accepted: String,
    },

    /// A parameter that the chosen format needs was not given.
    #[error("missing parameter {name}: {accepted}")]
    Missing {
        /// Name of the parameter.
        name: &'static str,
        /// The accepted values, as text.
        accepted: String,
    },

    /// A parameter name the module does not know, most likely a typo.
    #[error("unknown parameter {name:?}: accepted parameters are {}", PARAMETER_NAMES.join(", "))]
    Unknown {
        /// The name given.
        name: String,
    },
}

/// Record format: the source of the item, the optional dimension value and the optional event
/// time within a record's value.
#[derive(Debug, Clone)]
pub enum RecordFormat {
    /// The value is a JSON document; each field is found by an RFC 6901 JSON pointer.
    Json {
        /// Pointer to the item, for example `/host`.
        item: String,
        /// Pointer to the dimension value, if the summaries are split by dimension.
        dimension: Option<String>,
        /// Pointer to the event time, if the record timestamp is not the event time.
        event_time: Option<String>,
    },
    /// The value is UTF-8 text matched by a regular expression. The item is the capture group
    /// named `item`, or group 1 when no group has that name. The optional groups named
    /// `dimension` and `time` give the dimension value and the event time.
    Text {
        /// The compiled expression.
        regex: Regex,
    },
}

impl RecordFormat {
    /// Returns the dimension's name as snapshots record it (the pointer or the group name).
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_smartmodule::params::RecordFormat;
    ///
    /// let format = RecordFormat::Json { item: "/url".into(), dimension: Some("/status".into()), event_time: None };
    /// assert_eq!(format.dimension_name(), Some("/status"));
    /// ```
    pub fn dimension_name(&self) -> Option<&str> {
        match self {
            RecordFormat::Json { dimension, .. } => dimension.as_deref(),
            RecordFormat::Text { regex } => regex
                .capture_names()
                .flatten()
                .find(|name| *name == "dimension"),
        }
    }
}

/// Unit of a numeric event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds since the Unix epoch (fractions allowed).
    Seconds,
    /// Milliseconds since the Unix epoch.
    Milliseconds,
}

/// The checked parameters of one SmartModule instance.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use topk_smartmodule::params::Params;
///
/// let raw = BTreeMap::from([("item".to_string(), "/host".to_string())]);
/// let params = Params::parse(&raw).unwrap();
/// assert_eq!(params.pane_size_ms, 60_000);
/// assert!(params.emit_on_pane_close);
/// ```
#[derive(Debug, Clone)]
pub struct Params {
    /// Record format: the source of the item, dimension value and event time.
    pub format: RecordFormat,
    /// Unit of numeric event times.
    pub event_time_unit: TimeUnit,
    /// Sketch parameters of every summary; `capacity` sets the map size.
    pub sketch: Config,
    /// Pane length in milliseconds; 0 keeps one summary with no window.
    pub pane_size_ms: i64,
    /// How long after its end a pane still takes events before it closes, in milliseconds.
    pub allowed_lateness_ms: i64,
    /// Emit after this many records since the last emission; 0 disables the count.
    pub emit_every: u64,
    /// Emit whenever a pane closes.
    pub emit_on_pane_close: bool,
    /// Most (pane, dimension value) summaries open at once; one more forces an emission first.
    pub max_open_summaries: usize,
    /// Name of the partition in the snapshots' source ranges.
    pub source: String,
    /// After `look_back`, skip records whose offset is below the end offset of the last snapshot.
    pub skip_counted: bool,
}

impl Params {
    /// Parses and checks the raw `key=value` parameters.
    ///
    /// # Errors
    ///
    /// [`ParamError::Unknown`] for a name not in [`PARAMETER_NAMES`], [`ParamError::Missing`]
    /// when the format's item source is absent, and [`ParamError::Invalid`] naming the first
    /// value the module does not accept together with the accepted values.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use topk_smartmodule::params::Params;
    ///
    /// let raw = BTreeMap::from([
    ///     ("format".to_string(), "text".to_string()),
    ///     ("regex".to_string(), r"^(?P<item>\S+) ".to_string()),
    /// ]);
    /// assert!(Params::parse(&raw).is_ok());
    /// ```
    pub fn parse(raw: &BTreeMap<String, String>) -> Result<Params, ParamError> {
        if let Some(name) = raw
            .keys()
            .find(|name| !PARAMETER_NAMES.contains(&name.as_str()))
        {
            return Err(ParamError::Unknown { name: name.clone() });
        }
        let get = |name: &str| raw.get(name).map(|value| value.trim());

        let format = parse_format(
            get("format"),
            get("item"),
            get("regex"),
            get("dimension"),
            get("event_time"),
        )?;
        let event_time_unit = match get("event_time_unit").unwrap_or("ms") {
            "s" => TimeUnit::Seconds,
            "ms" => TimeUnit::Milliseconds,
            other => {
                return Err(invalid(
                    "event_time_unit",
                    other,
                    "s (seconds since the Unix epoch) or ms (milliseconds)",
                ))
            }
        };

        let capacity = parse_capacity(get("capacity"))?;
        let sketch = Config {
            max_map_size: capacity,
            ..Config::default()
        };

        let pane_size_ms = parse_duration("pane_size", get("pane_size").unwrap_or("1m"))?;
        let allowed_lateness_ms =
            parse_duration("allowed_lateness", get("allowed_lateness").unwrap_or("0s"))?;

        let emit_every = match get("emit_every") {
            None => 0,
            Some(text) => text.parse::<u64>().map_err(|_| {
                invalid(
                    "emit_every",
                    text,
                    "a whole number of records, 0 to turn the count off",
                )
            })?,
        };
        let emit_on_pane_close = parse_bool(
            "emit_on_pane_close",
            get("emit_on_pane_close"),
            pane_size_ms > 0,
        )?;
        if emit_on_pane_close && pane_size_ms == 0 {
            return Err(invalid(
                "emit_on_pane_close",
                "true",
                "false when pane_size is 0, because no pane ever closes then",
            ));
        }
        if !emit_on_pane_close && emit_every == 0 {
            return Err(invalid(
                "emit_every",
                "0",
                "a number of records above 0 when emit_on_pane_close is false, or the module never emits",
            ));
        }

        let max_open_summaries = match get("max_open_summaries") {
            None => 64,
            Some(text) => match text.parse::<usize>() {
                Ok(count @ 1..=MAX_OPEN_SUMMARIES) => count,
                _ => {
                    return Err(invalid(
                        "max_open_summaries",
                        text,
                        format!("a whole number from 1 to {MAX_OPEN_SUMMARIES}"),
                    ))
                }
            },
        };

        let source = get("source").unwrap_or("fluvio").to_string();
        if source.is_empty() || source.len() > 255 {
            return Err(invalid(
                "source",
                &source,
                "a name of 1 to 255 bytes, for example events/0",
            ));
        }
        let skip_counted = parse_bool("skip_counted", get("skip_counted"), false)?;

        Ok(Params {
            format,
            event_time_unit,
            sketch,
            pane_size_ms,
            allowed_lateness_ms,
            emit_every,
            emit_on_pane_close,
            max_open_summaries,
            source,
            skip_counted,
        })
    }
}

fn invalid(name: &'static str, value: &str, accepted: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name,
        value: value.to_string(),
        accepted: accepted.into(),
    }
}

fn parse_format(
    format: Option<&str>,
    item: Option<&str>,
    regex: Option<&str>,
    dimension: Option<&str>,
    event_time: Option<&str>,
) -> Result<RecordFormat, ParamError> {
    match format.unwrap_or("json") {
        "json" => {
            if regex.is_some() {
                return Err(invalid("regex", regex.unwrap_or_default(), "only with format=text; JSON records use item, dimension and event_time pointers"));
            }
            let item = item.ok_or(ParamError::Missing {
                name: "item",
                accepted: "a JSON pointer to the counted field, for example /host".into(),
            })?;
            Ok(RecordFormat::Json {
                item: parse_pointer("item", item)?,
                dimension: dimension
                    .map(|pointer| parse_pointer("dimension", pointer))
                    .transpose()?,
                event_time: event_time
                    .map(|pointer| parse_pointer("event_time", pointer))
                    .transpose()?,
            })
        }
        "text" => {
            for (name, value) in [
                ("item", item),
                ("dimension", dimension),
                ("event_time", event_time),
            ] {
                if let Some(value) = value {
                    return Err(invalid(name, value, "only with format=json; with format=text name a capture group item, dimension or time in regex"));
                }
            }
            let pattern = regex.ok_or(ParamError::Missing {
                name: "regex",
                accepted: "a regular expression whose group named item (or group 1) captures the counted field".into(),
            })?;
            let regex = Regex::new(pattern).map_err(|error| {
                invalid(
                    "regex",
                    pattern,
                    format!("a valid regular expression ({error})"),
                )
            })?;
            if regex.captures_len() < 2 {
                return Err(invalid(
                    "regex",
                    pattern,
                    "a regular expression with at least one capture group for the item",
                ));
            }
            Ok(RecordFormat::Text { regex })
        }
        other => Err(invalid("format", other, "json or text")),
    }
}

fn parse_pointer(name: &'static str, pointer: &str) -> Result<String, ParamError> {
    if !pointer.starts_with('/') {
        return Err(invalid(
            name,
            pointer,
            "a JSON pointer (RFC 6901) that starts with /, for example /host",
        ));
    }
    Ok(pointer.to_string())
}

fn parse_capacity(text: Option<&str>) -> Result<u32, ParamError> {
    let Some(text) = text else {
        return Ok(Config::default().max_map_size);
    };
    match text.parse::<u32>() {
        Ok(capacity) if capacity.is_power_of_two() && (8..=MAX_CAPACITY).contains(&capacity) => {
            Ok(capacity)
        }
        _ => Err(invalid(
            "capacity",
            text,
            format!("a power of two from 8 to {MAX_CAPACITY} (the sketch's map size)"),
        )),
    }
}

fn parse_bool(name: &'static str, text: Option<&str>, default: bool) -> Result<bool, ParamError> {
    match text {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(other) => Err(invalid(name, other, "true or false")),
    }
}

/// Parses a duration such as `500ms`, `30s`, `1m`, `2h` or `0` into milliseconds.
fn parse_duration(name: &'static str, text: &str) -> Result<i64, ParamError> {
    let accepted = "a whole number followed by ms, s, m or h (for example 1m), or 0";
    if text == "0" {
        return Ok(0);
    }
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().map_err(|_| invalid(name, text, accepted))?;
    let scale = match unit {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(invalid(name, text, accepted)),
    };
    // One year bounds both durations, so window arithmetic on i64 milliseconds cannot overflow.
    match number.checked_mul(scale) {
        Some(ms) if ms <= 366 * 24 * 3_600_000 => Ok(ms),
        _ => Err(invalid(name, text, "at most 366 days")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Params, ParamError> {
        let raw = pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        Params::parse(&raw)
    }

    #[test]
    fn defaults_apply() {
        let params = parse(&[("item", "/host")]).unwrap();
        assert_eq!(params.sketch.max_map_size, 1024);
        assert_eq!(params.pane_size_ms, 60_000);
        assert_eq!(params.allowed_lateness_ms, 0);
        assert_eq!(params.emit_every, 0);
        assert_eq!(params.max_open_summaries, 64);
        assert_eq!(params.source, "fluvio");
        assert!(!params.skip_counted);
        assert_eq!(params.event_time_unit, TimeUnit::Milliseconds);
    }

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("pane_size", "500ms"), Ok(500));
        assert_eq!(parse_duration("pane_size", "30s"), Ok(30_000));
        assert_eq!(parse_duration("pane_size", "2h"), Ok(7_200_000));
        assert!(parse_duration("pane_size", "1d").is_err());
        assert!(parse_duration("pane_size", "-1s").is_err());
        assert!(parse_duration("pane_size", "9999999h").is_err());
    }

    #[test]
    fn text_format_needs_group() {
        let error = parse(&[("format", "text"), ("regex", r"\S+")]).unwrap_err();
        assert!(error.to_string().contains("capture group"), "{error}");
    }

    #[test]
    fn text_format_dimension_group() {
        let params = parse(&[
            ("format", "text"),
            ("regex", r"(?P<item>\S+) (?P<dimension>\d+)"),
        ])
        .unwrap();
        assert_eq!(params.format.dimension_name(), Some("dimension"));
    }

    #[test]
    fn no_panes_need_count() {
        let error = parse(&[("item", "/a"), ("pane_size", "0")]).unwrap_err();
        assert!(error.to_string().contains("emit_every"), "{error}");
        let params = parse(&[("item", "/a"), ("pane_size", "0"), ("emit_every", "10")]).unwrap();
        assert!(!params.emit_on_pane_close);
    }
}
