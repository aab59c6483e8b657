//! The NDJSON scanner against serde_json on random documents: for every JSON pointer into a
//! valid document, both scan modes find the value serde_json finds.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value};
use topk_host::input::{Extractor, Format, FormatSpec, Outcome, Scratch};

/// Text pieces that need JSON or pointer escaping.
const PIECES: [&str; 10] = ["a", "ip", "/", "~", "\"", "\\", "é", "\n", "😀", " "];

fn random_text(rng: &mut StdRng) -> String {
    (0..rng.gen_range(0..4)).map(|_| PIECES[rng.gen_range(0..PIECES.len())]).collect()
}

fn random_value(rng: &mut StdRng, depth: u32) -> Value {
    let kind = if depth >= 4 { rng.gen_range(0..4) } else { rng.gen_range(0..6) };
    match kind {
        0 => Value::Null,
        1 => Value::Bool(rng.gen()),
        2 => Value::from(rng.gen_range(-1_000_000i64..1_000_000)),
        3 => Value::String(random_text(rng)),
        4 => Value::Array((0..rng.gen_range(0..4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.gen_range(0..5) {
                map.insert(random_text(rng), random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

/// Returns a random pointer to a node of `value` (possibly the root), escaped per RFC 6901.
fn random_pointer(rng: &mut StdRng, mut value: &Value) -> String {
    let mut pointer = String::new();
    loop {
        if rng.gen_bool(0.3) {
            return pointer;
        }
        let token = match value {
            Value::Object(map) if !map.is_empty() => {
                let (key, child) = map.iter().nth(rng.gen_range(0..map.len())).unwrap();
                value = child;
                key.replace('~', "~0").replace('/', "~1")
            }
            Value::Array(items) if !items.is_empty() => {
                let index = rng.gen_range(0..items.len());
                value = &items[index];
                index.to_string()
            }
            _ => return pointer,
        };
        pointer.push('/');
        pointer.push_str(&token);
    }
}

/// Extracts `pointer` from `line`: `None` for a null (skipped) value.
fn scan(line: &str, pointer: &str, strict: bool) -> Option<Vec<u8>> {
    let mut spec = FormatSpec::new(Format::Ndjson, pointer);
    spec.strict = strict;
    let extractor = Extractor::new(&spec).unwrap_or_else(|error| panic!("pointer {pointer:?}: {error}"));
    let mut found = None;
    let outcome = extractor
        .extract(line.as_bytes(), &mut Scratch::default(), |event| found = Some(event.item.to_vec()))
        .unwrap_or_else(|error| panic!("pointer {pointer:?} in {line}: {error}"));
    match outcome {
        Outcome::Events(1) => found,
        Outcome::Skipped => None,
        other => panic!("unexpected outcome {other:?}"),
    }
}

fn check(line: &str, root: &Value, pointer: &str) {
    // The empty pointer selects the whole document, which is an item like any other value.
    let expected = root.pointer(pointer).expect("the pointer was built from the document");
    for strict in [false, true] {
        let found = scan(line, pointer, strict);
        match (expected, found) {
            (Value::Null, None) => {}
            (Value::String(text), Some(bytes)) => assert_eq!(bytes, text.as_bytes(), "{pointer:?} in {line} (strict {strict})"),
            (value, Some(bytes)) => {
                let parsed: Value = serde_json::from_slice(&bytes).unwrap_or_else(|error| panic!("{pointer:?}: {error}"));
                assert_eq!(&parsed, value, "{pointer:?} in {line} (strict {strict})");
            }
            (value, None) => panic!("{pointer:?} in {line}: expected {value}, the scanner skipped it"),
        }
    }
}

#[test]
fn random_documents_match_serde_json() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut checked = 0;
    for _ in 0..3000 {
        let mut root = Map::new();
        for _ in 0..rng.gen_range(1..6) {
            root.insert(random_text(&mut rng), random_value(&mut rng, 1));
        }
        let root = Value::Object(root);
        let compact = serde_json::to_string(&root).unwrap();
        // Pretty printing adds whitespace everywhere; newlines inside strings are escaped, so
        // replacing the layout newlines keeps one valid line.
        let spaced = serde_json::to_string_pretty(&root).unwrap().replace('\n', " ");

        for _ in 0..4 {
            let pointer = random_pointer(&mut rng, &root);
            check(&compact, &root, &pointer);
            check(&spaced, &root, &pointer);
            checked += 1;
        }
    }
    assert_eq!(checked, 12_000);
}

#[test]
fn truncated_documents_are_malformed_in_strict_mode() {
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..2000 {
        let mut root = Map::new();
        for _ in 0..rng.gen_range(1..6) {
            root.insert(random_text(&mut rng), random_value(&mut rng, 1));
        }
        let root = Value::Object(root);
        let line = serde_json::to_string(&root).unwrap();
        let pointer = random_pointer(&mut rng, &root);

        // Cut at a character boundary strictly inside the line.
        let boundaries: Vec<usize> = line.char_indices().map(|(index, _)| index).filter(|&index| index > 0).collect();
        let cut = boundaries[rng.gen_range(0..boundaries.len())];
        let mut spec = FormatSpec::new(Format::Ndjson, pointer.as_str());
        spec.strict = true;
        let extractor = Extractor::new(&spec).unwrap();
        let result = extractor.extract(&line.as_bytes()[..cut], &mut Scratch::default(), |_| {});
        let error = result.expect_err(&format!("{:?} cut at {cut} should be malformed", &line[..cut]));
        assert_eq!(error.reason, topk_host::input::Reason::Malformed, "{:?}: {error}", &line[..cut]);
    }
}
