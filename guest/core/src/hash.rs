//! The fixed, seeded, portable item hash.
//!
//! Every sketch in this crate derives its positions from [`hash_item`], so sketches built on any
//! target merge. XXH3-64 is computed with 64-bit integer arithmetic only (no SIMD path on wasm32),
//! so it gives the same value on x86-64, aarch64 and wasm32.

/// Seed of [`hash_item`]. Part of the snapshot format: changing it breaks merges with old snapshots.
pub const SEED: u64 = 0x746f_706b_2d76_3031; // "topk-v01" in ASCII

/// Hashes an item's bytes with XXH3-64 and [`SEED`].
///
/// # Examples
///
/// ```
/// use topk_sketch::hash::hash_item;
///
/// // The value is fixed across targets and releases; snapshots depend on it.
/// assert_eq!(hash_item(b"10.0.0.1"), hash_item(b"10.0.0.1"));
/// assert_ne!(hash_item(b"a"), hash_item(b"b"));
/// ```
#[inline]
pub fn hash_item(item: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(item, SEED)
}
