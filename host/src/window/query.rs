//! The `window` query parameter: named relative windows, tumbling and sliding windows, and an
//! explicit `start`/`end`.

use super::{floor_to, DAY_MS, HOUR_MS};

/// A query window as requested, before it is resolved against the data's newest event time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSpec {
    /// Everything retained.
    All,
    /// The hour before the end of the newest pane.
    LastHour,
    /// The day before the end of the newest pane.
    LastDay,
    /// The week before the end of the newest pane.
    LastWeek,
    /// The aligned window of `size_ms` that contains `at` (default: the newest event).
    Tumbling {
        /// Window length in ms.
        size_ms: i64,
        /// A time inside the requested window.
        at: Option<i64>,
    },
    /// The `size_ms` before `end` (default: the end of the newest pane).
    Sliding {
        /// Window length in ms.
        size_ms: i64,
        /// Exclusive end.
        end: Option<i64>,
    },
    /// Explicit bounds, `[start, end)`.
    Range {
        /// Inclusive start.
        start: i64,
        /// Exclusive end.
        end: i64,
    },
}

/// A parsed window request and the label echoed in responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryWindow {
    /// The parsed window.
    pub spec: WindowSpec,
    /// The text the client sent, echoed in responses.
    pub label: String,
}

/// Parses the `window`, `start`, `end` and `at` query parameters.
///
/// `window` is `all`, `last_hour`, `last_day`, `last_week`, `tumbling:SIZE` (with optional
/// `at`), `sliding:SIZE` (with optional `end`), or absent with `start` and `end`. SIZE is a
/// duration such as `15m` or `1h`; times are epoch milliseconds or RFC 3339. Without any of
/// them the window is `all`.
///
/// # Errors
///
/// `(parameter, message)` naming the parameter that is invalid.
///
/// # Examples
///
/// ```
/// use topk_host::window::{parse_window, WindowSpec};
///
/// let window = parse_window(Some("sliding:15m"), None, Some("1970-01-01T01:00:00Z"), None).unwrap();
/// assert_eq!(window.spec, WindowSpec::Sliding { size_ms: 900_000, end: Some(3_600_000) });
/// assert_eq!(parse_window(Some("last_month"), None, None, None).unwrap_err().0, "window");
/// ```
pub fn parse_window(
    window: Option<&str>,
    start: Option<&str>,
    end: Option<&str>,
    at: Option<&str>,
) -> Result<QueryWindow, (&'static str, String)> {
    let start_time = start.map(|text| parse_time("start", text)).transpose()?;
    let end_time = end.map(|text| parse_time("end", text)).transpose()?;
    let at_time = at.map(|text| parse_time("at", text)).transpose()?;

    let spec = match window {
        None | Some("") | Some("range") => match (start_time, end_time) {
            (None, None) => WindowSpec::All,
            (Some(start), Some(end)) if start < end => WindowSpec::Range { start, end },
            (Some(start_ms), Some(end_ms)) => {
                let start_text = start.unwrap_or_default();
                let end_text = end.unwrap_or_default();
                return Err((
                    "end",
                    format!(
                        "invalid window: end `{end_text}` ({}) must be after start `{start_text}` ({}); pass an end later than the start",
                        rfc3339(end_ms),
                        rfc3339(start_ms),
                    ),
                ));
            }
            (Some(_), None) => {
                return Err((
                    "end",
                    "missing end: an explicit window needs both start and end".into(),
                ))
            }
            (None, Some(_)) => {
                return Err((
                    "start",
                    "missing start: an explicit window needs both start and end".into(),
                ))
            }
        },
        Some("all") => WindowSpec::All,
        Some("last_hour") => WindowSpec::LastHour,
        Some("last_day") => WindowSpec::LastDay,
        Some("last_week") => WindowSpec::LastWeek,
        Some(text) => {
            if let Some(size) = text.strip_prefix("tumbling:") {
                WindowSpec::Tumbling {
                    size_ms: parse_size(size)?,
                    at: at_time,
                }
            } else if let Some(size) = text.strip_prefix("sliding:") {
                WindowSpec::Sliding {
                    size_ms: parse_size(size)?,
                    end: end_time,
                }
            } else {
                return Err((
                    "window",
                    format!("unknown window `{text}`: use all, last_hour, last_day, last_week, tumbling:SIZE, sliding:SIZE, or start and end"),
                ));
            }
        }
    };
    let label = window.filter(|text| !text.is_empty()).unwrap_or(
        if matches!(spec, WindowSpec::Range { .. }) {
            "range"
        } else {
            "all"
        },
    );
    Ok(QueryWindow {
        spec,
        label: label.to_string(),
    })
}

impl WindowSpec {
    /// Resolves the window to `[start, end)` in ms, given the end of the newest pane with data
    /// (`newest_end`) and the start of the oldest retained unit (`oldest_start`).
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_host::window::WindowSpec;
    ///
    /// assert_eq!(WindowSpec::LastHour.resolve(7_200_000, 0), (3_600_000, 7_200_000));
    /// let tumbling = WindowSpec::Tumbling { size_ms: 3_600_000, at: Some(5_000_000) };
    /// assert_eq!(tumbling.resolve(7_200_000, 0), (3_600_000, 7_200_000));
    /// ```
    pub fn resolve(&self, newest_end: i64, oldest_start: i64) -> (i64, i64) {
        match *self {
            WindowSpec::All => (oldest_start.min(newest_end), newest_end),
            WindowSpec::LastHour => (newest_end - HOUR_MS, newest_end),
            WindowSpec::LastDay => (newest_end - DAY_MS, newest_end),
            WindowSpec::LastWeek => (newest_end - 7 * DAY_MS, newest_end),
            WindowSpec::Tumbling { size_ms, at } => {
                let start = floor_to(at.unwrap_or(newest_end - 1), size_ms);
                (start, start + size_ms)
            }
            WindowSpec::Sliding { size_ms, end } => {
                let end = end.unwrap_or(newest_end);
                (end - size_ms, end)
            }
            WindowSpec::Range { start, end } => (start, end),
        }
    }
}

fn parse_size(text: &str) -> Result<i64, (&'static str, String)> {
    let duration = humantime::parse_duration(text).map_err(|error| {
        (
            "window",
            format!(
                "invalid window size `{text}`: {error}; use a duration such as 15m, 1h or 1day"
            ),
        )
    })?;
    let millis = duration.as_millis();
    if millis == 0 || millis > (366 * DAY_MS) as u128 {
        return Err((
            "window",
            format!("invalid window size `{text}`: it must be from 1 ms to 366 days"),
        ));
    }
    Ok(millis as i64)
}

/// Latest accepted time: 9999-12-31T23:59:59.999Z in ms, the last instant RFC 3339 can write.
const MAX_TIME_MS: i64 = 253_402_300_799_999;

/// Formats a time accepted by `parse_time` (0 to [`MAX_TIME_MS`]) as RFC 3339 in UTC.
fn rfc3339(millis: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_millis(millis.clamp(0, MAX_TIME_MS) as u64);
    humantime::format_rfc3339_millis(time).to_string()
}

fn parse_time(parameter: &'static str, text: &str) -> Result<i64, (&'static str, String)> {
    if let Ok(millis) = text.parse::<i64>() {
        if !(0..=MAX_TIME_MS).contains(&millis) {
            return Err((
                parameter,
                format!("invalid {parameter} `{text}`: epoch milliseconds must be from 0 (1970) to {MAX_TIME_MS} (year 9999)"),
            ));
        }
        return Ok(millis);
    }
    let time = humantime::parse_rfc3339_weak(text)
        .map_err(|_| (parameter, format!("invalid {parameter} `{text}`: use epoch milliseconds or RFC 3339 such as 2026-01-31T12:00:00Z")))?;
    match time.duration_since(std::time::UNIX_EPOCH) {
        Ok(duration) => Ok(duration.as_millis() as i64),
        Err(_) => Err((
            parameter,
            format!("invalid {parameter} `{text}`: times before 1970 are not supported"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_past_year_9999_rejected() {
        let error = parse_window(Some("tumbling:1h"), None, None, Some("99999999999999999")).unwrap_err();

        assert_eq!(error.0, "at");
        assert!(error.1.contains("year 9999"), "{}", error.1);
    }

    #[test]
    fn explicit_range_needs_both_bounds() {
        assert_eq!(
            parse_window(None, Some("0"), None, None).unwrap_err().0,
            "end"
        );
        assert_eq!(
            parse_window(None, None, Some("5"), None).unwrap_err().0,
            "start"
        );
        assert_eq!(
            parse_window(None, Some("9"), Some("5"), None)
                .unwrap_err()
                .0,
            "end"
        );
        let window = parse_window(None, Some("0"), Some("5"), None).unwrap();
        assert_eq!(window.spec, WindowSpec::Range { start: 0, end: 5 });
        assert_eq!(window.label, "range");
    }

    #[test]
    fn reversed_range_names_values_as_given() {
        let (parameter, message) = parse_window(None, Some("2000"), Some("1970-01-01T00:00:01Z"), None).unwrap_err();

        assert_eq!(parameter, "end");
        assert!(message.contains("end `1970-01-01T00:00:01Z` (1970-01-01T00:00:01.000Z)"), "{message}");
        assert!(message.contains("start `2000` (1970-01-01T00:00:02.000Z)"), "{message}");
        assert!(!message.contains("epoch ms"), "{message}");
    }

    #[test]
    fn bad_sizes_and_times_name_parameter() {
        assert_eq!(
            parse_window(Some("tumbling:soon"), None, None, None)
                .unwrap_err()
                .0,
            "window"
        );
        assert_eq!(
            parse_window(Some("tumbling:0s"), None, None, None)
                .unwrap_err()
                .0,
            "window"
        );
        assert_eq!(
            parse_window(Some("tumbling:1h"), None, None, Some("noon"))
                .unwrap_err()
                .0,
            "at"
        );
        assert_eq!(
            parse_window(None, None, None, None).unwrap().spec,
            WindowSpec::All
        );
    }
}
