//! Hostile and damaged inputs to both decoders: each must return a typed [`Error`] and never
//! panic, whatever the bytes.

mod common;

use proptest::prelude::*;
use topk_sketch::snapshot::{self, Dimension, SourceRange, Window};
use topk_sketch::{Config, Error, FrequentItems, Summary};

/// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), written here bit by bit so the tests
/// do not share the checksum code they check.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

/// Rewrites the trailing checksum so that only the parser can reject the bytes.
fn fix_crc(bytes: &mut [u8]) {
    let body = bytes.len() - 4;
    let crc = crc32c(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
}

/// Builds a purged sketch with short and long items.
fn purged_sketch() -> FrequentItems {
    let mut sketch = FrequentItems::new(16).unwrap();
    for (item, weight) in common::zipf_stream(11, 400, 100, 1.1, 3) {
        sketch.update(&item, weight).unwrap();
    }
    assert!(sketch.maximum_error() > 0);
    sketch
}

/// Builds a summary that uses every part of the envelope: window, watermark, dimension, sources,
/// counters and Count-Min.
fn full_summary() -> Summary {
    let mut summary = Summary::new(Config { max_map_size: 16, hll_precision: 4, count_min_width: 8, count_min_depth: 2 }).unwrap();
    for (item, weight) in common::zipf_stream(12, 200, 60, 1.1, 3) {
        summary.update(&item, weight).unwrap();
    }
    summary.metadata.window = Some(Window { start: 60_000, end: 120_000 });
    summary.metadata.watermark = Some(118_000);
    summary.metadata.dimension = Some(Dimension { name: b"status".to_vec(), value: b"404".to_vec() });
    summary.metadata.sources = vec![SourceRange { source: b"p-0".to_vec(), start: 5, end: 205 }];
    summary.metadata.late_events = 3;
    summary.metadata.malformed_records = 1;
    summary
}

/// Position of the frequent-items payload inside a snapshot.
fn payload_position(envelope: &[u8], payload: &[u8]) -> usize {
    envelope.windows(payload.len()).position(|window| window == payload).expect("the snapshot embeds the payload")
}

fn set_u32(bytes: &mut [u8], at: usize, value: u32) {
    bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

/// Offset of the first item's length field in a payload: after the 32-byte preamble and one
/// u64 count per active item.
fn first_item_length_at(payload: &[u8]) -> usize {
    let active = u32::from_le_bytes(payload[8..12].try_into().unwrap()) as usize;
    32 + active * 8
}

/// Applies `edit` to the payload on its own and inside a snapshot (checksum fixed), and returns
/// both decode results.
fn decode_edited(edit: impl Fn(&mut [u8])) -> (Result<FrequentItems, Error>, Result<Summary, Error>) {
    let mut summary = Summary::new(Config { max_map_size: 16, ..Config::default() }).unwrap();
    for (item, weight) in common::zipf_stream(13, 300, 100, 1.1, 3) {
        summary.update(&item, weight).unwrap();
    }
    let mut payload = summary.frequent().to_datasketches();
    let mut envelope = snapshot::encode(&summary);
    let at = payload_position(&envelope, &payload);

    edit(&mut payload);
    edit(&mut envelope[at..at + payload.len()]);
    fix_crc(&mut envelope);
    (FrequentItems::from_datasketches(&payload), snapshot::decode(&envelope))
}

fn assert_malformed<T: std::fmt::Debug>(result: Result<T, Error>, expected_field: &str) {
    match result {
        Err(Error::Malformed { field, .. }) => assert_eq!(field, expected_field),
        other => panic!("expected a malformed {expected_field}, got {other:?}"),
    }
}

#[test]
fn lg_max_0xff_rejected() {
    let (payload, envelope) = decode_edited(|payload| payload[3] = 0xFF);

    assert_malformed(payload, "lg max map size");
    assert_malformed(envelope, "lg max map size");
}

#[test]
fn envelope_lg_max_mismatch_rejected() {
    let mut envelope = snapshot::encode(&full_summary());
    envelope[8] = 0xFF;
    fix_crc(&mut envelope);

    assert_malformed(snapshot::decode(&envelope), "lg max map size");
}

#[test]
fn lg_current_above_max_rejected() {
    let (payload, envelope) = decode_edited(|payload| payload[4] = payload[3] + 1);

    assert_malformed(payload, "lg current map size");
    assert_malformed(envelope, "lg current map size");
}

#[test]
fn active_items_above_capacity_rejected() {
    for active in [13, 1000, u32::MAX] {
        let (payload, envelope) = decode_edited(|payload| {
            // Map size 16 at its maximum: capacity 12.
            assert_eq!(payload[4], 4);
            set_u32(payload, 8, active);
        });

        assert_malformed(payload, "active items");
        assert_malformed(envelope, "active items");
    }
}

#[test]
fn string_length_0x7fffffff_rejected() {
    let (payload, envelope) = decode_edited(|payload| {
        let at = first_item_length_at(payload);
        set_u32(payload, at, 0x7FFF_FFFF);
    });

    for error in [payload.unwrap_err(), envelope.unwrap_err()] {
        assert!(matches!(error, Error::Truncated { field: "item bytes", needed: 0x7FFF_FFFF, .. }), "{error}");
    }
}

#[test]
fn counts_above_total_rejected() {
    let (payload, envelope) = decode_edited(|payload| payload[32..40].copy_from_slice(&u64::MAX.to_le_bytes()));

    assert_malformed(payload, "item counts");
    assert_malformed(envelope, "item counts");
}

#[test]
fn duplicate_item_rejected() {
    let mut sketch = FrequentItems::new(8).unwrap();
    sketch.update(b"aa", 1).unwrap();
    sketch.update(b"bb", 1).unwrap();
    let mut payload = sketch.to_datasketches();
    let tail = payload.len();
    let first_item = payload[tail - 8..tail - 6].to_vec();
    payload[tail - 2..].copy_from_slice(&first_item);

    assert_malformed(FrequentItems::from_datasketches(&payload), "item");
}

#[test]
fn trailing_bytes_rejected() {
    let mut payload = purged_sketch().to_datasketches();
    payload.push(0);

    assert_malformed(FrequentItems::from_datasketches(&payload), "frequent-items payload");
}

#[test]
fn wrong_family_version_preamble_rejected() {
    let valid = purged_sketch().to_datasketches();
    let cases: [(usize, u8, &str); 4] = [(2, 11, "family id"), (1, 2, "serial version"), (0, 3, "preamble longs"), (5, 0x05, "empty flag")];

    for (at, value, field) in cases {
        let mut payload = valid.clone();
        payload[at] = value;
        assert_malformed(FrequentItems::from_datasketches(&payload), field);
    }
}

#[test]
fn every_payload_truncation_rejected() {
    for payload in [purged_sketch().to_datasketches(), FrequentItems::new(64).unwrap().to_datasketches()] {
        for len in 0..payload.len() {
            let result = FrequentItems::from_datasketches(&payload[..len]);

            assert!(matches!(result, Err(Error::Truncated { .. })), "prefix of {len} bytes: {result:?}");
        }
    }
}

#[test]
fn every_envelope_truncation_rejected() {
    let envelope = snapshot::encode(&full_summary());

    for len in 0..envelope.len() {
        let result = snapshot::decode(&envelope[..len]);

        assert!(result.is_err(), "prefix of {len} bytes decoded");
    }
}

#[test]
fn every_truncation_with_fixed_crc_rejected() {
    // Cutting the body and appending its own checksum leaves the parser to find the damage.
    for summary in [full_summary(), Summary::new(Config::default()).unwrap()] {
        let envelope = snapshot::encode(&summary);
        let body = &envelope[..envelope.len() - 4];

        for len in 6..body.len() {
            let mut cut = body[..len].to_vec();
            cut.extend_from_slice(&crc32c(&cut).to_le_bytes());

            let result = snapshot::decode(&cut);

            assert!(matches!(result, Err(Error::Truncated { .. } | Error::Malformed { .. })), "body prefix of {len} bytes: {result:?}");
        }
    }
}

#[test]
fn checksum_mismatch_reported() {
    let mut envelope = snapshot::encode(&full_summary());
    let at = envelope.len() / 2;
    envelope[at] ^= 0x40;

    let error = snapshot::decode(&envelope).unwrap_err();

    assert!(matches!(error, Error::Checksum { .. }), "{error}");
    assert!(error.to_string().contains("corrupted"), "{error}");
}

/// A change made to a valid snapshot before the checksum is fixed.
type Edit = Box<dyn Fn(&mut Vec<u8>)>;

#[test]
fn hostile_envelope_fields_rejected() {
    let valid = snapshot::encode(&Summary::new(Config::default()).unwrap());
    // Header: magic 0..4, version 4..6, kind 6, flags 7, lg max 8, precision 9, depth 10,
    // reserved 11, width 12..16; with no flags the counters and the source count follow.
    let cases: Vec<(&str, Edit)> = vec![
        ("magic", Box::new(|bytes| bytes[0] = b'X')),
        ("format version", Box::new(|bytes| bytes[4] = 2)),
        ("kind", Box::new(|bytes| bytes[6] = 9)),
        ("flags", Box::new(|bytes| bytes[7] = 0x10)),
        ("hyperloglog precision", Box::new(|bytes| bytes[9] = 0xFF)),
        ("source count", Box::new(|bytes| bytes[32..34].copy_from_slice(&0xFFFFu16.to_le_bytes()))),
        ("window", Box::new(|bytes| bytes[7] = 0x01)),
        ("dimension", Box::new(|bytes| bytes[7] = 0x04)),
        ("count-min", Box::new(|bytes| bytes[7] = 0x08)),
    ];

    for (name, edit) in cases {
        let mut bytes = valid.clone();
        edit(&mut bytes);
        fix_crc(&mut bytes);

        let result = snapshot::decode(&bytes);

        assert!(matches!(result, Err(Error::Malformed { .. } | Error::Truncated { .. })), "{name}: {result:?}");
    }
}

#[test]
fn window_end_before_start_rejected() {
    let mut summary = full_summary();
    summary.metadata.window = Some(Window { start: 10, end: 5 });

    assert_malformed(snapshot::decode(&snapshot::encode(&summary)), "window end");
}

/// Exercises a sketch that a decoder accepted: every query and a re-encoding must work.
fn use_decoded(summary: &Summary) {
    let rows = summary.top_k(usize::MAX, topk_sketch::ErrorType::NoFalseNegatives);
    for row in &rows {
        let estimate = summary.estimate(row.item);
        assert!(estimate.lower_bound <= estimate.upper_bound);
    }
    let _ = summary.distinct();
    let again = snapshot::decode(&snapshot::encode(summary)).expect("a decoded summary re-encodes to a valid snapshot");
    assert_eq!(again.total_weight(), summary.total_weight());
    let mut merged = Summary::new(summary.config()).unwrap();
    let _ = merged.merge(summary);
}

fn flips() -> impl Strategy<Value = Vec<(usize, u8)>> {
    prop::collection::vec((any::<usize>(), 1u8..=255), 1..6)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn flipped_payload_never_panics(flips in flips(), cut in any::<usize>()) {
        let mut payload = purged_sketch().to_datasketches();
        for (at, mask) in flips {
            let len = payload.len();
            payload[at % len] ^= mask;
        }
        payload.truncate(payload.len() - cut % 3);

        if let Ok(sketch) = FrequentItems::from_datasketches(&payload) {
            let again = FrequentItems::from_datasketches(&sketch.to_datasketches());
            prop_assert!(again.is_ok(), "re-encoding failed: {:?}", again);
            let _ = sketch.top_k(usize::MAX, topk_sketch::ErrorType::NoFalsePositives);
        }
    }

    #[test]
    fn flipped_envelope_never_panics(flips in flips(), fix in any::<bool>()) {
        let mut envelope = snapshot::encode(&full_summary());
        for (at, mask) in flips {
            let len = envelope.len();
            envelope[at % len] ^= mask;
        }
        if fix {
            fix_crc(&mut envelope);
        }

        if let Ok(summary) = snapshot::decode(&envelope) {
            use_decoded(&summary);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), as_snapshot in any::<bool>()) {
        if as_snapshot {
            let mut envelope = b"TOPK\x01\x00".to_vec();
            envelope.extend_from_slice(&bytes);
            envelope.extend_from_slice(&[0; 4]);
            fix_crc(&mut envelope);
            if let Ok(summary) = snapshot::decode(&envelope) {
                use_decoded(&summary);
            }
        } else if let Ok(sketch) = FrequentItems::from_datasketches(&bytes) {
            prop_assert!(FrequentItems::from_datasketches(&sketch.to_datasketches()).is_ok());
        }
    }
}
