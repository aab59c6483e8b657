//! Event-time parsers. Every parser returns milliseconds since the Unix epoch (UTC), the unit
//! of the sketch component's windows.

use std::fmt;
use std::str::FromStr;

use crate::input::error::{BadLine, Reason};

/// Format of a time field.
///
/// # Examples
///
/// ```
/// use topk_host::input::TimeFormat;
///
/// let format: TimeFormat = "rfc3339".parse().unwrap();
/// assert_eq!(format, TimeFormat::Rfc3339);
/// assert_eq!(format.parse_ms(b"1970-01-01T00:00:01Z").unwrap(), 1000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// Chosen per value. Digits are epoch seconds below 10^11 and epoch milliseconds from there
    /// on (10^11 seconds is the year 5138, 10^11 milliseconds is March 1973). A value with `-`
    /// at index 4 is RFC 3339, and a value with `/` at index 2 is the combined-log time.
    #[default]
    Auto,
    /// Seconds since the Unix epoch, with an optional fraction (`1438387200.25`).
    EpochSeconds,
    /// Milliseconds since the Unix epoch, an integer.
    EpochMillis,
    /// RFC 3339 (`2015-05-17T10:05:03Z`, `2015-05-17 10:05:03.250+02:00`).
    Rfc3339,
    /// The Apache/Nginx combined-log time, `17/May/2015:10:05:03 +0000`, with or without the
    /// surrounding brackets.
    Clf,
}

impl FromStr for TimeFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "auto" => Ok(TimeFormat::Auto),
            "epoch-s" | "epoch-seconds" => Ok(TimeFormat::EpochSeconds),
            "epoch-ms" | "epoch-millis" => Ok(TimeFormat::EpochMillis),
            "rfc3339" => Ok(TimeFormat::Rfc3339),
            "clf" | "combined" => Ok(TimeFormat::Clf),
            other => Err(format!("invalid time format `{other}`: expected auto, epoch-s, epoch-ms, rfc3339 or clf")),
        }
    }
}

impl fmt::Display for TimeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeFormat::Auto => "auto",
            TimeFormat::EpochSeconds => "epoch-s",
            TimeFormat::EpochMillis => "epoch-ms",
            TimeFormat::Rfc3339 => "rfc3339",
            TimeFormat::Clf => "clf",
        })
    }
}

impl TimeFormat {
    /// Parses `value` as a time in this format.
    ///
    /// # Errors
    ///
    /// A [`BadLine`] with [`Reason::InvalidTime`] that quotes the value, or
    /// [`Reason::InvalidUtf8`] when the value is not UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_host::input::TimeFormat;
    ///
    /// let ms = TimeFormat::Auto.parse_ms(b"17/May/2015:10:05:03 +0000").unwrap();
    /// assert_eq!(ms, 1_431_857_103_000);
    /// assert_eq!(TimeFormat::Auto.parse_ms(b"1431857103").unwrap(), ms);
    /// assert_eq!(TimeFormat::Auto.parse_ms(b"1431857103000").unwrap(), ms);
    /// assert!(TimeFormat::Auto.parse_ms(b"yesterday").is_err());
    /// ```
    pub fn parse_ms(self, value: &[u8]) -> Result<i64, BadLine> {
        let text = std::str::from_utf8(value)
            .map_err(|_| BadLine::new(Reason::InvalidUtf8, format!("time value {value:?} is not UTF-8")))?;
        let text = text.trim();

        let parsed = match self {
            TimeFormat::Auto => parse_auto(text),
            TimeFormat::EpochSeconds => parse_epoch_seconds(text),
            TimeFormat::EpochMillis => text.parse::<i64>().ok(),
            TimeFormat::Rfc3339 => parse_rfc3339(text),
            TimeFormat::Clf => parse_clf(text),
        };
        parsed.ok_or_else(|| {
            BadLine::new(Reason::InvalidTime, format!("time value `{text}` is not a valid {self} time"))
        })
    }
}

fn parse_auto(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    if bytes.len() > 4 && bytes[4] == b'-' {
        return parse_rfc3339(text);
    }
    if bytes.len() > 2 && (bytes[2] == b'/' || bytes[0] == b'[') {
        return parse_clf(text);
    }

    // Epoch: decide seconds or milliseconds by the integer part's magnitude.
    let integer = text.split('.').next()?;
    let magnitude = integer.trim_start_matches('-').parse::<u64>().ok()?;
    if magnitude >= 100_000_000_000 && !text.contains('.') {
        text.parse::<i64>().ok()
    } else {
        parse_epoch_seconds(text)
    }
}

/// Parses `seconds[.fraction]`, keeping milliseconds of the fraction (truncated).
fn parse_epoch_seconds(text: &str) -> Option<i64> {
    let (integer, fraction) = match text.split_once('.') {
        Some((integer, fraction)) => (integer, fraction),
        None => (text, ""),
    };
    let negative = integer.starts_with('-');
    let seconds: i64 = integer.parse().ok()?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = fraction_millis(fraction.as_bytes());
    let millis = if negative { -millis } else { millis };
    seconds.checked_mul(1000)?.checked_add(millis)
}

/// Returns the first three digits of a fraction as milliseconds (`"5"` is 500).
fn fraction_millis(digits: &[u8]) -> i64 {
    let mut millis = 0;
    for i in 0..3 {
        millis *= 10;
        if let Some(digit) = digits.get(i) {
            millis += i64::from(digit - b'0');
        }
    }
    millis
}

/// Parses RFC 3339: `YYYY-MM-DD`, `T`, `t` or a space, `hh:mm:ss`, an optional fraction, and
/// `Z`, `z` or `±hh:mm`.
fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let second = digits(&b[17..19])?;

    let mut rest = &b[19..];
    let mut millis = 0;
    if rest.first() == Some(&b'.') {
        let count = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        millis = fraction_millis(&rest[1..1 + count]);
        rest = &rest[1 + count..];
    }

    let offset_minutes = match rest {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let minutes = digits(&[*h1, *h2])? * 60 + digits(&[*m1, *m2])?;
            if *sign == b'+' { minutes } else { -minutes }
        }
        _ => return None,
    };
    civil_to_ms(year, month, day, hour, minute, second, millis, offset_minutes)
}

/// Parses `dd/Mon/yyyy:hh:mm:ss ±hhmm`, optionally inside `[` `]`.
fn parse_clf(text: &str) -> Option<i64> {
    let text = text.strip_prefix('[').unwrap_or(text);
    let text = text.strip_suffix(']').unwrap_or(text);
    let b = text.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[14] != b':' || b[17] != b':' || b[20] != b' ' {
        return None;
    }
    let day = digits(&b[0..2])?;
    let month = month_number(&b[3..6])?;
    let year = digits(&b[7..11])?;
    let hour = digits(&b[12..14])?;
    let minute = digits(&b[15..17])?;
    let second = digits(&b[18..20])?;
    let offset = digits(&b[22..24])? * 60 + digits(&b[24..26])?;
    let offset_minutes = match b[21] {
        b'+' => offset,
        b'-' => -offset,
        _ => return None,
    };
    civil_to_ms(year, month, day, hour, minute, second, 0, offset_minutes)
}

fn digits(bytes: &[u8]) -> Option<i64> {
    let mut value = 0i64;
    for &byte in bytes {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Some(value)
}

fn month_number(name: &[u8]) -> Option<i64> {
    const MONTHS: [&[u8; 3]; 12] = [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    MONTHS.iter().position(|month| month.eq_ignore_ascii_case(name)).map(|index| index as i64 + 1)
}

/// Converts a UTC-offset civil time to epoch milliseconds, rejecting out-of-range fields.
#[allow(clippy::too_many_arguments)]
fn civil_to_ms(year: i64, month: i64, day: i64, hour: i64, minute: i64, second: i64, millis: i64, offset_minutes: i64) -> Option<i64> {
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    // A leap second (60) is accepted and counted as the next second's start.
    if !(1..=12).contains(&month) || day < 1 || day > month_days[(month - 1) as usize] || hour > 23 || minute > 59 || second > 60 {
        return None;
    }

    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}
