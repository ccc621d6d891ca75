//! The stack's declarations: edges, and least privilege.

use super::kms_alias::KMS_ALIAS;
use super::*;
use crate::engine::graph::Graph;

fn ctx_with(settings: Settings) -> StackContext {
    StackContext::new(
        Suffix::parse("dev").unwrap(),
        "us-east-1".into(),
        "123456789012".into(),
        "abc=".into(),
        settings,
    )
}

fn ctx() -> StackContext {
    ctx_with(Settings::default())
}

#[test]
fn names_derive_from_the_table() {
    let ctx = ctx();
    for (key, name) in [
        (FUNCTION, "webhook-processor-dev"),
        (KMS_KEY, "alias/webhook-processor-dev"),
        (KMS_ALIAS, "alias/webhook-processor-dev"),
        (LOG_GROUP, "/aws/lambda/webhook-processor-dev"),
        (TABLE, "transactions-dev"),
        (ROLE, "webhook-processor-role-dev"),
        ("alarm_error_rate", "webhook-processor-dev-error-rate"),
        ("alarm_table_errors", "transactions-dev-system-errors"),
        ("dead_letter_queue", "webhook-processor-dev-dlq"),
        ("alarm_dlq_messages", "webhook-processor-dev-dlq-messages"),
    ] {
        assert_eq!(ctx.name(key), name);
        assert_eq!(super::name(&ctx.suffix, key), name);
    }
    assert_eq!(
        role::policy_name(&ctx.suffix),
        "webhook-processor-policy-dev"
    );
}

/// The longest suffix `Suffix::parse` accepts gives names within every
/// service's limit, so no name needs checking at run time.
#[test]
fn the_longest_suffix_fits_every_limit() {
    let longest = Suffix::parse(&"x".repeat(crate::names::MAX_SUFFIX_LEN)).unwrap();
    for r in RESOURCES {
        if let Some((service, max)) = r.limit {
            let name = (r.name)(&longest);
            assert!(name.len() <= max, "{name}: {service} allows {max}");
        }
    }
    assert!(role::policy_name(&longest).len() <= 128);
    let mut keys = keys();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), RESOURCES.len(), "logical names are unique");
}

#[test]
fn the_settings_choose_the_resources() {
    let keys = |s: Settings| -> Vec<&str> { declare(&ctx_with(s)).iter().map(|d| d.key).collect() };
    assert_eq!(
        keys(Settings::default()),
        [KMS_KEY, KMS_ALIAS, LOG_GROUP, TABLE, ROLE, FUNCTION]
    );
    let all = keys(Settings {
        alarms: true,
        dead_letter_queue: true,
        ..Settings::default()
    });
    assert_eq!(all.len(), 13);
    let dlq_only = keys(Settings {
        dead_letter_queue: true,
        ..Settings::default()
    });
    assert_eq!(dlq_only.len(), 7);
    assert!(!dlq_only.contains(&"alarm_dlq_messages"));
}

#[test]
fn the_dead_letter_queue_is_wired_to_the_function_and_the_role() {
    let declared = declare(&ctx_with(Settings {
        dead_letter_queue: true,
        ..Settings::default()
    }));
    let deps: BTreeMap<&str, Vec<&str>> =
        declared.iter().map(|d| (d.key, d.dependencies())).collect();
    assert_eq!(deps["dead_letter_queue"], [KMS_KEY]);
    assert!(deps[ROLE].contains(&"dead_letter_queue"));
    assert!(deps[FUNCTION].contains(&"dead_letter_queue"));
    Graph::new(declared.iter().map(|d| (d.key, d.dependencies()))).unwrap();
}

#[test]
fn the_references_give_the_spec_edges() {
    let declared = declare(&ctx());
    let deps: BTreeMap<&str, Vec<&str>> =
        declared.iter().map(|d| (d.key, d.dependencies())).collect();
    assert_eq!(deps[KMS_KEY], Vec::<&str>::new());
    assert_eq!(deps[KMS_ALIAS], [KMS_KEY]);
    assert_eq!(deps[LOG_GROUP], [KMS_KEY]);
    assert_eq!(deps[TABLE], Vec::<&str>::new());
    let mut role = deps[ROLE].clone();
    role.sort();
    assert_eq!(role, [KMS_KEY, LOG_GROUP, TABLE]);
    let mut function = deps[FUNCTION].clone();
    function.sort();
    assert_eq!(function, [KMS_KEY, LOG_GROUP, ROLE, TABLE]);
    let graph = Graph::new(declared.iter().map(|d| (d.key, d.dependencies()))).unwrap();
    assert_eq!(graph.topological_order().last().unwrap(), FUNCTION);
}

/// Least privilege, checked on the declarations themselves.
mod security {
    use super::*;
    use crate::engine::expr::OutputsByResource;
    use serde_json::Value;

    fn resolved(resource: &str, prop: &str) -> Value {
        resolved_with(Settings::default(), resource, prop)
    }

    fn resolved_with(settings: Settings, resource: &str, prop: &str) -> Value {
        let ctx = StackContext::new(
            Suffix::parse("dev").unwrap(),
            "eu-west-1".into(),
            "111122223333".into(),
            String::new(),
            settings,
        );
        let mut outputs = OutputsByResource::new();
        outputs.insert(
            KMS_KEY.into(),
            [
                (
                    "arn".into(),
                    "arn:aws:kms:eu-west-1:111122223333:key/k".into(),
                ),
                ("key_id".into(), "k".into()),
            ]
            .into(),
        );
        outputs.insert(
            TABLE.into(),
            [
                (
                    "arn".into(),
                    "arn:aws:dynamodb:eu-west-1:111122223333:table/transactions-dev".into(),
                ),
                ("name".into(), "transactions-dev".into()),
            ]
            .into(),
        );
        outputs.insert(
            LOG_GROUP.into(),
            [(
                "arn".into(),
                "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/webhook-processor-dev"
                    .into(),
            )]
            .into(),
        );
        outputs.insert(
            "dead_letter_queue".into(),
            [(
                "arn".into(),
                "arn:aws:sqs:eu-west-1:111122223333:webhook-processor-dev-dlq".into(),
            )]
            .into(),
        );
        let d = declare(&ctx)
            .into_iter()
            .find(|d| d.key == resource)
            .unwrap();
        d.props[prop].resolve(&outputs)
    }

    fn list(v: &Value) -> Vec<String> {
        match v {
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
            Value::String(s) => vec![s.clone()],
            _ => panic!("{v}"),
        }
    }

    #[test]
    fn the_role_policy_has_no_wildcard_action_and_a_wildcard_resource_only_for_xray() {
        for dlq in [false, true] {
            let settings = Settings {
                dead_letter_queue: dlq,
                ..Settings::default()
            };
            check_least_privilege(&resolved_with(settings, ROLE, "inline_policies"));
        }
        assert_eq!(resolved(ROLE, "managed_policy_arns"), serde_json::json!([]));
    }

    #[test]
    fn the_dead_letter_queue_adds_exactly_its_queue_and_the_key_through_sqs() {
        let settings = || Settings {
            dead_letter_queue: true,
            ..Settings::default()
        };
        let inline = resolved_with(settings(), ROLE, "inline_policies");
        let statements = inline["webhook-processor-policy-dev"]["Statement"]
            .as_array()
            .unwrap();
        let send = statements
            .iter()
            .find(|s| s["Sid"] == "SendToDeadLetterQueue")
            .unwrap();
        assert_eq!(send["Action"], serde_json::json!(["sqs:SendMessage"]));
        assert_eq!(
            send["Resource"],
            "arn:aws:sqs:eu-west-1:111122223333:webhook-processor-dev-dlq"
        );
        let key = statements
            .iter()
            .find(|s| s["Sid"] == "EncryptDeadLetterQueue")
            .unwrap();
        assert_eq!(key["Resource"], "arn:aws:kms:eu-west-1:111122223333:key/k");
        assert_eq!(
            key["Condition"]["StringEquals"]["kms:ViaService"],
            "sqs.eu-west-1.amazonaws.com"
        );
        assert_eq!(
            resolved_with(settings(), FUNCTION, "dead_letter_target"),
            "arn:aws:sqs:eu-west-1:111122223333:webhook-processor-dev-dlq"
        );
        assert_eq!(resolved(FUNCTION, "dead_letter_target"), Value::Null);
    }

    fn check_least_privilege(inline: &Value) {
        let policies = inline.as_object().unwrap();
        assert_eq!(policies.len(), 1);
        let doc = &policies["webhook-processor-policy-dev"];
        for st in doc["Statement"].as_array().unwrap() {
            assert_eq!(st["Effect"], "Allow");
            let actions = list(&st["Action"]);
            assert!(actions.iter().all(|a| !a.contains('*')), "{st}");
            let resources = list(&st["Resource"]);
            if st["Sid"] == "XRayTracing" {
                assert_eq!(resources, ["*"]);
                assert!(actions.iter().all(|a| a.starts_with("xray:")));
            } else {
                assert!(
                    resources
                        .iter()
                        .all(|r| r.starts_with("arn:aws:") && r != "*"),
                    "{st}"
                );
            }
        }
    }

    #[test]
    fn the_trust_policy_names_only_lambda() {
        let trust = resolved(ROLE, "assume_role_policy");
        let statements = trust["Statement"].as_array().unwrap();
        assert_eq!(statements.len(), 1);
        assert_eq!(
            statements[0]["Principal"],
            serde_json::json!({"Service": "lambda.amazonaws.com"})
        );
        assert_eq!(list(&statements[0]["Action"]), ["sts:AssumeRole"]);
    }

    #[test]
    fn the_key_policy_service_statements_carry_their_conditions() {
        let policy = resolved(KMS_KEY, "policy");
        for st in policy["Statement"].as_array().unwrap() {
            if st["Principal"].get("Service").is_some() {
                let cond = st["Condition"]
                    .as_object()
                    .unwrap_or_else(|| panic!("no condition: {st}"));
                assert!(!cond.is_empty());
            }
        }
        let logs = &policy["Statement"][1];
        assert_eq!(
            logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"],
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/webhook-processor-dev"
        );
        assert_eq!(logs["Principal"]["Service"], "logs.eu-west-1.amazonaws.com");
        let lambda = &policy["Statement"][2];
        assert_eq!(
            lambda["Condition"]["StringEquals"]["aws:SourceAccount"],
            "111122223333"
        );
    }
}
