//! Per-dimension-value summaries through the real pipeline and component: values are admitted by
//! their rank in the sketch of dimension values, and every per-value bound is checked in panes, in
//! hour rollups, after evictions and after a restore from exported units.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use topk_host::pipeline::{EventBatch, Pipeline, PipelineConfig, QueryEngine, Target, UnitData};
use topk_host::runner::{find_component, Limits, PackedBatch, Runner};
use topk_host::state::Loaded;
use topk_host::window::{Level, UnitKey, WindowConfig};
use topk_sketch::Config;

const MINUTE: i64 = 60_000;

fn runner() -> Runner {
    let component = find_component(None).expect("build the component first: cargo xtask component");
    Runner::new(&component, Limits::default()).unwrap()
}

fn config(max_values: usize) -> PipelineConfig {
    PipelineConfig {
        sketch: Config { max_map_size: 64, ..Config::default() },
        window: WindowConfig::default(),
        dimension: Some("status".into()),
        max_dimension_values: max_values,
    }
}

/// Events as (time ms, dimension value, item).
fn batch(events: &[(i64, String, String)]) -> EventBatch {
    let mut batch = EventBatch { dimensions: Some(PackedBatch::new()), ..EventBatch::default() };
    for (time, value, item) in events {
        batch.push(item.as_bytes(), Some(value.as_bytes()), *time).unwrap();
    }
    batch
}

/// Checks lower <= true <= upper for every (value, item) of `exact` over `units`, and for the
/// items of each value's top-K rows. Returns the number of checks.
fn check_bounds(
    engine: &QueryEngine,
    units: &[Arc<UnitData>],
    exact: &BTreeMap<(String, String), u64>,
    label: &str,
) -> usize {
    let mut checks = 0;
    for ((value, item), count) in exact {
        let answer = engine.frequency(units, Target::Value(value.as_bytes()), item.as_bytes()).unwrap();
        let estimate = answer.estimate.unwrap();
        assert!(estimate.lower_bound <= *count, "{label}: {value}/{item} lower {} > true {count}", estimate.lower_bound);
        assert!(*count <= estimate.upper_bound, "{label}: {value}/{item} upper {} < true {count}", estimate.upper_bound);
        checks += 1;
    }

    let values: std::collections::BTreeSet<&String> = exact.keys().map(|(value, _)| value).collect();
    for value in values {
        let answer = engine.top_k(units, Target::Value(value.as_bytes()), 20).unwrap();
        for row in answer.rows {
            let item = String::from_utf8(row.item).unwrap();
            let count = exact.get(&(value.clone(), item.clone())).copied().unwrap_or(0);
            assert!(row.lower_bound <= count, "{label}: top row {value}/{item} lower {} > true {count}", row.lower_bound);
            assert!(count <= row.upper_bound, "{label}: top row {value}/{item} upper {} < true {count}", row.upper_bound);
            checks += 1;
        }
    }
    checks
}

fn units_at(units: &BTreeMap<UnitKey, Arc<UnitData>>, level: Level) -> Vec<Arc<UnitData>> {
    units.values().filter(|unit| unit.key.level == level).cloned().collect()
}

#[test]
fn frequent_late_value_replaces_rare_one() {
    let runner = runner();
    let mut pipeline = Pipeline::new(&runner, config(2)).unwrap();

    // Two rare values fill the table of the pane first.
    let first = vec![(1_000, "200".to_string(), "/a".to_string()), (1_001, "404".to_string(), "/b".to_string())];
    pipeline.ingest(&batch(&first)).unwrap();

    // Then a frequent value arrives: it must get a summary of its own.
    let later: Vec<_> = (0..50).map(|index| (2_000 + index, "500".to_string(), format!("/c{}", index % 2))).collect();
    pipeline.ingest(&batch(&later)).unwrap();

    let units: Vec<Arc<UnitData>> = pipeline.export().unwrap().into_values().collect();
    let pane = &units[0];
    assert!(pane.by_value.contains_key(b"500".as_slice()), "the frequent value has no summary: {:?}", pane.by_value.keys());
    assert_eq!(pane.by_value.len(), 2, "the table holds at most 2 values");
    assert_eq!(pane.untracked_weight, 1, "the evicted value's one event is untracked");
    assert_eq!(pipeline.counters().evicted_dimension_values, 1);

    let engine = QueryEngine::new(runner.clone(), config(2).sketch);
    let answer = engine.top_k(&units, Target::Value(b"500"), 5).unwrap();
    assert_eq!(answer.untracked_weight, 0, "the value was admitted before any of its events went untracked");
    let rows: Vec<(Vec<u8>, u64, u64)> = answer.rows.iter().map(|row| (row.item.clone(), row.lower_bound, row.upper_bound)).collect();
    assert_eq!(rows, [(b"/c0".to_vec(), 25, 25), (b"/c1".to_vec(), 25, 25)]);
}

#[test]
fn value_admitted_late_counts_missed_events() {
    let runner = runner();
    let mut pipeline = Pipeline::new(&runner, config(2)).unwrap();

    // 200 and 404 are frequent in the first batch; 500 appears 3 times and stays untracked.
    let mut first = Vec::new();
    for index in 0..40 {
        first.push((1_000 + index, ["200", "404"][(index % 2) as usize].to_string(), "/a".to_string()));
    }
    for index in 0..3 {
        first.push((1_100 + index, "500".to_string(), "/x".to_string()));
    }
    pipeline.ingest(&batch(&first)).unwrap();

    // Then 500 becomes the most frequent value and replaces one of them.
    let later: Vec<_> = (0..60).map(|index| (2_000 + index, "500".to_string(), "/x".to_string())).collect();
    pipeline.ingest(&batch(&later)).unwrap();

    let units: Vec<Arc<UnitData>> = pipeline.export().unwrap().into_values().collect();
    let value = &units[0].by_value[b"500".as_slice()];
    assert_eq!(value.weight, 60, "counted since admission");
    assert_eq!(value.missed, 3, "its 3 earlier events are bounded by the value sketch");

    let engine = QueryEngine::new(runner.clone(), config(2).sketch);
    let estimate = engine.frequency(&units, Target::Value(b"500"), b"/x").unwrap().estimate.unwrap();
    assert_eq!((estimate.lower_bound, estimate.upper_bound), (60, 63), "true count 63");
}

#[test]
fn random_stream_keeps_every_bound() {
    let runner = runner();
    let engine = QueryEngine::new(runner.clone(), config(4).sketch);
    let mut rng = StdRng::seed_from_u64(11);
    let mut pipeline = Pipeline::new(&runner, config(4)).unwrap();

    // Three hours of events: 30 dimension values whose popularity shifts every 20 minutes, so
    // values enter and leave the tracked set, and 40 items per value.
    let mut exact_all: BTreeMap<(String, String), u64> = BTreeMap::new();
    let mut exact_by_hour: HashMap<i64, BTreeMap<(String, String), u64>> = HashMap::new();
    let start = 1_700_000_000_000i64 / (60 * MINUTE) * (60 * MINUTE);
    let mut time = start;
    while time < start + 180 * MINUTE {
        let phase = (time - start) / (20 * MINUTE);
        let events: Vec<(i64, String, String)> = (0..200)
            .map(|offset| {
                let skewed = (rng.gen::<f64>().powi(3) * 30.0) as i64;
                let value = format!("v{}", (skewed + phase * 7) % 30);
                let item = format!("i{}", (rng.gen::<f64>().powi(2) * 40.0) as u32);
                (time + offset * 100, value, item)
            })
            .collect();
        for (event_time, value, item) in &events {
            *exact_all.entry((value.clone(), item.clone())).or_default() += 1;
            let hour = event_time - event_time.rem_euclid(60 * MINUTE);
            *exact_by_hour.entry(hour).or_default().entry((value.clone(), item.clone())).or_default() += 1;
        }
        pipeline.ingest(&batch(&events)).unwrap();
        pipeline.advance().unwrap();
        time += 20_000;
    }

    let units = pipeline.export().unwrap();
    assert!(pipeline.counters().evicted_dimension_values > 0, "the stream should evict values");
    for unit in units.values() {
        assert!(unit.by_value.len() <= 4, "{:?} tracks {} values", unit.key, unit.by_value.len());
    }

    // The first two hours are closed and rolled up. Each hour is checked by its panes and by its
    // rollup, then everything through the rollups and the open panes.
    let hours = units_at(&units, Level::Hour);
    assert_eq!(hours.len(), 2, "two complete hours are rolled up");
    let panes = units_at(&units, Level::Pane);
    let mut checks = 0;
    for hour in &hours {
        let exact = &exact_by_hour[&hour.key.start];
        checks += check_bounds(&engine, std::slice::from_ref(hour), exact, "hour rollup");
        let its_panes: Vec<Arc<UnitData>> = panes
            .iter()
            .filter(|pane| pane.key.start >= hour.key.start && pane.key.start < hour.key.start + 60 * MINUTE)
            .cloned()
            .collect();
        checks += check_bounds(&engine, &its_panes, exact, "panes of an hour");
    }
    let mut everything = hours.clone();
    everything.extend(panes.iter().filter(|pane| pane.key.start >= start + 120 * MINUTE).cloned());
    checks += check_bounds(&engine, &everything, &exact_all, "rollups and open panes");
    assert!(checks > 3_000, "only {checks} bounds were checked");

    // A restored pipeline keeps the values, their missed weights and the bounds.
    let loaded = Loaded {
        units: units.values().map(|unit| (**unit).clone()).collect(),
        offsets: BTreeMap::new(),
        counters: None,
        max_event_time: Some(time),
        version: 0,
    };
    let mut restored = Pipeline::restore(&runner, config(4), &loaded).unwrap();
    let again = restored.export().unwrap();
    assert_eq!(again.len(), units.len());
    for (key, unit) in &units {
        let other = &again[key];
        let before: Vec<(&Vec<u8>, u64, u64)> = unit.by_value.iter().map(|(value, data)| (value, data.weight, data.missed)).collect();
        let after: Vec<(&Vec<u8>, u64, u64)> = other.by_value.iter().map(|(value, data)| (value, data.weight, data.missed)).collect();
        assert_eq!(before, after, "{key:?} changed on restore");
        assert_eq!(unit.untracked_weight, other.untracked_weight, "{key:?} untracked weight");
    }
}

#[test]
fn value_evicted_in_its_admitting_batch() {
    let runner = runner();
    let mut pipeline = Pipeline::new(&runner, config(1)).unwrap();

    // One batch: 200 takes the only place, then 404 with 5 events replaces it.
    let mut events = vec![(1_000, "200".to_string(), "/a".to_string())];
    events.extend((0..5).map(|index| (1_001 + index, "404".to_string(), "/b".to_string())));
    pipeline.ingest(&batch(&events)).unwrap();

    let units: Vec<Arc<UnitData>> = pipeline.export().unwrap().into_values().collect();
    let keys: Vec<&Vec<u8>> = units[0].by_value.keys().collect();
    assert_eq!(keys, [&b"404".to_vec()]);
    assert_eq!(units[0].untracked_weight, 1);
    assert_eq!(units[0].by_value[b"404".as_slice()].weight, 5);

    let engine = QueryEngine::new(runner.clone(), config(1).sketch);
    let evicted = engine.frequency(&units, Target::Value(b"200"), b"/a").unwrap().estimate.unwrap();
    assert_eq!((evicted.lower_bound, evicted.upper_bound), (0, 1), "true count 1");
    let admitted = engine.frequency(&units, Target::Value(b"404"), b"/b").unwrap().estimate.unwrap();
    assert_eq!((admitted.lower_bound, admitted.upper_bound), (5, 5));
}
