//! Batched update throughput: the component in wasmtime against the native core, on the same
//! Zipf(1.1) stream of string items, map size 1024. Run with `cargo bench -p topk-e2e`.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use rand::prelude::*;
use rand_distr::Zipf;
use topk_e2e::{component_path, pack, Guest, WitConfig};
use topk_sketch::{Batch, Config, Summary};

const UPDATES: usize = 1_000_000;
const UNIVERSE: u64 = 1_000_000;
const BATCH: usize = 4096;

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
        b.iter_batched(
            || Summary::new(config).unwrap(),
            |mut summary| {
                for (data, ends) in &batches {
                    summary.update_batch(&Batch::new(data, ends, None).unwrap()).unwrap();
                }
                summary
            },
            BatchSize::LargeInput,
        )
    });

    let mut guest = Guest::load(&component_path()).unwrap();
    let wit_config = WitConfig { max_map_size: 1024, hll_precision: config.hll_precision, count_min_width: 0, count_min_depth: 0 };
    group.bench_function("component", |b| {
        b.iter_batched(
            || guest.create(wit_config).unwrap(),
            |handle| {
                for (data, ends) in &batches {
                    guest.update_batch(handle, data, ends, None).unwrap().unwrap();
                }
                handle
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, update_batches);
criterion_main!(benches);
