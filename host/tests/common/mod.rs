//! Helpers of the service tests: start the real `topk` binary on 127.0.0.1 with a port chosen by
//! the OS, call its HTTP API, kill it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Returns the workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Returns the built component.
pub fn component() -> PathBuf {
    topk_host::runner::find_component(None).expect("build the component first: cargo build -p topk-component --target wasm32-unknown-unknown --release && cargo run -q -p xtask -- component")
}

/// A running `topk run` process.
pub struct Server {
    child: Mutex<Child>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// The file receiving the server's log.
    pub log: PathBuf,
    agent: ureq::Agent,
    token: Option<String>,
}

impl Server {
    /// Starts `topk run` with `args` plus `--bind 127.0.0.1:0`, `--state STATE` and the
    /// component, and waits for its address.
    pub fn start(state: &Path, args: &[&str]) -> Server {
        let log = state.with_extension(format!(
            "log-{}",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        ));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_topk"))
            .arg("run")
            .args(["--bind", "127.0.0.1:0", "--state"])
            .arg(state)
            .arg("--component")
            .arg(component())
            .args(args)
            .env("RUST_LOG", "info")
            .current_dir(workspace())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("spawn topk");

        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(address) = line.strip_prefix("listening on ") {
                    let _ = sender.send(address.to_string());
                }
            }
        });
        let base = match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(base) => base,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "topk did not start; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        Server {
            child: Mutex::new(child),
            base,
            log,
            agent,
            token: None,
        }
    }

    /// Sends the bearer token with every later request.
    pub fn with_token(mut self, token: &str) -> Server {
        self.token = Some(token.to_string());
        self
    }

    /// Sends GET `path` and returns the status and the body text.
    pub fn get_text(&self, path: &str) -> (u16, String) {
        self.get_text_with(path, self.token.as_deref())
    }

    /// Sends GET `path` with an explicit token (or none).
    pub fn get_text_with(&self, path: &str, token: Option<&str>) -> (u16, String) {
        let mut request = self.agent.get(format!("{}{}", self.base, path));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request
            .call()
            .unwrap_or_else(|error| panic!("GET {}: {error}", truncate(path)));
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_string().unwrap())
    }

    /// Sends GET `path` and returns the raw body bytes.
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let mut request = self.agent.get(format!("{}{}", self.base, path));
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.call().unwrap();
        let status = response.status().as_u16();
        (status, response.body_mut().read_to_vec().unwrap())
    }

    /// Sends GET `path` and parses the JSON body.
    pub fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get_text(path);
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("GET {path} returned non-JSON ({error}): {text}"));
        (status, value)
    }

    /// Sends POST `path` with an NDJSON body and parses the JSON response.
    pub fn post(&self, path: &str, body: &str) -> (u16, Value) {
        self.try_post(path, body)
            .unwrap_or_else(|error| panic!("POST {path}: {error}"))
    }

    /// Sends POST `path`; a broken connection is an `Err` instead of a panic.
    pub fn try_post(&self, path: &str, body: &str) -> Result<(u16, Value), String> {
        let mut request = self
            .agent
            .post(format!("{}{}", self.base, path))
            .header("Content-Type", "application/x-ndjson");
        if let Some(token) = &self.token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        let mut response = request.send(body).map_err(|error| error.to_string())?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|error| error.to_string())?;
        let value = serde_json::from_str(&text)
            .unwrap_or_else(|error| panic!("POST {path} returned non-JSON ({error}): {text}"));
        Ok((status, value))
    }

    /// Polls `path` until `done` accepts the JSON body, or panics after `timeout`.
    pub fn wait_for(&self, path: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let (status, body) = self.get(path);
            if status == 200 && done(&body) {
                return body;
            }
            if Instant::now() > deadline {
                panic!("GET {path} did not reach the expected state in {timeout:?}; last body: {body}\nlog:\n{}", self.log_text());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Returns the server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the process with SIGKILL and waits for it.
    pub fn kill(&self) {
        let mut child = self.child.lock().unwrap();
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit success.
    pub fn terminate(&self) -> bool {
        let mut child = self.child.lock().unwrap();
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        child.wait().map(|status| status.success()).unwrap_or(false)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Returns at most the first 200 characters of `text`, for messages.
pub fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}

/// Returns the rows of a heavy-hitters response as (item, estimate, lower, upper).
pub fn rows(body: &Value) -> Vec<(String, u64, u64, u64)> {
    body["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {body}"))
        .iter()
        .map(|row| {
            (
                row["item"].as_str().unwrap().to_string(),
                row["estimated_count"].as_u64().unwrap(),
                row["lower_bound"].as_u64().unwrap(),
                row["upper_bound"].as_u64().unwrap(),
            )
        })
        .collect()
}
