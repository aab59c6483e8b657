//! Writes the native side of the JS binding's tests and benchmark: snapshots built natively with
//! the sketch core, their merges, and the expected results as JSON.
//!
//! ```text
//! cargo run -p topk-js --example fixtures -- generate OUT_DIR
//! cargo run -p topk-js --example fixtures -- merge OUT_PREFIX SNAPSHOT...
//! cargo run -p topk-js --release --example fixtures -- bench OUT_DIR
//! ```
//!
//! `generate` reads the NASA access log of 1 August 1995 (data/nasa_http_19950801) and writes
//! snapshots of its `host` column, split into parts, per response code and per window, plus
//! synthetic snapshots with huge weights and hostile items. `merge` decodes the given snapshots,
//! merges them in argument order and writes `OUT_PREFIX.snap` and `OUT_PREFIX.json` (or
//! `{"error": ...}` when they do not merge). `bench` writes 100 snapshots of map size 1024 and
//! the native decode-and-merge time of all of them.
//!
//! Every JSON count is a decimal string, so JavaScript reads it exactly whatever its size.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};
use topk_js::escape_item;
use topk_sketch::snapshot::{self, Dimension, SourceRange, Window};
use topk_sketch::{Config, ErrorType, Summary};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The NASA log, relative to the repository root.
const NASA_LOG: &str = "data/nasa_http_19950801/nasa_19950801.tsv";

/// Width of the windows of the per-response snapshots: 6 hours in milliseconds.
const WINDOW_MS: i64 = 6 * 3_600_000;

/// An item that runs script if a page inserts it as HTML.
const HOSTILE_ITEM: &str = "<img src=x onerror=alert(1)>";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("generate") if args.len() == 2 => generate(Path::new(&args[1])),
        Some("merge") if args.len() >= 3 => merge_files(Path::new(&args[1]), &args[2..]),
        Some("bench") if args.len() == 2 => bench(Path::new(&args[1])),
        _ => Err("usage: fixtures generate OUT_DIR | fixtures merge OUT_PREFIX SNAPSHOT... | fixtures bench OUT_DIR".into()),
    }
}

/// One request of the NASA log: the fields the fixtures use.
struct Request {
    host: String,
    time_ms: i64,
    response: String,
}

fn read_nasa_log() -> Result<Vec<Request>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(NASA_LOG);
    let text = fs::read_to_string(&path).map_err(|error| format!("failed to read {}: {error}", path.display()))?;

    let mut requests = Vec::new();
    for (number, line) in text.lines().enumerate().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() < 6 {
            return Err(format!("{}:{}: expected at least 6 tab-separated fields, found {}", path.display(), number + 1, fields.len()).into());
        }
        let seconds: i64 = fields[2].parse().map_err(|error| format!("{}:{}: invalid time {:?}: {error}", path.display(), number + 1, fields[2]))?;
        requests.push(Request { host: fields[0].to_owned(), time_ms: seconds * 1000, response: fields[5].to_owned() });
    }
    Ok(requests)
}

/// Counts the hosts of `requests` (pairs of log row and request) into a summary of the default
/// configuration. Its metadata names the rows counted, and the window is `window` or else the
/// requests' own span.
fn count_hosts(requests: &[(usize, &Request)], window: Option<Window>, dimension: Option<Dimension>) -> Result<Summary> {
    let mut summary = Summary::new(Config::default())?;
    for (_, request) in requests {
        summary.update(request.host.as_bytes(), 1)?;
    }

    let first_row = requests.first().map_or(0, |(row, _)| *row as u64);
    let end_row = requests.last().map_or(0, |(row, _)| *row as u64 + 1);
    let earliest = requests.iter().map(|(_, request)| request.time_ms).min().unwrap_or(0);
    let latest = requests.iter().map(|(_, request)| request.time_ms).max().unwrap_or(0);
    summary.metadata.window = Some(window.unwrap_or(Window { start: earliest, end: latest + 1000 }));
    summary.metadata.watermark = Some(latest);
    summary.metadata.dimension = dimension;
    summary.metadata.sources = vec![SourceRange { source: b"nasa_19950801.tsv".to_vec(), start: first_row, end: end_row }];
    Ok(summary)
}

fn generate(out_dir: &Path) -> Result<()> {
    fs::create_dir_all(out_dir.join("dimension"))?;
    let requests = read_nasa_log()?;
    let indexed: Vec<(usize, &Request)> = requests.iter().enumerate().collect();

    // Three contiguous parts, as three partitions of one stream would hold them.
    let part_len = indexed.len().div_ceil(3);
    let mut parts = Vec::new();
    for (index, part) in indexed.chunks(part_len).enumerate() {
        let path = out_dir.join(format!("nasa-hosts-p{index}.snap"));
        let summary = count_hosts(part, None, None)?;
        write_expected(&out_dir.join(format!("nasa-hosts-p{index}.json")), &summary)?;
        fs::write(&path, snapshot::encode(&summary))?;
        parts.push(path);
    }
    let part_names: Vec<String> = parts.iter().map(|path| path.display().to_string()).collect();
    merge_files(&out_dir.join("nasa-hosts-merged"), &part_names)?;

    // The whole log in one summary with Count-Min, for the Count-Min getters and estimates.
    let mut with_count_min = Summary::new(Config { count_min_width: 2048, count_min_depth: 4, ..Config::default() })?;
    for request in &requests {
        with_count_min.update(request.host.as_bytes(), 1)?;
    }
    fs::write(out_dir.join("nasa-hosts-count-min.snap"), snapshot::encode(&with_count_min))?;
    write_expected(&out_dir.join("nasa-hosts-count-min.json"), &with_count_min)?;

    generate_dimensions(&out_dir.join("dimension"), &indexed)?;
    generate_big_weights(out_dir)?;
    generate_hostile(out_dir)?;
    eprintln!("fixtures: wrote {}", out_dir.display());
    Ok(())
}

/// Writes one snapshot per response code (200, 304, 404) and 6-hour window, named
/// `response-CODE-wN.snap`, and the expected merges the dashboard's filters select.
fn generate_dimensions(out_dir: &Path, requests: &[(usize, &Request)]) -> Result<()> {
    let day_start = requests.iter().map(|(_, request)| request.time_ms).min().unwrap_or(0);
    for code in ["200", "304", "404"] {
        let mut files = Vec::new();
        for window_index in 0..3 {
            let window = Window { start: day_start + window_index * WINDOW_MS, end: day_start + (window_index + 1) * WINDOW_MS };
            let selected: Vec<(usize, &Request)> = requests
                .iter()
                .filter(|(_, request)| request.response == code && (window.start..window.end).contains(&request.time_ms))
                .copied()
                .collect();
            let dimension = Dimension { name: b"response".to_vec(), value: code.as_bytes().to_vec() };
            let summary = count_hosts(&selected, Some(window), Some(dimension))?;

            let path = out_dir.join(format!("response-{code}-w{window_index}.snap"));
            fs::write(&path, snapshot::encode(&summary))?;
            write_expected(&out_dir.join(format!("response-{code}-w{window_index}.json")), &summary)?;
            files.push(path.display().to_string());
        }
        merge_files(&out_dir.join(format!("response-{code}-all")), &files)?;
    }
    Ok(())
}

/// Writes `big-weights.snap`: counts on both sides of 2^53, where JavaScript numbers stop being
/// exact.
fn generate_big_weights(out_dir: &Path) -> Result<()> {
    let mut summary = Summary::new(Config::default())?;
    summary.update(b"two-to-the-60", 1 << 60)?;
    summary.update(b"two-to-the-53", 1 << 53)?;
    summary.update(b"max-safe-integer", (1 << 53) - 1)?;
    summary.update(b"three", 3)?;
    fs::write(out_dir.join("big-weights.snap"), snapshot::encode(&summary))?;
    write_expected(&out_dir.join("big-weights.json"), &summary)
}

/// Writes `hostile.snap`: items that are HTML or script, and items that are not valid UTF-8.
fn generate_hostile(out_dir: &Path) -> Result<()> {
    let items: [(&[u8], u64); 6] = [
        (HOSTILE_ITEM.as_bytes(), 60),
        (b"<script>alert(2)</script>", 50),
        (b"\"><svg onload=alert(3)>", 40),
        (b"bad\xFF\xFEbytes", 30),
        ("café".as_bytes(), 20),
        (b"normal.example.com", 10),
    ];
    let mut summary = Summary::new(Config::default())?;
    for (item, weight) in items {
        summary.update(item, weight)?;
    }
    summary.metadata.dimension = Some(Dimension { name: b"label".to_vec(), value: b"<b onmouseover=alert(4)>x</b>".to_vec() });
    fs::write(out_dir.join("hostile.snap"), snapshot::encode(&summary))?;
    write_expected(&out_dir.join("hostile.json"), &summary)
}

/// Decodes `files`, merges them in order into the first, and writes the merge as
/// `prefix.snap` and its query results as `prefix.json`. After a decode or merge error, the
/// JSON is `{"error": message}` and no snapshot is written.
fn merge_files(prefix: &Path, files: &[String]) -> Result<()> {
    let mut merged: Option<Summary> = None;
    for (index, file) in files.iter().enumerate() {
        let bytes = fs::read(file).map_err(|error| format!("failed to read {file}: {error}"))?;
        let result = snapshot::decode(&bytes).and_then(|summary| match &mut merged {
            None => {
                merged = Some(summary);
                Ok(())
            }
            Some(merged) => merged.merge(&summary),
        });
        if let Err(error) = result {
            let message = format!("snapshot {} of {} ({file}): {error}", index + 1, files.len());
            fs::write(with_extension(prefix, "json"), serde_json::to_vec_pretty(&json!({ "error": message }))?)?;
            return Ok(());
        }
    }

    let merged = merged.ok_or("merge needs at least one snapshot file")?;
    fs::write(with_extension(prefix, "snap"), snapshot::encode(&merged))?;
    write_expected(&with_extension(prefix, "json"), &merged)
}

fn with_extension(prefix: &Path, extension: &str) -> PathBuf {
    let mut name = prefix.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    PathBuf::from(name)
}

/// Writes the results the JS binding must return for `summary`: every top-k row, the totals, the
/// metadata and the point estimates of the first ten items and of one absent item.
fn write_expected(path: &Path, summary: &Summary) -> Result<()> {
    let rows = summary.top_k(usize::MAX, ErrorType::NoFalseNegatives);
    let no_false_positives = summary.top_k(usize::MAX, ErrorType::NoFalsePositives).len();

    let mut probes: Vec<&[u8]> = rows.iter().take(10).map(|row| row.item).collect();
    probes.push(b"absent.example.org");
    let estimates: Vec<Value> = probes
        .iter()
        .map(|item| {
            let estimate = summary.estimate(item);
            json!({
                "itemHex": hex(item),
                "estimate": estimate.estimate.to_string(),
                "lowerBound": estimate.lower_bound.to_string(),
                "upperBound": estimate.upper_bound.to_string(),
            })
        })
        .collect();

    // The native re-encode of the decoded snapshot, which the binding's `toBytes` must equal.
    let reencoded = snapshot::encode(&snapshot::decode(&snapshot::encode(summary))?);

    let metadata = &summary.metadata;
    let expected = json!({
        "reencodedHex": hex(&reencoded),
        "rows": rows.iter().map(|row| json!({
            "item": escape_item(row.item),
            "itemHex": hex(row.item),
            "estimate": row.estimate.to_string(),
            "lowerBound": row.lower_bound.to_string(),
            "upperBound": row.upper_bound.to_string(),
        })).collect::<Vec<_>>(),
        "noFalsePositiveRows": no_false_positives,
        "estimates": estimates,
        "totalWeight": summary.total_weight().to_string(),
        "maximumError": summary.maximum_error().to_string(),
        "distinct": summary.distinct(),
        "activeItems": summary.frequent().active_items(),
        "maxMapSize": summary.config().max_map_size,
        "hllPrecision": summary.hyperloglog().precision(),
        "countMin": summary.count_min().map(|count_min| json!({ "width": count_min.width(), "depth": count_min.depth() })),
        "window": metadata.window.map(|window| json!({ "start": window.start.to_string(), "end": window.end.to_string() })),
        "watermark": metadata.watermark.map(|watermark| watermark.to_string()),
        "dimension": metadata.dimension.as_ref().map(|dimension| json!({
            "name": escape_item(&dimension.name),
            "value": escape_item(&dimension.value),
        })),
        "sources": metadata.sources.iter().map(|range| json!({
            "source": escape_item(&range.source),
            "start": range.start.to_string(),
            "end": range.end.to_string(),
        })).collect::<Vec<_>>(),
        "lateEvents": metadata.late_events.to_string(),
        "malformedRecords": metadata.malformed_records.to_string(),
    });
    fs::write(path, serde_json::to_vec_pretty(&expected)?)?;
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// SplitMix64: a small, fixed pseudo-random sequence, so the benchmark input is the same on
/// every run and machine.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a float in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Snapshots the benchmark merges, and events counted into each.
const BENCH_SNAPSHOTS: usize = 100;
const BENCH_EVENTS: usize = 20_000;
/// Timed repetitions of the native merge; the median is reported.
const BENCH_RUNS: usize = 21;

/// Writes `snapshot-000.snap` to `snapshot-099.snap` (map size 1024, each full: 20,000 events
/// over a skewed universe of 100,000 items), their merge `merged.snap`, and `native.json` with
/// the median native time to decode and merge all of them.
fn bench(out_dir: &Path) -> Result<()> {
    fs::create_dir_all(out_dir)?;
    let mut random = SplitMix64(0x746f_706b_6265_6e63);
    let mut encoded = Vec::new();
    for index in 0..BENCH_SNAPSHOTS {
        let mut summary = Summary::new(Config::default())?;
        for _ in 0..BENCH_EVENTS {
            // Cubing a uniform value skews it towards 0, so low item numbers are heavy hitters.
            let rank = (random.unit().powi(3) * 100_000.0) as u64;
            summary.update(format!("item-{rank}.example.net").as_bytes(), 1)?;
        }
        summary.metadata.window = Some(Window { start: index as i64 * 60_000, end: (index as i64 + 1) * 60_000 });
        let bytes = snapshot::encode(&summary);
        fs::write(out_dir.join(format!("snapshot-{index:03}.snap")), &bytes)?;
        encoded.push(bytes);
    }

    let mut decode_and_merge = Vec::new();
    let mut merge_only = Vec::new();
    let mut merged_bytes = Vec::new();
    for _ in 0..BENCH_RUNS {
        let started = Instant::now();
        let mut merged = snapshot::decode(&encoded[0])?;
        for bytes in &encoded[1..] {
            merged.merge(&snapshot::decode(bytes)?)?;
        }
        decode_and_merge.push(started.elapsed().as_secs_f64() * 1000.0);
        merged_bytes = snapshot::encode(&merged);

        let decoded: Vec<Summary> = encoded[1..].iter().map(|bytes| snapshot::decode(bytes)).collect::<std::result::Result<_, _>>()?;
        let started = Instant::now();
        let mut merged = snapshot::decode(&encoded[0])?;
        for summary in &decoded {
            merged.merge(summary)?;
        }
        merge_only.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    fs::write(out_dir.join("merged.snap"), &merged_bytes)?;

    let report = json!({
        "snapshots": BENCH_SNAPSHOTS,
        "eventsPerSnapshot": BENCH_EVENTS,
        "maxMapSize": Config::default().max_map_size,
        "runs": BENCH_RUNS,
        "decodeAndMergeMedianMs": median(&mut decode_and_merge),
        "mergeOnlyMedianMs": median(&mut merge_only),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
    });
    fs::write(out_dir.join("native.json"), serde_json::to_vec_pretty(&report)?)?;
    println!("{report}");
    Ok(())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}
