//! The sources of `topk run`: files and standard input read through the input module, and the
//! HTTP ingest log in the state store. Each turns lines into an [`EventBatch`] and reports the
//! offset after its last line.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crate::input::{
    Extractor, LineBatch, LineReader, LineStatus, Location, ReadOptions, ReadStatus, Reason, Scratch,
};
use crate::pipeline::{Counters, EventBatch};
use crate::state::{StateStore, HTTP_SOURCE};

use super::dead_letter::DeadLetter;

/// Lines read per batch.
const BATCH_LINES: usize = 8192;
/// Bytes read per batch.
const BATCH_BYTES: usize = 1 << 20;

/// The input of a line source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// A file, by path (`.gz` files are decompressed).
    File(PathBuf),
    /// Standard input; its position cannot be resumed after a restart.
    Stdin,
}

/// The result of one poll of a source.
pub(crate) enum Polled {
    /// Lines were read. The batch contains their events and `offset` is after the last line.
    Lines { offset: u64 },
    /// No new line now.
    Idle,
    /// The source is exhausted and will never have more.
    End,
}

/// A line source with its extractor.
pub(crate) struct LineSource {
    spec: SourceSpec,
    id: String,
    reader: LineReader,
    extractor: Extractor,
    lines: LineBatch,
    scratch: Scratch,
    ended: bool,
    /// Total bytes of a regular file at start-up, for replay progress.
    pub(crate) size: Option<u64>,
}

impl LineSource {
    /// Opens `spec` at `offset`, reading the header first when the format has one.
    pub(crate) fn open(
        spec: &SourceSpec,
        extractor: &Extractor,
        options: &ReadOptions,
        offset: u64,
    ) -> anyhow::Result<LineSource> {
        let mut extractor = extractor.clone();
        let (reader, id, size) = match spec {
            SourceSpec::File(path) => {
                let mut reader = LineReader::open(path, options.clone()).map_err(|error| {
                    anyhow::anyhow!("failed to open source {}: {error}", path.display())
                })?;
                if offset > 0 && extractor.needs_header() {
                    read_header(path, options, &mut extractor)?;
                }
                reader.seek(offset).map_err(|error| {
                    anyhow::anyhow!(
                        "failed to seek {} to offset {offset}: {error}",
                        path.display()
                    )
                })?;
                let size = std::fs::metadata(path)
                    .ok()
                    .filter(|metadata| metadata.is_file())
                    .map(|metadata| metadata.len());
                let id = reader.id().to_string();
                (reader, id, size)
            }
            SourceSpec::Stdin => {
                let reader = LineReader::stdin(options.clone());
                let id = reader.id().to_string();
                (reader, id, None)
            }
        };
        Ok(LineSource {
            spec: spec.clone(),
            id,
            reader,
            extractor,
            lines: LineBatch::new(),
            scratch: Scratch::default(),
            ended: false,
            size,
        })
    }

    /// Returns the source id used for offsets.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Returns what the source reads.
    pub(crate) fn spec(&self) -> &SourceSpec {
        &self.spec
    }

    /// Returns the byte offset reached.
    pub(crate) fn offset(&self) -> u64 {
        self.reader.position().offset
    }

    /// Reads one batch of lines and extracts their events into `events`.
    pub(crate) fn poll(
        &mut self,
        events: &mut EventBatch,
        counters: &mut Counters,
        dead_letter: &mut DeadLetter,
    ) -> anyhow::Result<Polled> {
        if self.ended {
            return Ok(Polled::End);
        }
        let status = self
            .reader
            .read_batch(&mut self.lines, BATCH_LINES, BATCH_BYTES)
            .map_err(|error| anyhow::anyhow!("failed to read source {}: {error}", self.id))?;
        match status {
            ReadStatus::End => {
                self.ended = true;
                return Ok(Polled::End);
            }
            ReadStatus::Idle => return Ok(Polled::Idle),
            ReadStatus::Lines => {}
        }

        let arrival = now_ms();
        let Some(end) = self.lines.end_position() else {
            return Ok(Polled::Idle);
        };
        for line in self.lines.iter() {
            if let LineStatus::TooLong { length } = line.status {
                count_bad(counters, Reason::LineTooLong);
                dead_letter.bad_line(
                    &self.id,
                    line.offset,
                    Some(line.location),
                    Reason::LineTooLong.as_str(),
                    &format!("line of {length} bytes"),
                    b"",
                );
                continue;
            }
            if self.extractor.needs_header() {
                self.extractor.read_header(line.bytes).map_err(|error| {
                    anyhow::anyhow!("invalid header in source {}: {error}", self.id)
                })?;
                continue;
            }
            extract_line(
                &self.extractor,
                &mut self.scratch,
                line.bytes,
                arrival,
                events,
                counters,
                dead_letter,
                &self.id,
                line.offset,
                Some(line.location),
            );
        }
        Ok(Polled::Lines { offset: end.offset })
    }
}

fn read_header(
    path: &std::path::Path,
    options: &ReadOptions,
    extractor: &mut Extractor,
) -> anyhow::Result<()> {
    let mut reader = LineReader::open(path, options.clone())
        .map_err(|error| anyhow::anyhow!("failed to open source {}: {error}", path.display()))?;
    let mut lines = LineBatch::new();
    while extractor.needs_header() {
        if reader.read_batch(&mut lines, 64, 1 << 20)? != ReadStatus::Lines {
            anyhow::bail!(
                "source {} ended before its header was complete",
                path.display()
            );
        }
        for line in lines.iter() {
            if !extractor.needs_header() {
                break;
            }
            extractor.read_header(line.bytes).map_err(|error| {
                anyhow::anyhow!("invalid header in source {}: {error}", path.display())
            })?;
        }
    }
    Ok(())
}

/// Extracts one line's events into `events`, counting and dead-lettering a bad line.
#[allow(clippy::too_many_arguments)]
pub(crate) fn extract_line(
    extractor: &Extractor,
    scratch: &mut Scratch,
    line: &[u8],
    arrival_ms: i64,
    events: &mut EventBatch,
    counters: &mut Counters,
    dead_letter: &mut DeadLetter,
    source: &str,
    offset: u64,
    location: Option<Location>,
) {
    let mut full = false;
    let result = extractor.extract(line, scratch, |event| {
        if events
            .push(
                event.item,
                event.dimension,
                event.time_ms.unwrap_or(arrival_ms),
            )
            .is_err()
        {
            full = true;
        }
    });
    if full {
        // NOTE: a 1 MiB line batch never fills the 4 GiB item buffer, so this is unreachable
        // with the batch sizes used here.
        count_bad(counters, Reason::LineTooLong);
    }
    if let Err(bad) = result {
        count_bad(counters, bad.reason);
        dead_letter.bad_line(source, offset, location, bad.reason.as_str(), &bad.message, line);
    }
}

fn count_bad(counters: &mut Counters, reason: Reason) {
    *counters
        .malformed
        .entry(reason.as_str().to_string())
        .or_default() += 1;
    metrics::counter!("topk_malformed_lines_total", "reason" => reason.as_str()).increment(1);
}

/// Returns the wall-clock time in ms since the Unix epoch.
pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|duration| duration.as_millis() as i64)
        .unwrap_or(0)
}

/// The HTTP ingest log as a source: lines accepted by `POST /api/v1/events`, by sequence number.
pub(crate) struct HttpSource {
    store: Arc<StateStore>,
    extractor: Extractor,
    scratch: Scratch,
}

impl HttpSource {
    pub(crate) fn new(store: Arc<StateStore>, extractor: Extractor) -> Self {
        HttpSource {
            store,
            extractor,
            scratch: Scratch::default(),
        }
    }

    /// Reads the lines after sequence number `after` into `events`.
    pub(crate) fn poll(
        &mut self,
        after: u64,
        events: &mut EventBatch,
        counters: &mut Counters,
        dead_letter: &mut DeadLetter,
    ) -> anyhow::Result<Polled> {
        let lines = self.store.read_http(after, BATCH_LINES)?;
        let Some(&(last, _)) = lines.last() else {
            return Ok(Polled::Idle);
        };
        let arrival = now_ms();
        let started = Instant::now();
        for (sequence, line) in &lines {
            extract_line(
                &self.extractor,
                &mut self.scratch,
                line,
                arrival,
                events,
                counters,
                dead_letter,
                HTTP_SOURCE,
                *sequence,
                // An HTTP event is identified by its sequence number, the offset.
                None,
            );
        }
        tracing::trace!(
            lines = lines.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "read HTTP ingest log"
        );
        Ok(Polled::Lines { offset: last })
    }
}
