//! The invariants, each a named function, checked after every step.

use super::aws::{Item, World};
use super::history::Command;
use super::run::{Harness, Ran, SUFFIX};
use crate::engine::state::State;
use aws_sdk_kms::types::KeyState;
use std::collections::BTreeSet;

/// The account and both states, before or after a step.
pub struct Observation {
    pub world: World,
    pub main: Option<State>,
    pub other: Option<State>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: &'static str,
    pub step: usize,
    pub detail: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "step {}: {}: {}", self.step, self.invariant, self.detail)
    }
}

fn fail(invariant: &'static str, step: usize, detail: impl Into<String>) -> Result<(), Violation> {
    Err(Violation {
        invariant,
        step,
        detail: detail.into(),
    })
}

type Foreign = BTreeSet<(&'static str, String)>;

/// Alive: not a key pending deletion.
fn alive(world: &World, item: &Item) -> bool {
    item.kind != "aws:kms/key"
        || world
            .kms
            .keys
            .get(&item.id)
            .is_some_and(|k| k.state != KeyState::PendingDeletion)
}

/// Made by this stack: carries its tags, or is its alias targeting a key
/// that does (an alias has no tags of its own); and was not made out of
/// band as someone else's.
fn owned(world: &World, item: &Item, foreign: &Foreign) -> bool {
    if foreign.contains(&(item.kind, item.id.clone())) {
        return false;
    }
    let ours = |tags: &std::collections::BTreeMap<String, String>| {
        tags.get("ManagedBy").map(String::as_str) == Some("webhook-stack")
            && tags.get("Environment").map(String::as_str) == Some(SUFFIX)
    };
    if item.kind == "aws:kms/alias" {
        let name = crate::program::name(
            &crate::names::Suffix::parse(SUFFIX).expect("suffix"),
            "kms_alias",
        );
        return item.id == name
            && world
                .kms
                .aliases
                .get(&item.id)
                .and_then(|a| world.kms.keys.get(&a.target))
                .is_some_and(|k| ours(&k.tags));
    }
    ours(&item.tags)
}

fn recorded(state: &Option<State>, kind: &str, id: &str) -> bool {
    state.as_ref().is_some_and(|s| {
        s.resources
            .values()
            .any(|r| r.kind.token() == kind && r.id == id)
    })
}

/// Recorded, or possibly made by a pending creation of the state (which
/// the state's next apply settles): a named resource under the pending
/// entry's name, a key created since the entry began.
fn accounted(state: &Option<State>, world: &World, kind: &str, id: &str) -> bool {
    let suffix = crate::names::Suffix::parse(SUFFIX).expect("suffix");
    let since = |started: &str| {
        chrono::DateTime::parse_from_rfc3339(started).map_or(i64::MIN, |t| t.timestamp())
    };
    recorded(state, kind, id)
        || state.as_ref().is_some_and(|s| {
            s.pending.iter().any(|(k, p)| {
                p.kind.token() == kind
                    && match world.kms.keys.get(id) {
                        Some(key) if kind == "aws:kms/key" => key.created >= since(&p.started) - 1,
                        _ => crate::program::name(&suffix, k) == id,
                    }
            })
        })
}

/// Nothing made out of band as someone else's is ever deleted or changed
/// by a command.
pub fn foreign_untouched(
    foreign: &Foreign,
    before: &World,
    after: &World,
    step: usize,
) -> Result<(), Violation> {
    let after_items = after.inventory();
    for item in before.inventory() {
        if !foreign.contains(&(item.kind, item.id.clone())) {
            continue;
        }
        match after_items
            .iter()
            .find(|i| i.kind == item.kind && i.id == item.id)
        {
            None => {
                return fail(
                    "foreign_untouched",
                    step,
                    format!("{} {} was deleted", item.kind, item.id),
                )
            }
            Some(now) if now.snapshot != item.snapshot => {
                return fail(
                    "foreign_untouched",
                    step,
                    format!(
                        "{} {} was changed:\n  before {}\n  after  {}",
                        item.kind, item.id, item.snapshot, now.snapshot
                    ),
                )
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The serial only rises, and a state is never replaced by different
/// content under the same serial.
pub fn serial_only_rises(
    before: &Option<State>,
    after: &Option<State>,
    step: usize,
) -> Result<(), Violation> {
    if let (Some(b), Some(a)) = (before, after) {
        if a.serial < b.serial {
            return fail(
                "serial_only_rises",
                step,
                format!("serial went from {} to {}", b.serial, a.serial),
            );
        }
        if a.serial == b.serial && a != b {
            return fail(
                "serial_only_rises",
                step,
                format!("state changed under serial {}", a.serial),
            );
        }
    }
    Ok(())
}

/// A resource the state recorded that still exists and is the stack's is
/// still recorded after the step, whatever the step did or how it ended.
pub fn state_keeps_owned(
    h: &Harness,
    before: &Observation,
    after: &Observation,
    step: usize,
) -> Result<(), Violation> {
    let Some(b) = &before.main else { return Ok(()) };
    let items = after.world.inventory();
    for (key, r) in &b.resources {
        let live = items
            .iter()
            .find(|i| i.kind == r.kind.token() && i.id == r.id)
            .filter(|i| alive(&after.world, i) && owned(&after.world, i, &h.foreign));
        // A pending creation counts: the next run finds it by name.
        let pending = after
            .main
            .as_ref()
            .is_some_and(|s| s.pending.contains_key(key));
        if live.is_some() && !recorded(&after.main, r.kind.token(), &r.id) && !pending {
            return fail(
                "state_keeps_owned",
                step,
                format!(
                    "{key} ({} {}) still exists but the state forgot it",
                    r.kind.token(),
                    r.id
                ),
            );
        }
    }
    Ok(())
}

/// Plan, drift and every other read-only command make no write to AWS.
pub fn read_only_writes_nothing(
    h: &Harness,
    before: &World,
    after: &World,
    step: usize,
) -> Result<(), Violation> {
    let writes: Vec<String> = h
        .sim
        .lock()
        .served
        .iter()
        .filter(|s| s.write && s.effective && s.service != "s3")
        .map(|s| format!("{}:{}", s.service, s.op))
        .collect();
    if !writes.is_empty() || !before.same_resources(after) {
        return fail(
            "read_only_writes_nothing",
            step,
            format!("writes: {writes:?}"),
        );
    }
    Ok(())
}

/// No live resource of the stack is recorded by neither state.
pub fn no_orphans(h: &Harness, after: &Observation, step: usize) -> Result<(), Violation> {
    for item in after.world.inventory() {
        if alive(&after.world, &item)
            && owned(&after.world, &item, &h.foreign)
            && !accounted(&after.main, &after.world, item.kind, &item.id)
            && !accounted(&after.other, &after.world, item.kind, &item.id)
        {
            return fail(
                "no_orphans",
                step,
                format!("{} {} is recorded by no state", item.kind, item.id),
            );
        }
    }
    Ok(())
}

/// After a successful apply: the plan is empty, drift finds nothing, both
/// without writing, and every recorded resource exists.
pub async fn converged_after_apply(h: &Harness, step: usize) -> Result<(), Violation> {
    let state = h.state(&h.main);
    let world = h.world();
    let items = world.inventory();
    for (key, r) in state.iter().flat_map(|s| &s.resources) {
        if !items
            .iter()
            .any(|i| i.kind == r.kind.token() && i.id == r.id && alive(&world, i))
        {
            return fail(
                "converged_after_apply",
                step,
                format!("{key} ({}) is recorded but does not exist", r.id),
            );
        }
    }
    let (plan, wrote) = h.check(&["plan", "--detailed-exitcode"]).await;
    if wrote {
        return fail(
            "read_only_writes_nothing",
            step,
            "the plan after an apply wrote to AWS",
        );
    }
    if plan != Ran::Exit(0) {
        return fail(
            "converged_after_apply",
            step,
            format!("the plan after a successful apply ended {plan:?}"),
        );
    }
    let (drift, wrote) = h.check(&["drift"]).await;
    if wrote {
        return fail(
            "read_only_writes_nothing",
            step,
            "drift after an apply wrote to AWS",
        );
    }
    if drift != Ran::Exit(0) {
        return fail(
            "converged_after_apply",
            step,
            format!("drift after a successful apply ended {drift:?}"),
        );
    }
    Ok(())
}

/// After a successful destroy: no resource of the stack is left alive
/// (a key is only ever scheduled for deletion), and the state is empty.
pub fn destroy_leaves_nothing(
    h: &Harness,
    after: &Observation,
    step: usize,
) -> Result<(), Violation> {
    if let Some(s) = &after.main {
        if !s.resources.is_empty() || !s.pending.is_empty() {
            return fail(
                "destroy_leaves_nothing",
                step,
                format!(
                    "state still holds {:?} and pending {:?}",
                    s.resources.keys().collect::<Vec<_>>(),
                    s.pending.keys().collect::<Vec<_>>()
                ),
            );
        }
    }
    for item in after.world.inventory() {
        if alive(&after.world, &item)
            && owned(&after.world, &item, &h.foreign)
            && !accounted(&after.other, &after.world, item.kind, &item.id)
        {
            return fail(
                "destroy_leaves_nothing",
                step,
                format!("{} {} is left", item.kind, item.id),
            );
        }
    }
    Ok(())
}

/// Keys are never deleted outright, only scheduled within AWS's window.
pub fn keys_only_scheduled(before: &World, after: &World, step: usize) -> Result<(), Violation> {
    for id in before.kms.keys.keys() {
        if !after.kms.keys.contains_key(id) {
            return fail("keys_only_scheduled", step, format!("key {id} vanished"));
        }
    }
    for k in after.kms.keys.values() {
        if k.state == KeyState::PendingDeletion
            && !k.deletion_window.is_some_and(|d| (7..=30).contains(&d))
        {
            return fail(
                "keys_only_scheduled",
                step,
                format!("key {} scheduled with window {:?}", k.id, k.deletion_window),
            );
        }
    }
    Ok(())
}

fn is_apply(c: &Command) -> bool {
    matches!(c, Command::Apply { .. } | Command::SavedPlan { .. })
}

/// Every invariant that applies after a step of the main stack.
pub async fn after_step(
    h: &Harness,
    step: usize,
    before: &Observation,
    after: &Observation,
    outcome: &[(&Command, Ran)],
) -> Result<(), Violation> {
    foreign_untouched(&h.foreign, &before.world, &after.world, step)?;
    keys_only_scheduled(&before.world, &after.world, step)?;
    serial_only_rises(&before.main, &after.main, step)?;
    state_keeps_owned(h, before, after, step)?;
    if outcome.iter().all(|(c, _)| c.read_only()) {
        read_only_writes_nothing(h, &before.world, &after.world, step)?;
    }
    // Plan, drift and outputs do not write the state either.
    let inspects =
        |c: &Command| matches!(c, Command::Plan { .. } | Command::Drift | Command::Outputs);
    if outcome.iter().all(|(c, _)| inspects(c)) && before.main != after.main {
        return fail(
            "read_only_writes_nothing",
            step,
            "a read-only command wrote the state",
        );
    }
    // The checks of a finished apply or destroy, when nothing else that
    // writes ran beside it.
    let writers: Vec<_> = outcome
        .iter()
        .filter(|(c, r)| !c.read_only() && r.ok())
        .collect();
    if let [(c, _)] = writers.as_slice() {
        if is_apply(c) {
            no_orphans(h, after, step)?;
            converged_after_apply(h, step).await?;
        }
        if **c == Command::Destroy {
            destroy_leaves_nothing(h, after, step)?;
        }
    }
    Ok(())
}

/// After a command of a second state of the same suffix. The stack's tags
/// make a resource the suffix's, whichever state records it (as designed:
/// the state of a run killed before it recorded a creation is found that
/// way), so the second state may update them; but what is someone else's
/// stays untouched, a read-only command writes nothing, and only `destroy`
/// may schedule the key the first state records.
pub fn other_state(
    h: &Harness,
    before: &Observation,
    after: &World,
    command: &Command,
    _ran: Ran,
    step: usize,
) -> Result<(), Violation> {
    foreign_untouched(&h.foreign, &before.world, after, step)?;
    keys_only_scheduled(&before.world, after, step)?;
    if command.read_only() {
        read_only_writes_nothing(h, &before.world, after, step)?;
    }
    // `--replace kms_key` asks for it.
    let replaces_key = matches!(command, Command::Apply { replace: Some(r), .. } if r == "kms_key");
    if *command != Command::Destroy && !replaces_key {
        for (_, r) in before.main.iter().flat_map(|s| &s.resources) {
            if r.kind.token() != "aws:kms/key" {
                continue;
            }
            let was = before
                .world
                .kms
                .keys
                .get(&r.id)
                .is_some_and(|k| k.state != KeyState::PendingDeletion);
            let is = after
                .kms
                .keys
                .get(&r.id)
                .is_some_and(|k| k.state != KeyState::PendingDeletion);
            if was && !is {
                return fail(
                    "foreign_untouched",
                    step,
                    format!("a second state of the suffix scheduled key {}, which the first state records", r.id),
                );
            }
        }
    }
    Ok(())
}
