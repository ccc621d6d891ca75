//! The walker: carries a plan out over the dependency graph.
//!
//! A step starts when every step it waits for has succeeded; when one failed
//! or was skipped, the steps waiting on it are skipped (not errored again).
//! Independent steps run concurrently, up to `parallelism`. Only the
//! coordinator loop in [`walk`] touches the state and the outputs; tasks get
//! an owned [`Operation`] and hand back their result.

use super::expr::OutputsByResource;
use super::graph::Graph;
use super::model::{Declared, Kind, Observed, Props, Schema};
use super::plan::{desired_props, Action, Plan, Step};
use crate::engine::state::{ResourceState, State};
use futures_util::future::BoxFuture;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
// tokio's clock: the walker's tests run with time paused.
use tokio::time::Instant;

/// How often a step still running is reported, as Terraform's "Still
/// creating... [10s elapsed]".
pub const PROGRESS_EVERY: Duration = Duration::from_secs(10);
use tokio::task::JoinSet;

/// What a finished task hands back to the coordinator.
type TaskResult = (
    String,
    Instant,
    Props,
    Result<Option<Observed>, StepFailure>,
);

/// One unit of work for a provider.
#[derive(Debug, Clone)]
pub struct Operation {
    pub resource: String,
    pub kind: Kind,
    pub action: Action,
    /// Wanted properties, resolved against the outputs of finished
    /// dependencies; empty for a delete.
    pub desired: Props,
    /// Live configuration read when planning, if the resource existed.
    pub current: Option<Observed>,
    /// The token of the creation this step starts (a create or replace),
    /// as recorded in state's pending entry.
    pub creation: Option<String>,
}

/// A failed step, with what AWS said and whatever the step left behind.
#[derive(Debug, Clone)]
pub struct StepFailure {
    pub message: String,
    /// A resource that exists after the failure (e.g. created, then a
    /// follow-up call failed): it is recorded in state so it is not lost.
    pub partial: Option<Observed>,
    /// The creation that made `partial` may have made more than it (an
    /// orphan it could not look for): its pending entry stays, so that the
    /// next run settles it.
    pub unsettled: bool,
}

/// Runs operations against the real world. `Ok(None)` means the resource no
/// longer exists (after a delete).
pub trait Executor: Send + Sync + 'static {
    fn execute(
        &self,
        op: Operation,
    ) -> impl Future<Output = Result<Option<Observed>, StepFailure>> + Send;
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Done,
    Failed(String),
    Skipped(String),
    /// Not started because the run was interrupted.
    NotStarted,
}

/// What the walker tells the printer, as it happens.
#[derive(Debug, Clone)]
pub enum Event<'a> {
    Started {
        resource: &'a str,
        action: Action,
    },
    Finished {
        resource: &'a str,
        action: Action,
        elapsed: Duration,
        error: Option<&'a str>,
    },
    Skipped {
        resource: &'a str,
        reason: &'a str,
    },
    /// Every `PROGRESS_EVERY` while a step runs.
    StillRunning {
        resource: &'a str,
        action: Action,
        elapsed: Duration,
    },
}

#[derive(Debug, Default)]
pub struct Report {
    pub outcomes: BTreeMap<String, Outcome>,
    pub interrupted: bool,
    /// Set when the state could not be saved; the walk stopped there.
    pub state_error: Option<String>,
}

impl Report {
    pub fn failures(&self) -> Vec<(&str, &str)> {
        self.outcomes
            .iter()
            .filter_map(|(r, o)| match o {
                Outcome::Failed(m) => Some((r.as_str(), m.as_str())),
                _ => None,
            })
            .collect()
    }

    pub fn succeeded(&self) -> bool {
        !self.interrupted
            && self.state_error.is_none()
            && self.outcomes.values().all(|o| *o == Outcome::Done)
    }
}

pub struct Walk<'a> {
    pub plan: &'a Plan,
    pub declared: &'a [Declared],
    pub graph: &'a Graph,
    pub observed: &'a BTreeMap<String, Observed>,
    pub schema: &'a dyn Schema,
    pub parallelism: usize,
    /// Set (e.g. by Ctrl-C) to stop starting new steps.
    pub interrupt: &'a AtomicBool,
}

/// Which steps each step waits for.
fn waits_for(w: &Walk<'_>, state: &State) -> BTreeMap<String, BTreeSet<String>> {
    let in_plan: BTreeSet<&str> = w.plan.steps.iter().map(|s| s.resource.as_str()).collect();
    let deletes: BTreeSet<&str> = w
        .plan
        .steps
        .iter()
        .filter(|s| s.action == Action::Delete)
        .map(|s| s.resource.as_str())
        .collect();
    let dependencies_of = |r: &str| -> BTreeSet<String> {
        let mut deps: BTreeSet<String> = w.graph.dependencies(r).into_iter().collect();
        if let Some(rs) = state.resources.get(r) {
            deps.extend(rs.dependencies.iter().cloned());
        }
        deps
    };
    let mut waits = BTreeMap::new();
    for s in &w.plan.steps {
        let set: BTreeSet<String> = if s.action == Action::Delete {
            // A resource goes after everything that used it, and after all
            // creations and updates (which may move users off it).
            w.plan
                .steps
                .iter()
                .filter(|o| {
                    o.resource != s.resource
                        && (o.action != Action::Delete
                            || dependencies_of(&o.resource).contains(&s.resource))
                })
                .map(|o| o.resource.clone())
                .collect()
        } else {
            dependencies_of(&s.resource)
                .into_iter()
                .filter(|d| in_plan.contains(d.as_str()) && !deletes.contains(d.as_str()))
                .collect()
        };
        waits.insert(s.resource.clone(), set);
    }
    waits
}

/// Records a resource that exists, which settles any pending creation of it.
fn record(state: &mut State, w: &Walk<'_>, step: &Step, obs: Observed, props: Props) {
    state.pending.remove(&step.resource);
    let dependencies = w
        .declared
        .iter()
        .find(|d| d.key == step.resource)
        .map(|d| d.dependencies().into_iter().map(String::from).collect())
        .or_else(|| {
            state
                .resources
                .get(&step.resource)
                .map(|r| r.dependencies.clone())
        })
        .unwrap_or_default();
    state.resources.insert(
        step.resource.clone(),
        ResourceState {
            kind: step.kind,
            id: obs.id,
            properties: props,
            outputs: obs.outputs,
            dependencies,
            // The save that follows writes this serial.
            serial: state.serial + 1,
        },
    );
}

/// Where the walker saves state after every change (a state store, or in
/// tests a closure).
pub trait Persist: Send {
    fn save<'a>(&'a mut self, state: &'a mut State) -> BoxFuture<'a, Result<(), String>>;
}

impl<F: FnMut(&mut State) -> Result<(), String> + Send> Persist for F {
    fn save<'a>(&'a mut self, state: &'a mut State) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(std::future::ready(self(state)))
    }
}

/// Carries out `w.plan`, saving state through `save` after every change.
pub async fn walk<E: Executor>(
    exec: Arc<E>,
    w: &Walk<'_>,
    state: &mut State,
    save: &mut dyn Persist,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Report {
    let waits = waits_for(w, state);
    let steps: BTreeMap<&str, &Step> = w
        .plan
        .steps
        .iter()
        .map(|s| (s.resource.as_str(), s))
        .collect();
    let mut outputs: OutputsByResource = w
        .observed
        .iter()
        .map(|(k, o)| (k.clone(), o.outputs.clone()))
        .collect();
    let mut report = Report::default();
    let mut waiting: Vec<&Step> = w.plan.steps.iter().collect();
    let mut running: JoinSet<TaskResult> = JoinSet::new();
    // Steps in flight: action, start, and when to report them next.
    let mut in_flight: BTreeMap<String, (Action, Instant, Instant)> = BTreeMap::new();

    loop {
        // Start (or settle) every step whose waits are over.
        let mut i = 0;
        while i < waiting.len() {
            let step = waiting[i];
            let wait = &waits[&step.resource];
            let blocked_by = wait.iter().find(|d| {
                matches!(
                    report.outcomes.get(*d),
                    Some(Outcome::Failed(_) | Outcome::Skipped(_) | Outcome::NotStarted)
                )
            });
            if let Some(dep) = blocked_by {
                let reason = format!("{dep} did not complete");
                on_event(Event::Skipped {
                    resource: &step.resource,
                    reason: &reason,
                });
                report
                    .outcomes
                    .insert(step.resource.clone(), Outcome::Skipped(reason));
                waiting.remove(i);
                continue;
            }
            let ready = wait
                .iter()
                .all(|d| report.outcomes.get(d) == Some(&Outcome::Done));
            if !ready || running.len() >= w.parallelism.max(1) {
                i += 1;
                continue;
            }
            if w.interrupt.load(Ordering::SeqCst) || report.state_error.is_some() {
                report.interrupted |= w.interrupt.load(Ordering::SeqCst);
                report
                    .outcomes
                    .insert(step.resource.clone(), Outcome::NotStarted);
                waiting.remove(i);
                continue;
            }
            waiting.remove(i);
            let declared = w.declared.iter().find(|d| d.key == step.resource);
            let desired = match (step.action, declared) {
                (Action::Delete, _) | (_, None) => Props::new(),
                (_, Some(d)) => desired_props(d, &outputs, w.schema),
            };
            // A pending creation goes to its provider, which settles it
            // (and may have to clean up after it).
            let pending = state.pending.contains_key(&step.resource);
            if step.action == Action::Noop && !pending {
                // Nothing to call; only record an adopted resource, or a
                // state entry that differs from what is live and wanted.
                let live = w.observed[&step.resource].clone();
                let entry_matches = state.resources.get(&step.resource).is_some_and(|r| {
                    r.properties == desired && r.outputs == live.outputs && r.id == live.id
                });
                report.outcomes.insert(step.resource.clone(), Outcome::Done);
                if !entry_matches {
                    record(state, w, step, live, desired);
                    if let Err(e) = save.save(state).await {
                        report.state_error = Some(e.to_string());
                    }
                }
                continue;
            }
            let mut creation = None;
            if matches!(step.action, Action::Create | Action::Replace) {
                // Record the intent first: if this process dies after AWS
                // created the resource and before its id is saved, the next
                // run knows to look for it.
                // A creation still pending from an earlier run goes on
                // under its token: what either made carries it.
                let earlier = state
                    .pending
                    .get(&step.resource)
                    .filter(|p| p.token.is_some())
                    .cloned();
                let pending = earlier.unwrap_or_else(|| crate::engine::state::Pending {
                    kind: step.kind,
                    started: crate::ambient::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    token: Some(crate::ambient::uuid().to_string()),
                });
                creation = pending.token.clone();
                state.pending.insert(step.resource.clone(), pending);
                if let Err(e) = save.save(state).await {
                    report.state_error = Some(e.to_string());
                    report
                        .outcomes
                        .insert(step.resource.clone(), Outcome::NotStarted);
                    continue;
                }
            }
            on_event(Event::Started {
                resource: &step.resource,
                action: step.action,
            });
            let op = Operation {
                resource: step.resource.clone(),
                kind: step.kind,
                action: step.action,
                desired: desired.clone(),
                current: w.observed.get(&step.resource).cloned(),
                creation,
            };
            let exec = exec.clone();
            let now = Instant::now();
            in_flight.insert(
                step.resource.clone(),
                (step.action, now, now + PROGRESS_EVERY),
            );
            running.spawn(async move {
                let started = Instant::now();
                let resource = op.resource.clone();
                let result = exec.execute(op).await;
                (resource, started, desired, result)
            });
        }

        let joined = loop {
            let next = in_flight.values().map(|(_, _, next)| *next).min();
            tokio::select! {
                // In order, so that a simulated run repeats itself.
                biased;
                joined = running.join_next() => break joined,
                _ = tokio::time::sleep_until(next.unwrap_or_else(Instant::now)), if next.is_some() => {
                    let now = Instant::now();
                    for (resource, (action, started, next)) in in_flight.iter_mut() {
                        if *next <= now {
                            on_event(Event::StillRunning {
                                resource,
                                action: *action,
                                elapsed: now - *started,
                            });
                            *next += PROGRESS_EVERY;
                        }
                    }
                }
            }
        };
        let Some(joined) = joined else {
            break;
        };
        let (resource, started, desired, result) = match joined {
            Ok(r) => r,
            // A provider task panicked: a bug, not an AWS error.
            Err(e) => panic!("provider task failed: {e}"),
        };
        let step = steps[resource.as_str()];
        in_flight.remove(&resource);
        let elapsed = started.elapsed();
        let changed = match result {
            Ok(Some(obs)) => {
                outputs.insert(resource.clone(), obs.outputs.clone());
                record(state, w, step, obs, desired);
                on_event(Event::Finished {
                    resource: &resource,
                    action: step.action,
                    elapsed,
                    error: None,
                });
                report.outcomes.insert(resource, Outcome::Done);
                true
            }
            Ok(None) => {
                outputs.remove(&resource);
                state.resources.remove(&resource);
                // Deleted: no creation of it is pending any more.
                state.pending.remove(&resource);
                on_event(Event::Finished {
                    resource: &resource,
                    action: step.action,
                    elapsed,
                    error: None,
                });
                report.outcomes.insert(resource, Outcome::Done);
                true
            }
            Err(fail) => {
                let mut changed = false;
                match fail.partial {
                    Some(obs) => {
                        // Record what exists, with the properties it really
                        // has, so the next plan completes it.
                        let props = obs.props.clone();
                        let pending = state.pending.get(&resource).cloned();
                        record(state, w, step, obs, props);
                        if let Some(p) = pending.filter(|_| fail.unsettled) {
                            state.pending.insert(resource.clone(), p);
                        }
                        changed = true;
                    }
                    None if step.action == Action::Replace => {
                        // The old resource is gone and the new one failed.
                        changed = state.resources.remove(&resource).is_some();
                    }
                    None => {}
                }
                on_event(Event::Finished {
                    resource: &resource,
                    action: step.action,
                    elapsed,
                    error: Some(&fail.message),
                });
                report
                    .outcomes
                    .insert(resource, Outcome::Failed(fail.message));
                changed
            }
        };
        if changed {
            if let Err(e) = save.save(state).await {
                report.state_error = Some(e.to_string());
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::testing::{TestSchema, TABLE};
    use crate::engine::plan::{Inputs, PLAN_FORMAT_VERSION};
    use std::sync::Mutex;

    /// Creates every resource after `delay`, or fails the ones in `fail`.
    struct Fake {
        delay: Duration,
        fail: &'static [&'static str],
    }

    impl Executor for Fake {
        async fn execute(&self, op: Operation) -> Result<Option<Observed>, StepFailure> {
            tokio::time::sleep(self.delay).await;
            if self.fail.contains(&op.resource.as_str()) {
                return Err(StepFailure {
                    message: "no".into(),
                    partial: None,
                    unsettled: false,
                });
            }
            Ok(Some(Observed {
                id: op.resource.clone(),
                props: op.desired,
                outputs: BTreeMap::new(),
            }))
        }
    }

    fn declared() -> Vec<Declared> {
        ["a", "b"]
            .into_iter()
            .map(|key| Declared {
                key,
                kind: TABLE,
                props: BTreeMap::new(),
                depends_on: if key == "b" { vec!["a"] } else { vec![] },
            })
            .collect()
    }

    /// Runs the plan that creates both resources; returns the events as text.
    async fn run(fake: Fake) -> (Report, Vec<String>) {
        let declared = declared();
        let graph = Graph::new(declared.iter().map(|d| (d.key, d.dependencies()))).unwrap();
        let observed = BTreeMap::new();
        let plan = crate::engine::plan::plan_apply(&Inputs {
            declared: &declared,
            graph: &graph,
            state: None,
            observed: &observed,
            schema: &TestSchema,
            suffix: "dev",
            region: "r",
            account: "1",
            replace: &[],
        });
        assert_eq!(plan.format_version, PLAN_FORMAT_VERSION);
        let interrupt = AtomicBool::new(false);
        let w = Walk {
            plan: &plan,
            declared: &declared,
            graph: &graph,
            observed: &observed,
            schema: &TestSchema,
            parallelism: 4,
            interrupt: &interrupt,
        };
        let events = Mutex::new(Vec::new());
        let mut state = State::new("dev", "r", "1");
        let report = walk(
            Arc::new(fake),
            &w,
            &mut state,
            &mut |_: &mut State| Ok(()),
            &|e| {
                let line = match e {
                    Event::Started { resource, .. } => format!("{resource} started"),
                    Event::Finished {
                        resource, error, ..
                    } => format!(
                        "{resource} finished{}",
                        if error.is_some() {
                            " with an error"
                        } else {
                            ""
                        }
                    ),
                    Event::Skipped { resource, .. } => format!("{resource} skipped"),
                    Event::StillRunning {
                        resource, elapsed, ..
                    } => format!("{resource} still running at {}s", elapsed.as_secs()),
                };
                events.lock().unwrap().push(line);
            },
        )
        .await;
        (report, events.into_inner().unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn a_long_step_is_reported_every_ten_seconds() {
        let (report, events) = run(Fake {
            delay: Duration::from_secs(25),
            fail: &[],
        })
        .await;
        assert!(report.succeeded());
        assert_eq!(
            events,
            [
                "a started",
                "a still running at 10s",
                "a still running at 20s",
                "a finished",
                "b started",
                "b still running at 10s",
                "b still running at 20s",
                "b finished"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_dependents_of_a_failed_step_are_skipped() {
        let (report, events) = run(Fake {
            delay: Duration::from_millis(1),
            fail: &["a"],
        })
        .await;
        assert!(!report.succeeded());
        assert_eq!(
            events,
            ["a started", "a finished with an error", "b skipped"]
        );
        assert_eq!(report.failures(), [("a", "no")]);
    }
}
