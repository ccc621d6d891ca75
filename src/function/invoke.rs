//! One invocation of the stack's function, on AWS (`Invoke`, RequestResponse,
//! with the log tail) or on this machine (the handler's executable behind
//! the CLI's own Runtime API, with the function's environment).

use super::logs;
use super::runtime_api::{self, Answer, Launch};
use crate::providers::aws::errors::aws_error;
use crate::providers::{Aws, AwsError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// What ran the event.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "where", rename_all = "snake_case")]
pub enum Mode {
    Aws,
    /// The handler's executable (and what ran it, for qemu).
    Local {
        executable: PathBuf,
    },
}

/// The outcome of one invocation.
#[derive(Debug, Serialize)]
pub struct Invocation {
    pub function: String,
    #[serde(flatten)]
    pub mode: Mode,
    /// The response's `statusCode` (200, 400, 500), when it has one.
    pub status_code: Option<u64>,
    /// Lambda's `FunctionError` (the handler failed, not the event):
    /// `Unhandled`, or the error's type.
    pub function_error: Option<String>,
    /// What the function returned (or its error document).
    pub response: serde_json::Value,
    /// The log tail, as written.
    pub log_tail: Vec<String>,
    pub duration_ms: f64,
    pub billed_duration_ms: Option<u64>,
    /// Local: the start of the process before the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_ms: Option<f64>,
}

impl Invocation {
    pub fn failed(&self) -> bool {
        self.function_error.is_some()
    }

    /// The response body's JSON (the seed's `{"statusCode","body"}` shape).
    pub fn body(&self) -> Option<serde_json::Value> {
        let body = self.response.get("body")?.as_str()?;
        serde_json::from_str(body).ok()
    }
}

fn document(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_owned()))
}

fn status_of(response: &serde_json::Value) -> Option<u64> {
    response
        .get("statusCode")
        .and_then(serde_json::Value::as_u64)
}

/// Invokes the deployed function with `payload`.
pub async fn on_aws(aws: &Aws, function: &str, payload: &str) -> Result<Invocation, AwsError> {
    let started = Instant::now();
    let out = aws
        .lambda
        .invoke()
        .function_name(function)
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(payload.as_bytes().to_vec()))
        .send()
        .await
        .map_err(aws_error("Invoke"))?;
    let elapsed = started.elapsed();
    let text = out
        .payload()
        .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
        .unwrap_or_default();
    let log_tail: Vec<String> = out
        .log_result()
        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
        .map(|bytes| {
            String::from_utf8_lossy(&bytes)
                .lines()
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let response = document(&text);
    Ok(Invocation {
        function: function.to_owned(),
        mode: Mode::Aws,
        status_code: status_of(&response),
        function_error: out.function_error().map(str::to_owned),
        billed_duration_ms: logs::billed_ms(&log_tail),
        response,
        log_tail,
        duration_ms: millis(elapsed),
        init_ms: None,
    })
}

/// How to run the handler here.
pub struct Local {
    pub executable: PathBuf,
    /// `qemu-aarch64-static -L SYSROOT` for the arm64 build.
    pub runner: Option<(PathBuf, Vec<String>)>,
}

/// The function's environment, as Lambda gives it to the handler.
pub struct FunctionEnv {
    pub name: String,
    pub arn: String,
    pub region: String,
    pub memory_size: i32,
    pub timeout: i32,
    /// Its own variables (TABLE_NAME, ENVIRONMENT_SUFFIX, LOG_LEVEL).
    pub variables: BTreeMap<String, String>,
}

/// Runs the handler here for `payload`, against the real table (the
/// endpoint and credentials of this run).
pub async fn locally(
    local: &Local,
    function: &FunctionEnv,
    payload: &str,
) -> Result<Invocation, std::io::Error> {
    let mut env = function.variables.clone();
    let lambda = [
        ("AWS_LAMBDA_FUNCTION_NAME", function.name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            function.memory_size.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", function.name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "local".into()),
        ("AWS_REGION", function.region.clone()),
        ("AWS_DEFAULT_REGION", function.region.clone()),
    ];
    env.extend(lambda.map(|(k, v)| (k.to_owned(), v)));
    // The credentials, endpoint and proxy settings of this run: the handler
    // reaches the same table the tool does.
    for (k, v) in std::env::vars() {
        let passes = k.starts_with("AWS_")
            && !k.starts_with("AWS_LAMBDA_")
            && k != "AWS_REGION"
            && k != "AWS_DEFAULT_REGION";
        if passes || ["HOME", "PATH", "HTTPS_PROXY", "NO_PROXY"].contains(&k.as_str()) {
            env.entry(k).or_insert(v);
        }
    }
    let (program, mut args) = match &local.runner {
        Some((runner, args)) => (runner.clone(), args.clone()),
        None => (local.executable.clone(), vec![]),
    };
    if local.runner.is_some() {
        args.push(local.executable.display().to_string());
    }
    let launch = Launch {
        program,
        args,
        env,
        function_arn: function.arn.clone(),
        timeout: Duration::from_secs(function.timeout.max(1) as u64),
    };
    let run = runtime_api::invoke(&launch, payload).await?;
    let (response, function_error) = match run.answer {
        Answer::Response(text) => (document(&text), None),
        Answer::Error { error_type, body } => (document(&body), Some(error_type)),
        Answer::InitError { error_type, body } => {
            (document(&body), Some(format!("{error_type} (at start)")))
        }
        Answer::Silent(why) => (serde_json::Value::String(why), Some("Unhandled".into())),
    };
    let duration_ms = millis(run.duration);
    Ok(Invocation {
        function: function.name.clone(),
        mode: Mode::Local {
            executable: local.executable.clone(),
        },
        status_code: status_of(&response),
        function_error,
        response,
        log_tail: run.logs,
        // Lambda bills by the millisecond, rounded up.
        billed_duration_ms: Some(duration_ms.ceil() as u64),
        duration_ms,
        init_ms: Some(millis(run.total.saturating_sub(run.duration))),
    })
}

/// A duration in milliseconds, to a tenth.
pub fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 10_000.0).round() / 10.0
}

impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = match &self.mode {
            Mode::Aws => "on AWS".to_owned(),
            Mode::Local { executable } => format!("locally, {}", executable.display()),
        };
        let status = match (&self.function_error, self.status_code) {
            (Some(e), _) => format!("function error: {e}"),
            (None, Some(code)) => format!("status {code}"),
            (None, None) => "no status code".to_owned(),
        };
        writeln!(f, "{} ({place}): {status}", self.function)?;
        let response = match &self.response {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        writeln!(f, "Response: {response}")?;
        if let Some(body) = self.body() {
            writeln!(f, "Body: {body}")?;
        }
        if !self.log_tail.is_empty() {
            writeln!(f, "Log tail:")?;
            for line in &self.log_tail {
                writeln!(f, "  {}", logs::readable(line))?;
            }
        }
        let billed = self
            .billed_duration_ms
            .map(|b| format!(", billed {b} ms"))
            .unwrap_or_default();
        let init = self
            .init_ms
            .map(|i| format!(" (start {i} ms)"))
            .unwrap_or_default();
        writeln!(f, "Duration: {} ms{billed}{init}", self.duration_ms)
    }
}
