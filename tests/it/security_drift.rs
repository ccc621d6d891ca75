//! The security-relevant properties (docs/design.md): what the program never sets but
//! must hold. Each is made out of band with the SDK; `drift` reports it
//! (exit 2) and `apply` removes it. LoggingConfig and a table's SSE key
//! cannot be changed on moto (it never stores the one and ignores updates of
//! the other, shared/MOTO.md): their apply side is tested with
//! aws-smithy-mocks in src/providers/aws/mocked.rs.

use crate::common::spec::check_spec;
use crate::common::{drifted, row, sdk, TestStack};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    SseSpecification, SseType, Tag,
};

#[tokio::test(flavor = "multi_thread")]
async fn a_public_permission_a_function_url_and_a_layer_are_drift_and_apply_removes_them() {
    let st = TestStack::new("secfn");
    st.run(&["apply", "--yes"]).ok();
    let lambda = aws_sdk_lambda::Client::new(&sdk().await);
    let name = st.names().function;
    lambda
        .add_permission()
        .function_name(&name)
        .statement_id("anyone")
        .action("lambda:InvokeFunction")
        .principal("*")
        .send()
        .await
        .unwrap();
    lambda
        .create_function_url_config()
        .function_name(&name)
        .auth_type(aws_sdk_lambda::types::FunctionUrlAuthType::None)
        .send()
        .await
        .unwrap();
    let layer = lambda
        .publish_layer_version()
        .layer_name("injected")
        .content(
            aws_sdk_lambda::types::LayerVersionContentInput::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(
                    std::fs::read(&st.zip).unwrap(),
                ))
                .build(),
        )
        .send()
        .await
        .unwrap();
    lambda
        .update_function_configuration()
        .function_name(&name)
        .layers(layer.layer_version_arn().unwrap())
        .send()
        .await
        .unwrap();

    let (code, rows) = drifted(&st);
    assert_eq!(code, 2);
    assert_eq!(
        rows,
        [row(
            "function",
            "MODIFIED",
            &["function_url", "layers", "resource_policy"]
        )]
    );
    let report = st.run(&["drift", "--json"]).json();
    let function = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == "function")
        .unwrap()
        .clone();
    let url = function["drifted_properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["path"] == "function_url")
        .unwrap();
    assert_eq!(url["expected"], serde_json::Value::Null);
    assert_eq!(url["actual"]["auth_type"], "NONE", "{url}");

    let plan = st.run(&["plan"]).ok();
    assert!(plan.stdout.contains("resource_policy"), "{}", plan.stdout);
    st.run(&["apply", "--yes"]).ok();
    assert_eq!(drifted(&st), (0, vec![]));
    let policy = lambda.get_policy().function_name(&name).send().await;
    assert!(policy.is_err(), "no statement left: {policy:?}");
    let url = lambda
        .get_function_url_config()
        .function_name(&name)
        .send()
        .await;
    assert!(url.is_err(), "no URL left: {url:?}");
    let config = lambda
        .get_function()
        .function_name(&name)
        .send()
        .await
        .unwrap();
    assert!(config.configuration().unwrap().layers().is_empty());
    check_spec(&st.suffix).await;
}

/// Deletes the stack's table out of band and makes another one under its
/// name, with the stack's tags, configured by `build`.
async fn remake_table(
    st: &TestStack,
    build: impl FnOnce(
        aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder,
    )
        -> aws_sdk_dynamodb::operation::create_table::builders::CreateTableFluentBuilder,
) {
    let ddb = aws_sdk_dynamodb::Client::new(&sdk().await);
    let name = st.names().table;
    ddb.delete_table().table_name(&name).send().await.unwrap();
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build().unwrap();
    let req = ddb
        .create_table()
        .table_name(&name)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("transactionId")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("transactionId")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .tags(tag("Project", "webhook-processor"))
        .tags(tag("Environment", &st.suffix))
        .tags(tag("ManagedBy", "webhook-stack"));
    build(req).send().await.unwrap();
    ddb.update_continuous_backups()
        .table_name(&name)
        .point_in_time_recovery_specification(
            aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                .point_in_time_recovery_enabled(true)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sort_key_is_drift_and_apply_replaces_the_table_only_when_asked() {
    let st = TestStack::new("secschema");
    st.run(&["apply", "--yes"]).ok();
    remake_table(&st, |req| {
        req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("timestamp")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("timestamp")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .sse_specification(
            SseSpecification::builder()
                .enabled(true)
                .sse_type(SseType::Kms)
                .build(),
        )
    })
    .await;
    let (code, rows) = drifted(&st);
    assert_eq!(code, 2);
    assert_eq!(rows, [row("table", "MODIFIED", &["sort_key"])]);
    let refused = st.run(&["apply", "--yes"]);
    assert_eq!(refused.code, 1, "{}", refused.stdout);
    assert!(
        refused.stderr.contains("--replace table"),
        "{}",
        refused.stderr
    );
    st.run(&["apply", "--yes", "--replace", "table"]).ok();
    assert_eq!(drifted(&st), (0, vec![]));
    check_spec(&st.suffix).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_customer_key_on_the_table_is_drift() {
    let st = TestStack::new("secsse");
    st.run(&["apply", "--yes"]).ok();
    let key_arn = st.state()["resources"]["kms_key"]["outputs"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    remake_table(&st, |req| {
        req.sse_specification(
            SseSpecification::builder()
                .enabled(true)
                .sse_type(SseType::Kms)
                .kms_master_key_id(&key_arn)
                .build(),
        )
    })
    .await;
    let (code, rows) = drifted(&st);
    assert_eq!(code, 2);
    assert_eq!(rows, [row("table", "MODIFIED", &["sse_kms_key"])]);
    let plan = st.run(&["plan", "--json"]).ok().json();
    let table = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["resource"] == "table")
        .unwrap()
        .clone();
    assert_eq!(
        table["action"], "update",
        "switching keys keeps the data: {table}"
    );
    assert_eq!(table["changes"][0]["before"], key_arn.as_str());
}
