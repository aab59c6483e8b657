//! Properties of the bounds against exact counting, on random and Zipf streams, before and
//! after merges and snapshot round trips.

mod common;

use common::{check_error_bound, check_summary_bounds, check_sketch_bounds, item_name, sketch_of, zipf_stream, Exact, Update};
use proptest::prelude::*;
use topk_sketch::{snapshot, Config, CountMin, ErrorType, FrequentItems, HyperLogLog, Summary};

/// Maximum map sizes small enough that the streams below purge many times.
fn map_size() -> impl Strategy<Value = usize> {
    (3u32..=7).prop_map(|lg| 1usize << lg)
}

/// Weights: mostly small, sometimes large enough that one update outweighs the rest.
fn weight() -> impl Strategy<Value = u64> {
    prop_oneof![8 => 1u64..=10, 1 => 1u64..=1_000_000_000]
}

/// Generates a uniform random stream over a universe of up to 300 items.
fn random_stream() -> impl Strategy<Value = Vec<Update>> {
    (1u64..300).prop_flat_map(|universe| {
        prop::collection::vec((0..universe, weight()).prop_map(|(id, weight)| (item_name(id), weight)), 0..1500)
    })
}

/// Generates a map size and a stream with at most as many distinct items as its capacity.
fn under_capacity() -> impl Strategy<Value = (usize, Vec<Update>)> {
    map_size().prop_flat_map(|max_map_size| {
        let capacity = (max_map_size / 4 * 3) as u64;
        let stream = prop::collection::vec((0..capacity, weight()).prop_map(|(id, weight)| (item_name(id), weight)), 0..1500);
        (Just(max_map_size), stream)
    })
}

/// Generates a Zipf stream from drawn parameters and a seeded generator.
fn zipf() -> impl Strategy<Value = Vec<Update>> {
    (any::<u64>(), 0usize..3000, 10u64..5000, 0.6f64..1.6, prop_oneof![3 => Just(1u64), 1 => 1u64..100])
        .prop_map(|(seed, len, universe, exponent, max_weight)| zipf_stream(seed, len, universe, exponent, max_weight))
}

fn summary_config() -> impl Strategy<Value = Config> {
    (map_size(), 4u8..=14, prop_oneof![Just((0u32, 0u8)), (1u32..512, 1u8..=5)]).prop_map(|(max_map_size, hll_precision, (width, depth))| Config {
        max_map_size: max_map_size as u32,
        hll_precision,
        count_min_width: width,
        count_min_depth: depth,
    })
}

fn summary_of(config: Config, updates: &[Update]) -> Summary {
    let mut summary = Summary::new(config).unwrap();
    for (item, weight) in updates {
        summary.update(item, *weight).unwrap();
    }
    summary
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn frequent_bounds_random_stream(max_map_size in map_size(), updates in random_stream()) {
        let sketch = sketch_of(max_map_size, &updates);
        let exact = Exact::of(&updates);

        prop_assert_eq!(check_sketch_bounds(&sketch, &exact), Ok(()));
        prop_assert_eq!(check_error_bound(sketch.maximum_error(), exact.total, max_map_size), Ok(()));
        prop_assert!(sketch.active_items() <= sketch.capacity());
    }

    #[test]
    fn frequent_bounds_zipf_stream(max_map_size in map_size(), updates in zipf()) {
        let sketch = sketch_of(max_map_size, &updates);
        let exact = Exact::of(&updates);

        prop_assert_eq!(check_sketch_bounds(&sketch, &exact), Ok(()));
        prop_assert_eq!(check_error_bound(sketch.maximum_error(), exact.total, max_map_size), Ok(()));
    }

    #[test]
    fn frequent_exact_under_capacity((max_map_size, updates) in under_capacity()) {
        let sketch = sketch_of(max_map_size, &updates);
        let exact = Exact::of(&updates);

        prop_assert!(exact.counts.len() <= sketch.capacity());
        prop_assert_eq!(sketch.maximum_error(), 0);
        prop_assert_eq!(sketch.active_items(), exact.counts.len());
        for (item, &count) in &exact.counts {
            prop_assert_eq!(sketch.lower_bound(item), count);
            prop_assert_eq!(sketch.upper_bound(item), count);
            prop_assert_eq!(sketch.estimate(item), count);
        }
    }

    #[test]
    fn frequent_merge_bounds(
        sizes in prop::collection::vec(map_size(), 3),
        streams in prop::collection::vec(prop_oneof![random_stream(), zipf()], 3),
    ) {
        let mut merged = sketch_of(sizes[0], &streams[0]);
        let mut exact = Exact::of(&streams[0]);
        for (size, stream) in sizes.iter().zip(&streams).skip(1) {
            let other = sketch_of(*size, stream);
            exact.add(stream);
            merged.merge(&other).unwrap();

            prop_assert_eq!(merged.max_map_size(), sizes[0]);
            prop_assert_eq!(check_sketch_bounds(&merged, &exact), Ok(()));
        }
        let smallest = sizes.iter().copied().min().unwrap();
        prop_assert_eq!(check_error_bound(merged.maximum_error(), exact.total, smallest), Ok(()));
    }

    #[test]
    fn frequent_merge_into_empty_is_identity(max_map_size in map_size(), updates in zipf()) {
        let sketch = sketch_of(max_map_size, &updates);
        let mut empty = FrequentItems::new(max_map_size).unwrap();

        empty.merge(&sketch).unwrap();

        prop_assert_eq!(empty.total_weight(), sketch.total_weight());
        prop_assert_eq!(empty.maximum_error(), sketch.maximum_error());
        prop_assert_eq!(common::answers(&empty, ErrorType::NoFalseNegatives), common::answers(&sketch, ErrorType::NoFalseNegatives));
    }

    #[test]
    fn frequent_datasketches_round_trip(max_map_size in map_size(), updates in prop_oneof![random_stream(), zipf()]) {
        let sketch = sketch_of(max_map_size, &updates);
        let exact = Exact::of(&updates);

        let bytes = sketch.to_datasketches();
        let decoded = FrequentItems::from_datasketches(&bytes).unwrap();

        prop_assert_eq!(decoded.max_map_size(), sketch.max_map_size());
        prop_assert_eq!(decoded.total_weight(), sketch.total_weight());
        prop_assert_eq!(decoded.maximum_error(), sketch.maximum_error());
        prop_assert_eq!(common::answers(&decoded, ErrorType::NoFalseNegatives), common::answers(&sketch, ErrorType::NoFalseNegatives));
        prop_assert_eq!(check_sketch_bounds(&decoded, &exact), Ok(()));
        prop_assert_eq!(decoded.to_datasketches(), bytes);
    }

    #[test]
    fn frequent_merge_after_round_trip(
        sizes in (map_size(), map_size()),
        streams in (zipf(), random_stream()),
    ) {
        let first = sketch_of(sizes.0, &streams.0);
        let second = sketch_of(sizes.1, &streams.1);
        let mut exact = Exact::of(&streams.0);
        exact.add(&streams.1);

        let mut merged = FrequentItems::from_datasketches(&first.to_datasketches()).unwrap();
        merged.merge(&FrequentItems::from_datasketches(&second.to_datasketches()).unwrap()).unwrap();

        prop_assert_eq!(check_sketch_bounds(&merged, &exact), Ok(()));
        prop_assert_eq!(check_error_bound(merged.maximum_error(), exact.total, sizes.0.min(sizes.1)), Ok(()));
    }

    #[test]
    fn summary_bounds_random_stream(config in summary_config(), updates in random_stream()) {
        let summary = summary_of(config, &updates);
        let exact = Exact::of(&updates);

        prop_assert_eq!(check_summary_bounds(&summary, &exact), Ok(()));
        prop_assert_eq!(check_error_bound(summary.maximum_error(), exact.total, config.max_map_size as usize), Ok(()));
    }

    #[test]
    fn summary_bounds_zipf_stream(config in summary_config(), updates in zipf()) {
        let summary = summary_of(config, &updates);
        let exact = Exact::of(&updates);

        prop_assert_eq!(check_summary_bounds(&summary, &exact), Ok(()));
        prop_assert_eq!(check_error_bound(summary.maximum_error(), exact.total, config.max_map_size as usize), Ok(()));
    }

    #[test]
    fn summary_exact_under_capacity(config in summary_config(), (max_map_size, updates) in under_capacity()) {
        let summary = summary_of(Config { max_map_size: max_map_size as u32, ..config }, &updates);
        let exact = Exact::of(&updates);

        prop_assert_eq!(summary.maximum_error(), 0);
        prop_assert_eq!(summary.total_weight(), exact.total);
        for (item, &count) in &exact.counts {
            let estimate = summary.estimate(item);
            prop_assert_eq!((estimate.estimate, estimate.lower_bound, estimate.upper_bound), (count, count, count));
        }
    }

    #[test]
    fn summary_merge_bounds(
        configs in prop::collection::vec(summary_config(), 3),
        streams in prop::collection::vec(prop_oneof![random_stream(), zipf()], 3),
    ) {
        // Count-Min shapes must match to merge, so every summary takes the first one's.
        let shape = |config: Config| Config { count_min_width: configs[0].count_min_width, count_min_depth: configs[0].count_min_depth, ..config };
        let mut merged = summary_of(shape(configs[0]), &streams[0]);
        let mut exact = Exact::of(&streams[0]);
        for (config, stream) in configs.iter().zip(&streams).skip(1) {
            let other = summary_of(shape(*config), stream);
            exact.add(stream);
            merged.merge(&other).unwrap();

            prop_assert_eq!(check_summary_bounds(&merged, &exact), Ok(()));
        }
        let smallest = configs.iter().map(|config| config.max_map_size as usize).min().unwrap();
        prop_assert_eq!(check_error_bound(merged.maximum_error(), exact.total, smallest), Ok(()));
        let lowest_precision = configs.iter().map(|config| config.hll_precision).min().unwrap();
        prop_assert_eq!(merged.hyperloglog().precision(), lowest_precision);
        prop_assert_eq!(merged.config().hll_precision, lowest_precision);
    }

    #[test]
    fn summary_snapshot_round_trip(config in summary_config(), updates in prop_oneof![random_stream(), zipf()]) {
        let summary = summary_of(config, &updates);
        let exact = Exact::of(&updates);

        let bytes = snapshot::encode(&summary);
        let decoded = snapshot::decode(&bytes).unwrap();

        prop_assert_eq!(decoded.config(), summary.config());
        prop_assert_eq!(decoded.total_weight(), summary.total_weight());
        prop_assert_eq!(decoded.maximum_error(), summary.maximum_error());
        prop_assert_eq!(decoded.distinct(), summary.distinct());
        prop_assert_eq!(decoded.top_k(usize::MAX, ErrorType::NoFalseNegatives), summary.top_k(usize::MAX, ErrorType::NoFalseNegatives));
        prop_assert_eq!(check_summary_bounds(&decoded, &exact), Ok(()));
        prop_assert_eq!(snapshot::encode(&decoded), bytes);
    }

    #[test]
    fn summary_merge_after_snapshot(
        configs in (summary_config(), map_size()),
        streams in (zipf(), zipf()),
    ) {
        let first = summary_of(configs.0, &streams.0);
        let second = summary_of(Config { max_map_size: configs.1 as u32, ..configs.0 }, &streams.1);
        let mut exact = Exact::of(&streams.0);
        exact.add(&streams.1);

        let mut merged = snapshot::decode(&snapshot::encode(&first)).unwrap();
        merged.merge(&snapshot::decode(&snapshot::encode(&second)).unwrap()).unwrap();
        let merged = snapshot::decode(&snapshot::encode(&merged)).unwrap();

        prop_assert_eq!(check_summary_bounds(&merged, &exact), Ok(()));
    }

    #[test]
    fn count_min_never_underestimates(
        width in 1u32..256,
        depth in 1u8..=6,
        streams in (prop_oneof![random_stream(), zipf()], zipf()),
    ) {
        let mut first = CountMin::new(width, depth).unwrap();
        let mut second = CountMin::new(width, depth).unwrap();
        for (item, weight) in &streams.0 {
            first.update(item, *weight);
        }
        for (item, weight) in &streams.1 {
            second.update(item, *weight);
        }
        let mut exact = Exact::of(&streams.0);
        for (item, &count) in &exact.counts {
            prop_assert!(first.estimate(item) >= count, "item {:?}: estimate {} < {}", item, first.estimate(item), count);
        }

        first.merge(&second).unwrap();
        exact.add(&streams.1);

        for (item, &count) in &exact.counts {
            prop_assert!(first.estimate(item) >= count, "after merge, item {:?}: estimate {} < {}", item, first.estimate(item), count);
        }
    }
}

#[test]
fn hyperloglog_error_at_100k_distinct() {
    let mut sketch = HyperLogLog::new(12).unwrap();
    for id in 0..100_000u64 {
        sketch.update(id.to_string().as_bytes());
        // Repeats must not change the estimate.
        sketch.update(id.to_string().as_bytes());
    }

    let estimate = sketch.estimate();

    let relative_error = (estimate - 100_000.0).abs() / 100_000.0;
    assert!(relative_error < 0.05, "estimate {estimate} is {:.2}% off 100,000", relative_error * 100.0);
}

#[test]
fn hyperloglog_small_counts_exact_enough() {
    for distinct in [1u64, 10, 100, 1000] {
        let mut sketch = HyperLogLog::new(12).unwrap();
        for id in 0..distinct {
            sketch.update(&id.to_le_bytes());
        }

        let estimate = sketch.estimate();

        let relative_error = (estimate - distinct as f64).abs() / distinct as f64;
        assert!(relative_error < 0.03, "{distinct} distinct: estimate {estimate}");
    }
}

#[test]
fn hyperloglog_merge_different_precisions() {
    let mut high = HyperLogLog::new(12).unwrap();
    let mut low = HyperLogLog::new(10).unwrap();
    let mut direct = HyperLogLog::new(10).unwrap();
    for id in 0..60_000u64 {
        high.update(&id.to_le_bytes());
        direct.update(&id.to_le_bytes());
    }
    for id in 40_000..100_000u64 {
        low.update(&id.to_le_bytes());
        direct.update(&id.to_le_bytes());
    }

    let mut high_into_low = low.clone();
    high_into_low.merge(&high);
    let mut low_into_high = high.clone();
    low_into_high.merge(&low);

    // Folding to the lower precision is exact: it gives the registers of a sketch built at
    // that precision from the union of the streams.
    assert_eq!(high_into_low, direct);
    assert_eq!(low_into_high, direct);
    let relative_error = (direct.estimate() - 100_000.0).abs() / 100_000.0;
    assert!(relative_error < 0.1, "estimate {} off 100,000 by more than 10%", direct.estimate());
}

#[test]
fn summary_distinct_merges_different_precisions() {
    let mut first = Summary::new(Config { hll_precision: 14, ..Config::default() }).unwrap();
    let mut second = Summary::new(Config { hll_precision: 11, ..Config::default() }).unwrap();
    for id in 0..30_000u64 {
        first.update(&id.to_le_bytes(), 1).unwrap();
        second.update(&(id + 15_000).to_le_bytes(), 1).unwrap();
    }

    first.merge(&second).unwrap();

    assert_eq!(first.hyperloglog().precision(), 11);
    let relative_error = (first.distinct() - 45_000.0).abs() / 45_000.0;
    assert!(relative_error < 0.1, "distinct {} off 45,000 by more than 10%", first.distinct());
}
