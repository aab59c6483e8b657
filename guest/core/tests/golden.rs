//! Golden snapshot files: committed bytes that every later version must still decode to the
//! same query results, and that the same stream must still encode to byte for byte.
//!
//! Each case is built from a fixed synthetic stream (its own splitmix64 generator, so no
//! dependency's random number generator can change it). `tests/golden/NAME.topk` contains the
//! snapshot and `tests/golden/NAME.answers` the query results it gives. After an intended format
//! change, regenerate both and review the diff:
//!
//! ```text
//! cargo test -p topk-sketch --test golden -- --ignored regenerate_golden_files
//! ```

use std::fmt::Write as _;
use std::path::PathBuf;

use topk_sketch::snapshot::{self, Dimension, SourceRange, Window};
use topk_sketch::{Config, ErrorType, FrequentItems, Summary};

/// Rows recorded per error type in each `.answers` file.
const ROWS: usize = 20;

/// A small, fixed pseudo-random generator (splitmix64).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Returns a skewed id in `0..universe`: the cube of a uniform draw puts most of the mass
    /// on small ids, like the clients of an access log.
    fn skewed(&mut self, universe: u64) -> u64 {
        let uniform = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((uniform * uniform * uniform) * universe as f64) as u64
    }
}

fn client_ip(id: u64) -> Vec<u8> {
    format!("192.168.{}.{}", id / 256, id % 256).into_bytes()
}

/// Top client IPs of 20,000 requests from 600 clients: fewer than the 768 the map tracks, so
/// the counts are exact.
fn client_ips() -> Summary {
    let mut summary = Summary::new(Config::default()).unwrap();
    let mut random = SplitMix(1);
    for _ in 0..20_000 {
        summary.update(&client_ip(random.skewed(600)), 1).unwrap();
    }
    summary
}

/// Top URLs of the 404 responses in one minute, with Count-Min and every metadata field.
fn not_found_urls() -> Summary {
    let config = Config { max_map_size: 64, hll_precision: 10, count_min_width: 256, count_min_depth: 4 };
    let mut summary = Summary::new(config).unwrap();
    let mut random = SplitMix(2);
    for _ in 0..5_000 {
        let url = format!("/missing/page-{}.html", random.skewed(2_000));
        let bytes = 1 + random.next() % 3;
        summary.update(url.as_bytes(), bytes).unwrap();
    }
    summary.metadata.window = Some(Window { start: 1_767_225_600_000, end: 1_767_225_660_000 });
    summary.metadata.watermark = Some(1_767_225_655_000);
    summary.metadata.dimension = Some(Dimension { name: b"status".to_vec(), value: b"404".to_vec() });
    summary.metadata.sources = vec![
        SourceRange { source: b"access.log".to_vec(), start: 0, end: 4_100 },
        SourceRange { source: b"fluvio:logs/0".to_vec(), start: 17, end: 917 },
    ];
    summary.metadata.late_events = 12;
    summary.metadata.malformed_records = 3;
    summary
}

fn empty() -> Summary {
    Summary::new(Config::default()).unwrap()
}

/// Map size 8 over a long tail, so most items are purged and the maximum error is large.
fn purged() -> Summary {
    let mut summary = Summary::new(Config { max_map_size: 8, hll_precision: 8, ..Config::default() }).unwrap();
    let mut random = SplitMix(3);
    for _ in 0..3_000 {
        summary.update(format!("user-{}", random.skewed(300)).as_bytes(), 1).unwrap();
    }
    summary
}

fn cases() -> Vec<(&'static str, Summary)> {
    vec![("client_ips", client_ips()), ("not_found_urls", not_found_urls()), ("empty", empty()), ("purged", purged())]
}

fn golden_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests").join("golden")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Renders the query results of a summary, one fact per line, items in hex followed by their
/// readable form.
fn render_answers(summary: &Summary) -> String {
    let mut text = String::new();
    let config = summary.config();
    writeln!(text, "config {} {} {} {}", config.max_map_size, config.hll_precision, config.count_min_width, config.count_min_depth).unwrap();
    writeln!(text, "total_weight {}", summary.total_weight()).unwrap();
    writeln!(text, "maximum_error {}", summary.maximum_error()).unwrap();
    writeln!(text, "distinct {}", summary.distinct().round()).unwrap();
    writeln!(text, "active_items {}", summary.frequent().active_items()).unwrap();
    writeln!(text, "metadata {:?}", summary.metadata).unwrap();
    for (label, error_type) in [("no_false_negatives", ErrorType::NoFalseNegatives), ("no_false_positives", ErrorType::NoFalsePositives)] {
        let rows = summary.top_k(ROWS, error_type);
        writeln!(text, "{label} {}", rows.len()).unwrap();
        for row in rows {
            let readable = String::from_utf8_lossy(row.item);
            writeln!(text, "row {} {} {} {} {readable}", hex(row.item), row.estimate, row.lower_bound, row.upper_bound).unwrap();
        }
    }
    text
}

#[test]
#[ignore = "writes tests/golden; run only after an intended format change"]
fn regenerate_golden_files() {
    std::fs::create_dir_all(golden_dir()).unwrap();
    for (name, summary) in cases() {
        std::fs::write(golden_dir().join(format!("{name}.topk")), snapshot::encode(&summary)).unwrap();
        std::fs::write(golden_dir().join(format!("{name}.answers")), render_answers(&summary)).unwrap();
    }
    let purged = purged();
    std::fs::write(golden_dir().join("purged.datasketches"), purged.frequent().to_datasketches()).unwrap();
}

fn read_golden(file: &str) -> Vec<u8> {
    let path = golden_dir().join(file);
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}; see the header of tests/golden.rs", path.display()))
}

#[test]
fn golden_snapshots_give_recorded_answers() {
    for (name, _) in cases() {
        let bytes = read_golden(&format!("{name}.topk"));
        let expected = String::from_utf8(read_golden(&format!("{name}.answers"))).unwrap();

        let decoded = snapshot::decode(&bytes).unwrap_or_else(|error| panic!("{name}.topk: {error}"));

        assert_eq!(render_answers(&decoded), expected, "{name}.topk");
    }
}

#[test]
fn golden_snapshots_match_fresh_encoding() {
    for (name, summary) in cases() {
        let golden = read_golden(&format!("{name}.topk"));

        let fresh = snapshot::encode(&summary);

        assert!(fresh == golden, "{name}.topk: a fresh encoding of the same stream differs from the golden file");
    }
}

#[test]
fn golden_snapshots_reencode_identically() {
    for (name, _) in cases() {
        let golden = read_golden(&format!("{name}.topk"));

        let reencoded = snapshot::encode(&snapshot::decode(&golden).unwrap());

        assert!(reencoded == golden, "{name}.topk: decoding and encoding again changes the bytes");
    }
}

#[test]
fn golden_payload_matches_snapshot() {
    let payload = read_golden("purged.datasketches");
    let from_snapshot = snapshot::decode(&read_golden("purged.topk")).unwrap();

    let decoded = FrequentItems::from_datasketches(&payload).unwrap();
    let theirs = datasketches::frequencies::FrequentItemsSketch::<String>::deserialize(&payload).unwrap();

    assert_eq!(payload, purged().frequent().to_datasketches());
    assert_eq!(decoded.total_weight(), from_snapshot.total_weight());
    assert_eq!(decoded.maximum_error(), from_snapshot.maximum_error());
    assert_eq!(theirs.maximum_error(), from_snapshot.maximum_error());
    assert_eq!(theirs.total_weight(), from_snapshot.total_weight());
    for row in from_snapshot.top_k(usize::MAX, ErrorType::NoFalseNegatives) {
        let item = std::str::from_utf8(row.item).unwrap();
        assert_eq!(theirs.lower_bound(item), row.lower_bound, "{item}");
        assert_eq!(theirs.upper_bound(item), row.upper_bound, "{item}");
    }
}

#[test]
fn golden_cases_cover_their_purpose() {
    let client_ips = client_ips();
    let not_found = not_found_urls();
    let purged = purged();

    assert_eq!(client_ips.maximum_error(), 0, "client_ips must stay exact");
    assert!(not_found.count_min().is_some());
    assert!(not_found.maximum_error() > 0, "not_found_urls must purge so Count-Min tightens bounds");
    assert_eq!(empty().total_weight(), 0);
    assert!(purged.maximum_error() > 0);
}
