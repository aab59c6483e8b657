//! `topk query` behaviour through the real binary and component: bad lines, stdin, several
//! files, dimensions, time filters, table and JSON output, argument errors.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn topk(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_topk"))
        .arg("query")
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to run topk");
    if let Some(bytes) = stdin {
        child.stdin.take().unwrap().write_all(bytes).unwrap();
    }
    child.wait_with_output().unwrap()
}

fn json(args: &[&str], stdin: Option<&[u8]>) -> (Value, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let output = topk(&all, stdin);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "topk query {args:?} failed: {stderr}");
    (serde_json::from_slice(&output.stdout).expect("JSON output"), stderr)
}

/// (item, estimate, lower, upper) of a group's rows.
fn rows(group: &Value) -> Vec<(String, u64, u64, u64)> {
    group["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["item"].as_str().unwrap().to_string(),
                row["estimate"].as_u64().unwrap(),
                row["lower_bound"].as_u64().unwrap(),
                row["upper_bound"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn exact(item: &str, count: u64) -> (String, u64, u64, u64) {
    (item.to_string(), count, count, count)
}

fn write_file(dir: &Path, name: &str, content: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path
}

#[test]
fn bad_lines_are_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = Vec::new();
    content.extend_from_slice(b"{\"ip\":\"a\",\"t\":1}\n");
    content.extend_from_slice(b"{\"ip\":\"a\",\"t\":2}\n");
    content.extend_from_slice(b"not json\n");
    content.extend_from_slice(b"{\"t\":3}\n");
    content.extend_from_slice(b"{\"ip\":\"b\",\"t\":\"never\"}\n");
    content.extend_from_slice(b"{\"ip\":\"\xff\",\"t\":4}\n");
    content.extend_from_slice(format!("{{\"ip\":\"{}\",\"t\":5}}\n", "x".repeat(300)).as_bytes());
    content.extend_from_slice(b"{\"ip\":\"b\",\"t\":6}\n");
    let path = write_file(dir.path(), "bad.ndjson", &content);

    let (report, stderr) = json(&["--item", "/ip", "--time", "/t", "--time-format", "epoch-s", "--max-line-bytes", "100", path.to_str().unwrap()], None);
    assert_eq!(rows(&report["groups"][0]), [exact("a", 2), exact("b", 1)]);
    assert_eq!(report["lines"], 8);
    assert_eq!(report["events"], 3);
    let malformed = &report["malformed"];
    assert_eq!(malformed["malformed"], 1);
    assert_eq!(malformed["missing_field"], 1);
    assert_eq!(malformed["invalid_time"], 1);
    assert_eq!(malformed["invalid_utf8"], 1);
    assert_eq!(malformed["line_too_long"], 1);
    assert_eq!(report["malformed_total"], 5);
    assert_eq!(report["time_range_ms"], serde_json::json!([1000, 6000]));

    assert!(stderr.contains("5 lines were not counted"), "{stderr}");
    assert!(stderr.contains(&format!("{}: line 3 (byte 34): malformed", path.display())), "{stderr}");
    assert_eq!(report["malformed_examples"][0]["location"], serde_json::json!({"line": 3, "byte": 34}));
    assert!(stderr.contains("not json"), "{stderr}");
}

#[test]
fn stdin_and_several_files_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let first = write_file(dir.path(), "a.csv", b"ip,n\nx,1\ny,2\nx,3\n");
    let second = write_file(dir.path(), "b.csv", b"n,ip\n4,y\n5,y\n6,z\n");

    let (report, _) = json(&["--format", "csv", "--item", "ip", first.to_str().unwrap(), second.to_str().unwrap()], None);
    assert_eq!(rows(&report["groups"][0]), [exact("y", 3), exact("x", 2), exact("z", 1)]);

    let (from_stdin, _) = json(&["--format", "csv", "--item", "ip"], Some(b"ip\nq\nq\nr\n"));
    assert_eq!(rows(&from_stdin["groups"][0]), [exact("q", 2), exact("r", 1)]);

    let (dash, _) = json(&["--format", "csv", "--item", "ip", first.to_str().unwrap(), "-"], Some(b"ip\nx\n"));
    assert_eq!(rows(&dash["groups"][0])[0], exact("x", 3));
}

#[test]
fn dimension_groups_and_value_filter() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::from("path\tstatus\n");
    for (path, status, times) in [("/a", "200", 5), ("/b", "200", 3), ("/a", "404", 1), ("/c", "404", 4), ("/d", "500", 2)] {
        for _ in 0..times {
            content.push_str(&format!("{path}\t{status}\n"));
        }
    }
    let path = write_file(dir.path(), "s.tsv", content.as_bytes());
    let file = path.to_str().unwrap();

    let (report, _) = json(&["--format", "tsv", "--item", "path", "--dimension", "status", file], None);
    let groups = report["groups"].as_array().unwrap();
    let summary: Vec<(&str, u64)> = groups.iter().map(|group| (group["dimension_value"].as_str().unwrap(), group["total"].as_u64().unwrap())).collect();
    assert_eq!(summary, [("200", 8), ("404", 5), ("500", 2)]);
    assert_eq!(rows(&groups[1]), [exact("/c", 4), exact("/a", 1)]);

    let (filtered, _) = json(&["--format", "tsv", "--item", "path", "--dimension", "status", "--value", "404", file], None);
    assert_eq!(rows(&filtered["groups"][0]), [exact("/c", 4), exact("/a", 1)]);
    assert_eq!(filtered["filtered"], 10);
    assert_eq!(filtered["groups"][0]["dimension_value"], "404");

    let (capped, _) = json(&["--format", "tsv", "--item", "path", "--dimension", "status", "--max-dimension-values", "1", "--threads", "1", file], None);
    assert_eq!(capped["groups"].as_array().unwrap().len(), 1);
    assert_eq!(capped["groups"][0]["dimension_value"], "200");
    assert_eq!(capped["other_dimension_events"], 7);
}

#[test]
fn time_window_filters_events() {
    let dir = tempfile::tempdir().unwrap();
    let log = [
        r#"1.1.1.1 - - [17/May/2015:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
        r#"2.2.2.2 - - [17/May/2015:10:30:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
        r#"2.2.2.2 - - [17/May/2015:11:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
        r#"3.3.3.3 - - [17/May/2015:11:30:00 +0000] "GET / HTTP/1.1" 200 1 "-" "-""#,
    ];
    let path = write_file(dir.path(), "access.log", log.join("\n").as_bytes());
    let args = ["--item", "ip", "--time", "time", "--time-format", "auto", "--since", "2015-05-17T10:15:00Z", "--until", "2015-05-17T11:15:00Z", path.to_str().unwrap()];
    let (report, _) = json(&args, None);
    assert_eq!(report["format"], "combined", "guessed from the .log extension");
    assert_eq!(rows(&report["groups"][0]), [exact("2.2.2.2", 2)]);
    assert_eq!(report["filtered"], 2);
}

#[test]
fn threads_do_not_change_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::new();
    for i in 0..200_000u64 {
        content.push_str(&format!("{{\"user\":{{\"id\":\"u{}\"}}}}\n", (i * i) % 997));
    }
    let path = write_file(dir.path(), "u.ndjson", content.as_bytes());
    let file = path.to_str().unwrap();
    let single = json(&["--item", "/user/id", "--threads", "1", file], None).0;
    let double = json(&["--item", "/user/id", "--threads", "2", file], None).0;
    let triple = json(&["--item", "/user/id", "--threads", "3", file], None).0;
    assert_eq!(rows(&single["groups"][0]), rows(&double["groups"][0]));
    assert_eq!(rows(&single["groups"][0]), rows(&triple["groups"][0]));
    assert_eq!(single["groups"][0]["total"], 200_000);
    assert_eq!(double["groups"][0]["total"], 200_000);
}

#[test]
fn zeek_log_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let log = "#separator \\x09\n#unset_field\t-\n#fields\tts\tid.orig_h\tquery\n#types\ttime\taddr\tstring\n\
               1.0\t10.0.0.1\texample.com\n2.0\t10.0.0.2\texample.com\n3.0\t10.0.0.1\t-\n#close\tx\n";
    let path = write_file(dir.path(), "dns.log", log.as_bytes());
    let (report, _) = json(&["--format", "zeek", "--item", "query", path.to_str().unwrap()], None);
    assert_eq!(rows(&report["groups"][0]), [exact("example.com", 2)]);
    assert_eq!(report["skipped"], 1);
}

#[test]
fn table_output_lists_rows_and_totals() {
    let output = topk(&["--format", "csv", "--item", "ip", "--k", "2"], Some(b"ip\na\nb\na\nc\n"));
    assert!(output.status.success());
    let table = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines[0].split_whitespace().collect::<Vec<_>>(), ["rank", "item", "estimate", "lower", "upper"], "{table}");
    assert_eq!(lines[1].split_whitespace().collect::<Vec<_>>(), ["1", "a", "2", "2", "2"]);
    assert_eq!(lines[2].split_whitespace().collect::<Vec<_>>(), ["2", "b", "1", "1", "1"]);
    assert!(lines[3].starts_with("total 4  distinct ~3  maximum error 0"), "{table}");
}

#[test]
fn argument_errors_name_the_fix() {
    let cases: [(&[&str], &str); 5] = [
        (&["--format", "csv", "--item", "nope"], "column `nope` is not in the header"),
        (&["--format", "csv"], "missing --item"),
        (&["--format", "csv", "--item", "ip", "--map-size", "1000"], "invalid --map-size 1000"),
        (&["--format", "csv", "--item", "ip", "--k", "0"], "invalid --k 0"),
        (&["--format", "csv", "--item", "ip", "--component", "/nonexistent/topk.wasm"], "/nonexistent/topk.wasm"),
    ];
    for (args, expected) in cases {
        let output = topk(args, Some(b"ip,b\n1,2\n"));
        assert!(!output.status.success(), "{args:?} should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }

    for pattern in ["", "a*"] {
        let output = topk(&["--format", "text", "--tokenize", pattern], Some(b"a b\n"));
        assert!(!output.status.success(), "--tokenize '{pattern}' should fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&format!("invalid --tokenize '{pattern}': the pattern matches the empty string")), "{stderr}");
    }

    let output = topk(&["--item", "ip", "data.unknown"], None);
    assert!(String::from_utf8_lossy(&output.stderr).contains("pass --format"));
}

#[test]
fn dimension_values_ranked_by_frequency() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::from("path\tstatus\n");
    let mut exact: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut add = |content: &mut String, path: &str, status: &str| {
        content.push_str(&format!("{path}\t{status}\n"));
        *exact.entry((status.to_string(), path.to_string())).or_default() += 1;
    };
    // Four values fill the table first; `late` appears 10 times among them, then 100,000
    // times. The file is over 2 MiB, so the reader hands it over in several batches.
    for index in 0..160_000 {
        add(&mut content, &format!("/p{}", index % 7), &format!("r{}", index % 4));
        if (100..110).contains(&index) {
            add(&mut content, "/x", "late");
        }
    }
    for index in 0..100_000 {
        add(&mut content, ["/x", "/x", "/y"][index % 3], "late");
    }
    let path = write_file(dir.path(), "shift.tsv", content.as_bytes());
    let file = path.to_str().unwrap();

    for threads in ["1", "2"] {
        let (report, _) = json(&["--format", "tsv", "--item", "path", "--dimension", "status", "--max-dimension-values", "4", "--threads", threads, file], None);
        let groups = report["groups"].as_array().unwrap();
        assert!(groups.len() <= 4, "{threads} threads: {} groups", groups.len());
        assert_eq!(groups[0]["dimension_value"], "late", "{threads} threads: the most frequent value is printed first");

        for group in groups {
            let value = group["dimension_value"].as_str().unwrap();
            for (item, _, lower, upper) in rows(group) {
                let count = exact.get(&(value.to_string(), item.clone())).copied().unwrap_or(0);
                assert!(lower <= count, "{threads} threads: {value}/{item} lower {lower} > true {count}");
                assert!(count <= upper, "{threads} threads: {value}/{item} upper {upper} < true {count}");
            }
        }
        let in_groups: u64 = groups.iter().map(|group| group["total"].as_u64().unwrap()).sum();
        assert_eq!(in_groups + report["other_dimension_events"].as_u64().unwrap(), report["events"].as_u64().unwrap());
    }

    // With one worker the value sketch is exact, so the accounting is exact to the event.
    // `late` is admitted once its count passes that of the weakest tracked value (40,000). Its
    // earlier events are its missed weight, and the evicted value's 40,000 events go untracked.
    let (report, _) = json(&["--format", "tsv", "--item", "path", "--dimension", "status", "--max-dimension-values", "4", "--threads", "1", file], None);
    let late = &report["groups"][0];
    let counted = late["total"].as_u64().unwrap();
    let missed = late["missed_weight"].as_u64().unwrap();
    assert!(missed > 10, "late was admitted after its first 10 events");
    assert_eq!(counted + missed, 100_010);
    assert_eq!(report["other_dimension_events"].as_u64().unwrap(), missed + 40_000);
}

#[test]
fn closed_stdout_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let mut content = String::from("ip\n");
    for i in 0..1000 {
        content.push_str(&format!("10.0.0.{}\n", i % 200));
    }
    let path = write_file(dir.path(), "ips.csv", content.as_bytes());

    for format in ["--k=100", "--json"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_topk"))
            .args(["query", "--format", "csv", "--item", "ip", format, path.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to run topk");
        // Closing the only read end before the first write makes every write fail with EPIPE,
        // as when `head -1` has read its line and exited.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{format}: {:?}, {stderr}", output.status);
        assert!(!stderr.contains("Broken pipe"), "{format}: {stderr}");
        assert!(!stderr.contains("error"), "{format}: {stderr}");
    }
}
