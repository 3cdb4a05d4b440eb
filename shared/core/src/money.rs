//! Money as integer minor units and an ISO 4217 currency: never floats, never a bare number.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::field_error::FieldErrors;

/// The largest amount Keel records (10^15 minor units): far above any deal, far below `i64`'s end,
/// so sums of many deals never overflow.
pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

/// The active ISO 4217 currency codes (2026): a made-up code would open a bucket of its own in
/// every forecast and board total.
const ISO_4217: &str = "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BHD BIF BMD BND BOB BRL BSD BTN BWP BYN \
BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ \
GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL \
LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN \
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD \
TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG";

pub fn is_currency(code: &str) -> bool {
    code.len() == 3 && ISO_4217.split_ascii_whitespace().any(|c| c == code)
}

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
        if !is_currency(&self.currency) {
            e.add(&format!("{field}.currency"), "must be an active ISO 4217 code like USD, upper case");
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
        assert!(!Money { value_minor: 1, currency: "ZZZ".into() }.validate(&mut e, "price"));
        assert!(["USD", "JPY", "XOF", "ZWG"].iter().all(|c| is_currency(c)));
        let fields: Vec<_> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["amount.value_minor", "amount.currency", "price.currency"]);
    }
}
