//! The field rules: from a transaction document to a `Transaction`, or the first field at
//! fault, checked in a fixed order (document, transactionId, amount, currency, status,
//! provider, timestamp).
//!
//! | field | rule |
//! |---|---|
//! | `transactionId` | string, 1–128 characters of `A-Z a-z 0-9 . _ : -`, starting with a letter or digit (covers Stripe, PayPal, Adyen ids and UUIDs; no spaces, no `|`, no Unicode look-alikes) |
//! | `amount` | JSON number > 0, exact (see `amount.rs`); a string such as `"99.99"` is refused |
//! | `currency` | string, an active ISO 4217 code, upper case (see `currency.rs`) |
//! | `status` | string, one of `status::Status` (`pending`, `authorized`, `completed`, `failed`, `cancelled`, `partially_refunded`, `refunded`, `disputed`), lower case |
//! | `provider` | string, 1–32 characters of `a-z 0-9 . _ -`, starting with a letter (`stripe`, `paypal`, `checkout.com`) |
//! | `timestamp` | string, RFC 3339 with an offset, at most 15 minutes ahead of the function's clock |
//!
//! Other members are ignored: not stored, not logged, not an error, so a provider adding a
//! field does not break delivery. A key that appears twice is an error (which copy would
//! we believe?).

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::value::RawValue;

use crate::amount::Amount;
use crate::currency;
use crate::json::{self, JsonObject};
use crate::rejection::Rejection;
use crate::status::Status;
use crate::timestamp::EventTime;
use crate::transaction::Transaction;

pub const MAX_ID_LEN: usize = 128;
pub const MAX_PROVIDER_LEN: usize = 32;

/// A future timestamp would win every later comparison and freeze the record, so events
/// from further ahead than ordinary clock skew are refused.
pub const MAX_CLOCK_SKEW: TimeDelta = TimeDelta::minutes(15);

const FIELDS: [&str; 6] = [
    "transactionId",
    "amount",
    "currency",
    "status",
    "provider",
    "timestamp",
];

/// Validates the transaction document `field` (`payload` or `body`) against the rules above.
pub fn transaction(
    field: &'static str,
    document: &str,
    now: DateTime<Utc>,
) -> Result<Transaction, Rejection> {
    let object = JsonObject::parse(document).map_err(|e| crate::event::object_error(field, e))?;
    let duplicates = object.duplicates();
    if !duplicates.is_empty() {
        // Name a known field; an unknown key is the sender's text and is not echoed.
        return Err(
            match FIELDS.iter().find(|f| duplicates.iter().any(|d| d == *f)) {
                Some(known) => {
                    Rejection::new(known, format!("{field} has a duplicate key \"{known}\""))
                }
                None => Rejection::field(field, "has a duplicate key"),
            },
        );
    }

    let id = transaction_id(required(&object, "transactionId")?)?;
    // Fields are checked in the order they are written here; every later rejection names
    // the (valid) transaction id for the log.
    let rest = || -> Result<Transaction, Rejection> {
        Ok(Transaction {
            amount: amount(required(&object, "amount")?)?,
            currency: currency(required(&object, "currency")?)?,
            status: status(required(&object, "status")?)?,
            provider: provider(required(&object, "provider")?)?,
            timestamp: timestamp(required(&object, "timestamp")?, now)?,
            id: id.clone(),
        })
    };
    rest().map_err(|r| r.with_transaction_id(&id))
}

fn required<'a>(object: &JsonObject<'a>, field: &'static str) -> Result<&'a RawValue, Rejection> {
    object
        .get(field)
        .ok_or_else(|| Rejection::field(field, "is required"))
}

/// The value of a string field, unescaped.
fn string(field: &'static str, value: &RawValue) -> Result<String, Rejection> {
    if !value.get().starts_with('"') {
        return Err(Rejection::field(
            field,
            format_args!("must be a string, not {}", json::type_name(value)),
        ));
    }
    // Fails only for lone UTF-16 surrogates (`"\ud800"`), which are not text.
    serde_json::from_str(value.get()).map_err(|_| Rejection::field(field, "is not a valid string"))
}

fn transaction_id(value: &RawValue) -> Result<String, Rejection> {
    let id = string("transactionId", value)?;
    if id.is_empty() {
        return Err(Rejection::field("transactionId", "must not be empty"));
    }
    if id.len() > MAX_ID_LEN {
        return Err(Rejection::field(
            "transactionId",
            format_args!("must be at most {MAX_ID_LEN} characters"),
        ));
    }
    let valid_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
    if !id.as_bytes()[0].is_ascii_alphanumeric() || !id.bytes().all(valid_char) {
        return Err(Rejection::field(
            "transactionId",
            "may contain only A-Z, a-z, 0-9, '.', '_', ':', '-' and must start with a letter or digit",
        ));
    }
    Ok(id)
}

fn amount(value: &RawValue) -> Result<Amount, Rejection> {
    match value.get().as_bytes().first() {
        Some(b'-' | b'0'..=b'9') => {
            Amount::from_json_number(value.get()).map_err(|e| Rejection::field("amount", e))
        }
        _ => Err(Rejection::field(
            "amount",
            format_args!("must be a JSON number, not {}", json::type_name(value)),
        )),
    }
}

fn currency(value: &RawValue) -> Result<&'static str, Rejection> {
    let code = string("currency", value)?;
    if let Some(code) = currency::lookup(&code) {
        return Ok(code);
    }
    Err(match currency::lookup(&code.to_ascii_uppercase()) {
        // Only a known code is quoted back, never arbitrary input.
        Some(upper) => Rejection::field("currency", format_args!("must be upper case ({upper})")),
        None => Rejection::field(
            "currency",
            "must be an active ISO 4217 currency code, e.g. USD",
        ),
    })
}

fn status(value: &RawValue) -> Result<Status, Rejection> {
    let status = string("status", value)?;
    Status::parse(&status).ok_or_else(|| {
        Rejection::field("status", format_args!("must be one of {}", Status::list()))
    })
}

fn provider(value: &RawValue) -> Result<String, Rejection> {
    let provider = string("provider", value)?;
    let valid_char =
        |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-');
    let valid = !provider.is_empty()
        && provider.len() <= MAX_PROVIDER_LEN
        && provider.as_bytes()[0].is_ascii_lowercase()
        && provider.bytes().all(valid_char);
    if !valid {
        return Err(Rejection::field(
            "provider",
            format_args!("must be 1-{MAX_PROVIDER_LEN} characters of a-z, 0-9, '.', '_', '-' starting with a letter"),
        ));
    }
    Ok(provider)
}

fn timestamp(value: &RawValue, now: DateTime<Utc>) -> Result<EventTime, Rejection> {
    let text = string("timestamp", value)?;
    let time = EventTime::parse(&text).map_err(|e| Rejection::field("timestamp", e))?;
    if time.utc() > now + MAX_CLOCK_SKEW {
        return Err(Rejection::field(
            "timestamp",
            format_args!(
                "must not be more than {} minutes in the future",
                MAX_CLOCK_SKEW.num_minutes()
            ),
        ));
    }
    Ok(time)
}
