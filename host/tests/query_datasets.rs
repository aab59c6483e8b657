//! `topk query` on every bundled data set: the top-10 of each field that its SOURCE.txt lists
//! equals an exact count made here, independently of the host's parsers, and the top-5 equals
//! the folder's TOP5_groundtruth.txt. Runs the real `topk` binary with the real component.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")
}

/// Reads a data file, decompressing `.gz`.
fn read_data(relative: &str) -> Vec<u8> {
    let path = data_dir().join(relative);
    let bytes = std::fs::read(&path).unwrap_or_else(|error| panic!("failed to read {}: {error}", path.display()));
    if relative.ends_with(".gz") {
        let mut text = Vec::new();
        flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_end(&mut text).expect("valid gzip data");
        text
    } else {
        bytes
    }
}

/// Items with their exact counts, by count descending, then item ascending.
type Ranking = Vec<(String, u64)>;

/// Exact counts, sorted by count descending, then item ascending.
fn ranked(counts: HashMap<Vec<u8>, u64>) -> Ranking {
    let mut rows: Vec<(String, u64)> = counts.into_iter().map(|(item, count)| (String::from_utf8(item).unwrap(), count)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    rows
}

/// Runs `topk query --json` with `args` and returns the parsed report.
fn query(args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_topk"))
        .arg("query")
        .arg("--json")
        .args(args)
        .output()
        .expect("failed to run topk");
    assert!(output.status.success(), "topk query {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("topk query --json prints JSON")
}

/// Checks the top-10 rows against the exact ranking, and the bounds of every row.
fn check_top10(report: &Value, exact: &[(String, u64)], label: &str) {
    let group = &report["groups"][0];
    let rows = group["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 10, "{label}: row count");

    let counts: HashMap<&str, u64> = exact.iter().map(|(item, count)| (item.as_str(), *count)).collect();
    for (index, row) in rows.iter().enumerate() {
        let item = row["item"].as_str().unwrap();
        let truth = counts.get(item).copied().unwrap_or(0);
        let lower = row["lower_bound"].as_u64().unwrap();
        let upper = row["upper_bound"].as_u64().unwrap();
        assert!(lower <= truth, "{label}: row {index} `{item}` lower bound {lower} > true count {truth}");
        assert!(truth <= upper, "{label}: row {index} `{item}` upper bound {upper} < true count {truth}");
        assert_eq!((item, row["estimate"].as_u64().unwrap()), (exact[index].0.as_str(), exact[index].1), "{label}: row {index}");
    }
    let total: u64 = exact.iter().map(|(_, count)| count).sum();
    assert_eq!(group["total"].as_u64(), Some(total), "{label}: total");
    assert_eq!(group["maximum_error"].as_u64(), Some(0), "{label}: maximum error at the default map size");

    let distinct = group["distinct_estimate"].as_f64().unwrap();
    let relative = (distinct - exact.len() as f64).abs() / exact.len() as f64;
    assert!(relative < 0.05, "{label}: distinct estimate {distinct} vs {} exact", exact.len());
}

/// Parses one field line of TOP5_groundtruth.txt: `name (distinct=N): a=1, b=2, ...`.
fn groundtruth(folder: &str, field: &str) -> (usize, Vec<(String, u64)>) {
    let text = std::fs::read_to_string(data_dir().join(folder).join("TOP5_groundtruth.txt")).unwrap();
    let line = text.lines().find(|line| line.starts_with(&format!("{field} (distinct="))).unwrap_or_else(|| panic!("no `{field}` line in {folder}"));
    let (head, rows) = line.split_once("): ").unwrap();
    let distinct = head.rsplit_once('=').unwrap().1.parse().unwrap();
    let rows = rows
        .split(", ")
        .map(|pair| {
            let (item, count) = pair.rsplit_once('=').unwrap();
            (item.to_string(), count.parse().unwrap())
        })
        .collect();
    (distinct, rows)
}

fn check_groundtruth(exact: &[(String, u64)], folder: &str, field: &str) {
    let (distinct, top5) = groundtruth(folder, field);
    assert_eq!(exact.len(), distinct, "{folder} {field}: distinct items");
    assert_eq!(&exact[..5], &top5[..], "{folder} {field}: top-5 against TOP5_groundtruth.txt");
}

/// Exact counts of the Apache log: client IP = first space-separated field, path = second
/// word of the quoted request.
fn apache_exact() -> (Ranking, Ranking) {
    let text = read_data("elastic_apache_logs/apache_logs");
    let mut ips = HashMap::new();
    let mut paths = HashMap::new();
    for line in text.split(|&b| b == b'\n').filter(|line| !line.is_empty()) {
        let line = std::str::from_utf8(line).unwrap();
        *ips.entry(line.split(' ').next().unwrap().as_bytes().to_vec()).or_insert(0) += 1;
        let request = line.split('"').nth(1).unwrap();
        if let Some(path) = request.split_whitespace().nth(1) {
            *paths.entry(path.as_bytes().to_vec()).or_insert(0) += 1;
        }
    }
    (ranked(ips), ranked(paths))
}

#[test]
fn apache_ip_and_path() {
    let (ips, paths) = apache_exact();
    check_groundtruth(&ips, "elastic_apache_logs", "client_ip");
    check_groundtruth(&paths, "elastic_apache_logs", "request_path");

    let file = data_dir().join("elastic_apache_logs/apache_logs");
    let file = file.to_str().unwrap();
    check_top10(&query(&["--format", "combined", "--item", "ip", file]), &ips, "apache ip");
    check_top10(&query(&["--format", "combined", "--item", "path", file]), &paths, "apache path");
}

/// Exact counts of a delimited file's columns, by header name, skipping `skip` values.
fn delimited_exact(text: &[u8], separator: char, columns: &[&str], skip: Option<&str>) -> Vec<Vec<(String, u64)>> {
    let text = std::str::from_utf8(text).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(separator).collect();
    let indexes: Vec<usize> = columns.iter().map(|name| header.iter().position(|column| column == name).unwrap()).collect();

    let mut counts = vec![HashMap::new(); columns.len()];
    for line in lines {
        let fields: Vec<&str> = line.split(separator).collect();
        for (slot, &index) in indexes.iter().enumerate() {
            if Some(fields[index]) != skip {
                *counts[slot].entry(fields[index].as_bytes().to_vec()).or_insert(0) += 1;
            }
        }
    }
    counts.into_iter().map(ranked).collect()
}

#[test]
fn nasa_host_and_url() {
    let exact = delimited_exact(&read_data("nasa_http_19950801/nasa_19950801.tsv"), '\t', &["host", "url"], None);
    check_groundtruth(&exact[0], "nasa_http_19950801", "host");
    check_groundtruth(&exact[1], "nasa_http_19950801", "url");

    let file = data_dir().join("nasa_http_19950801/nasa_19950801.tsv");
    let file = file.to_str().unwrap();
    check_top10(&query(&["--format", "tsv", "--item", "host", file]), &exact[0], "nasa host");
    check_top10(&query(&["--format", "tsv", "--item", "url", file]), &exact[1], "nasa url");
}

#[test]
fn flights_tailnum_dest_carrier() {
    let columns = ["tailnum", "dest", "carrier"];
    let exact = delimited_exact(&read_data("nycflights13/flights.csv.gz"), ',', &columns, Some("NA"));
    let file = data_dir().join("nycflights13/flights.csv.gz");
    let file = file.to_str().unwrap();

    for (column, exact) in columns.iter().zip(&exact) {
        check_groundtruth(exact, "nycflights13", column);
        let report = query(&["--format", "csv", "--item", column, "--skip-value", "NA", file]);
        check_top10(&report, exact, &format!("flights {column}"));
        let skipped: u64 = if *column == "tailnum" { 2512 } else { 0 };
        assert_eq!(report["skipped"].as_u64(), Some(skipped), "flights {column}: lines skipped as NA");
    }
}

/// Lowercase words matching `[a-z]+(?:'[a-z]+)*`, scanned by hand.
fn words(line: &str, counts: &mut HashMap<Vec<u8>, u64>) {
    let bytes = line.to_lowercase().into_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_lowercase() {
            i += 1;
            continue;
        }
        let start = i;
        loop {
            while i < bytes.len() && bytes[i].is_ascii_lowercase() {
                i += 1;
            }
            // An apostrophe continues the word only when a letter follows it.
            if i + 1 < bytes.len() && bytes[i] == b'\'' && bytes[i + 1].is_ascii_lowercase() {
                i += 1;
                continue;
            }
            break;
        }
        *counts.entry(bytes[start..i].to_vec()).or_insert(0) += 1;
    }
}

#[test]
fn shakespeare_words() {
    let text = read_data("shakespeare_plays/shakespeare_42plays_gut.txt.gz");
    let mut counts = HashMap::new();
    // The plays are joined with `===== FILE: <name> =====` lines, which are not part of the text.
    for line in std::str::from_utf8(&text).unwrap().lines().filter(|line| !line.starts_with("===== FILE: ")) {
        words(line, &mut counts);
    }
    let exact = ranked(counts);
    check_groundtruth(&exact, "shakespeare_plays", "word");

    let file = data_dir().join("shakespeare_plays/shakespeare_42plays_gut.txt.gz");
    let report = query(&["--format", "text", "--tokenize", "[a-z]+(?:'[a-z]+)*", "--lowercase", "--skip-lines", "^===== FILE: ", file.to_str().unwrap()]);
    check_top10(&report, &exact, "shakespeare words");
    assert_eq!(report["groups"][0]["total"].as_u64(), Some(913_548), "word tokens");
    assert_eq!(report["skipped"].as_u64(), Some(42), "separator lines skipped");
}

#[test]
fn small_map_keeps_bounds() {
    // 256 slots track 192 items of 1,753 distinct IPs: counts are estimates, bounds must hold.
    let (ips, _) = apache_exact();
    let counts: HashMap<&str, u64> = ips.iter().map(|(item, count)| (item.as_str(), *count)).collect();
    let file = data_dir().join("elastic_apache_logs/apache_logs");
    let args = ["--format", "combined", "--item", "ip", "--map-size", "256", "--threads", "2", "--k", "100000", file.to_str().unwrap()];
    let report = query(&args);

    let group = &report["groups"][0];
    let maximum_error = group["maximum_error"].as_u64().unwrap();
    assert!(maximum_error > 0, "the sketch should be past its capacity");
    let rows = group["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    for row in rows {
        let item = row["item"].as_str().unwrap();
        let truth = counts.get(item).copied().unwrap_or(0);
        assert!(row["lower_bound"].as_u64().unwrap() <= truth, "lower bound of {item}");
        assert!(truth <= row["upper_bound"].as_u64().unwrap(), "upper bound of {item}");
    }

    // No false negatives: every item truly above the maximum error is reported.
    assert!(ips[0].1 > maximum_error, "the test needs items above the maximum error {maximum_error}");
    let reported: Vec<&str> = rows.iter().map(|row| row["item"].as_str().unwrap()).collect();
    for (item, count) in ips.iter().filter(|(_, count)| *count > maximum_error) {
        assert!(reported.contains(&item.as_str()), "{item} ({count} > maximum error {maximum_error}) is missing");
    }
}

#[test]
fn nasa_url_per_response_code() {
    let text = read_data("nasa_http_19950801/nasa_19950801.tsv");
    let mut per_code: HashMap<String, HashMap<Vec<u8>, u64>> = HashMap::new();
    for line in std::str::from_utf8(&text).unwrap().lines().skip(1) {
        let fields: Vec<&str> = line.split('\t').collect();
        *per_code.entry(fields[5].to_string()).or_default().entry(fields[4].as_bytes().to_vec()).or_insert(0) += 1;
    }

    let file = data_dir().join("nasa_http_19950801/nasa_19950801.tsv");
    let report = query(&["--format", "tsv", "--item", "url", "--dimension", "response", "--k", "5", file.to_str().unwrap()]);
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), per_code.len(), "one group per response code");
    for group in groups {
        let code = group["dimension_value"].as_str().unwrap();
        let exact = ranked(per_code[code].clone());
        let rows: Vec<(String, u64)> = group["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| (row["item"].as_str().unwrap().to_string(), row["lower_bound"].as_u64().unwrap()))
            .collect();
        assert_eq!(rows, exact[..exact.len().min(5)], "response {code}");
        assert_eq!(group["total"].as_u64(), Some(exact.iter().map(|(_, count)| count).sum()), "response {code} total");
    }
}

#[test]
fn apache_time_range() {
    // The combined-log times of the file, parsed here by hand: dd/Mon/yyyy:hh:mm:ss +0000.
    let text = read_data("elastic_apache_logs/apache_logs");
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let mut times = Vec::new();
    for line in std::str::from_utf8(&text).unwrap().lines() {
        let stamp = &line[line.find('[').unwrap() + 1..line.find(']').unwrap()];
        assert!(stamp.ends_with(" +0000"), "{stamp}");
        let day: i64 = stamp[0..2].parse().unwrap();
        let month = months.iter().position(|name| *name == &stamp[3..6]).unwrap();
        assert_eq!((&stamp[7..11], month), ("2015", 4), "the log covers May 2015 only");
        let seconds: i64 = stamp[12..14].parse::<i64>().unwrap() * 3600 + stamp[15..17].parse::<i64>().unwrap() * 60 + stamp[18..20].parse::<i64>().unwrap();
        // 2015-05-01T00:00:00Z is 1,430,438,400 s after the epoch.
        times.push((1_430_438_400 + (day - 1) * 86_400 + seconds) * 1000);
    }

    let file = data_dir().join("elastic_apache_logs/apache_logs");
    let report = query(&["--format", "combined", "--item", "ip", "--time", "time", "--time-format", "clf", file.to_str().unwrap()]);
    let range = report["time_range_ms"].as_array().expect("a time range");
    assert_eq!(range[0].as_i64(), times.iter().min().copied());
    assert_eq!(range[1].as_i64(), times.iter().max().copied());
    assert_eq!(report["malformed_total"], 0);
}
