//! Rust values to JavaScript values: counts, timestamps, items and plain objects.

use js_sys::{BigInt, Object, Reflect, Uint8Array};
use wasm_bindgen::JsValue;

use crate::text::escape_item;

/// `Number.MAX_SAFE_INTEGER`: the largest integer that a JavaScript number and every smaller
/// one represent exactly.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Converts a count to a number while it is at most [`MAX_SAFE_INTEGER`], and to a BigInt above.
pub fn count(value: u64) -> JsValue {
    if value <= MAX_SAFE_INTEGER {
        JsValue::from_f64(value as f64)
    } else {
        BigInt::from(value).into()
    }
}

/// Converts a signed integer (a timestamp) with the rule of [`count`] applied to its magnitude.
pub fn signed(value: i64) -> JsValue {
    if value.unsigned_abs() <= MAX_SAFE_INTEGER {
        JsValue::from_f64(value as f64)
    } else {
        BigInt::from(value).into()
    }
}

/// Copies bytes into a new `Uint8Array` that owns its memory, so it stays valid after the
/// WebAssembly memory grows.
pub fn bytes(value: &[u8]) -> JsValue {
    Uint8Array::from(value).into()
}

/// Converts item bytes to their display text (see [`escape_item`]).
pub fn text(value: &[u8]) -> JsValue {
    JsValue::from_str(&escape_item(value))
}

/// Builds a plain object from `(key, value)` pairs.
pub fn object<const N: usize>(fields: [(&str, JsValue); N]) -> Object {
    let object = Object::new();
    for (key, value) in fields {
        // Defining a property on a fresh ordinary object cannot throw, so the result is ignored.
        let _ = Reflect::set(&object, &JsValue::from_str(key), &value);
    }
    object
}
