//! Property-based tests of the whole event path (proptest):
//! - the amount parser against an independent arbitrary-precision decimal (`bigdecimal`):
//!   for generated decimals and exponents the canonical text equals the reference's, and
//!   for arbitrary strings it never panics;
//! - generated invocations (the seed's payload mutated, in every wrapper) always answer
//!   200 or 400 with a JSON body, never panic, and never write on a 400.
//!
//! Case counts keep the suite fast (`PROPTEST_CASES` overrides them); the long campaign is
//! `scripts/fuzz-handler.sh`, which runs `campaign` below with a million events.

use crate::support::fuzz;

use bigdecimal::{BigDecimal, Zero};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::str::FromStr;
use webhook_handler::amount::{Amount, AmountError, MAX_DIGITS};

/// What the amount parser must answer, computed by `bigdecimal`.
fn reference(literal: &str) -> Result<String, AmountError> {
    let value = BigDecimal::from_str(literal).map_err(|_| AmountError::Malformed)?;
    if value <= BigDecimal::zero() {
        return Err(AmountError::NotPositive);
    }
    let plain = value.normalized().to_plain_string();
    let digits = match plain.strip_prefix("0.") {
        Some(fraction) => fraction.len(),
        None => plain.replace('.', "").len(),
    };
    if digits > MAX_DIGITS {
        return Err(AmountError::TooManyDigits);
    }
    Ok(plain)
}

fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(4000))]

    #[test]
    fn amounts_equal_an_arbitrary_precision_reference(
        negative in any::<bool>(),
        int in "[0-9]{1,30}",
        frac in proptest::option::of("[0-9]{1,30}"),
        exponent in proptest::option::of((prop::sample::select(vec!["e", "E", "e+", "E-", "e-"]), 0u32..90)),
    ) {
        // JSON forbids leading zeros; the parser tolerates them and so does the reference.
        let mut literal = format!("{}{int}", if negative { "-" } else { "" });
        if let Some(f) = &frac {
            literal.push('.');
            literal.push_str(f);
        }
        if let Some((e, n)) = &exponent {
            literal.push_str(&format!("{e}{n}"));
        }
        let got = Amount::from_json_number(&literal).map(|a| a.as_str().to_owned());
        prop_assert_eq!(got, reference(&literal), "{}", literal);
    }

    #[test]
    fn the_amount_parser_never_panics_on_any_text(text in any::<String>()) {
        let _ = Amount::from_json_number(&text);
    }

    #[test]
    fn exponents_at_the_edges_of_i64_and_beyond_are_refused_not_panicked_on(
        mantissa in "(0|[1-9][0-9]{0,10})(\\.[0-9]{1,10})?",
        exponent in prop_oneof![
            any::<i64>().prop_map(|e| e.to_string()),
            (0i64..16).prop_map(|d| (i64::MIN + d).to_string()),
            (0i64..16).prop_map(|d| (i64::MAX - d).to_string()),
            "[+-]?[0-9]{19,30}",
        ],
    ) {
        let literal = format!("{mantissa}e{exponent}");
        let got = Amount::from_json_number(&literal).map(|a| a.as_str().to_owned());
        // bigdecimal itself would try to allocate the digits of 1e(2^63): beyond a few
        // hundred, the answer is known without it.
        let small = exponent.parse::<i64>().is_ok_and(|e| e.unsigned_abs() < 200);
        let expected = if small {
            reference(&literal)
        } else if mantissa.bytes().all(|b| b == b'0' || b == b'.') {
            Err(AmountError::NotPositive)
        } else {
            Err(AmountError::TooManyDigits)
        };
        prop_assert_eq!(got, expected, "{}", literal);
    }

    #[test]
    fn the_amount_parser_never_panics_on_number_shaped_text(
        text in "-?[0-9]{0,40}(\\.[0-9]{0,40})?([eE][+-]?[0-9]{1,25})?"
    ) {
        let _ = Amount::from_json_number(&text);
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// Runs `cases` generated invocations; returns (run, undeliverable, answered 200) or the
/// first failure, shrunk.
fn invocations(cases: u32) -> Result<(u64, u64, u64), String> {
    let rt = runtime();
    let mut runner = TestRunner::new(config(cases));
    let counts = std::cell::Cell::new((0u64, 0u64, 0u64));
    runner
        .run(&fuzz::invocation(), |payload| {
            let (mut run, mut skipped, mut ok) = counts.get();
            run += 1;
            match rt.block_on(fuzz::run(&payload)) {
                None => skipped += 1,
                Some(answer) => {
                    ok += u64::from(answer.status_code == 200);
                    fuzz::check(&payload, &answer).map_err(TestCaseError::fail)?;
                }
            }
            counts.set((run, skipped, ok));
            Ok(())
        })
        .map_err(|e| e.to_string())?;
    Ok(counts.get())
}

#[test]
fn every_generated_invocation_answers_200_or_400_and_a_400_writes_nothing() {
    let (run, skipped, ok) = invocations(3000).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "{run} generated invocations: {ok} answered 200, {skipped} not valid JSON for the runtime"
    );
    // The generator must reach the store, not only the validator.
    assert!(ok * 20 > run, "only {ok} of {run} reached the store");
}

/// The long campaign (`scripts/fuzz-handler.sh`): `FUZZ_EVENTS` invocations (default
/// 1,000,000), printing cases run, failures and events per second.
#[test]
#[ignore = "long campaign: scripts/fuzz-handler.sh"]
fn campaign() {
    let events: u32 = std::env::var("FUZZ_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let started = std::time::Instant::now();
    let outcome = invocations(events);
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok((run, skipped, ok)) => println!(
            "campaign: {run} events run, 0 failures, {ok} answered 200, {skipped} not valid JSON for the runtime, {:.0} events/s ({seconds:.1} s)",
            run as f64 / seconds
        ),
        Err(e) => {
            println!("campaign: 1 failure after {seconds:.1} s:\n{e}");
            panic!("the campaign found a failure");
        }
    }
}
