//! Interoperability with the `datasketches` crate 0.6.0 (Apache DataSketches for Rust): each
//! side decodes the other's frequent-items bytes and returns the same query results.

mod common;

use common::{absent_items, zipf_stream, Update};
use datasketches::frequencies::{ErrorType as TheirErrorType, FrequentItemsSketch};
use proptest::prelude::*;
use topk_sketch::{ErrorType, FrequentItems};

type Theirs = FrequentItemsSketch<String>;

/// Rows as sorted `(item, estimate, lower, upper)` tuples, comparable across the two crates.
type Rows = Vec<(Vec<u8>, u64, u64, u64)>;

fn our_rows(sketch: &FrequentItems, error_type: ErrorType) -> Rows {
    common::answers(sketch, error_type)
}

fn their_rows(sketch: &Theirs, error_type: TheirErrorType) -> Rows {
    let mut rows: Rows = sketch
        .frequent_items(error_type)
        .iter()
        .map(|row| (row.item().as_bytes().to_vec(), row.estimate(), row.lower_bound(), row.upper_bound()))
        .collect();
    rows.sort();
    rows
}

/// Asserts that both sketches return the same bounds for every item of `updates`, for a few
/// absent items, and for the whole-sketch queries.
fn assert_same_answers(ours: &FrequentItems, theirs: &Theirs, updates: &[Update]) {
    assert_eq!(ours.total_weight(), theirs.total_weight(), "total weight");
    assert_eq!(ours.maximum_error(), theirs.maximum_error(), "maximum error");
    assert_eq!(ours.active_items(), theirs.num_active_items(), "active items");
    assert_eq!(ours.max_map_size(), theirs.max_map_size(), "max map size");
    assert_eq!(ours.is_empty(), theirs.is_empty(), "emptiness");

    let absent = absent_items();
    let items = updates.iter().map(|(item, _)| item).chain(absent.iter().filter(|item| std::str::from_utf8(item).is_ok()));
    for item in items {
        let text = std::str::from_utf8(item).expect("interop items are UTF-8");
        assert_eq!(ours.estimate(item), theirs.estimate(text), "estimate of {text:?}");
        assert_eq!(ours.lower_bound(item), theirs.lower_bound(text), "lower bound of {text:?}");
        assert_eq!(ours.upper_bound(item), theirs.upper_bound(text), "upper bound of {text:?}");
    }

    assert_eq!(our_rows(ours, ErrorType::NoFalseNegatives), their_rows(theirs, TheirErrorType::NoFalseNegatives));
    assert_eq!(our_rows(ours, ErrorType::NoFalsePositives), their_rows(theirs, TheirErrorType::NoFalsePositives));
}

fn ours_of(max_map_size: usize, updates: &[Update]) -> FrequentItems {
    common::sketch_of(max_map_size, updates)
}

fn theirs_of(max_map_size: usize, updates: &[Update]) -> Theirs {
    let mut sketch = Theirs::new(max_map_size).unwrap();
    for (item, weight) in updates {
        sketch.update_with_count(String::from_utf8(item.clone()).unwrap(), *weight);
    }
    sketch
}

#[test]
fn ours_decode_in_datasketches() {
    let updates = zipf_stream(1, 5000, 2000, 1.1, 3);
    let ours = ours_of(256, &updates);
    assert!(ours.maximum_error() > 0, "the stream must purge the sketch");

    let theirs = Theirs::deserialize(&ours.to_datasketches()).unwrap();

    assert_same_answers(&ours, &theirs, &updates);
}

#[test]
fn datasketches_decode_in_ours() {
    let updates = zipf_stream(2, 5000, 2000, 1.1, 3);
    let theirs = theirs_of(256, &updates);
    assert!(theirs.maximum_error() > 0, "the stream must purge the sketch");

    let ours = FrequentItems::from_datasketches(&theirs.serialize()).unwrap();

    assert_same_answers(&ours, &theirs, &updates);
}

#[test]
fn exact_sketch_both_ways() {
    let updates = zipf_stream(3, 300, 40, 1.0, 5);
    let ours = ours_of(128, &updates);
    let theirs = theirs_of(128, &updates);
    assert_eq!(ours.maximum_error(), 0);

    let ours_there = Theirs::deserialize(&ours.to_datasketches()).unwrap();
    let theirs_here = FrequentItems::from_datasketches(&theirs.serialize()).unwrap();

    assert_same_answers(&ours, &ours_there, &updates);
    assert_same_answers(&theirs_here, &theirs, &updates);
    // Built from the same stream without purges, both sides hold the same counts.
    assert_same_answers(&ours, &theirs, &updates);
}

#[test]
fn purged_map_size_8_both_ways() {
    let updates: Vec<Update> = (0..40u64).map(|id| (format!("item-{}", id % 13).into_bytes(), id % 5 + 1)).collect();
    let ours = ours_of(8, &updates);
    let theirs = theirs_of(8, &updates);
    assert!(ours.maximum_error() > 0);
    assert!(theirs.maximum_error() > 0);

    assert_same_answers(&ours, &Theirs::deserialize(&ours.to_datasketches()).unwrap(), &updates);
    assert_same_answers(&FrequentItems::from_datasketches(&theirs.serialize()).unwrap(), &theirs, &updates);
}

#[test]
fn empty_sketch_both_ways() {
    let ours = FrequentItems::new(64).unwrap();
    let theirs = Theirs::new(64).unwrap();

    // A fresh empty sketch has the same 8-byte image on both sides.
    assert_eq!(ours.to_datasketches(), theirs.serialize());
    let ours_there = Theirs::deserialize(&ours.to_datasketches()).unwrap();
    let theirs_here = FrequentItems::from_datasketches(&theirs.serialize()).unwrap();

    assert!(ours_there.is_empty());
    assert!(theirs_here.is_empty());
    assert_same_answers(&ours, &ours_there, &[]);
    assert_same_answers(&theirs_here, &theirs, &[]);
}

#[test]
fn datasketches_reset_sketch_decodes_empty() {
    // A sketch that grew and was reset writes its current map size; that must still read.
    let mut theirs = theirs_of(1024, &zipf_stream(4, 2000, 500, 1.0, 1));
    theirs.reset();

    let ours = FrequentItems::from_datasketches(&theirs.serialize()).unwrap();

    assert!(ours.is_empty());
    assert_eq!(ours.max_map_size(), 1024);
    assert_same_answers(&ours, &theirs, &[]);
}

#[test]
fn two_hops_keep_answers() {
    let updates = zipf_stream(5, 3000, 1000, 1.2, 10);
    let ours = ours_of(64, &updates);

    let there = Theirs::deserialize(&ours.to_datasketches()).unwrap();
    let back = FrequentItems::from_datasketches(&there.serialize()).unwrap();

    assert_same_answers(&back, &there, &updates);
    assert_eq!(our_rows(&back, ErrorType::NoFalseNegatives), our_rows(&ours, ErrorType::NoFalseNegatives));
}

#[test]
fn merged_across_libraries_keeps_bounds() {
    let first = zipf_stream(6, 2000, 800, 1.1, 2);
    let second = zipf_stream(7, 2000, 800, 1.1, 2);
    let mut ours = ours_of(64, &first);
    let theirs = theirs_of(128, &second);
    let exact = {
        let mut exact = common::Exact::of(&first);
        exact.add(&second);
        exact
    };

    ours.merge(&FrequentItems::from_datasketches(&theirs.serialize()).unwrap()).unwrap();

    assert_eq!(common::check_sketch_bounds(&ours, &exact), Ok(()));
}

/// UTF-8 items for the property tests: short words over a small alphabet, some repeated.
fn utf8_stream() -> impl Strategy<Value = Vec<Update>> {
    prop::collection::vec(("[a-eé]{0,3}", 1u64..20).prop_map(|(item, weight)| (item.into_bytes(), weight)), 0..400)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn ours_to_datasketches_any_stream(lg in 3u32..=6, updates in utf8_stream()) {
        let ours = ours_of(1 << lg, &updates);

        let theirs = Theirs::deserialize(&ours.to_datasketches()).unwrap();

        assert_same_answers(&ours, &theirs, &updates);
    }

    #[test]
    fn datasketches_to_ours_any_stream(lg in 3u32..=6, updates in utf8_stream()) {
        let theirs = theirs_of(1 << lg, &updates);

        let ours = FrequentItems::from_datasketches(&theirs.serialize()).unwrap();

        assert_same_answers(&ours, &theirs, &updates);
    }
}
