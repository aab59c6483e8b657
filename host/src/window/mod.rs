//! Event-time windows as panes: which pane an event belongs to, when panes close, which hour and
//! day rollups are complete, what retention drops, and which panes and rollups cover a query
//! window. Pure bookkeeping on millisecond timestamps; the sketches live in the pipeline.

mod query;

pub use query::{parse_window, QueryWindow, WindowSpec};

use std::collections::BTreeSet;

/// Milliseconds in one hour.
pub const HOUR_MS: i64 = 3_600_000;
/// Milliseconds in one day.
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// Pane size, watermark and retention settings, all in milliseconds.
///
/// # Examples
///
/// ```
/// use topk_host::window::WindowConfig;
///
/// let config = WindowConfig::default();
/// assert_eq!(config.pane_ms, 60_000);
/// assert!(config.validate().is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WindowConfig {
    /// Pane size. Default 1 minute. Must divide one hour.
    pub pane_ms: i64,
    /// Bounded out-of-orderness: the watermark trails the highest event time by this much.
    /// Default 5 s.
    pub out_of_orderness_ms: i64,
    /// How long after the watermark passes a pane's end the pane still accepts late events.
    /// Default 0.
    pub allowed_lateness_ms: i64,
    /// How long panes are kept after their end, measured against the watermark. Default 25 h,
    /// so `last_day` is pane-exact at both edges.
    pub pane_retention_ms: i64,
    /// How long hour rollups are kept. Default 8 days, so `last_week` is hour-exact.
    pub hour_retention_ms: i64,
    /// How long day rollups are kept. Default 35 days.
    pub day_retention_ms: i64,
}

impl Default for WindowConfig {
    fn default() -> Self {
        WindowConfig {
            pane_ms: 60_000,
            out_of_orderness_ms: 5_000,
            allowed_lateness_ms: 0,
            pane_retention_ms: 25 * HOUR_MS,
            hour_retention_ms: 8 * DAY_MS,
            day_retention_ms: 35 * DAY_MS,
        }
    }
}

impl WindowConfig {
    /// Checks that the pane size divides an hour and no duration is negative.
    ///
    /// # Errors
    ///
    /// A message naming the setting, its value and the accepted range.
    pub fn validate(&self) -> Result<(), String> {
        if self.pane_ms <= 0 || HOUR_MS % self.pane_ms != 0 {
            return Err(format!("invalid pane size {} ms: it must be positive and divide one hour (3600000 ms), e.g. 1000, 60000 or 300000", self.pane_ms));
        }
        for (name, value) in [
            ("out-of-orderness", self.out_of_orderness_ms),
            ("allowed lateness", self.allowed_lateness_ms),
            ("pane retention", self.pane_retention_ms),
            ("hour retention", self.hour_retention_ms),
            ("day retention", self.day_retention_ms),
        ] {
            if value < 0 {
                return Err(format!("invalid {name} {value} ms: it must be 0 or more"));
            }
        }
        Ok(())
    }
}

/// The granularity of a stored unit: a pane, an hour rollup or a day rollup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// One pane of the configured pane size.
    Pane,
    /// The merge of the panes of one hour.
    Hour,
    /// The merge of the hours of one day (UTC).
    Day,
}

impl Level {
    /// Returns the level's code in the state store.
    pub fn code(self) -> u8 {
        match self {
            Level::Pane => 0,
            Level::Hour => 1,
            Level::Day => 2,
        }
    }

    /// Returns the level for a state-store code, or `None` for an unknown one.
    pub fn from_code(code: u8) -> Option<Level> {
        match code {
            0 => Some(Level::Pane),
            1 => Some(Level::Hour),
            2 => Some(Level::Day),
            _ => None,
        }
    }
}

/// One pane or rollup: its level and start time (ms since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnitKey {
    /// Granularity.
    pub level: Level,
    /// Start, inclusive, in ms since the Unix epoch.
    pub start: i64,
}

impl UnitKey {
    /// Returns the exclusive end of the unit for a pane size of `pane_ms`.
    pub fn end(&self, pane_ms: i64) -> i64 {
        self.start + self.len(pane_ms)
    }

    /// Returns the unit's length in ms.
    pub fn len(&self, pane_ms: i64) -> i64 {
        match self.level {
            Level::Pane => pane_ms,
            Level::Hour => HOUR_MS,
            Level::Day => DAY_MS,
        }
    }
}

/// The pane decision for an event, given the watermark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// The event's pane is open and the event is not behind the watermark.
    OnTime {
        /// Start of the event's pane.
        pane: i64,
    },
    /// The event is behind the watermark, but its pane is still open (allowed lateness).
    Late {
        /// Start of the event's pane.
        pane: i64,
    },
    /// The event's pane closed already; the event is not counted in any pane.
    TooLate {
        /// Start of the event's pane.
        pane: i64,
    },
}

/// Returns `time` rounded down to a multiple of `size` (also for negative times).
pub fn floor_to(time: i64, size: i64) -> i64 {
    time.div_euclid(size) * size
}

/// Returns `time` rounded up to a multiple of `size`.
pub fn ceil_to(time: i64, size: i64) -> i64 {
    let floor = floor_to(time, size);
    if floor == time {
        time
    } else {
        floor + size
    }
}

/// The watermark and the rules that follow from it.
///
/// # Examples
///
/// ```
/// use topk_host::window::{Clock, Placement, WindowConfig};
///
/// let mut clock = Clock::new(WindowConfig { out_of_orderness_ms: 1_000, ..WindowConfig::default() });
/// clock.observe(125_000);
/// assert_eq!(clock.watermark(), Some(124_000));
/// assert_eq!(clock.place(123_500), Placement::Late { pane: 120_000 });
/// assert_eq!(clock.place(59_000), Placement::TooLate { pane: 0 });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    config: WindowConfig,
    max_event_time: Option<i64>,
}

impl Clock {
    /// Creates a clock that has seen no event.
    pub fn new(config: WindowConfig) -> Self {
        Clock {
            config,
            max_event_time: None,
        }
    }

    /// Creates a clock that resumes from a stored highest event time.
    pub fn resume(config: WindowConfig, max_event_time: Option<i64>) -> Self {
        Clock {
            config,
            max_event_time,
        }
    }

    /// Returns the configuration.
    pub fn config(&self) -> &WindowConfig {
        &self.config
    }

    /// Advances the highest event time seen.
    pub fn observe(&mut self, event_time: i64) {
        self.max_event_time = Some(
            self.max_event_time
                .map_or(event_time, |max| max.max(event_time)),
        );
    }

    /// Returns the highest event time seen.
    pub fn max_event_time(&self) -> Option<i64> {
        self.max_event_time
    }

    /// Returns the watermark: the highest event time minus the out-of-orderness.
    pub fn watermark(&self) -> Option<i64> {
        self.max_event_time
            .map(|max| max.saturating_sub(self.config.out_of_orderness_ms))
    }

    /// Returns true when the pane starting at `pane` no longer accepts events.
    pub fn is_pane_closed(&self, pane: i64) -> bool {
        self.is_closed(pane + self.config.pane_ms)
    }

    /// Returns true when a unit ending at `end` is past the watermark plus the allowed lateness.
    pub fn is_closed(&self, end: i64) -> bool {
        match self.watermark() {
            Some(watermark) => end.saturating_add(self.config.allowed_lateness_ms) <= watermark,
            None => false,
        }
    }

    /// Decides where an event with `event_time` goes, against the current watermark. Call it
    /// before [`observe`](Self::observe) for the same event, so an event never makes itself late.
    pub fn place(&self, event_time: i64) -> Placement {
        let pane = floor_to(event_time, self.config.pane_ms);
        if self.is_pane_closed(pane) {
            return Placement::TooLate { pane };
        }
        match self.watermark() {
            Some(watermark) if event_time < watermark => Placement::Late { pane },
            _ => Placement::OnTime { pane },
        }
    }

    /// Returns true when a unit ending at `end` is older than its retention allows.
    pub fn is_expired(&self, key: &UnitKey) -> bool {
        let retention = match key.level {
            Level::Pane => self.config.pane_retention_ms,
            Level::Hour => self.config.hour_retention_ms,
            Level::Day => self.config.day_retention_ms,
        };
        match self.watermark() {
            Some(watermark) => key.end(self.config.pane_ms).saturating_add(retention) < watermark,
            None => false,
        }
    }
}

/// The retention boundary of panes and hours. A pane that starts before `pane`, or an hour that
/// starts before `hour`, is gone once its rollup exists, so the rollup is merged in its place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Horizon {
    /// Panes starting before this time (ms) are past their retention.
    pub pane: i64,
    /// Hours starting before this time (ms) are past their retention.
    pub hour: i64,
}

impl Horizon {
    /// No unit has expired.
    pub const NONE: Horizon = Horizon {
        pane: i64::MIN,
        hour: i64::MIN,
    };

    /// Returns the horizon of `config`'s retention at `watermark`, the same rule as
    /// [`Clock::is_expired`]: a unit expires once its end plus its retention is before the
    /// watermark.
    ///
    /// # Examples
    ///
    /// ```
    /// use topk_host::window::{Horizon, WindowConfig, HOUR_MS};
    ///
    /// let config = WindowConfig { pane_retention_ms: HOUR_MS, ..WindowConfig::default() };
    /// let horizon = Horizon::new(&config, Some(10 * HOUR_MS));
    /// assert_eq!(horizon.pane, 9 * HOUR_MS - config.pane_ms);
    /// assert_eq!(Horizon::new(&config, None), Horizon::NONE);
    /// ```
    pub fn new(config: &WindowConfig, watermark: Option<i64>) -> Horizon {
        let Some(watermark) = watermark else {
            return Horizon::NONE;
        };
        Horizon {
            pane: watermark
                .saturating_sub(config.pane_retention_ms)
                .saturating_sub(config.pane_ms),
            hour: watermark
                .saturating_sub(config.hour_retention_ms)
                .saturating_sub(HOUR_MS),
        }
    }
}

/// The units a query window merges, with the bounds they actually cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cover {
    /// Units to merge, oldest first.
    pub units: Vec<UnitKey>,
    /// Start of the covered interval: the request rounded down to a pane, or further down to an
    /// hour or day where only a rollup is left of its edge.
    pub start: i64,
    /// End of the covered interval (exclusive), rounded up to a pane boundary.
    pub end: i64,
}

/// Returns the fewest stored units that cover `[start, end)`: whole days where a day rollup
/// exists, whole hours where an hour rollup exists, panes elsewhere.
///
/// The request is first rounded outward to pane boundaries. Where a pane has expired (it starts
/// before `horizon.pane`, or no pane of its hour is left) but its hour or day rollup remains,
/// the rollup is used and the cover widens to its bounds. The returned `start` and `end` give
/// the merged interval. Intervals with no unit at all had no event.
///
/// # Examples
///
/// ```
/// use std::collections::BTreeSet;
/// use topk_host::window::{cover, Horizon, Level, UnitKey, HOUR_MS};
///
/// let mut stored = BTreeSet::new();
/// stored.insert(UnitKey { level: Level::Hour, start: 0 });
/// for minute in 0..90 {
///     stored.insert(UnitKey { level: Level::Pane, start: minute * 60_000 });
/// }
/// let cover = cover(0, 90 * 60_000, 60_000, &stored, Horizon::NONE);
/// assert_eq!(cover.units.len(), 1 + 30);
/// assert_eq!(cover.units[0], UnitKey { level: Level::Hour, start: 0 });
/// assert_eq!((cover.start, cover.end), (0, HOUR_MS + 30 * 60_000));
/// ```
pub fn cover(
    start: i64,
    end: i64,
    pane_ms: i64,
    stored: &BTreeSet<UnitKey>,
    horizon: Horizon,
) -> Cover {
    let start = floor_to(start, pane_ms);
    let end = ceil_to(end, pane_ms).max(start);
    let mut units = Vec::new();
    let mut covered_start = start;
    let mut covered_end = end;
    let has = |level: Level, at: i64| stored.contains(&UnitKey { level, start: at });

    // Step only through the span that contains units, so a request of start=0 and end=year 9999
    // costs as much as one that covers the stored data exactly.
    let Some((stored_start, stored_end)) = stored_extent(stored, pane_ms) else {
        return Cover { units, start, end };
    };
    let mut time = start.max(floor_to(stored_start, pane_ms));
    let scan_end = end.min(stored_end);

    while time < scan_end {
        let day = UnitKey {
            level: Level::Day,
            start: floor_to(time, DAY_MS),
        };
        let hour = UnitKey {
            level: Level::Hour,
            start: floor_to(time, HOUR_MS),
        };

        let whole_day_fits = day.start == time && time + DAY_MS <= end;
        let whole_hour_fits = hour.start == time && time + HOUR_MS <= end;
        let chosen = if whole_day_fits && has(Level::Day, time) {
            Some(day)
        } else if whole_hour_fits && has(Level::Hour, time) {
            Some(hour)
        } else if has(Level::Pane, time) {
            Some(UnitKey {
                level: Level::Pane,
                start: time,
            })
        } else if has(Level::Hour, hour.start)
            && (time < horizon.pane || !panes_within(stored, hour.start, hour.start + HOUR_MS))
        {
            // This pane has expired and the hour's rollup remains, even where later panes of
            // the hour are still kept.
            Some(hour)
        } else if has(Level::Day, day.start)
            && ((time < horizon.pane && hour.start < horizon.hour)
                || !has_any_below_day(stored, day.start))
        {
            // Pane and hour have expired and the day's rollup remains.
            Some(day)
        } else {
            None
        };

        match chosen {
            Some(unit) => {
                let unit_end = unit.end(pane_ms);
                covered_start = covered_start.min(unit.start);
                covered_end = covered_end.max(unit_end);
                units.push(unit);
                time = unit_end;
            }
            None => time += pane_ms,
        }
    }
    Cover {
        units,
        start: covered_start,
        end: covered_end,
    }
}

/// Returns the earliest start and the latest end of the stored units, or `None` when there
/// are none.
fn stored_extent(stored: &BTreeSet<UnitKey>, pane_ms: i64) -> Option<(i64, i64)> {
    let mut extent: Option<(i64, i64)> = None;
    for level in [Level::Pane, Level::Hour, Level::Day] {
        let of_level = || stored.range(UnitKey { level, start: i64::MIN }..=UnitKey { level, start: i64::MAX });
        let (Some(first), Some(last)) = (of_level().next(), of_level().next_back()) else {
            continue;
        };
        let (start, end) = (first.start, last.end(pane_ms));
        extent = Some(match extent {
            None => (start, end),
            Some((known_start, known_end)) => (known_start.min(start), known_end.max(end)),
        });
    }
    extent
}

fn panes_within(stored: &BTreeSet<UnitKey>, start: i64, end: i64) -> bool {
    let from = UnitKey {
        level: Level::Pane,
        start,
    };
    let to = UnitKey {
        level: Level::Pane,
        start: end,
    };
    stored.range(from..to).next().is_some()
}

fn has_any_below_day(stored: &BTreeSet<UnitKey>, day_start: i64) -> bool {
    let hours_from = UnitKey {
        level: Level::Hour,
        start: day_start,
    };
    let hours_to = UnitKey {
        level: Level::Hour,
        start: day_start + DAY_MS,
    };
    stored.range(hours_from..hours_to).next().is_some()
        || panes_within(stored, day_start, day_start + DAY_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pane(start: i64) -> UnitKey {
        UnitKey {
            level: Level::Pane,
            start,
        }
    }

    #[test]
    fn placement_follows_watermark_and_lateness() {
        let config = WindowConfig {
            pane_ms: 60_000,
            out_of_orderness_ms: 10_000,
            allowed_lateness_ms: 30_000,
            ..WindowConfig::default()
        };
        let mut clock = Clock::new(config);
        assert_eq!(clock.place(5_000), Placement::OnTime { pane: 0 });

        clock.observe(95_000);
        assert_eq!(clock.watermark(), Some(85_000));
        // Pane [0, 60 s) closes at 60 s + 30 s lateness = 90 s of watermark, not yet.
        assert_eq!(clock.place(5_000), Placement::Late { pane: 0 });
        assert_eq!(clock.place(86_000), Placement::OnTime { pane: 60_000 });

        clock.observe(100_000);
        assert!(clock.is_pane_closed(0));
        assert_eq!(clock.place(5_000), Placement::TooLate { pane: 0 });
        assert!(!clock.is_pane_closed(60_000));
    }

    #[test]
    fn negative_times_floor_correctly() {
        assert_eq!(floor_to(-1, 60_000), -60_000);
        assert_eq!(ceil_to(-1, 60_000), 0);
        assert_eq!(ceil_to(120_000, 60_000), 120_000);
    }

    #[test]
    fn cover_prefers_days_then_hours() {
        let mut stored = BTreeSet::new();
        stored.insert(UnitKey {
            level: Level::Day,
            start: 0,
        });
        for hour in 0..26 {
            stored.insert(UnitKey {
                level: Level::Hour,
                start: hour * HOUR_MS,
            });
        }
        for minute in 0..(26 * 60) {
            stored.insert(pane(minute * 60_000));
        }

        let whole = cover(0, 26 * HOUR_MS + 60_000, 60_000, &stored, Horizon::NONE);
        assert_eq!(
            whole.units[0],
            UnitKey {
                level: Level::Day,
                start: 0
            }
        );
        assert_eq!(
            whole.units[1],
            UnitKey {
                level: Level::Hour,
                start: DAY_MS
            }
        );
        assert_eq!(
            whole.units[2],
            UnitKey {
                level: Level::Hour,
                start: DAY_MS + HOUR_MS
            }
        );
        assert_eq!(whole.units.len(), 3);

        let partial = cover(30 * 60_000, 2 * HOUR_MS, 60_000, &stored, Horizon::NONE);
        assert_eq!(partial.units.len(), 30 + 1);
        assert_eq!(partial.start, 30 * 60_000);
    }

    #[test]
    fn cover_widens_to_rollup_when_panes_expired() {
        let mut stored = BTreeSet::new();
        stored.insert(UnitKey {
            level: Level::Hour,
            start: 0,
        });
        stored.insert(pane(HOUR_MS));

        let result = cover(30 * 60_000, HOUR_MS + 60_000, 60_000, &stored, Horizon::NONE);
        assert_eq!(
            result.units,
            vec![
                UnitKey {
                    level: Level::Hour,
                    start: 0
                },
                pane(HOUR_MS)
            ]
        );
        assert_eq!((result.start, result.end), (0, HOUR_MS + 60_000));
    }

    #[test]
    fn cover_partly_expired_hour() {
        // Panes 0..59 of hour 0 expired; pane 59 and the next hour's panes remain.
        let horizon = Horizon { pane: 59 * 60_000, hour: i64::MIN };
        let mut stored = BTreeSet::new();
        stored.insert(UnitKey { level: Level::Hour, start: 0 });
        for minute in 59..120 {
            stored.insert(pane(minute * 60_000));
        }
        let inside = cover(10 * 60_000, 30 * 60_000, 60_000, &stored, horizon);
        assert_eq!(inside.units, [UnitKey { level: Level::Hour, start: 0 }]);
        assert_eq!((inside.start, inside.end), (0, HOUR_MS));

        // Across the edge: the rollup once, then the next hour's panes, never pane 59 twice.
        let across = cover(58 * 60_000, 63 * 60_000, 60_000, &stored, horizon);
        let expected: Vec<UnitKey> = std::iter::once(UnitKey { level: Level::Hour, start: 0 })
            .chain((60..63).map(|minute| pane(minute * 60_000)))
            .collect();
        assert_eq!(across.units, expected);
        assert_eq!((across.start, across.end), (0, 63 * 60_000));

        // Without expiry a missing pane had no event, so only the kept panes are merged.
        let empty = cover(58 * 60_000, 63 * 60_000, 60_000, &stored, Horizon::NONE);
        assert_eq!(empty.units[0], pane(59 * 60_000));
        assert_eq!((empty.start, empty.end), (58 * 60_000, 63 * 60_000));
    }

    #[test]
    fn cover_partly_expired_day() {
        // Hours 0..12 of day 0 expired; hours 12..24 and the day rollup remain.
        let horizon = Horizon { pane: DAY_MS, hour: 12 * HOUR_MS };
        let mut stored = BTreeSet::new();
        stored.insert(UnitKey { level: Level::Day, start: 0 });
        for hour in 12..24 {
            stored.insert(UnitKey { level: Level::Hour, start: hour * HOUR_MS });
        }
        stored.insert(pane(DAY_MS));
        let early = cover(HOUR_MS, 2 * HOUR_MS, 60_000, &stored, horizon);
        assert_eq!(early.units, [UnitKey { level: Level::Day, start: 0 }]);
        assert_eq!((early.start, early.end), (0, DAY_MS));

        let late = cover(13 * HOUR_MS, 14 * HOUR_MS, 60_000, &stored, horizon);
        assert_eq!(late.units, [UnitKey { level: Level::Hour, start: 13 * HOUR_MS }]);
    }

    #[test]
    fn cover_of_huge_range_visits_stored_span() {
        let stored: BTreeSet<UnitKey> = [120_000, 180_000].into_iter().map(|start| UnitKey { level: Level::Pane, start }).collect();

        // Stepping pane by pane through 8,000 years would never finish.
        let cover = cover(0, 253_402_300_799_999, 60_000, &stored, Horizon::NONE);

        assert_eq!(cover.units, stored.into_iter().collect::<Vec<_>>());
        assert_eq!(cover.start, 0);
    }

    #[test]
    fn cover_rounds_to_panes_and_skips_gaps() {
        let mut stored = BTreeSet::new();
        stored.insert(pane(0));
        stored.insert(pane(180_000));
        let result = cover(10_000, 190_000, 60_000, &stored, Horizon::NONE);
        assert_eq!(result.units, vec![pane(0), pane(180_000)]);
        assert_eq!((result.start, result.end), (0, 240_000));
    }

    #[test]
    fn expiry_uses_level_retention() {
        let config = WindowConfig {
            pane_retention_ms: HOUR_MS,
            hour_retention_ms: DAY_MS,
            ..WindowConfig::default()
        };
        let mut clock = Clock::new(config);
        clock.observe(3 * HOUR_MS);
        assert!(clock.is_expired(&pane(0)));
        assert!(!clock.is_expired(&pane(2 * HOUR_MS)));
        assert!(!clock.is_expired(&UnitKey {
            level: Level::Hour,
            start: 0
        }));
    }
}
