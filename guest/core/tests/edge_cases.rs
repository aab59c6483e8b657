//! Hard cases of the sketch core, one test each: tiny maps, empty images, extreme weights,
//! unusual item bytes, exact merges and oversized `k`.

mod common;

use topk_sketch::snapshot::{self, Dimension, SourceRange, Window};
use topk_sketch::{Batch, Config, Error, ErrorType, FrequentItems, Summary};

const SEVEN: [&[u8]; 7] = [b"a", b"b", b"c", b"d", b"e", b"f", b"g"];

fn seven_once(max_map_size: u32) -> Summary {
    let mut summary = Summary::new(Config { max_map_size, ..Config::default() }).unwrap();
    for item in SEVEN {
        summary.update(item, 1).unwrap();
    }
    summary
}

/// Asserts total weight 7 and maximum error 1 with bounds `[0, 1]` for each of the seven items.
fn assert_seven_once(sketch: &FrequentItems) {
    assert_eq!(sketch.total_weight(), 7);
    assert_eq!(sketch.maximum_error(), 1);
    for item in SEVEN {
        assert!(sketch.lower_bound(item) <= 1);
        assert!(sketch.upper_bound(item) >= 1);
    }
}

#[test]
fn map_8_seven_items_payload() {
    let summary = seven_once(8);
    let sketch = summary.frequent();
    assert_seven_once(sketch);

    let decoded = FrequentItems::from_datasketches(&sketch.to_datasketches()).unwrap();
    assert_seven_once(&decoded);

    let mut merged = FrequentItems::new(8).unwrap();
    merged.merge(&decoded).unwrap();
    assert_seven_once(&merged);
    assert_seven_once(&FrequentItems::from_datasketches(&merged.to_datasketches()).unwrap());
}

#[test]
fn map_8_seven_items_snapshot() {
    let summary = seven_once(8);

    let decoded = snapshot::decode(&snapshot::encode(&summary)).unwrap();
    assert_eq!(decoded.total_weight(), 7);
    assert_eq!(decoded.maximum_error(), 1);
    assert_seven_once(decoded.frequent());

    let mut merged = Summary::new(Config { max_map_size: 8, ..Config::default() }).unwrap();
    merged.merge(&decoded).unwrap();
    assert_eq!(merged.total_weight(), 7);
    assert_eq!(merged.maximum_error(), 1);
    let merged = snapshot::decode(&snapshot::encode(&merged)).unwrap();
    assert_eq!(merged.total_weight(), 7);
    assert_eq!(merged.maximum_error(), 1);
    assert_eq!(merged.distinct().round(), 7.0);
}

#[test]
fn empty_payload_is_8_byte_image() {
    for lg_max in 3..=30u8 {
        let sketch = FrequentItems::new(1 << lg_max).unwrap();

        let bytes = sketch.to_datasketches();

        assert_eq!(bytes, [1, 1, 10, lg_max, 3, 5, 0, 0]);
        let decoded = FrequentItems::from_datasketches(&bytes).unwrap();
        assert!(decoded.is_empty());
        assert_eq!(decoded.max_map_size(), 1 << lg_max);
        assert_eq!(decoded.to_datasketches(), bytes);
    }
}

#[test]
fn empty_payload_either_flag_bit() {
    for flags in [0x04, 0x01, 0x05] {
        let decoded = FrequentItems::from_datasketches(&[1, 1, 10, 6, 3, flags, 0, 0]).unwrap();

        assert!(decoded.is_empty(), "flags {flags:#04x}");
        assert_eq!(decoded.max_map_size(), 64);
        assert_eq!(decoded.to_datasketches(), [1, 1, 10, 6, 3, 5, 0, 0]);
    }
}

#[test]
fn empty_payload_without_flag_rejected() {
    let error = FrequentItems::from_datasketches(&[1, 1, 10, 6, 3, 0, 0, 0]).unwrap_err();

    assert!(matches!(error, Error::Malformed { field: "empty flag", .. }), "{error}");
}

#[test]
fn empty_summary_snapshot_round_trips() {
    let summary = Summary::new(Config::default()).unwrap();

    let bytes = snapshot::encode(&summary);
    let decoded = snapshot::decode(&bytes).unwrap();

    assert_eq!(decoded.total_weight(), 0);
    assert!(decoded.top_k(10, ErrorType::NoFalseNegatives).is_empty());
    assert_eq!(decoded.distinct(), 0.0);
    assert_eq!(snapshot::encode(&decoded), bytes);
}

#[test]
fn weight_past_u32_no_wraparound() {
    let mut sketch = FrequentItems::new(8).unwrap();

    sketch.update(b"x", 4_294_967_295).unwrap();
    sketch.update(b"x", 1).unwrap();

    assert_eq!(sketch.lower_bound(b"x"), 4_294_967_296);
    assert_eq!(sketch.upper_bound(b"x"), 4_294_967_296);
    assert_eq!(sketch.total_weight(), 4_294_967_296);
    let decoded = FrequentItems::from_datasketches(&sketch.to_datasketches()).unwrap();
    assert_eq!(decoded.lower_bound(b"x"), 4_294_967_296);
}

#[test]
fn weight_u64_max_accepted_once() {
    let mut summary = Summary::new(Config { count_min_width: 64, count_min_depth: 3, ..Config::default() }).unwrap();

    summary.update(b"x", u64::MAX).unwrap();

    let estimate = summary.estimate(b"x");
    assert_eq!((estimate.estimate, estimate.lower_bound, estimate.upper_bound), (u64::MAX, u64::MAX, u64::MAX));
    assert_eq!(summary.total_weight(), u64::MAX);

    let error = summary.update(b"y", 1).unwrap_err();
    assert_eq!(error, Error::WeightOverflow { total: u64::MAX, added: 1 });
    assert_eq!(summary.total_weight(), u64::MAX);
    assert_eq!(summary.estimate(b"y").lower_bound, 0);
    assert_eq!(summary.distinct().round(), 1.0);

    let decoded = snapshot::decode(&snapshot::encode(&summary)).unwrap();
    assert_eq!(decoded.estimate(b"x"), estimate);
}

#[test]
fn huge_weight_into_full_map() {
    // A huge weight arriving when the map is full forces a purge with a huge median. The update
    // returns at once because nothing loops over the weight, and the bounds still hold.
    let mut sketch = FrequentItems::new(8).unwrap();
    for item in [b"1", b"2", b"3", b"4", b"5", b"6"] {
        sketch.update(item, 1).unwrap();
    }
    let huge = u64::MAX - 6;

    sketch.update(b"big", huge).unwrap();

    assert_eq!(sketch.total_weight(), u64::MAX);
    assert!(sketch.active_items() <= sketch.capacity());
    assert!(sketch.lower_bound(b"big") <= huge);
    assert!(huge <= sketch.upper_bound(b"big"));
    for item in [b"1", b"2", b"3", b"4", b"5", b"6"] {
        assert!(sketch.lower_bound(item) <= 1);
        assert!(sketch.upper_bound(item) >= 1);
    }
    let rows = sketch.top_k(1, ErrorType::NoFalseNegatives);
    assert_eq!(rows[0].item, b"big");
}

#[test]
fn overflowing_batch_rejected_whole() {
    let mut summary = Summary::new(Config { count_min_width: 64, count_min_depth: 3, ..Config::default() }).unwrap();
    summary.update(b"a", 10).unwrap();
    summary.update(b"b", 5).unwrap();
    let before = (summary.total_weight(), summary.estimate(b"a"), summary.estimate(b"b"), summary.distinct());

    // The batch's own sum fits in u64, but added to the total it does not.
    let fits_alone = Batch::new(b"abc", &[1, 2, 3], Some(&[1, u64::MAX - 20, 7])).unwrap();
    let error = summary.update_batch(&fits_alone).unwrap_err();
    assert!(matches!(error, Error::WeightOverflow { .. }), "{error}");

    // The batch's own sum overflows.
    let overflows_alone = Batch::new(b"abc", &[1, 2, 3], Some(&[1, u64::MAX, 1])).unwrap();
    let error = summary.update_batch(&overflows_alone).unwrap_err();
    assert!(matches!(error, Error::WeightOverflow { .. }), "{error}");

    let after = (summary.total_weight(), summary.estimate(b"a"), summary.estimate(b"b"), summary.distinct());
    assert_eq!(after, before);
    assert_eq!(summary.estimate(b"c").upper_bound, 0);
    assert_eq!(summary.top_k(10, ErrorType::NoFalseNegatives).len(), 2);
}

#[test]
fn batch_at_exact_limit_accepted() {
    let mut summary = Summary::new(Config::default()).unwrap();
    summary.update(b"a", 10).unwrap();

    summary.update_batch(&Batch::new(b"ab", &[1, 2], Some(&[5, u64::MAX - 15])).unwrap()).unwrap();

    assert_eq!(summary.total_weight(), u64::MAX);
    assert_eq!(summary.estimate(b"a").lower_bound, 15);
    assert_eq!(summary.estimate(b"b").lower_bound, u64::MAX - 15);
}

#[test]
fn merge_overflow_leaves_sketch_unchanged() {
    let mut first = Summary::new(Config::default()).unwrap();
    let mut second = Summary::new(Config::default()).unwrap();
    first.update(b"a", u64::MAX - 1).unwrap();
    second.update(b"b", 2).unwrap();

    let error = first.merge(&second).unwrap_err();

    assert!(matches!(error, Error::WeightOverflow { .. }), "{error}");
    assert_eq!(first.total_weight(), u64::MAX - 1);
    assert_eq!(first.estimate(b"b").upper_bound, 0);
}

/// Items whose bytes must come back exactly: empty, embedded NUL, 1 MiB, invalid UTF-8, and
/// "é" in NFC and NFD, which are different byte strings and so different items.
fn unusual_items() -> Vec<Vec<u8>> {
    vec![
        b"".to_vec(),
        b"a\0b".to_vec(),
        (0..1 << 20).map(|i: u32| (i % 251) as u8).collect(),
        vec![0xFF, 0xFE, 0x80, 0xC3],
        b"\xc3\xa9".to_vec(),
        b"e\xcc\x81".to_vec(),
    ]
}

fn assert_unusual_counts(sketch: &FrequentItems) {
    for (index, item) in unusual_items().iter().enumerate() {
        let expected = index as u64 + 1;
        assert_eq!(sketch.lower_bound(item), expected, "item {index}");
        assert_eq!(sketch.upper_bound(item), expected, "item {index}");
    }
    let rows = sketch.top_k(usize::MAX, ErrorType::NoFalsePositives);
    let mut stored: Vec<Vec<u8>> = rows.iter().map(|row| row.item.to_vec()).collect();
    let mut expected = unusual_items();
    stored.sort();
    expected.sort();
    assert_eq!(stored, expected);
}

#[test]
fn unusual_items_exact_both_encodings() {
    let mut summary = Summary::new(Config { max_map_size: 16, ..Config::default() }).unwrap();
    for (index, item) in unusual_items().iter().enumerate() {
        summary.update(item, index as u64 + 1).unwrap();
    }
    assert_unusual_counts(summary.frequent());
    assert_ne!(summary.estimate(b"\xc3\xa9"), summary.estimate(b"e\xcc\x81"));

    let payload = FrequentItems::from_datasketches(&summary.frequent().to_datasketches()).unwrap();
    assert_unusual_counts(&payload);

    let decoded = snapshot::decode(&snapshot::encode(&summary)).unwrap();
    assert_unusual_counts(decoded.frequent());
    assert_eq!(decoded.distinct().round(), 6.0);
}

#[test]
fn unusual_items_survive_merge() {
    let mut first = FrequentItems::new(16).unwrap();
    let mut second = FrequentItems::new(64).unwrap();
    for (index, item) in unusual_items().iter().enumerate() {
        let weight = index as u64 + 1;
        first.update(item, weight / 2).unwrap();
        second.update(item, weight - weight / 2).unwrap();
    }

    first.merge(&second).unwrap();

    assert_unusual_counts(&first);
}

fn windowed_summary(minute: i64, items: &[(&[u8], u64)]) -> Summary {
    let mut summary = Summary::new(Config { count_min_width: 128, count_min_depth: 4, ..Config::default() }).unwrap();
    for (item, weight) in items {
        summary.update(item, *weight).unwrap();
    }
    summary.metadata.window = Some(Window { start: minute * 60_000, end: (minute + 1) * 60_000 });
    summary.metadata.dimension = Some(Dimension { name: b"status".to_vec(), value: b"200".to_vec() });
    summary.metadata.sources = vec![SourceRange { source: b"access.log".to_vec(), start: minute as u64 * 100, end: minute as u64 * 100 + 100 }];
    summary
}

#[test]
fn three_snapshots_merge_exactly() {
    let panes = [
        windowed_summary(0, &[(b"10.0.0.1", 5), (b"10.0.0.2", 1), (b"10.0.0.3", 2)]),
        windowed_summary(1, &[(b"10.0.0.1", 3), (b"10.0.0.4", 7)]),
        windowed_summary(2, &[(b"10.0.0.2", 4), (b"10.0.0.5", 1), (b"10.0.0.1", 1)]),
    ];
    let snapshots: Vec<Vec<u8>> = panes.iter().map(snapshot::encode).collect();

    let mut merged = Summary::new(Config { count_min_width: 128, count_min_depth: 4, ..Config::default() }).unwrap();
    for bytes in &snapshots {
        merged.merge(&snapshot::decode(bytes).unwrap()).unwrap();
    }

    assert_eq!(merged.maximum_error(), 0);
    assert_eq!(merged.total_weight(), 24);
    for (item, count) in [(b"10.0.0.1", 9), (b"10.0.0.2", 5), (b"10.0.0.3", 2), (b"10.0.0.4", 7), (b"10.0.0.5", 1)] {
        let estimate = merged.estimate(item);
        assert_eq!((estimate.estimate, estimate.lower_bound, estimate.upper_bound), (count, count, count), "{item:?}");
    }
    let top: Vec<&[u8]> = merged.top_k(2, ErrorType::NoFalsePositives).iter().map(|row| row.item).collect();
    assert_eq!(top, [&b"10.0.0.1"[..], b"10.0.0.4"]);
    assert_eq!(merged.metadata.window, Some(Window { start: 0, end: 180_000 }));
    assert_eq!(merged.metadata.sources, vec![SourceRange { source: b"access.log".to_vec(), start: 0, end: 300 }]);
    assert_eq!(merged.distinct().round(), 5.0);
}

#[test]
fn top_k_beyond_tracked_returns_all() {
    let mut sketch = FrequentItems::new(64).unwrap();
    for id in 0..20u64 {
        sketch.update(id.to_string().as_bytes(), id + 1).unwrap();
    }

    for k in [20, 21, 1000, u32::MAX as usize, usize::MAX] {
        let rows = sketch.top_k(k, ErrorType::NoFalseNegatives);
        assert_eq!(rows.len(), 20, "k = {k}");
        assert_eq!(rows[0].item, b"19");
        assert!(rows.windows(2).all(|pair| pair[0].estimate >= pair[1].estimate));
    }
    assert_eq!(sketch.top_k(5, ErrorType::NoFalseNegatives).len(), 5);
    assert!(sketch.top_k(0, ErrorType::NoFalseNegatives).is_empty());
}

#[test]
fn top_k_ties_ordered_by_item() {
    let mut sketch = FrequentItems::new(64).unwrap();
    for item in [b"c", b"a", b"b"] {
        sketch.update(item, 3).unwrap();
    }

    let rows: Vec<&[u8]> = sketch.top_k(2, ErrorType::NoFalseNegatives).iter().map(|row| row.item).collect();

    assert_eq!(rows, [&b"a"[..], b"b"]);
}

#[test]
fn zero_weight_changes_nothing() {
    let mut summary = Summary::new(Config::default()).unwrap();

    summary.update(b"a", 0).unwrap();
    summary.update_batch(&Batch::new(b"bc", &[1, 2], Some(&[0, 0])).unwrap()).unwrap();

    assert_eq!(summary.total_weight(), 0);
    assert!(summary.top_k(10, ErrorType::NoFalseNegatives).is_empty());
    assert_eq!(summary.distinct(), 0.0);
}

#[test]
fn merge_rejects_other_dimension() {
    let mut first = windowed_summary(0, &[(b"a", 1)]);
    let mut second = windowed_summary(1, &[(b"a", 1)]);
    second.metadata.dimension = Some(Dimension { name: b"status".to_vec(), value: b"404".to_vec() });

    let error = first.merge(&second).unwrap_err();

    assert!(matches!(error, Error::Incompatible { what: "dimension", .. }), "{error}");
    assert_eq!(first.total_weight(), 1);
    assert!(error.to_string().contains("status=404"), "{error}");
}

#[test]
fn merge_rejects_other_count_min_shape() {
    let mut first = Summary::new(Config { count_min_width: 64, count_min_depth: 2, ..Config::default() }).unwrap();
    let second = Summary::new(Config { count_min_width: 32, count_min_depth: 2, ..Config::default() }).unwrap();
    first.update(b"a", 1).unwrap();

    let error = first.merge(&second).unwrap_err();

    assert!(matches!(error, Error::Incompatible { .. }), "{error}");
}

#[test]
fn invalid_config_names_value() {
    let cases = [
        (Config { max_map_size: 1000, ..Config::default() }, "1000"),
        (Config { max_map_size: 4, ..Config::default() }, "4"),
        (Config { hll_precision: 3, ..Config::default() }, "3"),
        (Config { count_min_width: 16, count_min_depth: 0, ..Config::default() }, "0"),
        (Config { count_min_width: 1 << 25, count_min_depth: 4, ..Config::default() }, "134217728"),
    ];

    for (config, value) in cases {
        let error = Summary::new(config).unwrap_err();
        assert!(matches!(error, Error::InvalidParameter { .. }), "{config:?}: {error}");
        assert!(error.to_string().contains(value), "{config:?}: {error}");
    }
}

#[test]
fn reset_clears_everything() {
    let mut summary = windowed_summary(0, &[(b"a", 3), (b"b", 1)]);

    summary.reset();

    assert_eq!(summary.total_weight(), 0);
    assert_eq!(summary.metadata, Default::default());
    assert_eq!(summary.estimate(b"a").upper_bound, 0);
    assert_eq!(summary.distinct(), 0.0);
    assert_eq!(summary.config().count_min_width, 128);
}
