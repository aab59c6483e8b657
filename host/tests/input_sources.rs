//! Line sources: read to the end, batches and resumable offsets, gzip, the line length limit,
//! following a file through appends, rotation and truncation, several sources.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use topk_host::input::{LineBatch, LineReader, LineStatus, ReadOptions, ReadStatus, SourceSet};

/// Reads everything available now as (line, offset after it, status).
fn drain(reader: &mut LineReader, max_lines: usize, max_bytes: usize) -> (Vec<(String, u64, LineStatus)>, ReadStatus) {
    let mut batch = LineBatch::new();
    let mut lines = Vec::new();
    loop {
        let status = reader.read_batch(&mut batch, max_lines, max_bytes).unwrap();
        if status != ReadStatus::Lines {
            return (lines, status);
        }
        assert!(batch.len() <= max_lines);
        for line in batch.iter() {
            lines.push((String::from_utf8_lossy(line.bytes).into_owned(), line.offset, line.status));
        }
    }
}

fn texts(lines: &[(String, u64, LineStatus)]) -> Vec<&str> {
    lines.iter().map(|(text, _, _)| text.as_str()).collect()
}

fn write(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).unwrap();
}

fn append(path: &Path, bytes: &[u8]) {
    OpenOptions::new().append(true).open(path).unwrap().write_all(bytes).unwrap();
}

const COMPLETE: LineStatus = LineStatus::Complete;

#[test]
fn file_read_to_end_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log");
    write(&path, b"one\r\ntwo\n\nlast-without-newline");

    let mut reader = LineReader::open(&path, ReadOptions::default()).unwrap();
    let (lines, status) = drain(&mut reader, usize::MAX, 1 << 20);
    assert_eq!(status, ReadStatus::End);
    assert_eq!(
        lines,
        [
            ("one".to_string(), 5, COMPLETE),
            ("two".to_string(), 9, COMPLETE),
            (String::new(), 10, COMPLETE),
            ("last-without-newline".to_string(), 30, COMPLETE)
        ]
    );
    assert_eq!(reader.position().offset, 30);
}

#[test]
fn small_batches_keep_offsets_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.log");
    let mut content = String::new();
    for i in 0..5000 {
        content.push_str(&format!("line-{i}-{}\n", "x".repeat(i % 37)));
    }
    write(&path, content.as_bytes());

    let mut reader = LineReader::open(&path, ReadOptions::default()).unwrap();
    let (all, _) = drain(&mut reader, 7, 100);
    assert_eq!(all.len(), 5000);
    let mut expected_offset = 0;
    for (index, (text, offset, _)) in all.iter().enumerate() {
        expected_offset += text.len() as u64 + 1;
        assert_eq!(*offset, expected_offset, "line {index}");
    }

    // Resume after line 1234 and read the same remainder.
    let mut resumed = LineReader::open(&path, ReadOptions::default()).unwrap();
    resumed.seek(all[1234].1).unwrap();
    let (rest, _) = drain(&mut resumed, usize::MAX, 1 << 16);
    assert_eq!(rest, all[1235..]);
}

#[test]
fn seek_past_end_of_shrunk_file_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("short.log");
    write(&path, b"a\nb\n");
    let mut reader = LineReader::open(&path, ReadOptions::default()).unwrap();
    reader.seek(1000).unwrap();
    assert_eq!(texts(&drain(&mut reader, 10, 1024).0), ["a", "b"]);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

#[test]
fn gzip_is_decompressed_with_offsets() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.log.gz");
    let mut content = Vec::new();
    for i in 0..20_000 {
        content.extend_from_slice(format!("{i}\n").as_bytes());
    }
    // Two gzip members in one file, as `cat a.gz b.gz` makes.
    let mut compressed = gzip(&content[..50_000]);
    compressed.extend(gzip(&content[50_000..]));
    write(&path, &compressed);

    let mut reader = LineReader::open(&path, ReadOptions::default()).unwrap();
    let (lines, _) = drain(&mut reader, 1000, 4096);
    assert_eq!(lines.len(), 20_000);
    assert_eq!(lines[19_999], ("19999".to_string(), content.len() as u64, COMPLETE));

    let mut resumed = LineReader::open(&path, ReadOptions::default()).unwrap();
    resumed.seek(lines[9_999].1).unwrap();
    assert_eq!(drain(&mut resumed, usize::MAX, 1 << 20).0, lines[10_000..]);
}

#[test]
fn corrupt_gzip_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.gz");
    let mut compressed = gzip(&b"hello\n".repeat(1000));
    let middle = compressed.len() / 2;
    compressed[middle] ^= 0xff;
    compressed.truncate(compressed.len() - 4);
    write(&path, &compressed);

    let mut reader = LineReader::open(&path, ReadOptions::default()).unwrap();
    let mut batch = LineBatch::new();
    let mut failed = false;
    for _ in 0..100 {
        match reader.read_batch(&mut batch, usize::MAX, 1 << 20) {
            Err(_) => {
                failed = true;
                break;
            }
            Ok(ReadStatus::End) => break,
            Ok(_) => {}
        }
    }
    assert!(failed, "a corrupt gzip stream must fail, not end quietly");
}

#[test]
fn following_gzip_is_rejected() {
    let error = LineReader::open("x.log.gz", ReadOptions { follow: true, ..ReadOptions::default() }).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn long_lines_are_reported_and_skipped() {
    let options = ReadOptions { max_line_bytes: 1000, ..ReadOptions::default() };
    let huge = "h".repeat(700_000);
    let content = format!("short\n{}\nok\n{huge}\nafter\n{}", "m".repeat(1001), "t".repeat(5000));

    let mut reader = LineReader::from_reader("long", std::io::Cursor::new(content.clone().into_bytes()), options);
    let (lines, _) = drain(&mut reader, usize::MAX, 4096);
    let statuses: Vec<_> = lines.iter().map(|(text, _, status)| (text.as_str(), *status)).collect();
    assert_eq!(
        statuses,
        [
            ("short", COMPLETE),
            ("", LineStatus::TooLong { length: 1001 }),
            ("ok", COMPLETE),
            ("", LineStatus::TooLong { length: 700_000 }),
            ("after", COMPLETE),
            ("", LineStatus::TooLong { length: 5000 }),
        ]
    );
    assert_eq!(lines[4].1, (6 + 1002 + 3 + 700_001 + 6) as u64);
    assert_eq!(lines[5].1, content.len() as u64);

    // A line exactly at the limit is complete.
    let exact = format!("{}\n", "e".repeat(1000));
    let mut reader = LineReader::from_reader("exact", std::io::Cursor::new(exact.into_bytes()), options_with(1000));
    assert_eq!(drain(&mut reader, 10, 100).0[0].2, COMPLETE);
}

fn options_with(max_line_bytes: usize) -> ReadOptions {
    ReadOptions { max_line_bytes, ..ReadOptions::default() }
}

fn follow_options() -> ReadOptions {
    ReadOptions { follow: true, poll_interval: Duration::from_millis(5), ..ReadOptions::default() }
}

#[test]
fn follow_appends_and_partial_lines() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    write(&path, b"a\nb");

    let mut reader = LineReader::open(&path, follow_options()).unwrap();
    let (lines, status) = drain(&mut reader, usize::MAX, 1 << 20);
    assert_eq!(texts(&lines), ["a"]);
    assert_eq!(status, ReadStatus::Idle, "the unterminated `b` waits for its newline");

    append(&path, b"c\nd\n");
    let (lines, _) = drain(&mut reader, usize::MAX, 1 << 20);
    assert_eq!(lines, [("bc".to_string(), 5, COMPLETE), ("d".to_string(), 7, COMPLETE)]);

    let mut batch = LineBatch::new();
    let started = std::time::Instant::now();
    assert_eq!(reader.wait_batch(&mut batch, 10, 1024, Duration::from_millis(50)).unwrap(), ReadStatus::Idle);
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[test]
fn follow_survives_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rotating.log");
    write(&path, b"1\n2\n");

    let mut reader = LineReader::open(&path, follow_options()).unwrap();
    assert_eq!(texts(&drain(&mut reader, usize::MAX, 1 << 20).0), ["1", "2"]);

    // Lines written just before the rotation, then rename and a new file at the path.
    append(&path, b"3\n4-unterminated");
    fs::rename(&path, dir.path().join("rotating.log.1")).unwrap();
    let (lines, _) = drain(&mut reader, usize::MAX, 1 << 20);
    assert_eq!(texts(&lines), ["3"], "the old file is read to its end while no new file exists");

    write(&path, b"5\n6\n");
    let mut batch = LineBatch::new();
    assert_eq!(reader.read_batch(&mut batch, usize::MAX, 1 << 20).unwrap(), ReadStatus::Lines);
    assert_eq!(batch.line(0).bytes, b"4-unterminated");
    assert_eq!(batch.line(0).offset, 20);
    assert_eq!(batch.len(), 1, "a batch never mixes two files");
    assert_eq!(batch.generation(), 0);

    assert_eq!(reader.read_batch(&mut batch, usize::MAX, 1 << 20).unwrap(), ReadStatus::Lines);
    assert_eq!(batch.generation(), 1, "the new file is the next generation");
    let lines: Vec<_> = batch.iter().map(|line| (line.bytes.to_vec(), line.offset)).collect();
    assert_eq!(lines, [(b"5".to_vec(), 2), (b"6".to_vec(), 4)]);

    append(&path, b"7\n");
    assert_eq!(texts(&drain(&mut reader, usize::MAX, 1 << 20).0), ["7"]);
}

#[test]
fn follow_survives_truncation() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.log");
    write(&path, b"old-1\nold-2\n");

    let mut reader = LineReader::open(&path, follow_options()).unwrap();
    assert_eq!(drain(&mut reader, usize::MAX, 1 << 20).0.len(), 2);

    // copytruncate: the same file shrinks to nothing and gets new lines.
    File::create(&path).unwrap();
    append(&path, b"new\n");
    let mut batch = LineBatch::new();
    assert_eq!(reader.read_batch(&mut batch, usize::MAX, 1 << 20).unwrap(), ReadStatus::Lines);
    assert_eq!((batch.line(0).bytes, batch.line(0).offset), (&b"new"[..], 4));
    assert_eq!(batch.generation(), 1, "truncation starts a new generation");
}

#[test]
fn follow_waits_for_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");
    let mut reader = LineReader::open(&path, follow_options()).unwrap();
    assert_eq!(drain(&mut reader, usize::MAX, 1 << 20).1, ReadStatus::Idle);

    write(&path, b"hello\n");
    assert_eq!(texts(&drain(&mut reader, usize::MAX, 1 << 20).0), ["hello"]);
}

#[test]
fn missing_file_without_follow_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = LineReader::open(dir.path().join("absent.log"), ReadOptions::default()).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn source_set_reads_each_source() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("a.log");
    let second = dir.path().join("b.log.gz");
    write(&first, b"a1\na2\n");
    write(&second, &gzip(b"b1\n"));

    let readers = vec![LineReader::open(&first, ReadOptions::default()).unwrap(), LineReader::open(&second, ReadOptions::default()).unwrap()];
    let mut set = SourceSet::new(readers);
    let mut batch = LineBatch::new();
    let mut seen = Vec::new();
    while set.read_batch(&mut batch, 1, 1 << 20).unwrap() == ReadStatus::Lines {
        let position = batch.end_position().unwrap();
        seen.push((String::from_utf8_lossy(batch.line(0).bytes).into_owned(), position.source.to_string(), position.offset));
    }
    let first = first.to_string_lossy().into_owned();
    let second = second.to_string_lossy().into_owned();
    assert_eq!(seen, [("a1".to_string(), first.clone(), 3), ("a2".to_string(), first, 6), ("b1".to_string(), second, 3)]);
}
