//! Money as integer minor units and an ISO 4217 currency: never floats, never a bare number.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field_error::FieldErrors;

/// The largest amount Keel records (10^15 minor units): far above any deal, far below `i64`'s end,
/// so sums of many deals never overflow.
pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Money {
    /// The amount in the currency's minor unit (cents for USD): 1250000 is 12,500.00.
    #[schema(example = 1250000)]
    pub value_minor: i64,
    /// ISO 4217 code, upper case.
    #[schema(example = "USD")]
    pub currency: String,
}

impl Money {
    /// Checks an amount named `field` (errors go to `field.value_minor` / `field.currency`).
    pub fn validate(&self, e: &mut FieldErrors, field: &str) -> bool {
        let mut ok = true;
        if !(0..=MAX_MINOR).contains(&self.value_minor) {
            e.add(&format!("{field}.value_minor"), format!("must be between 0 and {MAX_MINOR}"));
            ok = false;
        }
        if self.currency.len() != 3 || !self.currency.bytes().all(|b| b.is_ascii_uppercase()) {
            e.add(&format!("{field}.currency"), "must be an ISO 4217 code like USD");
            ok = false;
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_bounded_and_currencies_are_codes() {
        let mut e = FieldErrors::default();
        assert!(Money { value_minor: 100, currency: "EUR".into() }.validate(&mut e, "amount"));
        assert!(!Money { value_minor: -1, currency: "eur".into() }.validate(&mut e, "amount"));
        let fields: Vec<_> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["amount.value_minor", "amount.currency"]);
    }
}
