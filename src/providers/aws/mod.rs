//! AWS clients, built once per run from one SDK configuration, and the count
//! of the calls they make (reported by `--json` and `-v`).

pub mod account;
pub mod errors;
mod limits;
#[cfg(test)]
mod mocked;
pub mod retry;
pub mod survey;

use aws_config::retry::RetryConfig;
use aws_config::stalled_stream_protection::StalledStreamProtectionConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
pub use errors::AwsError;
use errors::{aws_error, is_not_found};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where and as whom to talk to AWS.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub endpoint_url: Option<String>,
}

/// Calls made, by `service:Operation`. Shared by every client of a run.
#[derive(Debug, Default)]
pub struct CallLog {
    operations: Mutex<BTreeMap<String, u64>>,
    attempts: Mutex<u64>,
    /// Attempts AWS answered with throttling, by service.
    throttled: Mutex<BTreeMap<String, u64>>,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct CallCounts {
    pub reads: u64,
    pub writes: u64,
    /// HTTP attempts, retries included.
    pub attempts: u64,
    /// Attempts AWS answered with throttling (each retried by the SDK,
    /// which then slows that client down), in all and by service.
    pub throttled: u64,
    pub throttled_by_service: BTreeMap<String, u64>,
    pub by_operation: BTreeMap<String, u64>,
}

/// Read-only operations by name. Everything else counts as a write.
fn is_read(operation: &str) -> bool {
    ["Get", "List", "Describe"]
        .iter()
        .any(|p| operation.starts_with(p))
}

impl CallLog {
    pub fn counts(&self) -> CallCounts {
        let by_operation = self.operations.lock().expect("call log").clone();
        let (mut reads, mut writes) = (0, 0);
        for (op, n) in &by_operation {
            let name = op.split(':').nth(1).unwrap_or(op);
            if is_read(name) {
                reads += n
            } else {
                writes += n
            }
        }
        let throttled_by_service = self.throttled.lock().expect("call log").clone();
        CallCounts {
            reads,
            writes,
            attempts: *self.attempts.lock().expect("call log"),
            throttled: throttled_by_service.values().sum(),
            throttled_by_service,
            by_operation,
        }
    }
}

/// Counts a client's calls in the run's log, and tells the client's pacer
/// how each attempt was answered (each answer classified once).
#[derive(Debug, Clone)]
struct CountCalls {
    log: Arc<CallLog>,
    pacer: Arc<limits::Pacer>,
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "CountCalls"
    }

    // Not `read_before_execution`: for client-level interceptors it runs
    // before the operation's configuration (and its `Metadata`) is loaded.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(md) = cfg.load::<Metadata>() {
            let key = format!("{}:{}", md.service(), md.name());
            *self
                .log
                .operations
                .lock()
                .expect("call log")
                .entry(key)
                .or_default() += 1;
        }
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        *self.log.attempts.lock().expect("call log") += 1;
        Ok(())
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(response) = context.response() else {
            return Ok(());
        };
        let throttled = limits::is_throttling(
            response.status().as_u16(),
            response.body().bytes().unwrap_or_default(),
            response.headers().get("x-amzn-errortype"),
        );
        if !throttled {
            self.pacer.answered();
        } else {
            self.pacer.throttled();
            let service = cfg
                .load::<Metadata>()
                .map_or("unknown".to_owned(), |m| m.service().to_owned());
            *self
                .log
                .throttled
                .lock()
                .expect("call log")
                .entry(service)
                .or_default() += 1;
        }
        Ok(())
    }
}

/// One client per service, sharing a configuration and a call log.
#[derive(Debug, Clone)]
pub struct Aws {
    pub region: String,
    pub kms: aws_sdk_kms::Client,
    pub iam: aws_sdk_iam::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sts: aws_sdk_sts::Client,
    /// For the S3 state backend.
    pub s3: aws_sdk_s3::Client,
    pub calls: Arc<CallLog>,
    /// Answers that are the same for every stack of a run.
    once: Arc<PerRun>,
    /// Listings shared by the stacks of an `--all` run.
    survey: Option<Arc<survey::Survey>>,
    /// This run checks account limits before it creates (apply, plan).
    checks_limits: bool,
}

#[derive(Debug, Default)]
struct PerRun {
    account: tokio::sync::OnceCell<String>,
    dynamodb_key: tokio::sync::OnceCell<Option<String>>,
    lambda_concurrency: tokio::sync::OnceCell<Result<Option<account::Concurrency>, AwsError>>,
}

/// Retries: the SDK's standard mode (exponential backoff with full jitter,
/// throttling and 5xx and connection errors retried) with more attempts than
/// its default of 3, since an apply is many calls and a run over a hundred
/// stacks meets throttling; the pace after throttling is our own
/// (`limits.rs`), which measured better than the SDK's adaptive mode.
/// Timeouts bound each attempt and each operation.
fn sdk_retry_and_timeouts() -> (RetryConfig, TimeoutConfig) {
    let retry = RetryConfig::standard()
        .with_max_attempts(8)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(5));
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(120))
        .build();
    (retry, timeouts)
}

impl Aws {
    pub async fn connect(conn: &Connection) -> Aws {
        #[cfg(test)]
        if let Some(sim) = crate::sim::aws::plugged() {
            return Aws::simulated(sim).await;
        }
        // Regions: --region, else the region of
        // the selected profile (--profile, else AWS_PROFILE) in the AWS
        // config file, else the SDK's default chain (AWS_REGION, the default
        // profile, IMDS), else us-east-1. A profile named on purpose wins
        // over an AWS_REGION left in the environment (as CI often has).
        let profile = conn
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty()));
        // The SDK's default chain (the environment, the profile, IMDS), built
        // here with our HTTPS client for IMDS: the build carries no other.
        use aws_config::provider_config::ProviderConfig;
        // One HTTPS client for the region chain, the credential providers
        // and every service client (`from_sdk_config` takes it from `sdk`).
        let http = limits::base_client();
        let providers = ProviderConfig::default().with_http_client(http.clone());
        let mut region = aws_config::meta::region::RegionProviderChain::first_try(
            conn.region.clone().map(Region::new),
        );
        let mut profile_region =
            aws_config::profile::ProfileFileRegionProvider::builder().configure(&providers);
        if let Some(p) = &profile {
            profile_region = profile_region.profile_name(p);
            region = region.or_else(
                aws_config::profile::ProfileFileRegionProvider::builder()
                    .configure(&providers)
                    .profile_name(p)
                    .build(),
            );
        }
        let region = region
            .or_else(aws_config::environment::region::EnvironmentVariableRegionProvider::new())
            .or_else(profile_region.build())
            .or_else(
                aws_config::imds::region::ImdsRegionProvider::builder()
                    .configure(&providers)
                    .build(),
            )
            .or_else(Region::new("us-east-1"));
        let (retry, timeouts) = sdk_retry_and_timeouts();
        // No stalled-stream protection: its throughput checks arm a timer
        // on every request and response body, and the attempt timeout above
        // already ends a stalled call (our bodies are a few KiB).
        // Our HTTPS client for the credential providers too (SSO, web
        // identity, IMDS): the build carries no other.
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(http)
            .region(region)
            .retry_config(retry)
            .timeout_config(timeouts)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled());
        if let Some(p) = &conn.profile {
            loader = loader.profile_name(p);
        }
        if let Some(u) = &conn.endpoint_url {
            loader = loader.endpoint_url(u);
        }
        let sdk = loader.load().await;
        Aws::from_sdk_config(&sdk)
    }

    pub fn from_sdk_config(sdk: &SdkConfig) -> Aws {
        Aws::with_interceptor(sdk, None)
    }

    /// The clients of a simulated AWS (`src/sim/aws`): the same clients,
    /// retries and timeouts, with the simulation's interceptor and HTTP
    /// client below them, and the SDK's backoff without jitter, so that a
    /// seed replays the same history.
    #[cfg(test)]
    async fn simulated(sim: crate::sim::aws::Sim) -> Aws {
        let (retry, timeouts) = sdk_retry_and_timeouts();
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(sim.http_client())
            .region(Region::new("us-east-1"))
            .credentials_provider(aws_sdk_sts::config::Credentials::new(
                "AKIDSIMULATED",
                "simulated",
                None,
                None,
                "simulation",
            ))
            .endpoint_url("http://simulated.aws")
            .retry_config(retry.with_use_static_exponential_base(true))
            .timeout_config(timeouts)
            .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
            .load()
            .await;
        Aws::with_interceptor(
            &sdk,
            Some(aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(sim)),
        )
    }

    fn with_interceptor(
        sdk: &SdkConfig,
        extra: Option<aws_smithy_runtime_api::client::interceptors::SharedInterceptor>,
    ) -> Aws {
        let calls = Arc::new(CallLog::default());
        let http = sdk.http_client().unwrap_or_else(limits::base_client);
        // Each service's client: its own pace and calls-in-flight limit,
        // and the run's call log.
        let paced = |service: &str| {
            let pacer = limits::Pacer::new();
            (
                limits::Limited::new(http.clone(), limits::in_flight(service), pacer.clone()),
                CountCalls {
                    log: calls.clone(),
                    pacer,
                },
            )
        };
        macro_rules! client {
            ($krate:ident, $service:literal) => {{
                let (http, counter) = paced($service);
                let mut conf = $krate::config::Builder::from(sdk)
                    .http_client(http)
                    .interceptor(counter);
                if let Some(x) = &extra {
                    conf.push_interceptor(x.clone());
                }
                $krate::Client::from_conf(conf.build())
            }};
        }
        Aws {
            region: sdk
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "us-east-1".into()),
            kms: client!(aws_sdk_kms, "kms"),
            iam: client!(aws_sdk_iam, "iam"),
            lambda: client!(aws_sdk_lambda, "lambda"),
            dynamodb: client!(aws_sdk_dynamodb, "dynamodb"),
            logs: client!(aws_sdk_cloudwatchlogs, "logs"),
            cloudwatch: client!(aws_sdk_cloudwatch, "cloudwatch"),
            sqs: client!(aws_sdk_sqs, "sqs"),
            sts: client!(aws_sdk_sts, "sts"),
            // Path-style against an emulator's endpoint (`http://host:port/bucket/key`):
            // a virtual-hosted `bucket.localhost` would not resolve.
            s3: {
                let (http, counter) = paced("s3");
                let mut conf = aws_sdk_s3::config::Builder::from(sdk)
                    .http_client(http)
                    .force_path_style(sdk.endpoint_url().is_some())
                    .interceptor(counter);
                if let Some(x) = &extra {
                    conf.push_interceptor(x.clone());
                }
                aws_sdk_s3::Client::from_conf(conf.build())
            },
            calls,
            once: Arc::default(),
            survey: None,
            checks_limits: false,
        }
    }

    /// The same clients, reading many stacks: what can be listed is listed
    /// once for all of them (`survey.rs`). `log_groups` and `roles` are the
    /// names of the log groups and roles the run will read.
    pub fn surveying<'a>(
        self,
        log_groups: impl IntoIterator<Item = &'a str>,
        roles: impl IntoIterator<Item = &'a str>,
    ) -> Aws {
        Aws {
            survey: Some(Arc::new(survey::Survey::new(log_groups, roles))),
            ..self
        }
    }

    pub fn survey(&self) -> Option<&survey::Survey> {
        self.survey.as_deref()
    }

    /// The same clients, for a run that checks account limits before it
    /// creates anything: `Stack::load` then asks for the limits it will
    /// likely need alongside its reads.
    pub fn checking_limits(self) -> Aws {
        Aws {
            checks_limits: true,
            ..self
        }
    }

    pub fn checks_limits(&self) -> bool {
        self.checks_limits
    }

    /// The account's Lambda concurrency (`account.rs`), asked once per run.
    pub async fn lambda_concurrency(&self) -> Result<Option<account::Concurrency>, AwsError> {
        self.once
            .lambda_concurrency
            .get_or_init(|| account::ask_lambda_concurrency(self))
            .await
            .clone()
    }

    /// The account of the credentials, asked of STS once per run (not once
    /// per stack of `--all`).
    pub async fn account(&self) -> Result<String, AwsError> {
        self.once
            .account
            .get_or_try_init(|| async {
                self.sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map(|o| o.account.unwrap_or_default())
                    .map_err(aws_error("GetCallerIdentity"))
            })
            .await
            .cloned()
    }

    /// The ARN of the AWS-managed DynamoDB key (`alias/aws/dynamodb`), once
    /// per run; `None` when the account has none in this region yet.
    pub async fn dynamodb_managed_key(&self) -> Result<Option<String>, AwsError> {
        self.once
            .dynamodb_key
            .get_or_try_init(|| async {
                match self
                    .kms
                    .describe_key()
                    .key_id("alias/aws/dynamodb")
                    .send()
                    .await
                {
                    Ok(out) => Ok(out.key_metadata().and_then(|m| m.arn()).map(str::to_owned)),
                    Err(e) if is_not_found(&e) => Ok(None),
                    Err(e) => Err(aws_error("DescribeKey")(e)),
                }
            })
            .await
            .cloned()
    }
}
