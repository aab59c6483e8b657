//! The module state: open pane summaries, the watermark and the offsets counted since the last
//! emission, plus the emit policy that turns them into snapshot records.
//!
//! Snapshots are deltas. An emission encodes every open summary and then drops them all, so each
//! counted record is in exactly one emitted snapshot, and merging every snapshot of a partition
//! gives its totals. A pane that receives records after an emission gets a fresh summary whose
//! snapshot adds to the earlier one for the same window.

use std::collections::BTreeMap;

use topk_sketch::snapshot::{self, Dimension, SourceRange, Window};
use topk_sketch::Summary;

use crate::extract::{event_time, extract, Malformed};
use crate::params::Params;

/// One snapshot record for Fluvio: a short text key and the encoded snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotRecord {
    /// `source=… window_start=… linear_memory_bytes=…`: a label for `fluvio consume --key-value`,
    /// including the module's linear memory size when it runs as WebAssembly.
    pub key: String,
    /// The snapshot bytes ([`topk_sketch::snapshot::encode`]).
    pub value: Vec<u8>,
}

/// A summary that has counted records since the last emission.
struct OpenSummary {
    summary: Summary,
    /// The pane had already closed when this summary was created, so it contains only late events
    /// and its closing does not trigger an emission.
    reopened: bool,
}

/// Key of an open summary: pane start (none without panes) and dimension value.
type SummaryKey = (Option<i64>, Option<Vec<u8>>);

/// Counts records into pane summaries and emits snapshots under the emit policy.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeMap;
/// use topk_smartmodule::counter::Counter;
/// use topk_smartmodule::params::Params;
///
/// let raw = BTreeMap::from([
///     ("item".to_string(), "/host".to_string()),
///     ("pane_size".to_string(), "0".to_string()),
///     ("emit_every".to_string(), "2".to_string()),
/// ]);
/// let mut counter = Counter::new(Params::parse(&raw).unwrap());
/// let mut out = Vec::new();
/// counter.count(0, 0, br#"{"host":"a"}"#, &mut out);
/// assert!(out.is_empty());
/// counter.count(1, 0, br#"{"host":"a"}"#, &mut out);
/// let summary = topk_sketch::snapshot::decode(&out[0].value).unwrap();
/// assert_eq!(summary.estimate(b"a").lower_bound, 2);
/// ```
pub struct Counter {
    params: Params,
    open: BTreeMap<SummaryKey, OpenSummary>,
    /// Highest event time seen, milliseconds since the Unix epoch.
    watermark: Option<i64>,
    /// First offset and offset after the last one read since the last emission.
    offsets: Option<(u64, u64)>,
    records_since_emit: u64,
    malformed_since_emit: u64,
    /// End offset of the last snapshot that `look_back` found for this source.
    resume_offset: Option<u64>,
}

impl Counter {
    /// Creates an empty counter.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use topk_smartmodule::{counter::Counter, params::Params};
    ///
    /// let raw = BTreeMap::from([("item".to_string(), "/host".to_string())]);
    /// assert_eq!(Counter::new(Params::parse(&raw).unwrap()).watermark(), None);
    /// ```
    pub fn new(params: Params) -> Counter {
        Counter {
            params,
            open: BTreeMap::new(),
            watermark: None,
            offsets: None,
            records_since_emit: 0,
            malformed_since_emit: 0,
            resume_offset: None,
        }
    }

    /// Returns the highest event time seen or restored, in milliseconds since the Unix epoch.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use topk_smartmodule::{counter::Counter, params::Params};
    ///
    /// let raw = BTreeMap::from([("item".to_string(), "/h".to_string()), ("event_time".to_string(), "/t".to_string())]);
    /// let mut counter = Counter::new(Params::parse(&raw).unwrap());
    /// counter.count(0, 0, br#"{"h":"a","t":5000}"#, &mut Vec::new());
    /// assert_eq!(counter.watermark(), Some(5000));
    /// ```
    pub fn watermark(&self) -> Option<i64> {
        self.watermark
    }

    /// Returns the offset below which records are skipped, once `look_back` restored one and
    /// `skip_counted` is on.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use topk_smartmodule::{counter::Counter, params::Params};
    ///
    /// let raw = BTreeMap::from([("item".to_string(), "/h".to_string())]);
    /// assert_eq!(Counter::new(Params::parse(&raw).unwrap()).resume_offset(), None);
    /// ```
    pub fn resume_offset(&self) -> Option<u64> {
        self.resume_offset
    }

    /// Counts one record and appends any snapshots that the emit policy releases to `out`.
    ///
    /// `offset` is the record's offset in its partition and `timestamp_ms` its Fluvio timestamp,
    /// used as event time when no `event_time` field is configured. A record that does not parse
    /// is not counted and adds one to the next snapshot's `malformed_records`.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use topk_smartmodule::{counter::Counter, params::Params};
    ///
    /// let raw = BTreeMap::from([("item".to_string(), "/h".to_string()), ("emit_every".to_string(), "1".to_string())]);
    /// let mut counter = Counter::new(Params::parse(&raw).unwrap());
    /// let mut out = Vec::new();
    /// counter.count(7, 1_000, b"not json", &mut out);
    /// let summary = topk_sketch::snapshot::decode(&out[0].value).unwrap();
    /// assert_eq!(summary.metadata.malformed_records, 1);
    /// assert_eq!((summary.metadata.sources[0].start, summary.metadata.sources[0].end), (7, 8));
    /// ```
    pub fn count(
        &mut self,
        offset: i64,
        timestamp_ms: i64,
        value: &[u8],
        out: &mut Vec<SnapshotRecord>,
    ) {
        let offset = offset.max(0) as u64;
        if self.params.skip_counted && self.resume_offset.is_some_and(|resume| offset < resume) {
            return;
        }

        // `add` may emit first (too many open summaries), so this record's offset is noted after
        // it: the offsets of an emission then never include a record its snapshots lack.
        let added = self.add(timestamp_ms, value, out);
        self.offsets = Some(match self.offsets {
            Some((start, end)) => (start.min(offset), end.max(offset + 1)),
            None => (offset, offset + 1),
        });
        self.records_since_emit += 1;
        if added.is_err() {
            self.malformed_since_emit += 1;
        }

        let count_due =
            self.params.emit_every > 0 && self.records_since_emit >= self.params.emit_every;
        if count_due || self.pane_closed() {
            self.emit(out);
        }
    }

    /// Parses one record and adds it to its pane's summary.
    fn add(
        &mut self,
        timestamp_ms: i64,
        value: &[u8],
        out: &mut Vec<SnapshotRecord>,
    ) -> Result<(), Malformed> {
        let event = match extract(&self.params.format, self.params.event_time_unit, value) {
            Ok(event) => event,
            Err(reason) => {
                if let Some(time_ms) =
                    event_time(&self.params.format, self.params.event_time_unit, value)
                {
                    self.advance_watermark(time_ms);
                }
                return Err(reason);
            }
        };
        let time_ms = match event.time_ms {
            Some(time_ms) => time_ms,
            None if self.params.pane_size_ms == 0 => 0,
            // Fluvio marks a record without a timestamp with -1.
            None if timestamp_ms < 0 => return Err(Malformed::NoTimestamp),
            None => timestamp_ms,
        };

        let window = (self.params.pane_size_ms > 0).then(|| {
            let start = time_ms.div_euclid(self.params.pane_size_ms) * self.params.pane_size_ms;
            Window {
                start,
                end: start + self.params.pane_size_ms,
            }
        });
        let late = match (window, self.watermark) {
            (Some(window), Some(watermark)) => watermark >= window.end,
            _ => false,
        };
        let closed = match (window, self.watermark) {
            (Some(window), Some(watermark)) => {
                watermark >= window.end + self.params.allowed_lateness_ms
            }
            _ => false,
        };

        let key = (
            window.map(|window| window.start),
            event.dimension.as_deref().map(<[u8]>::to_vec),
        );
        if !self.open.contains_key(&key) && self.open.len() >= self.params.max_open_summaries {
            self.emit(out);
        }
        let open = match self.open.entry(key) {
            std::collections::btree_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::btree_map::Entry::Vacant(entry) => {
                let mut summary = Summary::new(self.params.sketch)
                    .expect("the parameters were checked by Params::parse");
                summary.metadata.window = window;
                summary.metadata.dimension = event.dimension.as_deref().map(|value| Dimension {
                    name: self
                        .params
                        .format
                        .dimension_name()
                        .unwrap_or_default()
                        .as_bytes()
                        .to_vec(),
                    value: value.to_vec(),
                });
                entry.insert(OpenSummary {
                    summary,
                    reopened: closed,
                })
            }
        };

        // A count of 1 per record cannot reach u64::MAX in practice, but if it did, the record
        // would count as malformed instead of failing the stream.
        open.summary
            .update(&event.item, 1)
            .map_err(|_| Malformed::CountOverflow)?;
        if late {
            open.summary.metadata.late_events += 1;
        }
        self.advance_watermark(time_ms);
        Ok(())
    }

    fn advance_watermark(&mut self, time_ms: i64) {
        self.watermark = Some(
            self.watermark
                .map_or(time_ms, |watermark| watermark.max(time_ms)),
        );
    }

    /// Returns whether an emission is due because a pane that was open has closed.
    fn pane_closed(&self) -> bool {
        let Some(watermark) = self.watermark else {
            return false;
        };
        self.params.emit_on_pane_close
            && self.open.values().any(|open| {
                !open.reopened
                    && open.summary.metadata.window.is_some_and(|window| {
                        watermark >= window.end + self.params.allowed_lateness_ms
                    })
            })
    }

    /// Encodes every open summary as a snapshot and starts over with none.
    ///
    /// All snapshots of one emission share the offset range read since the previous one; the first
    /// carries the malformed count. When no record was counted (all malformed), one empty
    /// snapshot without window or dimension carries the offsets and the malformed count.
    fn emit(&mut self, out: &mut Vec<SnapshotRecord>) {
        let Some((start, end)) = self.offsets.take() else {
            return;
        };
        let sources = vec![SourceRange {
            source: self.params.source.as_bytes().to_vec(),
            start,
            end,
        }];
        let mut malformed = std::mem::take(&mut self.malformed_since_emit);
        self.records_since_emit = 0;

        let mut summaries: Vec<Summary> = std::mem::take(&mut self.open)
            .into_values()
            .map(|open| open.summary)
            .collect();
        if summaries.is_empty() {
            summaries.push(
                Summary::new(self.params.sketch)
                    .expect("the parameters were checked by Params::parse"),
            );
        }
        for mut summary in summaries {
            summary.metadata.sources = sources.clone();
            summary.metadata.watermark = self.watermark;
            summary.metadata.malformed_records = std::mem::take(&mut malformed);
            out.push(SnapshotRecord {
                key: self.label(&summary),
                value: snapshot::encode(&summary),
            });
        }
    }

    fn label(&self, summary: &Summary) -> String {
        let window_start = summary
            .metadata
            .window
            .map_or("none".to_string(), |window| window.start.to_string());
        let mut key = format!("source={} window_start={window_start}", self.params.source);
        if let Some(bytes) = linear_memory_bytes() {
            key.push_str(&format!(" linear_memory_bytes={bytes}"));
        }
        key
    }

    /// Takes the watermark and end offset from a snapshot that this module emitted before a
    /// restart, and returns whether `value` was a snapshot of this module's source. Any other
    /// record, such as a raw event on the consumer side or another source's snapshot, is ignored.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use topk_smartmodule::{counter::Counter, params::Params};
    ///
    /// let raw = BTreeMap::from([("item".to_string(), "/h".to_string())]);
    /// let mut counter = Counter::new(Params::parse(&raw).unwrap());
    /// assert!(!counter.restore(br#"{"h":"raw event"}"#));
    /// ```
    pub fn restore(&mut self, value: &[u8]) -> bool {
        let Ok(summary) = snapshot::decode(value) else {
            return false;
        };
        let Some(range) = summary
            .metadata
            .sources
            .iter()
            .find(|range| range.source == self.params.source.as_bytes())
        else {
            return false;
        };

        self.resume_offset = Some(
            self.resume_offset
                .map_or(range.end, |resume| resume.max(range.end)),
        );
        if let Some(restored) = summary.metadata.watermark {
            self.watermark = Some(
                self.watermark
                    .map_or(restored, |watermark| watermark.max(restored)),
            );
        }
        true
    }
}

/// Returns the size of the module's linear memory, when it runs as WebAssembly.
fn linear_memory_bytes() -> Option<usize> {
    #[cfg(target_arch = "wasm32")]
    {
        Some(core::arch::wasm32::memory_size(0) * 65_536)
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(pairs: &[(&str, &str)]) -> Counter {
        let raw = pairs
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        Counter::new(Params::parse(&raw).unwrap())
    }

    fn event(host: &str, seconds: i64) -> Vec<u8> {
        format!(r#"{{"host":"{host}","time":{seconds}}}"#).into_bytes()
    }

    fn decode_all(out: &[SnapshotRecord]) -> Vec<Summary> {
        out.iter()
            .map(|record| snapshot::decode(&record.value).unwrap())
            .collect()
    }

    const PANES: [(&str, &str); 4] = [
        ("item", "/host"),
        ("event_time", "/time"),
        ("event_time_unit", "s"),
        ("pane_size", "10s"),
    ];

    #[test]
    fn pane_close_emits() {
        let mut counter = counter(&PANES);
        let mut out = Vec::new();
        counter.count(0, 0, &event("a", 1), &mut out);
        counter.count(1, 0, &event("a", 9), &mut out);
        assert!(out.is_empty());

        counter.count(2, 0, &event("b", 10), &mut out);
        let summaries = decode_all(&out);
        assert_eq!(summaries.len(), 2, "the closed pane and the new one");
        assert_eq!(
            summaries[0].metadata.window,
            Some(Window {
                start: 0,
                end: 10_000
            })
        );
        assert_eq!(summaries[0].estimate(b"a").lower_bound, 2);
        assert_eq!(summaries[1].estimate(b"b").lower_bound, 1);
        assert_eq!(summaries[0].metadata.sources[0].start, 0);
        assert_eq!(summaries[0].metadata.sources[0].end, 3);
    }

    #[test]
    fn lateness_keeps_pane_open() {
        let mut counter = counter(&[
            PANES[0],
            PANES[1],
            PANES[2],
            PANES[3],
            ("allowed_lateness", "5s"),
        ]);
        let mut out = Vec::new();
        counter.count(0, 0, &event("a", 1), &mut out);
        counter.count(1, 0, &event("b", 12), &mut out);
        counter.count(2, 0, &event("a", 2), &mut out);
        assert!(out.is_empty(), "the first pane closes at 15 s");

        counter.count(3, 0, &event("c", 15), &mut out);
        let summaries = decode_all(&out);
        assert_eq!(summaries[0].estimate(b"a").lower_bound, 2);
        assert_eq!(summaries[0].metadata.late_events, 1);
    }

    #[test]
    fn late_after_close_counted() {
        let mut counter = counter(&PANES);
        let mut out = Vec::new();
        counter.count(0, 0, &event("a", 1), &mut out);
        counter.count(1, 0, &event("b", 25), &mut out);
        out.clear();

        counter.count(2, 0, &event("a", 3), &mut out);
        assert!(
            out.is_empty(),
            "a reopened pane does not trigger an emission"
        );
        counter.count(3, 0, &event("b", 31), &mut out);
        assert!(out.is_empty(), "the pane from 30 s is still open");
        counter.count(4, 0, &event("b", 41), &mut out);
        let summaries = decode_all(&out);
        let reopened = summaries
            .iter()
            .find(|summary| summary.metadata.window.unwrap().start == 0)
            .unwrap();
        assert_eq!(reopened.estimate(b"a").lower_bound, 1);
        assert_eq!(reopened.metadata.late_events, 1);
    }

    #[test]
    fn heartbeat_closes_pane() {
        let mut counter = counter(&PANES);
        let mut out = Vec::new();
        counter.count(0, 0, &event("a", 1), &mut out);
        counter.count(1, 0, br#"{"time":20}"#, &mut out);
        let summaries = decode_all(&out);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].estimate(b"a").lower_bound, 1);
        assert_eq!(summaries[0].metadata.malformed_records, 1);
        assert_eq!(counter.watermark(), Some(20_000));
    }

    #[test]
    fn malformed_goes_to_next() {
        let mut counter = counter(&[("item", "/host"), ("emit_every", "3")]);
        let mut out = Vec::new();
        counter.count(0, 1_000, b"{", &mut out);
        counter.count(1, 1_000, br#"{"ip":1}"#, &mut out);
        counter.count(2, 1_000, br#"{"host":"a"}"#, &mut out);
        let summaries = decode_all(&out);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].metadata.malformed_records, 2);
        assert_eq!(summaries[0].total_weight(), 1);
    }

    #[test]
    fn missing_timestamp_malformed() {
        let mut counter = counter(&[("item", "/host"), ("emit_every", "2")]);
        let mut out = Vec::new();
        counter.count(0, -1, br#"{"host":"a"}"#, &mut out);
        counter.count(1, 60_000, br#"{"host":"a"}"#, &mut out);
        let summaries = decode_all(&out);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].metadata.malformed_records, 1);
        assert_eq!(summaries[0].total_weight(), 1);
    }

    #[test]
    fn summary_limit_forces_emit() {
        let mut counter = counter(&[
            ("item", "/host"),
            ("dimension", "/status"),
            ("pane_size", "0"),
            ("emit_every", "100"),
            ("max_open_summaries", "2"),
        ]);
        let mut out = Vec::new();
        for (offset, status) in [200, 404, 200, 500].into_iter().enumerate() {
            counter.count(
                offset as i64,
                0,
                format!(r#"{{"host":"a","status":{status}}}"#).as_bytes(),
                &mut out,
            );
        }
        let summaries = decode_all(&out);
        assert_eq!(summaries.len(), 2);
        let dimension = summaries[0].metadata.dimension.as_ref().unwrap();
        assert_eq!(
            (dimension.name.as_slice(), dimension.value.as_slice()),
            (&b"/status"[..], &b"200"[..])
        );
        assert_eq!(summaries[0].total_weight(), 2);
    }

    #[test]
    fn restore_skips_counted() {
        let params = [
            ("item", "/host"),
            ("pane_size", "0"),
            ("emit_every", "2"),
            ("skip_counted", "true"),
            ("source", "p0"),
        ];
        let mut first = counter(&params);
        let mut out = Vec::new();
        for offset in 0..4 {
            first.count(offset, 0, &event("a", 0), &mut out);
        }

        let mut second = counter(&params);
        for record in &out {
            assert!(second.restore(&record.value));
        }
        assert_eq!(second.resume_offset(), Some(4));
        let mut more = Vec::new();
        for offset in 2..6 {
            second.count(offset, 0, &event("a", 0), &mut more);
        }
        let summaries = decode_all(&more);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].total_weight(), 2);
        assert_eq!(summaries[0].metadata.sources[0].start, 4);
    }
}
