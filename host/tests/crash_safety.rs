//! Crash safety: `topk run` is killed with SIGKILL at 20 random points while it ingests a file
//! and HTTP posts, and restarted each time. With a map size above the number of distinct items
//! the sketch is exact, so the final counts must equal the exact counts: nothing lost, nothing
//! counted twice.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{rows, Server};
use rand::{Rng, SeedableRng};

const FILE_EVENTS: usize = 300_000;
const KILLS: usize = 20;

/// The outcome of one posted batch: accepted (200), or unknown because the process died
/// during the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Posted {
    Accepted,
    Unknown,
}

struct Batch {
    items: Vec<String>,
    outcome: Posted,
}

fn write_file(path: &std::path::Path, rng: &mut impl Rng) -> HashMap<String, u64> {
    let mut exact = HashMap::new();
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for _ in 0..FILE_EVENTS {
        // A skewed distribution over 500 addresses: low numbers are much more frequent.
        let rank = (rng.gen::<f64>().powi(3) * 500.0) as u32;
        let ip = format!("10.0.{}.{}", rank / 256, rank % 256);
        writeln!(
            file,
            "{{\"client\":{{\"ip\":\"{ip}\"}},\"bytes\":{}}}",
            rng.gen_range(100..9000)
        )
        .unwrap();
        *exact.entry(ip).or_default() += 1;
    }
    file.flush().unwrap();
    exact
}

fn post_batches(server: &Server, stop: &AtomicBool, batches: &Mutex<Vec<Batch>>, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    while !stop.load(Ordering::Relaxed) {
        let id = batches.lock().unwrap().len();
        let mut items = vec![format!("batch-{id}")];
        for _ in 0..rng.gen_range(1..20) {
            items.push(format!("http-{}", rng.gen_range(0..40)));
        }
        let body: String = items
            .iter()
            .map(|item| format!("{{\"item\":\"{item}\"}}\n"))
            .collect();

        // Record the batch before sending, as unknown, so a kill mid-request is accounted for.
        batches.lock().unwrap().push(Batch {
            items,
            outcome: Posted::Unknown,
        });
        match server.try_post("/api/v1/events", &body) {
            Ok((200, _)) => batches.lock().unwrap()[id].outcome = Posted::Accepted,
            Ok((status, body)) => panic!("POST rejected with {status}: {body}"),
            // The connection broke: the process was killed. The batch may or may not be stored.
            Err(_) => return,
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..30)));
    }
}

#[test]
fn sigkill_loses_and_duplicates_nothing() {
    let directory = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x70_70_6b);
    let input = directory.path().join("events.ndjson");
    let mut exact = write_file(&input, &mut rng);
    let file_size = std::fs::metadata(&input).unwrap().len();
    let state = directory.path().join("state.redb");
    let input_arg = input.to_str().unwrap().to_string();
    let args = [
        input_arg.as_str(),
        "--format",
        "ndjson",
        "--item",
        "/client/ip",
        "--map-size",
        "65536",
        "--max-k",
        "5000",
        "--pane",
        "1s",
        "--checkpoint-interval",
        "100ms",
        "--publish-interval",
        "50ms",
    ];

    let batches = Arc::new(Mutex::new(Vec::new()));
    let mut progress = Vec::new();
    for kill in 0..KILLS {
        let server = Arc::new(Server::start(&state, &args));
        let stop = Arc::new(AtomicBool::new(false));
        let poster = {
            let (server, stop, batches) = (server.clone(), stop.clone(), batches.clone());
            std::thread::spawn(move || post_batches(&server, &stop, &batches, kill as u64))
        };

        // Kill at a random point after this run has counted more than any run before, so every
        // run makes progress however slow the machine is.
        let baseline = progress.iter().copied().max().unwrap_or(0);
        server.wait_for("/api/v1/windows", Duration::from_secs(60), |body| {
            body["counters"]["events"].as_u64().unwrap_or(0) > baseline
        });
        std::thread::sleep(Duration::from_millis(rng.gen_range(0..400)));
        let (_, windows) = server.get("/api/v1/windows");
        progress.push(windows["counters"]["events"].as_u64().unwrap_or(0));
        // SIGKILL while the poster may be mid-request and the worker mid-batch.
        server.kill();
        stop.store(true, Ordering::Relaxed);
        poster.join().unwrap();
    }

    // Final run: let it finish the file and the HTTP log.
    let server = Server::start(&state, &args);
    let (status, posted) = server.post("/api/v1/events", "{\"item\":\"final\"}\n");
    assert_eq!(status, 200, "{posted}");
    let accepted_last = posted["offset"].as_u64().unwrap();
    *exact.entry("final".into()).or_default() += 1;
    server.wait_for(
        &format!("/api/v1/heavy-hitters?k=1&min_offset={accepted_last}"),
        Duration::from_secs(120),
        |body| body["metadata"]["offsets"][input_arg.as_str()].as_u64() == Some(file_size),
    );

    // Batches with an unknown outcome: the count of the marker item shows whether the batch was stored.
    let batches = batches.lock().unwrap();
    let mut unknown_stored = 0;
    for (id, batch) in batches.iter().enumerate() {
        let stored = match batch.outcome {
            Posted::Accepted => true,
            Posted::Unknown => {
                let (status, body) = server.get(&format!("/api/v1/items/batch-{id}/frequency"));
                assert_eq!(status, 200, "{body}");
                let count = rows(&body)[0].1;
                assert!(count <= 1, "batch {id} counted {count} times");
                unknown_stored += count as usize;
                count == 1
            }
        };
        if stored {
            for item in &batch.items {
                *exact.entry(item.clone()).or_default() += 1;
            }
        }
    }

    let (status, top) = server.get("/api/v1/heavy-hitters?k=5000");
    assert_eq!(status, 200, "{top}");
    let expected_total: u64 = exact.values().sum();
    assert_eq!(
        top["metadata"]["accuracy"]["maximum_error"], 0,
        "the configuration must be exact"
    );
    assert_eq!(
        top["metadata"]["accuracy"]["total_weight"].as_u64(),
        Some(expected_total),
        "total weight after {KILLS} kills"
    );
    let counted: HashMap<String, u64> = rows(&top)
        .into_iter()
        .map(|(item, estimate, _, _)| (item, estimate))
        .collect();
    assert_eq!(counted.len(), exact.len(), "distinct items");
    for (item, count) in &exact {
        assert_eq!(counted.get(item), Some(count), "count of {item}");
    }
    assert!(
        progress.windows(2).all(|pair| pair[1] > pair[0]),
        "a run made no progress: {progress:?}"
    );
    assert!(
        progress[0] < FILE_EVENTS as u64,
        "the first kill came after the file was read: {progress:?}"
    );
    assert!(
        batches.len() > KILLS,
        "only {} HTTP batches were posted",
        batches.len()
    );
    eprintln!("{} HTTP batches, {unknown_stored} stored without a response; events seen at kills: {progress:?}", batches.len());
}

#[test]
fn sigterm_restart_resumes_exactly() {
    let directory = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let input = directory.path().join("events.ndjson");
    let exact = write_file(&input, &mut rng);
    let state = directory.path().join("state.redb");
    let input_arg = input.to_str().unwrap().to_string();
    let args = [
        input_arg.as_str(),
        "--format",
        "ndjson",
        "--item",
        "/client/ip",
        "--map-size",
        "65536",
        "--max-k",
        "1000",
    ];
    let total = FILE_EVENTS as u64;

    let server = Server::start(&state, &args);
    let first = server.wait_for(
        "/api/v1/heavy-hitters?k=1000",
        Duration::from_secs(120),
        |body| body["metadata"]["accuracy"]["total_weight"].as_u64() == Some(total),
    );
    assert!(
        server.terminate(),
        "topk did not exit cleanly on SIGTERM; log:\n{}",
        server.log_text()
    );
    assert!(server.log_text().contains("ingest worker stopped"));

    let server = Server::start(&state, &args);
    let (status, second) = server.get("/api/v1/heavy-hitters?k=1000");
    assert_eq!(status, 200, "{second}");
    assert_eq!(
        second["metadata"]["accuracy"]["total_weight"].as_u64(),
        Some(total),
        "counts after restart"
    );
    let first_version = first["metadata"]["version"].as_u64().unwrap();
    let second_version = second["metadata"]["version"].as_u64().unwrap();
    assert!(
        second_version > first_version,
        "version went from {first_version} to {second_version} across the restart"
    );
    let counted: HashMap<String, u64> = rows(&second)
        .into_iter()
        .map(|(item, estimate, _, _)| (item, estimate))
        .collect();
    assert_eq!(counted.len(), exact.len());
    for (item, count) in &exact {
        assert_eq!(counted.get(item), Some(count), "count of {item}");
    }
}
