//! Batched update throughput: the component in wasmtime against the native core, on the same
//! Zipf(1.1) stream of string items, map size 1024. Run with `cargo bench -p topk-e2e`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rand::prelude::*;
use rand_distr::Zipf;
use topk_e2e::{component_path, pack, Guest, WitConfig};
use topk_sketch::{Batch, Config, Summary};

const UPDATES: usize = 1_000_000;
const UNIVERSE: u64 = 1_000_000;
const BATCH: usize = 4096;

/// CPU time of the calling thread. The guest runs on the benchmark thread, so this measures
/// both sides fairly even when other processes load the machine's two cores.
struct ThreadTime(Duration);

impl ThreadTime {
    fn now() -> Self {
        let mut spec = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: `spec` is a valid, writable timespec and the clock id is a constant Linux supports.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut spec) };
        ThreadTime(Duration::new(spec.tv_sec as u64, spec.tv_nsec as u32))
    }

    fn elapsed(&self) -> Duration {
        ThreadTime::now().0 - self.0
    }
}

/// Returns packed batches of a Zipf(1.1) stream of IP-like strings, fixed seed.
fn zipf_batches() -> Vec<(Vec<u8>, Vec<u32>)> {
    let mut rng = StdRng::seed_from_u64(42);
    let zipf = Zipf::new(UNIVERSE, 1.1).unwrap();
    let items: Vec<Vec<u8>> = (0..UPDATES)
        .map(|_| {
            let rank = zipf.sample(&mut rng) as u64;
            format!("10.{}.{}.{}", rank >> 16, (rank >> 8) & 255, rank & 255).into_bytes()
        })
        .collect();
    items.chunks(BATCH).map(|chunk| pack(chunk.iter().map(Vec::as_slice))).collect()
}

fn update_batches(c: &mut Criterion) {
    let batches = zipf_batches();
    let config = Config { max_map_size: 1024, ..Config::default() };
    let mut group = c.benchmark_group("zipf_strings_batched");
    group.throughput(Throughput::Elements(UPDATES as u64));
    group.sample_size(10);

    group.bench_function("native", |b| {
        b.iter_custom(|iterations| {
            let mut elapsed = Duration::ZERO;
            for _ in 0..iterations {
                let mut summary = Summary::new(config).unwrap();
                let start = ThreadTime::now();
                for (data, ends) in &batches {
                    summary.update_batch(&Batch::new(data, ends, None).unwrap()).unwrap();
                }
                elapsed += start.elapsed();
                black_box(&summary);
            }
            elapsed
        })
    });

    let wit_config = WitConfig { max_map_size: 1024, hll_precision: config.hll_precision, count_min_width: 0, count_min_depth: 0 };
    for (name, epoch_interruption) in [("component", true), ("component_without_epoch_checks", false)] {
        let mut guest = Guest::load_with(&component_path(), epoch_interruption).unwrap();
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iterations {
                    let handle = guest.create(wit_config).unwrap();
                    let start = ThreadTime::now();
                    for (data, ends) in &batches {
                        guest.update_batch(handle, data, ends, None).unwrap().unwrap();
                    }
                    elapsed += start.elapsed();
                    guest.drop_summary(handle).unwrap();
                }
                elapsed
            })
        });
    }
    group.finish();
}

criterion_group!(benches, update_batches);
criterion_main!(benches);
