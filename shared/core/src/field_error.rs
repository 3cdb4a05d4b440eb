use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One invalid input field, named the way the client sent it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Every field error of one request: validation reports all of them at once, not the first.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError { field: field.to_string(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when nothing was reported, else the collected errors.
    pub fn into_result<T>(self, value: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

/// A trimmed text field with a length range, as most CRM fields are.
/// A single-line text field: as [`text`], and no line breaks (Unicode's line and paragraph
/// separators included) or tabs either.
pub fn line(errors: &mut FieldErrors, field: &str, value: Option<&str>, required: bool, max: usize) -> Option<String> {
    if value.is_some_and(|v| v.trim().chars().any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'))) {
        errors.add(field, "must be a single line without control characters");
        return None;
    }
    text(errors, field, value, required, max)
}

pub fn text(errors: &mut FieldErrors, field: &str, value: Option<&str>, required: bool, max: usize) -> Option<String> {
    let trimmed = value.map(str::trim).filter(|v| !v.is_empty());
    match trimmed {
        None if required => {
            errors.add(field, "is required");
            None
        }
        None => None,
        Some(v) if v.chars().count() > max => {
            errors.add(field, format!("must be at most {max} characters"));
            None
        }
        Some(v) if v.chars().any(|c| c.is_control() && c != '\n' && c != '\t') => {
            errors.add(field, "must not contain control characters");
            None
        }
        // Embeddings, overrides and isolates reorder what a reader sees against what is stored
        // ("Trojan Source"); right-to-left text itself needs none of them.
        Some(v) if v.chars().any(|c| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')) => {
            errors.add(field, "must not contain text-direction overrides");
            None
        }
        Some(v) => Some(v.to_string()),
    }
}

/// A record id as the API hands them out (ULIDs; user ids): 1-64 letters, digits, `-` and `_`.
pub fn is_record_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
