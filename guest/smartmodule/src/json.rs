//! JSON pointer lookups that parse only the objects and arrays a pointer passes through.
//!
//! A record is validated once as a whole, but its members stay raw text until a pointer reaches
//! them, and strings without escapes are borrowed from the record. Building a full
//! `serde_json::Value` per record allocates every key and string and dominated the module's time.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

/// An object key or string value, borrowed from the record unless it contains escapes.
#[derive(Deserialize, PartialEq, Eq, PartialOrd, Ord)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// A JSON record whose top-level members are split out once and otherwise left unparsed.
pub struct Document<'a> {
    root: &'a RawValue,
    members: Option<BTreeMap<Text<'a>, &'a RawValue>>,
}

impl<'a> Document<'a> {
    /// Validates `value` as one JSON document, returning `None` when it is not UTF-8 or not
    /// exactly one JSON document.
    pub fn parse(value: &'a [u8]) -> Option<Document<'a>> {
        let text = std::str::from_utf8(value).ok()?;
        let root: &'a RawValue = serde_json::from_str(text).ok()?;
        let members = match root.get().as_bytes().first() {
            Some(b'{') => Some(serde_json::from_str(root.get()).ok()?),
            _ => None,
        };
        Some(Document { root, members })
    }

    /// Returns the raw value an RFC 6901 pointer (starting with `/`) refers to.
    pub fn pointer(&self, pointer: &str) -> Option<&'a RawValue> {
        let mut segments = pointer.strip_prefix('/')?.split('/').map(unescape);

        let first = segments.next()?;
        let mut current = match &self.members {
            Some(members) => find(members, &first)?,
            None => child(self.root, &first)?,
        };
        for segment in segments {
            current = child(current, &segment)?;
        }
        Some(current)
    }
}

/// Returns the member or element named by one pointer segment.
fn child<'a>(value: &'a RawValue, segment: &str) -> Option<&'a RawValue> {
    let text = value.get();
    match text.as_bytes().first()? {
        b'{' => {
            let members: BTreeMap<Text<'a>, &'a RawValue> = serde_json::from_str(text).ok()?;
            find(&members, segment)
        }
        b'[' => {
            // RFC 6901 array indexes are decimal without leading zeros.
            if segment.len() > 1 && segment.starts_with('0') {
                return None;
            }
            let index: usize = segment.parse().ok()?;
            let elements: Vec<&'a RawValue> = serde_json::from_str(text).ok()?;
            elements.get(index).copied()
        }
        _ => None,
    }
}

/// Returns the member named `name`. The search is linear because a lookup by key would need a
/// key of the map's lifetime, and records have few members.
fn find<'a>(members: &BTreeMap<Text<'a>, &'a RawValue>, name: &str) -> Option<&'a RawValue> {
    members
        .iter()
        .find(|(key, _)| key.0 == name)
        .map(|(_, value)| *value)
}

/// Decodes `~1` to `/` and `~0` to `~`, in that order, as RFC 6901 requires.
fn unescape(segment: &str) -> Cow<'_, str> {
    if segment.contains('~') {
        Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(segment)
    }
}

/// A scalar JSON value as the module reads it.
pub enum Scalar<'a> {
    /// A string, unescaped.
    String(Cow<'a, str>),
    /// A number or boolean, as its JSON text.
    Literal(&'a str),
}

/// Returns a raw value as a scalar, or `None` for null, objects and arrays.
pub fn scalar(value: &RawValue) -> Option<Scalar<'_>> {
    let text = value.get();
    match text.as_bytes().first()? {
        b'"' => serde_json::from_str::<Text<'_>>(text)
            .ok()
            .map(|string| Scalar::String(string.0)),
        b'{' | b'[' | b'n' => None,
        _ => Some(Scalar::Literal(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(json: &str, pointer: &str) -> Option<String> {
        let document = Document::parse(json.as_bytes())?;
        document
            .pointer(pointer)
            .map(|value| value.get().to_string())
    }

    #[test]
    fn pointer_top_level() {
        assert_eq!(
            lookup(r#"{"a": 1, "b": "x"}"#, "/b").as_deref(),
            Some(r#""x""#)
        );
        assert_eq!(lookup(r#"{"a": 1}"#, "/c"), None);
    }

    #[test]
    fn pointer_nested_and_arrays() {
        let json = r#"{"a": {"b": [10, {"c": true}]}}"#;
        assert_eq!(lookup(json, "/a/b/0").as_deref(), Some("10"));
        assert_eq!(lookup(json, "/a/b/1/c").as_deref(), Some("true"));
        assert_eq!(lookup(json, "/a/b/01"), None);
        assert_eq!(lookup(json, "/a/b/2"), None);
        assert_eq!(lookup("[5, 6]", "/1").as_deref(), Some("6"));
    }

    #[test]
    fn pointer_escapes() {
        let json = r#"{"a/b": 1, "m~n": 2, "q\"k": 3}"#;
        assert_eq!(lookup(json, "/a~1b").as_deref(), Some("1"));
        assert_eq!(lookup(json, "/m~0n").as_deref(), Some("2"));
        assert_eq!(lookup(json, "/q\"k").as_deref(), Some("3"));
    }

    #[test]
    fn invalid_documents_rejected() {
        assert!(Document::parse(b"{\"a\": 1").is_none());
        assert!(Document::parse(b"{\"a\": 1} trailing").is_none());
        assert!(Document::parse(&[0xff]).is_none());
    }

    #[test]
    fn scalars_read() {
        let document =
            Document::parse(br#"{"s": "a\nb", "n": -1.5e3, "t": false, "z": null, "o": {}}"#)
                .unwrap();
        assert!(
            matches!(scalar(document.pointer("/s").unwrap()), Some(Scalar::String(text)) if text == "a\nb")
        );
        assert!(matches!(
            scalar(document.pointer("/n").unwrap()),
            Some(Scalar::Literal("-1.5e3"))
        ));
        assert!(matches!(
            scalar(document.pointer("/t").unwrap()),
            Some(Scalar::Literal("false"))
        ));
        assert!(scalar(document.pointer("/z").unwrap()).is_none());
        assert!(scalar(document.pointer("/o").unwrap()).is_none());
    }
}
