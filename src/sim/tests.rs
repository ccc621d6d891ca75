//! The simulation's tests: a fixed set of seeds on every run, replay of one
//! history from the environment, a campaign on fresh seeds, and a named
//! regression test for each failure the simulation has found.

use super::history::History;
use super::run::run_history;
use super::search::{check_seeds, REPLAY_VAR};
use std::io::Write;

/// Histories replayed on every test run: `SEEDS` histories of up to
/// `MAX_STEPS` steps, in `PARTS` tests that the test runner spreads over
/// the cores.
const SEEDS: u64 = 2000;
const PARTS: u64 = 8;

/// Seeds of the fixed set whose history still breaks an invariant: a
/// defect found and not fixed yet, each with its invariant and the named
/// test that shows it. `part` checks that each still fails that way, so
/// that a fix shows (and its entry goes). Empty: every defect found is
/// fixed.
const KNOWN: &[(u64, &str, &str)] = &[];

fn part(k: u64) {
    let per = SEEDS / PARTS;
    let seeds = k * per..(k + 1) * per;
    let (steps, failures) = check_seeds(seeds.clone());
    assert!(steps > per, "histories ran {steps} steps");
    let known = |f: &super::search::Failure| {
        KNOWN
            .iter()
            .any(|(s, inv, _)| *s == f.seed && *inv == f.violation.invariant)
    };
    for (seed, invariant, test) in KNOWN.iter().filter(|k| seeds.contains(&k.0)) {
        assert!(
            failures.iter().any(|f| f.seed == *seed && known(f)),
            "seed {seed} no longer breaks {invariant}: remove it from KNOWN and make {test} check the fix"
        );
    }
    let new: Vec<String> = failures
        .iter()
        .filter(|f| !known(f))
        .map(|f| f.to_string())
        .collect();
    if !new.is_empty() {
        panic!(
            "{} of {per} histories broke an invariant:\n{}",
            new.len(),
            new.join("\n\n")
        );
    }
}

#[test]
fn fixed_seeds_part_0() {
    part(0)
}
#[test]
fn fixed_seeds_part_1() {
    part(1)
}
#[test]
fn fixed_seeds_part_2() {
    part(2)
}
#[test]
fn fixed_seeds_part_3() {
    part(3)
}
#[test]
fn fixed_seeds_part_4() {
    part(4)
}
#[test]
fn fixed_seeds_part_5() {
    part(5)
}
#[test]
fn fixed_seeds_part_6() {
    part(6)
}
#[test]
fn fixed_seeds_part_7() {
    part(7)
}

/// Replays the history in `WEBHOOK_STACK_SIM_REPLAY` (printed by a failure).
#[test]
#[ignore = "replays a history given in the environment"]
fn replay() {
    let json =
        std::env::var(REPLAY_VAR).unwrap_or_else(|_| panic!("set {REPLAY_VAR} to a history"));
    let history: History = serde_json::from_str(&json).expect("a history as printed by a failure");
    if let Err(v) = run_history(&history) {
        panic!("{v}");
    }
}

/// A campaign on fresh seeds (`scripts/sim-campaign.sh`):
/// WEBHOOK_STACK_SIM_STEPS steps from seed WEBHOOK_STACK_SIM_FIRST_SEED on,
/// over WEBHOOK_STACK_SIM_THREADS threads; prints steps per second, every
/// 50,000 steps and at the end. Its report (progress, each failure with its
/// shrunk history, the summary) goes to stderr and, when
/// WEBHOOK_STACK_SIM_REPORT names a file, to that file too.
#[test]
#[ignore = "long: run by scripts/sim-campaign.sh"]
fn campaign() {
    let var = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let target = var("WEBHOOK_STACK_SIM_STEPS", 1_000_000);
    let first = var("WEBHOOK_STACK_SIM_FIRST_SEED", 1 << 32);
    let threads = var("WEBHOOK_STACK_SIM_THREADS", 2);
    let file = std::env::var_os("WEBHOOK_STACK_SIM_REPORT").map(|path| {
        std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.to_string_lossy())),
        )
    });
    // Straight to stderr: the test runner would keep eprintln's text.
    let report = |text: &str| {
        let _ = writeln!(std::io::stderr(), "{text}");
        if let Some(f) = &file {
            let _ = writeln!(f.lock().unwrap(), "{text}");
        }
    };
    let started = std::time::Instant::now();
    let next = std::sync::atomic::AtomicU64::new(first);
    let done = std::sync::atomic::AtomicU64::new(0);
    let histories = std::sync::atomic::AtomicU64::new(0);
    let failures = std::sync::Mutex::new(Vec::new());
    const PROGRESS_EVERY: u64 = 50_000;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                use std::sync::atomic::Ordering::Relaxed;
                while done.load(Relaxed) < target {
                    let seed = next.fetch_add(1, Relaxed);
                    let (steps, found) = check_seeds(seed..seed + 1);
                    let before = done.fetch_add(steps, Relaxed);
                    histories.fetch_add(1, Relaxed);
                    for f in found {
                        report(&format!("{f}\n"));
                        failures.lock().unwrap().push(f.seed);
                    }
                    if (before + steps) / PROGRESS_EVERY > before / PROGRESS_EVERY {
                        let secs = started.elapsed().as_secs_f64();
                        report(&format!(
                            "campaign: {} steps in {secs:.0} s: {:.0} steps/s; {} failed so far",
                            before + steps,
                            (before + steps) as f64 / secs,
                            failures.lock().unwrap().len()
                        ));
                    }
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let steps = done.into_inner();
    let failed = failures.into_inner().unwrap();
    report(&format!(
        "campaign: {} histories, {steps} steps in {secs:.0} s: {:.0} steps/s; seeds {first}..{}; {} failed {:?}",
        histories.into_inner(),
        steps as f64 / secs,
        next.into_inner(),
        failed.len(),
        failed
    ));
    assert!(
        failed.is_empty(),
        "{} histories broke an invariant",
        failed.len()
    );
}

/// Found by the simulation (seeds 380 and 1346). A run killed right after
/// CreateKey leaves a pending key; a second state of the same suffix then
/// deploys (its own key and the alias); the first state's next apply found
/// the key through the alias, settled its pending creation with it, and
/// never swept the key its killed run had made: that key stayed enabled,
/// tagged as the stack's and recorded by no state. Settling a pending
/// creation now sweeps as creating does (`Provider::settle`).
#[test]
fn two_states_of_a_suffix_and_a_killed_key_creation_leave_no_orphan_key() {
    let history: History = serde_json::from_str(
        r#"{"seed":380,"lag":1,"steps":[
        {"action":{"Run":{"Apply":{"flags":[["memory-size","256"],["timeout","10"]],"replace":null,"code":0}}},
         "faults":[0,0,0,0],"kill":{"at":16,"after":true}},
        {"action":{"Other":{"Apply":{"flags":[["timeout","10"],["reserved-concurrency","10"],["log-retention-days","7"],["log-level","info"]],"replace":null,"code":1}}},
         "faults":[0,0,0,0],"kill":null},
        {"action":{"Run":{"Apply":{"flags":[["log-retention-days","30"],["alarms","true"]],"replace":null,"code":1}}},
         "faults":[0,0,0,0],"kill":null}]}"#,
    )
    .expect("history");
    if let Err(v) = run_history(&history) {
        panic!("{v}");
    }
}

/// Every operation the commands called over 100 histories (with the
/// stack's state on S3 in some, alarms and the dead-letter queue on and
/// off) is allowed by the policy `permissions` prints, and every operation
/// a read-only command called, by the `--read-only` policy.
#[test]
fn every_call_the_commands_make_is_in_the_printed_policy() {
    use crate::permissions::{policy, Scope};
    let mut ops = std::collections::BTreeSet::new();
    for seed in 0..100 {
        ops.extend(super::run::operations(&super::history::generate(seed, 30)));
    }
    assert!(ops.len() > 60, "{} operations seen", ops.len());
    let suffix = crate::names::Suffix::parse(super::run::SUFFIX).unwrap();
    let settings = crate::settings::resolve(
        &[
            ("alarms".to_string(), serde_json::json!(true)),
            ("dead_letter_queue".to_string(), serde_json::json!(true)),
        ]
        .into(),
        &Default::default(),
    )
    .unwrap()
    .0;
    let backend = crate::state::Backend::parse("s3://sim-state/main").unwrap();
    let actions = |read_only: bool| -> std::collections::BTreeSet<String> {
        let doc = policy(&Scope {
            suffixes: std::slice::from_ref(&suffix),
            region: "us-east-1",
            account: "123456789012",
            settings: std::slice::from_ref(&settings),
            backend: &backend,
            read_only,
            all: true,
        });
        doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|s| s["Action"].as_array().unwrap().iter())
            .map(|a| a.as_str().unwrap().to_owned())
            .collect()
    };
    let (full, read_only) = (actions(false), actions(true));
    let action = |service: &str, op: &str| match (service, op) {
        // GetCallerIdentity needs no permission.
        ("sts", _) => None,
        ("s3", "ListObjectsV2") => Some("s3:ListBucket".to_owned()),
        ("lambda", "Invoke") => Some("lambda:InvokeFunction".to_owned()),
        (s, o) => Some(format!("{s}:{o}")),
    };
    let mut missing = Vec::new();
    for (by_read_only, service, op) in &ops {
        let Some(a) = action(service, op) else {
            continue;
        };
        if !full.contains(&a) {
            missing.push(format!("{a} (full policy)"));
        }
        if *by_read_only && !read_only.contains(&a) {
            missing.push(format!("{a} (read-only policy)"));
        }
    }
    assert!(missing.is_empty(), "called but not allowed: {missing:?}");
}

/// A second state's apply killed after its CreateKey, then this state's destroy:
/// the key is the second state's pending creation, not this stack's to delete (a
/// harness correction: pending keys account for keys made since they began).
#[test]
fn a_second_states_key_made_by_its_killed_run_is_its_own_not_an_orphan_of_destroy() {
    let history: History = serde_json::from_str(r#"{"seed":104325,"lag":3,"s3":false,"steps":[{"action":{"Other":{"Apply":{"flags":[["deletion-protection","true"]],"replace":null,"code":0}}},"faults":[0,0,0,0],"kill":{"at":22,"after":false}},{"action":{"Run":"Destroy"},"faults":[0,0,0,0],"kill":null}]}"#).expect("history");
    if let Err(v) = run_history(&history) {
        panic!("{v}");
    }
}

/// A killed run's alias, retargeted out of band to someone else's key, then
/// destroy: an alias belongs with its key, so destroy leaves it and forgets the
/// pending creation (a harness correction: aliases are owned through their key).
#[test]
fn an_alias_retargeted_to_someone_elses_key_is_not_the_stacks_to_destroy() {
    let history: History = serde_json::from_str(r#"{"seed":104489,"lag":0,"s3":false,"steps":[{"action":{"Run":{"Apply":{"flags":[["dead-letter-queue","true"]],"replace":null,"code":0}}},"faults":[34,11,29,0],"kill":{"at":19,"after":true}},{"action":{"OutOfBand":{"Modify":"kms_alias"}},"faults":[0,0,0,0],"kill":null},{"action":{"Run":"Destroy"},"faults":[0,0,0,0],"kill":null}]}"#).expect("history");
    if let Err(v) = run_history(&history) {
        panic!("{v}");
    }
}

/// Found by a campaign (seed 105794): a run killed after CreateKey, then someone
/// else's alias under the stack's alias name, then destroy. The pending key was
/// looked up through the alias, found someone else's key, and the stack's own
/// key stayed alive, recorded nowhere. Now a pending creation whose name
/// someone else's resource holds is looked for by the stack's tags.
#[test]
fn destroy_finds_the_key_a_killed_run_made_when_the_alias_is_someone_elses() {
    let history: History = serde_json::from_str(r#"{"seed":105794,"lag":2,"s3":true,"steps":[{"action":{"Run":{"Apply":{"flags":[["timeout","30"]],"replace":null,"code":0}}},"faults":[0,0,0,0],"kill":{"at":21,"after":false}},{"action":{"OutOfBand":{"CreateForeign":"kms_alias"}},"faults":[0,0,0,0],"kill":null},{"action":{"Run":"ForceUnlock"},"faults":[0,0,0,0],"kill":null},{"action":{"Run":"Destroy"},"faults":[0,0,0,0],"kill":null}]}"#).expect("history");
    if let Err(v) = run_history(&history) {
        panic!("{v}");
    }
}

/// Found by a campaign (seed 105812): a run killed right after CreateAlias (its
/// answer never saved), someone else's alias under that name, then destroy: it
/// succeeded but left the pending alias in state. Now destroy forgets a pending
/// creation whose name someone else's resource holds: nothing of the stack's is
/// there.
#[test]
fn destroy_forgets_a_pending_creation_whose_name_someone_else_holds() {
    let history: History = serde_json::from_str(r#"{"seed":105812,"lag":1,"s3":true,"steps":[{"action":{"Run":{"Apply":{"flags":[["memory-size","128"],["timeout","30"]],"replace":null,"code":0}}},"faults":[0,0,0,0],"kill":{"at":23,"after":true}},{"action":{"Run":"ForceUnlock"},"faults":[0,0,0,0],"kill":null},{"action":{"OutOfBand":{"CreateForeign":"kms_alias"}},"faults":[0,0,0,0],"kill":null},{"action":{"Run":"Destroy"},"faults":[0,0,0,0],"kill":null}]}"#).expect("history");
    if let Err(v) = run_history(&history) {
        panic!("{v}");
    }
}

/// Found while making the simulation faster: the harness applied a saved
/// plan without the code it was made with, so `apply FILE` packaged the
/// checkout's handler instead (a cross build where none was cached) and
/// refused the plan as stale; no history ever applied a saved plan. Now
/// the plan and its apply carry the same code, and a saved plan made
/// without faults applies.
#[test]
fn a_saved_plan_made_without_faults_applies() {
    let history: History = serde_json::from_str(
        r#"{"seed":7,"lag":0,"steps":[
        {"action":{"Run":{"Apply":{"flags":[],"replace":null,"code":0}}},"faults":[0,0,0,0],"kill":null},
        {"action":{"Run":{"SavedPlan":{"flags":[["memory-size","256"]]}}},"faults":[0,0,0,0],"kill":null}]}"#,
    )
    .expect("history");
    let ran = super::run::outcomes(&history).unwrap_or_else(|v| panic!("{v}"));
    use super::run::Ran::Exit;
    // The apply, then the saved plan (`plan --out` and `apply FILE`).
    assert_eq!(ran, [Exit(0), Exit(0)]);
}

/// Found by the simulation (seed 997) once saved plans applied: a queue
/// creation refused (QueueDeletedRecently) left its pending entry; the
/// next plan no longer declared the queue; someone else then made a queue
/// of that name; `destroy` read the pending entry's name, took that queue
/// for the stack's, and left the entry in a state otherwise empty. What a
/// pending creation's name finds is now the stack's only with its tags.
#[test]
fn destroy_settles_a_pending_queue_whose_name_someone_else_took() {
    let history: History = serde_json::from_str(
        r#"{"seed": 997, "lag": 2, "s3": false, "steps": [{"action": {"Run": {"Apply": {"flags": [["log-retention-days", "14"], ["alarms", "false"], ["dead-letter-queue", "true"]], "replace": null, "code": 1}}}, "faults": [0, 0, 0, 0], "kill": null}, {"action": {"Run": {"ConfigUnset": {"key": "dead_letter_queue"}}}, "faults": [0, 0, 0, 0], "kill": null}, {"action": {"OutOfBand": {"Delete": "dead_letter_queue"}}, "faults": [0, 0, 0, 0], "kill": null}, {"action": {"Run": {"Apply": {"flags": [["timeout", "30"], ["log-level", "debug"], ["dead-letter-queue", "true"], ["deletion-protection", "false"]], "replace": null, "code": 1}}}, "faults": [0, 0, 0, 0], "kill": null}, {"action": {"Run": {"SavedPlan": {"flags": [["memory-size", "128"], ["timeout", "30"], ["log-retention-days", "14"], ["alarms", "false"]]}}}, "faults": [0, 0, 0, 0], "kill": null}, {"action": {"OutOfBand": {"CreateForeign": "dead_letter_queue"}}, "faults": [0, 0, 0, 0], "kill": null}, {"action": {"Run": "Destroy"}, "faults": [0, 0, 0, 0], "kill": null}]}"#,
    )
    .expect("history");
    if let Err(v) = run_history(&history) {
        panic!("{v}");
    }
}

/// Found by a campaign (seed 5000016302): a run killed after CreateKey
/// left a pending key; a second state of the suffix deployed its own key
/// and the alias; `destroy` found the stack's key through the alias and
/// scheduled it, but never swept the key its killed run had made, which
/// stayed enabled and tagged. A pending creation is now settled before a
/// delete too, as before an update or with no change.
#[test]
fn destroy_sweeps_the_key_a_killed_run_made_beside_the_one_it_found() {
    let history: History = serde_json::from_str(
        r#"{"seed":5000016302,"lag":0,"s3":false,"steps":[{"action":{"Run":{"Apply":{"flags":[["deletion-protection","false"]],"replace":null,"code":0}}},"faults":[0,0,0,0],"kill":{"at":14,"after":true}},{"action":{"Other":{"Apply":{"flags":[["timeout","10"],["log-level","debug"]],"replace":null,"code":0}}},"faults":[0,0,0,0],"kill":null},{"action":{"Run":"Destroy"},"faults":[0,0,0,0],"kill":null}]}"#,
    )
    .expect("history");
    if let Err(v) = run_history(&history) {
        panic!("{v}");
    }
}

/// Found while fixing seed 5000001407 (below): its replay did not always
/// fail, because a run was not a function of its history. The wall clock
/// and fresh ids (a state's lineage, a lock's id, a pending creation's
/// start) went into S3 bodies, and so into which attempt met a fault, and
/// the retry jitter came from the OS. Now the program takes its clock and
/// randomness from one place, which the simulation seeds. Each history is
/// run twice, the second time after the others, and must serve the same
/// calls, with the same faults, in the same order.
#[test]
fn a_history_repeats_itself_call_for_call() {
    let seeds: Vec<u64> = (0..12).chain([5000001407, 5000017566]).collect();
    let run = |seed: u64| {
        let history = super::history::generate(seed, super::search::MAX_STEPS);
        (seed, super::run::trail(&history).ok())
    };
    let first: Vec<_> = seeds.iter().map(|s| run(*s)).collect();
    let mut second: Vec<_> = seeds.iter().rev().map(|s| run(*s)).collect();
    second.reverse();
    assert!(first.iter().all(|(_, t)| t.is_some()), "{first:?}");
    assert_eq!(first, second);
}

/// Found by a campaign (seeds 5000001407 and 5000017566): a CreateKey
/// whose answer was lost made a key, and the retry made another; the sweep
/// for such orphans was refused DescribeKey on the first (an AccessDenied
/// fault: IAM still propagating, say), took it for someone else's key and
/// left it enabled and tagged, recorded by no state. Now a key whose read
/// was refused is read again, a few rounds apart, and only one refused
/// every time is taken for someone else's.
#[test]
fn the_orphan_sweep_reads_again_a_key_it_was_refused() {
    for json in [
        r#"{"seed":5000001407,"lag":0,"s3":true,"steps":[{"action":{"Run":{"Apply":{"flags":[["timeout","30"]],"replace":null,"code":0}}},"faults":[59,7,34,10],"kill":{"at":58,"after":true}}]}"#,
        r#"{"seed":5000017566,"lag":2,"s3":false,"steps":[{"action":{"Run":{"Apply":{"flags":[["memory-size","128"],["log-retention-days","14"],["alarms","true"]],"replace":null,"code":0}}},"faults":[5,24,17,14],"kill":null}]}"#,
    ] {
        let history: History = serde_json::from_str(json).expect("history");
        if let Err(v) = run_history(&history) {
            panic!("{v}");
        }
    }
}

/// Found by a campaign (seed 7200001546, shrunk to 10 steps): a second
/// state of the suffix, on another backend, whose CreateKey answer was lost
/// swept for orphans by time (every key with the stack's tags made since
/// its creation began, less a margin for clock skew) and scheduled the
/// first state's key, whose alias had been deleted out of band: made
/// minutes before, it looked like an orphan. Now each creation tags its key
/// with a token (kept in the pending entry), and a sweep or a search for a killed run's key takes only keys with that
/// token. The history here: the first state applies, its alias is deleted,
/// the second state applies with 30% of answers lost. Before the fix, 8 of
/// these 24 seeds scheduled the first state's key.
#[test]
fn a_lost_create_key_answer_never_sweeps_another_states_key() {
    every_seed_keeps_the_invariants(
        0..24,
        r#"[{"action":{"Run":{"Apply":{"flags":[],"replace":null,"code":0}}},"faults":[0,0,0,0],"kill":null},
            {"action":{"OutOfBand":{"Delete":"kms_alias"}},"faults":[0,0,0,0],"kill":null},
            {"action":{"Other":{"Apply":{"flags":[],"replace":null,"code":0}}},"faults":[0,0,300,0],"kill":null}]"#,
    );
}

/// Runs the history of `steps` (JSON, as printed) under each of `seeds`.
fn every_seed_keeps_the_invariants(seeds: std::ops::Range<u64>, steps: &str) {
    for seed in seeds {
        let json = format!(r#"{{"seed":{seed},"lag":0,"s3":false,"steps":{steps}}}"#);
        let history: History = serde_json::from_str(&json).expect("history");
        if let Err(v) = run_history(&history) {
            panic!("seed {seed}: {v}");
        }
    }
}

/// Found by a campaign (seed 7200007182, shrunk to 19 steps): a CreateKey
/// whose answer was lost made a key, the retry made another, and the sweep
/// for the first was refused (ListKeys: AccessDenied). The apply failed and
/// recorded the second key, which settled the pending creation: no later
/// run looked for the first key, which stayed enabled and tagged, recorded
/// by no state. Now a creation whose sweep fails stays pending, and the
/// next run sweeps. The history
/// here: an apply with 40% of answers lost and 15% of calls refused, then
/// one without faults. Before the fix, 3 of these 30 seeds (35, 37, 56)
/// left the first key.
#[test]
fn a_sweep_that_fails_leaves_the_creation_pending_for_the_next_run() {
    every_seed_keeps_the_invariants(
        30..60,
        r#"[{"action":{"Run":{"Apply":{"flags":[],"replace":null,"code":0}}},"faults":[0,0,400,150],"kill":null},
            {"action":{"Run":{"Apply":{"flags":[],"replace":null,"code":0}}},"faults":[0,0,0,0],"kill":null}]"#,
    );
}
