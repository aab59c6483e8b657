//! Allocation bounds: `top_k` with a huge `k` allocates for the tracked items only, and decoders
//! allocate in proportion to their input. A counting global allocator records the peak bytes
//! live on the current thread, so tests running in parallel on other threads do not disturb
//! each other's figures.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use topk_sketch::{snapshot, Config, ErrorType, FrequentItems, Summary};

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn record_alloc(size: usize) {
    let _ = LIVE.try_with(|live| {
        let now = live.get() + size;
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

fn record_dealloc(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        record_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        record_dealloc(layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        record_dealloc(layout.size());
        record_alloc(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` and returns its result with the peak bytes it had live at once on this thread.
fn peak_during<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let baseline = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(baseline));
    let result = f();
    (result, PEAK.with(Cell::get) - baseline)
}

/// Bytes a 100-row result may need: 100 rows of 40 bytes, with generous slack.
const SMALL: usize = 16 * 1024;

#[test]
fn allocator_counts_allocations() {
    let (buffer, peak) = peak_during(|| vec![0u8; 1 << 20]);

    assert!(peak >= 1 << 20, "peak {peak}");
    drop(buffer);
}

#[test]
fn frequent_top_k_huge_k_small_peak() {
    let mut sketch = FrequentItems::new(1024).unwrap();
    for id in 0..100u64 {
        sketch.update(id.to_string().as_bytes(), id + 1).unwrap();
    }

    for k in [u32::MAX as usize, usize::MAX] {
        let (rows, peak) = peak_during(|| sketch.top_k(k, ErrorType::NoFalseNegatives));

        assert_eq!(rows.len(), 100, "k = {k}");
        assert!(peak < SMALL, "k = {k}: peak allocation {peak} bytes");
    }
}

#[test]
fn summary_top_k_huge_k_small_peak() {
    for count_min_width in [0, 512] {
        let config = Config { count_min_width, count_min_depth: 4, ..Config::default() };
        let mut summary = Summary::new(config).unwrap();
        for id in 0..100u64 {
            summary.update(id.to_string().as_bytes(), id + 1).unwrap();
        }

        let (rows, peak) = peak_during(|| summary.top_k(u32::MAX as usize, ErrorType::NoFalsePositives));

        assert_eq!(rows.len(), 100, "count-min width {count_min_width}");
        assert!(peak < SMALL, "count-min width {count_min_width}: peak allocation {peak} bytes");
    }
}

/// A decoded table may keep up to 2^10 slots of 40 bytes whatever its input, plus the items.
const DECODE_LIMIT: usize = 128 * 1024;

#[test]
fn payload_huge_map_size_small_peak() {
    // lg max and lg current map size 30 (2^30 slots) with one item of count 1.
    let mut payload = vec![4, 1, 10, 30, 30, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0];
    payload.extend_from_slice(&1u64.to_le_bytes());
    payload.extend_from_slice(&0u64.to_le_bytes());
    payload.extend_from_slice(&1u64.to_le_bytes());
    payload.extend_from_slice(&1u32.to_le_bytes());
    payload.push(b'x');

    let (sketch, peak) = peak_during(|| FrequentItems::from_datasketches(&payload).unwrap());

    assert_eq!(sketch.max_map_size(), 1 << 30);
    assert_eq!(sketch.lower_bound(b"x"), 1);
    assert!(peak < DECODE_LIMIT, "peak allocation {peak} bytes for a {}-byte payload", payload.len());
}

#[test]
fn payload_huge_active_count_small_peak() {
    let mut payload = vec![4, 1, 10, 30, 30, 0, 0, 0];
    payload.extend_from_slice(&u32::MAX.to_le_bytes());
    payload.extend_from_slice(&[0; 4]);
    payload.extend_from_slice(&1u64.to_le_bytes());
    payload.extend_from_slice(&0u64.to_le_bytes());

    let (result, peak) = peak_during(|| FrequentItems::from_datasketches(&payload));

    assert!(result.is_err());
    assert!(peak < DECODE_LIMIT, "peak allocation {peak} bytes");
}

#[test]
fn snapshot_huge_source_count_small_peak() {
    let mut bytes = snapshot::encode(&Summary::new(Config { hll_precision: 4, ..Config::default() }).unwrap());
    // With no optional fields, the source count is the u16 at offset 32.
    bytes[32..34].copy_from_slice(&u16::MAX.to_le_bytes());
    let body = bytes.len() - 4;
    let crc = crc32c(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());

    let (result, peak) = peak_during(|| snapshot::decode(&bytes));

    assert!(result.is_err());
    assert!(peak < DECODE_LIMIT, "peak allocation {peak} bytes");
}

/// CRC32C (reflected polynomial 0x82F63B78), bit by bit.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= byte as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}
