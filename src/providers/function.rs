//! Lambda function (SPEC §1 #6), identified by its name. Its code is the
//! zip whose base64 SHA-256 is the `code_sha256` property.

use super::errors::{aws_error, is_not_found, AwsError};
use super::props::{changed, int_prop, map_prop, str_prop, tags_value, TagChanges};
use super::provider::{Context, Provider};
use super::retry::{retry_eventual, Eventual};
use super::{Aws, Failure, Hint};
use crate::engine::model::Kind;
use crate::engine::model::{Observed, Props};
use aws_sdk_lambda::client::Waiters;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    Architecture, Environment, FunctionCode, LogFormat, LoggingConfig, Runtime, TracingConfig,
    TracingMode,
};
use futures_util::future::BoxFuture;
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a function may take to become Active, or to finish an update.
const FUNCTION_WAIT: Duration = Duration::from_secs(300);

/// Properties set through UpdateFunctionConfiguration.
const CONFIG_KEYS: [&str; 10] = [
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
];

/// The function's default log group, where Lambda logs when no
/// `LoggingConfig` says otherwise.
fn default_log_group(name: &str) -> String {
    format!("/aws/lambda/{name}")
}

/// `LoggingConfig` as compared: AWS answers `Text` to the default group for
/// a function that never set one (the emulator answers nothing: the same).
fn logging_config(name: &str, lc: Option<&LoggingConfig>) -> Value {
    let mut m = serde_json::Map::new();
    m.insert(
        "log_format".into(),
        Value::from(
            lc.and_then(|l| l.log_format())
                .map(|f| f.as_str())
                .unwrap_or(LogFormat::Text.as_str()),
        ),
    );
    m.insert(
        "log_group".into(),
        Value::from(
            lc.and_then(|l| l.log_group())
                .map(str::to_owned)
                .unwrap_or_else(|| default_log_group(name)),
        ),
    );
    if let Some(level) = lc.and_then(|l| l.application_log_level()) {
        m.insert("application_log_level".into(), level.as_str().into());
    }
    if let Some(level) = lc.and_then(|l| l.system_log_level()) {
        m.insert("system_log_level".into(), level.as_str().into());
    }
    Value::Object(m)
}

/// The function's resource-based policy (`AddPermission` statements), or
/// null when it has none.
async fn resource_policy(aws: &Aws, name: &str) -> Result<Value, AwsError> {
    match aws.lambda.get_policy().function_name(name).send().await {
        Ok(out) => match out.policy() {
            Some(doc) => {
                super::policy::parse_document(doc).map_err(|m| AwsError::invalid("GetPolicy", m))
            }
            None => Ok(Value::Null),
        },
        Err(e) if is_not_found(&e) => Ok(Value::Null),
        Err(e) => Err(aws_error("GetPolicy")(e)),
    }
}

/// The function's reserved concurrency, or null when it has none. GetFunction
/// answers with it when it is set, so this is asked only when GetFunction
/// said nothing (AWS: none; moto also leaves out a reservation of 0).
async fn reserved_concurrency(aws: &Aws, name: &str) -> Result<Value, AwsError> {
    match aws
        .lambda
        .get_function_concurrency()
        .function_name(name)
        .send()
        .await
    {
        Ok(c) => Ok(c
            .reserved_concurrent_executions
            .map(Value::from)
            .unwrap_or(Value::Null)),
        // Deleted since GetFunction: the next read will say so.
        Err(e) if is_not_found(&e) => Ok(Value::Null),
        Err(e) => Err(aws_error("GetFunctionConcurrency")(e)),
    }
}

/// The function's URL (unqualified), or null when it has none.
async fn function_url(aws: &Aws, name: &str) -> Result<Value, AwsError> {
    match aws
        .lambda
        .get_function_url_config()
        .function_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(serde_json::json!({
            "auth_type": out.auth_type().as_str(),
            "url": out.function_url(),
        })),
        Err(e) if is_not_found(&e) => Ok(Value::Null),
        Err(e) => Err(aws_error("GetFunctionUrlConfig")(e)),
    }
}

fn outputs(name: &str, arn: &str) -> BTreeMap<String, String> {
    [
        ("name".to_string(), name.to_string()),
        ("arn".to_string(), arn.to_string()),
    ]
    .into()
}

pub async fn read(aws: &Aws, name: &str) -> Result<Option<Observed>, AwsError> {
    // Resource policy and URL are read with the rest: either one makes a
    // payment function invokable by others (SPEC §1 "Security-relevant").
    let (func, policy, url) = tokio::join!(
        aws.lambda.get_function().function_name(name).send(),
        resource_policy(aws, name),
        function_url(aws, name),
    );
    let func = match func {
        Ok(f) => f,
        Err(e) if is_not_found(&e) => return Ok(None),
        Err(e) => return Err(aws_error("GetFunction")(e)),
    };
    let (policy, url) = (policy?, url?);
    let reserved = match func
        .concurrency()
        .and_then(|c| c.reserved_concurrent_executions())
    {
        Some(n) => Value::from(n),
        None => reserved_concurrency(aws, name).await?,
    };
    let c = func
        .configuration
        .as_ref()
        .ok_or_else(|| AwsError::invalid("GetFunction", "no configuration"))?;
    let env: BTreeMap<String, String> = c
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let mut arch: Vec<String> = c
        .architectures()
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    if arch.is_empty() {
        // Lambda's default architecture.
        arch.push(Architecture::X8664.as_str().into());
    }
    let opt = |v: Option<&str>| v.map(Value::from).unwrap_or(Value::Null);
    let props: Props = [
        ("name".to_string(), Value::from(name)),
        ("runtime".to_string(), opt(c.runtime().map(|r| r.as_str()))),
        ("handler".to_string(), opt(c.handler())),
        ("architectures".to_string(), Value::from(arch)),
        (
            "memory_size".to_string(),
            c.memory_size().map(Value::from).unwrap_or(Value::Null),
        ),
        (
            "timeout".to_string(),
            c.timeout().map(Value::from).unwrap_or(Value::Null),
        ),
        ("reserved_concurrency".to_string(), reserved),
        (
            "tracing_mode".to_string(),
            opt(c
                .tracing_config()
                .and_then(|t| t.mode())
                .map(|m| m.as_str())),
        ),
        ("role".to_string(), opt(c.role())),
        ("environment".to_string(), tags_value(env)),
        ("kms_key_arn".to_string(), opt(c.kms_key_arn())),
        ("code_sha256".to_string(), opt(c.code_sha256())),
        (
            "layers".to_string(),
            Value::from(
                c.layers()
                    .iter()
                    .filter_map(|l| l.arn())
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "logging_config".to_string(),
            logging_config(name, c.logging_config()),
        ),
        ("resource_policy".to_string(), policy),
        ("function_url".to_string(), url),
        (
            "tags".to_string(),
            tags_value(func.tags().cloned().unwrap_or_default()),
        ),
    ]
    .into();
    Ok(Some(Observed {
        id: name.into(),
        props,
        outputs: outputs(name, c.function_arn().unwrap_or_default()),
    }))
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
        .map_err(|e| super::account::explain_reservation_error(e, n)),
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

    fn read<'a>(
        &'a self,
        aws: &'a Aws,
        id: &'a str,
        _hint: &'a Hint,
    ) -> BoxFuture<'a, Result<Option<Observed>, AwsError>> {
        Box::pin(read(aws, id))
    }

    fn create<'a>(
        &'a self,
        cx: &'a Context<'a>,
        desired: &'a Props,
    ) -> BoxFuture<'a, Result<Observed, Failure>> {
        Box::pin(create(cx.aws, desired, cx.code))
    }

    fn update<'a>(
        &'a self,
        cx: &'a Context<'a>,
        current: &'a Observed,
        desired: &'a Props,
    ) -> BoxFuture<'a, Result<Observed, Failure>> {
        Box::pin(update(cx.aws, current, desired, cx.code))
    }

    fn delete<'a>(
        &'a self,
        cx: &'a Context<'a>,
        current: &'a Observed,
    ) -> BoxFuture<'a, Result<(), AwsError>> {
        Box::pin(delete(cx.aws, &current.id))
    }
}
