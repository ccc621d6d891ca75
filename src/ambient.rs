//! What the program takes from its surroundings rather than from its input:
//! the wall clock, randomness (ids, retry jitter) and who runs it (a lock's
//! holder). Everything reads them
//! here, so that the simulation can make them a function of its seed and
//! replay a history exactly: its clock runs on tokio's paused clock and its
//! randomness comes from the seed.

use chrono::{DateTime, Utc};
use std::cell::RefCell;

struct Simulated {
    epoch: DateTime<Utc>,
    start: tokio::time::Instant,
    rng: fastrand::Rng,
}

thread_local! {
    static SIMULATED: RefCell<Option<Simulated>> = const { RefCell::new(None) };
}

/// The current time.
pub fn now() -> DateTime<Utc> {
    SIMULATED.with(|s| match &*s.borrow() {
        Some(sim) => {
            let elapsed = tokio::time::Instant::now() - sim.start;
            sim.epoch + chrono::Duration::from_std(elapsed).unwrap_or_default()
        }
        None => Utc::now(),
    })
}

/// A fresh random (version 4) UUID.
pub fn uuid() -> uuid::Uuid {
    SIMULATED.with(|s| match &mut *s.borrow_mut() {
        Some(sim) => uuid::Builder::from_random_bytes(sim.rng.u128(..).to_le_bytes()).into_uuid(),
        None => uuid::Uuid::new_v4(),
    })
}

/// This process as a lock names its holder: its id, host and user. Fixed
/// values in a simulation (a lock's body is part of what it writes).
pub fn process() -> (u32, String, String) {
    let simulated = SIMULATED.with(|s| s.borrow().is_some());
    if simulated {
        return (1, "simulated-host".into(), "simulated-user".into());
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown-host".into());
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_default();
    (std::process::id(), host, user)
}

/// A random number in [0, 1), for jitter.
pub fn fraction() -> f64 {
    SIMULATED.with(|s| match &mut *s.borrow_mut() {
        Some(sim) => sim.rng.f64(),
        None => fastrand::f64(),
    })
}

/// Makes the clock and randomness of this thread a function of `seed`
/// until the guard drops: the clock starts at a fixed instant and moves
/// with tokio's clock (call it inside a runtime). The AWS SDK's own jitter
/// (this thread's `fastrand`) is seeded too.
#[cfg(test)]
pub fn simulate(seed: u64) -> SimulationGuard {
    fastrand::seed(seed);
    let epoch = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .expect("a fixed instant")
        .with_timezone(&Utc);
    SIMULATED.with(|s| {
        *s.borrow_mut() = Some(Simulated {
            epoch,
            start: tokio::time::Instant::now(),
            rng: fastrand::Rng::with_seed(seed),
        })
    });
    SimulationGuard
}

#[cfg(test)]
pub struct SimulationGuard;

#[cfg(test)]
impl Drop for SimulationGuard {
    fn drop(&mut self) {
        SIMULATED.with(|s| *s.borrow_mut() = None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_simulated_thread_repeats_itself_for_a_seed() {
        let draw = || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .start_paused(true)
                .build()
                .expect("runtime");
            rt.block_on(async {
                let _guard = simulate(7);
                let t0 = now();
                tokio::time::sleep(std::time::Duration::from_secs(90)).await;
                (t0, now() - t0, uuid(), fraction(), fastrand::u64(..))
            })
        };
        let (a, b) = (draw(), draw());
        assert_eq!(a, b);
        assert_eq!(a.1, chrono::Duration::seconds(90));
        assert_eq!(a.2.get_version_num(), 4);
        // Outside a simulation, ids are fresh.
        assert_ne!(uuid(), uuid());
    }
}
