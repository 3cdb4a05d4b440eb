//! Sort-key ranges for `BETWEEN` key conditions.

/// An inclusive range of sort keys, lower bound first. DynamoDB refuses a `BETWEEN` whose lower
/// bound sorts after its upper bound (a `ValidationException`, which would reach the client as a
/// 500), so such a range is never built: it holds nothing, and the caller answers an empty result
/// without asking. Bounds compare as DynamoDB compares strings, byte by byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SortKeyRange {
    low: String,
    high: String,
}

impl SortKeyRange {
    /// `None` when nothing can lie between `low` and `high`.
    pub fn between(low: impl Into<String>, high: impl Into<String>) -> Option<SortKeyRange> {
        let (low, high) = (low.into(), high.into());
        (low.as_bytes() <= high.as_bytes()).then_some(SortKeyRange { low, high })
    }

    pub fn low(&self) -> &str {
        &self.low
    }

    pub fn high(&self) -> &str {
        &self.high
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backwards_range_is_empty() {
        assert!(SortKeyRange::between("EVT#7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "EVT#01JD7Z3K8Q6W9X2Y4B5C6D7E8F").is_none());
        let r = SortKeyRange::between("EVT#0", "EVT#0").unwrap();
        assert_eq!((r.low(), r.high()), ("EVT#0", "EVT#0"));
    }
}
