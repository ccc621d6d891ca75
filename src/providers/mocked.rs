//! Updates the emulator cannot serve, against mocked clients
//! (`aws-smithy-mocks`): moto 5.2.5 answers Logs AssociateKmsKey with HTTP 500
//! and silently ignores TracingConfig and KMSKeyArn in Lambda's
//! UpdateFunctionConfiguration (shared/MOTO.md). These tests check that the
//! provider sends the right request; everything else is tested against moto.

use super::{function, log_group, Aws};
use crate::engine::model::{Observed, Props};
use aws_config::BehaviorVersion;
use aws_sdk_cloudwatchlogs::operation::associate_kms_key::AssociateKmsKeyOutput;
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus, State, TracingMode};
use aws_smithy_mocks::{mock, mock_client, RuleMode};
use serde_json::json;
use std::sync::Arc;

/// Clients that must not be called: real configurations with no endpoint
/// reachable, so a stray call fails the test.
fn aws_with(logs: aws_sdk_cloudwatchlogs::Client, lambda: aws_sdk_lambda::Client) -> Aws {
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .build();
    let mut aws = Aws::from_sdk_config(&sdk);
    aws.logs = logs;
    aws.lambda = lambda;
    aws.calls = Arc::default();
    aws
}

fn props(v: serde_json::Value) -> Props {
    serde_json::from_value(v).unwrap()
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
    let settled = mock!(aws_sdk_lambda::Client::get_function).then_output(|| {
        GetFunctionOutput::builder()
            .configuration(
                FunctionConfiguration::builder()
                    .state(State::Active)
                    .last_update_status(LastUpdateStatus::Successful)
                    .build(),
            )
            .build()
    });
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
