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

        // value = digits × 10^(-scale). Every quantity below is bounded: lengths by
        // MAX_LITERAL_LEN, the exponent by EXPONENT_BOUND, so no step can overflow; the
        // checked operations say so rather than trust it.
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        let significant = digits.trim_end_matches('0');
        if significant.is_empty() {
            return Err(AmountError::NotPositive);
        }
        if negative {
            return Err(AmountError::NotPositive);
        }
        let trailing_zeros = (digits.len() - significant.len()) as i64;
        let scale = (frac_part.len() as i64)
            .checked_sub(exponent)
            .and_then(|s| s.checked_sub(trailing_zeros))
            .ok_or(AmountError::TooManyDigits)?;
        let len = significant.len() as i64;

        // Digits of the plain form: integer digits without leading zeros plus fraction
        // digits without trailing zeros. Checked before building any string, so that
        // `1e999999` costs nothing.
        let plain_digits = if scale <= 0 {
            len.checked_sub(scale)
        } else {
            Some(len.max(scale))
        };
        if plain_digits.is_none_or(|d| d > MAX_DIGITS as i64) {
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

/// Beyond this, an exponent cannot bring a literal of at most `MAX_LITERAL_LEN` digits
/// within `MAX_DIGITS` of the decimal point: every larger one is as good as this one.
const EXPONENT_BOUND: i64 = 1_000;

/// `+12`, `-3`, `7`, clamped to ±`EXPONENT_BOUND` (so `1e9223372036854775807` and
/// `1e-99999999999999999999` are refused as too many digits, without arithmetic on
/// their exponents).
fn parse_exponent(s: &str) -> Result<i64, AmountError> {
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if unsigned.is_empty() || !all_digits(unsigned) {
        return Err(AmountError::Malformed);
    }
    let significant = unsigned.trim_start_matches('0');
    let magnitude = if significant.len() > 6 {
        EXPONENT_BOUND
    } else {
        significant.parse::<i64>().unwrap_or(0).min(EXPONENT_BOUND)
    };
    Ok(if negative { -magnitude } else { magnitude })
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
            (
                "1e+0000000000000000000000000000000000037",
                "10000000000000000000000000000000000000",
            ),
            ("1000e-3", "1"),
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
            // The inputs of the denial-of-service report: an exponent at i64's edges used
            // to overflow (debug: panic; release: a 9.2 EB allocation and an abort).
            ("1e9223372036854775807", TooManyDigits),
            ("1e-9223372036854775808", TooManyDigits),
            ("1.5e-9223372036854775807", TooManyDigits),
            ("9e-9223372036854775809", TooManyDigits),
            ("0e9223372036854775807", NotPositive),
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
