//! Raw text: every match of a regular expression is one item.

use regex::Regex;

use crate::input::error::{BadLine, Reason, SpecError};

#[derive(Debug, Clone)]
pub(crate) struct Tokenizer {
    pattern: Regex,
}

impl Tokenizer {
    pub(crate) fn new(pattern: &str) -> Result<Self, SpecError> {
        let pattern = Regex::new(pattern).map_err(|error| SpecError::new(format!("invalid tokenizer regular expression `{pattern}`: {error}")))?;
        Ok(Tokenizer { pattern })
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

        for token in self.pattern.find_iter(text) {
            visit(token.as_str().as_bytes());
        }
        Ok(())
    }
}
