//! `topk run --config FILE`: options from a TOML file, flags override them, unknown keys and
//! bad values are rejected with a message naming them.

mod common;

use std::process::Command;

use common::{component, Server};

#[test]
fn config_file_sets_options_and_flags_win() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("topk.toml");
    std::fs::write(
        &config,
        "http_item = \"/ip\"\nmax_k = 7\npublish_interval = \"50ms\"\n",
    )
    .unwrap();
    let server = Server::start(
        &directory.path().join("state.redb"),
        &["--config", config.to_str().unwrap(), "--max-k", "5"],
    );

    let (status, posted) = server.post(
        "/api/v1/events",
        "{\"ip\":\"10.0.0.1\"}\n{\"ip\":\"10.0.0.1\"}\n",
    );
    assert_eq!(status, 200, "the file's http_item applies: {posted}");
    let offset = posted["offset"].as_u64().unwrap();
    let (status, body) = server.get(&format!("/api/v1/heavy-hitters?k=5&min_offset={offset}"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["rows"][0]["item"], "10.0.0.1");
    assert_eq!(body["rows"][0]["estimated_count"], 2);

    let (status, body) = server.get("/api/v1/heavy-hitters?k=6");
    assert_eq!(status, 400, "the --max-k flag overrides the file: {body}");
}

#[test]
fn config_file_rejects_unknown_key() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("topk.toml");
    std::fs::write(&config, "map_sise = 1024\n").unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_topk"))
        .args([
            "run",
            "--config",
            config.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
            "--component",
        ])
        .arg(component())
        .arg("--state")
        .arg(directory.path().join("state.redb"))
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(message.contains("map_sise"), "{message}");
    assert!(message.contains("topk.toml"), "{message}");
}

#[test]
fn bad_option_values_are_named() {
    let directory = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--pane", "7m"], "pane size"),
        (&["--pane", "soon"], "--pane"),
        (&["--map-size", "1000"], "1000"),
        (&["--max-k", "0"], "--max-k"),
        (&["--pane-retention", "10m"], "--pane-retention"),
        (&["--http-dimension", "/status"], "--http-dimension needs --dimension"),
        (&["--dimension", "status", "--max-dimension-values", "0"], "--max-dimension-values 0"),
    ];
    for (args, expected) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_topk"))
            .args(["run", "--bind", "127.0.0.1:0", "--component"])
            .arg(component())
            .arg("--state")
            .arg(directory.path().join("state.redb"))
            .args(*args)
            .output()
            .unwrap();
        assert!(!output.status.success(), "{args:?} was accepted");
        let message = String::from_utf8_lossy(&output.stderr);
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}

#[test]
fn follow_flag_does_not_take_the_file() {
    let directory = tempfile::tempdir().unwrap();
    let input = directory.path().join("access.ndjson");
    std::fs::write(&input, "{\"item\":\"a\"}\n{\"item\":\"a\"}\n").unwrap();

    // `--follow FILE`: the file is a source, not the flag's value.
    let server = Server::start(
        &directory.path().join("state.redb"),
        &["--format", "ndjson", "--item", "/item", "--follow", input.to_str().unwrap()],
    );
    let body = server.wait_for("/api/v1/heavy-hitters", std::time::Duration::from_secs(30), |body| {
        body["rows"][0]["estimated_count"] == 2
    });
    assert_eq!(body["rows"][0]["item"], "a", "{body}");

    // Appended lines are read: the file is followed.
    let mut file = std::fs::OpenOptions::new().append(true).open(&input).unwrap();
    std::io::Write::write_all(&mut file, b"{\"item\":\"a\"}\n").unwrap();
    server.wait_for("/api/v1/heavy-hitters", std::time::Duration::from_secs(30), |body| {
        body["rows"][0]["estimated_count"] == 3
    });
}
