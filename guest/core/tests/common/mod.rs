//! Streams and exact counts shared by the integration tests.
//!
//! Each test binary includes this module and uses a different subset, so unused helpers are
//! expected in some of them.
#![allow(dead_code)]

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::Zipf;
use topk_sketch::{ErrorType, FrequentItems, Summary};

/// One update: an item's bytes and its weight.
pub type Update = (Vec<u8>, u64);

/// Exact counts of a stream, the reference every bound is checked against.
#[derive(Debug, Default, Clone)]
pub struct Exact {
    pub counts: HashMap<Vec<u8>, u64>,
    pub total: u64,
}

impl Exact {
    pub fn of(updates: &[Update]) -> Self {
        let mut exact = Exact::default();
        exact.add(updates);
        exact
    }

    pub fn add(&mut self, updates: &[Update]) {
        for (item, weight) in updates {
            if *weight == 0 {
                continue;
            }
            *self.counts.entry(item.clone()).or_insert(0) += weight;
            self.total += weight;
        }
    }

    pub fn count(&self, item: &[u8]) -> u64 {
        self.counts.get(item).copied().unwrap_or(0)
    }
}

/// Names item `id`. Every seventh id gets a long prefix so that items above the inline size
/// (22 bytes) are stored on the heap and exercised too.
pub fn item_name(id: u64) -> Vec<u8> {
    if id % 7 == 3 {
        format!("/static/assets/images/very/long/path/{id}.png").into_bytes()
    } else {
        id.to_string().into_bytes()
    }
}

/// Draws `len` Zipf(`exponent`) item ids over `universe` ids with weights in `1..=max_weight`.
pub fn zipf_stream(seed: u64, len: usize, universe: u64, exponent: f64, max_weight: u64) -> Vec<Update> {
    let mut rng = StdRng::seed_from_u64(seed);
    let zipf = Zipf::new(universe, exponent).expect("Zipf parameters are valid");
    (0..len)
        .map(|_| {
            let id = rng.sample(zipf) as u64;
            (item_name(id), rng.gen_range(1..=max_weight))
        })
        .collect()
}

/// Items that never occur in the streams above, to check bounds of untracked items.
pub fn absent_items() -> Vec<Vec<u8>> {
    vec![b"absent".to_vec(), b"".to_vec(), b"-1".to_vec(), vec![0xFF; 40]]
}

pub fn sketch_of(max_map_size: usize, updates: &[Update]) -> FrequentItems {
    let mut sketch = FrequentItems::new(max_map_size).unwrap();
    for (item, weight) in updates {
        sketch.update(item, *weight).unwrap();
    }
    sketch
}

/// Checks `lower_bound <= true count <= upper_bound` for every item of `exact` and for some
/// absent items, plus the invariants that tie the bounds to the maximum error.
pub fn check_sketch_bounds(sketch: &FrequentItems, exact: &Exact) -> Result<(), String> {
    if sketch.total_weight() != exact.total {
        return Err(format!("total weight {} != true total {}", sketch.total_weight(), exact.total));
    }
    let error = sketch.maximum_error();
    let items = exact.counts.iter().map(|(item, &count)| (item.as_slice(), count));
    let absent = absent_items();
    for (item, count) in items.chain(absent.iter().map(|item| (item.as_slice(), 0))) {
        let (lower, upper) = (sketch.lower_bound(item), sketch.upper_bound(item));
        if !(lower <= count && count <= upper) {
            return Err(format!("item {:?}: bounds [{lower}, {upper}] miss true count {count}", String::from_utf8_lossy(item)));
        }
        if upper - lower != error {
            return Err(format!("item {:?}: bound width {} != maximum error {error}", String::from_utf8_lossy(item), upper - lower));
        }
        let estimate = sketch.estimate(item);
        let expected = if lower == 0 { 0 } else { upper };
        if estimate != expected {
            return Err(format!("item {:?}: estimate {estimate}, expected {expected}", String::from_utf8_lossy(item)));
        }
    }
    check_rows(
        sketch.top_k(usize::MAX, ErrorType::NoFalseNegatives).iter().map(|row| (row.item, row.lower_bound, row.upper_bound)),
        sketch.top_k(usize::MAX, ErrorType::NoFalsePositives).iter().map(|row| (row.item, row.lower_bound, row.upper_bound)),
        error,
        exact,
    )
}

/// Checks the same bounds on a summary, whose upper bounds may be tightened by Count-Min.
pub fn check_summary_bounds(summary: &Summary, exact: &Exact) -> Result<(), String> {
    if summary.total_weight() != exact.total {
        return Err(format!("total weight {} != true total {}", summary.total_weight(), exact.total));
    }
    let error = summary.maximum_error();
    let items = exact.counts.iter().map(|(item, &count)| (item.as_slice(), count));
    let absent = absent_items();
    for (item, count) in items.chain(absent.iter().map(|item| (item.as_slice(), 0))) {
        let estimate = summary.estimate(item);
        if !(estimate.lower_bound <= count && count <= estimate.upper_bound) {
            return Err(format!("item {:?}: bounds {estimate:?} miss true count {count}", String::from_utf8_lossy(item)));
        }
        if !(estimate.lower_bound <= estimate.estimate && estimate.estimate <= estimate.upper_bound) {
            return Err(format!("item {:?}: estimate outside its bounds {estimate:?}", String::from_utf8_lossy(item)));
        }
    }
    let rows = summary.top_k(usize::MAX, ErrorType::NoFalseNegatives);
    if let Some(pair) = rows.windows(2).find(|pair| pair[0].estimate < pair[1].estimate) {
        return Err(format!("rows out of order: estimate {} before {}", pair[0].estimate, pair[1].estimate));
    }
    for k in [0, 1, 3] {
        if summary.top_k(k, ErrorType::NoFalseNegatives) != rows[..k.min(rows.len())] {
            return Err(format!("top_k({k}) is not the first {k} rows of the full result"));
        }
    }
    check_rows(
        summary.top_k(usize::MAX, ErrorType::NoFalseNegatives).iter().map(|row| (row.item, row.lower_bound, row.upper_bound)),
        summary.top_k(usize::MAX, ErrorType::NoFalsePositives).iter().map(|row| (row.item, row.lower_bound, row.upper_bound)),
        error,
        exact,
    )
}

/// Checks the two `top_k` guarantees: no item truly above the maximum error is missing from
/// the no-false-negatives rows, and every no-false-positives row is truly above it.
fn check_rows<'a>(
    no_false_negatives: impl Iterator<Item = (&'a [u8], u64, u64)>,
    no_false_positives: impl Iterator<Item = (&'a [u8], u64, u64)>,
    error: u64,
    exact: &Exact,
) -> Result<(), String> {
    let mut listed = std::collections::HashSet::new();
    for (item, lower, upper) in no_false_negatives {
        let count = exact.count(item);
        if !(lower <= count && count <= upper) {
            return Err(format!("row {:?}: bounds [{lower}, {upper}] miss true count {count}", String::from_utf8_lossy(item)));
        }
        listed.insert(item.to_vec());
    }
    for (item, &count) in &exact.counts {
        if count > error && !listed.contains(item) {
            return Err(format!("item {:?} with true count {count} > maximum error {error} is missing", String::from_utf8_lossy(item)));
        }
    }
    for (item, _, _) in no_false_positives {
        let count = exact.count(item);
        if count <= error {
            return Err(format!("no-false-positives row {:?} has true count {count} <= maximum error {error}", String::from_utf8_lossy(item)));
        }
    }
    Ok(())
}

/// Checks the a priori error bound `maximum_error <= 3.5 * total / max_map_size`.
pub fn check_error_bound(error: u64, total: u64, max_map_size: usize) -> Result<(), String> {
    let bound = 3.5 * total as f64 / max_map_size as f64;
    if error as f64 > bound {
        return Err(format!("maximum error {error} > 3.5 * {total} / {max_map_size} = {bound}"));
    }
    Ok(())
}

/// Returns every `(item, estimate, lower, upper)` row of a sketch's full `top_k`, sorted by item, for
/// comparing two sketches whose internal orders may differ.
pub fn answers(sketch: &FrequentItems, error_type: ErrorType) -> Vec<(Vec<u8>, u64, u64, u64)> {
    let mut rows: Vec<_> = sketch
        .top_k(usize::MAX, error_type)
        .into_iter()
        .map(|row| (row.item.to_vec(), row.estimate, row.lower_bound, row.upper_bound))
        .collect();
    rows.sort();
    rows
}
