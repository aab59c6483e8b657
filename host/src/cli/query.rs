//! `topk query`: a one-shot top-K over files or standard input, counted by the sketch
//! component under wasmtime.
//!
//! One reader thread reads lines in batches of about 1 MiB and hands them to worker threads.
//! Each worker extracts the items, packs them into one buffer per batch and feeds its own
//! component instance. At the end, one more instance merges the workers' snapshots and returns
//! the top-K that is printed.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use serde::Serialize;
use topk_sketch::{Config, ErrorType};

use crate::input::{
    Extractor, Format, FormatSpec, LineBatch, LineReader, LineStatus, Location, Outcome, ReadOptions, ReadStatus, Reason,
    Scratch, TimeFormat, DEFAULT_BATCH_BYTES, DEFAULT_MAX_LINE_BYTES,
};
use crate::pipeline::{ValueBatch, ValueTable};
use crate::runner::{Guest, GuestSummary, Limits, OwnedRow, PackedBatch, Runner};

/// Default frequent-items map size: 2^20 slots, so input with up to 786,432 distinct items is
/// counted exactly (the maximum error stays 0), and input with more still gets bounds.
pub const DEFAULT_MAP_SIZE: u32 = 1 << 20;

/// HyperLogLog precision of the distinct estimate: 2^14 registers, about 0.8% relative error.
const HLL_PRECISION: u8 = 14;

/// Batches in flight between the reader and the workers, per worker.
const BATCHES_PER_WORKER: usize = 3;

/// Arguments of `topk query`.
#[derive(Debug, Clone, clap::Args)]
#[command(after_help = "Examples:\n  topk query --format combined --item ip data/elastic_apache_logs/apache_logs\n  topk query --format csv --item tailnum --skip-value NA data/nycflights13/flights.csv.gz\n  topk query --format text --tokenize \"[a-z]+(?:'[a-z]+)*\" --lowercase play.txt.gz")]
pub struct QueryArgs {
    /// Files to read, in order; `.gz` files are decompressed. Standard input when none is
    /// given or for `-`.
    pub files: Vec<PathBuf>,

    /// Line format: ndjson, csv, tsv, combined, zeek or text. Default: guessed from the
    /// first file's extension (.json/.ndjson/.jsonl, .csv, .tsv, .log is combined, .txt is text).
    #[arg(long)]
    pub format: Option<Format>,

    /// The item field: a JSON pointer (`/client/ip`) for ndjson, a column name for csv, tsv
    /// and zeek, a field name (`ip`, `path`, `status`, `user_agent`, ...) for combined.
    /// Not used by the text format, whose items are the tokens.
    #[arg(long)]
    pub item: Option<String>,

    /// Number of rows to print.
    #[arg(long, short, default_value_t = 10)]
    pub k: u32,

    /// A dimension field (same syntax as --item): prints a top-K per dimension value, for the
    /// --max-dimension-values most frequent values, or only for --value.
    #[arg(long)]
    pub dimension: Option<String>,

    /// Counts only events whose dimension equals this value (needs --dimension).
    #[arg(long, requires = "dimension")]
    pub value: Option<String>,

    /// Maximum number of dimension values given their own top-K, chosen by a sketch of the
    /// dimension values. Events counted for no printed value are reported as
    /// `other_dimension_events`; a value's upper bounds include its events among them.
    #[arg(long, default_value_t = 32, requires = "dimension")]
    pub max_dimension_values: usize,

    /// The event-time field (same syntax as --item); the report then gives the time range.
    #[arg(long)]
    pub time: Option<String>,

    /// Format of the time field: auto, epoch-s, epoch-ms, rfc3339 or clf
    /// (`17/May/2015:10:05:03 +0000`).
    #[arg(long, default_value_t = TimeFormat::Auto)]
    pub time_format: TimeFormat,

    /// Counts only events at or after this time (same formats as --time-format; needs --time).
    #[arg(long, requires = "time")]
    pub since: Option<String>,

    /// Counts only events before this time (needs --time).
    #[arg(long, requires = "time")]
    pub until: Option<String>,

    /// An item value that means "no value" (repeatable): such lines are skipped and counted as
    /// skipped, not as malformed. JSON null and Zeek unset fields are always skipped. Example:
    /// `--skip-value NA`. Pass `--skip-value ''` to skip empty items.
    #[arg(long = "skip-value", value_name = "VALUE")]
    pub skip_values: Vec<String>,

    /// Regular expression whose matches are the items of the text format (default `\S+`).
    #[arg(long, value_name = "REGEX")]
    pub tokenize: Option<String>,

    /// Checks every NDJSON line completely, so a syntax error after the selected fields makes
    /// the line malformed. Without it the scan stops at the selected fields and only checks the
    /// closing bracket, which is faster.
    #[arg(long)]
    pub strict_json: bool,

    /// Lowercases items before counting.
    #[arg(long)]
    pub lowercase: bool,

    /// Skips lines matching this regular expression (separators, comments); they are counted
    /// as skipped. Example: `--skip-lines '^#'`.
    #[arg(long, value_name = "REGEX")]
    pub skip_lines: Option<String>,

    /// Frequent-items map size of each summary, a power of two from 8 to 2^30. Input with up
    /// to 3/4 of this many distinct items is counted exactly. Each slot costs about 24 bytes
    /// of guest memory plus the item's bytes.
    #[arg(long, default_value_t = DEFAULT_MAP_SIZE)]
    pub map_size: u32,

    /// Guarantee of the printed rows: no-false-negatives (every item that may be above the
    /// maximum error) or no-false-positives (only items surely above it).
    #[arg(long, default_value = "no-false-negatives", value_parser = parse_error_type)]
    pub error_type: ErrorType,

    /// Lines longer than this many bytes are reported as too long and not counted.
    #[arg(long, default_value_t = DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,

    /// Worker threads that parse and count. Default: the number of available cores.
    #[arg(long)]
    pub threads: Option<usize>,

    /// The sketch component. Default: `topk_component.wasm` next to the binary or one folder
    /// up, then `target/topk_component.wasm` in the current directory and in the workspace.
    #[arg(long, env = "TOPK_COMPONENT")]
    pub component: Option<PathBuf>,

    /// Prints the result as JSON instead of a table.
    #[arg(long)]
    pub json: bool,

    /// Number of malformed-line examples printed on standard error.
    #[arg(long, default_value_t = 5)]
    pub examples: usize,
}

fn parse_error_type(text: &str) -> Result<ErrorType, String> {
    match text {
        "no-false-negatives" => Ok(ErrorType::NoFalseNegatives),
        "no-false-positives" => Ok(ErrorType::NoFalsePositives),
        other => Err(format!("invalid error type `{other}`: expected no-false-negatives or no-false-positives")),
    }
}

/// Runs `topk query`: counts the files through the component and prints the top-K.
///
/// # Errors
///
/// Fails when an argument is invalid, a file cannot be read, a header lacks the selected
/// column, or the component cannot be loaded or traps. Malformed lines are not errors: they
/// are counted and reported on standard error.
pub fn run(args: QueryArgs) -> Result<()> {
    let started = Instant::now();
    let plan = Plan::new(&args)?;
    let runner = Runner::new(&plan.component, Limits::default()).with_context(|| "failed to load the sketch component")?;

    let counted = count(&plan, &runner)?;
    let report = build_report(&plan, &runner, counted)?;

    let mut stdout = io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &report)?;
        writeln!(stdout)?;
    } else {
        print_table(&mut stdout, &report)?;
    }
    print_bad_lines(&report, args.examples);
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, lines = report.lines, "query finished");
    Ok(())
}

/// The checked arguments.
struct Plan {
    sources: Vec<PathBuf>,
    spec: FormatSpec,
    k: u32,
    config: Config,
    error_type: ErrorType,
    value: Option<Vec<u8>>,
    max_dimension_values: usize,
    since_ms: Option<i64>,
    until_ms: Option<i64>,
    read_options: ReadOptions,
    threads: usize,
    component: PathBuf,
    examples: usize,
}

impl Plan {
    fn new(args: &QueryArgs) -> Result<Self> {
        let sources = if args.files.is_empty() { vec![PathBuf::from("-")] } else { args.files.clone() };
        let format = match args.format {
            Some(format) => format,
            None => guess_format(&sources[0])?,
        };
        let item = match (&args.item, format) {
            (Some(item), _) => item.clone(),
            (None, Format::Text) => String::new(),
            (None, _) => bail!("missing --item: name the field to count, e.g. `--item ip` for the combined log"),
        };
        if args.k == 0 {
            bail!("invalid --k 0: ask for at least one row");
        }
        if !args.map_size.is_power_of_two() || !(8..=1 << 30).contains(&args.map_size) {
            bail!("invalid --map-size {}: use a power of two from 8 to 1073741824, e.g. 1048576", args.map_size);
        }
        if args.max_dimension_values == 0 {
            bail!("invalid --max-dimension-values 0: use at least 1");
        }

        let spec = FormatSpec {
            format,
            item,
            dimension: args.dimension.clone(),
            time: args.time.clone(),
            time_format: args.time_format,
            skip_values: args.skip_values.iter().map(|value| value.as_bytes().to_vec()).collect(),
            tokenize: args.tokenize.clone(),
            lowercase: args.lowercase,
            skip_lines: args.skip_lines.clone(),
            strict: args.strict_json,
        };
        Extractor::new(&spec)?;

        let parse_bound = |name: &str, text: &Option<String>| -> Result<Option<i64>> {
            match text {
                None => Ok(None),
                Some(text) => args
                    .time_format
                    .parse_ms(text.as_bytes())
                    .map(Some)
                    .map_err(|error| anyhow!("invalid --{name} `{text}`: {}", error.message)),
            }
        };
        let threads = args.threads.unwrap_or_else(|| thread::available_parallelism().map_or(2, |n| n.get())).max(1);

        Ok(Plan {
            sources,
            spec,
            k: args.k,
            config: Config { max_map_size: args.map_size, hll_precision: HLL_PRECISION, count_min_width: 0, count_min_depth: 0 },
            error_type: args.error_type,
            value: args.value.as_ref().map(|value| value.as_bytes().to_vec()),
            max_dimension_values: args.max_dimension_values,
            since_ms: parse_bound("since", &args.since)?,
            until_ms: parse_bound("until", &args.until)?,
            read_options: ReadOptions { max_line_bytes: args.max_line_bytes, ..ReadOptions::default() },
            threads,
            component: find_component(args.component.as_deref())?,
            examples: args.examples,
        })
    }
}

fn guess_format(path: &Path) -> Result<Format> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let extension = name.rsplit_once('.').map(|(_, extension)| extension).unwrap_or_default();
    match extension {
        "json" | "ndjson" | "jsonl" => Ok(Format::Ndjson),
        "csv" => Ok(Format::Csv),
        "tsv" => Ok(Format::Tsv),
        "log" => Ok(Format::Combined),
        "txt" => Ok(Format::Text),
        _ => bail!("cannot guess the format of {}: pass --format ndjson, csv, tsv, combined, zeek or text", path.display()),
    }
}

/// Finds the component: the flag, then next to the binary, then the `target/` folders.
fn find_component(flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = flag {
        return Ok(path.to_path_buf());
    }

    let mut candidates = Vec::new();
    if let Some(dir) = std::env::current_exe().ok().and_then(|exe| exe.parent().map(Path::to_path_buf)) {
        candidates.push(dir.join("topk_component.wasm"));
        candidates.push(dir.join("../topk_component.wasm"));
    }
    candidates.push(PathBuf::from("target/topk_component.wasm"));
    candidates.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/topk_component.wasm"));

    candidates.iter().find(|path| path.is_file()).cloned().ok_or_else(|| {
        anyhow!(
            "the sketch component was not found (looked in {}); build it with `cargo build -p topk-component --target wasm32-unknown-unknown --release && cargo run -q -p xtask -- component`, or pass --component",
            candidates.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", ")
        )
    })
}

/// A batch of lines for a worker; data lines start at `first_line` (the ones before were a
/// header).
struct Work {
    batch: LineBatch,
    first_line: usize,
    source: usize,
    extractor: Arc<Extractor>,
}

/// One line that was not counted, kept as an example.
#[derive(Debug, Clone, Serialize)]
struct BadExample {
    source: String,
    location: Location,
    reason: Reason,
    message: String,
    line: String,
}

#[derive(Default)]
struct Stats {
    lines: u64,
    events: u64,
    skipped: u64,
    filtered: u64,
    bad: [u64; Reason::ALL.len()],
    examples: Vec<(usize, BadExample)>,
    min_time: Option<i64>,
    max_time: Option<i64>,
    other_dimension_events: u64,
}

impl Stats {
    fn merge(&mut self, other: Stats) {
        self.lines += other.lines;
        self.events += other.events;
        self.skipped += other.skipped;
        self.filtered += other.filtered;
        for (total, count) in self.bad.iter_mut().zip(other.bad) {
            *total += count;
        }
        self.examples.extend(other.examples);
        self.min_time = min_option(self.min_time, other.min_time);
        self.max_time = self.max_time.max(other.max_time);
        self.other_dimension_events += other.other_dimension_events;
    }
}

fn min_option(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// A dimension value (`None` without a dimension), the snapshots counted for it and the weight
/// of its events that they lack.
struct GroupSnapshots {
    key: Option<Vec<u8>>,
    snapshots: Vec<Vec<u8>>,
    /// Counted weight, which ranks the values.
    weight: u64,
    /// Upper bound on the weight of the value's events in no snapshot: counted before the
    /// value was admitted in a worker, or in a worker that did not track it.
    missed: u64,
}

/// Snapshots of every group and the statistics.
struct Counted {
    groups: Vec<GroupSnapshots>,
    stats: Stats,
    elapsed_s: f64,
}

/// Reads every source on this thread and counts on `plan.threads` workers.
fn count(plan: &Plan, runner: &Runner) -> Result<Counted> {
    let started = Instant::now();
    let (work_sender, work_receiver) = mpsc::sync_channel::<Work>(plan.threads * BATCHES_PER_WORKER);
    let work_receiver = Arc::new(Mutex::new(work_receiver));
    let (spare_sender, spare_receiver) = mpsc::channel::<LineBatch>();

    let outputs = thread::scope(|scope| -> Result<Vec<WorkerOutput>> {
        let mut handles = Vec::new();
        for index in 0..plan.threads {
            let receiver = work_receiver.clone();
            let spares = spare_sender.clone();
            let runner = runner.clone();
            let handle = thread::Builder::new()
                .name(format!("topk-query-{index}"))
                .spawn_scoped(scope, move || Worker::new(plan, &runner)?.run(&receiver, &spares))
                .context("failed to spawn a worker thread")?;
            handles.push(handle);
        }
        drop(spare_sender);

        let read_result = read_sources(plan, &work_sender, &spare_receiver);
        drop(work_sender);

        let mut outputs = Vec::new();
        for handle in handles {
            outputs.push(handle.join().map_err(|_| anyhow!("a worker thread panicked"))??);
        }
        read_result?;
        Ok(outputs)
    })?;

    let mut stats = Stats::default();
    let mut groups: BTreeMap<Option<Vec<u8>>, GroupSnapshots> = BTreeMap::new();
    // Per group, the untracked weight of the workers that tracked it.
    let mut trackers_untracked: BTreeMap<Option<Vec<u8>>, u64> = BTreeMap::new();
    let mut other = 0u64;
    for output in outputs {
        stats.merge(output.stats);
        other = other.saturating_add(output.untracked);
        for counted in output.snapshots {
            let trackers = trackers_untracked.entry(counted.key.clone()).or_default();
            *trackers = trackers.saturating_add(output.untracked);
            let group = groups.entry(counted.key.clone()).or_insert_with(|| GroupSnapshots {
                key: counted.key,
                snapshots: Vec::new(),
                weight: 0,
                missed: 0,
            });
            group.snapshots.push(counted.snapshot);
            group.weight = group.weight.saturating_add(counted.weight);
            group.missed = group.missed.saturating_add(counted.missed);
        }
    }

    // A value lacks the whole untracked weight of each worker that did not track it.
    for (key, group) in groups.iter_mut() {
        let lacking = other.saturating_sub(trackers_untracked[key]);
        group.missed = group.missed.saturating_add(lacking);
    }

    // Workers may track different values; keep the ones with the most counted events.
    let mut groups: Vec<GroupSnapshots> = groups.into_values().collect();
    if plan.spec.dimension.is_some() && plan.value.is_none() && groups.len() > plan.max_dimension_values {
        groups.sort_by(|a, b| b.weight.cmp(&a.weight).then_with(|| a.key.cmp(&b.key)));
        for dropped in groups.drain(plan.max_dimension_values..) {
            other = other.saturating_add(dropped.weight);
        }
    }
    stats.other_dimension_events = other;
    Ok(Counted { groups, stats, elapsed_s: started.elapsed().as_secs_f64() })
}

/// Reads the sources in order, reads each one's header, and sends its lines to the workers.
fn read_sources(plan: &Plan, work: &SyncSender<Work>, spares: &Receiver<LineBatch>) -> Result<()> {
    let base = Extractor::new(&plan.spec)?;
    for (source_index, path) in plan.sources.iter().enumerate() {
        let mut reader = if path.as_os_str() == "-" {
            LineReader::stdin(plan.read_options.clone())
        } else {
            LineReader::open(path, plan.read_options.clone()).with_context(|| format!("failed to open {}", path.display()))?
        };
        let mut extractor = base.clone();
        let mut shared: Option<Arc<Extractor>> = None;

        loop {
            let mut batch = spares.try_recv().unwrap_or_default();
            let status = reader
                .read_batch(&mut batch, usize::MAX, DEFAULT_BATCH_BYTES)
                .with_context(|| format!("failed to read {}", path.display()))?;
            if status != ReadStatus::Lines {
                break;
            }

            let mut first_line = 0;
            while extractor.needs_header() && first_line < batch.len() {
                let line = batch.line(first_line);
                if let LineStatus::TooLong { length } = line.status {
                    bail!("the header of {} is {length} bytes long, over --max-line-bytes", path.display());
                }
                extractor.read_header(line.bytes).with_context(|| format!("invalid header in {}", path.display()))?;
                first_line += 1;
            }
            if extractor.needs_header() {
                continue;
            }

            let extractor = shared.get_or_insert_with(|| Arc::new(extractor.clone())).clone();
            if work.send(Work { batch, first_line, source: source_index, extractor }).is_err() {
                // A worker failed; its error is reported when it is joined.
                return Ok(());
            }
        }
    }
    Ok(())
}

/// The snapshot of one group of one worker.
struct CountedGroup {
    /// The dimension value, `None` without a dimension.
    key: Option<Vec<u8>>,
    snapshot: Vec<u8>,
    weight: u64,
    missed: u64,
}

struct WorkerOutput {
    snapshots: Vec<CountedGroup>,
    /// Weight of the worker's events counted in no value's snapshot.
    untracked: u64,
    stats: Stats,
}

struct Group {
    summary: GuestSummary,
    batch: PackedBatch,
}

/// One worker: its own component instance, and one summary, or one per tracked dimension value.
struct Worker<'p> {
    plan: &'p Plan,
    guest: Guest,
    /// The one group without a dimension (or with --value), key empty.
    groups: Vec<Group>,
    /// Per-value summaries with a dimension (and no --value), and the events waiting for them.
    table: Option<ValueTable>,
    pending: ValueBatch,
    stats: Stats,
    scratch: Scratch,
}

impl<'p> Worker<'p> {
    fn new(plan: &'p Plan, runner: &Runner) -> Result<Self> {
        let mut guest = runner.instantiate()?;
        let grouped = plan.spec.dimension.is_some() && plan.value.is_none();
        let table = match grouped {
            true => Some(ValueTable::new(&mut guest, plan.config, plan.max_dimension_values).context("failed to create a summary in the sketch component")?),
            false => None,
        };
        Ok(Worker {
            plan,
            guest,
            groups: Vec::new(),
            table,
            pending: ValueBatch::default(),
            stats: Stats::default(),
            scratch: Scratch::default(),
        })
    }

    fn run(mut self, work: &Mutex<Receiver<Work>>, spares: &mpsc::Sender<LineBatch>) -> Result<WorkerOutput> {
        loop {
            let next = work.lock().map_err(|_| anyhow!("the work queue lock is poisoned"))?.recv();
            let Ok(item) = next else { break };
            self.count_batch(&item)?;
            let _ = spares.send(item.batch);
        }
        self.finish()
    }

    fn count_batch(&mut self, work: &Work) -> Result<()> {
        let plan = self.plan;
        let grouped = plan.spec.dimension.is_some() && plan.value.is_none();

        for index in work.first_line..work.batch.len() {
            let line = work.batch.line(index);
            self.stats.lines += 1;
            if let LineStatus::TooLong { length } = line.status {
                let message = format!("the line is {length} bytes long, over --max-line-bytes {}", plan.read_options.max_line_bytes);
                self.record_bad(work, line.location, Reason::LineTooLong, message, b"");
                continue;
            }

            let groups = &mut self.groups;
            let pending = &mut self.pending;
            let stats = &mut self.stats;
            let guest = &mut self.guest;
            let mut failure = None;
            let outcome = work.extractor.extract(line.bytes, &mut self.scratch, |event| {
                if let Some(time) = event.time_ms {
                    if plan.since_ms.is_some_and(|since| time < since) || plan.until_ms.is_some_and(|until| time >= until) {
                        stats.filtered += 1;
                        return;
                    }
                    stats.min_time = min_option(stats.min_time, Some(time));
                    stats.max_time = stats.max_time.max(Some(time));
                }
                let key: &[u8] = match (&plan.value, event.dimension) {
                    (Some(value), Some(dimension)) if value.as_slice() != dimension => {
                        stats.filtered += 1;
                        return;
                    }
                    (None, Some(dimension)) if grouped => dimension,
                    _ => b"",
                };

                if grouped {
                    if let Err(error) = pending.push(key, event.item) {
                        failure = Some(anyhow!(error));
                        return;
                    }
                    stats.events += 1;
                    return;
                }

                if groups.is_empty() {
                    match guest.create(plan.config) {
                        Ok(summary) => groups.push(Group { summary, batch: PackedBatch::with_capacity(4096, 64 << 10) }),
                        Err(error) => {
                            failure = Some(anyhow!(error).context("failed to create a summary in the sketch component"));
                            return;
                        }
                    }
                }
                let group = &mut groups[0];
                if let Err(error) = group.batch.push(event.item) {
                    failure = Some(anyhow!(error));
                    return;
                }
                stats.events += 1;
            });
            if let Some(error) = failure {
                return Err(error);
            }

            match outcome {
                Ok(Outcome::Skipped) => self.stats.skipped += 1,
                Ok(Outcome::Events(_) | Outcome::Comment) => {}
                Err(bad) => self.record_bad(work, line.location, bad.reason, bad.message, line.bytes),
            }
        }

        self.flush()
    }

    /// Sends every group's packed batch to the component.
    fn flush(&mut self) -> Result<()> {
        if let Some(table) = &mut self.table {
            let config = self.plan.config;
            table
                .update(&mut self.guest, &self.pending, |guest, _| guest.create(config))
                .context("the sketch component rejected a batch")?;
            self.pending.clear();
        }
        for group in &mut self.groups {
            if group.batch.is_empty() {
                continue;
            }
            self.guest.update_batch(&group.summary, &group.batch).context("the sketch component rejected a batch")?;
            group.batch.clear();
        }
        Ok(())
    }

    fn record_bad(&mut self, work: &Work, location: Location, reason: Reason, message: String, line: &[u8]) {
        self.stats.bad[reason.index()] += 1;
        if self.stats.examples.len() < self.plan.examples {
            let prefix = &line[..line.len().min(200)];
            let example = BadExample {
                source: self.plan.sources[work.source].display().to_string(),
                location,
                reason,
                message,
                line: String::from_utf8_lossy(prefix).into_owned(),
            };
            self.stats.examples.push((work.source, example));
        }
    }

    fn finish(mut self) -> Result<WorkerOutput> {
        self.flush()?;
        let mut snapshots = Vec::new();
        for group in &self.groups {
            let snapshot = self.guest.export_snapshot(&group.summary).context("failed to export a snapshot from the sketch component")?;
            let weight = self.guest.total_weight(&group.summary)?;
            snapshots.push(CountedGroup { key: None, snapshot, weight, missed: 0 });
        }

        let mut untracked = 0;
        if let Some(table) = &self.table {
            for (value, tracked) in table.tracked() {
                let snapshot = self.guest.export_snapshot(&tracked.summary).context("failed to export a snapshot from the sketch component")?;
                snapshots.push(CountedGroup { key: Some(value.clone()), snapshot, weight: tracked.weight, missed: tracked.missed });
            }
            untracked = table.untracked_weight();
        }
        Ok(WorkerOutput { snapshots, untracked, stats: self.stats })
    }
}

/// One printed row.
#[derive(Debug, Serialize)]
struct ReportRow {
    rank: usize,
    item: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    item_hex: Option<String>,
    estimate: u64,
    lower_bound: u64,
    upper_bound: u64,
}

/// The top-K of one group.
#[derive(Debug, Serialize)]
struct GroupReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    dimension_value: Option<String>,
    /// The dimension value's bytes in hex, when they are not UTF-8 (`dimension_value` then
    /// shows them with replacement characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    dimension_value_hex: Option<String>,
    rows: Vec<ReportRow>,
    /// Weight counted in the group's summary.
    total: u64,
    /// Upper bound on the weight of the value's events that its summary lacks; included in
    /// every row's upper bound.
    missed_weight: u64,
    distinct_estimate: f64,
    maximum_error: u64,
}

/// The whole result, printed as a table or JSON.
#[derive(Debug, Serialize)]
struct Report {
    format: String,
    item: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimension: Option<String>,
    k: u32,
    map_size: u32,
    error_type: &'static str,
    groups: Vec<GroupReport>,
    lines: u64,
    events: u64,
    skipped: u64,
    filtered: u64,
    other_dimension_events: u64,
    malformed: BTreeMap<&'static str, u64>,
    malformed_total: u64,
    malformed_examples: Vec<BadExample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_range_ms: Option<[i64; 2]>,
    elapsed_s: f64,
}

/// Merges each group's snapshots in a fresh instance and reads its top-K.
fn build_report(plan: &Plan, runner: &Runner, counted: Counted) -> Result<Report> {
    let mut guest = runner.instantiate()?;
    let mut groups = Vec::new();

    for group in &counted.groups {
        // With --value the one group is that value's.
        let key = group.key.as_ref().or(plan.value.as_ref());
        let snapshots = &group.snapshots;
        let started = Instant::now();

        // NOTE: the largest snapshot is imported first because the core's merge inserts the
        // other table's items in cluster order. Into a smaller table that order builds long
        // probe runs (18 s natively for a 786,000-item table into a 200,000-item one).
        let mut snapshots: Vec<&Vec<u8>> = snapshots.iter().collect();
        snapshots.sort_by_key(|snapshot| std::cmp::Reverse(snapshot.len()));
        let mut snapshots = snapshots.into_iter();
        let Some(first) = snapshots.next() else { continue };
        let summary = guest.import_snapshot(first).context("failed to import a worker snapshot")?;
        for snapshot in snapshots {
            guest.merge_snapshot(&summary, snapshot).context("failed to merge worker snapshots")?;
        }
        tracing::debug!(bytes = first.len(), elapsed_ms = started.elapsed().as_millis() as u64, "merged the worker snapshots");

        let rows = guest.top_k(&summary, plan.k, plan.error_type)?;
        let missed = group.missed;
        groups.push(GroupReport {
            dimension_value: key.map(|key| String::from_utf8_lossy(key).into_owned()),
            dimension_value_hex: key.filter(|key| std::str::from_utf8(key).is_err()).map(|key| hex(key)),
            rows: rows.into_iter().enumerate().map(|(index, row)| report_row(index + 1, row, missed)).collect(),
            total: guest.total_weight(&summary)?,
            missed_weight: missed,
            distinct_estimate: guest.distinct(&summary)?,
            maximum_error: guest.maximum_error(&summary)?,
        });
        guest.drop_summary(summary)?;
    }
    // Dimension values with the most events first.
    groups.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.dimension_value.cmp(&b.dimension_value)));
    if groups.is_empty() && plan.spec.dimension.is_none() {
        groups.push(GroupReport { dimension_value: None, dimension_value_hex: None, rows: Vec::new(), total: 0, missed_weight: 0, distinct_estimate: 0.0, maximum_error: 0 });
    }

    let stats = counted.stats;
    let mut examples = stats.examples;
    examples.sort_by_key(|(source, example)| (*source, example.location.byte));
    let malformed: BTreeMap<_, _> = Reason::ALL.iter().map(|reason| (reason.as_str(), stats.bad[reason.index()])).collect();

    Ok(Report {
        format: plan.spec.format.to_string(),
        item: plan.spec.item.clone(),
        dimension: plan.spec.dimension.clone(),
        k: plan.k,
        map_size: plan.config.max_map_size,
        error_type: match plan.error_type {
            ErrorType::NoFalseNegatives => "no-false-negatives",
            ErrorType::NoFalsePositives => "no-false-positives",
        },
        groups,
        lines: stats.lines,
        events: stats.events,
        skipped: stats.skipped,
        filtered: stats.filtered,
        other_dimension_events: stats.other_dimension_events,
        malformed_total: stats.bad.iter().sum(),
        malformed,
        malformed_examples: examples.into_iter().map(|(_, example)| example).take(plan.examples).collect(),
        time_range_ms: stats.min_time.zip(stats.max_time).map(|(min, max)| [min, max]),
        elapsed_s: counted.elapsed_s,
    })
}

/// Builds a printed row; `missed` is the weight of the group's events that its summary lacks,
/// added to the upper bound.
fn report_row(rank: usize, row: OwnedRow, missed: u64) -> ReportRow {
    let (item, item_hex) = match String::from_utf8(row.item) {
        Ok(text) => (text, None),
        Err(error) => {
            let bytes = error.into_bytes();
            (String::from_utf8_lossy(&bytes).into_owned(), Some(hex(&bytes)))
        }
    };
    let upper_bound = row.upper_bound.saturating_add(missed);
    ReportRow { rank, item, item_hex, estimate: row.estimate, lower_bound: row.lower_bound, upper_bound }
}

fn print_table(out: &mut impl Write, report: &Report) -> io::Result<()> {
    for (index, group) in report.groups.iter().enumerate() {
        if index > 0 {
            writeln!(out)?;
        }
        if let (Some(dimension), Some(value)) = (&report.dimension, &group.dimension_value) {
            match &group.dimension_value_hex {
                Some(hex) => writeln!(out, "{dimension} = {value} (bytes {hex})")?,
                None => writeln!(out, "{dimension} = {value}")?,
            }
        }

        let width = group.rows.iter().map(|row| row.item.chars().count()).max().unwrap_or(4).clamp(4, 80);
        writeln!(out, "{:>4}  {:<width$}  {:>12}  {:>12}  {:>12}", "rank", "item", "estimate", "lower", "upper")?;
        for row in &group.rows {
            let item: String = row.item.chars().take(80).collect();
            writeln!(out, "{:>4}  {:<width$}  {:>12}  {:>12}  {:>12}", row.rank, item, row.estimate, row.lower_bound, row.upper_bound)?;
        }
        writeln!(
            out,
            "total {}  distinct ~{:.0}  maximum error {}",
            group.total, group.distinct_estimate, group.maximum_error
        )?;
        if group.missed_weight > 0 {
            writeln!(out, "up to {} more events of this value were counted before it got its own summary; the upper bounds include them", group.missed_weight)?;
        }
    }
    writeln!(
        out,
        "lines {}  events {}  skipped {}  malformed {}  ({:.2} s)",
        report.lines, report.events, report.skipped, report.malformed_total, report.elapsed_s
    )?;
    if report.other_dimension_events > 0 {
        writeln!(
            out,
            "{} events are in no printed value's summary: their values were not among the most frequent (raise --max-dimension-values to track more)",
            report.other_dimension_events
        )?;
    }
    Ok(())
}

fn print_bad_lines(report: &Report, examples: usize) {
    if report.malformed_total == 0 {
        return;
    }
    let counts: Vec<String> = report.malformed.iter().filter(|(_, count)| **count > 0).map(|(reason, count)| format!("{reason} {count}")).collect();
    eprintln!("{} lines were not counted: {}", report.malformed_total, counts.join(", "));
    for example in report.malformed_examples.iter().take(examples) {
        eprintln!("  {}: {}: {}: {}", example.source, example.location, example.reason, example.message);
        if !example.line.is_empty() {
            eprintln!("    {}", example.line);
        }
    }
}

/// Formats bytes as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
