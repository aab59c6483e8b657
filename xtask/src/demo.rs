//! The demo: `topk run` on the bundled Apache log, serving the API on 127.0.0.1, and the
//! top-10 client IPs read back from the API and checked against an exact count.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use serde_json::Value;

use crate::{cargo, component, run, setup, target_dir};

/// How long the demo waits for the log to be counted before giving up.
const INGEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Builds everything, runs `topk run` on the Apache log and prints the top 10 with bounds.
pub(crate) fn run_demo(root: &Path) -> Result<()> {
    let component = component::build(root)?;
    run(cargo().args(["build", "--quiet", "--release", "-p", "topk-host"]))?;

    // The dashboard that `topk run` serves at / imports the JS package from js/dashboard/pkg.
    setup::js_build_tools(root)?;
    run(Command::new("bash").arg(root.join("js/scripts/build.sh")).env("PATH", setup::path_with_tools(root)))?;

    let log = root.join("data/elastic_apache_logs/apache_logs");
    let state = target_dir(root).join("demo/state.redb");
    std::fs::create_dir_all(state.parent().expect("state path has a parent"))?;
    // A fresh state file, so the demo counts the log once instead of resuming an old run.
    let _ = std::fs::remove_file(&state);

    let mut server = Server::start(Command::new(target_dir(root).join("release/topk"))
        .args(["run", "--format", "combined", "--item", "ip", "--bind", "127.0.0.1:0"])
        .arg("--component").arg(&component)
        .arg("--state").arg(&state)
        .arg(&log)
        .current_dir(root))?;

    let exact = exact_client_ip_counts(&log)?;
    let events: u64 = exact.values().sum();
    let answer = server.wait_for_total(events)?;
    print_table(&answer, &exact)?;

    if std::io::stdin().is_terminal() {
        println!("\nServing the API and dashboard at http://{} — press Ctrl-C to stop.", server.address);
        server.child.wait()?;
    }
    Ok(())
}

/// A `topk run` process and the address it printed.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(command: &mut Command) -> Result<Server> {
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().context("failed to start topk run")?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();

        // `topk run` prints "listening on http://ADDRESS" once the socket is bound.
        let address = loop {
            let Some(line) = lines.next() else {
                bail!("topk run exited before it printed its address: {:?}", child.wait()?);
            };
            if let Some(address) = line?.strip_prefix("listening on http://") {
                break address.trim().to_string();
            }
        };
        Ok(Server { child, address })
    }

    /// Polls the heavy-hitters route until the window contains `events` events.
    fn wait_for_total(&mut self, events: u64) -> Result<Value> {
        let started = Instant::now();
        loop {
            let answer = http_get_json(&self.address, "/api/v1/heavy-hitters?k=10&window=last_hour")?;
            let total = answer["metadata"]["accuracy"]["total_weight"].as_u64().unwrap_or(0);
            if total >= events {
                return Ok(answer);
            }
            if started.elapsed() > INGEST_TIMEOUT {
                bail!("topk counted {total} of {events} events within {INGEST_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends a GET request over plain HTTP/1.1 and parses the JSON body.
fn http_get_json(address: &str, path: &str) -> Result<Value> {
    let mut stream = TcpStream::connect(address).with_context(|| format!("failed to connect to {address}"))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;

    let (head, body) = response.split_once("\r\n\r\n").context("the HTTP response has no body")?;
    if !head.starts_with("HTTP/1.1 200") {
        bail!("GET {path} failed: {}", head.lines().next().unwrap_or_default());
    }
    serde_json::from_str(body).with_context(|| format!("GET {path} returned invalid JSON"))
}

/// Counts the first field of every line: the client IP of the combined log format.
fn exact_client_ip_counts(log: &Path) -> Result<HashMap<String, u64>> {
    let text = std::fs::read_to_string(log).with_context(|| format!("failed to read {}", log.display()))?;
    let mut counts = HashMap::new();
    for line in text.lines().filter(|line| !line.is_empty()) {
        let ip = line.split(' ').next().unwrap_or_default();
        *counts.entry(ip.to_string()).or_insert(0) += 1;
    }
    Ok(counts)
}

fn print_table(answer: &Value, exact: &HashMap<String, u64>) -> Result<()> {
    let rows = answer["rows"].as_array().context("the heavy-hitters response has no rows")?;
    println!("Top 10 client IPs of data/elastic_apache_logs/apache_logs, from GET /api/v1/heavy-hitters:\n");
    println!("{:>4}  {:<18} {:>9} {:>9} {:>9} {:>9}", "rank", "client ip", "estimate", "lower", "upper", "exact");

    let mut mismatches = 0;
    for (rank, row) in rows.iter().enumerate() {
        let item = row["item"].as_str().unwrap_or_default();
        let [estimate, lower, upper] = ["estimated_count", "lower_bound", "upper_bound"].map(|field| row[field].as_u64().unwrap_or(0));
        let truth = exact.get(item).copied().unwrap_or(0);
        if !(lower <= truth && truth <= upper) || estimate != truth {
            mismatches += 1;
        }
        println!("{:>4}  {:<18} {:>9} {:>9} {:>9} {:>9}", rank + 1, item, estimate, lower, upper, truth);
    }

    let mut expected: Vec<(&String, &u64)> = exact.iter().collect();
    expected.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let expected_items: Vec<&str> = expected.iter().take(10).map(|(item, _)| item.as_str()).collect();
    let items: Vec<&str> = rows.iter().map(|row| row["item"].as_str().unwrap_or_default()).collect();
    if mismatches > 0 || items != expected_items {
        bail!("the heavy-hitters response differs from the exact counts ({mismatches} rows off, items {items:?}, expected {expected_items:?})");
    }
    println!("\nAll 10 rows equal the exact counts, and every exact count lies within its bounds.");
    Ok(())
}
