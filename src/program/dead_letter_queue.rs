//! The dead-letter queue (setting `dead_letter_queue`, off by default): an
//! SQS queue `webhook-processor-S-dlq` where Lambda puts the events of
//! asynchronous invocations (EventBridge, where Stripe's partner events
//! land) that failed after its two retries, instead of dropping them.
//!
//! Everything the queue needs is declared here: the queue, encrypted with
//! the stack's key and keeping messages 14 days; the function's target; the
//! role's permission to send to exactly this queue and to use the key for
//! it (SQS encrypts with the sender's own KMS permissions, which the key
//! policy's root statement delegates to IAM, so the key policy needs no
//! statement of its own); and, with `alarms`, an alarm on messages waiting.

use super::alarms::{alarm, single, when_alarms, LIMIT};
use super::role::statement;
use super::{props, Body, Resource, StackContext, FUNCTION, KMS_KEY, ROLE};
use crate::engine::expr::{lit, object, output, Expr};
use crate::engine::model::Declared;
use crate::settings::Settings;
use serde_json::json;

pub const DEAD_LETTER_QUEUE: &str = "dead_letter_queue";

/// 14 days, the longest SQS keeps a message.
const RETENTION_SECONDS: i32 = 1_209_600;

fn when_on(s: &Settings) -> bool {
    s.dead_letter_queue
}

pub const RESOURCE: Resource = Resource {
    key: DEAD_LETTER_QUEUE,
    kind: crate::providers::queue::KIND,
    name: |s| format!("webhook-processor-{s}-dlq"),
    limit: Some(("SQS (queue name)", 80)),
    declared_when: when_on,
    declare,
    amend: Some(amend),
    outputs: &[("DeadLetterQueueUrl", "url"), ("DeadLetterQueueArn", "arn")],
};

/// Messages waiting in the queue: an event the function gave up on.
pub const ALARM: Resource = Resource {
    key: "alarm_dlq_messages",
    kind: crate::providers::alarm::KIND,
    name: |s| format!("webhook-processor-{s}-dlq-messages"),
    limit: LIMIT,
    declared_when: |s| when_on(s) && when_alarms(s),
    declare: |ctx| {
        let dimensions = object([("QueueName", output(DEAD_LETTER_QUEUE, "name"))]);
        alarm(
            ctx,
            ALARM.key,
            "Events in the dead-letter queue: the function failed to process them",
            0.0,
            single(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                dimensions,
                300,
                "Maximum",
            ),
        )
    },
    amend: None,
    outputs: &[],
};

fn declare(ctx: &StackContext) -> Body {
    Body {
        props: props([
            ("name", lit(ctx.name(DEAD_LETTER_QUEUE))),
            ("kms_master_key_id", output(KMS_KEY, "arn")),
            ("message_retention_seconds", lit(RETENTION_SECONDS)),
            ("tags", ctx.tags()),
        ]),
        depends_on: vec![],
    }
}

fn amend(ctx: &StackContext, declared: &mut [Declared]) {
    let function = super::declared_mut(declared, FUNCTION);
    function
        .props
        .insert("dead_letter_target", output(DEAD_LETTER_QUEUE, "arn"));
    let role = super::declared_mut(declared, ROLE);
    super::role::allow(
        role,
        statement(
            "SendToDeadLetterQueue",
            &["sqs:SendMessage"],
            output(DEAD_LETTER_QUEUE, "arn"),
        ),
    );
    // Only through SQS, for this region's queues.
    let via_sqs = lit(json!({
        "StringEquals": {"kms:ViaService": format!("sqs.{}.amazonaws.com", ctx.region)}
    }));
    let Expr::Object(mut fields) = statement(
        "EncryptDeadLetterQueue",
        &["kms:GenerateDataKey", "kms:Decrypt"],
        output(KMS_KEY, "arn"),
    ) else {
        unreachable!("a statement is an object");
    };
    fields.push(("Condition".into(), via_sqs));
    super::role::allow(role, Expr::Object(fields));
}
