//! Records per second through fluvio-smartengine: this module against a naive `aggregate` module
//! that decodes and re-encodes the sketch for every record. Ignored by default; run with
//!
//! ```text
//! cargo xtask smartmodule
//! cargo build -p topk-smartmodule --example naive_aggregate --target wasm32-unknown-unknown --profile release-lto
//! cargo test -p topk-smartmodule --release --test engine -- --ignored --nocapture bench
//! ```

use std::time::{Duration, Instant};

use fluvio_smartengine::SmartModuleChainInstance;

use crate::harness::*;

/// Records per engine call, a typical producer batch.
const BATCH: usize = 100;

/// Distinct items in the stream: a small state, as in the naive module's known figure.
const ITEMS: usize = 100;

fn host(index: usize) -> String {
    format!(
        "10.0.{}.{}",
        (index * 7919 % ITEMS) / 256,
        index * 7919 % ITEMS % 256
    )
}

/// Sends `values` in batches and returns the elapsed time, the number of output records and
/// their total bytes.
fn run(chain: &mut SmartModuleChainInstance, values: &[Vec<u8>]) -> (Duration, usize, usize) {
    let started = Instant::now();
    let mut outputs = 0;
    let mut bytes = 0;
    for (index, chunk) in values.chunks(BATCH).enumerate() {
        for output in process(chain, (index * BATCH) as i64, 0, chunk).expect("batch processes") {
            outputs += 1;
            bytes += output.value.len();
        }
    }
    (started.elapsed(), outputs, bytes)
}

fn report(name: &str, records: usize, (elapsed, outputs, bytes): (Duration, usize, usize)) -> f64 {
    let rate = records as f64 / elapsed.as_secs_f64();
    let average = bytes / outputs.max(1);
    println!(
        "{name:<42} {records:>8} records {:>6.2} s {rate:>9.0} records/s {outputs:>6} outputs of {average:>5} bytes on average",
        elapsed.as_secs_f64()
    );
    rate
}

#[test]
#[ignore = "benchmark: run with --release --ignored --nocapture"]
fn bench_records_per_second() {
    let records: usize = std::env::var("TOPK_BENCH_RECORDS")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(1_000_000);
    // The naive module leaks one encoded sketch (over 4 KiB) per record in Fluvio's output
    // buffers, so it gets fewer records to stay under the engine's default 1 GB store limit.
    let naive_records = (records / 20).max(BATCH);

    let json: Vec<Vec<u8>> = (0..records)
        .map(|index| {
            format!(
                r#"{{"host":"{}","time":{}}}"#,
                host(index),
                1_700_000_000_000u64 + index as u64
            )
            .into_bytes()
        })
        .collect();
    let text: Vec<Vec<u8>> = (0..records).map(|index| host(index).into_bytes()).collect();

    let naive = read_wasm(
        "examples/naive_aggregate.wasm",
        "cargo build -p topk-smartmodule --example naive_aggregate --target wasm32-unknown-unknown --profile release-lto",
    );
    let mut naive_chain = chain_with(
        &naive,
        &[],
        ChainOptions {
            accumulator: Some(Vec::new()),
            ..ChainOptions::default()
        },
    )
    .expect("naive chain");
    let naive_rate = report(
        "naive aggregate, default sketch",
        naive_records,
        run(&mut naive_chain, &text[..naive_records]),
    );

    // The smallest sketch the core allows: 8 map slots and 16 HyperLogLog registers.
    let small = [("capacity", "8"), ("hll_precision", "4")];
    let mut small_chain = chain_with(
        &naive,
        &small,
        ChainOptions {
            accumulator: Some(Vec::new()),
            ..ChainOptions::default()
        },
    )
    .expect("naive chain");
    let small_rate = report(
        "naive aggregate, smallest sketch",
        naive_records,
        run(&mut small_chain, &text[..naive_records]),
    );

    let mut text_chain = topk_chain(&[
        ("format", "text"),
        ("regex", "^(.+)$"),
        ("pane_size", "0"),
        ("emit_every", "100000"),
    ]);
    let text_rate = report(
        "topk array_map, text records, regex item",
        records,
        run(&mut text_chain, &text),
    );

    let mut json_chain = topk_chain(&[
        ("item", "/host"),
        ("event_time", "/time"),
        ("pane_size", "1m"),
        ("emit_every", "100000"),
    ]);
    let json_rate = report(
        "topk array_map, JSON records, 1 min panes",
        records,
        run(&mut json_chain, &json),
    );

    println!(
        "ratio topk text / naive default: {:.1}x, topk JSON / naive default: {:.1}x",
        text_rate / naive_rate,
        json_rate / naive_rate
    );
    println!(
        "ratio topk text / naive smallest: {:.1}x, topk JSON / naive smallest: {:.1}x",
        text_rate / small_rate,
        json_rate / small_rate
    );
}
