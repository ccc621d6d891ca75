//! Searching histories: replaying seeds, shrinking a failure to a short
//! history, and printing what replays it.

use super::history::{generate, History};
use super::invariants::Violation;
use super::run::run_history;

/// The environment variable holding a history (JSON) to replay.
pub const REPLAY_VAR: &str = "WEBHOOK_STACK_SIM_REPLAY";

/// Longest history generated.
pub const MAX_STEPS: usize = 30;

/// A history that broke an invariant, shrunk.
pub struct Failure {
    pub seed: u64,
    pub violation: Violation,
    pub shrunk: History,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let json = serde_json::to_string(&self.shrunk).expect("history serialises");
        writeln!(f, "seed {} broke {}", self.seed, self.violation)?;
        writeln!(f, "shrunk to {} steps:", self.shrunk.steps.len())?;
        for (i, s) in self.shrunk.steps.iter().enumerate() {
            writeln!(
                f,
                "  {i}: {:?} faults {:?} kill {:?}",
                s.action, s.faults, s.kill
            )?;
        }
        writeln!(f, "replay it with:")?;
        write!(
            f,
            "  {REPLAY_VAR}='{json}' cargo test --bin webhook-stack sim::tests::replay -- --ignored --nocapture"
        )
    }
}

/// Runs the history of each seed; returns the steps run and the failures.
pub fn check_seeds(seeds: impl Iterator<Item = u64>) -> (u64, Vec<Failure>) {
    let mut steps = 0;
    let mut failures = Vec::new();
    for seed in seeds {
        let history = generate(seed, MAX_STEPS);
        match run_history(&history) {
            Ok(_) => steps += history.steps.len() as u64,
            Err(violation) => {
                steps += violation.step as u64 + 1;
                let shrunk = shrink(&history, &violation);
                failures.push(Failure {
                    seed,
                    violation,
                    shrunk,
                });
            }
        }
    }
    (steps, failures)
}

/// Whether `candidate` still breaks the same invariant.
fn still_fails(candidate: &History, invariant: &str) -> Option<Violation> {
    match run_history(candidate) {
        Err(v) if v.invariant == invariant => Some(v),
        _ => None,
    }
}

/// The shortest history found that breaks the same invariant: steps after
/// the failure dropped, then each step, each fault, each kill and each
/// flag removed while the failure stays.
pub fn shrink(history: &History, violation: &Violation) -> History {
    let invariant = violation.invariant;
    let mut best = history.clone();
    best.steps.truncate(violation.step + 1);
    let mut improved = true;
    while improved {
        improved = false;
        let mut i = best.steps.len();
        while i > 0 {
            i -= 1;
            let mut c = best.clone();
            c.steps.remove(i);
            if let Some(v) = still_fails(&c, invariant) {
                c.steps.truncate(v.step + 1);
                best = c;
                improved = true;
                i = i.min(best.steps.len());
                continue;
            }
            let mut c = best.clone();
            if c.steps[i].faults != [0; 4] || c.steps[i].kill.is_some() {
                c.steps[i].faults = [0; 4];
                c.steps[i].kill = None;
                if still_fails(&c, invariant).is_some() {
                    best = c;
                    improved = true;
                }
            }
        }
    }
    best
}
