//! Command-line syntax (clap derive only). `config.rs` turns it into checked
//! settings.

use crate::settings::{Form, SETTINGS, TAG_FLAG};
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "webhook-stack",
    version,
    about = "Deploys the payment-webhook processor to AWS through the AWS SDK, without CloudFormation"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Environment suffix that every resource name is derived from
    /// (1-32 characters of [a-z0-9-]).
    #[arg(long, global = true, env = "ENVIRONMENT_SUFFIX", default_value = "dev")]
    pub suffix: String,
    /// AWS region (default: the SDK's region chain, else us-east-1).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Named profile from the AWS config and credentials files.
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Endpoint for every AWS service, e.g. a local emulator. The SDK also
    /// honours AWS_ENDPOINT_URL.
    #[arg(long, global = true)]
    pub endpoint_url: Option<String>,
    /// Where state lives: file://DIR (the default, file://state) or
    /// s3://BUCKET/PREFIX, shared by a team.
    #[arg(long, global = true, env = "WEBHOOK_STACK_BACKEND", value_name = "URL")]
    pub backend: Option<String>,
    /// Directory holding state files: shorthand for --backend file://DIR.
    #[arg(long, global = true, conflicts_with = "backend", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// How long to wait for a lock held by another run (e.g. 30s, 5m, 1m30s)
    /// before giving up.
    #[arg(long, global = true, default_value = "0s", value_name = "DURATION")]
    pub lock_timeout: String,
    /// Machine-readable output on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Colour in plans: auto (on a terminal, unless NO_COLOR is set),
    /// always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print the number of AWS calls made, by operation, on stderr.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Args)]
pub struct Code {
    /// Deploy this prebuilt zip (holding one executable, `bootstrap`) instead
    /// of building handler/ for arm64.
    #[arg(
        long,
        env = "WEBHOOK_STACK_HANDLER_ZIP",
        conflicts_with = "handler_dir"
    )]
    pub handler_zip: Option<PathBuf>,
    /// The handler crate to build (default: handler/ of the checkout that
    /// holds the working directory, found by looking upwards).
    #[arg(long, env = "WEBHOOK_STACK_HANDLER_DIR", value_name = "DIR")]
    pub handler_dir: Option<PathBuf>,
}

/// Stack settings, one flag per row of the settings table. A flag given to
/// `plan` is used for that plan; given to `apply`, it is used and saved with
/// the stack's state when the apply succeeds (like `pulumi up --config`).
/// Without the flag, the saved value is used, else the default. `config set
/// KEY VALUE` saves one.
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// `(key, text)` of each flag given; `--tag` as `(TAG_FLAG, "K=V")`.
    pub given: Vec<(&'static str, String)>,
}

impl Args for Tuning {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        use clap::{Arg, ArgAction};
        let cmd = cmd.next_help_heading("Stack settings (saved by apply; see `config`)");
        let cmd = SETTINGS.iter().fold(cmd, |cmd, row| {
            let arg = Arg::new(row.key)
                .long(row.flag)
                .value_name(row.value_name)
                .help(format!("{} [{}]", row.help, row.applies_to))
                .action(ArgAction::Set);
            cmd.arg(match row.form {
                Form::Bool => arg
                    .num_args(0..=1)
                    .require_equals(true)
                    .default_missing_value("true"),
                _ => arg,
            })
        });
        cmd.arg(
            Arg::new(TAG_FLAG)
                .long(TAG_FLAG)
                .value_name("KEY=VALUE")
                .help("An extra tag on every resource (repeatable)")
                .action(ArgAction::Append),
        )
        .next_help_heading(None::<&str>)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for Tuning {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut t = Tuning::default();
        t.update_from_arg_matches(m)?;
        Ok(t)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for key in SETTINGS.iter().map(|r| r.key).chain([TAG_FLAG]) {
            for text in m.get_many::<String>(key).into_iter().flatten() {
                self.given.push((key, text.clone()));
            }
        }
        Ok(())
    }
}

#[derive(Debug, Args, Clone)]
pub struct Replace {
    /// Replace this resource (kms_key, kms_alias, log_group, table, role,
    /// function, or an alarm_*) even if nothing changed, as Terraform's -replace; also the
    /// only way apply replaces or deletes the table or the key outside
    /// `destroy` (repeatable).
    #[arg(long = "replace", value_name = "RESOURCE")]
    pub resources: Vec<String>,
}

#[derive(Debug, Args)]
pub struct Confirm {
    /// Do not ask for confirmation (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How many resources may be changed at once.
    #[arg(long, default_value_t = 10)]
    pub parallelism: usize,
}

#[derive(Debug, Subcommand)]
pub enum DriftAction {
    /// Join drift reports (`drift --json` or `drift --all --json`, e.g. of
    /// the shards of a fleet) into one, printed as text (or --json), JUnit
    /// or Markdown; exit 0 in sync, 2 drifted, 1 if a stack could not be
    /// checked.
    Merge {
        /// The JSON reports.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = DriftFormat::Text, conflicts_with = "json")]
        format: DriftFormat,
        /// Also write the joined report as one self-contained HTML page.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Show what `drift --record` stored: when the stack was last checked,
    /// whether it drifted, which resources, and since when (or --json).
    History {
        /// Every stack with a drift history in the backend.
        #[arg(long)]
        all: bool,
    },
}

/// One of N disjoint parts of the stacks (`--shard I/N`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// From 1.
    pub index: u32,
    pub count: u32,
}

impl Shard {
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?} is not a shard I/N with 1 <= I <= N, such as 1/4");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether stack `suffix` is in this shard: by FNV-1a of the suffix, a
    /// hash that no Rust or platform version changes.
    pub fn contains(&self, suffix: &str) -> bool {
        let hash = suffix.bytes().fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        });
        hash % self.count as u64 == (self.index - 1) as u64
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DriftFormat {
    Text,
    Junit,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    /// Graphviz (`dot -Tsvg`), like `terraform graph`.
    Dot,
    /// A Mermaid flowchart, which code hosts render in Markdown.
    Mermaid,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the changes that apply would make.
    Plan {
        #[command(flatten)]
        code: Code,
        #[command(flatten)]
        tuning: Tuning,
        #[command(flatten)]
        replace: Replace,
        /// Exit 0 when there are no changes, 2 when there are, 1 on error.
        #[arg(long)]
        detailed_exitcode: bool,
        /// Save the plan to this file, for `apply FILE`.
        #[arg(long, conflicts_with = "all")]
        out: Option<PathBuf>,
        /// Plan every stack that has a state file in --state-dir, at once.
        #[arg(long)]
        all: bool,
    },
    /// Create or update the stack's resources.
    Apply {
        #[command(flatten)]
        code: Code,
        #[command(flatten)]
        tuning: Tuning,
        #[command(flatten)]
        replace: Replace,
        #[command(flatten)]
        confirm: Confirm,
        /// A plan saved by `plan --out` (with its settings; tuning options
        /// are then ignored); refused if the stack moved on since.
        plan_file: Option<PathBuf>,
    },
    /// Delete every resource of the stack, dependents first.
    Destroy {
        #[command(flatten)]
        confirm: Confirm,
        /// Waiting period before AWS deletes the KMS key (7-30 days).
        #[arg(long, default_value_t = 7)]
        kms_deletion_window_days: i32,
    },
    /// Compare every resource with what was last applied; exit 0 in sync,
    /// 2 drifted, 1 error. Read-only (--publish-metric puts metrics).
    #[command(args_conflicts_with_subcommands = true)]
    Drift {
        #[command(subcommand)]
        action: Option<DriftAction>,
        /// Check every stack that has a state file in --state-dir, at once.
        #[arg(long)]
        all: bool,
        /// With --all, check only shard I of N (I from 1 to N): the stacks
        /// whose suffix hashes to it. N runners with shards 1/N to N/N
        /// check every stack exactly once; `drift merge` joins their
        /// reports.
        #[arg(long, value_name = "I/N", requires = "all", value_parser = Shard::parse)]
        shard: Option<Shard>,
        /// The report's form: text (or --json), junit (JUnit XML: a suite
        /// per stack, a case per resource, a failure per drifted property),
        /// or markdown (tables for a CI job summary or a review comment).
        #[arg(long, value_enum, default_value_t = DriftFormat::Text, conflicts_with = "json")]
        format: DriftFormat,
        /// Put each stack's result as CloudWatch metrics (WebhookStack /
        /// DriftedResources and DriftCheckFailed, dimension Stack), which the
        /// stack's drift alarm watches (with the `alarms` setting). The only
        /// write drift then makes.
        #[arg(long)]
        publish_metric: bool,
        /// Also store each stack's report beside its state in the backend
        /// (the last 100 per stack), for `drift history`. Writes to the
        /// backend only.
        #[arg(long)]
        record: bool,
        /// Also write the report as one self-contained HTML page: a grid of
        /// stacks by resources, coloured by status, each drifted cell
        /// opening its properties, with a filter for what drifted.
        #[arg(long, value_name = "FILE")]
        html: Option<PathBuf>,
    },
    /// Accept drift: record what is live into state (no AWS write), for
    /// every drifted resource or those named; `drift` is then clean.
    /// Drifted values that a stack setting carries (memory, timeout,
    /// reserved concurrency, retention, log level, deletion protection) are
    /// reverted by the next plan unless --settings also saves them as the
    /// settings.
    Refresh {
        /// Only these resources (as `state list` names them).
        resources: Vec<String>,
        /// Also save drifted values that a setting carries as that setting.
        #[arg(long)]
        settings: bool,
        /// Do not ask for confirmation (needed when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Print the stack's outputs.
    Outputs,
    /// Print the IAM policy (JSON) that the caller needs for this stack:
    /// every action the commands call, on the stack's exact ARNs, for the
    /// backend and the settings in use (saved, or given here).
    Permissions {
        /// Only what plan, drift (with --publish-metric and --record),
        /// outputs, refresh and the state commands need.
        #[arg(long)]
        read_only: bool,
        /// For every stack of the backend, and `--all`'s listings.
        #[arg(long)]
        all: bool,
        /// The account the ARNs name (default: the caller's, from STS).
        #[arg(long, value_name = "ID")]
        account: Option<String>,
        #[command(flatten)]
        tuning: Tuning,
    },
    /// Record resources that already exist under the stack's names (e.g.
    /// created by the CloudFormation stack) in state, without changing them.
    Import,
    /// Remove a lock left behind by a run that died (for an S3 backend, the
    /// lock id that the refused run printed).
    ForceUnlock { lock_id: Option<String> },
    /// Show or change the stack's settings, saved with its state.
    Config {
        #[command(subcommand)]
        action: Option<ConfigAction>,
    },
    /// Inspect the state, or move it to another backend.
    State {
        #[command(subcommand)]
        action: StateAction,
    },
    /// Print a shell completion script, e.g.
    /// `webhook-stack completions bash > /etc/bash_completion.d/webhook-stack`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the dependency graph (an arrow from each dependency to its
    /// dependent), as Graphviz DOT or Mermaid. Makes no AWS call.
    Graph {
        /// Output format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// A plan saved by `plan --out`: each node shows its planned action.
        plan_file: Option<PathBuf>,
    },
    /// Invoke the stack's function (RequestResponse) and print its response,
    /// status, log tail and billed duration; exit 1 on a function error.
    Invoke {
        /// The event: JSON, @FILE, or - for stdin.
        #[arg(
            long,
            value_name = "JSON|@FILE|-",
            required_unless_present = "seed_event",
            conflicts_with = "seed_event"
        )]
        payload: Option<String>,
        /// The seed README's test event (transaction txn_test_001).
        #[arg(long)]
        seed_event: bool,
        #[command(flatten)]
        runner: Runner,
    },
    /// The post-deploy check: invoke the seed's test event under a unique
    /// transaction id (smoke-...), read the item back with a consistent
    /// read and check amount, currency, status and provider; exit 0 or 1.
    Smoke {
        /// Use this transaction id instead of a new smoke-... one.
        #[arg(long, value_name = "ID")]
        transaction_id: Option<String>,
        #[command(flatten)]
        runner: Runner,
    },
    /// The function's logs, its JSON lines shown readably (time, level,
    /// transaction, message); --json prints the raw events.
    Logs {
        /// How far back to start (e.g. 30s, 10m, 2h, 1d).
        #[arg(long, default_value = "10m", value_name = "DURATION")]
        since: String,
        /// Keep printing new events until interrupted.
        #[arg(long)]
        follow: bool,
        /// A CloudWatch Logs filter pattern (e.g. ERROR, or a transaction id).
        #[arg(long, value_name = "PATTERN")]
        filter: Option<String>,
    },
    /// Build handler/ for arm64 and write its reproducible code zip; prints
    /// the CodeSha256 that Lambda will report for it.
    Package {
        /// Where to write the zip.
        #[arg(long, default_value = "target/lambda/webhook-processor.zip")]
        out: PathBuf,
        /// The handler crate to build (default: handler/ of the checkout
        /// that holds the working directory).
        #[arg(long, env = "WEBHOOK_STACK_HANDLER_DIR", value_name = "DIR")]
        handler_dir: Option<PathBuf>,
    },
}

/// Where `invoke` and `smoke` run the handler.
#[derive(Debug, Args)]
pub struct Runner {
    /// Run the handler built from handler/ on this machine, behind a Lambda
    /// Runtime API that the CLI serves, with the function's environment,
    /// against the real table (no Docker).
    #[arg(long)]
    pub local: bool,
    /// With --local: run the arm64 `bootstrap` that is deployed, under
    /// qemu-aarch64-static, instead of a build for this machine.
    #[arg(long, requires = "local")]
    pub arm64: bool,
    /// With --local: this prebuilt handler executable instead of building
    /// handler/ for this machine.
    #[arg(
        long,
        requires = "local",
        env = "WEBHOOK_STACK_HANDLER_BIN",
        value_name = "PATH",
        conflicts_with = "arm64"
    )]
    pub handler_bin: Option<PathBuf>,
    /// The handler crate to build (default: handler/ of the checkout that
    /// holds the working directory).
    #[arg(long, env = "WEBHOOK_STACK_HANDLER_DIR", value_name = "DIR")]
    pub handler_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Save a setting (`config` lists them; tags.KEY adds a tag).
    Set { key: String, value: String },
    /// Print a setting's value (saved, else the default).
    Get { key: String },
    /// Remove a saved setting: its default applies again.
    Unset { key: String },
}

#[derive(Debug, Subcommand)]
pub enum StateAction {
    /// The resources in state: type, physical id, the serial that last
    /// wrote them.
    List,
    /// One resource's recorded properties and outputs.
    Show { resource: String },
    /// Copy the stack's state to another backend, keeping its lineage and
    /// serial; the old copy is left where it was.
    Migrate {
        /// The backend to copy to: file://DIR or s3://BUCKET/PREFIX.
        #[arg(long, value_name = "URL")]
        to: String,
    },
}

#[cfg(test)]
mod tests {
    use super::Shard;

    #[test]
    fn shards_are_parsed_and_checked() {
        assert_eq!(Shard::parse("2/4"), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1", "a/b", "1/0", ""] {
            let err = Shard::parse(bad).unwrap_err();
            assert!(err.contains("is not a shard I/N"), "{bad}: {err}");
        }
    }

    /// Every stack of a fleet is in exactly one of the N shards, and the
    /// shards share the fleet out evenly enough to be worth splitting.
    #[test]
    fn shards_cover_a_fleet_once_each() {
        let suffixes: Vec<String> = (0..100).map(|i| format!("stack{i:03}")).collect();
        let mut sizes = [0usize; 4];
        for s in &suffixes {
            let homes: Vec<u32> = (1..=4)
                .filter(|&i| Shard { index: i, count: 4 }.contains(s))
                .collect();
            assert_eq!(homes.len(), 1, "{s} is in shards {homes:?}");
            sizes[homes[0] as usize - 1] += 1;
        }
        assert_eq!(sizes.iter().sum::<usize>(), 100);
        assert!(sizes.iter().all(|&n| (15..=35).contains(&n)), "{sizes:?}");
        // Stable: the same suffix, the same shard, on every machine.
        assert!(Shard { index: 1, count: 1 }.contains("dev"));
    }
}
