//! The stack's declarations: edges, and least privilege.

use super::*;
use crate::engine::graph::Graph;

fn ctx() -> StackContext {
    StackContext {
        suffix: Suffix::parse("dev").unwrap(),
        region: "us-east-1".into(),
        account: "123456789012".into(),
        code_sha256: "abc=".into(),
        settings: Settings::default(),
    }
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
        let ctx = StackContext {
            suffix: Suffix::parse("dev").unwrap(),
            region: "eu-west-1".into(),
            account: "111122223333".into(),
            code_sha256: String::new(),
            settings: Settings::default(),
        };
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
        let inline = resolved(ROLE, "inline_policies");
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
        assert_eq!(resolved(ROLE, "managed_policy_arns"), serde_json::json!([]));
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
