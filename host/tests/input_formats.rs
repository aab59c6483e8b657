//! Field extraction for every format, and every bad-line reason.

use topk_host::input::{BadLine, Extractor, Format, FormatSpec, Outcome, Reason, Scratch, TimeFormat};

/// One extracted event, owned.
#[derive(Debug, PartialEq, Eq)]
struct Owned {
    item: String,
    dimension: Option<String>,
    time_ms: Option<i64>,
}

fn owned(item: &str, dimension: Option<&str>, time_ms: Option<i64>) -> Owned {
    Owned { item: item.into(), dimension: dimension.map(Into::into), time_ms }
}

/// Reads `header` lines, then extracts `line`.
fn extract(spec: &FormatSpec, header: &[&str], line: &[u8]) -> Result<(Outcome, Vec<Owned>), BadLine> {
    let mut extractor = Extractor::new(spec).expect("valid spec");
    for header_line in header {
        extractor.read_header(header_line.as_bytes()).expect("valid header");
    }
    assert!(!extractor.needs_header(), "the header should be complete");

    let mut events = Vec::new();
    let mut scratch = Scratch::default();
    let outcome = extractor.extract(line, &mut scratch, |event| {
        events.push(Owned {
            item: String::from_utf8_lossy(event.item).into_owned(),
            dimension: event.dimension.map(|value| String::from_utf8_lossy(value).into_owned()),
            time_ms: event.time_ms,
        })
    })?;
    Ok((outcome, events))
}

fn one(spec: &FormatSpec, header: &[&str], line: &str) -> Owned {
    let (outcome, mut events) = extract(spec, header, line.as_bytes()).unwrap_or_else(|error| panic!("{line}: {error}"));
    assert_eq!(outcome, Outcome::Events(1), "{line}");
    events.remove(0)
}

fn reason(spec: &FormatSpec, header: &[&str], line: &[u8]) -> Reason {
    match extract(spec, header, line) {
        Ok(result) => panic!("{:?} should be a bad line, got {result:?}", String::from_utf8_lossy(line)),
        Err(error) => error.reason,
    }
}

const APACHE: &str = r#"83.149.9.216 - - [17/May/2015:10:05:03 +0000] "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1" 200 203023 "http://semicomplete.com/presentations/logstash-monitorama-2013/" "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36""#;

#[test]
fn ndjson_pointer_fields() {
    let spec = FormatSpec::new(Format::Ndjson, "/client/ip").with_dimension("/status").with_time("/ts", TimeFormat::Auto);
    let line = r#"{"ts": 1431857103, "client": {"ip": "10.0.0.1", "port": 5}, "status": 404, "tags": ["a", {"b": null}]}"#;
    assert_eq!(one(&spec, &[], line), owned("10.0.0.1", Some("404"), Some(1_431_857_103_000)));
}

#[test]
fn ndjson_escapes_and_arrays() {
    let spec = FormatSpec::new(Format::Ndjson, "/a~1b/1");
    assert_eq!(one(&spec, &[], r#"{"a/b": ["x", "caf\u00e9 \"q\" \ud83d\ude00"]}"#).item, "café \"q\" 😀");

    let escaped_key = FormatSpec::new(Format::Ndjson, "/key");
    assert_eq!(one(&escaped_key, &[], r#"{"k\u0065y": "found"}"#).item, "found");

    let bare_name = FormatSpec::new(Format::Ndjson, "ip");
    assert_eq!(one(&bare_name, &[], r#"{"ip":"1.2.3.4"}"#).item, "1.2.3.4");

    let object = FormatSpec::new(Format::Ndjson, "/o");
    assert_eq!(one(&object, &[], r#"{"o": {"x": [1, 2]}}"#).item, r#"{"x": [1, 2]}"#);
}

#[test]
fn ndjson_null_item_is_skipped() {
    let spec = FormatSpec::new(Format::Ndjson, "/ip");
    let (outcome, events) = extract(&spec, &[], br#"{"ip": null}"#).unwrap();
    assert_eq!(outcome, Outcome::Skipped);
    assert!(events.is_empty());
}

#[test]
fn ndjson_bad_lines() {
    let spec = FormatSpec::new(Format::Ndjson, "/ip").with_time("/t", TimeFormat::Auto);
    assert_eq!(reason(&spec, &[], br#"{"ip": "a", "t": 1"#), Reason::Malformed);
    assert_eq!(reason(&spec, &[], br#"{"ip": "a", "t": 1} trailing"#), Reason::Malformed);
    assert_eq!(reason(&spec, &[], br#"{"ip": "a", t: 1}"#), Reason::Malformed);
    assert_eq!(reason(&spec, &[], br#"{"ip": "unterminated, "t": 1"#), Reason::Malformed);
    assert_eq!(reason(&spec, &[], br#"{"ip": "\q", "t": 1}"#), Reason::Malformed);
    assert_eq!(reason(&spec, &[], b"{\"ip\": \"\xff\xfe\", \"t\": 1}"), Reason::InvalidUtf8);
    assert_eq!(reason(&spec, &[], br#"{"t": 1}"#), Reason::MissingField);
    assert_eq!(reason(&spec, &[], br#"{"ip": "a"}"#), Reason::MissingField);
    assert_eq!(reason(&spec, &[], br#"{"ip": "a", "t": "soon"}"#), Reason::InvalidTime);
    assert_eq!(reason(&spec, &[], br#"{"ip": "a", "t": null}"#), Reason::MissingField);
    assert_eq!(reason(&spec, &[], b""), Reason::Malformed);

    let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
    assert_eq!(reason(&FormatSpec::new(Format::Ndjson, "/x"), &[], deep.as_bytes()), Reason::Malformed);
}

#[test]
fn csv_columns_and_quotes() {
    let spec = FormatSpec::new(Format::Csv, "agent").with_dimension("status");
    let header = ["ip,status,agent,path"];
    assert_eq!(one(&spec, &header, r#"1.2.3.4,200,"Mozilla, like ""Gecko""",/x"#), owned(r#"Mozilla, like "Gecko""#, Some("200"), None));
    assert_eq!(one(&spec, &header, "1.2.3.4,301,curl/8.0,/y"), owned("curl/8.0", Some("301"), None));
    assert_eq!(one(&spec, &header, r#""1.2.3.4","500","",/z"#), owned("", Some("500"), None));

    let quoted_header = FormatSpec::new(Format::Csv, "two words");
    assert_eq!(one(&quoted_header, &["\u{feff}\"two words\",b"], "x,y").item, "x");
}

#[test]
fn csv_bad_lines() {
    let spec = FormatSpec::new(Format::Csv, "path");
    let header = ["ip,status,path"];
    assert_eq!(reason(&spec, &header, b"1.2.3.4,200"), Reason::MissingField);
    assert_eq!(reason(&spec, &header, br#"1.2.3.4,"200,/x"#), Reason::Malformed);
    assert_eq!(reason(&spec, &header, br#"1.2.3.4,"200"x,/x"#), Reason::Malformed);
}

#[test]
fn csv_unknown_column_names_header() {
    let mut extractor = Extractor::new(&FormatSpec::new(Format::Csv, "ipaddr")).unwrap();
    let error = extractor.read_header(b"ip,status").unwrap_err();
    assert!(error.to_string().contains("`ipaddr`"), "{error}");
    assert!(error.to_string().contains("ip, status"), "{error}");
}

#[test]
fn skip_values_are_skipped() {
    let mut spec = FormatSpec::new(Format::Csv, "tailnum");
    spec.skip_values = vec![b"NA".to_vec()];
    let header = ["carrier,tailnum"];
    assert_eq!(extract(&spec, &header, b"UA,NA").unwrap().0, Outcome::Skipped);
    assert_eq!(one(&spec, &header, "UA,N14228").item, "N14228");
}

#[test]
fn tsv_columns() {
    let spec = FormatSpec::new(Format::Tsv, "url").with_time("time", TimeFormat::EpochSeconds);
    let header = ["host\tlogname\ttime\tmethod\turl\tresponse"];
    let event = one(&spec, &header, "pppa006.compuserve.com\t-\t807256800\tGET\t/images/launch-logo.gif\t200");
    assert_eq!(event, owned("/images/launch-logo.gif", None, Some(807_256_800_000)));
    // TSV has no quoting: quotes are data.
    assert_eq!(one(&spec, &header, "h\t-\t1\tGET\t\"/q\"\t200").item, "\"/q\"");
}

const ZEEK_HEADER: [&str; 8] = [
    "#separator \\x09",
    "#set_separator\t,",
    "#empty_field\t(empty)",
    "#unset_field\t-",
    "#path\tconn",
    "#open\t2019-01-01-00-00-00",
    "#fields\tts\tuid\tid.orig_h\tid.resp_h\tservice",
    "#types\ttime\tstring\taddr\taddr\tstring",
];

#[test]
fn zeek_fields_unset_and_comments() {
    let spec = FormatSpec::new(Format::Zeek, "id.orig_h").with_dimension("id.resp_h").with_time("ts", TimeFormat::Auto);
    let mut extractor = Extractor::new(&spec).unwrap();
    for line in &ZEEK_HEADER[..7] {
        assert!(extractor.needs_header());
        extractor.read_header(line.as_bytes()).unwrap();
    }
    assert!(!extractor.needs_header());

    let mut scratch = Scratch::default();
    let mut seen = Vec::new();
    let outcome = extractor
        .extract(b"1300475167.096535\tCXWv6p3arKYeMETxOg\t141.142.220.202\t224.0.0.251\tdns", &mut scratch, |event| {
            seen.push((event.item.to_vec(), event.dimension.map(<[u8]>::to_vec), event.time_ms))
        })
        .unwrap();
    assert_eq!(outcome, Outcome::Events(1));
    assert_eq!(seen, [(b"141.142.220.202".to_vec(), Some(b"224.0.0.251".to_vec()), Some(1_300_475_167_096))]);

    assert_eq!(extractor.extract(ZEEK_HEADER[7].as_bytes(), &mut scratch, |_| {}).unwrap(), Outcome::Comment);
    assert_eq!(extractor.extract(b"#close\t2019-01-01-01-00-00", &mut scratch, |_| {}).unwrap(), Outcome::Comment);
    assert_eq!(extractor.extract(b"1300475167.1\tC1\t-\t224.0.0.251\tdns", &mut scratch, |_| {}).unwrap(), Outcome::Skipped);
    let error = extractor.extract(b"1300475167.1\tC1\t10.0.0.1\t-\tdns", &mut scratch, |_| {}).unwrap_err();
    assert_eq!(error.reason, Reason::MissingField);
}

#[test]
fn zeek_empty_field_and_custom_separator() {
    let spec = FormatSpec::new(Format::Zeek, "service");
    let header = ["#separator |", "#empty_field|(empty)", "#fields|ts|service"];
    assert_eq!(one(&spec, &header, "1.0|(empty)").item, "");
    assert_eq!(one(&spec, &header, "1.0|dns").item, "dns");
}

#[test]
fn zeek_data_before_fields_is_rejected() {
    let mut extractor = Extractor::new(&FormatSpec::new(Format::Zeek, "ts")).unwrap();
    assert!(extractor.read_header(b"1.0\tx").is_err());
}

#[test]
fn combined_every_field() {
    let expected = [
        ("ip", "83.149.9.216"),
        ("ident", "-"),
        ("user", "-"),
        ("time", "17/May/2015:10:05:03 +0000"),
        ("request", "GET /presentations/logstash-monitorama-2013/images/kibana-search.png HTTP/1.1"),
        ("method", "GET"),
        ("path", "/presentations/logstash-monitorama-2013/images/kibana-search.png"),
        ("protocol", "HTTP/1.1"),
        ("status", "200"),
        ("bytes", "203023"),
        ("referrer", "http://semicomplete.com/presentations/logstash-monitorama-2013/"),
        ("user_agent", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36"),
    ];
    for (field, value) in expected {
        assert_eq!(one(&FormatSpec::new(Format::Combined, field), &[], APACHE).item, value, "field {field}");
    }

    let spec = FormatSpec::new(Format::Combined, "path").with_dimension("status").with_time("time", TimeFormat::Clf);
    assert_eq!(one(&spec, &[], APACHE).time_ms, Some(1_431_857_103_000));
}

#[test]
fn combined_escapes_and_odd_requests() {
    let line = r#"1.2.3.4 - bob [17/May/2015:10:05:03 +0200] "GET /a b HTTP/1.0" 404 - "-" "agent \"quoted\"""#;
    assert_eq!(one(&FormatSpec::new(Format::Combined, "path"), &[], line).item, "/a b");
    assert_eq!(one(&FormatSpec::new(Format::Combined, "user_agent"), &[], line).item, r#"agent \"quoted\""#);
    assert_eq!(one(&FormatSpec::new(Format::Combined, "bytes"), &[], line).item, "-");
    let time = FormatSpec::new(Format::Combined, "ip").with_time("time", TimeFormat::Auto);
    assert_eq!(one(&time, &[], line).time_ms, Some(1_431_849_903_000));

    let dash = r#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "-" 408 0 "-" "-""#;
    assert_eq!(reason(&FormatSpec::new(Format::Combined, "path"), &[], dash.as_bytes()), Reason::MissingField);
    assert_eq!(one(&FormatSpec::new(Format::Combined, "status"), &[], dash).item, "408");

    // The common log format has no referrer or user agent.
    let common = r#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 12"#;
    assert_eq!(one(&FormatSpec::new(Format::Combined, "bytes"), &[], common).item, "12");
    assert_eq!(reason(&FormatSpec::new(Format::Combined, "user_agent"), &[], common.as_bytes()), Reason::MissingField);
}

#[test]
fn combined_bad_lines() {
    let spec = FormatSpec::new(Format::Combined, "status");
    assert_eq!(reason(&spec, &[], b"not a log line"), Reason::Malformed);
    assert_eq!(reason(&spec, &[], b"1.2.3.4 - - 17/May/2015 \"GET / HTTP/1.1\" 200 1"), Reason::Malformed);
    assert_eq!(reason(&spec, &[], b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1 200 1"), Reason::Malformed);
    let time = FormatSpec::new(Format::Combined, "ip").with_time("time", TimeFormat::Clf);
    assert_eq!(reason(&time, &[], b"1.2.3.4 - - [yesterday] \"GET / HTTP/1.1\" 200 1"), Reason::InvalidTime);
    assert_eq!(reason(&time, &[], b"1.2.3.4 - - [17/May/2015:10:05:03 +0000\xff] \"GET / HTTP/1.1\" 200 1"), Reason::InvalidUtf8);
}

#[test]
fn combined_shape_checked_for_every_field() {
    let fields = [
        "ip", "ident", "user", "time", "request", "method", "path", "protocol", "status", "bytes", "referrer", "user_agent",
    ];
    let garbage: [&[u8]; 6] = [
        b"hello world",
        b"1.2.3.4 - -",
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000]",
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\"",
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\" OK 12 \"-\" \"curl\"",
        b"1.2.3.4 - - [17/May/2015:10:05:03 +0000] \"GET / HTTP/1.1\" 200 twelve \"-\" \"curl\"",
    ];
    for line in garbage {
        for field in fields {
            let spec = FormatSpec::new(Format::Combined, field);
            assert_eq!(reason(&spec, &[], line), Reason::Malformed, "field {field}, line {:?}", String::from_utf8_lossy(line));
        }
    }

    // Text after the user agent (extra fields that servers append) is still a combined line.
    let extended = format!("{APACHE} 0.012 \"10.0.0.9\"");
    assert_eq!(one(&FormatSpec::new(Format::Combined, "ip"), &[], &extended).item, "83.149.9.216");

    // A line cut off inside the user agent counts for every field; the user agent is what is left.
    let cut = r#"1.2.3.4 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 12 "-" "Mozilla/5.0 (compatible"#;
    assert_eq!(one(&FormatSpec::new(Format::Combined, "ip"), &[], cut).item, "1.2.3.4");
    assert_eq!(one(&FormatSpec::new(Format::Combined, "user_agent"), &[], cut).item, "Mozilla/5.0 (compatible");
}

#[test]
fn combined_unknown_field_names_fields() {
    let error = Extractor::new(&FormatSpec::new(Format::Combined, "cookie")).unwrap_err();
    assert!(error.to_string().contains("`cookie`"), "{error}");
    assert!(error.to_string().contains("user_agent"), "{error}");
}

#[test]
fn text_tokens_lowercased() {
    let mut spec = FormatSpec::new(Format::Text, "");
    spec.tokenize = Some("[a-z]+(?:'[a-z]+)*".into());
    spec.lowercase = true;
    let (outcome, events) = extract(&spec, &[], b"ALL'S Well that ends' well, 'tis").unwrap();
    assert_eq!(outcome, Outcome::Events(6));
    let items: Vec<&str> = events.iter().map(|event| event.item.as_str()).collect();
    assert_eq!(items, ["all's", "well", "that", "ends", "well", "tis"]);

    let unicode = extract(&spec, &[], "ÉTÉ Éte".as_bytes()).unwrap().1;
    assert_eq!(unicode.iter().map(|event| event.item.as_str()).collect::<Vec<_>>(), ["t", "te"]);
}

#[test]
fn text_default_tokenizer_and_bad_utf8() {
    let spec = FormatSpec::new(Format::Text, "");
    let (outcome, events) = extract(&spec, &[], b"  a  bb\tc ").unwrap();
    assert_eq!(outcome, Outcome::Events(3));
    assert_eq!(events[1].item, "bb");
    assert_eq!(reason(&spec, &[], b"ok \xc3\x28"), Reason::InvalidUtf8);
}

#[test]
fn text_rejects_fields_and_bad_regex() {
    assert!(Extractor::new(&FormatSpec::new(Format::Text, "").with_dimension("x")).is_err());
    let mut spec = FormatSpec::new(Format::Text, "");
    spec.tokenize = Some("(".into());
    assert!(Extractor::new(&spec).unwrap_err().to_string().contains("`(`"));
}

#[test]
fn text_rejects_empty_matching_tokenizers() {
    for pattern in ["", "a*", "x?", r"\b", r"\B", "(?m)^", "$", r"\w*|\s"] {
        let mut spec = FormatSpec::new(Format::Text, "");
        spec.tokenize = Some(pattern.into());
        let error = Extractor::new(&spec).expect_err(pattern).to_string();
        assert!(error.contains(&format!("invalid --tokenize '{pattern}'")), "{pattern}: {error}");
        assert!(error.contains("matches the empty string"), "{pattern}: {error}");
    }

    let mut spec = FormatSpec::new(Format::Text, "");
    spec.tokenize = Some(r"\b\w+\b".into());
    assert_eq!(extract(&spec, &[], b"to be").unwrap().0, Outcome::Events(2));
}

#[test]
fn skip_lines_regex() {
    let mut spec = FormatSpec::new(Format::Text, "");
    spec.skip_lines = Some("^=====".into());
    assert_eq!(extract(&spec, &[], b"===== FILE: a.txt =====").unwrap().0, Outcome::Skipped);
    assert_eq!(extract(&spec, &[], b"a b").unwrap().0, Outcome::Events(2));
}

#[test]
fn lowercase_applies_to_fields() {
    let mut spec = FormatSpec::new(Format::Csv, "host");
    spec.lowercase = true;
    assert_eq!(one(&spec, &["host"], "WWW.Example.COM").item, "www.example.com");
}

#[test]
fn invalid_pointer_is_a_spec_error() {
    assert!(Extractor::new(&FormatSpec::new(Format::Ndjson, "client/ip")).is_err());
    assert!(Extractor::new(&FormatSpec::new(Format::Ndjson, "/a~2")).is_err());
}

#[test]
fn ndjson_stops_after_selected_fields() {
    let fast = FormatSpec::new(Format::Ndjson, "/ip");
    let mut strict = fast.clone();
    strict.strict = true;

    // Only strict mode detects a syntax error after the selected field.
    let late_error = br#"{"ip": "a", "x": tru}"#;
    assert_eq!(extract(&fast, &[], late_error).unwrap().0, Outcome::Events(1));
    assert_eq!(reason(&strict, &[], late_error), Reason::Malformed);

    // A truncated line is malformed in both modes.
    let truncated = br#"{"ip": "a", "x": "trunc"#;
    assert_eq!(reason(&fast, &[], truncated), Reason::Malformed);
    assert_eq!(reason(&strict, &[], truncated), Reason::Malformed);

    // The first occurrence of a duplicate key wins in both modes.
    let duplicate = r#"{"ip": "first", "ip": "second"}"#;
    assert_eq!(one(&fast, &[], duplicate).item, "first");
    assert_eq!(one(&strict, &[], duplicate).item, "first");
}
