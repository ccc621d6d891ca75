//! Runs a history: each command is the real CLI command, run in this
//! process on a paused clock, against the simulated AWS; after each step
//! the invariants are checked.

use super::aws::{FaultRates, Sim, World};
use super::history::{Action, Command, History, Step};
use super::invariants::{self, Observation, Violation};
use crate::engine::state::State;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub const SUFFIX: &str = "sim";

/// The bucket of the states on S3.
const BUCKET: &str = "sim-state";

/// Set, it prints each step and how it ended.
pub const TRACE_VAR: &str = "WEBHOOK_STACK_SIM_TRACE";

/// What one run of a command came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ran {
    Exit(i32),
    Killed,
}

impl Ran {
    pub fn ok(self) -> bool {
        self == Ran::Exit(0)
    }
}

pub struct Harness {
    pub sim: Sim,
    root: PathBuf,
    /// The stack's state, and a second one for the same suffix. Each is a
    /// local directory, or stands for the S3 prefix of its name.
    pub main: PathBuf,
    pub other: PathBuf,
    /// Which of the two is on S3: the main one when the history says so,
    /// else the other (so a second state is always on another backend).
    main_on_s3: bool,
    zips: [PathBuf; 2],
    /// Resources made out of band as someone else's: (kind, id).
    pub foreign: BTreeSet<(&'static str, String)>,
    /// Calls served, over the whole history.
    pub calls: u64,
    /// The handler variant last deployed, which plans use.
    pub code: std::cell::Cell<u8>,
    /// Every operation called, and whether only read-only commands called
    /// it in its step.
    pub ops: BTreeSet<(bool, &'static str, &'static str)>,
    /// How each command of the stack's state ended, in order.
    pub ran: Vec<Ran>,
    /// Every call served, in order, with its fault and effect, folded into
    /// one number: two runs of a history agree on it if they repeated
    /// each other.
    pub trail: u64,
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn handler_zip(path: &Path, variant: u8) {
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    let mut w = zip::ZipWriter::new(std::fs::File::create(path).expect("zip"));
    let opts = SimpleFileOptions::default()
        .unix_permissions(0o755)
        .last_modified_time(zip::DateTime::default());
    w.start_file("bootstrap", opts).expect("zip");
    w.write_all(format!("#!/bin/sh\n# variant {variant}\n").as_bytes())
        .expect("zip");
    w.finish().expect("zip");
}

impl Harness {
    pub fn new(history: &History) -> Harness {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // In memory where the machine has it: the state store syncs each
        // write to disk, which is all a step's time on a disk.
        let tmp = Some(PathBuf::from("/dev/shm"))
            .filter(|p| p.is_dir())
            .unwrap_or_else(std::env::temp_dir);
        let root = tmp.join(format!(
            "webhook-stack-sim-{}-{n}-{}",
            std::process::id(),
            history.seed
        ));
        let _ = std::fs::remove_dir_all(&root);
        let (main, other) = (root.join("main"), root.join("other"));
        std::fs::create_dir_all(&main).expect("state dir");
        std::fs::create_dir_all(&other).expect("state dir");
        let zips = [root.join("handler-0.zip"), root.join("handler-1.zip")];
        for (i, z) in zips.iter().enumerate() {
            handler_zip(z, i as u8);
        }
        let mut world = World::new(history.lag);
        world.s3.create_bucket(BUCKET, true);
        let sim = Sim::new(world, history.seed);
        super::aws::plug(&sim);
        Harness {
            sim,
            root,
            main,
            other,
            main_on_s3: history.s3,
            zips,
            foreign: BTreeSet::new(),
            calls: 0,
            code: std::cell::Cell::new(0),
            ops: BTreeSet::new(),
            ran: Vec::new(),
            trail: 0,
        }
    }

    fn on_s3(&self, dir: &Path) -> bool {
        (dir == self.main) == self.main_on_s3
    }

    /// The S3 prefix that `dir` stands for.
    fn prefix(dir: &Path) -> String {
        dir.file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned()
    }

    fn object(&self, dir: &Path, name: &str) -> Option<Vec<u8>> {
        let key = format!("{}/{name}", Self::prefix(dir));
        let s = self.sim.lock();
        Some(
            s.world
                .s3
                .buckets
                .get(BUCKET)?
                .objects
                .get(&key)?
                .body
                .clone(),
        )
    }

    pub fn state(&self, dir: &Path) -> Option<State> {
        let name = format!("{SUFFIX}.json");
        let text = if self.on_s3(dir) {
            self.object(dir, &name)?
        } else {
            std::fs::read(dir.join(name)).ok()?
        };
        Some(serde_json::from_slice(&text).expect("state parses"))
    }

    /// The id of the lock a killed run left on S3, as its refused
    /// successor prints it.
    fn lock_id(&self, dir: &Path) -> Option<String> {
        let body = self.object(dir, &format!("{SUFFIX}.json.lock"))?;
        let holder: serde_json::Value = serde_json::from_slice(&body).ok()?;
        Some(holder["id"].as_str()?.to_owned())
    }

    pub fn world(&self) -> World {
        self.sim.lock().world.clone()
    }

    fn args(&self, dir: &Path, command: &Command) -> Vec<Vec<String>> {
        let zip = |code: u8| {
            vec![
                "--handler-zip".to_string(),
                self.zips[code as usize].display().to_string(),
            ]
        };
        let settings = |flags: &[(String, String)]| -> Vec<String> {
            flags.iter().map(|(f, v)| format!("--{f}={v}")).collect()
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        match command {
            Command::Plan { flags } => {
                vec![[s(&["plan"]), zip(self.code.get()), settings(flags)].concat()]
            }
            Command::Apply {
                flags,
                replace,
                code,
            } => {
                let mut a = [s(&["apply", "--yes"]), zip(*code), settings(flags)].concat();
                if let Some(r) = replace {
                    a.extend(["--replace".to_string(), r.clone()]);
                }
                vec![a]
            }
            Command::SavedPlan { flags } => {
                let file = dir.join("saved.plan").display().to_string();
                vec![
                    [s(&["plan", "--out", &file]), zip(1), settings(flags)].concat(),
                    // The same code as the plan: without it, apply would
                    // package the checkout's handler (a cross build when
                    // none is cached) and refuse the plan as stale.
                    [s(&["apply", "--yes", &file]), zip(1)].concat(),
                ]
            }
            Command::Destroy => vec![s(&["destroy", "--yes"])],
            Command::Import => vec![s(&["import"])],
            Command::Drift => vec![s(&["drift"])],
            Command::Refresh { settings: true } => vec![s(&["refresh", "--yes", "--settings"])],
            Command::Refresh { settings: false } => vec![s(&["refresh", "--yes"])],
            Command::Outputs => vec![s(&["outputs"])],
            Command::ConfigSet { key, value } => vec![s(&["config", "set", key, value])],
            Command::ConfigUnset { key } => vec![s(&["config", "unset", key])],
            Command::ForceUnlock => match self.lock_id(dir).filter(|_| self.on_s3(dir)) {
                Some(id) => vec![s(&["force-unlock", &id])],
                None => vec![s(&["force-unlock"])],
            },
        }
    }

    /// Runs `command` on the stack whose state is in `dir`. A saved plan is
    /// two runs: the plan, then its apply (when the plan succeeded).
    pub async fn run(&self, dir: &Path, command: &Command) -> Ran {
        let mut last = Ran::Exit(0);
        for args in self.args(dir, command) {
            last = self.run_args(dir, args).await;
            if !last.ok() {
                break;
            }
        }
        if last.ok() && dir == self.main {
            match command {
                Command::Apply { code, .. } => self.code.set(*code),
                Command::SavedPlan { .. } => self.code.set(1),
                _ => {}
            }
        }
        last
    }

    async fn run_args(&self, dir: &Path, args: Vec<String>) -> Ran {
        let mut argv: Vec<String> = ["webhook-stack", "--suffix", SUFFIX, "--color", "never"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        if self.on_s3(dir) {
            argv.push("--backend".into());
            argv.push(format!("s3://{BUCKET}/{}", Self::prefix(dir)));
        } else {
            argv.push("--state-dir".into());
            argv.push(dir.display().to_string());
        }
        argv.extend(args);
        let cli = match <crate::cli::Cli as clap::Parser>::try_parse_from(&argv) {
            Ok(cli) => cli,
            Err(e) => panic!("the history built a bad command line {argv:?}: {e}"),
        };
        let kill = self.sim.kill.clone();
        tokio::select! {
            biased;
            _ = kill.notified() => Ran::Killed,
            r = crate::commands::run(cli) => Ran::Exit(match r {
                Ok(status) => match status {
                    crate::commands::ExitStatus::Success => 0,
                    crate::commands::ExitStatus::Failure => 1,
                    crate::commands::ExitStatus::Changes => 2,
                },
                Err(e) => {
                    if std::env::var_os(TRACE_VAR).is_some() {
                        eprintln!("sim error: {e:#}");
                    }
                    1
                }
            }),
        }
    }

    /// A run of the main stack with no fault, for the checks: how it
    /// ended, and whether it wrote to AWS.
    pub async fn check(&self, args: &[&str]) -> (Ran, bool) {
        self.sim.begin_step(u64::MAX, FaultRates::default(), None);
        let before = self.world();
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if args[0] == "plan" {
            args.push("--handler-zip".into());
            args.push(self.zips[self.code.get() as usize].display().to_string());
        }
        let ran = self.run_args(&self.main, args).await;
        let wrote = !before.same_resources(&self.world())
            || self
                .sim
                .lock()
                .served
                .iter()
                .any(|s| s.write && s.effective);
        (ran, wrote)
    }

    /// Lists the step's calls, with the fault each attempt met.
    fn trace_calls(&self) {
        for s in &self.sim.lock().served {
            let fault = s.fault.map(|f| format!(" {f:?}")).unwrap_or_default();
            let effect = if s.effective { "" } else { " (no effect)" };
            eprintln!("  {}:{}{fault}{effect}", s.service, s.op);
        }
    }

    /// Adds the step's calls to `calls` and `trail`.
    fn count_calls(&mut self) {
        let sim = self.sim.lock();
        self.calls += sim.served.len() as u64;
        for c in &sim.served {
            let fault = c.fault.map_or(0, |f| f as u64 + 1);
            self.trail = super::aws::mix(&[
                self.trail,
                super::aws::hash(c.service.as_bytes()),
                super::aws::hash(c.op.as_bytes()),
                fault,
                c.effective as u64,
            ]);
        }
    }

    fn note_ops(&mut self, read_only: bool) {
        let served: Vec<_> = self
            .sim
            .lock()
            .served
            .iter()
            .map(|s| (read_only, s.service, s.op))
            .collect();
        self.ops.extend(served);
    }

    /// What a successful `import` recorded is the stack's from then on:
    /// importing is how a user hands a resource to the stack.
    fn adopt_imported(&mut self, dir: &Path, outcome: &[(&Command, Ran)]) {
        if !outcome
            .iter()
            .any(|(c, r)| **c == Command::Import && r.ok())
        {
            return;
        }
        if let Some(state) = self.state(dir) {
            self.foreign.retain(|(kind, id)| {
                !state
                    .resources
                    .values()
                    .any(|r| r.kind.token() == *kind && r.id == *id)
            });
        }
    }

    /// Runs one step and checks the invariants after it.
    pub async fn step(&mut self, index: usize, step: &Step) -> Result<(), Violation> {
        let before = Observation {
            world: self.world(),
            main: self.state(&self.main),
            other: self.state(&self.other),
        };
        self.sim.begin_step(
            index as u64,
            step.rates(),
            step.kill.map(|k| (k.at, k.after)),
        );
        let mut outcome = Vec::new();
        let started = std::time::Instant::now();
        match &step.action {
            Action::Run(c) => outcome.push((c, self.run(&self.main.clone(), c).await)),
            Action::Race(a, b) => {
                let main = self.main.clone();
                let (ra, rb) = tokio::join!(self.run(&main, a), self.run(&main, b));
                outcome.push((a, ra));
                outcome.push((b, rb));
            }
            Action::Other(c) => {
                let other = self.other.clone();
                let ran = self.run(&other, c).await;
                if std::env::var_os(TRACE_VAR).is_some() {
                    eprintln!(
                        "sim step {index} ({:?}): other {c:?} -> {ran:?}",
                        started.elapsed()
                    );
                    self.trace_calls();
                }
                let after_world = self.world();
                self.note_ops(c.read_only());
                self.count_calls();
                self.adopt_imported(&other, &[(c, ran)]);
                invariants::other_state(self, &before, &after_world, c, ran, index)?;
                return Ok(());
            }
            Action::OutOfBand(o) => {
                let mut s = self.sim.lock();
                super::oob::apply(&mut s.world, o, &mut self.foreign, &before);
                return Ok(());
            }
        }
        self.count_calls();
        self.ran.extend(outcome.iter().map(|o| o.1));
        self.note_ops(outcome.iter().all(|(c, _)| c.read_only()));
        self.adopt_imported(&self.main.clone(), &outcome);
        if std::env::var_os(TRACE_VAR).is_some() {
            eprintln!(
                "sim step {index} ({:?}): {:?} faults {:?} kill {:?} -> {:?}, {} calls",
                started.elapsed(),
                step.action,
                step.faults,
                step.kill,
                outcome.iter().map(|o| o.1).collect::<Vec<_>>(),
                self.sim.lock().served.len()
            );
            self.trace_calls();
        }
        let after = Observation {
            world: self.world(),
            main: self.state(&self.main),
            other: self.state(&self.other),
        };
        invariants::after_step(self, index, &before, &after, &outcome).await
    }
}

/// Runs a whole history on a fresh runtime with a paused clock. Returns the
/// number of AWS calls served, or the first violation.
pub fn run_history(history: &History) -> Result<u64, Violation> {
    run(history).map(|h| h.calls)
}

/// The calls served (folded as [`Harness::trail`]), or the first violation.
pub fn trail(history: &History) -> Result<u64, Violation> {
    run(history).map(|h| h.trail)
}

/// How each command of the stack's state ended (the second state's
/// commands aside), or the first violation.
pub fn outcomes(history: &History) -> Result<Vec<Ran>, Violation> {
    run(history).map(|h| h.ran.clone())
}

/// The operations a history's commands called, with whether only
/// read-only commands called them in their step.
pub fn operations(history: &History) -> BTreeSet<(bool, &'static str, &'static str)> {
    match run(history) {
        Ok(h) => h.ops.clone(),
        Err(_) => BTreeSet::new(),
    }
}

fn run(history: &History) -> Result<Harness, Violation> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let _ambient = crate::ambient::simulate(history.seed);
        let mut h = Harness::new(history);
        for (i, step) in history.steps.iter().enumerate() {
            h.step(i, step).await?;
        }
        Ok(h)
    })
}
