//! The dead-letter queue (setting `dead_letter_queue`), against moto: an SQS
//! queue encrypted with the stack's key, 14 days, tagged; the function's
//! DeadLetterConfig points at it; the role may send to exactly it; with
//! `alarms`, a fifth alarm on its messages. Drift-checked, removed by turning
//! the setting off (the function's target cleared) and by `destroy`.
//!
//! moto 5.2.5 accepts a function's DeadLetterConfig but never returns it; the
//! test server (scripts/moto_server.py) stores and returns it as AWS does.

use crate::common::spec::inline_policy;
use crate::common::{drifted, row, sdk, TestStack};
use aws_sdk_sqs::types::QueueAttributeName as Attr;
use serde_json::json;

async fn queue_url(sqs: &aws_sdk_sqs::Client, name: &str) -> Option<String> {
    sqs.get_queue_url()
        .queue_name(name)
        .send()
        .await
        .ok()
        .and_then(|o| o.queue_url)
}

async fn dead_letter_target(lambda: &aws_sdk_lambda::Client, function: &str) -> Option<String> {
    let f = lambda
        .get_function()
        .function_name(function)
        .send()
        .await
        .unwrap();
    f.configuration()
        .and_then(|c| c.dead_letter_config())
        .and_then(|d| d.target_arn())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dead_letter_queue_is_opt_in_wired_drift_checked_and_removed() {
    let st = TestStack::new("dlq");
    let n = st.names();
    let cfg = sdk().await;
    let sqs = aws_sdk_sqs::Client::new(&cfg);
    let lambda = aws_sdk_lambda::Client::new(&cfg);
    let iam = aws_sdk_iam::Client::new(&cfg);

    // Off by default: the CloudFormation stack's six resources.
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(queue_url(&sqs, &n.dlq).await, None);
    assert_eq!(dead_letter_target(&lambda, &n.function).await, None);

    let plan = st.run(&["plan", "--dead-letter-queue"]).ok();
    assert!(
        plan.stdout.contains("Plan: 1 to add, 2 to change"),
        "{}",
        plan.stdout
    );
    st.run(&["apply", "--yes", "--dead-letter-queue"]).ok();
    let url = queue_url(&sqs, &n.dlq).await.expect("the queue exists");
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(Attr::All)
        .send()
        .await
        .unwrap();
    let attrs = attrs.attributes().unwrap();
    let state = st.state();
    let key_arn = state["resources"]["kms_key"]["outputs"]["arn"]
        .as_str()
        .unwrap();
    assert_eq!(attrs[&Attr::KmsMasterKeyId], key_arn);
    assert_eq!(attrs[&Attr::MessageRetentionPeriod], "1209600");
    let queue_arn = attrs[&Attr::QueueArn].clone();
    let tags = sqs.list_queue_tags().queue_url(&url).send().await.unwrap();
    let tags = tags.tags().unwrap();
    assert_eq!(tags["ManagedBy"], "webhook-stack");
    assert_eq!(tags["Environment"], st.suffix);
    assert_eq!(
        dead_letter_target(&lambda, &n.function).await.as_deref(),
        Some(queue_arn.as_str())
    );
    let policy = inline_policy(&iam, &n.role, &n.role_policy).await;
    let statements = policy["Statement"].as_array().unwrap();
    let send = statements
        .iter()
        .find(|s| s["Sid"] == "SendToDeadLetterQueue")
        .expect("the role may send to the queue");
    assert_eq!(send["Resource"], json!([queue_arn]));
    let key = statements
        .iter()
        .find(|s| s["Sid"] == "EncryptDeadLetterQueue")
        .unwrap();
    assert_eq!(key["Resource"], json!([key_arn]));
    assert_eq!(
        key["Condition"]["StringEquals"]["kms:ViaService"],
        json!(["sqs.us-east-1.amazonaws.com"])
    );

    // Saved with the apply: a plain plan converges, drift is clean, the
    // outputs name the queue.
    let plan = st.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 0, "{}{}", plan.stdout, plan.stderr);
    assert_eq!(drifted(&st), (0, vec![]));
    let outputs = st.run(&["outputs", "--json"]).ok().json();
    assert_eq!(outputs["DeadLetterQueueArn"], json!(queue_arn));
    assert_eq!(outputs["DeadLetterQueueUrl"], json!(url));

    // Out of band: retention shortened, the function's target removed.
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(Attr::MessageRetentionPeriod, "60")
        .send()
        .await
        .unwrap();
    lambda
        .update_function_configuration()
        .function_name(&n.function)
        .dead_letter_config(
            aws_sdk_lambda::types::DeadLetterConfig::builder()
                .target_arn("")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        drifted(&st),
        (
            2,
            vec![
                row(
                    "dead_letter_queue",
                    "MODIFIED",
                    &["message_retention_seconds"]
                ),
                row("function", "MODIFIED", &["dead_letter_target"]),
            ]
        )
    );
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(drifted(&st), (0, vec![]));

    // With alarms: a fifth, on the queue's waiting messages.
    st.run(&["apply", "--yes", "--alarms"]).ok();
    let cw = aws_sdk_cloudwatch::Client::new(&cfg);
    let alarm = cw
        .describe_alarms()
        .alarm_names(&n.alarm_dlq_messages)
        .send()
        .await
        .unwrap();
    let alarm = &alarm.metric_alarms()[0];
    assert_eq!(alarm.namespace(), Some("AWS/SQS"));
    assert_eq!(
        alarm.metric_name(),
        Some("ApproximateNumberOfMessagesVisible")
    );
    assert_eq!(alarm.dimensions()[0].value(), Some(n.dlq.as_str()));
    assert_eq!(alarm.period(), Some(300));

    // Off: the queue and its alarm go, the function's target is cleared,
    // the role's statements are removed.
    st.run(&["apply", "--yes", "--dead-letter-queue=false"])
        .ok();
    assert_eq!(queue_url(&sqs, &n.dlq).await, None);
    assert_eq!(dead_letter_target(&lambda, &n.function).await, None);
    let policy = inline_policy(&iam, &n.role, &n.role_policy).await;
    assert!(!policy.to_string().contains("sqs:"), "{policy}");
    let gone = cw
        .describe_alarms()
        .alarm_names(&n.alarm_dlq_messages)
        .send()
        .await
        .unwrap();
    assert!(gone.metric_alarms().is_empty());
    assert!(st.state()["resources"].get("dead_letter_queue").is_none());

    // On again, then destroy removes it with the rest.
    st.run(&["apply", "--yes", "--dead-letter-queue"]).ok();
    assert!(queue_url(&sqs, &n.dlq).await.is_some());
    st.run(&["destroy", "--yes"]).ok();
    assert_eq!(queue_url(&sqs, &n.dlq).await, None);
}
