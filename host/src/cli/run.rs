//! `topk run`: ingest files, stdin and HTTP events into event-time windows and serve the API.
//!
//! Every option can also be set in a TOML file given with `--config`, under the same name with
//! underscores (`map_size = 65536`); flags override the file.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use serde::Deserialize;

use crate::api::{self, ApiConfig};
use crate::input::{Format, FormatSpec, ReadOptions, TimeFormat, DEFAULT_MAX_LINE_BYTES};
use crate::pipeline::PipelineConfig;
use crate::runner::{find_component, Limits, Runner};
use crate::service::{Service, ServiceConfig, SourceSpec};
use crate::window::WindowConfig;

/// Options of `topk run`. Every option is optional on the command line; the help gives the
/// default used when neither a flag nor the `--config` file sets it.
#[derive(Debug, Clone, Default, clap::Args, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunArgs {
    /// TOML file with any of these options (names with underscores). Flags override it.
    #[arg(long)]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Files to ingest, in order (`.gz` is decompressed); `-` is standard input. Default: none,
    /// only HTTP ingest.
    pub files: Vec<PathBuf>,

    /// Keep reading the files as they grow, like `tail -F` (rotation and truncation are
    /// followed). Default: false.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub follow: Option<bool>,

    /// Line format of the files: ndjson, csv, tsv, combined, zeek or text. Default: from the
    /// first file's extension (.json/.ndjson/.jsonl, .csv, .tsv, .log = combined, .txt = text).
    #[arg(long)]
    pub format: Option<String>,

    /// Item field of the files: JSON pointer (ndjson), column name (csv, tsv, zeek) or field name
    /// (combined: ip, method, path, status, referrer, user_agent, ...). Required with files.
    #[arg(long)]
    pub item: Option<String>,

    /// Dimension field of the files (same syntax as --item); enables per-value top-K.
    /// Default: none.
    #[arg(long)]
    pub dimension: Option<String>,

    /// Maximum dimension values with their own summary per pane and per rollup (count): the
    /// most frequent ones by a sketch of the dimension values. Events of other values raise the
    /// upper bounds of per-value results instead. Default: 64.
    #[arg(long)]
    pub max_dimension_values: Option<usize>,

    /// Event-time field of the files (same syntax as --item). Default: none, arrival time.
    #[arg(long)]
    pub time: Option<String>,

    /// Format of the time field: auto, epoch-s, epoch-ms, rfc3339 or clf. Default: auto.
    #[arg(long)]
    pub time_format: Option<String>,

    /// Item value meaning "no value" (repeatable); such lines are skipped. Default: none.
    #[arg(long = "skip-value", value_name = "VALUE")]
    pub skip_values: Vec<String>,

    /// Lowercase items before counting. Default: false.
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub lowercase: Option<bool>,

    /// Maximum line length, in bytes. Longer lines are counted as malformed. Default: 1048576.
    #[arg(long)]
    pub max_line_bytes: Option<usize>,

    /// Item field (JSON pointer) of events posted to /api/v1/events. Default: /item.
    #[arg(long)]
    pub http_item: Option<String>,

    /// Dimension field (JSON pointer) of posted events. Default: none (empty value).
    #[arg(long)]
    pub http_dimension: Option<String>,

    /// Event-time field (JSON pointer) of posted events. Default: none, arrival time.
    #[arg(long)]
    pub http_time: Option<String>,

    /// Address and port to serve on. Default: 127.0.0.1:8080 (port 0 picks a free port).
    #[arg(long)]
    pub bind: Option<SocketAddr>,

    /// Bearer token required on every route but /healthz. Default: none (no authentication).
    #[arg(long, env = "TOPK_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Folder of the browser dashboard served at /. Default: js/dashboard.
    #[arg(long)]
    pub dashboard: Option<PathBuf>,

    /// The redb state file (created when missing). Default: topk-state.redb.
    #[arg(long)]
    pub state: Option<PathBuf>,

    /// The sketch component. Default: the TOPK_COMPONENT environment variable, then
    /// topk_component.wasm next to the binary, then target/topk_component.wasm.
    #[arg(long)]
    pub component: Option<PathBuf>,

    /// Frequent-items map size, a power of two from 8 to 2^30 (slots; the sketch is exact
    /// below 3/4 of it distinct items per pane). Default: 524288.
    #[arg(long)]
    pub map_size: Option<u32>,

    /// HyperLogLog precision for distinct counts, 4 to 18. Default: 12.
    #[arg(long)]
    pub hll_precision: Option<u8>,

    /// Count-Min counters per row, 0 to disable. Default: 0.
    #[arg(long)]
    pub count_min_width: Option<u32>,

    /// Count-Min rows, 1 to 16. Default: 4.
    #[arg(long)]
    pub count_min_depth: Option<u8>,

    /// Pane size (duration dividing one hour, e.g. 1m). Default: 1m.
    #[arg(long)]
    pub pane: Option<String>,

    /// Bounded out-of-orderness: the watermark trails the newest event time by this (duration).
    /// Default: 5s.
    #[arg(long)]
    pub out_of_orderness: Option<String>,

    /// Allowed lateness after the watermark passes a pane's end (duration). Default: 0s.
    #[arg(long)]
    pub allowed_lateness: Option<String>,

    /// How long panes are kept after their end (duration, at least 1h). Default: 25h.
    #[arg(long)]
    pub pane_retention: Option<String>,

    /// How long hour rollups are kept (duration, at least 1day). Default: 8days.
    #[arg(long)]
    pub hour_retention: Option<String>,

    /// How long day rollups are kept (duration). Default: 35days.
    #[arg(long)]
    pub day_retention: Option<String>,

    /// Time between publishes of new state to queries (duration). Default: 200ms.
    #[arg(long)]
    pub publish_interval: Option<String>,

    /// Time between checkpoints to the state file (duration). Default: 1s.
    #[arg(long)]
    pub checkpoint_interval: Option<String>,

    /// Largest k a query may ask for (rows). Default: 1000.
    #[arg(long)]
    pub max_k: Option<u32>,

    /// Maximum wait of a query with min_offset (duration). Default: 5s.
    #[arg(long)]
    pub max_wait: Option<String>,

    /// Largest body of POST /api/v1/events, in bytes. Default: 16777216.
    #[arg(long)]
    pub max_body_bytes: Option<usize>,

    /// JSON-lines file receiving malformed lines and too-late events. Default: none.
    #[arg(long)]
    pub dead_letter: Option<PathBuf>,

    /// Linear-memory limit of each component instance, in MiB. Default: 512.
    #[arg(long)]
    pub guest_memory_mib: Option<usize>,

    /// Deadline of each call into the component, in ms. Default: 10000.
    #[arg(long)]
    pub guest_call_timeout_ms: Option<u64>,
}

macro_rules! prefer_flags {
    ($flags:expr, $file:expr, $($field:ident),*) => {
        $( if $flags.$field.is_some() { $file.$field = $flags.$field.clone(); } )*
    };
}

impl RunArgs {
    /// Returns these flags over the options of the `--config` file, if any.
    fn merged(self) -> Result<RunArgs> {
        let Some(path) = &self.config else {
            return Ok(self);
        };
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the config file {}", path.display()))?;
        let mut file: RunArgs = toml::from_str(&text)
            .with_context(|| format!("invalid config file {}", path.display()))?;
        prefer_flags!(
            self,
            file,
            follow,
            format,
            item,
            dimension,
            max_dimension_values,
            time,
            time_format,
            lowercase,
            max_line_bytes,
            http_item,
            http_dimension,
            http_time,
            bind,
            token,
            dashboard,
            state,
            component,
            map_size,
            hll_precision,
            count_min_width,
            count_min_depth,
            pane,
            out_of_orderness,
            allowed_lateness,
            pane_retention,
            hour_retention,
            day_retention,
            publish_interval,
            checkpoint_interval,
            max_k,
            max_wait,
            max_body_bytes,
            dead_letter,
            guest_memory_mib,
            guest_call_timeout_ms
        );
        if !self.files.is_empty() {
            file.files = self.files;
        }
        if !self.skip_values.is_empty() {
            file.skip_values = self.skip_values;
        }
        file.config = self.config;
        Ok(file)
    }
}

fn duration(name: &str, value: Option<&str>, default: &str) -> Result<Duration> {
    let text = value.unwrap_or(default);
    humantime::parse_duration(text).map_err(|error| anyhow!("invalid --{name} `{text}`: {error}; use a duration such as 500ms, 5s, 1m, 25h or 8days"))
}

fn millis(name: &str, value: Option<&str>, default: &str) -> Result<i64> {
    Ok(duration(name, value, default)?.as_millis() as i64)
}

fn guess_format(path: &Path) -> Option<Format> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let extension = name.rsplit_once('.')?.1;
    match extension {
        "json" | "ndjson" | "jsonl" => Some(Format::Ndjson),
        "csv" => Some(Format::Csv),
        "tsv" => Some(Format::Tsv),
        "log" => Some(Format::Combined),
        "txt" => Some(Format::Text),
        _ => None,
    }
}

fn time_format(name: &str, value: Option<&str>) -> Result<TimeFormat> {
    let text = value.unwrap_or("auto");
    text.parse::<TimeFormat>()
        .map_err(|error| anyhow!("invalid --{name} `{text}`: {error}"))
}

/// Builds the service and API settings from the merged options.
fn build(args: &RunArgs) -> Result<(ServiceConfig, ApiConfig, Limits, Option<PathBuf>)> {
    let format = match (&args.format, args.files.first()) {
        (Some(text), _) => text
            .parse::<Format>()
            .map_err(|error| anyhow!("invalid --format `{text}`: {error}"))?,
        (None, Some(first)) => guess_format(first).ok_or_else(|| {
            anyhow!(
                "cannot guess the format of {}; pass --format ndjson|csv|tsv|combined|zeek|text",
                first.display()
            )
        })?,
        (None, None) => Format::Ndjson,
    };
    if !args.files.is_empty() && args.item.is_none() && format != Format::Text {
        bail!("missing --item: name the field to count (a JSON pointer, a column or a combined-log field)");
    }
    let mut spec = FormatSpec::new(format, args.item.clone().unwrap_or_else(|| "/item".into()));
    spec.dimension = args.dimension.clone();
    if let Some(time) = &args.time {
        spec = spec.with_time(
            time.clone(),
            time_format("time-format", args.time_format.as_deref())?,
        );
    }
    spec.skip_values = args
        .skip_values
        .iter()
        .map(|value| value.as_bytes().to_vec())
        .collect();
    spec.lowercase = args.lowercase.unwrap_or(false);

    if args.http_dimension.is_some() && args.dimension.is_none() {
        bail!("--http-dimension needs --dimension NAME as well: NAME is the dimension that queries ask for with dimension=NAME");
    }
    if args.max_dimension_values == Some(0) {
        bail!("invalid --max-dimension-values 0: use at least 1");
    }

    let mut http_format = FormatSpec::new(
        Format::Ndjson,
        args.http_item.clone().unwrap_or_else(|| "/item".into()),
    );
    http_format.dimension = args.http_dimension.clone();
    if let Some(time) = &args.http_time {
        http_format = http_format.with_time(time.clone(), TimeFormat::Auto);
    }

    let window = WindowConfig {
        pane_ms: millis("pane", args.pane.as_deref(), "1m")?,
        out_of_orderness_ms: millis("out-of-orderness", args.out_of_orderness.as_deref(), "5s")?,
        allowed_lateness_ms: millis("allowed-lateness", args.allowed_lateness.as_deref(), "0s")?,
        pane_retention_ms: millis("pane-retention", args.pane_retention.as_deref(), "25h")?,
        hour_retention_ms: millis("hour-retention", args.hour_retention.as_deref(), "8days")?,
        day_retention_ms: millis("day-retention", args.day_retention.as_deref(), "35days")?,
    };
    window.validate().map_err(anyhow::Error::msg)?;
    if window.pane_retention_ms < crate::window::HOUR_MS {
        bail!("invalid --pane-retention: it must be at least 1h, so every hour rollup is built from all its panes");
    }
    if window.hour_retention_ms < crate::window::DAY_MS {
        bail!("invalid --hour-retention: it must be at least 1day, so every day rollup is built from all its hours");
    }

    let sketch = topk_sketch::Config {
        max_map_size: args.map_size.unwrap_or(1 << 19),
        hll_precision: args.hll_precision.unwrap_or(12),
        count_min_width: args.count_min_width.unwrap_or(0),
        count_min_depth: args.count_min_depth.unwrap_or(4),
    };
    // Validate the sketch parameters here, natively, so a typo fails before anything starts.
    topk_sketch::Summary::new(sketch).map_err(|error| anyhow!("invalid sketch option: {error}"))?;

    let max_k = args.max_k.unwrap_or(1000);
    if max_k == 0 {
        bail!("invalid --max-k 0: use 1 or more");
    }
    let sources = args
        .files
        .iter()
        .map(|path| {
            if path.as_os_str() == "-" {
                SourceSpec::Stdin
            } else {
                SourceSpec::File(path.clone())
            }
        })
        .collect();

    let service = ServiceConfig {
        pipeline: PipelineConfig {
            sketch,
            window,
            dimension: args.dimension.clone(),
            max_dimension_values: args.max_dimension_values.unwrap_or(64),
        },
        format: spec,
        sources,
        read: ReadOptions {
            max_line_bytes: args.max_line_bytes.unwrap_or(DEFAULT_MAX_LINE_BYTES),
            follow: args.follow.unwrap_or(false),
            ..ReadOptions::default()
        },
        http_format,
        state_path: args
            .state
            .clone()
            .unwrap_or_else(|| PathBuf::from("topk-state.redb")),
        publish_interval: duration(
            "publish-interval",
            args.publish_interval.as_deref(),
            "200ms",
        )?,
        checkpoint_interval: duration(
            "checkpoint-interval",
            args.checkpoint_interval.as_deref(),
            "1s",
        )?,
        max_k,
        dead_letter: args.dead_letter.clone(),
    };
    let api = ApiConfig {
        bind: args
            .bind
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        token: args.token.clone().filter(|token| !token.is_empty()),
        dashboard: args
            .dashboard
            .clone()
            .unwrap_or_else(|| PathBuf::from("js/dashboard")),
        max_body_bytes: args.max_body_bytes.unwrap_or(16 << 20),
        max_wait: duration("max-wait", args.max_wait.as_deref(), "5s")?,
    };
    let limits = Limits {
        memory_bytes: args.guest_memory_mib.unwrap_or(512) << 20,
        call_timeout: Duration::from_millis(args.guest_call_timeout_ms.unwrap_or(10_000)),
        ..Limits::default()
    };
    Ok((service, api, limits, args.component.clone()))
}

/// Runs `topk run` until SIGINT or SIGTERM, then stops after a final checkpoint.
///
/// # Errors
///
/// Invalid options, a missing component, a state file written with other settings, or an
/// address that cannot be bound.
pub fn run(args: RunArgs) -> Result<()> {
    let args = args.merged()?;
    let (service_config, api_config, limits, component) = build(&args)?;
    let component = find_component(component.as_deref())?;
    let runner = Runner::new(&component, limits)?;
    // Install the recorder before the worker starts, so its first counts are recorded.
    api::metrics_handle()?;
    let mut service = Service::start(runner, service_config)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(2)
        .thread_name("topk-http")
        .build()?;
    let result = runtime.block_on(async {
        let (address, server) =
            api::serve(service.shared.clone(), api_config, shutdown_signal()).await?;
        println!("listening on http://{address}");
        use std::io::Write;
        std::io::stdout().flush()?;
        tracing::info!(%address, component = %component.display(), "serving the topk API");
        server
            .await
            .context("server task failed")?
            .context("server failed")?;
        anyhow::Ok(())
    });

    tracing::info!("shutting down");
    service.stop();
    result
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::terminate(),
        ) {
            Ok(signal) => signal,
            Err(error) => {
                tracing::error!(%error, "failed to listen for SIGTERM; only Ctrl-C stops the server");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
