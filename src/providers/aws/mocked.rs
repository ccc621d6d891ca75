//! Updates the emulator cannot serve, against mocked clients
//! (`aws-smithy-mocks`): moto 5.2.5 answers Logs AssociateKmsKey with HTTP 500,
//! silently ignores TracingConfig, KMSKeyArn and LoggingConfig in Lambda's
//! UpdateFunctionConfiguration, never returns a LoggingConfig, and ignores a
//! new SSESpecification in DynamoDB's UpdateTable (shared/MOTO.md). These
//! tests check that the provider reads and sends the right thing; everything
//! else is tested against moto.

use super::Aws;
use crate::engine::model::{Observed, Props};
use crate::providers::{function, log_group, table};
use aws_config::BehaviorVersion;
use aws_sdk_cloudwatchlogs::operation::associate_kms_key::AssociateKmsKeyOutput;
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus, State, TracingMode};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use serde_json::json;
use std::sync::Arc;

/// Clients that must not be called: real configurations with no endpoint
/// reachable, so a stray call fails the test. A test replaces the clients
/// it mocks.
pub fn offline() -> Aws {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    Aws::from_sdk_config(&sdk)
}

fn aws_with(logs: aws_sdk_cloudwatchlogs::Client, lambda: aws_sdk_lambda::Client) -> Aws {
    let mut aws = offline();
    aws.logs = logs;
    aws.lambda = lambda;
    aws.calls = Arc::default();
    aws
}

fn props(v: serde_json::Value) -> Props {
    serde_json::from_value(v).unwrap()
}

/// GetFunction answering Active and Successful: an update has settled.
fn settled_function() -> aws_smithy_mocks::Rule {
    mock!(aws_sdk_lambda::Client::get_function).then_output(|| {
        GetFunctionOutput::builder()
            .configuration(
                FunctionConfiguration::builder()
                    .state(State::Active)
                    .last_update_status(LastUpdateStatus::Successful)
                    .build(),
            )
            .build()
    })
}

const OLD_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/old";
const NEW_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/new";

#[tokio::test]
async fn a_new_log_group_key_is_associated() {
    let name = "/aws/lambda/webhook-processor-dev";
    let associate = mock!(aws_sdk_cloudwatchlogs::Client::associate_kms_key)
        .match_requests(move |r| {
            r.log_group_name() == Some(name) && r.kms_key_id() == Some(NEW_KEY)
        })
        .then_output(|| AssociateKmsKeyOutput::builder().build());
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&associate]);
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, []);
    let aws = aws_with(logs, lambda);
    let tags = json!({"Project": "webhook-processor"});
    let current = Observed {
        id: name.into(),
        props: props(
            json!({"name": name, "retention_in_days": 30, "kms_key_id": OLD_KEY, "tags": tags}),
        ),
        outputs: [(
            "arn".to_string(),
            format!("arn:aws:logs:us-east-1:123456789012:log-group:{name}"),
        )]
        .into(),
    };
    let desired =
        props(json!({"name": name, "retention_in_days": 30, "kms_key_id": NEW_KEY, "tags": tags}));
    let updated = log_group::update(&aws, &current, &desired)
        .await
        .map_err(|f| f.error)
        .unwrap();
    assert_eq!(associate.num_calls(), 1);
    assert_eq!(updated.props["kms_key_id"], NEW_KEY);
}

#[tokio::test]
async fn tracing_and_the_environment_key_go_in_the_configuration_update() {
    let name = "webhook-processor-dev";
    let update = mock!(aws_sdk_lambda::Client::update_function_configuration)
        .match_requests(move |r| {
            r.function_name() == Some(name)
                && r.kms_key_arn() == Some(NEW_KEY)
                && r.tracing_config().and_then(|t| t.mode()) == Some(&TracingMode::Active)
                // Only the changed properties are sent.
                && r.memory_size().is_none()
                && r.environment().is_none()
        })
        .then_output(|| UpdateFunctionConfigurationOutput::builder().build());
    let settled = settled_function();
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &settled]);
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, []);
    let aws = aws_with(logs, lambda);
    let base = json!({"name": name, "memory_size": 1024, "environment": {"LOG_LEVEL": "info"},
        "tags": {}, "code_sha256": "x", "architectures": ["arm64"]});
    let mut have = base.clone();
    have["tracing_mode"] = json!("PassThrough");
    have["kms_key_arn"] = json!(OLD_KEY);
    let mut want = base;
    want["tracing_mode"] = json!("Active");
    want["kms_key_arn"] = json!(NEW_KEY);
    let current = Observed {
        id: name.into(),
        props: props(have),
        outputs: [(
            "arn".to_string(),
            format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
        )]
        .into(),
    };
    function::update(&aws, &current, &props(want), b"zip")
        .await
        .map_err(|f| f.error)
        .unwrap();
    assert_eq!(update.num_calls(), 1);
    assert!(settled.num_calls() >= 1, "waited for the update to settle");
}

/// Lambda's "not found", with the error code AWS sends (which is what
/// `errors::is_not_found` reads).
fn not_found_error() -> aws_sdk_lambda::types::error::ResourceNotFoundException {
    aws_sdk_lambda::types::error::ResourceNotFoundException::builder()
        .meta(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code("ResourceNotFoundException")
                .build(),
        )
        .build()
}

fn not_found_policy() -> aws_sdk_lambda::operation::get_policy::GetPolicyError {
    aws_sdk_lambda::operation::get_policy::GetPolicyError::ResourceNotFoundException(
        not_found_error(),
    )
}

fn not_found_url() -> aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigError
{
    aws_sdk_lambda::operation::get_function_url_config::GetFunctionUrlConfigError::ResourceNotFoundException(
        not_found_error(),
    )
}

#[tokio::test]
async fn a_logging_config_pointing_elsewhere_is_drift_and_is_put_back() {
    use aws_sdk_lambda::operation::get_function_concurrency::GetFunctionConcurrencyOutput;
    use aws_sdk_lambda::types::{LogFormat, LoggingConfig};
    let name = "webhook-processor-dev";
    let elsewhere = mock!(aws_sdk_lambda::Client::get_function).then_output(move || {
        GetFunctionOutput::builder()
            .configuration(
                FunctionConfiguration::builder()
                    .function_name(name)
                    .logging_config(
                        LoggingConfig::builder()
                            .log_format(LogFormat::Json)
                            .log_group("/somewhere/else")
                            .build(),
                    )
                    .build(),
            )
            .build()
    });
    let concurrency = mock!(aws_sdk_lambda::Client::get_function_concurrency)
        .then_output(|| GetFunctionConcurrencyOutput::builder().build());
    let policy = mock!(aws_sdk_lambda::Client::get_policy).then_error(not_found_policy);
    let url = mock!(aws_sdk_lambda::Client::get_function_url_config).then_error(not_found_url);
    let lambda = mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [&elsewhere, &concurrency, &policy, &url]
    );
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, []);
    let read = function::read(&aws_with(logs, lambda), name)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        read.props["logging_config"],
        json!({"log_format": "JSON", "log_group": "/somewhere/else"})
    );
    assert_eq!(read.props["resource_policy"], serde_json::Value::Null);
    assert_eq!(read.props["function_url"], serde_json::Value::Null);

    // Apply puts the default back: Text, to the function's own group.
    let update = mock!(aws_sdk_lambda::Client::update_function_configuration)
        .match_requests(move |r| {
            r.logging_config().is_some_and(|l| {
                l.log_format() == Some(&LogFormat::Text)
                    && l.log_group() == Some("/aws/lambda/webhook-processor-dev")
            }) && r.memory_size().is_none()
        })
        .then_output(|| UpdateFunctionConfigurationOutput::builder().build());
    let settled = settled_function();
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&update, &settled]);
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, []);
    let mut want = read.props.clone();
    want.insert(
        "logging_config".into(),
        json!({"log_format": "Text", "log_group": "/aws/lambda/webhook-processor-dev"}),
    );
    let current = Observed {
        outputs: [(
            "arn".to_string(),
            format!("arn:aws:lambda:us-east-1:123456789012:function:{name}"),
        )]
        .into(),
        ..read
    };
    function::update(&aws_with(logs, lambda), &current, &want, b"zip")
        .await
        .map_err(|f| f.error)
        .unwrap();
    assert_eq!(update.num_calls(), 1);
}

#[tokio::test]
async fn a_customer_key_on_the_table_is_switched_back_to_the_aws_managed_key() {
    use aws_sdk_dynamodb::operation::describe_table::DescribeTableOutput;
    use aws_sdk_dynamodb::operation::update_table::UpdateTableOutput;
    use aws_sdk_dynamodb::types::{SseType, TableDescription, TableStatus};
    let name = "transactions-dev";
    let update = mock!(aws_sdk_dynamodb::Client::update_table)
        .match_requests(move |r| {
            r.table_name() == Some(name)
                && r.sse_specification().is_some_and(|s| {
                    s.enabled() == Some(true)
                        && s.sse_type() == Some(&SseType::Kms)
                        // No key named: the AWS-managed aws/dynamodb.
                        && s.kms_master_key_id().is_none()
                })
                && r.billing_mode().is_none()
        })
        .then_output(|| UpdateTableOutput::builder().build());
    let active = mock!(aws_sdk_dynamodb::Client::describe_table).then_output(|| {
        DescribeTableOutput::builder()
            .table(
                TableDescription::builder()
                    .table_status(TableStatus::Active)
                    .build(),
            )
            .build()
    });
    let ddb = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&update, &active]);
    let mut aws = aws_with(
        mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, []),
        mock_client!(aws_sdk_lambda, RuleMode::MatchAny, []),
    );
    aws.dynamodb = ddb;
    let base = json!({"name": name, "billing_mode": "PAY_PER_REQUEST", "sse_enabled": true,
        "point_in_time_recovery": true, "tags": {}});
    let mut have = base.clone();
    have["sse_kms_key"] = json!(NEW_KEY);
    let mut want = base;
    want["sse_kms_key"] = serde_json::Value::Null;
    let current = Observed {
        id: name.into(),
        props: props(have),
        outputs: [(
            "arn".to_string(),
            format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}"),
        )]
        .into(),
    };
    table::update(&aws, &current, &props(want))
        .await
        .map_err(|f| f.error)
        .unwrap();
    assert_eq!(update.num_calls(), 1);
}

/// moto has no GetAccountSettings: the account's concurrency is read from a
/// mocked answer, and a limit of 150 makes the stack's 100 reserved a warning.
#[tokio::test]
async fn the_accounts_lambda_concurrency_is_read_and_a_reservation_it_cannot_spare_is_named() {
    use aws_sdk_lambda::operation::get_account_settings::GetAccountSettingsOutput;
    use aws_sdk_lambda::types::AccountLimit;
    let settings = mock!(aws_sdk_lambda::Client::get_account_settings).then_output(|| {
        GetAccountSettingsOutput::builder()
            .account_limit(
                AccountLimit::builder()
                    .concurrent_executions(150)
                    .unreserved_concurrent_executions(150)
                    .build(),
            )
            .build()
    });
    let lambda = mock_client!(aws_sdk_lambda, RuleMode::MatchAny, [&settings]);
    let logs = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, []);
    let aws = aws_with(logs, lambda);
    let found = aws.lambda_concurrency().await.unwrap().unwrap();
    assert_eq!(
        found,
        super::account::Concurrency {
            limit: 150,
            unreserved: 150
        }
    );
    let warning = super::account::reservation_problem(found, None, 100).unwrap();
    assert!(
        warning.contains("would leave 50 unreserved")
            && warning.contains("--reserved-concurrency 50 or less"),
        "{warning}"
    );
}
