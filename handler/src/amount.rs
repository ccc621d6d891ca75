//! Exact decimal amounts, from the literal JSON text of a number to DynamoDB's `N`.
//!
//! The amount never goes through `f64`: `0.1` and `12345678901234567.89` are not
//! representable in binary floating point. We take the number's literal text (serde_json's
//! `RawValue`) and rewrite it as a canonical plain decimal, with string operations only:
//! - exponent notation is accepted and expanded (`1.5E+3` → `1500`);
//! - leading zeros of the integer part and trailing zeros of the fraction are dropped
//!   (`100.00` → `100`), which is what DynamoDB does to an `N` anyway, so the value we
//!   compare for duplicates is the value the table holds;
//! - the amount must be greater than zero;
//! - the plain decimal may use at most 38 digits (integer digits + fraction digits), so it
//!   always fits DynamoDB's 38 digits of precision and is stored digit for digit.
//!
//! A JSON *string* such as `"99.99"` is refused: the seed sends a number, exactness is
//! already guaranteed for numbers, and accepting both would give the sender two spellings
//! of one field.

use std::fmt;

/// DynamoDB numbers carry up to 38 significant digits.
pub const MAX_DIGITS: usize = 38;

/// Longest number literal we look at; longer ones cannot fit in `MAX_DIGITS` anyway except
/// through absurd zero padding, and the bound keeps the work per event small.
const MAX_LITERAL_LEN: usize = 100;

/// A positive decimal in canonical plain form (`99.99`, `1500`, `0.001`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Amount(String);

/// Why a number literal is not an acceptable amount. The message completes "amount …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be greater than zero")]
    NotPositive,
    #[error("must fit in {MAX_DIGITS} digits as a plain decimal")]
    TooManyDigits,
    #[error("is not a valid JSON number")]
    Malformed,
}

impl Amount {
    /// Parses the literal text of a JSON number (as serde_json's `RawValue` gives it).
    pub fn from_json_number(literal: &str) -> Result<Amount, AmountError> {
        let literal = literal.trim();
        if literal.len() > MAX_LITERAL_LEN {
            return Err(AmountError::TooManyDigits);
        }
        let (negative, unsigned) = match literal.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, literal),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(i) => (&unsigned[..i], parse_exponent(&unsigned[i + 1..])?),
            None => (unsigned, 0),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((int, frac)) if !frac.is_empty() => (int, frac),
            Some(_) => return Err(AmountError::Malformed),
            None => (mantissa, ""),
        };
        if int_part.is_empty() || !all_digits(int_part) || !all_digits(frac_part) {
            return Err(AmountError::Malformed);
        }

        // value = digits × 10^(-scale)
        let digits = format!("{int_part}{frac_part}");
        let mut scale = frac_part.len() as i64 - exponent;
        let digits = digits.trim_start_matches('0');
        let significant = digits.trim_end_matches('0');
        if significant.is_empty() {
            return Err(AmountError::NotPositive);
        }
        if negative {
            return Err(AmountError::NotPositive);
        }
        scale -= (digits.len() - significant.len()) as i64;
        let len = significant.len() as i64;

        // Digits of the plain form: integer digits without leading zeros plus fraction
        // digits without trailing zeros. Checked before building any string, so that
        // `1e999999` costs nothing.
        let plain_digits = if scale <= 0 {
            len - scale
        } else {
            len.max(scale)
        };
        if plain_digits > MAX_DIGITS as i64 {
            return Err(AmountError::TooManyDigits);
        }
        let text = if scale <= 0 {
            format!("{significant}{}", "0".repeat((-scale) as usize))
        } else if scale >= len {
            format!("0.{}{significant}", "0".repeat((scale - len) as usize))
        } else {
            let (int, frac) = significant.split_at((len - scale) as usize);
            format!("{int}.{frac}")
        };
        Ok(Amount(text))
    }

    /// The canonical decimal text, as written to DynamoDB's `N`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// `+12`, `-3`, `7`. Exponents too large for an i64 cannot give an amount of 38 digits.
fn parse_exponent(s: &str) -> Result<i64, AmountError> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if unsigned.is_empty() || !all_digits(unsigned) {
        return Err(AmountError::Malformed);
    }
    s.parse::<i64>().map_err(|_| AmountError::TooManyDigits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        let cases = [
            ("99.99", "99.99"),
            ("0.1", "0.1"),
            ("12345678901234567.89", "12345678901234567.89"),
            ("100", "100"),
            ("100.00", "100"),
            ("0.010", "0.01"),
            ("1.5E+3", "1500"),
            ("1.5e3", "1500"),
            ("25e-2", "0.25"),
            ("1e-5", "0.00001"),
            ("123.456e1", "1234.56"),
            ("0.5e1", "5"),
            (
                "12345678901234567890123456789012345678",
                "12345678901234567890123456789012345678",
            ),
            (
                "0.00000000000000000000000000000000000001",
                "0.00000000000000000000000000000000000001",
            ),
            ("1e37", "10000000000000000000000000000000000000"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                Amount::from_json_number(input).map(|a| a.0),
                Ok(expected.into()),
                "{input}"
            );
        }
    }

    #[test]
    fn rejections() {
        use AmountError::*;
        let cases = [
            ("0", NotPositive),
            ("0.000", NotPositive),
            ("-0", NotPositive),
            ("-1", NotPositive),
            ("-0.01", NotPositive),
            ("0e10", NotPositive),
            ("123456789012345678901234567890123456789", TooManyDigits),
            ("1e38", TooManyDigits),
            ("1e-39", TooManyDigits),
            ("1e400", TooManyDigits),
            ("1e99999999999999999999", TooManyDigits),
            ("1.", Malformed),
            (".5", Malformed),
            ("1e", Malformed),
            ("abc", Malformed),
            ("", Malformed),
        ];
        for (input, expected) in cases {
            assert_eq!(Amount::from_json_number(input), Err(expected), "{input}");
        }
    }
}
