//! Line sources: a file read to its end or followed like `tail -F` (surviving rotation and
//! truncation), a gzip file, standard input, or any reader. Lines come in reusable batches,
//! each line with the byte offset just after it, so a consumer can checkpoint and resume at
//! exactly the next line.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flate2::read::MultiGzDecoder;
use memchr::memchr;

use crate::input::error::Location;

/// Default maximum line length: 1 MiB. Longer lines are reported as too long and skipped.
pub const DEFAULT_MAX_LINE_BYTES: usize = 1 << 20;

/// Default batch size target: 1 MiB of lines.
pub const DEFAULT_BATCH_BYTES: usize = 1 << 20;

/// Bytes asked from the input per read call.
const READ_CHUNK: usize = 256 << 10;

/// Options of a [`LineReader`].
///
/// # Examples
///
/// ```
/// use topk_host::input::ReadOptions;
///
/// let options = ReadOptions { follow: true, ..ReadOptions::default() };
/// assert_eq!(options.max_line_bytes, 1 << 20);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// Lines longer than this many bytes (without the terminator) are reported as
    /// [`LineStatus::TooLong`] and their bytes are dropped.
    pub max_line_bytes: usize,
    /// Keep reading at the end of the file, like `tail -F`: wait for appended lines, reopen
    /// the path when the file is renamed away (rotation) and start over when it shrinks
    /// (truncation). A final line without a newline is held until its newline arrives.
    pub follow: bool,
    /// Time between checks for new data in [`LineReader::wait_batch`] when following.
    pub poll_interval: Duration,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions { max_line_bytes: DEFAULT_MAX_LINE_BYTES, follow: false, poll_interval: Duration::from_millis(100) }
    }
}

/// A resumable position: the source and the byte offset after a line.
///
/// For a gzip file the offset counts decompressed bytes; resuming there decompresses and
/// discards that many bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Position {
    /// The source id: the path as given, or `-` for standard input.
    pub source: Arc<str>,
    /// Byte offset just after the line (its newline included).
    pub offset: u64,
}

/// Whether a line's bytes are available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineStatus {
    /// The line's bytes are in the batch (without `\n` or `\r\n`).
    Complete,
    /// The line was longer than [`ReadOptions::max_line_bytes`], so its bytes were dropped.
    TooLong {
        /// The line's length in bytes, without its terminator.
        length: u64,
    },
}

/// One line of a [`LineBatch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRef<'a> {
    /// The line without its terminator; empty for a too-long line.
    pub bytes: &'a [u8],
    /// Byte offset in the source just after this line.
    pub offset: u64,
    /// Whether the bytes are present.
    pub status: LineStatus,
    /// Position of the line's start, for messages about it.
    pub location: Location,
}

#[derive(Debug, Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    offset: u64,
    too_long: Option<u64>,
    location: Location,
}

/// A reusable buffer of consecutive lines from one source.
///
/// # Examples
///
/// ```
/// use topk_host::input::{LineBatch, LineReader, ReadOptions, ReadStatus};
///
/// let mut reader = LineReader::from_reader("demo", &b"a\nbb\n"[..], ReadOptions::default());
/// let mut batch = LineBatch::new();
/// assert_eq!(reader.read_batch(&mut batch, usize::MAX, 1 << 20).unwrap(), ReadStatus::Lines);
/// let lines: Vec<_> = batch.iter().map(|line| (line.bytes.to_vec(), line.offset)).collect();
/// assert_eq!(lines, [(b"a".to_vec(), 2), (b"bb".to_vec(), 5)]);
/// assert_eq!(reader.read_batch(&mut batch, usize::MAX, 1 << 20).unwrap(), ReadStatus::End);
/// ```
#[derive(Debug, Default)]
pub struct LineBatch {
    data: Vec<u8>,
    spans: Vec<Span>,
    source: Option<Arc<str>>,
    generation: u64,
}

impl LineBatch {
    /// Creates an empty batch; its buffer grows on first use and is then reused.
    pub fn new() -> Self {
        LineBatch::default()
    }

    /// Returns the number of lines.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// Returns true when the batch has no lines.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Returns the id of the source the lines came from (empty before the first read).
    pub fn source(&self) -> &str {
        self.source.as_deref().unwrap_or_default()
    }

    /// Returns line `index`.
    ///
    /// # Panics
    ///
    /// When `index >= self.len()`.
    pub fn line(&self, index: usize) -> LineRef<'_> {
        let span = self.spans[index];
        LineRef {
            bytes: &self.data[span.start..span.end],
            offset: span.offset,
            status: match span.too_long {
                Some(length) => LineStatus::TooLong { length },
                None => LineStatus::Complete,
            },
            location: span.location,
        }
    }

    /// Iterates over the lines in order.
    pub fn iter(&self) -> impl Iterator<Item = LineRef<'_>> + '_ {
        (0..self.len()).map(|index| self.line(index))
    }

    /// Returns the position after the last line, where a resumed read starts.
    pub fn end_position(&self) -> Option<Position> {
        let last = self.spans.last()?;
        Some(Position { source: self.source.clone()?, offset: last.offset })
    }

    /// Returns the file generation of the lines: 0 for the first file a reader opened, plus
    /// one for every rotation or truncation since. All lines of a batch share one generation,
    /// so a consumer whose format has a header (CSV, TSV, Zeek) reads the header again when
    /// it changes.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Returns the total bytes of the lines' contents.
    pub fn content_bytes(&self) -> usize {
        self.spans.iter().map(|span| span.end - span.start).sum()
    }

    fn reset(&mut self, source: &Arc<str>, capacity: usize) {
        self.spans.clear();
        if self.source.as_ref() != Some(source) {
            self.source = Some(source.clone());
        }
        if self.data.len() < capacity {
            self.data.resize(capacity, 0);
        }
    }
}

/// Result of a call to [`LineReader::read_batch`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadStatus {
    /// The batch contains at least one line.
    Lines,
    /// Following: no complete new line yet. Call again later.
    Idle,
    /// Not following: the input is exhausted and the batch is empty.
    End,
}

enum Input {
    File(File),
    Gzip(Box<MultiGzDecoder<File>>),
    Stdin(io::Stdin),
    Reader(Box<dyn Read + Send>),
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Input::File(file) => file.read(buf),
            Input::Gzip(decoder) => decoder.read(buf),
            Input::Stdin(stdin) => stdin.read(buf),
            Input::Reader(reader) => reader.read(buf),
        }
    }
}

/// The identity of an open file, to notice when its path names another file (rotation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    device: u64,
    inode: u64,
}

fn identity(metadata: &std::fs::Metadata) -> Option<FileIdentity> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some(FileIdentity { device: metadata.dev(), inode: metadata.ino() })
    }
    // NOTE: without a file identity, a followed file's rotation is not noticed on non-Unix
    // systems; truncation still is.
    #[cfg(not(unix))]
    {
        let _ = metadata;
        None
    }
}

fn is_gzip_path(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("gz"))
}

/// Reads lines from one source into [`LineBatch`]es.
///
/// # Examples
///
/// ```
/// use std::io::Write;
/// use topk_host::input::{LineBatch, LineReader, ReadOptions};
///
/// let mut file = tempfile::NamedTempFile::new().unwrap();
/// file.write_all(b"first\nsecond\n").unwrap();
///
/// let mut reader = LineReader::open(file.path(), ReadOptions::default()).unwrap();
/// reader.seek(6).unwrap();
/// let mut batch = LineBatch::new();
/// reader.read_batch(&mut batch, usize::MAX, 1 << 20).unwrap();
/// assert_eq!(batch.line(0).bytes, b"second");
/// assert_eq!(batch.end_position().unwrap().offset, 13);
/// ```
pub struct LineReader {
    id: Arc<str>,
    path: Option<PathBuf>,
    input: Option<Input>,
    identity: Option<FileIdentity>,
    options: ReadOptions,
    /// The unfinished last line, carried to the next batch.
    carry: Vec<u8>,
    /// Bytes read from the current file so far; the carry ends there.
    read_offset: u64,
    /// Length so far of a too-long line being skipped.
    skipping: Option<u64>,
    finished: bool,
    /// Files read so far minus one: rotations and truncations each start a new one.
    generation: u64,
    /// Location of the next line to be pushed into a batch.
    next_location: Location,
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader").field("id", &self.id).field("read_offset", &self.read_offset).field("options", &self.options).finish()
    }
}

impl LineReader {
    /// Opens a file, decompressing a `.gz` file on the fly. When following, a path that does
    /// not exist yet is opened once it appears.
    ///
    /// # Errors
    ///
    /// The I/O error of opening the file, or [`io::ErrorKind::InvalidInput`] when asked to
    /// follow a gzip file.
    pub fn open(path: impl AsRef<Path>, options: ReadOptions) -> io::Result<Self> {
        let path = path.as_ref();
        if options.follow && is_gzip_path(path) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot follow {}: a gzip file is read to its end only; remove the follow option", path.display()),
            ));
        }

        let mut reader = LineReader::with_input(path.to_string_lossy().as_ref(), None, options);
        reader.path = Some(path.to_path_buf());
        match reader.open_path() {
            Ok(()) => Ok(reader),
            Err(error) if reader.options.follow && error.kind() == io::ErrorKind::NotFound => {
                tracing::info!(path = %path.display(), "waiting for the file to appear");
                Ok(reader)
            }
            Err(error) => Err(error),
        }
    }

    /// Reads standard input to its end; the source id is `-`.
    pub fn stdin(options: ReadOptions) -> Self {
        let options = ReadOptions { follow: false, ..options };
        LineReader::with_input("-", Some(Input::Stdin(io::stdin())), options)
    }

    /// Reads any byte stream to its end under the source id `id`.
    pub fn from_reader(id: &str, reader: impl Read + Send + 'static, options: ReadOptions) -> Self {
        let options = ReadOptions { follow: false, ..options };
        LineReader::with_input(id, Some(Input::Reader(Box::new(reader))), options)
    }

    fn with_input(id: &str, input: Option<Input>, options: ReadOptions) -> Self {
        LineReader {
            id: Arc::from(id),
            path: None,
            input,
            identity: None,
            options,
            carry: Vec::new(),
            read_offset: 0,
            skipping: None,
            finished: false,
            generation: 0,
            next_location: Location { line: Some(1), byte: 0 },
        }
    }

    fn open_path(&mut self) -> io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        let file = File::open(path)?;
        self.identity = identity(&file.metadata()?);
        self.input = Some(if is_gzip_path(path) { Input::Gzip(Box::new(MultiGzDecoder::new(file))) } else { Input::File(file) });
        self.read_offset = 0;
        self.carry.clear();
        self.skipping = None;
        self.next_location = Location { line: Some(1), byte: 0 };
        Ok(())
    }

    /// Returns the source id (the path as given, or `-`).
    pub fn id(&self) -> &Arc<str> {
        &self.id
    }

    /// Returns the position of the next unread line.
    pub fn position(&self) -> Position {
        Position { source: self.id.clone(), offset: self.read_offset - self.carry.len() as u64 }
    }

    /// Moves to `offset`, a position returned earlier, before the first read. A plain file
    /// seeks; gzip and other streams read and discard `offset` bytes, counting their lines. A
    /// plain file now shorter than `offset` was truncated or replaced, so reading starts over
    /// at 0 (logged).
    ///
    /// After a plain file seeks past 0, the lines before `offset` are not read, so the
    /// [`Location`]s of the lines after it have no line number.
    ///
    /// # Errors
    ///
    /// The I/O error of seeking or reading, or [`io::ErrorKind::UnexpectedEof`] when a stream
    /// ends before `offset`.
    pub fn seek(&mut self, offset: u64) -> io::Result<()> {
        self.carry.clear();
        self.skipping = None;
        self.finished = false;
        match &mut self.input {
            None => Ok(()),
            Some(Input::File(file)) => {
                if file.metadata()?.len() < offset {
                    tracing::warn!(source = %self.id, offset, "the file is shorter than the stored offset; reading it from the start");
                    file.seek(SeekFrom::Start(0))?;
                    self.read_offset = 0;
                    self.next_location = Location { line: Some(1), byte: 0 };
                } else {
                    file.seek(SeekFrom::Start(offset))?;
                    self.read_offset = offset;
                    // NOTE: counting the lines before `offset` would read the whole prefix of
                    // the file at every restart, so the line numbers stay unknown here.
                    self.next_location = Location { line: (offset == 0).then_some(1), byte: offset };
                }
                Ok(())
            }
            Some(input) => {
                let (skipped, newlines) = discard_counting_lines(input, offset)?;
                self.read_offset = skipped;
                self.next_location = Location { line: Some(newlines + 1), byte: skipped };
                if skipped < offset {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("{} ended at byte {skipped}, before the stored offset {offset}", self.id),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Fills `batch` with up to `max_lines` lines, stopping once about `max_bytes` bytes are
    /// in it (a batch always takes at least one line when one is available).
    ///
    /// # Errors
    ///
    /// The I/O error of reading (a corrupt gzip stream is [`io::ErrorKind::InvalidData`]).
    pub fn read_batch(&mut self, batch: &mut LineBatch, max_lines: usize, max_bytes: usize) -> io::Result<ReadStatus> {
        let max_bytes = max_bytes.max(1);
        let capacity = max_bytes + self.options.max_line_bytes + READ_CHUNK + 1;
        batch.reset(&self.id, capacity);
        batch.generation = self.generation;
        if self.finished {
            return Ok(ReadStatus::End);
        }

        let mut filled = self.carry.len();
        batch.data[..filled].copy_from_slice(&self.carry);
        self.carry.clear();
        let mut line_start = 0;
        let mut scan = 0;

        loop {
            // Take the complete lines read so far.
            while batch.spans.len() < max_lines {
                let Some(found) = memchr(b'\n', &batch.data[scan..filled]) else { break };
                let newline = scan + found;
                let offset = self.read_offset - (filled - newline) as u64 + 1;
                self.push_line(batch, line_start, newline, offset);
                line_start = newline + 1;
                scan = line_start;
            }
            if batch.spans.len() >= max_lines {
                break;
            }
            scan = filled;

            // A line longer than the limit: drop its bytes and remember its length.
            let partial = (filled - line_start) as u64;
            if self.skipping.is_some() || partial > self.options.max_line_bytes as u64 {
                self.skipping = Some(self.skipping.unwrap_or(0) + partial);
                filled = line_start;
                scan = line_start;
            }

            if !batch.spans.is_empty() && (line_start >= max_bytes || filled + READ_CHUNK > batch.data.len()) {
                break;
            }

            let Some(input) = self.input.as_mut() else {
                if self.try_reopen()? {
                    continue;
                }
                break;
            };
            let want = READ_CHUNK.min(batch.data.len() - filled);
            let read = match input.read(&mut batch.data[filled..filled + want]) {
                Ok(read) => read,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            };
            if read > 0 {
                filled += read;
                self.read_offset += read as u64;
                continue;
            }

            // End of the input.
            if !self.options.follow {
                if filled > line_start || self.skipping.is_some() {
                    self.push_line(batch, line_start, filled, self.read_offset);
                    line_start = filled;
                }
                self.finished = true;
                break;
            }
            if !batch.spans.is_empty() {
                break;
            }
            match self.check_file()? {
                FileChange::Unchanged => break,
                FileChange::Truncated => {
                    self.generation += 1;
                    batch.generation = self.generation;
                    filled = 0;
                    line_start = 0;
                    scan = 0;
                }
                FileChange::Rotated => {
                    // The old file is complete, so its unterminated last line is a line.
                    if filled > line_start || self.skipping.is_some() {
                        self.push_line(batch, line_start, filled, self.read_offset);
                    }
                    self.input = None;
                    self.try_reopen()?;
                    self.generation += 1;
                    if !batch.spans.is_empty() {
                        return Ok(ReadStatus::Lines);
                    }
                    batch.generation = self.generation;
                    filled = 0;
                    line_start = 0;
                    scan = 0;
                }
            }
        }

        self.carry.extend_from_slice(&batch.data[line_start..filled]);
        Ok(if !batch.spans.is_empty() {
            ReadStatus::Lines
        } else if self.finished {
            ReadStatus::End
        } else {
            ReadStatus::Idle
        })
    }

    /// Like [`read_batch`](Self::read_batch), but while following waits up to `timeout`
    /// (checking every [`ReadOptions::poll_interval`]) for a line to arrive.
    ///
    /// # Errors
    ///
    /// The I/O error of reading.
    pub fn wait_batch(&mut self, batch: &mut LineBatch, max_lines: usize, max_bytes: usize, timeout: Duration) -> io::Result<ReadStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            let status = self.read_batch(batch, max_lines, max_bytes)?;
            let now = Instant::now();
            if status != ReadStatus::Idle || now >= deadline {
                return Ok(status);
            }
            std::thread::sleep(self.options.poll_interval.min(deadline - now));
        }
    }

    fn push_line(&mut self, batch: &mut LineBatch, start: usize, end: usize, offset: u64) {
        let location = self.next_location;
        self.next_location = Location { line: location.line.map(|line| line + 1), byte: offset };

        let length = (end - start) as u64;
        if let Some(skipped) = self.skipping.take() {
            batch.spans.push(Span { start: end, end, offset, too_long: Some(skipped + length), location });
            return;
        }
        if length > self.options.max_line_bytes as u64 {
            batch.spans.push(Span { start: end, end, offset, too_long: Some(length), location });
            return;
        }
        let end = if end > start && batch.data[end - 1] == b'\r' { end - 1 } else { end };
        batch.spans.push(Span { start, end, offset, too_long: None, location });
    }

    /// Opens the path again when following a file that was missing; returns whether it is open.
    fn try_reopen(&mut self) -> io::Result<bool> {
        if self.path.is_none() || !self.options.follow {
            return Ok(false);
        }
        match self.open_path() {
            Ok(()) => {
                tracing::info!(source = %self.id, "opened the file");
                Ok(true)
            }
            Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// At the end of a followed file: did its path get a new file, or did it shrink?
    fn check_file(&mut self) -> io::Result<FileChange> {
        let Some(path) = &self.path else { return Ok(FileChange::Unchanged) };
        let metadata = match std::fs::metadata(path) {
            Ok(metadata) => metadata,
            // Between the rename of a rotation and the creation of the new file.
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(FileChange::Unchanged),
            Err(error) => return Err(error),
        };

        if identity(&metadata) != self.identity {
            tracing::info!(source = %self.id, read = self.read_offset, "the file was rotated; reading the new file from the start");
            return Ok(FileChange::Rotated);
        }
        if metadata.len() < self.read_offset {
            tracing::warn!(source = %self.id, read = self.read_offset, size = metadata.len(), "the file was truncated; reading it again from the start");
            if let Some(Input::File(file)) = &mut self.input {
                file.seek(SeekFrom::Start(0))?;
            }
            self.read_offset = 0;
            self.carry.clear();
            self.skipping = None;
            self.next_location = Location { line: Some(1), byte: 0 };
            return Ok(FileChange::Truncated);
        }
        Ok(FileChange::Unchanged)
    }
}

enum FileChange {
    Unchanged,
    Truncated,
    Rotated,
}

/// Reads and drops up to `limit` bytes of `input`; returns the bytes dropped and the newlines
/// among them.
fn discard_counting_lines(input: &mut impl Read, limit: u64) -> io::Result<(u64, u64)> {
    let mut buffer = vec![0u8; READ_CHUNK];
    let mut skipped = 0u64;
    let mut newlines = 0u64;
    while skipped < limit {
        let want = (limit - skipped).min(buffer.len() as u64) as usize;
        let read = match input.read(&mut buffer[..want]) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => return Err(error),
        };
        newlines += memchr::memchr_iter(b'\n', &buffer[..read]).count() as u64;
        skipped += read as u64;
    }
    Ok((skipped, newlines))
}

/// Several sources read in turn, each to its end (or followed), as one stream of batches.
///
/// # Examples
///
/// ```
/// use topk_host::input::{LineBatch, LineReader, ReadOptions, ReadStatus, SourceSet};
///
/// let mut set = SourceSet::new(vec![
///     LineReader::from_reader("a", &b"1\n"[..], ReadOptions::default()),
///     LineReader::from_reader("b", &b"2\n"[..], ReadOptions::default()),
/// ]);
/// let mut batch = LineBatch::new();
/// let mut sources = Vec::new();
/// while set.read_batch(&mut batch, 100, 1 << 20).unwrap() == ReadStatus::Lines {
///     sources.push(batch.source().to_string());
/// }
/// assert_eq!(sources, ["a", "b"]);
/// ```
#[derive(Debug)]
pub struct SourceSet {
    readers: Vec<LineReader>,
    next: usize,
}

impl SourceSet {
    /// Creates a set over `readers`.
    pub fn new(readers: Vec<LineReader>) -> Self {
        SourceSet { readers, next: 0 }
    }

    /// Returns the readers, for positions.
    pub fn readers(&self) -> &[LineReader] {
        &self.readers
    }

    /// Fills `batch` from the next source that has lines. Sources not followed are read one
    /// after the other; followed sources take turns.
    ///
    /// # Errors
    ///
    /// The I/O error of the source being read.
    pub fn read_batch(&mut self, batch: &mut LineBatch, max_lines: usize, max_bytes: usize) -> io::Result<ReadStatus> {
        let mut any_idle = false;
        for _ in 0..self.readers.len() {
            let index = self.next;
            let status = self.readers[index].read_batch(batch, max_lines, max_bytes)?;
            match status {
                ReadStatus::Lines => {
                    if self.readers[index].options.follow {
                        self.next = (index + 1) % self.readers.len();
                    }
                    return Ok(ReadStatus::Lines);
                }
                ReadStatus::Idle => any_idle = true,
                ReadStatus::End => {}
            }
            self.next = (index + 1) % self.readers.len();
        }
        batch.spans.clear();
        Ok(if any_idle { ReadStatus::Idle } else { ReadStatus::End })
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn locations(reader: &mut LineReader) -> Vec<(Option<u64>, u64)> {
        let mut batch = LineBatch::new();
        let mut found = Vec::new();
        while reader.read_batch(&mut batch, 2, 1 << 20).unwrap() == ReadStatus::Lines {
            found.extend(batch.iter().map(|line| (line.location.line, line.location.byte)));
        }
        found
    }

    #[test]
    fn locations_count_lines_from_one() {
        let options = ReadOptions { max_line_bytes: 4, ..ReadOptions::default() };
        let text = &b"ab\r\n\ntoo long\nlast"[..];
        let mut reader = LineReader::from_reader("text", text, options);

        let found = locations(&mut reader);

        assert_eq!(found, [(Some(1), 0), (Some(2), 4), (Some(3), 5), (Some(4), 14)]);
    }

    #[test]
    fn stream_seek_counts_skipped_lines() {
        let mut reader = LineReader::from_reader("text", &b"a\nb\nc\nd\n"[..], ReadOptions::default());

        reader.seek(4).unwrap();

        assert_eq!(locations(&mut reader), [(Some(3), 4), (Some(4), 6)]);
    }

    #[test]
    fn file_seek_leaves_line_numbers_unknown() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(b"a\nb\nc\n").unwrap();
        let mut from_start = LineReader::open(file.path(), ReadOptions::default()).unwrap();
        let mut resumed = LineReader::open(file.path(), ReadOptions::default()).unwrap();

        from_start.seek(0).unwrap();
        resumed.seek(2).unwrap();

        assert_eq!(locations(&mut from_start), [(Some(1), 0), (Some(2), 2), (Some(3), 4)]);
        assert_eq!(locations(&mut resumed), [(None, 2), (None, 4)]);
    }

    #[test]
    fn truncation_restarts_line_numbers() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), b"first\nsecond\n").unwrap();
        let options = ReadOptions { follow: true, poll_interval: Duration::from_millis(1), ..ReadOptions::default() };
        let mut reader = LineReader::open(file.path(), options).unwrap();
        let mut batch = LineBatch::new();
        reader.read_batch(&mut batch, 10, 1 << 20).unwrap();
        assert_eq!(batch.line(1).location, Location { line: Some(2), byte: 6 });

        std::fs::write(file.path(), b"new\n").unwrap();
        let status = reader.wait_batch(&mut batch, 10, 1 << 20, Duration::from_secs(5)).unwrap();

        assert_eq!(status, ReadStatus::Lines);
        assert_eq!(batch.line(0).bytes, b"new");
        assert_eq!(batch.line(0).location, Location { line: Some(1), byte: 0 });
    }
}
