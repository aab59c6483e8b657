//! A long stream under a store memory limit: the module's memory must not grow with its input.

use crate::harness::*;

const RECORDS: usize = 1_000_000;
const MEMORY_LIMIT: usize = 64 * 1024 * 1024;

/// Records per engine call.
const BATCH: usize = 1_000;

/// Returns record `index` of a skewed stream: host `h{n}` where small n are frequent, one event
/// every 5 ms.
fn record(index: usize) -> Vec<u8> {
    // A cheap deterministic skew: the item is the index's number of trailing zero bits plus a
    // spread of rare items, so "h0" is half the stream, "h1" a quarter, and so on.
    let host = if index % 16 == 15 {
        format!("rare{}", index % 10_007)
    } else {
        format!("h{}", index.trailing_zeros())
    };
    format!(
        r#"{{"host":"{host}","time":{}}}"#,
        1_700_000_000_000u64 + index as u64 * 5
    )
    .into_bytes()
}

#[test]
fn million_records_bounded_memory() {
    let params = [
        ("item", "/host"),
        ("event_time", "/time"),
        ("pane_size", "1m"),
        ("emit_every", "100000"),
        ("source", "load/0"),
    ];
    let mut chain = chain_with(
        topk_module(),
        &params,
        ChainOptions {
            memory_limit: Some(MEMORY_LIMIT),
            ..ChainOptions::default()
        },
    )
    .expect("chain initializes under 64 MiB");

    let mut samples = Vec::new();
    let mut snapshots = 0usize;
    let mut snapshot_bytes = 0usize;
    let mut total = 0u64;
    let mut batch = Vec::with_capacity(BATCH);
    for start in (0..RECORDS).step_by(BATCH) {
        batch.clear();
        batch.extend((start..start + BATCH).map(record));
        let outputs = process(&mut chain, start as i64, 0, &batch)
            .unwrap_or_else(|error| panic!("batch at offset {start} failed: {error:#}"));
        for output in outputs {
            snapshots += 1;
            snapshot_bytes += output.value.len();
            total += topk_sketch::snapshot::decode(&output.value)
                .unwrap()
                .total_weight();
            samples.push((
                start + BATCH,
                linear_memory_bytes(&output.key).expect("key carries the linear memory size"),
            ));
        }
    }

    let (first_at, first) = samples[0];
    let (last_at, last) = *samples.last().unwrap();
    let peak = samples.iter().map(|(_, bytes)| *bytes).max().unwrap();
    println!("{RECORDS} records in batches of {BATCH}: {snapshots} snapshots, {snapshot_bytes} snapshot bytes");
    println!("linear memory: {first} bytes after {first_at} records, {last} bytes after {last_at} records, peak {peak} bytes (limit {MEMORY_LIMIT})");
    for (records, bytes) in samples.iter().step_by((samples.len() / 10).max(1)) {
        println!("  after {records:>7} records: {bytes:>9} bytes");
    }

    assert!(peak < MEMORY_LIMIT);
    // Fluvio's generated glue never frees output buffers, so memory grows with the bytes emitted.
    // It must not grow with the bytes read (about 40 MB of JSON here).
    assert!(
        last - first <= 2 * snapshot_bytes + (1 << 20),
        "grew {} bytes for {snapshot_bytes} snapshot bytes",
        last - first
    );
    assert!(total > 0);
    // Every record is a valid event; those after the last emission are still in open panes.
    assert!(total <= RECORDS as u64);
    assert!(total >= (RECORDS - 100_000) as u64, "counted {total}");
}
