//! Lambda function, identified by its name. Its code is the
//! zip whose base64 SHA-256 is the `code_sha256` property.

use super::aws::errors::{aws_error, is_not_found, AwsError};
use super::aws::retry::{retry_eventual, Eventual};
use super::props::{changed, int_prop, map_prop, str_prop, TagChanges};
use super::provider::{Context, Provider};
use super::{Aws, Failure, Hint};
use crate::engine::model::Kind;
use crate::engine::model::{Observed, Props};
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, DeadLetterConfig, Environment, FunctionCode, LogFormat, LoggingConfig, Runtime,
    TracingConfig, TracingMode,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

mod read;
pub use read::read;

/// How long a function may take to become Active, or to finish an update.
const FUNCTION_WAIT: Duration = Duration::from_secs(300);

/// Properties set through UpdateFunctionConfiguration.
const CONFIG_KEYS: [&str; 11] = [
    "runtime",
    "handler",
    "memory_size",
    "timeout",
    "role",
    "environment",
    "kms_key_arn",
    "tracing_mode",
    "layers",
    "logging_config",
    "dead_letter_target",
];

fn outputs(name: &str, arn: &str) -> BTreeMap<String, String> {
    [
        ("name".to_string(), name.to_string()),
        ("arn".to_string(), arn.to_string()),
    ]
    .into()
}

fn environment(desired: &Props) -> Environment {
    Environment::builder()
        .set_variables(Some(map_prop(desired, "environment").into_iter().collect()))
        .build()
}

fn tracing(desired: &Props) -> TracingConfig {
    TracingConfig::builder()
        .mode(TracingMode::from(
            str_prop(desired, "tracing_mode").unwrap_or("PassThrough"),
        ))
        .build()
}

fn string_list(desired: &Props, key: &str) -> Vec<String> {
    desired
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Where Lambda sends failed asynchronous events; an empty target removes it.
fn dead_letter(desired: &Props) -> DeadLetterConfig {
    DeadLetterConfig::builder()
        .target_arn(str_prop(desired, "dead_letter_target").unwrap_or_default())
        .build()
}

fn logging(desired: &Props) -> LoggingConfig {
    let lc = &desired["logging_config"];
    LoggingConfig::builder()
        .log_format(LogFormat::from(
            lc["log_format"]
                .as_str()
                .unwrap_or(LogFormat::Text.as_str()),
        ))
        .set_log_group(lc["log_group"].as_str().map(str::to_owned))
        .build()
}

/// Removes every statement of the function's resource-based policy (the
/// program grants no one the right to invoke it). The program declares no
/// policy, so this only ever takes statements away.
async fn remove_permissions(aws: &Aws, name: &str, policy: &Value) -> Result<(), AwsError> {
    let statements = policy
        .get("Statement")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|m| m.values());
    for statement in statements {
        let Some(sid) = statement.get("Sid").and_then(Value::as_str) else {
            continue;
        };
        match aws
            .lambda
            .remove_permission()
            .function_name(name)
            .statement_id(sid)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(aws_error("RemovePermission")(e)),
        }
    }
    Ok(())
}

fn architectures(desired: &Props) -> Vec<Architecture> {
    desired
        .get("architectures")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(Architecture::from)
                .collect()
        })
        .unwrap_or_default()
}

async fn wait_updated(aws: &Aws, name: &str) -> Result<(), AwsError> {
    aws.lambda
        .wait_until_function_updated_v2()
        .function_name(name)
        .wait(FUNCTION_WAIT)
        .await
        .map(|_| ())
        .map_err(|e| {
            AwsError::invalid(
                "GetFunction",
                format!("function {name} did not finish updating: {e}"),
            )
        })
}

async fn set_concurrency(aws: &Aws, name: &str, reserved: Option<i32>) -> Result<(), AwsError> {
    match reserved {
        Some(n) => retry_eventual(&[Eventual::LambdaUpdateInProgress], || async {
            aws.lambda
                .put_function_concurrency()
                .function_name(name)
                .reserved_concurrent_executions(n)
                .send()
                .await
                .map(|_| ())
                .map_err(aws_error("PutFunctionConcurrency"))
        })
        .await
        .map_err(|e| super::aws::account::explain_reservation_error(e, n)),
        None => aws
            .lambda
            .delete_function_concurrency()
            .function_name(name)
            .send()
            .await
            .map(|_| ())
            .map_err(aws_error("DeleteFunctionConcurrency")),
    }
}

pub async fn create(aws: &Aws, desired: &Props, code: &[u8]) -> Result<Observed, Failure> {
    let name = str_prop(desired, "name").unwrap_or_default();
    let request = || {
        aws.lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::from(
                str_prop(desired, "runtime").unwrap_or_default(),
            ))
            .handler(str_prop(desired, "handler").unwrap_or_default())
            .role(str_prop(desired, "role").unwrap_or_default())
            .set_architectures(Some(architectures(desired)))
            .set_memory_size(int_prop(desired, "memory_size"))
            .set_timeout(int_prop(desired, "timeout"))
            .environment(environment(desired))
            .set_kms_key_arn(str_prop(desired, "kms_key_arn").map(str::to_owned))
            .tracing_config(tracing(desired))
            .set_dead_letter_config(
                str_prop(desired, "dead_letter_target").map(|_| dead_letter(desired)),
            )
            .set_tags(Some(map_prop(desired, "tags").into_iter().collect()))
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(code.to_vec()))
                    .build(),
            )
            .send()
    };
    let out = retry_eventual(
        &[
            Eventual::LambdaRoleNotReady,
            Eventual::LambdaKmsGrantNotReady,
        ],
        || async { request().await.map_err(aws_error("CreateFunction")) },
    )
    .await?;
    let mut created = Observed {
        id: name.into(),
        props: desired.clone(),
        outputs: outputs(name, out.function_arn().unwrap_or_default()),
    };
    created
        .props
        .insert("reserved_concurrency".into(), Value::Null);
    aws.lambda
        .wait_until_function_active_v2()
        .function_name(name)
        .wait(FUNCTION_WAIT)
        .await
        .map_err(|e| {
            let e = AwsError::invalid(
                "GetFunction",
                format!("function {name} did not become Active: {e}"),
            );
            Failure::partial(e, created.clone())
        })?;
    if let Some(n) = int_prop(desired, "reserved_concurrency") {
        set_concurrency(aws, name, Some(n))
            .await
            .map_err(|e| Failure::partial(e, created.clone()))?;
    }
    created.props = desired.clone();
    Ok(created)
}

pub async fn update(
    aws: &Aws,
    current: &Observed,
    desired: &Props,
    code: &[u8],
) -> Result<Observed, Failure> {
    let name = current.id.as_str();
    let have = &current.props;
    // Public access first: whatever fails later, the function is no longer
    // invokable by others.
    if changed(desired, have, "resource_policy") {
        remove_permissions(aws, name, &have["resource_policy"]).await?;
    }
    if changed(desired, have, "function_url") && desired.get("function_url") == Some(&Value::Null) {
        match aws
            .lambda
            .delete_function_url_config()
            .function_name(name)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(aws_error("DeleteFunctionUrlConfig")(e).into()),
        }
    }
    if CONFIG_KEYS.iter().any(|k| changed(desired, have, k)) {
        let mut req = aws
            .lambda
            .update_function_configuration()
            .function_name(name);
        if changed(desired, have, "runtime") {
            req = req.runtime(Runtime::from(
                str_prop(desired, "runtime").unwrap_or_default(),
            ));
        }
        if changed(desired, have, "handler") {
            req = req.set_handler(str_prop(desired, "handler").map(str::to_owned));
        }
        if changed(desired, have, "memory_size") {
            req = req.set_memory_size(int_prop(desired, "memory_size"));
        }
        if changed(desired, have, "timeout") {
            req = req.set_timeout(int_prop(desired, "timeout"));
        }
        if changed(desired, have, "role") {
            req = req.set_role(str_prop(desired, "role").map(str::to_owned));
        }
        if changed(desired, have, "environment") {
            req = req.environment(environment(desired));
        }
        if changed(desired, have, "kms_key_arn") {
            // An empty string removes the key (back to Lambda's own key).
            req = req.kms_key_arn(str_prop(desired, "kms_key_arn").unwrap_or_default());
        }
        if changed(desired, have, "tracing_mode") {
            req = req.tracing_config(tracing(desired));
        }
        if changed(desired, have, "layers") {
            req = req.set_layers(Some(string_list(desired, "layers")));
        }
        if changed(desired, have, "logging_config") {
            req = req.logging_config(logging(desired));
        }
        if changed(desired, have, "dead_letter_target") {
            req = req.dead_letter_config(dead_letter(desired));
        }
        retry_eventual(
            &[
                Eventual::LambdaRoleNotReady,
                Eventual::LambdaKmsGrantNotReady,
                Eventual::LambdaUpdateInProgress,
            ],
            || async {
                req.clone()
                    .send()
                    .await
                    .map_err(aws_error("UpdateFunctionConfiguration"))
            },
        )
        .await?;
        wait_updated(aws, name).await?;
    }
    if changed(desired, have, "code_sha256") || changed(desired, have, "architectures") {
        retry_eventual(&[Eventual::LambdaUpdateInProgress], || async {
            aws.lambda
                .update_function_code()
                .function_name(name)
                .zip_file(Blob::new(code.to_vec()))
                .set_architectures(Some(architectures(desired)))
                .send()
                .await
                .map_err(aws_error("UpdateFunctionCode"))
        })
        .await?;
        wait_updated(aws, name).await?;
    }
    if changed(desired, have, "reserved_concurrency") {
        set_concurrency(aws, name, int_prop(desired, "reserved_concurrency")).await?;
    }
    let arn = &current.outputs["arn"];
    TagChanges::between(desired, have)
        .apply(
            |keys| async move {
                aws.lambda
                    .untag_resource()
                    .resource(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("UntagResource"))
            },
            |tags| async move {
                aws.lambda
                    .tag_resource()
                    .resource(arn)
                    .set_tags(Some(tags.into_iter().collect()))
                    .send()
                    .await
                    .map(drop)
                    .map_err(aws_error("TagResource"))
            },
        )
        .await?;
    Ok(Observed {
        id: current.id.clone(),
        props: desired.clone(),
        outputs: current.outputs.clone(),
    })
}

pub async fn delete(aws: &Aws, name: &str) -> Result<(), AwsError> {
    match aws
        .lambda
        .delete_function()
        .function_name(name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) => Err(aws_error("DeleteFunction")(e)),
    }
}

/// The provider of `aws:lambda/function`.
pub struct Function;

pub const KIND: Kind = Kind::new("aws:lambda/function");

impl Provider for Function {
    fn kind(&self) -> Kind {
        KIND
    }

    fn replace_keys(&self) -> &'static [&'static str] {
        &["name"]
    }

    fn normalize(&self, props: &mut Props) {
        if let Some(Value::Array(a)) = props.get_mut("architectures") {
            a.sort_by_key(|v| v.to_string());
        }
        if let Some(p) = props.get_mut("resource_policy").filter(|p| !p.is_null()) {
            *p = super::policy::canonical(p);
        }
    }

    async fn read(&self, aws: &Aws, id: &str, _hint: &Hint) -> Result<Option<Observed>, AwsError> {
        read(aws, id).await
    }

    async fn create(&self, cx: &Context<'_>, desired: &Props) -> Result<Observed, Failure> {
        create(cx.aws, desired, cx.code).await
    }

    async fn update(
        &self,
        cx: &Context<'_>,
        current: &Observed,
        desired: &Props,
    ) -> Result<Observed, Failure> {
        update(cx.aws, current, desired, cx.code).await
    }

    async fn delete(&self, cx: &Context<'_>, current: &Observed) -> Result<(), AwsError> {
        delete(cx.aws, &current.id).await
    }
}
