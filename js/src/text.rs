//! Item bytes as display text.

use std::fmt::Write;

/// Renders item bytes as text: valid UTF-8 stays as it is, and every byte of an invalid sequence
/// becomes `\xNN` (two upper-case hex digits), so no item is dropped or merged with another.
///
/// A valid item that itself contains the four characters `\xFF` renders the same as the invalid
/// byte 0xFF; callers that must tell them apart compare the raw bytes.
///
/// # Examples
///
/// ```
/// use topk_js::escape_item;
///
/// assert_eq!(escape_item(b"GET /index.html"), "GET /index.html");
/// assert_eq!(escape_item(b"caf\xC3\xA9"), "café");
/// assert_eq!(escape_item(b"a\xFFb\xC3"), "a\\xFFb\\xC3");
/// ```
pub fn escape_item(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        text.push_str(chunk.valid());
        for byte in chunk.invalid() {
            // `fmt::Write` for `String` never returns an error.
            let _ = write!(text, "\\x{byte:02X}");
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::escape_item;

    #[test]
    fn escape_keeps_valid_utf8() {
        assert_eq!(escape_item("日本 <img src=x onerror=alert(1)>".as_bytes()), "日本 <img src=x onerror=alert(1)>");
        assert_eq!(escape_item(b""), "");
    }

    #[test]
    fn escape_marks_each_invalid_byte() {
        assert_eq!(escape_item(b"\xFF"), "\\xFF");
        assert_eq!(escape_item(b"\xF0\x9F\x98"), "\\xF0\\x9F\\x98");
        assert_eq!(escape_item(b"x\x80\x00y"), "x\\x80\0y");
    }

    #[test]
    fn escape_resumes_after_invalid_sequence() {
        assert_eq!(escape_item(b"\xE2\x82caf\xC3\xA9"), "\\xE2\\x82café");
    }
}
