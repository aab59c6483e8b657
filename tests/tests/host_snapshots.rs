//! `topk run` on the real NASA log exports, through `GET /api/v1/snapshots`, a snapshot that
//! decodes natively to the exact per-host counts. The file is kept in `target/e2e/` for the
//! browser tests, which load snapshots from the host and from the SmartModule.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use topk_e2e::{component_path, workspace_root};
use topk_sketch::{snapshot, ErrorType};

const NASA: &str = "data/nasa_http_19950801/nasa_19950801.tsv";

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// Returns the `topk` binary that `cargo test --workspace` builds for the host's own tests.
fn topk_binary() -> PathBuf {
    let path = target_dir().join("debug/topk");
    assert!(path.exists(), "{} is missing; build it with `cargo build -p topk-host`", path.display());
    path
}

/// Kills the server when the test ends, pass or fail.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends `GET path` and returns the status line and the body bytes.
fn get(address: &str, path: &str) -> (String, Vec<u8>) {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();

    let split = response.windows(4).position(|window| window == b"\r\n\r\n").expect("response has a header end");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    assert!(!head.contains("Transfer-Encoding: chunked"), "chunked bodies are not decoded here: {head}");
    (head.lines().next().unwrap_or_default().to_string(), response[split + 4..].to_vec())
}

fn exact_host_counts() -> HashMap<Vec<u8>, u64> {
    let text = std::fs::read(workspace_root().join(NASA)).unwrap();
    let mut counts = HashMap::new();
    for line in text.split(|&byte| byte == b'\n').skip(1).filter(|line| !line.is_empty()) {
        let host = line.split(|&byte| byte == b'\t').next().unwrap();
        *counts.entry(host.to_vec()).or_insert(0u64) += 1;
    }
    counts
}

#[test]
fn host_exports_exact_nasa_snapshot() {
    let state = tempfile_path("host-snapshots.redb");
    let child = Command::new(topk_binary())
        .args(["run", "--format", "tsv", "--item", "host", "--time", "time", "--time-format", "epoch-s", "--bind", "127.0.0.1:0"])
        .arg("--component")
        .arg(component_path())
        .arg("--state")
        .arg(&state)
        .arg(workspace_root().join(NASA))
        .current_dir(workspace_root())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    let stdout = server.0.stdout.take().unwrap();
    let address = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|line| line.strip_prefix("listening on http://").map(str::to_string))
        .expect("topk run prints its address");
    let exact = exact_host_counts();
    let events: u64 = exact.values().sum();

    // Poll until every line is counted; the file is 30,969 requests.
    let started = Instant::now();
    let summary = loop {
        let (status, body) = get(&address, "/api/v1/snapshots?window=all");
        assert!(status.contains("200"), "{status}");
        let summary = snapshot::decode(&body).unwrap();
        if summary.total_weight() == events {
            std::fs::create_dir_all(target_dir().join("e2e")).unwrap();
            std::fs::write(target_dir().join("e2e/host-nasa-p0.snap"), &body).unwrap();
            break summary;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "counted {} of {events} events", summary.total_weight());
        std::thread::sleep(Duration::from_millis(200));
    };

    let mut expected: Vec<(&Vec<u8>, &u64)> = exact.iter().collect();
    expected.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let rows = summary.top_k(10, ErrorType::NoFalseNegatives);
    assert_eq!(rows.len(), 10);
    for (row, (item, count)) in rows.iter().zip(expected) {
        assert_eq!(row.item, item.as_slice());
        assert!(row.lower_bound <= *count, "{row:?} against {count}");
        assert!(*count <= row.upper_bound, "{row:?} against {count}");
    }
    assert_eq!(rows[0].item, b"edams.ksc.nasa.gov");
    assert_eq!(rows[0].lower_bound, 364);
}

/// Returns a fresh path under the target folder, so parallel runs do not share state.
fn tempfile_path(name: &str) -> PathBuf {
    let dir = target_dir().join(format!("e2e-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}
