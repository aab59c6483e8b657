//! The runner against the real sketch component and against small fault-injection components
//! that loop or grow, under real wasmtime limits.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use topk_host::runner::{
    arm_deadline, describe_trap, find_component, limited_store, GuestError, Limits, PackedBatch,
    Runner,
};
use topk_sketch::snapshot::{Metadata, Window};
use topk_sketch::{Config, ErrorType};
use wasmtime::component::Linker;

fn component() -> PathBuf {
    find_component(None).expect("build the component first: cargo build -p topk-component --target wasm32-unknown-unknown --release && cargo run -q -p xtask -- component")
}

/// A component with a function that loops forever and one that grows memory until it fails.
const FAULTY: &str = r#"
(component
  (core module $faulty
    (memory (export "memory") 1)
    (func (export "spin") (loop $forever (br $forever)))
    (func (export "grow") (result i32)
      (loop $again
        (br_if $again (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      (i32.const 0)))
  (core instance $instance (instantiate $faulty))
  (func (export "spin") (canon lift (core func $instance "spin")))
  (func (export "grow") (result u32) (canon lift (core func $instance "grow"))))
"#;

#[test]
fn real_component_counts_exactly() {
    let runner = Runner::new(&component(), Limits::default()).unwrap();
    let mut guest = runner.instantiate().unwrap();
    let summary = guest.create(Config::default()).unwrap();

    let mut batch = PackedBatch::new();
    for item in ["a", "b", "a", "c", "a", "b"] {
        batch.push(item.as_bytes()).unwrap();
    }
    batch.push_weighted(b"d", 10).unwrap();
    guest.update_batch(&summary, &batch).unwrap();

    let rows = guest
        .top_k(&summary, 2, ErrorType::NoFalseNegatives)
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].item, b"d");
    assert_eq!((rows[0].lower_bound, rows[0].upper_bound), (10, 10));
    assert_eq!(rows[1].item, b"a");
    assert_eq!(guest.estimate(&summary, b"b").unwrap().estimate, 2);
    assert_eq!(guest.total_weight(&summary).unwrap(), 16);
    assert_eq!(guest.maximum_error(&summary).unwrap(), 0);
    assert_eq!(guest.distinct(&summary).unwrap().round(), 4.0);
    assert_eq!(guest.config(&summary).unwrap(), Config::default());
}

#[test]
fn snapshots_round_trip_and_merge() {
    let runner = Runner::new(&component(), Limits::default()).unwrap();
    let mut guest = runner.instantiate().unwrap();
    let left = guest.create(Config::default()).unwrap();
    let right = guest.create(Config::default()).unwrap();
    guest.update(&left, b"x", 3).unwrap();
    guest.update(&right, b"x", 4).unwrap();
    guest.update(&right, b"y", 1).unwrap();

    let metadata = Metadata {
        window: Some(Window {
            start: 0,
            end: 60_000,
        }),
        late_events: 2,
        ..Metadata::default()
    };
    guest.set_metadata(&left, &metadata).unwrap();
    assert_eq!(guest.metadata(&left).unwrap(), metadata);

    let bytes = guest.export_snapshot(&right).unwrap();
    guest.merge_snapshot(&left, &bytes).unwrap();
    assert_eq!(guest.estimate(&left, b"x").unwrap().lower_bound, 7);

    let native = topk_sketch::snapshot::decode(&guest.export_snapshot(&left).unwrap()).unwrap();
    assert_eq!(native.estimate(b"x").upper_bound, 7);
    assert_eq!(native.total_weight(), 8);

    let imported = guest.import_snapshot(&bytes).unwrap();
    assert_eq!(guest.total_weight(&imported).unwrap(), 5);
    guest.reset(&imported).unwrap();
    assert_eq!(guest.total_weight(&imported).unwrap(), 0);
    guest.drop_summary(imported).unwrap();
}

#[test]
fn rejected_calls_keep_guest_usable() {
    let runner = Runner::new(&component(), Limits::default()).unwrap();
    let mut guest = runner.instantiate().unwrap();

    let error = guest
        .create(Config {
            max_map_size: 1000,
            ..Config::default()
        })
        .unwrap_err();
    assert!(
        matches!(
            error,
            GuestError::Rejected {
                kind: "invalid-parameter",
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("1000"), "{error}");

    let summary = guest.create(Config::default()).unwrap();
    let error = guest
        .merge_snapshot(&summary, b"not a snapshot")
        .unwrap_err();
    assert!(
        matches!(
            error,
            GuestError::Rejected {
                kind: "malformed-snapshot",
                ..
            }
        ),
        "{error}"
    );
    assert!(!guest.is_poisoned());
    guest.update(&summary, b"still", 1).unwrap();
}

#[test]
fn memory_limit_traps_and_poisons() {
    let limits = Limits {
        memory_bytes: 8 << 20,
        ..Limits::default()
    };
    let runner = Runner::new(&component(), limits).unwrap();
    let mut guest = runner.instantiate().unwrap();
    let summary = guest.create(Config::default()).unwrap();

    // A 12 MiB batch cannot even be copied into an 8 MiB linear memory.
    let mut batch = PackedBatch::new();
    let mut item = vec![b'x'; 8 << 10];
    for index in 0..1536u32 {
        item[..4].copy_from_slice(&index.to_le_bytes());
        batch.push(&item).unwrap();
    }
    let error = guest.update_batch(&summary, &batch).unwrap_err();
    assert!(error.is_trap(), "{error}");
    assert!(error.to_string().contains("8388608"), "{error}");
    assert!(guest.is_poisoned());
    assert_eq!(
        guest.total_weight(&summary).unwrap_err(),
        GuestError::Poisoned
    );

    let mut fresh = runner.instantiate().unwrap();
    let summary = fresh.create(Config::default()).unwrap();
    fresh.update(&summary, b"after", 1).unwrap();
}

#[test]
fn looping_guest_hits_deadline() {
    let limits = Limits {
        call_timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let runner = Runner::new(&component(), limits).unwrap();
    let faulty = wasmtime::component::Component::new(runner.engine(), FAULTY).unwrap();
    let mut store = limited_store(&runner);
    let instance = Linker::new(runner.engine())
        .instantiate(&mut store, &faulty)
        .unwrap();
    let spin = instance
        .get_typed_func::<(), ()>(&mut store, "spin")
        .unwrap();

    arm_deadline(&runner, &mut store);
    let started = Instant::now();
    let error = spin.call(&mut store, ()).unwrap_err();
    let elapsed = started.elapsed();
    let error = describe_trap(&runner, "spin", &error);
    assert!(error.to_string().contains("deadline of 200 ms"), "{error}");
    assert!(
        elapsed >= Duration::from_millis(150),
        "trapped after {elapsed:?}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "trapped after {elapsed:?}"
    );

    // The runner still serves other guests.
    let mut guest = runner.instantiate().unwrap();
    let summary = guest.create(Config::default()).unwrap();
    guest.update(&summary, b"alive", 1).unwrap();
}

#[test]
fn growing_guest_hits_memory_limit() {
    let limits = Limits {
        memory_bytes: 4 << 20,
        ..Limits::default()
    };
    let runner = Runner::new(&component(), limits).unwrap();
    let faulty = wasmtime::component::Component::new(runner.engine(), FAULTY).unwrap();
    let mut store = limited_store(&runner);
    let instance = Linker::new(runner.engine())
        .instantiate(&mut store, &faulty)
        .unwrap();
    let grow = instance
        .get_typed_func::<(), (u32,)>(&mut store, "grow")
        .unwrap();

    arm_deadline(&runner, &mut store);
    let error = grow.call(&mut store, ()).unwrap_err();
    let error = describe_trap(&runner, "grow", &error);
    assert!(error.to_string().contains("4194304"), "{error}");
}

#[test]
fn missing_component_names_build_command() {
    let error = Runner::new(
        "/nonexistent/topk_component.wasm".as_ref(),
        Limits::default(),
    )
    .err()
    .unwrap();
    let message = error.to_string();
    assert!(
        message.contains("/nonexistent/topk_component.wasm"),
        "{message}"
    );
    assert!(message.contains("xtask"), "{message}");
}
