//! Ownership: the stack never deletes, replaces or takes over what
//! it did not create; data is deleted outside `destroy` only when asked for
//! with `--replace`.

use crate::common::spec::check_spec;
use crate::common::{sdk, writes, TestStack};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ScalarAttributeType,
};

/// A table made by someone else under the stack's name, keyed on `key`,
/// holding one item.
async fn foreign_table(name: &str, key: &str) -> aws_sdk_dynamodb::Client {
    let ddb = aws_sdk_dynamodb::Client::new(&sdk().await);
    ddb.create_table()
        .table_name(name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(key)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name(key)
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    ddb.put_item()
        .table_name(name)
        .item(key, AttributeValue::S("precious".into()))
        .send()
        .await
        .unwrap();
    ddb
}

async fn items(ddb: &aws_sdk_dynamodb::Client, name: &str) -> usize {
    ddb.scan()
        .table_name(name)
        .send()
        .await
        .unwrap()
        .items()
        .len()
}

#[tokio::test(flavor = "multi_thread")]
async fn destroy_without_state_deletes_nothing_that_only_carries_a_stack_name() {
    let st = TestStack::new("ownnostate");
    let table = st.names().table;
    let ddb = foreign_table(&table, "transactionId").await;
    let out = st.run(&["destroy", "--yes"]).ok();
    assert!(out.stdout.contains("Nothing to destroy"), "{}", out.stdout);
    assert_eq!(items(&ddb, &table).await, 1, "the item is still there");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unmanaged_table_fails_the_plan_and_is_replaced_only_when_asked() {
    let st = TestStack::new("ownforeign");
    let s = st.suffix.clone();
    let table = st.names().table;
    let ddb = foreign_table(&table, "id").await;

    for args in [vec!["plan"], vec!["apply", "--yes"]] {
        let out = st.run(&args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        assert!(
            out.stderr.contains(&format!(
                "table `{table}` (aws:dynamodb/table) exists but is not managed by this stack"
            )),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr
                .contains(&format!("run `webhook-stack import --suffix {s}`")),
            "{}",
            out.stderr
        );
    }
    assert!(!st.state_path().exists(), "nothing was recorded");
    assert_eq!(items(&ddb, &table).await, 1);

    // Adopted explicitly, it is the stack's: the plan shows the replacement
    // its key schema needs, and warns; apply refuses it.
    st.run(&["import"]).ok();
    let plan = st.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 2, "{}", plan.stderr);
    assert!(
        plan.stdout.contains(
            "Warning: table would be replaced, which deletes every item it holds: apply refuses this unless run with --replace table."
        ),
        "{}",
        plan.stdout
    );
    let before = std::fs::read(st.state_path()).unwrap();
    let refused = st.run(&["apply", "--yes"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("apply refuses to delete data or keys outside `destroy`"),
        "{}",
        refused.stderr
    );
    assert!(
        refused.stderr.contains("--replace table"),
        "{}",
        refused.stderr
    );
    assert_eq!(std::fs::read(st.state_path()).unwrap(), before);
    assert_eq!(items(&ddb, &table).await, 1, "no data lost");

    // Named in --replace, it is replaced.
    st.run(&["apply", "--yes", "--replace", "table"]).ok();
    check_spec(&s).await;
    assert_eq!(items(&ddb, &table).await, 0);
    st.run(&["plan", "--detailed-exitcode"]).ok();
}

#[test]
fn replace_forces_a_replacement_and_names_must_be_resources() {
    let st = TestStack::new("ownreplace");
    st.run(&["apply", "--yes"]).ok();
    let plan = st
        .run(&["plan", "--replace", "function", "--json"])
        .ok()
        .json();
    assert_eq!(plan["summary"]["replace"], 1, "{plan}");
    assert_eq!(plan["replace"], serde_json::json!(["function"]));
    let applied = st
        .run(&["apply", "--yes", "--replace", "function", "--json"])
        .ok()
        .json();
    let w = writes(&applied);
    assert!(w.contains(&"Lambda:DeleteFunction=1".to_string()), "{w:?}");
    assert!(w.contains(&"Lambda:CreateFunction=1".to_string()), "{w:?}");
    st.run(&["plan", "--detailed-exitcode"]).ok();

    let out = st.run(&["plan", "--replace", "tabel"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("--replace \"tabel\": no such resource; the stack's resources are kms_key, kms_alias, log_group, table, role, function"),
        "{}",
        out.stderr
    );
}
