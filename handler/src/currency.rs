//! ISO 4217 currency codes.
//!
//! The accepted set is ISO 4217 List One ("current currency & funds"), as maintained by SIX
//! for ISO, after the 2025–2026 changes: XCG replaced ANG (2025), EUR replaced BGN (2026),
//! XAD was added (2025), ZWG replaced ZWL (2024); CUC, HRK and SLL are historic. Two List One
//! codes are left out on purpose because ISO defines them as *not* a currency: XTS (reserved
//! for testing) and XXX (no currency involved). Fund codes (BOV, CHE, USN, …), units of
//! account (XDR, XSU, XUA, XAD) and precious metals (XAU, …) stay, because List One lists
//! them and a settlement system may legitimately use them.
//!
//! Codes are matched exactly: ISO codes are upper case, and silently upper-casing `usd` would
//! give one transaction two spellings in the table.

/// Sorted, so that lookup is a binary search (checked by a test).
const CODES: [&str; 176] = [
    "AED", "AFN", "ALL", "AMD", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BHD",
    "BIF", "BMD", "BND", "BOB", "BOV", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF",
    "CHE", "CHF", "CHW", "CLF", "CLP", "CNY", "COP", "COU", "CRC", "CUP", "CVE", "CZK", "DJF",
    "DKK", "DOP", "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP",
    "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR",
    "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT",
    "LAK", "LBP", "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP",
    "MRU", "MUR", "MVR", "MWK", "MXN", "MXV", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
    "NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB",
    "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SOS", "SRD", "SSP", "STN",
    "SVC", "SYP", "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH",
    "UGX", "USD", "USN", "UYI", "UYU", "UYW", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAD",
    "XAF", "XAG", "XAU", "XBA", "XBB", "XBC", "XBD", "XCD", "XCG", "XDR", "XOF", "XPD", "XPF",
    "XPT", "XSU", "XUA", "YER", "ZAR", "ZMW", "ZWG",
];

/// The canonical `&'static str` for an accepted code, or `None`.
pub fn lookup(code: &str) -> Option<&'static str> {
    CODES.binary_search(&code).ok().map(|i| CODES[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_unique_and_well_formed() {
        assert!(
            CODES.windows(2).all(|w| w[0] < w[1]),
            "CODES must be sorted and unique"
        );
        assert!(CODES
            .iter()
            .all(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase())));
    }

    #[test]
    fn lookup_is_exact() {
        assert_eq!(lookup("USD"), Some("USD"));
        assert_eq!(lookup("XCG"), Some("XCG"));
        for rejected in [
            "usd", "Usd", "ANG", "BGN", "HRK", "XTS", "XXX", "US", "USDD", "",
        ] {
            assert_eq!(lookup(rejected), None, "{rejected}");
        }
    }
}
