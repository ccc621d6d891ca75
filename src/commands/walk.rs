//! Running a plan: progress on stderr, Ctrl-C, state saved after each step.

use crate::engine::apply::{walk, Event, Persist, Report, Walk};
use crate::engine::plan::{Action, Plan};
use crate::providers::{self, Providers};
use crate::stack::Stack;
use crate::state::{Lease, State, StateStore};
use futures_util::future::BoxFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn verb(action: Action, done: bool) -> &'static str {
    match (action, done) {
        (Action::Create, false) => "creating",
        (Action::Create, true) => "created",
        (Action::Update, false) => "updating",
        (Action::Update, true) => "updated",
        (Action::Replace, false) => "replacing",
        (Action::Replace, true) => "replaced",
        (Action::Delete, false) => "destroying",
        (Action::Delete, true) => "destroyed",
        (Action::Noop, _) => "unchanged",
    }
}

/// Progress on stderr. Starts, completions and the 10 s "still ..." lines
/// only when `all` (a terminal, or `-v`); failures and skips always.
fn progress(event: Event<'_>, all: bool) {
    let routine = matches!(
        event,
        Event::Started { .. } | Event::StillRunning { .. } | Event::Finished { error: None, .. }
    );
    if routine && !all {
        return;
    }
    match event {
        Event::Started { resource, action } => eprintln!("{resource}: {}...", verb(action, false)),
        Event::Finished {
            resource,
            action,
            elapsed,
            error: None,
        } => eprintln!(
            "{resource}: {} after {:.1}s",
            verb(action, true),
            elapsed.as_secs_f64()
        ),
        Event::Finished {
            resource,
            elapsed,
            error: Some(e),
            ..
        } => eprintln!(
            "{resource}: failed after {:.1}s: {e}",
            elapsed.as_secs_f64()
        ),
        Event::Skipped { resource, reason } => eprintln!("{resource}: skipped, because {reason}"),
        Event::StillRunning {
            resource,
            action,
            elapsed,
        } => eprintln!(
            "{resource}: still {}... {}s elapsed",
            verb(action, false),
            elapsed.as_secs()
        ),
    }
}

/// First Ctrl-C: stop starting new steps, let running ones finish, save
/// state, release the lock. Second Ctrl-C: exit at once; the kernel releases
/// the lock (state is as saved after the last finished step). The lock file
/// is not removed here: by then this run may no longer hold it.
///
/// The handler is installed here, before the walk starts, not when a
/// spawned task first runs: an interrupt that comes at once is never lost.
fn watch_interrupts(flag: Arc<AtomicBool>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut interrupts) = signal(SignalKind::interrupt()) else {
        eprintln!("Warning: cannot watch for Ctrl-C; an interrupt stops the run at once.");
        return;
    };
    tokio::spawn(async move {
        if interrupts.recv().await.is_some() {
            flag.store(true, Ordering::SeqCst);
            eprintln!(
                "Interrupted: finishing the calls in flight and saving state (Ctrl-C again to abort)."
            );
            if interrupts.recv().await.is_some() {
                eprintln!("Aborted.");
                std::process::exit(130);
            }
        }
    });
}

pub async fn execute(
    stack: &Stack,
    plan: &Plan,
    providers: Providers,
    parallelism: usize,
    state: &mut State,
    lease: &Lease,
    verbose: bool,
) -> Report {
    let interrupt = Arc::new(AtomicBool::new(false));
    watch_interrupts(interrupt.clone());
    let w = Walk {
        plan,
        declared: &stack.declared,
        graph: &stack.graph,
        observed: &stack.observed,
        schema: &providers::Registry,
        parallelism,
        interrupt: &interrupt,
    };
    let mut save = Saver {
        store: stack.store.as_ref(),
        lease,
    };
    let all = verbose || std::io::IsTerminal::is_terminal(&std::io::stderr());
    walk(Arc::new(providers), &w, state, &mut save, &|e| {
        progress(e, all)
    })
    .await
}

/// Saves through the stack's store, under the run's lease.
struct Saver<'a> {
    store: &'a dyn StateStore,
    lease: &'a Lease,
}

impl Persist for Saver<'_> {
    fn save<'b>(&'b mut self, state: &'b mut State) -> BoxFuture<'b, Result<(), String>> {
        Box::pin(async move {
            self.store
                .save(state, self.lease)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// Prints what failed and what was skipped; true when all went well.
pub fn report_outcome(report: &Report) -> bool {
    for (resource, message) in report.failures() {
        eprintln!("Error: {resource}: {message}");
    }
    if let Some(e) = &report.state_error {
        eprintln!("Error: state could not be saved: {e}");
    }
    if report.interrupted {
        eprintln!("Stopped early because of an interrupt; run the command again to finish.");
    }
    report.succeeded()
}
