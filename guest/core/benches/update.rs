//! Update throughput of the frequent-items sketch against DataSketches and exact counting.
//!
//! One stream of 1,000,000 Zipf(1.1) draws over 1,000,000 item ids (seeded, generated before
//! timing) is counted four ways, once with IPv4-address string items and once with 8-byte
//! items: `FrequentItems::update`, `Summary::update_batch` (default `Config`), the
//! `datasketches` 0.6.0 `FrequentItemsSketch`, and an exact `HashMap`. Every sketch has maximum
//! map size 1024.
//!
//! Times are the CPU time of the benchmark thread (Linux `/proc/thread-self/schedstat`), not
//! wall time, so other processes on a shared machine slow the figures less. Where that file is
//! missing, wall time is used.
//!
//! Run: `cargo bench -p topk-sketch --bench update`.

use std::collections::HashMap;
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use datasketches::frequencies::FrequentItemsSketch;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::Zipf;
use topk_sketch::{Batch, Config, FrequentItems, Summary};

const UPDATES: usize = 1_000_000;
const UNIVERSE: u64 = 1_000_000;
const EXPONENT: f64 = 1.1;
const SEED: u64 = 0x5eed_2026;
const MAX_MAP_SIZE: usize = 1024;

/// Draws the stream of item ids, each in `0..UNIVERSE`.
fn zipf_ids() -> Vec<u64> {
    let mut rng = StdRng::seed_from_u64(SEED);
    let zipf = Zipf::new(UNIVERSE, EXPONENT).expect("Zipf parameters are valid");
    (0..UPDATES).map(|_| rng.sample(zipf) as u64 - 1).collect()
}

/// Formats an id as an IPv4 address in 10.0.0.0/8, like a client IP column.
fn ip_of(id: u64) -> String {
    format!("10.{}.{}.{}", (id >> 16) & 0xFF, (id >> 8) & 0xFF, id & 0xFF)
}

/// The string items packed as one buffer with end offsets, the layout `Batch` borrows.
struct Packed {
    data: Vec<u8>,
    ends: Vec<u32>,
}

impl Packed {
    fn new<'a>(items: impl Iterator<Item = &'a [u8]>) -> Self {
        let mut packed = Packed { data: Vec::new(), ends: Vec::new() };
        for item in items {
            packed.data.extend_from_slice(item);
            packed.ends.push(packed.data.len() as u32);
        }
        packed
    }

    fn batch(&self) -> Batch<'_> {
        Batch::new(&self.data, &self.ends, None).expect("the packed offsets are valid")
    }
}

/// Criterion measurement of the CPU time the current thread has run, in nanoseconds.
struct ThreadCpuTime;

/// Returns the CPU time of the current thread in nanoseconds, or the wall time since the first
/// call when the kernel does not report it.
fn thread_cpu_nanos() -> u64 {
    let cpu = std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|text| text.split_whitespace().next().and_then(|field| field.parse().ok()));
    match cpu {
        Some(nanos) => nanos,
        None => {
            static EPOCH: OnceLock<Instant> = OnceLock::new();
            EPOCH.get_or_init(Instant::now).elapsed().as_nanos() as u64
        }
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_nanos()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_nanos().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &NanosFormatter
    }
}

/// Shows times in milliseconds and throughput in million elements per second.
struct NanosFormatter;

impl ValueFormatter for NanosFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        values.iter_mut().for_each(|value| *value /= 1e6);
        "ms"
    }

    fn scale_throughputs(&self, _typical: f64, throughput: &Throughput, values: &mut [f64]) -> &'static str {
        let per_iteration = match *throughput {
            Throughput::Elements(count) | Throughput::Bytes(count) | Throughput::BytesDecimal(count) => count as f64,
        };
        values.iter_mut().for_each(|value| *value = per_iteration * 1e3 / *value);
        "Melem/s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn configure(group: &mut BenchmarkGroup<'_, ThreadCpuTime>) {
    group.throughput(Throughput::Elements(UPDATES as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(3));
}

fn string_items(c: &mut Criterion<ThreadCpuTime>) {
    let strings: Vec<String> = zipf_ids().into_iter().map(ip_of).collect();
    let packed = Packed::new(strings.iter().map(|item| item.as_bytes()));
    let mut group = c.benchmark_group("string items");
    configure(&mut group);

    group.bench_function("topk FrequentItems::update", |b| {
        b.iter(|| {
            let mut sketch = FrequentItems::new(MAX_MAP_SIZE).unwrap();
            for item in &strings {
                sketch.update(item.as_bytes(), 1).unwrap();
            }
            black_box(sketch.maximum_error())
        })
    });
    group.bench_function("topk Summary::update_batch", |b| {
        b.iter(|| {
            let mut summary = Summary::new(Config::default()).unwrap();
            summary.update_batch(&packed.batch()).unwrap();
            black_box(summary.maximum_error())
        })
    });
    // The borrowed-item update is the fastest DataSketches path: it allocates a String only
    // when an item is newly inserted, as ours copies bytes only then.
    group.bench_function("datasketches FrequentItemsSketch<String>", |b| {
        b.iter(|| {
            let mut sketch = FrequentItemsSketch::<String>::new(MAX_MAP_SIZE).unwrap();
            for item in &strings {
                sketch.update_with_count_ref(item.as_str(), 1);
            }
            black_box(sketch.maximum_error())
        })
    });
    group.bench_function("exact HashMap (ahash)", |b| {
        b.iter(|| {
            let mut counts: HashMap<Box<[u8]>, u64, ahash::RandomState> = HashMap::default();
            for item in &strings {
                match counts.get_mut(item.as_bytes()) {
                    Some(count) => *count += 1,
                    None => {
                        counts.insert(item.as_bytes().into(), 1);
                    }
                }
            }
            black_box(counts.len())
        })
    });
    group.finish();
}

fn u64_items(c: &mut Criterion<ThreadCpuTime>) {
    let ids = zipf_ids();
    let keys: Vec<[u8; 8]> = ids.iter().map(|id| id.to_le_bytes()).collect();
    let packed = Packed::new(keys.iter().map(|key| &key[..]));
    let mut group = c.benchmark_group("u64 items");
    configure(&mut group);

    group.bench_function("topk FrequentItems::update", |b| {
        b.iter(|| {
            let mut sketch = FrequentItems::new(MAX_MAP_SIZE).unwrap();
            for key in &keys {
                sketch.update(key, 1).unwrap();
            }
            black_box(sketch.maximum_error())
        })
    });
    group.bench_function("topk Summary::update_batch", |b| {
        b.iter(|| {
            let mut summary = Summary::new(Config::default()).unwrap();
            summary.update_batch(&packed.batch()).unwrap();
            black_box(summary.maximum_error())
        })
    });
    group.bench_function("datasketches FrequentItemsSketch<i64>", |b| {
        b.iter(|| {
            let mut sketch = FrequentItemsSketch::<i64>::new(MAX_MAP_SIZE).unwrap();
            for &id in &ids {
                sketch.update(id as i64);
            }
            black_box(sketch.maximum_error())
        })
    });
    group.bench_function("exact HashMap (foldhash)", |b| {
        b.iter(|| {
            let mut counts: HashMap<u64, u64, foldhash::fast::RandomState> = HashMap::default();
            for &id in &ids {
                *counts.entry(id).or_insert(0) += 1;
            }
            black_box(counts.len())
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = string_items, u64_items
}
criterion_main!(benches);
