//! Invalid parameters fail `init` with a message naming the parameter and its accepted values;
//! malformed records are counted, not fatal.

use crate::harness::*;

/// Builds a chain and returns the init error's text.
fn init_error(params: &[(&str, &str)]) -> String {
    match chain_with(topk_module(), params, ChainOptions::default()) {
        Ok(_) => panic!("init accepted {params:?}"),
        Err(error) => format!("{error:#}"),
    }
}

/// Module parameters and the words that the init error for them must contain.
type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);

#[test]
fn invalid_parameters_fail_init() {
    let cases: &[Case] = &[
        (
            &[("item", "/host"), ("format", "csv")],
            &["format", "\"csv\"", "json or text"],
        ),
        (&[], &["missing parameter item", "JSON pointer"]),
        (&[("item", "host")], &["item", "starts with /"]),
        (
            &[("item", "/host"), ("regex", "(x)")],
            &["regex", "format=text"],
        ),
        (&[("format", "text")], &["missing parameter regex"]),
        (
            &[("format", "text"), ("regex", "(unclosed")],
            &["regex", "valid regular expression"],
        ),
        (
            &[("format", "text"), ("regex", r"\S+")],
            &["regex", "capture group"],
        ),
        (
            &[("format", "text"), ("regex", r"(\S+)"), ("item", "/host")],
            &["item", "format=json"],
        ),
        (
            &[("item", "/host"), ("dimension", "status")],
            &["dimension", "JSON pointer"],
        ),
        (
            &[("item", "/host"), ("event_time", "time")],
            &["event_time", "JSON pointer"],
        ),
        (
            &[("item", "/host"), ("event_time_unit", "us")],
            &["event_time_unit", "s (seconds", "ms"],
        ),
        (
            &[("item", "/host"), ("capacity", "1000")],
            &["capacity", "power of two from 8 to 1048576"],
        ),
        (
            &[("item", "/host"), ("capacity", "4")],
            &["capacity", "power of two"],
        ),
        (
            &[("item", "/host"), ("capacity", "2097152")],
            &["capacity", "power of two"],
        ),
        (
            &[("item", "/host"), ("pane_size", "1d")],
            &["pane_size", "ms, s, m or h"],
        ),
        (
            &[("item", "/host"), ("pane_size", "9000000h")],
            &["pane_size", "366 days"],
        ),
        (
            &[("item", "/host"), ("allowed_lateness", "soon")],
            &["allowed_lateness", "ms, s, m or h"],
        ),
        (
            &[("item", "/host"), ("emit_every", "-5")],
            &["emit_every", "whole number of records"],
        ),
        (
            &[("item", "/host"), ("emit_on_pane_close", "yes")],
            &["emit_on_pane_close", "true or false"],
        ),
        (
            &[("item", "/host"), ("emit_on_pane_close", "false")],
            &["emit_every", "never emits"],
        ),
        (
            &[
                ("item", "/host"),
                ("pane_size", "0"),
                ("emit_on_pane_close", "true"),
                ("emit_every", "5"),
            ],
            &["emit_on_pane_close", "pane_size is 0"],
        ),
        (
            &[("item", "/host"), ("max_open_summaries", "0")],
            &["max_open_summaries", "from 1 to 4096"],
        ),
        (
            &[("item", "/host"), ("source", "")],
            &["source", "1 to 255 bytes"],
        ),
        (
            &[("item", "/host"), ("skip_counted", "1")],
            &["skip_counted", "true or false"],
        ),
        (
            &[("item", "/host"), ("capacty", "64")],
            &["unknown parameter \"capacty\"", "capacity"],
        ),
    ];

    for (params, words) in cases {
        let message = init_error(params);
        for word in *words {
            assert!(
                message.contains(word),
                "init error for {params:?} lacks {word:?}: {message}"
            );
        }
    }
}

#[test]
fn valid_parameters_init() {
    let valid: &[&[(&str, &str)]] = &[
        &[("item", "/host")],
        &[
            ("format", "text"),
            ("regex", r"^(?P<item>\S+) \S+ (?P<time>\d+)"),
            ("event_time_unit", "s"),
        ],
        &[
            ("item", "/url"),
            ("dimension", "/response"),
            ("event_time", "/time"),
            ("capacity", "8"),
            ("pane_size", "500ms"),
        ],
        &[("item", "/host"), ("pane_size", "0"), ("emit_every", "1")],
        &[
            ("item", "/host"),
            ("allowed_lateness", "2h"),
            ("emit_every", "10"),
            ("max_open_summaries", "4096"),
            ("skip_counted", "false"),
        ],
    ];
    for params in valid {
        chain_with(topk_module(), params, ChainOptions::default())
            .unwrap_or_else(|error| panic!("init rejected {params:?}: {error:#}"));
    }
}

#[test]
fn malformed_records_counted_next() {
    let mut chain = topk_chain(&[("item", "/host"), ("pane_size", "0"), ("emit_every", "4")]);
    let values = [
        b"{not json".to_vec(),
        br#"{"ip":"10.0.0.1"}"#.to_vec(),
        vec![0xff, 0xfe],
        br#"{"host":"a"}"#.to_vec(),
    ];

    let outputs = process(&mut chain, 10, 0, &values).expect("malformed records are not fatal");
    assert_eq!(outputs.len(), 1);
    let summary = topk_sketch::snapshot::decode(&outputs[0].value).unwrap();
    assert_eq!(summary.metadata.malformed_records, 3);
    assert_eq!(summary.total_weight(), 1);
    assert_eq!(
        (
            summary.metadata.sources[0].start,
            summary.metadata.sources[0].end
        ),
        (10, 14)
    );

    // The count resets after each snapshot.
    let outputs = process(&mut chain, 14, 0, &vec![br#"{"host":"b"}"#.to_vec(); 4]).unwrap();
    let summary = topk_sketch::snapshot::decode(&outputs[0].value).unwrap();
    assert_eq!(summary.metadata.malformed_records, 0);
    assert_eq!(summary.estimate(b"b").lower_bound, 4);
}

#[test]
fn text_format_counts() {
    let params = [
        ("format", "text"),
        ("regex", r"^(?P<item>\S+) (?P<dimension>\d{3})$"),
        ("pane_size", "0"),
        ("emit_every", "3"),
    ];
    let mut chain = topk_chain(&params);
    let values = [
        b"a.example 200".to_vec(),
        b"a.example 200".to_vec(),
        b"b.example 404".to_vec(),
    ];

    let outputs = process(&mut chain, 0, 0, &values).unwrap();
    assert_eq!(outputs.len(), 2, "one snapshot per dimension value");
    let summaries: Vec<_> = outputs
        .iter()
        .map(|output| topk_sketch::snapshot::decode(&output.value).unwrap())
        .collect();
    assert_eq!(
        summaries[0].metadata.dimension.as_ref().unwrap().value,
        b"200"
    );
    assert_eq!(summaries[0].estimate(b"a.example").lower_bound, 2);
    assert_eq!(
        summaries[1].metadata.dimension.as_ref().unwrap().value,
        b"404"
    );
}

#[test]
fn record_timestamp_sets_pane() {
    let mut chain = topk_chain(&[("item", "/host"), ("pane_size", "1s")]);
    assert!(
        process(&mut chain, 0, 1_500, &[br#"{"host":"a"}"#.to_vec()])
            .unwrap()
            .is_empty()
    );

    let outputs = process(&mut chain, 1, 2_000, &[br#"{"host":"b"}"#.to_vec()]).unwrap();
    let windows: Vec<_> = outputs
        .iter()
        .map(|output| {
            topk_sketch::snapshot::decode(&output.value)
                .unwrap()
                .metadata
                .window
                .unwrap()
        })
        .collect();
    assert_eq!((windows[0].start, windows[0].end), (1_000, 2_000));
    assert_eq!((windows[1].start, windows[1].end), (2_000, 3_000));
}

#[test]
fn example_transforms_file_initializes() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("transforms.yaml");
    let config = fluvio_smartengine::transformation::TransformationConfig::from_file(&path)
        .expect("transforms.yaml parses");
    assert_eq!(config.transforms.len(), 1);

    let mut builder = fluvio_smartengine::SmartModuleChainBuilder::default();
    let step = config.transforms.into_iter().next().unwrap();
    builder.add_smart_module(step.into(), topk_module().to_vec());
    builder
        .initialize(engine())
        .unwrap_or_else(|error| panic!("the example's parameters fail init: {error:#}"));
}

#[test]
fn manifest_lists_every_parameter() {
    let manifest = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("SmartModule.toml"),
    )
    .unwrap();
    let listed: Vec<&str> = manifest
        .lines()
        .filter_map(|line| line.strip_prefix("name = \"")?.strip_suffix('"'))
        .skip(1)
        .collect();
    assert_eq!(
        listed,
        topk_smartmodule::params::PARAMETER_NAMES,
        "SmartModule.toml [[params]] in documentation order"
    );
}
