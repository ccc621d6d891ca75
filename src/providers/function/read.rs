//! Reading a function: GetFunction, with its resource-based policy and URL
//! (and its reserved concurrency when GetFunction leaves it out), all at
//! once.

use super::outputs;
use crate::engine::model::{Observed, Props};
use crate::providers::aws::errors::{aws_error, is_not_found, AwsError};
use crate::providers::props::tags_value;
use crate::providers::{policy, Aws};
use aws_sdk_lambda::types::{Architecture, LogFormat, LoggingConfig};
use serde_json::Value;
use std::collections::BTreeMap;

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
            Some(doc) => policy::parse_document(doc).map_err(|m| AwsError::invalid("GetPolicy", m)),
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

pub async fn read(aws: &Aws, name: &str) -> Result<Option<Observed>, AwsError> {
    // Resource policy and URL are read with the rest: either one makes a
    // payment function invokable by others (docs/design.md, "Security-relevant properties").
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
    // A caller who may read the function but not decrypt its variables
    // (kms:Decrypt on the stack's key) gets them replaced by an error, and
    // one who may not list its tags, the tags: neither is the live value.
    if let Some(e) = c.environment().and_then(|e| e.error()) {
        return Err(withheld(
            "the function's environment variables",
            e.error_code(),
            e.message(),
        ));
    }
    if let Some(e) = func.tags_error() {
        return Err(withheld(
            "the function's tags",
            Some(e.error_code()),
            Some(e.message()),
        ));
    }
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
            "dead_letter_target".to_string(),
            opt(c
                .dead_letter_config()
                .and_then(|d| d.target_arn())
                .filter(|t| !t.is_empty())),
        ),
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

/// What GetFunction answered instead of part of the function.
fn withheld(what: &str, code: Option<&str>, message: Option<&str>) -> AwsError {
    let mut message = format!(
        "Lambda did not return {what}: {}",
        message.unwrap_or("no reason given")
    );
    if crate::providers::aws::errors::is_access_denied(code) {
        message.push_str(crate::providers::aws::errors::PERMISSIONS_HINT);
    }
    AwsError {
        operation: "GetFunction",
        code: code.map(str::to_owned),
        message,
    }
}
