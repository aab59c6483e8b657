//! Raw text: every match of a regular expression is one item.

use regex::Regex;

use crate::input::error::{BadLine, Reason, SpecError};

#[derive(Debug, Clone)]
pub(crate) struct Tokenizer {
    pattern: Regex,
}

impl Tokenizer {
    /// Compiles the tokenizer pattern.
    ///
    /// # Errors
    ///
    /// [`SpecError`] naming the pattern when it is not a regular expression, or when it can
    /// match the empty string (such as `''`, `a*` or `\b`), which would make empty tokens.
    pub(crate) fn new(pattern: &str) -> Result<Self, SpecError> {
        let compiled = Regex::new(pattern).map_err(|error| SpecError::new(format!("invalid tokenizer regular expression `{pattern}`: {error}")))?;

        if matches_empty(&compiled) {
            return Err(SpecError::new(format!(
                "invalid --tokenize '{pattern}': the pattern matches the empty string; use a pattern that matches at least one character, such as \\S+ or \\w+"
            )));
        }
        Ok(Tokenizer { pattern: compiled })
    }

    /// Passes every match in `line` to `visit`, after lowercasing the line into `lowered`
    /// when asked.
    pub(crate) fn tokens<F>(&self, line: &[u8], lowercase: bool, lowered: &mut Vec<u8>, mut visit: F) -> Result<(), BadLine>
    where
        F: FnMut(&[u8]),
    {
        let text = std::str::from_utf8(line).map_err(|error| {
            BadLine::new(Reason::InvalidUtf8, format!("text line is not UTF-8: invalid byte at {}", error.valid_up_to()))
        })?;

        let text = if lowercase {
            lowered.clear();
            if text.is_ascii() {
                lowered.extend(text.bytes().map(|byte| byte.to_ascii_lowercase()));
            } else {
                lowered.extend_from_slice(text.to_lowercase().as_bytes());
            }
            // Lowercasing valid UTF-8 gives valid UTF-8, so this check does not fail.
            std::str::from_utf8(lowered).map_err(|_| BadLine::new(Reason::InvalidUtf8, "lowercased text line is not UTF-8"))?
        } else {
            text
        };

        // `new` rejects patterns that match the empty string in the contexts it probes; skipping
        // empty matches here also covers a context it did not probe.
        for token in self.pattern.find_iter(text).filter(|token| !token.is_empty()) {
            visit(token.as_str().as_bytes());
        }
        Ok(())
    }
}

/// Returns true when `pattern` has an empty match in one of a few short texts. Whether an empty
/// match exists at a position depends only on the characters just before and after it, because
/// anchors and word boundaries look no further. So the texts put every pair of start or end,
/// line break, space, ASCII word character and non-ASCII letter around each position.
fn matches_empty(pattern: &Regex) -> bool {
    const AROUND: [&str; 6] = ["", "\n", "\r", " ", "a", "é"];

    let mut text = String::with_capacity(8);
    for before in AROUND {
        for after in AROUND {
            text.clear();
            text.push_str(before);
            text.push_str(after);
            let position = before.len();
            if pattern.find_at(&text, position).is_some_and(|found| found.start() == position && found.is_empty()) {
                return true;
            }
        }
    }
    false
}
