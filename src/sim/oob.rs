//! Changes made behind the stack's back, through the same simulated API a
//! console or another tool would use.

use super::aws::{serve, World};
use super::history::OutOfBand;
use super::invariants::Observation;
use super::run::SUFFIX;
use std::collections::BTreeSet;

const OWNER: (&str, &str) = ("Owner", "console");
const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn name(key: &str) -> String {
    crate::program::name(&crate::names::Suffix::parse(SUFFIX).expect("suffix"), key)
}

/// The stack's key: the one its alias targets, else the one state records.
fn stack_key(w: &World, before: &Observation) -> Option<String> {
    w.kms
        .aliases
        .get(&name("kms_alias"))
        .map(|a| a.target.clone())
        .or_else(|| {
            before
                .main
                .as_ref()?
                .resources
                .get("kms_key")
                .map(|r| r.id.clone())
        })
}

fn queue_url(w: &World) -> String {
    format!(
        "https://sqs.{}.amazonaws.com/{}/{}",
        w.region,
        w.account,
        name("dead_letter_queue")
    )
}

/// A new key of someone else's (no tags); its id.
fn foreign_key(w: &mut World) -> Option<String> {
    let out = serve(
        w,
        aws_sdk_kms::operation::create_key::CreateKeyInput::builder()
            .description("someone else's key")
            .build()
            .ok()?,
    )
    .ok()?;
    let out = out
        .downcast::<aws_sdk_kms::operation::create_key::CreateKeyOutput>()
        .ok()?;
    Some(out.key_metadata?.key_id)
}

pub fn apply(
    w: &mut World,
    change: &OutOfBand,
    foreign: &mut BTreeSet<(&'static str, String)>,
    before: &Observation,
) {
    let items_before = w.inventory();
    match change {
        OutOfBand::Delete(r) => delete(w, r, before),
        OutOfBand::Modify(r) => modify(w, r, before),
        OutOfBand::AddTag(r) => add_tag(w, r, before),
        OutOfBand::AddPermission => {
            w.lambda
                .add_permission(&name("function"), "console", "events.amazonaws.com");
        }
        OutOfBand::CreateForeign(r) => {
            // Only under a name free in the account and unknown to the
            // state: what is recorded is the stack's.
            let recorded = before
                .main
                .as_ref()
                .is_some_and(|s| s.resources.contains_key(r.as_str()));
            let taken = w.inventory().iter().any(|i| i.id.ends_with(&name(r)));
            if !recorded && !taken {
                create_foreign(w, r);
                for item in w.inventory() {
                    if !items_before
                        .iter()
                        .any(|b| b.kind == item.kind && b.id == item.id)
                    {
                        foreign.insert((item.kind, item.id));
                    }
                }
            }
        }
    }
    // What a change deleted is no one's any more.
    let now = w.inventory();
    foreign.retain(|(kind, id)| now.iter().any(|i| i.kind == *kind && i.id == *id));
}

fn delete(w: &mut World, r: &str, before: &Observation) {
    let n = name(r);
    let _ = match r {
        "kms_key" => match stack_key(w, before) {
            Some(k) => serve(
                w,
                aws_sdk_kms::operation::schedule_key_deletion::ScheduleKeyDeletionInput::builder()
                    .key_id(k)
                    .pending_window_in_days(7)
                    .build()
                    .expect("input"),
            ),
            None => return,
        },
        "kms_alias" => serve(
            w,
            aws_sdk_kms::operation::delete_alias::DeleteAliasInput::builder()
                .alias_name(n)
                .build()
                .expect("input"),
        ),
        "log_group" => serve(
            w,
            aws_sdk_cloudwatchlogs::operation::delete_log_group::DeleteLogGroupInput::builder()
                .log_group_name(n)
                .build()
                .expect("input"),
        ),
        "table" => serve(
            w,
            aws_sdk_dynamodb::operation::delete_table::DeleteTableInput::builder()
                .table_name(n)
                .build()
                .expect("input"),
        ),
        "role" => {
            use aws_sdk_iam::operation::*;
            let role = |n: &str| n.to_string();
            if let Ok(out) = serve(
                w,
                list_role_policies::ListRolePoliciesInput::builder()
                    .role_name(role(&n))
                    .build()
                    .expect("input"),
            ) {
                if let Ok(out) = out.downcast::<list_role_policies::ListRolePoliciesOutput>() {
                    for p in out.policy_names {
                        let _ = serve(
                            w,
                            delete_role_policy::DeleteRolePolicyInput::builder()
                                .role_name(role(&n))
                                .policy_name(p)
                                .build()
                                .expect("input"),
                        );
                    }
                }
            }
            if let Ok(out) = serve(
                w,
                list_attached_role_policies::ListAttachedRolePoliciesInput::builder()
                    .role_name(role(&n))
                    .build()
                    .expect("input"),
            ) {
                if let Ok(out) =
                    out.downcast::<list_attached_role_policies::ListAttachedRolePoliciesOutput>()
                {
                    for p in out.attached_policies.unwrap_or_default() {
                        let _ = serve(
                            w,
                            detach_role_policy::DetachRolePolicyInput::builder()
                                .role_name(role(&n))
                                .set_policy_arn(p.policy_arn)
                                .build()
                                .expect("input"),
                        );
                    }
                }
            }
            serve(
                w,
                delete_role::DeleteRoleInput::builder()
                    .role_name(n)
                    .build()
                    .expect("input"),
            )
        }
        "function" => serve(
            w,
            aws_sdk_lambda::operation::delete_function::DeleteFunctionInput::builder()
                .function_name(n)
                .build()
                .expect("input"),
        ),
        "dead_letter_queue" => {
            let url = queue_url(w);
            serve(
                w,
                aws_sdk_sqs::operation::delete_queue::DeleteQueueInput::builder()
                    .queue_url(url)
                    .build()
                    .expect("input"),
            )
        }
        _ => serve(
            w,
            aws_sdk_cloudwatch::operation::delete_alarms::DeleteAlarmsInput::builder()
                .alarm_names(n)
                .build()
                .expect("input"),
        ),
    };
}

fn modify(w: &mut World, r: &str, before: &Observation) {
    let n = name(r);
    let _ = match r {
        "kms_key" => match stack_key(w, before) {
            Some(k) => serve(
                w,
                aws_sdk_kms::operation::disable_key_rotation::DisableKeyRotationInput::builder()
                    .key_id(k)
                    .build()
                    .expect("input"),
            ),
            None => return,
        },
        // Pointed at someone else's key.
        "kms_alias" => {
            if !w.kms.aliases.contains_key(&n) {
                return;
            }
            let Some(k) = foreign_key(w) else { return };
            serve(
                w,
                aws_sdk_kms::operation::update_alias::UpdateAliasInput::builder()
                    .alias_name(n)
                    .target_key_id(k)
                    .build()
                    .expect("input"),
            )
        }
        "log_group" => serve(
            w,
            aws_sdk_cloudwatchlogs::operation::put_retention_policy::PutRetentionPolicyInput::builder()
                .log_group_name(n)
                .retention_in_days(90)
                .build()
                .expect("input"),
        ),
        "table" => serve(
            w,
            aws_sdk_dynamodb::operation::update_continuous_backups::UpdateContinuousBackupsInput::builder()
                .table_name(n)
                .point_in_time_recovery_specification(
                    aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(false)
                        .build()
                        .expect("input"),
                )
                .build()
                .expect("input"),
        ),
        // A permission added to the role.
        "role" => serve(
            w,
            aws_sdk_iam::operation::put_role_policy::PutRolePolicyInput::builder()
                .role_name(n)
                .policy_name("AddedFromTheConsole")
                .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
                .build()
                .expect("input"),
        ),
        "function" => serve(
            w,
            aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationInput::builder()
                .function_name(n)
                .memory_size(1024)
                .build()
                .expect("input"),
        ),
        "dead_letter_queue" => {
            let url = queue_url(w);
            serve(
                w,
                aws_sdk_sqs::operation::set_queue_attributes::SetQueueAttributesInput::builder()
                    .queue_url(url)
                    .attributes(aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod, "345600")
                    .build()
                    .expect("input"),
            )
        }
        // An alarm: its tags are the one thing to change without reading it.
        _ => return add_tag(w, r, before),
    };
}

fn add_tag(w: &mut World, r: &str, before: &Observation) {
    let n = name(r);
    let (k, v) = OWNER;
    let _ = match r {
        "kms_key" => match stack_key(w, before) {
            Some(key) => serve(
                w,
                aws_sdk_kms::operation::tag_resource::TagResourceInput::builder()
                    .key_id(key)
                    .tags(
                        aws_sdk_kms::types::Tag::builder()
                            .tag_key(k)
                            .tag_value(v)
                            .build()
                            .expect("tag"),
                    )
                    .build()
                    .expect("input"),
            ),
            None => return,
        },
        "kms_alias" => return,
        "log_group" => {
            let arn = w.arn("logs", &format!("log-group:{n}"));
            serve(
                w,
                aws_sdk_cloudwatchlogs::operation::tag_resource::TagResourceInput::builder()
                    .resource_arn(arn)
                    .tags(k, v)
                    .build()
                    .expect("input"),
            )
        }
        "table" => {
            let arn = w.arn("dynamodb", &format!("table/{n}"));
            serve(
                w,
                aws_sdk_dynamodb::operation::tag_resource::TagResourceInput::builder()
                    .resource_arn(arn)
                    .tags(
                        aws_sdk_dynamodb::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .expect("tag"),
                    )
                    .build()
                    .expect("input"),
            )
        }
        "role" => serve(
            w,
            aws_sdk_iam::operation::tag_role::TagRoleInput::builder()
                .role_name(n)
                .tags(
                    aws_sdk_iam::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .expect("tag"),
                )
                .build()
                .expect("input"),
        ),
        "function" => {
            let arn = w.arn("lambda", &format!("function:{n}"));
            serve(
                w,
                aws_sdk_lambda::operation::tag_resource::TagResourceInput::builder()
                    .resource(arn)
                    .tags(k, v)
                    .build()
                    .expect("input"),
            )
        }
        "dead_letter_queue" => {
            let url = queue_url(w);
            serve(
                w,
                aws_sdk_sqs::operation::tag_queue::TagQueueInput::builder()
                    .queue_url(url)
                    .tags(k, v)
                    .build()
                    .expect("input"),
            )
        }
        _ => {
            let arn = w.arn("cloudwatch", &format!("alarm:{n}"));
            serve(
                w,
                aws_sdk_cloudwatch::operation::tag_resource::TagResourceInput::builder()
                    .resource_arn(arn)
                    .tags(
                        aws_sdk_cloudwatch::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build(),
                    )
                    .build()
                    .expect("input"),
            )
        }
    };
}

fn create_foreign(w: &mut World, r: &str) {
    let n = name(r);
    let _ = match r {
        "kms_key" => {
            foreign_key(w);
            return;
        }
        "kms_alias" => {
            let Some(k) = foreign_key(w) else { return };
            serve(
                w,
                aws_sdk_kms::operation::create_alias::CreateAliasInput::builder()
                    .alias_name(n)
                    .target_key_id(k)
                    .build()
                    .expect("input"),
            )
        }
        "log_group" => serve(
            w,
            aws_sdk_cloudwatchlogs::operation::create_log_group::CreateLogGroupInput::builder()
                .log_group_name(n)
                .build()
                .expect("input"),
        ),
        "table" => {
            use aws_sdk_dynamodb::types::*;
            serve(
                w,
                aws_sdk_dynamodb::operation::create_table::CreateTableInput::builder()
                    .table_name(n)
                    .billing_mode(BillingMode::PayPerRequest)
                    .attribute_definitions(
                        AttributeDefinition::builder()
                            .attribute_name("pk")
                            .attribute_type(ScalarAttributeType::S)
                            .build()
                            .expect("input"),
                    )
                    .key_schema(
                        KeySchemaElement::builder()
                            .attribute_name("pk")
                            .key_type(KeyType::Hash)
                            .build()
                            .expect("input"),
                    )
                    .build()
                    .expect("input"),
            )
        }
        "role" => serve(w, role_input(&n)),
        "function" => {
            let role = "someone-elses-role";
            let _ = serve(w, role_input(role));
            let arn = format!("arn:aws:iam::{}:role/{role}", w.account);
            serve(
                w,
                aws_sdk_lambda::operation::create_function::CreateFunctionInput::builder()
                    .function_name(n)
                    .role(arn)
                    .runtime(aws_sdk_lambda::types::Runtime::Python312)
                    .handler("index.handler")
                    .code(
                        aws_sdk_lambda::types::FunctionCode::builder()
                            .zip_file(aws_smithy_types::Blob::new(b"someone else's".to_vec()))
                            .build(),
                    )
                    .build()
                    .expect("input"),
            )
        }
        "dead_letter_queue" => serve(
            w,
            aws_sdk_sqs::operation::create_queue::CreateQueueInput::builder()
                .queue_name(n)
                .build()
                .expect("input"),
        ),
        _ => {
            use aws_sdk_cloudwatch::types::*;
            serve(
                w,
                aws_sdk_cloudwatch::operation::put_metric_alarm::PutMetricAlarmInput::builder()
                    .alarm_name(n)
                    .namespace("Someone/Else")
                    .metric_name("Things")
                    .statistic(Statistic::Sum)
                    .period(60)
                    .evaluation_periods(1)
                    .threshold(1.0)
                    .comparison_operator(ComparisonOperator::GreaterThanThreshold)
                    .build()
                    .expect("input"),
            )
        }
    };
}

fn role_input(name: &str) -> aws_sdk_iam::operation::create_role::CreateRoleInput {
    aws_sdk_iam::operation::create_role::CreateRoleInput::builder()
        .role_name(name)
        .assume_role_policy_document(TRUST)
        .build()
        .expect("input")
}
