//! `topk inspect`: decodes snapshot files, merges several, prints a table or JSON, and names a
//! file that is not a snapshot.

use std::process::{Command, Stdio};

use topk_sketch::snapshot::{self, Window};
use topk_sketch::{Config, Summary};

fn write_snapshot(path: &std::path::Path, items: &[(&str, u64)], window: Window) {
    let mut summary = Summary::new(Config::default()).unwrap();
    for (item, weight) in items {
        summary.update(item.as_bytes(), *weight).unwrap();
    }
    summary.metadata.window = Some(window);
    std::fs::write(path, snapshot::encode(&summary)).unwrap();
}

#[test]
fn inspect_merges_files_as_json() {
    let directory = tempfile::tempdir().unwrap();
    let first = directory.path().join("first.snap");
    let second = directory.path().join("second.snap");
    write_snapshot(
        &first,
        &[("a", 5), ("b", 2)],
        Window {
            start: 0,
            end: 60_000,
        },
    );
    write_snapshot(
        &second,
        &[("b", 4), ("c", 1)],
        Window {
            start: 60_000,
            end: 120_000,
        },
    );

    let output = Command::new(env!("CARGO_BIN_EXE_topk"))
        .args(["inspect", "--json", "-k", "2"])
        .arg(&first)
        .arg(&second)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(body["total_weight"], 12);
    assert_eq!(body["maximum_error"], 0);
    assert_eq!(body["rows"].as_array().unwrap().len(), 2);
    assert_eq!(body["rows"][0]["item"], "b");
    assert_eq!(body["rows"][0]["lower_bound"], 6);
    assert_eq!(body["rows"][1]["item"], "a");
    assert_eq!(body["metadata"]["window"]["start_ms"], 0);
    assert_eq!(body["metadata"]["window"]["end_ms"], 120_000);
}

#[test]
fn inspect_prints_table() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("one.snap");
    write_snapshot(
        &path,
        &[("GET /", 3)],
        Window {
            start: 0,
            end: 1_000,
        },
    );

    let output = Command::new(env!("CARGO_BIN_EXE_topk"))
        .arg("inspect")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("total weight:   3"), "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("GET /") && line.trim_end().ends_with('3')),
        "{text}"
    );
}

#[test]
fn inspect_rejects_non_snapshot() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("notes.txt");
    std::fs::write(&path, b"not a snapshot").unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_topk"))
        .arg("inspect")
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("notes.txt"), "{message}");
    assert!(message.contains("not a valid topk snapshot"), "{message}");
}

#[test]
fn inspect_rejects_file_given_twice() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("a.snap");
    write_snapshot(&path, &[("x", 2)], Window { start: 0, end: 1_000 });
    let other_spelling = directory.path().join(".").join("a.snap");
    let hard_link = directory.path().join("link.snap");
    std::fs::hard_link(&path, &hard_link).unwrap();

    for second in [&path, &other_spelling, &hard_link] {
        let output = Command::new(env!("CARGO_BIN_EXE_topk"))
            .arg("inspect")
            .arg(&path)
            .arg(second)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{} twice should fail", path.display());
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(&format!("snapshot file {} is given twice", second.display())), "{message}");
        assert!(message.contains("pass each file once"), "{message}");
        assert!(output.stdout.is_empty(), "nothing is printed: {}", String::from_utf8_lossy(&output.stdout));
    }
}

#[test]
fn inspect_closed_stdout_exits_quietly() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("one.snap");
    write_snapshot(&path, &[("a", 1), ("b", 2)], Window { start: 0, end: 1_000 });

    for json in [false, true] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_topk"));
        command.arg("inspect");
        if json {
            command.arg("--json");
        }
        let mut child = command
            .arg(&path)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Closing the only read end before the first write makes every write fail with EPIPE.
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();

        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "json {json}: {:?}, {stderr}", output.status);
        assert!(!stderr.contains("Broken pipe"), "json {json}: {stderr}");
        assert!(!stderr.contains("panicked"), "json {json}: {stderr}");
    }
}
