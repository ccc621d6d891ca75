//! What every command shares: connect, load state, declare the program,
//! read what is live, and plan.

use crate::engine::graph::Graph;
use crate::engine::model::{Declared, Observed};
use crate::engine::ownership::{self, Foreign};
use crate::engine::plan::{plan_apply, plan_destroy, Inputs, Plan};
use crate::names::Suffix;
use crate::program::{self, StackContext};
use crate::providers::{self, Aws, AwsError, Hint};
use crate::settings::{self, Source, Used, Values};
use crate::state::{State, StateError, StateStore};
use std::collections::BTreeMap;
use std::sync::Arc;

mod checks;

use checks::{guarded_message, reserves_anew};

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error("cannot find the AWS account: {0}")]
    Account(AwsError),
    #[error("cannot read {resource}: {error}")]
    Read { resource: String, error: AwsError },
    #[error(transparent)]
    Graph(#[from] crate::engine::graph::GraphError),
    #[error("{}", foreign_message(.suffix, .found))]
    Foreign { suffix: String, found: Vec<Foreign> },
    #[error("stack settings: {0}")]
    Settings(#[from] crate::settings::SettingError),
    #[error("{}", guarded_message(.command, .suffix, .guarded))]
    Guarded {
        command: &'static str,
        suffix: String,
        /// (resource, physical id, the property that guards it)
        guarded: Vec<(String, String, &'static str)>,
    },
}

/// Where the settings of a run come from.
pub enum SettingsFrom {
    /// The flags of this run over the saved settings.
    Flags(Values),
    /// A saved plan: exactly the settings it was made with.
    Plan(BTreeMap<String, Used>),
}

fn foreign_message(suffix: &str, found: &[Foreign]) -> String {
    let list: String = found.iter().map(|f| format!("\n  - {f}")).collect();
    format!(
        "{} resource(s) under this stack's names are not managed by it:{list}\n\
         webhook-stack never takes over, changes or deletes what it did not create. \
         To manage them with this stack, run `webhook-stack import --suffix {suffix}` \
         (it records them in state as they are, changing nothing in AWS); \
         otherwise remove or rename them.",
        found.len()
    )
}

/// A stack as found: program, graph, state and live resources.
pub struct Stack {
    pub ctx: StackContext,
    pub declared: Vec<Declared>,
    pub graph: Graph,
    pub store: Arc<dyn StateStore>,
    pub state: Option<State>,
    pub observed: BTreeMap<String, Observed>,
    /// Resources found under the stack's names that it does not own.
    pub foreign: Vec<Foreign>,
    /// Each setting the program was declared with, and its source.
    pub settings: BTreeMap<String, Used>,
}

impl Stack {
    /// Loads state, asks STS for the account and reads every resource, all
    /// reads at once: none of them needs the account.
    pub async fn load(
        aws: &Aws,
        store: Arc<dyn StateStore>,
        suffix: &Suffix,
        code_sha256: String,
        settings: SettingsFrom,
    ) -> Result<Stack, StackError> {
        let mut state = store.load().await?;
        let location = store.location();
        if let Some(s) = &state {
            crate::state::check_belongs(s, &location, suffix.as_str(), &aws.region, None)?;
        }
        let (settings, used) = match settings {
            SettingsFrom::Flags(given) => {
                let saved = state
                    .as_ref()
                    .map(|s| s.settings.clone())
                    .unwrap_or_default();
                settings::resolve(&saved, &given)?
            }
            SettingsFrom::Plan(used) => {
                let values: Values = used
                    .iter()
                    .map(|(k, u)| (k.clone(), u.value.clone()))
                    .collect();
                (settings::resolve(&Values::new(), &values)?.0, used)
            }
        };
        // What to read comes from the resource table: no identity depends
        // on the account, so the program is declared once, after the reads.
        let mut ctx = StackContext::new(
            suffix.clone(),
            aws.region.clone(),
            String::new(),
            code_sha256,
            settings,
        );
        let rows: Vec<&program::Resource> = ctx.resources().collect();
        let reads = rows.iter().map(|r| {
            let recorded = state.as_ref().and_then(|s| s.resources.get(r.key));
            let hint = recorded.map(Hint::from_state).unwrap_or_default();
            let id = recorded.map_or_else(|| ctx.name(r.key).to_owned(), |r| r.id.clone());
            async move { (r.key, providers::read(aws, r.kind, &id, &hint).await) }
        });
        let orphan_reads = state.iter().flat_map(|s| {
            s.resources
                .iter()
                .filter(|(k, _)| !rows.iter().any(|r| r.key == k.as_str()))
                .map(|(k, r)| async move {
                    let hint = Hint::from_state(r);
                    (k.as_str(), providers::read(aws, r.kind, &r.id, &hint).await)
                })
        });
        // A creation that a killed run left pending, of a resource the
        // settings no longer declare: read by its name, so that apply and
        // destroy delete it.
        let pending_reads = state.iter().flat_map(|s| {
            s.pending
                .iter()
                .filter(|(k, _)| !s.resources.contains_key(*k))
                .filter(|(k, _)| !rows.iter().any(|r| r.key == k.as_str()))
                .filter_map(|(k, p)| {
                    let name = (program::resource(k)?.name)(suffix);
                    Some(async move {
                        let read = providers::read(aws, p.kind, &name, &Hint::default()).await;
                        (k.as_str(), read)
                    })
                })
        });
        let account = aws.account();
        // The account's Lambda concurrency (`limit_warnings`), asked with
        // the reads when the plan will likely reserve executions, not in a
        // round trip of its own after them.
        let limits = async {
            if aws.checks_limits() && reserves_anew(&ctx, state.as_ref()) {
                let _ = aws.lambda_concurrency().await;
            }
        };
        let (account, found, orphans, pending, ()) = tokio::join!(
            account,
            futures_util::future::join_all(reads),
            futures_util::future::join_all(orphan_reads),
            futures_util::future::join_all(pending_reads),
            limits
        );
        let account = account.map_err(StackError::Account)?;
        if let Some(s) = &state {
            crate::state::check_belongs(
                s,
                &location,
                suffix.as_str(),
                &aws.region,
                Some(&account),
            )?;
        }

        // What a pending creation's name finds is the stack's only if it
        // carries the stack's tags: a same-named resource of someone else's
        // is nothing to delete, and its pending entry is settled (`destroy`
        // forgets it).
        let pending = pending.into_iter().map(|(key, result)| {
            let ours = |o: &Observed| {
                !o.props.contains_key("tags")
                    || ownership::untagged_reason(o, suffix.as_str()).is_none()
            };
            (key, result.map(|found| found.filter(ours)))
        });
        let mut observed = BTreeMap::new();
        for (key, result) in found.into_iter().chain(orphans).chain(pending) {
            match result {
                Ok(Some(o)) => {
                    observed.insert(key.to_string(), o);
                }
                Ok(None) => {}
                Err(error) => {
                    return Err(StackError::Read {
                        resource: key.to_string(),
                        error,
                    })
                }
            }
        }
        // State made by `config set` before the first apply names no account yet.
        if let Some(s) = state.as_mut().filter(|s| s.account.is_empty()) {
            s.account = account.clone();
        }
        ctx.account = account;
        let declared = program::declare(&ctx);
        // A creation that a killed run started and never recorded: look for
        // what it may have made before planning to create it again.
        if let Some(s) = &state {
            for d in &declared {
                if observed.contains_key(d.key) || !s.pending.contains_key(d.key) {
                    continue;
                }
                let found = find_pending(aws, d, &s.pending[d.key]).await?;
                if let Some(o) = found {
                    observed.insert(d.key.to_string(), o);
                }
            }
        }
        let graph = Graph::new(declared.iter().map(|d| (d.key, d.dependencies())))?;
        let mut foreign = ownership::foreign(&declared, state.as_ref(), &observed, suffix.as_str());
        // A pending creation whose name someone else's resource holds now
        // (an alias retargeted to another key): what the killed run made,
        // if anything, is found by the stack's tags instead.
        if let Some(s) = &state {
            let mut found_ours = false;
            for d in &declared {
                if !s.pending.contains_key(d.key) || !foreign.iter().any(|f| f.resource == d.key) {
                    continue;
                }
                let found = find_pending(aws, d, &s.pending[d.key]).await?;
                if let Some(o) = found {
                    observed.insert(d.key.to_string(), o);
                    found_ours = true;
                }
            }
            if found_ours {
                foreign = ownership::foreign(&declared, state.as_ref(), &observed, suffix.as_str());
            }
        }
        Ok(Stack {
            ctx,
            declared,
            graph,
            store,
            state,
            observed,
            foreign,
            settings: used,
        })
    }

    fn inputs<'a>(
        &'a self,
        observed: &'a BTreeMap<String, Observed>,
        replace: &'a [String],
    ) -> Inputs<'a> {
        Inputs {
            declared: &self.declared,
            graph: &self.graph,
            state: self.state.as_ref(),
            observed,
            schema: &providers::Registry,
            suffix: self.ctx.suffix.as_str(),
            region: &self.ctx.region,
            account: &self.ctx.account,
            replace,
        }
    }

    /// The plan that brings AWS to the program, replacing the resources in
    /// `replace` whether or not they changed. Refused when a resource under
    /// a stack name is not the stack's (docs/design.md, "Ownership").
    pub fn plan(&self, replace: &[String]) -> Result<Plan, StackError> {
        if !self.foreign.is_empty() {
            return Err(StackError::Foreign {
                suffix: self.ctx.suffix.as_str().to_owned(),
                found: self.foreign.clone(),
            });
        }
        let mut plan = plan_apply(&self.inputs(&self.observed, replace));
        plan.settings = self.settings.clone();
        Ok(plan)
    }

    /// The plan that deletes what the stack owns; what is not its own is
    /// left alone.
    pub fn plan_destroy(&self) -> Plan {
        let owned = self.owned_observed();
        plan_destroy(&self.inputs(&owned, &[]))
    }

    /// Live resources the stack owns (recorded, or carrying its tags).
    pub fn owned_observed(&self) -> BTreeMap<String, Observed> {
        self.observed
            .iter()
            .filter(|(k, _)| !self.foreign.iter().any(|f| &f.resource == *k))
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect()
    }

    /// Resources whose creation was pending when the state was loaded.
    pub fn pending_before(&self) -> BTreeMap<String, crate::engine::state::Creation> {
        self.state
            .iter()
            .flat_map(|s| s.pending.iter())
            .map(|(k, p)| (k.clone(), p.creation()))
            .collect()
    }

    /// Forgets in `state` what this load found settled: recorded resources
    /// the program no longer declares that are gone.
    pub fn forget_settled(&self, state: &mut State) -> bool {
        let declared: Vec<&str> = self.declared.iter().map(|d| d.key).collect();
        state.forget_settled(&declared, |k| self.observed.contains_key(k))
    }

    /// The state to write into: the loaded one, or a fresh one.
    pub fn state_or_new(&self) -> State {
        self.state.clone().unwrap_or_else(|| {
            State::new(
                self.ctx.suffix.as_str(),
                &self.ctx.region,
                &self.ctx.account,
            )
        })
    }

    /// The settings this run took from flags: saved when its apply succeeds.
    pub fn flag_settings(&self) -> Values {
        self.settings
            .iter()
            .filter(|(_, u)| u.source == Source::Flag)
            .map(|(k, u)| (k.clone(), u.value.clone()))
            .collect()
    }
}

/// What a creation of `d` that a killed run started may have made, found
/// by the provider's own search (the key: by the stack's tags).
async fn find_pending(
    aws: &Aws,
    d: &Declared,
    pending: &crate::engine::state::Pending,
) -> Result<Option<Observed>, StackError> {
    let wanted = crate::engine::plan::desired_props(d, &Default::default(), &providers::Registry);
    providers::find_unrecorded(aws, d.kind, &wanted, &pending.creation())
        .await
        .map_err(|error| StackError::Read {
            resource: d.key.to_string(),
            error,
        })
}
