//! The same stream through the component in wasmtime and through native code gives
//! byte-identical snapshots, and snapshots cross between the two.

use topk_e2e::{apache_client_ips, component_path, pack, Guest, WitConfig, WitError, WitMetadata};
use topk_sketch::snapshot::{self, Dimension, Metadata, SourceRange, Window};
use topk_sketch::{Batch, Config, ErrorType, Summary};

fn wit_config(config: Config) -> WitConfig {
    WitConfig {
        max_map_size: config.max_map_size,
        hll_precision: config.hll_precision,
        count_min_width: config.count_min_width,
        count_min_depth: config.count_min_depth,
    }
}

/// Feeds `items` in batches of `batch_size` to both runtimes and returns both snapshots.
fn both_snapshots(config: Config, items: &[Vec<u8>], batch_size: usize) -> (Vec<u8>, Vec<u8>) {
    let mut guest = Guest::load(&component_path()).unwrap();
    let handle = guest.create(wit_config(config)).unwrap();
    let mut native = Summary::new(config).unwrap();

    for chunk in items.chunks(batch_size) {
        let (data, ends) = pack(chunk.iter().map(Vec::as_slice));
        guest.update_batch(handle, &data, &ends, None).unwrap().unwrap();
        native.update_batch(&Batch::new(&data, &ends, None).unwrap()).unwrap();
    }
    (guest.export_snapshot(handle).unwrap(), snapshot::encode(&native))
}

#[test]
fn component_imports_nothing() {
    assert_eq!(Guest::import_count(&component_path()).unwrap(), 0);
}

#[test]
fn exact_sketch_matches_native_bytes() {
    let ips = apache_client_ips().unwrap();
    let config = Config { max_map_size: 4096, ..Config::default() };

    let (guest, native) = both_snapshots(config, &ips, 1000);

    assert_eq!(guest, native);
    let decoded = snapshot::decode(&guest).unwrap();
    assert_eq!(decoded.total_weight(), 10_000);
    assert_eq!(decoded.maximum_error(), 0);
    let top = decoded.top_k(1, ErrorType::NoFalseNegatives);
    assert_eq!((top[0].item, top[0].lower_bound), (&b"66.249.73.135"[..], 482));
}

#[test]
fn purged_sketch_matches_native_bytes() {
    let ips = apache_client_ips().unwrap();
    let config = Config { max_map_size: 64, hll_precision: 10, count_min_width: 512, count_min_depth: 4 };

    let (guest, native) = both_snapshots(config, &ips, 333);

    assert_eq!(guest, native);
    assert!(snapshot::decode(&guest).unwrap().maximum_error() > 0, "map size 64 must purge 1753 distinct IPs");
}

#[test]
fn weighted_batches_match_native_bytes() {
    let items: Vec<Vec<u8>> = (0..5000u32).map(|i| format!("item-{}", i % 97).into_bytes()).collect();
    let weights: Vec<u64> = (0..5000u64).map(|i| i % 13 + 1).collect();
    let config = Config { max_map_size: 32, ..Config::default() };
    let mut guest = Guest::load(&component_path()).unwrap();
    let handle = guest.create(wit_config(config)).unwrap();
    let mut native = Summary::new(config).unwrap();

    let (data, ends) = pack(items.iter().map(Vec::as_slice));
    guest.update_batch(handle, &data, &ends, Some(&weights)).unwrap().unwrap();
    native.update_batch(&Batch::new(&data, &ends, Some(&weights)).unwrap()).unwrap();

    assert_eq!(guest.export_snapshot(handle).unwrap(), snapshot::encode(&native));
}

#[test]
fn metadata_round_trips_through_component() {
    let mut native = Summary::new(Config::default()).unwrap();
    native.update(b"/index.html", 3).unwrap();
    native.metadata = Metadata {
        window: Some(Window { start: 1_431_856_800_000, end: 1_431_860_400_000 }),
        watermark: Some(1_431_860_000_000),
        dimension: Some(Dimension { name: b"status".to_vec(), value: b"404".to_vec() }),
        sources: vec![SourceRange { source: b"apache_logs".to_vec(), start: 0, end: 2_370_789 }],
        late_events: 2,
        malformed_records: 1,
    };
    let bytes = snapshot::encode(&native);
    let mut guest = Guest::load(&component_path()).unwrap();

    let handle = guest.import_snapshot(&bytes).unwrap().unwrap();

    assert_eq!(guest.export_snapshot(handle).unwrap(), bytes);
}

#[test]
fn set_metadata_matches_native_bytes() {
    let mut guest = Guest::load(&component_path()).unwrap();
    let handle = guest.create(wit_config(Config::default())).unwrap();
    let metadata = WitMetadata {
        window: None,
        watermark: Some(-5),
        dimension: None,
        sources: vec![],
        late_events: 7,
        malformed_records: 0,
    };
    guest.set_metadata(handle, &metadata).unwrap();
    let mut native = Summary::new(Config::default()).unwrap();
    native.metadata.watermark = Some(-5);
    native.metadata.late_events = 7;

    assert_eq!(guest.export_snapshot(handle).unwrap(), snapshot::encode(&native));
}

#[test]
fn component_merges_native_snapshot() {
    let ips = apache_client_ips().unwrap();
    let (first, second) = ips.split_at(ips.len() / 2);
    let config = Config { max_map_size: 4096, ..Config::default() };
    let mut native = Summary::new(config).unwrap();
    for ip in second {
        native.update(ip, 1).unwrap();
    }
    let mut guest = Guest::load(&component_path()).unwrap();
    let handle = guest.create(wit_config(config)).unwrap();
    let (data, ends) = pack(first.iter().map(Vec::as_slice));
    guest.update_batch(handle, &data, &ends, None).unwrap().unwrap();

    guest.merge_snapshot(handle, &snapshot::encode(&native)).unwrap().unwrap();

    assert_eq!(guest.total_weight(handle).unwrap(), 10_000);
    let top = guest.top_k(handle, 5).unwrap();
    let expected: [(&str, u64); 5] =
        [("66.249.73.135", 482), ("46.105.14.53", 364), ("130.237.218.86", 357), ("75.97.9.59", 273), ("50.16.19.13", 113)];
    for (row, (item, count)) in top.iter().zip(expected) {
        assert_eq!(row.item, item.as_bytes());
        assert_eq!(row.lower_bound, count);
        assert_eq!(row.upper_bound, count);
    }
}

#[test]
fn component_rejects_bad_input_unchanged() {
    let mut guest = Guest::load(&component_path()).unwrap();
    let handle = guest.create(wit_config(Config::default())).unwrap();
    guest.update_batch(handle, b"ab", &[1, 2], Some(&[u64::MAX, 0])).unwrap().unwrap();

    let overflow = guest.update_batch(handle, b"ab", &[1, 2], Some(&[0, 1])).unwrap();
    let bad_ends = guest.update_batch(handle, b"ab", &[2, 1], None).unwrap();
    let truncated = guest.merge_snapshot(handle, b"TOPK\x01\x00").unwrap();

    assert!(matches!(overflow, Err(WitError::WeightOverflow(_))), "{overflow:?}");
    assert!(matches!(bad_ends, Err(WitError::InvalidParameter(ref message)) if message.contains("end offset")), "{bad_ends:?}");
    assert!(matches!(truncated, Err(WitError::MalformedSnapshot(_))), "{truncated:?}");
    assert_eq!(guest.total_weight(handle).unwrap(), u64::MAX);
}

#[test]
fn component_rejects_invalid_config() {
    let mut guest = Guest::load(&component_path()).unwrap();

    let error = guest.create(WitConfig { max_map_size: 1000, hll_precision: 12, count_min_width: 0, count_min_depth: 0 });

    let message = format!("{:#}", error.err().unwrap());
    assert!(message.contains("max_map_size"), "{message}");
    assert!(message.contains("1000"), "{message}");
}
