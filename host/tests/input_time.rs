//! Time parsers: epoch seconds and milliseconds, RFC 3339 and the combined-log time.

use topk_host::input::{Reason, TimeFormat};

fn ms(format: TimeFormat, text: &str) -> i64 {
    format.parse_ms(text.as_bytes()).unwrap_or_else(|error| panic!("{text}: {error}"))
}

#[test]
fn epoch_seconds_and_millis() {
    assert_eq!(ms(TimeFormat::EpochSeconds, "807256800"), 807_256_800_000);
    assert_eq!(ms(TimeFormat::EpochSeconds, "1300475167.096535"), 1_300_475_167_096);
    assert_eq!(ms(TimeFormat::EpochSeconds, "1.5"), 1_500);
    assert_eq!(ms(TimeFormat::EpochSeconds, "-1.5"), -1_500);
    assert_eq!(ms(TimeFormat::EpochMillis, "1431857103123"), 1_431_857_103_123);
    assert_eq!(ms(TimeFormat::EpochSeconds, " 42 "), 42_000);
}

#[test]
fn auto_detects_each_format() {
    assert_eq!(ms(TimeFormat::Auto, "1431857103"), 1_431_857_103_000);
    assert_eq!(ms(TimeFormat::Auto, "1431857103123"), 1_431_857_103_123);
    assert_eq!(ms(TimeFormat::Auto, "1431857103.5"), 1_431_857_103_500);
    assert_eq!(ms(TimeFormat::Auto, "2015-05-17T10:05:03Z"), 1_431_857_103_000);
    assert_eq!(ms(TimeFormat::Auto, "17/May/2015:10:05:03 +0000"), 1_431_857_103_000);
    assert_eq!(ms(TimeFormat::Auto, "[17/May/2015:10:05:03 +0000]"), 1_431_857_103_000);
}

#[test]
fn rfc3339_offsets_and_fractions() {
    assert_eq!(ms(TimeFormat::Rfc3339, "1970-01-01T00:00:00Z"), 0);
    assert_eq!(ms(TimeFormat::Rfc3339, "2015-05-17T12:05:03.250+02:00"), 1_431_857_103_250);
    assert_eq!(ms(TimeFormat::Rfc3339, "2015-05-17 10:05:03.1z"), 1_431_857_103_100);
    assert_eq!(ms(TimeFormat::Rfc3339, "2015-05-17t05:05:03.999999-05:00"), 1_431_857_103_999);
    assert_eq!(ms(TimeFormat::Rfc3339, "2000-02-29T00:00:00Z"), 951_782_400_000);
    assert_eq!(ms(TimeFormat::Rfc3339, "1969-12-31T23:59:59Z"), -1_000);
}

#[test]
fn clf_months_and_offsets() {
    assert_eq!(ms(TimeFormat::Clf, "01/Jan/1970:00:00:00 +0000"), 0);
    assert_eq!(ms(TimeFormat::Clf, "01/Aug/1995:00:00:00 -0400"), 807_249_600_000);
    assert_eq!(ms(TimeFormat::Clf, "31/Dec/2015:23:59:59 +0000"), 1_451_606_399_000);
}

#[test]
fn invalid_times_are_rejected() {
    let cases = [
        (TimeFormat::Rfc3339, "2015-13-01T00:00:00Z"),
        (TimeFormat::Rfc3339, "2015-02-30T00:00:00Z"),
        (TimeFormat::Rfc3339, "2015-05-17T25:00:00Z"),
        (TimeFormat::Rfc3339, "2015-05-17T10:05:03"),
        (TimeFormat::Rfc3339, "2015-05-17T10:05:03.Z"),
        (TimeFormat::Clf, "17/Foo/2015:10:05:03 +0000"),
        (TimeFormat::Clf, "17/May/2015:10:05:03"),
        (TimeFormat::EpochSeconds, "12abc"),
        (TimeFormat::EpochSeconds, "1.2e3"),
        (TimeFormat::EpochMillis, "1.5"),
        (TimeFormat::Auto, "yesterday"),
        (TimeFormat::Auto, ""),
    ];
    for (format, text) in cases {
        let error = format.parse_ms(text.as_bytes()).expect_err(text);
        assert_eq!(error.reason, Reason::InvalidTime, "{text}");
        assert!(error.message.contains(text.trim()), "{}", error.message);
    }
}

#[test]
fn non_utf8_time_is_invalid_utf8() {
    assert_eq!(TimeFormat::Auto.parse_ms(b"2015\xff").unwrap_err().reason, Reason::InvalidUtf8);
}

#[test]
fn format_names_round_trip() {
    for format in [TimeFormat::Auto, TimeFormat::EpochSeconds, TimeFormat::EpochMillis, TimeFormat::Rfc3339, TimeFormat::Clf] {
        assert_eq!(format.to_string().parse::<TimeFormat>(), Ok(format));
    }
    assert!("iso".parse::<TimeFormat>().is_err());
}
