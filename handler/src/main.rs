//! `bootstrap`: wires the handler to the Lambda runtime. Everything here runs once per
//! cold start; the SDK client is built here and shared by every invocation.

use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;
use webhook_handler::config::Config;
use webhook_handler::{telemetry, DynamoStore, Handler};

// One invocation at a time per execution environment: a single-threaded runtime starts
// faster and uses less memory than a thread pool that would sit idle.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let config = Config::from_env()?;
    telemetry::init(&config.log_level);

    // Region and credentials come from the Lambda environment; credentials are resolved
    // lazily on the first call, so this does no network I/O. A stuck DynamoDB call should
    // fail (and be logged with its transaction id) well inside the 30 s function timeout.
    let sdk_config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(webhook_handler::http::https_client())
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_secs(5))
                .operation_timeout(Duration::from_secs(20))
                .build(),
        )
        .load()
        .await;
    let store = DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk_config),
        config.table_name.clone(),
    );
    let handler = Handler::new(store);

    tracing::info!(
        table = %config.table_name,
        environment = config.environment.as_deref(),
        "handler ready"
    );
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| {
        handler.handle(event)
    }))
    .await
}
