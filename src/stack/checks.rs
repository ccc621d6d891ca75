//! What a plan runs into before anything is changed: the account's Lambda
//! concurrency, and resources AWS would refuse to delete.

use super::{Stack, StackError};
use crate::engine::plan::{Action, Plan};
use crate::program::StackContext;
use crate::providers::{self, Aws};
use crate::state::State;

/// Whether the stack will likely reserve concurrent executions anew: it
/// reserves some, and its state records no function reserving as many (the
/// function is created, or its reservation changes). `limit_warnings`
/// decides on the plan; this only guesses ahead of the reads.
pub(super) fn reserves_anew(ctx: &StackContext, state: Option<&State>) -> bool {
    let Some(wanted) = ctx.settings.reserved_concurrency else {
        return false;
    };
    let recorded = state
        .into_iter()
        .flat_map(|s| s.resources.values())
        .find(|r| r.kind == providers::function::KIND)
        .and_then(|r| r.properties.get("reserved_concurrency"))
        .and_then(serde_json::Value::as_i64);
    wanted != 0 && recorded != Some(i64::from(wanted))
}

/// The plan's warning when the function is to reserve no executions at all.
const STOPPED: &str = "reserved_concurrency 0 stops every invocation: Lambda throttles all of them, and the function \
     will process no events until the setting changes. For no reservation (the account's shared pool), set \
     reserved_concurrency to none.";

impl Stack {
    /// Account limits the plan would run into, checked before anything is
    /// created (one `GetAccountSettings`, only when the plan creates the
    /// function or changes its reservation): each a warning to print.
    pub async fn limit_warnings(&self, aws: &Aws, plan: &Plan) -> Vec<String> {
        let Some(step) = plan
            .steps
            .iter()
            .find(|s| s.kind == providers::function::KIND)
        else {
            return vec![];
        };
        let reserving = match step.action {
            Action::Create | Action::Replace => true,
            Action::Update => step
                .changes
                .iter()
                .any(|c| c.path == "reserved_concurrency"),
            Action::Delete | Action::Noop => false,
        };
        let wanted = match self.ctx.settings.reserved_concurrency {
            _ if !reserving => return vec![],
            None => return vec![],
            Some(0) => return vec![STOPPED.to_owned()],
            Some(n) => n,
        };
        // What the function reserves today is freed by the change.
        let current = self
            .observed
            .get(step.resource.as_str())
            .and_then(|o| o.props.get("reserved_concurrency"))
            .and_then(serde_json::Value::as_i64)
            .and_then(|n| i32::try_from(n).ok());
        match aws.lambda_concurrency().await {
            Ok(Some(c)) => providers::aws::account::reservation_problem(c, current, wanted)
                .into_iter()
                .collect(),
            Ok(None) => vec![],
            Err(e) => vec![format!(
                "could not check the account's Lambda concurrency ({e}); apply may fail at PutFunctionConcurrency"
            )],
        }
    }

    /// Refuses a plan that deletes or replaces a live resource AWS would
    /// refuse to delete (the table with deletion protection on), before
    /// anything is changed: the run would otherwise stop half-way.
    pub fn check_guards(&self, command: &'static str, plan: &Plan) -> Result<(), StackError> {
        use crate::engine::model::Schema;
        let guarded: Vec<_> = plan
            .steps
            .iter()
            .filter(|s| matches!(s.action, Action::Delete | Action::Replace))
            .filter_map(|s| {
                let live = self.observed.get(&s.resource)?;
                let property = providers::Registry.guarded_by(s.kind, &live.props)?;
                Some((s.resource.clone(), live.id.clone(), property))
            })
            .collect();
        if guarded.is_empty() {
            Ok(())
        } else {
            Err(StackError::Guarded {
                command,
                suffix: self.ctx.suffix.as_str().to_owned(),
                guarded,
            })
        }
    }
}

pub(super) fn guarded_message(
    command: &str,
    suffix: &str,
    guarded: &[(String, String, &'static str)],
) -> String {
    let mut out = String::new();
    for (resource, id, property) in guarded {
        out.push_str(&format!(
            "{command} would delete {resource} {id}, but its {property} is on, so AWS would refuse. \
             Nothing was changed.\n"
        ));
        let how = if crate::settings::SETTINGS.iter().any(|s| s.key == *property) {
            format!(
                "To lift it: `webhook-stack config set {property} false --suffix {suffix}`, then \
                 `webhook-stack apply --suffix {suffix}` (which turns it off), then run {command} again.\n"
            )
        } else {
            format!("Turn {property} off on {id}, then run {command} again.\n")
        };
        out.push_str(&how);
    }
    out.trim_end().to_owned()
}
