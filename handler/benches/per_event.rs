//! Per-event processing time of the handler, without the DynamoDB round trip: `Handler::handle`
//! over the in-memory store (`MemoryStore`, a mutex and a hash map) for a mix of events, each
//! timed on its own with `Instant`. Run by `scripts/bench-handler.sh`; a benchmark, not a test.
//!
//! `cargo bench -p webhook-handler --bench per_event` (cargo passes `--bench`) runs
//! `BENCH_EVENTS` events per kind (default 20000), after a warm-up round, twice: with logging
//! off, and with the function's JSON log subscriber (`telemetry`'s filter at `info`) writing
//! to a sink, which is what a real invocation also pays for. Under `cargo test` (no
//! `--bench`) it only runs a few events of each kind, as a smoke test.
//!
//! Kinds of event: a new transaction (direct invoke), a new transaction as a base64
//! function-URL body, a redelivery (`duplicate`), an older event (`stale`), and a rotation of
//! invalid payloads (400). Prints, per kind and overall, median, p90, p99 and max ns per event.

use std::time::Instant;

use base64::Engine as _;
use lambda_runtime::{Context, LambdaEvent};
use serde_json::value::RawValue;
use webhook_handler::{telemetry, Handler, MemoryStore};

const KINDS: [&str; 5] = ["new", "new_http_b64", "duplicate", "stale", "invalid"];

fn payload(id: &str, amount: &str, status: &str, timestamp: &str) -> String {
    format!(
        r#"{{"transactionId":"{id}","amount":{amount},"currency":"USD","status":"{status}","provider":"stripe","timestamp":"{timestamp}"}}"#
    )
}

fn http_event(body: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(body);
    format!(
        r#"{{"version":"2.0","routeKey":"$default","rawPath":"/","headers":{{"content-type":"application/json"}},"requestContext":{{"http":{{"method":"POST","path":"/"}}}},"body":"{encoded}","isBase64Encoded":true}}"#
    )
}

/// Round `i` of the mix: one event of each kind, in `KINDS` order. The duplicate and the
/// stale event refer to the transaction created earlier in the same round.
fn round(i: usize) -> [String; 5] {
    let id = format!("txn_bench_{i:08}");
    let seed = payload(&id, "99.99", "completed", "2025-01-15T10:30:00Z");
    let invalid = match i % 5 {
        0 => payload(&id, "-5", "completed", "2025-01-15T10:30:00Z"),
        1 => payload(&id, "\"99.99\"", "completed", "2025-01-15T10:30:00Z"),
        2 => payload(&id, "99.99", "shipped", "2025-01-15T10:30:00Z"),
        3 => payload(&id, "99.99", "completed", "yesterday"),
        _ => r#"{"amount":99.99,"currency":"USD"}"#.to_owned(),
    };
    [
        seed.clone(),
        http_event(&payload(
            &format!("txn_bench_http_{i:08}"),
            "12345678901234567.89",
            "authorized",
            "2025-01-15T10:30:00+01:00",
        )),
        seed,
        payload(&id, "99.99", "pending", "2025-01-15T10:00:00Z"),
        invalid,
    ]
}

fn event(text: &str) -> LambdaEvent<Box<RawValue>> {
    let payload = RawValue::from_string(text.to_owned()).expect("bench payloads are JSON");
    LambdaEvent::new(payload, Context::default())
}

/// Nanoseconds per event, by kind, over `rounds` rounds on a fresh store.
fn run(rt: &tokio::runtime::Runtime, rounds: usize, first_round: usize) -> Vec<Vec<u64>> {
    // Payloads and events are built before timing: the function receives them parsed.
    let mut events = Vec::with_capacity(rounds * KINDS.len());
    for i in first_round..first_round + rounds {
        for (kind, text) in round(i).iter().enumerate() {
            events.push((kind, event(text)));
        }
    }
    let handler = Handler::new(MemoryStore::new());
    let mut samples = vec![Vec::with_capacity(rounds); KINDS.len()];
    let mut statuses = [[0usize; 2]; KINDS.len()];
    rt.block_on(async {
        for (kind, event) in events {
            let started = Instant::now();
            let response = handler.handle(event).await;
            let elapsed = started.elapsed();
            let response = response.expect("the in-memory store does not fail");
            statuses[kind][usize::from(response.status_code == 400)] += 1;
            samples[kind].push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
        }
    });
    // Each kind must have taken the path it is meant to measure.
    for (kind, [ok, rejected]) in statuses.iter().enumerate() {
        let want_rejected = KINDS[kind] == "invalid";
        assert_eq!(
            (*ok, *rejected),
            if want_rejected {
                (0, rounds)
            } else {
                (rounds, 0)
            },
            "kind {}",
            KINDS[kind]
        );
    }
    assert_eq!(
        handler.store().writes(),
        2 * rounds,
        "one write per new event"
    );
    samples
}

/// Nearest-rank percentile of sorted samples.
fn percentile(sorted: &[u64], p: f64) -> u64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(title: &str, samples: Vec<Vec<u64>>) {
    println!("{title}");
    println!(
        "  {:<14} {:>8} {:>10} {:>10} {:>10} {:>10}",
        "event", "count", "median ns", "p90 ns", "p99 ns", "max ns"
    );
    let all: Vec<u64> = samples.iter().flatten().copied().collect();
    let rows = KINDS
        .into_iter()
        .zip(samples)
        .chain(std::iter::once(("all", all)));
    for (kind, mut s) in rows {
        s.sort_unstable();
        println!(
            "  {:<14} {:>8} {:>10} {:>10} {:>10} {:>10}",
            kind,
            s.len(),
            percentile(&s, 50.0),
            percentile(&s, 90.0),
            percentile(&s, 99.0),
            s[s.len() - 1]
        );
    }
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let rounds = if bench {
        std::env::var("BENCH_EVENTS")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
            .unwrap_or(20_000)
    } else {
        20
    };
    // As in `main.rs`: one invocation at a time on a current-thread runtime.
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("tokio runtime");

    // Warm-up (allocator, lazy statics, branch predictors), not reported.
    run(&rt, rounds.min(2_000), 0);

    report(
        &format!("handler per-event time, in-memory store, logging off ({rounds} events per kind)"),
        run(&rt, rounds, 1_000_000),
    );

    // The function's own log formatting (JSON, one line per event) into a sink.
    let (subscriber, _) = telemetry::subscriber("info", std::io::sink);
    let samples = tracing::subscriber::with_default(subscriber, || run(&rt, rounds, 2_000_000));
    report(
        &format!(
            "handler per-event time, in-memory store, JSON logs to a sink ({rounds} events per kind)"
        ),
        samples,
    );
    if !bench {
        println!(
            "(smoke run under `cargo test`; `cargo bench` or scripts/bench-handler.sh measures)"
        );
    }
}
