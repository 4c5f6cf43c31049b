//! Form fields checked all at once: every problem is collected as "field: why" and the caller
//! answers with one error naming them all (`finish`). Used by the vendors and retention areas.

use crate::error::AppError;

/// The field trimmed; a note when it is longer than `max` characters.
pub fn text(errors: &mut Vec<String>, field: &str, raw: &str, max: usize) -> String {
    let t = raw.trim();
    if t.chars().count() > max {
        errors.push(format!("{field}: at most {max} characters"));
    }
    t.to_string()
}

/// A text field that must not be empty: `why` says what it is for when it is.
pub fn required(errors: &mut Vec<String>, field: &str, raw: &str, max: usize, why: &str) -> String {
    let t = text(errors, field, raw, max);
    if t.is_empty() {
        errors.push(format!("{field}: required{why}"));
    }
    t
}

/// Nothing wrong, or one error naming every problem.
pub fn finish(errors: Vec<String>) -> Result<(), AppError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::invalid(errors.join("; ")))
    }
}
